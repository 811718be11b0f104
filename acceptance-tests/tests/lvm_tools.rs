//! LVM's own tools on the hypervisor (the provider's `lvm_tools`), over a `qemu+ssh://` URI whose
//! ssh reaches the lab guest with its host key verified: a volume attached to a running domain
//! grows in place (the LV to the exact bytes, the running guest told through
//! virDomainBlockResize, no restart, its data intact); the volume group gains and loses a device
//! in place; what would cut an LV is refused; a command held by LVM's lock is stopped at
//! `command_timeout` and changes nothing; a host key that does not match is refused before
//! anything runs.

use acceptance_tests::{hcl_string, provider_block, DomainOpts, Lab, Scenario, Workdir};

const MIB: u64 = 1 << 20;

/// A `qemu+ssh://` URI to the lab (libvirt's own ssh does not check the host key here: the
/// provider's `lvm_tools` block turns the check on for LVM's channel, which this file tests).
fn ssh_uri(lab: &Lab) -> String {
    format!(
        "qemu+ssh://root@127.0.0.1:{}/system?keyfile={}&no_verify=1&no_tty=1",
        lab.env_var("LAB_SSH_PORT"),
        lab.env_var("LAB_SSH_KEY")
    )
}

/// The provider over [`ssh_uri`] with LVM's tools verifying the host key in `known_hosts`.
fn provider(lab: &Lab, known_hosts: &str, extra: &str) -> String {
    provider_block(&format!(
        "uri = {}\n  lvm_tools {{\n    enabled             = true\n    ssh_verify_host_key = true\n    \
         ssh_known_hosts     = {}\n    {extra}\n  }}",
        hcl_string(&ssh_uri(lab)),
        hcl_string(known_hosts)
    ))
}

/// A pool over `devices`, a volume `v` of `capacity` attached to `domain` at `sdb`.
fn body(pool: &str, devices: &str, capacity: &str, domain: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
  on_destroy     = "delete"
}}

resource "libvirt_lvm_volume" "v" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "v"
  capacity = "{capacity}"
}}

resource "libvirt_disk_attachment" "d" {{
  domain    = "{domain}"
  volume_id = libvirt_lvm_volume.v.id
  target    = "sdb"
}}
"#
    )
}

/// SHA-256 of the first `bytes` of `dev` in the guest.
fn sha(lab: &Lab, dev: &str, bytes: u64) -> String {
    lab.ssh_ok(&format!("head -c {bytes} {dev} | sha256sum | cut -d' ' -f1"))
        .trim()
        .to_string()
}

fn write(wd: &Workdir, lab: &Lab, known_hosts: &str, extra: &str, body: &str) {
    wd.write_raw(&format!("{}\n{body}", provider(lab, known_hosts, extra)));
}

#[test]
fn lvm_tools_grow_online_vg_devices_timeout_and_host_key() {
    let Some(s) = Scenario::start("lvm_tools::grow_online_vg_devices_timeout_and_host_key") else {
        return;
    };
    let lab = s.lab();
    let kh = lab.env_var("LAB_KNOWN_HOSTS");
    let pool = s.name("pool");
    let dom = s.domain("grow", DomainOpts::running());
    let (d0, d1) = (lab.pv_devices[0].clone(), lab.pv_devices[1].clone());
    let one = format!("[{}]", hcl_string(&d0));
    let both = format!("[{}, {}]", hcl_string(&d0), hcl_string(&d1));
    let dev = format!("/dev/{pool}/v");

    let wd = s.workdir_raw("");
    write(&wd, lab, &kh, "", &body(&pool, &one, "12MiB", &dom.name));
    wd.apply();
    lab.ssh_ok(&format!(
        "yes 'lvm-tools-{}' | head -c {} | dd of={dev} bs=1M iflag=fullblock oflag=direct conv=fsync,notrunc \
         status=none",
        s.prefix(),
        12 * MIB
    ));
    let data = sha(lab, &dev, 12 * MIB);
    let lv = lab.lv(&pool, "v").expect("LV v");
    assert_eq!(lv.size, 12 * MIB);
    assert_eq!(lab.live_capacity(&dom.name, "sdb"), 12 * MIB);
    let before = dom.runtime();
    s.step("pool, 12 MiB volume attached to a running domain, 12 MiB of data written");

    // Grow 12 → 40 MiB: in place, not a replacement; the LV to the byte, the guest told.
    write(&wd, lab, &kh, "", &body(&pool, &one, "40MiB", &dom.name));
    let r = wd.expect_plan(2);
    r.expect_mentions(&["1 to change", "0 to destroy"]);
    wd.apply();
    let grown = lab.lv(&pool, "v").expect("LV v after the grow");
    assert_eq!(
        (grown.size, &grown.uuid),
        (40 * MIB, &lv.uuid),
        "not grown in place"
    );
    assert_eq!(
        lab.live_capacity(&dom.name, "sdb"),
        40 * MIB,
        "the running domain was not told of the new size"
    );
    dom.assert_not_restarted(&before);
    assert_eq!(sha(lab, &dev, 12 * MIB), data, "the data changed");
    assert_eq!(
        wd.state_attr("libvirt_lvm_volume.v", "pending_guest_resize"),
        serde_json::Value::Bool(false)
    );
    wd.expect_plan(0);
    s.step("grown to 40 MiB in place: lvs, domblkinfo, same domain, same data, empty plan");

    // The volume group gains the second device in place.
    let vg_uuid = lab
        .ssh_ok(&format!("vgs --noheadings -o vg_uuid {pool}"))
        .trim()
        .to_string();
    write(&wd, lab, &kh, "", &body(&pool, &both, "40MiB", &dom.name));
    let r = wd.expect_plan(2);
    r.expect_mentions(&["Volume Group Changes In Place", "1 to change", "0 to destroy"]);
    wd.apply();
    let pvs = lab.pvs();
    for d in [&d0, &d1] {
        assert!(
            pvs.iter().any(|p| &p.device == d && p.vg == pool),
            "{d} is not a PV of {pool}: {pvs:?}"
        );
    }
    assert_eq!(
        lab.ssh_ok(&format!("vgs --noheadings -o vg_uuid {pool}")).trim(),
        vg_uuid,
        "the volume group was made again"
    );
    let xml = lab.virsh_ok(&["pool-dumpxml", "--inactive", &pool]);
    assert!(xml.contains(&d0) && xml.contains(&d1), "{xml}");
    assert_eq!(lab.lv(&pool, "v").map(|l| l.uuid), Some(lv.uuid.clone()));
    assert_eq!(sha(lab, &dev, 12 * MIB), data, "the data changed");
    wd.expect_plan(0);
    s.step("second device added in place: both PVs, same VG UUID, same LV and data, empty plan");

    // Removing the device that holds the LV would cut it: warned at plan, refused at apply.
    write(
        &wd,
        lab,
        &kh,
        "",
        &body(&pool, &format!("[{}]", hcl_string(&d1)), "40MiB", &dom.name),
    );
    let r = wd.plan_detailed();
    r.expect_mentions(&["Device Holds Logical Volumes"]);
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_diagnostic("Device Holds Logical Volumes", "source_devices");
    assert!(lab.pvs().iter().any(|p| p.device == d0 && p.vg == pool));
    assert_eq!(sha(lab, &dev, 12 * MIB), data, "the data changed");
    s.step("removing the device under the LV: refused, nothing changed");

    // Removing the empty device: vgreduce and pvremove.
    write(&wd, lab, &kh, "", &body(&pool, &one, "40MiB", &dom.name));
    wd.apply();
    assert!(
        !lab.pvs().iter().any(|p| p.device == d1),
        "{d1} is still a PV: {:?}",
        lab.pvs()
    );
    wd.expect_plan(0);
    s.step("the empty device removed in place (no longer a PV), empty plan");

    // A process holds the VG's lock shared, as a long reader would: reads (libvirt's refresh, LVM's
    // reports) go on, `lvextend` waits for the lock and is stopped at command_timeout; nothing
    // changes. The next apply, with the lock free, grows.
    let holder = lab
        .ssh_ok(&format!(
            "mkdir -p /run/lock/lvm; nohup flock -o -s /run/lock/lvm/V_{pool} sleep 120 >/dev/null 2>&1 & echo $!"
        ))
        .trim()
        .to_string();
    // This step reaches libvirt over qemu+tcp and LVM's tools over the ssh the block names.
    let over_tcp = |timeout: &str| {
        wd.write_raw(&format!(
            "{}\n{}",
            lab.provider_with_lvm_tools(&format!("command_timeout = \"{timeout}\"")),
            body(&pool, &one, "48MiB", &dom.name)
        ))
    };
    over_tcp("4s");
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["did not finish within 4 s"]);
    lab.ssh_ok(&format!("kill {holder}"));
    assert_eq!(
        lab.lv(&pool, "v").map(|l| l.size),
        Some(40 * MIB),
        "grown under the lock"
    );
    over_tcp("90s");
    wd.apply();
    assert_eq!(lab.lv(&pool, "v").map(|l| l.size), Some(48 * MIB));
    assert_eq!(lab.live_capacity(&dom.name, "sdb"), 48 * MIB);
    wd.expect_plan(0);
    s.step("held VG lock: stopped at command_timeout, unchanged; grown once the lock is free");

    // A host key that is not the lab's: refused before anything runs on the hypervisor.
    let wrong = wd.path().join("wrong_known_hosts");
    let key = wd.path().join("other_key");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    let pubkey = std::fs::read_to_string(key.with_extension("pub")).expect("public key");
    let mut fields = pubkey.split_whitespace();
    std::fs::write(
        &wrong,
        format!(
            "[127.0.0.1]:{} {} {}\n",
            lab.env_var("LAB_SSH_PORT"),
            fields.next().unwrap_or_default(),
            fields.next().unwrap_or_default()
        ),
    )
    .expect("write known_hosts");
    write(
        &wd,
        lab,
        &wrong.to_string_lossy(),
        "",
        &body(&pool, &one, "56MiB", &dom.name),
    );
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["refused the host key"]);
    assert_eq!(
        lab.lv(&pool, "v").map(|l| l.size),
        Some(48 * MIB),
        "changed over a wrong key"
    );
    s.step("a host key that does not match: refused, nothing changed");

    // What libvirt does not list: an LV deactivated by hand is in the data source's
    // logical_volumes (not listed by libvirt) and refuses the pool's delete, named.
    lab.ssh_ok(&format!("lvcreate -q -y -an -L 4m -n oob {pool}"));
    let with_data = format!(
        "{}\ndata \"libvirt_lvm_pool\" \"all\" {{\n  name = libvirt_lvm_pool.p.name\n}}\n\
         output \"lvs\" {{\n  value = data.libvirt_lvm_pool.all.logical_volumes\n}}\n",
        body(&pool, &one, "48MiB", &dom.name)
    );
    write(&wd, lab, &kh, "", &with_data);
    wd.apply();
    let out = wd.tf(&["output", "-json", "lvs"]).expect_ok().text();
    let lvs: serde_json::Value = serde_json::from_str(out.trim()).expect("output JSON");
    let by_name = |n: &str| {
        lvs.as_array()
            .and_then(|a| a.iter().find(|l| l["name"] == n))
            .cloned()
            .unwrap_or_else(|| panic!("no LV {n} in logical_volumes: {lvs}"))
    };
    let (v, oob) = (by_name("v"), by_name("oob"));
    assert_eq!(
        (&v["kind"], &v["listed_by_libvirt"], &v["size"]),
        (
            &serde_json::json!("plain"),
            &serde_json::json!(true),
            &serde_json::json!(48 * MIB)
        )
    );
    assert_eq!(
        (&oob["active"], &oob["listed_by_libvirt"]),
        (&serde_json::json!(false), &serde_json::json!(false)),
        "{oob}"
    );
    let r = wd.try_destroy(&[]).expect_failure();
    r.expect_mentions(&["Volume Group Still Holds Logical Volumes", &format!("{pool}/oob")]);
    assert!(lab.lv(&pool, "oob").is_some(), "the deactivated LV was removed");
    s.step("logical_volumes lists a deactivated LV libvirt does not; the pool delete refuses, naming it");

    lab.ssh_ok(&format!("lvremove -q -y {pool}/oob"));
    wd.destroy();
    assert!(lab.vg(&pool).is_none(), "the VG outlived the destroy");
    s.step("destroy");
}
