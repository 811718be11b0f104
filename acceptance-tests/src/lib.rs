//! Acceptance tests: the real `terraform` binary drives the provider against the lab hypervisor
//! (`scripts/lab`: a Debian QEMU guest with real LVM and libvirtd), and every outcome is checked ON
//! THE HYPERVISOR (`lvs`/`vgs`/`pvs` in the guest, libvirt XML through `virsh`), not only in
//! Terraform's view.
//!
//! # Running
//!
//! ```text
//! cargo test -p acceptance-tests --no-fail-fast -- --test-threads=1 --nocapture   # whole suite
//! cargo test -p acceptance-tests --test smoke -- --test-threads=1                 # the seed flow only
//! cargo test -p acceptance-tests --test volume -- --test-threads=1 parallel       # one scenario
//! cargo test -p acceptance-tests --lib                                            # the harness's own tests (no lab)
//! ```
//!
//! Scenario files: `tests/smoke.rs` (the seed flow, also run on the test matrix), `pool.rs`,
//! `volume.rs`, `attachment.rs`, `validation.rs`, `faults.rs` (daemon restarts and kills, a frozen
//! lab, an unreachable hypervisor, failing pool steps), `provider.rs` (the provider block: the default URI
//! chain, validate never connecting, `qemu+ssh` and `qemu+tls` URIs, keepalive off), `identity.rs`
//! (import by resource identity, driven over the plugin protocol as Terraform 1.12 drives it),
//! `safety.rs`, `adversarial.rs` and `sequence.rs` (data safety under orderings), `content.rs` and
//! `upload_engine.rs` (volume content), `secrets.rs`, `examples.rs`. Each `#[test]` is one scenario, named after what it
//! proves. `--no-fail-fast` runs every file even when one fails; `--nocapture` shows each step and
//! each terraform command with its duration, and each scenario's total. The whole suite takes about
//! 10 minutes on the TCG lab. Assertions marked `PROVIDER BUG` document a provider defect: they fail
//! until the provider is fixed, and are never to be weakened to make the suite pass.
//!
//! `COVERAGE.md` maps every schema attribute and every promise of the docs to the scenarios that
//! prove it on real LVM; [`coverage`]'s unit test fails when an attribute has no entry or an entry
//! names a test that does not exist.
//!
//! `--test-threads=1`: the lab has exactly two PV disks, shared by every scenario, so scenarios
//! cannot run side by side. The harness also serialises them with a process-wide mutex (a
//! [`Scenario`] holds it from start to the end of its cleanup), so a run without the flag is slower
//! to report but still correct.
//!
//! Environment:
//! - `LAB_SUITE`: the lab's Debian suite, `bookworm` (default, libvirt 9.0) or `trixie` (libvirt 11).
//! - `LAB_RUN_DIR`: the lab's run directory (passed on to `scripts/lab`; one per lab).
//! - `TF_BIN`: the terraform binary (default `terraform` on PATH; Terraform 1.0.3 lives at
//!   /var/cache/terraform-provider-libvirt/terraform-1.0.3/terraform after scripts/install-deps).
//! - `TF_PROVIDER_DIR`: a directory holding a built `terraform-provider-libvirt`; without it the
//!   harness runs `cargo build --release -p terraform-provider-libvirt` once per test binary. Any
//!   build works, one with a guard switched off included: `scripts/test --data-safety DIR` runs the
//!   data-loss tests (sequence, adversarial, safety) against the binary in DIR.
//! - `SEQUENCE_SEED`, `SEQUENCE_SEEDS`, `SEQUENCE_STEPS`, `SEQUENCE_FOCUS`: the randomized sequence's
//!   knobs ([`sequence`]).
//! - `TF_LOG`: passed to terraform when set for the run.
//! - `ACCEPTANCE_SKIP=1`: skip every scenario (a loud line says so) instead of starting the lab.
//!   Ignored when `CI=true`: in CI the lab must start or the tests fail, saying why.
//! - `ACCEPTANCE_KEEP=1`: keep the work directories (main.tf, state) of failed scenarios.
//!
//! # Layout
//!
//! One module per part of the harness, all re-exported here (tests `use acceptance_tests::…`):
//!
//! - [`scenario`]: [`Scenario`], one test's guard. Serialises scenarios, brings the lab up (once
//!   per process, sweeping leftovers of earlier runs, measuring its speed), hands out unique names
//!   under a per-scenario prefix, and cleans up when dropped, even after a failed assertion:
//!   `terraform destroy` in each [`Workdir`] first, then directly through virsh and the guest
//!   (fixture domains, pools, volume groups, PV labels and signatures on the lab's PV disks).
//!   Prints per-scenario durations.
//! - [`workdir`]: [`Workdir`], a temporary Terraform working directory (the shared runner
//!   [`tfrun::TfDir`]: a CLI config pointing `dev_overrides` at the built provider, no
//!   `terraform init`), and one method per terraform command. Each returns a [`Run`] (exit code and
//!   output, kept for failure messages).
//! - [`lab`]: [`Lab`], the hypervisor: `ssh` into the guest, `lvs`/`vgs`/`pvs` parsed (a line that
//!   does not parse fails the test with its text), `virsh` on the host against `LIBVIRT_URI`,
//!   pool/volume/domain XML; [`snapshot`]: [`Snapshot`] of everything a refused change must leave
//!   alone; [`clients`]: [`Clients`] (libvirtd's client list: which transports reached the daemon).
//! - [`calibration`]: [`Calibration`], the lab's and terraform's speed measured when the lab comes
//!   up; time limits are derived from it instead of fixed seconds.
//! - [`fault`]: [`Fault`], an injected fault (a wrapped LVM command, an immutable directory, a
//!   frozen lab: [`Lab::pause`]) whose undo is checked: a failed undo fails the test and marks the
//!   lab unusable.
//! - [`domain`]: [`Domain`], a diskless fixture domain made with virsh (not with the provider),
//!   running or shut off, with or without ACPI and a SCSI controller, with helpers to prove it never
//!   restarted.
//! - [`hcl`]: quoting for generated configurations; [`xml`]: libvirt's XML is regular enough that
//!   a few string searches read it ([`disk_targets`], [`tag_text`], [`disk_sources`], …);
//!   [`names`]: the paths an LV goes by (`/dev/mapper` with `-` doubled, `dm-name`, `dm-uuid`).
//! - [`http`]: [`HttpServer`], a loopback HTTP server for `source.url` scenarios, stopped by its
//!   handle; [`images`]: images made with qemu-img, their raw reference's sha256, pools and LVs
//!   made with virsh, extents left dirty on purpose.
//! - [`provider`]: the provider binary and the terraform binary; [`net`]: a port that refuses
//!   connections and stays reserved; [`libvirtd`]: a private libvirtd serving the test driver.
//! - [`judge`]: the scenarios' data-loss judges ([`Tally`] and [`World`] of the adversarial
//!   orderings, the LV marks of the safety and fault scenarios), each unit-tested.
//! - [`sequence`]: the randomized data-loss sequences (generator, world, ledger, backends) that
//!   `tests/sequence.rs` runs on the test driver and on the lab.
//! - [`coverage`]: the coverage map's check (unit tests only).

pub mod calibration;
pub mod census;
pub mod clients;
#[cfg(test)]
mod coverage;
pub mod domain;
pub mod fault;
pub mod hcl;
pub mod http;
pub mod images;
pub mod judge;
pub mod lab;
pub mod libvirtd;
pub mod names;
pub mod net;
pub mod provider;
pub mod scenario;
pub mod sequence;
pub mod snapshot;
pub mod workdir;
pub mod xml;

pub use calibration::Calibration;
pub use clients::{Client, ClientRecorder, Clients};
pub use domain::{domain_xml_def, domain_xml_with, Domain, DomainOpts, Runtime};
pub use fault::{Fault, Paused};
pub use hcl::{hcl_list, hcl_string, provider_block};
pub use http::{HttpServer, Reply};
pub use judge::{Tally, World};
pub use lab::{lab_suite, parse_env_lines, Lab, Lv, Pv, Vg};
pub use names::{dm_escape, lv_paths};
pub use net::RefusingPort;
pub use provider::{provider_dir, terraform_bin};
pub use scenario::Scenario;
pub use snapshot::Snapshot;
pub use tfrun::{run_command, Background, Run, PROVIDER_SOURCE};
pub use workdir::Workdir;
pub use xml::{
    attr_value, disk_block, disk_blocks, disk_element, disk_source, disk_sources, disk_targets, tag_text,
    tag_text_attrs, DiskSource,
};

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Every name this suite creates on the hypervisor starts with this; the sweeper removes such
/// leftovers of earlier runs.
pub const PREFIX: &str = "acc";

/// Default timeout of one terraform command.
pub const TF_TIMEOUT: Duration = Duration::from_secs(600);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("acceptance-tests lives in the workspace")
        .to_path_buf()
}

fn log(msg: impl fmt::Display) {
    eprintln!("[acceptance] {msg}");
}
