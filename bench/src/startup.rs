//! Startup: exec to the handshake line with AutoMTLS, and the idle memory after it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::tf::{provider_bin, status_kib};
use crate::{median, ms};

const COOKIE: &str = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2";

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

pub fn startup(runs: usize) {
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
        rss.push(status_kib(child.id(), "VmRSS:"));
        let _ = child.kill();
        let _ = child.wait();
        // A killed provider cannot remove its private socket directory: the bench does.
        let dir = line
            .split('|')
            .nth(3)
            .and_then(|s| std::path::Path::new(s).parent());
        if let Some(dir) = dir.filter(|d| {
            d.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("tf-libvirt-"))
        }) {
            let _ = std::fs::remove_dir_all(dir);
        }
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
