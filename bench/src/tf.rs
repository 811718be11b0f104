//! Running terraform against a work directory, timing it, and sampling the provider's memory.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The provider binary the benchmarks run (`PROVIDER_BIN`, else target/release).
pub fn provider_bin() -> PathBuf {
    std::env::var_os("PROVIDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .map(|root| root.join("target/release/terraform-provider-libvirt"))
                .unwrap_or_default()
        })
}

/// The plugin floor binary (`PLUGIN_FLOOR_BIN`, else `plugin_floor` beside the provider).
pub fn plugin_floor_bin() -> PathBuf {
    std::env::var_os("PLUGIN_FLOOR_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| provider_bin().with_file_name("plugin_floor"))
}

/// A directory holding `bin` under the provider's name, for dev_overrides (Terraform finds a
/// provider by its file name). Removed when dropped.
pub struct InstalledAs {
    dir: tempfile::TempDir,
}

impl InstalledAs {
    pub fn provider(bin: &Path) -> InstalledAs {
        let dir = tempfile::Builder::new()
            .prefix("tfbench-plugin")
            .tempdir()
            .expect("temp dir");
        let target = bin.canonicalize().unwrap_or_else(|e| {
            panic!(
                "{}: {e} (build it: cargo build --release -p bench)",
                bin.display()
            )
        });
        std::os::unix::fs::symlink(target, dir.path().join("terraform-provider-libvirt")).expect("symlink");
        InstalledAs { dir }
    }

    pub fn bin(&self) -> PathBuf {
        self.dir.path().join("terraform-provider-libvirt")
    }
}

/// `TF_BIN` or terraform on PATH.
fn terraform() -> String {
    std::env::var("TF_BIN").unwrap_or_else(|_| "terraform".into())
}

/// One Terraform configuration in its own directory, with a CLI config that installs the provider
/// from its build directory (dev_overrides: nothing from the network).
pub struct Workdir {
    dir: tempfile::TempDir,
    cli: PathBuf,
    /// The binary Terraform runs as the provider (its processes are the ones sampled).
    bin: PathBuf,
}

/// What one terraform command cost.
#[derive(Clone, Copy, Debug)]
pub struct Timed {
    pub wall: Duration,
    /// The largest peak RSS (VmHWM) of any provider process it started, KiB (0 for the floor).
    pub provider_peak_kib: u64,
    /// How that memory divides, at its largest (see [`Memory`]).
    pub memory: Memory,
    /// CPU time (user + system) of terraform and every process it started.
    pub cpu_total: Duration,
    /// CPU time of the provider processes alone (sampled; a process's last few ms may be missed).
    pub cpu_provider: Duration,
}

/// The memory of a provider process, KiB: the largest values sampled of each part.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Anonymous memory (heap, stacks): the process's own, private (RssAnon).
    pub private_kib: u64,
    /// File-backed pages (RssFile) at their largest, split in two when they were sampled:
    /// the provider binary's own pages, and every shared library's (libvirt and the 56 libraries
    /// it loads, libc): code shared with every other process that maps them.
    pub file_kib: u64,
    pub binary_kib: u64,
    pub libraries_kib: u64,
}

impl Memory {
    pub fn max(self, o: Memory) -> Memory {
        let files = if o.file_kib > self.file_kib { o } else { self };
        Memory {
            private_kib: self.private_kib.max(o.private_kib),
            file_kib: files.file_kib,
            binary_kib: files.binary_kib,
            libraries_kib: files.libraries_kib,
        }
    }
}

impl Workdir {
    pub fn new(main_tf: &str) -> Workdir {
        Workdir::with_provider(main_tf, &provider_bin())
    }

    /// A configuration whose provider is `bin` (the plugin floor: see [`InstalledAs`]).
    pub fn with_provider(main_tf: &str, bin: &Path) -> Workdir {
        let dir = tempfile::Builder::new()
            .prefix("tfbench")
            .tempdir()
            .expect("temp dir");
        let cli = dir.path().join("cli.tfrc");
        let bin_dir = bin.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::write(
            &cli,
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"libvirt-lvm/libvirt\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                bin_dir.display()
            ),
        )
        .expect("cli config");
        std::fs::write(dir.path().join("main.tf"), main_tf).expect("main.tf");
        Workdir {
            dir,
            cli,
            bin: bin.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs `terraform <args>`, panicking with its output when it fails (a benchmark of a failing
    /// command measures nothing).
    pub fn run(&self, args: &[&str]) -> Timed {
        let (timed, ok, out) = self.try_run(args);
        assert!(ok, "terraform {}: failed\n{out}", args.join(" "));
        timed
    }

    /// Runs `terraform <args>`; returns the cost, success, and the combined output.
    pub fn try_run(&self, args: &[&str]) -> (Timed, bool, String) {
        let mut cmd = Command::new(terraform());
        cmd.args(args)
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", &self.cli)
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let cpu_before = children_cpu();
        let start = Instant::now();
        let child = cmd.spawn().expect("terraform starts");
        let sampler = PeakSampler::start(child.id(), &self.bin);
        let out = child.wait_with_output().expect("terraform runs");
        let wall = start.elapsed();
        let cpu_total = children_cpu().saturating_sub(cpu_before);
        let (provider_peak_kib, memory, cpu_provider) = sampler.stop();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (
            Timed {
                wall,
                provider_peak_kib,
                memory,
                cpu_total,
                cpu_provider,
            },
            out.status.success(),
            text,
        )
    }

    pub fn init(&self) {
        self.run(&["init", "-input=false", "-no-color"]);
    }
    pub fn apply(&self, parallelism: u32) -> Timed {
        self.run(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &format!("-parallelism={parallelism}"),
        ])
    }
    pub fn plan(&self, parallelism: u32) -> Timed {
        let t = self.run(&[
            "plan",
            "-input=false",
            "-no-color",
            "-detailed-exitcode",
            &format!("-parallelism={parallelism}"),
        ]);
        t
    }
    pub fn destroy(&self, parallelism: u32) -> Timed {
        self.run(&[
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &format!("-parallelism={parallelism}"),
        ])
    }
}

/// Samples, every few milliseconds, the peak RSS of the provider processes a terraform process
/// starts (its children running the provider binary), how it divides, and their CPU time.
struct PeakSampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u64, Memory, Duration)>,
}

impl PeakSampler {
    fn start(terraform_pid: u32, bin: &Path) -> PeakSampler {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let bin = bin.canonicalize().unwrap_or_else(|_| bin.to_path_buf());
        let thread = std::thread::spawn(move || {
            let mut peak = 0;
            let mut memory = Memory::default();
            // The last CPU time seen of each provider process.
            let mut cpu: std::collections::HashMap<u32, u64> = std::collections::HashMap::new();
            while !flag.load(Ordering::Relaxed) {
                for pid in children(terraform_pid) {
                    let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
                    if exe.as_deref() != Some(bin.as_path()) {
                        continue;
                    }
                    let status = Status::read(pid);
                    peak = peak.max(status.hwm_kib);
                    memory.private_kib = memory.private_kib.max(status.anon_kib);
                    // Splitting the file-backed pages reads the whole smaps: only when they
                    // grew noticeably past the last split.
                    if status.file_kib > memory.file_kib + 64 {
                        if let Some(binary_kib) = binary_rss_kib(pid, &bin) {
                            memory.file_kib = status.file_kib;
                            memory.binary_kib = binary_kib;
                            memory.libraries_kib = status.file_kib.saturating_sub(binary_kib);
                        }
                    }
                    if let Some(ticks) = cpu_ticks(pid) {
                        cpu.insert(pid, ticks);
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            // SAFETY: sysconf has no preconditions.
            let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
            let ticks: u64 = cpu.values().sum();
            (peak, memory, Duration::from_micros(ticks * 1_000_000 / hz))
        });
        PeakSampler { stop, thread }
    }

    fn stop(self) -> (u64, Memory, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap_or_default()
    }
}

/// The memory figures of `/proc/<pid>/status`, KiB (0 when unreadable).
struct Status {
    hwm_kib: u64,
    anon_kib: u64,
    file_kib: u64,
}

impl Status {
    fn read(pid: u32) -> Status {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            text.lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
                .unwrap_or(0)
        };
        Status {
            hwm_kib: field("VmHWM:"),
            anon_kib: field("RssAnon:"),
            file_kib: field("RssFile:"),
        }
    }
}

/// The resident pages of `bin`'s own mappings in `/proc/<pid>/smaps`, KiB.
fn binary_rss_kib(pid: u32, bin: &Path) -> Option<u64> {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).ok()?;
    let bin = bin.to_str()?;
    let mut in_binary = false;
    let mut total = 0;
    for line in smaps.lines() {
        // A mapping's header: "start-end perms offset dev inode [path]"; its fields follow.
        let first = line.split_whitespace().next().unwrap_or_default();
        if first.contains('-') && !first.ends_with(':') {
            in_binary = line.split_whitespace().nth(5) == Some(bin);
        } else if in_binary && first == "Rss:" {
            total += line
                .split_whitespace()
                .nth(1)
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(total)
}

/// The direct children of `pid` (from every thread's `children` list).
fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(list) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(list.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A `/proc/<pid>/status` figure in KiB (VmRSS:, VmHWM:), 0 when unreadable.
pub fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// CPU time (user + system) of this process's waited-for children and their waited-for children.
fn children_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Duration::ZERO;
    }
    let tv =
        |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}
