//! The lab hypervisor (`scripts/lab`): `ssh` into the guest, `lvs`/`vgs`/`pvs` parsed, `virsh` on
//! the host against `LIBVIRT_URI`, pool/volume/domain XML, cleaning up after scenarios. What a
//! refused change must leave alone is in [`crate::snapshot`], libvirtd's clients in
//! [`crate::clients`], freezing the lab in [`crate::fault`].
//!
//! Parsing never falls back to a default: a line of `lvs` that does not parse, a size that is not
//! a number, fails the test with the text it could not parse (a 0 would make "free space" checks
//! pass vacuously and two unread values compare equal).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

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
pub(crate) fn number<T: std::str::FromStr>(line: &str, what: &str, field: &str) -> Result<T, String> {
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

    /// The provider block for this lab: libvirt over its TCP URI, LVM's tools (`lvm_tools`) over
    /// its sshd with the lab's key and the host key checked against its known_hosts; `extra`
    /// lines go inside the `lvm_tools` block.
    pub fn provider_with_lvm_tools(&self, extra: &str) -> String {
        crate::hcl::provider_block(&format!(
            "uri = {}\n  lvm_tools {{\n    ssh_host        = \"127.0.0.1\"\n    ssh_port        = {}\n    \
             ssh_user        = \"root\"\n    ssh_keyfile     = {}\n    ssh_known_hosts = {}\n    {extra}\n  }}",
            crate::hcl::hcl_string(&self.uri),
            self.env_var("LAB_SSH_PORT"),
            crate::hcl::hcl_string(&self.env_var("LAB_SSH_KEY")),
            crate::hcl::hcl_string(&self.env_var("LAB_KNOWN_HOSTS"))
        ))
    }

    /// The capacity QEMU reports for the running domain's disk `target` (`virsh domblkinfo`):
    /// what the guest sees.
    #[track_caller]
    pub fn live_capacity(&self, domain: &str, target: &str) -> u64 {
        let out = self.virsh_ok(&["domblkinfo", domain, target]);
        out.lines()
            .find_map(|l| l.strip_prefix("Capacity:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no capacity in domblkinfo {domain} {target}: {out}"))
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

    /// The value of a line `scripts/lab up` printed (`LAB_SSH_PORT`, `LIBVIRT_TLS_URI` …).
    #[track_caller]
    pub fn env_var(&self, key: &str) -> String {
        self.env
            .get(key)
            .cloned()
            .unwrap_or_else(|| panic!("`scripts/lab up` printed no {key}"))
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
        let r = self.ssh_run(&cleanup_script(prefix, &self.pv_devices));
        let mut left = Vec::new();
        for line in r.stdout.lines().filter(|l| !l.trim().is_empty()) {
            match line.strip_prefix("left ") {
                Some(l) => left.push(l.to_string()),
                None => did.push(line.to_string()),
            }
        }
        if !r.ok() {
            return Err(format!("cannot clean or check the PV disks:\n{r}"));
        }
        if !did.is_empty() {
            log(format!(
                "cleanup {prefix}* ({:.1} s): {}",
                t0.elapsed().as_secs_f64(),
                did.join("; ")
            ));
        }
        self.leftovers(prefix, left)
    }

    /// Ok when nothing named `prefix…` is defined in libvirt and the guest's check (`left`, from
    /// [`cleanup_script`]) found nothing on the PV disks.
    fn leftovers(&self, prefix: &str, mut left: Vec<String>) -> Result<(), String> {
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
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("cleanup of {prefix}* left: {}", left.join("; ")))
        }
    }
}

/// The guest half of [`Lab::cleanup`], one ssh round trip: removes the VGs named `prefix…` and
/// every VG on the PV disks `devs`, the disks' PV labels and other signatures; then checks. Prints
/// what it did, one line each, and `left …` for each thing still there. Exits non-zero only when
/// it cannot list the PVs or signatures (the check would be blind).
///
/// One `pvs` lists every PV with its VG (each VG has a PV, so no `vgs` is needed), and each kind
/// of removal is one command for all its targets: under TCG an LVM command costs about 0.4 s of
/// the lab's CPU, and the check runs again only after something was removed (before, the first
/// listing is the check). The script this replaces ran six LVM commands per scenario.
fn cleanup_script(prefix: &str, devs: &[String]) -> String {
    let devs = devs.join(" ");
    format!(
        r#"set -o pipefail
devs=({devs})
ours() {{ local d; for d in "${{devs[@]}}"; do [ "$1" = "$d" ] && return 0; done; return 1; }}
list=$(pvs --noheadings -o pv_name,vg_name --separator ,) || {{ echo "pvs failed" >&2; exit 1; }}
declare -A vgs=()
labelled=()
while IFS=$' ,' read -r pv vg; do
  [ -n "$pv" ] || continue
  if [ -n "$vg" ]; then case "$vg" in {prefix}*) vgs[$vg]=1;; *) ! ours "$pv" || vgs[$vg]=1;; esac; fi
  ! ours "$pv" || labelled+=("$pv")
done <<<"$list"
changed=
if [ ${{#vgs[@]}} -gt 0 ]; then
  changed=1
  if vgremove -f "${{!vgs[@]}}" >/dev/null 2>&1; then echo "vg ${{!vgs[*]}} removed"; else echo "vgremove -f ${{!vgs[*]}} failed"; fi
fi
if [ ${{#labelled[@]}} -gt 0 ]; then
  changed=1
  if pvremove -ff -y "${{labelled[@]}}" >/dev/null 2>&1; then echo "pv label on ${{labelled[*]}} removed"; else echo "pvremove of ${{labelled[*]}} failed"; fi
fi
sigs=$(wipefs --noheadings -n "${{devs[@]}}") || {{ echo "wipefs failed" >&2; exit 1; }}
if [ -n "$sigs" ]; then
  changed=1
  wipefs -q -a "${{devs[@]}}" && echo "signatures on ${{devs[*]}} wiped"
  sigs=$(wipefs --noheadings -n "${{devs[@]}}") || {{ echo "wipefs failed" >&2; exit 1; }}
fi
while read -r line; do [ -z "$line" ] || echo "left signature: $line"; done <<<"$sigs"
[ -n "$changed" ] || exit 0
list=$(pvs --noheadings -o pv_name,vg_name --separator ,) || {{ echo "pvs failed" >&2; exit 1; }}
while IFS=$' ,' read -r pv vg; do
  [ -n "$pv" ] || continue
  case "$vg" in {prefix}*) echo "left vg $vg";; esac
  ! ours "$pv" || echo "left pv label on $pv${{vg:+ (vg $vg)}}"
done <<<"$list"
exit 0
"#
    )
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

pub(crate) fn lab() -> Result<&'static Lab, &'static str> {
    static LAB: OnceLock<Result<Lab, String>> = OnceLock::new();
    LAB.get_or_init(|| {
        let lab = Lab::start()?;
        lab.cleanup(PREFIX)
            .map_err(|e| format!("the lab holds leftovers of an earlier run that cannot be removed: {e}"))?;
        let rom = lab.ssh_run(crate::domain::HALT_ROM_SCRIPT);
        if !rom.ok() || rom.stdout.trim() != "fa f4 eb fd" {
            return Err(format!("writing the fixture domains' firmware failed:\n{rom}"));
        }
        Ok(lab)
    })
    .as_ref()
    .map_err(String::as_str)
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
    fn guest_command_lines_quote_everything() {
        let lab = Lab::for_tests();
        let line = lab.ssh_command_line("echo 'hi' > /run/x");
        assert!(line.starts_with("LAB_SUITE='bookworm' LAB_RUN_DIR='"), "{line}");
        assert!(line.ends_with(r#" ssh -- 'echo '\''hi'\'' > /run/x'"#), "{line}");
        assert!(lab.unusable().is_none());
    }
}
