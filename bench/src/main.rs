//! Benchmarks that print figures (medians, and ratios against a baseline
//! measured in the same run). Nothing here asserts a time.
//!
//!   cargo run --release -p bench -- startup [runs]   exec to handshake line, idle RSS
//!   cargo run --release -p bench -- plan [runs]      terraform plan: our provider vs terraform_data
//!
//! The provider binary is target/release/terraform-provider-libvirt (build it first).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

fn provider_bin() -> PathBuf {
    std::env::var_os("PROVIDER_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target/release/terraform-provider-libvirt"))
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

/// A client certificate like Terraform's: ECDSA P-521, SHA-512 (made with
/// the openssl command, so the benchmark links no crypto library of its own).
fn client_cert_pem() -> String {
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-sha512",
            "-nodes",
        ])
        .args([
            "-keyout",
            "/dev/null",
            "-subj",
            "/O=HashiCorp/CN=localhost",
            "-days",
            "1",
        ])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("PEM")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn startup(runs: usize) {
    let bin = provider_bin();
    let pem = client_cert_pem();
    let mut times = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let mut child = Command::new(&bin)
            .env("TF_PLUGIN_MAGIC_COOKIE", COOKIE)
            .env("PLUGIN_PROTOCOL_VERSIONS", "5,6")
            .env("PLUGIN_CLIENT_CERT", &pem)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("provider starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("line");
        times.push(t.elapsed());
        assert!(line.starts_with("1|6|unix|"), "handshake line: {line:?}");
        std::thread::sleep(Duration::from_millis(20));
        rss.push(rss_kib(child.id()));
        let _ = child.kill();
        let _ = child.wait();
    }
    rss.sort();
    println!(
        "| startup (exec to handshake line, AutoMTLS, {runs} runs) | median {} | min {} | max {} |",
        ms(median(times.clone())),
        ms(*times.iter().min().expect("runs")),
        ms(*times.iter().max().expect("runs"))
    );
    println!(
        "| idle RSS after handshake | median {:.1} MiB |",
        rss[rss.len() / 2] as f64 / 1024.0
    );
}

fn cli_config(dir: &Path) -> PathBuf {
    let path = dir.join("cli.tfrc");
    let bin_dir = provider_bin().parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::write(
        &path,
        format!("provider_installation {{\n  dev_overrides {{\n    \"libvirt-lvm/libvirt\" = \"{}\"\n  }}\n  direct {{}}\n}}\n", bin_dir.display()),
    )
    .expect("cli config");
    path
}

fn time_plan(dir: &Path, cli: &Path) -> Duration {
    let t = Instant::now();
    let out = Command::new("terraform")
        .args(["plan", "-input=false", "-no-color", "-refresh=true"])
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli)
        .env("TF_IN_AUTOMATION", "1")
        .output()
        .expect("terraform runs");
    let d = t.elapsed();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    d
}

fn plan(runs: usize) {
    let ours = tempfile::tempdir().expect("dir");
    let floor = tempfile::tempdir().expect("dir");
    let cli = cli_config(ours.path());
    std::fs::write(
        ours.path().join("main.tf"),
        r#"terraform {
  required_providers {
    libvirt = { source = "libvirt-lvm/libvirt" }
  }
}
provider "libvirt" {
  uri = "test:///default"
}
resource "libvirt_lvm_volume" "v" {
  pool     = "default-pool"
  name     = "bench"
  capacity = "1GiB"
}
"#,
    )
    .expect("main.tf");
    std::fs::write(
        floor.path().join("main.tf"),
        "resource \"terraform_data\" \"v\" {\n  input = \"1GiB\"\n}\n",
    )
    .expect("main.tf");
    // terraform_data needs init (builtin provider, no network).
    let init = Command::new("terraform")
        .args(["init", "-input=false", "-no-color"])
        .current_dir(floor.path())
        .env("TF_CLI_CONFIG_FILE", &cli)
        .output()
        .expect("init");
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    // Warm both, then interleave so machine noise hits both alike.
    time_plan(ours.path(), &cli);
    time_plan(floor.path(), &cli);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(time_plan(ours.path(), &cli));
        b.push(time_plan(floor.path(), &cli));
    }
    let (ma, mb) = (median(a), median(b));
    println!("| terraform plan, 1 resource ({runs} runs each, interleaved) | libvirt_lvm_volume {} | terraform_data {} | ratio {:.2} |",
        ms(ma), ms(mb), ma.as_secs_f64() / mb.as_secs_f64());
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runs = |default: usize| args.get(1).and_then(|s| s.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("startup") => startup(runs(50)),
        Some("plan") => plan(runs(10)),
        _ => {
            startup(50);
            plan(10);
        }
    }
}
