//! Release artefacts: scripts/release packages the provider the way registries lay it out and signs
//! the checksums; Terraform installs the package from a filesystem mirror and from a network mirror
//! over HTTPS (`terraform init`, no dev_overrides: the mirror's hashes and then the lock file's
//! checked) and runs it.
//!
//! The artefacts are made once per test process (the debug binary is 140 MB to zip) and shared.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use tfrun::{run_command, Run};

const NAME: &str = "terraform-provider-libvirt";
const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn artefact(kind: &str) -> String {
    format!("{NAME}_{VERSION}_{kind}")
}

/// Runs a command, killing it after five minutes.
fn run(cmd: Command) -> Run {
    run_command(cmd, Duration::from_secs(300))
}

/// A GnuPG home made for the test, with one signing key (ed25519, no passphrase).
struct Keyring {
    home: PathBuf,
    fingerprint: String,
}

impl Keyring {
    fn new(home: PathBuf) -> Keyring {
        std::fs::create_dir_all(&home).expect("GNUPGHOME");
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .expect("GNUPGHOME is private");
        let mut keyring = Keyring {
            home,
            fingerprint: String::new(),
        };
        keyring
            .gpg(&[
                "--passphrase",
                "",
                "--quick-generate-key",
                "terraform-provider-libvirt release test <release-test@example.invalid>",
                "ed25519",
                "sign",
                "never",
            ])
            .expect_ok();
        let list = keyring.gpg(&["--list-secret-keys", "--with-colons"]).expect_ok();
        keyring.fingerprint = list
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .and_then(|l| l.split(':').find(|f| !f.is_empty()))
            .unwrap_or_else(|| panic!("no fingerprint in:\n{list}"))
            .to_string();
        keyring
    }

    fn gpg(&self, args: &[&str]) -> Run {
        let mut c = Command::new("gpg");
        c.arg("--batch").args(args).env("GNUPGHOME", &self.home);
        run(c)
    }

    /// Stops the agent gpg started for this home (it answers on the home's socket and exits on
    /// request); the home itself stays, under the test target directory.
    fn stop_agent(&self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", &self.home)
            .status();
    }
}

/// The artefacts of the debug binary as linux_amd64, signed with a key made for the test. They
/// live under Cargo's temporary directory for tests (`target/tmp/release`), made again by each run:
/// a value shared by the tests of a process is never dropped, so nothing here may need a drop.
struct Dist {
    dir: PathBuf,
    keyring: Keyring,
}

fn dist() -> &'static Dist {
    static DIST: OnceLock<Dist> = OnceLock::new();
    DIST.get_or_init(|| {
        let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("release");
        let _ = std::fs::remove_dir_all(&base);
        let keyring = Keyring::new(base.join("gnupg"));
        let dir = base.join("dist");
        let out = release(
            &[("linux_amd64", Path::new(common::binary()))],
            &dir,
            &[
                ("GNUPGHOME", keyring.home.as_os_str()),
                ("RELEASE_GPG_KEY", keyring.fingerprint.as_ref()),
            ],
        );
        keyring.stop_agent();
        let out = out.expect_ok();
        for kind in ["linux_amd64.zip", "manifest.json", "SHA256SUMS", "SHA256SUMS.sig"] {
            assert!(
                out.stdout.lines().any(|l| l.ends_with(&artefact(kind))),
                "{kind} not listed:\n{out}"
            );
        }
        Dist { dir, keyring }
    })
}

impl Dist {
    fn path(&self, kind: &str) -> PathBuf {
        self.dir.join(artefact(kind))
    }

    /// The sha256 SHA256SUMS records for `file`.
    fn sum(&self, file: &str) -> String {
        let sums = std::fs::read_to_string(self.path("SHA256SUMS")).expect("SHA256SUMS");
        sums.lines()
            .find_map(|l| l.strip_suffix(&format!("  {file}")))
            .unwrap_or_else(|| panic!("{file} not in SHA256SUMS:\n{sums}"))
            .to_string()
    }
}

/// `scripts/release --binary PLATFORM=PATH... --out DIR` with `env`.
fn release(binaries: &[(&str, &Path)], out: &Path, env: &[(&str, &std::ffi::OsStr)]) -> Run {
    let mut c = Command::new(root().join("scripts/release"));
    for (platform, path) in binaries {
        c.arg("--binary").arg(format!("{platform}={}", path.display()));
    }
    c.arg("--out").arg(out).env_remove("RELEASE_GPG_KEY");
    for (k, v) in env {
        c.env(k, v);
    }
    run(c)
}

/// A working directory for `terraform init` with a CLI configuration of its own.
struct Init {
    work: tempfile::TempDir,
    env: Vec<(String, PathBuf)>,
}

impl Init {
    fn new(cli_config: &str, env: &[(&str, &Path)]) -> Init {
        let work = tempfile::tempdir().expect("work");
        std::fs::write(work.path().join("cli.tfrc"), cli_config).expect("cli config");
        std::fs::create_dir(work.path().join("config")).expect("config dir");
        Init {
            work,
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_path_buf()))
                .collect(),
        }
    }

    fn config(&self) -> PathBuf {
        self.work.path().join("config")
    }

    fn write_main(&self, body: &str) {
        std::fs::write(
            self.config().join("main.tf"),
            format!(
                "terraform {{\n  required_providers {{\n    libvirt = {{\n      source  = \"libvirt-lvm/libvirt\"\n      \
                 version = \"{VERSION}\"\n    }}\n  }}\n}}\nprovider \"libvirt\" {{\n  uri = \"test:///default\"\n}}\n{body}"
            ),
        )
        .expect("main.tf");
    }

    fn tf(&self, args: &[&str]) -> Run {
        let mut c = Command::new(std::env::var("TF_BIN").unwrap_or_else(|_| "terraform".into()));
        c.args(args)
            .arg("-no-color")
            .current_dir(self.config())
            .env("TF_CLI_CONFIG_FILE", self.work.path().join("cli.tfrc"))
            .env("TF_IN_AUTOMATION", "1")
            .env("CHECKPOINT_DISABLE", "1")
            .env_remove("TF_DATA_DIR")
            .env_remove("TF_PLUGIN_CACHE_DIR");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        run(c)
    }

    fn lock_file(&self) -> String {
        std::fs::read_to_string(self.config().join(".terraform.lock.hcl")).expect("lock file")
    }
}

#[test]
fn artefacts_are_laid_out_as_registries_want_them() {
    let d = dist();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.path("manifest.json")).expect("manifest"))
            .expect("manifest is JSON");
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let mut check = Command::new("sha256sum");
    check
        .args(["-c", "--strict"])
        .arg(d.path("SHA256SUMS"))
        .current_dir(&d.dir);
    let r = run(check).expect_ok();
    for f in [artefact("linux_amd64.zip"), artefact("manifest.json")] {
        assert!(r.stdout.contains(&format!("{f}: OK")), "{r}");
    }
    // The zip holds exactly the binary, named as Terraform looks for it, executable.
    let mut list = Command::new("python3");
    list.args(["-m", "zipfile", "-l"]).arg(d.path("linux_amd64.zip"));
    let r = run(list).expect_ok();
    let entries: Vec<&str> = r.stdout.lines().skip(1).collect();
    assert_eq!(entries.len(), 1, "{r}");
    assert!(entries[0].starts_with(&format!("{NAME}_v{VERSION} ")), "{r}");
    let out = tempfile::tempdir().expect("unpacked");
    let binary = unpack(&d.path("linux_amd64.zip"), out.path());
    let what = file(&binary);
    assert!(
        what.contains("ELF 64-bit LSB pie executable, x86-64") && what.contains("dynamically linked"),
        "{what}"
    );
}

/// Unpacks a release zip into `dir` as Terraform does, with the file mode the zip records (which
/// must make the binary executable); returns the binary's path.
fn unpack(zip: &Path, dir: &Path) -> PathBuf {
    const UNPACK: &str = "import os, sys, zipfile\n\
        with zipfile.ZipFile(sys.argv[1]) as z:\n\
        \x20   for i in z.infolist():\n\
        \x20       path = z.extract(i, sys.argv[2])\n\
        \x20       os.chmod(path, i.external_attr >> 16 & 0o777)\n\
        \x20       print(oct(i.external_attr >> 16))\n";
    let mut c = Command::new("python3");
    c.args(["-c", UNPACK]).arg(zip).arg(dir);
    let r = run(c).expect_ok();
    assert_eq!(r.stdout.trim(), "0o100755", "the zip's file mode");
    dir.join(format!("{NAME}_v{VERSION}"))
}

/// What `file` says of a file.
fn file(path: &Path) -> String {
    let mut c = Command::new("file");
    c.arg("-b").arg(path);
    run(c).expect_ok().stdout
}

/// The linux_arm64 archive of an aarch64 build (`RELEASE_TEST_ARM64_BINARY`: a cross build takes
/// minutes, so this test is given one rather than making one): its binary is an aarch64 ELF that
/// links no libvirt and, under qemu-aarch64 user emulation (Debian's qemu-user) with the arm64 C
/// library (libc6-arm64-cross), starts and prints the plugin handshake.
#[test]
fn the_linux_arm64_archive_holds_a_binary_that_runs_on_arm64() {
    let Some(arm64) = std::env::var_os("RELEASE_TEST_ARM64_BINARY").filter(|v| !v.is_empty()) else {
        eprintln!(
            "\n!!!!!!!! the_linux_arm64_archive_holds_a_binary_that_runs_on_arm64 SKIPPED: set \
             RELEASE_TEST_ARM64_BINARY to an aarch64 build (scripts/release builds one) !!!!!!!!\n"
        );
        return;
    };
    let out = tempfile::tempdir().expect("out");
    let r = release(&[("linux_arm64", Path::new(&arm64))], out.path(), &[]).expect_ok();
    let zip = out.path().join(artefact("linux_arm64.zip"));
    assert!(r.stdout.contains(&zip.to_string_lossy().to_string()), "{r}");
    let unpacked = tempfile::tempdir().expect("unpacked");
    let binary = unpack(&zip, unpacked.path());
    let what = file(&binary);
    assert!(
        what.contains("ELF 64-bit LSB pie executable, ARM aarch64"),
        "{what}"
    );
    let mut readelf = Command::new("readelf");
    readelf.arg("-d").arg(&binary);
    let dynamic = run(readelf).expect_ok().stdout;
    assert!(!dynamic.contains("libvirt"), "links libvirt:\n{dynamic}");
    if Command::new("qemu-aarch64").arg("-version").output().is_err() {
        eprintln!("qemu-aarch64 is not installed: the arm64 binary is checked by its ELF header only");
        return;
    }
    // The script's own start check ran it; run the unpacked copy too, as Terraform starts a
    // provider (with its client certificate), through a wrapper that runs it under emulation.
    let wrapper = unpacked.path().join("under-qemu");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nexec qemu-aarch64 -L /usr/aarch64-linux-gnu '{}' \"$@\"\n",
            binary.display()
        ),
    )
    .expect("wrapper");
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).expect("chmod");
    let identity = common::client_identity();
    let plugin = common::start_binary(&wrapper, &identity, &[], Stdio::inherit());
    assert!(plugin.handshake.starts_with("1|6|unix|"), "{}", plugin.handshake);
    assert!(
        !plugin.server_cert.is_empty(),
        "no server certificate: {}",
        plugin.handshake
    );
}

#[test]
fn checksums_are_signed_with_the_key_from_the_environment() {
    let d = dist();
    let sums = d.path("SHA256SUMS");
    let sig = d.path("SHA256SUMS.sig");
    let verify = |file: &Path| {
        d.keyring.gpg(&[
            "--status-fd",
            "1",
            "--verify",
            &sig.to_string_lossy(),
            &file.to_string_lossy(),
        ])
    };
    let r = verify(&sums).expect_ok();
    assert!(
        r.stdout
            .contains(&format!("[GNUPG:] VALIDSIG {}", d.keyring.fingerprint)),
        "{r}"
    );
    // A detached, binary signature (what registries take), of exactly this file.
    let head = std::fs::read(&sig).expect("signature");
    assert!(!head.starts_with(b"-----BEGIN"), "an ASCII-armoured signature");
    let tampered = d.dir.join("tampered-SHA256SUMS");
    let mut text = std::fs::read_to_string(&sums).expect("SHA256SUMS");
    text = text.replacen(&d.sum(&artefact("linux_amd64.zip")), &"0".repeat(64), 1);
    std::fs::write(&tampered, text).expect("tampered copy");
    let r = verify(&tampered);
    d.keyring.stop_agent();
    assert!(
        !r.ok() && r.stdout.contains("[GNUPG:] BADSIG"),
        "a changed SHA256SUMS verified:\n{r}"
    );
}

#[test]
fn a_binary_of_another_machine_is_refused() {
    let out = tempfile::tempdir().expect("out");
    let r = release(&[("linux_arm64", Path::new(common::binary()))], out.path(), &[]);
    assert!(!r.ok(), "an x86-64 binary was packaged as linux_arm64:\n{r}");
    r.expect_mentions(&[
        "linux_arm64:",
        "is built for 'Advanced Micro Devices X86-64', not 'AArch64'",
    ]);
    assert!(
        std::fs::read_dir(out.path()).expect("out").next().is_none(),
        "something was written"
    );
}

#[test]
fn installs_from_a_filesystem_mirror_and_applies() {
    let d = dist();
    let zip = artefact("linux_amd64.zip");
    // A filesystem mirror in the packed layout: HOST/NAMESPACE/TYPE/<zip>.
    let mirror = tempfile::tempdir().expect("mirror");
    let dir = mirror.path().join("registry.terraform.io/libvirt-lvm/libvirt");
    std::fs::create_dir_all(&dir).expect("mirror dir");
    std::fs::copy(d.path("linux_amd64.zip"), dir.join(&zip)).expect("copy zip");
    let init = Init::new(
        &format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/libvirt-lvm/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/libvirt-lvm/*\"]\n  }}\n}}\n",
            mirror.path().display()
        ),
        &[],
    );
    init.write_main(
        "resource \"libvirt_lvm_pool\" \"p\" {\n  name           = \"mirrored\"\n  source_devices = [\"/dev/sdx\"]\n}\n\
         output \"size\" {\n  value = provider::libvirt::format_size(libvirt_lvm_pool.p.capacity)\n}\n",
    );
    let r = init.tf(&["init", "-input=false"]).expect_ok();
    r.expect_mentions(&[&format!("Installing libvirt-lvm/libvirt v{VERSION}")]);
    assert!(init.lock_file().contains("h1:"), "{}", init.lock_file());
    let r = init.tf(&["apply", "-auto-approve", "-input=false"]).expect_ok();
    r.expect_mentions(&["Apply complete! Resources: 1 added", "size = \"100GiB\""]);
}

/// A loopback HTTPS server (Python's http.server over TLS) serving a directory; stopped by its PID
/// when dropped.
struct HttpsServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

const HTTPS_SERVER: &str = r#"
import functools, http.server, ssl, sys
root, cert, key = sys.argv[1:4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=root)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

impl HttpsServer {
    fn start(root: &Path, cert: &Path, key: &Path, log: PathBuf) -> HttpsServer {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(HTTPS_SERVER)
            .args([root, cert, key])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("server log"))
            .spawn()
            .expect("python3 starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the server's port");
        let port = line.trim().parse().unwrap_or_else(|_| {
            let _ = child.kill();
            panic!(
                "the HTTPS server printed {line:?}: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        HttpsServer { child, port, log }
    }

    /// The request lines it logged.
    fn requests(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA and a certificate for 127.0.0.1 it signed: (CA PEM, server certificate PEM, its key PEM).
fn test_pki() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.distinguished_name
        .push(DnType::CommonName, "terraform-provider-libvirt test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
    let key = KeyPair::generate().expect("server key");
    let server = CertificateParams::new(vec!["127.0.0.1".to_string()]).expect("server params");
    let cert = server
        .signed_by(&key, &Issuer::new(ca, &ca_key))
        .expect("server certificate");
    (ca_cert.pem(), cert.pem(), key.serialize_pem())
}

/// Terraform's `h1:` hash of a package holding the one file `binary` (named as the release names
/// it): the base64 SHA-256 of the line `<sha256 of the file>  <name>`, newline included.
fn h1(binary: &Path) -> String {
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let file = Sha256::digest(std::fs::read(binary).expect("the binary"));
    let hex: String = file.iter().map(|b| format!("{b:02x}")).collect();
    let line = format!("{hex}  {NAME}_v{VERSION}\n");
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(line))
    )
}

/// The network mirror protocol's documents for one version of the provider: `index.json` and
/// `<version>.json`, whose archive carries the zip's hash as SHA256SUMS records it (`zh:`).
fn write_network_mirror(dir: &Path, zip: &Path, zh: &str) {
    let name = zip.file_name().expect("zip name").to_string_lossy().to_string();
    std::fs::create_dir_all(dir).expect("mirror dir");
    std::fs::copy(zip, dir.join(&name)).expect("copy zip");
    std::fs::write(
        dir.join("index.json"),
        format!("{{\"versions\":{{\"{VERSION}\":{{}}}}}}\n"),
    )
    .expect("index.json");
    std::fs::write(
        dir.join(format!("{VERSION}.json")),
        format!("{{\"archives\":{{\"linux_amd64\":{{\"url\":\"{name}\",\"hashes\":[\"zh:{zh}\"]}}}}}}\n"),
    )
    .expect("version document");
}

#[test]
fn installs_through_an_https_network_mirror_checking_the_lock_file() {
    let d = dist();
    let zip = artefact("linux_amd64.zip");
    let zh = d.sum(&zip);
    let site = tempfile::tempdir().expect("site");
    let pki = tempfile::tempdir().expect("pki");
    let (ca, cert, key) = test_pki();
    for (f, pem) in [("ca.pem", &ca), ("cert.pem", &cert), ("key.pem", &key)] {
        std::fs::write(pki.path().join(f), pem).expect("write PEM");
    }
    let provider_dir = site.path().join("registry.terraform.io/libvirt-lvm/libvirt");
    write_network_mirror(&provider_dir, &d.path("linux_amd64.zip"), &zh);
    let server = HttpsServer::start(
        site.path(),
        &pki.path().join("cert.pem"),
        &pki.path().join("key.pem"),
        pki.path().join("server.log"),
    );

    // Terraform trusts the test CA through SSL_CERT_FILE (Go's TLS on Linux).
    let init = Init::new(
        &format!(
            "provider_installation {{\n  network_mirror {{\n    url     = \"https://127.0.0.1:{}/\"\n    include = [\"registry.terraform.io/libvirt-lvm/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/libvirt-lvm/*\"]\n  }}\n}}\n",
            server.port
        ),
        &[("SSL_CERT_FILE", &pki.path().join("ca.pem"))],
    );
    init.write_main(
        "resource \"libvirt_lvm_pool\" \"p\" {\n  name           = \"mirrored\"\n  source_devices = [\"/dev/sdx\"]\n}\n\
         output \"bytes\" {\n  value = provider::libvirt::parse_size(\"1.5GiB\")\n}\n",
    );
    // The mirror's hash of the zip (SHA256SUMS's) is checked: a wrong one refuses the package.
    write_network_mirror(&provider_dir, &d.path("linux_amd64.zip"), &"0".repeat(64));
    let r = init.tf(&["init", "-input=false"]);
    assert!(
        !r.ok(),
        "a package whose hash the mirror does not list was installed:\n{r}"
    );
    r.expect_mentions(&["checksum"]);
    write_network_mirror(&provider_dir, &d.path("linux_amd64.zip"), &zh);
    let r = init.tf(&["init", "-input=false"]).expect_ok();
    r.expect_mentions(&[&format!("Installing libvirt-lvm/libvirt v{VERSION}")]);
    assert!(
        server
            .requests()
            .contains(&format!("GET /registry.terraform.io/libvirt-lvm/libvirt/{zip}")),
        "the package did not come from the mirror:\n{}",
        server.requests()
    );
    // The lock file records the package's content hash: that of the binary the release packaged.
    let lock = init.lock_file();
    assert!(
        lock.contains(&format!("\"{}\"", h1(Path::new(common::binary())))),
        "{lock}"
    );
    // The installed provider runs: a plan (on libvirt's test driver) and one of its functions.
    let r = init.tf(&["plan", "-input=false"]).expect_ok();
    r.expect_mentions(&["Plan: 1 to add", "bytes = 1610612736"]);

    // Installed again, the package is checked against the lock file: another package (a mirror
    // serving a different one under the same version, with its own hash) is refused, and nothing is
    // installed.
    std::fs::remove_dir_all(init.config().join(".terraform")).expect("remove .terraform");
    let other = pki.path().join(&zip);
    let fake = pki.path().join(format!("{NAME}_v{VERSION}"));
    std::fs::write(&fake, "#!/bin/sh\necho not the provider\n").expect("fake binary");
    let mut mk = Command::new("python3");
    mk.args(["-m", "zipfile", "-c"]).arg(&other).arg(&fake);
    run(mk).expect_ok();
    let mut sum = Command::new("sha256sum");
    sum.arg(&other);
    let other_zh = run(sum).expect_ok().stdout[..64].to_string();
    write_network_mirror(&provider_dir, &other, &other_zh);
    let r = init.tf(&["init", "-input=false"]);
    assert!(
        !r.ok(),
        "a package that differs from the lock file was installed:\n{r}"
    );
    r.expect_mentions(&["checksums previously recorded in the dependency lock file"]);
    assert!(
        !init
            .config()
            .join(".terraform/providers/registry.terraform.io/libvirt-lvm")
            .exists(),
        "something was installed"
    );
    drop(server);
}
