//! Running terraform against a work directory, timing it, and sampling the provider's memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
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

/// One Terraform configuration in its own directory, with a CLI config that installs the provider
/// from its build directory (the shared runner's `dev_overrides`: nothing from the network).
pub struct Workdir {
    dir: tfrun::TfDir,
    /// The binary Terraform runs as the provider (its processes are the ones sampled).
    bin: PathBuf,
    /// Extra environment for terraform (and so for the provider it starts).
    env: Vec<(String, String)>,
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
    /// CPU time of the provider processes alone: exact from the kernel's exit records
    /// ([`crate::taskstats`]), else sampled from `/proc` (10 ms ticks, short processes missed).
    pub cpu_provider: Duration,
    /// CPU time the hypervisor's daemon spent meanwhile (see [`hypervisor_cpu`]), when known.
    pub cpu_hypervisor: Option<Duration>,
}

/// CPU time so far of the libvirtd serving the bench (`BENCH_LIBVIRTD_PID`, set by `scripts/bench`
/// for bed A's private daemon): the sum over its threads of the scheduler's nanoseconds on a CPU
/// (`/proc/PID/task/*/schedstat`). `None` when there is no such daemon to watch. What libvirtd
/// spends answering a subject's calls competes with terraform and the provider for the same cores.
pub fn hypervisor_cpu() -> Option<Duration> {
    let pid = std::env::var("BENCH_LIBVIRTD_PID").ok()?;
    let tasks = std::fs::read_dir(format!("/proc/{}/task", pid.trim())).ok()?;
    let mut ns: u64 = 0;
    for t in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(t.path().join("schedstat")) {
            ns += text
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Some(Duration::from_nanos(ns))
}

/// The hypervisor's CPU time spent while `f` ran, with what `f` returned.
pub fn with_hypervisor_cpu<T>(f: impl FnOnce() -> T) -> (T, Option<Duration>) {
    let before = hypervisor_cpu();
    let out = f();
    let spent = match (before, hypervisor_cpu()) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b)),
        _ => None,
    };
    (out, spent)
}

/// The memory of a provider process, KiB, from `/proc/<pid>/smaps`: the largest values sampled.
#[derive(Clone, Copy, Debug, Default)]
pub struct Memory {
    /// Pages only this process has written (Private_Dirty, plus any Shared_Dirty): heap, stacks,
    /// and the relocated data of the binary and of every library it loaded. What the process
    /// costs the machine on its own.
    pub private_kib: u64,
    /// Clean file pages (code, read-only data), split when they were sampled at their largest:
    /// the provider binary's own, and every shared library's (libvirt and the libraries it loads,
    /// libc). These are the page cache's, shared with every other process that maps the same
    /// files (the kernel's fault-around maps up to 64 KiB around each page touched).
    pub clean_kib: u64,
    pub binary_kib: u64,
    pub libraries_kib: u64,
}

impl Memory {
    pub fn max(self, o: Memory) -> Memory {
        let clean = if o.clean_kib > self.clean_kib { o } else { self };
        Memory {
            private_kib: self.private_kib.max(o.private_kib),
            clean_kib: clean.clean_kib,
            binary_kib: clean.binary_kib,
            libraries_kib: clean.libraries_kib,
        }
    }
}

impl Workdir {
    pub fn new(main_tf: &str) -> Workdir {
        Workdir::with_provider(main_tf, &provider_bin())
    }

    /// A configuration whose provider is `bin` (the plugin floor: see [`InstalledAs`]).
    pub fn with_provider(main_tf: &str, bin: &Path) -> Workdir {
        let bin_dir = bin.parent().map(Path::to_path_buf).unwrap_or_default();
        let dir = tfrun::TfDir::new("tfbench", &bin_dir).expect("temp dir");
        dir.write_main(main_tf).expect("main.tf");
        Workdir {
            dir,
            bin: bin.to_path_buf(),
            env: Vec::new(),
        }
    }

    /// The same, with `key=value` in terraform's environment (the provider inherits it).
    pub fn with_env(mut self, key: &str, value: &str) -> Workdir {
        self.env.push((key.to_string(), value.to_string()));
        self
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
        let mut cmd = self.dir.command(args);
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let exits = crate::taskstats::ExitCpu::get();
        let cpu_before = children_cpu();
        let hypervisor_before = hypervisor_cpu();
        let start = Instant::now();
        let child = cmd.spawn().expect("terraform starts");
        let pid = child.id();
        if let Some(e) = exits {
            e.watch(pid);
        }
        let sampler = PeakSampler::start(pid, &self.bin);
        let out = child.wait_with_output().expect("terraform runs");
        let wall = start.elapsed();
        let cpu_total = children_cpu().saturating_sub(cpu_before);
        let (provider_peak_kib, memory, sampled_cpu) = sampler.stop();
        // Exact when the kernel reports exits (taskstats), else sampled.
        let cpu_provider = exits.and_then(|e| e.children_of(pid)).unwrap_or(sampled_cpu);
        let cpu_hypervisor = match (hypervisor_before, hypervisor_cpu()) {
            (Some(b), Some(a)) => Some(a.saturating_sub(b)),
            _ => None,
        };
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
                cpu_hypervisor,
            },
            out.status.success(),
            text,
        )
    }

    /// Replaces the configuration.
    pub fn write(&self, main_tf: &str) {
        self.dir.write_main(main_tf).expect("main.tf");
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
                    peak = peak.max(status_kib(pid, "VmHWM:"));
                    let Some(rollup) = Smaps::read(pid, "smaps_rollup", &bin) else {
                        continue;
                    };
                    memory.private_kib = memory.private_kib.max(rollup.dirty_kib);
                    // Splitting the clean pages between the binary and the libraries reads the
                    // whole smaps: only when they grew noticeably past the last split.
                    if rollup.clean_kib > memory.clean_kib + 64 {
                        if let Some(full) = Smaps::read(pid, "smaps", &bin) {
                            memory.clean_kib = full.clean_kib;
                            memory.binary_kib = full.binary_clean_kib;
                            memory.libraries_kib = full.clean_kib.saturating_sub(full.binary_clean_kib);
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

/// Sums over a process's mappings (`/proc/<pid>/smaps` or `smaps_rollup`), KiB.
struct Smaps {
    /// Private_Dirty + Shared_Dirty.
    dirty_kib: u64,
    /// Rss minus the dirty pages.
    clean_kib: u64,
    /// The clean pages of mappings of `bin` (0 from smaps_rollup, which has no mappings).
    binary_clean_kib: u64,
}

impl Smaps {
    fn read(pid: u32, file: &str, bin: &Path) -> Option<Smaps> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
        let bin = bin.to_str()?;
        let (mut rss, mut dirty, mut binary_rss, mut binary_dirty) = (0, 0, 0, 0);
        let mut in_binary = false;
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let first = fields.next().unwrap_or_default();
            if !first.ends_with(':') {
                // A mapping's header: "start-end perms offset dev inode [path]".
                in_binary = line.split_whitespace().nth(5) == Some(bin);
                continue;
            }
            let kib: u64 = fields.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            match first {
                "Rss:" => {
                    rss += kib;
                    if in_binary {
                        binary_rss += kib;
                    }
                }
                "Private_Dirty:" | "Shared_Dirty:" => {
                    dirty += kib;
                    if in_binary {
                        binary_dirty += kib;
                    }
                }
                _ => {}
            }
        }
        Some(Smaps {
            dirty_kib: dirty,
            clean_kib: rss.saturating_sub(dirty),
            binary_clean_kib: binary_rss.saturating_sub(binary_dirty),
        })
    }
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
