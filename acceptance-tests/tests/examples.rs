//! The end-to-end configurations in examples/ applied as they are, with
//! only their variables set for the lab, and checked on the hypervisor.

use std::collections::BTreeSet;

use acceptance_tests::images::{expected_volume_sha256, path_str, run_ok};
use acceptance_tests::{DomainOpts, Scenario};

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples")
        .join(name)
        .join("main.tf");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn tfvars(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect()
}

fn q(s: &str) -> String {
    format!("{s:?}")
}

#[test]
fn example_lvm_vm_seed_flow() {
    let Some(s) = Scenario::start("examples::lvm_vm") else {
        return;
    };
    let lab = s.lab();
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let pool = s.name("vmdata");
    let wd = s.workdir_raw(&example("lvm-vm"));
    // A small qcow2 image with a pattern at the start and at 5 MiB (a hole between).
    let images = tempfile::tempdir().expect("tempdir");
    let raw = images.path().join("system.raw");
    let mut bytes = vec![0u8; 6 << 20];
    for (i, b) in bytes[..1 << 20].iter_mut().enumerate() {
        *b = (i % 251) as u8 | 1;
    }
    bytes[5 << 20..].fill(0x5a);
    std::fs::write(&raw, &bytes).expect("raw image");
    let image = images.path().join("system.qcow2");
    run_ok(
        "qemu-img",
        &["convert", "-O", "qcow2", path_str(&raw), path_str(&image)],
    );
    std::fs::write(
        wd.path().join("terraform.tfvars"),
        tfvars(&[
            ("uri", q(&lab.uri)),
            ("devices", s.devices_hcl(2)),
            ("domain", q(&dom.name)),
            ("image", q(path_str(&image))),
            ("pool_name", q(&pool)),
        ]),
    )
    .expect("tfvars");
    wd.apply();
    let lvs = lab.lvs_in(&pool);
    assert_eq!(lvs.len(), 3, "{lvs:?}");
    let got = lab.ssh_ok(&format!("sha256sum /dev/{pool}/system"));
    assert_eq!(
        got.split_whitespace().next(),
        Some(expected_volume_sha256(&image, 128 << 20).as_str()),
        "the system volume reads as the image's raw form, then zeros"
    );
    for target in ["sdb", "sdc"] {
        assert!(
            lab.domain_xml(&dom.name, false)
                .contains(&format!("dev='{target}'")),
            "{target} attached live"
        );
        assert!(
            lab.domain_xml(&dom.name, true)
                .contains(&format!("dev='{target}'")),
            "{target} attached persistently"
        );
    }
    dom.assert_not_restarted(&before);
    wd.expect_plan(0);
    wd.destroy();
    assert!(
        lab.vg(&pool).is_none(),
        "on_destroy = delete removed the volume group"
    );
    let live = lab.domain_xml(&dom.name, false);
    assert!(
        !live.contains("dev='sdb'") && !live.contains("dev='sdc'"),
        "detached"
    );
}

#[test]
fn example_adopt_vg() {
    let Some(s) = Scenario::start("examples::adopt_vg") else {
        return;
    };
    let lab = s.lab();
    let vg = s.name("vg");
    let dev = &lab.pv_devices[0];
    lab.ssh_ok(&format!(
        "vgcreate -q {vg} {dev} && lvcreate -q -y -L 8M -n handmade {vg}"
    ));
    let wd = s.workdir_raw(&example("adopt-vg"));
    std::fs::write(
        wd.path().join("terraform.tfvars"),
        tfvars(&[
            ("uri", q(&lab.uri)),
            ("volume_group", q(&vg)),
            ("pool_name", q(&s.name("adopted"))),
            ("capacity", q("16MiB")),
        ]),
    )
    .expect("tfvars");
    wd.apply();
    let names: Vec<String> = lab.lvs_in(&vg).into_iter().map(|l| l.name).collect();
    assert!(
        names.contains(&"handmade".to_string()) && names.contains(&"terraform-data".to_string()),
        "{names:?}"
    );
    wd.expect_plan(0);
    wd.destroy();
    let names: Vec<String> = lab.lvs_in(&vg).into_iter().map(|l| l.name).collect();
    assert_eq!(
        names,
        vec!["handmade".to_string()],
        "the hand-made volume and the VG stay (on_destroy = keep)"
    );
}

/// One lab reached over two transports stands in for two hypervisors: qemu+tcp for "a",
/// qemu+libssh for "b", each with its own disk. Counting LVs would not show that the second URI
/// was used at all, so every `lvcreate` in the guest records libvirtd's clients while it runs (the
/// client whose vol-create runs it is connected then): "a"'s volume must be created while a TCP
/// client from the host is connected, "b"'s while a client that came through an sshd session
/// (libvirt's ssh helper on the local socket) is, and the two transports must differ.
#[test]
fn example_two_hypervisors_through_two_uris() {
    let Some(s) = Scenario::start("examples::two_hypervisors") else {
        return;
    };
    let lab = s.lab();
    let (pool_a, pool_b) = (s.name("a"), s.name("b"));
    let wd = s.workdir_raw(&example("two-hypervisors"));
    std::fs::write(
        wd.path().join("terraform.tfvars"),
        tfvars(&[
            ("hypervisor_a_uri", q(&lab.uri)),
            ("hypervisor_b_uri", q(&lab.ssh_uri)),
            ("devices_a", format!("[{}]", q(&lab.pv_devices[0]))),
            ("devices_b", format!("[{}]", q(&lab.pv_devices[1]))),
            ("pool_a", q(&pool_a)),
            ("pool_b", q(&pool_b)),
            ("capacity", q("32MiB")),
        ]),
    )
    .expect("tfvars");
    // Before the apply nobody is connected through TCP or ssh: the clients seen at each lvcreate
    // below are this apply's providers, not leftovers that would make the checks pass anyway.
    let before = lab.clients().transports();
    assert!(
        !before.contains("tcp") && !before.contains("ssh"),
        "clients already connected before the apply (the transports below would prove nothing): {before:?}"
    );
    let recorder = lab.record_clients_at_lvcreate();
    wd.apply();
    let records = recorder.records();
    recorder.undo();
    assert_eq!(lab.lvs_in(&pool_a).len(), 1);
    assert_eq!(lab.lvs_in(&pool_b).len(), 1);
    let at = |vg: &str| -> BTreeSet<String> {
        let mine: Vec<_> = records
            .iter()
            .filter(|(args, _)| args.split_whitespace().any(|w| w == vg))
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "expected one lvcreate in {vg}, recorded: {records:#?}"
        );
        eprintln!(
            "[examples] clients while {vg}'s volume was created: {:#?}",
            mine[0].1
        );
        mine[0].1.transports()
    };
    let (a, b) = (at(&pool_a), at(&pool_b));
    assert!(
        a.contains("tcp"),
        "hypervisor a's volume was created with no TCP client connected (qemu+tcp unused): {a:?}"
    );
    assert!(
        b.contains("ssh"),
        "hypervisor b's volume was created with no client through ssh connected (qemu+libssh unused): {b:?}"
    );
    wd.expect_plan(0);
    wd.destroy();
    assert!(lab.vg(&pool_a).is_none() && lab.vg(&pool_b).is_none());
}
