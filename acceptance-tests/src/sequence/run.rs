//! One seed: its steps, each Terraform command judged by the ledger, a final judged `terraform
//! destroy`, and its report.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::backends::{Backend, LabBackend, TestDriver};
use super::generator::{
    edit, strings, tf_args, weighted, Config, Draw, Focus, Kind, Knobs, Oob, Rng, KINDS, OOB_LAB,
    OOB_LAB_BEFORE_SAVED_APPLY, OOB_TEST_DRIVER, OOB_TEST_DRIVER_BEFORE_SAVED_APPLY,
};
use super::ledger::{Command, Ledger, Origin, Violation};
use super::oob::oob;
use super::terraform::{destroys_started, first_error, indent, provider_bug};
use super::world::World;
use crate::libvirtd::Libvirtd;
use crate::scenario::Scenario;

/// What became of one seed.
pub struct SeedReport {
    pub(crate) backend: &'static str,
    pub(crate) test_fn: &'static str,
    pub(crate) seed: u64,
    /// The steps asked for (a final destroy follows them).
    pub(crate) steps: usize,
    pub(crate) focus: Option<Focus>,
    pub(crate) steps_run: usize,
    pub(crate) elapsed: Duration,
    pub(crate) log: Vec<String>,
    /// The step, its command class and what broke.
    pub(crate) violation: Option<(usize, String, Vec<Violation>)>,
    pub(crate) findings: Vec<(usize, String)>,
    pub(crate) provider_bugs: Vec<(usize, String)>,
    pub(crate) tf_commands: usize,
    pub(crate) tf_failed: usize,
    pub(crate) oob_done: usize,
    /// Distinct LVs Terraform made during the seed.
    pub(crate) managed_lvs: usize,
    /// The seed could not go on (an observation failed): not a verdict on the provider.
    pub(crate) aborted: Option<String>,
}

impl SeedReport {
    pub(crate) fn log(&mut self, line: String) {
        eprintln!("[sequence {} seed {}] {line}", self.backend, self.seed);
        self.log.push(line);
    }

    /// The command that replays this seed up to `step` (the final destroy is step `steps + 1`,
    /// which a replay of all the steps runs too).
    pub(crate) fn replay(&self, step: usize) -> String {
        let mut env = format!(
            "SEQUENCE_SEED={} SEQUENCE_STEPS={}",
            self.seed,
            step.min(self.steps)
        );
        if let Some(f) = self.focus {
            env.push_str(&format!(" SEQUENCE_FOCUS={}", f.name()));
        }
        format!(
            "{env} cargo test -p acceptance-tests --test sequence -- --exact --nocapture {}",
            self.test_fn
        )
    }
}

/// A seed in progress: the backend, what the judge knows, the report so far.
struct Seed {
    b: Box<dyn Backend>,
    r: SeedReport,
    ledger: Ledger,
    world: World,
    /// Managed LVs that got their pattern (a wipe of an LV that holds zeros would be invisible).
    patterned: BTreeSet<String>,
    /// Every LV Terraform made.
    managed: BTreeSet<String>,
}

/// Runs the seeds' steps on `b`, then a final `terraform destroy`, judging every command.
pub(crate) fn run_seed(b: Box<dyn Backend>, knobs: &Knobs, seed: u64, test_fn: &'static str) -> SeedReport {
    let started = Instant::now();
    let steps = knobs.steps;
    let r = SeedReport {
        backend: b.label(),
        test_fn,
        seed,
        steps,
        focus: knobs.focus,
        steps_run: 0,
        elapsed: Duration::ZERO,
        log: Vec::new(),
        violation: None,
        findings: Vec::new(),
        provider_bugs: Vec::new(),
        tf_commands: 0,
        tf_failed: 0,
        oob_done: 0,
        managed_lvs: 0,
        aborted: None,
    };
    let mut s = Seed {
        b,
        r,
        ledger: Ledger::default(),
        world: World::default(),
        patterned: BTreeSet::new(),
        managed: BTreeSet::new(),
    };
    // Printed first, so that even a run killed half-way can be replayed.
    let replay = s.r.replay(steps);
    s.r.log(format!("replay: {replay}"));
    let mut rng = Rng(seed);
    let attachments = !s.b.layout().domains.is_empty();
    let real = s.b.real_lvm();
    let mut config = Config::random(&Draw::from(&mut rng), attachments, real);
    // Something to keep from the first apply on: a seed that never makes a volume tests nothing.
    if !config.vol.iter().any(|v| *v) {
        config.toggle("libvirt_lvm_volume.v0");
    }
    s.b.tf().write(&config.hcl(s.b.layout()));
    s.r.log(format!("initial configuration: {}", config.describe()));
    match s.b.observe() {
        Ok(w) => s.world = w,
        Err(e) => {
            s.r.aborted = Some(format!("first observation failed: {e}"));
            return s.finish(started);
        }
    }
    s.ledger.absorb(&s.world, Origin::Foreign);
    let mut pending_plan: Option<(u64, &'static str)> = None;
    let mut counter = 0u32;
    for step in 1..=steps {
        let d = Draw::from(&mut rng);
        s.r.steps_run = step;
        let kind = match pending_plan {
            Some((0, _)) => None,
            Some((n, class)) => {
                pending_plan = Some((n - 1, class));
                Some(Kind::Oob)
            }
            None if step == 1 => Some(Kind::Apply),
            None => {
                // The overwrite focus needs edits (the flag, then a device) more than other steps.
                let kinds = Focus::weigh(knobs.focus, &KINDS, |k| {
                    (k == Kind::Edit).then_some(Focus::Overwrite)
                });
                Some(weighted(&kinds, d.kind))
            }
        };
        let Some(kind) = kind else {
            // The saved plan, after the out-of-band changes drawn for it.
            let class = pending_plan
                .take()
                .map(|(_, c)| c)
                .unwrap_or("apply <saved plan>");
            if !s.tf_step(step, &strings(&["apply", "-input=false", "p"]), class, false) || !s.drop_plan() {
                break;
            }
            continue;
        };
        match kind {
            Kind::Edit => {
                let what = edit(&mut config, &d, attachments, real, knobs.focus);
                s.b.tf().write(&config.hcl(s.b.layout()));
                s.r.log(format!("{step:3} edit: {what} -> {}", config.describe()));
            }
            Kind::Oob => {
                let table: &[(Oob, u64)] = match (real, pending_plan.is_some()) {
                    (true, true) => &OOB_LAB_BEFORE_SAVED_APPLY,
                    (true, false) => &OOB_LAB,
                    (false, true) => &OOB_TEST_DRIVER_BEFORE_SAVED_APPLY,
                    (false, false) => &OOB_TEST_DRIVER,
                };
                let table = Focus::weigh(knobs.focus, table, |o| Some(Focus::Oob(o)));
                if !s.oob_step(step, weighted(&table, d.b), &d, &mut counter) {
                    break;
                }
            }
            _ => {
                let state = s.b.tf().state();
                let (args, class) = tf_args(kind, &d, &config, &state, attachments);
                if !s.tf_step(step, &args, class, true) {
                    break;
                }
                if matches!(kind, Kind::PlanApply | Kind::PlanDestroy) && s.b.tf().path().join("p").exists() {
                    let class = if kind == Kind::PlanDestroy {
                        "apply <saved destroy plan>"
                    } else {
                        "apply <saved plan>"
                    };
                    pending_plan = Some((d.d % 3, class));
                }
            }
        }
    }
    // Whatever the last steps did out of band is judged too: a final destroy of everything, the
    // command that reaches furthest (pool deletes with their volume groups).
    if s.r.violation.is_none() && s.r.aborted.is_none() && s.drop_plan() {
        s.tf_step(
            steps + 1,
            &strings(&["destroy", "-auto-approve", "-input=false"]),
            "destroy",
            true,
        );
    }
    s.finish(started)
}

impl Seed {
    /// Removes a saved plan that was not applied; false (the seed aborted) when that fails.
    fn drop_plan(&mut self) -> bool {
        match std::fs::remove_file(self.b.tf().path().join("p")) {
            Ok(()) => true,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
            Err(e) => {
                self.r.aborted = Some(format!("removing the saved plan failed: {e}"));
                false
            }
        }
    }

    fn finish(mut self, started: Instant) -> SeedReport {
        self.r.elapsed = started.elapsed();
        self.r.managed_lvs = self.managed.len();
        let r = &mut self.r;
        let line = format!(
            "{} after {} steps in {:.1} s ({} terraform commands, {} failed; {} out-of-band changes; {} managed LVs)",
            if r.violation.is_some() {
                "DATA LOSS"
            } else if r.aborted.is_some() {
                "ABORTED"
            } else {
                "no data loss"
            },
            r.steps_run,
            r.elapsed.as_secs_f64(),
            r.tf_commands,
            r.tf_failed,
            r.oob_done,
            r.managed_lvs
        );
        r.log(line);
        self.r
    }

    /// The world after `step`, or None (the seed aborted) when it cannot be observed.
    fn observe(&mut self, step: usize) -> Option<World> {
        match self.b.observe() {
            Ok(w) => Some(w),
            Err(e) => {
                self.r.aborted = Some(format!("observation after step {step} failed: {e}"));
                None
            }
        }
    }

    /// One out-of-band change and the world it left (whatever is new is foreign). False: stop.
    fn oob_step(&mut self, step: usize, op: Oob, d: &Draw, counter: &mut u32) -> bool {
        match oob(op, d, &mut *self.b, &self.world, &self.ledger, counter) {
            Ok(what) => {
                self.r.oob_done += 1;
                self.r.log(format!("{step:3} out of band: {what}"));
            }
            Err(why) => self
                .r
                .log(format!("{step:3} out of band {op:?}: not done: {why}")),
        }
        let Some(w) = self.observe(step) else {
            return false;
        };
        self.ledger.absorb(&w, Origin::Foreign);
        self.world = w;
        true
    }

    /// Runs one terraform command, checks the invariant, takes in the new world and gives every
    /// new managed LV its pattern. False: stop the seed.
    fn tf_step(&mut self, step: usize, args: &[String], class: &str, claims: bool) -> bool {
        let prior = self.b.tf().state();
        let run = self.b.tf().run(args);
        let post = self.b.tf().state();
        let r = &mut self.r;
        r.tf_commands += 1;
        if !run.ok() {
            r.tf_failed += 1;
        }
        let err = first_error(&run);
        r.log(format!(
            "{step:3} terraform {} -> {}{} ({:.1} s)",
            args.join(" "),
            run.code.map_or("killed".to_string(), |c| format!("exit {c}")),
            if err.is_empty() {
                String::new()
            } else {
                format!(": {err}")
            },
            run.elapsed.as_secs_f64()
        ));
        if let Some(bug) = provider_bug(&run) {
            r.log(format!("    PROVIDER BUG? {bug}\n{}", indent(&run.text())));
            r.provider_bugs.push((step, bug));
        }
        let Some(w) = self.observe(step) else {
            return false;
        };
        let destroyed = destroys_started(&run.text());
        let cmd = Command {
            prior: &prior,
            destroyed: &destroyed,
        };
        let mut notes = Vec::new();
        let violations = self.ledger.check(&w, &cmd, &mut notes);
        for n in notes {
            self.r.log(format!("    note: {n}"));
        }
        if !violations.is_empty() {
            for v in &violations {
                self.r.log(format!("    DATA LOSS: {}: {}", v.kind, v.what));
            }
            self.r.log(format!(
                "    output of the failing command:\n{}",
                indent(&run.text())
            ));
            self.r.violation = Some((step, class.to_string(), violations));
            return false;
        }
        self.ledger.absorb(&w, Origin::Terraform);
        // Only an untargeted command that refreshed everything and succeeded says what the state holds.
        if claims && run.ok() && (class == "apply" || class == "destroy") {
            for f in self.ledger.state_claims(&w, &post) {
                self.r.log(format!("    finding: {f}"));
                self.r.findings.push((step, f));
            }
        }
        self.world = w;
        if let Err(e) = self.mark_managed(step) {
            self.r.aborted = Some(format!("writing patterns after step {step} failed: {e}"));
            return false;
        }
        true
    }

    /// A pattern of its own in every active managed LV that has none yet, its sum in the ledger.
    fn mark_managed(&mut self, step: usize) -> Result<(), String> {
        let managed = self
            .ledger
            .lvs
            .iter()
            .filter(|(_, e)| e.origin == Origin::Terraform);
        self.managed.extend(managed.clone().map(|(k, _)| k.clone()));
        let new: Vec<(String, (String, String))> = managed
            .filter(|(k, e)| e.obs.sha.is_some() && !self.patterned.contains(*k))
            .map(|(k, e)| (k.clone(), (e.obs.vg.clone(), e.obs.name.clone())))
            .collect();
        if new.is_empty() || !self.b.real_lvm() {
            return Ok(());
        }
        let lvs: Vec<(String, String)> = new.iter().map(|(_, l)| l.clone()).collect();
        let sums = self.b.write_patterns(&lvs, &format!("managed@{step}"))?;
        for ((key, _), sum) in new.into_iter().zip(sums) {
            if let (Some(sum), Some(e)) = (sum, self.ledger.lvs.get_mut(&key)) {
                e.sha = Some(sum);
                self.patterned.insert(key);
            }
        }
        Ok(())
    }
}

/// One seed on libvirt's test driver served by `daemon` (a fresh one per seed: the driver's
/// world starts empty).
pub fn test_driver_seed(daemon: &Libvirtd, knobs: &Knobs, seed: u64, test_fn: &'static str) -> SeedReport {
    virt::error::clear_error_callback();
    let backend =
        TestDriver::new(daemon).unwrap_or_else(|e| panic!("cannot connect to the private libvirtd: {e}"));
    run_seed(Box::new(backend), knobs, seed, test_fn)
}

/// One seed on the lab, within scenario `s` (whose cleanup removes what the seed made).
pub fn lab_seed(s: Scenario, knobs: &Knobs, seed: u64, test_fn: &'static str) -> SeedReport {
    virt::error::clear_error_callback();
    let backend = LabBackend::new(s, seed)
        .unwrap_or_else(|e| panic!("setting up the lab for the sequence test failed: {e}"));
    run_seed(Box::new(backend), knobs, seed, test_fn)
}
