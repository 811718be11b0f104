//! Acceptance tests: the real `terraform` binary drives the provider against the lab hypervisor
//! (`scripts/lab`: a Debian QEMU guest with real LVM and libvirtd), and every outcome is checked ON
//! THE HYPERVISOR (`lvs`/`vgs`/`pvs` in the guest, libvirt XML through `virsh`), not only in
//! Terraform's view.
//!
//! # Running
//!
//! ```text
//! cargo test -p acceptance-tests --no-fail-fast -- --test-threads=1 --nocapture   # whole suite
//! cargo test -p acceptance-tests --test smoke -- --test-threads=1                 # the seed flow only
//! cargo test -p acceptance-tests --test volume -- --test-threads=1 parallel       # one scenario
//! ```
//!
//! Scenario files: `tests/smoke.rs` (the seed flow, also run on the test matrix), `pool.rs`,
//! `volume.rs`, `attachment.rs`, `validation.rs`, `faults.rs` (daemon restarts and kills, a frozen
//! lab, an unreachable hypervisor, failing pool steps). Each `#[test]` is one scenario, named after what it
//! proves. `--no-fail-fast` runs every file even when one fails; `--nocapture` shows each step and
//! each terraform command with its duration, and each scenario's total. The whole suite takes about
//! 10 minutes on the TCG lab. Assertions marked `PROVIDER BUG` document a provider defect: they fail
//! until the provider is fixed, and are never to be weakened to make the suite pass.
//!
//! `--test-threads=1`: the lab has exactly two PV disks, shared by every scenario, so scenarios
//! cannot run side by side. The harness also serialises them with a process-wide mutex (a
//! [`Scenario`] holds it from start to the end of its cleanup), so a run without the flag is slower
//! to report but still correct.
//!
//! Environment:
//! - `LAB_SUITE`: the lab's Debian suite, `bookworm` (default, libvirt 9.0) or `trixie` (libvirt 11).
//! - `TF_BIN`: the terraform binary (default `terraform` on PATH; Terraform 1.0.3 lives at
//!   /var/cache/terraform-provider-libvirt/terraform-1.0.3/terraform after scripts/install-deps).
//! - `TF_PROVIDER_DIR`: a directory holding a built `terraform-provider-libvirt`; without it the
//!   harness runs `cargo build --release -p terraform-provider-libvirt` once per test binary.
//! - `TF_LOG`: passed to terraform when set for the run; otherwise removed.
//! - `ACCEPTANCE_SKIP=1`: skip every scenario (a loud line says so) instead of starting the lab.
//!   Ignored when `CI=true`: in CI the lab must start or the tests fail, saying why.
//! - `ACCEPTANCE_KEEP=1`: keep the work directories (main.tf, state) of failed scenarios.
//!
//! # Layout
//!
//! - [`Scenario`]: one test's guard. Serialises scenarios, brings the lab up (once per process,
//!   sweeping leftovers of earlier runs), hands out unique names under a per-scenario prefix,
//!   and cleans up when dropped, even after a failed assertion: `terraform destroy` in each
//!   [`Workdir`] first, then directly through virsh and the guest (fixture domains, pools, volume
//!   groups, PV labels and signatures on the lab's PV disks). Prints per-scenario durations.
//! - [`Workdir`]: a temporary Terraform working directory with a CLI config that points
//!   `dev_overrides` at the built provider (no `terraform init`), and one method per terraform
//!   command. Each returns a [`Run`] (exit code and output, kept for failure messages).
//! - [`Lab`]: the hypervisor: `ssh` into the guest, `lvs`/`vgs`/`pvs` parsed, `virsh` on the host
//!   against `LIBVIRT_URI`, pool/volume/domain XML.
//! - [`Domain`]: a diskless fixture domain made with virsh (not with the provider), running or
//!   shut off, with or without ACPI and a SCSI controller, with helpers to prove it never restarted.
//! - Small XML helpers ([`disk_targets`], [`tag_text`], …): libvirt's XML is regular enough that a
//!   few string searches read it.

pub mod libvirtd;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// Every name this suite creates on the hypervisor starts with this; the sweeper removes such
/// leftovers of earlier runs.
pub const PREFIX: &str = "acc";

/// The provider's source address (its `dev_overrides` key).
pub const PROVIDER_SOURCE: &str = "libvirt-lvm/libvirt";

/// Default timeout of one terraform command.
pub const TF_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("acceptance-tests lives in the workspace")
        .to_path_buf()
}

fn log(msg: impl fmt::Display) {
    eprintln!("[acceptance] {msg}");
}

// ------------------------------------------------------------------------------------------------
// Running commands

/// The outcome of one command: what ran, its exit code, its output, how long it took.
#[derive(Clone, Debug)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed (timeout or signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Run {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout then stderr: what a user would have seen.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the whole output unless the command succeeded.
    #[track_caller]
    pub fn expect_ok(self) -> Run {
        assert!(self.ok(), "command failed:\n{self}");
        self
    }

    /// Panics with the whole output unless the command failed (non-zero exit).
    #[track_caller]
    pub fn expect_failure(self) -> Run {
        assert!(
            self.code.is_some() && !self.ok(),
            "command was expected to fail:\n{self}"
        );
        self
    }

    /// Panics unless the output holds the error `summary` pointing at attribute `attr`: Terraform
    /// prints the configuration line of the attribute under the diagnostic (`  13:   attr = …`).
    #[track_caller]
    pub fn expect_diagnostic(&self, summary: &str, attr: &str) -> &Run {
        let text = self.text();
        let header = format!("Error: {summary}");
        let blocks: Vec<&str> = text.split("Error: ").skip(1).collect();
        assert!(
            text.contains(&header),
            "no diagnostic {header:?} in the output:\n{self}"
        );
        let points_at_attr = blocks.iter().filter(|b| b.starts_with(summary)).any(|b| {
            b.lines().any(|l| {
                let l = l.trim_start();
                let Some((num, rest)) = l.split_once(':') else {
                    return false;
                };
                let rest = rest.trim_start();
                num.chars().all(|c| c.is_ascii_digit())
                    && !num.is_empty()
                    && rest.starts_with(attr)
                    && rest[attr.len()..].trim_start().starts_with('=')
            })
        });
        assert!(
            points_at_attr,
            "diagnostic {header:?} does not point at attribute {attr:?}:\n{self}"
        );
        self
    }

    /// Panics unless the output mentions every one of `needles`.
    #[track_caller]
    pub fn expect_mentions(&self, needles: &[&str]) -> &Run {
        for n in needles {
            assert!(self.text().contains(n), "output does not mention {n:?}:\n{self}");
        }
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "$ {}\n(exit {}, {:.1} s)",
            self.command,
            self.code.map_or("killed".to_string(), |c| c.to_string()),
            self.elapsed.as_secs_f64()
        )?;
        if !self.stdout.is_empty() {
            writeln!(f, "--- stdout\n{}", self.stdout.trim_end())?;
        }
        if !self.stderr.is_empty() {
            writeln!(f, "--- stderr\n{}", self.stderr.trim_end())?;
        }
        Ok(())
    }
}

/// Runs `cmd` with stdin closed, collecting its output, and kills it after `timeout`.
///
/// Output is read by threads into shared buffers, so a grandchild that keeps a pipe open (an ssh
/// control master, a provider left behind by a killed terraform) cannot block us.
pub fn run_command(cmd: Command, timeout: Duration) -> Run {
    Background::spawn(cmd).wait(timeout)
}

/// A command running in the background (see [`Workdir::spawn_tf`]): its output is collected
/// as it comes; [`Background::wait`] gives the [`Run`]. Dropped unfinished, it is killed (our own
/// child, by its handle).
pub struct Background {
    command: String,
    child: Option<std::process::Child>,
    start: Instant,
    out: (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>),
    err: (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>),
}

impl Background {
    /// Starts `cmd` with stdin closed and its output piped.
    pub fn spawn(mut cmd: Command) -> Background {
        let command = describe(&cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        let collect = |mut r: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let b = buf.clone();
            let handle = std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = r.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
            });
            (buf, handle)
        };
        let out = collect(Box::new(child.stdout.take().expect("piped stdout")));
        let err = collect(Box::new(child.stderr.take().expect("piped stderr")));
        Background {
            command,
            child: Some(child),
            start,
            out,
            err,
        }
    }

    /// Seconds since the command started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Whether the command has exited.
    pub fn is_finished(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The output so far (stdout then stderr).
    pub fn output_so_far(&self) -> String {
        let take = |b: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
        };
        format!("{}{}", take(&self.out.0), take(&self.err.0))
    }

    /// Waits for the command to exit, killing it once `timeout` has passed since it started.
    pub fn wait(mut self, timeout: Duration) -> Run {
        let mut child = self.child.take().expect("waited once");
        let code = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if self.start.elapsed() > timeout => {
                    // Our own child, by its handle.
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for `{}`: {e}", self.command),
            }
        };
        // Give the readers a moment to drain; never wait on a pipe a grandchild holds open.
        let drain_deadline = Instant::now() + Duration::from_secs(2);
        while !(self.out.1.is_finished() && self.err.1.is_finished()) && Instant::now() < drain_deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let take = |b: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
        };
        let mut stderr = take(&self.err.0);
        if code.is_none() {
            stderr.push_str(&format!("\n[acceptance] killed after {} s", timeout.as_secs()));
        }
        Run {
            command: self.command.clone(),
            code,
            stdout: take(&self.out.0),
            stderr,
            elapsed: self.start.elapsed(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains([' ', '\'', '"', '\n']) {
            s.push_str(&format!(" '{}'", a.replace('\'', r"'\''")));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

// ------------------------------------------------------------------------------------------------
// The provider binary

/// The directory that holds the built `terraform-provider-libvirt`: `TF_PROVIDER_DIR`, or
/// `target/release` after one `cargo build --release -p terraform-provider-libvirt` per process.
pub fn provider_dir() -> &'static Path {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        if let Some(d) = std::env::var_os("TF_PROVIDER_DIR").filter(|d| !d.is_empty()) {
            let d = PathBuf::from(d);
            return if d.join("terraform-provider-libvirt").is_file() {
                log(format!(
                    "provider: {}/terraform-provider-libvirt (TF_PROVIDER_DIR)",
                    d.display()
                ));
                Ok(d)
            } else {
                Err(format!(
                    "TF_PROVIDER_DIR={} holds no terraform-provider-libvirt",
                    d.display()
                ))
            };
        }
        let root = workspace_root();
        let t0 = Instant::now();
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.args(["build", "--release", "-p", "terraform-provider-libvirt"])
            .current_dir(&root);
        let run = run_command(cmd, Duration::from_secs(1800));
        if !run.ok() {
            return Err(format!("building the provider failed:\n{run}"));
        }
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("target"));
        let d = target.join("release");
        log(format!(
            "provider: built {}/terraform-provider-libvirt in {:.1} s",
            d.display(),
            t0.elapsed().as_secs_f64()
        ));
        Ok(d)
    });
    match dir {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    }
}

/// The terraform binary (`TF_BIN`, default `terraform`).
pub fn terraform_bin() -> String {
    std::env::var("TF_BIN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "terraform".into())
}

// ------------------------------------------------------------------------------------------------
// The lab hypervisor

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
    pub fn lvs(&self) -> Vec<Lv> {
        let out = self.ssh_ok(
            "lvs --noheadings --units b --nosuffix -o vg_name,lv_name,lv_size,lv_attr,lv_uuid --separator ,",
        );
        rows(&out)
            .filter(|f| f.len() >= 5)
            .map(|f| Lv {
                vg: f[0].clone(),
                name: f[1].clone(),
                size: f[2].parse().unwrap_or(0),
                attr: f[3].clone(),
                uuid: f[4].clone(),
            })
            .collect()
    }

    /// The logical volumes of `vg`.
    pub fn lvs_in(&self, vg: &str) -> Vec<Lv> {
        self.lvs().into_iter().filter(|l| l.vg == vg).collect()
    }

    /// One LV, if it exists.
    pub fn lv(&self, vg: &str, name: &str) -> Option<Lv> {
        self.lvs().into_iter().find(|l| l.vg == vg && l.name == name)
    }

    /// All volume groups.
    pub fn vgs(&self) -> Vec<Vg> {
        let out = self.ssh_ok(
            "vgs --noheadings --units b --nosuffix -o vg_name,vg_size,vg_free,lv_count --separator ,",
        );
        rows(&out)
            .filter(|f| f.len() >= 4)
            .map(|f| Vg {
                name: f[0].clone(),
                size: f[1].parse().unwrap_or(0),
                free: f[2].parse().unwrap_or(0),
                lv_count: f[3].parse().unwrap_or(0),
            })
            .collect()
    }

    /// One VG, if it exists.
    pub fn vg(&self, name: &str) -> Option<Vg> {
        self.vgs().into_iter().find(|v| v.name == name)
    }

    /// All physical volumes.
    pub fn pvs(&self) -> Vec<Pv> {
        let out = self.ssh_ok("pvs --noheadings -o pv_name,vg_name --separator ,");
        rows(&out)
            .filter(|f| !f.is_empty())
            .map(|f| Pv {
                device: f[0].clone(),
                vg: f.get(1).cloned().unwrap_or_default(),
            })
            .collect()
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

    /// PID of the lab's QEMU: from the pid file in the lab's run directory (`LAB_RUN_DIR`), and
    /// only if `/proc/PID/cmdline` carries the lab's `-name terraform-provider-libvirt-lab-SUITE`.
    pub fn qemu_pid(&self) -> Result<u32, String> {
        let root = std::env::var("LAB_RUN_DIR")
            .ok()
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "/run/terraform-provider-libvirt-lab".into());
        let file = Path::new(&root).join(&self.suite).join("qemu.pid");
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
    /// that hangs or whose network is cut. It runs again when the guard is dropped (SIGCONT),
    /// even after a failed assertion.
    #[track_caller]
    pub fn pause(&self) -> Paused {
        let pid = self
            .qemu_pid()
            .unwrap_or_else(|e| panic!("cannot pause the lab: {e}"));
        let r = run_command(
            {
                let mut c = Command::new("kill");
                c.args(["-STOP", &pid.to_string()]);
                c
            },
            Duration::from_secs(10),
        );
        assert!(r.ok(), "SIGSTOP to the lab's QEMU failed:\n{r}");
        log(format!("lab paused (SIGSTOP to QEMU pid {pid})"));
        Paused { pid: Some(pid) }
    }

    /// Removes, directly, whatever a scenario with names starting with `prefix` may have left:
    /// fixture domains, pools, volume groups; then clears every LVM label and signature from the
    /// lab's PV disks (they are the suite's scratch disks). Errors are logged, never fatal.
    pub fn cleanup(&self, prefix: &str) {
        let t0 = Instant::now();
        let mut did = Vec::new();
        for d in names(&self.virsh(&["list", "--all", "--name"]).stdout) {
            if d.starts_with(prefix) {
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
    }
}

/// The lab frozen by [`Lab::pause`]; resumed when dropped.
pub struct Paused {
    pid: Option<u32>,
}

impl Paused {
    /// Lets the lab run again (SIGCONT).
    pub fn resume(mut self) {
        self.cont();
    }

    fn cont(&mut self) {
        if let Some(pid) = self.pid.take() {
            let mut c = Command::new("kill");
            c.args(["-CONT", &pid.to_string()]);
            let r = run_command(c, Duration::from_secs(10));
            log(format!(
                "lab resumed (SIGCONT to QEMU pid {pid}){}",
                if r.ok() { String::new() } else { format!(": {r}") }
            ));
        }
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        self.cont();
    }
}

fn rows(out: &str) -> impl Iterator<Item = Vec<String>> + '_ {
    out.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.split(',').map(|f| f.trim().to_string()).collect())
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

/// The lab, started once per process; sweeps leftovers of earlier runs the first time.
fn lab() -> Result<&'static Lab, &'static str> {
    static LAB: OnceLock<Result<Lab, String>> = OnceLock::new();
    LAB.get_or_init(|| {
        let lab = Lab::start()?;
        lab.cleanup(PREFIX);
        Ok(lab)
    })
    .as_ref()
    .map_err(String::as_str)
}

// ------------------------------------------------------------------------------------------------
// Scenarios

static SERIAL: Mutex<()> = Mutex::new(());

fn skip_requested() -> bool {
    std::env::var("ACCEPTANCE_SKIP").as_deref() == Ok("1")
}

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// One acceptance scenario: holds the suite-wide lock, names things uniquely, cleans up on drop.
pub struct Scenario {
    name: String,
    prefix: String,
    lab: &'static Lab,
    started: Instant,
    step_start: Mutex<Instant>,
    _serial: MutexGuard<'static, ()>,
}

impl Scenario {
    /// Starts the scenario `name` (shown in logs; its first letters also go into the prefix of every
    /// name it creates). Returns None only when the suite is skipped with `ACCEPTANCE_SKIP=1`
    /// outside CI; panics, saying why, when the lab or the provider cannot be had.
    pub fn start(name: &str) -> Option<Scenario> {
        if skip_requested() {
            if in_ci() {
                log("ACCEPTANCE_SKIP=1 is ignored because CI=true: acceptance tests must run in CI");
            } else {
                eprintln!(
                    "\n!!!!!!!! ACCEPTANCE TEST {name} SKIPPED (ACCEPTANCE_SKIP=1): NOTHING WAS TESTED ON THE LAB !!!!!!!!\n"
                );
                return None;
            }
        }
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        provider_dir();
        let lab = match lab() {
            Ok(l) => l,
            Err(e) => panic!(
                "the acceptance tests need the lab hypervisor, and it could not be started:\n{e}\n\
                 (to skip them explicitly outside CI, set ACCEPTANCE_SKIP=1)"
            ),
        };
        let tag: String = name
            .split("::")
            .next()
            .unwrap_or(name)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect::<String>()
            .to_ascii_lowercase();
        let prefix = format!("{PREFIX}{tag}{}", unique_suffix());
        log(format!(
            "=== scenario {name} (prefix {prefix}, lab {}, terraform {})",
            lab.suite,
            terraform_bin()
        ));
        Some(Scenario {
            name: name.to_string(),
            prefix,
            lab,
            started: Instant::now(),
            step_start: Mutex::new(Instant::now()),
            _serial: serial,
        })
    }

    /// The lab hypervisor.
    pub fn lab(&self) -> &'static Lab {
        self.lab
    }

    /// This scenario's unique prefix, such as `accpool3f9a`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A unique name for something this scenario creates: `<prefix>-<what>`.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// Logs a step with the time since the previous one (visible with `--nocapture`).
    pub fn step(&self, what: &str) {
        let mut s = self.step_start.lock().unwrap_or_else(|p| p.into_inner());
        log(format!(
            "  [{:6.1} s] {} (+{:.1} s)",
            self.started.elapsed().as_secs_f64(),
            what,
            s.elapsed().as_secs_f64()
        ));
        *s = Instant::now();
    }

    /// The provider block plus `required_providers`, pointing at the lab.
    pub fn provider_block(&self) -> String {
        provider_block(&format!("uri = {}", hcl_string(&self.lab.uri)))
    }

    /// A work directory whose main.tf is `body` after the provider block.
    pub fn workdir(&self, body: &str) -> Workdir<'_> {
        let wd = Workdir::new(self);
        wd.write(body);
        wd
    }

    /// A work directory whose main.tf is exactly `main_tf` (bring your own provider block).
    pub fn workdir_raw(&self, main_tf: &str) -> Workdir<'_> {
        let wd = Workdir::new(self);
        wd.write_raw(main_tf);
        wd
    }

    /// Defines (and, if asked, starts) a diskless fixture domain named `<prefix>-<what>`.
    pub fn domain(&self, what: &str, opts: DomainOpts) -> Domain {
        Domain::create(self.lab, &self.name(what), opts)
    }

    /// A pool body over the lab's PV devices (`count` of them), as HCL list text.
    pub fn devices_hcl(&self, count: usize) -> String {
        hcl_list(&self.lab.pv_devices[..count])
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        // Domains and pools by this scenario's prefix; the shared PV disks are always left clean.
        self.lab.cleanup(&self.prefix);
        log(format!(
            "=== scenario {}: {} in {:.1} s",
            self.name,
            if failed { "FAILED" } else { "passed" },
            self.started.elapsed().as_secs_f64()
        ));
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix =
        nanos ^ std::process::id().rotate_left(16) ^ N.fetch_add(1, Ordering::Relaxed).wrapping_mul(40503);
    format!("{:04x}", (mix ^ (mix >> 16)) & 0xffff)
}

// ------------------------------------------------------------------------------------------------
// HCL helpers

/// `terraform { required_providers }` and a `provider "libvirt"` block with `provider_body` inside.
pub fn provider_block(provider_body: &str) -> String {
    format!(
        "terraform {{\n  required_providers {{\n    libvirt = {{\n      source = \"{PROVIDER_SOURCE}\"\n    }}\n  }}\n}}\n\n\
         provider \"libvirt\" {{\n  {provider_body}\n}}\n"
    )
}

/// A quoted HCL string.
pub fn hcl_string(s: &str) -> String {
    format!(
        "\"{}\"",
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace("${", "$${")
            .replace("%{", "%%{")
    )
}

/// An HCL list of strings.
pub fn hcl_list(items: &[String]) -> String {
    format!(
        "[{}]",
        items.iter().map(|s| hcl_string(s)).collect::<Vec<_>>().join(", ")
    )
}

// ------------------------------------------------------------------------------------------------
// Terraform work directories

/// A temporary Terraform working directory. Dropping it runs `terraform destroy` when its state still
/// holds resources (the scenario's own direct cleanup follows).
pub struct Workdir<'s> {
    dir: Option<tempfile::TempDir>,
    scenario: &'s Scenario,
}

impl<'s> Workdir<'s> {
    fn new(scenario: &'s Scenario) -> Workdir<'s> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("{}-", scenario.prefix))
            .tempdir()
            .expect("temporary directory");
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider_dir().display()
            ),
        )
        .expect("write cli.tfrc");
        Workdir {
            dir: Some(dir),
            scenario,
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("workdir").path()
    }

    /// Replaces main.tf with the provider block followed by `body`.
    pub fn write(&self, body: &str) {
        self.write_raw(&format!("{}\n{body}", self.scenario.provider_block()));
    }

    /// Replaces main.tf with exactly `main_tf`.
    pub fn write_raw(&self, main_tf: &str) {
        std::fs::write(self.path().join("main.tf"), main_tf).expect("write main.tf");
    }

    /// Runs `terraform ARGS` here (with `-no-color`; add `-input=false` yourself where the command
    /// takes it: the helpers below do).
    pub fn tf(&self, args: &[&str]) -> Run {
        self.tf_timeout(args, TF_TIMEOUT)
    }

    /// [`Workdir::tf`] with a timeout.
    pub fn tf_timeout(&self, args: &[&str], timeout: Duration) -> Run {
        let run = run_command(self.tf_command(args), timeout);
        log(format!(
            "    terraform {} -> {} ({:.1} s)",
            args.join(" "),
            run.code.map_or("killed".into(), |c| c.to_string()),
            run.elapsed.as_secs_f64()
        ));
        run
    }

    /// Starts `terraform ARGS` here in the background (for faults injected while it runs); wait
    /// for it with [`Background::wait`].
    pub fn spawn_tf(&self, args: &[&str]) -> Background {
        log(format!(
            "    terraform {} (started in the background)",
            args.join(" ")
        ));
        Background::spawn(self.tf_command(args))
    }

    fn tf_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(terraform_bin());
        cmd.args(args)
            .arg("-no-color")
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("LIBVIRT_DEFAULT_URI");
        if std::env::var_os("TF_LOG").is_none() {
            cmd.env_remove("TF_LOG");
        }
        cmd
    }

    /// `terraform validate` (not asserted).
    pub fn validate(&self) -> Run {
        self.tf(&["validate"])
    }

    /// `terraform apply -auto-approve -input=false EXTRA...` (not asserted).
    pub fn try_apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        self.tf(&args)
    }

    /// `terraform apply -auto-approve`, asserted to succeed.
    #[track_caller]
    pub fn apply(&self) -> Run {
        self.try_apply(&[]).expect_ok()
    }

    /// `terraform apply -auto-approve -parallelism=N`, asserted to succeed.
    #[track_caller]
    pub fn apply_parallel(&self, n: u32) -> Run {
        self.try_apply(&[&format!("-parallelism={n}")]).expect_ok()
    }

    /// `terraform plan -detailed-exitcode -input=false` (not asserted).
    pub fn plan_detailed(&self) -> Run {
        self.tf(&["plan", "-detailed-exitcode", "-input=false"])
    }

    /// The exit code of `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan_exitcode(&self) -> i32 {
        self.plan_detailed().code.unwrap_or(-1)
    }

    /// Asserts `terraform plan -detailed-exitcode` exits with `code`; returns the run.
    #[track_caller]
    pub fn expect_plan(&self, code: i32) -> Run {
        let r = self.plan_detailed();
        assert_eq!(
            r.code,
            Some(code),
            "plan -detailed-exitcode: expected {code} ({}):\n{r}",
            match code {
                0 => "no changes",
                2 => "changes",
                _ => "error",
            }
        );
        r
    }

    /// The text of `terraform plan` (stdout and stderr, whatever the exit code).
    pub fn plan_output(&self) -> String {
        self.tf(&["plan", "-input=false"]).text()
    }

    /// `terraform destroy -auto-approve -input=false EXTRA...` (not asserted).
    pub fn try_destroy(&self, extra: &[&str]) -> Run {
        let mut args = vec!["destroy", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        self.tf(&args)
    }

    /// `terraform destroy -auto-approve`, asserted to succeed.
    #[track_caller]
    pub fn destroy(&self) -> Run {
        self.try_destroy(&[]).expect_ok()
    }

    /// `terraform import -input=false ADDR ID` (not asserted).
    pub fn try_import(&self, addr: &str, id: &str) -> Run {
        self.tf(&["import", "-input=false", addr, id])
    }

    /// `terraform import ADDR ID`, asserted to succeed.
    #[track_caller]
    pub fn import(&self, addr: &str, id: &str) -> Run {
        self.try_import(addr, id).expect_ok()
    }

    /// `terraform state rm ADDR`, asserted to succeed.
    #[track_caller]
    pub fn state_rm(&self, addr: &str) -> Run {
        self.tf(&["state", "rm", addr]).expect_ok()
    }

    /// `terraform show -json`, parsed.
    #[track_caller]
    pub fn show_json(&self) -> serde_json::Value {
        let r = self.tf(&["show", "-json"]).expect_ok();
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("show -json is not JSON ({e}):\n{r}"))
    }

    /// The addresses of the resources in the state.
    pub fn state_addresses(&self) -> Vec<String> {
        let v = self.show_json();
        v["values"]["root_module"]["resources"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["address"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One attribute of one resource in the state (`Null` when absent).
    #[track_caller]
    pub fn state_attr(&self, addr: &str, attr: &str) -> serde_json::Value {
        let v = self.show_json();
        let resources = v["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let r = resources
            .iter()
            .find(|r| r["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} is not in the state: {v}"));
        r["values"][attr].clone()
    }

    /// A string attribute of a resource in the state.
    #[track_caller]
    pub fn state_str(&self, addr: &str, attr: &str) -> String {
        match self.state_attr(addr, attr) {
            serde_json::Value::String(s) => s,
            other => panic!("{addr}.{attr} is not a string: {other}"),
        }
    }

    /// Whether the local state file lists any resource.
    fn state_has_resources(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(self.path().join("terraform.tfstate")) else {
            return false;
        };
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["resources"].as_array().map(|a| !a.is_empty()))
            .unwrap_or(true)
    }
}

impl Drop for Workdir<'_> {
    fn drop(&mut self) {
        if self.state_has_resources() {
            let r = self.tf_timeout(
                &["destroy", "-auto-approve", "-input=false"],
                Duration::from_secs(300),
            );
            if !r.ok() {
                log(format!(
                    "cleanup: terraform destroy failed (direct cleanup follows):\n{r}"
                ));
            }
        }
        if std::thread::panicking() && std::env::var("ACCEPTANCE_KEEP").as_deref() == Ok("1") {
            if let Some(d) = self.dir.take() {
                log(format!("kept work directory {}", d.keep().display()));
            }
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Fixture domains

/// How a fixture domain is made.
#[derive(Clone, Copy, Debug)]
pub struct DomainOpts {
    /// Started after definition.
    pub running: bool,
    /// `<features><acpi/></features>` (needed for PCI hotplug).
    pub acpi: bool,
    /// `<controller type='scsi' model='virtio-scsi'/>`.
    pub scsi: bool,
}

impl DomainOpts {
    /// Running, with ACPI and a virtio-scsi controller.
    pub fn running() -> DomainOpts {
        DomainOpts {
            running: true,
            acpi: true,
            scsi: true,
        }
    }

    /// Shut off (defined only), with ACPI and a virtio-scsi controller.
    pub fn shut_off() -> DomainOpts {
        DomainOpts {
            running: false,
            ..DomainOpts::running()
        }
    }

    /// Without ACPI.
    pub fn no_acpi(self) -> DomainOpts {
        DomainOpts { acpi: false, ..self }
    }

    /// Without a SCSI controller.
    pub fn no_scsi(self) -> DomainOpts {
        DomainOpts { scsi: false, ..self }
    }
}

/// A diskless `type='qemu'` domain made with virsh; undefined by the scenario's cleanup.
pub struct Domain {
    /// Its name.
    pub name: String,
    lab: &'static Lab,
}

/// What identifies one run of a domain: libvirt's id and the QEMU process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Runtime {
    /// `virsh domid`.
    pub id: u32,
    /// PID of its QEMU process in the guest.
    pub pid: u32,
    /// Seconds that QEMU process has been running.
    pub uptime: u64,
}

/// The XML of a fixture domain.
pub fn domain_xml_def(name: &str, opts: DomainOpts) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>64</memory>\n  <vcpu>1</vcpu>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type></os>\n{}  <devices>\n{}  </devices>\n</domain>\n",
        if opts.acpi {
            "  <features><acpi/></features>\n"
        } else {
            ""
        },
        if opts.scsi {
            "    <controller type='scsi' model='virtio-scsi'/>\n"
        } else {
            ""
        },
    )
}

impl Domain {
    fn create(lab: &'static Lab, name: &str, opts: DomainOpts) -> Domain {
        let file = tempfile::NamedTempFile::new().expect("temp file");
        std::fs::write(file.path(), domain_xml_def(name, opts)).expect("write domain XML");
        lab.virsh_ok(&["define", &file.path().to_string_lossy()]);
        let d = Domain {
            name: name.to_string(),
            lab,
        };
        if opts.running {
            lab.virsh_ok(&["start", name]);
        }
        d
    }

    /// `virsh domstate`: `running`, `shut off`, ….
    pub fn state(&self) -> String {
        self.lab.virsh_ok(&["domstate", &self.name]).trim().to_string()
    }

    /// libvirt's id of the running domain.
    #[track_caller]
    pub fn id(&self) -> u32 {
        let out = self.lab.virsh_ok(&["domid", &self.name]);
        out.trim()
            .parse()
            .unwrap_or_else(|_| panic!("domain {} has no id (not running?): {out:?}", self.name))
    }

    /// Id, QEMU pid and that process's uptime: equal id and pid and a grown uptime prove no restart.
    #[track_caller]
    pub fn runtime(&self) -> Runtime {
        let id = self.id();
        let out = self.lab.ssh_ok(&format!(
            "p=$(cat /run/libvirt/qemu/{0}.pid) && echo $p $(ps -o etimes= -p $p)",
            self.name
        ));
        let mut f = out.split_whitespace();
        let pid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let uptime = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        Runtime { id, pid, uptime }
    }

    /// Asserts the domain still runs the same QEMU process as in `before` (no restart).
    #[track_caller]
    pub fn assert_not_restarted(&self, before: &Runtime) {
        assert_eq!(
            self.state(),
            "running",
            "domain {} is no longer running",
            self.name
        );
        let now = self.runtime();
        assert_eq!(now.id, before.id, "domain {} got a new id: restarted", self.name);
        assert_eq!(
            now.pid, before.pid,
            "domain {} has a new QEMU process: restarted",
            self.name
        );
        assert!(
            now.uptime >= before.uptime,
            "domain {}'s QEMU uptime went down ({} -> {}): restarted",
            self.name,
            before.uptime,
            now.uptime
        );
    }

    /// Live XML (`inactive = false`) or saved definition (`inactive = true`).
    pub fn xml(&self, inactive: bool) -> String {
        self.lab.domain_xml(&self.name, inactive)
    }

    /// Disk targets in the live XML or the saved definition.
    pub fn disk_targets(&self, inactive: bool) -> Vec<String> {
        disk_targets(&self.xml(inactive))
    }

    /// The `<disk>` element with this target, if present.
    pub fn disk(&self, target: &str, inactive: bool) -> Option<String> {
        disk_block(&self.xml(inactive), target)
    }
}

// ------------------------------------------------------------------------------------------------
// XML helpers (libvirt's XML is regular: single-quoted attributes, one element per line)

/// The `<disk ...>...</disk>` elements of a domain XML.
pub fn disk_blocks(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<disk ") {
        let tail = &rest[start..];
        let end = tail.find("</disk>").map_or(tail.len(), |e| e + "</disk>".len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The value of attribute `attr` on the first `<elem ...>` in `xml`.
pub fn attr_value(xml: &str, elem: &str, attr: &str) -> Option<String> {
    let open = format!("<{elem} ");
    let start = xml.find(&open)?;
    let tag = &xml[start..];
    let tag = &tag[..tag.find('>')?];
    for quote in ['\'', '"'] {
        let key = format!(" {attr}={quote}");
        if let Some(i) = tag.find(&key) {
            let v = &tag[i + key.len()..];
            return v.find(quote).map(|j| v[..j].to_string());
        }
    }
    None
}

/// Disk target devices (`sdb`, `vdb`, …) of a domain XML.
pub fn disk_targets(xml: &str) -> Vec<String> {
    disk_blocks(xml)
        .iter()
        .filter_map(|d| attr_value(d, "target", "dev"))
        .collect()
}

/// The `<disk>` element with target `target`.
pub fn disk_block(xml: &str, target: &str) -> Option<String> {
    disk_blocks(xml)
        .into_iter()
        .find(|d| attr_value(d, "target", "dev").as_deref() == Some(target))
}

/// The text of the first `<tag>text</tag>` in `xml`.
pub fn tag_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + end].trim().to_string())
}

/// The text of the first `<tag ...>text</tag>` (with attributes) in `xml`.
pub fn tag_text_attrs(xml: &str, tag: &str) -> Option<String> {
    let exact = tag_text(xml, tag);
    if exact.is_some() {
        return exact;
    }
    let open = format!("<{tag} ");
    let start = xml.find(&open)?;
    let gt = xml[start..].find('>')? + start + 1;
    let end = xml[gt..].find(&format!("</{tag}>"))?;
    Some(xml[gt..gt + end].trim().to_string())
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
    fn disks() {
        let xml = "<domain><devices>\n<disk type='block' device='disk'>\n<source dev='/dev/a/b'/>\n\
                   <target dev='sdb' bus='scsi'/>\n</disk>\n<disk type='volume' device='disk'>\n\
                   <source pool='p' volume='v'/>\n<target dev='sdc' bus='scsi'/>\n</disk>\n\
                   <console type='pty'><target type='serial' port='0'/></console></devices></domain>";
        assert_eq!(disk_targets(xml), vec!["sdb", "sdc"]);
        let d = disk_block(xml, "sdc").expect("sdc");
        assert_eq!(attr_value(&d, "source", "volume").as_deref(), Some("v"));
        assert_eq!(
            tag_text("<pool><name> x </name></pool>", "name").as_deref(),
            Some("x")
        );
        assert_eq!(
            tag_text_attrs("<capacity unit='bytes'>42</capacity>", "capacity").as_deref(),
            Some("42")
        );
    }

    #[test]
    fn hcl() {
        assert_eq!(hcl_string("a\"b${x}"), "\"a\\\"b$${x}\"");
        assert_eq!(
            hcl_list(&["/dev/vdb".into(), "/dev/vdc".into()]),
            "[\"/dev/vdb\", \"/dev/vdc\"]"
        );
    }
}
