//! One libvirt connection per configured provider, shared by concurrent RPCs.
//!
//! Every libvirt call blocks, so each piece of work goes through `Connection::read` or
//! `Connection::change`, which run it on tokio's blocking pool. The method, not the operation's
//! name, says what the work may do: a read is repeated once on a new connection when the old one
//! died under it; a change never is. libvirt's keepalive needs an event loop: we register one of
//! our own ([`super::events`]) on a thread of its own, so that a dead hypervisor turns into an error
//! instead of a hang.
//!
//! A change passes a [`Gate`] right before the call that changes something. When the connection
//! dies, the gate tells the two cases apart: the request was never sent (nothing happened: a plain
//! error), or it was sent and its reply lost (whether it took effect is unknown:
//! [`Error::is_connection_lost`], and the resource decides what to record).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::{Arc, Once, RwLock};
use std::time::{Duration, Instant};

use virt::connect::Connect;

use super::coalesce::Coalesced;
use super::error::{Code, Error, Result};

/// How often a call waiting for its reply checks that the connection is alive.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// How long a piece of work refused as busy ("asynchronous jobs running") is tried again.
const BUSY_PATIENCE: Duration = Duration::from_secs(60);

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
    /// When the last change (work run by [`Connection::change`] or
    /// [`Connection::volume_change`]) ended: a read made before then may not show that change.
    last_change: std::sync::Mutex<Option<Instant>>,
    /// When the last change other than a [`Connection::volume_change`] ended: libvirt's view of
    /// a pool as a refresh left it (its volume list, allocation and space available) may not show
    /// it. A volume change made through libvirt's volume calls is applied to that view by libvirt
    /// itself as it makes the change, so it leaves a refresh as good as it was.
    last_pool_change: std::sync::Mutex<Option<Instant>>,
    /// How many pieces of blocking libvirt work were started (reads and changes).
    runs: std::sync::atomic::AtomicU64,
}

/// A pool handle a refresh found active (see [`Shared::pool_handles`]).
#[derive(Clone)]
pub(super) struct PoolHandle {
    /// When the refresh started.
    pub(super) at: Instant,
    /// The connection it was made on (its address: the handle holds a reference on that
    /// connection, so no other connection can take the address while the handle lives).
    pub(super) conn: usize,
    pub(super) pool: virt::storage_pool::StoragePool,
}

impl PoolHandle {
    /// Whether the handle was made on `c` (not on a connection the provider has since replaced).
    pub(super) fn made_on(&self, c: &Connect) -> bool {
        self.conn == connection_address(c)
    }
}

/// The address of `c`'s libvirt connection, to tell connections apart (no libvirt call).
pub(super) fn connection_address(c: &Connect) -> usize {
    // SAFETY: reads the wrapper's pointer; nothing is dereferenced.
    unsafe { c.as_ptr() as usize }
}

/// The reads concurrent RPCs share: pool lookups by name, the domain list, the last scan of the
/// host's volume groups with when it started, when each pool was last refreshed, and which pools
/// the plans of creates found missing.
#[derive(Default)]
pub(super) struct Shared {
    pub(super) pools: Coalesced<String, Option<super::facts::pool::PoolInfo>>,
    pub(super) domains: Coalesced<(), Vec<super::facts::domain::DomainInfo>>,
    pub(super) sources: tokio::sync::Mutex<Option<(Instant, super::facts::pool::Sources)>>,
    pub(super) refreshes: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
    pub(super) pool_changes: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Pools the plan of a create found missing, with when that read started (see
    /// `Connection::pool_for_create`).
    pub(super) missing_pools: std::sync::Mutex<HashMap<String, Instant>>,
    /// The handle of each pool its last refresh found active, with when that refresh started:
    /// reads of the pool's volumes in the same walk start from it instead of looking the pool up
    /// again (see `Connection::read_volume`).
    pub(super) pool_handles: std::sync::Mutex<HashMap<String, PoolHandle>>,
    /// Held by every disk attach: the check that a volume is used nowhere else and the attach
    /// are one piece of work, and this provider's attaches must not interleave between the two.
    pub(super) attaches: tokio::sync::Mutex<()>,
    /// Bytes the plans of creates and grows claimed, per pool (see `Connection::claim_space`).
    pub(super) claims: std::sync::Mutex<HashMap<String, u64>>,
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

/// Whether a change's request went out. A change calls [`Gate::send`] right before the libvirt
/// call that changes something; the connection's watcher closes the gate when it abandons a call
/// on a dead connection. Exactly one of the two wins, so "not sent" is a proof that nothing was
/// done, never a guess.
pub struct Gate(AtomicU8);

const NOT_SENT: u8 = 0;
const SENT: u8 = 1;
const CLOSED: u8 = 2;

impl Gate {
    fn new() -> Self {
        Gate(AtomicU8::new(NOT_SENT))
    }

    /// Call right before the first call that changes something: fails (and nothing may be sent)
    /// when the work was already abandoned.
    pub fn send(&self) -> Result<()> {
        match self
            .0
            .compare_exchange(NOT_SENT, SENT, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) | Err(SENT) => Ok(()),
            Err(_) => Err(Error::Libvirt {
                op: "send change",
                object: String::new(),
                code: Code::Connection,
                message: "the connection died before the request was sent; nothing was done".into(),
            }),
        }
    }

    /// Closes the gate unless a request went out; true when one did.
    fn close(&self) -> bool {
        match self
            .0
            .compare_exchange(NOT_SENT, CLOSED, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => false,
            Err(state) => state == SENT,
        }
    }

    fn sent(&self) -> bool {
        self.0.load(Ordering::SeqCst) == SENT
    }
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

/// What kind of work [`Connection::work`] runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Change,
    /// A change of volumes made through libvirt's volume calls (see [`Connection::volume_change`]).
    VolumeChange,
}

impl Connection {
    /// Opens a connection to `uri`, failing after `opts.connect_timeout`.
    pub async fn open(uri: &str, opts: &ConnectOptions, stopping: Arc<AtomicBool>) -> Result<Self> {
        let (display_uri, secrets) = redact_uri(uri);
        super::debuglog::register(&secrets);
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
                last_pool_change: std::sync::Mutex::new(None),
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

    /// Runs blocking work that only reads, off the async runtime. `op` and `object` name it in
    /// errors. Repeated once on a new connection when the connection died under it (nothing it
    /// does can happen twice), and while libvirt refuses it as busy.
    pub(super) async fn read<T, F>(&self, op: &'static str, object: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connect) -> Result<T> + Send + Sync + 'static,
    {
        self.work(Kind::Read, op, object, move |c, _| f(c)).await
    }

    /// Runs blocking work that changes something, off the async runtime. The work calls
    /// [`Gate::send`] right before its first changing call, after the checks that guard it (which
    /// run in the same piece of work, so they see the hypervisor as the change finds it). Never
    /// repeated once its request may have gone out; a reply lost after that is
    /// [`Error::is_connection_lost`]. Repeated from the start while libvirt refuses it as busy
    /// (libvirt refuses before doing anything; the work re-reads what it checks).
    pub(super) async fn change<T, F>(&self, op: &'static str, object: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connect, &Gate) -> Result<T> + Send + Sync + 'static,
    {
        self.work(Kind::Change, op, object, f).await
    }

    /// A [`Connection::change`] of a pool's volumes made only through libvirt's volume calls
    /// (create, delete, resize, copy), which libvirt applies to its view of the pool as it makes
    /// them: unlike any other change, it does not make the last refresh of a pool stale (see
    /// [`Connection::pool_view_unchanged_since`]). It still counts for everything else that asks
    /// whether this provider changed something ([`Connection::unchanged_since`]).
    pub(super) async fn volume_change<T, F>(&self, op: &'static str, object: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connect, &Gate) -> Result<T> + Send + Sync + 'static,
    {
        self.work(Kind::VolumeChange, op, object, f).await
    }

    // Over 100 lines on purpose: the connection's one worker loop: every state of a call (queued, sent, lost, retried) in one place.
    async fn work<T, F>(&self, kind: Kind, op: &'static str, object: &str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Connect, &Gate) -> Result<T> + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let mut delay = Duration::from_millis(50);
        let deadline = tokio::time::Instant::now() + BUSY_PATIENCE;
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
            let gate = Arc::new(Gate::new());
            let gate2 = gate.clone();
            let span = tracing::debug_span!("libvirt", op, object);
            let started = Instant::now();
            let watched = conn.clone();
            let mut call = tokio::task::spawn_blocking(move || {
                let r = span.in_scope(|| f2(&conn, &gate2));
                // Asked right away: only work that failed on a dead connection counts as lost.
                let died = r.is_err() && !conn.is_alive().unwrap_or(false);
                (r, died)
            });
            // libvirt's keepalive marks a dead connection closed, but a call blocked waiting for
            // its reply is not always woken (seen with libvirt 9.0 on a frozen host: calls stuck
            // for minutes while keepalive had long declared the connection dead). So the wait is
            // watched: once the connection is dead, the call is abandoned (its thread returns
            // whenever libvirt lets it) and the gate closed behind it.
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
            let (result, died) = match joined {
                Some(Ok((r, died))) => (r, died),
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
            // A change whose work was abandoned or died: was its request out?
            let sent = match (kind, died) {
                (Kind::Change | Kind::VolumeChange, true) => gate.close(),
                (Kind::Change | Kind::VolumeChange, false) => gate.sent(),
                (Kind::Read, _) => false,
            };
            let result = result.map_err(|e| e.redact(&self.inner.secrets));
            if kind != Kind::Read && (sent || result.is_ok()) {
                let now = Some(Instant::now());
                *self.inner.last_change.lock().unwrap_or_else(|p| p.into_inner()) = now;
                if kind == Kind::Change {
                    *self
                        .inner
                        .last_pool_change
                        .lock()
                        .unwrap_or_else(|p| p.into_inner()) = now;
                }
            }
            tracing::trace!(
                op,
                object,
                elapsed_us = started.elapsed().as_micros() as u64,
                ok = result.is_ok(),
                "libvirt call"
            );
            match result {
                Err(e) if died && kind == Kind::Read && !repeated_after_loss => {
                    tracing::warn!(op, object, "connection lost, repeating on a new connection: {e}");
                    repeated_after_loss = true;
                }
                Err(e) if died && sent => return Err(e.connection_lost(&self.inner.display_uri)),
                // A panic in work whose request went out: as unknown as a lost reply.
                Err(e @ Error::Internal { .. }) if sent => {
                    return Err(Error::Libvirt {
                        op,
                        object: object.to_string(),
                        code: Code::ConnectionLost,
                        message: format!("{e} (whether it took effect is unknown)"),
                    })
                }
                Err(e) if died => return Err(e.not_sent()),
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
    pub fn unchanged_since(&self, at: Instant) -> bool {
        let last_change = *self.inner.last_change.lock().unwrap_or_else(|p| p.into_inner());
        last_change.is_none_or(|c| at >= c)
    }

    /// Whether a refresh of a pool that started at `at` still shows libvirt's view of it: nothing
    /// but volume changes ([`Connection::volume_change`]) was made through this connection since.
    pub fn pool_view_unchanged_since(&self, at: Instant) -> bool {
        let last = *self
            .inner
            .last_pool_change
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        last.is_none_or(|c| at >= c)
    }

    /// Adds `bytes` to what the plans of this configured provider (one Terraform walk) claimed of
    /// pool `pool`, and returns the total: creates and grows planned together are checked against
    /// the pool's space together, not each on its own.
    pub fn claim_space(&self, pool: &str, bytes: u64) -> u64 {
        let mut map = self.shared().claims.lock().unwrap_or_else(|p| p.into_inner());
        let total = map.entry(pool.to_string()).or_default();
        *total = total.saturating_add(bytes);
        *total
    }

    /// Records a change made outside libvirt (through LVM's tools) to what libvirt's pools hold:
    /// libvirt's view of every pool as its last refresh left it is stale from now on, as after
    /// any change other than a volume change through libvirt.
    pub fn changed_outside_libvirt(&self) {
        let now = Some(Instant::now());
        *self.inner.last_change.lock().unwrap_or_else(|p| p.into_inner()) = now;
        *self
            .inner
            .last_pool_change
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = now;
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
    /// Marks an error as having happened after a change's request went out on a connection that
    /// died.
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

    /// Marks an error of a change whose request never went out: nothing was done.
    fn not_sent(self) -> Self {
        match self {
            Error::Libvirt {
                op, object, message, ..
            } => Error::Libvirt {
                op,
                object,
                code: Code::Connection,
                message: format!("{message} (the request was not sent: nothing was changed)"),
            },
            other => other,
        }
    }
}

/// Splits a libvirt URI into a form safe to show and the secrets it holds: the password of
/// `user:password@host`, and the values of query parameters whose names suggest a secret
/// (`password`, `passphrase`, `secret`, `token`, `key_pass`).
///
/// A password may hold characters a URI should escape (`/`, `?`, `@`, `#`); libvirt's parser then
/// fails, and its error repeats the URI. So the user part is taken to end at the last `@` before
/// the host, wherever `/` or `?` fall inside it. When that is ambiguous, more is redacted rather
/// than less: every reading that makes a `user:password` of the text is redacted.
pub fn redact_uri(uri: &str) -> (String, Vec<String>) {
    let mut secrets: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        if !s.is_empty() && !secrets.iter().any(|x| x == s) {
            secrets.push(s.to_string());
        }
    };
    if let Some(scheme_end) = uri.find("://") {
        let rest = &uri[scheme_end + 3..];
        // Every `@` may end the user part: the host after it holds no `@`, `/` or `?` before its
        // path or query. The user part holds no `@` unescaped, but a careless password may.
        let user_end = |at: usize| {
            let host = &rest[at + 1..];
            let host_end = host.find(['/', '?', '#']).unwrap_or(host.len());
            !host[..host_end].contains('@')
        };
        for (at, _) in rest.match_indices('@').filter(|(at, _)| user_end(*at)) {
            let userinfo = &rest[..at];
            let Some(colon) = userinfo.find(':') else { continue };
            let standard = !userinfo.contains(['/', '?', '#']);
            // An `@` inside a query value (`?keyfile=/home/a@b/key`) ends no user part; an `@`
            // after a `?` with no `=` before it can only be a password's.
            let in_query_value = rest
                .find('?')
                .is_some_and(|q| q < at && rest[q..at].contains('='));
            if standard || !in_query_value {
                add(&userinfo[colon + 1..]);
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
                {
                    add(v);
                }
            }
        }
    }
    // A URI carries its secrets percent-encoded (`p%40ss`), and libvirt decodes them: its
    // messages (and anything that echoes the decoded value) show `p@ss`. Both forms are secret.
    let decoded: Vec<String> = secrets
        .iter()
        .filter_map(|s| {
            let d = percent_encoding::percent_decode_str(s).decode_utf8_lossy();
            (d != s.as_str()).then(|| d.into_owned())
        })
        .collect();
    for d in decoded {
        if !d.is_empty() && !secrets.contains(&d) {
            secrets.push(d);
        }
    }
    // Longest first, so that one secret inside another is not left half shown.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut shown = uri.to_string();
    for s in &secrets {
        shown = shown.replace(s.as_str(), "***");
    }
    (shown, secrets)
}

impl Connection {
    /// The handle the walk's refresh of `pool` left (see [`Shared::pool_handles`]), while nothing
    /// was changed through this connection since that refresh.
    pub(super) fn pool_handle(&self, pool: &str) -> Option<PoolHandle> {
        let map = self
            .shared()
            .pool_handles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.get(pool)
            .filter(|h| self.pool_view_unchanged_since(h.at))
            .cloned()
    }

    /// Records (`Some`) or forgets (`None`) the handle of `pool` a refresh found active.
    pub(super) fn keep_pool_handle(&self, pool: &str, handle: Option<PoolHandle>) {
        let mut map = self
            .shared()
            .pool_handles
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        match handle {
            Some(h) => map.insert(pool.to_string(), h),
            None => map.remove(pool),
        };
    }

    /// Records a refresh of `pool` that a volume change made in its own piece of work and found
    /// active (`handle`, with when that work started) as the walk's refresh of the pool, as
    /// `refresh_pool` records its own: reads and plans after it need not refresh again while
    /// only volume changes follow. Left alone while a refresh of the pool is being made, or when
    /// a later one is recorded.
    pub(super) fn note_refresh(&self, pool: &str, handle: PoolHandle) {
        let slot = self.refresh_slot(pool);
        let Ok(mut last) = slot.try_lock() else {
            return;
        };
        if last.is_some_and(|t| t >= handle.at) {
            return;
        }
        *last = Some(handle.at);
        self.keep_pool_handle(pool, Some(handle));
    }

    /// When the pool was last refreshed, shared by the reads of one configured provider.
    pub(super) fn refresh_slot(&self, pool: &str) -> Arc<tokio::sync::Mutex<Option<Instant>>> {
        let mut map = self.shared().refreshes.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(pool.to_string()).or_default().clone()
    }

    /// Held by every change to a pool's volumes. Each such change refreshes the pool first, and
    /// libvirt refuses a refresh while another volume of the pool is being created ("asynchronous
    /// jobs running"); LVM serialises changes to one volume group anyway. So this provider's
    /// changes to one pool queue here instead of retrying against each other.
    pub(super) async fn pool_change_lock(&self, pool: &str) -> tokio::sync::OwnedMutexGuard<()> {
        let slot = {
            let mut map = self
                .shared()
                .pool_changes
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            map.entry(pool.to_string()).or_default().clone()
        };
        slot.lock_owned().await
    }
}

#[cfg(test)]
mod tests {
    use super::super::error::during;
    use super::*;

    #[test]
    fn redacts_passwords_and_secret_parameters() {
        let cases: &[(&str, &str, &[&str])] = &[
            (
                "qemu+ssh://admin:hunter2@host:22/system?keyfile=/k&passphrase=s3cret",
                "qemu+ssh://admin:***@host:22/system?keyfile=/k&passphrase=***",
                &["hunter2", "s3cret"],
            ),
            (
                "qemu+tcp://127.0.0.1:16509/system",
                "qemu+tcp://127.0.0.1:16509/system",
                &[],
            ),
            // Characters a URI should escape, written raw in the password.
            (
                "qemu+tcp://admin:pa/ss@host/system",
                "qemu+tcp://admin:***@host/system",
                &["pa/ss"],
            ),
            (
                "qemu+tcp://admin:p?ss@host/system",
                "qemu+tcp://admin:***@host/system",
                &["p?ss"],
            ),
            (
                "qemu+tcp://admin:p@ss@host/system",
                "qemu+tcp://admin:***@host/system",
                &["p@ss"],
            ),
            (
                "qemu+tcp://admin:123/abc@host/system",
                "qemu+tcp://admin:***@host/system",
                &["123/abc"],
            ),
            (
                "qemu+tcp://admin:1?x@host/system",
                "qemu+tcp://admin:***@host/system",
                &["1?x"],
            ),
            // Percent-encoded secrets: the decoded forms are secret too.
            (
                "qemu+ssh://admin:p%40ss%2Fw@host/system?keyfile=/k&passphrase=s%26cret",
                "qemu+ssh://admin:***@host/system?keyfile=/k&passphrase=***",
                &["p%40ss%2Fw", "p@ss/w", "s%26cret", "s&cret"],
            ),
            // An `@` in a query value is not a user part.
            (
                "qemu+ssh://root@host:22/system?keyfile=/home/a@b/key",
                "qemu+ssh://root@host:22/system?keyfile=/home/a@b/key",
                &[],
            ),
            (
                "qemu+ssh://host:22/system?keyfile=/a@b",
                "qemu+ssh://host:22/system?keyfile=/a@b",
                &[],
            ),
        ];
        for (uri, shown_want, secrets_want) in cases {
            let (shown, secrets) = redact_uri(uri);
            assert_eq!(&shown, shown_want, "{uri}");
            let mut got: Vec<&str> = secrets.iter().map(String::as_str).collect();
            let mut want = secrets_want.to_vec();
            got.sort_unstable();
            want.sort_unstable();
            assert_eq!(got, want, "{uri}");
        }
    }

    #[test]
    fn a_lost_change_says_its_outcome_is_unknown_and_an_unsent_one_that_nothing_happened() {
        let e = || Error::Libvirt {
            op: "create storage volume",
            object: "'p/v'".into(),
            code: Code::Connection,
            message: "End of file while reading data: Input/output error".into(),
        };
        assert!(!e().is_connection_lost());
        let lost = e().connection_lost("qemu+tcp://h/system");
        assert!(lost.is_connection_lost());
        let text = lost.to_string();
        assert!(text.contains("End of file while reading data"), "{text}");
        assert!(text.contains("qemu+tcp://h/system"), "{text}");
        assert!(text.contains("whether it took effect is unknown"), "{text}");
        let unsent = e().not_sent();
        assert!(!unsent.is_connection_lost());
        assert!(unsent.to_string().contains("nothing was changed"), "{unsent}");
        let other = Error::Stopped {
            op: "create storage volume",
            object: "'p/v'".into(),
        }
        .connection_lost("x");
        assert!(!other.is_connection_lost());
    }

    /// Exactly one of "sent" and "abandoned" wins, whatever the order.
    #[test]
    fn the_gate_proves_whether_a_request_went_out() {
        let g = Gate::new();
        assert!(!g.sent());
        g.send().expect("open gate");
        assert!(g.sent());
        assert!(g.close(), "closing after a send reports the send");
        g.send().expect("sending again after a send is the same request");

        let g = Gate::new();
        assert!(!g.close(), "nothing was sent");
        assert!(g.send().is_err(), "a closed gate lets nothing out");
        assert!(!g.sent());
    }

    #[tokio::test]
    async fn test_driver_round_trip_and_stop() {
        let stopping = Arc::new(AtomicBool::new(false));
        let c = Connection::open("test:///default", &ConnectOptions::default(), stopping.clone())
            .await
            .expect("test driver opens");
        let list = |c: &Connect| {
            c.list_all_storage_pools(0)
                .map(|v| v.len())
                .map_err(during("list storage pools", ""))
        };
        let n = c.read("list storage pools", "", list).await.expect("lists");
        assert!(n >= 1);
        let before = Instant::now();
        assert!(c.unchanged_since(before), "no change yet");
        c.change("touch storage pools", "", move |c, gate| {
            gate.send()?;
            list(c)
        })
        .await
        .expect("a change that lists");
        assert!(!c.unchanged_since(before), "a change was recorded");
        stopping.store(true, Ordering::SeqCst);
        let e = c.read("list storage pools", "", list).await.expect_err("stopped");
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
            .read("look up storage pool", "'nope'", |c| {
                c.lookup_storage_pool_by_name("nope")
                    .map(|_| ())
                    .map_err(during("look up storage pool", "'nope'"))
            })
            .await
            .expect_err("absent");
        assert!(e.is_not_found(), "{e}");
    }
}
