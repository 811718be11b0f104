//! `libvirt_disk_attachment` on the lab: hotplug to running domains without a restart, config-only
//! attach to shut-off ones, drift, import, refusals that change nothing, dependency-ordered destroy.

use acceptance_tests::{Domain, DomainOpts, Scenario};

/// A pool on the first lab PV (deleted on destroy) and volumes `v1`..`vN` of 16 MiB.
fn storage(pool: &str, devices: &str, volumes: usize) -> String {
    let mut tf = format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
  on_destroy     = "delete"
  force_destroy  = true
}}
"#
    );
    for i in 1..=volumes {
        tf.push_str(&format!(
            r#"
resource "libvirt_lvm_volume" "v{i}" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "v{i}"
  capacity = "16MiB"
}}
"#
        ));
    }
    tf
}

fn attachment(label: &str, domain: &str, volume_id: &str, target: &str, extra: &str) -> String {
    format!(
        r#"
resource "libvirt_disk_attachment" "{label}" {{
  domain    = "{domain}"
  volume_id = {volume_id}
  target    = "{target}"
  {extra}
}}
"#
    )
}

#[track_caller]
fn assert_disk(dom: &Domain, target: &str, live: bool, inactive: bool) {
    for (view_inactive, want) in [(false, live), (true, inactive)] {
        let view = if view_inactive {
            "saved definition"
        } else {
            "live XML"
        };
        let has = dom.disk(target, view_inactive).is_some();
        assert_eq!(
            has,
            want,
            "{target} {} in the {view} of {}:\n{}",
            if has { "unexpectedly present" } else { "missing" },
            dom.name,
            dom.xml(view_inactive)
        );
    }
}

#[test]
fn attachment_live_attach_then_detach_by_destroy() {
    let Some(s) = Scenario::start("attachment::live_attach_then_detach_by_destroy") else {
        return;
    };
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let wd = s.workdir(&format!(
        "{}{}",
        storage(&pool, &s.devices_hcl(1), 1),
        attachment("d", &dom.name, "libvirt_lvm_volume.v1.id", "sdb", "")
    ));
    wd.apply();
    s.step("apply");
    assert_disk(&dom, "sdb", true, true);
    let disk = dom.disk("sdb", false).expect("live sdb");
    assert!(disk.contains("bus='scsi'"), "{disk}");
    assert!(
        disk.contains(&format!("pool='{pool}'")) && disk.contains("volume='v1'"),
        "{disk}"
    );
    let alias = wd.state_attr("libvirt_disk_attachment.d", "alias");
    assert!(
        alias
            .as_str()
            .is_some_and(|a| disk.contains(&format!("name='{a}'"))),
        "state alias {alias} is not the live disk's alias:\n{disk}"
    );
    dom.assert_not_restarted(&before);
    wd.expect_plan(0);
    s.step("checked");

    wd.try_destroy(&["-target=libvirt_disk_attachment.d"]).expect_ok();
    s.step("destroy -target attachment");
    assert_disk(&dom, "sdb", false, false);
    dom.assert_not_restarted(&before);
    assert!(
        s.lab().lv(&pool, "v1").is_some(),
        "the volume went with the attachment"
    );
}

#[test]
fn attachment_config_only_on_shut_off_domain() {
    let Some(s) = Scenario::start("attachment::config_only_on_shut_off_domain") else {
        return;
    };
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::shut_off());
    let wd = s.workdir(&format!(
        "{}{}",
        storage(&pool, &s.devices_hcl(1), 1),
        attachment("d", &dom.name, "libvirt_lvm_volume.v1.id", "sdb", "")
    ));
    wd.apply();
    assert_eq!(dom.state(), "shut off", "the domain was started");
    assert!(dom.disk("sdb", true).is_some(), "sdb not in the saved definition");
    wd.expect_plan(0);
    s.step("attached in the saved definition");

    wd.try_destroy(&["-target=libvirt_disk_attachment.d"]).expect_ok();
    assert!(
        dom.disk("sdb", true).is_none(),
        "sdb left in the saved definition"
    );
    assert_eq!(dom.state(), "shut off");
}

#[test]
fn attachment_two_disks_in_one_apply() {
    let Some(s) = Scenario::start("attachment::two_disks_in_one_apply") else {
        return;
    };
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let wd = s.workdir(&format!(
        "{}{}{}",
        storage(&pool, &s.devices_hcl(1), 2),
        attachment("b", &dom.name, "libvirt_lvm_volume.v1.id", "sdb", ""),
        attachment(
            "c",
            &dom.name,
            "libvirt_lvm_volume.v2.id",
            "sdc",
            r#"serial = "second""#
        )
    ));
    wd.apply();
    assert_disk(&dom, "sdb", true, true);
    assert_disk(&dom, "sdc", true, true);
    assert!(dom
        .disk("sdc", false)
        .is_some_and(|d| d.contains("volume='v2'") && d.contains("second")));
    dom.assert_not_restarted(&before);
    wd.expect_plan(0);
    wd.destroy();
    assert_disk(&dom, "sdb", false, false);
    assert_disk(&dom, "sdc", false, false);
    dom.assert_not_restarted(&before);
}

#[test]
fn attachment_hand_detached_disk_is_reattached() {
    let Some(s) = Scenario::start("attachment::hand_detached_disk_is_reattached") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let wd = s.workdir(&format!(
        "{}{}",
        storage(&pool, &s.devices_hcl(1), 1),
        attachment("d", &dom.name, "libvirt_lvm_volume.v1.id", "sdb", "")
    ));
    wd.apply();
    // Unplugged from the running domain only; the saved definition keeps it.
    lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--live"]);
    assert_disk(&dom, "sdb", false, true);
    let r = wd.expect_plan(2);
    r.expect_mentions(&["libvirt_disk_attachment.d"]);
    wd.apply();
    assert_disk(&dom, "sdb", true, true);
    wd.expect_plan(0);
    s.step("live detach repaired");

    // Removed from both.
    lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--live", "--config"]);
    assert_disk(&dom, "sdb", false, false);
    wd.expect_plan(2);
    wd.apply();
    assert_disk(&dom, "sdb", true, true);
    wd.expect_plan(0);
    dom.assert_not_restarted(&before);
}

#[test]
fn attachment_import_by_domain_and_target() {
    let Some(s) = Scenario::start("attachment::import_by_domain_and_target") else {
        return;
    };
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let wd = s.workdir(&format!(
        "{}{}",
        storage(&pool, &s.devices_hcl(1), 1),
        attachment("d", &dom.name, "libvirt_lvm_volume.v1.id", "sdb", "")
    ));
    wd.apply();
    let key = wd.state_str("libvirt_lvm_volume.v1", "id");
    let id = wd.state_str("libvirt_disk_attachment.d", "id");

    let imp = s.workdir(&attachment("d", &dom.name, &format!("\"{key}\""), "sdb", ""));
    imp.import("libvirt_disk_attachment.d", &format!("{}/sdb", dom.name));
    imp.expect_plan(0);
    assert_eq!(imp.state_str("libvirt_disk_attachment.d", "id"), id);
    assert_eq!(imp.state_str("libvirt_disk_attachment.d", "volume_id"), key);
    imp.state_rm("libvirt_disk_attachment.d");
}

#[test]
fn attachment_refusals_change_nothing() {
    let Some(s) = Scenario::start("attachment::refusals_change_nothing") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let wd = s.workdir(&storage(&pool, &s.devices_hcl(1), 2));
    wd.apply();
    let v1 = format!("\"{}\"", wd.state_str("libvirt_lvm_volume.v1", "id"));
    let v2 = format!("\"{}\"", wd.state_str("libvirt_lvm_volume.v2", "id"));
    let noacpi = s.domain("noacpi", DomainOpts::running().no_acpi());
    let noscsi = s.domain("noscsi", DomainOpts::shut_off().no_scsi());
    let busy = s.domain("busy", DomainOpts::shut_off());
    let free = s.domain("free", DomainOpts::shut_off());
    // `busy` uses v2 as sdb, attached by hand.
    lab.virsh_ok(&[
        "attach-disk",
        &busy.name,
        &format!("/dev/{pool}/v2"),
        "sdb",
        "--sourcetype",
        "block",
        "--config",
    ]);
    let missing = s.name("missing");
    let noacpi_run = noacpi.runtime();
    // Every domain's live XML and saved definition, the pool's state and definition, the LVs.
    let snapshot = || lab.snapshot();
    let before = snapshot();
    s.step("storage and four fixture domains");

    // (case, configuration, summary, the attribute the diagnostic points at when it is in the
    // configuration: Terraform can only point at attributes written there, not at defaults).
    let cases: &[(&str, String, &str, Option<&str>)] = &[
        (
            "no ACPI, virtio target on a running domain",
            attachment("d", &noacpi.name, &v1, "vdb", ""),
            "Domain Cannot Hotplug Disks",
            None,
        ),
        (
            "scsi target, no SCSI controller",
            attachment("d", &noscsi.name, &v1, "sdb", ""),
            "Domain Has No SCSI Controller",
            None,
        ),
        (
            "target already in use",
            attachment("d", &busy.name, &v1, "sdb", ""),
            "Target Already In Use",
            Some("target"),
        ),
        (
            "volume attached elsewhere, not shareable",
            attachment("d", &free.name, &v2, "sdc", ""),
            "Volume Already Attached",
            Some("volume_id"),
        ),
        (
            "domain does not exist",
            attachment("d", &missing, &v1, "sdb", ""),
            "Domain Not Found",
            Some("domain"),
        ),
    ];
    // Each depends on what the hypervisor holds: the plan warns (an error there would block every
    // `terraform destroy`, whose refresh is a normal plan) and the apply refuses before changing
    // anything.
    for (what, body, summary, attr) in cases {
        let case = s.workdir(body);
        let plan = case.plan_detailed();
        assert_eq!(
            plan.code,
            Some(2),
            "{what}: the plan should pass with a warning:\n{plan}"
        );
        assert!(
            plan.text().contains(&format!("Warning: {summary}")),
            "{what}: the plan does not warn {summary:?}:\n{plan}"
        );
        let r = case.try_apply(&[]).expect_failure();
        assert!(
            r.text().contains(&format!("Error: {summary}")),
            "{what}: no {summary:?}:\n{r}"
        );
        if let Some(attr) = attr {
            r.expect_diagnostic(summary, attr);
        }
        before.assert_unchanged(&snapshot(), what);
        assert!(
            case.state_addresses().is_empty(),
            "{what}: something entered the state"
        );
        s.step(&format!("{what}: {summary} (warned at plan, refused at apply)"));
    }
    noacpi.assert_not_restarted(&noacpi_run);
    lab.virsh_ok(&["detach-disk", &busy.name, "sdb", "--config"]);
}

#[test]
fn attachment_destroy_detaches_before_deleting() {
    let Some(s) = Scenario::start("attachment::destroy_detaches_before_deleting") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let wd = s.workdir(&format!(
        "{}{}{}",
        storage(&pool, &s.devices_hcl(1), 2),
        attachment("b", &dom.name, "libvirt_lvm_volume.v1.id", "sdb", ""),
        attachment("c", &dom.name, "libvirt_lvm_volume.v2.id", "sdc", "")
    ));
    wd.apply();
    assert_disk(&dom, "sdb", true, true);
    assert_disk(&dom, "sdc", true, true);
    wd.destroy();
    assert_disk(&dom, "sdb", false, false);
    assert_disk(&dom, "sdc", false, false);
    assert!(lab.vg(&pool).is_none(), "VG left");
    assert!(!lab.pool_names().contains(&pool));
    dom.assert_not_restarted(&before);
}
