//! One libvirt connection per configured provider, shared by concurrent RPCs.
//!
//! Every libvirt call blocks, so each goes through [`Connection::run`], which
//! runs it on tokio's blocking pool. libvirt's keepalive needs an event loop:
//! we register one of our own ([`super::events`]) on a thread of its own, so
//! that a dead hypervisor turns into an error instead of a hang.
//!
//! When the connection dies (libvirtd restarted, keepalive timed out), the
//! next call opens a new one. A call that was under way when it died is
//! repeated on the new connection only when it is read-only ([`read_only`]):
//! a create, start or delete whose reply was lost may or may not have
//! happened, so it fails with an error that says so
//! ([`Error::is_connection_lost`]) and the resource decides what to record.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once, RwLock};
use std::time::Duration;

use virt::connect::Connect;

use super::coalesce::Coalesced;
use super::error::{Code, Error, Result};

/// How often a call waiting for its reply checks that the connection is alive.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// How to open and keep a connection.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// How long opening the connection may take.
    pub connect_timeout: Duration,
    /// Seconds between keepalive messages (0 disables keepalive).
    pub keepalive_interval: i32,
    /// Unanswered keepalive messages before the connection is declared dead.
    pub keepalive_count: u32,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            connect_timeout: Duration::from_secs(30),
            keepalive_interval: 5,
            keepalive_count: 3,
        }
    }
}

/// A shared connection to one hypervisor.
#[derive(Clone)]
pub struct Connection {
    inner: Arc<Inner>,
}

struct Inner {
    /// The URI as configured (may hold credentials: never shown).
    uri: String,
    opts: ConnectOptions,
    /// The live libvirt connection and how many times it was opened.
    current: RwLock<(u64, Arc<Connect>)>,
    /// Held while a new connection is opened, so that calls failing together
    /// reconnect once. Holds the last failed attempt: calls within
    /// `connect_timeout` of it fail at once with its message instead of each
    /// waiting out another timeout on a hypervisor that does not answer.
    reconnecting: tokio::sync::Mutex<Option<(tokio::time::Instant, String)>>,
    /// The URI as it may be shown: credentials replaced by `***`.
    display_uri: String,
    /// Strings that must never appear in messages (URI passwords and the like).
    secrets: Vec<String>,
    /// Set by StopProvider: no new work is started.
    stopping: Arc<AtomicBool>,
    /// Reads that concurrent RPCs share (see [`super::coalesce`]).
    shared: Shared,
    /// When the last call that may have changed something (anything [`read_only`] does not name)
    /// ended: a pool refreshed before then may not show that change yet.
    last_change: std::sync::Mutex<Option<std::time::Instant>>,
    /// How many pieces of blocking libvirt work [`Connection::run`] started.
    runs: std::sync::atomic::AtomicU64,
}

/// The reads concurrent RPCs share: pool lookups by (UUID, name), the domain list, and the last
/// scan of the host's volume groups with when it started.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) pools: Coalesced<(Option<String>, String), Option<super::storage::PoolInfo>>,
    pub(super) domains: Coalesced<(), Vec<super::domain::DomainInfo>>,
    pub(super) sources: tokio::sync::Mutex<Option<(std::time::Instant, super::storage::Sources)>>,
}

/// libvirt's default handler prints every error; stdout carries the plugin
/// handshake, so it must be silenced before anything else touches libvirt.
/// Then the event loop keepalive needs is registered (see [`super::events`]).
pub fn init_libvirt() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        virt::error::clear_error_callback();
        if let Err(e) = super::events::register() {
            // Without an event loop libvirt still works, only without keepalive.
            tracing::warn!("no event loop for libvirt's keepalive: {e}");
        }
    });
}

/// Whether the operation named `op` only reads, so that repeating it after the
/// connection was lost cannot do anything twice. Operation names start with
/// their verb ("look up storage volume", "create storage volume"); anything
/// not listed here is treated as a change and never repeated.
pub fn read_only(op: &str) -> bool {
    ["look up ", "list ", "read ", "find ", "refresh "]
        .iter()
        .any(|verb| op.starts_with(verb))
}

/// Opens `uri` and sets keepalive, giving up after `opts.connect_timeout`.
async fn open_connect(
    uri: &str,
    display_uri: &str,
    secrets: &[String],
    opts: &ConnectOptions,
) -> Result<Connect> {
    super::loader::load()?;
    init_libvirt();
    let owned_uri = uri.to_string();
    let (interval, count) = (opts.keepalive_interval, opts.keepalive_count);
    let object = display_uri.to_string();
    let task = tokio::task::spawn_blocking(move || -> Result<Connect> {
        let conn =
            Connect::open(Some(&owned_uri)).map_err(|e| Error::libvirt("connect to", object.clone(), e))?;
        // Local drivers (test://, qemu:///) do not support keepalive; that is fine.
        if interval > 0 && conn.is_encrypted().is_ok() {
            let _ = conn.set_keep_alive(interval, count);
        }
        Ok(conn)
    });
    let joined = match tokio::time::timeout(opts.connect_timeout, task).await {
        Ok(joined) => joined,
        // The blocking thread finishes on its own (libvirt gives up on its
        // socket eventually, or the hypervisor answers and the connection is
        // dropped); nobody waits for it.
        Err(_) => {
            return Err(Error::ConnectTimeout {
                uri: display_uri.to_string(),
                seconds: opts.connect_timeout.as_secs(),
            })
        }
    };
    joined
        .map_err(|e| Error::Internal {
            op: "connect to",
            object: display_uri.to_string(),
            message: e.to_string(),
        })?
        .map_err(|e| e.redact(secrets))
}

impl Connection {
    /// Opens a connection to `uri`, failing after `opts.connect_timeout`.
    pub async fn open(uri: &str, opts: &ConnectOptions, stopping: Arc<AtomicBool>) -> Result<Self> {
        let (display_uri, secrets) = redact_uri(uri);
        let conn = open_connect(uri, &display_uri, &secrets, opts).await?;
        Ok(Connection {
            inner: Arc::new(Inner {
                uri: uri.to_string(),
                opts: opts.clone(),
                current: RwLock::new((0, Arc::new(conn))),
                reconnecting: tokio::sync::Mutex::new(None),
                display_uri,
                secrets,
                stopping,
                shared: Shared::default(),
                last_change: std::sync::Mutex::new(None),
                runs: Default::default(),
            }),
        })
    }

    /// Reads shared between concurrent RPCs.
    pub(super) fn shared(&self) -> &Shared {
        &self.inner.shared
    }

    /// The URI as it may be shown to users and in logs.
    pub fn display_uri(&self) -> &str {
        &self.inner.display_uri
    }

    fn current(&self) -> (u64, Arc<Connect>) {
        let guard = self.inner.current.read().unwrap_or_else(|p| p.into_inner());
        (guard.0, guard.1.clone())
    }

    /// The live connection: the current one, or a new one when the current
    /// one has died (opened once for all the calls that notice together).
    async fn live(&self) -> Result<(u64, Arc<Connect>)> {
        let (generation, conn) = self.current();
        if conn.is_alive().unwrap_or(false) {
            return Ok((generation, conn));
        }
        let mut last_failure = self.inner.reconnecting.lock().await;
        let (now, conn) = self.current();
        if now != generation && conn.is_alive().unwrap_or(false) {
            return Ok((now, conn));
        }
        let i = &self.inner;
        if let Some((at, message)) = last_failure.as_ref() {
            if at.elapsed() < i.opts.connect_timeout {
                return Err(Error::Libvirt {
                    op: "reconnect to hypervisor",
                    object: i.display_uri.clone(),
                    code: Code::Connection,
                    message: format!(
                        "the connection was lost and reconnecting failed {} s ago: {message}",
                        at.elapsed().as_secs()
                    ),
                });
            }
        }
        tracing::warn!(uri = %i.display_uri, "the connection to the hypervisor was lost; reconnecting");
        match open_connect(&i.uri, &i.display_uri, &i.secrets, &i.opts).await {
            Ok(fresh) => {
                *last_failure = None;
                let fresh = Arc::new(fresh);
                let mut guard = i.current.write().unwrap_or_else(|p| p.into_inner());
                *guard = (now + 1, fresh.clone());
                Ok((now + 1, fresh))
            }
            Err(e) => {
                *last_failure = Some((tokio::time::Instant::now(), e.to_string()));
                Err(e)
            }
        }
    }

    /// Runs blocking libvirt work off the async runtime.
    ///
    /// `op` and `object` name the work for errors. A call refused because the
    /// pool has another job running is repeated (libvirt refuses before doing
    /// anything, so repeating is safe) for up to a minute. A call that fails
    /// because the connection died is repeated once on a new connection when
    /// [`read_only`] says `op` only reads; otherwise its error says that the
    /// outcome is unknown ([`Error::is_connection_lost`]).
    pub async fn run<T, F>(&self, op: &'static str, object: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connect) -> Result<T> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let mut delay = Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut repeated_after_loss = false;
        loop {
            if self.inner.stopping.load(Ordering::SeqCst) {
                return Err(Error::Stopped {
                    op,
                    object: object.to_string(),
                });
            }
            let (_, conn) = self.live().await?;
            self.inner.runs.fetch_add(1, Ordering::Relaxed);
            let f2 = f.clone();
            let span = tracing::debug_span!("libvirt", op, object);
            let started = std::time::Instant::now();
            let watched = conn.clone();
            let mut call = tokio::task::spawn_blocking(move || {
                let r = span.in_scope(|| f2(&conn));
                // Asked right away: only a call that failed on a dead
                // connection counts as lost.
                let lost = r.is_err() && !conn.is_alive().unwrap_or(false);
                (r, lost)
            });
            // libvirt's keepalive marks a dead connection closed, but a call
            // blocked waiting for its reply is not always woken (seen with
            // libvirt 9.0 on a frozen host: calls stuck for minutes while
            // keepalive had long declared the connection dead). So the wait
            // is watched: once the connection is dead, the call is abandoned
            // (its thread returns whenever libvirt lets it) and reported lost.
            let joined = loop {
                tokio::select! {
                    joined = &mut call => break Some(joined),
                    () = tokio::time::sleep(WATCH_INTERVAL) => {
                        if !watched.is_alive().unwrap_or(false) {
                            break None;
                        }
                    }
                }
            };
            let (result, lost) = match joined {
                Some(Ok((r, lost))) => (r, lost),
                Some(Err(e)) => (
                    Err(Error::Internal {
                        op,
                        object: object.to_string(),
                        message: e.to_string(),
                    }),
                    false,
                ),
                None => (
                    Err(Error::Libvirt {
                        op,
                        object: object.to_string(),
                        code: Code::Connection,
                        message: "no reply before the connection was closed as dead (keepalive timeout)"
                            .into(),
                    }),
                    true,
                ),
            };
            let result = result.map_err(|e| e.redact(&self.inner.secrets));
            if !read_only(op) {
                *self.inner.last_change.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(std::time::Instant::now());
            }
            tracing::trace!(
                op,
                object,
                elapsed_ms = started.elapsed().as_millis() as u64,
                ok = result.is_ok(),
                "libvirt call"
            );
            match result {
                Err(e) if lost && read_only(op) && !repeated_after_loss => {
                    tracing::warn!(op, object, "connection lost, repeating on a new connection: {e}");
                    repeated_after_loss = true;
                }
                Err(e) if lost => return Err(e.connection_lost(&self.inner.display_uri)),
                Err(e) if e.is_busy() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(op, object, "libvirt busy, retrying: {e}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// Whether nothing was changed on the hypervisor through this connection since `at`: a read
    /// that started at `at` still shows everything this provider did.
    pub fn unchanged_since(&self, at: std::time::Instant) -> bool {
        let last_change = *self.inner.last_change.lock().unwrap_or_else(|p| p.into_inner());
        last_change.is_none_or(|c| at >= c)
    }

    /// How many pieces of blocking libvirt work this connection started (each one or a few libvirt
    /// calls): what tests count to check that a read was shared or reused.
    pub fn runs(&self) -> u64 {
        self.inner.runs.load(Ordering::Relaxed)
    }

    /// Whether the connection still answers.
    pub fn is_alive(&self) -> bool {
        self.current().1.is_alive().unwrap_or(false)
    }
}

impl Error {
    /// Marks an error as having happened on a connection that died.
    fn connection_lost(self, display_uri: &str) -> Self {
        match self {
            Error::Libvirt {
                op, object, message, ..
            } => Error::Libvirt {
                op,
                object,
                code: Code::ConnectionLost,
                message: format!(
                    "{message} (the connection to {display_uri} was lost during the call; whether it took \
                     effect is unknown)"
                ),
            },
            other => other,
        }
    }
}

/// Splits a libvirt URI into a form safe to show and the secrets it holds:
/// the password of `user:password@host`, and the values of query parameters
/// whose names suggest a secret (`password`, `passphrase`, `secret`, `token`).
pub fn redact_uri(uri: &str) -> (String, Vec<String>) {
    let mut secrets = Vec::new();
    let mut shown = uri.to_string();
    if let Some(scheme_end) = uri.find("://") {
        let rest = &uri[scheme_end + 3..];
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            if let Some(colon) = authority[..at].find(':') {
                let password = &authority[colon + 1..at];
                if !password.is_empty() {
                    secrets.push(password.to_string());
                }
            }
        }
    }
    if let Some(q) = uri.find('?') {
        for pair in uri[q + 1..].split('&') {
            if let Some((k, v)) = pair.split_once('=') {
                let k = k.to_ascii_lowercase();
                if ["pass", "secret", "token", "key_pass"]
                    .iter()
                    .any(|s| k.contains(s))
                    && !v.is_empty()
                {
                    secrets.push(v.to_string());
                }
            }
        }
    }
    for s in &secrets {
        shown = shown.replace(s.as_str(), "***");
    }
    (shown, secrets)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A test-driver URI of its own for one test (`test:///PATH` of a node file with one running
    /// `default-pool`), and the directory holding the file. `test:///default` is one in-memory
    /// hypervisor shared by every connection of the process, so tests running side by side on it
    /// would see each other's changes; a file URI gives each connection a private one.
    pub(crate) fn private_test_driver() -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("node.xml");
        std::fs::write(
            &file,
            "<node>\n  <pool type='dir'>\n    <name>default-pool</name>\n    \
             <uuid>dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566</uuid>\n    <target><path>/default-pool</path></target>\n  \
             </pool>\n</node>\n",
        )
        .expect("node file");
        let uri = format!("test://{}", file.display());
        (dir, uri)
    }

    #[test]
    fn redacts_passwords_and_secret_parameters() {
        let (shown, secrets) =
            redact_uri("qemu+ssh://admin:hunter2@host:22/system?keyfile=/k&passphrase=s3cret");
        assert_eq!(
            shown,
            "qemu+ssh://admin:***@host:22/system?keyfile=/k&passphrase=***"
        );
        assert_eq!(secrets, vec!["hunter2".to_string(), "s3cret".to_string()]);
        let (shown, secrets) = redact_uri("qemu+tcp://127.0.0.1:16509/system");
        assert_eq!(shown, "qemu+tcp://127.0.0.1:16509/system");
        assert!(secrets.is_empty());
    }

    #[test]
    fn only_reads_are_repeated_after_a_lost_connection() {
        for op in [
            "look up storage pool",
            "look up storage volume",
            "list volumes of storage pool",
            "list domains",
            "find logical volume groups",
            "refresh storage pool",
            "read storage volume",
        ] {
            assert!(read_only(op), "{op}");
        }
        for op in [
            "create storage volume",
            "delete storage volume",
            "wipe storage volume",
            "resize storage volume",
            "define storage pool",
            "build storage pool",
            "start storage pool",
            "stop storage pool",
            "delete storage pool",
            "undefine storage pool",
            "set autostart of storage pool",
            "attach disk to domain",
            "detach disk from domain",
            "connect to",
        ] {
            assert!(!read_only(op), "{op}");
        }
    }

    #[test]
    fn a_lost_call_says_its_outcome_is_unknown() {
        let e = Error::Libvirt {
            op: "create storage volume",
            object: "'p/v'".into(),
            code: Code::Connection,
            message: "End of file while reading data: Input/output error".into(),
        };
        assert!(!e.is_connection_lost());
        let e = e.connection_lost("qemu+tcp://h/system");
        assert!(e.is_connection_lost());
        let text = e.to_string();
        assert!(text.contains("End of file while reading data"), "{text}");
        assert!(text.contains("qemu+tcp://h/system"), "{text}");
        assert!(text.contains("whether it took effect is unknown"), "{text}");
        let other = Error::Stopped {
            op: "create storage volume",
            object: "'p/v'".into(),
        }
        .connection_lost("x");
        assert!(!other.is_connection_lost());
    }

    #[tokio::test]
    async fn test_driver_round_trip_and_stop() {
        let stopping = Arc::new(AtomicBool::new(false));
        let (_dir, uri) = private_test_driver();
        let c = Connection::open(&uri, &ConnectOptions::default(), stopping.clone())
            .await
            .expect("test driver opens");
        let n = c
            .run("list storage pools", "", |c| {
                c.list_all_storage_pools(0)
                    .map(|v| v.len())
                    .map_err(super::super::error::lv("list storage pools", ""))
            })
            .await
            .expect("lists");
        assert!(n >= 1);
        stopping.store(true, Ordering::SeqCst);
        let e = c
            .run("list storage pools", "", |c| {
                c.list_all_storage_pools(0)
                    .map(|v| v.len())
                    .map_err(super::super::error::lv("list storage pools", ""))
            })
            .await
            .expect_err("stopped");
        assert!(matches!(e, Error::Stopped { .. }));
    }

    #[tokio::test]
    async fn unknown_pool_is_not_found() {
        let (_dir, uri) = private_test_driver();
        let c = Connection::open(&uri, &ConnectOptions::default(), Arc::new(AtomicBool::new(false)))
            .await
            .expect("test driver opens");
        let e = c
            .run("look up storage pool", "'nope'", |c| {
                c.lookup_storage_pool_by_name("nope")
                    .map(|_| ())
                    .map_err(super::super::error::lv("look up storage pool", "'nope'"))
            })
            .await
            .expect_err("absent");
        assert!(e.is_not_found(), "{e}");
    }
}
