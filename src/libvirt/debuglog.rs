//! libvirt's own debug output, with the secrets of our URIs taken out.
//!
//! With `LIBVIRT_DEBUG=1` (or `LIBVIRT_LOG_FILTERS` / `LIBVIRT_LOG_OUTPUTS`), the libvirt client
//! library logs to the process's stderr, which Terraform copies into its own log; it prints the
//! connection URI verbatim, password and secret parameters included (measured with libvirt 9.0:
//! `virConnectOpenAuth:1269 : name=qemu+tcp://admin:hunter2@…` and `passing through variable
//! 'passphrase' ('s3cret')`). So when such output is asked for, [`install_if_asked`] puts a pipe
//! in front of stderr: a thread copies it through, line by line, with every registered secret
//! replaced by `***`. Nothing of this runs otherwise (start-up stays as it was). Outputs libvirt
//! writes elsewhere (`LIBVIRT_LOG_OUTPUTS="1:file:…"`, syslog, journald) cannot be filtered: the
//! provider's configuration warns about secrets in the URI for that reason.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Mutex;

/// The environment variables that turn libvirt's logging on.
pub const LOG_VARIABLES: [&str; 3] = ["LIBVIRT_DEBUG", "LIBVIRT_LOG_FILTERS", "LIBVIRT_LOG_OUTPUTS"];

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Registers secrets to be removed from libvirt's output (called before each connection opens).
pub fn register(secrets: &[String]) {
    let mut all = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        if !all.contains(s) {
            all.push(s.clone());
        }
    }
    // Longest first, so one secret inside another is not left half shown.
    all.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// `line` with every registered secret replaced by `***`.
fn scrub(line: &[u8]) -> Vec<u8> {
    let secrets = SECRETS.lock().unwrap_or_else(|p| p.into_inner());
    let mut text = String::from_utf8_lossy(line).into_owned();
    for s in secrets.iter() {
        if text.contains(s.as_str()) {
            text = text.replace(s.as_str(), "***");
        }
    }
    text.into_bytes()
}

/// Whether libvirt's logging is asked for in this process's environment.
pub fn asked() -> bool {
    LOG_VARIABLES
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
}

/// When libvirt's logging is asked for, routes stderr through the scrubbing thread. Call once, at
/// start-up, before any other thread exists.
pub fn install_if_asked() -> std::io::Result<()> {
    if !asked() {
        return Ok(());
    }
    let mut fds = [0; 2];
    // SAFETY: a valid two-element array; on success both descriptors are ours.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so these are open descriptors we own.
    let (read_end, write_end) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: dup of our own standard error; checked below.
    let real = unsafe { libc::dup(libc::STDERR_FILENO) };
    if real < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor from dup.
    let real = unsafe { OwnedFd::from_raw_fd(real) };
    use std::os::fd::AsRawFd;
    // SAFETY: both descriptors are open; dup2 atomically replaces fd 2.
    if unsafe { libc::dup2(write_end.as_raw_fd(), libc::STDERR_FILENO) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    drop(write_end);
    std::thread::Builder::new()
        .name("stderr-scrub".into())
        .spawn(move || forward(std::fs::File::from(read_end), std::fs::File::from(real)))?;
    Ok(())
}

/// Copies `from` to `to` line by line, scrubbed; a line longer than 64 KiB is passed on in pieces.
fn forward(mut from: impl Read, mut to: impl Write) {
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = pending.drain(..=end).collect();
            let _ = to.write_all(&scrub(&line));
        }
        if pending.len() > 64 * 1024 {
            let _ = to.write_all(&scrub(&pending));
            pending.clear();
        }
        let _ = to.flush();
    }
    let _ = to.write_all(&scrub(&pending));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_scrubbed_even_when_split_across_reads() {
        register(&["hunter2".into(), "s3cret".into()]);
        /// Hands out its input a few bytes at a time.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(3).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let input = b"debug : name=qemu+tcp://admin:hunter2@h/system?passphrase=s3cret\nplain line\nlast";
        let mut out = Vec::new();
        forward(Trickle(input), &mut out);
        let out = String::from_utf8(out).expect("utf-8");
        assert_eq!(
            out,
            "debug : name=qemu+tcp://admin:***@h/system?passphrase=***\nplain line\nlast"
        );
    }
}
