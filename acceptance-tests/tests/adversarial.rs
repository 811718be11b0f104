//! Adversarial orderings: for each destructive operation of the provider (pool delete with its
//! volume group, pool stop and undefine, volume delete, disk detach), the changes an operator can
//! make outside Terraform between the plan and the apply, tried with a normal destroy, with
//! `-refresh=false`, with a saved plan and with `-target`.
//!
//! Before each operation every LV in the guest gets a pattern (1 MiB, unique to the write); after it,
//! [`World`] compares everything the guest and libvirt hold: every volume group (by UUID), every LV
//! (by LV UUID and the SHA-256 of its first MiB), every pool definition of this scenario, and the
//! disks of every fixture domain (running and saved). Only what the scenario names as removed on
//! request may differ; anything else that changed is data lost. Each test ends with one line:
//! `ADVERSARIAL <test>: <n> orderings, data lost <k>`.
//!
//! The later tests try what libvirt's logical backend does not show: LVs its listing skips (thin
//! pools, thin LVs, inactive LVs) under a pool delete, an operator's snapshot under a volume delete
//! or wipe, `overwrite` left set when a replacement builds the pool again, two attachments of one
//! volume applied together, an operator's overlay at an attachment's target, domains that use a
//! volume through other elements than a `<disk>` of its own pool, a lost create followed by a
//! foreign LV of its name and size, and a clone source with a backing file.

use std::collections::BTreeMap;

use acceptance_tests::judge::{world, Tally, World};
use acceptance_tests::{disk_blocks, DomainOpts, Fault, Lab, Run, Scenario, Workdir};

// ------------------------------------------------------------------------------------------------
// Helpers

/// Writes 1 MiB of a pattern unique to `tag` at the start of each LV.
fn write_patterns(lab: &Lab, lvs: &[String], tag: &str) {
    let mut script = String::from("set -e\n");
    for (i, lv) in lvs.iter().enumerate() {
        script.push_str(&format!(
            "yes '{tag}:{lv}:{i}' | head -c 1048576 | dd of=/dev/{lv} bs=1M iflag=fullblock oflag=direct \
             conv=fsync,notrunc status=none\n"
        ));
    }
    lab.ssh_ok(&script);
}

/// An LV made by hand (8 MiB) with a pattern.
fn hand_lv(lab: &Lab, vg: &str, lv: &str) {
    lab.ssh_ok(&format!("lvcreate -q -y -W n -Z n -L 8M -n {lv} {vg}"));
    write_patterns(lab, &[format!("{vg}/{lv}")], "hand");
}

fn pool_hcl(pool: &str, devices: &str, extra: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
{extra}
}}
"#
    )
}

fn volume_hcl(label: &str, name: &str, extra: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_volume" "{label}" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "{name}"
  capacity = "8MiB"
{extra}
}}
"#
    )
}

const DELETE: &str = "  on_destroy    = \"delete\"";
const FORCE: &str = "  on_destroy    = \"delete\"\n  force_destroy = true";

/// How the destroy reaches the provider.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// `terraform destroy` (with its refresh), after the change.
    Destroy,
    /// `terraform destroy -refresh=false`, after the change.
    NoRefresh,
    /// `terraform plan -destroy -out p` before the change, `terraform apply p` after it.
    SavedPlan,
}

const ALL: [Via; 3] = [Via::Destroy, Via::NoRefresh, Via::SavedPlan];

/// Runs a destroy of `targets` (all when empty) the way `via` says, with `change` made between
/// the plan and the apply (before the command for the other two).
fn destroy_via(wd: &Workdir<'_>, via: Via, targets: &[&str], change: impl FnOnce()) -> Run {
    let mut target_args: Vec<String> = targets.iter().map(|t| format!("-target={t}")).collect();
    match via {
        Via::Destroy | Via::NoRefresh => {
            change();
            let mut args: Vec<&str> = target_args.iter().map(String::as_str).collect();
            if matches!(via, Via::NoRefresh) {
                args.push("-refresh=false");
            }
            wd.try_destroy(&args)
        }
        Via::SavedPlan => {
            let mut plan = vec![
                "plan".to_string(),
                "-destroy".into(),
                "-input=false".into(),
                "-out=p.tfplan".into(),
            ];
            plan.append(&mut target_args);
            let args: Vec<&str> = plan.iter().map(String::as_str).collect();
            let r = wd.tf(&args);
            assert!(r.ok(), "plan -destroy failed:\n{r}");
            change();
            wd.tf(&["apply", "-input=false", "-auto-approve", "p.tfplan"])
        }
    }
}

fn name_of(via: Via) -> &'static str {
    match via {
        Via::Destroy => "destroy",
        Via::NoRefresh => "destroy -refresh=false",
        Via::SavedPlan => "saved destroy plan",
    }
}

/// Defines a shut-off domain `name` whose only disk (sdb) is `disk_xml`'s source element.
fn domain_with_disk(lab: &Lab, name: &str, disk: &str) {
    let xml = format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features><devices>\
         <controller type='scsi' model='virtio-scsi'/>{disk}</devices></domain>"
    );
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), xml).expect("domain XML");
    lab.virsh_ok(&["define", &file.path().to_string_lossy()]);
}

fn lv_uuid_bare(lab: &Lab, vg: &str, lv: &str) -> String {
    lab.ssh_ok(&format!("lvs --noheadings -o lv_uuid {vg}/{lv}"))
        .trim()
        .replace('-', "")
}

fn vg_uuid_bare(lab: &Lab, vg: &str) -> String {
    lab.ssh_ok(&format!("vgs --noheadings -o vg_uuid {vg}"))
        .trim()
        .replace('-', "")
}

// ------------------------------------------------------------------------------------------------
// Orderings

/// Pool delete (`on_destroy = "delete"`): an LV made by hand after the plan (or before a destroy
/// without refresh) is seen by the delete's own fresh listing, so the volume group is never removed
/// over it; with `force_destroy`, an LV a shut-off domain uses under its `/dev/mapper` name still
/// blocks it. Also `-target` of the pool alone.
#[test]
fn adversarial_pool_delete_sees_what_was_made_after_the_plan() {
    let Some(s) = Scenario::start("adversarial::pool_delete_sees_what_was_made_after_the_plan") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("pool_delete_sees_what_was_made_after_the_plan");
    let wd = s.workdir(&pool_hcl(&pool, &s.devices_hcl(1), DELETE));
    wd.apply();
    let mut n = 0;
    for via in ALL {
        for target in [false, true] {
            n += 1;
            let lv = format!("hand{n}");
            let ordering = format!(
                "pool delete, LV made by hand, {}{}",
                name_of(via),
                if target { " -target" } else { "" }
            );
            let targets: &[&str] = if target { &["libvirt_lvm_pool.p"] } else { &[] };
            let mut before = World::default();
            let r = destroy_via(&wd, via, targets, || {
                hand_lv(lab, &pool, &lv);
                before = world(&s);
            });
            assert!(!r.ok(), "{ordering}: the destroy removed the VG over {lv}:\n{r}");
            r.expect_mentions(&["Volume Group Still Holds Logical Volumes", &lv]);
            tally.check(&ordering, &before, &world(&s), &[]);
            lab.ssh_ok(&format!("lvremove -q -f {pool}/{lv}"));
            s.step(&ordering);
        }
    }
    // force_destroy, and an LV a shut-off domain uses as /dev/mapper/<vg>-<lv> (dashes doubled).
    wd.write(&pool_hcl(&pool, &s.devices_hcl(1), FORCE));
    wd.apply();
    let dom = s.name("mapper-user");
    for via in ALL {
        let ordering = format!(
            "pool delete with force_destroy, LV used by a shut-off domain as /dev/mapper, {}",
            name_of(via)
        );
        let mut before = World::default();
        let r = destroy_via(&wd, via, &[], || {
            hand_lv(lab, &pool, "used-lv");
            domain_with_disk(
                lab,
                &dom,
                &format!(
                    "<disk type='block' device='disk'><driver name='qemu' type='raw'/>\
                     <source dev='/dev/mapper/{}-used--lv'/><target dev='sdb' bus='scsi'/></disk>",
                    pool.replace('-', "--")
                ),
            );
            before = world(&s);
        });
        assert!(
            !r.ok(),
            "{ordering}: the VG was removed under a domain's disk:\n{r}"
        );
        r.expect_mentions(&["Volume Group Has Volumes In Use", "used-lv"]);
        tally.check(&ordering, &before, &world(&s), &[]);
        lab.virsh_ok(&["undefine", &dom]);
        lab.ssh_ok(&format!("lvremove -q -f {pool}/used-lv"));
        s.step(&ordering);
    }
    // Nothing left in the way: the destroy removes what it was asked to.
    let before = world(&s);
    wd.destroy();
    let removed = vec![format!("vg:{pool}"), format!("pool:{pool}")];
    tally.check(
        "pool delete with nothing in the way",
        &before,
        &world(&s),
        &removed,
    );
    assert!(lab.vg(&pool).is_none(), "the VG was not removed");
}

/// Same names, different objects: the pool (and its VG) undefined by an admin, another VG made on
/// the other disk with an LV of the managed volume's name, and a pool of the same name defined over
/// it. Whatever the destroy's route, neither that pool, its VG, its LV, nor the original VG and LV
/// (which libvirt no longer manages) are touched; the state is emptied.
#[test]
fn adversarial_same_names_different_objects() {
    let Some(s) = Scenario::start("adversarial::same_names_different_objects") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("same_names_different_objects");
    let other_dev = lab.pv_devices[1].clone();
    let variants = [
        (Via::Destroy, false),
        (Via::NoRefresh, false),
        (Via::SavedPlan, false),
        (Via::NoRefresh, true),
    ];
    for (i, (via, target)) in variants.into_iter().enumerate() {
        {
            let ordering = format!(
                "pool and volume re-created under their names, {}{}",
                name_of(via),
                if target { " -target volume" } else { "" }
            );
            let vg2 = format!("{pool}-other{i}{}", u8::from(target));
            let wd = s.workdir(&format!(
                "{}{}",
                pool_hcl(&pool, &s.devices_hcl(1), FORCE),
                volume_hcl("v", "data", "")
            ));
            wd.apply();
            write_patterns(lab, &[format!("{pool}/data")], "managed");
            let targets: &[&str] = if target { &["libvirt_lvm_volume.v"] } else { &[] };
            let mut before = World::default();
            let r = destroy_via(&wd, via, targets, || {
                lab.virsh_ok(&["pool-destroy", &pool]);
                lab.virsh_ok(&["pool-undefine", &pool]);
                lab.ssh_ok(&format!("vgcreate -q -y {vg2} {other_dev}"));
                hand_lv(lab, &vg2, "data");
                let file = tempfile::NamedTempFile::new().expect("temp file");
                std::fs::write(
                    file.path(),
                    format!(
                        "<pool type='logical'><name>{pool}</name><source><device path='{other_dev}'/><name>{vg2}</name>\
                         <format type='lvm2'/></source><target><path>/dev/{vg2}</path></target></pool>"
                    ),
                )
                .expect("pool XML");
                lab.virsh_ok(&["pool-define", &file.path().to_string_lossy()]);
                lab.virsh_ok(&["pool-start", &pool]);
                // The original VG is active again so its LV's data can be read.
                lab.ssh_ok(&format!("vgchange -q -a y {pool}"));
                before = world(&s);
            });
            assert!(r.ok(), "{ordering}: the destroy failed:\n{r}");
            tally.check(&ordering, &before, &world(&s), &[]);
            let left = wd.state_addresses();
            // A targeted destroy leaves the pool, unless its refresh found it gone.
            let expected_left: Vec<String> = if target && !matches!(via, Via::Destroy) {
                vec!["libvirt_lvm_pool.p".into()]
            } else {
                vec![]
            };
            assert_eq!(left, expected_left, "{ordering}: state");
            // Clean up for the next round: the impostor pool, both VGs.
            if !left.is_empty() {
                let r = wd.try_destroy(&["-refresh=false"]);
                assert!(r.ok(), "{ordering}: destroying the rest failed:\n{r}");
                tally.check(&format!("{ordering}, then the pool"), &before, &world(&s), &[]);
            }
            drop(wd);
            lab.virsh_ok(&["pool-destroy", &pool]);
            lab.virsh_ok(&["pool-undefine", &pool]);
            lab.ssh_ok(&format!(
                "vgremove -q -f {vg2} {pool} && pvremove -q -y {other_dev} {}",
                lab.pv_devices[0]
            ));
            s.step(&ordering);
        }
    }
}

/// Every name of an LV counts as a use: a shut-off domain that uses the managed volume under any of
/// its names (or behind a qcow2 overlay) blocks the volume's destroy, by every route.
#[test]
fn adversarial_every_name_of_a_volume_blocks_its_delete() {
    let Some(s) = Scenario::start("adversarial::every_name_of_a_volume_blocks_its_delete") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("every_name_of_a_volume_blocks_its_delete");
    let wd = s.workdir(&format!(
        "{}{}",
        pool_hcl(&pool, &s.devices_hcl(1), ""),
        volume_hcl("v", "v-1", "")
    ));
    wd.apply();
    let lv_path = format!("{pool}/v-1");
    write_patterns(lab, std::slice::from_ref(&lv_path), "managed");
    let dm = format!("{}-v--1", pool.replace('-', "--"));
    let dm_uuid = format!(
        "LVM-{}{}",
        vg_uuid_bare(lab, &pool),
        lv_uuid_bare(lab, &pool, "v-1")
    );
    let names = [
        ("/dev/<vg>/<lv>", format!("<disk type='block' device='disk'><source dev='/dev/{lv_path}'/>")),
        ("a file disk at /dev/<vg>/<lv>", format!("<disk type='file' device='disk'><source file='/dev/{lv_path}'/>")),
        ("/dev/mapper", format!("<disk type='block' device='disk'><source dev='/dev/mapper/{dm}'/>")),
        ("dm-name", format!("<disk type='block' device='disk'><source dev='/dev/disk/by-id/dm-name-{dm}'/>")),
        ("dm-uuid", format!("<disk type='block' device='disk'><source dev='/dev/disk/by-id/dm-uuid-{dm_uuid}'/>")),
        ("pool and volume", format!("<disk type='volume' device='disk'><source pool='{pool}' volume='v-1'/>")),
        (
            "a qcow2 overlay's backing store",
            format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                 <source file='/var/tmp/{pool}-overlay.qcow2'/>\
                 <backingStore type='block'><format type='raw'/><source dev='/dev/{lv_path}'/><backingStore/></backingStore>"
            ),
        ),
    ];
    for (i, (what, open)) in names.iter().enumerate() {
        let via = ALL[i % ALL.len()];
        let dom = s.name(&format!("user{i}"));
        let ordering = format!(
            "volume used as {what} by a shut-off domain, {} -target",
            name_of(via)
        );
        let mut before = World::default();
        let r = destroy_via(&wd, via, &["libvirt_lvm_volume.v"], || {
            domain_with_disk(lab, &dom, &format!("{open}<target dev='sdb' bus='scsi'/></disk>"));
            before = world(&s);
        });
        assert!(
            !r.ok(),
            "{ordering}: the volume was deleted under the domain's disk:\n{r}"
        );
        r.expect_mentions(&["Volume Is Attached To A Domain", &dom]);
        tally.check(&ordering, &before, &world(&s), &[]);
        lab.virsh_ok(&["undefine", &dom]);
        s.step(&ordering);
    }
    let before = world(&s);
    wd.destroy();
    tally.check(
        "volume nobody uses",
        &before,
        &world(&s),
        &[lv_path, format!("pool:{pool}")],
    );
}

/// A domain re-created under the same name with its own disk at the attachment's target: the
/// destroy detaches nothing from it (its UUID is not the attachment's), by every route. The
/// managed volume is deleted as asked (no domain uses it any more).
#[test]
fn adversarial_recreated_domain_keeps_its_disk() {
    let Some(s) = Scenario::start("adversarial::recreated_domain_keeps_its_disk") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("recreated_domain_keeps_its_disk");
    let other_dev = lab.pv_devices[1].clone();
    let theirs_vg = s.name("theirs");
    let variants = [
        (Via::Destroy, false),
        (Via::NoRefresh, false),
        (Via::SavedPlan, true),
    ];
    for (via, target) in variants {
        {
            let ordering = format!(
                "attachment's domain re-created with its own disk at the target, {}{}",
                name_of(via),
                if target { " -target attachment" } else { "" }
            );
            let dom = s.domain(&format!("vm{}", u8::from(target)), DomainOpts::running());
            let config = format!(
                "{}{}\nresource \"libvirt_disk_attachment\" \"d\" {{\n  domain    = \"{}\"\n  volume_id = \
                 libvirt_lvm_volume.v.id\n  target    = \"sdb\"\n}}\n",
                pool_hcl(&pool, &s.devices_hcl(1), ""),
                volume_hcl("v", "managed", ""),
                dom.name
            );
            let wd = s.workdir(&config);
            wd.apply();
            // The new domain's own disk: an LV of a volume group of its own, made by hand.
            lab.ssh_ok(&format!("vgcreate -q -y {theirs_vg} {other_dev}"));
            hand_lv(lab, &theirs_vg, "theirs");
            write_patterns(lab, &[format!("{pool}/managed")], "pattern");
            let targets: &[&str] = if target {
                &["libvirt_disk_attachment.d"]
            } else {
                &[]
            };
            let mut before = World::default();
            let r = destroy_via(&wd, via, targets, || {
                lab.virsh_ok(&["destroy", &dom.name]);
                lab.virsh_ok(&["undefine", &dom.name]);
                let file = tempfile::NamedTempFile::new().expect("temp file");
                let xml = acceptance_tests::domain_xml_def(&dom.name, DomainOpts::running()).replace(
                    "  </devices>",
                    &format!(
                        "    <disk type='block' device='disk'><driver name='qemu' type='raw'/>\
                         <source dev='/dev/{theirs_vg}/theirs'/><target dev='sdb' bus='scsi'/></disk>\n  </devices>"
                    ),
                );
                std::fs::write(file.path(), xml).expect("domain XML");
                lab.virsh_ok(&["define", &file.path().to_string_lossy()]);
                lab.virsh_ok(&["start", &dom.name]);
                before = world(&s);
            });
            assert!(r.ok(), "{ordering}: the destroy failed:\n{r}");
            // On request: the managed volume (unless only the attachment was targeted) and the pool
            // with it (its VG is kept: on_destroy = "keep").
            let removed: Vec<String> = if target {
                vec![]
            } else {
                vec![format!("{pool}/managed"), format!("pool:{pool}")]
            };
            tally.check(&ordering, &before, &world(&s), &removed);
            drop(wd);
            lab.virsh_ok(&["destroy", &dom.name]);
            lab.virsh_ok(&["undefine", &dom.name]);
            let _ = lab.virsh(&["pool-destroy", &pool]);
            let _ = lab.virsh(&["pool-undefine", &pool]);
            lab.ssh_ok(&format!(
                "vgremove -q -f {pool} {theirs_vg} && pvremove -q -y {} {other_dev}",
                lab.pv_devices[0]
            ));
            s.step(&ordering);
        }
    }
}

/// The managed volume attached by hand to a running domain under its `/dev/mapper` name (live
/// only): its destroy is refused by every route; a volume LV removed and made again by hand under
/// the same name is another LV, which the destroy leaves alone; a stopped pool cannot be checked,
/// so the destroy refuses and deletes nothing.
#[test]
fn adversarial_volume_delete_hand_attached_recreated_or_stopped() {
    let Some(s) = Scenario::start("adversarial::volume_delete_hand_attached_recreated_or_stopped") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("volume_delete_hand_attached_recreated_or_stopped");
    let vols: String = (0..4)
        .map(|i| volume_hcl(&format!("v{i}"), &format!("v{i}"), ""))
        .collect();
    let wd = s.workdir(&format!("{}{vols}", pool_hcl(&pool, &s.devices_hcl(1), "")));
    wd.apply();
    let all: Vec<String> = (0..4).map(|i| format!("{pool}/v{i}")).collect();
    write_patterns(lab, &all, "managed");
    let dom = s.domain("vm", DomainOpts::running());
    let run = dom.runtime();
    let mapper = format!("/dev/mapper/{}-v0", pool.replace('-', "--"));
    for via in ALL {
        let ordering = format!(
            "volume hand-attached live as /dev/mapper, {} -target",
            name_of(via)
        );
        let mut before = World::default();
        let r = destroy_via(&wd, via, &["libvirt_lvm_volume.v0"], || {
            lab.virsh_ok(&[
                "attach-disk",
                &dom.name,
                &mapper,
                "sdc",
                "--targetbus",
                "scsi",
                // QEMU opens a block device only through libvirt's block disk type.
                "--sourcetype",
                "block",
                "--live",
            ]);
            before = world(&s);
        });
        assert!(!r.ok(), "{ordering}: deleted under a running guest:\n{r}");
        r.expect_mentions(&["Volume Is Attached To A Domain", &dom.name]);
        tally.check(&ordering, &before, &world(&s), &[]);
        lab.virsh_ok(&["detach-disk", &dom.name, "sdc", "--live"]);
        s.step(&ordering);
    }
    dom.assert_not_restarted(&run);
    for (i, via) in ALL.into_iter().enumerate() {
        let v = format!("v{}", i + 1);
        let ordering = format!(
            "volume removed and made again by hand under its name, {} -target",
            name_of(via)
        );
        let mut before = World::default();
        let r = destroy_via(&wd, via, &[&format!("libvirt_lvm_volume.{v}")], || {
            lab.ssh_ok(&format!("lvremove -q -f {pool}/{v}"));
            hand_lv(lab, &pool, &v);
            before = world(&s);
        });
        assert!(r.ok(), "{ordering}: the destroy failed:\n{r}");
        tally.check(&ordering, &before, &world(&s), &[]);
        assert!(
            !wd.state_addresses().contains(&format!("libvirt_lvm_volume.{v}")),
            "{ordering}: still in the state"
        );
        s.step(&ordering);
    }
    // The pool stopped by hand: v0 cannot be checked, so nothing is deleted.
    for via in [Via::NoRefresh, Via::SavedPlan] {
        let ordering = format!("volume's pool stopped, {} -target", name_of(via));
        let mut before = World::default();
        let r = destroy_via(&wd, via, &["libvirt_lvm_volume.v0"], || {
            lab.virsh_ok(&["pool-destroy", &pool]);
            before = world(&s);
        });
        assert!(!r.ok(), "{ordering}: the destroy claimed success:\n{r}");
        r.expect_mentions(&["Storage Pool Not Active"]);
        tally.check(&ordering, &before, &world(&s), &[]);
        lab.virsh_ok(&["pool-start", &pool]);
        s.step(&ordering);
    }
    let before = world(&s);
    let r = wd.try_destroy(&[]);
    assert!(r.ok(), "final destroy:\n{r}");
    tally.check(
        "final destroy",
        &before,
        &world(&s),
        &[format!("{pool}/v0"), format!("pool:{pool}")],
    );
}

/// libvirtd restarted between a saved destroy plan and its apply, with an LV made by hand in the
/// same moment: the pool delete still sees the LV and refuses.
#[test]
fn adversarial_libvirtd_restarted_between_plan_and_apply() {
    let Some(s) = Scenario::start("adversarial::libvirtd_restarted_between_plan_and_apply") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("libvirtd_restarted_between_plan_and_apply");
    let wd = s.workdir(&pool_hcl(&pool, &s.devices_hcl(1), DELETE));
    wd.apply();
    let ordering = "pool delete, LV made by hand and libvirtd restarted, saved destroy plan";
    let mut before = World::default();
    let r = destroy_via(&wd, Via::SavedPlan, &[], || {
        hand_lv(lab, &pool, "hand");
        lab.ssh_ok("systemctl restart libvirtd");
        before = world(&s);
    });
    assert!(!r.ok(), "{ordering}: the VG was removed:\n{r}");
    r.expect_mentions(&["Volume Group Still Holds Logical Volumes", "hand"]);
    tally.check(ordering, &before, &world(&s), &[]);
}

// ------------------------------------------------------------------------------------------------
// What libvirt does not show (issue 22): hidden LVs, dependants, overwrite on a replacement, two
// attachments planned together, an operator's overlay at the attachment's target, every kind of
// use, a lost create followed by a foreign LV, a clone source with a backing file.

/// Every LV of `vg`, hidden ones too (`lvs -a`): name → LV UUID. Empty when the VG is gone.
fn lvs_all(lab: &Lab, vg: &str) -> BTreeMap<String, String> {
    lab.ssh_ok(&format!(
        "lvs -a --noheadings -o lv_name,lv_uuid --separator , {vg} 2>/dev/null || true"
    ))
    .lines()
    .filter_map(|l| l.trim().split_once(','))
    .map(|(n, u)| (n.to_string(), u.to_string()))
    .collect()
}

/// Every LV `lvs -a` listed before is still there with its UUID, except `may_go` (LV names).
#[track_caller]
fn assert_lvs_all_kept(
    ordering: &str,
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
    may_go: &[&str],
) {
    let lost: Vec<String> = before
        .iter()
        .filter(|(name, _)| !may_go.contains(&name.as_str()))
        .filter(|(name, uuid)| after.get(*name) != Some(*uuid))
        .map(|(name, uuid)| format!("{name} ({uuid}) is now {:?}", after.get(name)))
        .collect();
    assert!(
        lost.is_empty(),
        "{ordering}: `lvs -a` lost LVs: {lost:?}\nbefore: {before:?}\nafter: {after:?}"
    );
}

/// The LVs among `keys` ("vg/lv") that are gone in `after`: volumes the user asked to delete,
/// which a destroy may delete or keep (when it refuses before reaching them).
fn gone(after: &World, keys: &[String]) -> Vec<String> {
    keys.iter()
        .filter(|k| !after.lvs.contains_key(*k))
        .cloned()
        .collect()
}

/// Defines domain `name` (shut off) with `head` after its `<os>` and `devices` in `<devices>`;
/// returns virsh's run (libvirt validates the definition: some kinds of device it refuses).
fn define_domain(lab: &Lab, name: &str, head: &str, devices: &str) -> Run {
    let xml = format!(
        "<domain type='qemu'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>{head}<devices>\
         <controller type='scsi' model='virtio-scsi'/>{devices}</devices></domain>"
    );
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), xml).expect("domain XML");
    lab.virsh(&["define", &file.path().to_string_lossy()])
}

/// Defines a libvirt pool from `xml` and starts it.
fn define_pool(lab: &Lab, name: &str, xml: &str) {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), xml).expect("pool XML");
    lab.virsh_ok(&["pool-define", &file.path().to_string_lossy()]);
    lab.virsh_ok(&["pool-start", name]);
}

/// Whether a `<disk>` element reads LV `lv` of VG `vg` (by path, or as pool `vg` volume `lv`).
fn disk_uses(disk: &str, vg: &str, lv: &str) -> bool {
    disk.contains(&format!("/dev/{vg}/{lv}'"))
        || (disk.contains(&format!("pool='{vg}'")) && disk.contains(&format!("volume='{lv}'")))
}

/// The views ("live", "saved") of `dom` in which a disk reads `vg/lv`.
fn views_using(lab: &Lab, dom: &str, vg: &str, lv: &str) -> Vec<&'static str> {
    [("live", false), ("saved", true)]
        .into_iter()
        .filter(|(_, inactive)| {
            disk_blocks(&lab.domain_xml(dom, *inactive))
                .iter()
                .any(|d| disk_uses(d, vg, lv))
        })
        .map(|(v, _)| v)
        .collect()
}

/// The volume entries of the local state: (name, LV UUID or "" when none is recorded, tainted).
fn state_volume_entries(wd: &Workdir<'_>) -> Vec<(String, String, bool)> {
    let text = std::fs::read_to_string(wd.path().join("terraform.tfstate")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    let mut out = Vec::new();
    for r in v["resources"].as_array().into_iter().flatten() {
        if r["type"] != "libvirt_lvm_volume" {
            continue;
        }
        for inst in r["instances"].as_array().into_iter().flatten() {
            let a = &inst["attributes"];
            out.push((
                a["name"].as_str().unwrap_or_default().to_string(),
                a["key"].as_str().unwrap_or_default().to_string(),
                inst["status"] == "tainted",
            ));
        }
    }
    out
}

/// Removes, when dropped, device-mapper devices of `vg`'s LVs that LVM no longer knows (left
/// active after a build over the VG's device wiped its metadata): they hold the lab's PV disk open
/// and would break every later scenario's pvcreate.
struct StaleMappings<'l> {
    lab: &'l Lab,
    vg: String,
}

impl Drop for StaleMappings<'_> {
    fn drop(&mut self) {
        // An LVM mapping's UUID is LVM-<VG UUID><LV UUID>[-suffix]: stale when its VG is gone.
        let prefix = self.vg.replace('-', "--");
        let r = self.lab.ssh_run(&format!(
            r#"vgids=$(vgs --noheadings -o vg_uuid 2>/dev/null | tr -d ' -')
dmsetup info -c --noheadings -o name,uuid --separator , 2>/dev/null | while IFS=, read -r n u; do
  case "$n,$u" in
    {prefix}-*,LVM-*) echo "$vgids" | grep -qx "$(echo "$u" | cut -c5-36)" \
      || {{ dmsetup remove "$n" && echo "stale mapping $n removed"; }};;
  esac
done
true"#
        ));
        if !r.stdout.trim().is_empty() || !r.ok() {
            eprintln!("[adversarial] {}", r.text().trim());
        }
    }
}

/// Removes, when dropped, the files this scenario made under `/var/tmp` in the guest (overlays,
/// dir pools' directories): the harness's cleanup knows pools, domains and VGs, not files.
struct GuestFiles<'l> {
    lab: &'l Lab,
    prefix: String,
}

impl Drop for GuestFiles<'_> {
    fn drop(&mut self) {
        let _ = self.lab.ssh(&format!("rm -rf /var/tmp/{}-*", self.prefix));
    }
}

/// Where the held `lvcreate` records its PID in the guest.
const HELD: &str = "/run/adversarial-lvcreate-held";

/// A `lvcreate` in the guest that makes its LV and then, for the LV named `slow`, holds libvirtd's
/// reply (a long sleep). The undo puts LVM's own back and checks it.
fn held_lvcreate<'l>(lab: &'l Lab, slow: &str) -> Fault<'l> {
    Fault::guest(
        lab,
        &format!("lvcreate of {slow} holds its reply"),
        &format!(
            "set -e; rm -f {HELD}; test -L /usr/sbin/lvcreate; mv /usr/sbin/lvcreate /usr/sbin/lvcreate.adv-orig; \
             cat > /usr/sbin/lvcreate <<'EOF'\n#!/bin/sh\n/usr/sbin/lvm lvcreate \"$@\"\nrc=$?\n\
             for a in \"$@\"; do [ \"$a\" = \"{slow}\" ] && {{ echo $$ > {HELD}; exec sleep 600; }}; done\nexit $rc\nEOF\n\
             chmod 755 /usr/sbin/lvcreate"
        ),
        &format!(
            "if [ -L /usr/sbin/lvcreate.adv-orig ]; then mv -f /usr/sbin/lvcreate.adv-orig /usr/sbin/lvcreate; fi; \
             if [ -s {HELD} ]; then kill \"$(cat {HELD})\" 2>/dev/null || true; fi; rm -f {HELD}; \
             test -L /usr/sbin/lvcreate && test ! -e /usr/sbin/lvcreate.adv-orig && /usr/sbin/lvcreate --version >/dev/null"
        ),
    )
}

const LIBVIRTD_SOCKETS: &str =
    "libvirtd.socket libvirtd-ro.socket libvirtd-admin.socket libvirtd-tcp.socket libvirtd-tls.socket";

/// libvirtd killed and kept down (masked, its sockets stopped first so nothing reaches it): the
/// provider's reconnect is refused. The undo starts it again and checks that it answers.
fn libvirtd_down(lab: &Lab) -> Fault<'_> {
    Fault::guest(
        lab,
        "libvirtd killed and kept down",
        &format!(
            "set -e; systemctl mask --runtime --quiet libvirtd.service; systemctl stop {LIBVIRTD_SOCKETS}; \
             systemctl kill -s KILL libvirtd.service; sleep 1; ! systemctl is-active --quiet libvirtd.service"
        ),
        &format!(
            "systemctl unmask --runtime --quiet libvirtd.service; systemctl reset-failed libvirtd.service 2>/dev/null; \
             systemctl start {LIBVIRTD_SOCKETS} libvirtd.service && \
             for i in $(seq 60); do virsh -q -c qemu:///system version >/dev/null 2>&1 && exit 0; sleep 1; done; exit 1"
        ),
    )
}

/// Hidden from libvirt's listing of a VG: what an operator makes or does out of band.
#[derive(Clone, Copy, Debug)]
enum Hidden {
    /// A thin pool `tpool` (16 MiB) with a thin LV `thinv` (64 MiB virtual) holding a pattern.
    Thin,
    /// An LV `inact` made by hand with a pattern, then deactivated (`lvchange -an`).
    InactiveHand,
    /// A volume `other` another libvirt client made in the pool (`virsh vol-create-as`, the call
    /// the provider makes), with a pattern, then deactivated (`lvchange -an`): nobody asked to
    /// delete it. Made only for its orderings: while active, libvirt lists it and it alone
    /// refuses a delete without force_destroy.
    InactiveOther,
}

impl Hidden {
    fn describe(self) -> &'static str {
        match self {
            Hidden::Thin => "a thin pool with a thin LV made by hand",
            Hidden::InactiveHand => "an LV made by hand and deactivated",
            Hidden::InactiveOther => "a volume another libvirt client made, deactivated",
        }
    }

    /// Makes what is hidden, with data, and returns the LVs to deactivate once the world is read.
    fn make(self, lab: &Lab, vg: &str) -> Vec<String> {
        match self {
            Hidden::Thin => {
                lab.ssh_ok(&format!(
                    "lvcreate -q -y -L 16M -T {vg}/tpool && lvcreate -q -y -V 64M -T {vg}/tpool -n thinv"
                ));
                write_patterns(lab, &[format!("{vg}/thinv")], "thin");
                vec![]
            }
            Hidden::InactiveHand => {
                hand_lv(lab, vg, "inact");
                vec![format!("{vg}/inact")]
            }
            Hidden::InactiveOther => {
                lab.virsh_ok(&["vol-create-as", vg, "other", "8M", "--allocation", "8M"]);
                write_patterns(lab, &[format!("{vg}/other")], "other");
                vec![format!("{vg}/other")]
            }
        }
    }

    /// Removes what [`Hidden::make`] made.
    fn remove(self, lab: &Lab, vg: &str) {
        match self {
            Hidden::Thin => drop(lab.ssh(&format!("lvremove -q -f {vg}/thinv {vg}/tpool"))),
            Hidden::InactiveHand => drop(lab.ssh(&format!("lvremove -q -f {vg}/inact"))),
            Hidden::InactiveOther => drop(lab.ssh(&format!("lvremove -q -f {vg}/other"))),
        }
    }
}

/// Pool delete (`on_destroy = "delete"`) over LVs libvirt's listing skips (a thin pool and its
/// thin LV, an LV made by hand and deactivated while the pool runs, a volume another libvirt
/// client made, deactivated): the volume group is never removed over them, with or without `force_destroy`, by
/// every destroy route. This configuration's own volume may go with the destroy that was asked
/// for; nothing else may.
#[test]
fn adversarial_pool_delete_counts_lvs_libvirt_does_not_list() {
    let Some(s) = Scenario::start("adversarial::pool_delete_counts_lvs_libvirt_does_not_list") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("pool_delete_counts_lvs_libvirt_does_not_list");
    let config = |extra: &str| {
        format!(
            "{}{}",
            pool_hcl(&pool, &s.devices_hcl(1), extra),
            volume_hcl("m", "m", "")
        )
    };
    let wd = s.workdir(&config(DELETE));
    let managed = format!("{pool}/m");
    // (force_destroy, what is hidden, route, -target the pool): every kind by every route between
    // them, and each kind once more with force_destroy.
    let orderings = [
        (false, Hidden::Thin, Via::Destroy, false),
        (false, Hidden::Thin, Via::SavedPlan, true),
        (false, Hidden::InactiveHand, Via::NoRefresh, false),
        (false, Hidden::InactiveHand, Via::SavedPlan, false),
        (false, Hidden::InactiveOther, Via::Destroy, true),
        (false, Hidden::InactiveOther, Via::NoRefresh, false),
        (true, Hidden::Thin, Via::NoRefresh, false),
        (true, Hidden::InactiveHand, Via::Destroy, false),
        (true, Hidden::InactiveOther, Via::SavedPlan, false),
    ];
    for (force, kind, via, target) in orderings {
        let ordering = format!(
            "pool delete{}, {}, {}{}",
            if force { " with force_destroy" } else { "" },
            kind.describe(),
            name_of(via),
            if target { " -target pool" } else { "" }
        );
        wd.write(&config(if force { FORCE } else { DELETE }));
        // The managed volume back in the state (the ordering before may have deleted it, as asked).
        wd.apply();
        write_patterns(lab, std::slice::from_ref(&managed), "managed");
        let targets: &[&str] = if target { &["libvirt_lvm_pool.p"] } else { &[] };
        let mut before = World::default();
        let mut before_all = BTreeMap::new();
        let mut deactivated = Vec::new();
        let r = destroy_via(&wd, via, targets, || {
            deactivated = kind.make(lab, &pool);
            // Read while everything is active, so that the data is compared too.
            before = world(&s);
            before_all = lvs_all(lab, &pool);
            for lv in &deactivated {
                lab.ssh_ok(&format!("lvchange -q -a n {lv}"));
            }
        });
        for lv in &deactivated {
            // Fails only when the LV is gone, which the comparison below reports.
            let _ = lab.ssh(&format!("lvchange -q -a y {lv}"));
        }
        let after = world(&s);
        tally.check(
            &ordering,
            &before,
            &after,
            &gone(&after, std::slice::from_ref(&managed)),
        );
        assert_lvs_all_kept(&ordering, &before_all, &lvs_all(lab, &pool), &["m"]);
        assert!(
            !r.ok(),
            "{ordering}: the destroy succeeded: the volume group held LVs libvirt does not list:\n{r}"
        );
        kind.remove(lab, &pool);
        // This configuration's volume left on the hypervisor but out of the state would be in the
        // way of the next apply's create.
        if !wd.state_addresses().contains(&"libvirt_lvm_volume.m".to_string()) && lab.lv(&pool, "m").is_some()
        {
            lab.ssh_ok(&format!("lvremove -q -f {managed}"));
        }
        s.step(&ordering);
    }
    // Nothing hidden any more: the destroy removes what it was asked to.
    wd.apply();
    let before = world(&s);
    wd.destroy();
    tally.check(
        "pool delete with nothing hidden",
        &before,
        &world(&s),
        &[managed, format!("vg:{pool}"), format!("pool:{pool}")],
    );
    assert!(lab.vg(&pool).is_none(), "the VG was not removed");
}

/// A thick snapshot an operator took of a managed volume (a backup before an upgrade): the
/// volume's destroy is refused by every route, with and without `wipe_on_destroy`, naming the
/// snapshot; origin and snapshot keep their data.
#[test]
fn adversarial_volume_with_a_snapshot_is_neither_deleted_nor_wiped() {
    let Some(s) = Scenario::start("adversarial::volume_with_a_snapshot_is_neither_deleted_nor_wiped") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("volume_with_a_snapshot_is_neither_deleted_nor_wiped");
    let wd = s.workdir(&format!(
        "{}{}{}",
        pool_hcl(&pool, &s.devices_hcl(1), ""),
        volume_hcl("o", "o", ""),
        volume_hcl("w", "w", "  wipe_on_destroy = true")
    ));
    wd.apply();
    let lvs = [format!("{pool}/o"), format!("{pool}/w")];
    // (volumes that get a snapshot, route, -target them)
    let orderings: [(&[&str], Via, bool); 6] = [
        (&["o"], Via::Destroy, true),
        (&["o"], Via::NoRefresh, true),
        (&["o"], Via::SavedPlan, true),
        (&["w"], Via::Destroy, true),
        (&["w"], Via::SavedPlan, true),
        (&["o", "w"], Via::NoRefresh, false),
    ];
    for (n, (origins, via, target)) in orderings.into_iter().enumerate() {
        let ordering = format!(
            "snapshot of {} taken by hand, {}{}",
            origins.join(" and "),
            name_of(via),
            if target { " -target volume" } else { "" }
        );
        write_patterns(lab, &lvs, "before-snapshot");
        let targets: Vec<String> = if target {
            origins
                .iter()
                .map(|o| format!("libvirt_lvm_volume.{o}"))
                .collect()
        } else {
            vec![]
        };
        let targets: Vec<&str> = targets.iter().map(String::as_str).collect();
        let snaps: Vec<String> = origins.iter().map(|o| format!("backup{n}{o}")).collect();
        let mut before = World::default();
        let r = destroy_via(&wd, via, &targets, || {
            for (o, snap) in origins.iter().zip(&snaps) {
                lab.ssh_ok(&format!("lvcreate -q -y -s -L 8M -n {snap} {pool}/{o}"));
            }
            // The origin moves on after the snapshot: both hold data of their own.
            write_patterns(lab, &lvs, "after-snapshot");
            before = world(&s);
        });
        tally.check(&ordering, &before, &world(&s), &[]);
        assert!(
            !r.ok(),
            "{ordering}: the destroy succeeded over an origin with a snapshot:\n{r}"
        );
        for snap in &snaps {
            r.expect_mentions(&[snap]);
        }
        for snap in &snaps {
            lab.ssh_ok(&format!("lvremove -q -f {pool}/{snap}"));
        }
        s.step(&ordering);
    }
    let before = world(&s);
    wd.destroy();
    let mut removed = lvs.to_vec();
    removed.push(format!("pool:{pool}"));
    tally.check("volumes without snapshots", &before, &world(&s), &removed);
}

/// `overwrite = true` left set on a pool with `on_destroy = "keep"`: a change of `source_devices`
/// that replaces the pool (the same device under its by-id name; a second device added) never
/// builds over the volume group that holds the managed volume and an LV made by hand. The apply
/// may succeed (the VG adopted, perhaps extended) or fail; the VG and its LVs keep their data.
/// Each plan's text is logged: what it says the replacement does must be what happened.
#[test]
fn adversarial_overwrite_never_rebuilds_a_volume_group_that_holds_lvs() {
    let Some(s) = Scenario::start("adversarial::overwrite_never_rebuilds_a_volume_group_that_holds_lvs")
    else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("overwrite_never_rebuilds_a_volume_group_that_holds_lvs");
    let (dev0, dev1) = (lab.pv_devices[0].clone(), lab.pv_devices[1].clone());
    let by_id = lab
        .ssh_ok(&format!(
            "for l in /dev/disk/by-id/*; do [ \"$(readlink -f \"$l\")\" = {dev0} ] && echo \"$l\"; done | head -n 1"
        ))
        .trim()
        .to_string();
    assert!(
        by_id.starts_with("/dev/disk/by-id/"),
        "no by-id name for {dev0}: {by_id:?}"
    );
    let config = |devices: &[String]| {
        format!(
            "{}{}",
            pool_hcl(
                &pool,
                &acceptance_tests::hcl_list(devices),
                "  overwrite     = true"
            ),
            volume_hcl("m", "m", "")
        )
    };
    let wd = s.workdir(&config(std::slice::from_ref(&dev0)));
    wd.apply();
    let _stale = StaleMappings {
        lab,
        vg: pool.clone(),
    };
    hand_lv(lab, &pool, "hand");
    for (what, devices) in [
        ("a second device added", vec![dev0.clone(), dev1.clone()]),
        (
            "the first device alone, under its by-id name",
            vec![by_id.clone()],
        ),
    ] {
        let ordering = format!("overwrite left set, source_devices changed to {what}");
        write_patterns(lab, &[format!("{pool}/m"), format!("{pool}/hand")], "pattern");
        wd.write(&config(&devices));
        let plan = wd.tf(&["plan", "-input=false"]);
        eprintln!(
            "[adversarial] {ordering}: the plan (exit {:?}) says:\n{}",
            plan.code,
            plan.text()
        );
        let before = world(&s);
        let r = wd.try_apply(&[]);
        eprintln!(
            "[adversarial] {ordering}: the apply exited {:?}:\n{}",
            r.code,
            r.text()
        );
        // The pool may be defined again (a replacement); the VG and its LVs must stay.
        tally.check(&ordering, &before, &world(&s), &[format!("pool:{pool}")]);
        let on_dev0 = lab.pvs().into_iter().find(|p| p.device == dev0).map(|p| p.vg);
        assert_eq!(
            on_dev0.as_deref(),
            Some(pool.as_str()),
            "{ordering}: {dev0} no longer holds the volume group"
        );
        s.step(&ordering);
    }
}

/// Two `libvirt_disk_attachment`s of one volume (not shareable) to two running domains, planned
/// and applied together: exactly one attaches, the apply reports an error for the other, whose
/// domain carries no disk of the volume in its live or saved definition. Three such pairs in one
/// apply (six attaches at once, so that checks and attaches interleave), applied directly and from
/// a saved plan.
#[test]
fn adversarial_two_attachments_of_one_volume_planned_together() {
    let Some(s) = Scenario::start("adversarial::two_attachments_of_one_volume_planned_together") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("two_attachments_of_one_volume_planned_together");
    const PAIRS: usize = 3;
    let volumes: Vec<String> = (0..PAIRS).map(|i| format!("v{i}")).collect();
    let base = format!(
        "{}{}",
        pool_hcl(&pool, &s.devices_hcl(1), ""),
        volumes.iter().map(|v| volume_hcl(v, v, "")).collect::<String>()
    );
    let wd = s.workdir(&base);
    wd.apply();
    let lvs: Vec<String> = volumes.iter().map(|v| format!("{pool}/{v}")).collect();
    let doms = [
        s.domain("vm1", DomainOpts::running()),
        s.domain("vm2", DomainOpts::running()),
    ];
    let mut attachments = String::new();
    for (i, v) in volumes.iter().enumerate() {
        for (d, label) in doms.iter().zip(["a", "b"]) {
            attachments.push_str(&format!(
                "\nresource \"libvirt_disk_attachment\" \"{label}{i}\" {{\n  domain    = \"{}\"\n  volume_id = \
                 libvirt_lvm_volume.{v}.id\n  target    = \"sd{}\"\n}}\n",
                d.name,
                char::from(b'b' + i as u8)
            ));
        }
    }
    for saved in [false, true] {
        let ordering = format!(
            "two attachments of one volume planned together ({PAIRS} pairs), {}",
            if saved { "saved plan" } else { "apply" }
        );
        write_patterns(lab, &lvs, "managed");
        wd.write(&format!("{base}{attachments}"));
        let before = world(&s);
        let r = if saved {
            let p = wd.tf(&["plan", "-input=false", "-out=p.tfplan"]);
            assert!(p.ok(), "{ordering}: plan failed:\n{p}");
            wd.tf(&["apply", "-input=false", "-auto-approve", "p.tfplan"])
        } else {
            wd.try_apply(&[])
        };
        tally.check(&ordering, &before, &world(&s), &[]);
        for v in &volumes {
            let uses: Vec<(String, Vec<&str>)> = doms
                .iter()
                .map(|d| (d.name.clone(), views_using(lab, &d.name, &pool, v)))
                .collect();
            let attached: Vec<&(String, Vec<&str>)> = uses.iter().filter(|(_, v)| !v.is_empty()).collect();
            assert_eq!(
                attached.len(),
                1,
                "{ordering}: volume {v} must be attached to exactly one domain; its disks: {uses:?}\n{r}"
            );
            assert_eq!(
                attached[0].1,
                ["live", "saved"],
                "{ordering}: the attachment of {v} is live and saved: {uses:?}"
            );
        }
        assert!(
            !r.ok(),
            "{ordering}: the apply must report an error for each attachment it refused:\n{r}"
        );
        let in_state: Vec<String> = wd
            .state_addresses()
            .into_iter()
            .filter(|a| a.starts_with("libvirt_disk_attachment."))
            .collect();
        assert_eq!(
            in_state.len(),
            PAIRS,
            "{ordering}: attachments in the state: {in_state:?}"
        );
        s.step(&ordering);
        // Back to no attachment for the next ordering.
        wd.write(&base);
        wd.apply();
        for d in &doms {
            for v in &volumes {
                assert!(
                    views_using(lab, &d.name, &pool, v).is_empty(),
                    "{ordering}: the attachments' destroy left {v} on {}",
                    d.name
                );
            }
        }
    }
}

/// Detach matches the top-level source only: after the provider attached the volume, an operator
/// replaces that disk (same target) by a qcow2 overlay whose backing store is the volume.
/// Destroying the attachment, by every route, leaves the overlay attached, live and saved.
#[test]
fn adversarial_detach_leaves_an_overlay_of_the_volume_attached() {
    let Some(s) = Scenario::start("adversarial::detach_leaves_an_overlay_of_the_volume_attached") else {
        return;
    };
    let lab = s.lab();
    let _files = GuestFiles {
        lab,
        prefix: s.prefix().to_string(),
    };
    let pool = s.name("pool");
    let mut tally = Tally::new("detach_leaves_an_overlay_of_the_volume_attached");
    let dom = s.domain("vm", DomainOpts::running());
    let wd = s.workdir(&format!(
        "{}{}\nresource \"libvirt_disk_attachment\" \"d\" {{\n  domain    = \"{}\"\n  volume_id = \
         libvirt_lvm_volume.v.id\n  target    = \"sdb\"\n}}\n",
        pool_hcl(&pool, &s.devices_hcl(1), ""),
        volume_hcl("v", "v", ""),
        dom.name
    ));
    let overlay = format!("/var/tmp/{}.qcow2", s.name("overlay"));
    let overlay_xml = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(
        overlay_xml.path(),
        format!(
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{overlay}'/>\
             <backingStore type='block'><format type='raw'/><source dev='/dev/{pool}/v'/><backingStore/></backingStore>\
             <target dev='sdb' bus='scsi'/></disk>"
        ),
    )
    .expect("overlay disk XML");
    let run = dom.runtime();
    for via in ALL {
        let ordering = format!(
            "attached volume swapped by hand for a qcow2 overlay of it at the same target, {} -target attachment",
            name_of(via)
        );
        // The provider's attachment (again: the ordering before took it out of the state).
        wd.apply();
        write_patterns(lab, &[format!("{pool}/v")], "managed");
        let mut before = World::default();
        let r = destroy_via(&wd, via, &["libvirt_disk_attachment.d"], || {
            lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--live", "--config"]);
            for _ in 0..50 {
                if dom.disk("sdb", false).is_none() {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            lab.ssh_ok(&format!(
                "qemu-img create -q -f qcow2 -b /dev/{pool}/v -F raw {overlay}"
            ));
            lab.virsh_ok(&[
                "attach-device",
                &dom.name,
                &overlay_xml.path().to_string_lossy(),
                "--live",
                "--config",
            ]);
            before = world(&s);
        });
        eprintln!("[adversarial] {ordering}: the destroy exited {:?}", r.code);
        tally.check(&ordering, &before, &world(&s), &[]);
        for inactive in [false, true] {
            let disk = dom.disk("sdb", inactive).unwrap_or_default();
            assert!(
                disk.contains(&overlay),
                "{ordering}: the overlay is gone from the {} definition:\n{r}",
                if inactive { "saved" } else { "live" }
            );
        }
        lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--live", "--config"]);
        lab.ssh_ok(&format!("rm -f {overlay}"));
        s.step(&ordering);
    }
    dom.assert_not_restarted(&run);
}

/// A kind of use the in-use rule must see, as a fixture domain's definition.
struct UseKind {
    what: &'static str,
    /// Elements after `<os>` (memory slots and a NUMA cell for memory devices).
    head: String,
    devices: String,
    /// Started after the definition.
    running: bool,
    /// A second pool over the managed pool's VG, made with the domain and removed after it.
    pool: Option<(String, String)>,
    /// libvirt may refuse the definition, or drop the element (`needle` then absent from the
    /// saved definition): the kind is then reported and skipped, not tried.
    optional: Option<&'static str>,
}

/// Uses the in-use rule must see, each in a fixture domain's definition: nvdimm and virtio-pmem
/// `<source><path>`, `<disk type='volume'>` naming a second pool over the volume group (logical,
/// and dir over `/dev/<vg>`), an nvdimm of a running domain (on a `wipe_on_destroy` volume: a
/// wipe is a write `lvremove`'s open-LV refusal does not stop), and where libvirt defines them,
/// `<filesystem type='block'>`, `<hostdev mode='capabilities' type='storage'>` and a qcow2 data
/// file (`<dataStore>`). Each blocks the volume's destroy, by every route; nothing is wiped.
#[test]
fn adversarial_every_use_kind_blocks_a_volume_delete() {
    let Some(s) = Scenario::start("adversarial::every_use_kind_blocks_a_volume_delete") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("every_use_kind_blocks_a_volume_delete");
    let wd = s.workdir(&format!(
        "{}{}{}",
        pool_hcl(&pool, &s.devices_hcl(1), ""),
        volume_hcl("v", "v", ""),
        volume_hcl("w", "w", "  wipe_on_destroy = true")
    ));
    wd.apply();
    let lvs = [format!("{pool}/v"), format!("{pool}/w")];
    let numa = "<maxMemory slots='2' unit='MiB'>256</maxMemory>\
                <cpu><numa><cell id='0' cpus='0' memory='64' unit='MiB'/></numa></cpu>";
    let nvdimm = |lv: &str| {
        format!(
            "<memory model='nvdimm'><source><path>/dev/{pool}/{lv}</path></source>\
             <target><size unit='MiB'>8</size><node>0</node></target></memory>"
        )
    };
    let alias = s.name("alias");
    let dirpool = s.name("dir");
    let kinds = |lv: &str| -> Vec<UseKind> {
        vec![
            UseKind {
                what: "an nvdimm's <source><path>",
                head: numa.into(),
                devices: nvdimm(lv),
                running: false,
                pool: None,
                optional: None,
            },
            UseKind {
                what: "a virtio-pmem's <source><path>",
                head: numa.into(),
                devices: format!(
                    "<memory model='virtio-pmem' access='shared'><source><path>/dev/{pool}/{lv}</path></source>\
                     <target><size unit='MiB'>8</size></target></memory>"
                ),
                running: false,
                pool: None,
                optional: None,
            },
            UseKind {
                what: "<disk type='volume'> of a second logical pool over the VG",
                head: String::new(),
                devices: format!(
                    "<disk type='volume' device='disk'><source pool='{alias}' volume='{lv}'/>\
                     <target dev='sdb' bus='scsi'/></disk>"
                ),
                running: false,
                pool: Some((
                    alias.clone(),
                    format!(
                        "<pool type='logical'><name>{alias}</name><source><name>{pool}</name><format type='lvm2'/>\
                         </source><target><path>/dev/{pool}</path></target></pool>"
                    ),
                )),
                optional: None,
            },
            UseKind {
                what: "<disk type='volume'> of a dir pool over /dev/<vg>",
                head: String::new(),
                devices: format!(
                    "<disk type='volume' device='disk'><source pool='{dirpool}' volume='{lv}'/>\
                     <target dev='sdb' bus='scsi'/></disk>"
                ),
                running: false,
                pool: Some((
                    dirpool.clone(),
                    format!(
                        "<pool type='dir'><name>{dirpool}</name><target><path>/dev/{pool}</path></target></pool>"
                    ),
                )),
                optional: None,
            },
            UseKind {
                what: "an nvdimm's <source><path>",
                head: numa.into(),
                devices: nvdimm(lv),
                running: true,
                pool: None,
                optional: None,
            },
            UseKind {
                what: "<filesystem type='block'>",
                head: String::new(),
                devices: format!(
                    "<filesystem type='block' accessmode='passthrough'><source dev='/dev/{pool}/{lv}'/>\
                     <target dir='data'/></filesystem>"
                ),
                running: false,
                pool: None,
                optional: Some("<filesystem type='block'"),
            },
            UseKind {
                what: "<hostdev mode='capabilities' type='storage'>",
                head: String::new(),
                devices: format!(
                    "<hostdev mode='capabilities' type='storage'><source><block>/dev/{pool}/{lv}</block></source></hostdev>"
                ),
                running: false,
                pool: None,
                optional: Some("<hostdev mode='capabilities' type='storage'"),
            },
            UseKind {
                what: "a qcow2 data file (<source><dataStore>)",
                head: String::new(),
                devices: format!(
                    "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>\
                     <source file='/var/tmp/{}-data.qcow2'><dataStore type='block'><format type='raw'/>\
                     <source dev='/dev/{pool}/{lv}'/></dataStore></source><target dev='sdb' bus='scsi'/></disk>",
                    s.prefix()
                ),
                running: false,
                pool: None,
                optional: Some("<dataStore"),
            },
        ]
    };
    let count = kinds("v").len();
    let mut tried = 0;
    for i in 0..count {
        // The running domain's kind goes to the wiped volume; the others alternate.
        let lv = if kinds("v")[i].running || i % 2 == 1 {
            "w"
        } else {
            "v"
        };
        let kind = kinds(lv).swap_remove(i);
        let dom = s.name(&format!("user{i}"));
        if let Some(needle) = kind.optional {
            let probe = s.name(&format!("probe{i}"));
            let r = define_domain(lab, &probe, &kind.head, &kind.devices);
            let kept = r.ok() && lab.domain_xml(&probe, true).contains(needle);
            if r.ok() {
                lab.virsh_ok(&["undefine", &probe]);
            }
            if !kept {
                eprintln!(
                    "NOTE: the {} lab's libvirt does not define {} in a qemu domain ({}): not tried",
                    lab.suite,
                    kind.what,
                    if r.ok() {
                        "the element is dropped from the definition".to_string()
                    } else {
                        r.stderr.split_whitespace().collect::<Vec<_>>().join(" ")
                    }
                );
                continue;
            }
        }
        let via = ALL[tried % ALL.len()];
        tried += 1;
        let ordering = format!(
            "volume {lv} used as {} by a {} domain, {} -target",
            kind.what,
            if kind.running { "running" } else { "shut-off" },
            name_of(via)
        );
        write_patterns(lab, &lvs, "managed");
        let mut before = World::default();
        let target = format!("libvirt_lvm_volume.{lv}");
        let r = destroy_via(&wd, via, &[&target], || {
            if let Some((name, xml)) = &kind.pool {
                define_pool(lab, name, xml);
            }
            define_domain(lab, &dom, &kind.head, &kind.devices).expect_ok();
            if kind.running {
                lab.virsh_ok(&["start", &dom]);
            }
            before = world(&s);
        });
        tally.check(&ordering, &before, &world(&s), &[]);
        assert!(
            !r.ok(),
            "{ordering}: the destroy succeeded under the domain's use:\n{r}"
        );
        r.expect_mentions(&[&dom]);
        if kind.running {
            lab.virsh_ok(&["destroy", &dom]);
        }
        lab.virsh_ok(&["undefine", &dom]);
        if let Some((name, _)) = &kind.pool {
            lab.virsh_ok(&["pool-destroy", name]);
            lab.virsh_ok(&["pool-undefine", name]);
            // Stopping a second logical pool over the VG deactivates its LVs (`vgchange -an`),
            // as stopping any logical pool does: active again, as the operator would make them.
            lab.ssh_ok(&format!("vgchange -q -ay {pool}"));
        }
        s.step(&ordering);
    }
    let before = world(&s);
    wd.destroy();
    let mut removed = lvs.to_vec();
    removed.push(format!("pool:{pool}"));
    tally.check("volumes nobody uses", &before, &world(&s), &removed);
}

/// A create whose reply is lost while the hypervisor cannot be asked (libvirtd killed while it
/// holds the vol-create reply, and kept down) is recorded without an LV UUID. Before the next
/// command the LV of that name is removed and an operator makes another of the same name and size,
/// with data. The next apply does not adopt it: the resource leaves the state with a warning
/// naming the LV's UUID and size and the import command, and the LV keeps its data through that
/// apply and a `terraform destroy`.
#[test]
fn adversarial_lost_create_never_adopts_a_foreign_lv() {
    let Some(s) = Scenario::start("adversarial::lost_create_never_adopts_a_foreign_lv") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let mut tally = Tally::new("lost_create_never_adopts_a_foreign_lv");
    let pool_only = pool_hcl(&pool, &s.devices_hcl(1), "");
    let wd = s.workdir(&pool_only);
    wd.apply();
    wd.write(&format!("{pool_only}{}", volume_hcl("lost", "lost", "")));
    let held = held_lvcreate(lab, "lost");
    let apply = wd.spawn_tf(&["apply", "-auto-approve", "-input=false"]);
    let t0 = std::time::Instant::now();
    while lab.ssh(&format!("test -s {HELD}")).0 != 0 {
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(300),
            "the create of \"lost\" never reached lvcreate:\n{}",
            apply.output_so_far()
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let down = libvirtd_down(lab);
    let run = apply.wait(std::time::Duration::from_secs(300));
    eprintln!("[adversarial] the apply whose create lost its reply:\n{run}");
    let recorded = state_volume_entries(&wd);
    // The set-up, not the provider under test: the fault must have left what this test is about.
    assert!(
        !run.ok()
            && recorded
                .iter()
                .any(|(n, key, tainted)| n == "lost" && key.is_empty() && *tainted),
        "the lost create was not recorded tainted without an LV UUID (state {recorded:?}):\n{run}"
    );
    down.undo();
    held.undo();
    s.step("a create lost its reply while libvirtd was down");

    let ordering = "lost create, its LV replaced by an operator's of the same name and size, next apply";
    lab.ssh_ok(&format!(
        "if lvs {pool}/lost >/dev/null 2>&1; then lvremove -q -f {pool}/lost; fi"
    ));
    hand_lv(lab, &pool, "lost");
    let foreign = lab.lv(&pool, "lost").expect("the operator's LV").uuid;
    let before = world(&s);
    let r = wd.try_apply(&[]);
    tally.check(ordering, &before, &world(&s), &[]);
    let recorded = state_volume_entries(&wd);
    assert!(
        !recorded.iter().any(|(_, key, _)| key == &foreign),
        "{ordering}: the operator's LV {foreign} was adopted into the state: {recorded:?}\n{r}"
    );
    r.expect_mentions(&[&foreign, "terraform import"]);
    let text = r.text();
    assert!(
        text.contains("8 MiB") || text.contains("8388608"),
        "{ordering}: the warning must name the LV's size:\n{r}"
    );
    s.step(ordering);

    let before = world(&s);
    let r = wd.try_destroy(&[]);
    tally.check(
        "lost create, the operator's LV, then destroy",
        &before,
        &world(&s),
        &[format!("pool:{pool}")],
    );
    assert!(r.ok(), "the destroy after the lost create failed:\n{r}");
}

/// `clone_from` naming a qcow2 volume of a dir pool whose image has a backing file (a host file;
/// another LV holding data): the create is refused and no LV is made; libvirt's qemu-img, which
/// runs as root on the hypervisor, is never pointed at it.
#[test]
fn adversarial_clone_refuses_a_source_with_a_backing_file() {
    let Some(s) = Scenario::start("adversarial::clone_refuses_a_source_with_a_backing_file") else {
        return;
    };
    let lab = s.lab();
    let _files = GuestFiles {
        lab,
        prefix: s.prefix().to_string(),
    };
    let pool = s.name("pool");
    let mut tally = Tally::new("clone_refuses_a_source_with_a_backing_file");
    let base = pool_hcl(&pool, &s.devices_hcl(1), "");
    let wd = s.workdir(&base);
    wd.apply();
    hand_lv(lab, &pool, "secret");
    let dirpool = s.name("dir");
    let dir = format!("/var/tmp/{dirpool}");
    lab.virsh_ok(&["pool-define-as", &dirpool, "dir", "--target", &dir]);
    lab.virsh_ok(&["pool-build", &dirpool]);
    lab.virsh_ok(&["pool-start", &dirpool]);
    for (i, (what, backing)) in [
        ("a host file", "/etc/hostname".to_string()),
        ("another LV", format!("/dev/{pool}/secret")),
    ]
    .into_iter()
    .enumerate()
    {
        let ordering = format!("clone_from a qcow2 whose backing file is {what}");
        let image = format!("src{i}.qcow2");
        lab.ssh_ok(&format!(
            "qemu-img create -q -f qcow2 -b {backing} -F raw {dir}/{image} 8M"
        ));
        lab.virsh_ok(&["pool-refresh", &dirpool]);
        let key = lab
            .virsh_ok(&["vol-key", "--pool", &dirpool, &image])
            .trim()
            .to_string();
        let clone = format!("clone{i}");
        wd.write(&format!(
            "{base}{}",
            volume_hcl(
                "c",
                &clone,
                &format!("  clone_from = {}", acceptance_tests::hcl_string(&key))
            )
        ));
        let before = world(&s);
        let r = wd.try_apply(&[]);
        tally.check(&ordering, &before, &world(&s), &[]);
        assert!(
            lab.lv(&pool, &clone).is_none(),
            "{ordering}: the clone made an LV:\n{r}"
        );
        assert!(!r.ok(), "{ordering}: the apply succeeded:\n{r}");
        lab.virsh_ok(&["vol-delete", "--pool", &dirpool, &image]);
        s.step(&ordering);
    }
    wd.write(&base);
    lab.virsh_ok(&["pool-destroy", &dirpool]);
    lab.virsh_ok(&["pool-delete", &dirpool]);
}
