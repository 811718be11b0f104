//! Bed A (libvirt's test driver through a daemon: the provider's own overhead at native speed) and
//! bed B (real LVM on the lab hypervisor), each against floors measured in the same run.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::floor::{Floor, Layout};
use crate::tf::{plugin_floor_bin, with_hypervisor_cpu, InstalledAs, Memory, Timed, Workdir};
use crate::{median, ms};

const MIB: u64 = 1 << 20;

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the benchmarks through scripts/bench"))
}

fn hcl_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", quoted.join(", "))
}

/// A pool and `n` volumes through this provider.
fn provider_config(uri: &str, l: &Layout, capacity: &str) -> String {
    provider_config_with(uri, l, capacity, "")
}

/// The lab's ssh as the provider's `lvm_tools` block (LVM's tools over ssh, libvirt over `uri`).
fn lab_lvm_tools() -> String {
    format!(
        "\n  lvm_tools {{\n    enabled         = true\n    ssh_host        = \"127.0.0.1\"\n    ssh_port        = {}\n    \
         ssh_user        = \"root\"\n    ssh_keyfile     = {:?}\n    ssh_known_hosts = {:?}\n  }}",
        env("LAB_SSH_PORT"),
        env("LAB_SSH_KEY"),
        env("LAB_KNOWN_HOSTS")
    )
}

/// [`provider_config`] with `provider_extra` (HCL) in the provider block.
fn provider_config_with(uri: &str, l: &Layout, capacity: &str, provider_extra: &str) -> String {
    let on_destroy = if l.delete_vg {
        "\n  on_destroy     = \"delete\""
    } else {
        ""
    };
    format!(
        r#"terraform {{
  required_providers {{
    libvirt = {{ source = "libvirt-lvm/libvirt" }}
  }}
}}
provider "libvirt" {{
  uri = {uri:?}{provider_extra}
}}
resource "libvirt_lvm_pool" "p" {{
  name           = {pool:?}
  source_devices = {devices}{on_destroy}
}}
resource "libvirt_lvm_volume" "v" {{
  count    = {n}
  pool     = libvirt_lvm_pool.p.name
  name     = "v${{count.index}}"
  capacity = {capacity:?}
}}
"#,
        pool = l.pool,
        devices = hcl_list(&l.devices),
        n = l.volumes,
    )
}

/// Terraform's own floor: the same number of built-in resources with the same dependency shape
/// (every "volume" waits for the "pool").
fn terraform_data_config(n: usize) -> String {
    format!(
        r#"resource "terraform_data" "p" {{
  input = "pool"
}}
resource "terraform_data" "v" {{
  count = {n}
  input = "${{terraform_data.p.output}}/v${{count.index}}"
}}
"#
    )
}

/// Figures of one operation for one subject, over the runs.
#[derive(Default)]
struct Series {
    walls: Vec<Duration>,
    peak_kib: u64,
    memory: Memory,
    /// CPU of the provider processes, and of terraform itself (everything else it ran).
    cpu_provider: Vec<Duration>,
    cpu_terraform: Vec<Duration>,
    /// CPU of the libvirtd answering it (bed A's private daemon), when measured.
    cpu_hypervisor: Vec<Duration>,
}

impl Series {
    fn add(&mut self, t: Timed) {
        self.walls.push(t.wall);
        self.peak_kib = self.peak_kib.max(t.provider_peak_kib);
        self.memory = self.memory.max(t.memory);
        self.cpu_provider.push(t.cpu_provider);
        self.cpu_terraform
            .push(t.cpu_total.saturating_sub(t.cpu_provider));
        self.cpu_hypervisor.extend(t.cpu_hypervisor);
    }
    fn add_wall(&mut self, d: Duration) {
        self.walls.push(d);
    }
    /// A run of the libvirt floor: its wall time and what libvirtd spent answering it.
    fn add_floor(&mut self, (d, cpu): (Duration, Option<Duration>)) {
        self.walls.push(d);
        self.cpu_hypervisor.extend(cpu);
    }
    /// The median CPU of libvirtd, or "-" when it was not measured.
    fn hypervisor(&self) -> String {
        if self.cpu_hypervisor.is_empty() {
            "-".into()
        } else {
            ms(median(self.cpu_hypervisor.clone()))
        }
    }
    fn median(&self) -> Duration {
        median(self.walls.clone())
    }
}

/// provider, plugin floor, Terraform floor, libvirt floor for each operation.
#[derive(Default)]
struct Row {
    ours: Series,
    plugin: Series,
    terraform: Series,
    libvirt: Series,
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

fn print_bed_a_header(runs: usize) {
    println!(
        "\n### Bed A: libvirt test driver via libvirtd (test+unix), medians of {runs}, -parallelism=10\n"
    );
    println!("| N | operation | provider | plugin floor | Terraform floor | libvirt floor | provider / (plugin + libvirt) | provider / plugin | plugin / Terraform | CPU: provider processes | CPU: plugin floor processes | CPU: terraform with provider / plugin floor / terraform_data | CPU: libvirtd answering the provider / the libvirt floor |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

fn print_bed_a_rows(n: usize, rows: &BTreeMap<&'static str, Row>) {
    for op in ["apply", "plan", "destroy"] {
        let Some(r) = rows.get(op) else { continue };
        let (o, p, t, l) = (
            r.ours.median(),
            r.plugin.median(),
            r.terraform.median(),
            r.libvirt.median(),
        );
        println!(
            "| {n} | {op} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {} / {} / {} | {} / {} |",
            ms(o),
            ms(p),
            ms(t),
            ms(l),
            ratio(o, p + l),
            ratio(o, p),
            ratio(p, t),
            ms(median(r.ours.cpu_provider.clone())),
            ms(median(r.plugin.cpu_provider.clone())),
            ms(median(r.ours.cpu_terraform.clone())),
            ms(median(r.plugin.cpu_terraform.clone())),
            ms(median(r.terraform.cpu_terraform.clone())),
            r.ours.hypervisor(),
            r.libvirt.hypervisor(),
        );
    }
}

/// Memory of the provider's and the plugin floor's processes, per row: the peak, and how it
/// divides at its largest (see [`Memory`]).
fn print_memory(memory: &[(usize, &'static str, u64, Memory, u64, Memory)]) {
    println!("\n#### Memory (largest over the runs): provider / plugin floor\n");
    println!("| N | operation | peak RSS | private (written by the process: heap, stacks, relocated data) | clean pages of the binary | clean pages of shared libraries (libvirt, its libraries, libc) |");
    println!("|---:|---|---:|---:|---:|---:|");
    for (n, op, peak, m, floor_peak, f) in memory {
        println!(
            "| {n} | {op} | {} / {} | {} / {} | {} / {} | {} / {} |",
            mib(*peak),
            mib(*floor_peak),
            mib(m.private_kib),
            mib(f.private_kib),
            mib(m.binary_kib),
            mib(f.binary_kib),
            mib(m.libraries_kib),
            mib(f.libraries_kib),
        );
    }
}

/// The provider's pool and the floor's pool: the same shape under different names.
fn bed_a_layouts(n: usize) -> (Layout, Layout) {
    let ours = Layout {
        pool: "benchpool".into(),
        devices: vec!["/dev/bench0".into()],
        volumes: n,
        volume_bytes: MIB,
        delete_vg: false,
    };
    let floor = Layout {
        pool: "floorpool".into(),
        devices: vec!["/dev/floor0".into()],
        ..ours.clone()
    };
    (ours, floor)
}

pub fn bed_a(runs: usize, sizes: &[usize], plan_sizes: &[usize]) {
    let uri = env("BENCH_LIBVIRT_URI");
    // The floor's connection also keeps the test driver's state alive between terraform runs.
    let floor = Floor::open(&uri);
    // The plugin floor answers to the provider's name and reads the same configuration.
    let plugin_bin = InstalledAs::provider(&plugin_floor_bin());
    let mut memory = Vec::new();
    let mut remember = |n: usize, rows: &BTreeMap<&'static str, Row>| {
        for (op, r) in rows {
            memory.push((
                n,
                *op,
                r.ours.peak_kib,
                r.ours.memory,
                r.plugin.peak_kib,
                r.plugin.memory,
            ));
        }
    };
    print_bed_a_header(runs);
    for &n in sizes {
        let (ours_l, floor_l) = bed_a_layouts(n);
        let config = provider_config(&uri, &ours_l, "1MiB");
        let ours = Workdir::new(&config);
        let plugin = Workdir::with_provider(&config, &plugin_bin.bin());
        let tfd = Workdir::new(&terraform_data_config(n));
        tfd.init();
        let mut rows: BTreeMap<&'static str, Row> = BTreeMap::new();
        for _ in 0..runs {
            // Interleaved, so that machine noise hits all four alike.
            let r = rows.entry("apply").or_default();
            r.ours.add(ours.apply(10));
            r.plugin.add(plugin.apply(10));
            r.terraform.add(tfd.apply(10));
            r.libvirt.add_floor(with_hypervisor_cpu(|| floor.apply(&floor_l)));
            let r = rows.entry("plan").or_default();
            r.ours.add(ours.plan(10));
            r.plugin.add(plugin.plan(10));
            r.terraform.add(tfd.plan(10));
            r.libvirt
                .add_floor(with_hypervisor_cpu(|| floor.refresh(&floor_l)));
            let r = rows.entry("destroy").or_default();
            r.ours.add(ours.destroy(10));
            r.plugin.add(plugin.destroy(10));
            r.terraform.add(tfd.destroy(10));
            r.libvirt
                .add_floor(with_hypervisor_cpu(|| floor.destroy(&floor_l)));
        }
        print_bed_a_rows(n, &rows);
        remember(n, &rows);
    }
    for &n in plan_sizes {
        let (ours_l, floor_l) = bed_a_layouts(n);
        let config = provider_config(&uri, &ours_l, "1MiB");
        let ours = Workdir::new(&config);
        let plugin = Workdir::with_provider(&config, &plugin_bin.bin());
        let tfd = Workdir::new(&terraform_data_config(n));
        tfd.init();
        let setup = [ours.apply(32), plugin.apply(32), tfd.apply(32)];
        floor.apply(&floor_l);
        let mut rows: BTreeMap<&'static str, Row> = BTreeMap::new();
        for _ in 0..runs {
            let r = rows.entry("plan").or_default();
            r.ours.add(ours.plan(10));
            r.plugin.add(plugin.plan(10));
            r.terraform.add(tfd.plan(10));
            r.libvirt
                .add_floor(with_hypervisor_cpu(|| floor.refresh(&floor_l)));
        }
        print_bed_a_rows(n, &rows);
        println!(
            "| {n} | (setup: apply at -parallelism=32) | {} | {} | {} | | | | | | | | |",
            ms(setup[0].wall),
            ms(setup[1].wall),
            ms(setup[2].wall),
        );
        remember(n, &rows);
        ours.destroy(32);
        plugin.destroy(32);
        tfd.destroy(32);
        floor.destroy(&floor_l);
    }
    print_memory(&memory);
}

/// What driving a plugin over the protocol costs Terraform, apart from any work behind it:
/// `terraform_data` (no plugin), the plugin floor with a minimal schema (the attributes the
/// configuration sets, as few as `terraform_data` has) and with the provider's schema, for apply,
/// plan and destroy of a pool and N volumes. Terraform's own CPU per resource over
/// `terraform_data` splits into the protocol's share (minimal) and the schema's (full - minimal).
pub fn protocol(runs: usize, sizes: &[usize]) {
    let plugin_bin = InstalledAs::provider(&plugin_floor_bin());
    println!("\n### Protocol: terraform_data vs the plugin floor (minimal schema, provider's schema), medians of {runs}, -parallelism=10\n");
    println!("| N | operation | wall: terraform_data / minimal / full | minimal / terraform_data | full / minimal | CPU of terraform: terraform_data / minimal / full | terraform's CPU per resource over terraform_data: minimal / full | CPU of the plugin: minimal / full |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let (layout, _) = bed_a_layouts(n);
        let config = provider_config("test:///default", &layout, "1MiB");
        let full = Workdir::with_provider(&config, &plugin_bin.bin());
        let mini =
            Workdir::with_provider(&config, &plugin_bin.bin()).with_env("PLUGIN_FLOOR_SCHEMA", "minimal");
        let tfd = Workdir::new(&terraform_data_config(n));
        tfd.init();
        let mut rows: BTreeMap<&'static str, [Series; 3]> = BTreeMap::new();
        for _ in 0..runs {
            // Interleaved, so that machine noise hits all three alike.
            for (op, run) in [
                (
                    "apply",
                    &(|w: &Workdir| w.apply(10)) as &dyn Fn(&Workdir) -> Timed,
                ),
                ("plan", &|w: &Workdir| w.plan(10)),
                ("destroy", &|w: &Workdir| w.destroy(10)),
            ] {
                let r = rows.entry(op).or_default();
                r[0].add(run(&tfd));
                r[1].add(run(&mini));
                r[2].add(run(&full));
            }
        }
        for op in ["apply", "plan", "destroy"] {
            let [t, m, f] = &rows[op];
            let cpu = |s: &Series| median(s.cpu_terraform.clone());
            let per = |s: &Series| {
                let over = cpu(s).as_secs_f64() - cpu(t).as_secs_f64();
                format!("{:.3} ms", over * 1000.0 / (n + 1) as f64)
            };
            println!(
                "| {n} | {op} | {} / {} / {} | {:.2} | {:.2} | {} / {} / {} | {} / {} | {} / {} |",
                ms(t.median()),
                ms(m.median()),
                ms(f.median()),
                ratio(m.median(), t.median()),
                ratio(f.median(), m.median()),
                ms(cpu(t)),
                ms(cpu(m)),
                ms(cpu(f)),
                per(m),
                per(f),
                ms(median(m.cpu_provider.clone())),
                ms(median(f.cpu_provider.clone())),
            );
        }
    }
}

pub fn bed_b(runs: usize, sizes: &[usize]) {
    let uri = env("LIBVIRT_URI");
    let devices: Vec<String> = env("LAB_PV_DEVICES")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let floor = Floor::open(&uri);
    println!("\n### Bed B: real LVM on the lab ({uri}), medians of {runs}\n");
    println!("| N | operation | provider (terraform, -parallelism=10) | libvirt floor (serial, one connection) | provider / libvirt | libvirt floor with the refresh `terraform destroy` runs first | provider / that | provider with LVM's tools over ssh | that / libvirt | provider peak RSS |");
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let ours_l = Layout {
            pool: "benchvg".into(),
            devices: devices.clone(),
            volumes: n,
            volume_bytes: 8 * MIB,
            delete_vg: true,
        };
        let floor_l = Layout {
            pool: "floorvg".into(),
            ..ours_l.clone()
        };
        let ours = Workdir::new(&provider_config(&uri, &ours_l, "8MiB"));
        let tools = Workdir::new(&provider_config_with(&uri, &ours_l, "8MiB", &lab_lvm_tools()));
        let (mut apply, mut destroy) = (Row::default(), Row::default());
        let (mut apply_tools, mut destroy_tools) = (Series::default(), Series::default());
        // `terraform destroy` refreshes everything first (one pool refresh, which runs the LVM
        // tools, and a read of each volume): the same calls made serially, shown beside the bare
        // destroy floor.
        let mut refreshed_destroy = Series::default();
        for _ in 0..runs {
            apply.ours.add(ours.apply(10));
            destroy.ours.add(ours.destroy(10));
            apply_tools.add(tools.apply(10));
            destroy_tools.add(tools.destroy(10));
            apply.libvirt.add_wall(floor.apply(&floor_l));
            let refresh = floor.refresh(&floor_l);
            let bare = floor.destroy(&floor_l);
            destroy.libvirt.add_wall(bare);
            refreshed_destroy.add_wall(refresh + bare);
        }
        for (op, r, t) in [
            ("apply", &apply, &apply_tools),
            ("destroy", &destroy, &destroy_tools),
        ] {
            let (o, l) = (r.ours.median(), r.libvirt.median());
            let t = t.median();
            let with_refresh = if op == "destroy" {
                let f = refreshed_destroy.median();
                format!("{} | {:.2}", ms(f), o.as_secs_f64() / f.as_secs_f64())
            } else {
                "- | -".to_string()
            };
            println!(
                "| {n} | {op} | {} | {} | {:.2} | {with_refresh} | {} | {:.2} | {} |",
                ms(o),
                ms(l),
                o.as_secs_f64() / l.as_secs_f64(),
                ms(t),
                t.as_secs_f64() / l.as_secs_f64(),
                mib(r.ours.peak_kib)
            );
        }
    }
}

/// Bed B, growing: one 1 GiB volume grown by 8 MiB per run through the provider (LVM's tools over
/// ssh: `lvextend`, then libvirt's pool refresh) against the floor of the same change made by hand:
/// one `ssh … lvextend` (a new ssh connection each time, as a script would) and one pool refresh
/// through one libvirt connection.
pub fn grow_b(runs: usize) {
    let uri = env("LIBVIRT_URI");
    let devices: Vec<String> = env("LAB_PV_DEVICES")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let floor = Floor::open(&uri);
    let l = Layout {
        pool: "growvg".into(),
        devices,
        volumes: 1,
        volume_bytes: 1024 * MIB,
        delete_vg: true,
    };
    let config = |mib: u64| provider_config_with(&uri, &l, &format!("{mib}MiB"), &lab_lvm_tools());
    let wd = Workdir::new(&config(1024));
    wd.apply(10);
    let (mut ours, mut by_hand) = (Vec::new(), Vec::new());
    for r in 0..runs as u64 {
        wd.write(&config(1024 + 16 * r + 8));
        ours.push(wd.apply(10).wall);
        let t = std::time::Instant::now();
        lab_ssh(&["lvm", "lvextend", "-q", "-L", "+8m", "growvg/v0"]);
        floor.refresh_pool(&l.pool);
        by_hand.push(t.elapsed());
        // Terraform's state follows the size made by hand in the next apply's refresh.
    }
    wd.destroy(10);
    let (o, f) = (median(ours), median(by_hand));
    println!("\n### Bed B: growing a 1 GiB volume by 8 MiB, medians of {runs}\n");
    println!("| operation | provider (terraform apply, LVM's tools over ssh) | by hand (ssh lvextend + pool refresh) | provider / by hand |");
    println!("|---|---:|---:|---:|");
    println!(
        "| grow | {} | {} | {:.2} |",
        ms(o),
        ms(f),
        o.as_secs_f64() / f.as_secs_f64()
    );
}

/// A command run in the lab over its sshd, as an operator would by hand; the time it took.
fn lab_ssh(args: &[&str]) -> Duration {
    let t = std::time::Instant::now();
    let out = std::process::Command::new("ssh")
        .args(["-i", &env("LAB_SSH_KEY"), "-p", &env("LAB_SSH_PORT")])
        .args(["-o", &format!("UserKnownHostsFile={}", env("LAB_KNOWN_HOSTS"))])
        .args(["-o", "BatchMode=yes", "root@127.0.0.1"])
        .args(args)
        .output()
        .expect("ssh runs");
    assert!(out.status.success(), "{args:?} by hand: {out:?}");
    t.elapsed()
}

/// Thin provisioning on the lab (issue 25's benchmark row): a 1 GiB thin volume, a thin snapshot of
/// a 1 GiB golden thin volume and a fast clone of it (a `libvirt_lvm_thin_volume` with `origin`),
/// each made by one `terraform apply` through the provider (LVM's tools over ssh) against the same
/// `lvcreate` by hand over ssh (the floor: what LVM itself takes on this hypervisor). Medians of
/// `runs`; each run adds one of each to the configuration.
pub fn thin_b(runs: usize) {
    let uri = env("LIBVIRT_URI");
    let devices: Vec<String> = env("LAB_PV_DEVICES")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let head = format!(
        r#"terraform {{
  required_providers {{
    libvirt = {{ source = "libvirt-lvm/libvirt" }}
  }}
}}
provider "libvirt" {{
  uri = {uri:?}{tools}
}}
resource "libvirt_lvm_pool" "p" {{
  name           = "thinvg"
  source_devices = {devices}
  on_destroy     = "delete"
}}
resource "libvirt_lvm_thin_pool" "tp" {{
  pool = libvirt_lvm_pool.p.name
  name = "tp"
  size = "256MiB"
}}
resource "libvirt_lvm_thin_volume" "golden" {{
  pool      = libvirt_lvm_pool.p.name
  thin_pool = libvirt_lvm_thin_pool.tp.name
  name      = "golden"
  capacity  = "1GiB"
}}
"#,
        tools = lab_lvm_tools(),
        devices = hcl_list(&devices),
    );
    let thin = |label: &str, extra: &str| {
        format!(
            "resource \"libvirt_lvm_thin_volume\" \"{label}\" {{\n  pool      = libvirt_lvm_pool.p.name\n  \
             thin_pool = libvirt_lvm_thin_pool.tp.name\n  name      = \"{label}\"\n  capacity  = \"1GiB\"\n  {extra}\n}}\n"
        )
    };
    let snap = |label: &str| {
        format!(
            "resource \"libvirt_lvm_snapshot\" \"{label}\" {{\n  pool   = libvirt_lvm_pool.p.name\n  \
             origin = libvirt_lvm_thin_volume.golden.name\n  name   = \"{label}\"\n}}\n"
        )
    };
    let mut config = head.clone();
    let wd = Workdir::new(&config);
    wd.apply(10);
    let mut rows: Vec<(&str, Vec<Duration>, Vec<Duration>)> = vec![
        ("thin volume, 1 GiB", Vec::new(), Vec::new()),
        ("thin snapshot of a 1 GiB thin volume", Vec::new(), Vec::new()),
        (
            "fast clone of a 1 GiB thin volume (origin)",
            Vec::new(),
            Vec::new(),
        ),
    ];
    for r in 0..runs {
        let steps = [
            thin(&format!("t{r}"), ""),
            snap(&format!("s{r}")),
            thin(&format!("c{r}"), "origin = libvirt_lvm_thin_volume.golden.name"),
        ];
        // The same lvcreate the provider runs: a thin volume, then two thin snapshots of golden
        // (a snapshot and a fast clone are one command to LVM).
        let lvcreate = |head: &[&str], tail: [String; 3]| -> Vec<String> {
            ["lvm", "lvcreate", "-q"]
                .iter()
                .chain(head)
                .map(|a| a.to_string())
                .chain(tail)
                .collect()
        };
        let snapshot = ["--snapshot", "--setactivationskip", "n", "--activate", "y"];
        let named = |name: String, of: &str| ["--name".to_string(), name, of.to_string()];
        let by_hand: [Vec<String>; 3] = [
            lvcreate(
                &["--type", "thin", "--virtualsize", "1g", "--thinpool", "tp"],
                named(format!("ht{r}"), "thinvg"),
            ),
            lvcreate(&snapshot, named(format!("hs{r}"), "thinvg/golden")),
            lvcreate(&snapshot, named(format!("hc{r}"), "thinvg/golden")),
        ];
        for (i, (step, hand)) in steps.iter().zip(by_hand.iter()).enumerate() {
            config.push_str(step);
            wd.write(&config);
            rows[i].1.push(wd.apply(10).wall);
            let argv: Vec<&str> = hand.iter().map(String::as_str).collect();
            rows[i].2.push(lab_ssh(&argv));
        }
    }
    // The LVs made by hand first (the thin pool's removal refuses while they exist), then the rest.
    for r in 0..runs {
        for prefix in ["hs", "hc", "ht"] {
            lab_ssh(&["lvm", "lvremove", "-q", "-f", &format!("thinvg/{prefix}{r}")]);
        }
    }
    wd.destroy(10);
    println!("\n### Bed B: thin provisioning, medians of {runs}\n");
    println!(
        "| operation | provider (terraform apply adding it, LVM's tools over ssh) | by hand (ssh lvcreate) | provider / by hand |"
    );
    println!("|---|---:|---:|---:|");
    for (what, ours, hand) in rows {
        let (o, f) = (median(ours), median(hand));
        println!(
            "| {what} | {} | {} | {:.2} |",
            ms(o),
            ms(f),
            o.as_secs_f64() / f.as_secs_f64()
        );
    }
}

/// Applies then destroys `n` volumes at each parallelism; prints wall times and errors, and checks
/// through libvirt that all `n` volumes existed.
fn concurrency(uri: &str, l: &Layout, capacity: &str, parallelisms: &[u32]) {
    let floor = Floor::open(uri);
    println!("| N | -parallelism | apply | destroy | volumes seen by libvirt | errors |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for &p in parallelisms {
        let wd = Workdir::new(&provider_config(uri, l, capacity));
        let (a, ok_a, out_a) = wd.try_run(&[
            "apply",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &format!("-parallelism={p}"),
        ]);
        let seen = floor.count_volumes(&l.pool);
        let (d, ok_d, out_d) = wd.try_run(&[
            "destroy",
            "-auto-approve",
            "-input=false",
            "-no-color",
            &format!("-parallelism={p}"),
        ]);
        let errors = out_a.matches("Error:").count() + out_d.matches("Error:").count();
        println!(
            "| {} | {p} | {} | {} | {seen} | {errors} |",
            l.volumes,
            ms(a.wall),
            ms(d.wall)
        );
        if !ok_a || !ok_d {
            eprintln!("apply:\n{out_a}\ndestroy:\n{out_d}");
        }
    }
}

pub fn concurrency_a(parallelisms: &[usize]) {
    let uri = env("BENCH_LIBVIRT_URI");
    let _hold = Floor::open(&uri);
    println!("\n### Concurrency, bed A (test driver)\n");
    let (l, _) = bed_a_layouts(200);
    let ps: Vec<u32> = parallelisms.iter().map(|&p| p as u32).collect();
    concurrency(&uri, &l, "1MiB", &ps);
}

pub fn concurrency_b() {
    let uri = env("LIBVIRT_URI");
    let devices: Vec<String> = env("LAB_PV_DEVICES")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    println!("\n### Concurrency, bed B (lab, real LVM)\n");
    let l = Layout {
        pool: "benchvg".into(),
        devices,
        volumes: 20,
        volume_bytes: 8 * MIB,
        delete_vg: true,
    };
    concurrency(&uri, &l, "8MiB", &[10]);
}
