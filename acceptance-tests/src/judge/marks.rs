//! Marks of one volume group's LVs (`tests/safety.rs`, `tests/faults.rs`): each LV's UUID and the
//! SHA-256 of its first MiB ([`Mark`]), read in one ssh round trip ([`probe`]), and the judge that
//! compares what must survive with what the guest holds now ([`compare_marks`]).

use std::collections::BTreeMap;

use crate::census::{self, Content};
use crate::lab::Lab;

/// What an LV looked like: its UUID and the SHA-256 of its first MiB (`None` while inactive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mark {
    /// LV UUID.
    pub uuid: String,
    /// SHA-256 of the first MiB, `None` when the LV has no device node (inactive).
    pub sha: Option<String>,
}

/// What the guest says about one VG.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Probe {
    /// The VG's UUID, `None` when there is no such VG.
    pub vg_uuid: Option<String>,
    /// LV name → its mark.
    pub lvs: BTreeMap<String, Mark>,
}

impl Probe {
    /// Reads the output of [`probe`]'s script (a [`census::script`] of one VG); a line it does
    /// not know is an error quoting it.
    pub fn parse(out: &str) -> Result<Probe, String> {
        let c = census::parse(out)?;
        if c.vgs.len() > 1 {
            return Err(format!("the probe of one VG printed {} VGs:\n{out}", c.vgs.len()));
        }
        let mut p = Probe {
            vg_uuid: c.vgs.into_values().next(),
            ..Probe::default()
        };
        for lv in c.lvs {
            let sha = (lv.content != Content::Inactive).then(|| lv.content.as_str().to_string());
            p.lvs.insert(lv.name, Mark { uuid: lv.uuid, sha });
        }
        Ok(p)
    }
}

/// One ssh round trip: the VG's UUID and, per LV, its UUID and checksum ([`census::script`]). A
/// VG that does not exist gives an empty probe; LVM failing fails the test (an empty answer would
/// read as "every LV lost", or hide a loss behind an unreadable VG).
#[track_caller]
pub fn probe(lab: &Lab, vg: &str) -> Probe {
    let out = lab.ssh_ok(&census::script(vg));
    Probe::parse(&out).unwrap_or_else(|e| panic!("{e}\n(the guest printed:\n{out})"))
}

/// The outcome of [`compare_marks`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MarkVerdict {
    /// Every broken promise, one line each; empty when nothing was lost.
    pub problems: Vec<String>,
    /// The LVs lost: `NAME (deleted)`, `NAME (recreated)`, `NAME (content)`.
    pub lost: Vec<String>,
    /// The LVs of `removed` that were known and are gone as asked.
    pub removed_on_request: Vec<String>,
}

/// Compares the LVs of VG `vg` that must survive (`expect`, with the VG's UUID `vg_uuid`) with
/// `now`. LVs in `removed` were destroyed on request and must be gone (an LV of the same name with
/// another UUID is their replacement, which the caller checks); they leave `expect`. Every other LV
/// in `expect` must exist with the same UUID and checksum; the VG must have the same UUID. With
/// `inactive_ok`, an LV whose pool is stopped may be inactive (its UUID is still checked).
pub fn compare_marks(
    vg: &str,
    vg_uuid: Option<&str>,
    expect: &mut BTreeMap<String, Mark>,
    now: &Probe,
    removed: &[&str],
    inactive_ok: bool,
) -> MarkVerdict {
    let mut v = MarkVerdict::default();
    if now.vg_uuid.as_deref() != vg_uuid {
        v.problems
            .push(format!("VG {vg} changed: UUID {vg_uuid:?} -> {:?}", now.vg_uuid));
    }
    for lv in removed {
        let known = expect.remove(*lv);
        if let Some(m) = now.lvs.get(*lv) {
            if known.as_ref().is_none_or(|k| k.uuid == m.uuid) {
                v.problems.push(format!(
                    "{lv} should have been destroyed on request but exists: {m:?}"
                ));
            }
        }
        if known.is_some() {
            v.removed_on_request.push(lv.to_string());
        }
    }
    for (lv, want) in expect.iter() {
        match now.lvs.get(lv) {
            None => {
                v.lost.push(format!("{lv} (deleted)"));
                v.problems.push(format!("LV {vg}/{lv} LOST: it no longer exists"));
            }
            Some(m) if m.uuid != want.uuid => {
                v.lost.push(format!("{lv} (recreated)"));
                v.problems.push(format!(
                    "LV {vg}/{lv} LOST: recreated (UUID {} -> {})",
                    want.uuid, m.uuid
                ));
            }
            Some(Mark { sha: None, .. }) if inactive_ok => {}
            Some(m) if m.sha != want.sha => {
                v.lost.push(format!("{lv} (content)"));
                v.problems.push(format!(
                    "LV {vg}/{lv} data changed: sha256 {:?} -> {:?}",
                    want.sha, m.sha
                ));
            }
            Some(_) => {}
        }
    }
    v
}

/// Volume name → (LV UUID, the marker its first bytes held) against what the guest holds now
/// (name → (LV UUID, as many first bytes as the marker has)): one line per volume that is gone,
/// was made again (another UUID), or no longer starts with its marker.
pub fn markers_lost(
    markers: &BTreeMap<String, (String, String)>,
    now: &BTreeMap<String, (String, String)>,
) -> Vec<String> {
    let mut lost = Vec::new();
    for (name, (uuid, marker)) in markers {
        match now.get(name) {
            None => lost.push(format!("DATA LOST: volume {name} is gone")),
            Some((u, _)) if u != uuid => lost.push(format!(
                "DATA LOST: volume {name} was replaced (LV UUID {uuid} -> {u})"
            )),
            Some((_, head)) if head != marker => lost.push(format!(
                "DATA LOST: volume {name} no longer starts with its marker ({head:?})"
            )),
            Some(_) => {}
        }
    }
    lost
}
