//! The seed flow, also run on the test matrix (Terraform 1.0.3; the trixie lab with libvirt 11):
//! a pool on both lab PVs, two volumes, one attached to a running domain; drift repaired; destroy
//! leaves the hypervisor as it was.

use acceptance_tests::{DomainOpts, Scenario};

#[test]
fn seed_flow() {
    let Some(s) = Scenario::start("smoke::seed_flow") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let pools_before = lab.pool_names();
    s.step("fixture domain running");

    let wd = s.workdir(&format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
  on_destroy     = "delete"
}}

resource "libvirt_lvm_volume" "data" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "data"
  capacity = "64MiB"
}}

resource "libvirt_lvm_volume" "scratch" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "scratch"
  capacity = "32MiB"
}}

resource "libvirt_disk_attachment" "d" {{
  domain    = "{dom}"
  volume_id = libvirt_lvm_volume.data.id
  target    = "sdb"
  bus       = "scsi"
}}
"#,
        devices = s.devices_hcl(2),
        dom = dom.name,
    ));
    wd.apply();
    s.step("apply");

    // The volume group spans both PVs.
    let pvs = lab.pvs();
    for dev in &lab.pv_devices {
        assert!(
            pvs.iter().any(|p| &p.device == dev && p.vg == pool),
            "{dev} is not a PV of {pool}: {pvs:?}"
        );
    }
    assert!(lab.vg(&pool).is_some(), "no VG {pool}: {:?}", lab.vgs());
    // Both LVs, exact sizes, plain (not snapshot-backed).
    let lvs = lab.lvs_in(&pool);
    for (name, size) in [("data", 67_108_864u64), ("scratch", 33_554_432)] {
        let lv = lvs
            .iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("LV {pool}/{name} missing: {lvs:?}"));
        assert_eq!(lv.size, size, "{pool}/{name} size");
        assert!(
            lv.attr.starts_with("-wi-"),
            "{pool}/{name} is not a plain LV: {}",
            lv.attr
        );
    }
    assert_eq!(lvs.len(), 2, "exactly two LVs in {pool}: {lvs:?}");
    // The pool is in libvirt, running.
    assert!(lab.pool_names().contains(&pool));
    // The disk is in the live and the saved definition; the domain never restarted.
    for inactive in [false, true] {
        let disk = dom
            .disk("sdb", inactive)
            .unwrap_or_else(|| panic!("sdb not in the {} XML:\n{}", view(inactive), dom.xml(inactive)));
        assert!(disk.contains("scsi"), "sdb is not on the scsi bus: {disk}");
        assert!(
            disk.contains(&format!("/dev/{pool}/data")) || disk.contains("volume='data'"),
            "sdb is not {pool}/data: {disk}"
        );
    }
    dom.assert_not_restarted(&before);
    s.step("checked on the hypervisor");

    wd.expect_plan(0);
    s.step("plan clean");

    // Drift: the disk detached by hand.
    lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--live", "--config"]);
    assert!(
        dom.disk("sdb", false).is_none(),
        "sdb still live after detach-disk"
    );
    wd.expect_plan(2);
    wd.apply();
    assert!(
        dom.disk("sdb", false).is_some(),
        "apply did not re-attach sdb live:\n{}",
        dom.xml(false)
    );
    assert!(
        dom.disk("sdb", true).is_some(),
        "apply did not re-attach sdb in the saved definition"
    );
    wd.expect_plan(0);
    dom.assert_not_restarted(&before);
    s.step("drift repaired");

    wd.destroy();
    s.step("destroy");
    assert!(
        lab.vg(&pool).is_none(),
        "VG {pool} survived destroy: {:?}",
        lab.vgs()
    );
    assert!(lab.lvs_in(&pool).is_empty(), "LVs survived destroy");
    assert_eq!(lab.pool_names(), pools_before, "pools after destroy");
    let pvs = lab.pvs();
    for dev in &lab.pv_devices {
        assert!(
            !pvs.iter().any(|p| &p.device == dev),
            "PV label left on {dev}: {pvs:?}"
        );
    }
    for inactive in [false, true] {
        assert!(
            dom.disk("sdb", inactive).is_none(),
            "sdb left in the {} XML",
            view(inactive)
        );
    }
    dom.assert_not_restarted(&before);
}

fn view(inactive: bool) -> &'static str {
    if inactive {
        "inactive"
    } else {
        "live"
    }
}
