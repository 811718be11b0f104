//! Benchmarks that print figures: medians, and ratios against floors measured in the same run.
//! Nothing here asserts a time. `scripts/bench` prepares what they need (a private libvirtd for
//! bed A, the lab for bed B) and runs them.
//!
//!   bench startup [runs]                 exec to handshake line (AutoMTLS), idle RSS
//!   bench bed-a [runs] [sizes] [plan-sizes]
//!                                        provider vs Terraform's floor (terraform_data) and
//!                                        libvirt's floor (virt crate), on libvirt's test driver
//!                                        served by a libvirtd (BENCH_LIBVIRT_URI)
//!   bench bed-b [runs] [sizes]           provider vs libvirt's floor on real LVM (the lab:
//!                                        LIBVIRT_URI, LAB_PV_DEVICES)
//!   bench grow-b [runs]                  a 1 GiB volume grown through LVM's tools vs ssh lvextend
//!   bench thin-b [runs]                  thin volume, thin snapshot and fast clone: provider vs ssh lvcreate
//!   bench concurrency-a / concurrency-b  many volumes at -parallelism 10 and 32: errors, wall
//!   bench protocol [runs] [n]            what driving a plugin costs Terraform: terraform_data vs
//!                                        the plugin floor with a minimal schema and with the
//!                                        provider's schema (no libvirt involved)
//!
//! The provider binary is target/release/terraform-provider-libvirt (or PROVIDER_BIN).

mod beds;
mod floor;
mod startup;
mod taskstats;
mod tf;

use std::time::Duration;

pub fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn list(arg: Option<&String>, default: &[usize]) -> Vec<usize> {
    arg.map(|s| s.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| default.to_vec())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = |default: usize| args.get(1).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("startup") => startup::startup(runs(50)),
        Some("bed-a") => beds::bed_a(
            runs(5),
            &list(args.get(2), &[1, 50, 200]),
            &list(args.get(3), &[1000]),
        ),
        Some("bed-b") => beds::bed_b(runs(3), &list(args.get(2), &[1, 10, 20])),
        Some("grow-b") => beds::grow_b(runs(3)),
        Some("thin-b") => beds::thin_b(runs(3)),
        Some("concurrency-a") => beds::concurrency_a(&list(args.get(1), &[10, 32])),
        Some("concurrency-b") => beds::concurrency_b(),
        Some("protocol") => beds::protocol(runs(5), &list(args.get(2), &[200, 1000])),
        _ => {
            eprintln!(
                "usage: bench startup|bed-a|bed-b|concurrency-a|concurrency-b|protocol [args] (see src/main.rs)"
            );
            std::process::exit(2);
        }
    }
}
