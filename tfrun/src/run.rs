//! Commands with a timeout and their outcome ([`Run`]), with the assertions tests make on
//! terraform's output.

use std::fmt;
use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The outcome of one command: what ran, its exit code, its output, how long it took.
#[derive(Clone, Debug)]
pub struct Run {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed (timeout or signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
    /// Wall time.
    pub elapsed: Duration,
}

impl Run {
    /// Exit code 0.
    pub fn ok(&self) -> bool {
        self.code == Some(0)
    }

    /// stdout then stderr: what a user would have seen.
    pub fn text(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the whole output unless the command succeeded.
    #[track_caller]
    pub fn expect_ok(self) -> Run {
        assert!(self.ok(), "command failed:\n{self}");
        self
    }

    /// Panics with the whole output unless the command failed (non-zero exit).
    #[track_caller]
    pub fn expect_failure(self) -> Run {
        assert!(
            self.code.is_some() && !self.ok(),
            "command was expected to fail:\n{self}"
        );
        self
    }

    /// Panics unless the output holds the error `summary` pointing at attribute `attr`: Terraform
    /// prints the configuration line of the attribute under the diagnostic (`  13:   attr = …`).
    #[track_caller]
    pub fn expect_diagnostic(&self, summary: &str, attr: &str) -> &Run {
        let text = self.text();
        let header = format!("Error: {summary}");
        let blocks: Vec<&str> = text.split("Error: ").skip(1).collect();
        assert!(
            text.contains(&header),
            "no diagnostic {header:?} in the output:\n{self}"
        );
        let points_at_attr = blocks.iter().filter(|b| b.starts_with(summary)).any(|b| {
            b.lines().any(|l| {
                let l = l.trim_start();
                let Some((num, rest)) = l.split_once(':') else {
                    return false;
                };
                let rest = rest.trim_start();
                num.chars().all(|c| c.is_ascii_digit())
                    && !num.is_empty()
                    && rest.starts_with(attr)
                    && rest[attr.len()..].trim_start().starts_with('=')
            })
        });
        assert!(
            points_at_attr,
            "diagnostic {header:?} does not point at attribute {attr:?}:\n{self}"
        );
        self
    }

    /// Panics unless the output mentions every one of `needles`. Runs of whitespace compare as
    /// one space on both sides: Terraform wraps diagnostics at its own width.
    #[track_caller]
    pub fn expect_mentions(&self, needles: &[&str]) -> &Run {
        let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
        let text = words(&self.text());
        for n in needles {
            assert!(text.contains(&words(n)), "output does not mention {n:?}:\n{self}");
        }
        self
    }
}

impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "$ {}\n(exit {}, {:.1} s)",
            self.command,
            self.code.map_or("killed".to_string(), |c| c.to_string()),
            self.elapsed.as_secs_f64()
        )?;
        if !self.stdout.is_empty() {
            writeln!(f, "--- stdout\n{}", self.stdout.trim_end())?;
        }
        if !self.stderr.is_empty() {
            writeln!(f, "--- stderr\n{}", self.stderr.trim_end())?;
        }
        Ok(())
    }
}

/// Runs `cmd` with stdin closed, collecting its output, and kills it after `timeout`.
///
/// Output is read by threads into shared buffers, so a grandchild that keeps a pipe open (an ssh
/// control master, a provider left behind by a killed terraform) cannot block us.
pub fn run_command(cmd: Command, timeout: Duration) -> Run {
    Background::spawn(cmd).wait(timeout)
}

/// A command running in the background: its output is collected
/// as it comes; [`Background::wait`] gives the [`Run`]. Dropped unfinished, it is killed (our own
/// child, by its handle).
pub struct Background {
    command: String,
    child: Option<std::process::Child>,
    start: Instant,
    out: (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>),
    err: (Arc<Mutex<Vec<u8>>>, std::thread::JoinHandle<()>),
}

impl Background {
    /// Starts `cmd` with stdin closed and its output piped.
    pub fn spawn(mut cmd: Command) -> Background {
        let command = describe(&cmd);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        let collect = |mut r: Box<dyn Read + Send>| {
            let buf = Arc::new(Mutex::new(Vec::new()));
            let b = buf.clone();
            let handle = std::thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                while let Ok(n) = r.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    b.lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend_from_slice(&chunk[..n]);
                }
            });
            (buf, handle)
        };
        let out = collect(Box::new(child.stdout.take().expect("piped stdout")));
        let err = collect(Box::new(child.stderr.take().expect("piped stderr")));
        Background {
            command,
            child: Some(child),
            start,
            out,
            err,
        }
    }

    /// Seconds since the command started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Whether the command has exited.
    pub fn is_finished(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    /// The output so far (stdout then stderr).
    pub fn output_so_far(&self) -> String {
        let take = |b: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
        };
        format!("{}{}", take(&self.out.0), take(&self.err.0))
    }

    /// Waits for the command to exit, killing it once `timeout` has passed since it started.
    pub fn wait(mut self, timeout: Duration) -> Run {
        let mut child = self.child.take().expect("waited once");
        let code = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code(),
                Ok(None) if self.start.elapsed() > timeout => {
                    // Our own child, by its handle.
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(e) => panic!("waiting for `{}`: {e}", self.command),
            }
        };
        // Give the readers a moment to drain; never wait on a pipe a grandchild holds open.
        let drain_deadline = Instant::now() + Duration::from_secs(2);
        while !(self.out.1.is_finished() && self.err.1.is_finished()) && Instant::now() < drain_deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let take = |b: &Arc<Mutex<Vec<u8>>>| {
            String::from_utf8_lossy(&b.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
        };
        let mut stderr = take(&self.err.0);
        if code.is_none() {
            stderr.push_str(&format!("\n[tfrun] killed after {} s", timeout.as_secs_f64()));
        }
        Run {
            command: self.command.clone(),
            code,
            stdout: take(&self.out.0),
            stderr,
            elapsed: self.start.elapsed(),
        }
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The command line of `cmd`, quoted as a shell would need it (for messages).
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        let a = a.to_string_lossy();
        if a.is_empty() || a.contains([' ', '\'', '"', '\n']) {
            s.push_str(&format!(" '{}'", a.replace('\'', r"'\''")));
        } else {
            s.push(' ');
            s.push_str(&a);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut c = Command::new("sh");
        c.args(["-c", script]);
        c
    }

    fn run(code: Option<i32>, stdout: &str, stderr: &str) -> Run {
        Run {
            command: "terraform plan".into(),
            code,
            stdout: stdout.into(),
            stderr: stderr.into(),
            elapsed: Duration::from_millis(1),
        }
    }

    #[test]
    fn output_exit_code_and_quoting() {
        let r = run_command(sh("printf out; printf err >&2; exit 3"), Duration::from_secs(30));
        assert_eq!(
            (r.code, r.stdout.as_str(), r.stderr.as_str()),
            (Some(3), "out", "err")
        );
        assert!(!r.ok());
        assert_eq!(r.text(), "outerr");
        assert_eq!(r.command, "sh -c 'printf out; printf err >&2; exit 3'");
        let mut c = Command::new("echo");
        c.args(["it's", "", "plain"]);
        assert_eq!(describe(&c), r"echo 'it'\''s' '' plain");
    }

    #[test]
    fn killed_after_the_timeout() {
        let t0 = Instant::now();
        let r = run_command(sh("sleep 30"), Duration::from_millis(300));
        assert_eq!(r.code, None, "{r}");
        assert!(t0.elapsed() < Duration::from_secs(10), "not killed: {r}");
        assert!(r.stderr.contains("killed after"), "{r}");
        assert!(r.to_string().contains("exit killed"), "{r}");
    }

    #[test]
    fn a_grandchild_holding_the_pipe_does_not_block() {
        // The shell exits at once; its background child keeps stdout open for 8 s (and ends by itself).
        let t0 = Instant::now();
        let r = run_command(sh("sleep 8 & echo started"), Duration::from_secs(20));
        assert_eq!(r.code, Some(0), "{r}");
        assert!(t0.elapsed() < Duration::from_secs(6), "blocked on the pipe: {r}");
    }

    #[test]
    fn background_output_so_far() {
        let mut b = Background::spawn(sh("echo first; sleep 30"));
        let t0 = Instant::now();
        while !b.output_so_far().contains("first") {
            assert!(t0.elapsed() < Duration::from_secs(10), "no output");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(!b.is_finished());
        // Dropped unfinished: killed (the test would otherwise leave a sleep behind).
    }

    const DIAG: &str = "\nError: Invalid Capacity\n\n  with libvirt_lvm_volume.v,\n  on main.tf line 14, in resource \"libvirt_lvm_volume\" \"v\":\n  14:   capacity = \"10 parsecs\"\n\nvalid units are MiB, GiB\n";

    #[test]
    fn diagnostics_point_at_attributes() {
        let r = run(Some(1), "", DIAG);
        r.expect_diagnostic("Invalid Capacity", "capacity")
            .expect_mentions(&["parsecs", "GiB"]);
        r.clone().expect_failure();
        for (summary, attr) in [
            ("Invalid Capacity", "name"),
            ("Invalid Capacity", "capa"),
            ("Invalid Name", "capacity"),
        ] {
            let caught = std::panic::catch_unwind(|| {
                r.expect_diagnostic(summary, attr);
            });
            assert!(caught.is_err(), "{summary} at {attr} accepted");
        }
        assert!(std::panic::catch_unwind(|| run(Some(0), "", "").expect_failure()).is_err());
        assert!(std::panic::catch_unwind(|| run(None, "", "").expect_failure()).is_err());
        assert!(std::panic::catch_unwind(|| run(None, "", "").expect_ok()).is_err());
        assert!(std::panic::catch_unwind(|| {
            run(Some(1), "", DIAG).expect_mentions(&["GiB", "TiB"]);
        })
        .is_err());
    }
}
