//! The provider itself: its configuration block, the context every resource
//! gets (the shared libvirt connection), and the list of types it serves.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::framework::resource::Failed;
use crate::framework::schema::{parse_duration, Attribute, Block, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::libvirt::conn::{redact_uri, ConnectOptions};
use crate::libvirt::{Connection, Error};
use crate::lvm::{self, transport::SshTarget, Channel};

/// The URI used when neither `uri` nor `LIBVIRT_DEFAULT_URI` is set.
pub const FALLBACK_URI: &str = "qemu:///system";

/// The provider's configuration schema.
pub fn schema() -> Schema {
    Schema::new(
        "Manages LVM storage on libvirt hypervisors: logical storage pools over volume groups, \
         logical volumes, and disks attached to running domains without restarting them.",
        vec![
            Attribute::string("uri")
                .optional()
                .validate(Validator::Str(validate_uri))
                .describe(
                    "libvirt connection URI, such as `qemu:///system`, `qemu+ssh://root@host/system` or \
                     `qemu+tls://host/system`. Defaults to the `LIBVIRT_DEFAULT_URI` environment variable, \
                     then `qemu:///system`. Passwords and secret parameters in the URI are never logged or shown in messages.",
                ),
            Attribute::string("connect_timeout")
                .optional()
                .validate(Validator::Str(validate_connect_timeout))
                .describe(
                    "How long opening the connection may take before the provider gives up with an error, \
                     as a duration such as `\"30s\"`. Defaults to `\"30s\"`.",
                ),
            Attribute::number("keepalive_interval")
                .optional()
                .validate(Validator::Int(|n| {
                    if (0..=3600).contains(&n) {
                        Ok(())
                    } else {
                        Err(format!("{n} is out of range: use 0 (off) to 3600 seconds."))
                    }
                }))
                .describe(
                    "Seconds between libvirt keepalive messages on remote connections; 0 turns keepalive \
                     off. With `keepalive_count`, bounds how long a dead hypervisor can stall an operation. \
                     Defaults to `5`.",
                ),
            Attribute::number("keepalive_count")
                .optional()
                .validate(Validator::Int(|n| {
                    if (1..=100).contains(&n) {
                        Ok(())
                    } else {
                        Err(format!("{n} is out of range: use 1 to 100."))
                    }
                }))
                .describe(
                    "Keepalive messages that may go unanswered before the connection is closed as dead. \
                     Defaults to `3`.",
                ),
        ],
    )
    .with_block(lvm_tools_block())
}

/// The `lvm_tools` block: how the provider reaches LVM's own tools on the hypervisor.
fn lvm_tools_block() -> Block {
    Block {
        name: "lvm_tools",
        description: "How the provider runs LVM's own tools on the hypervisor, beside libvirt: to see what libvirt's \
            logical backend does not show (thin pools, thin volumes, inactive LVs, snapshots, whether an LV is open) \
            before anything is deleted, and for what libvirt cannot do (growing a volume or a volume group in place, \
            thin pools, snapshots). Over ssh to the host a `qemu+ssh://` (or `qemu+libssh://`) URI names, with the \
            URI's user, port, `keyfile`, `known_hosts` and `no_verify`, host keys verified as libvirt's ssh \
            transport verifies them; on this machine for a local URI (`qemu:///system`); for `qemu+tcp://` and \
            `qemu+tls://` URIs only with `ssh_host`. A fixed set of commands (`lvm lvs`, `vgs`, `pvs`, `lvextend`, \
            `lvreduce`, `lvcreate`, `lvremove`, `lvconvert`, `vgextend`, `vgreduce`, `pvremove`, and `blkdiscard`), \
            each bounded by `command_timeout` on the hypervisor. Without the block the tools are used wherever the \
            URI says how and they answer; features that need them say so at plan otherwise."
            .into(),
        attributes: vec![
            Attribute::bool("enabled").optional().describe(
                "`true`: LVM's tools must be reachable (every operation that needs the hypervisor fails, naming why, \
                 when they are not); `false`: never use them (libvirt alone, with the limits the docs describe); \
                 unset: use them where the URI says how and `lvm version` answers.",
            ),
            Attribute::string("ssh_host")
                .optional()
                .validate(Validator::Str(validate_ssh_host))
                .describe(
                    "Host to run LVM's tools on over ssh, when the URI's transport is not ssh (`qemu+tcp`, \
                     `qemu+tls`) or to override the URI's host.",
                ),
            Attribute::number("ssh_port")
                .optional()
                .validate(Validator::Int(|n| {
                    if (1..=65535).contains(&n) {
                        Ok(())
                    } else {
                        Err(format!("{n} is not a TCP port: use 1 to 65535."))
                    }
                }))
                .describe("ssh port. Defaults to the URI's port for an ssh URI, else ssh's own default."),
            Attribute::string("ssh_user")
                .optional()
                .validate(Validator::Str(validate_ssh_user))
                .describe("ssh user. Defaults to the URI's user, else ssh's own default."),
            Attribute::string("ssh_keyfile")
                .optional()
                .describe("Private key file. Defaults to the URI's `keyfile`, else ssh's own defaults."),
            Attribute::string("ssh_known_hosts")
                .optional()
                .describe("known_hosts file. Defaults to the URI's `known_hosts`, else ssh's own defaults."),
            Attribute::bool("ssh_verify_host_key").optional().describe(
                "Whether the host key must be known and match. Defaults to `true`, or to `false` when the URI \
                 says `no_verify=1` (or `known_hosts_verify=ignore`), as libvirt does.",
            ),
            Attribute::bool("sudo").optional().describe(
                "Run `lvm` through `sudo -n` (never a password prompt): for an ssh user other than root, with a \
                 sudoers entry such as `terraform ALL=(root) NOPASSWD: /usr/sbin/lvm, /usr/sbin/blkdiscard`. \
                 Defaults to `false`.",
            ),
            Attribute::string("command_timeout")
                .optional()
                .validate(Validator::Str(validate_connect_timeout))
                .describe(
                    "How long one LVM command may run on the hypervisor before it is stopped (LVM waits for a volume \
                     group lock another process holds), as a duration such as `\"2m\"`. Defaults to `\"2m\"`.",
                ),
        ],
    }
}

fn validate_ssh_host(s: &str) -> Result<(), String> {
    if SshTarget::valid_host(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a host name or address: use letters, digits, '.', '-', ':' (an IPv6 address in [ ]), \
             not starting with '-'."
        ))
    }
}

fn validate_ssh_user(s: &str) -> Result<(), String> {
    if SshTarget::valid_user(s) {
        Ok(())
    } else {
        Err(format!(
            "{s:?} is not a user name: use letters, digits, '.', '-', '_', not starting with '-'."
        ))
    }
}

/// libvirt's hypervisor drivers and secondary drivers (the part of a URI scheme before `+`).
const URI_DRIVERS: &[&str] = &[
    "qemu",
    "test",
    "lxc",
    "xen",
    "libxl",
    "bhyve",
    "ch",
    "vz",
    "openvz",
    "vbox",
    "vmwareplayer",
    "vmwarews",
    "vmwarefusion",
    "esx",
    "gsx",
    "vpx",
    "hyperv",
    "storage",
    "network",
    "interface",
    "nodedev",
    "nwfilter",
    "secret",
    "remote",
];
/// libvirt's remote transports (the part of a URI scheme after `+`).
const URI_TRANSPORTS: &[&str] = &["tls", "tcp", "unix", "ssh", "libssh", "libssh2", "ext"];

fn validate_uri(s: &str) -> Result<(), String> {
    let examples =
        "write one such as \"qemu:///system\", \"qemu+ssh://user@host/system\" or \"qemu+tls://host/system\"";
    let shown = redact_uri(s).0;
    let scheme = match s.split_once(":/") {
        Some((scheme, _)) if !scheme.is_empty() && !s.chars().any(char::is_whitespace) => scheme,
        _ => return Err(format!("{shown:?} is not a libvirt URI: {examples}.")),
    };
    let (driver, transport) = scheme.split_once('+').unwrap_or((scheme, ""));
    if !URI_DRIVERS.contains(&driver) {
        return Err(format!(
            "{shown:?} names {driver:?}, which is not a libvirt driver: use one of {} (optionally with a \
             transport, such as qemu+ssh); {examples}.",
            URI_DRIVERS.join(", ")
        ));
    }
    if !transport.is_empty() && !URI_TRANSPORTS.contains(&transport) {
        return Err(format!(
            "{shown:?} names the transport {transport:?}, which libvirt does not have: use one of {}, as in \
             \"{driver}+ssh://user@host/system\".",
            URI_TRANSPORTS.join(", ")
        ));
    }
    Ok(())
}

fn validate_connect_timeout(s: &str) -> Result<(), String> {
    if parse_duration(s)?.is_zero() {
        return Err(format!(
            "{s:?} leaves no time to connect: use a duration greater than zero, such as \"30s\"."
        ));
    }
    Ok(())
}

#[derive(Deserialize)]
struct Config {
    uri: Option<String>,
    connect_timeout: Option<String>,
    keepalive_interval: Option<i64>,
    keepalive_count: Option<i64>,
    lvm_tools: Option<LvmToolsConfig>,
}

#[derive(Deserialize, Default)]
struct LvmToolsConfig {
    enabled: Option<bool>,
    ssh_host: Option<String>,
    ssh_port: Option<i64>,
    ssh_user: Option<String>,
    ssh_keyfile: Option<String>,
    ssh_known_hosts: Option<String>,
    ssh_verify_host_key: Option<bool>,
    sudo: Option<bool>,
    command_timeout: Option<String>,
}

/// What became of LVM's tools for this provider (decided at first use).
#[derive(Clone)]
enum Tools {
    /// Reachable: the channel.
    Ready(Arc<Channel>),
    /// Not used, and why (for messages that say how to enable them).
    Off(String),
    /// ssh refused the hypervisor's host key: never silently replaced by libvirt alone, since a
    /// changed key is what a machine in the middle looks like, and the user must decide.
    HostKeyRefused(String),
}

/// What every resource operation gets: the configured connection.
pub struct Ctx {
    uri: String,
    opts: ConnectOptions,
    conn: tokio::sync::OnceCell<Connection>,
    stopping: Arc<AtomicBool>,
    lvm_settings: lvm::Settings,
    lvm: tokio::sync::OnceCell<Tools>,
}

impl Ctx {
    /// Builds the context from the provider configuration (the connection
    /// opens when first needed, so `validate` and `plan` without hypervisor
    /// work never connect).
    pub fn configure(config: &Value, stopping: Arc<AtomicBool>) -> Result<Ctx, Diagnostics> {
        if !config.is_wholly_known() {
            return Err(Diagnostic::error(
                "Provider Configuration Not Known",
                "The libvirt provider's configuration depends on values known only after apply. \
                 Set uri and the other provider arguments from values known at plan time.",
            )
            .into());
        }
        let c: Config = crate::framework::typed::from_value(config).map_err(|e| {
            Diagnostics::from(Diagnostic::error("Invalid Provider Configuration", e.to_string()))
        })?;
        let uri = c
            .uri
            .or_else(|| {
                std::env::var("LIBVIRT_DEFAULT_URI")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| FALLBACK_URI.to_string());
        let mut opts = ConnectOptions::default();
        if let Some(t) = c.connect_timeout {
            opts.connect_timeout = parse_duration(&t).map_err(|e| {
                Diagnostics::from(Diagnostic::error("Invalid connect_timeout", e).at_attr("connect_timeout"))
            })?;
        }
        if let Some(n) = c.keepalive_interval {
            opts.keepalive_interval = n as i32;
        }
        if let Some(n) = c.keepalive_count {
            opts.keepalive_count = n as u32;
        }
        let t = c.lvm_tools.unwrap_or_default();
        let command_timeout = t
            .command_timeout
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error("Invalid lvm_tools.command_timeout", e)
                        .at(crate::framework::AttrPath::attr("lvm_tools").then_attr("command_timeout")),
                )
            })?;
        let lvm_settings = lvm::Settings {
            enabled: t.enabled,
            ssh_host: t.ssh_host,
            ssh_port: t.ssh_port.and_then(|p| u16::try_from(p).ok()),
            ssh_user: t.ssh_user,
            ssh_keyfile: t.ssh_keyfile,
            ssh_known_hosts: t.ssh_known_hosts,
            ssh_verify_host_key: t.ssh_verify_host_key,
            sudo: t.sudo == Some(true),
            command_timeout,
        };
        Ok(Ctx {
            uri,
            opts,
            conn: tokio::sync::OnceCell::new(),
            stopping,
            lvm_settings,
            lvm: tokio::sync::OnceCell::new(),
        })
    }

    /// LVM's tools on the hypervisor, when this provider can and may use them: decided at first
    /// use (the URI and the `lvm_tools` block say how; `lvm version` must answer) and kept for the
    /// provider's life. `Ok(None)`: not used (see [`Ctx::lvm_unavailable`] for why); an error only
    /// when `lvm_tools.enabled = true` and they cannot be used.
    pub async fn lvm(&self) -> Result<Option<Arc<Channel>>, Diagnostic> {
        let tools = self.lvm.get_or_init(|| self.open_lvm()).await;
        match (tools, self.lvm_settings.enabled) {
            (Tools::Ready(c), _) => Ok(Some(c.clone())),
            (Tools::Off(why), Some(true)) => Err(Diagnostic::error(
                "LVM Tools Not Reachable",
                format!("lvm_tools.enabled = true, but LVM's tools cannot be used: {why}"),
            )
            .at(crate::framework::AttrPath::attr("lvm_tools").then_attr("enabled"))),
            (Tools::Off(_), _) => Ok(None),
            (Tools::HostKeyRefused(why), _) => Err(Diagnostic::error(
                "Hypervisor Host Key Refused",
                format!(
                    "{why}. Nothing was run on the hypervisor. Verify the host key out of band; set \
                     lvm_tools.enabled = false to manage storage through libvirt alone."
                ),
            )
            .at_attr("lvm_tools")),
        }
    }

    /// Why LVM's tools are not used (after [`Ctx::lvm`] said so), with how to enable them.
    pub async fn lvm_unavailable(&self) -> String {
        match self.lvm.get_or_init(|| self.open_lvm()).await {
            Tools::Ready(_) => "they are available".into(),
            Tools::Off(why) | Tools::HostKeyRefused(why) => why.clone(),
        }
    }

    async fn open_lvm(&self) -> Tools {
        if self.lvm_settings.enabled == Some(false) {
            return Tools::Off("lvm_tools.enabled = false in the provider block".into());
        }
        let transport = match lvm::transport_for(&self.uri, &self.lvm_settings) {
            Ok(Ok(t)) => t,
            Ok(Err(why)) => return Tools::Off(why),
            Err(bad) => return Tools::Off(bad),
        };
        let channel = Arc::new(Channel::new(
            transport,
            self.lvm_settings.sudo,
            self.lvm_settings
                .command_timeout
                .unwrap_or(lvm::DEFAULT_COMMAND_TIMEOUT),
            self.opts.connect_timeout,
            redact_uri(&self.uri).1,
        ));
        let probe = channel.clone();
        match tokio::task::spawn_blocking(move || probe.probe()).await {
            Ok(Ok(())) => Tools::Ready(channel),
            Ok(Err(e @ lvm::Error::HostKey { .. })) => Tools::HostKeyRefused(e.to_string()),
            Ok(Err(e)) => {
                tracing::warn!("LVM's tools on {} are not used: {e}", channel.place());
                Tools::Off(format!("`lvm version` on {} failed: {e}", channel.place()))
            }
            Err(e) => Tools::Off(format!("probing LVM's tools: {e}")),
        }
    }

    /// A context for the test driver at `uri`, as `configure` makes it (tests).
    #[cfg(test)]
    pub(crate) fn for_tests(uri: &str) -> Ctx {
        let config = Value::object([
            ("uri", Value::from(uri)),
            ("connect_timeout", Value::Null),
            ("keepalive_interval", Value::Null),
            ("keepalive_count", Value::Null),
            ("lvm_tools", Value::Null),
        ]);
        Ctx::configure(&config, Arc::new(AtomicBool::new(false))).expect("a test context")
    }

    /// The shared connection, opened on first use.
    pub async fn conn(&self) -> Result<&Connection, Diagnostic> {
        self.conn
            .get_or_try_init(|| Connection::open(&self.uri, &self.opts, self.stopping.clone()))
            .await
            .map_err(Diagnostic::from)
    }

    /// Whether Terraform asked the provider to stop.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// The flag StopProvider sets, for long work that checks it as it goes (an image upload).
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stopping.clone()
    }

    /// How long to wait for the connection to open.
    pub fn connect_timeout(&self) -> Duration {
        self.opts.connect_timeout
    }
}

impl From<Error> for Diagnostic {
    fn from(e: Error) -> Self {
        let summary = match &e {
            // "Failed To Connect To" alone reads as cut short; the URI is in the detail.
            Error::Libvirt { op: "connect to", .. } => "Failed To Connect To The Hypervisor".to_string(),
            Error::Libvirt { op, .. } | Error::Stopped { op, .. } | Error::Internal { op, .. } => {
                format!("Failed To {}", title_case(op))
            }
            Error::ConnectTimeout { .. } => "Hypervisor Not Reachable".to_string(),
            Error::Xml { .. } => "Unexpected XML From libvirt".to_string(),
            Error::Definition { .. } => "Invalid Definition".to_string(),
            Error::Library(_) => "libvirt Client Library Missing".to_string(),
        };
        Diagnostic::error(summary, e.to_string())
    }
}

impl From<Error> for Diagnostics {
    fn from(e: Error) -> Self {
        Diagnostic::from(e).into()
    }
}

impl<S> From<Error> for Failed<S> {
    fn from(e: Error) -> Self {
        Diagnostic::from(e).into()
    }
}

fn title_case(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_summaries_read_as_whole_phrases() {
        let libvirt = |op| Error::Libvirt {
            op,
            object: "'x'".into(),
            code: crate::libvirt::error::Code::Connection,
            message: "m".into(),
        };
        assert_eq!(
            Diagnostic::from(libvirt("connect to")).summary,
            "Failed To Connect To The Hypervisor"
        );
        assert_eq!(
            Diagnostic::from(libvirt("define storage pool")).summary,
            "Failed To Define Storage Pool"
        );
    }

    #[test]
    fn uris() {
        for ok in [
            "qemu:///system",
            "qemu+ssh://root@host/system?keyfile=/k",
            "qemu+tcp://127.0.0.1:16509/system",
            "test:///default",
            "qemu+libssh://u@h:22/system",
            "xen:///",
        ] {
            assert_eq!(validate_uri(ok), Ok(()), "{ok}");
        }
        for (bad, says) in [
            ("not a uri", "qemu:///system"),
            ("", "qemu:///system"),
            ("http://host/system", "qemu, test"),
            ("qemu+carrier://host/system", "tls, tcp"),
            ("qemu+tcp://root:hunter2@host/system?x y", "qemu:///system"),
        ] {
            let e = validate_uri(bad).expect_err(bad);
            assert!(e.contains(says), "{bad}: {e}");
            assert!(!e.contains("hunter2"), "{e}");
        }
        assert!(validate_connect_timeout("0s")
            .expect_err("zero")
            .contains("greater than zero"));
        assert!(validate_connect_timeout("soon").is_err());
        assert_eq!(validate_connect_timeout("30s"), Ok(()));
    }
}
