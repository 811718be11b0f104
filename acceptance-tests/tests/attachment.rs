//! `libvirt_disk_attachment` on the lab: hotplug to running domains without a restart, config-only
//! attach to shut-off ones, drift, import, refusals that change nothing, dependency-ordered destroy.

use acceptance_tests::{attr_value, Domain, DomainOpts, Scenario};

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
    let lab = s.lab();
    let key = wd.state_str("libvirt_lvm_volume.v1", "id");
    let id = wd.state_str("libvirt_disk_attachment.d", "id");
    // The id is the domain's UUID as libvirt knows it, and the target; the volume id is the LV's
    // UUID, and the disk at sdb is that LV.
    let uuid = lab.virsh_ok(&["domuuid", &dom.name]).trim().to_string();
    assert_eq!(
        id,
        format!("{uuid}/sdb"),
        "the attachment id is not <virsh domuuid>/<target>"
    );
    let lv = lab.lv(&pool, "v1").expect("v1 in lvs");
    assert_eq!(key, lv.uuid, "the volume id is not the LV UUID in lvs");
    let disk = dom.disk("sdb", false).expect("sdb in the live XML");
    assert_eq!(
        attr_value(&disk, "source", "volume").as_deref(),
        Some("v1"),
        "sdb is not v1:\n{disk}"
    );

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

/// The `address` attribute's form of a disk's `<address>` in libvirt's XML: `drive:C:B:T:U`
/// (decimal), `pci:DDDD:BB:SS.F` (hex), as the provider documents them, or `usb:BUS:PORT`.
#[track_caller]
fn xml_address(disk: &str) -> String {
    let a = |name: &str| {
        attr_value(disk, "address", name).unwrap_or_else(|| panic!("no address {name} in {disk}"))
    };
    let hex = |name: &str| {
        let v = a(name);
        u64::from_str_radix(v.trim_start_matches("0x"), 16)
            .unwrap_or_else(|_| panic!("address {name}={v:?} is not hex in {disk}"))
    };
    match a("type").as_str() {
        "drive" => format!(
            "drive:{}:{}:{}:{}",
            a("controller"),
            a("bus"),
            a("target"),
            a("unit")
        ),
        "pci" => format!(
            "pci:{:04x}:{:02x}:{:02x}.{:x}",
            hex("domain"),
            hex("bus"),
            hex("slot"),
            hex("function")
        ),
        "usb" => format!("usb:{}:{}", a("bus"), a("port")),
        other => panic!("unexpected address type {other:?} in {disk}"),
    }
}

/// The first `<driver .../>` element of a disk, for its cache, io and discard attributes.
fn driver_attr(disk: &str, attr: &str) -> Option<String> {
    attr_value(disk, "driver", attr)
}

#[test]
fn attachment_options_buses_and_views_in_one_apply() {
    let Some(s) = Scenario::start("attachment::options_buses_and_views_in_one_apply") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let vm = s.domain("vm", DomainOpts::running());
    let off = s.domain("off", DomainOpts::shut_off());
    let off_uuid = lab.virsh_ok(&["domuuid", &off.name]).trim().to_string();
    let before = vm.runtime();
    let vol = |i: u32| format!("libvirt_lvm_volume.v{i}.id");
    let tf = [
        storage(&pool, &s.devices_hcl(1), 9),
        attachment(
            "ro",
            &vm.name,
            &vol(1),
            "sdb",
            "read_only = true\n  cache = \"none\"\n  io = \"native\"\n  discard = \"unmap\"",
        ),
        // One volume in two domains, both shareable; the second domain given by UUID.
        attachment("sh1", &vm.name, &vol(2), "sdc", "shareable = true"),
        attachment("sh2", &off_uuid, &vol(2), "sdb", "shareable = true"),
        attachment("nolive", &vm.name, &vol(3), "sdd", "live = false"),
        attachment("nopers", &vm.name, &vol(4), "sde", "persistent = false"),
        format!(
            r#"
resource "libvirt_disk_attachment" "bypath" {{
  domain = "{}"
  path   = libvirt_lvm_volume.v5.path
  target = "sdf"
}}
"#,
            vm.name
        ),
        attachment(
            "vd",
            &vm.name,
            &vol(6),
            "vdb",
            "timeouts {\n    delete = \"5s\"\n  }",
        ),
        // The other buses, cold-plugged into the shut-off domain.
        attachment("ide", &off.name, &vol(7), "hda", ""),
        attachment("sata", &off.name, &vol(8), "sdc", "bus = \"sata\""),
        attachment("usb", &off.name, &vol(9), "sdd", "bus = \"usb\""),
    ]
    .concat();
    let wd = s.workdir(&tf);
    wd.apply();
    s.step("apply: pool, 9 volumes, 10 attachments on a running and a shut-off domain");
    let show = wd.show_json();
    let state = |addr: &str, attr: &str| -> serde_json::Value {
        show["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["address"] == addr))
            .map(|r| r["values"][attr].clone())
            .unwrap_or_else(|| panic!("{addr} is not in the state: {show}"))
    };
    let live = vm.xml(false);
    let saved = vm.xml(true);
    let off_saved = off.xml(true);
    let disk = |xml: &str, t: &str, view: &str| {
        acceptance_tests::disk_block(xml, t).unwrap_or_else(|| panic!("no {t} in the {view}:\n{xml}"))
    };

    // read_only, cache, io, discard: in the live XML and the saved definition.
    for (view, xml) in [("live XML", &live), ("saved definition", &saved)] {
        let d = disk(xml, "sdb", view);
        assert!(
            d.contains("<readonly/>"),
            "read_only: no <readonly/> in the {view}:\n{d}"
        );
        for (attr, want) in [("cache", "none"), ("io", "native"), ("discard", "unmap")] {
            assert_eq!(
                driver_attr(&d, attr).as_deref(),
                Some(want),
                "{attr} in the {view}:\n{d}"
            );
        }
        // The defaults write none of them.
        let plain = disk(xml, "sdf", view);
        assert!(
            !plain.contains("<readonly/>") && !plain.contains("<shareable/>"),
            "{plain}"
        );
        assert_eq!(driver_attr(&plain, "cache"), None, "{plain}");
    }
    // shareable: the same volume in both domains, marked shareable in each.
    let sh1 = disk(&live, "sdc", "live XML");
    let sh2 = disk(&off_saved, "sdb", "shut-off domain's definition");
    for d in [&sh1, &sh2] {
        assert!(d.contains("<shareable/>") && d.contains("volume='v2'"), "{d}");
    }
    // The domain given by UUID: the attachment's id is that UUID and the target.
    assert_eq!(
        state("libvirt_disk_attachment.sh2", "id"),
        format!("{off_uuid}/sdb")
    );
    // live = false: only the saved definition; persistent = false: only the running domain.
    assert_disk(&vm, "sdd", false, true);
    assert_disk(&vm, "sde", true, false);
    // path: a block disk of that device.
    let bypath = disk(&live, "sdf", "live XML");
    assert!(
        bypath.contains("type='block'") && bypath.contains(&format!("dev='/dev/{pool}/v5'")),
        "{bypath}"
    );
    assert_disk(&vm, "sdf", true, true);
    // virtio-blk hot-plugged on a PCI slot.
    let vd = disk(&live, "vdb", "live XML");
    assert!(vd.contains("bus='virtio'"), "{vd}");
    assert_disk(&vm, "vdb", true, true);
    // address: what Terraform records is libvirt's address of the live disk (the saved one for
    // the shut-off domain and the live = false disk).
    for (addr, xml, target) in [
        ("ro", &live, "sdb"),
        ("sh1", &live, "sdc"),
        ("nopers", &live, "sde"),
        ("bypath", &live, "sdf"),
        ("vd", &live, "vdb"),
        ("nolive", &saved, "sdd"),
        ("sh2", &off_saved, "sdb"),
        ("ide", &off_saved, "hda"),
        ("sata", &off_saved, "sdc"),
        ("usb", &off_saved, "sdd"),
    ] {
        let d = disk(xml, target, addr);
        assert_eq!(
            state(&format!("libvirt_disk_attachment.{addr}"), "address").as_str(),
            Some(xml_address(&d).as_str()),
            "{addr}: address against the XML:\n{d}"
        );
    }
    assert!(xml_address(&vd).starts_with("pci:"), "{vd}");
    // The other buses, in the shut-off domain's definition.
    for (target, bus) in [("hda", "ide"), ("sdc", "sata"), ("sdd", "usb")] {
        let d = disk(&off_saved, target, "shut-off domain's definition");
        assert!(d.contains(&format!("bus='{bus}'")), "{target}: bus {bus}:\n{d}");
    }
    assert_eq!(off.state(), "shut off", "the shut-off domain was started");
    vm.assert_not_restarted(&before);
    wd.expect_plan(0);
    s.step("every option checked in the live XML and the saved definitions");

    // Destroy everything but the virtio-blk disk: each goes from the views it was in.
    let mut targets: Vec<String> = [
        "ro", "sh1", "sh2", "nolive", "nopers", "bypath", "ide", "sata", "usb",
    ]
    .iter()
    .map(|a| format!("-target=libvirt_disk_attachment.{a}"))
    .collect();
    targets.sort();
    let args: Vec<&str> = targets.iter().map(String::as_str).collect();
    wd.try_destroy(&args).expect_ok();
    s.step("destroy the nine non-virtio attachments");
    for t in ["sdb", "sdc", "sdd", "sde", "sdf"] {
        assert_disk(&vm, t, false, false);
    }
    assert_eq!(
        acceptance_tests::disk_targets(&off.xml(true)),
        Vec::<String>::new(),
        "disks left in the shut-off domain"
    );
    vm.assert_not_restarted(&before);

    // virtio-blk: the fixture domain has no guest OS to release the disk, so the detach waits
    // timeouts.delete (5 s) and fails saying so; the saved definition has already changed.
    let r = wd
        .try_destroy(&["-target=libvirt_disk_attachment.vd"])
        .expect_failure();
    r.expect_mentions(&["Guest Did Not Release The Disk", "vdb", "5 s"]);
    assert_disk(&vm, "vdb", true, false);
    s.step("virtio-blk detach waited timeouts.delete and failed, naming it");
    vm.assert_not_restarted(&before);
    assert!(
        wd.state_addresses()
            .contains(&"libvirt_disk_attachment.vd".to_string()),
        "the attachment whose detach failed left the state"
    );
    // Without the guest (stopped) the live view is gone and destroy completes.
    lab.virsh_ok(&["destroy", &vm.name]);
    wd.destroy();
    assert_disk(&vm, "vdb", false, false);
}

#[test]
fn attachment_buses_hot_plugged_into_a_running_pc_domain() {
    let Some(s) = Scenario::start("attachment::buses_hot_plugged_into_a_running_pc_domain") else {
        return;
    };
    let pool = s.name("pool");
    let vm = s.domain("vm", DomainOpts::running());
    let before = vm.runtime();
    let vol = |i: u32| format!("libvirt_lvm_volume.v{i}.id");
    let wd = s.workdir(
        &[
            storage(&pool, &s.devices_hcl(1), 3),
            attachment("usb", &vm.name, &vol(1), "sdb", "bus = \"usb\""),
            attachment("sata", &vm.name, &vol(2), "sdc", "bus = \"sata\""),
            attachment("ide", &vm.name, &vol(3), "hda", ""),
        ]
        .concat(),
    );
    // On QEMU's `pc` machine a USB disk hot-plugs; the domain has no SATA controller (libvirt
    // adds none to a running domain) and an IDE bus never hot-plugs: both refused, the
    // IDE one without blaming ACPI (the domain has it).
    let r = wd.try_apply(&[]).expect_failure();
    // Terraform wraps diagnostics: compare with the whitespace folded.
    let text = r.text().split_whitespace().collect::<Vec<_>>().join(" ");
    for needle in [
        "Could not find sata controller",
        "Error: Disk Bus Cannot Be Hot-Plugged",
        "Bus 'ide.0' does not support hotplugging",
    ] {
        assert!(text.contains(needle), "no {needle:?} in:\n{r}");
    }
    r.expect_diagnostic("Disk Bus Cannot Be Hot-Plugged", "target");
    assert!(
        !text.contains("has no ACPI"),
        "the IDE refusal blames ACPI on a domain that has it:\n{r}"
    );
    s.step("apply: usb hot-plugged, sata and ide refused");
    assert_disk(&vm, "sdb", true, true);
    let usb = vm.disk("sdb", false).expect("live sdb");
    assert!(usb.contains("bus='usb'"), "{usb}");
    assert_disk(&vm, "sdc", false, false);
    assert_disk(&vm, "hda", false, false);
    let addrs = wd.state_addresses();
    assert!(
        addrs.contains(&"libvirt_disk_attachment.usb".to_string()),
        "{addrs:?}"
    );
    assert!(
        !addrs.iter().any(|a| a.ends_with(".sata") || a.ends_with(".ide")),
        "a refused attachment entered the state: {addrs:?}"
    );
    vm.assert_not_restarted(&before);
    wd.try_destroy(&["-target=libvirt_disk_attachment.usb"])
        .expect_ok();
    assert_disk(&vm, "sdb", false, false);
    vm.assert_not_restarted(&before);
}
