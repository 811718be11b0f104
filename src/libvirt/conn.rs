//! One libvirt connection per configured provider, shared by concurrent RPCs.
//!
//! Every libvirt call blocks, so each goes through [`Connection::run`], which
//! runs it on tokio's blocking pool. libvirt's keepalive needs an event loop:
//! we register libvirt's default implementation once and run it on a thread
//! of its own, so that a dead hypervisor turns into an error instead of a hang.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Duration;

use virt::connect::Connect;

use super::error::{Error, Result};

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
    conn: Connect,
    /// The URI as it may be shown: credentials replaced by `***`.
    display_uri: String,
    /// Strings that must never appear in messages (URI passwords and the like).
    secrets: Vec<String>,
    /// Set by StopProvider: no new work is started.
    stopping: Arc<AtomicBool>,
}

/// libvirt's default handler prints every error; stdout carries the plugin
/// handshake, so it must be silenced before anything else touches libvirt.
pub fn init_libvirt() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        virt::error::clear_error_callback();
        if virt::event::event_register_default_impl().is_ok() {
            let _ = std::thread::Builder::new()
                .name("libvirt-events".into())
                .spawn(|| loop {
                    if virt::event::event_run_default_impl().is_err() {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                });
        }
    });
}

impl Connection {
    /// Opens a connection to `uri`, failing after `opts.connect_timeout`.
    pub async fn open(uri: &str, opts: &ConnectOptions, stopping: Arc<AtomicBool>) -> Result<Self> {
        init_libvirt();
        let (display_uri, secrets) = redact_uri(uri);
        let owned_uri = uri.to_string();
        let (interval, count) = (opts.keepalive_interval, opts.keepalive_count);
        let object = display_uri.clone();
        let task = tokio::task::spawn_blocking(move || -> Result<Connect> {
            let conn = Connect::open(Some(&owned_uri))
                .map_err(|e| Error::libvirt("connect to", object.clone(), e))?;
            // Local drivers (test://, qemu:///) do not support keepalive; that is fine.
            if interval > 0 && conn.is_encrypted().is_ok() {
                let _ = conn.set_keep_alive(interval, count);
            }
            Ok(conn)
        });
        let joined = match tokio::time::timeout(opts.connect_timeout, task).await {
            Ok(joined) => joined,
            // The blocking thread finishes on its own (libvirt gives up on its
            // socket eventually); nobody waits for it.
            Err(_) => {
                return Err(Error::ConnectTimeout {
                    uri: display_uri,
                    seconds: opts.connect_timeout.as_secs(),
                })
            }
        };
        let conn = joined
            .map_err(|e| Error::Internal {
                op: "connect to",
                object: display_uri.clone(),
                message: e.to_string(),
            })?
            .map_err(|e| e.redact(&secrets))?;
        Ok(Connection {
            inner: Arc::new(Inner {
                conn,
                display_uri,
                secrets,
                stopping,
            }),
        })
    }

    /// The URI as it may be shown to users and in logs.
    pub fn display_uri(&self) -> &str {
        &self.inner.display_uri
    }

    /// Runs blocking libvirt work off the async runtime.
    ///
    /// `op` and `object` name the work for errors. A call refused because the
    /// pool has another job running is repeated (libvirt refuses before doing
    /// anything, so repeating is safe) for up to a minute.
    pub async fn run<T, F>(&self, op: &'static str, object: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connect) -> Result<T> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let mut delay = Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if self.inner.stopping.load(Ordering::SeqCst) {
                return Err(Error::Stopped {
                    op,
                    object: object.to_string(),
                });
            }
            let inner = self.inner.clone();
            let f2 = f.clone();
            let span = tracing::debug_span!("libvirt", op, object);
            let started = std::time::Instant::now();
            let result = tokio::task::spawn_blocking(move || span.in_scope(|| f2(&inner.conn)))
                .await
                .map_err(|e| Error::Internal {
                    op,
                    object: object.to_string(),
                    message: e.to_string(),
                })
                .and_then(|r| r)
                .map_err(|e| e.redact(&self.inner.secrets));
            tracing::trace!(
                op,
                object,
                elapsed_ms = started.elapsed().as_millis() as u64,
                ok = result.is_ok(),
                "libvirt call"
            );
            match result {
                Err(e) if e.is_busy() && tokio::time::Instant::now() < deadline => {
                    tracing::debug!(op, object, "libvirt busy, retrying: {e}");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                other => return other,
            }
        }
    }

    /// Whether the connection still answers.
    pub fn is_alive(&self) -> bool {
        self.inner.conn.is_alive().unwrap_or(false)
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
mod tests {
    use super::*;

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

    #[tokio::test]
    async fn test_driver_round_trip_and_stop() {
        let stopping = Arc::new(AtomicBool::new(false));
        let c = Connection::open("test:///default", &ConnectOptions::default(), stopping.clone())
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
        let c = Connection::open(
            "test:///default",
            &ConnectOptions::default(),
            Arc::new(AtomicBool::new(false)),
        )
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
