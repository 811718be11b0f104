//! Faults on the lab, each followed by the same proof: `terraform plan` describes exactly what
//! exists (every LV in the guest is in the state, so it is neither created twice nor forgotten;
//! every volume in the state exists or is planned for creation), a second `terraform apply`
//! succeeds, and the guest then holds exactly the 20 LVs with the configured sizes while
//! `plan -detailed-exitcode` is 0. Volumes made before the fault keep their data and LV UUID.
//!
//! - libvirtd restarted in the guest in the middle of applying a saved plan, while the apply's
//!   provider holds a connection it has already used (a `terraform_data` provisioner restarts it
//!   after one new volume and before the other fourteen): the provider must notice and reconnect;
//! - libvirtd killed (SIGKILL) in the middle of an apply creating 20 volumes, at the moment one
//!   vol-create has made its LV but not yet replied (a slowed `lvcreate` holds the reply back):
//!   the lost-reply create is recorded tainted and replaced, never orphaned;
//! - the whole lab frozen (SIGSTOP to its QEMU) during an apply: the provider errors within a
//!   bounded time (keepalive, connect_timeout), never hangs;
//! - the hypervisor unreachable at plan time (nothing listening; a listener that never answers):
//!   a clear error in bounded time naming the URI, with its password redacted;
//! - pool creates failing at build, at start, at autostart: whatever the create had made is
//!   removed, the devices' previous contents are untouched, and nothing is left in the state.
//!
//! Times from fault to provider error are printed (`--nocapture`). Their limits are derived from the
//! lab's speed measured just before the fault ([`Scenario::calibrate`]), not fixed seconds. Every
//! fault is a [`Fault`]: its undo is checked, and one that fails fails the test and marks the lab
//! unusable instead of breaking the scenarios after it.

use std::collections::BTreeMap;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use acceptance_tests::judge::markers_lost;
use acceptance_tests::{
    calibration, provider_block, Calibration, Fault, Lab, RefusingPort, Run, Scenario, Workdir,
};

const MIB: u64 = 1 << 20;
const VOLUMES: usize = 20;
/// Volumes created before the fault, holding data that must survive it.
const EARLY: usize = 5;
/// Fault detection settings: a dead connection is noticed after about 2 s x 3.
const KEEPALIVE: &str = "keepalive_interval = 2\n  keepalive_count = 3\n  connect_timeout = \"10s\"";
/// What the settings above promise from a frozen hypervisor to the provider's error: keepalive
/// declares the connection dead after `interval × (count + 1)` at most, and one reconnect attempt
/// may take `connect_timeout`.
const FROZEN_PROMISE: Duration = Duration::from_secs(2 * (3 + 1) + 10);

/// `v00` … `v19`: sizes 16, 32, 48, 64 MiB in turn (whole extents, so `lvs` shows them exactly).
fn volume_size(i: usize) -> u64 {
    (i as u64 % 4 + 1) * 16 * MIB
}

fn volume_name(i: usize) -> String {
    format!("v{i:02}")
}

/// A pool on both lab disks plus volumes `v00`..`v{count-1}`.
fn config(s: &Scenario, pool: &str, count: usize) -> String {
    let mut tf = format!(
        "{}\nresource \"libvirt_lvm_pool\" \"p\" {{\n  name           = \"{pool}\"\n  source_devices = {}\n  \
         on_destroy     = \"delete\"\n  force_destroy  = true\n}}\n",
        provider_block(&format!("uri = \"{}\"\n  {KEEPALIVE}", s.lab().uri)),
        s.devices_hcl(2)
    );
    for i in 0..count {
        tf.push_str(&format!(
            "\nresource \"libvirt_lvm_volume\" \"{n}\" {{\n  pool     = libvirt_lvm_pool.p.name\n  name     = \
             \"{n}\"\n  capacity = \"{}MiB\"\n}}\n",
            volume_size(i) / MIB,
            n = volume_name(i)
        ));
    }
    tf
}

/// The LVs of `vg`: name → (size, uuid).
fn lvs(lab: &Lab, vg: &str) -> BTreeMap<String, (u64, String)> {
    lab.lvs_in(vg)
        .into_iter()
        .map(|l| (l.name, (l.size, l.uuid)))
        .collect()
}

/// Writes a recognisable marker at the start of each early volume; returns name → (uuid, marker).
fn write_markers(lab: &Lab, vg: &str) -> BTreeMap<String, (String, String)> {
    let now = lvs(lab, vg);
    (0..EARLY)
        .map(|i| {
            let name = volume_name(i);
            let marker = format!("faults-data-{vg}-{name}");
            lab.ssh_ok(&format!(
                "printf '%s' '{marker}' | dd of=/dev/{vg}/{name} conv=notrunc,fsync status=none"
            ));
            let uuid = now
                .get(&name)
                .unwrap_or_else(|| panic!("early volume {name} missing: {now:?}"))
                .1
                .clone();
            (name, (uuid, marker))
        })
        .collect()
}

/// Asserts the early volumes are the same LVs with the same first bytes: no data lost.
#[track_caller]
fn assert_markers(lab: &Lab, vg: &str, markers: &BTreeMap<String, (String, String)>) {
    let uuids = lvs(lab, vg);
    let now: BTreeMap<String, (String, String)> = markers
        .iter()
        .filter_map(|(name, (_, marker))| {
            let (_, uuid) = uuids.get(name)?;
            let head = lab.ssh_ok(&format!("head -c {} /dev/{vg}/{name}", marker.len()));
            Some((name.clone(), (uuid.clone(), head)))
        })
        .collect();
    let lost = markers_lost(markers, &now);
    assert!(lost.is_empty(), "{}\n(LVs now: {uuids:?})", lost.join("\n"));
}

/// Volume entries of the local state file: name → tainted.
fn state_volumes(wd: &Workdir) -> BTreeMap<String, bool> {
    let text = std::fs::read_to_string(wd.path().join("terraform.tfstate")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
    let mut out = BTreeMap::new();
    for r in v["resources"].as_array().into_iter().flatten() {
        if r["type"] != "libvirt_lvm_volume" {
            continue;
        }
        for inst in r["instances"].as_array().into_iter().flatten() {
            let name = inst["attributes"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            out.insert(name, inst["status"] == "tainted");
        }
    }
    out
}

/// What `terraform plan` would do to each volume: name → actions ("no-op", "create",
/// "delete,create" …), for the volumes in the refreshed state and the planned ones.
struct PlanView {
    /// Names in the refreshed prior state (what Terraform believes exists).
    known: BTreeMap<String, String>,
    /// Names planned for creation only.
    creates: Vec<String>,
}

#[track_caller]
fn plan_view(wd: &Workdir) -> PlanView {
    let r = wd.tf(&["plan", "-input=false", "-out=fault.tfplan"]);
    assert!(
        r.ok(),
        "after the fault, terraform plan must work (the hypervisor answers again):\n{r}"
    );
    let shown = wd.tf(&["show", "-json", "fault.tfplan"]).expect_ok();
    let v: serde_json::Value = serde_json::from_str(&shown.stdout).expect("plan JSON");
    let mut view = PlanView {
        known: BTreeMap::new(),
        creates: Vec::new(),
    };
    for c in v["resource_changes"].as_array().into_iter().flatten() {
        if c["type"] != "libvirt_lvm_volume" {
            continue;
        }
        let actions: Vec<&str> = c["change"]["actions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str())
            .collect();
        let actions = actions.join(",");
        let before = c["change"]["before"]["name"].as_str();
        let after = c["change"]["after"]["name"].as_str();
        match (before, after) {
            (Some(b), _) => {
                view.known.insert(b.to_string(), actions);
            }
            (None, Some(a)) => view.creates.push(a.to_string()),
            _ => {}
        }
    }
    view
}

/// The proof after every fault: the plan describes exactly what exists; a second apply
/// converges to exactly the 20 volumes; a further plan is empty; early data survived.
#[track_caller]
/// A create whose reply was lost is never taken into the state on its name and size: when its
/// LV exists, the resource leaves the state (at once, or at the next refresh when the hypervisor
/// could not be asked) with the import command. Every LV of this scenario's VG is this apply's
/// (nothing else writes there), so the test does what the message says and imports them.
fn import_unclaimed(wd: &Workdir, lab: &Lab, vg: &str) {
    if state_volumes(wd).values().any(|tainted| *tainted) {
        let r = wd
            .tf(&["apply", "-refresh-only", "-auto-approve", "-input=false"])
            .expect_ok();
        eprintln!("[faults] refresh after the fault:\n{}", first_warning(&r.text()));
    }
    let state = state_volumes(wd);
    for name in lvs(lab, vg).keys() {
        let ours = (0..VOLUMES).any(|i| &volume_name(i) == name);
        if ours && !state.contains_key(name) {
            eprintln!("[faults] importing {vg}/{name}, made by a create whose reply was lost");
            wd.import(&format!("libvirt_lvm_volume.{name}"), &format!("{vg}/{name}"));
        }
    }
}

/// The first `Warning:` block of terraform's output, the provider's own (not the overrides').
fn first_warning(text: &str) -> String {
    text.match_indices("Warning:")
        .map(|(i, _)| &text[i..])
        .find(|w| !w.starts_with("Warning: Provider development overrides"))
        .map(|w| w.chars().take(700).collect())
        .unwrap_or_default()
}

fn assert_converges(s: &Scenario, wd: &Workdir, vg: &str, markers: &BTreeMap<String, (String, String)>) {
    let lab = s.lab();
    import_unclaimed(wd, lab, vg);
    s.step("after the fault: compare the guest, the state and the plan");
    let guest = lvs(lab, vg);
    let state = state_volumes(wd);
    let tainted: Vec<&String> = state.iter().filter(|(_, t)| **t).map(|(n, _)| n).collect();
    let view = plan_view(wd);
    eprintln!(
        "[faults] guest has {} LVs {:?}; state has {} volumes ({} tainted: {:?}); plan: {} known {:?}, {} to create {:?}",
        guest.len(),
        guest.keys().collect::<Vec<_>>(),
        state.len(),
        tainted.len(),
        tainted,
        view.known.len(),
        view.known,
        view.creates.len(),
        view.creates
    );
    for name in guest.keys() {
        let action = view.known.get(name).unwrap_or_else(|| {
            panic!(
                "ORPHAN: LV {vg}/{name} exists in the guest but Terraform does not know it (the next apply \
                 would try to create it again); plan creates {:?}",
                view.creates
            )
        });
        assert!(
            action == "no-op" || action == "delete,create" || action == "update",
            "LV {name} exists and is in the state, but the plan does {action}"
        );
        if state.get(name) == Some(&true) {
            assert_eq!(action, "delete,create", "tainted volume {name} must be replaced");
        }
    }
    for (name, action) in &view.known {
        assert!(
            guest.contains_key(name),
            "volume {name} is in the refreshed state ({action}) but not in the guest"
        );
    }
    for name in &view.creates {
        assert!(
            !guest.contains_key(name),
            "the plan would create {name} a second time"
        );
    }
    for i in 0..VOLUMES {
        let n = volume_name(i);
        assert!(
            view.known.contains_key(&n) || view.creates.contains(&n),
            "volume {n} is neither known nor planned"
        );
    }
    assert_markers(lab, vg, markers);

    s.step("second apply converges");
    wd.apply_parallel(4);
    let guest = lvs(lab, vg);
    let want: BTreeMap<String, u64> = (0..VOLUMES).map(|i| (volume_name(i), volume_size(i))).collect();
    let have: BTreeMap<String, u64> = guest.iter().map(|(n, (size, _))| (n.clone(), *size)).collect();
    assert_eq!(
        have, want,
        "after the second apply the guest must hold exactly the 20 volumes"
    );
    for l in lab.lvs_in(vg) {
        assert!(
            l.attr.starts_with("-wi-a"),
            "{} is not a plain active LV: {}",
            l.name,
            l.attr
        );
    }
    assert!(
        state_volumes(wd).values().all(|t| !t),
        "nothing may stay tainted after the second apply"
    );
    wd.expect_plan(0);
    assert_markers(lab, vg, markers);
}

/// The pool and the early volumes, with markers written; then the config of all 20.
/// The work directory, the pool's name, and the data markers written into the early volumes.
type Prepared<'s> = (Workdir<'s>, String, BTreeMap<String, (String, String)>);

fn prepare<'s>(s: &'s Scenario) -> Prepared<'s> {
    prepare_timed(s).0
}

/// [`prepare`], and what one create cost in its apply (the pool and the early volumes; terraform's
/// start included, so it errs long): the creates of one pool queue in the provider one at a time,
/// so a wait for the n-th create of a later apply scales with it, on a loaded machine too.
fn prepare_timed<'s>(s: &'s Scenario) -> (Prepared<'s>, Duration) {
    let pool = s.name("pool");
    s.step("pool and 5 volumes holding data");
    let wd = s.workdir_raw(&config(s, &pool, EARLY));
    let t0 = Instant::now();
    wd.apply();
    let per_create = t0.elapsed() / (EARLY as u32 + 1);
    let markers = write_markers(s.lab(), &pool);
    wd.write_raw(&config(s, &pool, VOLUMES));
    ((wd, pool, markers), per_create)
}

/// Waits until `cond` holds, polling every half second, or panics after `limit`.
#[track_caller]
fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The guest's libvirtd: active state, main PID and systemd's restart count.
fn libvirtd_status(lab: &Lab) -> String {
    lab.ssh_ok("systemctl show libvirtd -p ActiveState -p MainPID -p NRestarts | sort | paste -sd ' '")
        .trim()
        .to_string()
}

// ------------------------------------------------------------------------------------------------

/// Where the restart provisioner records libvirtd's main PID before and after (in the guest).
const RESTART_RECORD: &str = "/run/faults-restart-record";

/// [`config`] for all 20 volumes, plus a `terraform_data` whose provisioner restarts libvirtd in
/// the guest once `v05` exists; `v06`…`v19` wait for it. So within one apply the provider creates
/// `v05` on its connection, the daemon restarts under it, and the fourteen later creates go
/// through that same provider process.
fn config_with_restart(s: &Scenario, pool: &str) -> String {
    let mut tf = config(s, pool, VOLUMES);
    let restart = s.lab().ssh_command_line(&format!(
        "{{ systemctl show libvirtd -p MainPID --value; systemctl restart libvirtd; \
         systemctl show libvirtd -p MainPID --value; }} > {RESTART_RECORD}"
    ));
    tf.push_str(&format!(
        "\nresource \"terraform_data\" \"restart\" {{\n  depends_on = [libvirt_lvm_volume.{first}]\n  \
         provisioner \"local-exec\" {{\n    command = {}\n  }}\n}}\n",
        acceptance_tests::hcl_string(&restart),
        first = volume_name(EARLY)
    ));
    for i in EARLY + 1..VOLUMES {
        let n = volume_name(i);
        tf = tf.replace(
            &format!("resource \"libvirt_lvm_volume\" \"{n}\" {{\n"),
            &format!("resource \"libvirt_lvm_volume\" \"{n}\" {{\n  depends_on = [terraform_data.restart]\n"),
        );
    }
    tf
}

/// The daemon restarts while the apply's provider is connected and idle, between two creates.
/// Each terraform command starts its own provider, so a restart between two commands tests
/// nothing: this one happens inside the apply of a saved plan, after the provider has used its
/// connection. It fails if the provider does not notice the dead connection and reconnect
/// (the later creates would fail or hang), or if anything is created twice or lost.
#[test]
fn libvirtd_restarted_between_plan_and_apply() {
    let Some(s) = Scenario::start("faults::restart_between_plan_and_apply") else {
        return;
    };
    let lab = s.lab();
    let (wd, vg, markers) = prepare(&s);
    wd.write_raw(&config_with_restart(&s, &vg));
    s.step("plan -out; apply the saved plan: v05, then libvirtd restarts, then v06..v19");
    wd.tf(&["plan", "-input=false", "-out=saved.tfplan"]).expect_ok();
    lab.ssh_ok(&format!("rm -f {RESTART_RECORD}"));
    let t0 = Instant::now();
    let r = wd.tf(&["apply", "-input=false", "-parallelism=4", "saved.tfplan"]);
    eprintln!(
        "[faults] apply of the saved plan with a restart inside: exit {:?} in {:.1} s",
        r.code,
        t0.elapsed().as_secs_f64()
    );
    let record = lab.ssh_ok(&format!("cat {RESTART_RECORD}"));
    let pids: Vec<&str> = record.split_whitespace().collect();
    assert!(
        matches!(pids.as_slice(), [before, after] if before != after && *before != "0" && *after != "0"),
        "libvirtd did not restart during the apply (main PID before and after: {record:?}):\n{r}"
    );
    eprintln!(
        "[faults] libvirtd main PID {} -> {} during the apply",
        pids[0], pids[1]
    );
    r.expect_mentions(&["terraform_data.restart: Creation complete"]);
    assert!(
        r.ok(),
        "the apply must go on after the daemon restarted under its provider (reconnect):\n{r}"
    );
    assert_converges(&s, &wd, &vg, &markers);
}

/// A `lvcreate` in the guest that makes its LV, then, for the one named `slow`, records its PID and
/// becomes a long sleep: libvirtd holds the vol-create reply while the LV already exists. The undo
/// puts the original back, ends the sleep, and checks both.
fn slow_lvcreate<'l>(lab: &'l Lab, slow: &str) -> Fault<'l> {
    Fault::guest(
        lab,
        &format!("lvcreate of {slow} holds its reply"),
        &format!(
            "set -e; rm -f {MARK}; test -L /usr/sbin/lvcreate; mv /usr/sbin/lvcreate /usr/sbin/lvcreate.faults-orig; \
             cat > /usr/sbin/lvcreate <<'EOF'\n#!/bin/sh\n/usr/sbin/lvm lvcreate \"$@\"\nrc=$?\n\
             for a in \"$@\"; do [ \"$a\" = \"{slow}\" ] && {{ echo $$ > {MARK}; exec sleep 600; }}; done\nexit $rc\nEOF\n\
             chmod 755 /usr/sbin/lvcreate"
        ),
        &format!(
            "if [ -L /usr/sbin/lvcreate.faults-orig ]; then mv -f /usr/sbin/lvcreate.faults-orig /usr/sbin/lvcreate; fi; \
             if [ -s {MARK} ]; then kill \"$(cat {MARK})\" 2>/dev/null || true; fi; rm -f {MARK}; \
             test -L /usr/sbin/lvcreate && test ! -e /usr/sbin/lvcreate.faults-orig && /usr/sbin/lvcreate --version >/dev/null"
        ),
    )
}

const MARK: &str = "/run/faults-lvcreate-held";

#[test]
fn libvirtd_killed_mid_apply_with_a_lost_create_reply() {
    let Some(s) = Scenario::start("faults::kill_mid_apply") else {
        return;
    };
    let lab = s.lab();
    let ((wd, vg, markers), setup_per_create) = prepare_timed(&s);
    let held = volume_name(9);
    let cal = s.calibrate();
    let slow = slow_lvcreate(lab, &held);

    s.step("apply 20 volumes in the background; kill libvirtd once v09's LV exists but its reply is held");
    let apply = wd.spawn_tf(&["apply", "-auto-approve", "-input=false", "-parallelism=4"]);
    // Terraform may start v09 last of the new volumes, and the provider creates one volume of a
    // pool at a time: up to every new create, at what one cost in the setup (seen: a CI run whose
    // lab was slow enough that a patience of round trips alone ran out first).
    let new_creates = (VOLUMES - EARLY) as u32;
    wait_for(
        "v09's lvcreate to be held",
        cal.patience(4 * VOLUMES as u32)
            .max(setup_per_create * new_creates * calibration::SLACK),
        || lab.ssh("test -e /run/faults-lvcreate-held").0 == 0,
    );
    let before_kill = lvs(lab, &vg);
    assert!(
        before_kill.contains_key(&held),
        "v09's LV must exist before the kill"
    );
    let status_before = libvirtd_status(lab);
    // What one create cost in this apply so far (terraform's start included, so it errs long).
    let made = (before_kill.len() - EARLY).max(1) as u32;
    let per_create = apply.elapsed() / made;
    let t_fault = Instant::now();
    lab.ssh_ok("systemctl kill -s KILL libvirtd");
    slow.undo();
    // After the kill systemd starts libvirtd again, the provider reconnects and the other creates
    // go on: terraform ends after the creates that remain, each costing what they cost before.
    // Plus one: the held create's own lost-reply check (a new connection to the restarted
    // libvirtd, a pool refresh and a lookup) costs at least what a create does. Without it a run
    // whose v09 came last (every other LV made before the kill) had 1.3 s for all of that (CI,
    // 631399d: terraform cut off 5.8 s after the kill).
    let remaining = (VOLUMES - before_kill.len()) as u32 + 1;
    let limit = cal.limit(Duration::ZERO, 1, 0) + per_create * remaining * calibration::SLACK;
    // Background::wait counts from the command's start.
    let deadline = apply.elapsed() + limit * 3;
    let run = apply.wait(deadline);
    let to_exit = t_fault.elapsed();
    wait_for("libvirtd to run again", cal.patience(10), || {
        libvirtd_status(lab).starts_with("ActiveState=active ")
    });
    let status_after = libvirtd_status(lab);
    eprintln!(
        "[faults] kill: {} LVs existed at the kill; libvirtd before {status_before}, after {status_after} \
         (systemd Restart=on-failure and socket activation bring it back); terraform exited {:?} {:.1} s \
         after the kill (limit {:.1} s)",
        before_kill.len(),
        run.code,
        to_exit.as_secs_f64(),
        limit.as_secs_f64()
    );
    eprintln!(
        "[faults] first diagnostic after the kill:\n{}",
        first_error(&run.text())
    );
    assert!(run.code.is_some(), "terraform hung after the kill:\n{run}");
    assert!(
        to_exit < limit,
        "terraform took {to_exit:?} after the kill (limit {limit:?}: {remaining} creates left at {per_create:?} \
         each, from {cal})"
    );
    assert!(
        !run.ok(),
        "the apply cannot have succeeded: v09's create lost its reply:\n{run}"
    );
    run.expect_mentions(&[
        "Volume Creation Interrupted",
        "v09",
        "whether it took effect is unknown",
    ]);

    // v09's LV exists, but nothing proves it is this create's (an operator could have made one of
    // that name after the request left): it is not taken into the state, and the message gives the
    // import command. Checked right after the kill when libvirtd answered in time; else recorded
    // without an LV UUID and decided by the next refresh, which says the same.
    let import_cmd = format!("terraform import <address> {vg}/{held}");
    let state = state_volumes(&wd);
    match state.get(&held) {
        None => {
            run.expect_mentions(&["is not taken into the state", &import_cmd]);
        }
        Some(true) => {
            run.expect_mentions(&["recorded without an LV UUID"]);
            let r = wd
                .tf(&["apply", "-refresh-only", "-auto-approve", "-input=false"])
                .expect_ok();
            r.expect_mentions(&["Volume Not Claimed After A Lost Reply", &import_cmd]);
            assert_eq!(
                state_volumes(&wd).get(&held),
                None,
                "the refresh kept v09 in the state without proof"
            );
        }
        Some(false) => panic!("v09 (LV made, reply lost) was taken into the state untainted:\n{run}"),
    }
    wd.import(&format!("libvirt_lvm_volume.{held}"), &format!("{vg}/{held}"));
    let after = lvs(lab, &vg);
    eprintln!(
        "[faults] after the kill: {} LVs in the guest, {} volumes in the state ({} tainted)",
        after.len(),
        state.len(),
        state.values().filter(|t| **t).count()
    );
    assert_converges(&s, &wd, &vg, &markers);
    assert_eq!(
        lvs(lab, &vg)[&held].1,
        before_kill[&held].1,
        "the imported v09 must be the LV its create made"
    );
}

#[test]
fn lab_frozen_during_apply_errors_in_bounded_time() {
    let Some(s) = Scenario::start("faults::lab_frozen_during_apply") else {
        return;
    };
    let lab = s.lab();
    let (wd, vg, markers) = prepare(&s);
    let cal = s.calibrate();
    let limit = cal.limit(FROZEN_PROMISE, 1, 0);

    s.step("apply 20 volumes in the background; freeze the lab once 8 LVs exist");
    let mut apply = wd.spawn_tf(&["apply", "-auto-approve", "-input=false", "-parallelism=4"]);
    wait_for("8 LVs", cal.patience(4 * 8), || {
        apply.is_finished() || lvs(lab, &vg).len() >= 8
    });
    assert!(
        !apply.is_finished(),
        "the apply ended before the fault:\n{}",
        apply.output_so_far()
    );
    let paused = lab.pause();
    let t_fault = Instant::now();
    // Background::wait counts from the command's start.
    let deadline = apply.elapsed() + limit * 3;
    let run = apply.wait(deadline);
    let to_exit = t_fault.elapsed();
    eprintln!(
        "[faults] frozen lab: terraform exited {:?} {:.1} s after the freeze (limit {:.1} s: {} s promised \
         by keepalive and connect_timeout, plus {}x the floors measured before: {cal})",
        run.code,
        to_exit.as_secs_f64(),
        limit.as_secs_f64(),
        FROZEN_PROMISE.as_secs(),
        calibration::SLACK
    );
    paused.resume();
    eprintln!(
        "[faults] first diagnostic after the freeze:\n{}",
        first_error(&run.text())
    );
    assert!(
        run.code.is_some(),
        "terraform hung on a frozen hypervisor:\n{run}"
    );
    assert!(
        to_exit < limit,
        "terraform took {to_exit:?} to fail on a frozen hypervisor (keepalive 2 s x 3, connect_timeout 10 s; \
         limit {limit:?} from {cal})"
    );
    assert!(
        !run.ok(),
        "an apply against a frozen hypervisor cannot succeed:\n{run}"
    );
    let text = run.text();
    assert!(
        text.contains("keepalive") || text.contains("was lost") || text.contains("connect_timeout"),
        "the error must say the connection died or timed out:\n{run}"
    );
    wait_for("the guest to answer again", cal.patience(40), || {
        lab.virsh(&["version"]).ok() && lab.ssh("true").0 == 0
    });
    // A vol-create sent just before the freeze may still be executed after it (the request was
    // in QEMU's socket buffer): let the guest settle until its LVs stop changing.
    let mut last = lvs(lab, &vg).len();
    let mut stable = 0;
    wait_for("the guest's LVs to settle", cal.patience(40), || {
        std::thread::sleep(Duration::from_secs(3));
        let now = lvs(lab, &vg).len();
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
        stable >= 3
    });
    assert_converges(&s, &wd, &vg, &markers);
}

/// The first `Error:` block of terraform's output.
fn first_error(text: &str) -> String {
    text.find("Error:")
        .map(|i| text[i..].chars().take(700).collect())
        .unwrap_or_default()
}

/// A plan against `uri` (with a password): must fail within `bound`, name the redacted URI,
/// and never print the password. Returns the run and how long it took.
fn unreachable_plan(s: &Scenario, port: u16, bound: Duration, cal: &Calibration) -> (Run, Duration) {
    let uri = format!("qemu+tcp://root:pa55w0rd@127.0.0.1:{port}/system");
    let shown = format!("qemu+tcp://root:***@127.0.0.1:{port}/system");
    let wd = s.workdir_raw(&format!(
        "{}\nresource \"libvirt_lvm_volume\" \"v\" {{\n  pool     = \"somepool\"\n  name     = \"v\"\n  capacity = \"16MiB\"\n}}\n",
        provider_block(&format!("uri = \"{uri}\"\n  connect_timeout = \"5s\""))
    ));
    let t0 = Instant::now();
    let r = wd.tf_timeout(&["plan", "-input=false"], bound * 3);
    let took = t0.elapsed();
    eprintln!(
        "[faults] unreachable {uri_shown}: plan exited {:?} after {:.1} s",
        r.code,
        took.as_secs_f64(),
        uri_shown = shown
    );
    eprintln!("[faults] the diagnostic:\n{}", first_error(&r.text()));
    assert!(r.code.is_some(), "plan hung on an unreachable hypervisor:\n{r}");
    assert!(!r.ok(), "plan cannot succeed without a hypervisor:\n{r}");
    assert!(took < bound, "plan took {took:?} (bound {bound:?} from {cal})");
    r.expect_mentions(&[&shown]);
    assert!(
        !r.text().contains("pa55w0rd"),
        "the password leaked into the output:\n{r}"
    );
    (r, took)
}

#[test]
fn unreachable_hypervisor_at_plan_nothing_listening() {
    let Some(s) = Scenario::start("faults::unreachable_refused") else {
        return;
    };
    let cal = s.calibrate();
    // Bound, never listening: connections are refused at once, and the port stays ours.
    let refusing = RefusingPort::new().expect("bind a loopback port");
    // Nothing is promised beyond the refusal itself: the plan's own cost is the bound.
    unreachable_plan(&s, refusing.port, cal.limit(Duration::ZERO, 1, 0), &cal);
}

#[test]
fn unreachable_hypervisor_at_plan_never_answers() {
    let Some(s) = Scenario::start("faults::unreachable_silent") else {
        return;
    };
    let cal = s.calibrate();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("port").port();
    // Accepts connections and holds them open without a byte of reply.
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in listener.incoming().flatten() {
            held.push(c);
        }
    });
    // connect_timeout is 5 s; terraform and provider start-up and shutdown add their measured cost.
    let timeout = Duration::from_secs(5);
    let (r, took) = unreachable_plan(&s, port, cal.limit(timeout, 1, 0), &cal);
    // The lower side: the provider waited the whole connect_timeout before giving up (a provider
    // that gave up at once, or after a fixed second, would pass the upper bound alone). And the
    // error names the 5 s: on a loaded lab the upper bound grows past the 30 s default, so the
    // time alone could not tell a provider that ignored the setting.
    assert!(
        took >= timeout,
        "the plan gave up after {took:?}, before connect_timeout = {timeout:?}:\n{r}"
    );
    r.expect_mentions(&["did not finish within 5 s (connect_timeout)"]);
}

// ------------------------------------------------------------------------------------------------
// Pool creates that fail part-way: define → build → start → autostart.

/// A single-device pool config (overwrite as given).
fn pool_config(s: &Scenario, pool: &str, overwrite: bool) -> String {
    format!(
        "{}\nresource \"libvirt_lvm_pool\" \"p\" {{\n  name           = \"{pool}\"\n  source_devices = [\"{}\"]\n  \
         overwrite      = {overwrite}\n  on_destroy     = \"delete\"\n}}\n",
        s.provider_block(),
        s.lab().pv_devices[0]
    )
}

/// After a failed pool create: no pool defined, no volume group, no PV label, nothing in state.
#[track_caller]
fn assert_pool_cleaned(s: &Scenario, wd: &Workdir, pool: &str) {
    let lab = s.lab();
    assert!(
        !lab.pool_names().contains(&pool.to_string()),
        "pool {pool} is still defined after the failed create"
    );
    assert!(lab.vg(pool).is_none(), "volume group {pool} was left behind");
    let dev = &lab.pv_devices[0];
    assert!(
        !lab.pvs().iter().any(|p| &p.device == dev),
        "{dev} still carries a PV label: {:?}",
        lab.pvs()
    );
    assert!(
        wd.state_addresses().is_empty(),
        "the failed create left {:?} in the state",
        wd.state_addresses()
    );
    let plan = wd.expect_plan(2);
    plan.expect_mentions(&["libvirt_lvm_pool.p will be created"]);
}

/// The pool exists as configured, running with autostart, and the plan is empty.
#[track_caller]
fn assert_pool_converged(s: &Scenario, wd: &Workdir, pool: &str) {
    let lab = s.lab();
    let info = lab.pool_info(pool);
    assert_eq!(info.get("State").map(String::as_str), Some("running"), "{info:?}");
    assert_eq!(info.get("Autostart").map(String::as_str), Some("yes"), "{info:?}");
    assert!(lab.vg(pool).is_some(), "volume group {pool} missing");
    wd.expect_plan(0);
}

#[test]
fn pool_build_fails_nothing_left_and_device_untouched() {
    let Some(s) = Scenario::start("faults::pool_build_fails") else {
        return;
    };
    let lab = s.lab();
    let dev = lab.pv_devices[0].clone();
    let pool = s.name("pool");
    s.step("a filesystem on the device: the build (no overwrite) fails");
    lab.ssh_ok(&format!("mkfs.ext4 -q -F -L faultsfs {dev}"));
    let wd = s.workdir_raw(&pool_config(&s, &pool, false));
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["Cannot Build Volume Group", "Partial Pool Removed"]);
    assert_eq!(
        lab.ssh_ok(&format!("blkid -o value -s LABEL {dev}")).trim(),
        "faultsfs",
        "the filesystem on {dev} must be untouched by the failed build"
    );
    assert_pool_cleaned(&s, &wd, &pool);
    s.step("the filesystem may go: overwrite = true converges");
    wd.write_raw(&pool_config(&s, &pool, true));
    wd.apply();
    assert_pool_converged(&s, &wd, &pool);
}

/// Makes `vgchange -ay` (activation, what a pool start runs) fail in the guest; other vgchange
/// calls work. The undo puts the original back and checks it is LVM's own again.
fn failing_activation(lab: &Lab) -> Fault<'_> {
    Fault::guest(
        lab,
        "vgchange refuses activation",
        "set -e; test -L /usr/sbin/vgchange; mv /usr/sbin/vgchange /usr/sbin/vgchange.faults-orig; \
         cat > /usr/sbin/vgchange <<'EOF'\n#!/bin/sh\nfor a in \"$@\"; do case \"$a\" in -ay|-aly|-aay|--activate=y) \
         echo 'faults: activation refused (injected)' >&2; exit 5;; esac; done\nexec /usr/sbin/lvm vgchange \"$@\"\nEOF\n\
         chmod 755 /usr/sbin/vgchange",
        "if [ -L /usr/sbin/vgchange.faults-orig ]; then mv -f /usr/sbin/vgchange.faults-orig /usr/sbin/vgchange; fi; \
         test -L /usr/sbin/vgchange && test ! -e /usr/sbin/vgchange.faults-orig && /usr/sbin/vgchange --version >/dev/null",
    )
}

#[test]
fn pool_start_fails_after_build_volume_group_removed() {
    let Some(s) = Scenario::start("faults::pool_start_fails") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let wd = s.workdir_raw(&pool_config(&s, &pool, false));
    let fault = failing_activation(lab);
    s.step("activation fails: the pool start after the build fails");
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["Failed To Start Storage Pool", "Partial Pool Removed"]);
    assert_pool_cleaned(&s, &wd, &pool);
    fault.undo();
    s.step("fault removed: apply converges");
    wd.apply();
    assert_pool_converged(&s, &wd, &pool);
}

const AUTOSTART_DIR: &str = "/etc/libvirt/storage/autostart";

/// Makes libvirt unable to write autostart links (an immutable autostart directory). The undo
/// clears the flag and checks `lsattr` no longer shows it.
fn immutable_autostart(lab: &Lab) -> Fault<'_> {
    Fault::guest(
        lab,
        &format!("chattr +i {AUTOSTART_DIR}"),
        &format!("mkdir -p {AUTOSTART_DIR} && chattr +i {AUTOSTART_DIR}"),
        &format!("chattr -i {AUTOSTART_DIR} && ! lsattr -d {AUTOSTART_DIR} | cut -d' ' -f1 | grep -q i"),
    )
}

#[test]
fn pool_autostart_fails_after_start_everything_undone() {
    let Some(s) = Scenario::start("faults::pool_autostart_fails") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let wd = s.workdir_raw(&pool_config(&s, &pool, false));
    let fault = immutable_autostart(lab);
    s.step("autostart cannot be set: the last step fails");
    let r = wd.try_apply(&[]).expect_failure();
    r.expect_mentions(&["Autostart", "Partial Pool Removed"]);
    assert_pool_cleaned(&s, &wd, &pool);
    fault.undo();
    s.step("fault removed: apply converges");
    wd.apply();
    assert_pool_converged(&s, &wd, &pool);
}
