//! Marks of one volume group's LVs (`tests/safety.rs`, `tests/faults.rs`): each LV's UUID and the
//! SHA-256 of its first MiB ([`Mark`]), read in one ssh round trip ([`probe`]), and the judge that
//! compares what must survive with what the guest holds now ([`compare_marks`]).

use std::collections::BTreeMap;

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
    /// Reads the output of [`probe`]'s script; a line it does not know is an error quoting it.
    pub fn parse(out: &str) -> Result<Probe, String> {
        let mut p = Probe::default();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                ["vg", uuid] => p.vg_uuid = Some(uuid.to_string()),
                ["lv", name, uuid, sha] => {
                    p.lvs.insert(
                        name.to_string(),
                        Mark {
                            uuid: uuid.to_string(),
                            sha: (*sha != "inactive").then(|| sha.to_string()),
                        },
                    );
                }
                _ => return Err(format!("the guest's probe printed {line:?}")),
            }
        }
        Ok(p)
    }
}

/// One ssh round trip: the VG's UUID and, per LV, its UUID and checksum. A VG that does not exist
/// gives an empty probe; `lvs` failing for another reason fails the test (an empty answer would
/// read as "every LV lost", or hide a loss behind an unreadable VG).
#[track_caller]
pub fn probe(lab: &Lab, vg: &str) -> Probe {
    let out = lab.ssh_ok(&format!(
        r#"set -eo pipefail
vgs {vg} >/dev/null 2>&1 || exit 0
u=$(vgs --noheadings -o vg_uuid {vg} | tr -d ' ')
echo "vg $u"
lvs --noheadings -o lv_name,lv_uuid --separator , {vg} | tr -d ' ' | while IFS=, read -r n id; do
  if [ ! -b "/dev/{vg}/$n" ]; then s=inactive
  else s=$(head -c 1048576 "/dev/{vg}/$n" | sha256sum | cut -c1-64) || s=unreadable; fi
  echo "lv $n $id $s"
done
"#
    ));
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
