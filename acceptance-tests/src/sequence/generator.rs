//! The random part: one `u64` seed drives everything ([`Rng`]); every step draws the same
//! number of values whatever happened ([`Draw`]), so a seed replays the same actions as long as the
//! hypervisor answers the same way. Here too: the configuration model ([`Config`]: which pools,
//! volumes and attachments exist, with their destroy flags), the step kinds and out-of-band
//! changes with their weights, configuration edits and terraform command lines.

use super::terraform::TfState;

/// SplitMix64: a few lines, and what a seed produces never changes with a dependency update, so a
/// printed seed stays a valid replay.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The values one step draws, always the same number of them, so that what a step does never shifts
/// what later steps draw.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Draw {
    pub(crate) kind: u64,
    pub(crate) a: u64,
    pub(crate) b: u64,
    pub(crate) c: u64,
    pub(crate) d: u64,
}

impl Draw {
    pub(crate) fn from(rng: &mut Rng) -> Draw {
        Draw {
            kind: rng.next(),
            a: rng.next(),
            b: rng.next(),
            c: rng.next(),
            d: rng.next(),
        }
    }
}

/// `items[pick % len]`.
pub(crate) fn pick<T>(items: &[T], pick: u64) -> Option<&T> {
    (!items.is_empty()).then(|| &items[(pick % items.len() as u64) as usize])
}

/// The index chosen by `value` among `weights`.
pub(crate) fn weighted<T: Copy>(weights: &[(T, u64)], value: u64) -> T {
    let total: u64 = weights.iter().map(|(_, w)| w).sum();
    let mut v = value % total.max(1);
    for (t, w) in weights {
        if v < *w {
            return *t;
        }
        v -= w;
    }
    weights[0].0
}

/// The environment knobs: which seeds, how many steps, and an optional focus.
pub struct Knobs {
    pub(crate) first: u64,
    pub(crate) count: u64,
    /// Steps per seed (a final judged `terraform destroy` follows them).
    pub steps: usize,
    /// A move drawn ten times as often as its weight says ([`Focus`]).
    pub(crate) focus: Option<Focus>,
}

/// `SEQUENCE_FOCUS`: one out-of-band move or configuration edit drawn ten times as often, to hunt
/// one class of loss in fewer steps. The judge is the same; CI runs without a focus.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Focus {
    Oob(Oob),
    /// The pool edits that make a replacement over a kept VG: `overwrite` and a device added.
    Overwrite,
}

impl Focus {
    const NAMES: [(&'static str, Focus); 7] = [
        ("deactivate", Focus::Oob(Oob::Deactivate)),
        ("thin", Focus::Oob(Oob::ThinPool)),
        ("snapshot", Focus::Oob(Oob::Snapshot)),
        ("swap-disk", Focus::Oob(Oob::SwapDisk)),
        ("lv-in-pool", Focus::Oob(Oob::LvInPool)),
        ("alias-domain", Focus::Oob(Oob::AliasDomain)),
        ("overwrite", Focus::Overwrite),
    ];

    fn parse(s: &str) -> Option<Focus> {
        Focus::NAMES.iter().find(|(n, _)| *n == s).map(|(_, f)| *f)
    }

    /// The name `SEQUENCE_FOCUS` takes.
    pub(crate) fn name(self) -> &'static str {
        Focus::NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("?", |(n, _)| n)
    }

    /// `weights` with the focused move's weight multiplied by ten.
    pub(crate) fn weigh<T: Copy + PartialEq>(
        focus: Option<Focus>,
        weights: &[(T, u64)],
        of: impl Fn(T) -> Option<Focus>,
    ) -> Vec<(T, u64)> {
        weights
            .iter()
            .map(|(t, w)| {
                (
                    *t,
                    if focus.is_some() && of(*t) == focus {
                        w * 10
                    } else {
                        *w
                    },
                )
            })
            .collect()
    }
}

/// A fresh seed: the clock and the process id through SplitMix64, below a million (short to type).
fn fresh_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    Rng(nanos ^ u64::from(std::process::id())).next() % 1_000_000
}

impl Knobs {
    /// Reads `SEQUENCE_SEED` (the first seed; a fresh one when unset, so each run tries new
    /// sequences), `SEQUENCE_SEEDS` (how many consecutive seeds; 1 when only the seed is given),
    /// `SEQUENCE_STEPS` and `SEQUENCE_FOCUS`, with these defaults. The old `SEQ_*` names are
    /// refused: a replay command that silently ran another seed would prove nothing.
    pub fn from_env(default_seeds: u64, default_steps: usize) -> Knobs {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        for old in ["SEQ_SEED", "SEQ_SEEDS", "SEQ_STEPS"] {
            if var(old).is_some() {
                panic!("{old} is now SEQUENCE_{}", &old[4..]);
            }
        }
        let number = |k: &str| {
            var(k).map(|v| {
                v.trim()
                    .parse::<u64>()
                    .unwrap_or_else(|_| panic!("{k}={v:?} is not a whole number"))
            })
        };
        let seed = number("SEQUENCE_SEED");
        let count = match number("SEQUENCE_SEEDS") {
            Some(n) => n,
            None if seed.is_some() => 1,
            None => default_seeds,
        };
        let focus = var("SEQUENCE_FOCUS").map(|f| {
            Focus::parse(f.trim()).unwrap_or_else(|| {
                let names: Vec<&str> = Focus::NAMES.iter().map(|(n, _)| *n).collect();
                panic!("SEQUENCE_FOCUS={f:?} is none of {}", names.join(", "))
            })
        });
        Knobs {
            first: seed.unwrap_or_else(fresh_seed),
            count,
            steps: number("SEQUENCE_STEPS").map_or(default_steps, |n| n as usize),
            focus,
        }
    }

    /// The seeds to run.
    pub fn seeds(&self) -> impl Iterator<Item = u64> {
        self.first..self.first + self.count
    }
}

// ------------------------------------------------------------------------------------------------
// The configuration model
/// Volumes: (label = LV name, index of its pool).
pub(crate) const VOLS: [(&str, usize); 4] = [("v0", 0), ("v1", 0), ("v2", 1), ("v3", 1)];

/// Attachments (lab only): (label, index of the volume, index of the fixture domain, target).
pub(crate) const ATTS: [(&str, usize, usize, &str); 3] =
    [("a0", 0, 0, "sdb"), ("a1", 2, 0, "sdc"), ("a2", 1, 1, "sdb")];

/// Names a backend gives the configuration's objects.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Pool names (their volume group has the same name).
    pub(crate) pools: [String; 2],
    /// The first source device of each pool.
    pub(crate) devices: [String; 2],
    /// A device either pool may take as a second one (lab: a loop device in the guest): adding it
    /// to a pool forces the pool's replacement.
    pub(crate) spare: String,
    /// Fixture domains the attachments use (empty: no attachments on this backend).
    pub(crate) domains: Vec<String>,
    /// Prefix of every name the test gives an object it makes.
    pub(crate) prefix: String,
}

/// Which resources the configuration holds and their destroy-related flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Config {
    pub(crate) pool: [bool; 2],
    pub(crate) delete: [bool; 2],
    pub(crate) force: [bool; 2],
    /// `overwrite = true` (libvirt's build wipes the devices' signatures).
    pub(crate) overwrite: [bool; 2],
    /// The pool also has the spare device (at most one pool has it).
    pub(crate) spare: [bool; 2],
    pub(crate) vol: [bool; 4],
    pub(crate) wipe: [bool; 4],
    pub(crate) att: [bool; 3],
}

impl Config {
    pub(crate) fn random(d: &Draw, attachments: bool, wipe: bool) -> Config {
        let bit = |v: u64, i: u32, percent: u64| (v >> (i * 7)) % 100 < percent;
        let mut c = Config::default();
        for i in 0..2 {
            c.pool[i] = bit(d.a, i as u32, 80);
            c.delete[i] = bit(d.b, i as u32, 50);
            c.force[i] = bit(d.c, i as u32, 35);
            c.overwrite[i] = bit(d.d, i as u32, 35);
            c.spare[i] = bit(d.d, 2 + i as u32, 15);
        }
        for i in 0..4 {
            c.vol[i] = bit(d.a, 2 + i as u32, 65);
            c.wipe[i] = wipe && bit(d.b, 2 + i as u32, 20);
        }
        for i in 0..3 {
            c.att[i] = attachments && bit(d.c, 2 + i as u32, 60);
        }
        c.close();
        c
    }

    /// A volume needs its pool, an attachment its volume; one pool at most has the spare device.
    pub(crate) fn close(&mut self) {
        if self.spare[0] {
            self.spare[1] = false;
        }
        for (i, (_, p)) in VOLS.iter().enumerate() {
            self.vol[i] &= self.pool[*p];
        }
        for (i, (_, v, _, _)) in ATTS.iter().enumerate() {
            self.att[i] &= self.vol[*v];
        }
    }

    /// Every resource address the configuration could hold, in a fixed order.
    pub(crate) fn all_addresses(attachments: bool) -> Vec<String> {
        let mut v: Vec<String> = (0..2).map(|i| format!("libvirt_lvm_pool.p{i}")).collect();
        v.extend(VOLS.iter().map(|(n, _)| format!("libvirt_lvm_volume.{n}")));
        if attachments {
            v.extend(ATTS.iter().map(|(n, ..)| format!("libvirt_disk_attachment.{n}")));
        }
        v
    }

    /// Toggles the resource at `addr` (with what it needs, or what needs it).
    pub(crate) fn toggle(&mut self, addr: &str) {
        let (ty, label) = addr.split_once('.').unwrap_or((addr, ""));
        match ty {
            "libvirt_lvm_pool" => {
                let i = usize::from(label == "p1");
                self.pool[i] = !self.pool[i];
            }
            "libvirt_lvm_volume" => {
                if let Some(i) = VOLS.iter().position(|(n, _)| *n == label) {
                    self.vol[i] = !self.vol[i];
                    if self.vol[i] {
                        self.pool[VOLS[i].1] = true;
                    }
                }
            }
            _ => {
                if let Some(i) = ATTS.iter().position(|(n, ..)| *n == label) {
                    self.att[i] = !self.att[i];
                    if self.att[i] {
                        let v = ATTS[i].1;
                        self.vol[v] = true;
                        self.pool[VOLS[v].1] = true;
                    }
                }
            }
        }
        self.close();
    }

    /// One line: `p0(delete,force,overwrite,+spare) v0 v1(wipe) a0`.
    pub(crate) fn describe(&self) -> String {
        let mut parts = Vec::new();
        for i in 0..2 {
            if self.pool[i] {
                let mut flags = vec![if self.delete[i] { "delete" } else { "keep" }];
                if self.force[i] {
                    flags.push("force");
                }
                if self.overwrite[i] {
                    flags.push("overwrite");
                }
                if self.spare[i] {
                    flags.push("+spare");
                }
                parts.push(format!("p{i}({})", flags.join(",")));
            }
        }
        for (i, (n, _)) in VOLS.iter().enumerate() {
            if self.vol[i] {
                parts.push(format!("{n}{}", if self.wipe[i] { "(wipe)" } else { "" }));
            }
        }
        for (i, (n, ..)) in ATTS.iter().enumerate() {
            if self.att[i] {
                parts.push(n.to_string());
            }
        }
        if parts.is_empty() {
            "(empty)".into()
        } else {
            parts.join(" ")
        }
    }
}

// ------------------------------------------------------------------------------------------------
// Steps
/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Edit,
    Apply,
    ApplyNoRefresh,
    ApplyTarget,
    ApplyReplace,
    Destroy,
    DestroyTarget,
    DestroyNoRefresh,
    PlanApply,
    PlanDestroy,
    Oob,
}

pub(crate) const KINDS: [(Kind, u64); 11] = [
    (Kind::Edit, 10),
    (Kind::Apply, 12),
    (Kind::ApplyNoRefresh, 5),
    (Kind::ApplyTarget, 5),
    (Kind::ApplyReplace, 4),
    (Kind::Destroy, 4),
    (Kind::DestroyTarget, 5),
    (Kind::DestroyNoRefresh, 4),
    (Kind::PlanApply, 5),
    (Kind::PlanDestroy, 5),
    (Kind::Oob, 28),
];

/// Out-of-band changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Oob {
    /// An LV made by hand in a managed pool's VG.
    LvInPool,
    /// A managed pool undefined, and another of the same name defined over a new VG holding an LV
    /// with a managed volume's name.
    SwapPool,
    /// A managed pool stopped, or started.
    StopStart,
    /// A managed LV removed by hand and a foreign one made with its name (lab).
    ReplaceLv,
    /// A shut-off domain defined with disks naming LVs under random aliases.
    AliasDomain,
    /// A fixture domain undefined and a new one with its name defined, its own disk at a target an
    /// attachment used (lab).
    RecreateDomain,
    /// An LV attached by hand to a fixture domain under an alias (lab).
    HandAttach,
    /// A domain made by [`Oob::AliasDomain`] undefined.
    UndefineDomain,
    /// A foreign LV removed by hand.
    RemoveForeignLv,
    /// libvirtd restarted (lab).
    RestartLibvirtd,
    /// A pool the test defined under a managed pool's name undefined again (its VG stays), so the
    /// configuration's pool can be made again.
    UndefineForeignPool,
    /// An LV in a managed pool's VG deactivated (`lvchange -an`): libvirt's refresh no longer
    /// lists it (lab).
    Deactivate,
    /// A thin pool with a thin LV made in a managed pool's VG (`lvcreate -T`, `lvcreate -V … -T`):
    /// libvirt lists neither (lab).
    ThinPool,
    /// A thick snapshot of a managed LV (`lvcreate -s -L`): removing the origin with `lvremove -f`
    /// takes it along (lab).
    Snapshot,
    /// The disk an attachment made detached by hand, and a foreign LV attached at its target
    /// (lab).
    SwapDisk,
}

pub(crate) const OOB_TEST_DRIVER: [(Oob, u64); 7] = [
    (Oob::LvInPool, 6),
    (Oob::SwapPool, 3),
    (Oob::UndefineForeignPool, 2),
    (Oob::StopStart, 4),
    (Oob::AliasDomain, 5),
    (Oob::UndefineDomain, 2),
    (Oob::RemoveForeignLv, 2),
];

pub(crate) const OOB_LAB: [(Oob, u64); 15] = [
    (Oob::LvInPool, 4),
    (Oob::SwapPool, 2),
    (Oob::UndefineForeignPool, 1),
    (Oob::StopStart, 2),
    (Oob::ReplaceLv, 2),
    (Oob::AliasDomain, 3),
    (Oob::RecreateDomain, 2),
    (Oob::HandAttach, 2),
    (Oob::UndefineDomain, 1),
    (Oob::RemoveForeignLv, 1),
    (Oob::RestartLibvirtd, 1),
    (Oob::Deactivate, 3),
    (Oob::ThinPool, 3),
    (Oob::Snapshot, 3),
    (Oob::SwapDisk, 3),
];

/// Between a saved plan and its apply, the changes a saved plan cannot know about (the plan was
/// made before them): drawn more often there, since that is where stale decisions bite.
pub(crate) const OOB_TEST_DRIVER_BEFORE_SAVED_APPLY: [(Oob, u64); 4] = [
    (Oob::LvInPool, 4),
    (Oob::SwapPool, 3),
    (Oob::StopStart, 1),
    (Oob::AliasDomain, 3),
];

pub(crate) const OOB_LAB_BEFORE_SAVED_APPLY: [(Oob, u64); 10] = [
    (Oob::LvInPool, 4),
    (Oob::SwapPool, 2),
    (Oob::ReplaceLv, 2),
    (Oob::AliasDomain, 2),
    (Oob::RecreateDomain, 2),
    (Oob::HandAttach, 2),
    (Oob::Deactivate, 2),
    (Oob::ThinPool, 2),
    (Oob::Snapshot, 2),
    (Oob::SwapDisk, 2),
];

/// The command line and its class (for grouping failures) of a Terraform step.
pub(crate) fn tf_args(
    kind: Kind,
    d: &Draw,
    config: &Config,
    state: &TfState,
    attachments: bool,
) -> (Vec<String>, &'static str) {
    let in_config: Vec<String> = Config::all_addresses(attachments)
        .into_iter()
        .filter(|a| config.hcl_has(a))
        .collect();
    let mut known: Vec<String> = state.res.keys().cloned().collect();
    known.extend(in_config.iter().cloned());
    known.sort();
    known.dedup();
    let in_state: Vec<String> = state.res.keys().cloned().collect();
    let no_refresh = d.c.is_multiple_of(4);
    let target_from = |list: &[String]| pick(list, d.a).cloned();
    let mut args: Vec<String>;
    let class = match kind {
        Kind::Apply => {
            args = strings(&["apply", "-auto-approve", "-input=false"]);
            "apply"
        }
        Kind::ApplyNoRefresh => {
            args = strings(&["apply", "-auto-approve", "-input=false", "-refresh=false"]);
            "apply -refresh=false"
        }
        Kind::ApplyTarget => {
            args = strings(&["apply", "-auto-approve", "-input=false"]);
            if let Some(t) = target_from(&known) {
                args.push(format!("-target={t}"));
            }
            if no_refresh {
                args.push("-refresh=false".into());
            }
            "apply -target"
        }
        Kind::ApplyReplace => {
            args = strings(&["apply", "-auto-approve", "-input=false"]);
            // Pools are never replaced (the provider refuses); asked for now and then all the same.
            let replaceable: Vec<String> = known
                .iter()
                .filter(|a| !a.starts_with("libvirt_lvm_pool.") || d.d.is_multiple_of(8))
                .cloned()
                .collect();
            if let Some(t) = target_from(&replaceable) {
                args.push(format!("-replace={t}"));
            }
            if no_refresh {
                args.push("-refresh=false".into());
            }
            "apply -replace"
        }
        Kind::Destroy => {
            args = strings(&["destroy", "-auto-approve", "-input=false"]);
            "destroy"
        }
        Kind::DestroyTarget => {
            args = strings(&["destroy", "-auto-approve", "-input=false"]);
            let list = if in_state.is_empty() { &known } else { &in_state };
            if let Some(t) = target_from(list) {
                args.push(format!("-target={t}"));
            }
            if no_refresh {
                args.push("-refresh=false".into());
            }
            "destroy -target"
        }
        Kind::DestroyNoRefresh => {
            args = strings(&["destroy", "-auto-approve", "-input=false", "-refresh=false"]);
            "destroy -refresh=false"
        }
        Kind::PlanApply | Kind::PlanDestroy => {
            args = strings(&["plan", "-input=false", "-out=p"]);
            if kind == Kind::PlanDestroy {
                args.push("-destroy".into());
            }
            if d.c.is_multiple_of(3) {
                let list = if kind == Kind::PlanDestroy && !in_state.is_empty() {
                    &in_state
                } else {
                    &known
                };
                if let Some(t) = target_from(list) {
                    args.push(format!("-target={t}"));
                }
            }
            if d.d.is_multiple_of(5) {
                args.push("-refresh=false".into());
            }
            if kind == Kind::PlanDestroy {
                "plan -destroy -out"
            } else {
                "plan -out"
            }
        }
        Kind::Edit | Kind::Oob => unreachable!("not a terraform command"),
    };
    (args, class)
}

impl Config {
    pub(crate) fn hcl_has(&self, addr: &str) -> bool {
        let (ty, label) = addr.split_once('.').unwrap_or((addr, ""));
        match ty {
            "libvirt_lvm_pool" => self.pool[usize::from(label == "p1")],
            "libvirt_lvm_volume" => VOLS
                .iter()
                .position(|(n, _)| *n == label)
                .is_some_and(|i| self.vol[i]),
            _ => ATTS
                .iter()
                .position(|(n, ..)| *n == label)
                .is_some_and(|i| self.att[i]),
        }
    }
}

/// Configuration edits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Edit {
    /// A resource added or removed (with what it needs, or what needs it).
    Toggle,
    OnDestroy,
    Force,
    /// A whole new random configuration.
    Random,
    Overwrite,
    /// The spare device added to a pool or taken from it: a replacement.
    Spare,
    /// `wipe_on_destroy` of a volume (lab: the test driver cannot wipe).
    Wipe,
}

const EDITS: [(Edit, u64); 7] = [
    (Edit::Toggle, 10),
    (Edit::OnDestroy, 4),
    (Edit::Force, 2),
    (Edit::Random, 2),
    (Edit::Overwrite, 2),
    (Edit::Spare, 2),
    (Edit::Wipe, 2),
];

/// A configuration change; returns what it did.
pub(crate) fn edit(
    config: &mut Config,
    d: &Draw,
    attachments: bool,
    wipe: bool,
    focus: Option<Focus>,
) -> String {
    let addrs = Config::all_addresses(attachments);
    let table: Vec<(Edit, u64)> = Focus::weigh(focus, &EDITS, |e| {
        matches!(e, Edit::Overwrite | Edit::Spare).then_some(Focus::Overwrite)
    })
    .into_iter()
    .filter(|(e, _)| wipe || *e != Edit::Wipe)
    .collect();
    let i = (d.b % 2) as usize;
    match weighted(&table, d.a) {
        Edit::Toggle => {
            let addr = pick(&addrs, d.b).cloned().unwrap_or_default();
            let was = config.hcl_has(&addr);
            config.toggle(&addr);
            format!("{} {addr}", if was { "remove" } else { "add" })
        }
        Edit::OnDestroy => {
            config.delete[i] = !config.delete[i];
            format!(
                "p{i}.on_destroy = {}",
                if config.delete[i] { "delete" } else { "keep" }
            )
        }
        Edit::Force => {
            config.force[i] = !config.force[i];
            format!("p{i}.force_destroy = {}", config.force[i])
        }
        Edit::Random => {
            *config = Config::random(d, attachments, wipe);
            "a new random configuration".into()
        }
        Edit::Overwrite => {
            config.overwrite[i] = !config.overwrite[i];
            format!("p{i}.overwrite = {}", config.overwrite[i])
        }
        Edit::Spare => {
            config.spare[i] = !config.spare[i];
            if config.spare[i] {
                config.spare[1 - i] = false;
            }
            format!(
                "p{i}.source_devices {} the spare device",
                if config.spare[i] { "gains" } else { "loses" }
            )
        }
        Edit::Wipe => {
            let v = (d.b % 4) as usize;
            config.wipe[v] = !config.wipe[v];
            format!("{}.wipe_on_destroy = {}", VOLS[v].0, config.wipe[v])
        }
    }
}

pub(crate) fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn rng_is_splitmix64() {
        // The published first outputs of SplitMix64 from seed 0: a replayed seed must draw these.
        let mut r = Rng(0);
        assert_eq!(r.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn config_keeps_dependencies() {
        let mut c = Config::default();
        c.toggle("libvirt_disk_attachment.a1");
        assert!(c.att[1] && c.vol[2] && c.pool[1], "{c:?}");
        c.toggle("libvirt_lvm_pool.p1");
        assert!(!c.pool[1] && !c.vol[2] && !c.att[1], "{c:?}");
    }

    #[test]
    fn weighted_choice_covers_every_kind() {
        let seen: BTreeSet<String> = (0..200u64)
            .map(|v| format!("{:?}", weighted(&KINDS, v)))
            .collect();
        assert_eq!(seen.len(), KINDS.len());
    }

    #[test]
    fn a_focus_multiplies_one_weight() {
        let focus = Focus::parse("deactivate");
        assert_eq!(focus, Some(Focus::Oob(Oob::Deactivate)));
        let table = Focus::weigh(focus, &OOB_LAB, |o| Some(Focus::Oob(o)));
        let total: u64 = table.iter().map(|(_, w)| w).sum();
        let plain: u64 = OOB_LAB.iter().map(|(_, w)| w).sum();
        assert_eq!(total, plain + 9 * 3);
        let drawn = (0..total)
            .filter(|v| weighted(&table, *v) == Oob::Deactivate)
            .count() as u64;
        assert_eq!(drawn, 30);
        assert_eq!(
            Focus::weigh(None, &OOB_LAB, |o| Some(Focus::Oob(o))),
            OOB_LAB.to_vec()
        );
    }
}
