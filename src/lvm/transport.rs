//! How a command reaches LVM's tools: on this machine, or over ssh to the hypervisor.
//!
//! Every run is bounded twice: on the hypervisor by coreutils' `timeout`, which stops LVM itself
//! (LVM waiting for a volume group lock another process holds, or a command that hangs), and on
//! this side by a deadline after which the local process (the ssh client) is killed. Over ssh one
//! connection is shared by every command of this provider and of the provider processes Terraform
//! starts after it (OpenSSH's connection multiplexing, a private control socket per target and
//! options, closed by ssh itself after a minute without use): a command then costs one ssh session,
//! not a new handshake.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command as Process, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use super::command::remote_line;

/// How long ssh keeps a shared connection open after its last command.
const CONTROL_PERSIST: &str = "60";
/// What the hypervisor's `timeout` waits after its signal before killing LVM outright.
const KILL_AFTER: u64 = 5;
/// Slack on this side over the hypervisor's own bound: the ssh round trip and the kill.
const LOCAL_SLACK: Duration = Duration::from_secs(10);

/// Where LVM's tools run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// On this machine, with the provider's own privileges (or `sudo -n`).
    Local,
    /// On the hypervisor, over ssh.
    Ssh(SshTarget),
}

/// An ssh destination and how it is verified, as libvirt's `qemu+ssh` transport has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshTarget {
    /// Host name or address.
    pub host: String,
    /// Port (ssh's default when `None`).
    pub port: Option<u16>,
    /// Login user (ssh's default when `None`).
    pub user: Option<String>,
    /// Private key file.
    pub keyfile: Option<String>,
    /// known_hosts file (ssh's defaults when `None`).
    pub known_hosts: Option<String>,
    /// Whether the host key must be known and match (`no_verify=1` in a libvirt URI turns it off).
    pub verify_host_key: bool,
}

impl SshTarget {
    /// `user@host:port`, for messages.
    pub fn describe(&self) -> String {
        let user = self.user.as_deref().map(|u| format!("{u}@")).unwrap_or_default();
        let port = self.port.map(|p| format!(":{p}")).unwrap_or_default();
        format!("{user}{}{port}", self.host)
    }

    /// Whether a host name can be given to ssh as a destination: no option look-alike, no
    /// whitespace, control or shell characters.
    pub fn valid_host(host: &str) -> bool {
        !host.is_empty()
            && !host.starts_with('-')
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']' | '%'))
    }

    /// Whether a user name can be given to ssh.
    pub fn valid_user(user: &str) -> bool {
        !user.is_empty()
            && !user.starts_with('-')
            && user
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    }

    /// ssh's options for this target: batch mode (never a prompt), the key, the host key
    /// checks, the time limits, the shared connection.
    fn options(&self, connect_timeout: Duration, control: Option<&Path>) -> Vec<String> {
        let mut o = vec![
            "-T".to_string(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            format!("ConnectTimeout={}", connect_timeout.as_secs().max(1)),
            "-o".into(),
            "ServerAliveInterval=5".into(),
            "-o".into(),
            "ServerAliveCountMax=3".into(),
            "-o".into(),
            format!(
                "StrictHostKeyChecking={}",
                if self.verify_host_key { "yes" } else { "no" }
            ),
        ];
        if let Some(port) = self.port {
            o.extend(["-p".into(), port.to_string()]);
        }
        if let Some(user) = &self.user {
            o.extend(["-l".into(), user.clone()]);
        }
        if let Some(key) = &self.keyfile {
            o.extend(["-i".into(), key.clone(), "-o".into(), "IdentitiesOnly=yes".into()]);
        }
        if let Some(kh) = &self.known_hosts {
            o.extend(["-o".into(), format!("UserKnownHostsFile={kh}")]);
        }
        if let Some(dir) = control {
            o.extend([
                "-o".into(),
                "ControlMaster=auto".into(),
                "-o".into(),
                format!("ControlPath={}", dir.join(self.control_name()).display()),
                "-o".into(),
                format!("ControlPersist={CONTROL_PERSIST}"),
            ]);
        }
        o
    }

    /// The shared connection's socket name: a digest of everything that decides how the target
    /// is reached and verified, so that two configurations never share a connection one of them
    /// would not have made.
    fn control_name(&self) -> String {
        let mut h = Sha256::new();
        h.update(format!("{self:?}"));
        let d = h.finalize();
        d.iter().take(10).map(|b| format!("{b:02x}")).collect()
    }
}

/// What running a command gave.
#[derive(Debug)]
pub struct Output {
    /// The exit status (`None`: killed by this side's deadline).
    pub status: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The private directory of the shared ssh connections' sockets: made 0700 when missing, and used
/// only when it is this user's own and no one else can enter it. `None`: no sharing.
pub fn control_dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    // SAFETY: getuid has no preconditions and cannot fail.
    let uid = unsafe { libc::getuid() };
    let dir = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .filter(|d| d.is_dir())
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("tfpl-ssh-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    let private = meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o077 == 0;
    private.then_some(dir)
}

/// Runs `argv` (the command on the hypervisor, `timeout` included) through `transport`, waiting
/// at most `deadline`. stdin is empty: LVM never waits on a prompt (it answers no).
pub fn run(
    transport: &Transport,
    argv: &[String],
    connect_timeout: Duration,
    deadline: Duration,
    control: Option<&Path>,
) -> std::io::Result<Output> {
    let mut p = match transport {
        Transport::Local => {
            let mut p = Process::new(&argv[0]);
            p.args(&argv[1..]);
            p
        }
        Transport::Ssh(t) => {
            let mut p = Process::new("ssh");
            p.args(t.options(connect_timeout, control));
            p.arg("--").arg(&t.host).arg(remote_line(argv));
            p
        }
    };
    let mut child = p
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut s);
            }
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = drain(child.stdout.take().map(|o| Box::new(o) as Box<dyn Read + Send>));
    let err = drain(child.stderr.take().map(|e| Box::new(e) as Box<dyn Read + Send>));
    let until = Instant::now() + deadline;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s.code();
        }
        if Instant::now() >= until {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Ok(Output {
        status,
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// The hypervisor-side command for LVM's arguments: bounded by `timeout`, as root or through
/// `sudo -n` (never a password prompt). `sudo` comes after `timeout`, so that a sudoers entry
/// need only name `lvm` itself.
pub fn wrapped(program: &str, args: Vec<String>, limit: Duration, sudo: bool) -> Vec<String> {
    let mut v = vec![
        "timeout".to_string(),
        format!("--kill-after={KILL_AFTER}"),
        limit.as_secs().max(1).to_string(),
    ];
    if sudo {
        v.extend(["sudo".to_string(), "-n".to_string()]);
    }
    v.push(program.to_string());
    v.extend(args);
    v
}

/// How long this side waits for a command bounded by `limit` on the hypervisor.
pub fn local_deadline(limit: Duration, connect_timeout: Duration) -> Duration {
    limit + Duration::from_secs(KILL_AFTER) + connect_timeout + LOCAL_SLACK
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SshTarget {
        SshTarget {
            host: "hv1.example".into(),
            port: Some(2222),
            user: Some("root".into()),
            keyfile: Some("/home/me/.ssh/id_ed25519".into()),
            known_hosts: Some("/home/me/kh".into()),
            verify_host_key: true,
        }
    }

    #[test]
    fn ssh_options_verify_the_host_and_never_prompt() {
        let o = target().options(Duration::from_secs(30), None).join(" ");
        for want in [
            "BatchMode=yes",
            "StrictHostKeyChecking=yes",
            "-p 2222",
            "-l root",
            "-i /home/me/.ssh/id_ed25519",
            "UserKnownHostsFile=/home/me/kh",
            "ConnectTimeout=30",
        ] {
            assert!(o.contains(want), "{want} in {o}");
        }
        assert!(!o.contains("ControlPath"));
        let off = SshTarget {
            verify_host_key: false,
            ..target()
        };
        assert!(off
            .options(Duration::from_secs(1), None)
            .join(" ")
            .contains("StrictHostKeyChecking=no"));
    }

    #[test]
    fn shared_connections_are_per_target_and_verification() {
        let dir = Path::new("/run/x");
        let a = target().options(Duration::from_secs(1), Some(dir)).join(" ");
        assert!(
            a.contains("ControlMaster=auto") && a.contains("ControlPersist=60"),
            "{a}"
        );
        let other_key = SshTarget {
            known_hosts: Some("/elsewhere".into()),
            ..target()
        };
        assert_ne!(target().control_name(), other_key.control_name());
        assert_eq!(target().control_name(), target().control_name());
        assert!(dir.join(target().control_name()).as_os_str().len() < 100);
    }

    #[test]
    fn hosts_and_users_that_could_be_options_are_invalid() {
        for ok in ["hv1", "10.0.0.1", "[fe80::1%eth0]", "host-1.example.com"] {
            assert!(SshTarget::valid_host(ok), "{ok}");
        }
        for bad in ["-oProxyCommand=x", "", "a b", "h;id", "h$(x)"] {
            assert!(!SshTarget::valid_host(bad), "{bad}");
        }
        assert!(SshTarget::valid_user("root"));
        assert!(!SshTarget::valid_user("-l"));
        assert!(!SshTarget::valid_user("a b"));
    }

    #[test]
    fn the_hypervisor_bounds_every_command_and_sudo_names_lvm_only() {
        let v = wrapped("lvm", vec!["lvs".into()], Duration::from_secs(60), true);
        assert_eq!(v, ["timeout", "--kill-after=5", "60", "sudo", "-n", "lvm", "lvs"]);
        let v = wrapped("lvm", vec!["version".into()], Duration::from_millis(10), false);
        assert_eq!(v, ["timeout", "--kill-after=5", "1", "lvm", "version"]);
    }

    /// A command that outlives this side's deadline is killed, and says so.
    #[test]
    fn a_local_command_past_its_deadline_is_killed() {
        let out = run(
            &Transport::Local,
            &["sleep".to_string(), "30".to_string()],
            Duration::from_secs(1),
            Duration::from_millis(200),
            None,
        )
        .expect("runs");
        assert_eq!(out.status, None, "killed, not finished");
        let out = run(
            &Transport::Local,
            &["sh".into(), "-c".into(), "echo out; echo err >&2; exit 3".into()],
            Duration::from_secs(1),
            Duration::from_secs(20),
            None,
        )
        .expect("runs");
        assert_eq!(
            (out.status, out.stdout.trim(), out.stderr.trim()),
            (Some(3), "out", "err")
        );
    }
}
