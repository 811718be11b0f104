//! Time limits derived from the speed of this lab on this machine, measured, instead of fixed
//! seconds. The lab is an emulated (TCG) guest; in CI two of them share two cores with the
//! tests, so a fixed "60 s" is generous one day and flaky the next. A [`Calibration`] measures the
//! floors at the moment it is made: one `virsh` round trip to the guest's libvirtd, one `ssh`
//! round trip into the guest, and one `terraform plan` that reads the lab once (terraform's and
//! the provider's own start-up, three provider processes, a connection and a lookup).
//!
//! A limit is then what the provider's settings promise (keepalive, `connect_timeout`) plus a
//! multiple ([`SLACK`]) of the measured cost of the work around it, so it grows with the load
//! and stays meaningful: a provider that hangs still exceeds it.

use std::fmt;
use std::time::{Duration, Instant};

/// How many times the measured floors a limit allows on top of what is promised: the floors are
/// medians of three, and the machine's load changes between the measurement and the test.
pub const SLACK: u32 = 4;

/// Floors measured on the lab, medians of three runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calibration {
    /// `virsh version` against the lab's libvirtd.
    pub virsh: Duration,
    /// `ssh true` into the guest.
    pub ssh: Duration,
    /// `terraform plan` reading the lab once.
    pub terraform: Duration,
}

impl Calibration {
    /// Runs each measurement three times and keeps the medians.
    pub fn measure(
        mut virsh: impl FnMut() -> Duration,
        mut ssh: impl FnMut() -> Duration,
        mut terraform: impl FnMut() -> Duration,
    ) -> Calibration {
        Calibration {
            virsh: median3(&mut virsh),
            ssh: median3(&mut ssh),
            terraform: median3(&mut terraform),
        }
    }

    /// The slower of one virsh and one ssh round trip.
    pub fn round_trip(&self) -> Duration {
        self.virsh.max(self.ssh)
    }

    /// The limit for something the provider promises to do within `promised` once it is running,
    /// which also needs `terraform_cmds` terraform commands and `round_trips` lab round trips:
    /// `promised + SLACK × (terraform_cmds × terraform + round_trips × round_trip)`.
    pub fn limit(&self, promised: Duration, terraform_cmds: u32, round_trips: u32) -> Duration {
        promised + (self.terraform * terraform_cmds + self.round_trip() * round_trips) * SLACK
    }

    /// How long to wait for the lab to get through `round_trips` round trips' worth of work (the
    /// guest restarting a daemon, creating a few volumes): `SLACK × round_trips × round_trip`.
    /// Waits that only detect a hang use this rather than a fixed number of seconds.
    pub fn patience(&self, round_trips: u32) -> Duration {
        self.round_trip() * round_trips * SLACK
    }
}

impl fmt::Display for Calibration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "virsh round trip {:.2} s, ssh round trip {:.2} s, terraform plan reading the lab {:.2} s",
            self.virsh.as_secs_f64(),
            self.ssh.as_secs_f64(),
            self.terraform.as_secs_f64()
        )
    }
}

fn median3(f: &mut impl FnMut() -> Duration) -> Duration {
    let mut v = [f(), f(), f()];
    v.sort();
    v[1]
}

/// Times `f`.
pub fn timed(f: impl FnOnce()) -> Duration {
    let t0 = Instant::now();
    f();
    t0.elapsed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn medians_and_limits() {
        let mut virsh = [secs(0.3), secs(0.1), secs(9.0)].into_iter();
        let mut ssh = [secs(0.5), secs(0.5), secs(0.4)].into_iter();
        let mut tf = [secs(2.0), secs(3.0), secs(1.0)].into_iter();
        let c = Calibration::measure(
            || virsh.next().expect("three"),
            || ssh.next().expect("three"),
            || tf.next().expect("three"),
        );
        assert_eq!(
            c,
            Calibration {
                virsh: secs(0.3),
                ssh: secs(0.5),
                terraform: secs(2.0)
            }
        );
        assert_eq!(c.round_trip(), secs(0.5));
        // 18 s promised + 4 × (1 × 2 s + 2 × 0.5 s)
        assert_eq!(c.limit(secs(18.0), 1, 2), secs(30.0));
        assert_eq!(c.limit(Duration::ZERO, 0, 0), Duration::ZERO);
        assert_eq!(c.patience(10), secs(20.0));
        // A slower machine gets proportionally longer limits.
        let slow = Calibration {
            virsh: secs(0.6),
            ssh: secs(1.0),
            terraform: secs(4.0),
        };
        assert!(slow.limit(secs(18.0), 1, 2) > c.limit(secs(18.0), 1, 2));
        assert!(c.to_string().contains("terraform plan reading the lab 2.00 s"));
    }
}
