//! What the hypervisor holds, observed after every step: pools by UUID, VGs by UUID, LVs by key
//! (LV UUID on the lab, path on the test driver), domains by UUID with their disks in the live and
//! saved XML.

use std::collections::{BTreeMap, BTreeSet};

use crate::names::lv_paths;
use crate::xml::{disk_sources, DiskSource};

/// A domain's live XML (only while it runs) or its saved definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum View {
    Live,
    Saved,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PoolObs {
    pub(crate) name: String,
    pub(crate) vg: String,
    pub(crate) active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LvObs {
    pub(crate) vg: String,
    pub(crate) name: String,
    /// The VG's UUID (lab; the dm-uuid alias is made of it).
    pub(crate) vg_uuid: Option<String>,
    /// The pool it was listed through (test driver).
    pub(crate) pool_uuid: Option<String>,
    /// SHA-256 of the first MiB (lab, active LVs only).
    pub(crate) sha: Option<String>,
    /// The LV (in the same VG) this one is a snapshot of (lab).
    pub(crate) origin: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct DomObs {
    pub(crate) name: String,
    pub(crate) active: bool,
    pub(crate) disks: BTreeMap<(View, String), DiskSource>,
}

/// One observation of the whole hypervisor (only objects named with the test's prefix on the lab).
#[derive(Clone, Debug, Default)]
pub struct World {
    /// By pool UUID.
    pub(crate) pools: BTreeMap<String, PoolObs>,
    /// VG UUID → name (lab).
    pub(crate) vgs: BTreeMap<String, String>,
    /// By key: LV UUID on the lab, path on the test driver.
    pub(crate) lvs: BTreeMap<String, LvObs>,
    /// VGs whose LVs cannot be seen now (test driver: the pool is stopped).
    pub(crate) hidden_vgs: BTreeSet<String>,
    /// By domain UUID.
    pub(crate) domains: BTreeMap<String, DomObs>,
}

impl World {
    pub(crate) fn pool_by_name(&self, name: &str) -> Option<(&String, &PoolObs)> {
        self.pools.iter().find(|(_, p)| p.name == name)
    }

    pub(crate) fn lv_by_name(&self, vg: &str, name: &str) -> Option<&String> {
        self.lvs
            .iter()
            .find(|(_, l)| l.vg == vg && l.name == name)
            .map(|(k, _)| k)
    }

    /// The LV a disk source names, under any of its aliases.
    pub(crate) fn resolve(&self, src: &DiskSource) -> Option<String> {
        match src {
            DiskSource::Volume { pool, volume } => {
                let (_, p) = self.pool_by_name(pool)?;
                self.lv_by_name(&p.vg, volume).cloned()
            }
            DiskSource::Block(path) | DiskSource::File(path) => self
                .lvs
                .iter()
                .find(|(k, l)| aliases(k, l).iter().any(|a| a == path))
                .map(|(k, _)| k.clone()),
            DiskSource::Other(_) => None,
        }
    }

    /// Keys of the LVs some domain's disk uses (any view, any origin).
    pub(crate) fn used_lvs(&self) -> BTreeSet<String> {
        self.domains
            .values()
            .flat_map(|d| d.disks.values())
            .filter_map(|s| self.resolve(s))
            .collect()
    }
}

/// Every path under which an LV's block device can be named. `key` is the LV's key: its UUID on
/// the lab, where the dm-uuid alias (VG UUID and LV UUID without dashes) exists too.
pub(crate) fn aliases(key: &str, l: &LvObs) -> Vec<String> {
    lv_paths(&l.vg, &l.name, l.vg_uuid.as_deref().map(|vg_uuid| (vg_uuid, key)))
}

/// Takes in the disks of a domain XML (`view` says which XML it is).
pub(crate) fn parse_disks(xml: &str, view: View, into: &mut BTreeMap<(View, String), DiskSource>) {
    for (target, src) in disk_sources(xml) {
        into.insert((view, target), src);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An LV as the test driver lists it (through pool `pool`).
    pub(crate) fn lv(vg: &str, name: &str, pool: &str) -> LvObs {
        LvObs {
            vg: vg.into(),
            name: name.into(),
            vg_uuid: None,
            pool_uuid: Some(pool.into()),
            sha: None,
            origin: None,
        }
    }

    /// An LV as the lab lists it (by UUID, in VG `vg_uuid`, with content `sha`).
    pub(crate) fn lab_lv(vg: &str, name: &str, vg_uuid: &str, sha: &str) -> LvObs {
        LvObs {
            vg: vg.into(),
            name: name.into(),
            vg_uuid: Some(vg_uuid.into()),
            pool_uuid: None,
            sha: Some(sha.into()),
            origin: None,
        }
    }

    pub(crate) fn pool(name: &str, vg: &str) -> PoolObs {
        PoolObs {
            name: name.into(),
            vg: vg.into(),
            active: true,
        }
    }

    #[test]
    fn aliases_double_dashes_and_use_uuids_on_the_lab() {
        let mut l = lv("my-vg", "data-1", "p");
        l.vg_uuid = Some("abc-def".into());
        let a = aliases("123-456", &l);
        assert!(a.contains(&"/dev/my-vg/data-1".to_string()));
        assert!(a.contains(&"/dev/mapper/my--vg-data--1".to_string()));
        assert!(a.contains(&"/dev/disk/by-id/dm-name-my--vg-data--1".to_string()));
        assert!(a.contains(&"/dev/disk/by-id/dm-uuid-LVM-abcdef123456".to_string()));
        let mut w = World::default();
        w.pools.insert("p".into(), pool("pool", "my-vg"));
        w.lvs.insert("123-456".into(), l);
        assert_eq!(
            w.resolve(&DiskSource::Block("/dev/mapper/my--vg-data--1".into()))
                .as_deref(),
            Some("123-456")
        );
        assert_eq!(
            w.resolve(&DiskSource::Volume {
                pool: "pool".into(),
                volume: "data-1".into()
            })
            .as_deref(),
            Some("123-456")
        );
        assert_eq!(w.resolve(&DiskSource::Block("/dev/my-vg/other".into())), None);
    }
}
