//! The provider block on the lab: the default URI chain (`LIBVIRT_DEFAULT_URI`, then
//! `qemu:///system`), `terraform validate` never connecting, `qemu+ssh://` and `qemu+tls://` URIs.

use std::net::TcpListener;

use acceptance_tests::images::make_logical_pool;
use acceptance_tests::{hcl_string, provider_block, Scenario};

/// A lookup of a pool that does not exist: only a hypervisor that was reached answers "Storage
/// Pool Not Found", so the error tells which URI the provider used.
fn lookup(pool: &str) -> String {
    format!(
        "\ndata \"libvirt_lvm_pool\" \"d\" {{\n  name = {}\n}}\n",
        hcl_string(pool)
    )
}

/// A lookup of pool `pool` whose UUID is printed as the output `id` by `terraform plan`: which
/// hypervisor answered shows in the UUID.
fn lookup_id(pool: &str) -> String {
    format!(
        "{}\noutput \"id\" {{\n  value = data.libvirt_lvm_pool.d.id\n}}\n",
        lookup(pool)
    )
}

#[test]
fn provider_default_uri_chain_and_validate_never_connects() {
    let Some(s) = Scenario::start("provider::default_uri_chain_and_validate_never_connects") else {
        return;
    };
    let lab = s.lab();
    let missing = s.name("missing");
    let plan = ["plan", "-input=false"];
    // A pool made on the lab with virsh: a lookup that returns its UUID was answered by the lab.
    let pool = s.name("pool");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    let uuid = lab.virsh_ok(&["pool-uuid", &pool]).trim().to_string();

    // No uri: LIBVIRT_DEFAULT_URI is used. The lab answers the lookup.
    let wd = s.workdir_raw(&format!("{}{}", provider_block(""), lookup_id(&pool)));
    let r = wd.tf_env(&plan, &[("LIBVIRT_DEFAULT_URI", &lab.uri)]).expect_ok();
    r.expect_mentions(&[&format!("id = \"{uuid}\"")]);
    s.step("no uri, LIBVIRT_DEFAULT_URI = the lab: the lab's pool UUID read");

    // Neither uri nor LIBVIRT_DEFAULT_URI (unset, then empty): qemu:///system, where nothing
    // listens on this host, and the error names it.
    let host_socket = std::path::Path::new("/var/run/libvirt/libvirt-sock").exists();
    for env in [&[][..], &[("LIBVIRT_DEFAULT_URI", "")][..]] {
        let r = wd.tf_env(&plan, env).expect_failure();
        r.expect_mentions(&["qemu:///system"]);
        if !host_socket {
            assert!(
                !r.text().contains("Storage Pool Not Found"),
                "with no libvirtd on this host, nothing could have answered the lookup:\n{r}"
            );
        }
    }
    s.step("no uri, no LIBVIRT_DEFAULT_URI (unset, empty): qemu:///system named in the error");

    // uri wins over LIBVIRT_DEFAULT_URI.
    let silent = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    silent.set_nonblocking(true).expect("non-blocking listener");
    let silent_uri = format!(
        "qemu+tcp://127.0.0.1:{}/system",
        silent.local_addr().expect("port").port()
    );
    let wd = s.workdir(&lookup_id(&pool));
    let r = wd
        .tf_env(&plan, &[("LIBVIRT_DEFAULT_URI", &silent_uri)])
        .expect_ok();
    r.expect_mentions(&[&format!("id = \"{uuid}\"")]);
    assert!(
        silent.accept().is_err(),
        "the provider connected to LIBVIRT_DEFAULT_URI although uri is set"
    );
    s.step("uri set: LIBVIRT_DEFAULT_URI ignored");

    // validate never connects: a listener that records connections, as the provider's uri and as
    // LIBVIRT_DEFAULT_URI; validate passes and nothing connected. The plan that follows connects
    // (the listener never answers, so connect_timeout ends it): the check can see a connection.
    let wd = s.workdir_raw(&format!(
        "{}{}\nresource \"libvirt_lvm_volume\" \"v\" {{\n  pool     = \"p\"\n  name     = \"v\"\n  capacity = \"1GiB\"\n}}\n",
        provider_block(&format!(
            "uri = {}\n  connect_timeout = \"2s\"",
            hcl_string(&silent_uri)
        )),
        lookup(&missing)
    ));
    let r = wd.tf_env(&["validate"], &[("LIBVIRT_DEFAULT_URI", &silent_uri)]);
    r.expect_ok().expect_mentions(&["The configuration is valid"]);
    assert!(
        silent.accept().is_err(),
        "terraform validate connected to the hypervisor"
    );
    s.step("validate: valid, no connection");
    let r = wd.tf(&plan).expect_failure();
    assert!(
        silent.accept().is_ok(),
        "the plan did not connect either, so the validate check proves nothing:\n{r}"
    );
    s.step("plan: connected (and timed out), as the control");
}

/// A provider block with only `uri` and one 12 MiB volume `v` in `pool`: nothing else names a
/// hypervisor.
fn one_volume_over(uri: &str, pool: &str) -> String {
    format!(
        "{}\nresource \"libvirt_lvm_volume\" \"v\" {{\n  pool     = {}\n  name     = \"v\"\n  capacity = \"12MiB\"\n}}\n",
        provider_block(&format!("uri = {}", hcl_string(uri))),
        hcl_string(pool)
    )
}

/// `qemu+ssh://`, the transport the README and the index name first for remote hypervisors:
/// libvirt's client runs the `ssh` command to the lab's sshd (the key `scripts/lab` made), which
/// runs libvirt's helper on the guest. Nothing else in the configuration names the lab, so a
/// volume made, read and destroyed is proof the ssh URI carried every call.
#[test]
fn provider_qemu_ssh_uri_creates_reads_and_destroys() {
    let Some(s) = Scenario::start("provider::qemu_ssh_uri") else {
        return;
    };
    let lab = s.lab();
    let env = |k: &str| lab.env_var(k);
    let uri = format!(
        "qemu+ssh://root@127.0.0.1:{}/system?keyfile={}&no_verify=1&no_tty=1",
        env("LAB_SSH_PORT"),
        env("LAB_SSH_KEY")
    );
    let pool = s.name("ssh");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    let wd = s.workdir_raw(&one_volume_over(&uri, &pool));
    let r = wd
        .tf_env(
            &["apply", "-auto-approve", "-input=false"],
            &[("LIBVIRT_DEFAULT_URI", "")],
        )
        .expect_ok();
    let lvs = lab.lvs_in(&pool);
    assert!(
        lvs.iter().any(|l| l.name == "v" && l.size == 12 << 20),
        "no 12 MiB LV v in {pool} after the apply over qemu+ssh: {lvs:?}\n{r}"
    );
    s.step("apply over qemu+ssh: the LV exists in the guest");
    wd.tf_env(
        &["plan", "-detailed-exitcode", "-input=false"],
        &[("LIBVIRT_DEFAULT_URI", "")],
    )
    .expect_ok();
    s.step("plan over qemu+ssh: no changes");
    wd.tf_env(
        &["destroy", "-auto-approve", "-input=false"],
        &[("LIBVIRT_DEFAULT_URI", "")],
    )
    .expect_ok();
    assert!(
        lab.lvs_in(&pool).is_empty(),
        "the LV outlived the destroy over qemu+ssh"
    );
    s.step("destroy over qemu+ssh: the LV is gone");
}

/// A `pkipath` of our own (openssl): a throw-away CA and a client certificate it signed, so that
/// libvirt's check of its own certificate passes and only the server's certificate is left to fail.
fn write_foreign_pki(dir: &std::path::Path) {
    let openssl = |args: &[&str]| {
        let out = std::process::Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=not the lab's CA",
        "-keyout",
        "foreign-cakey.pem",
        "-out",
        "cacert.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=client",
        "-keyout",
        "clientkey.pem",
        "-out",
        "client.csr",
    ]);
    std::fs::write(
        dir.join("client.ext"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n",
    )
    .expect("write client.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "client.csr",
        "-CA",
        "cacert.pem",
        "-CAkey",
        "foreign-cakey.pem",
        "-set_serial",
        "7",
        "-days",
        "1",
        "-extfile",
        "client.ext",
        "-out",
        "clientcert.pem",
    ]);
}

/// `qemu+tls://` with `pkipath` (README, index: "the directory given by `pkipath`, which holds
/// `cacert.pem`, `clientcert.pem` and `clientkey.pem`. The host name in the URI must match the
/// server's certificate."). The lab's libvirtd listens for TLS with a certificate for 127.0.0.1
/// only, signed by the lab's test-only CA, and checks client certificates against it. The checks
/// that fail come first, each against a lookup only a reached hypervisor could answer: `localhost`
/// (the same port, another name) and a `pkipath` whose CA did not sign the server's certificate are
/// both refused. Then a volume is created, planned and destroyed over TLS alone, and libvirtd's
/// client list at the `lvcreate` shows a TLS client carrying the lab's client certificate.
#[test]
fn provider_qemu_tls_uri_verifies_the_server_and_carries_every_call() {
    let Some(s) = Scenario::start("provider::qemu_tls_uri") else {
        return;
    };
    let lab = s.lab();
    let env = |k: &str| lab.env_var(k);
    let (uri, port, pki) = (env("LIBVIRT_TLS_URI"), env("LAB_TLS_PORT"), env("LAB_PKI_DIR"));
    assert!(
        uri.starts_with("qemu+tls://127.0.0.1:") && uri.contains("pkipath="),
        "unexpected TLS URI from scripts/lab: {uri}"
    );
    let no_env = [("LIBVIRT_DEFAULT_URI", "")];
    let missing = s.name("missing");
    let refused = |what: &str, uri: &str, needle: &str| {
        let wd = s.workdir_raw(&format!(
            "{}{}",
            provider_block(&format!("uri = {}", hcl_string(uri))),
            lookup(&missing)
        ));
        let r = wd.tf_env(&["plan", "-input=false"], &no_env).expect_failure();
        let text = r.text().to_lowercase();
        assert!(
            !text.contains("storage pool not found"),
            "{what}: the hypervisor answered, so the connection was not refused:\n{r}"
        );
        assert!(
            text.contains(needle),
            "{what}: the error should name the certificate check ({needle}):\n{r}"
        );
        s.step(&format!("{what}: refused"));
    };

    // The server's certificate names 127.0.0.1; `localhost` reaches the same port with the same
    // files, which work with 127.0.0.1 below: only the name differs.
    refused(
        "host name not in the server's certificate",
        &format!("qemu+tls://localhost:{port}/system?pkipath={pki}"),
        "failed to verify peer's certificate",
    );
    // A CA that did not sign the server's certificate (and a client certificate of its own).
    let foreign = tempfile::tempdir().expect("temporary directory");
    write_foreign_pki(foreign.path());
    refused(
        "server certificate not signed by the pkipath's CA",
        &format!(
            "qemu+tls://127.0.0.1:{port}/system?pkipath={}",
            foreign.path().display()
        ),
        "failed to verify peer's certificate",
    );

    // The lab's own files: every call over TLS.
    let pool = s.name("tls");
    make_logical_pool(lab, &pool, &lab.pv_devices[..1]);
    let wd = s.workdir_raw(&one_volume_over(&uri, &pool));
    let recorder = lab.record_clients_at_lvcreate();
    let r = wd
        .tf_env(&["apply", "-auto-approve", "-input=false"], &no_env)
        .expect_ok();
    let records = recorder.records();
    recorder.undo();
    let lvs = lab.lvs_in(&pool);
    assert!(
        lvs.iter().any(|l| l.name == "v" && l.size == 12 << 20),
        "no 12 MiB LV v in {pool} after the apply over qemu+tls: {lvs:?}\n{r}"
    );
    let mine: Vec<_> = records
        .iter()
        .filter(|(args, _)| args.split_whitespace().any(|w| w == pool))
        .collect();
    assert_eq!(
        mine.len(),
        1,
        "expected one lvcreate in {pool}, recorded: {records:#?}"
    );
    let tls: Vec<_> = mine[0].1 .0.iter().filter(|c| c.transport == "tls").collect();
    eprintln!("[provider] TLS clients while the volume was created: {tls:#?}");
    assert!(
        tls.iter().any(|c| c
            .info
            .get("tls_x509_dname")
            .is_some_and(|dn| dn.contains("CN=client") && dn.contains("TEST-ONLY"))),
        "no TLS client with the lab's client certificate was connected while the volume was created: {:#?}",
        mine[0].1
    );
    s.step("apply over qemu+tls: the LV exists, created while our TLS client was connected");
    wd.tf_env(&["plan", "-detailed-exitcode", "-input=false"], &no_env)
        .expect_ok();
    s.step("plan over qemu+tls: no changes");
    wd.tf_env(&["destroy", "-auto-approve", "-input=false"], &no_env)
        .expect_ok();
    assert!(
        lab.lvs_in(&pool).is_empty(),
        "the LV outlived the destroy over qemu+tls"
    );
    s.step("destroy over qemu+tls: the LV is gone");
}

/// libvirt's keepalive program (`"keep"`) and its PING procedure, in the RPC header.
const KEEPALIVE_PROGRAM: u32 = 0x6b65_6570;
const KEEPALIVE_PING: u32 = 1;

/// Counts the client's keepalive PINGs in its byte stream to libvirtd: each RPC message starts
/// with its length (4 bytes, big-endian, the length itself included), then program, version and
/// procedure.
#[derive(Default)]
struct PingCounter {
    buf: Vec<u8>,
    pings: usize,
}

impl PingCounter {
    fn feed(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        let word = |b: &[u8], at: usize| u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
        while self.buf.len() >= 16 {
            let len = word(&self.buf, 0) as usize;
            if len < 16 {
                // Not libvirt's framing: stop counting rather than count garbage.
                self.buf.clear();
                return;
            }
            if self.buf.len() < len {
                return;
            }
            if word(&self.buf, 4) == KEEPALIVE_PROGRAM && word(&self.buf, 12) == KEEPALIVE_PING {
                self.pings += 1;
            }
            self.buf.drain(..len);
        }
    }
}

/// A loopback proxy to `upstream` that forwards the client's bytes at once and holds each chunk
/// of the daemon's replies back for `delay`: the client waits that long in silence for every
/// reply, which a keepalive interval shorter than `delay` fills with PINGs. Returns the port and
/// the client's PING count so far.
fn delaying_proxy(
    upstream: String,
    delay: std::time::Duration,
) -> (u16, std::sync::Arc<std::sync::Mutex<PingCounter>>) {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().expect("proxy port").port();
    let counter = Arc::new(Mutex::new(PingCounter::default()));
    let c = counter.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_in, mut c_out) = (client.try_clone().expect("clone"), client);
            let (mut s_in, mut s_out) = (server.try_clone().expect("clone"), server);
            let count = c.clone();
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = c_in.read(&mut buf) {
                    if n == 0 || s_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    count.lock().unwrap_or_else(|p| p.into_inner()).feed(&buf[..n]);
                }
                let _ = s_out.shutdown(std::net::Shutdown::Write);
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = s_in.read(&mut buf) {
                    std::thread::sleep(delay);
                    if n == 0 || c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                let _ = c_out.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    (port, counter)
}

#[test]
fn provider_keepalive_interval_zero_sends_no_pings() {
    let Some(s) = Scenario::start("provider::keepalive_interval_zero_sends_no_pings") else {
        return;
    };
    let lab = s.lab();
    let missing = s.name("missing");
    // qemu+tcp://HOST:PORT/system: the proxy forwards to HOST:PORT.
    let upstream = lab
        .uri
        .strip_prefix("qemu+tcp://")
        .and_then(|rest| rest.split_once('/'))
        .map(|(hostport, _)| hostport.to_string())
        .unwrap_or_else(|| panic!("the lab's URI is not qemu+tcp://HOST:PORT/…: {}", lab.uri));
    let (port, pings) = delaying_proxy(upstream, std::time::Duration::from_millis(2500));
    let run = |interval: u32| {
        pings.lock().unwrap_or_else(|p| p.into_inner()).pings = 0;
        let wd = s.workdir_raw(&format!(
            "{}{}",
            provider_block(&format!(
                "uri = \"qemu+tcp://127.0.0.1:{port}/system\"\n  keepalive_interval = {interval}\n  \
                 keepalive_count = 10\n  connect_timeout = \"120s\""
            )),
            lookup(&missing)
        ));
        // Every reply comes 2.5 s late, but it comes: the lookup is answered.
        wd.tf(&["plan", "-input=false"])
            .expect_failure()
            .expect_mentions(&["Storage Pool Not Found", &missing]);
        let n = pings.lock().unwrap_or_else(|p| p.into_inner()).pings;
        s.step(&format!(
            "keepalive_interval = {interval}: {n} PINGs from the provider"
        ));
        n
    };
    // The control: with keepalive every second, the 2.5 s silences are filled with PINGs.
    let with = run(1);
    assert!(
        with > 0,
        "keepalive_interval = 1 sent no PING through 2.5 s silences: the proxy cannot see them"
    );
    let without = run(0);
    assert_eq!(without, 0, "keepalive_interval = 0 still sent keepalive PINGs");
}

/// What one connection through [`freezing_proxy`] did.
#[derive(Clone, Debug, Default)]
struct Frozen {
    /// The client sent the trigger: from then on the daemon's bytes were dropped.
    frozen: bool,
    /// Keepalive PINGs the client sent after the freeze.
    pings_after: usize,
    /// The client closed the connection after the freeze (libvirt gives up on a dead peer).
    client_closed: bool,
}

/// A loopback proxy to `upstream` that forwards everything until the client's bytes contain
/// `trigger` (the pool name of a lookup), and from then on drops every byte of the daemon's
/// replies on that connection: the daemon seems to die mid-call, while the socket stays open. Only
/// the first connection that sends the trigger is frozen (a provider that reconnects is answered).
fn freezing_proxy(
    upstream: String,
    trigger: Vec<u8>,
) -> (u16, std::sync::Arc<std::sync::Mutex<Vec<Frozen>>>) {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
    let port = listener.local_addr().expect("proxy port").port();
    let stats: Arc<Mutex<Vec<Frozen>>> = Arc::default();
    let record = stats.clone();
    let froze_once = Arc::new(AtomicBool::new(false));
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let i = {
                let mut s = record.lock().unwrap_or_else(|p| p.into_inner());
                s.push(Frozen::default());
                s.len() - 1
            };
            let frozen = Arc::new(AtomicBool::new(false));
            let (mut c_in, mut c_out) = (client.try_clone().expect("clone"), client);
            let (mut s_in, mut s_out) = (server.try_clone().expect("clone"), server);
            let (stats, frozen_in, once, trigger) = (
                record.clone(),
                frozen.clone(),
                froze_once.clone(),
                trigger.clone(),
            );
            std::thread::spawn(move || {
                let mut counter = PingCounter::default();
                let mut pings_at_freeze = 0;
                let mut recent: Vec<u8> = Vec::new();
                let mut buf = [0u8; 65536];
                loop {
                    let n = c_in.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        let mut s = stats.lock().unwrap_or_else(|p| p.into_inner());
                        s[i].client_closed = frozen_in.load(Ordering::SeqCst);
                        break;
                    }
                    counter.feed(&buf[..n]);
                    if !frozen_in.load(Ordering::SeqCst) {
                        recent.extend_from_slice(&buf[..n]);
                        if recent.windows(trigger.len()).any(|w| w == trigger.as_slice())
                            && !once.swap(true, Ordering::SeqCst)
                        {
                            frozen_in.store(true, Ordering::SeqCst);
                            pings_at_freeze = counter.pings;
                            stats.lock().unwrap_or_else(|p| p.into_inner())[i].frozen = true;
                        }
                        let keep = recent.len().saturating_sub(trigger.len());
                        recent.drain(..keep);
                    } else {
                        stats.lock().unwrap_or_else(|p| p.into_inner())[i].pings_after =
                            counter.pings - pings_at_freeze;
                    }
                    // The daemon may be gone after the freeze: its replies are dropped anyway.
                    if s_out.write_all(&buf[..n]).is_err() && !frozen_in.load(Ordering::SeqCst) {
                        break;
                    }
                }
                // Closing towards the daemon is all that is left to do; a failure changes nothing.
                s_out.shutdown(std::net::Shutdown::Write).ok();
            });
            std::thread::spawn(move || {
                let mut buf = [0u8; 65536];
                while let Ok(n) = s_in.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    if !frozen.load(Ordering::SeqCst) && c_out.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
                if !frozen.load(Ordering::SeqCst) {
                    c_out.shutdown(std::net::Shutdown::Write).ok();
                }
            });
        }
    });
    (port, stats)
}

/// `keepalive_count` on the wire: with the daemon silent mid-call (its replies dropped by a proxy,
/// the socket open), libvirt's client sends exactly `keepalive_count` PINGs, one per
/// `keepalive_interval`, and then closes the connection. Two non-default counts (the default is
/// 3), each seen exactly.
#[test]
fn provider_keepalive_count_pings_then_closes() {
    let Some(s) = Scenario::start("provider::keepalive_count_pings_then_closes") else {
        return;
    };
    let lab = s.lab();
    let upstream = lab
        .uri
        .strip_prefix("qemu+tcp://")
        .and_then(|rest| rest.split_once('/'))
        .map(|(hostport, _)| hostport.to_string())
        .unwrap_or_else(|| panic!("the lab's URI is not qemu+tcp://HOST:PORT/…: {}", lab.uri));
    for count in [2usize, 5] {
        // A name of its own per run: the trigger that freezes the daemon's side.
        let missing = s.name(&format!("silent{count}"));
        let (port, stats) = freezing_proxy(upstream.clone(), missing.clone().into_bytes());
        let wd = s.workdir_raw(&format!(
            "{}{}",
            provider_block(&format!(
                "uri = \"qemu+tcp://127.0.0.1:{port}/system\"\n  keepalive_interval = 1\n  \
                 keepalive_count = {count}\n  connect_timeout = \"60s\""
            )),
            lookup(&missing)
        ));
        let r = wd.tf(&["plan", "-input=false"]).expect_failure();
        // The proxy's threads see the provider's sockets close when it exits; give them a moment.
        let settled = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let stats = loop {
            let now = stats.lock().unwrap_or_else(|p| p.into_inner()).clone();
            if now.iter().all(|c| !c.frozen || c.client_closed) || std::time::Instant::now() > settled {
                break now;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        };
        s.step(&format!("keepalive_count = {count}: connections {stats:?}"));
        let frozen: Vec<&Frozen> = stats.iter().filter(|c| c.frozen).collect();
        assert_eq!(
            frozen.len(),
            1,
            "the lookup never reached the proxy's trigger (connections: {stats:?}):\n{r}"
        );
        assert!(
            frozen[0].client_closed,
            "the provider never gave up on the silent daemon (connections: {stats:?}):\n{r}"
        );
        assert_eq!(
            frozen[0].pings_after, count,
            "keepalive_count = {count}: the client sent {} PINGs to the silent daemon before closing",
            frozen[0].pings_after
        );
    }
}
