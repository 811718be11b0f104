//! Who uses a volume: the one home of the rule "which disks use this volume".
//!
//! A logical volume has many names on the hypervisor. A domain's disk may reach it as
//! `/dev/<vg>/<lv>`, `/dev/mapper/<vg>-<lv>` (every `-` inside a name doubled, as LVM does),
//! `/dev/disk/by-id/dm-name-<vg>-<lv>`, `/dev/disk/by-id/dm-uuid-LVM-<vg uuid><lv uuid>`, or as
//! `<disk type='volume'>` by pool and name; directly, or behind a qcow2 overlay (its backing chain)
//! or a block copy (its mirror). Every one of those counts as a use, in the running and the saved
//! definition of every domain, running or not. What cannot be told from the XML alone: a kernel
//! name (`/dev/dm-7`) or a filesystem UUID link; those are not recognised (docs/index.md says so).

use std::fmt;

use crate::libvirt::facts::domain::{DomainInfo, View};
use crate::libvirt::facts::volume::VolInfo;
use crate::libvirt::xml::{DiskSourceXml, DiskXml, DomainXml};
pub use crate::names::normalize_path;

/// Every name by which a domain's disk can use one volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeNames {
    pool: String,
    name: String,
    /// Normalised paths that are this volume: `/dev/<vg>/<lv>` and its device-mapper names.
    paths: Vec<String>,
    /// The LV UUID without dashes, as it ends a `dm-uuid-LVM-…` name (None when the key is not an
    /// LV UUID, as on libvirt's test driver).
    bare_uuid: Option<String>,
}

/// LVM's device-mapper name of a VG or LV name: every `-` doubled, so that the single `-` between
/// the two stays unambiguous.
pub fn dm_escape(s: &str) -> String {
    s.replace('-', "--")
}

impl VolumeNames {
    /// The names of the volume `name` in `pool`, at `path`, with libvirt key `key`.
    pub fn new(pool: &str, name: &str, path: &str, key: &str) -> Self {
        let path = normalize_path(path);
        let mut paths = vec![path.clone()];
        // /dev/<vg>/<lv>: the device-mapper names follow from the two names.
        if let [vg, lv] = path
            .strip_prefix("/dev/")
            .map(|rest| rest.split('/').collect::<Vec<_>>())
            .unwrap_or_default()
            .as_slice()
        {
            let dm = format!("{}-{}", dm_escape(vg), dm_escape(lv));
            paths.push(format!("/dev/mapper/{dm}"));
            paths.push(format!("/dev/disk/by-id/dm-name-{dm}"));
        }
        let bare: String = key.chars().filter(|c| *c != '-').collect();
        let bare_uuid = (bare.len() == 32 && bare.chars().all(|c| c.is_ascii_alphanumeric())).then_some(bare);
        VolumeNames {
            pool: pool.to_string(),
            name: name.to_string(),
            paths,
            bare_uuid,
        }
    }

    /// The names of a volume libvirt reported.
    pub fn of(v: &VolInfo) -> Self {
        Self::new(&v.pool, &v.xml.name, &v.path(), &v.key())
    }

    fn is_path(&self, p: &str) -> bool {
        let p = normalize_path(p);
        if self.paths.contains(&p) {
            return true;
        }
        // dm-uuid-LVM-<vg uuid><lv uuid>, possibly with a suffix for a snapshot's parts.
        match (&self.bare_uuid, p.strip_prefix("/dev/disk/by-id/dm-uuid-LVM-")) {
            (Some(uuid), Some(rest)) => rest.contains(uuid.as_str()),
            _ => false,
        }
    }

    /// Whether `s` names this volume: by pool and volume name (the volume's own pool, or another
    /// pool whose directory `pools` knows, such as a second pool over the same volume group), or
    /// by any of its paths.
    pub fn named_by(&self, s: &DiskSourceXml, pools: &dyn PoolDirs) -> bool {
        if let (Some(pool), Some(volume)) = (s.pool.as_deref(), s.volume.as_deref()) {
            if pool == self.pool && volume == self.name {
                return true;
            }
            if pool != self.pool {
                if let Some(dir) = pools.dir(pool) {
                    if self.is_path(&format!("{dir}/{volume}")) {
                        return true;
                    }
                }
            }
        }
        s.paths().any(|p| self.is_path(p))
    }

    /// Whether the disk reads this volume, by any name, directly or behind an overlay, a data
    /// store or a mirror.
    pub fn used_by(&self, disk: &DiskXml, pools: &dyn PoolDirs) -> bool {
        disk.all_sources().any(|s| self.named_by(s, pools))
    }
}

/// Where the volumes of a pool live (its target directory), for `<disk type='volume'>` sources
/// that name another pool than the volume's own: two pools can be defined over one volume group.
pub trait PoolDirs {
    /// The target directory of pool `pool`, when there is such a pool.
    fn dir(&self, pool: &str) -> Option<String>;
}

/// Knows no other pool: a `type='volume'` source counts only when it names the volume's own pool.
pub struct NoOtherPools;

impl PoolDirs for NoOtherPools {
    fn dir(&self, _: &str) -> Option<String> {
        None
    }
}

impl<F: Fn(&str) -> Option<String>> PoolDirs for F {
    fn dir(&self, pool: &str) -> Option<String> {
        self(pool)
    }
}

/// One device of one domain that uses a volume: a disk, or a filesystem, hostdev or memory device
/// backed by it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// The domain's name.
    pub domain: String,
    /// The disk's target (`sdb`), or what the other device is (`filesystem /mnt`).
    pub target: String,
    /// Which definition.
    pub view: View,
    /// Whether the disk is marked `<shareable/>` (never for other devices).
    pub shareable: bool,
}

impl fmt::Display for Use {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "domain {:?} as {} ({} definition)",
            self.domain, self.target, self.view
        )
    }
}

/// The devices of one definition that use the volume named by `names`, as (target, shareable).
pub fn uses_in(xml: &DomainXml, names: &VolumeNames, pools: &dyn PoolDirs) -> Vec<(String, bool)> {
    let disks = xml
        .disks
        .iter()
        .filter(|disk| names.used_by(disk, pools))
        .map(|disk| (disk.target_dev.clone(), disk.shareable));
    let devices = xml
        .devices
        .iter()
        .filter(|d| names.named_by(&d.source, pools))
        .map(|d| (d.kind.clone(), false));
    disks.chain(devices).collect()
}

/// Every device of `domains` that uses the volume named by `names`.
pub fn users(domains: &[DomainInfo], names: &VolumeNames, pools: &dyn PoolDirs) -> Vec<Use> {
    let mut out: Vec<Use> = Vec::new();
    for d in domains {
        for (view, xml) in d.views() {
            for (target, shareable) in uses_in(xml, names, pools) {
                let u = Use {
                    domain: d.name.clone(),
                    target,
                    view,
                    shareable,
                };
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
    }
    out
}

/// What a disk attached by the provider points at, as recorded in its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachedSource {
    /// A libvirt volume, by its key (the LV UUID).
    Volume {
        /// The key.
        key: String,
    },
    /// A host path the user gave.
    Path(String),
}

impl AttachedSource {
    /// Whether `disk` is this source itself: its top-level source is any name of the volume, or
    /// exactly the path given. A disk that only reads the volume behind an overlay, a data store
    /// or a mirror is another disk (an operator's overlay at the same target is not ours).
    pub fn matches(&self, disk: &DiskXml, volume: Option<&VolumeNames>) -> bool {
        match (self, volume) {
            (AttachedSource::Volume { .. }, Some(names)) => names.named_by(&disk.source, &NoOtherPools),
            (AttachedSource::Volume { .. }, None) => false,
            (AttachedSource::Path(p), _) => {
                let p = normalize_path(p);
                disk.source.paths().any(|q| normalize_path(q) == p)
            }
        }
    }
}

/// A short description of what a disk points at, for messages.
pub fn describe_source(d: &DiskXml) -> String {
    match (&d.source.dev, &d.source.pool, &d.source.volume, &d.source.file) {
        (Some(dev), ..) => dev.clone(),
        (_, Some(p), Some(v), _) => format!("volume {p}/{v}"),
        (.., Some(f)) => f.clone(),
        _ => "no source".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::xml::{DiskSourceXml, DomainXml};

    const KEY: &str = "8Hx2cF-0xYq-3k2T-Qb7L-4WmE-gR5d-Zp1N9a";

    fn names() -> VolumeNames {
        VolumeNames::new("vm-pool", "db-data", "/dev/vg-1/db-data", KEY)
    }

    fn disk(source: DiskSourceXml) -> DiskXml {
        DiskXml {
            source,
            target_dev: "sdb".into(),
            ..Default::default()
        }
    }

    fn dev(p: &str) -> DiskSourceXml {
        DiskSourceXml {
            dev: Some(p.into()),
            ..Default::default()
        }
    }

    fn file(p: &str) -> DiskSourceXml {
        DiskSourceXml {
            file: Some(p.into()),
            ..Default::default()
        }
    }

    /// Messages name what a disk points at: its device, its pool volume, its file, or nothing.
    #[test]
    fn sources_are_described_for_messages() {
        assert_eq!(describe_source(&disk(dev("/dev/vg/a"))), "/dev/vg/a");
        assert_eq!(describe_source(&disk(file("/var/a.img"))), "/var/a.img");
        let volume = DiskSourceXml {
            pool: Some("p".into()),
            volume: Some("v".into()),
            ..Default::default()
        };
        assert_eq!(describe_source(&disk(volume)), "volume p/v");
        assert_eq!(describe_source(&disk(DiskSourceXml::default())), "no source");
        // A device wins over a file (what libvirt uses for a block disk).
        let both = DiskSourceXml {
            file: Some("/var/a.img".into()),
            ..dev("/dev/vg/a")
        };
        assert_eq!(describe_source(&disk(both)), "/dev/vg/a");
    }

    /// `NoOtherPools` knows no pool's directory, its own included: a `type='volume'` source of
    /// another pool over the same volume group is then no use (the callers that can list pools pass
    /// a lookup instead).
    #[test]
    fn no_other_pools_knows_no_directory() {
        assert_eq!(NoOtherPools.dir("vm-pool"), None);
        assert_eq!(NoOtherPools.dir(""), None);
        let lookup = |p: &str| (p == "other").then(|| "/dev/vg-1".to_string());
        assert_eq!(lookup.dir("other").as_deref(), Some("/dev/vg-1"));
    }

    /// Every name of an LV counts as a use; near misses do not.
    #[test]
    fn every_name_of_a_volume_is_a_use() {
        let uuid: String = KEY.chars().filter(|c| *c != '-').collect();
        let vg_uuid = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
        let uses = [
            dev("/dev/vg-1/db-data"),
            file("/dev/vg-1/db-data"),
            dev("//dev/vg-1//db-data/"),
            dev("/dev/./vg-1/../vg-1/db-data"),
            dev("/dev/mapper/vg--1-db--data"),
            file("/dev/mapper/vg--1-db--data"),
            dev("/dev/disk/by-id/dm-name-vg--1-db--data"),
            dev(&format!("/dev/disk/by-id/dm-uuid-LVM-{vg_uuid}{uuid}")),
            dev(&format!("/dev/disk/by-id/dm-uuid-LVM-{vg_uuid}{uuid}-real")),
            DiskSourceXml {
                pool: Some("vm-pool".into()),
                volume: Some("db-data".into()),
                ..Default::default()
            },
        ];
        for s in uses {
            assert!(names().used_by(&disk(s.clone()), &NoOtherPools), "{s:?} is a use");
        }
        let others = [
            dev("/dev/vg-1/db-data2"),
            dev("/dev/vg-1/db"),
            dev("/dev/mapper/vg-1-db-data"), // single dashes: another split of names
            dev("/dev/mapper/vg--1-db--data2"),
            dev("/dev/disk/by-id/dm-name-vg--1-db"),
            dev(&format!(
                "/dev/disk/by-id/dm-uuid-LVM-{vg_uuid}{}",
                "x".repeat(32)
            )),
            dev("/dev/vg-2/db-data"),
            DiskSourceXml {
                pool: Some("vm-pool".into()),
                volume: Some("db".into()),
                ..Default::default()
            },
            DiskSourceXml {
                pool: Some("other".into()),
                volume: Some("db-data".into()),
                ..Default::default()
            },
            DiskSourceXml::default(),
        ];
        for s in others {
            assert!(
                !names().used_by(&disk(s.clone()), &NoOtherPools),
                "{s:?} is not a use"
            );
        }
    }

    #[test]
    fn a_volume_behind_an_overlay_or_a_mirror_is_used() {
        let mut d = disk(file("/var/lib/libvirt/images/overlay.qcow2"));
        assert!(!names().used_by(&d, &NoOtherPools));
        d.behind = vec![file("/var/lib/base.qcow2"), dev("/dev/mapper/vg--1-db--data")];
        assert!(names().used_by(&d, &NoOtherPools), "the end of a backing chain");
        let mut d = disk(dev("/dev/other/lv"));
        d.behind = vec![dev("/dev/vg-1/db-data")];
        assert!(names().used_by(&d, &NoOtherPools), "a block copy's mirror");
    }

    #[test]
    fn keys_that_are_not_lv_uuids_match_no_dm_uuid() {
        let n = VolumeNames::new("default-pool", "v", "/default-pool/v", "/default-pool/v");
        assert!(n.used_by(&disk(dev("/default-pool/v")), &NoOtherPools));
        assert!(!n.used_by(
            &disk(dev("/dev/disk/by-id/dm-uuid-LVM-defaultpoolv")),
            &NoOtherPools
        ));
    }

    #[test]
    fn users_lists_each_disk_once_per_view() {
        let xml = |sources: &[DiskSourceXml]| DomainXml {
            name: "web".into(),
            uuid: None,
            id: None,
            domain_type: "qemu".into(),
            has_acpi: true,
            disks: sources
                .iter()
                .enumerate()
                .map(|(i, s)| DiskXml {
                    target_dev: format!("sd{}", (b'a' + i as u8) as char),
                    ..disk(s.clone())
                })
                .collect(),
            controllers: vec![],
            devices: vec![],
        };
        let running = DomainInfo {
            uuid: "u1".into(),
            name: "web".into(),
            active: true,
            persistent: true,
            live: xml(&[dev("/dev/vg-1/db-data")]),
            config: xml(&[dev("/dev/vg-1/db-data"), dev("/dev/mapper/vg--1-db--data")]),
        };
        let off = DomainInfo {
            uuid: "u2".into(),
            name: "batch".into(),
            active: false,
            persistent: true,
            live: xml(&[dev("/dev/disk/by-id/dm-name-vg--1-db--data")]),
            config: xml(&[dev("/dev/disk/by-id/dm-name-vg--1-db--data")]),
        };
        let found: Vec<String> = users(&[running, off], &names(), &NoOtherPools)
            .iter()
            .map(Use::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "domain \"web\" as sda (running definition)",
                "domain \"web\" as sda (persistent definition)",
                "domain \"web\" as sdb (persistent definition)",
                "domain \"batch\" as sda (persistent definition)",
            ]
        );
    }

    #[test]
    fn path_attachments_match_their_exact_path() {
        let s = AttachedSource::Path("/dev/vg0/data".into());
        assert!(s.matches(&disk(dev("/dev/vg0/data")), None));
        assert!(s.matches(&disk(file("/dev/vg0//data")), None));
        assert!(!s.matches(&disk(dev("/dev/vg0/other")), None));
        let v = AttachedSource::Volume { key: KEY.into() };
        assert!(
            !v.matches(&disk(dev("/dev/vg-1/db-data")), None),
            "unresolved: never proven"
        );
        assert!(v.matches(&disk(dev("/dev/vg-1/db-data")), Some(&names())));
    }

    #[test]
    fn paths_normalise_lexically() {
        for (p, want) in [
            ("/dev//vg/lv/", "/dev/vg/lv"),
            ("/dev/./vg/lv", "/dev/vg/lv"),
            ("/dev/vg/../vg/lv", "/dev/vg/lv"),
            ("/", "/"),
        ] {
            assert_eq!(normalize_path(p), want, "{p}");
        }
    }

    /// A qcow2 image whose data lives on the volume (its external data store) reads it.
    #[test]
    fn a_volume_as_a_data_store_is_used() {
        let xml = "<domain type='qemu'><name>d</name><devices>\
            <disk type='file' device='disk'><source file='/var/lib/img.qcow2'>\
              <dataStore type='block'><format type='raw'/><source dev='/dev/vg-1/db-data'/></dataStore>\
            </source><target dev='vda'/></disk></devices></domain>";
        let parsed = DomainXml::parse(xml).expect("parses");
        assert!(names().used_by(&parsed.disks[0], &NoOtherPools));
        assert_eq!(
            uses_in(&parsed, &names(), &NoOtherPools),
            [("vda".to_string(), false)]
        );
    }

    /// Devices other than disks that read the volume: a filesystem on it, a hostdev passing it
    /// through, an nvdimm or virtio-pmem backed by it.
    #[test]
    fn filesystems_hostdevs_and_memory_devices_are_uses() {
        let devices = [
            ("<filesystem type='block' accessmode='passthrough'><source dev='/dev/mapper/vg--1-db--data'/>\
              <target dir='/mnt/data'/></filesystem>", "filesystem /mnt/data"),
            ("<filesystem type='file'><source file='/dev/vg-1/db-data'/><target dir='/srv'/></filesystem>",
             "filesystem /srv"),
            ("<hostdev mode='capabilities' type='storage'><source><block>/dev/vg-1/db-data</block></source>\
              </hostdev>", "hostdev"),
            ("<memory model='nvdimm'><source><path>/dev/vg-1/db-data</path></source>\
              <target><size unit='KiB'>524288</size><node>0</node></target></memory>", "memory nvdimm"),
            ("<memory model='virtio-pmem' access='shared'><source><path>/dev/disk/by-id/dm-name-vg--1-db--data</path>\
              </source><target><size unit='KiB'>524288</size></target></memory>", "memory virtio-pmem"),
        ];
        for (device, kind) in devices {
            let xml = format!("<domain type='qemu'><name>d</name><devices>{device}</devices></domain>");
            let parsed = DomainXml::parse(&xml).expect("parses");
            assert_eq!(
                uses_in(&parsed, &names(), &NoOtherPools),
                [(kind.to_string(), false)],
                "{device}"
            );
        }
        let others = [
            "<filesystem type='mount'><source dir='/dev/vg-1'/><target dir='/x'/></filesystem>",
            "<filesystem type='block'><source dev='/dev/vg-1/other'/><target dir='/x'/></filesystem>",
            "<hostdev mode='capabilities' type='storage'><source><block>/dev/sdz</block></source></hostdev>",
            "<memory model='dimm'><target><size unit='KiB'>524288</size><node>0</node></target></memory>",
        ];
        for device in others {
            let xml = format!("<domain type='qemu'><name>d</name><devices>{device}</devices></domain>");
            let parsed = DomainXml::parse(&xml).expect("parses");
            assert!(uses_in(&parsed, &names(), &NoOtherPools).is_empty(), "{device}");
        }
    }

    /// A `type='volume'` disk naming another pool whose directory is the volume group's is a use;
    /// one naming another pool elsewhere, or an unknown pool, is not.
    #[test]
    fn a_volume_named_through_another_pool_over_the_same_vg_is_used() {
        let pools = |pool: &str| match pool {
            "second-view" => Some("/dev/vg-1".to_string()),
            "elsewhere" => Some("/var/lib/libvirt/images".to_string()),
            _ => None,
        };
        let by = |pool: &str, volume: &str| {
            disk(DiskSourceXml {
                pool: Some(pool.into()),
                volume: Some(volume.into()),
                ..Default::default()
            })
        };
        assert!(names().used_by(&by("second-view", "db-data"), &pools));
        assert!(!names().used_by(&by("second-view", "db-data"), &NoOtherPools));
        assert!(!names().used_by(&by("second-view", "other"), &pools));
        assert!(!names().used_by(&by("elsewhere", "db-data"), &pools));
        assert!(!names().used_by(&by("unknown", "db-data"), &pools));
    }

    /// The attachment's own disk is its top-level source: an overlay whose backing chain ends at
    /// the volume, at the same target, is another disk.
    #[test]
    fn an_attachment_matches_its_top_level_source_only() {
        let v = AttachedSource::Volume { key: KEY.into() };
        let mut overlay = disk(file("/var/lib/libvirt/images/overlay.qcow2"));
        overlay.behind = vec![dev("/dev/vg-1/db-data")];
        assert!(
            names().used_by(&overlay, &NoOtherPools),
            "still a use of the volume"
        );
        assert!(!v.matches(&overlay, Some(&names())), "but not the attached disk");
        let mut mirrored = disk(dev("/dev/vg-1/db-data"));
        mirrored.behind = vec![dev("/dev/other/lv")];
        assert!(v.matches(&mirrored, Some(&names())));
    }
}
