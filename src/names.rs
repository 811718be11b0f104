//! Validation of names and paths before they reach LVM or libvirt, so a plan
//! fails early with a message that says what is valid instead of failing
//! half-way through an apply with a terse daemon error.
//!
//! The LVM rules follow lvm2's `lib/misc/lvm-string.c` (`_validate_name`,
//! `apply_lvname_restrictions`) and lvm(8) "VALID NAMES"; the pool-name rule
//! follows libvirt's storage pool parser and `objectName` schema type.

use std::fmt;
use std::str::FromStr;

/// lvm2's `NAME_LEN` is 128 including the terminating NUL.
const LVM_NAME_MAX: usize = 127;
/// Linux `PATH_MAX` is 4096 including the terminating NUL.
const PATH_MAX: usize = 4095;
/// LV name prefixes lvm2 reserves for its own volumes.
const LV_RESERVED_PREFIXES: [&str; 2] = ["pvmove", "snapshot"];
/// Substrings lvm2 reserves for component and internal LVs (lvm2 2.03.x).
const LV_RESERVED_SUBSTRINGS: [&str; 17] = [
    "_cdata", "_cmeta", "_corig", "_cpool", "_cvol", "_imeta", "_iorig", "_mimage", "_mlog", "_pmspare",
    "_rimage", "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin", "_wcorig",
];

/// The rules shared by VG and LV names.
fn lvm_name(kind: &str, name: &str) -> Result<(), String> {
    let rule = "use 1 to 127 characters from a-z A-Z 0-9 + _ . -, not starting with '-'";
    if name.is_empty() {
        return Err(format!("{kind} name must not be empty: {rule}"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '_' | '.' | '-')))
    {
        return Err(format!(
            "{kind} name {name:?} contains {c:?}, which LVM does not allow: {rule}"
        ));
    }
    if name.len() > LVM_NAME_MAX {
        return Err(format!(
            "{kind} name {name:?} is {} characters long: {rule}",
            name.len()
        ));
    }
    if name.starts_with('-') {
        return Err(format!("{kind} name {name:?} starts with '-': {rule}"));
    }
    if name == "." || name == ".." {
        return Err(format!(
            "{kind} name {name:?} is reserved by LVM: {rule}, other than \".\" and \"..\""
        ));
    }
    Ok(())
}

/// An LVM volume group name. Whether `/dev/<vg>` already exists (which
/// `vgcreate` also refuses) can only be checked on the host, not here.
pub fn validate_vg_name(name: &str) -> Result<(), String> {
    lvm_name("volume group", name)
}

/// An LVM logical volume name: the VG rules plus lvm2's reserved prefixes and
/// substrings, which it keeps for snapshots, pvmove and component volumes.
pub fn validate_lv_name(name: &str) -> Result<(), String> {
    lvm_name("logical volume", name)?;
    if let Some(p) = LV_RESERVED_PREFIXES.iter().find(|p| name.starts_with(*p)) {
        return Err(format!(
            "logical volume name {name:?} starts with {p:?}, which LVM reserves \
             (names may not start with \"pvmove\" or \"snapshot\")"
        ));
    }
    if let Some(s) = LV_RESERVED_SUBSTRINGS.iter().find(|s| name.contains(*s)) {
        return Err(format!(
            "logical volume name {name:?} contains {s:?}, which LVM reserves for internal volumes \
             (reserved: {})",
            LV_RESERVED_SUBSTRINGS.join(", ")
        ));
    }
    Ok(())
}

/// A libvirt storage pool name. libvirt itself only refuses empty names,
/// `/` and newlines; control characters and surrounding whitespace are
/// refused too because they make names impossible to tell apart in output.
pub fn validate_pool_name(name: &str) -> Result<(), String> {
    let rule = "use a non-empty name without '/', control characters or leading/trailing whitespace";
    if name.is_empty() {
        return Err(format!("storage pool name must not be empty: {rule}"));
    }
    if name.contains('/') {
        return Err(format!("storage pool name {name:?} contains '/': {rule}"));
    }
    if name.chars().any(char::is_control) {
        return Err(format!(
            "storage pool name {name:?} contains a control character: {rule}"
        ));
    }
    if name.trim() != name {
        return Err(format!(
            "storage pool name {name:?} has leading or trailing whitespace: {rule}"
        ));
    }
    Ok(())
}

/// A path with `//`, `/./`, `..` and a trailing `/` resolved lexically. Lexically is right for the
/// names compared here: `/dev/<vg>` and `/dev/mapper` are directories, not links.
pub fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if p.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

/// A host block device path such as `/dev/sdb` or `/dev/disk/by-id/wwn-0x…`.
///
/// It must be absolute, under `/dev/`, and normalized (no empty, `.` or `..`
/// components, no trailing `/`), without whitespace or control characters,
/// and at most 4095 bytes. Normalized paths are required because libvirt and
/// LVM report the path as given, so `/dev//sdb` would never match later reads.
pub fn validate_device_path(path: &str) -> Result<(), String> {
    let rule = "use an absolute, normalized path under /dev/, such as /dev/sdb or /dev/disk/by-id/…";
    let Some(rest) = path.strip_prefix("/dev/") else {
        return Err(format!("device path {path:?} is not under /dev/: {rule}"));
    };
    if let Some(c) = path.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("device path {path:?} contains {c:?}: {rule}"));
    }
    if path.len() > PATH_MAX {
        return Err(format!(
            "device path is {} bytes long, more than {PATH_MAX}",
            path.len()
        ));
    }
    if rest.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Err(format!(
            "device path {path:?} is not normalized (empty, '.' or '..' component, or trailing '/'): {rule}"
        ));
    }
    Ok(())
}

/// Disk buses a guest disk can be attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bus {
    /// virtio-blk (`vd*`), one PCI device per disk.
    Virtio,
    /// A SCSI controller (`sd*`), virtio-scsi on KVM.
    Scsi,
    /// An AHCI controller (`sd*`).
    Sata,
    /// Legacy IDE (`hd*`); not hot-pluggable.
    Ide,
    /// USB mass storage (`sd*`).
    Usb,
    /// Xen paravirtual (`xvd*`).
    Xen,
}

impl Bus {
    /// Every bus, in declaration order.
    pub const ALL: [Bus; 6] = [Bus::Virtio, Bus::Scsi, Bus::Sata, Bus::Ide, Bus::Usb, Bus::Xen];

    /// The value of libvirt's `<target bus='…'>`.
    pub fn as_str(self) -> &'static str {
        match self {
            Bus::Virtio => "virtio",
            Bus::Scsi => "scsi",
            Bus::Sata => "sata",
            Bus::Ide => "ide",
            Bus::Usb => "usb",
            Bus::Xen => "xen",
        }
    }

    /// The conventional target-name prefix for disks on this bus.
    pub fn target_prefix(self) -> &'static str {
        match self {
            Bus::Virtio => "vd",
            Bus::Scsi | Bus::Sata | Bus::Usb => "sd",
            Bus::Ide => "hd",
            Bus::Xen => "xvd",
        }
    }
}

impl fmt::Display for Bus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Bus {
    type Err = String;

    /// Exact, lowercase names, as libvirt spells them.
    fn from_str(s: &str) -> Result<Self, String> {
        Bus::ALL.into_iter().find(|b| b.as_str() == s).ok_or_else(|| {
            let valid: Vec<_> = Bus::ALL.iter().map(|b| b.as_str()).collect();
            format!("unknown disk bus {s:?}: use one of {}", valid.join(", "))
        })
    }
}

/// A guest disk target name (`vdb`, `sdc`, `hda`, `xvdaa`): a prefix `vd`,
/// `sd`, `hd` or `xvd` then 1 to 3 lowercase letters (no partition digits,
/// which libvirt rejects). Returns the bus libvirt infers from the prefix
/// when none is given: vd → virtio, sd → scsi, hd → ide, xvd → xen.
pub fn validate_domain_target(target: &str) -> Result<Bus, String> {
    const PREFIXES: [(&str, Bus); 4] = [
        ("vd", Bus::Virtio),
        ("sd", Bus::Scsi),
        ("hd", Bus::Ide),
        ("xvd", Bus::Xen),
    ];
    let found = PREFIXES.iter().find_map(|(p, bus)| {
        let letters = target.strip_prefix(p)?;
        let ok = (1..=3).contains(&letters.len()) && letters.bytes().all(|b| b.is_ascii_lowercase());
        ok.then_some(*bus)
    });
    found.ok_or_else(|| {
        format!(
            "invalid disk target {target:?}: use vd, sd, hd or xvd followed by 1 to 3 lowercase \
             letters, such as \"vdb\", \"sdc\" or \"sdaa\""
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vg_names() {
        let long = "v".repeat(127);
        for ok in [
            "vg0",
            "VG_data",
            "a",
            "a.b",
            "a+b",
            "x-y",
            "_x",
            ".x",
            "..x",
            "lvm",
            "snapshot1",
            long.as_str(),
        ] {
            assert_eq!(validate_vg_name(ok), Ok(()), "{ok}");
        }
        let too_long = "v".repeat(128);
        let cases = [
            ("", "must not be empty"),
            ("-vg", "starts with '-'"),
            (".", "reserved"),
            ("..", "reserved"),
            ("vg 0", "contains ' '"),
            ("vg/0", "contains '/'"),
            ("vg:0", "contains ':'"),
            ("végé", "contains 'é'"),
            ("vg\n", "contains '\\n'"),
            (too_long.as_str(), "128 characters long"),
        ];
        for (bad, why) in cases {
            let err = validate_vg_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
            assert!(err.starts_with("volume group name"), "{err}");
        }
        assert!(validate_vg_name("a b")
            .unwrap_err()
            .contains("a-z A-Z 0-9 + _ . -"));
    }

    #[test]
    fn lv_names() {
        for ok in [
            "data",
            "lv_root",
            "my-snapshot",
            "pv_move",
            "xsnapshot",
            "a_cdat",
            "meta_",
            "tdata",
            "lv.1+2",
        ] {
            assert_eq!(validate_lv_name(ok), Ok(()), "{ok}");
        }
        let cases = [
            ("", "must not be empty"),
            ("-lv", "starts with '-'"),
            ("..", "reserved by LVM"),
            ("snapshot", "starts with \"snapshot\""),
            ("snapshots", "starts with \"snapshot\""),
            ("pvmove0", "starts with \"pvmove\""),
            ("lv_cdata", "\"_cdata\""),
            ("x_cmeta_y", "\"_cmeta\""),
            ("lv_corig", "\"_corig\""),
            ("lv_cpool", "\"_cpool\""),
            ("lv_cvol", "\"_cvol\""),
            ("lv_imeta", "\"_imeta\""),
            ("lv_iorig", "\"_iorig\""),
            ("lv_mimage_0", "\"_mimage\""),
            ("lv_mlog", "\"_mlog\""),
            ("lvol0_pmspare", "\"_pmspare\""),
            ("lv_rimage_1", "\"_rimage\""),
            ("lv_rmeta_1", "\"_rmeta\""),
            ("pool_tdata", "\"_tdata\""),
            ("pool_tmeta", "\"_tmeta\""),
            ("vdo_vdata", "\"_vdata\""),
            ("lv_vorigin", "\"_vorigin\""),
            ("lv_wcorig", "\"_wcorig\""),
            ("lv@1", "contains '@'"),
        ];
        for (bad, why) in cases {
            let err = validate_lv_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn pool_names() {
        for ok in ["default", "vg0", "my pool", "pool.1", "ünïcode", "a&b<c>'d\"e"] {
            assert_eq!(validate_pool_name(ok), Ok(()), "{ok}");
        }
        let cases = [
            ("", "must not be empty"),
            ("a/b", "contains '/'"),
            ("/", "contains '/'"),
            ("a\nb", "control character"),
            ("a\u{7f}", "control character"),
            (" pool", "whitespace"),
            ("pool ", "whitespace"),
        ];
        for (bad, why) in cases {
            let err = validate_pool_name(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn paths_normalize_lexically() {
        for (p, want) in [
            ("/dev/vg0/lv", "/dev/vg0/lv"),
            ("/dev//vg0/./lv/", "/dev/vg0/lv"),
            ("/dev/mapper/../vg0/lv", "/dev/vg0/lv"),
            ("/..", "/"),
            ("dev/./sdb", "dev/sdb"),
            ("", ""),
        ] {
            assert_eq!(normalize_path(p), want, "{p:?}");
        }
    }

    #[test]
    fn device_paths() {
        for ok in [
            "/dev/sdb",
            "/dev/vdb1",
            "/dev/nvme0n1p2",
            "/dev/mapper/mpatha",
            "/dev/disk/by-id/wwn-0x5000c500a1b2c3d4",
            "/dev/disk/by-path/pci-0000:00:1f.2-ata-1",
            "/dev/.hidden",
            "/dev/...",
        ] {
            assert_eq!(validate_device_path(ok), Ok(()), "{ok}");
        }
        let long = format!("/dev/{}", "a".repeat(4091));
        let cases = [
            ("", "not under /dev/"),
            ("sdb", "not under /dev/"),
            ("dev/sdb", "not under /dev/"),
            ("/dev", "not under /dev/"),
            ("/devices/sdb", "not under /dev/"),
            ("/tmp/disk.img", "not under /dev/"),
            ("/dev/", "not normalized"),
            ("/dev//sdb", "not normalized"),
            ("/dev/sdb/", "not normalized"),
            ("/dev/./sdb", "not normalized"),
            ("/dev/../etc/passwd", "not normalized"),
            ("/dev/disk/..", "not normalized"),
            ("/dev/my disk", "contains ' '"),
            ("/dev/sdb\n", "contains '\\n'"),
            ("/dev/sd\u{0}b", "contains '\\0'"),
            (long.as_str(), "more than 4095"),
        ];
        for (bad, why) in cases {
            let err = validate_device_path(bad).unwrap_err();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
        assert_eq!(validate_device_path(&long[..4095]), Ok(()));
    }

    #[test]
    fn domain_targets() {
        let cases = [
            ("vda", Bus::Virtio),
            ("vdz", Bus::Virtio),
            ("vdaa", Bus::Virtio),
            ("vdzzz", Bus::Virtio),
            ("sdb", Bus::Scsi),
            ("sdab", Bus::Scsi),
            ("hdc", Bus::Ide),
            ("xvda", Bus::Xen),
        ];
        for (target, bus) in cases {
            assert_eq!(validate_domain_target(target), Ok(bus), "{target}");
        }
        for bad in [
            "", "vd", "sd", "xvd", "vda1", "sdA", "VDA", "vdaaaa", "nvme0n1", "fda", "ubda", "xda", " vda",
            "vda ", "vd-a", "svda",
        ] {
            let err = validate_domain_target(bad).unwrap_err();
            assert!(err.contains("vd, sd, hd or xvd"), "{bad:?}: {err}");
        }
    }

    #[test]
    fn bus_strings_round_trip() {
        for bus in Bus::ALL {
            assert_eq!(bus.as_str().parse::<Bus>(), Ok(bus));
            assert_eq!(bus.to_string(), bus.as_str());
        }
        assert_eq!(Bus::Sata.target_prefix(), "sd");
        assert_eq!(Bus::Xen.target_prefix(), "xvd");
        let err = "SCSI".parse::<Bus>().unwrap_err();
        assert_eq!(
            err,
            "unknown disk bus \"SCSI\": use one of virtio, scsi, sata, ide, usb, xen"
        );
        assert!("".parse::<Bus>().is_err());
    }
}
