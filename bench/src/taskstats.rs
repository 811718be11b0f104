//! The exact CPU time of the processes terraform starts, from the kernel's taskstats exit records
//! (generic netlink, `TASKSTATS_CMD_ATTR_REGISTER_CPUMASK`): every thread that exits on this
//! machine is reported with its user and system time in microseconds and its parent's PID. The
//! provider processes' threads have terraform as their parent, so their sum is the CPU the
//! provider used, however short-lived its processes (sampling `/proc` every 10 ms, in clock ticks,
//! misses processes that live less than a sample and rounds the rest to 10 ms).
//!
//! The time counted is the scheduler's (nanoseconds), not the tick-sampled user and system times.
//!
//! Registering needs CAP_NET_ADMIN (the benchmarks run as root); without it [`ExitCpu::get`]
//! returns None and the benchmark falls back to sampling.

use std::collections::{HashMap, HashSet};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
const TASKSTATS_CMD_GET: u8 = 1;
const TASKSTATS_CMD_ATTR_REGISTER_CPUMASK: u16 = 3;
const TASKSTATS_TYPE_STATS: u16 = 3;
const TASKSTATS_TYPE_AGGR_PID: u16 = 4;
const NLMSG_ERROR: u16 = 2;
const NLA_TYPE_MASK: u16 = 0x3fff;
/// Offsets in `struct taskstats` (linux/taskstats.h; the struct only ever grows at its end).
/// `cpu_run_virtual_total` is the scheduler's own count of the time a thread ran (nanoseconds);
/// `ac_utime` and `ac_stime` are only sampled at each timer tick (4 ms here, HZ=250).
const CPU_RUN_VIRTUAL_TOTAL: usize = 72;
const AC_PID: usize = 128;
const AC_PPID: usize = 132;
const AC_UTIME: usize = 152;
const AC_STIME: usize = 160;

#[derive(Default)]
struct State {
    /// CPU time of exited threads, by their parent's PID.
    by_parent: HashMap<u32, Duration>,
    /// Threads seen exiting, among those asked about (see [`ExitCpu::children_of`]).
    exited: HashSet<u32>,
    watched: HashSet<u32>,
}

pub struct ExitCpu {
    state: Mutex<State>,
    changed: Condvar,
}

impl ExitCpu {
    /// The listener, started on first use; None when the kernel refuses it.
    pub fn get() -> Option<&'static ExitCpu> {
        static LISTENER: OnceLock<Option<&'static ExitCpu>> = OnceLock::new();
        *LISTENER.get_or_init(|| match Socket::register() {
            Ok(socket) => {
                let me: &'static ExitCpu = Box::leak(Box::new(ExitCpu {
                    state: Mutex::new(State::default()),
                    changed: Condvar::new(),
                }));
                std::thread::spawn(move || socket.receive(me));
                Some(me)
            }
            Err(e) => {
                eprintln!("taskstats unavailable ({e}): provider CPU is sampled from /proc instead");
                None
            }
        })
    }

    /// Call before `pid` can exit: its own exit record is what [`ExitCpu::children_of`] waits for.
    pub fn watch(&self, pid: u32) {
        self.lock().watched.insert(pid);
    }

    /// The CPU time of every thread whose parent was `pid`, once `pid` has exited and its exit was
    /// reported (the kernel reports children's exits before their parent's); None if that report
    /// does not arrive within a second (records were lost).
    pub fn children_of(&self, pid: u32) -> Option<Duration> {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut state = self.lock();
        while !state.exited.contains(&pid) {
            let left = deadline.checked_duration_since(Instant::now())?;
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        state.exited.remove(&pid);
        state.watched.remove(&pid);
        Some(state.by_parent.remove(&pid).unwrap_or_default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, pid: u32, ppid: u32, cpu: Duration) {
        let mut state = self.lock();
        *state.by_parent.entry(ppid).or_default() += cpu;
        if state.watched.contains(&pid) {
            state.exited.insert(pid);
            self.changed.notify_all();
        }
        // Parents nobody will ask about (every other process on the machine) must not pile up.
        if state.by_parent.len() > 4096 {
            let keep = state.watched.clone();
            state.by_parent.retain(|p, _| keep.contains(p));
        }
    }
}

struct Socket(i32);

impl Drop for Socket {
    fn drop(&mut self) {
        // SAFETY: the descriptor is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A generic netlink request: nlmsghdr, genlmsghdr, one attribute.
fn request(family: u16, cmd: u8, version: u8, attr: u16, payload: &[u8]) -> Vec<u8> {
    let attr_len = 4 + payload.len();
    let len = 16 + 4 + align4(attr_len);
    let mut m = Vec::with_capacity(len);
    m.extend_from_slice(&(len as u32).to_ne_bytes());
    m.extend_from_slice(&family.to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&1u32.to_ne_bytes()); // seq
    m.extend_from_slice(&0u32.to_ne_bytes()); // port: the kernel's
    m.extend_from_slice(&[cmd, version, 0, 0]);
    m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    m.extend_from_slice(&attr.to_ne_bytes());
    m.extend_from_slice(payload);
    m.resize(len, 0);
    m
}

/// The netlink messages in a datagram: (type, body after the nlmsghdr).
fn messages(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let hdr = buf.get(at..at + 16)?;
        let len = u32::from_ne_bytes(hdr[0..4].try_into().ok()?) as usize;
        let ty = u16::from_ne_bytes(hdr[4..6].try_into().ok()?);
        let body = buf.get(at + 16..at + len.max(16))?;
        at += align4(len.max(16));
        Some((ty, body))
    })
}

/// The attributes in `buf`: (type, payload).
fn attributes(buf: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 0;
    std::iter::from_fn(move || {
        let hdr = buf.get(at..at + 4)?;
        let len = u16::from_ne_bytes([hdr[0], hdr[1]]) as usize;
        let ty = u16::from_ne_bytes([hdr[2], hdr[3]]) & NLA_TYPE_MASK;
        let payload = buf.get(at + 4..at + len.max(4))?;
        at += align4(len.max(4));
        Some((ty, payload))
    })
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_ne_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Socket {
    fn register() -> std::io::Result<Socket> {
        // SAFETY: plain socket creation; the descriptor is owned by Socket from here.
        let fd = unsafe { libc::socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_GENERIC) };
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let s = Socket(fd);
        // Every thread exiting on the machine is reported; a large buffer keeps bursts (a
        // compiler's threads on a shared machine) from overflowing it.
        let size: libc::c_int = 8 << 20;
        // SAFETY: setsockopt with a c_int option value of the right size.
        unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                libc::SO_RCVBUFFORCE,
                (&size as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        // SAFETY: a zeroed sockaddr_nl with its family set is a valid address to bind.
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
        // SAFETY: addr is a sockaddr_nl of the given size.
        let rc = unsafe {
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(std::io::Error::last_os_error());
        }
        s.send(&request(
            GENL_ID_CTRL,
            CTRL_CMD_GETFAMILY,
            1,
            CTRL_ATTR_FAMILY_NAME,
            b"TASKSTATS\0",
        ))?;
        let mut family = None;
        let mut buf = vec![0u8; 1 << 16];
        while family.is_none() {
            let n = s.recv(&mut buf)?;
            for (ty, body) in messages(&buf[..n]) {
                s.check(ty, body)?;
                if ty == GENL_ID_CTRL {
                    family = attributes(body.get(4..).unwrap_or_default())
                        .find(|(t, _)| *t == CTRL_ATTR_FAMILY_ID)
                        .and_then(|(_, p)| Some(u16::from_ne_bytes(p.get(0..2)?.try_into().ok()?)));
                }
            }
        }
        let family = family.unwrap_or_default();
        // SAFETY: sysconf has no preconditions.
        let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_CONF) }.max(1);
        let mask = format!("0-{}\0", cpus - 1);
        s.send(&request(
            family,
            TASKSTATS_CMD_GET,
            1,
            TASKSTATS_CMD_ATTR_REGISTER_CPUMASK,
            mask.as_bytes(),
        ))?;
        // The acknowledgement (an error message with code 0), or the refusal.
        loop {
            let n = s.recv(&mut buf)?;
            for (ty, body) in messages(&buf[..n]) {
                if ty == NLMSG_ERROR {
                    s.check(ty, body)?;
                    return Ok(s);
                }
            }
        }
    }

    /// An NLMSG_ERROR with a nonzero code as an error.
    fn check(&self, ty: u16, body: &[u8]) -> std::io::Result<()> {
        if ty == NLMSG_ERROR {
            let code = u32_at(body, 0).unwrap_or(0) as i32;
            if code != 0 {
                return Err(std::io::Error::from_raw_os_error(-code));
            }
        }
        Ok(())
    }

    fn send(&self, m: &[u8]) -> std::io::Result<()> {
        // SAFETY: m is a valid buffer of m.len() bytes.
        let n = unsafe { libc::send(self.0, m.as_ptr().cast(), m.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }

    fn recv(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        // SAFETY: buf is a valid writable buffer of buf.len() bytes.
        let n = unsafe { libc::recv(self.0, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(n as usize)
    }

    fn receive(self, into: &ExitCpu) {
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = match self.recv(&mut buf) {
                Ok(n) => n,
                // ENOBUFS: records were dropped; children_of then times out rather than lie.
                Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    eprintln!("taskstats: {e}");
                    return;
                }
            };
            for (_, body) in messages(&buf[..n]) {
                for (ty, nested) in attributes(body.get(4..).unwrap_or_default()) {
                    if ty != TASKSTATS_TYPE_AGGR_PID {
                        continue;
                    }
                    let stats = attributes(nested)
                        .find(|(t, _)| *t == TASKSTATS_TYPE_STATS)
                        .map(|(_, p)| p);
                    let Some(s) = stats else { continue };
                    if let (Some(pid), Some(ppid), Some(u), Some(st), Some(ran)) = (
                        u32_at(s, AC_PID),
                        u32_at(s, AC_PPID),
                        u64_at(s, AC_UTIME),
                        u64_at(s, AC_STIME),
                        u64_at(s, CPU_RUN_VIRTUAL_TOTAL),
                    ) {
                        // Kernels without the scheduler's figure leave it 0.
                        let cpu = if ran > 0 {
                            Duration::from_nanos(ran)
                        } else {
                            Duration::from_micros(u + st)
                        };
                        into.record(pid, ppid, cpu);
                    }
                }
            }
        }
    }
}
