//! What a volume group holds, and whether a build may go over devices.
//!
//! libvirt's logical backend lists only part of a volume group: its refresh skips thin pools,
//! thin volumes and LVs deactivated while the pool runs, and hides a thin pool's metadata and
//! spare LVs; its deletes (`vgremove -f`, `lvremove -f`, a build with overwrite) reach all of
//! them. So before a destructive call the guards ask what the listing cannot explain: extents
//! the volume group has allocated beyond the listed volumes ([`unexplained`]), snapshots of a
//! volume ([`snapshots_of`]), and which volume groups a build's devices hold ([`build_plan`],
//! devices compared by what they are, not by spelling).

use std::collections::BTreeSet;

use crate::libvirt::facts::devices::DeviceNames;
use crate::libvirt::facts::volume::VolInfo;
use crate::lvm::report::{Lv, LvKind};
use crate::names::normalize_path;

/// What to do with the devices of a new pool, from the host's volume groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildPlan {
    /// The volume group exists on exactly these devices: adopt it (no vgcreate).
    Adopt,
    /// No volume group has the name or uses the devices: build.
    Build,
    /// The volume group exists on some of these devices and on no other, and the rest hold no
    /// volume group: it can only grow by them (`vgextend`), never be built again.
    Grow {
        /// The configured devices it does not have yet, as configured.
        added: Vec<String>,
    },
    /// Devices hold physical volumes of other volume groups (name, their devices among the
    /// configured ones): a build destroys those groups. Allowed with `overwrite` only when each
    /// is proven to hold no logical volume.
    OtherGroups(Vec<(String, Vec<String>)>),
    /// Never, whatever `overwrite` says: the volume group of this name lives on other devices.
    Refuse(String),
}

/// Whether to build volume group `vg` on `devices`, given the host's volume groups and the
/// names of its devices. The volume group of the pool's own name is never built over: it is
/// adopted, grown or refused, so that a replacement (whose destroy half kept the group) or a
/// changed device list never wipes it.
pub fn build_plan(
    sources: &[(String, Vec<String>)],
    vg: &str,
    devices: &[String],
    names: &DeviceNames,
) -> BuildPlan {
    let node = |d: &String| names.node(d);
    let wanted: BTreeSet<String> = devices.iter().map(node).collect();
    let others: Vec<(String, Vec<String>)> = sources
        .iter()
        .filter(|(name, _)| name != vg)
        .filter_map(|(name, have)| {
            let held: Vec<String> = devices
                .iter()
                .filter(|d| have.iter().any(|h| node(h) == node(d)))
                .cloned()
                .collect();
            (!held.is_empty()).then(|| (name.clone(), held))
        })
        .collect();
    let Some((_, have)) = sources.iter().find(|(name, _)| name == vg) else {
        return if others.is_empty() {
            BuildPlan::Build
        } else {
            BuildPlan::OtherGroups(others)
        };
    };
    let have_set: BTreeSet<String> = have.iter().map(node).collect();
    if have_set == wanted {
        return BuildPlan::Adopt;
    }
    if have_set.is_subset(&wanted) && others.is_empty() {
        let added = devices
            .iter()
            .filter(|d| !have_set.contains(&node(d)))
            .cloned()
            .collect();
        return BuildPlan::Grow { added };
    }
    BuildPlan::Refuse(format!(
        "Volume group {vg:?} already exists on {}, not on the configured {}. A volume group is never built over \
         (that would destroy its logical volumes): list the devices it has (and any new ones to add to it), or \
         choose another volume_group.",
        have.join(", "),
        devices.join(", ")
    ))
}

/// What a build does, from its [`BuildPlan`] and what the configuration allows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildDecision {
    /// Adopt the volume group as it is.
    Adopt,
    /// Build (vgcreate); `overwrite`: over whatever signatures the devices hold.
    Build {
        /// Build over the devices' signatures.
        overwrite: bool,
    },
    /// Grow the volume group by these devices (vgextend through LVM's tools).
    Grow(Vec<String>),
    /// Nothing may be done; `why` says what and how to go on.
    Refuse(String),
}

/// Decides a build. `overwrite` lets a build go over devices' signatures (a filesystem, a partition
/// table) and over physical volumes of other volume groups that LVM's own report proved to hold
/// no logical volume (`empty_groups`); it never lets a volume group that holds logical volumes
/// (or may: without LVM's report nobody can tell) be destroyed. Device names that are symlinks
/// (`/dev/disk/…`, `/dev/mapper/…`) can only be compared with the host's physical volumes when the
/// host told their names (`names_known`); without that, overwrite is refused for them.
pub fn decide(
    plan: BuildPlan,
    devices: &[String],
    overwrite: bool,
    empty_groups: &[String],
    names_known: bool,
) -> BuildDecision {
    match plan {
        BuildPlan::Adopt => BuildDecision::Adopt,
        BuildPlan::Grow { added } => BuildDecision::Grow(added),
        BuildPlan::Refuse(why) => BuildDecision::Refuse(why),
        BuildPlan::Build => {
            let alias = devices
                .iter()
                .find(|d| d.starts_with("/dev/disk/") || d.starts_with("/dev/mapper/"));
            match alias {
                Some(d) if overwrite && !names_known => BuildDecision::Refuse(format!(
                    "overwrite = true needs to know which device {d} is, and this hypervisor's libvirt did not \
                     report its devices' names (node devices): it might be a physical volume of a volume group \
                     under another name. Name the device as LVM reports it (see `pvs`), or leave overwrite \
                     unset."
                )),
                _ => BuildDecision::Build { overwrite },
            }
        }
        BuildPlan::OtherGroups(groups) => {
            let held =
                |(vg, devs): &(String, Vec<String>)| format!("{} (volume group {vg:?})", devs.join(", "));
            let list = groups.iter().map(held).collect::<Vec<_>>().join("; ");
            let unproven: Vec<&str> = groups
                .iter()
                .map(|(vg, _)| vg.as_str())
                .filter(|vg| !empty_groups.iter().any(|e| e == vg))
                .collect();
            if overwrite && unproven.is_empty() {
                return BuildDecision::Build { overwrite: true };
            }
            BuildDecision::Refuse(if overwrite {
                format!(
                    "Physical volumes of other volume groups: {list}. Building on them would destroy those groups, and \
                     overwrite = true only builds over a volume group that LVM's own report shows holds no logical \
                     volume; {} could not be proven empty (it holds logical volumes, or LVM's tools are not \
                     configured for this provider: see lvm_tools). Remove it by hand if it is no longer needed \
                     (`vgremove`), or choose devices that no other volume group uses.",
                    unproven.join(", ")
                )
            } else {
                format!(
                    "Physical volumes of other volume groups: {list}. Building on them would destroy those groups. \
                     Choose devices that no other volume group uses (overwrite = true builds over a volume group only \
                     when LVM's report proves it holds no logical volume)."
                )
            })
        }
    }
}

/// Extents libvirt's listing of a pool does not explain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unexplained {
    /// What the volume group has allocated, in bytes (libvirt's pool allocation).
    pub allocation: u64,
    /// What the volumes libvirt lists account for, in bytes.
    pub listed: u64,
}

impl Unexplained {
    /// The bytes nobody in the listing explains.
    pub fn hidden(&self) -> u64 {
        self.allocation.saturating_sub(self.listed)
    }
}

/// `Some` when the volume group's allocated extents (libvirt's pool allocation, refreshed) differ
/// from the allocations of the volumes libvirt lists: LVs libvirt does not show hold the rest
/// (a thin pool with its metadata and spare, thin volumes, LVs deactivated while the pool runs).
/// Both figures are whole extents, so they agree exactly when the listing is complete; a listing
/// that claims more than the group holds is just as unexplained.
pub fn unexplained(pool_allocation: u64, listed: &[VolInfo]) -> Option<Unexplained> {
    let sum = listed
        .iter()
        .fold(0u64, |acc, v| acc.saturating_add(v.xml.allocation));
    (sum != pool_allocation).then_some(Unexplained {
        allocation: pool_allocation,
        listed: sum,
    })
}

/// The listed volumes that are snapshots of `origin`: libvirt reports a thick LVM snapshot with
/// its origin's path as `<backingStore>`. Deleting an origin deletes them with it (`lvremove -f`).
pub fn snapshots_of<'a>(origin: &VolInfo, listed: &'a [VolInfo]) -> Vec<&'a VolInfo> {
    let path = normalize_path(&origin.path());
    listed
        .iter()
        .filter(|v| v.key() != origin.key())
        .filter(|v| v.xml.backing_path.as_deref().map(normalize_path).as_deref() == Some(path.as_str()))
        .collect()
}

/// One LV a guard names in a refusal: libvirt's volume or an LV only LVM's report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held {
    /// The LV's name.
    pub name: String,
    /// Its device path (empty for an LV without one, such as a thin pool).
    pub path: String,
    /// What it is: `volume` (libvirt lists it), or LVM's kind (`thin`, `thin-pool`, `snapshot`,
    /// `plain` for an LV libvirt does not list, such as an inactive one).
    pub kind: &'static str,
    /// Its size in bytes (a thin volume's virtual size).
    pub size: u64,
    /// Its LV UUID.
    pub uuid: String,
}

impl Held {
    /// A volume libvirt lists.
    pub fn listed(v: &VolInfo) -> Self {
        Held {
            name: v.xml.name.clone(),
            path: v.path(),
            kind: "volume",
            size: v.xml.capacity,
            uuid: v.key(),
        }
    }

    /// An LV LVM's report shows.
    pub fn lv(l: &Lv) -> Self {
        Held {
            name: l.name.clone(),
            path: l.path.clone().unwrap_or_default(),
            kind: l.kind().as_str(),
            size: l.size,
            uuid: l.uuid.clone(),
        }
    }
}

impl std::fmt::Display for Held {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}", self.name, self.kind)?;
        if !self.path.is_empty() {
            write!(f, ", {}", self.path)?;
        }
        write!(f, ", {} bytes, LV UUID {})", self.size, self.uuid)
    }
}

/// The LVs of a volume group a user (or an operator) can reach: everything but LVM's internal
/// ones (a thin pool's data and metadata, the metadata spare, a sparse LV's virtual origin),
/// which belong to the LV they serve.
pub fn public_lvs(lvs: &[Lv]) -> Vec<&Lv> {
    lvs.iter().filter(|l| l.kind() != LvKind::Internal).collect()
}

/// The LVs LVM's report shows that libvirt's listing does not (thin pools, thin volumes, LVs
/// deactivated while the pool runs…).
pub fn unlisted<'a>(listed: &[VolInfo], lvs: &'a [Lv]) -> Vec<&'a Lv> {
    public_lvs(lvs)
        .into_iter()
        .filter(|l| !listed.iter().any(|v| v.key() == l.uuid))
        .collect()
}

/// LVs whose device is open now (mounted, held by a guest of any hypervisor, exported…): the
/// last guard for users the provider cannot name. A thin pool counts as open while its thin
/// volumes are active, which is no user: it is left out.
pub fn open_lvs(lvs: &[Lv]) -> Vec<&Lv> {
    public_lvs(lvs)
        .into_iter()
        .filter(|l| l.open == Some(true) && l.kind() != LvKind::ThinPool)
        .collect()
}

/// The snapshots of the LV `origin` (thick or thin), by LVM's report.
pub fn dependants<'a>(origin: &Lv, lvs: &'a [Lv]) -> Vec<&'a Lv> {
    lvs.iter()
        .filter(|l| l.uuid != origin.uuid && l.origin.as_deref() == Some(origin.name.as_str()))
        .collect()
}

/// The thin volumes of the thin pool `pool`.
pub fn thin_volumes_of<'a>(pool: &Lv, lvs: &'a [Lv]) -> Vec<&'a Lv> {
    lvs.iter()
        .filter(|l| l.pool_lv.as_deref() == Some(pool.name.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::xml::VolumeXml;

    type Sources = Vec<(String, Vec<String>)>;

    fn sources(list: &[(&str, &[&str])]) -> Sources {
        list.iter()
            .map(|(vg, d)| (vg.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn devs(d: &[&str]) -> Vec<String> {
        d.iter().map(|s| s.to_string()).collect()
    }

    fn names() -> DeviceNames {
        DeviceNames::from_devices([
            (
                "/dev/vdb".to_string(),
                vec!["/dev/disk/by-id/virtio-pv1".to_string()],
            ),
            (
                "/dev/vdc".to_string(),
                vec!["/dev/disk/by-id/virtio-pv2".to_string()],
            ),
            (
                "/dev/vdd".to_string(),
                vec!["/dev/disk/by-id/virtio-pv3".to_string()],
            ),
        ])
    }

    #[test]
    fn build_plans() {
        let host = sources(&[("vg0", &["/dev/vdb", "/dev/vdc"]), ("system", &["/dev/sda3"])]);
        let n = names();
        let plan = |vg: &str, d: &[&str]| build_plan(&host, vg, &devs(d), &n);
        assert_eq!(plan("vg0", &["/dev/vdc", "/dev/vdb"]), BuildPlan::Adopt);
        assert_eq!(
            plan("vg0", &["/dev/disk/by-id/virtio-pv2", "/dev/vdb"]),
            BuildPlan::Adopt,
            "another name of the same device"
        );
        assert_eq!(plan("vg1", &["/dev/vdd"]), BuildPlan::Build);
        assert_eq!(
            plan("vg0", &["/dev/vdb", "/dev/vdc", "/dev/disk/by-id/virtio-pv3"]),
            BuildPlan::Grow {
                added: devs(&["/dev/disk/by-id/virtio-pv3"])
            }
        );
        assert_eq!(
            plan("vg1", &["/dev/vdd", "/dev/sda3"]),
            BuildPlan::OtherGroups(vec![("system".into(), devs(&["/dev/sda3"]))])
        );
        assert_eq!(
            plan("vg1", &["/dev/disk/by-id/virtio-pv1"]),
            BuildPlan::OtherGroups(vec![("vg0".into(), devs(&["/dev/disk/by-id/virtio-pv1"]))]),
            "another VG's PV under another name"
        );
        for (vg, d, says) in [
            ("vg0", &["/dev/vdb"][..], "already exists on /dev/vdb, /dev/vdc"),
            ("vg0", &["/dev/vdd"][..], "not on the configured /dev/vdd"),
            (
                "vg0",
                &["/dev/vdb", "/dev/vdc", "/dev/sda3"][..],
                "never built over",
            ),
        ] {
            match plan(vg, d) {
                BuildPlan::Refuse(why) => assert!(why.contains(says), "{vg} on {d:?}: {why}"),
                other => panic!("{vg} on {d:?}: {other:?}"),
            }
        }
        assert_eq!(
            build_plan(&[], "vg0", &devs(&["/dev/vdb"]), &DeviceNames::unknown()),
            BuildPlan::Build
        );
    }

    #[test]
    fn build_decisions() {
        let d = |plan: BuildPlan, devices: &[&str], overwrite: bool, empty: &[&str], known: bool| {
            let empty: Vec<String> = empty.iter().map(|s| s.to_string()).collect();
            decide(plan, &devs(devices), overwrite, &empty, known)
        };
        let other = || BuildPlan::OtherGroups(vec![("old".into(), devs(&["/dev/vdb"]))]);
        assert_eq!(
            d(BuildPlan::Adopt, &["/dev/vdb"], true, &[], true),
            BuildDecision::Adopt
        );
        assert_eq!(
            d(BuildPlan::Build, &["/dev/vdb"], true, &[], false),
            BuildDecision::Build { overwrite: true },
            "a device node needs no name resolution"
        );
        assert!(matches!(
            d(BuildPlan::Build, &["/dev/disk/by-id/x"], true, &[], false),
            BuildDecision::Refuse(why) if why.contains("did not report")
        ));
        assert_eq!(
            d(BuildPlan::Build, &["/dev/disk/by-id/x"], false, &[], false),
            BuildDecision::Build { overwrite: false },
            "without overwrite libvirt's own signature check refuses"
        );
        assert!(matches!(
            d(other(), &["/dev/vdb"], false, &["old"], true),
            BuildDecision::Refuse(why) if why.contains("volume group \"old\"")
        ));
        assert!(matches!(
            d(other(), &["/dev/vdb"], true, &[], true),
            BuildDecision::Refuse(why) if why.contains("old could not be proven empty")
        ));
        assert_eq!(
            d(other(), &["/dev/vdb"], true, &["old"], true),
            BuildDecision::Build { overwrite: true },
            "proven empty by LVM's report"
        );
        assert!(matches!(
            d(BuildPlan::Refuse("never".into()), &["/dev/vdb"], true, &["vg"], true),
            BuildDecision::Refuse(why) if why == "never"
        ));
        assert_eq!(
            d(
                BuildPlan::Grow {
                    added: devs(&["/dev/vdc"])
                },
                &["/dev/vdb", "/dev/vdc"],
                true,
                &[],
                true
            ),
            BuildDecision::Grow(devs(&["/dev/vdc"]))
        );
    }

    fn vol(name: &str, allocation: u64, backing: Option<&str>) -> VolInfo {
        VolInfo {
            pool: "p".into(),
            xml: VolumeXml {
                vol_type: Some("block".into()),
                name: name.into(),
                key: Some(format!("key-{name}")),
                capacity: allocation,
                allocation,
                target_path: Some(format!("/dev/vg/{name}")),
                format: None,
                backing_path: backing.map(str::to_string),
            },
        }
    }

    /// Measured on the lab (libvirt 9.0, LVM 2.03): a VG holding a plain LV (8 MiB), its snapshot
    /// (8 MiB), a sparse LV (4 MiB COW), a thin pool of 16 MiB (+4 MiB metadata, +4 MiB spare), a
    /// thin LV and an LV deactivated while the pool ran (4 MiB): libvirt lists 20 MiB, the pool's
    /// allocation is 48 MiB.
    #[test]
    fn extents_the_listing_does_not_explain() {
        const M: u64 = 1 << 20;
        let listed = [
            vol("plain", 8 * M, None),
            vol("snap", 8 * M, Some("/dev/vg/plain")),
            vol("sparse", 4 * M, None),
        ];
        assert_eq!(unexplained(20 * M, &listed), None, "a complete listing");
        let u = unexplained(48 * M, &listed).expect("hidden LVs");
        assert_eq!((u.allocation, u.listed, u.hidden()), (48 * M, 20 * M, 28 * M));
        assert!(
            unexplained(16 * M, &listed).is_some(),
            "a listing that claims more"
        );
        assert_eq!(unexplained(0, &[]), None, "an empty volume group");
        assert!(
            unexplained(4 * M, &[]).is_some(),
            "nothing listed, extents allocated"
        );
    }

    #[test]
    fn snapshots_are_found_by_their_backing_path() {
        let listed = [
            vol("plain", 8, None),
            vol("snap", 8, Some("/dev/vg/plain")),
            vol("snap2", 8, Some("/dev//vg/plain/")),
            vol("other", 8, Some("/dev/vg/plainer")),
        ];
        let names: Vec<&str> = snapshots_of(&listed[0], &listed)
            .iter()
            .map(|v| v.xml.name.as_str())
            .collect();
        assert_eq!(names, ["snap", "snap2"]);
        assert!(snapshots_of(&listed[1], &listed).is_empty());
    }

    fn lv(name: &str, attr: &str, origin: Option<&str>, pool: Option<&str>, open: Option<bool>) -> Lv {
        Lv {
            uuid: format!("uuid-{name}"),
            name: name.into(),
            vg: "vg".into(),
            attr: attr.into(),
            size: 4 << 20,
            origin: origin.map(str::to_string),
            pool_lv: pool.map(str::to_string),
            roles: vec![],
            active: open.is_some(),
            open,
            data_percent: None,
            metadata_percent: None,
            tags: vec![],
            path: (!name.starts_with('[')).then(|| format!("/dev/vg/{name}")),
            chunk_size: None,
            metadata_size: None,
            devices: vec![],
        }
    }

    /// LVM's report of the lab's measured volume group: libvirt lists `plain`, `snap` and
    /// `sparse`; the rest it does not.
    #[test]
    fn what_lvm_shows_beyond_the_listing() {
        let lvs = [
            lv("plain", "owi-a-s---", None, None, Some(false)),
            lv("snap", "swi-a-s---", Some("plain"), None, Some(false)),
            lv("sparse", "swi-a-s---", Some("[sparse_vorigin]"), None, Some(true)),
            lv("[sparse_vorigin]", "ori-a-s---", None, None, Some(false)),
            lv("tpool", "twi-aotz--", None, None, Some(true)),
            lv("[tpool_tdata]", "Twi-ao----", None, None, Some(true)),
            lv("thinv", "Vwi-a-tz--", None, Some("tpool"), Some(false)),
            lv(
                "thinsnap",
                "Vwi-a-tz--",
                Some("thinv"),
                Some("tpool"),
                Some(false),
            ),
            lv("inact", "-wi-------", None, None, None),
        ];
        let key = |n: &str| {
            let mut v = vol(n, 1, None);
            v.xml.key = Some(format!("uuid-{n}"));
            v
        };
        let listed = [key("plain"), key("snap"), key("sparse")];
        let names = |v: Vec<&Lv>| v.into_iter().map(|l| l.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(unlisted(&listed, &lvs)),
            ["tpool", "thinv", "thinsnap", "inact"]
        );
        assert_eq!(
            names(open_lvs(&lvs)),
            ["sparse"],
            "a thin pool held by its volumes is no user"
        );
        assert_eq!(names(dependants(&lvs[0], &lvs)), ["snap"]);
        assert_eq!(
            names(dependants(&lvs[6], &lvs)),
            ["thinsnap"],
            "thin snapshots too"
        );
        assert_eq!(names(thin_volumes_of(&lvs[4], &lvs)), ["thinv", "thinsnap"]);
        assert_eq!(
            Held::lv(&lvs[6]).to_string(),
            "thinv (thin, /dev/vg/thinv, 4194304 bytes, LV UUID uuid-thinv)"
        );
    }
}
