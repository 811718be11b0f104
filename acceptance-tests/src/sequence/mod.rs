//! Seeded, randomized sequences that hunt for data loss: random configurations of pools, volumes and
//! attachments, random Terraform commands (apply, destroy, `-target`, `-replace`, `-refresh=false`,
//! saved plans, configuration edits) interleaved with random out-of-band changes an operator could
//! make. The invariant, checked after every step: **nothing the provider did not create was deleted,
//! detached or changed**. The test functions are in `tests/sequence.rs`.
//!
//! # Backends
//!
//! - `sequence_test_driver`: libvirt's test driver (`test:///default`) served by a private
//!   libvirtd ([`crate::libvirtd`]) started for each seed; needs no lab, so it runs in the
//!   quick part of CI (hundreds of steps in minutes). The test holds a connection open (the driver's
//!   state lives while one is) and makes its out-of-band changes through it. The test driver has no
//!   device hotplug (no attachments) and no VG apart from its pool, and its volume key is the path, so
//!   an LV deleted and made again under the same name has the same identity there: that change is only
//!   made on the lab.
//! - `sequence_lab`: the lab (real LVM, `scripts/lab`), shorter, with attachments to fixture domains
//!   and a data pattern in every LV that is foreign or that a foreign domain uses (its SHA-256 is
//!   checked after every step). Real LVM refuses to remove an LV a running domain holds open
//!   (`Failed To Delete Storage Volume`), so there a missed in-use check costs data only when the
//!   domain is shut off (measured on the lab).
//!
//! # The ledger and the invariant
//!
//! After every step the test observes the whole hypervisor ([`World`]: pools by UUID, VGs by UUID,
//! LVs by key (LV UUID on the lab, path on the test driver) with the SHA-256 of their first MiB,
//! domains by UUID with their disks in the live and saved XML). Whatever is new after an
//! out-of-band step is *foreign*; whatever is new after a Terraform command is *managed*, and on
//! the lab every managed LV gets a data pattern of its own at once (a wipe of zeros would be
//! invisible). After a Terraform command ([`Ledger::check`]):
//! - every foreign pool, VG, LV and domain still exists with the same identity (and name, VG, active
//!   state); every foreign disk is still in the same view of its domain with the same source;
//! - every LV, foreign or managed, keeps its name and its content while it exists (a managed LV
//!   wiped by a delete that was then refused is a loss);
//! - a managed LV goes only with the destroy of its own volume resource (one whose `id` in the
//!   state before the command is its key, and whose destroy Terraform started: `ADDR:
//!   Destroying...` in its output; a resource dropped from the state by a refresh was not
//!   destroyed); a VG a pool resource built goes only with the destroy of that pool when its state
//!   said `on_destroy = "delete"`;
//! - an LV that a foreign domain uses (under any alias: `/dev/VG/LV`, `/dev/mapper/VG-LV`,
//!   `/dev/disk/by-id/dm-name-…`, `…/dm-uuid-LVM-…`, `type='file'`, `type='volume'`) still exists,
//!   whoever created it;
//! - the one sanctioned loss beyond that: an LV no domain uses, inside a volume group Terraform
//!   built, removed with that volume group by the destroy of its pool resource whose state said
//!   `on_destroy = "delete"` and `force_destroy = true` (the documented meaning of force_destroy).
//!   On the test driver a pool undefined with `on_destroy = "keep"` takes its volumes out of sight
//!   (the driver has no VG that outlives the pool): they are counted as kept, not lost.
//!
//! The out-of-band moves ([`generator::Oob`]) include what libvirt does not show of a VG: an LV
//! deactivated, a thin pool with a thin LV, a thick snapshot of a managed LV; and the disk an
//! attachment made swapped for a foreign one at the same target. Configuration edits include
//! `on_destroy`, `force_destroy`, `overwrite` and a device added to a pool (a replacement). Each
//! seed ends with a final judged `terraform destroy`, so that what the last steps did out of band
//! meets a command too.
//!
//! Not fatal, reported ("findings"): after a successful untargeted command with refresh, a state
//! entry naming an object that does not exist, or one that is foreign (the provider adopted
//! something it did not create: the step before a loss, but not a loss); and Terraform output that
//! looks like a provider bug (panics, "Provider produced inconsistent result", …). Fatal besides
//! data loss: a seed none of whose terraform commands succeeded, and a run in which Terraform never
//! made an LV (both would pass every invariant without testing anything).
//!
//! # Replaying
//!
//! One `u64` seed drives everything ([`generator`]): every step draws the same number of values
//! whatever happened, so a seed replays the same actions as long as the hypervisor answers the same
//! way. Each run starts from a fresh seed, printed before its first step with the command that
//! replays it. On a violation the seed stops, and the report prints the seed, the step, the whole
//! step log and that command. Knobs: `SEQUENCE_SEED` (the first seed), `SEQUENCE_SEEDS` (how many
//! consecutive seeds; 1 when only the seed is given), `SEQUENCE_STEPS` (steps per seed),
//! `SEQUENCE_FOCUS` (one move drawn ten times as often: `deactivate`, `thin`, `snapshot`,
//! `swap-disk`, `lv-in-pool`, `alias-domain`, `overwrite`; for hunting one class, never in CI).
//! Defaults: test driver 4 seeds × 50 steps (about 1 minute with the debug provider on a loaded
//! 2-core machine), lab 1 seed × 16 steps (a lab step costs 5 to 40 s under TCG, depending on the
//! host's load).
//!
//! A seed stops at its first violation (what follows would be judged against a world already
//! broken); the test fails at the end if any seed lost data, after printing every failing seed's
//! log and the distinct classes of failure (what was lost, by which kind of command) with one
//! replay command each.
//!
//! ```text
//! cargo test -p acceptance-tests --test sequence -- --exact --nocapture sequence_test_driver
//! SEQUENCE_SEED=7 SEQUENCE_STEPS=30 cargo test -p acceptance-tests --test sequence -- --exact --nocapture sequence_lab
//! SEQUENCE_FOCUS=thin cargo test -p acceptance-tests --test sequence -- --exact --nocapture sequence_lab
//! ```
//!
//! Against another provider build (one with a guard switched off, say): `TF_PROVIDER_DIR=DIR`
//! names the directory holding its `terraform-provider-libvirt`.
//!
//! # Layout
//!
//! - [`generator`]: the seed's random source, the configuration model, step kinds, edits and
//!   terraform command lines; [`hcl`]: the configuration as HCL.
//! - [`world`]: one observation of the hypervisor; [`ledger`]: who made what, and the judge.
//! - [`backends`]: the test driver and the lab; [`oob`]: the out-of-band changes made through them.
//! - [`terraform`]: the work directory and its state; [`run`]: one seed's steps;
//!   [`report`]: the verdict over all seeds.

pub mod backends;
pub mod generator;
pub mod hcl;
pub mod ledger;
pub mod oob;
pub mod report;
pub mod run;
pub mod terraform;
pub mod world;

pub use generator::Knobs;
pub use ledger::Ledger;
pub use report::Summary;
pub use run::{lab_seed, test_driver_seed, SeedReport};
pub use world::World;
