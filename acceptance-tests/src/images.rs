//! Disk images made on the host for content scenarios: qemu-img/qemu-io from known patterns, the
//! raw reference (`qemu-img convert -O raw`, padded with zeros to a volume's capacity) and its
//! sha256, and logical pools and LVs made with virsh (not with the provider).

use std::path::Path;
use std::process::Command;

use crate::Lab;

/// Runs `cmd args`, panicking with its stderr on failure; returns stdout.
pub fn run_ok(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A path as &str (the suite's temporary paths are UTF-8).
pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The sha256 of a file, hex.
pub fn sha256_of_file(p: &Path) -> String {
    run_ok("sha256sum", &[path_str(p)])
        .split_whitespace()
        .next()
        .expect("sha256sum prints a digest")
        .to_string()
}

/// The sha256 a volume of `capacity` bytes filled from `image` must have: `qemu-img convert -O
/// raw` of the image, padded with zeros to `capacity`.
pub fn expected_volume_sha256(image: &Path, capacity: u64) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = dir.path().join("reference.raw");
    run_ok(
        "qemu-img",
        &["convert", "-O", "raw", path_str(image), path_str(&raw)],
    );
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&raw)
        .expect("open the reference");
    let len = f.metadata().expect("reference size").len();
    assert!(
        len <= capacity,
        "the image ({len} bytes) is larger than {capacity}"
    );
    f.set_len(capacity).expect("pad the reference");
    sha256_of_file(&raw)
}

/// The sha256 a volume of `capacity` bytes holding `file` byte for byte must have: the file as it
/// is (no conversion, whatever its format), padded with zeros to `capacity`.
pub fn verbatim_volume_sha256(file: &Path, capacity: u64) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("verbatim");
    std::fs::copy(file, &copy).expect("copy the file");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&copy)
        .expect("open the copy");
    let len = f.metadata().expect("copy size").len();
    assert!(
        len <= capacity,
        "the file ({len} bytes) is larger than {capacity}"
    );
    f.set_len(capacity).expect("pad the copy");
    sha256_of_file(&copy)
}

/// A logical pool `name` over `devices` (its VG also `name`), built and started with virsh.
pub fn make_logical_pool(lab: &Lab, name: &str, devices: &[String]) {
    let sources: String = devices.iter().map(|d| format!("<device path='{d}'/>")).collect();
    let xml = format!(
        "<pool type='logical'><name>{name}</name><source>{sources}<name>{name}</name>\
         <format type='lvm2'/></source><target><path>/dev/{name}</path></target></pool>"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pool.xml");
    std::fs::write(&file, xml).expect("write pool xml");
    lab.virsh_ok(&["pool-define", path_str(&file)]);
    lab.virsh_ok(&["pool-build", name, "--overwrite"]);
    lab.virsh_ok(&["pool-start", name]);
}

/// A plain (linear, fully allocated) LV of `mib` MiB, made with virsh.
pub fn make_lv(lab: &Lab, pool: &str, name: &str, mib: u64) {
    let size = format!("{mib}M");
    lab.virsh_ok(&["vol-create-as", pool, name, &size, "--allocation", &size]);
}

/// Leaves the first `mib` MiB of the pool's free extents holding 0xff bytes: an LV is made there,
/// filled, and removed (LVM does not clear extents it hands out again). Returns its extent ranges
/// (`lvs -o seg_pe_ranges`), for checking that later LVs landed on them.
pub fn dirty_extents(lab: &Lab, pool: &str, mib: u64) -> String {
    make_lv(lab, pool, "dirty", mib);
    lab.ssh_ok(&format!(
        "tr '\\0' '\\377' </dev/zero | dd of=/dev/{pool}/dirty bs=1M count={mib} iflag=fullblock oflag=direct status=none"
    ));
    let ranges = lab.ssh_ok(&format!("lvs --noheadings -o seg_pe_ranges {pool}/dirty"));
    lab.virsh_ok(&["vol-delete", "--pool", pool, "dirty"]);
    ranges.trim().to_string()
}
