//! The adversarial orderings' judge (`tests/adversarial.rs`): [`World`], everything an ordering
//! could lose, read from the guest and libvirt; [`Tally`], which compares the world after an
//! ordering with the world before it and fails the test on anything not removed on request.

use std::collections::BTreeMap;

use crate::census;
use crate::scenario::Scenario;
use crate::xml::{attr_value, disk_blocks};

/// Everything an ordering could lose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    /// VG name → VG UUID.
    pub vgs: BTreeMap<String, String>,
    /// "vg/lv" → (LV UUID, SHA-256 of the first MiB, "inactive" or "unreadable").
    pub lvs: BTreeMap<String, (String, String)>,
    /// Pool name → "uuid state" for this scenario's pools.
    pub pools: BTreeMap<String, String>,
    /// "domain live|saved" → its disk elements, for this scenario's domains.
    pub disks: BTreeMap<String, Vec<String>>,
}

impl World {
    /// The VGs and LVs in the output of [`census::script`]; a line that is not a census line is
    /// an error quoting it.
    pub fn from_guest(out: &str) -> Result<World, String> {
        let c = census::parse(out)?;
        let mut w = World {
            vgs: c.vgs,
            ..World::default()
        };
        for lv in c.lvs {
            w.lvs.insert(
                format!("{}/{}", lv.vg, lv.name),
                (lv.uuid, lv.content.as_str().to_string()),
            );
        }
        Ok(w)
    }

    /// What `removed` does not allow to be gone or different from `self` in `after`, one line
    /// each; empty when nothing was lost.
    pub fn lost_in(&self, after: &World, removed: &[String]) -> Vec<String> {
        let allows = |key: &str| removed.iter().any(|r| r == key);
        let mut problems = Vec::new();
        for (vg, uuid) in &self.vgs {
            if after.vgs.get(vg) != Some(uuid) && !allows(&format!("vg:{vg}")) {
                problems.push(format!("VG {vg} ({uuid}) is now {:?}", after.vgs.get(vg)));
            }
        }
        for (lv, mark) in &self.lvs {
            if allows(lv) {
                // Removed on request: the LV with that UUID must be gone.
                if after.lvs.get(lv).is_some_and(|m| m.0 == mark.0) {
                    problems.push(format!(
                        "{lv} should have been removed on request but is still there"
                    ));
                }
                continue;
            }
            match after.lvs.get(lv) {
                None => problems.push(format!("LV {lv} LOST (deleted)")),
                Some(m) if m.0 != mark.0 => problems.push(format!("LV {lv} LOST (now UUID {})", m.0)),
                Some(m) if m.1 != mark.1 && m.1 != "inactive" && mark.1 != "inactive" => {
                    problems.push(format!("LV {lv} data changed"))
                }
                Some(_) => {}
            }
        }
        for (p, v) in &self.pools {
            if after.pools.get(p).map(|a| a.split(' ').next()) != Some(v.split(' ').next())
                && !allows(&format!("pool:{p}"))
            {
                problems.push(format!("pool {p} ({v}) is now {:?}", after.pools.get(p)));
            }
        }
        for (d, disks) in &self.disks {
            let Some(now) = after.disks.get(d) else {
                problems.push(format!("domain {d} is gone"));
                continue;
            };
            let dom = d.split(' ').next().unwrap_or_default();
            for disk in disks {
                let target = attr_value(disk, "target", "dev").unwrap_or_default();
                if !now.contains(disk) && !allows(&format!("disk:{dom}/{target}")) {
                    problems.push(format!("disk {target} of {d} detached or changed"));
                }
            }
        }
        problems
    }
}

/// Reads the [`World`] of scenario `s`: every VG and LV in the guest, the scenario's pools (UUID and
/// state) and its domains' disks (live and saved XML).
#[track_caller]
pub fn world(s: &Scenario) -> World {
    let lab = s.lab();
    let out = lab.ssh_ok(&census::script("*"));
    let mut w = World::from_guest(&out).unwrap_or_else(|e| panic!("{e}\n(the guest printed:\n{out})"));
    for p in lab.pool_names().into_iter().filter(|p| p.starts_with(s.prefix())) {
        let uuid = lab.virsh_ok(&["pool-uuid", &p]).trim().to_string();
        let state = lab
            .pool_info(&p)
            .get("State")
            .cloned()
            .unwrap_or_else(|| panic!("pool {p} has no State in pool-info"));
        w.pools.insert(p, format!("{uuid} {state}"));
    }
    for d in lab
        .domain_names()
        .into_iter()
        .filter(|d| d.starts_with(s.prefix()))
    {
        for (view, inactive) in [("live", false), ("saved", true)] {
            w.disks
                .insert(format!("{d} {view}"), disk_blocks(&lab.domain_xml(&d, inactive)));
        }
    }
    w
}

/// Tallies orderings and losses; prints the test's line when dropped.
pub struct Tally {
    test: &'static str,
    orderings: Vec<String>,
    lost: Vec<String>,
}

impl Tally {
    /// A tally for the test `test` (named in its closing line).
    pub fn new(test: &'static str) -> Tally {
        Tally {
            test,
            orderings: Vec::new(),
            lost: Vec::new(),
        }
    }

    /// Compares the world after an ordering with the world before it: only what `removed` names
    /// may be gone or different ("vg/lv", "vg:<name>", "pool:<name>", "disk:<domain>/<target>" for
    /// both views). Anything else fails the test, and counts as data lost.
    #[track_caller]
    pub fn check(&mut self, ordering: &str, before: &World, after: &World, removed: &[String]) {
        self.orderings.push(ordering.to_string());
        let problems = before.lost_in(after, removed);
        self.lost
            .extend(problems.iter().map(|p| format!("{ordering}: {p}")));
        assert!(
            problems.is_empty(),
            "{ordering}: something that was not asked for changed:\n  {}\nbefore: {before:#?}\nafter: {after:#?}",
            problems.join("\n  ")
        );
    }

    /// The losses counted so far, each prefixed with its ordering.
    pub fn lost(&self) -> &[String] {
        &self.lost
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        eprintln!(
            "ADVERSARIAL {}: {} orderings, data lost {}{}{} ({})",
            self.test,
            self.orderings.len(),
            self.lost.len(),
            if self.lost.is_empty() {
                String::new()
            } else {
                format!(" {:?}", self.lost)
            },
            if std::thread::panicking() {
                "; TEST FAILED"
            } else {
                ""
            },
            self.orderings.join(" | ")
        );
    }
}
