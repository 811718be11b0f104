//! [`Snapshot`]: everything a refused change must leave alone, read in one guest round trip.

use std::collections::BTreeMap;
use std::fmt;

use crate::lab::Lab;

impl Lab {
    /// Everything a refused change must leave alone, read in one guest round trip: VGs, PVs and
    /// LVs (with UUIDs), every pool's state, autostart, saved definition and volumes, every
    /// domain's state, autostart, saved definition and live XML.
    #[track_caller]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::parse(&self.ssh_ok(SNAPSHOT_SCRIPT))
    }
}

/// Prints `== SECTION` headers, each followed by its content; run by the guest's shell with
/// virsh on the guest's own libvirtd, all pool and domain reads in one virsh process (one ssh
/// round trip and three virsh starts, instead of dozens: each costs a second on a loaded TCG lab).
/// The `state` sections keep only the lines that describe state (not CPU time or memory use).
/// virsh's `echo` ends its line only without `-q`, so the big call runs without it. pipefail, and
/// the lists read into variables (a failed command substitution in a `for` list goes unnoticed):
/// with libvirt unreachable, the snapshot fails instead of reading as an empty hypervisor, which two
/// snapshots would compare equal on.
const SNAPSHOT_SCRIPT: &str = r#"set -eo pipefail
echo "== vgs"; vgs --noheadings --units b --nosuffix -o vg_name,vg_uuid,vg_size,vg_free,lv_count,pv_count,vg_attr --separator ,
echo "== pvs"; pvs --noheadings --units b --nosuffix -o pv_name,vg_name,pv_uuid,pv_size,pv_attr --separator ,
echo "== lvs"; lvs --noheadings --units b --nosuffix -o vg_name,lv_name,lv_uuid,lv_size,lv_attr --separator ,
pools=$(virsh -q -c qemu:///system pool-list --all --name)
domains=$(virsh -q -c qemu:///system list --all --name)
c=""
for p in $pools; do
  c="$c echo '== pool $p state'; pool-info '$p'; echo '== pool $p definition'; pool-dumpxml --inactive '$p';"
  c="$c echo '== pool $p volumes'; vol-list '$p';"
done
for d in $domains; do
  c="$c echo '== domain $d state'; dominfo '$d'; echo '== domain $d definition'; dumpxml --inactive '$d';"
  c="$c echo '== domain $d live'; dumpxml '$d';"
done
[ -z "$c" ] || virsh -c qemu:///system "$c" | awk '
  /^== / { section = $0; print; next }
  section ~ / state$/ && !/^(Id|State|Persistent|Autostart|Capacity|Allocation|Available):/ { next }
  { print }'
"#;

/// What the hypervisor holds, section by section (`vgs`, `pool NAME state`, `domain NAME live`…).
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Section name → its lines.
    pub sections: BTreeMap<String, String>,
}

impl Snapshot {
    /// Reads the output of [`SNAPSHOT_SCRIPT`].
    pub fn parse(out: &str) -> Snapshot {
        let mut sections = BTreeMap::new();
        let mut current: Option<(String, String)> = None;
        for line in out.lines() {
            if let Some(name) = line.strip_prefix("== ") {
                if let Some((n, body)) = current.take() {
                    sections.insert(n, body);
                }
                current = Some((name.trim().to_string(), String::new()));
            } else if let Some((_, body)) = current.as_mut() {
                body.push_str(line.trim_end());
                body.push('\n');
            }
        }
        if let Some((n, body)) = current {
            sections.insert(n, body);
        }
        Snapshot { sections }
    }

    /// The sections that differ from `other`: added, removed or changed, with both versions.
    pub fn diff(&self, other: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (name, body) in &self.sections {
            match other.sections.get(name) {
                None => out.push(format!("{name}: gone (was:\n{body})")),
                Some(b) if b != body => {
                    out.push(format!("{name}: changed\n--- before\n{body}--- after\n{b}"))
                }
                Some(_) => {}
            }
        }
        for (name, body) in &other.sections {
            if !self.sections.contains_key(name) {
                out.push(format!("{name}: new\n{body}"));
            }
        }
        out
    }

    /// Panics, showing only what changed, unless `now` equals this snapshot.
    #[track_caller]
    pub fn assert_unchanged(&self, now: &Snapshot, what: &str) {
        let diff = self.diff(now);
        assert!(
            diff.is_empty(),
            "{what}: the hypervisor changed:\n{}",
            diff.join("\n")
        );
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, body) in &self.sections {
            write!(f, "== {name}\n{body}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_compare_by_section() {
        let a = Snapshot::parse("== vgs\n  vg1,u,1\n== pool p state\nState: running\nAutostart: yes\n");
        assert_eq!(a.sections.len(), 2);
        assert_eq!(a.sections["pool p state"], "State: running\nAutostart: yes\n");
        assert!(a.diff(&a.clone()).is_empty());
        let b = Snapshot::parse(
            "== vgs\n  vg1,u,1\n== pool p state\nState: running\nAutostart: no\n== domain d live\n<x/>\n",
        );
        let d = a.diff(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("pool p state: changed") && d[0].contains("Autostart: no"),
            "{d:?}"
        );
        assert!(d[1].starts_with("domain d live: new"), "{d:?}");
        assert!(b.diff(&a).iter().any(|l| l.starts_with("domain d live: gone")));
        assert!(std::panic::catch_unwind(|| a.assert_unchanged(&b, "x")).is_err());
    }
}
