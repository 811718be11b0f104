//! Without libvirt's client library on the machine that runs Terraform, the provider says which
//! package to install, for each family of distributions, in the diagnostic Terraform shows.
//!
//! The library is hidden from the provider alone: Terraform starts a wrapper that runs the built
//! provider in a mount namespace of its own, where the directory holding `libvirt.so.0` is replaced
//! by a copy of only the libraries the provider links (its C library). The provider then finds no
//! libvirt, exactly as on a machine without the package. Needs `unshare` (util-linux) and the right
//! to make mount namespaces (root, as on the build machines and in CI).

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tfrun::TfDir;

/// The directory the dynamic loader finds `libvirt.so.0` in, from its cache.
fn libvirt_dir() -> Option<PathBuf> {
    let out = Command::new("/sbin/ldconfig").arg("-p").output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find(|l| l.trim_start().starts_with("libvirt.so.0 "))
        .and_then(|l| l.rsplit_once("=> "))
        .and_then(|(_, path)| Path::new(path.trim()).parent().map(Path::to_path_buf))
}

/// The shared libraries `binary` loads (`ldd`), as (name it is looked up by, file).
fn needed(binary: &str) -> Vec<(String, PathBuf)> {
    let out = Command::new("ldd").arg(binary).output().expect("ldd runs");
    assert!(out.status.success(), "ldd {binary}: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            match l.split_once(" => ") {
                Some((name, rest)) => {
                    let path = rest.split_whitespace().next()?;
                    Some((name.to_string(), PathBuf::from(path)))
                }
                // The loader itself: `/lib64/ld-linux-x86-64.so.2 (0x…)`.
                None if l.starts_with('/') => {
                    let path = PathBuf::from(l.split_whitespace().next()?);
                    Some((path.file_name()?.to_string_lossy().into_owned(), path))
                }
                None => None,
            }
        })
        .collect()
}

fn mount_namespaces_work() -> bool {
    Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn without_libvirt_the_error_names_the_package_to_install() {
    if !mount_namespaces_work() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`unshare --mount` does not work here: CI must be able to run this test"
        );
        eprintln!(
            "\n!!!!!!!! without_libvirt_the_error_names_the_package_to_install SKIPPED: no mount namespaces \
             (run as root) !!!!!!!!\n"
        );
        return;
    }
    let binary = common::binary();
    let wrapper_dir = tempfile::tempdir().expect("tempdir");
    let staging = wrapper_dir.path().join("lib");
    std::fs::create_dir(&staging).expect("staging dir");
    let hide = match libvirt_dir() {
        Some(dir) => {
            for (name, path) in needed(binary) {
                assert!(!name.starts_with("libvirt"), "{binary} links libvirt: {name}");
                std::fs::copy(&path, staging.join(&name))
                    .unwrap_or_else(|e| panic!("copy {}: {e}", path.display()));
            }
            format!("mount --bind '{}' '{}' && ", staging.display(), dir.display())
        }
        // Not installed at all: nothing to hide.
        None => String::new(),
    };
    let wrapper = wrapper_dir.path().join("terraform-provider-libvirt");
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec unshare --mount --propagation private sh -c \"{hide}exec '{binary}'\"\n"),
    )
    .expect("write the wrapper");
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let dir = TfDir::new("tf-nolibvirt", wrapper_dir.path()).expect("tempdir");
    dir.write_main(
        r#"
terraform {
  required_providers {
    libvirt = { source = "libvirt-lvm/libvirt" }
  }
}
provider "libvirt" {
  uri = "test:///default"
}
data "libvirt_lvm_pool" "p" {
  name = "default-pool"
}
"#,
    )
    .expect("main.tf");
    let run = dir.run(&["plan", "-input=false", "-no-color"], Duration::from_secs(300));
    assert!(!run.ok(), "plan succeeded without libvirt:\n{run}");
    run.expect_mentions(&[
        "Error: libvirt Client Library Missing",
        "libvirt.so.0: cannot open shared object file",
        "needs it on the machine that runs Terraform, also for a remote hypervisor",
        "`apt-get install libvirt0` (Debian, Ubuntu)",
        "`dnf install libvirt-libs` (Fedora, RHEL and its rebuilds)",
        "`apk add libvirt-libs` (Alpine)",
        "`pacman -S libvirt` (Arch)",
    ]);
}
