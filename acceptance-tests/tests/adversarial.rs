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

use std::collections::BTreeMap;

use acceptance_tests::{disk_blocks, DomainOpts, Lab, Run, Scenario, Workdir};

// ------------------------------------------------------------------------------------------------
// The world as the guest and libvirt see it

/// Everything an ordering could lose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct World {
    /// VG name → VG UUID.
    vgs: BTreeMap<String, String>,
    /// "vg/lv" → (LV UUID, SHA-256 of the first MiB, or "inactive").
    lvs: BTreeMap<String, (String, String)>,
    /// Pool name → "uuid state" for this scenario's pools.
    pools: BTreeMap<String, String>,
    /// "domain live|saved" → its disk elements, for this scenario's domains.
    disks: BTreeMap<String, Vec<String>>,
}

fn world(s: &Scenario) -> World {
    let lab = s.lab();
    let out = lab.ssh_ok(
        r#"set -e
vgs --noheadings -o vg_name,vg_uuid --separator , 2>/dev/null | tr -d ' ' | sed 's/^/vg,/'
lvs --noheadings -o vg_name,lv_name,lv_uuid --separator , 2>/dev/null | tr -d ' ' | while IFS=, read -r vg lv id; do
  if [ -b "/dev/$vg/$lv" ]; then s=$(head -c 1048576 "/dev/$vg/$lv" | sha256sum | cut -c1-64); else s=inactive; fi
  echo "lv,$vg/$lv,$id,$s"
done
true"#,
    );
    let mut w = World::default();
    for line in out.lines() {
        let f: Vec<&str> = line.split(',').collect();
        match f.as_slice() {
            ["vg", name, uuid] => {
                w.vgs.insert(name.to_string(), uuid.to_string());
            }
            ["lv", name, uuid, sha] => {
                w.lvs
                    .insert(name.to_string(), (uuid.to_string(), sha.to_string()));
            }
            _ => {}
        }
    }
    for p in lab.pool_names().into_iter().filter(|p| p.starts_with(s.prefix())) {
        let uuid = lab.virsh_ok(&["pool-uuid", &p]).trim().to_string();
        let state = lab
            .pool_info(&p)
            .get("State")
            .cloned()
            .unwrap_or_else(|| panic!("pool {p} has no State in pool-info"));
        w.pools.insert(p, format!("{uuid} {state}"));
    }
    for d in lab
        .domain_names()
        .into_iter()
        .filter(|d| d.starts_with(s.prefix()))
    {
        for (view, inactive) in [("live", false), ("saved", true)] {
            w.disks
                .insert(format!("{d} {view}"), disk_blocks(&lab.domain_xml(&d, inactive)));
        }
    }
    w
}

/// What an ordering may remove because the user asked: "vg/lv", "vg:<name>", "pool:<name>",
/// "disk:<domain>/<target>" (both views).
struct Removed<'a>(&'a [String]);

impl Removed<'_> {
    fn allows(&self, key: &str) -> bool {
        self.0.iter().any(|r| r == key)
    }
}

/// Tallies orderings and losses; prints the test's line when dropped.
struct Tally {
    test: &'static str,
    orderings: Vec<String>,
    lost: Vec<String>,
}

impl Tally {
    fn new(test: &'static str) -> Tally {
        Tally {
            test,
            orderings: Vec::new(),
            lost: Vec::new(),
        }
    }

    /// Compares the world after an ordering with the world before it: only what `removed` names
    /// may be gone or different.
    #[track_caller]
    fn check(&mut self, ordering: &str, before: &World, after: &World, removed: &[String]) {
        self.orderings.push(ordering.to_string());
        let removed = Removed(removed);
        let mut problems = Vec::new();
        for (vg, uuid) in &before.vgs {
            if after.vgs.get(vg) != Some(uuid) && !removed.allows(&format!("vg:{vg}")) {
                problems.push(format!("VG {vg} ({uuid}) is now {:?}", after.vgs.get(vg)));
            }
        }
        for (lv, mark) in &before.lvs {
            if removed.allows(lv) {
                // Removed on request: the LV with that UUID must be gone.
                if after.lvs.get(lv).is_some_and(|m| m.0 == mark.0) {
                    problems.push(format!(
                        "{lv} should have been removed on request but is still there"
                    ));
                }
                continue;
            }
            match after.lvs.get(lv) {
                None => problems.push(format!("LV {lv} LOST (deleted)")),
                Some(m) if m.0 != mark.0 => problems.push(format!("LV {lv} LOST (now UUID {})", m.0)),
                Some(m) if m.1 != mark.1 && m.1 != "inactive" && mark.1 != "inactive" => {
                    problems.push(format!("LV {lv} data changed"))
                }
                Some(_) => {}
            }
        }
        for (p, v) in &before.pools {
            if after.pools.get(p).map(|a| a.split(' ').next()) != Some(v.split(' ').next())
                && !removed.allows(&format!("pool:{p}"))
            {
                problems.push(format!("pool {p} ({v}) is now {:?}", after.pools.get(p)));
            }
        }
        for (d, disks) in &before.disks {
            let Some(now) = after.disks.get(d) else {
                problems.push(format!("domain {d} is gone"));
                continue;
            };
            let dom = d.split(' ').next().unwrap_or_default();
            for disk in disks {
                let target = acceptance_tests::attr_value(disk, "target", "dev").unwrap_or_default();
                if !now.contains(disk) && !removed.allows(&format!("disk:{dom}/{target}")) {
                    problems.push(format!("disk {target} of {d} detached or changed"));
                }
            }
        }
        if !problems.is_empty() {
            self.lost
                .extend(problems.iter().map(|p| format!("{ordering}: {p}")));
        }
        assert!(
            problems.is_empty(),
            "{ordering}: something that was not asked for changed:\n  {}\nbefore: {before:#?}\nafter: {after:#?}",
            problems.join("\n  ")
        );
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        eprintln!(
            "ADVERSARIAL {}: {} orderings, data lost {}{}{} ({})",
            self.test,
            self.orderings.len(),
            self.lost.len(),
            if self.lost.is_empty() {
                String::new()
            } else {
                format!(" {:?}", self.lost)
            },
            if std::thread::panicking() {
                "; TEST FAILED"
            } else {
                ""
            },
            self.orderings.join(" | ")
        );
    }
}

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
