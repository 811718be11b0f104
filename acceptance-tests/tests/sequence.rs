//! Seeded, randomized sequences that hunt for data loss: random configurations of pools, volumes and
//! attachments, random Terraform commands (apply, destroy, `-target`, `-replace`, `-refresh=false`,
//! saved plans, configuration edits) interleaved with random out-of-band changes an operator could
//! make. The invariant, checked after every step: **nothing the provider did not create was deleted,
//! detached or changed**.
//!
//! # Backends
//!
//! - [`sequence_test_driver`]: libvirt's test driver (`test:///default`) served by a private
//!   libvirtd ([`acceptance_tests::libvirtd`]) started for each seed; needs no lab, so it runs in the
//!   quick part of CI (hundreds of steps in minutes). The test holds a connection open (the driver's
//!   state lives while one is) and makes its out-of-band changes through it. The test driver has no
//!   device hotplug (no attachments) and no VG apart from its pool, and its volume key is the path, so
//!   an LV deleted and made again under the same name has the same identity there: that change is only
//!   made on the lab.
//! - [`sequence_lab`]: the lab (real LVM, `scripts/lab`), shorter, with attachments to fixture domains
//!   and a data pattern in every LV that is foreign or that a foreign domain uses (its SHA-256 is
//!   checked after every step). Real LVM refuses to remove an LV a running domain holds open
//!   (`Failed To Delete Storage Volume`), so there a missed in-use check costs data only when the
//!   domain is shut off (measured on the lab).
//!
//! # The ledger and the invariant
//!
//! After every step the test observes the whole hypervisor ([`World`]: pools by UUID, VGs by UUID,
//! LVs by key (LV UUID on the lab, path on the test driver), domains by UUID with their disks in the
//! live and saved XML). Whatever is new after an out-of-band step is *foreign*; whatever is new after
//! a Terraform command is *Terraform's*. After a Terraform command ([`Ledger::check`]):
//! - every foreign pool, VG, LV and domain still exists with the same identity (and name, VG, active
//!   state); every foreign disk is still in the same view of its domain with the same source; every
//!   foreign LV, and every LV a foreign domain uses, keeps its content (lab);
//! - an LV that a foreign domain uses (under any alias: `/dev/VG/LV`, `/dev/mapper/VG-LV`,
//!   `/dev/disk/by-id/dm-name-…`, `…/dm-uuid-LVM-…`, `type='file'`, `type='volume'`) still exists,
//!   whoever created it;
//! - the only sanctioned loss: a foreign LV inside a volume group Terraform built, removed with that
//!   volume group by the destroy of its pool resource whose state said `on_destroy = "delete"` and
//!   `force_destroy = true` (the documented meaning of force_destroy), and used by no domain. On the
//!   test driver a pool undefined with `on_destroy = "keep"` takes its volumes out of sight (the driver
//!   has no VG that outlives the pool): they are counted as kept, not lost.
//!
//! Not fatal, reported ("findings"): after a successful untargeted command with refresh, a state
//! entry naming an object that does not exist, or one that is foreign (the provider adopted
//! something it did not create: the step before a loss, but not a loss); and Terraform output that
//! looks like a provider bug (panics, "Provider produced inconsistent result", …).
//!
//! # Replaying
//!
//! One `u64` seed drives everything ([`Rng`]): every step draws the same number of values whatever
//! happened, so a seed replays the same actions as long as the hypervisor answers the same way. On a
//! violation the seed stops, and the report prints the seed, the step, the whole step log and the
//! command that replays it. Knobs: `SEQ_SEED` (first seed, or `random`), `SEQ_SEEDS` (how many
//! consecutive seeds; 1 when only SEQ_SEED is set), `SEQ_STEPS` (steps per seed). Defaults: test
//! driver 4 seeds × 50 steps (about 1 minute with the debug provider on a loaded 2-core machine),
//! lab 1 seed × 20 steps (a lab step costs 5 to 40 s under TCG, depending on the host's load).
//!
//! A seed stops at its first violation (what follows would be judged against a world already
//! broken); the test fails at the end if any seed lost data, after printing every failing seed's
//! log and the distinct classes of failure (what was lost, by which kind of command) with one
//! replay command each.
//!
//! ```text
//! cargo test -p acceptance-tests --test sequence -- --nocapture sequence_test_driver
//! SEQ_SEED=7 SEQ_STEPS=30 cargo test -p acceptance-tests --test sequence -- --nocapture sequence_lab
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use acceptance_tests::libvirtd::Libvirtd;
use acceptance_tests::{
    attr_value, disk_blocks, hcl_list, hcl_string, provider_block, provider_dir, run_command, tag_text,
    terraform_bin, DomainOpts, Lab, Run, Scenario,
};

// ------------------------------------------------------------------------------------------------
// Entry points

/// Many seeds on the test driver: no lab needed.
#[test]
fn sequence_test_driver() {
    let knobs = Knobs::from_env(4, 50);
    virt::error::clear_error_callback();
    provider_dir();
    let mut summary = Summary::new("test-driver");
    for seed in knobs.seeds() {
        let daemon = Libvirtd::start().unwrap_or_else(|e| {
            panic!("the sequence test needs a private libvirtd (libvirt's test driver): {e}")
        });
        let backend = TestDriver::new(&daemon)
            .unwrap_or_else(|e| panic!("cannot connect to the private libvirtd: {e}"));
        let report = run_seed(Box::new(backend), seed, knobs.steps, "sequence_test_driver");
        summary.add(report);
        daemon.stop();
    }
    summary.finish();
}

/// A shorter run on the lab: real LVM, attachments, data patterns.
#[test]
fn sequence_lab() {
    let knobs = Knobs::from_env(1, 20);
    virt::error::clear_error_callback();
    let mut summary = Summary::new("lab");
    for seed in knobs.seeds() {
        let Some(s) = Scenario::start("sequence::lab") else {
            return;
        };
        let backend = match LabBackend::new(s, seed) {
            Ok(b) => b,
            Err(e) => panic!("setting up the lab for the sequence test failed: {e}"),
        };
        let report = run_seed(Box::new(backend), seed, knobs.steps, "sequence_lab");
        summary.add(report);
    }
    summary.finish();
}

/// The environment knobs.
struct Knobs {
    first: u64,
    count: u64,
    steps: usize,
}

impl Knobs {
    fn from_env(default_seeds: u64, default_steps: usize) -> Knobs {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let seed = var("SEQ_SEED");
        let first = match seed.as_deref() {
            None => 1,
            Some("random") => {
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(0);
                Rng(nanos ^ u64::from(std::process::id())).next() % 1_000_000
            }
            Some(s) => s
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("SEQ_SEED={s:?} is not a number (or `random`)")),
        };
        let count = match var("SEQ_SEEDS") {
            Some(n) => n
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("SEQ_SEEDS={n:?} is not a number")),
            None if seed.is_some() => 1,
            None => default_seeds,
        };
        let steps = match var("SEQ_STEPS") {
            Some(n) => n
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("SEQ_STEPS={n:?} is not a number")),
            None => default_steps,
        };
        Knobs { first, count, steps }
    }

    fn seeds(&self) -> impl Iterator<Item = u64> {
        self.first..self.first + self.count
    }
}

// ------------------------------------------------------------------------------------------------
// The random source

/// SplitMix64: a few lines, and what a seed produces never changes with a dependency update, so a
/// printed seed stays a valid replay.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
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
struct Draw {
    kind: u64,
    a: u64,
    b: u64,
    c: u64,
    d: u64,
}

impl Draw {
    fn from(rng: &mut Rng) -> Draw {
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
fn pick<T>(items: &[T], pick: u64) -> Option<&T> {
    (!items.is_empty()).then(|| &items[(pick % items.len() as u64) as usize])
}

/// The index chosen by `value` among `weights`.
fn weighted<T: Copy>(weights: &[(T, u64)], value: u64) -> T {
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

// ------------------------------------------------------------------------------------------------
// The configuration model

/// Volumes: (label = LV name, index of its pool).
const VOLS: [(&str, usize); 4] = [("v0", 0), ("v1", 0), ("v2", 1), ("v3", 1)];

/// Attachments (lab only): (label, index of the volume, index of the fixture domain, target).
const ATTS: [(&str, usize, usize, &str); 3] = [("a0", 0, 0, "sdb"), ("a1", 2, 0, "sdc"), ("a2", 1, 1, "sdb")];

/// Names a backend gives the configuration's objects.
#[derive(Clone, Debug)]
struct Layout {
    /// Pool names (their volume group has the same name).
    pools: [String; 2],
    /// The one source device of each pool.
    devices: [String; 2],
    /// Fixture domains the attachments use (empty: no attachments on this backend).
    domains: Vec<String>,
    /// Prefix of every name the test gives an object it makes.
    prefix: String,
}

/// Which resources the configuration holds and their destroy-related flags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Config {
    pool: [bool; 2],
    delete: [bool; 2],
    force: [bool; 2],
    vol: [bool; 4],
    wipe: [bool; 4],
    att: [bool; 3],
}

impl Config {
    fn random(d: &Draw, attachments: bool, wipe: bool) -> Config {
        let bit = |v: u64, i: u32, percent: u64| (v >> (i * 7)) % 100 < percent;
        let mut c = Config::default();
        for i in 0..2 {
            c.pool[i] = bit(d.a, i as u32, 80);
            c.delete[i] = bit(d.b, i as u32, 50);
            c.force[i] = bit(d.c, i as u32, 35);
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

    /// A volume needs its pool, an attachment its volume.
    fn close(&mut self) {
        for (i, (_, p)) in VOLS.iter().enumerate() {
            self.vol[i] &= self.pool[*p];
        }
        for (i, (_, v, _, _)) in ATTS.iter().enumerate() {
            self.att[i] &= self.vol[*v];
        }
    }

    /// Every resource address the configuration could hold, in a fixed order.
    fn all_addresses(attachments: bool) -> Vec<String> {
        let mut v: Vec<String> = (0..2).map(|i| format!("libvirt_lvm_pool.p{i}")).collect();
        v.extend(VOLS.iter().map(|(n, _)| format!("libvirt_lvm_volume.{n}")));
        if attachments {
            v.extend(ATTS.iter().map(|(n, ..)| format!("libvirt_disk_attachment.{n}")));
        }
        v
    }

    /// Toggles the resource at `addr` (with what it needs, or what needs it).
    fn toggle(&mut self, addr: &str) {
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

    fn hcl(&self, l: &Layout) -> String {
        let mut tf = String::new();
        for i in 0..2 {
            if !self.pool[i] {
                continue;
            }
            tf.push_str(&format!(
                "\nresource \"libvirt_lvm_pool\" \"p{i}\" {{\n  name           = {}\n  source_devices = {}\n  \
                 on_destroy     = \"{}\"\n  force_destroy  = {}\n}}\n",
                hcl_string(&l.pools[i]),
                hcl_list(std::slice::from_ref(&l.devices[i])),
                if self.delete[i] { "delete" } else { "keep" },
                self.force[i]
            ));
        }
        for (i, (name, p)) in VOLS.iter().enumerate() {
            if !self.vol[i] {
                continue;
            }
            tf.push_str(&format!(
                "\nresource \"libvirt_lvm_volume\" \"{name}\" {{\n  pool            = libvirt_lvm_pool.p{p}.name\n  \
                 name            = \"{name}\"\n  capacity        = \"8MiB\"\n  wipe_on_destroy = {}\n}}\n",
                self.wipe[i]
            ));
        }
        for (i, (label, v, d, target)) in ATTS.iter().enumerate() {
            if !self.att[i] || l.domains.len() <= *d {
                continue;
            }
            tf.push_str(&format!(
                "\nresource \"libvirt_disk_attachment\" \"{label}\" {{\n  domain    = {}\n  volume_id = \
                 libvirt_lvm_volume.{}.id\n  target    = \"{target}\"\n}}\n",
                hcl_string(&l.domains[*d]),
                VOLS[*v].0
            ));
        }
        tf
    }

    /// One line: `p0(delete,force) v0 v1(wipe) a0`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        for i in 0..2 {
            if self.pool[i] {
                let mut flags = vec![if self.delete[i] { "delete" } else { "keep" }];
                if self.force[i] {
                    flags.push("force");
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
// What the hypervisor holds

/// A disk's source as the domain XML says it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Src {
    Block(String),
    File(String),
    Volume { pool: String, volume: String },
    Other(String),
}

impl fmt::Display for Src {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Src::Block(p) => write!(f, "block {p}"),
            Src::File(p) => write!(f, "file {p}"),
            Src::Volume { pool, volume } => write!(f, "volume {pool}/{volume}"),
            Src::Other(s) => write!(f, "{s}"),
        }
    }
}

/// A domain's live XML (only while it runs) or its saved definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum View {
    Live,
    Saved,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct PoolObs {
    name: String,
    vg: String,
    active: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct LvObs {
    vg: String,
    name: String,
    /// The VG's UUID (lab; the dm-uuid alias is made of it).
    vg_uuid: Option<String>,
    /// The pool it was listed through (test driver).
    pool_uuid: Option<String>,
    /// SHA-256 of the first MiB (lab, active LVs only).
    sha: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct DomObs {
    name: String,
    active: bool,
    disks: BTreeMap<(View, String), Src>,
}

/// One observation of the whole hypervisor (only objects named with the test's prefix on the lab).
#[derive(Clone, Debug, Default)]
struct World {
    /// By pool UUID.
    pools: BTreeMap<String, PoolObs>,
    /// VG UUID → name (lab).
    vgs: BTreeMap<String, String>,
    /// By key: LV UUID on the lab, path on the test driver.
    lvs: BTreeMap<String, LvObs>,
    /// VGs whose LVs cannot be seen now (test driver: the pool is stopped).
    hidden_vgs: BTreeSet<String>,
    /// By domain UUID.
    domains: BTreeMap<String, DomObs>,
}

impl World {
    fn pool_by_name(&self, name: &str) -> Option<(&String, &PoolObs)> {
        self.pools.iter().find(|(_, p)| p.name == name)
    }

    fn lv_by_name(&self, vg: &str, name: &str) -> Option<&String> {
        self.lvs
            .iter()
            .find(|(_, l)| l.vg == vg && l.name == name)
            .map(|(k, _)| k)
    }

    /// The LV a disk source names, under any of its aliases.
    fn resolve(&self, src: &Src) -> Option<String> {
        match src {
            Src::Volume { pool, volume } => {
                let (_, p) = self.pool_by_name(pool)?;
                self.lv_by_name(&p.vg, volume).cloned()
            }
            Src::Block(path) | Src::File(path) => self
                .lvs
                .iter()
                .find(|(k, l)| aliases(k, l).iter().any(|a| a == path))
                .map(|(k, _)| k.clone()),
            Src::Other(_) => None,
        }
    }

    /// Keys of the LVs some domain's disk uses (any view, any origin).
    fn used_lvs(&self) -> BTreeSet<String> {
        self.domains
            .values()
            .flat_map(|d| d.disks.values())
            .filter_map(|s| self.resolve(s))
            .collect()
    }
}

/// Device-mapper doubles every `-` inside VG and LV names.
fn dm_escape(s: &str) -> String {
    s.replace('-', "--")
}

/// Every path under which an LV's block device can be named. `key` is the LV's key: its UUID on
/// the lab, where the dm-uuid alias (VG UUID and LV UUID without dashes) exists too.
fn aliases(key: &str, l: &LvObs) -> Vec<String> {
    let dm = format!("{}-{}", dm_escape(&l.vg), dm_escape(&l.name));
    let mut v = vec![
        format!("/dev/{}/{}", l.vg, l.name),
        format!("/dev/mapper/{dm}"),
        format!("/dev/disk/by-id/dm-name-{dm}"),
    ];
    if let Some(vg_uuid) = &l.vg_uuid {
        v.push(format!(
            "/dev/disk/by-id/dm-uuid-LVM-{}{}",
            vg_uuid.replace('-', ""),
            key.replace('-', "")
        ));
    }
    v
}

/// Parses a domain XML into its disks (`view` says which XML it is).
fn parse_disks(xml: &str, view: View, into: &mut BTreeMap<(View, String), Src>) {
    for d in disk_blocks(xml) {
        let Some(target) = attr_value(&d, "target", "dev") else {
            continue;
        };
        let src = match (
            attr_value(&d, "source", "pool"),
            attr_value(&d, "source", "volume"),
            attr_value(&d, "source", "dev"),
            attr_value(&d, "source", "file"),
        ) {
            (Some(pool), Some(volume), _, _) => Src::Volume { pool, volume },
            (_, _, Some(dev), _) => Src::Block(dev),
            (_, _, _, Some(file)) => Src::File(file),
            _ => Src::Other(attr_value(&d, "disk", "type").unwrap_or_default()),
        };
        into.insert((view, target), src);
    }
}

// ------------------------------------------------------------------------------------------------
// The ledger: who made what, and the invariant

/// Who made an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// The test (out of band), or there before the run.
    Foreign,
    /// Appeared during a Terraform command.
    Terraform,
}

#[derive(Clone, Debug)]
struct Entry<T> {
    origin: Origin,
    obs: T,
}

#[derive(Clone, Debug)]
struct LvEntry {
    origin: Origin,
    obs: LvObs,
    /// The last content seen (lab).
    sha: Option<String>,
}

#[derive(Clone, Debug)]
struct DiskEntry {
    origin: Origin,
    src: Src,
    /// The LV it names, as resolved against the latest observation.
    lv: Option<String>,
}

#[derive(Clone, Debug)]
struct DomEntry {
    name: String,
    active: bool,
    disks: BTreeMap<(View, String), DiskEntry>,
}

/// One broken promise.
#[derive(Clone, Debug)]
struct Violation {
    /// The class, such as "foreign LV removed".
    kind: String,
    /// Which object, in words.
    what: String,
}

/// Every object seen, with its origin.
#[derive(Clone, Debug, Default)]
struct Ledger {
    pools: BTreeMap<String, Entry<PoolObs>>,
    vgs: BTreeMap<String, Entry<String>>,
    lvs: BTreeMap<String, LvEntry>,
    domains: BTreeMap<String, DomEntry>,
}

/// How a pool resource in the state was to treat its volume group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PoolPolicy {
    Keep,
    Delete { force: bool },
}

impl Ledger {
    /// Whether a foreign domain's disk names the LV `key` (every domain is foreign: Terraform never
    /// makes one; disks Terraform attached do not count).
    fn used_by_foreign(&self, key: &str) -> Vec<String> {
        let mut users = Vec::new();
        for d in self.domains.values() {
            for ((view, target), disk) in &d.disks {
                if disk.origin == Origin::Foreign && disk.lv.as_deref() == Some(key) {
                    users.push(format!("domain {} {target} ({view:?}, {})", d.name, disk.src));
                }
            }
        }
        users
    }

    /// How foreign domains name the LV `key`: "/dev/mapper alias", "pool/volume", … (for grouping).
    fn use_forms(&self, key: &str) -> String {
        let mut forms = BTreeSet::new();
        for d in self.domains.values() {
            for disk in d.disks.values() {
                if disk.origin != Origin::Foreign || disk.lv.as_deref() != Some(key) {
                    continue;
                }
                forms.insert(match &disk.src {
                    Src::Volume { .. } => "type='volume'",
                    Src::File(_) => "type='file' /dev/VG/LV",
                    Src::Block(p) if p.starts_with("/dev/mapper/") => "/dev/mapper alias",
                    Src::Block(p) if p.contains("/dm-name-") => "dm-name alias",
                    Src::Block(p) if p.contains("/dm-uuid-") => "dm-uuid alias",
                    Src::Block(_) => "/dev/VG/LV",
                    Src::Other(_) => "other",
                });
            }
        }
        forms.into_iter().collect::<Vec<_>>().join(", ")
    }

    fn describe_lv(&self, key: &str) -> String {
        match self.lvs.get(key) {
            Some(l) => format!("{:?} LV {}/{} (key {key})", l.origin, l.obs.vg, l.obs.name),
            None => format!("LV with key {key}"),
        }
    }

    /// The invariant, after a Terraform command: `prior` and `post` are the state before and after.
    fn check(&self, w: &World, prior: &TfState, post: &TfState, notes: &mut Vec<String>) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut v = |kind: &str, what: String| {
            out.push(Violation {
                kind: kind.to_string(),
                what,
            })
        };
        for (uuid, p) in &self.pools {
            if p.origin != Origin::Foreign {
                continue;
            }
            match w.pools.get(uuid) {
                None => v(
                    "foreign pool removed",
                    format!("pool {} (UUID {uuid}, VG {})", p.obs.name, p.obs.vg),
                ),
                Some(now) if now.name != p.obs.name || now.vg != p.obs.vg => v(
                    "foreign pool changed",
                    format!("pool {uuid}: was {:?}, now {:?}", p.obs, now),
                ),
                Some(now) if now.active != p.obs.active => v(
                    if now.active {
                        "foreign pool started"
                    } else {
                        "foreign pool stopped"
                    },
                    format!("pool {} (UUID {uuid}, VG {})", p.obs.name, p.obs.vg),
                ),
                Some(_) => {}
            }
        }
        for (uuid, g) in &self.vgs {
            if g.origin == Origin::Foreign && !w.vgs.contains_key(uuid) {
                v("foreign VG removed", format!("VG {} (UUID {uuid})", g.obs));
            }
        }
        for (key, l) in &self.lvs {
            let users = self.used_by_foreign(key);
            let foreign = l.origin == Origin::Foreign;
            if !foreign && users.is_empty() {
                continue;
            }
            let label = if foreign {
                "foreign LV".to_string()
            } else {
                format!("LV in use by a foreign domain ({})", self.use_forms(key))
            };
            let what = || {
                let mut s = self.describe_lv(key);
                if !users.is_empty() {
                    s.push_str(&format!(", used by {}", users.join("; ")));
                }
                s
            };
            match w.lvs.get(key) {
                Some(now) => {
                    if now.vg != l.obs.vg || now.name != l.obs.name {
                        v(
                            &format!("{label} renamed"),
                            format!("{} now {}/{}", what(), now.vg, now.name),
                        );
                    } else if let (Some(was), Some(is)) = (&l.sha, &now.sha) {
                        if was != is {
                            v(&format!("{label} content changed"), what());
                        }
                    }
                }
                None if w.hidden_vgs.contains(&l.obs.vg) => {}
                None => match self.lost_lv_verdict(l, w, prior, post, users.is_empty()) {
                    Verdict::Consented(why) => notes.push(format!("{}: removed, {why}", what())),
                    Verdict::Dormant(why) => notes.push(format!("{}: out of sight, {why}", what())),
                    Verdict::Lost(how) => v(&format!("{label} removed{how}"), what()),
                },
            }
        }
        for (uuid, d) in &self.domains {
            let Some(now) = w.domains.get(uuid) else {
                v(
                    "foreign domain removed",
                    format!("domain {} (UUID {uuid})", d.name),
                );
                continue;
            };
            if now.name != d.name {
                v(
                    "foreign domain renamed",
                    format!("domain {} now {}", d.name, now.name),
                );
            }
            if now.active != d.active {
                v(
                    if now.active {
                        "foreign domain started"
                    } else {
                        "foreign domain stopped"
                    },
                    format!("domain {} (UUID {uuid})", d.name),
                );
                continue;
            }
            for ((view, target), disk) in &d.disks {
                if disk.origin != Origin::Foreign {
                    continue;
                }
                match now.disks.get(&(*view, target.clone())) {
                    None => v(
                        "foreign disk detached",
                        format!("domain {} {target} ({view:?}: {})", d.name, disk.src),
                    ),
                    Some(src) if *src != disk.src => v(
                        "foreign disk changed",
                        format!("domain {} {target} ({view:?}): {} -> {src}", d.name, disk.src),
                    ),
                    Some(_) => {}
                }
            }
        }
        out
    }

    /// Why a foreign LV (or one a foreign domain uses) is gone, and whether that was sanctioned.
    fn lost_lv_verdict(
        &self,
        l: &LvEntry,
        w: &World,
        prior: &TfState,
        post: &TfState,
        unused: bool,
    ) -> Verdict {
        // The pool resource, in the state before the command, whose destroy took the LV's VG along.
        let destroyed_pool = |matches: &dyn Fn(&serde_json::Value) -> bool| {
            prior
                .pools()
                .find(|(addr, attrs)| matches(attrs) && !post.res.contains_key(*addr))
                .map(|(addr, attrs)| (addr.to_string(), policy(attrs)))
        };
        let (container_gone, container_ours, destroyed) = match (&l.obs.vg_uuid, &l.obs.pool_uuid) {
            // Lab: the VG is the container.
            (Some(vg_uuid), _) => (
                !w.vgs.contains_key(vg_uuid),
                self.vgs.get(vg_uuid).map(|g| g.origin) == Some(Origin::Terraform),
                destroyed_pool(&|a| a["volume_group"].as_str() == Some(l.obs.vg.as_str())),
            ),
            // Test driver: the pool is.
            (None, Some(pool_uuid)) => (
                !w.pools.contains_key(pool_uuid),
                self.pools.get(pool_uuid).map(|p| p.origin) == Some(Origin::Terraform),
                destroyed_pool(&|a| a["id"].as_str() == Some(pool_uuid.as_str())),
            ),
            (None, None) => (false, false, None),
        };
        if !container_gone {
            return Verdict::Lost(String::new());
        }
        if !container_ours {
            if l.obs.vg_uuid.is_none() {
                // Test driver: the removal of the foreign pool is itself the violation; whether its
                // VG went too depends on what the destroy thought it was destroying.
                let by_name = prior
                    .pools()
                    .find(|(_, a)| Some(a["name"].as_str().unwrap_or_default()) == self.pool_name(l))
                    .map(|(_, a)| policy(a));
                if by_name == Some(PoolPolicy::Keep) {
                    return Verdict::Dormant(
                        "its foreign pool was undefined by a destroy with on_destroy = \"keep\" (reported as \
                         such)"
                            .into(),
                    );
                }
            }
            return Verdict::Lost(" with its foreign pool/VG".into());
        }
        match destroyed {
            None => Verdict::Lost(" with its pool/VG, which no destroyed pool resource owned".into()),
            Some((addr, PoolPolicy::Keep)) if l.obs.vg_uuid.is_none() => Verdict::Dormant(format!(
                "{addr} was destroyed with on_destroy = \"keep\" (the test driver keeps no VG to look at)"
            )),
            Some((addr, PoolPolicy::Keep)) => {
                Verdict::Lost(format!(" with its VG by {addr}, whose on_destroy was \"keep\""))
            }
            Some((addr, PoolPolicy::Delete { force: true })) if unused => Verdict::Consented(format!(
                "with its VG by {addr} (on_destroy = \"delete\", force_destroy = true)"
            )),
            Some((addr, PoolPolicy::Delete { force: true })) => Verdict::Lost(format!(
                " with its VG by {addr} (force_destroy, but a domain uses it)"
            )),
            Some((addr, PoolPolicy::Delete { force: false })) => {
                Verdict::Lost(format!(" with its VG by {addr}, whose force_destroy was false"))
            }
        }
    }

    /// The name of the pool an LV was listed through (test driver).
    fn pool_name(&self, l: &LvEntry) -> Option<&str> {
        let uuid = l.obs.pool_uuid.as_deref()?;
        self.pools.get(uuid).map(|p| p.obs.name.as_str())
    }

    /// Takes in what `w` shows: new objects get `origin`, vanished ones are forgotten (after an
    /// out-of-band step that is the test's own doing; after a Terraform command [`Ledger::check`]
    /// has judged it).
    fn absorb(&mut self, w: &World, origin: Origin) {
        self.pools.retain(|k, _| w.pools.contains_key(k));
        for (k, p) in &w.pools {
            self.pools
                .entry(k.clone())
                .and_modify(|e| e.obs = p.clone())
                .or_insert(Entry {
                    origin,
                    obs: p.clone(),
                });
        }
        self.vgs.retain(|k, _| w.vgs.contains_key(k));
        for (k, name) in &w.vgs {
            self.vgs
                .entry(k.clone())
                .and_modify(|e| e.obs = name.clone())
                .or_insert(Entry {
                    origin,
                    obs: name.clone(),
                });
        }
        self.lvs
            .retain(|k, l| w.lvs.contains_key(k) || w.hidden_vgs.contains(&l.obs.vg));
        for (k, l) in &w.lvs {
            let e = self.lvs.entry(k.clone()).or_insert(LvEntry {
                origin,
                obs: l.clone(),
                sha: None,
            });
            e.obs = l.clone();
            if l.sha.is_some() {
                e.sha = l.sha.clone();
            }
        }
        self.domains.retain(|k, _| w.domains.contains_key(k));
        for (k, d) in &w.domains {
            let e = self.domains.entry(k.clone()).or_insert(DomEntry {
                name: d.name.clone(),
                active: d.active,
                disks: BTreeMap::new(),
            });
            e.name = d.name.clone();
            e.active = d.active;
            e.disks.retain(|slot, disk| d.disks.get(slot) == Some(&disk.src));
            // What a path names can change (an LV made again under it): the next command must spare
            // whatever the disk names now.
            for disk in e.disks.values_mut() {
                if let Some(lv) = w.resolve(&disk.src) {
                    disk.lv = Some(lv);
                }
            }
            for (slot, src) in &d.disks {
                e.disks.entry(slot.clone()).or_insert(DiskEntry {
                    origin,
                    src: src.clone(),
                    lv: w.resolve(src),
                });
            }
        }
    }

    /// Findings after a successful refresh: state entries naming missing or foreign objects.
    fn state_claims(&self, w: &World, state: &TfState) -> Vec<String> {
        let mut out = Vec::new();
        for (addr, a) in &state.res {
            let id = a["id"].as_str().unwrap_or_default();
            if addr.starts_with("libvirt_lvm_pool.") {
                match (w.pools.get(id), self.pools.get(id)) {
                    (None, _) => out.push(format!("state claims missing object: {addr} (pool UUID {id})")),
                    (Some(p), Some(e)) if e.origin == Origin::Foreign => out.push(format!(
                        "state claims foreign object: {addr} = foreign pool {} (UUID {id}, VG {})",
                        p.name, p.vg
                    )),
                    _ => {}
                }
            } else if addr.starts_with("libvirt_lvm_volume.") {
                match (w.lvs.get(id), self.lvs.get(id)) {
                    (None, _) => {
                        let pool = a["pool"].as_str().unwrap_or_default();
                        let hidden = w
                            .pool_by_name(pool)
                            .is_some_and(|(_, p)| w.hidden_vgs.contains(&p.vg));
                        if !hidden {
                            out.push(format!("state claims missing object: {addr} (volume key {id})"));
                        }
                    }
                    (Some(l), Some(e)) if e.origin == Origin::Foreign => out.push(format!(
                        "state claims foreign object: {addr} = foreign LV {}/{} (key {id})",
                        l.vg, l.name
                    )),
                    _ => {}
                }
            } else if addr.starts_with("libvirt_disk_attachment.") {
                let (dom, target) = id.rsplit_once('/').unwrap_or((id, ""));
                let entry = self.domains.get(dom);
                let disk = entry.and_then(|d| {
                    d.disks
                        .get(&(View::Saved, target.to_string()))
                        .or_else(|| d.disks.get(&(View::Live, target.to_string())))
                });
                match disk {
                    None => out.push(format!("state claims missing object: {addr} ({id})")),
                    Some(d) if d.origin == Origin::Foreign => out.push(format!(
                        "state claims foreign object: {addr} = foreign disk {target} of {} ({})",
                        entry.map(|e| e.name.as_str()).unwrap_or_default(),
                        d.src
                    )),
                    _ => {}
                }
            }
        }
        out
    }
}

/// What a vanished LV means.
enum Verdict {
    /// Sanctioned by the configuration (force_destroy).
    Consented(String),
    /// Out of sight on the test driver, not lost.
    Dormant(String),
    /// Data loss; the text completes "… removed".
    Lost(String),
}

fn policy(attrs: &serde_json::Value) -> PoolPolicy {
    if attrs["on_destroy"].as_str() == Some("delete") {
        PoolPolicy::Delete {
            force: attrs["force_destroy"].as_bool() == Some(true),
        }
    } else {
        PoolPolicy::Keep
    }
}

// ------------------------------------------------------------------------------------------------
// Terraform

/// Terraform's state, read from the state file (resource address → attributes).
#[derive(Clone, Debug, Default)]
struct TfState {
    res: BTreeMap<String, serde_json::Value>,
}

impl TfState {
    fn read(dir: &Path) -> TfState {
        let Ok(text) = std::fs::read_to_string(dir.join("terraform.tfstate")) else {
            return TfState::default();
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut res = BTreeMap::new();
        for r in v["resources"].as_array().into_iter().flatten() {
            if r["mode"] != "managed" {
                continue;
            }
            let addr = format!(
                "{}.{}",
                r["type"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            );
            if let Some(i) = r["instances"].as_array().and_then(|a| a.first()) {
                res.insert(addr, i["attributes"].clone());
            }
        }
        TfState { res }
    }

    fn pools(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.res
            .iter()
            .filter(|(a, _)| a.starts_with("libvirt_lvm_pool."))
            .map(|(a, v)| (a.as_str(), v))
    }
}

/// A Terraform working directory whose CLI config points `dev_overrides` at the built provider.
struct TfDir {
    dir: tempfile::TempDir,
    header: String,
    timeout: Duration,
}

impl TfDir {
    fn new(provider_uri: &str, timeout: Duration) -> TfDir {
        let dir = tempfile::Builder::new()
            .prefix("tpl-sequence-")
            .tempdir()
            .expect("temporary directory");
        std::fs::write(
            dir.path().join("cli.tfrc"),
            format!(
                "provider_installation {{\n  dev_overrides {{\n    \"libvirt-lvm/libvirt\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
                provider_dir().display()
            ),
        )
        .expect("write cli.tfrc");
        TfDir {
            dir,
            header: provider_block(&format!("uri = {}", hcl_string(provider_uri))),
            timeout,
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, body: &str) {
        std::fs::write(self.path().join("main.tf"), format!("{}\n{body}", self.header))
            .expect("write main.tf");
    }

    fn run(&self, args: &[String]) -> Run {
        let mut cmd = Command::new(terraform_bin());
        cmd.args(args)
            .arg("-no-color")
            .current_dir(self.path())
            .env("TF_CLI_CONFIG_FILE", self.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("LIBVIRT_DEFAULT_URI");
        if std::env::var_os("TF_LOG").is_none() {
            cmd.env_remove("TF_LOG");
        }
        run_command(cmd, self.timeout)
    }

    fn state(&self) -> TfState {
        TfState::read(self.path())
    }
}

/// The first `Error: …` line of a run, for the step log.
fn first_error(run: &Run) -> String {
    run.text()
        .lines()
        .find_map(|l| l.trim_start_matches(['│', ' ']).strip_prefix("Error: "))
        .map(str::to_string)
        .unwrap_or_else(|| {
            if run.code.is_none() {
                "killed (timeout)".into()
            } else {
                String::new()
            }
        })
}

/// Output that looks like a provider defect rather than a refusal.
fn provider_bug(run: &Run) -> Option<String> {
    const SIGNS: [&str; 7] = [
        "panicked at",
        "Provider produced inconsistent",
        "Provider produced invalid",
        "Provider returned invalid result",
        "produced an unexpected new value",
        "The plugin encountered an error",
        "Plugin did not respond",
    ];
    let text = run.text();
    SIGNS.iter().find(|s| text.contains(*s)).map(|s| {
        let line = text
            .lines()
            .find(|l| l.contains(s))
            .unwrap_or_default()
            .trim_start_matches(['│', ' ']);
        format!("{s}: {line}")
    })
}

// ------------------------------------------------------------------------------------------------
// Backends

/// What a backend can do out of band, and how it observes the world.
trait Backend {
    /// "test-driver" or "lab".
    fn label(&self) -> &'static str;
    fn layout(&self) -> &Layout;
    fn tf(&self) -> &TfDir;
    /// Attachments, data patterns, replacing an LV by hand, restarting libvirtd.
    fn real_lvm(&self) -> bool;
    fn observe(&mut self) -> Result<World, String>;
    /// Makes an LV `name` in volume group `vg` (whose pool is `pool`), with a data pattern on the lab.
    fn create_lv(&mut self, pool: &str, vg: &str, name: &str) -> Result<(), String>;
    fn remove_lv(&mut self, pool: &str, vg: &str, name: &str) -> Result<(), String>;
    fn set_pool_active(&mut self, name: &str, active: bool) -> Result<(), String>;
    /// Stops (if needed) and undefines a pool; its volume group stays.
    fn undefine_pool(&mut self, name: &str) -> Result<(), String>;
    /// A new foreign volume group `vg` (lab: on a loop device); returns its device.
    fn new_vg(&mut self, vg: &str) -> Result<String, String>;
    /// Defines and starts a logical pool over an existing volume group.
    fn define_pool(&mut self, name: &str, vg: &str, device: &str) -> Result<(), String>;
    fn define_domain(&mut self, name: &str, disks: &[(String, Src)], running: bool) -> Result<(), String>;
    fn undefine_domain(&mut self, name: &str) -> Result<(), String>;
    fn attach_disk(&mut self, domain: &str, target: &str, src: &Src, live: bool) -> Result<(), String>;
    /// Writes a fresh pattern to the first MiB of an LV (lab; a no-op on the test driver).
    fn write_pattern(&mut self, vg: &str, name: &str, tag: &str) -> Result<(), String>;
    fn restart_libvirtd(&mut self) -> Result<(), String>;
}

fn lv_err(what: &str) -> impl Fn(virt::error::Error) -> String + '_ {
    move |e| format!("{what}: {}", e.message())
}

/// Pools and domains through a libvirt connection (both backends).
struct Libvirt {
    uri: String,
    conn: Option<virt::connect::Connect>,
}

impl Libvirt {
    fn open(uri: &str) -> Result<Libvirt, String> {
        let conn = virt::connect::Connect::open(Some(uri)).map_err(lv_err("connect"))?;
        Ok(Libvirt {
            uri: uri.to_string(),
            conn: Some(conn),
        })
    }

    fn conn(&self) -> &virt::connect::Connect {
        self.conn.as_ref().expect("open connection")
    }

    fn reconnect(&mut self) -> Result<(), String> {
        // Dropping the old connection closes it.
        self.conn = None;
        self.conn = Some(virt::connect::Connect::open(Some(&self.uri)).map_err(lv_err("reconnect"))?);
        Ok(())
    }

    fn pool(&self, name: &str) -> Result<virt::storage_pool::StoragePool, String> {
        self.conn()
            .lookup_storage_pool_by_name(name)
            .map_err(lv_err("look up pool"))
    }

    /// Pools (all, or those whose name starts with `prefix`) and domains likewise; with
    /// `volumes`, the LVs of active pools as libvirt lists them.
    fn observe(&self, prefix: &str, volumes: bool, w: &mut World) -> Result<(), String> {
        let c = self.conn();
        for p in c.list_all_storage_pools(0).map_err(lv_err("list pools"))? {
            let name = p.name().map_err(lv_err("pool name"))?;
            if !name.starts_with(prefix) {
                continue;
            }
            let uuid = p.uuid_string().map_err(lv_err("pool uuid"))?;
            let xml = p.xml_desc(0).map_err(lv_err("pool xml"))?;
            let active = p.is_active().map_err(lv_err("pool state"))?;
            let source = xml
                .split("<source>")
                .nth(1)
                .and_then(|s| s.split("</source>").next())
                .unwrap_or_default();
            let vg = tag_text(source, "name")
                .or_else(|| tag_text(&xml, "path"))
                .unwrap_or_else(|| name.clone());
            if volumes {
                if active {
                    for v in p.list_all_volumes(0).map_err(lv_err("list volumes"))? {
                        let key = v.key().map_err(lv_err("volume key"))?;
                        w.lvs.insert(
                            key,
                            LvObs {
                                vg: vg.clone(),
                                name: v.name().map_err(lv_err("volume name"))?,
                                vg_uuid: None,
                                pool_uuid: Some(uuid.clone()),
                                sha: None,
                            },
                        );
                    }
                } else {
                    w.hidden_vgs.insert(vg.clone());
                }
            }
            w.pools.insert(uuid, PoolObs { name, vg, active });
        }
        for d in c.list_all_domains(0).map_err(lv_err("list domains"))? {
            let name = d.name().map_err(lv_err("domain name"))?;
            if !name.starts_with(prefix) {
                continue;
            }
            let uuid = d.uuid_string().map_err(lv_err("domain uuid"))?;
            let active = d.is_active().map_err(lv_err("domain state"))?;
            let mut disks = BTreeMap::new();
            if active {
                parse_disks(
                    &d.xml_desc(0).map_err(lv_err("live xml"))?,
                    View::Live,
                    &mut disks,
                );
            }
            if d.is_persistent().map_err(lv_err("domain persistence"))? {
                parse_disks(
                    &d.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
                        .map_err(lv_err("saved xml"))?,
                    View::Saved,
                    &mut disks,
                );
            }
            w.domains.insert(uuid, DomObs { name, active, disks });
        }
        Ok(())
    }

    fn set_pool_active(&self, name: &str, active: bool) -> Result<(), String> {
        let p = self.pool(name)?;
        if active {
            p.create(0).map_err(lv_err("start pool"))
        } else {
            p.destroy().map_err(lv_err("stop pool"))
        }
    }

    fn undefine_pool(&self, name: &str) -> Result<(), String> {
        let p = self.pool(name)?;
        if p.is_active().map_err(lv_err("pool state"))? {
            p.destroy().map_err(lv_err("stop pool"))?;
        }
        p.undefine().map_err(lv_err("undefine pool"))
    }

    fn define_pool(&self, name: &str, vg: &str, device: &str) -> Result<(), String> {
        let xml = format!(
            "<pool type='logical'><name>{name}</name><source><device path='{device}'/><name>{vg}</name>\
             <format type='lvm2'/></source><target><path>/dev/{vg}</path></target></pool>"
        );
        let p = self
            .conn()
            .define_storage_pool_xml(&xml, 0)
            .map_err(lv_err("define pool"))?;
        p.create(0).map_err(lv_err("start pool"))
    }

    fn define_domain(&self, xml: &str, running: bool) -> Result<(), String> {
        let d = self
            .conn()
            .define_domain_xml(xml)
            .map_err(lv_err("define domain"))?;
        if running {
            d.create().map_err(lv_err("start domain"))?;
        }
        Ok(())
    }

    fn undefine_domain(&self, name: &str) -> Result<(), String> {
        let d = self
            .conn()
            .lookup_domain_by_name(name)
            .map_err(lv_err("look up domain"))?;
        if d.is_active().map_err(lv_err("domain state"))? {
            d.destroy().map_err(lv_err("stop domain"))?;
        }
        d.undefine().map_err(lv_err("undefine domain"))
    }

    fn attach_disk(&self, domain: &str, target: &str, src: &Src, live: bool) -> Result<(), String> {
        let d = self
            .conn()
            .lookup_domain_by_name(domain)
            .map_err(lv_err("look up domain"))?;
        let flags = virt::sys::VIR_DOMAIN_AFFECT_CONFIG
            | if live {
                virt::sys::VIR_DOMAIN_AFFECT_LIVE
            } else {
                0
            };
        d.attach_device_flags(&disk_xml(target, src), flags)
            .map_err(lv_err("attach disk"))
    }
}

fn disk_xml(target: &str, src: &Src) -> String {
    let source = match src {
        Src::Block(p) => format!("<disk type='block' device='disk'><source dev='{p}'/>"),
        Src::File(p) => format!("<disk type='file' device='disk'><source file='{p}'/>"),
        Src::Volume { pool, volume } => {
            format!("<disk type='volume' device='disk'><source pool='{pool}' volume='{volume}'/>")
        }
        Src::Other(_) => "<disk type='block' device='disk'>".to_string(),
    };
    format!("{source}<target dev='{target}' bus='scsi'/></disk>")
}

/// A domain with a virtio-scsi controller and `disks`; `qemu` for the lab, `test` for the test driver.
fn domain_xml(kind: &str, name: &str, disks: &[(String, Src)]) -> String {
    let disks: String = disks.iter().map(|(t, s)| disk_xml(t, s)).collect();
    let os = if kind == "qemu" {
        "<os><type arch='x86_64' machine='pc'>hvm</type></os><features><acpi/></features>"
    } else {
        "<os><type arch='x86_64'>hvm</type></os>"
    };
    format!(
        "<domain type='{kind}'><name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>{os}\
         <devices><controller type='scsi' model='virtio-scsi'/>{disks}</devices></domain>"
    )
}

/// libvirt's test driver behind a private libvirtd.
struct TestDriver {
    lv: Libvirt,
    layout: Layout,
    tf: TfDir,
}

impl TestDriver {
    fn new(daemon: &Libvirtd) -> Result<TestDriver, String> {
        let uri = daemon.test_uri();
        // This connection keeps the driver's state alive for the whole seed.
        let lv = Libvirt::open(&uri)?;
        Ok(TestDriver {
            lv,
            layout: Layout {
                pools: ["sq-p0".into(), "sq-p1".into()],
                devices: ["/dev/sdq0".into(), "/dev/sdq1".into()],
                domains: Vec::new(),
                prefix: "sq".into(),
            },
            tf: TfDir::new(&uri, Duration::from_secs(120)),
        })
    }

    fn pool_of_vg(&self, vg: &str) -> Result<virt::storage_pool::StoragePool, String> {
        let mut w = World::default();
        self.lv.observe("", false, &mut w)?;
        let (_, p) = w
            .pools
            .iter()
            .find(|(_, p)| p.vg == vg)
            .ok_or_else(|| format!("no pool over {vg}"))?;
        self.lv.pool(&p.name)
    }
}

impl Backend for TestDriver {
    fn label(&self) -> &'static str {
        "test-driver"
    }
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn tf(&self) -> &TfDir {
        &self.tf
    }
    fn real_lvm(&self) -> bool {
        false
    }
    fn observe(&mut self) -> Result<World, String> {
        let mut w = World::default();
        self.lv.observe("", true, &mut w)?;
        Ok(w)
    }
    fn create_lv(&mut self, pool: &str, _vg: &str, name: &str) -> Result<(), String> {
        let p = self.lv.pool(pool)?;
        let xml = format!(
            "<volume><name>{name}</name><capacity unit='MiB'>8</capacity><allocation unit='MiB'>8</allocation></volume>"
        );
        virt::storage_vol::StorageVol::create_xml(&p, &xml, 0)
            .map(|_| ())
            .map_err(lv_err("create volume"))
    }
    fn remove_lv(&mut self, _pool: &str, vg: &str, name: &str) -> Result<(), String> {
        let p = self.pool_of_vg(vg)?;
        let v = p
            .lookup_storage_vol_by_name(name)
            .map_err(lv_err("look up volume"))?;
        v.delete(0).map_err(lv_err("delete volume"))
    }
    fn set_pool_active(&mut self, name: &str, active: bool) -> Result<(), String> {
        self.lv.set_pool_active(name, active)
    }
    fn undefine_pool(&mut self, name: &str) -> Result<(), String> {
        self.lv.undefine_pool(name)
    }
    fn new_vg(&mut self, vg: &str) -> Result<String, String> {
        // The test driver has no volume groups apart from pools: any device name will do.
        Ok(format!("/dev/disk/by-id/{vg}"))
    }
    fn define_pool(&mut self, name: &str, vg: &str, device: &str) -> Result<(), String> {
        self.lv.define_pool(name, vg, device)
    }
    fn define_domain(&mut self, name: &str, disks: &[(String, Src)], running: bool) -> Result<(), String> {
        self.lv.define_domain(&domain_xml("test", name, disks), running)
    }
    fn undefine_domain(&mut self, name: &str) -> Result<(), String> {
        self.lv.undefine_domain(name)
    }
    fn attach_disk(&mut self, _: &str, _: &str, _: &Src, _: bool) -> Result<(), String> {
        Err("the test driver has no device hotplug".into())
    }
    fn write_pattern(&mut self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Ok(())
    }
    fn restart_libvirtd(&mut self) -> Result<(), String> {
        Err("restarting the private libvirtd would reset the test driver's whole world".into())
    }
}

/// Loop devices made in the lab guest for foreign volume groups; detached when dropped (after the
/// scenario's cleanup has removed the volume groups on them).
struct Loops {
    lab: &'static Lab,
    devices: Vec<(String, String)>,
}

impl Drop for Loops {
    fn drop(&mut self) {
        for (dev, file) in self.devices.drain(..) {
            let r = self.lab.ssh_run(&format!(
                "vg=$(pvs --noheadings -o vg_name {dev} 2>/dev/null | tr -d ' '); \
                 [ -n \"$vg\" ] && vgremove -f \"$vg\" >/dev/null 2>&1; pvremove -ff -y {dev} >/dev/null 2>&1; \
                 losetup -d {dev}; rm -f {file}"
            ));
            if !r.ok() {
                eprintln!("[sequence] cleanup of {dev} ({file}) failed:\n{r}");
            }
        }
    }
}

/// The lab: pools and domains through libvirt, LVM through ssh.
///
/// Field order is drop order: the work directory, the connection, then the scenario (whose cleanup
/// removes every pool, VG and domain named with its prefix), then the loop devices.
struct LabBackend {
    tf: TfDir,
    lv: Libvirt,
    layout: Layout,
    scenario: Scenario,
    loops: Loops,
    seed: u64,
    writes: u32,
}

impl LabBackend {
    fn new(s: Scenario, seed: u64) -> Result<LabBackend, String> {
        let lab = s.lab();
        let layout = Layout {
            pools: [s.name("p0"), s.name("p1")],
            devices: [lab.pv_devices[0].clone(), lab.pv_devices[1].clone()],
            domains: vec![s.name("d0"), s.name("d1")],
            prefix: s.prefix().to_string(),
        };
        // Fixture domains for the attachments: one running (hotplug), one shut off (config only).
        s.domain("d0", DomainOpts::running());
        s.domain("d1", DomainOpts::shut_off());
        let mut b = LabBackend {
            tf: TfDir::new(&lab.uri, acceptance_tests::TF_TIMEOUT),
            lv: Libvirt::open(&lab.uri)?,
            layout,
            loops: Loops {
                lab,
                devices: Vec::new(),
            },
            scenario: s,
            seed,
            writes: 0,
        };
        // A foreign volume group libvirt does not know, with one LV that recreated domains use.
        let vg = b.layout.name("fvg0");
        b.new_vg(&vg)?;
        b.create_lv("", &vg, "keep")?;
        Ok(b)
    }

    fn lab(&self) -> &'static Lab {
        self.scenario.lab()
    }

    fn ssh(&self, script: &str) -> Result<String, String> {
        let r = self.lab().ssh_run(script);
        if r.ok() {
            Ok(r.stdout)
        } else {
            Err(format!(
                "`{}` failed: {}",
                script.lines().next().unwrap_or_default(),
                r.text().trim()
            ))
        }
    }

    /// The libvirt connection, opened again if libvirtd went away (a restart).
    fn libvirt(&mut self) -> Result<&Libvirt, String> {
        if !self.lv.conn().is_alive().unwrap_or(false) {
            self.lv.reconnect()?;
        }
        Ok(&self.lv)
    }
}

impl Layout {
    /// `<prefix>-<what>`: a name for something the test makes.
    fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }
}

impl Backend for LabBackend {
    fn label(&self) -> &'static str {
        "lab"
    }
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn tf(&self) -> &TfDir {
        &self.tf
    }
    fn real_lvm(&self) -> bool {
        true
    }
    fn observe(&mut self) -> Result<World, String> {
        let mut w = World::default();
        let prefix = self.layout.prefix.clone();
        self.libvirt()?.observe(&prefix, false, &mut w)?;
        let out = self.ssh(&format!(
            r#"vgs --noheadings -o vg_uuid,vg_name --separator , 2>/dev/null | tr -d ' ' | while IFS=, read -r u n; do
  case "$n" in {prefix}*) echo "vg,$u,$n";; esac
done
lvs --noheadings -o lv_uuid,vg_name,lv_name --separator , 2>/dev/null | tr -d ' ' | while IFS=, read -r u vg n; do
  case "$vg" in {prefix}*) ;; *) continue;; esac
  if [ -b "/dev/$vg/$n" ]; then s=$(head -c 1048576 "/dev/$vg/$n" | sha256sum | cut -c1-64); else s=-; fi
  echo "lv,$u,$vg,$n,$s"
done
true"#
        ))?;
        let mut vg_uuid: BTreeMap<String, String> = BTreeMap::new();
        for line in out.lines() {
            let f: Vec<&str> = line.split(',').collect();
            if let ["vg", uuid, name] = f.as_slice() {
                w.vgs.insert(uuid.to_string(), name.to_string());
                vg_uuid.insert(name.to_string(), uuid.to_string());
            }
        }
        for line in out.lines() {
            let f: Vec<&str> = line.split(',').collect();
            if let ["lv", uuid, vg, name, sha] = f.as_slice() {
                w.lvs.insert(
                    uuid.to_string(),
                    LvObs {
                        vg: vg.to_string(),
                        name: name.to_string(),
                        vg_uuid: vg_uuid.get(*vg).cloned(),
                        pool_uuid: None,
                        sha: (*sha != "-").then(|| sha.to_string()),
                    },
                );
            }
        }
        Ok(w)
    }
    fn create_lv(&mut self, _pool: &str, vg: &str, name: &str) -> Result<(), String> {
        self.ssh(&format!("lvcreate -q -y -L 8M -n {name} {vg} >/dev/null"))?;
        self.write_pattern(vg, name, "created")
    }
    fn remove_lv(&mut self, _pool: &str, vg: &str, name: &str) -> Result<(), String> {
        self.ssh(&format!("lvremove -q -f -y {vg}/{name} >/dev/null"))
            .map(|_| ())
    }
    fn set_pool_active(&mut self, name: &str, active: bool) -> Result<(), String> {
        self.libvirt()?.set_pool_active(name, active)
    }
    fn undefine_pool(&mut self, name: &str) -> Result<(), String> {
        self.libvirt()?.undefine_pool(name)
    }
    fn new_vg(&mut self, vg: &str) -> Result<String, String> {
        let file = format!("/var/tmp/{vg}.img");
        let dev = self
            .ssh(&format!("truncate -s 64M {file} && losetup -f --show {file}"))?
            .trim()
            .to_string();
        self.loops.devices.push((dev.clone(), file));
        self.ssh(&format!(
            "pvcreate -q -y {dev} >/dev/null && vgcreate -q {vg} {dev} >/dev/null"
        ))?;
        Ok(dev)
    }
    fn define_pool(&mut self, name: &str, vg: &str, device: &str) -> Result<(), String> {
        self.libvirt()?.define_pool(name, vg, device)
    }
    fn define_domain(&mut self, name: &str, disks: &[(String, Src)], running: bool) -> Result<(), String> {
        let xml = domain_xml("qemu", name, disks);
        self.libvirt()?.define_domain(&xml, running)
    }
    fn undefine_domain(&mut self, name: &str) -> Result<(), String> {
        self.libvirt()?.undefine_domain(name)
    }
    fn attach_disk(&mut self, domain: &str, target: &str, src: &Src, live: bool) -> Result<(), String> {
        self.libvirt()?.attach_disk(domain, target, src, live)
    }
    fn write_pattern(&mut self, vg: &str, name: &str, tag: &str) -> Result<(), String> {
        self.writes += 1;
        self.ssh(&format!(
            "yes 'seed {}:{vg}/{name}:{tag}:{}' | head -c 1048576 | dd of=/dev/{vg}/{name} bs=1M \
             iflag=fullblock oflag=direct conv=fsync,notrunc status=none",
            self.seed, self.writes
        ))
        .map(|_| ())
    }
    fn restart_libvirtd(&mut self) -> Result<(), String> {
        self.ssh("systemctl restart libvirtd")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.lv.reconnect().is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("libvirtd did not answer within 60 s of its restart".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// The sequence

/// What a step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
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

const KINDS: [(Kind, u64); 11] = [
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
enum Oob {
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
}

const OOB_TEST_DRIVER: [(Oob, u64); 7] = [
    (Oob::LvInPool, 6),
    (Oob::SwapPool, 3),
    (Oob::UndefineForeignPool, 2),
    (Oob::StopStart, 4),
    (Oob::AliasDomain, 5),
    (Oob::UndefineDomain, 2),
    (Oob::RemoveForeignLv, 2),
];

const OOB_LAB: [(Oob, u64); 11] = [
    (Oob::LvInPool, 5),
    (Oob::SwapPool, 2),
    (Oob::UndefineForeignPool, 1),
    (Oob::StopStart, 3),
    (Oob::ReplaceLv, 3),
    (Oob::AliasDomain, 3),
    (Oob::RecreateDomain, 2),
    (Oob::HandAttach, 3),
    (Oob::UndefineDomain, 1),
    (Oob::RemoveForeignLv, 1),
    (Oob::RestartLibvirtd, 1),
];

/// Between a saved plan and its apply, the changes a saved plan cannot know about (the plan was
/// made before them): drawn more often there, since that is where stale decisions bite.
const OOB_TEST_DRIVER_BEFORE_SAVED_APPLY: [(Oob, u64); 4] = [
    (Oob::LvInPool, 4),
    (Oob::SwapPool, 3),
    (Oob::StopStart, 1),
    (Oob::AliasDomain, 3),
];

const OOB_LAB_BEFORE_SAVED_APPLY: [(Oob, u64); 6] = [
    (Oob::LvInPool, 4),
    (Oob::SwapPool, 2),
    (Oob::ReplaceLv, 2),
    (Oob::AliasDomain, 2),
    (Oob::RecreateDomain, 2),
    (Oob::HandAttach, 2),
];

/// What became of one seed.
struct SeedReport {
    backend: &'static str,
    test_fn: &'static str,
    seed: u64,
    steps_run: usize,
    elapsed: Duration,
    log: Vec<String>,
    /// The step, its command class and what broke.
    violation: Option<(usize, String, Vec<Violation>)>,
    findings: Vec<(usize, String)>,
    provider_bugs: Vec<(usize, String)>,
    tf_commands: usize,
    tf_failed: usize,
    oob_done: usize,
    /// The seed could not go on (an observation failed): not a verdict on the provider.
    aborted: Option<String>,
}

impl SeedReport {
    fn log(&mut self, line: String) {
        eprintln!("[sequence {} seed {}] {line}", self.backend, self.seed);
        self.log.push(line);
    }

    fn replay(&self, steps: usize) -> String {
        format!(
            "SEQ_SEED={} SEQ_STEPS={steps} cargo test -p acceptance-tests --test sequence -- --nocapture {}",
            self.seed, self.test_fn
        )
    }
}

/// Runs `steps` steps of seed `seed` on `b`.
fn run_seed(mut b: Box<dyn Backend>, seed: u64, steps: usize, test_fn: &'static str) -> SeedReport {
    let started = Instant::now();
    let mut r = SeedReport {
        backend: b.label(),
        test_fn,
        seed,
        steps_run: 0,
        elapsed: Duration::ZERO,
        log: Vec::new(),
        violation: None,
        findings: Vec::new(),
        provider_bugs: Vec::new(),
        tf_commands: 0,
        tf_failed: 0,
        oob_done: 0,
        aborted: None,
    };
    let mut rng = Rng(seed);
    let attachments = !b.layout().domains.is_empty();
    let real = b.real_lvm();
    let mut config = Config::random(&Draw::from(&mut rng), attachments, real);
    b.tf().write(&config.hcl(b.layout()));
    r.log(format!("initial configuration: {}", config.describe()));
    let mut ledger = Ledger::default();
    let mut world = match b.observe() {
        Ok(w) => w,
        Err(e) => {
            r.aborted = Some(format!("first observation failed: {e}"));
            return r;
        }
    };
    ledger.absorb(&world, Origin::Foreign);
    let mut pending_plan: Option<(u64, &'static str)> = None;
    let mut counter = 0u32;
    for step in 1..=steps {
        let d = Draw::from(&mut rng);
        r.steps_run = step;
        let kind = match pending_plan {
            Some((0, _)) => None,
            Some((n, class)) => {
                pending_plan = Some((n - 1, class));
                Some(Kind::Oob)
            }
            None if step == 1 => Some(Kind::Apply),
            None => Some(weighted(&KINDS, d.kind)),
        };
        let Some(kind) = kind else {
            // The saved plan, after the out-of-band changes drawn for it.
            let class = pending_plan
                .take()
                .map(|(_, c)| c)
                .unwrap_or("apply <saved plan>");
            let args = strings(&["apply", "-input=false", "p"]);
            if !tf_step(
                &mut *b,
                &mut r,
                &mut ledger,
                &mut world,
                step,
                &args,
                class,
                false,
            ) {
                break;
            }
            let _ = std::fs::remove_file(b.tf().path().join("p"));
            continue;
        };
        match kind {
            Kind::Edit => {
                let what = edit(&mut config, &d, attachments, real);
                b.tf().write(&config.hcl(b.layout()));
                r.log(format!("{step:3} edit: {what} -> {}", config.describe()));
            }
            Kind::Oob => {
                let between_plan_and_apply = pending_plan.is_some();
                let table: &[(Oob, u64)] = match (real, between_plan_and_apply) {
                    (true, true) => &OOB_LAB_BEFORE_SAVED_APPLY,
                    (true, false) => &OOB_LAB,
                    (false, true) => &OOB_TEST_DRIVER_BEFORE_SAVED_APPLY,
                    (false, false) => &OOB_TEST_DRIVER,
                };
                let op = weighted(table, d.b);
                let outcome = oob(op, &d, &mut *b, &world, &ledger, &mut counter);
                match &outcome {
                    Ok(what) => {
                        r.oob_done += 1;
                        r.log(format!("{step:3} out of band: {what}"));
                    }
                    Err(why) => r.log(format!("{step:3} out of band {op:?}: not done: {why}")),
                }
                match b.observe() {
                    Ok(w) => {
                        ledger.absorb(&w, Origin::Foreign);
                        world = w;
                    }
                    Err(e) => {
                        r.aborted = Some(format!("observation after step {step} failed: {e}"));
                        break;
                    }
                }
            }
            _ => {
                let state = b.tf().state();
                let (args, class) = tf_args(kind, &d, &config, &state, attachments);
                let ok = tf_step(&mut *b, &mut r, &mut ledger, &mut world, step, &args, class, true);
                if !ok {
                    break;
                }
                if matches!(kind, Kind::PlanApply | Kind::PlanDestroy) && b.tf().path().join("p").exists() {
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
    r.elapsed = started.elapsed();
    r.log(format!(
        "{} after {} steps in {:.1} s ({} terraform commands, {} failed; {} out-of-band changes)",
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
        r.oob_done
    ));
    r
}

fn strings(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

/// Runs one terraform command, checks the invariant, takes in the new world. False: stop the seed.
#[allow(clippy::too_many_arguments)]
fn tf_step(
    b: &mut dyn Backend,
    r: &mut SeedReport,
    ledger: &mut Ledger,
    world: &mut World,
    step: usize,
    args: &[String],
    class: &str,
    claims: bool,
) -> bool {
    let prior = b.tf().state();
    let run = b.tf().run(args);
    let post = b.tf().state();
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
    let w = match b.observe() {
        Ok(w) => w,
        Err(e) => {
            r.aborted = Some(format!("observation after step {step} failed: {e}"));
            return false;
        }
    };
    let mut notes = Vec::new();
    let violations = ledger.check(&w, &prior, &post, &mut notes);
    for n in notes {
        r.log(format!("    note: {n}"));
    }
    if !violations.is_empty() {
        for v in &violations {
            r.log(format!("    DATA LOSS: {}: {}", v.kind, v.what));
        }
        r.log(format!(
            "    output of the failing command:\n{}",
            indent(&run.text())
        ));
        r.violation = Some((step, class.to_string(), violations));
        return false;
    }
    ledger.absorb(&w, Origin::Terraform);
    // Only an untargeted command that refreshed everything and succeeded says what the state holds.
    if claims && run.ok() && (class == "apply" || class == "destroy") {
        for f in ledger.state_claims(&w, &post) {
            r.log(format!("    finding: {f}"));
            r.findings.push((step, f));
        }
    }
    *world = w;
    true
}

/// Terraform output for the log, without the dev_overrides warning every command prints.
fn indent(text: &str) -> String {
    let mut skipping = false;
    text.lines()
        .filter(|l| {
            if l.contains("Warning: Provider development overrides are in effect") {
                skipping = true;
            }
            let keep = !skipping && !l.trim().is_empty();
            if skipping && l.contains("releases.") {
                skipping = false;
            }
            keep
        })
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The command line and its class (for grouping failures) of a Terraform step.
fn tf_args(
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
    fn hcl_has(&self, addr: &str) -> bool {
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

/// A configuration change; returns what it did.
fn edit(config: &mut Config, d: &Draw, attachments: bool, wipe: bool) -> String {
    let addrs = Config::all_addresses(attachments);
    let choice = d.a % if wipe { 10 } else { 9 };
    match choice {
        0..=4 => {
            let addr = pick(&addrs, d.b).cloned().unwrap_or_default();
            let was = config.hcl_has(&addr);
            config.toggle(&addr);
            format!("{} {addr}", if was { "remove" } else { "add" })
        }
        5 | 6 => {
            let i = (d.b % 2) as usize;
            config.delete[i] = !config.delete[i];
            format!(
                "p{i}.on_destroy = {}",
                if config.delete[i] { "delete" } else { "keep" }
            )
        }
        7 => {
            let i = (d.b % 2) as usize;
            config.force[i] = !config.force[i];
            format!("p{i}.force_destroy = {}", config.force[i])
        }
        8 => {
            *config = Config::random(d, attachments, wipe);
            "a new random configuration".into()
        }
        _ => {
            let i = (d.b % 4) as usize;
            config.wipe[i] = !config.wipe[i];
            format!("{}.wipe_on_destroy = {}", VOLS[i].0, config.wipe[i])
        }
    }
}

/// Runs one out-of-band change; `Ok(what it did)` or `Err(why it was not done)`.
fn oob(
    op: Oob,
    d: &Draw,
    b: &mut dyn Backend,
    w: &World,
    ledger: &Ledger,
    n: &mut u32,
) -> Result<String, String> {
    *n += 1;
    let n = *n;
    let layout = b.layout().clone();
    let real = b.real_lvm();
    let origin_of_pool = |uuid: &str| ledger.pools.get(uuid).map(|p| p.origin);
    let mut managed_pools: Vec<(&String, &PoolObs)> = w
        .pools
        .iter()
        .filter(|(u, _)| origin_of_pool(u) == Some(Origin::Terraform))
        .collect();
    managed_pools.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let mut lvs: Vec<(&String, &LvObs)> = w.lvs.iter().collect();
    lvs.sort_by(|a, b| (&a.1.vg, &a.1.name).cmp(&(&b.1.vg, &b.1.name)));
    let origin_of_lv = |key: &str| ledger.lvs.get(key).map(|l| l.origin);
    let none = |what: &str| Err(format!("no {what}"));
    match op {
        Oob::LvInPool => {
            let candidates: Vec<_> = managed_pools
                .iter()
                .filter(|(_, p)| {
                    if real {
                        w.vgs.values().any(|v| *v == p.vg)
                    } else {
                        p.active
                    }
                })
                .collect();
            let Some((_, p)) = pick(&candidates, d.a) else {
                return none("managed pool to add an LV to");
            };
            let name = format!("f{n}");
            b.create_lv(&p.name, &p.vg, &name)?;
            Ok(format!(
                "lvcreate {}/{name} (foreign) in managed pool {}",
                p.vg, p.name
            ))
        }
        Oob::SwapPool => {
            let Some((_, p)) = pick(&managed_pools, d.a) else {
                return none("managed pool to swap");
            };
            if real
                && ledger
                    .vgs
                    .values()
                    .filter(|g| g.origin == Origin::Foreign)
                    .count()
                    >= 4
            {
                return Err("enough foreign volume groups already".into());
            }
            let i = usize::from(p.name == layout.pools[1]);
            let names: Vec<&str> = VOLS.iter().filter(|(_, pi)| *pi == i).map(|(n, _)| *n).collect();
            let lv = pick(&names, d.b).copied().unwrap_or("v0");
            let vg = layout.name(&format!("fvg{n}"));
            b.undefine_pool(&p.name)?;
            let dev = b.new_vg(&vg)?;
            b.define_pool(&p.name, &vg, &dev)?;
            b.create_lv(&p.name, &vg, lv)?;
            Ok(format!(
                "pool {} undefined; another pool {} defined over a new VG {vg} ({dev}) holding a foreign LV {lv}",
                p.name, p.name
            ))
        }
        Oob::StopStart => {
            let Some((_, p)) = pick(&managed_pools, d.a) else {
                return none("managed pool");
            };
            b.set_pool_active(&p.name, !p.active)?;
            Ok(format!(
                "pool {} {}",
                p.name,
                if p.active { "stopped" } else { "started" }
            ))
        }
        Oob::ReplaceLv => {
            if !real {
                return Err("an LV made again under its name has the same key on the test driver".into());
            }
            let used = w.used_lvs();
            let candidates: Vec<_> = lvs
                .iter()
                .filter(|(k, _)| origin_of_lv(k) == Some(Origin::Terraform) && !used.contains(*k))
                .collect();
            let Some((_, l)) = pick(&candidates, d.a) else {
                return none("managed LV that no domain uses");
            };
            b.remove_lv("", &l.vg, &l.name)?;
            b.create_lv("", &l.vg, &l.name)?;
            Ok(format!(
                "LV {}/{} removed by hand and a foreign one made under its name",
                l.vg, l.name
            ))
        }
        Oob::AliasDomain => {
            let Some((k1, l1)) = pick(&lvs, d.a) else {
                return none("LV to use");
            };
            let mut chosen = vec![(*k1, *l1)];
            if d.b.is_multiple_of(2) {
                if let Some((k2, l2)) = pick(&lvs, d.a / 7 + 1) {
                    if k2 != k1 {
                        chosen.push((*k2, *l2));
                    }
                }
            }
            let mut disks = Vec::new();
            for (i, (key, l)) in chosen.iter().enumerate() {
                let src = alias_src(key, l, w, d.c >> (8 * i));
                disks.push((["sdb", "sdc"][i].to_string(), src));
            }
            let name = layout.name(&format!("f{n}"));
            b.define_domain(&name, &disks, false)?;
            for (_, l) in &chosen {
                // Content checks apply to what foreign domains use (lab); an inactive LV keeps its mark.
                let _ = b.write_pattern(&l.vg, &l.name, "in use");
            }
            let list: Vec<String> = disks.iter().map(|(t, s)| format!("{t} = {s}")).collect();
            Ok(format!(
                "domain {name} (shut off) defined with {}",
                list.join(", ")
            ))
        }
        Oob::RecreateDomain => {
            if !real {
                return Err("no attachments on the test driver".into());
            }
            let present: Vec<&String> = layout
                .domains
                .iter()
                .filter(|n| w.domains.values().any(|d| &d.name == *n))
                .collect();
            let Some(name) = pick(&present, d.a) else {
                return none("fixture domain");
            };
            let target = ledger
                .domains
                .values()
                .filter(|e| &e.name == *name)
                .flat_map(|e| e.disks.iter())
                .find(|(_, disk)| disk.origin == Origin::Terraform)
                .map(|((_, t), _)| t.clone())
                .unwrap_or_else(|| "sdb".into());
            let src = Src::Block(format!("/dev/{}/keep", layout.name("fvg0")));
            b.undefine_domain(name)?;
            b.define_domain(name, &[(target.clone(), src.clone())], false)?;
            Ok(format!(
                "domain {name} undefined; a new domain {name} (shut off) defined with its own disk {target} = {src}"
            ))
        }
        Oob::HandAttach => {
            if !real {
                return Err("no device hotplug on the test driver".into());
            }
            let present: Vec<(&String, &DomObs)> = {
                let mut v: Vec<_> = w
                    .domains
                    .iter()
                    .filter(|(_, d)| layout.domains.contains(&d.name))
                    .collect();
                v.sort_by(|a, b| a.1.name.cmp(&b.1.name));
                v
            };
            let Some((_, dom)) = pick(&present, d.a) else {
                return none("fixture domain");
            };
            let Some((key, l)) = pick(&lvs, d.b) else {
                return none("LV to attach");
            };
            let Some(target) = ["sdd", "sde", "sdf"]
                .into_iter()
                .find(|t| !dom.disks.keys().any(|(_, used)| used == t))
            else {
                return Err(format!("no free target on {}", dom.name));
            };
            let src = alias_src(key, l, w, d.c);
            let _ = b.write_pattern(&l.vg, &l.name, "attached by hand");
            b.attach_disk(&dom.name, target, &src, dom.active)?;
            Ok(format!(
                "{target} = {src} attached by hand to {} ({})",
                dom.name,
                if dom.active {
                    "live and saved"
                } else {
                    "saved definition"
                }
            ))
        }
        Oob::UndefineDomain => {
            let mut mine: Vec<&String> = w
                .domains
                .values()
                .map(|d| &d.name)
                .filter(|n| n.starts_with(&layout.name("f")))
                .collect();
            mine.sort();
            let Some(name) = pick(&mine, d.a) else {
                return none("domain made by the test");
            };
            b.undefine_domain(name)?;
            Ok(format!("domain {name} undefined"))
        }
        Oob::RemoveForeignLv => {
            let keep = layout.name("fvg0");
            let candidates: Vec<_> = lvs
                .iter()
                .filter(|(k, l)| origin_of_lv(k) == Some(Origin::Foreign) && l.vg != keep)
                .collect();
            let Some((_, l)) = pick(&candidates, d.a) else {
                return none("foreign LV");
            };
            let pool = w
                .pools
                .values()
                .find(|p| p.vg == l.vg)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            b.remove_lv(&pool, &l.vg, &l.name)?;
            Ok(format!("foreign LV {}/{} removed by hand", l.vg, l.name))
        }
        Oob::RestartLibvirtd => {
            b.restart_libvirtd()?;
            Ok("libvirtd restarted".into())
        }
        Oob::UndefineForeignPool => {
            let mut candidates: Vec<&PoolObs> = w
                .pools
                .iter()
                .filter(|(u, p)| origin_of_pool(u) == Some(Origin::Foreign) && layout.pools.contains(&p.name))
                .map(|(_, p)| p)
                .collect();
            candidates.sort_by(|a, b| a.name.cmp(&b.name));
            let Some(p) = pick(&candidates, d.a) else {
                return none("foreign pool under a managed pool's name");
            };
            b.undefine_pool(&p.name)?;
            Ok(format!(
                "foreign pool {} (VG {}) undefined; its VG stays",
                p.name, p.vg
            ))
        }
    }
}

/// A disk source naming the LV `key` under one of its aliases, chosen by `v`.
fn alias_src(key: &str, l: &LvObs, w: &World, v: u64) -> Src {
    let mut choices: Vec<Src> = aliases(key, l).into_iter().map(Src::Block).collect();
    choices.push(Src::File(format!("/dev/{}/{}", l.vg, l.name)));
    if let Some(p) = w.pools.values().find(|p| p.vg == l.vg) {
        choices.push(Src::Volume {
            pool: p.name.clone(),
            volume: l.name.clone(),
        });
    }
    pick(&choices, v).cloned().unwrap_or(Src::Other(String::new()))
}

// ------------------------------------------------------------------------------------------------
// The report

/// All seeds of one backend: printed as they finish, judged at the end.
struct Summary {
    backend: &'static str,
    started: Instant,
    reports: Vec<SeedReport>,
}

impl Summary {
    fn new(backend: &'static str) -> Summary {
        Summary {
            backend,
            started: Instant::now(),
            reports: Vec::new(),
        }
    }

    fn add(&mut self, r: SeedReport) {
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
    fn finish(self) {
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
                "  seed {}: {} steps in {:.1} s, {} terraform commands ({} failed), {} out-of-band changes{}\n",
                r.seed,
                r.steps_run,
                r.elapsed.as_secs_f64(),
                r.tf_commands,
                r.tf_failed,
                r.oob_done,
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
        eprintln!("{out}");
        assert!(
            classes.is_empty() && aborted.is_empty(),
            "the sequence test found data loss or could not run:{out}"
        );
    }
}

/// A finding without its identifiers: `state claims foreign object: libvirt_lvm_volume`.
fn finding_class(f: &str) -> String {
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

// ------------------------------------------------------------------------------------------------
// Unit tests of the pure parts (no hypervisor)

#[cfg(test)]
mod unit {
    use super::*;

    fn lv(vg: &str, name: &str, pool: &str) -> LvObs {
        LvObs {
            vg: vg.into(),
            name: name.into(),
            vg_uuid: None,
            pool_uuid: Some(pool.into()),
            sha: None,
        }
    }

    fn pool(name: &str, vg: &str) -> PoolObs {
        PoolObs {
            name: name.into(),
            vg: vg.into(),
            active: true,
        }
    }

    fn state(entries: &[(&str, serde_json::Value)]) -> TfState {
        TfState {
            res: entries.iter().map(|(a, v)| (a.to_string(), v.clone())).collect(),
        }
    }

    #[test]
    fn rng_is_splitmix64() {
        // The published first outputs of SplitMix64 from seed 0: a replayed seed must draw these.
        let mut r = Rng(0);
        assert_eq!(r.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    #[test]
    fn aliases_double_dashes_and_use_uuids_on_the_lab() {
        let mut l = lv("my-vg", "data-1", "p");
        l.vg_uuid = Some("abc-def".into());
        let a = aliases("123-456", &l);
        assert!(a.contains(&"/dev/my-vg/data-1".to_string()));
        assert!(a.contains(&"/dev/mapper/my--vg-data--1".to_string()));
        assert!(a.contains(&"/dev/disk/by-id/dm-name-my--vg-data--1".to_string()));
        assert!(a.contains(&"/dev/disk/by-id/dm-uuid-LVM-abcdef123456".to_string()));
        let mut w = World::default();
        w.pools.insert("p".into(), pool("pool", "my-vg"));
        w.lvs.insert("123-456".into(), l);
        assert_eq!(
            w.resolve(&Src::Block("/dev/mapper/my--vg-data--1".into()))
                .as_deref(),
            Some("123-456")
        );
        assert_eq!(
            w.resolve(&Src::Volume {
                pool: "pool".into(),
                volume: "data-1".into()
            })
            .as_deref(),
            Some("123-456")
        );
        assert_eq!(w.resolve(&Src::Block("/dev/my-vg/other".into())), None);
    }

    #[test]
    fn config_keeps_dependencies() {
        let mut c = Config::default();
        c.toggle("libvirt_disk_attachment.a1");
        assert!(c.att[1] && c.vol[2] && c.pool[1], "{c:?}");
        c.toggle("libvirt_lvm_pool.p1");
        assert!(!c.pool[1] && !c.vol[2] && !c.att[1], "{c:?}");
    }

    /// A world with a managed pool `p` (VG vg) holding a managed LV and a foreign LV.
    fn setup() -> (Ledger, World) {
        let mut w = World::default();
        w.pools.insert("P".into(), pool("p", "vg"));
        let mut ledger = Ledger::default();
        ledger.absorb(&w, Origin::Terraform);
        w.lvs.insert("/dev/vg/v0".into(), lv("vg", "v0", "P"));
        ledger.absorb(&w, Origin::Terraform);
        w.lvs.insert("/dev/vg/f1".into(), lv("vg", "f1", "P"));
        ledger.absorb(&w, Origin::Foreign);
        (ledger, w)
    }

    #[test]
    fn a_foreign_lv_removed_on_its_own_is_data_loss() {
        let (ledger, mut w) = setup();
        w.lvs.remove("/dev/vg/f1");
        let v = ledger.check(&w, &TfState::default(), &TfState::default(), &mut Vec::new());
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(v[0].kind, "foreign LV removed");
        // A managed LV may go.
        let (ledger, mut w) = setup();
        w.lvs.remove("/dev/vg/v0");
        assert!(ledger
            .check(&w, &TfState::default(), &TfState::default(), &mut Vec::new())
            .is_empty());
    }

    #[test]
    fn a_foreign_lv_may_go_with_its_pool_only_under_force_destroy() {
        let prior = |force: bool| {
            state(&[(
                "libvirt_lvm_pool.p0",
                serde_json::json!({"id": "P", "volume_group": "vg", "on_destroy": "delete", "force_destroy": force}),
            )])
        };
        let (ledger, mut w) = setup();
        w.pools.clear();
        w.lvs.clear();
        let mut notes = Vec::new();
        assert!(ledger
            .check(&w, &prior(true), &TfState::default(), &mut notes)
            .is_empty());
        assert_eq!(notes.len(), 1, "{notes:?}");
        let v = ledger.check(&w, &prior(false), &TfState::default(), &mut Vec::new());
        assert!(
            v.iter().any(|v| v.kind.starts_with("foreign LV removed")),
            "{v:?}"
        );
        // Still in the state after the command: the pool was not destroyed by request.
        let v = ledger.check(&w, &prior(true), &prior(true), &mut Vec::new());
        assert!(!v.is_empty());
    }

    #[test]
    fn an_lv_a_foreign_domain_uses_under_an_alias_must_stay() {
        let (mut ledger, mut w) = setup();
        let mut disks = BTreeMap::new();
        disks.insert(
            (View::Saved, "sdb".to_string()),
            Src::Block("/dev/mapper/vg-v0".into()),
        );
        w.domains.insert(
            "D".into(),
            DomObs {
                name: "dom".into(),
                active: false,
                disks,
            },
        );
        ledger.absorb(&w, Origin::Foreign);
        w.lvs.remove("/dev/vg/v0");
        let v = ledger.check(&w, &TfState::default(), &TfState::default(), &mut Vec::new());
        assert_eq!(v.len(), 1, "{v:?}");
        assert_eq!(
            v[0].kind,
            "LV in use by a foreign domain (/dev/mapper alias) removed"
        );
        // And the foreign disk itself must stay.
        if let Some(d) = w.domains.get_mut("D") {
            d.disks.clear();
        }
        let v = ledger.check(&w, &TfState::default(), &TfState::default(), &mut Vec::new());
        assert!(v.iter().any(|v| v.kind == "foreign disk detached"), "{v:?}");
    }

    #[test]
    fn foreign_pool_replaced_under_the_same_name_is_caught() {
        let (mut ledger, mut w) = setup();
        w.pools.insert("Q".into(), pool("p-swapped", "fvg"));
        ledger.absorb(&w, Origin::Foreign);
        w.pools.remove("Q");
        let v = ledger.check(&w, &TfState::default(), &TfState::default(), &mut Vec::new());
        assert_eq!(v[0].kind, "foreign pool removed");
    }

    #[test]
    fn weighted_choice_covers_every_kind() {
        let seen: BTreeSet<String> = (0..200u64)
            .map(|v| format!("{:?}", weighted(&KINDS, v)))
            .collect();
        assert_eq!(seen.len(), KINDS.len());
    }
}
