//! Progress of a long transfer, logged at INFO at least every 10 % or every 10 s, whichever
//! comes first, with bytes done, rate and ETA.

use std::time::{Duration, Instant};

/// Log at least this often.
const EVERY: Duration = Duration::from_secs(10);

/// Tracks one transfer and logs it.
#[derive(Debug)]
pub struct Progress {
    what: String,
    action: &'static str,
    total: Option<u64>,
    started: Instant,
    last_log: Instant,
    /// The last tenth logged (0..=10).
    last_tenth: u64,
    /// Bytes of the disk (or download) done, holes included.
    done: u64,
    /// Bytes that really went over the wire (data, not holes).
    sent: u64,
}

impl Progress {
    /// Starts tracking `action` ("upload", "download") of `what`, `total` bytes when known.
    pub fn new(action: &'static str, what: &str, total: Option<u64>) -> Progress {
        let now = Instant::now();
        Progress {
            what: what.to_string(),
            action,
            total: total.filter(|&t| t > 0),
            started: now,
            last_log: now,
            last_tenth: 0,
            done: 0,
            sent: 0,
        }
    }

    /// `n` more bytes done; `data` says whether they were sent (else a hole).
    pub fn advance(&mut self, n: u64, data: bool) {
        self.done += n;
        if data {
            self.sent += n;
        }
        let tenth = self.total.map_or(0, |t| (self.done.min(t) * 10) / t);
        if tenth > self.last_tenth || self.last_log.elapsed() >= EVERY {
            self.last_tenth = tenth;
            self.last_log = Instant::now();
            self.log();
        }
    }

    /// Bytes done so far.
    pub fn done(&self) -> u64 {
        self.done
    }

    /// Logs the final line.
    pub fn finish(&self) {
        let secs = self.started.elapsed().as_secs_f64();
        tracing::info!(
            what = %self.what,
            bytes = self.done,
            sent_bytes = self.sent,
            seconds = format!("{secs:.1}"),
            rate_mib_s = format!("{:.1}", mib(self.done) / secs.max(1e-9)),
            "{} of {} finished: {:.1} MiB in {:.1} s ({:.1} MiB of data)",
            self.action,
            self.what,
            mib(self.done),
            secs,
            mib(self.sent)
        );
    }

    fn log(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-9);
        let rate = self.done as f64 / secs;
        match self.total {
            Some(total) => {
                let left = total.saturating_sub(self.done) as f64;
                let eta = if rate > 0.0 { left / rate } else { f64::INFINITY };
                tracing::info!(
                    what = %self.what,
                    bytes = self.done,
                    total,
                    sent_bytes = self.sent,
                    rate_mib_s = format!("{:.1}", rate / 1048576.0),
                    eta_s = format!("{eta:.0}"),
                    "{} of {}: {:.0} % ({:.1} of {:.1} MiB, {:.1} MiB of data), {:.1} MiB/s, about {:.0} s left",
                    self.action,
                    self.what,
                    self.done as f64 * 100.0 / total as f64,
                    mib(self.done),
                    mib(total),
                    mib(self.sent),
                    rate / 1048576.0,
                    eta
                );
            }
            None => tracing::info!(
                what = %self.what,
                bytes = self.done,
                sent_bytes = self.sent,
                rate_mib_s = format!("{:.1}", rate / 1048576.0),
                "{} of {}: {:.1} MiB so far ({:.1} MiB of data), {:.1} MiB/s (total size unknown)",
                self.action,
                self.what,
                mib(self.done),
                mib(self.sent),
                rate / 1048576.0
            ),
        }
    }
}

fn mib(n: u64) -> f64 {
    n as f64 / 1048576.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line per tenth crossed (a big hole may cross several at once: one line), none between.
    #[test]
    fn logs_each_tenth() {
        let mut p = Progress::new("upload", "x", Some(1000));
        p.advance(50, true);
        assert_eq!(p.last_tenth, 0);
        p.advance(60, true);
        assert_eq!(p.last_tenth, 1);
        p.advance(500, false);
        assert_eq!(p.last_tenth, 6);
        p.advance(390, true);
        assert_eq!(p.last_tenth, 10);
        assert_eq!((p.done(), p.sent), (1000, 500));
    }
}
