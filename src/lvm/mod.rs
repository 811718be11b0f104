//! LVM's own tools on the hypervisor: the second way to it, beside libvirt ([`crate::libvirt`]).
//!
//! libvirt's logical backend shows only part of a volume group (no thin pools, thin volumes or
//! inactive LVs, nothing about whether an LV is open) and cannot grow an LV, extend a volume
//! group, or make thin pools and snapshots. LVM's tools do all of that. This layer runs a fixed
//! set of them ([`command::Command`]) with validated arguments, on this machine for a local URI
//! or over ssh to the host a `qemu+ssh://` URI names (or one the provider block names), each
//! bounded in time on both sides, and reads their JSON reports ([`report`]).
//!
//! A reader sees at once which calls go where: everything under `crate::libvirt` is a libvirt
//! call, everything here an LVM command. The libvirt layer's guards ask this one what libvirt
//! cannot see, inside their own piece of work (see `crate::libvirt::rules::vg`).
//!
//! - [`command`]: the commands and their argument vectors; shell quoting for ssh.
//! - [`report`]: `lvs`/`vgs`/`pvs` reports, typed.
//! - [`transport`]: running a command locally or over one shared ssh connection.
//! - [`Channel`]: a configured way to the hypervisor's LVM, and its typed calls.

pub mod command;
pub mod report;
pub mod transport;

use std::path::PathBuf;
use std::time::Duration;

use command::{BadArgument, Command};
use report::{BadReport, Lv, Pv, Vg};
use transport::{SshTarget, Transport};

/// Why a command did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An argument failed validation: nothing was run.
    #[error("refused before running: {0}")]
    BadArgument(#[from] BadArgument),
    /// The local program (ssh, or `timeout` for a local URI) could not be started.
    #[error("running {program} on this machine failed: {source}")]
    Spawn {
        /// The program.
        program: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// ssh refused the hypervisor's host key (unknown, or changed): nothing was run.
    #[error(
        "ssh to {target} refused the host key: {detail}. The host key must be in the known_hosts file (see \
         `ssh-keyscan` and verify it out of band), or set known_hosts / no_verify as libvirt's URI does"
    )]
    HostKey {
        /// `user@host:port`.
        target: String,
        /// ssh's message.
        detail: String,
    },
    /// ssh could not connect or log in: nothing was run.
    #[error("ssh to {target} failed: {detail}")]
    Ssh {
        /// `user@host:port`.
        target: String,
        /// ssh's message.
        detail: String,
    },
    /// The command did not finish in time and was stopped; a command that changes something
    /// may or may not have taken effect (the next read tells).
    #[error(
        "`{command}` did not finish within {seconds} s on {place} and was stopped (LVM waits for a volume group \
         lock another process holds; a hung device does the same){maybe}"
    )]
    TimedOut {
        /// The command.
        command: String,
        /// The bound.
        seconds: u64,
        /// Where it ran.
        place: String,
        /// For a change: that it may have taken effect.
        maybe: &'static str,
    },
    /// The command needs root, and runs as a user without it (or `sudo -n` was refused).
    #[error(
        "`{command}` was not permitted on {place}: {detail}. LVM's tools need root: connect as root, or set \
         lvm_tools.sudo = true with a sudoers entry that lets the user run lvm without a password"
    )]
    NotPermitted {
        /// The command.
        command: String,
        /// Where it ran.
        place: String,
        /// What was said.
        detail: String,
    },
    /// LVM refused or failed (its exit status and what it wrote on stderr).
    #[error("`{command}` failed on {place} (exit status {status}): {stderr}")]
    Failed {
        /// The command.
        command: String,
        /// Where it ran.
        place: String,
        /// LVM's exit status.
        status: i32,
        /// LVM's message, secrets removed.
        stderr: String,
    },
    /// A report that could not be read.
    #[error(transparent)]
    Report(#[from] BadReport),
}

impl Error {
    /// Whether the command may have changed something although it failed (stopped by a timeout,
    /// or its connection lost after it started).
    pub fn outcome_unknown(&self) -> bool {
        matches!(self, Error::TimedOut { maybe, .. } if !maybe.is_empty())
    }
}

/// How this provider reaches LVM's tools, and the limits it runs them under.
#[derive(Clone, Debug)]
pub struct Channel {
    transport: Transport,
    sudo: bool,
    command_timeout: Duration,
    connect_timeout: Duration,
    control: Option<PathBuf>,
    /// Strings that must never appear in messages (URI passwords and the like).
    secrets: Vec<String>,
}

impl Channel {
    /// A channel over `transport`.
    pub fn new(
        transport: Transport,
        sudo: bool,
        command_timeout: Duration,
        connect_timeout: Duration,
        secrets: Vec<String>,
    ) -> Self {
        let control = match transport {
            Transport::Ssh(_) => transport::control_dir(),
            Transport::Local => None,
        };
        Channel {
            transport,
            sudo,
            command_timeout,
            connect_timeout,
            control,
            secrets,
        }
    }

    /// Where the commands run, for messages.
    pub fn place(&self) -> String {
        match &self.transport {
            Transport::Local => "this machine".to_string(),
            Transport::Ssh(t) => format!("{} (over ssh)", t.describe()),
        }
    }

    /// The transport.
    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn redact(&self, s: &str) -> String {
        let mut out = s.trim().to_string();
        for secret in &self.secrets {
            out = out.replace(secret.as_str(), "***");
        }
        // Keep the message short: LVM repeats itself in warnings.
        let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
        let keep = lines.len().saturating_sub(8);
        lines[keep..].join("\n")
    }

    /// Runs `cmd` (blocking: call it off the async runtime) and returns its standard output.
    pub fn run(&self, cmd: &Command) -> Result<String, Error> {
        self.run_program("lvm", cmd.argv()?, &cmd.to_string(), cmd.reads_only())
    }

    fn run_program(
        &self,
        program: &str,
        args: Vec<String>,
        shown: &str,
        reads_only: bool,
    ) -> Result<String, Error> {
        let argv = transport::wrapped(program, args, self.command_timeout, self.sudo);
        let deadline = transport::local_deadline(self.command_timeout, self.connect_timeout);
        let started = std::time::Instant::now();
        let out = transport::run(
            &self.transport,
            &argv,
            self.connect_timeout,
            deadline,
            self.control.as_deref(),
        )
        .map_err(|source| Error::Spawn {
            program: match self.transport {
                Transport::Local => argv[0].clone(),
                Transport::Ssh(_) => "ssh".into(),
            },
            source,
        })?;
        tracing::debug!(
            command = shown,
            place = %self.place(),
            status = ?out.status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "LVM command"
        );
        let stderr = self.redact(&out.stderr);
        let timed_out = || Error::TimedOut {
            command: shown.to_string(),
            seconds: self.command_timeout.as_secs(),
            place: self.place(),
            maybe: if reads_only {
                ""
            } else {
                "; whether it took effect is unknown, the next read tells"
            },
        };
        match out.status {
            Some(0) => Ok(out.stdout),
            None | Some(124) | Some(137) => Err(timed_out()),
            Some(255) if matches!(self.transport, Transport::Ssh(_)) => {
                let target = match &self.transport {
                    Transport::Ssh(t) => t.describe(),
                    Transport::Local => String::new(),
                };
                if stderr.contains("Host key verification failed")
                    || stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
                    || stderr.contains("No ED25519 host key is known")
                    || stderr.contains("host key for")
                {
                    Err(Error::HostKey {
                        target,
                        detail: stderr,
                    })
                } else {
                    Err(Error::Ssh {
                        target,
                        detail: stderr,
                    })
                }
            }
            Some(status) => {
                let denied = stderr.contains("a password is required")
                    || stderr.contains("Running as a non-root user")
                    || stderr.contains("Permission denied")
                    || stderr.contains("not allowed to execute");
                if denied {
                    Err(Error::NotPermitted {
                        command: shown.to_string(),
                        place: self.place(),
                        detail: stderr,
                    })
                } else {
                    Err(Error::Failed {
                        command: shown.to_string(),
                        place: self.place(),
                        status,
                        stderr,
                    })
                }
            }
        }
    }

    /// Runs blocking work with this channel off the async runtime.
    pub async fn call<T, F>(self: &std::sync::Arc<Self>, f: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Channel) -> Result<T, Error> + Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me))
            .await
            .unwrap_or_else(|e| {
                Err(Error::Spawn {
                    program: "a blocking task".into(),
                    source: std::io::Error::other(e.to_string()),
                })
            })
    }

    /// `lvm version`: whether the tools answer, as whom they are configured to run.
    pub fn probe(&self) -> Result<(), Error> {
        self.run(&Command::Version).map(drop)
    }

    /// Every LV of `vg`, internal ones included.
    pub fn lvs(&self, vg: &str) -> Result<Vec<Lv>, Error> {
        let out = self.run(&Command::Lvs { vg: vg.to_string() })?;
        Ok(report::parse_lvs(&out)?)
    }

    /// The volume group `vg`, or `None` when there is none.
    pub fn vg(&self, vg: &str) -> Result<Option<Vg>, Error> {
        let out = self.run(&Command::Vgs {
            vg: Some(vg.to_string()),
        });
        match out {
            Ok(out) => Ok(report::parse_vgs(&out)?.into_iter().find(|v| v.name == vg)),
            Err(Error::Failed { stderr, .. }) if stderr.contains("not found") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The physical volumes on `devices` (by any of their names), or every one when empty.
    /// Devices that are no physical volume are left out.
    pub fn pvs(&self, devices: &[String]) -> Result<Vec<Pv>, Error> {
        let out = self.run(&Command::Pvs {
            devices: devices.to_vec(),
        });
        match out {
            Ok(out) => Ok(report::parse_pvs(&out)?),
            // LVM reports the devices it knows and fails for the others: what it did report is
            // the answer (a device that is no PV simply is not in it).
            Err(Error::Failed { stderr, .. }) if stderr.contains("Failed to find physical volume") => {
                self.pvs_each(devices)
            }
            Err(e) => Err(e),
        }
    }

    fn pvs_each(&self, devices: &[String]) -> Result<Vec<Pv>, Error> {
        let mut all = Vec::new();
        for d in devices {
            match self.run(&Command::Pvs {
                devices: vec![d.clone()],
            }) {
                Ok(out) => all.extend(report::parse_pvs(&out)?),
                Err(Error::Failed { stderr, .. }) if stderr.contains("Failed to find physical volume") => {}
                Err(e) => return Err(e),
            }
        }
        Ok(all)
    }
}

/// The `lvm_tools` settings of the provider block, before they meet the URI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `Some(false)`: never; `Some(true)`: required (an error when they cannot be reached);
    /// `None`: wherever the URI says how, and only when they answer.
    pub enabled: Option<bool>,
    /// ssh destination overrides (required for `qemu+tcp` and `qemu+tls` URIs).
    pub ssh_host: Option<String>,
    /// ssh port.
    pub ssh_port: Option<u16>,
    /// ssh user.
    pub ssh_user: Option<String>,
    /// ssh private key file.
    pub ssh_keyfile: Option<String>,
    /// ssh known_hosts file.
    pub ssh_known_hosts: Option<String>,
    /// Whether the host key is verified (default true).
    pub ssh_verify_host_key: Option<bool>,
    /// Run LVM through `sudo -n`.
    pub sudo: bool,
    /// Bound of one command on the hypervisor.
    pub command_timeout: Option<Duration>,
}

/// The default bound of one LVM command.
pub const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// Where LVM's tools are for a provider configured with `uri` and `settings`: `Ok(None)` when
/// nothing says how (with the reason, for messages), an error for settings that cannot be used.
pub fn transport_for(uri: &str, settings: &Settings) -> Result<Result<Transport, String>, String> {
    let parsed = UriParts::of(uri);
    if let Some(host) = &settings.ssh_host {
        if !SshTarget::valid_host(host) {
            return Err(format!(
                "lvm_tools.ssh_host {host:?} is not a host name or address"
            ));
        }
        let user = settings.ssh_user.clone().or_else(|| parsed.user.clone());
        if let Some(u) = user.as_deref().filter(|u| !SshTarget::valid_user(u)) {
            return Err(format!("lvm_tools.ssh_user {u:?} is not a user name"));
        }
        return Ok(Ok(Transport::Ssh(SshTarget {
            host: host.clone(),
            port: settings.ssh_port,
            user,
            keyfile: settings.ssh_keyfile.clone(),
            known_hosts: settings.ssh_known_hosts.clone(),
            verify_host_key: settings.ssh_verify_host_key.unwrap_or(true),
        })));
    }
    match parsed.transport.as_str() {
        "ssh" | "libssh" | "libssh2" => {
            let Some(host) = parsed.host.clone().filter(|h| SshTarget::valid_host(h)) else {
                return Ok(Err("the URI names no ssh host".into()));
            };
            let user = settings.ssh_user.clone().or(parsed.user.clone());
            if let Some(u) = user.as_deref().filter(|u| !SshTarget::valid_user(u)) {
                return Err(format!("the ssh user {u:?} is not a user name"));
            }
            let no_verify = parsed.query("no_verify").is_some_and(|v| v == "1")
                || parsed.query("known_hosts_verify").is_some_and(|v| v == "ignore");
            Ok(Ok(Transport::Ssh(SshTarget {
                host,
                port: settings.ssh_port.or(parsed.port),
                user,
                keyfile: settings
                    .ssh_keyfile
                    .clone()
                    .or_else(|| parsed.query("keyfile").map(str::to_string)),
                known_hosts: settings
                    .ssh_known_hosts
                    .clone()
                    .or_else(|| parsed.query("known_hosts").map(str::to_string)),
                verify_host_key: settings.ssh_verify_host_key.unwrap_or(!no_verify),
            })))
        }
        "" | "unix" if parsed.host.is_none() && parsed.driver != "test" => Ok(Ok(Transport::Local)),
        "tcp" | "tls" => Ok(Err(format!(
            "the URI's transport ({}) carries libvirt's calls only; LVM's tools need an ssh destination: set \
             lvm_tools {{ ssh_host = \"...\" }} in the provider block",
            parsed.transport
        ))),
        _ if parsed.driver == "test" => Ok(Err("libvirt's test driver has no LVM".into())),
        other => Ok(Err(format!(
            "the URI's transport {other:?} gives no way to run LVM's tools: set lvm_tools {{ ssh_host = \"...\" }}"
        ))),
    }
}

/// The parts of a libvirt URI the channel needs.
#[derive(Debug, Default)]
struct UriParts {
    driver: String,
    transport: String,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    query: Vec<(String, String)>,
}

impl UriParts {
    fn of(uri: &str) -> Self {
        let mut p = UriParts::default();
        let Some((scheme, rest)) = uri.split_once("://") else {
            return p;
        };
        let (driver, transport) = scheme.split_once('+').unwrap_or((scheme, ""));
        p.driver = driver.to_string();
        p.transport = transport.to_string();
        let (before_query, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = before_query.split('/').next().unwrap_or_default();
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        p.user = userinfo
            .map(|u| u.split(':').next().unwrap_or_default())
            .filter(|u| !u.is_empty())
            .map(|u| {
                percent_encoding::percent_decode_str(u)
                    .decode_utf8_lossy()
                    .into_owned()
            });
        let (host, port) = if hostport.starts_with('[') {
            match hostport.split_once("]:") {
                Some((h, port)) => (format!("{h}]"), port.parse().ok()),
                None => (hostport.to_string(), None),
            }
        } else {
            match hostport.rsplit_once(':') {
                Some((h, port)) => (h.to_string(), port.parse().ok()),
                None => (hostport.to_string(), None),
            }
        };
        p.host = (!host.is_empty()).then_some(host);
        p.port = port;
        p.query = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| {
                (
                    k.to_string(),
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned(),
                )
            })
            .collect();
        p
    }

    fn query(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ssh(uri: &str, settings: &Settings) -> SshTarget {
        match transport_for(uri, settings) {
            Ok(Ok(Transport::Ssh(t))) => t,
            other => panic!("{uri}: {other:?}"),
        }
    }

    #[test]
    fn ssh_uris_give_their_destination_and_verification() {
        let t = ssh(
            "qemu+ssh://root@hv1.example:2222/system?keyfile=/k/id%20x&known_hosts=/k/kh",
            &Settings::default(),
        );
        assert_eq!(
            t,
            SshTarget {
                host: "hv1.example".into(),
                port: Some(2222),
                user: Some("root".into()),
                keyfile: Some("/k/id x".into()),
                known_hosts: Some("/k/kh".into()),
                verify_host_key: true,
            }
        );
        assert!(!ssh("qemu+ssh://hv1/system?no_verify=1", &Settings::default()).verify_host_key);
        assert!(
            !ssh(
                "qemu+libssh://root@127.0.0.1:22/system?known_hosts_verify=ignore",
                &Settings::default()
            )
            .verify_host_key
        );
        let t = ssh("qemu+ssh://[fe80::1]:2200/system", &Settings::default());
        assert_eq!((t.host.as_str(), t.port), ("[fe80::1]", Some(2200)));
    }

    #[test]
    fn local_tcp_tls_and_test_uris() {
        assert_eq!(
            transport_for("qemu:///system", &Settings::default()),
            Ok(Ok(Transport::Local))
        );
        assert_eq!(
            transport_for("qemu+unix:///system", &Settings::default()),
            Ok(Ok(Transport::Local))
        );
        for uri in ["qemu+tcp://h/system", "qemu+tls://h/system", "test:///default"] {
            assert!(
                matches!(transport_for(uri, &Settings::default()), Ok(Err(_))),
                "{uri}"
            );
        }
        let explicit = Settings {
            ssh_host: Some("10.0.0.5".into()),
            ssh_port: Some(2222),
            ssh_user: Some("admin".into()),
            ..Default::default()
        };
        let t = ssh("qemu+tls://h/system", &explicit);
        assert_eq!(
            (t.host.as_str(), t.port, t.user.as_deref(), t.verify_host_key),
            ("10.0.0.5", Some(2222), Some("admin"), true)
        );
    }

    #[test]
    fn settings_that_could_become_options_are_refused() {
        for s in [
            Settings {
                ssh_host: Some("-oProxyCommand=id".into()),
                ..Default::default()
            },
            Settings {
                ssh_host: Some("h".into()),
                ssh_user: Some("-x".into()),
                ..Default::default()
            },
        ] {
            assert!(transport_for("qemu+tcp://h/system", &s).is_err(), "{s:?}");
        }
        assert!(transport_for("qemu+ssh://-oX@h/system", &Settings::default()).is_err());
    }

    #[test]
    fn messages_never_carry_secrets() {
        let c = Channel::new(
            Transport::Local,
            false,
            Duration::from_secs(1),
            Duration::from_secs(1),
            vec!["hunter2".into()],
        );
        assert_eq!(c.redact("a\n\nfailed: hunter2\n"), "a\nfailed: ***");
    }
}
