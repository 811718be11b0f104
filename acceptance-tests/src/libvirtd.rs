//! A private `libvirtd` serving libvirt's test driver on a Unix socket in a temporary directory,
//! for tests that need `test:///default` shared between processes (the test and the provider that
//! Terraform starts) without the lab.
//!
//! The daemon runs in libvirt's *session* mode: as root it is started under the `nobody` user (with
//! `setpriv`), so it keeps everything (sockets, driver state, pid file) in its own directory. A
//! daemon started as root would use /run/libvirt, which a second private daemon (another test,
//! `scripts/bench`) or the host's own libvirtd also uses, and its QEMU driver would refuse to start
//! without the `libvirt-qemu` user (measured: the daemon then exits). It is stopped by its PID
//! (checked against its command line) when the [`Libvirtd`] is dropped, also after a failed
//! assertion.
//!
//! The test driver's state lives only while a connection to it is open: hold one for as long as the
//! state matters (the provider's connections come and go with each terraform command).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::run_command;

/// A running private libvirtd; stopped when dropped.
pub struct Libvirtd {
    dir: Option<tempfile::TempDir>,
    pid: Option<u32>,
}

/// The user the daemon runs as when the test runs as root.
const UNPRIVILEGED: &str = "65534";

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

impl Libvirtd {
    /// Starts the daemon and waits (up to 20 s) until its socket answers.
    pub fn start() -> Result<Libvirtd, String> {
        let dir = tempfile::Builder::new()
            .prefix("tpl-test-libvirtd.")
            .tempdir()
            .map_err(|e| format!("temporary directory: {e}"))?;
        let root = dir.path().to_path_buf();
        let run = root.join("run");
        let home = root.join("home");
        for d in [&run, &home] {
            std::fs::create_dir(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let conf = root.join("libvirtd.conf");
        std::fs::write(
            &conf,
            format!(
                "unix_sock_dir = \"{}\"\nlisten_tls = 0\nlisten_tcp = 0\nauth_unix_rw = \"none\"\n\
                 auth_unix_ro = \"none\"\nlog_outputs = \"3:file:{}/libvirtd.log\"\n",
                run.display(),
                run.display()
            ),
        )
        .map_err(|e| format!("{}: {e}", conf.display()))?;
        let as_root = running_as_root();
        if as_root {
            // The unprivileged daemon must be able to reach its config and write its directories.
            let mut chmod = Command::new("chmod");
            chmod.arg("755").arg(&root);
            let mut chown = Command::new("chown");
            chown
                .arg("-R")
                .arg(format!("{UNPRIVILEGED}:{UNPRIVILEGED}"))
                .arg(&run)
                .arg(&home);
            for cmd in [chmod, chown] {
                let r = run_command(cmd, Duration::from_secs(10));
                if !r.ok() {
                    return Err(format!("preparing the daemon's directory failed:\n{r}"));
                }
            }
        }
        let mut cmd = if as_root {
            let mut c = Command::new("setpriv");
            c.args([
                &format!("--reuid={UNPRIVILEGED}"),
                &format!("--regid={UNPRIVILEGED}"),
                "--clear-groups",
                "libvirtd",
            ]);
            c
        } else {
            Command::new("libvirtd")
        };
        let pid_file = run.join("libvirtd.pid");
        cmd.arg("-d")
            .arg("--config")
            .arg(&conf)
            .arg("--pid-file")
            .arg(&pid_file)
            .current_dir(&root)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &run)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"));
        let r = run_command(cmd, Duration::from_secs(30));
        let mut daemon = Libvirtd {
            dir: Some(dir),
            pid: None,
        };
        if !r.ok() {
            return Err(format!("libvirtd did not start:\n{r}"));
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if daemon.pid.is_none() {
                daemon.pid = std::fs::read_to_string(&pid_file)
                    .ok()
                    .and_then(|s| s.trim().parse().ok());
            }
            if daemon.pid.is_some() && daemon.answers() {
                return Ok(daemon);
            }
            if Instant::now() > deadline {
                let log = std::fs::read_to_string(run.join("libvirtd.log")).unwrap_or_default();
                return Err(format!("libvirtd did not answer within 20 s; its log:\n{log}"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        let mut c = Command::new("virsh");
        c.args(["-q", "-c", &self.test_uri(), "version"]);
        run_command(c, Duration::from_secs(10)).ok()
    }

    fn root(&self) -> &Path {
        self.dir.as_ref().expect("daemon directory").path()
    }

    /// The daemon's Unix socket.
    pub fn socket(&self) -> PathBuf {
        self.root().join("run/libvirt-sock")
    }

    /// `test+unix:///default?socket=...`: the test driver's default world, served by this daemon.
    pub fn test_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.socket().display())
    }

    /// The daemon's PID.
    pub fn pid(&self) -> Option<u32> {
        self.pid
    }

    /// Whether `pid` is still this daemon (its command line names our config file).
    fn is_ours(&self, pid: u32) -> bool {
        let conf = self.root().join("libvirtd.conf");
        std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|c| {
                c.split(|b| *b == 0)
                    .any(|a| a == conf.as_os_str().as_encoded_bytes())
            })
            .unwrap_or(false)
    }

    /// Stops the daemon (SIGTERM by PID, then SIGKILL after 5 s) and removes its directory.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    fn stop_inner(&mut self) {
        if let Some(pid) = self.pid.take() {
            if self.is_ours(pid) {
                let signal = |sig: &str| {
                    let mut c = Command::new("kill");
                    c.args([sig, &pid.to_string()]);
                    run_command(c, Duration::from_secs(10))
                };
                signal("-TERM");
                let deadline = Instant::now() + Duration::from_secs(5);
                // A killed daemon may linger as a zombie here (PID 1 does not reap): that counts as gone.
                while self.is_ours(pid) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(50));
                }
                if self.is_ours(pid) {
                    signal("-KILL");
                }
            }
        }
        self.dir.take();
    }
}

impl Drop for Libvirtd {
    fn drop(&mut self) {
        self.stop_inner();
    }
}
