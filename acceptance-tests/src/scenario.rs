//! [`Scenario`]: one test's guard. Serialises scenarios, brings the lab up, hands out unique
//! names, measures the lab's speed for time limits, and cleans up when dropped.

use std::sync::{Mutex, MutexGuard};
use std::time::{Instant, SystemTime};

use crate::calibration::{timed, Calibration};
use crate::domain::{Domain, DomainOpts};
use crate::hcl::{hcl_list, hcl_string, provider_block};
use crate::lab::{lab, Lab};
use crate::provider::{provider_dir, terraform_bin};
use crate::workdir::Workdir;
use crate::{log, PREFIX};

static SERIAL: Mutex<()> = Mutex::new(());

fn skip_requested() -> bool {
    std::env::var("ACCEPTANCE_SKIP").as_deref() == Ok("1")
}

fn in_ci() -> bool {
    std::env::var("CI").as_deref() == Ok("true")
}

/// One acceptance scenario: holds the suite-wide lock, names things uniquely, cleans up on drop.
pub struct Scenario {
    name: String,
    prefix: String,
    lab: &'static Lab,
    started: Instant,
    step_start: Mutex<Instant>,
    _serial: MutexGuard<'static, ()>,
}

impl Scenario {
    /// Starts the scenario `name` (shown in logs; its first letters also go into the prefix of every
    /// name it creates). Returns None only when the suite is skipped with `ACCEPTANCE_SKIP=1`
    /// outside CI; panics, saying why, when the lab or the provider cannot be had.
    pub fn start(name: &str) -> Option<Scenario> {
        if skip_requested() {
            if in_ci() {
                log("ACCEPTANCE_SKIP=1 is ignored because CI=true: acceptance tests must run in CI");
            } else {
                eprintln!(
                    "\n!!!!!!!! ACCEPTANCE TEST {name} SKIPPED (ACCEPTANCE_SKIP=1): NOTHING WAS TESTED ON THE LAB !!!!!!!!\n"
                );
                return None;
            }
        }
        let serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
        provider_dir();
        let lab = match lab() {
            Ok(l) => l,
            Err(e) => panic!(
                "the acceptance tests need the lab hypervisor, and it could not be started:\n{e}\n\
                 (to skip them explicitly outside CI, set ACCEPTANCE_SKIP=1)"
            ),
        };
        if let Some(why) = lab.unusable() {
            panic!("the lab was marked unusable earlier in this run, so {name} cannot run on it: {why}");
        }
        let tag: String = name
            .split("::")
            .next()
            .unwrap_or(name)
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(6)
            .collect::<String>()
            .to_ascii_lowercase();
        let prefix = format!("{PREFIX}{tag}{}", unique_suffix());
        log(format!(
            "=== scenario {name} (prefix {prefix}, lab {}, terraform {})",
            lab.suite,
            terraform_bin()
        ));
        Some(Scenario {
            name: name.to_string(),
            prefix,
            lab,
            started: Instant::now(),
            step_start: Mutex::new(Instant::now()),
            _serial: serial,
        })
    }

    /// The lab hypervisor.
    pub fn lab(&self) -> &'static Lab {
        self.lab
    }

    /// This scenario's unique prefix, such as `accpool3f9a`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A unique name for something this scenario creates: `<prefix>-<what>`.
    pub fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }

    /// Logs a step with the time since the previous one (visible with `--nocapture`).
    pub fn step(&self, what: &str) {
        let mut s = self.step_start.lock().unwrap_or_else(|p| p.into_inner());
        log(format!(
            "  [{:6.1} s] {} (+{:.1} s)",
            self.started.elapsed().as_secs_f64(),
            what,
            s.elapsed().as_secs_f64()
        ));
        *s = Instant::now();
    }

    /// The provider block plus `required_providers`, pointing at the lab.
    pub fn provider_block(&self) -> String {
        provider_block(&format!("uri = {}", hcl_string(&self.lab.uri)))
    }

    /// A work directory whose main.tf is `body` after the provider block.
    pub fn workdir(&self, body: &str) -> Workdir<'_> {
        let wd = self.new_workdir();
        wd.write(body);
        wd
    }

    /// A work directory whose main.tf is exactly `main_tf` (bring your own provider block).
    pub fn workdir_raw(&self, main_tf: &str) -> Workdir<'_> {
        let wd = self.new_workdir();
        wd.write_raw(main_tf);
        wd
    }

    fn new_workdir(&self) -> Workdir<'_> {
        Workdir::new(self.lab, &self.prefix, self.provider_block())
    }

    /// Defines (and, if asked, starts) a diskless fixture domain named `<prefix>-<what>`.
    pub fn domain(&self, what: &str, opts: DomainOpts) -> Domain {
        Domain::create(self.lab, &self.name(what), opts)
    }

    /// Measures the lab's floors now ([`Calibration`]): three virsh and three ssh round trips and
    /// three `terraform plan`s that read the lab once (a pool data source looking up a pool that
    /// does not exist: terraform's start, the provider's three starts, its connection to the lab, one
    /// lookup, one error). Call it right before the step whose time is bounded, so the limits
    /// reflect the machine's load at that moment.
    pub fn calibrate(&self) -> Calibration {
        let lab = self.lab;
        let wd = self.workdir(&format!(
            "data \"libvirt_lvm_pool\" \"calibration\" {{\n  name = {}\n}}\n",
            hcl_string(&self.name("calibration"))
        ));
        let plan = || {
            wd.tf(&["plan", "-input=false"])
                .expect_failure()
                .expect_mentions(&["Storage Pool Not Found"]);
        };
        let c = Calibration::measure(
            || timed(|| drop(lab.virsh(&["version"]).expect_ok())),
            || timed(|| drop(lab.ssh_run("true").expect_ok())),
            || timed(plan),
        );
        self.step(&format!("calibration: {c}"));
        c
    }

    /// A pool body over the lab's PV devices (`count` of them), as HCL list text.
    pub fn devices_hcl(&self, count: usize) -> String {
        hcl_list(&self.lab.pv_devices[..count])
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let failed = std::thread::panicking();
        // Domains and pools by this scenario's prefix; the shared PV disks are always left clean.
        // A cleanup that leaves something behind would break every later scenario on this lab:
        // it fails this one and marks the lab unusable.
        let cleanup = match self.lab.unusable() {
            Some(why) => Err(format!("no cleanup: the lab is unusable ({why})")),
            None => self
                .lab
                .cleanup(&self.prefix)
                .inspect_err(|e| self.lab.mark_unusable(e)),
        };
        log(format!(
            "=== scenario {}: {} in {:.1} s",
            self.name,
            if failed { "FAILED" } else { "passed" },
            self.started.elapsed().as_secs_f64()
        ));
        if let Err(e) = cleanup {
            if failed {
                log(e);
            } else {
                panic!("{e}");
            }
        }
    }
}

fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let mix =
        nanos ^ std::process::id().rotate_left(16) ^ N.fetch_add(1, Ordering::Relaxed).wrapping_mul(40503);
    format!("{:04x}", (mix ^ (mix >> 16)) & 0xffff)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_are_four_hex_digits_and_vary() {
        let a: Vec<String> = (0..50).map(|_| unique_suffix()).collect();
        assert!(
            a.iter()
                .all(|s| s.len() == 4 && s.chars().all(|c| c.is_ascii_hexdigit())),
            "{a:?}"
        );
        let distinct: std::collections::BTreeSet<_> = a.iter().collect();
        assert!(distinct.len() > 40, "{a:?}");
    }
}
