//! The seeded, randomized data-loss sequences (`acceptance_tests::sequence`: the generator, the
//! world, the ledger and its judge, the backends), on libvirt's test driver and on the lab.
//!
//! ```text
//! cargo test -p acceptance-tests --test sequence -- --nocapture sequence_test_driver
//! SEQUENCE_SEED=7 SEQUENCE_STEPS=30 cargo test -p acceptance-tests --test sequence -- --nocapture sequence_lab
//! ```

use acceptance_tests::libvirtd::Libvirtd;
use acceptance_tests::provider_dir;
use acceptance_tests::sequence::{lab_seed, test_driver_seed, Knobs, Summary};
use acceptance_tests::Scenario;

/// Many seeds on the test driver: no lab needed.
#[test]
fn sequence_test_driver() {
    let knobs = Knobs::from_env(4, 50);
    provider_dir();
    let mut summary = Summary::new("test-driver");
    for seed in knobs.seeds() {
        let daemon = Libvirtd::start().unwrap_or_else(|e| {
            panic!("the sequence test needs a private libvirtd (libvirt's test driver): {e}")
        });
        summary.add(test_driver_seed(&daemon, &knobs, seed, "sequence_test_driver"));
        daemon.stop();
    }
    summary.finish();
}

/// A shorter run on the lab: real LVM, attachments, data patterns.
#[test]
fn sequence_lab() {
    let knobs = Knobs::from_env(1, 16);
    let mut summary = Summary::new("lab");
    for seed in knobs.seeds() {
        let Some(s) = Scenario::start("sequence::lab") else {
            return;
        };
        summary.add(lab_seed(s, &knobs, seed, "sequence_lab"));
    }
    summary.finish();
}
