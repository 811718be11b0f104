//! Data safety: the destroy guards of `libvirt_lvm_pool`, `libvirt_lvm_volume` and
//! `libvirt_disk_attachment` under the orderings Terraform can produce (`destroy -target`,
//! `apply -replace`, resources removed from the configuration, `state rm`, replacement-forcing pool
//! changes), and a data pattern that survives every operation that should not touch it (pool
//! stop/start, re-adoption after `on_destroy = "keep"`, detach/attach).
//!
//! One configuration throughout ([`base`]): a pool on the first lab PV, volumes `v1` and `v2` of
//! 16 MiB, and `v1` attached as `sdb` to a running fixture domain (made with virsh, not managed by
//! Terraform). Before an operation each LV gets 1 MiB of a known pattern ([`Ledger::write`]); after
//! it [`Ledger::verify`] checks in the guest that every LV that should survive still exists with the
//! same LV UUID and the same SHA-256 of its first MiB, that the VG is the same (VG UUID), and the
//! scenario checks that `terraform plan -detailed-exitcode` shows exactly the expected diff (state
//! matches reality). LVs that Terraform was asked to destroy (dependents included by `-target`, a
//! `-replace`d volume) are counted as "removed on request", never as lost.
//!
//! Each scenario ends with one summary line (also when it fails):
//! `SAFETY <scenario>: <n> operations, <m> guards held, data lost <k> (...)`.
//!
//! What existing files already cover is not repeated here: pool.rs (keep/re-adopt of a hand-made LV,
//! delete refused then force_destroy), volume.rs (delete refused while attached to a shut-off
//! domain's saved definition, grow refused), attachment.rs (destroy -target of an attachment
//! without data checks).

use std::collections::BTreeMap;

use acceptance_tests::judge::{compare_marks, probe, Mark};
use acceptance_tests::{Domain, DomainOpts, Lab, Run, Scenario, Workdir};

// ------------------------------------------------------------------------------------------------
// Configuration

/// The pool resource `p` with `extra` lines.
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

/// Volume `name` (resource label = name) of 16 MiB in pool `p`.
fn volume_hcl(name: &str) -> String {
    format!(
        r#"
resource "libvirt_lvm_volume" "{name}" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "{name}"
  capacity = "16MiB"
}}
"#
    )
}

/// Attachment `d`: v1 as sdb of `domain`.
fn attach_hcl(domain: &str) -> String {
    format!(
        r#"
resource "libvirt_disk_attachment" "d" {{
  domain    = "{domain}"
  volume_id = libvirt_lvm_volume.v1.id
  target    = "sdb"
}}
"#
    )
}

/// The scenario configuration: pool (with `pool_extra`), v1, v2, v1 attached to `domain` as sdb.
fn base(pool: &str, devices: &str, domain: &str, pool_extra: &str) -> String {
    [
        pool_hcl(pool, devices, pool_extra),
        volume_hcl("v1"),
        volume_hcl("v2"),
        attach_hcl(domain),
    ]
    .concat()
}

const GUARDED: &str = "  on_destroy     = \"delete\"\n  force_destroy  = false";
const KEEP: &str = "  on_destroy     = \"keep\"";

// ------------------------------------------------------------------------------------------------
// Data ledger

/// The LVs that must survive, with their marks, and the scenario's tally.
struct Ledger {
    scenario: &'static str,
    lab: &'static Lab,
    vg: String,
    vg_uuid: Option<String>,
    expect: BTreeMap<String, Mark>,
    writes: u32,
    ops: Vec<String>,
    guards: Vec<String>,
    lost: Vec<String>,
    removed_on_request: Vec<String>,
    checks: u32,
}

impl Ledger {
    fn new(scenario: &'static str, lab: &'static Lab, vg: &str) -> Ledger {
        Ledger {
            scenario,
            lab,
            vg: vg.to_string(),
            vg_uuid: None,
            expect: BTreeMap::new(),
            writes: 0,
            ops: Vec::new(),
            guards: Vec::new(),
            lost: Vec::new(),
            removed_on_request: Vec::new(),
            checks: 0,
        }
    }

    /// Writes 1 MiB of a pattern unique to this write at the start of each LV (direct I/O, synced),
    /// then records every LV's UUID and checksum, and the VG's UUID.
    #[track_caller]
    fn write(&mut self, lvs: &[&str]) {
        let vg = &self.vg;
        let mut script = String::from("set -e\n");
        for lv in lvs {
            self.writes += 1;
            script.push_str(&format!(
                "yes '{}:{vg}/{lv}:{}' | head -c 1048576 | dd of=/dev/{vg}/{lv} bs=1M iflag=fullblock \
                 oflag=direct conv=fsync,notrunc status=none\n",
                self.scenario, self.writes
            ));
        }
        self.lab.ssh_ok(&script);
        let p = probe(self.lab, vg);
        for lv in lvs {
            let mark = p
                .lvs
                .get(*lv)
                .cloned()
                .unwrap_or_else(|| panic!("no LV {vg}/{lv} after writing"));
            assert!(mark.sha.is_some(), "LV {vg}/{lv} is not active");
            self.expect.insert(lv.to_string(), mark);
        }
        if self.vg_uuid.is_none() {
            self.vg_uuid = p.vg_uuid;
        }
        assert!(self.vg_uuid.is_some(), "no VG {vg}");
    }

    /// One operation tried (for the summary).
    fn op(&mut self, what: &str) {
        self.ops.push(what.to_string());
    }

    /// One guard that held (asserted by the caller before this).
    fn guard(&mut self, what: &str) {
        self.guards.push(what.to_string());
    }

    /// Checks the guest after an operation: LVs in `removed` were destroyed on request and must be
    /// gone; every other LV written so far must exist with the same UUID and checksum; the VG is the
    /// same. With `inactive_ok`, an LV whose pool is stopped may be inactive (UUID still checked).
    #[track_caller]
    fn verify_with(&mut self, removed: &[&str], inactive_ok: bool) {
        let p = probe(self.lab, &self.vg);
        let v = compare_marks(
            &self.vg,
            self.vg_uuid.as_deref(),
            &mut self.expect,
            &p,
            removed,
            inactive_ok,
        );
        // `compare_marks` took the removed LVs out: what is left was checked.
        self.checks += self.expect.len() as u32;
        self.removed_on_request.extend(v.removed_on_request);
        self.lost.extend(v.lost);
        assert!(
            v.problems.is_empty(),
            "after {:?}:\n  {}\nguest: {p:?}",
            self.ops.last(),
            v.problems.join("\n  ")
        );
    }

    #[track_caller]
    fn verify(&mut self, removed: &[&str]) {
        self.verify_with(removed, false);
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        eprintln!(
            "SAFETY {}: {} operations, {} guards held, data lost {}{} ({} LV checks, {} LVs removed on request{}; \
             operations: {}; guards: {})",
            self.scenario,
            self.ops.len(),
            self.guards.len(),
            self.lost.len(),
            if self.lost.is_empty() { String::new() } else { format!(" {:?}", self.lost) },
            self.checks,
            self.removed_on_request.len(),
            if std::thread::panicking() { "; SCENARIO FAILED" } else { "" },
            self.ops.join(" | "),
            self.guards.join(" | "),
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Checks

/// `terraform plan -detailed-exitcode` shows exactly this diff.
#[track_caller]
fn expect_diff(wd: &Workdir, add: u32, change: u32, destroy: u32) -> Run {
    if (add, change, destroy) == (0, 0, 0) {
        return wd.expect_plan(0);
    }
    let r = wd.expect_plan(2);
    r.expect_mentions(&[&format!(
        "Plan: {add} to add, {change} to change, {destroy} to destroy."
    )]);
    r
}

/// The disk at `target` is (or is not) in the live XML and in the saved definition.
#[track_caller]
fn expect_disk(dom: &Domain, target: &str, present: bool) {
    for inactive in [false, true] {
        assert_eq!(
            dom.disk(target, inactive).is_some(),
            present,
            "{target} in the {} of {}:\n{}",
            if inactive { "saved definition" } else { "live XML" },
            dom.name,
            dom.xml(inactive)
        );
    }
}

/// The sorted state addresses.
fn addresses(wd: &Workdir) -> Vec<String> {
    let mut a = wd.state_addresses();
    a.sort();
    a
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The pool is defined and running.
#[track_caller]
fn expect_pool_running(lab: &Lab, pool: &str) {
    assert!(
        lab.pool_names().iter().any(|p| p == pool),
        "pool {pool} undefined"
    );
    assert_eq!(lab.pool_info(pool)["State"], "running", "pool {pool} not running");
}

// ------------------------------------------------------------------------------------------------
// Scenarios

/// `terraform destroy -target` of each resource: the attachment alone, the unattached volume, the
/// attached volume (Terraform includes the attachment), the pool (Terraform includes everything;
/// the pool itself then refuses because an out-of-band LV remains).
#[test]
fn safety_destroy_target_each_resource() {
    let Some(s) = Scenario::start("safety::destroy_target_each_resource") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let run = dom.runtime();
    let wd = s.workdir(&base(&pool, &s.devices_hcl(1), &dom.name, GUARDED));
    wd.apply();
    lab.ssh_ok(&format!("lvcreate -q -y -L 8M -n oob {pool}"));
    let mut led = Ledger::new("destroy_target", lab, &pool);
    led.write(&["v1", "v2", "oob"]);
    expect_disk(&dom, "sdb", true);
    s.step("applied, oob LV made by hand, patterns written");

    // The attachment alone: detached live and persistently; every LV intact.
    led.op("destroy -target attachment");
    wd.try_destroy(&["-target=libvirt_disk_attachment.d"])
        .expect_ok()
        .expect_mentions(&["Resources: 1 destroyed"]);
    expect_disk(&dom, "sdb", false);
    dom.assert_not_restarted(&run);
    led.verify(&[]);
    expect_diff(&wd, 1, 0, 0);
    led.op("apply (re-attach)");
    wd.apply();
    expect_disk(&dom, "sdb", true);
    led.verify(&[]);
    expect_diff(&wd, 0, 0, 0);
    s.step("destroy -target attachment, re-attach: data intact");

    // The unattached volume: only v2 goes.
    led.op("destroy -target unattached volume");
    wd.try_destroy(&["-target=libvirt_lvm_volume.v2"])
        .expect_ok()
        .expect_mentions(&["Resources: 1 destroyed"]);
    led.verify(&["v2"]);
    expect_disk(&dom, "sdb", true);
    expect_diff(&wd, 1, 0, 0);
    wd.apply();
    led.write(&["v2"]);
    s.step("destroy -target v2: v2 removed, the rest intact");

    // The attached volume: -target includes its dependent attachment, destroyed first (detached),
    // then the volume: what the user asked for. v2 and oob untouched.
    led.op("destroy -target attached volume");
    wd.try_destroy(&["-target=libvirt_lvm_volume.v1"])
        .expect_ok()
        .expect_mentions(&["Resources: 2 destroyed"]);
    expect_disk(&dom, "sdb", false);
    dom.assert_not_restarted(&run);
    led.verify(&["v1"]);
    expect_diff(&wd, 2, 0, 0);
    wd.apply();
    expect_disk(&dom, "sdb", true);
    led.write(&["v1"]);
    s.step("destroy -target v1: attachment then v1 removed, the rest intact");

    // The pool: -target includes the attachment and both volumes (removed on request); the pool
    // itself must refuse (on_destroy = delete, no force_destroy) because oob is still in the VG.
    led.op("destroy -target pool");
    let r = wd.try_destroy(&["-target=libvirt_lvm_pool.p"]).expect_failure();
    r.expect_mentions(&["Volume Group Still Holds Logical Volumes", "oob", "force_destroy"]);
    led.guard("pool destroy refused: out-of-band LV oob");
    expect_disk(&dom, "sdb", false);
    led.verify(&["v1", "v2"]);
    expect_pool_running(lab, &pool);
    assert_eq!(addresses(&wd), strings(&["libvirt_lvm_pool.p"]));
    expect_diff(&wd, 3, 0, 0);
    dom.assert_not_restarted(&run);
}

/// `terraform apply -replace` of the attachment (detach + attach, data intact), of the pool and
/// replacement-forcing pool changes (refused, nothing lost), of the attached volume (recreated on
/// request, the attachment follows).
#[test]
fn safety_replace_each_resource() {
    let Some(s) = Scenario::start("safety::replace_each_resource") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let run = dom.runtime();
    let devices = s.devices_hcl(1);
    let config = base(&pool, &devices, &dom.name, GUARDED);
    let wd = s.workdir(&config);
    wd.apply();
    let mut led = Ledger::new("replace", lab, &pool);
    led.write(&["v1", "v2"]);
    s.step("applied, patterns written");

    led.op("apply -replace attachment");
    wd.try_apply(&["-replace=libvirt_disk_attachment.d"])
        .expect_ok()
        .expect_mentions(&["1 added, 0 changed, 1 destroyed"]);
    expect_disk(&dom, "sdb", true);
    dom.assert_not_restarted(&run);
    led.verify(&[]);
    expect_diff(&wd, 0, 0, 0);
    s.step("-replace attachment: detached and re-attached, data intact");

    // The pool holds v1, v2 (v1 attached): replacing it would delete the VG. The destroy half
    // refuses, before anything changed, because a domain uses a volume of the VG.
    led.op("apply -replace pool");
    let r = wd.try_apply(&["-replace=libvirt_lvm_pool.p"]).expect_failure();
    r.expect_mentions(&["Volume Group Has Volumes In Use"]);
    led.guard("-replace pool refused by the delete's fresh check");
    led.verify(&[]);
    expect_pool_running(lab, &pool);
    expect_disk(&dom, "sdb", true);
    expect_diff(&wd, 0, 0, 0);
    s.step("-replace pool refused, nothing changed");

    // The volume group's name forces a replacement, refused by its destroy half's fresh check; the
    // devices change in place, which without LVM's tools (this lab's qemu+tcp URI) is refused
    // before anything changes.
    let second = acceptance_tests::hcl_list(&lab.pv_devices[1..2]);
    let vg2 = format!("{pool}-other");
    for (what, changed, at_plan, at_apply) in [
        (
            "source_devices",
            base(&pool, &second, &dom.name, GUARDED),
            vec![
                "1 to change",
                "0 to destroy",
                "Warning: Changing Devices Needs LVM's Tools",
            ],
            "Changing Devices Needs LVM's Tools",
        ),
        (
            "volume_group",
            base(
                &pool,
                &devices,
                &dom.name,
                &format!("{GUARDED}\n  volume_group   = \"{vg2}\""),
            ),
            // Terraform keeps only the errors of a replacement's create half, so the warning
            // comes from the plan of the change: what the destroy half does and what refuses it.
            vec![
                "must be replaced",
                "Warning: Storage Pool Will Be Replaced",
                "Changing volume_group cannot be done in place",
                "refuses, before changing anything, while a domain uses any of its volumes",
            ],
            "Volume Group Has Volumes In Use",
        ),
    ] {
        led.op(&format!("change {what}"));
        wd.write(&changed);
        let plan = wd.plan_detailed();
        assert_eq!(plan.code, Some(2), "the plan shows the change ({what}):\n{plan}");
        plan.expect_mentions(&at_plan);
        let r = wd.try_apply(&[]).expect_failure();
        r.expect_mentions(&[at_apply]);
        led.guard(&format!("{what} change refused before anything changed"));
        led.verify(&[]);
        assert!(lab.vg(&vg2).is_none(), "a VG {vg2} was created");
        assert!(
            lab.pvs()
                .iter()
                .any(|p| p.device == lab.pv_devices[0] && p.vg == pool),
            "the VG left its device: {:?}",
            lab.pvs()
        );
        assert!(
            !lab.pvs().iter().any(|p| p.device == lab.pv_devices[1]),
            "the second device was labelled: {:?}",
            lab.pvs()
        );
        expect_pool_running(lab, &pool);
        wd.write(&config);
        expect_diff(&wd, 0, 0, 0);
        s.step(&format!("{what} change refused, nothing changed"));
    }

    // The attached volume: the attachment is replaced with it (detach, delete, create, attach). The
    // create half of a replacement is planned while the old volume still exists: the provider only
    // warns about the taken name at plan (an error there made every volume replacement impossible).
    led.op("apply -replace attached volume");
    wd.try_apply(&["-replace=libvirt_lvm_volume.v1"])
        .expect_ok()
        .expect_mentions(&["2 added, 0 changed, 2 destroyed"]);
    led.verify(&["v1"]);
    let v1 = lab.lv(&pool, "v1").expect("v1 recreated");
    assert_eq!(wd.state_str("libvirt_lvm_volume.v1", "id"), v1.uuid);
    expect_disk(&dom, "sdb", true);
    assert!(
        dom.disk("sdb", false).is_some_and(|d| d.contains("volume='v1'")),
        "sdb is not v1"
    );
    dom.assert_not_restarted(&run);
    expect_diff(&wd, 0, 0, 0);
}

/// Resources removed from the configuration: a volume in use by a domain Terraform does not manage
/// (attached by hand, live only) is not destroyed; the whole configuration removed destroys what
/// Terraform made, and the pool refuses to delete the VG over out-of-band LVs, naming them.
#[test]
fn safety_removed_from_config() {
    let Some(s) = Scenario::start("safety::removed_from_config") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let run = dom.runtime();
    let devices = s.devices_hcl(1);
    let wd = s.workdir(&base(&pool, &devices, &dom.name, GUARDED));
    wd.apply();
    lab.ssh_ok(&format!(
        "lvcreate -q -y -L 8M -n oob1 {pool} && lvcreate -q -y -L 8M -n oob2 {pool}"
    ));
    let mut led = Ledger::new("removed_from_config", lab, &pool);
    led.write(&["v1", "v2", "oob1", "oob2"]);
    s.step("applied, two LVs made by hand, patterns written");

    // v2 hot-plugged by hand (live only, so only the running domain's XML shows it).
    lab.virsh_ok(&[
        "attach-disk",
        &dom.name,
        &format!("/dev/{pool}/v2"),
        "sdc",
        "--sourcetype",
        "block",
        "--live",
    ]);
    assert!(dom.disk("sdc", false).is_some() && dom.disk("sdc", true).is_none());
    led.op("remove v2 from config while a domain uses it");
    wd.write(
        &[
            pool_hcl(&pool, &devices, GUARDED),
            volume_hcl("v1"),
            attach_hcl(&dom.name),
        ]
        .concat(),
    );
    expect_diff(&wd, 0, 0, 1);
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["Volume Is Attached To A Domain", &dom.name, "sdc", "running"]);
    led.guard("v2 destroy refused: in use (live) by a domain outside Terraform");
    led.verify(&[]);
    assert!(
        dom.disk("sdc", false).is_some(),
        "the hand-made disk was detached"
    );
    assert!(addresses(&wd).contains(&"libvirt_lvm_volume.v2".to_string()));
    expect_diff(&wd, 0, 0, 1);
    lab.virsh_ok(&["detach-disk", &dom.name, "sdc", "--live"]);
    s.step("v2 removed from config while in use: refused, nothing changed");

    // Everything removed: the plan destroys all four; the pool refuses over oob1 and oob2.
    led.op("remove everything from config");
    wd.write("");
    expect_diff(&wd, 0, 0, 4);
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["Volume Group Still Holds Logical Volumes", "oob1", "oob2"]);
    led.guard("pool destroy refused: out-of-band LVs oob1, oob2 named");
    led.verify(&["v1", "v2"]);
    expect_disk(&dom, "sdb", false);
    expect_pool_running(lab, &pool);
    assert_eq!(addresses(&wd), strings(&["libvirt_lvm_pool.p"]));
    expect_diff(&wd, 0, 0, 1);
    dom.assert_not_restarted(&run);
}

/// `terraform state rm` then destroy: what is no longer in the state is never touched (a volume
/// still attached through an attachment removed from state, a volume removed from state, a pool
/// removed from state); and `force_destroy` does not delete a VG whose LV a domain still uses.
#[test]
fn safety_state_rm_then_destroy() {
    let Some(s) = Scenario::start("safety::state_rm_then_destroy") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let other = s.domain("other", DomainOpts::shut_off());
    let devices = s.devices_hcl(1);
    let wd = s.workdir(&base(&pool, &devices, &dom.name, GUARDED));
    wd.apply();
    let mut led = Ledger::new("state_rm", lab, &pool);
    led.write(&["v1", "v2"]);
    s.step("applied, patterns written");

    // The attachment and v2 leave the state (and the configuration: no longer managed); destroy
    // then must not detach sdb (not in state) and so cannot delete v1, which the domain still uses.
    led.op("state rm attachment + v2, destroy");
    wd.state_rm("libvirt_disk_attachment.d");
    wd.state_rm("libvirt_lvm_volume.v2");
    wd.write(&[pool_hcl(&pool, &devices, GUARDED), volume_hcl("v1")].concat());
    let r = wd.try_destroy(&[]).expect_failure();
    r.expect_mentions(&["Volume Is Attached To A Domain", &dom.name, "sdb"]);
    led.guard("v1 destroy refused: still attached by an attachment outside state");
    expect_disk(&dom, "sdb", true);
    led.verify(&[]);
    assert_eq!(
        addresses(&wd),
        strings(&["libvirt_lvm_pool.p", "libvirt_lvm_volume.v1"])
    );
    s.step("destroy refused for v1, sdb still attached");

    // Detached by hand: v1 (in state) goes; the pool refuses over v2 (not in state).
    led.op("detach by hand, destroy");
    lab.virsh_ok(&["detach-disk", &dom.name, "sdb", "--live", "--config"]);
    let r = wd.try_destroy(&[]).expect_failure();
    r.expect_mentions(&["Volume Group Still Holds Logical Volumes", "v2"]);
    led.guard("pool destroy refused: v2 outside state");
    led.verify(&["v1"]);
    expect_pool_running(lab, &pool);
    assert_eq!(addresses(&wd), strings(&["libvirt_lvm_pool.p"]));
    s.step("v1 destroyed, pool refused over v2");

    // force_destroy allows deleting LVs that are merely there, never one a domain uses: v2 in the
    // saved definition of a shut-off domain outside Terraform.
    lab.virsh_ok(&[
        "attach-disk",
        &other.name,
        &format!("/dev/{pool}/v2"),
        "sdc",
        "--sourcetype",
        "block",
        "--config",
    ]);
    led.op("force_destroy with v2 used by a shut-off domain");
    wd.write(&pool_hcl(
        &pool,
        &devices,
        "  on_destroy     = \"delete\"\n  force_destroy  = true",
    ));
    expect_diff(&wd, 0, 1, 0);
    wd.apply();
    let r = wd.try_destroy(&[]);
    led.verify(&[]);
    r.expect_failure()
        .expect_mentions(&["In Use", &other.name, "sdc", "v2"]);
    led.guard("force_destroy refused: v2 used by a domain");
    expect_pool_running(lab, &pool);
    assert!(other.disk("sdc", true).is_some());
    lab.virsh_ok(&["detach-disk", &other.name, "sdc", "--config"]);
    s.step("force_destroy refused while a domain uses v2");

    // The pool leaves the state: destroy has nothing to do and touches nothing.
    led.op("state rm pool, destroy");
    wd.state_rm("libvirt_lvm_pool.p");
    wd.destroy();
    led.verify(&[]);
    expect_pool_running(lab, &pool);
    assert_eq!(lab.pool_info(&pool)["Autostart"], "yes");
}

/// Operations that must not touch data: pool stop (refused while a running domain uses a volume,
/// then done), a volume destroy while the pool is stopped (refused), start, re-adoption of the VG
/// after a destroy with `on_destroy = "keep"` (same LV UUIDs, same data), detach/attach.
#[test]
fn safety_stop_start_readopt_reattach() {
    let Some(s) = Scenario::start("safety::stop_start_readopt_reattach") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let run = dom.runtime();
    let devices = s.devices_hcl(1);
    let config = |extra: &str, attached: bool| {
        let mut c = [
            pool_hcl(&pool, &devices, &format!("{KEEP}\n{extra}")),
            volume_hcl("v1"),
            volume_hcl("v2"),
        ]
        .concat();
        if attached {
            c.push_str(&attach_hcl(&dom.name));
        }
        c
    };
    let wd = s.workdir(&config("", true));
    wd.apply();
    let mut led = Ledger::new("stop_start_readopt", lab, &pool);
    led.write(&["v1", "v2"]);
    s.step("applied (on_destroy = keep), patterns written");

    // Stop while the running domain has v1 open: libvirt cannot deactivate the VG; nothing changes.
    led.op("active = false while v1 is attached to a running domain");
    wd.write(&config("  active = false", true));
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["in use"]);
    led.guard("pool stop refused while a running domain uses v1");
    expect_pool_running(lab, &pool);
    led.verify(&[]);
    expect_disk(&dom, "sdb", true);
    dom.assert_not_restarted(&run);
    s.step("stop refused while in use");

    // Detached, then stopped: the LVs are deactivated, not removed.
    led.op("detach, active = false");
    wd.write(&config("  active = false", false));
    wd.apply();
    expect_disk(&dom, "sdb", false);
    assert_eq!(lab.pool_info(&pool)["State"], "inactive");
    led.verify_with(&[], true);
    expect_diff(&wd, 0, 0, 0);
    s.step("pool stopped");

    // A volume destroy while the pool is stopped cannot see the volume: refused, not "gone".
    led.op("destroy -target v2 while the pool is stopped");
    let r = wd
        .try_destroy(&["-target=libvirt_lvm_volume.v2"])
        .expect_failure();
    r.expect_mentions(&["Storage Pool Not Active", "nothing was changed"]);
    led.guard("volume destroy refused in a stopped pool");
    led.verify_with(&[], true);
    assert!(addresses(&wd).contains(&"libvirt_lvm_volume.v2".to_string()));

    // Started first: an attachment of a volume in a stopped pool cannot be planned (its volume is not
    // visible until the pool runs), even in the apply that starts the pool.
    led.op("active = true, then re-attach");
    wd.write(&config("", false));
    wd.apply();
    led.verify(&[]);
    wd.write(&config("", true));
    wd.apply();
    expect_pool_running(lab, &pool);
    expect_disk(&dom, "sdb", true);
    led.verify(&[]);
    expect_diff(&wd, 0, 0, 0);
    s.step("started, re-attached: data intact");

    // Re-adoption: the volumes leave the state and the configuration (kept), the pool is destroyed
    // with keep, then the pool alone adopts the VG, and the volumes are imported back.
    led.op("detach, state rm volumes, destroy pool (keep)");
    wd.try_destroy(&["-target=libvirt_disk_attachment.d"]).expect_ok();
    wd.state_rm("libvirt_lvm_volume.v1");
    wd.state_rm("libvirt_lvm_volume.v2");
    let pool_only = pool_hcl(&pool, &devices, KEEP);
    wd.write(&pool_only);
    wd.destroy();
    assert!(!lab.pool_names().contains(&pool), "pool still defined");
    led.verify_with(&[], true);
    s.step("pool destroyed with keep: VG and LVs remain");

    led.op("re-adopt: apply pool, import volumes, apply");
    wd.apply();
    expect_pool_running(lab, &pool);
    led.verify(&[]);
    wd.write(&config("", true));
    for v in ["v1", "v2"] {
        wd.import(&format!("libvirt_lvm_volume.{v}"), &format!("{pool}/{v}"));
    }
    wd.apply().expect_mentions(&["1 added, 0 changed, 0 destroyed"]);
    led.verify(&[]);
    expect_disk(&dom, "sdb", true);
    expect_diff(&wd, 0, 0, 0);
    dom.assert_not_restarted(&run);
}
