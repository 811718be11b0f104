//! The plugin starts without loading libvirt (see `src/libvirt/loader.rs`): Terraform starts the
//! provider several times per command, and most of those processes never connect to a hypervisor.

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-libvirt");

/// The shared libraries the binary names in its dynamic section (`readelf -d`).
fn needed_libraries() -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-d", "-W", BIN])
        .output()
        .expect("readelf (binutils) runs");
    assert!(
        out.status.success(),
        "readelf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1).and_then(|r| r.split(']').next()))
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn the_binary_does_not_link_libvirt() {
    let needed = needed_libraries();
    assert!(!needed.is_empty(), "no NEEDED entries read from {BIN}");
    assert!(
        !needed.iter().any(|l| l.starts_with("libvirt")),
        "{BIN} links {needed:?}: a libvirt function is missing from the trampoline list in \
         src/libvirt/loader.rs (add the names `readelf --dyn-syms` shows as undefined vir* symbols)"
    );
}

/// Printing the version touches no libvirt: the process never maps it.
#[test]
fn starting_maps_no_libvirt() {
    let out = Command::new("sh")
        .args(["-c", &format!("LD_DEBUG=libs '{BIN}' --version 2>&1")])
        .output()
        .expect("sh runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("terraform-provider-libvirt"), "{text}");
    if cfg!(all(target_arch = "x86_64", target_os = "linux")) {
        assert!(
            !text.contains("libvirt.so"),
            "libvirt was loaded at start:\n{text}"
        );
    }
}
