//! The final report of all seeds of one backend.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::run::SeedReport;

/// All seeds of one backend: printed as they finish, judged at the end.
pub struct Summary {
    pub(crate) backend: &'static str,
    pub(crate) started: Instant,
    pub(crate) reports: Vec<SeedReport>,
}

impl Summary {
    /// An empty summary for `backend`.
    pub fn new(backend: &'static str) -> Summary {
        Summary {
            backend,
            started: Instant::now(),
            reports: Vec::new(),
        }
    }

    /// Takes in one seed's report, printing its log when it lost data.
    pub fn add(&mut self, r: SeedReport) {
        if let Some((step, class, violations)) = &r.violation {
            eprintln!(
                "\n======== DATA LOSS: {} seed {} step {step} (`{class}`) ========\n{}\n\
                 step log of seed {}:\n{}\nreplay: {}\n",
                r.backend,
                r.seed,
                violations
                    .iter()
                    .map(|v| format!("  {}: {}", v.kind, v.what))
                    .collect::<Vec<_>>()
                    .join("\n"),
                r.seed,
                r.log.join("\n"),
                r.replay(*step)
            );
        }
        self.reports.push(r);
    }

    /// Prints the totals and the distinct failure classes; panics if any seed lost data.
    pub fn finish(self) {
        let steps: usize = self.reports.iter().map(|r| r.steps_run).sum();
        let seeds: Vec<String> = self.reports.iter().map(|r| r.seed.to_string()).collect();
        let mut classes: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut findings: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut bugs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut aborted = Vec::new();
        for r in &self.reports {
            if let Some((step, class, violations)) = &r.violation {
                let kinds: BTreeSet<&str> = violations.iter().map(|v| v.kind.as_str()).collect();
                for k in kinds {
                    classes
                        .entry(format!("{k} — by `{class}`"))
                        .or_default()
                        .push(format!("seed {} step {step} ({})", r.seed, r.replay(*step)));
                }
            }
            for (step, f) in &r.findings {
                findings
                    .entry(finding_class(f))
                    .or_default()
                    .push(format!("seed {} step {step}", r.seed));
            }
            for (step, b) in &r.provider_bugs {
                bugs.entry(b.clone())
                    .or_default()
                    .push(format!("seed {} step {step}", r.seed));
            }
            if let Some(a) = &r.aborted {
                aborted.push(format!("seed {}: {a}", r.seed));
            }
        }
        let mut out = format!(
            "\nSEQUENCE {}: {} seeds ({}), {steps} steps, {:.1} s; {} with data loss\n",
            self.backend,
            self.reports.len(),
            seeds.join(","),
            self.started.elapsed().as_secs_f64(),
            self.reports.iter().filter(|r| r.violation.is_some()).count()
        );
        for r in &self.reports {
            out.push_str(&format!(
                "  seed {}: {} steps in {:.1} s, {} terraform commands ({} failed), {} out-of-band changes, {} \
                 managed LVs{}\n",
                r.seed,
                r.steps_run,
                r.elapsed.as_secs_f64(),
                r.tf_commands,
                r.tf_failed,
                r.oob_done,
                r.managed_lvs,
                match (&r.violation, &r.aborted) {
                    (Some((step, class, _)), _) => format!(": DATA LOSS at step {step} (`{class}`)"),
                    (None, Some(a)) => format!(": ABORTED ({a})"),
                    _ => String::new(),
                }
            ));
        }
        let mut section = |title: &str, map: &BTreeMap<String, Vec<String>>| {
            if map.is_empty() {
                return;
            }
            out.push_str(&format!("{title}:\n"));
            for (class, where_) in map {
                out.push_str(&format!("  - {class}\n      first: {}", where_[0]));
                if where_.len() > 1 {
                    out.push_str(&format!(" (and {} more)", where_.len() - 1));
                }
                out.push('\n');
            }
        };
        section("data-loss classes (the invariant)", &classes);
        section(
            "findings (not fatal: state naming missing or foreign objects)",
            &findings,
        );
        section(
            "provider bugs? (not fatal: output that looks like a defect)",
            &bugs,
        );
        if !aborted.is_empty() {
            out.push_str(&format!(
                "aborted seeds (not a verdict): {}\n",
                aborted.join("; ")
            ));
        }
        let untested = untested(&self.reports);
        if !untested.is_empty() {
            out.push_str(&format!("tested nothing: {}\n", untested.join("; ")));
        }
        eprintln!("{out}");
        assert!(
            classes.is_empty() && aborted.is_empty() && untested.is_empty(),
            "the sequence test found data loss or could not run:{out}"
        );
    }
}

/// Why these seeds prove nothing, if they do not: a seed none of whose terraform commands
/// succeeded (a broken provider, terraform or harness passes every invariant vacuously), or a run in
/// which Terraform never made an LV (nothing managed was ever at risk).
pub(crate) fn untested(reports: &[SeedReport]) -> Vec<String> {
    let mut out: Vec<String> = reports
        .iter()
        .filter(|r| r.aborted.is_none() && r.violation.is_none() && r.tf_failed == r.tf_commands)
        .map(|r| format!("seed {}: all {} terraform commands failed", r.seed, r.tf_commands))
        .collect();
    if !reports.is_empty() && reports.iter().all(|r| r.managed_lvs == 0) {
        out.push("no seed had Terraform make a single LV".into());
    }
    out
}

/// A finding without its identifiers: `state claims foreign object: libvirt_lvm_volume`.
pub(crate) fn finding_class(f: &str) -> String {
    let (head, rest) = f.split_once(": ").unwrap_or((f, ""));
    let ty = rest.split('.').next().unwrap_or_default();
    let what = rest.split(" = ").nth(1).map(|s| {
        s.split_whitespace()
            .take_while(|w| !w.contains('/') && !w.starts_with('('))
            .collect::<Vec<_>>()
            .join(" ")
    });
    match what {
        Some(w) if !w.is_empty() => format!("{head}: {ty} = {w}"),
        _ => format!("{head}: {ty}"),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn report(seed: u64, tf_commands: usize, tf_failed: usize, managed_lvs: usize) -> SeedReport {
        SeedReport {
            backend: "unit",
            test_fn: "sequence_unit",
            seed,
            steps: 5,
            focus: None,
            steps_run: 5,
            elapsed: Duration::ZERO,
            log: Vec::new(),
            violation: None,
            findings: Vec::new(),
            provider_bugs: Vec::new(),
            tf_commands,
            tf_failed,
            oob_done: 1,
            managed_lvs,
            aborted: None,
        }
    }

    #[test]
    fn a_run_whose_commands_all_fail_does_not_pass() {
        assert!(untested(&[report(1, 4, 1, 2), report(2, 3, 0, 0)]).is_empty());
        assert_eq!(
            untested(&[report(1, 4, 1, 2), report(2, 3, 3, 0)]),
            ["seed 2: all 3 terraform commands failed"]
        );
        assert_eq!(
            untested(&[report(1, 0, 0, 0)]),
            [
                "seed 1: all 0 terraform commands failed",
                "no seed had Terraform make a single LV"
            ]
        );
        assert_eq!(
            untested(&[report(1, 4, 1, 0), report(2, 4, 2, 0)]),
            ["no seed had Terraform make a single LV"]
        );
        let summary = Summary {
            backend: "unit",
            started: Instant::now(),
            reports: vec![report(7, 2, 2, 1)],
        };
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| summary.finish()));
        let msg = caught
            .expect_err("an untested run fails")
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            msg.contains("tested nothing: seed 7: all 2 terraform commands failed"),
            "{msg}"
        );
    }

    #[test]
    fn replays_name_the_seed_steps_and_focus() {
        let mut r = report(42, 1, 0, 1);
        assert_eq!(
            r.replay(3),
            "SEQUENCE_SEED=42 SEQUENCE_STEPS=3 cargo test -p acceptance-tests --test sequence -- --exact \
             --nocapture sequence_unit"
        );
        // The final destroy (step 6 of 5) replays with all 5 steps.
        r.focus = Some(crate::sequence::generator::Focus::Overwrite);
        assert!(r
            .replay(6)
            .starts_with("SEQUENCE_SEED=42 SEQUENCE_STEPS=5 SEQUENCE_FOCUS=overwrite "));
    }
}
