//! The lab hypervisor (`scripts/lab`): `ssh` into the guest, `lvs`/`vgs`/`pvs` parsed, `virsh` on
//! the host against `LIBVIRT_URI`, pool/volume/domain XML, a [`Snapshot`] of everything a refused
//! change must leave alone, libvirtd's [`Clients`], freezing the lab, cleaning up after scenarios.
//!
//! Parsing never falls back to a default: a line of `lvs` that does not parse, a size that is not
//! a number, fails the test with the text it could not parse (a 0 would make "free space" checks
//! pass vacuously and two unread values compare equal).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::fault::Fault;
use crate::{log, run_command, workspace_root, Run, PREFIX};

/// The lab hypervisor, as `scripts/lab up` describes it.
#[derive(Debug)]
pub struct Lab {
    /// `qemu+tcp://127.0.0.1:PORT/system`.
    pub uri: String,
    /// `qemu+libssh://root@127.0.0.1:SPORT/system?keyfile=...`.
    pub ssh_uri: String,
    /// The empty PV disks, `/dev/vdb` and `/dev/vdc`.
    pub pv_devices: Vec<String>,
    /// Debian suite of the guest.
    pub suite: String,
    /// Every KEY=VALUE line `scripts/lab up` printed.
    pub env: BTreeMap<String, String>,
    /// Why the lab may not be used any more (a fault that could not be undone, a cleanup that
    /// left something behind); `None` while it is usable.
    unusable: Mutex<Option<String>>,
    /// Whether [`Lab::mark_unusable`] stops the lab (not for the harness's own unit tests, which
    /// must never touch a lab a developer has running).
    stop_when_unusable: bool,
}

/// One logical volume, from `lvs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lv {
    /// Volume group.
    pub vg: String,
    /// LV name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// `lv_attr`, such as `-wi-a-----`.
    pub attr: String,
    /// LV UUID (libvirt's volume key).
    pub uuid: String,
}

/// One volume group, from `vgs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vg {
    /// Name.
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Free bytes.
    pub free: u64,
    /// Number of LVs.
    pub lv_count: u32,
}

/// One physical volume, from `pvs`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pv {
    /// Device, such as `/dev/vdb`.
    pub device: String,
    /// Volume group, empty for an orphan PV.
    pub vg: String,
}

/// Parses `KEY=VALUE` lines (values optionally single- or double-quoted, as `scripts/lab` prints).
pub fn parse_env_lines(text: &str) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    for line in text.lines() {
        let Some((k, v)) = line.trim().split_once('=') else {
            continue;
        };
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        let v = v.trim();
        let v = v
            .strip_prefix('\'')
            .and_then(|v| v.strip_suffix('\''))
            .or_else(|| v.strip_prefix('"').and_then(|v| v.strip_suffix('"')))
            .unwrap_or(v);
        m.insert(k.to_string(), v.to_string());
    }
    m
}

fn lab_script() -> PathBuf {
    workspace_root().join("scripts/lab")
}

/// The lab suite to use (`LAB_SUITE`, default bookworm).
pub fn lab_suite() -> String {
    std::env::var("LAB_SUITE")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "bookworm".into())
}

/// The lab's run directory (`LAB_RUN_DIR`, as `scripts/lab` reads it).
pub fn lab_run_dir() -> PathBuf {
    PathBuf::from(
        std::env::var("LAB_RUN_DIR")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/run/terraform-provider-libvirt-lab".into()),
    )
}

// ------------------------------------------------------------------------------------------------
// Parsing what the guest prints

/// The comma-separated fields of each non-empty line.
fn rows(out: &str) -> impl Iterator<Item = (&str, Vec<String>)> + '_ {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| (l, l.split(',').map(|f| f.trim().to_string()).collect()))
}

/// `field` of `line` as a number, or an error quoting the line.
fn number<T: std::str::FromStr>(line: &str, what: &str, field: &str) -> Result<T, String> {
    field
        .parse()
        .map_err(|_| format!("{what} {field:?} is not a whole number, in line {line:?}"))
}

/// Exactly `n` fields, or an error quoting the line.
fn fields<'a>(line: &str, f: &'a [String], n: usize, command: &str) -> Result<&'a [String], String> {
    if f.len() == n {
        Ok(f)
    } else {
        Err(format!(
            "`{command}` line {line:?} has {} fields, expected {n}",
            f.len()
        ))
    }
}

/// `lvs --noheadings --units b --nosuffix -o vg_name,lv_name,lv_size,lv_attr,lv_uuid --separator ,`.
pub fn parse_lvs(out: &str) -> Result<Vec<Lv>, String> {
    rows(out)
        .map(|(line, f)| {
            let f = fields(line, &f, 5, "lvs")?;
            Ok(Lv {
                vg: f[0].clone(),
                name: f[1].clone(),
                size: number(line, "LV size", &f[2])?,
                attr: f[3].clone(),
                uuid: f[4].clone(),
            })
        })
        .collect()
}

/// `vgs --noheadings --units b --nosuffix -o vg_name,vg_size,vg_free,lv_count --separator ,`.
pub fn parse_vgs(out: &str) -> Result<Vec<Vg>, String> {
    rows(out)
        .map(|(line, f)| {
            let f = fields(line, &f, 4, "vgs")?;
            Ok(Vg {
                name: f[0].clone(),
                size: number(line, "VG size", &f[1])?,
                free: number(line, "VG free", &f[2])?,
                lv_count: number(line, "LV count", &f[3])?,
            })
        })
        .collect()
}

/// `pvs --noheadings -o pv_name,vg_name --separator ,` (an orphan PV has an empty VG field).
pub fn parse_pvs(out: &str) -> Result<Vec<Pv>, String> {
    rows(out)
        .map(|(line, f)| {
            let f = fields(line, &f, 2, "pvs")?;
            Ok(Pv {
                device: f[0].clone(),
                vg: f[1].clone(),
            })
        })
        .collect()
}

fn names(out: &str) -> Vec<String> {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

fn colon_table(out: &str) -> BTreeMap<String, String> {
    out.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

// ------------------------------------------------------------------------------------------------
// The lab

impl Lab {
    /// Brings the lab up (`scripts/lab up`: idempotent, fast when it already runs) and reads its
    /// environment lines.
    fn start() -> Result<Lab, String> {
        let suite = lab_suite();
        let t0 = Instant::now();
        let mut cmd = Command::new(lab_script());
        cmd.arg("up").env("LAB_SUITE", &suite);
        let run = run_command(cmd, Duration::from_secs(1200));
        if !run.ok() {
            return Err(format!("`scripts/lab up` (suite {suite}) failed:\n{run}"));
        }
        let env = parse_env_lines(&run.stdout);
        let get = |k: &str| {
            env.get(k)
                .cloned()
                .ok_or_else(|| format!("`scripts/lab up` printed no {k}:\n{run}"))
        };
        let lab = Lab {
            uri: get("LIBVIRT_URI")?,
            ssh_uri: get("LIBVIRT_SSH_URI")?,
            pv_devices: get("LAB_PV_DEVICES")?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            suite: env.get("LAB_SUITE").cloned().unwrap_or(suite),
            env,
            unusable: Mutex::new(None),
            stop_when_unusable: true,
        };
        if lab.pv_devices.len() < 2 {
            return Err(format!(
                "the lab has fewer than two PV devices: {:?}",
                lab.pv_devices
            ));
        }
        log(format!(
            "lab {} up ({:.1} s): {} PVs {}",
            lab.suite,
            t0.elapsed().as_secs_f64(),
            lab.uri,
            lab.pv_devices.join(" ")
        ));
        Ok(lab)
    }

    /// Why the lab may not be used any more, if so.
    pub fn unusable(&self) -> Option<String> {
        self.unusable.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Marks the lab unusable for the rest of this process (later scenarios fail at once, saying
    /// why) and stops it (`scripts/lab down`), so that the next test process boots a clean one
    /// instead of inheriting a broken guest.
    pub fn mark_unusable(&self, why: &str) {
        {
            let mut u = self.unusable.lock().unwrap_or_else(|p| p.into_inner());
            if u.is_some() {
                return;
            }
            *u = Some(why.to_string());
        }
        eprintln!(
            "\n!!!!!!!! THE LAB IS UNUSABLE: {why}\n!!!!!!!! stopping it: later scenarios in this process fail, \
             the next process boots a clean lab\n"
        );
        if !self.stop_when_unusable {
            return;
        }
        let mut c = Command::new(lab_script());
        c.arg("down").env("LAB_SUITE", &self.suite);
        let r = run_command(c, Duration::from_secs(120));
        if !r.ok() {
            log(format!("stopping the unusable lab failed:\n{r}"));
        }
    }

    /// Runs `cmd` as root in the guest (via its shell); returns the exit code (-1 when killed) and stdout.
    pub fn ssh(&self, cmd: &str) -> (i32, String) {
        let run = self.ssh_run(cmd);
        (run.code.unwrap_or(-1), run.stdout)
    }

    /// Like [`Lab::ssh`], with the whole [`Run`] (stderr included).
    pub fn ssh_run(&self, cmd: &str) -> Run {
        let mut c = Command::new(lab_script());
        c.args(["ssh", "--", cmd]).env("LAB_SUITE", &self.suite);
        run_command(c, Duration::from_secs(300))
    }

    /// Runs `cmd` in the guest, panics unless it succeeds, returns stdout.
    #[track_caller]
    pub fn ssh_ok(&self, cmd: &str) -> String {
        self.ssh_run(cmd).expect_ok().stdout
    }

    /// A shell command line that runs `cmd` in this lab's guest, for configurations that run it
    /// themselves (a `local-exec` provisioner): `scripts/lab ssh` with this lab's suite and run
    /// directory.
    pub fn ssh_command_line(&self, cmd: &str) -> String {
        let q = |s: &str| format!("'{}'", s.replace('\'', r"'\''"));
        format!(
            "LAB_SUITE={} LAB_RUN_DIR={} {} ssh -- {}",
            q(&self.suite),
            q(&lab_run_dir().to_string_lossy()),
            q(&lab_script().to_string_lossy()),
            q(cmd)
        )
    }

    /// `virsh -c LIBVIRT_URI ARGS...` on the host.
    pub fn virsh(&self, args: &[&str]) -> Run {
        let mut c = Command::new("virsh");
        c.arg("-q").arg("-c").arg(&self.uri).args(args);
        run_command(c, Duration::from_secs(300))
    }

    /// `virsh`, panicking unless it succeeds; returns stdout.
    #[track_caller]
    pub fn virsh_ok(&self, args: &[&str]) -> String {
        self.virsh(args).expect_ok().stdout
    }

    /// All logical volumes.
    #[track_caller]
    pub fn lvs(&self) -> Vec<Lv> {
        let out = self.ssh_ok(
            "lvs --noheadings --units b --nosuffix -o vg_name,lv_name,lv_size,lv_attr,lv_uuid --separator ,",
        );
        parse_lvs(&out).unwrap_or_else(|e| panic!("{e}\n(lvs printed:\n{out})"))
    }

    /// The logical volumes of `vg`.
    #[track_caller]
    pub fn lvs_in(&self, vg: &str) -> Vec<Lv> {
        self.lvs().into_iter().filter(|l| l.vg == vg).collect()
    }

    /// One LV, if it exists.
    #[track_caller]
    pub fn lv(&self, vg: &str, name: &str) -> Option<Lv> {
        self.lvs().into_iter().find(|l| l.vg == vg && l.name == name)
    }

    /// All volume groups.
    #[track_caller]
    pub fn vgs(&self) -> Vec<Vg> {
        let out = self.ssh_ok(
            "vgs --noheadings --units b --nosuffix -o vg_name,vg_size,vg_free,lv_count --separator ,",
        );
        parse_vgs(&out).unwrap_or_else(|e| panic!("{e}\n(vgs printed:\n{out})"))
    }

    /// One VG, if it exists.
    #[track_caller]
    pub fn vg(&self, name: &str) -> Option<Vg> {
        self.vgs().into_iter().find(|v| v.name == name)
    }

    /// All physical volumes.
    #[track_caller]
    pub fn pvs(&self) -> Vec<Pv> {
        let out = self.ssh_ok("pvs --noheadings -o pv_name,vg_name --separator ,");
        parse_pvs(&out).unwrap_or_else(|e| panic!("{e}\n(pvs printed:\n{out})"))
    }

    /// Names of all storage pools, active or not (`virsh pool-list --all --name`).
    pub fn pool_names(&self) -> Vec<String> {
        names(&self.virsh_ok(&["pool-list", "--all", "--name"]))
    }

    /// Names of all domains (`virsh list --all --name`).
    pub fn domain_names(&self) -> Vec<String> {
        names(&self.virsh_ok(&["list", "--all", "--name"]))
    }

    /// The pool's XML, or None when it is not defined.
    pub fn pool_xml(&self, name: &str) -> Option<String> {
        let r = self.virsh(&["pool-dumpxml", name]);
        r.ok().then_some(r.stdout)
    }

    /// `virsh pool-info` as key → value (`State` → `running`, `Autostart` → `yes`, …).
    pub fn pool_info(&self, name: &str) -> BTreeMap<String, String> {
        colon_table(&self.virsh_ok(&["pool-info", name]))
    }

    /// The volume's XML, or None.
    pub fn vol_xml(&self, pool: &str, name: &str) -> Option<String> {
        let r = self.virsh(&["vol-dumpxml", "--pool", pool, name]);
        r.ok().then_some(r.stdout)
    }

    /// The domain's live XML (`inactive = false`) or saved definition (`inactive = true`).
    #[track_caller]
    pub fn domain_xml(&self, name: &str, inactive: bool) -> String {
        let mut args = vec!["dumpxml", name];
        if inactive {
            args.push("--inactive");
        }
        self.virsh_ok(&args)
    }

    /// Everything a refused change must leave alone, read in one guest round trip: VGs, PVs and
    /// LVs (with UUIDs), every pool's state, autostart, saved definition and volumes, every
    /// domain's state, autostart, saved definition and live XML.
    #[track_caller]
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::parse(&self.ssh_ok(SNAPSHOT_SCRIPT))
    }

    /// The value of a line `scripts/lab up` printed (`LAB_SSH_PORT`, `LIBVIRT_TLS_URI` …).
    #[track_caller]
    pub fn env_var(&self, key: &str) -> String {
        self.env
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("`scripts/lab up` printed no {key}"))
    }

    /// The clients connected to the guest's libvirtd right now (`virt-admin client-list` and
    /// `client-info`, through libvirtd-admin.socket), with the process behind each Unix-socket
    /// client.
    #[track_caller]
    pub fn clients(&self) -> Clients {
        let out = self.ssh_ok(CLIENTS_SCRIPT);
        Clients::parse(&out).unwrap_or_else(|e| panic!("{e}\n(virt-admin printed:\n{out})"))
    }

    /// Wraps the guest's `lvcreate` so that every call also records libvirtd's clients at that
    /// moment: the client whose vol-create runs it is connected then, so the records say which
    /// transport each volume was created through. Undone (and checked) by the returned guard.
    #[track_caller]
    pub fn record_clients_at_lvcreate(&self) -> ClientRecorder<'_> {
        let fault = Fault::guest(
            self,
            "lvcreate records libvirtd's clients",
            &format!(
                "set -e; rm -rf {RECORDS}; mkdir -p {RECORDS}; cat > {RECORDS}.sh <<'SCRIPT'\n{CLIENTS_SCRIPT}SCRIPT\n\
                 test -L /usr/sbin/lvcreate; mv /usr/sbin/lvcreate /usr/sbin/lvcreate.acc-orig; \
                 cat > /usr/sbin/lvcreate <<'EOF'\n#!/bin/sh\n/usr/sbin/lvm lvcreate \"$@\"\nrc=$?\n\
                 echo \"$*\" > {RECORDS}/$$.args\nsh {RECORDS}.sh > {RECORDS}/$$.clients 2>&1\nexit $rc\nEOF\n\
                 chmod 755 /usr/sbin/lvcreate"
            ),
            &format!(
                "if [ -L /usr/sbin/lvcreate.acc-orig ]; then mv -f /usr/sbin/lvcreate.acc-orig /usr/sbin/lvcreate; fi; \
                 rm -rf {RECORDS} {RECORDS}.sh; \
                 test -L /usr/sbin/lvcreate && test ! -e /usr/sbin/lvcreate.acc-orig && /usr/sbin/lvcreate --version >/dev/null"
            ),
        );
        ClientRecorder { lab: self, fault }
    }

    /// PID of the lab's QEMU: from the pid file in the lab's run directory (`LAB_RUN_DIR`), and
    /// only if `/proc/PID/cmdline` carries the lab's `-name terraform-provider-libvirt-lab-SUITE`.
    pub fn qemu_pid(&self) -> Result<u32, String> {
        let file = lab_run_dir().join(&self.suite).join("qemu.pid");
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        let pid: u32 = text
            .trim()
            .parse()
            .map_err(|_| format!("{} holds no pid: {text:?}", file.display()))?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map_err(|e| format!("pid {pid} from {}: {e}", file.display()))?;
        let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
        let name = format!("terraform-provider-libvirt-lab-{}", self.suite);
        if args
            .windows(2)
            .any(|w| w[0] == b"-name" && w[1] == name.as_bytes())
        {
            Ok(pid)
        } else {
            Err(format!(
                "pid {pid} from {} is not the lab's QEMU (no -name {name})",
                file.display()
            ))
        }
    }

    /// Freezes the whole lab (SIGSTOP to its QEMU): the hypervisor stops answering, as a host
    /// that hangs or whose network is cut. It runs again when the guard is dropped or
    /// [`Paused::resume`]d (SIGCONT, checked: a lab that stays stopped is marked unusable and the
    /// test fails).
    #[track_caller]
    pub fn pause(&self) -> Paused<'_> {
        let pid = self
            .qemu_pid()
            .unwrap_or_else(|e| panic!("cannot pause the lab: {e}"));
        let fault = Fault::inject(
            self,
            &format!("lab frozen (SIGSTOP to QEMU pid {pid})"),
            |_| signal(pid, "-STOP"),
            move |_| {
                signal(pid, "-CONT")?;
                // The kernel acts on SIGCONT before kill(1) returns; the state says whether it did.
                match process_state(pid)? {
                    'T' | 't' => Err(format!("QEMU pid {pid} is still stopped after SIGCONT")),
                    _ => Ok(()),
                }
            },
        );
        Paused { fault }
    }

    /// Removes, directly, whatever a scenario with names starting with `prefix` may have left:
    /// fixture domains, pools, volume groups; then clears every LVM label and signature from the
    /// lab's PV disks (they are the suite's scratch disks). Then checks that nothing is left: a
    /// cleanup that could not clean (a domain that would not undefine, a PV disk still labelled)
    /// would break every later scenario on this lab, so it returns an error saying what is left.
    pub fn cleanup(&self, prefix: &str) -> Result<(), String> {
        let t0 = Instant::now();
        let mut did = Vec::new();
        for d in names(&self.virsh(&["list", "--all", "--name"]).stdout) {
            if d.starts_with(prefix) {
                // Not running is fine: destroy's failure shows in the check below if it matters.
                let _ = self.virsh(&["destroy", &d]);
                let r = self.virsh(&["undefine", &d]);
                did.push(format!(
                    "domain {d} ({})",
                    if r.ok() { "undefined" } else { "undefine failed" }
                ));
            }
        }
        for p in names(&self.virsh(&["pool-list", "--all", "--name"]).stdout) {
            if p.starts_with(prefix) {
                let _ = self.virsh(&["pool-destroy", &p]);
                let r = self.virsh(&["pool-undefine", &p]);
                did.push(format!(
                    "pool {p} ({})",
                    if r.ok() { "undefined" } else { "undefine failed" }
                ));
            }
        }
        let devs = self.pv_devices.join(" ");
        let script = format!(
            r#"set +e
for vg in $(vgs --noheadings -o vg_name 2>/dev/null); do
  case "$vg" in {prefix}*) vgremove -f "$vg" >/dev/null 2>&1 && echo "vg $vg removed";; esac
done
for pv in {devs}; do
  vg=$(pvs --noheadings -o vg_name "$pv" 2>/dev/null | tr -d ' ')
  if [ -n "$vg" ]; then vgremove -f "$vg" >/dev/null 2>&1 && echo "vg $vg (on $pv) removed"; fi
done
for pv in {devs}; do
  if pvs "$pv" >/dev/null 2>&1; then pvremove -ff -y "$pv" >/dev/null 2>&1 && echo "pv label on $pv removed"; fi
  if [ -n "$(wipefs -n "$pv" 2>/dev/null)" ]; then wipefs -q -a "$pv" && echo "signatures on $pv wiped"; fi
done
true"#
        );
        let r = self.ssh_run(&script);
        did.extend(r.stdout.lines().map(str::to_string));
        if !r.ok() {
            did.push(format!("guest cleanup failed: {r}"));
        }
        if !did.is_empty() {
            log(format!(
                "cleanup {prefix}* ({:.1} s): {}",
                t0.elapsed().as_secs_f64(),
                did.join("; ")
            ));
        }
        self.leftovers(prefix)
    }

    /// Ok when nothing named `prefix…` is defined and the PV disks carry no label or signature.
    fn leftovers(&self, prefix: &str) -> Result<(), String> {
        let mut left = Vec::new();
        for (what, args) in [
            ("domain", &["list", "--all", "--name"][..]),
            ("pool", &["pool-list", "--all", "--name"][..]),
        ] {
            let r = self.virsh(args);
            if !r.ok() {
                return Err(format!("cannot list what is left:\n{r}"));
            }
            left.extend(
                names(&r.stdout)
                    .into_iter()
                    .filter(|n| n.starts_with(prefix))
                    .map(|n| format!("{what} {n}")),
            );
        }
        let devs = self.pv_devices.join(" ");
        let r = self.ssh_run(&format!(
            "for pv in {devs}; do s=$(wipefs -n \"$pv\" 2>&1 | tail -n +2); [ -z \"$s\" ] || echo \"$pv: $s\"; done; \
             vgs --noheadings -o vg_name 2>/dev/null | tr -d ' ' | grep '^{prefix}' | sed 's/^/vg /'; true"
        ));
        if !r.ok() {
            return Err(format!("cannot check the PV disks:\n{r}"));
        }
        left.extend(
            r.stdout
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string),
        );
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("cleanup of {prefix}* left: {}", left.join("; ")))
        }
    }
}

/// `kill SIGNAL PID` (our lab's QEMU, found through its pid file and checked by its cmdline).
fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let mut c = Command::new("kill");
    c.args([sig, &pid.to_string()]);
    let r = run_command(c, Duration::from_secs(10));
    if r.ok() {
        Ok(())
    } else {
        Err(format!("kill {sig} {pid} failed:\n{r}"))
    }
}

/// The state letter of a process (`R`, `S`, `T` …) from `/proc/PID/stat`.
fn process_state(pid: u32) -> Result<char, String> {
    let stat =
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_err(|e| format!("/proc/{pid}/stat: {e}"))?;
    // The command name may hold spaces and parentheses; the state follows its last ')'.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
        .ok_or_else(|| format!("cannot read the state from /proc/{pid}/stat: {stat:?}"))
}

#[cfg(test)]
impl Lab {
    /// A lab description that reaches nothing, for unit tests; marking it unusable stops nothing.
    pub(crate) fn for_tests() -> Lab {
        Lab {
            uri: "test:///default".into(),
            ssh_uri: String::new(),
            pv_devices: vec!["/dev/vdb".into(), "/dev/vdc".into()],
            suite: "bookworm".into(),
            env: BTreeMap::new(),
            unusable: Mutex::new(None),
            stop_when_unusable: false,
        }
    }
}

/// The lab frozen by [`Lab::pause`]; resumed when dropped.
pub struct Paused<'l> {
    fault: Fault<'l>,
}

impl Paused<'_> {
    /// Lets the lab run again (SIGCONT); panics (and marks the lab unusable) if it does not.
    #[track_caller]
    pub fn resume(self) {
        self.fault.undo();
    }
}

/// The lab, started once per process; sweeps leftovers of earlier runs the first time.
pub(crate) fn lab() -> Result<&'static Lab, &'static str> {
    static LAB: OnceLock<Result<Lab, String>> = OnceLock::new();
    LAB.get_or_init(|| {
        let lab = Lab::start()?;
        lab.cleanup(PREFIX)
            .map_err(|e| format!("the lab holds leftovers of an earlier run that cannot be removed: {e}"))?;
        Ok(lab)
    })
    .as_ref()
    .map_err(String::as_str)
}

// ------------------------------------------------------------------------------------------------
// Snapshot

/// Prints `== SECTION` headers, each followed by its content; run by the guest's shell with
/// virsh on the guest's own libvirtd, all pool and domain reads in one virsh process (one ssh
/// round trip and three virsh starts, instead of dozens: each costs a second on a loaded TCG lab).
/// The `state` sections keep only the lines that describe state (not CPU time or memory use).
/// virsh's `echo` ends its line only without `-q`, so the big call runs without it.
const SNAPSHOT_SCRIPT: &str = r#"set -e
echo "== vgs"; vgs --noheadings --units b --nosuffix -o vg_name,vg_uuid,vg_size,vg_free,lv_count,pv_count,vg_attr --separator ,
echo "== pvs"; pvs --noheadings --units b --nosuffix -o pv_name,vg_name,pv_uuid,pv_size,pv_attr --separator ,
echo "== lvs"; lvs --noheadings --units b --nosuffix -o vg_name,lv_name,lv_uuid,lv_size,lv_attr --separator ,
c=""
for p in $(virsh -q -c qemu:///system pool-list --all --name); do
  c="$c echo '== pool $p state'; pool-info '$p'; echo '== pool $p definition'; pool-dumpxml --inactive '$p';"
  c="$c echo '== pool $p volumes'; vol-list '$p';"
done
for d in $(virsh -q -c qemu:///system list --all --name); do
  c="$c echo '== domain $d state'; dominfo '$d'; echo '== domain $d definition'; dumpxml --inactive '$d';"
  c="$c echo '== domain $d live'; dumpxml '$d';"
done
[ -z "$c" ] || virsh -c qemu:///system "$c" 2>/dev/null | awk '
  /^== / { section = $0; print; next }
  section ~ / state$/ && !/^(Id|State|Persistent|Autostart|Capacity|Allocation|Available):/ { next }
  { print }'
"#;

/// What the hypervisor holds, section by section (`vgs`, `pool NAME state`, `domain NAME live`…).
#[derive(Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Section name → its lines.
    pub sections: BTreeMap<String, String>,
}

impl Snapshot {
    /// Reads the output of [`SNAPSHOT_SCRIPT`].
    pub fn parse(out: &str) -> Snapshot {
        let mut sections = BTreeMap::new();
        let mut current: Option<(String, String)> = None;
        for line in out.lines() {
            if let Some(name) = line.strip_prefix("== ") {
                if let Some((n, body)) = current.take() {
                    sections.insert(n, body);
                }
                current = Some((name.trim().to_string(), String::new()));
            } else if let Some((_, body)) = current.as_mut() {
                body.push_str(line.trim_end());
                body.push('\n');
            }
        }
        if let Some((n, body)) = current {
            sections.insert(n, body);
        }
        Snapshot { sections }
    }

    /// The sections that differ from `other`: added, removed or changed, with both versions.
    pub fn diff(&self, other: &Snapshot) -> Vec<String> {
        let mut out = Vec::new();
        for (name, body) in &self.sections {
            match other.sections.get(name) {
                None => out.push(format!("{name}: gone (was:\n{body})")),
                Some(b) if b != body => {
                    out.push(format!("{name}: changed\n--- before\n{body}--- after\n{b}"))
                }
                Some(_) => {}
            }
        }
        for (name, body) in &other.sections {
            if !self.sections.contains_key(name) {
                out.push(format!("{name}: new\n{body}"));
            }
        }
        out
    }

    /// Panics, showing only what changed, unless `now` equals this snapshot.
    #[track_caller]
    pub fn assert_unchanged(&self, now: &Snapshot, what: &str) {
        let diff = self.diff(now);
        assert!(
            diff.is_empty(),
            "{what}: the hypervisor changed:\n{}",
            diff.join("\n")
        );
    }
}

impl fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, body) in &self.sections {
            write!(f, "== {name}\n{body}")?;
        }
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------------
// libvirtd's clients

/// For each client of the `libvirtd` server: `client ID TRANSPORT`, then its `client-info` lines,
/// and for a Unix-socket client the command line of the peer process and of each of its
/// ancestors (an ssh transport ends in `virt-ssh-helper` or `nc`, started by a shell of an sshd
/// session, which connects to the local socket).
const CLIENTS_SCRIPT: &str = r#"set -e
a() { virt-admin -q -c libvirtd:///system "$@"; }
a client-list libvirtd | while read -r id transport rest; do
  [ -n "$id" ] || continue
  info=$(a client-info libvirtd "$id" 2>/dev/null) || continue   # gone since the list
  echo "client $id $transport"
  echo "$info" | sed 's/^/  /'
  pid=$(echo "$info" | sed -n 's/^unix_process_id *: *//p')
  if [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ]; then
    echo "  process: $(tr '\0' ' ' < /proc/$pid/cmdline)"
    p=$(awk '{print $4}' /proc/$pid/stat 2>/dev/null || echo 1)
    while [ -n "$p" ] && [ "$p" -gt 1 ]; do
      echo "  ancestor: $(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null || echo gone)"
      p=$(awk '{print $4}' /proc/$p/stat 2>/dev/null || echo 1)
    done
  fi
done
"#;

/// Where [`Lab::record_clients_at_lvcreate`] keeps its records in the guest.
const RECORDS: &str = "/run/acc-lvcreate-clients";

/// The `lvcreate` wrapper of [`Lab::record_clients_at_lvcreate`]; undone when dropped.
pub struct ClientRecorder<'l> {
    lab: &'l Lab,
    fault: Fault<'l>,
}

impl ClientRecorder<'_> {
    /// Each `lvcreate` call so far: its arguments and libvirtd's clients while it ran.
    #[track_caller]
    pub fn records(&self) -> Vec<(String, Clients)> {
        let out = self.lab.ssh_ok(&format!(
            "for f in {RECORDS}/*.args; do [ -e \"$f\" ] || continue; echo \"== $(cat \"$f\")\"; cat \"${{f%.args}}.clients\"; done"
        ));
        let mut records = Vec::new();
        for block in out.split("== ").filter(|b| !b.trim().is_empty()) {
            let (args, clients) = block.split_once('\n').unwrap_or((block, ""));
            let parsed = Clients::parse(clients)
                .unwrap_or_else(|e| panic!("clients recorded at `lvcreate {args}`: {e}\n{clients}"));
            records.push((args.trim().to_string(), parsed));
        }
        records
    }

    /// Puts the original `lvcreate` back (checked; see [`Fault::undo`]).
    #[track_caller]
    pub fn undo(self) {
        self.fault.undo();
    }
}

/// One client of libvirtd.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// libvirtd's id of the client.
    pub id: u64,
    /// `tcp`, `unix`, `tls`.
    pub transport: String,
    /// `client-info`'s fields (`sock_addr`, `unix_process_id`, `readonly` …).
    pub info: BTreeMap<String, String>,
    /// For a Unix-socket client: the command line of the connecting process.
    pub process: Option<String>,
    /// Its ancestors' command lines, parent first.
    pub ancestors: Vec<String>,
}

impl Client {
    /// A client that came through ssh: a Unix-socket client whose peer is libvirt's ssh helper
    /// (`virt-ssh-helper`, or `nc` on older daemons) started within an sshd session.
    pub fn through_ssh(&self) -> bool {
        self.transport == "unix"
            && self
                .process
                .as_deref()
                .is_some_and(|p| p.contains("virt-ssh-helper") || p.starts_with("nc "))
            && self.ancestors.iter().any(|a| a.starts_with("sshd"))
    }
}

/// libvirtd's clients at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clients(pub Vec<Client>);

impl Clients {
    /// Reads the output of [`CLIENTS_SCRIPT`].
    pub fn parse(out: &str) -> Result<Clients, String> {
        let mut clients: Vec<Client> = Vec::new();
        for line in out.lines().filter(|l| !l.trim().is_empty()) {
            if let Some(rest) = line.strip_prefix("client ") {
                let f: Vec<&str> = rest.split_whitespace().collect();
                let [id, transport] = f.as_slice() else {
                    return Err(format!("client line {line:?} is not \"client ID TRANSPORT\""));
                };
                clients.push(Client {
                    id: number(line, "client id", id)?,
                    transport: transport.to_string(),
                    info: BTreeMap::new(),
                    process: None,
                    ancestors: Vec::new(),
                });
                continue;
            }
            let c = clients
                .last_mut()
                .ok_or_else(|| format!("line {line:?} before any client"))?;
            let l = line.trim();
            if let Some(p) = l.strip_prefix("process: ") {
                c.process = Some(p.trim().to_string());
            } else if let Some(p) = l.strip_prefix("ancestor: ") {
                c.ancestors.push(p.trim().to_string());
            } else if let Some((k, v)) = l.split_once(':') {
                c.info.insert(k.trim().to_string(), v.trim().to_string());
            } else {
                return Err(format!("client-info line {line:?} is not \"key : value\""));
            }
        }
        Ok(Clients(clients))
    }

    /// The distinct ways clients reached the daemon: `tcp`, `tls`, `ssh` (a Unix-socket client
    /// started within an sshd session), `unix` (a local one).
    pub fn transports(&self) -> std::collections::BTreeSet<String> {
        self.0
            .iter()
            .map(|c| {
                if c.through_ssh() {
                    "ssh".to_string()
                } else {
                    c.transport.clone()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_lines() {
        let m = parse_env_lines(
            "LIBVIRT_URI=qemu+tcp://127.0.0.1:1/system\nLIBVIRT_SSH_URI='qemu+libssh://r@h:2/system?a=b&c=d'\n\
             LAB_PV_DEVICES=\"/dev/vdb /dev/vdc\"\nnoise line\n",
        );
        assert_eq!(m["LIBVIRT_URI"], "qemu+tcp://127.0.0.1:1/system");
        assert_eq!(m["LIBVIRT_SSH_URI"], "qemu+libssh://r@h:2/system?a=b&c=d");
        assert_eq!(m["LAB_PV_DEVICES"], "/dev/vdb /dev/vdc");
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn lvm_reports_parse_exactly() {
        let lvs = parse_lvs("  vg1,data,16777216,-wi-a-----,abc-123\n\n  vg1,s,8388608,swi-a-s---,def\n")
            .expect("lvs");
        assert_eq!(lvs.len(), 2);
        assert_eq!(
            lvs[0],
            Lv {
                vg: "vg1".into(),
                name: "data".into(),
                size: 16 << 20,
                attr: "-wi-a-----".into(),
                uuid: "abc-123".into()
            }
        );
        let vgs = parse_vgs("  vg1,1069547520,1052770304,1\n").expect("vgs");
        assert_eq!(
            (vgs[0].size, vgs[0].free, vgs[0].lv_count),
            (1069547520, 1052770304, 1)
        );
        let pvs = parse_pvs("  /dev/vdb,vg1\n  /dev/vdc,\n").expect("pvs");
        assert_eq!(
            pvs[1],
            Pv {
                device: "/dev/vdc".into(),
                vg: String::new()
            }
        );
        assert_eq!(parse_lvs("").expect("none"), Vec::new());
    }

    /// No zero fallbacks: every unparseable figure is an error that quotes the line.
    #[test]
    fn lvm_reports_that_do_not_parse_are_errors_quoting_the_text() {
        for (bad, e) in [
            (parse_vgs("  vg1,1.5g,0,1").map(|_| ()), "\"1.5g\""),
            (parse_vgs("  vg1,100,,1").map(|_| ()), "VG free \"\""),
            (parse_vgs("  vg1,100,5").map(|_| ()), "has 3 fields, expected 4"),
            (
                parse_lvs("  vg1,data,<16.00m,-wi-a-----,u").map(|_| ()),
                "\"<16.00m\"",
            ),
            (
                parse_lvs("  WARNING: something odd").map(|_| ()),
                "WARNING: something odd",
            ),
            (parse_pvs("  /dev/vdb").map(|_| ()), "\"/dev/vdb\""),
        ] {
            let msg = bad.expect_err(e);
            assert!(msg.contains(e), "{msg:?} does not contain {e:?}");
        }
    }

    #[test]
    fn snapshots_compare_by_section() {
        let a = Snapshot::parse("== vgs\n  vg1,u,1\n== pool p state\nState: running\nAutostart: yes\n");
        assert_eq!(a.sections.len(), 2);
        assert_eq!(a.sections["pool p state"], "State: running\nAutostart: yes\n");
        assert!(a.diff(&a.clone()).is_empty());
        let b = Snapshot::parse(
            "== vgs\n  vg1,u,1\n== pool p state\nState: running\nAutostart: no\n== domain d live\n<x/>\n",
        );
        let d = a.diff(&b);
        assert_eq!(d.len(), 2, "{d:?}");
        assert!(
            d[0].starts_with("pool p state: changed") && d[0].contains("Autostart: no"),
            "{d:?}"
        );
        assert!(d[1].starts_with("domain d live: new"), "{d:?}");
        assert!(b.diff(&a).iter().any(|l| l.starts_with("domain d live: gone")));
        assert!(std::panic::catch_unwind(|| a.assert_unchanged(&b, "x")).is_err());
    }

    #[test]
    fn clients_and_their_transports() {
        // As the lab's libvirt 9.0 prints them.
        let out = "client 7 tcp\n  id             : 7\n  connection_time: 2026-12-02 21:06:28+0000\n\
                   \x20 transport      : tcp\n  readonly       : no\n  sock_addr      : [::ffff:10.0.2.2]:38770\n\
                   client 8 unix\n  id : 8\n  unix_user_id : 0\n  unix_process_id: 354\n\
                   \x20 process: virt-ssh-helper qemu:///system \n  ancestor: sh -c if virt-ssh-helper -V ... \n\
                   \x20 ancestor: sshd: root@notty \n  ancestor: sshd: /usr/sbin/sshd -D [listener]\n\
                   client 9 unix\n  unix_process_id : 900\n  process: virsh list\n  ancestor: -bash\n  ancestor: sshd: root@pts/0\n";
        let c = Clients::parse(out).expect("parses");
        assert_eq!(c.0.len(), 3);
        assert_eq!(c.0[0].info["sock_addr"], "[::ffff:10.0.2.2]:38770");
        assert_eq!(c.0[1].ancestors.len(), 3);
        assert!(!c.0[0].through_ssh() && c.0[1].through_ssh() && !c.0[2].through_ssh());
        assert_eq!(
            c.transports().into_iter().collect::<Vec<_>>(),
            ["ssh", "tcp", "unix"]
        );
        assert_eq!(Clients::parse("").expect("none"), Clients::default());
        assert!(Clients::parse("  id : 1\n").is_err());
        assert!(Clients::parse("client x tcp\n")
            .expect_err("id")
            .contains("\"x\""));
        assert!(Clients::parse("client 1 tcp\n  gibberish\n").is_err());
    }

    #[test]
    fn guest_command_lines_quote_everything() {
        let lab = Lab::for_tests();
        let line = lab.ssh_command_line("echo 'hi' > /run/x");
        assert!(line.starts_with("LAB_SUITE='bookworm' LAB_RUN_DIR='"), "{line}");
        assert!(line.ends_with(r#" ssh -- 'echo '\''hi'\'' > /run/x'"#), "{line}");
        assert!(lab.unusable().is_none());
    }

    #[test]
    fn process_states() {
        assert!(matches!(process_state(std::process::id()), Ok('R' | 'S')));
        assert!(process_state(u32::MAX).is_err());
    }
}
