//! The event loop libvirt's keepalive runs on: a small one of our own, on one thread.
//!
//! libvirt needs an event loop implementation registered before a connection is opened, or it
//! cannot send keepalive messages, and a hypervisor that stops answering would hang calls instead
//! of failing them. libvirt ships one (`virEventRegisterDefaultImpl`, on a GLib main context), but
//! once any event loop is registered, every call on a remote connection takes the connection's
//! socket away from the loop while it waits for its reply and hands it back afterwards. With
//! libvirt's own loop each of those hand-overs wakes the loop's thread several times (a plan of
//! 1000 volumes on bed A: about 12 eventfd writes per libvirt call, and the provider's CPU time
//! doubled against the same plan without any event loop; see docs/performance.md).
//!
//! This loop does what libvirt asks of an implementation (watch file descriptors, run periodic
//! timers, call the free callbacks once a watch or timer is gone) and wakes its thread only when it
//! must:
//! - a descriptor must be watched for writing (libvirt has a message to send, such as a keepalive
//!   ping) and the running `poll` does not cover it, or a timer becomes due earlier than the running
//!   `poll` would return: at once;
//! - a descriptor must be watched for reading again (a call ended and handed the socket back): at
//!   the next turn of the loop, at most [`LAZY`] later. The calls themselves read their replies;
//!   the loop only reads what arrives between calls (keepalive messages, a closed socket), for
//!   which libvirt allows seconds;
//! - a watch switched off while `poll` runs is not woken for: at worst `poll` returns once for it
//!   and the event is dropped, which libvirt expects (it checks its own state in every callback);
//! - a descriptor found ready is left out of `poll` for [`REST`]. While calls run side by side,
//!   libvirt hands the socket back to the loop for a moment each time one call ends and passes
//!   the I/O on to the next ("the buck"), asking for writes too when other calls wait to be sent:
//!   the socket is writable at once (and the next reply may be waiting), but that I/O is the next
//!   call's, and libvirt's callback returns without doing any. Polled again at once, the
//!   descriptor was ready again at once until the other thread had taken the socket over: the
//!   loop spun there, about 12 `poll`s per libvirt call in a plan of 200 volumes at
//!   -parallelism=10. Calls do their own I/O, so what the loop does (keepalive messages, noticing
//!   a closed socket) waits at most REST longer, which libvirt allows (seconds).
//!
//! Callbacks run on the loop's thread without the loop's lock held, because they call back into
//! the loop (update, remove). Free callbacks run on the loop's thread after a removal, never inside
//! the removal itself (libvirt may hold its own locks there).

use std::ffi::{c_int, c_void};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use virt_sys::{
    virEventHandleCallback, virEventTimeoutCallback, virFreeCallback, VIR_EVENT_HANDLE_ERROR,
    VIR_EVENT_HANDLE_HANGUP, VIR_EVENT_HANDLE_READABLE, VIR_EVENT_HANDLE_WRITABLE,
};

const READABLE: c_int = VIR_EVENT_HANDLE_READABLE as c_int;
const WRITABLE: c_int = VIR_EVENT_HANDLE_WRITABLE as c_int;
const ERROR: c_int = VIR_EVENT_HANDLE_ERROR as c_int;
const HANGUP: c_int = VIR_EVENT_HANDLE_HANGUP as c_int;

/// How long a descriptor that must be read again may wait before the loop watches it (the loop
/// turns at least this often while a descriptor is registered).
const LAZY: Duration = Duration::from_millis(200);

/// How long a descriptor found ready is left out of the loop's `poll` (see the module
/// documentation).
const REST: Duration = Duration::from_millis(20);

/// libvirt's opaque pointer, owned by libvirt until its free callback is called.
#[derive(Clone, Copy)]
struct Opaque(*mut c_void);
// SAFETY: libvirt hands these pointers to an event loop precisely so that another thread calls
// back with them; libvirt's objects behind them are locked by libvirt itself.
unsafe impl Send for Opaque {}

/// A watched file descriptor.
struct Watch {
    id: c_int,
    fd: c_int,
    /// What libvirt wants to hear about (READABLE | WRITABLE; 0: nothing for now).
    events: c_int,
    /// What the `poll` under way watches this descriptor for.
    polled: c_int,
    /// Until when the descriptor is not watched at all: it was found ready [`REST`] before (see
    /// the module documentation).
    rest_until: Option<Instant>,
    cb: virEventHandleCallback,
    opaque: Opaque,
    ff: virFreeCallback,
    removed: bool,
}

/// A periodic timer.
struct Timer {
    id: c_int,
    /// Milliseconds between runs; negative: off; 0: on every turn of the loop.
    every_ms: c_int,
    due: Instant,
    cb: virEventTimeoutCallback,
    opaque: Opaque,
    ff: virFreeCallback,
    removed: bool,
}

#[derive(Default)]
struct State {
    watches: Vec<Watch>,
    timers: Vec<Timer>,
    next_id: c_int,
    /// While the loop's thread is in `poll`: when that `poll` returns by itself (None: never).
    polling_until: Option<Option<Instant>>,
}

struct Loop {
    state: Mutex<State>,
    /// An eventfd the loop also polls: written to wake it.
    wake: OwnedFd,
}

static LOOP: OnceLock<Loop> = OnceLock::new();

/// The loop; None only if libvirt called in before [`register`] (it cannot: registration comes
/// before the first connection), which the callers answer as libvirt's own loop would a bad id.
fn the_loop() -> Option<&'static Loop> {
    LOOP.get()
}

impl Loop {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writing 8 bytes from a valid u64 to our eventfd. A full counter (EAGAIN) means
        // the loop is already due to wake.
        unsafe { libc::write(self.wake.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn drain_wake(&self) {
        let mut n: u64 = 0;
        // SAFETY: reading 8 bytes into a valid u64 from our non-blocking eventfd.
        unsafe { libc::read(self.wake.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }
}

/// Registers the loop with libvirt and starts its thread. Called once, before the first connection.
pub fn register() -> std::io::Result<()> {
    // SAFETY: eventfd has no memory-safety preconditions; its result is checked.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh descriptor that nothing else owns.
    let wake = unsafe { OwnedFd::from_raw_fd(fd) };
    if LOOP
        .set(Loop {
            state: Mutex::new(State {
                next_id: 1,
                ..State::default()
            }),
            wake,
        })
        .is_err()
    {
        return Ok(());
    }
    std::thread::Builder::new()
        .name("libvirt-events".into())
        .spawn(run)?;
    // SAFETY: the six functions below have the signatures libvirt expects and stay valid for the
    // life of the process.
    unsafe {
        virt_sys::virEventRegisterImpl(
            Some(add_handle),
            Some(update_handle),
            Some(remove_handle),
            Some(add_timeout),
            Some(update_timeout),
            Some(remove_timeout),
        );
    }
    Ok(())
}

fn poll_flags(events: c_int) -> libc::c_short {
    let mut flags = 0;
    if events & READABLE != 0 {
        flags |= libc::POLLIN;
    }
    if events & WRITABLE != 0 {
        flags |= libc::POLLOUT;
    }
    flags
}

fn libvirt_events(revents: libc::c_short) -> c_int {
    let mut events = 0;
    if revents & libc::POLLIN != 0 {
        events |= READABLE;
    }
    if revents & libc::POLLOUT != 0 {
        events |= WRITABLE;
    }
    if revents & (libc::POLLERR | libc::POLLNVAL) != 0 {
        events |= ERROR;
    }
    if revents & libc::POLLHUP != 0 {
        events |= HANGUP;
    }
    events
}

/// The loop's thread.
// Over 100 lines on purpose: libvirt's event loop and its shutdown in one place.
fn run() {
    let Some(lp) = the_loop() else {
        return;
    };
    let mut fds: Vec<libc::pollfd> = Vec::new();
    let mut ids: Vec<c_int> = Vec::new();
    loop {
        // Forget what was removed, build the poll set, find the next timer.
        let mut freed = Vec::new();
        let timeout_ms;
        {
            let mut st = lp.lock();
            st.watches.retain(|w| {
                if w.removed {
                    freed.push((w.ff, w.opaque));
                }
                !w.removed
            });
            st.timers.retain(|t| {
                if t.removed {
                    freed.push((t.ff, t.opaque));
                }
                !t.removed
            });
            fds.clear();
            ids.clear();
            fds.push(libc::pollfd {
                fd: lp.wake.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            });
            let now = Instant::now();
            let mut rest_ends: Option<Instant> = None;
            for w in st.watches.iter_mut() {
                w.polled = w.events & (READABLE | WRITABLE);
                if let Some(until) = w.rest_until.filter(|until| *until > now) {
                    if w.polled != 0 {
                        w.polled = 0;
                        rest_ends = Some(rest_ends.map_or(until, |r| r.min(until)));
                    }
                }
                if w.polled != 0 {
                    fds.push(libc::pollfd {
                        fd: w.fd,
                        events: poll_flags(w.polled),
                        revents: 0,
                    });
                    ids.push(w.id);
                }
            }
            let next_timer = st.timers.iter().filter(|t| t.every_ms >= 0).map(|t| t.due).min();
            let next_turn = (!st.watches.is_empty()).then(|| now + LAZY);
            let next_due = [next_timer, next_turn, rest_ends].into_iter().flatten().min();
            timeout_ms = match next_due {
                None => -1,
                Some(due) => {
                    // Round up so that a timer is never polled for just before it is due.
                    let wait = due.saturating_duration_since(now);
                    c_int::try_from(wait.as_micros().div_ceil(1000)).unwrap_or(c_int::MAX)
                }
            };
            st.polling_until = Some(next_due);
        }
        for (ff, opaque) in freed {
            if let Some(ff) = ff {
                // SAFETY: libvirt's free callback for its own pointer, called once, after the
                // watch or timer is gone from the loop and no callback can use it any more.
                unsafe { ff(opaque.0) };
            }
        }
        // SAFETY: fds is a valid array of fds.len() pollfd structures.
        let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout_ms) };
        lp.lock().polling_until = None;
        if n < 0 {
            // EINTR; anything else would repeat at once, so pause rather than spin.
            if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                std::thread::sleep(Duration::from_millis(10));
            }
            continue;
        }
        if fds[0].revents != 0 {
            lp.drain_wake();
        }
        run_due_timers(lp);
        for (pfd, &id) in fds[1..].iter().zip(&ids) {
            if pfd.revents == 0 {
                continue;
            }
            let got = libvirt_events(pfd.revents);
            // Only what libvirt still wants, plus errors and hang-ups, which it always gets while
            // the watch is on. A descriptor found ready then rests for REST: see the module
            // documentation.
            let call = lp.lock().watch(id).map(|w| {
                w.rest_until = Some(Instant::now() + REST);
                (w.cb, w.fd, got & (w.events | ERROR | HANGUP), w.opaque, w.events)
            });
            if let Some((Some(cb), fd, events, opaque, wanted)) = call {
                if events != 0 && wanted != 0 {
                    // SAFETY: libvirt's callback with its own arguments; the watch was not removed,
                    // and its opaque pointer is freed only by this thread, later.
                    unsafe { cb(id, fd, events, opaque.0) };
                }
            }
        }
    }
}

fn run_due_timers(lp: &Loop) {
    let now = Instant::now();
    let due: Vec<c_int> = {
        let st = lp.lock();
        st.timers
            .iter()
            .filter(|t| !t.removed && t.every_ms >= 0 && t.due <= now)
            .map(|t| t.id)
            .collect()
    };
    for id in due {
        let call = lp.lock().timer(id).filter(|t| t.every_ms >= 0).map(|t| {
            t.due = Instant::now() + Duration::from_millis(t.every_ms as u64);
            (t.cb, t.opaque)
        });
        if let Some((Some(cb), opaque)) = call {
            // SAFETY: as for watches above.
            unsafe { cb(id, opaque.0) };
        }
    }
}

impl State {
    /// The live watch with this id.
    fn watch(&mut self, id: c_int) -> Option<&mut Watch> {
        self.watches.iter_mut().find(|w| w.id == id && !w.removed)
    }

    /// The live timer with this id.
    fn timer(&mut self, id: c_int) -> Option<&mut Timer> {
        self.timers.iter_mut().find(|t| t.id == id && !t.removed)
    }
}

fn next_id(st: &mut State) -> c_int {
    let id = st.next_id;
    st.next_id = st.next_id.checked_add(1).unwrap_or(1);
    id
}

/// Registers a watch or timer made by `make` from a fresh id; wakes the loop when `make` says so.
fn add(make: impl FnOnce(&mut State, c_int) -> bool) -> c_int {
    let Some(lp) = the_loop() else {
        return -1;
    };
    let mut st = lp.lock();
    let id = next_id(&mut st);
    let wake = make(&mut st, id);
    drop(st);
    if wake {
        lp.wake();
    }
    id
}

unsafe extern "C" fn add_handle(
    fd: c_int,
    events: c_int,
    cb: virEventHandleCallback,
    opaque: *mut c_void,
    ff: virFreeCallback,
) -> c_int {
    add(|st, id| {
        st.watches.push(Watch {
            id,
            fd,
            events,
            polled: 0,
            rest_until: None,
            cb,
            opaque: Opaque(opaque),
            ff,
            removed: false,
        });
        // Always while polling: the running poll may have been computed with no watch at all, and
        // so with no turn due for the reads that become wanted later.
        st.polling_until.is_some()
    })
}

unsafe extern "C" fn update_handle(watch: c_int, events: c_int) {
    let Some(lp) = the_loop() else {
        return;
    };
    let mut st = lp.lock();
    let polling = st.polling_until.is_some();
    let Some(w) = st.watch(watch) else {
        return;
    };
    w.events = events;
    // Wake only when the running poll misses a write now wanted; reads wait for the next turn.
    let missing = events & WRITABLE & !w.polled != 0;
    drop(st);
    if polling && missing {
        lp.wake();
    }
}

/// Marks a watch or timer removed with `mark` (false: no such live one) and wakes the loop, so that
/// the free callback runs (and a descriptor it may close leaves the poll set) soon.
fn remove(mark: impl FnOnce(&mut State) -> bool) -> c_int {
    let Some(lp) = the_loop() else {
        return -1;
    };
    if !mark(&mut lp.lock()) {
        return -1;
    }
    lp.wake();
    0
}

unsafe extern "C" fn remove_handle(watch: c_int) -> c_int {
    remove(|st| {
        st.watch(watch)
            .map(|w| (w.removed, w.events) = (true, 0))
            .is_some()
    })
}

unsafe extern "C" fn add_timeout(
    every_ms: c_int,
    cb: virEventTimeoutCallback,
    opaque: *mut c_void,
    ff: virFreeCallback,
) -> c_int {
    add(|st, id| {
        st.timers.push(Timer {
            id,
            every_ms,
            due: Instant::now() + Duration::from_millis(every_ms.max(0) as u64),
            cb,
            opaque: Opaque(opaque),
            ff,
            removed: false,
        });
        every_ms >= 0
    })
}

unsafe extern "C" fn update_timeout(timer: c_int, every_ms: c_int) {
    let Some(lp) = the_loop() else {
        return;
    };
    let mut st = lp.lock();
    let polling_until = st.polling_until;
    let Some(t) = st.timer(timer) else {
        return;
    };
    t.every_ms = every_ms;
    t.due = Instant::now() + Duration::from_millis(every_ms.max(0) as u64);
    let due = t.due;
    drop(st);
    // Wake only when the running poll would return after this timer is due.
    let late = match polling_until {
        Some(None) => every_ms >= 0,
        Some(Some(until)) => every_ms >= 0 && due < until,
        None => false,
    };
    if late {
        lp.wake();
    }
}

unsafe extern "C" fn remove_timeout(timer: c_int) -> c_int {
    remove(|st| {
        st.timer(timer)
            .map(|t| (t.removed, t.every_ms) = (true, -1))
            .is_some()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[derive(Default)]
    struct Counts {
        calls: AtomicUsize,
        freed: AtomicUsize,
    }

    fn counts(opaque: *mut c_void) -> &'static Counts {
        // SAFETY: the tests pass a pointer to a Counts they keep alive until its free callback ran.
        unsafe { &*(opaque as *const Counts) }
    }

    unsafe extern "C" fn count_handle(_watch: c_int, _fd: c_int, _events: c_int, opaque: *mut c_void) {
        counts(opaque).calls.fetch_add(1, Ordering::SeqCst);
    }

    unsafe extern "C" fn count_timer(_timer: c_int, opaque: *mut c_void) {
        counts(opaque).calls.fetch_add(1, Ordering::SeqCst);
    }

    unsafe extern "C" fn count_free(opaque: *mut c_void) {
        counts(opaque).freed.fetch_add(1, Ordering::SeqCst);
    }

    fn wait_for(what: &str, f: impl Fn() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "timed out waiting for {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Watches, switching them off and on, periodic timers and free callbacks, on the loop's own
    /// thread (libvirt is not involved: the loop is driven through the functions it registers).
    #[test]
    fn watches_timers_and_free_callbacks() {
        crate::libvirt::conn::init_libvirt();
        let (mut a, b) = std::os::unix::net::UnixStream::pair().expect("socket pair");
        let hits = Arc::new(Counts::default());
        let opaque = Arc::as_ptr(&hits) as *mut c_void;
        // SAFETY: `hits` outlives the watch (the test waits for the free callback).
        let watch = unsafe { add_handle(b.as_raw_fd(), 0, Some(count_handle), opaque, Some(count_free)) };
        use std::io::Write;
        a.write_all(b"x").expect("write");
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            hits.calls.load(Ordering::SeqCst),
            0,
            "a watch switched off is not called"
        );
        // SAFETY: a watch of ours.
        unsafe { update_handle(watch, READABLE) };
        wait_for("the readable callback", || hits.calls.load(Ordering::SeqCst) >= 1);
        // The byte is never read, so the descriptor stays readable: the loop rests it (REST) between
        // calls instead of spinning on it (it spun at a `poll` per microsecond or so).
        std::thread::sleep(Duration::from_millis(100));
        let calls = hits.calls.load(Ordering::SeqCst);
        assert!(calls < 50, "{calls} callbacks in 100 ms for one readable byte");
        // SAFETY: as above.
        unsafe { update_handle(watch, 0) };
        let seen = hits.calls.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            hits.calls.load(Ordering::SeqCst) <= seen + 1,
            "switched off again: at most the call under way"
        );
        assert_eq!(hits.freed.load(Ordering::SeqCst), 0);
        // SAFETY: as above.
        assert_eq!(unsafe { remove_handle(watch) }, 0);
        wait_for("the watch's free callback", || {
            hits.freed.load(Ordering::SeqCst) == 1
        });
        // SAFETY: removed already.
        assert_eq!(unsafe { remove_handle(watch) }, -1);

        let ticks = Arc::new(Counts::default());
        let opaque = Arc::as_ptr(&ticks) as *mut c_void;
        // SAFETY: `ticks` outlives the timer (the test waits for the free callback).
        let timer = unsafe { add_timeout(-1, Some(count_timer), opaque, Some(count_free)) };
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(
            ticks.calls.load(Ordering::SeqCst),
            0,
            "a timer switched off does not run"
        );
        // SAFETY: a timer of ours.
        unsafe { update_timeout(timer, 20) };
        wait_for("three periodic runs", || ticks.calls.load(Ordering::SeqCst) >= 3);
        // SAFETY: as above.
        unsafe { update_timeout(timer, -1) };
        std::thread::sleep(Duration::from_millis(30));
        let seen = ticks.calls.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(80));
        assert_eq!(
            ticks.calls.load(Ordering::SeqCst),
            seen,
            "switched off: no more runs"
        );
        // SAFETY: as above.
        assert_eq!(unsafe { remove_timeout(timer) }, 0);
        wait_for("the timer's free callback", || {
            ticks.freed.load(Ordering::SeqCst) == 1
        });
    }
}
