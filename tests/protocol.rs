//! The provider binary, driven over the plugin protocol exactly as Terraform
//! drives it, against libvirt's in-memory `test:///default` driver.

mod common;

use common::{dv, errors, obj, schema_type, undv};

use std::sync::Arc;

use std::os::unix::fs::PermissionsExt;

use terraform_provider_libvirt::framework::{Type, Value};
use terraform_provider_libvirt::proto::plugin::Empty;
use terraform_provider_libvirt::proto::tfplugin6 as pb;
use terraform_provider_libvirt::provider;

#[tokio::test]
async fn handshake_schema_and_lifecycle_on_the_test_driver() {
    let id = common::client_identity();
    let plugin = common::start(&id);

    // The socket lives in a private directory and is not TCP.
    let dir = std::path::Path::new(&plugin.socket)
        .parent()
        .expect("dir")
        .to_path_buf();
    let mode = std::fs::metadata(&dir).expect("dir").permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, "socket directory mode");

    let mut client = common::provider_client(&plugin, &id).await;
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("schema")
        .into_inner();
    for name in [
        "libvirt_lvm_pool",
        "libvirt_lvm_volume",
        "libvirt_disk_attachment",
    ] {
        assert!(schema.resource_schemas.contains_key(name), "{name} missing");
    }
    for name in ["libvirt_lvm_pool", "libvirt_lvm_volume"] {
        assert!(
            schema.data_source_schemas.contains_key(name),
            "data source {name} missing"
        );
    }
    assert!(schema.functions.contains_key("parse_size"));
    let pool_ty = schema_type(&schema, "libvirt_lvm_pool");

    // Configure against the in-memory test driver.
    let cfg_ty = provider::schema().ty();
    let cfg = obj(&cfg_ty, &[("uri", "test:///default".into())]);
    let r = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&cfg, &cfg_ty),
            client_capabilities: None,
        })
        .await
        .expect("configure")
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));

    // Validation names the attribute and what would be valid.
    let bad = obj(&pool_ty, &[("name", "p1".into()), ("on_destroy", "drop".into())]);
    let r = client
        .validate_resource_config(pb::validate_resource_config::Request {
            type_name: "libvirt_lvm_pool".into(),
            config: dv(&bad, &pool_ty),
            client_capabilities: None,
        })
        .await
        .expect("validate")
        .into_inner();
    let d = r.diagnostics.first().expect("a diagnostic");
    assert!(d.detail.contains("keep, delete"), "{}", d.detail);
    let step = &d.attribute.as_ref().expect("path").steps[0];
    assert_eq!(
        step.selector,
        Some(pb::attribute_path::step::Selector::AttributeName(
            "on_destroy".into()
        ))
    );

    // Plan a create: defaults filled, computed values unknown.
    let config = obj(
        &pool_ty,
        &[
            ("name", "p1".into()),
            ("source_devices", Value::Set(vec!["/dev/sdx".into()])),
        ],
    );
    let r = client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "libvirt_lvm_pool".into(),
            prior_state: dv(&Value::Null, &pool_ty),
            proposed_new_state: dv(&config, &pool_ty),
            config: dv(&config, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
    let planned = undv(r.planned_state.as_ref(), &pool_ty);
    assert_eq!(planned.attr("volume_group"), Some(&"p1".into()));
    assert_eq!(planned.attr("autostart"), Some(&Value::Bool(true)));
    assert_eq!(planned.attr("on_destroy"), Some(&"keep".into()));
    assert_eq!(planned.attr("build"), Some(&Value::Bool(true)));
    assert_eq!(planned.attr("id"), Some(&Value::Unknown));

    // Apply it.
    let r = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "libvirt_lvm_pool".into(),
            prior_state: dv(&Value::Null, &pool_ty),
            planned_state: r.planned_state.clone(),
            config: dv(&config, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("apply")
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
    let state = undv(r.new_state.as_ref(), &pool_ty);
    assert!(state.is_wholly_known());
    let uuid = state
        .attr("id")
        .and_then(Value::as_str)
        .expect("uuid")
        .to_string();
    assert_eq!(uuid.len(), 36);
    assert_eq!(state.attr("state"), Some(&"running".into()));
    assert!(r.new_identity.is_some(), "identity returned");

    // Read sees it; import by name and by UUID find the same pool.
    let r = client
        .read_resource(pb::read_resource::Request {
            type_name: "libvirt_lvm_pool".into(),
            current_state: dv(&state, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
    assert_eq!(undv(r.new_state.as_ref(), &pool_ty).attr("id"), state.attr("id"));
    for import_id in ["p1", uuid.as_str()] {
        let r = client
            .import_resource_state(pb::import_resource_state::Request {
                type_name: "libvirt_lvm_pool".into(),
                id: import_id.into(),
                ..Default::default()
            })
            .await
            .expect("import")
            .into_inner();
        assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
        let imported = undv(r.imported_resources[0].state.as_ref(), &pool_ty);
        assert_eq!(imported.attr("id"), state.attr("id"));
        assert_eq!(imported.attr("name"), Some(&"p1".into()));
    }

    // Plan with the same config: no change.
    let r = client
        .plan_resource_change(pb::plan_resource_change::Request {
            type_name: "libvirt_lvm_pool".into(),
            prior_state: dv(&state, &pool_ty),
            proposed_new_state: dv(&state, &pool_ty),
            config: dv(&config, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("plan")
        .into_inner();
    assert_eq!(undv(r.planned_state.as_ref(), &pool_ty), state);
    assert!(r.requires_replace.is_empty());

    // Delete, then read says it is gone.
    let r = client
        .apply_resource_change(pb::apply_resource_change::Request {
            type_name: "libvirt_lvm_pool".into(),
            prior_state: dv(&state, &pool_ty),
            planned_state: dv(&Value::Null, &pool_ty),
            config: dv(&Value::Null, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("delete")
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
    assert!(undv(r.new_state.as_ref(), &pool_ty).is_null());
    let r = client
        .read_resource(pb::read_resource::Request {
            type_name: "libvirt_lvm_pool".into(),
            current_state: dv(&state, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("read")
        .into_inner();
    assert!(
        undv(r.new_state.as_ref(), &pool_ty).is_null(),
        "gone after delete"
    );

    // StopProvider refuses new libvirt work but keeps serving.
    client
        .stop_provider(pb::stop_provider::Request {})
        .await
        .expect("stop");
    let r = client
        .read_resource(pb::read_resource::Request {
            type_name: "libvirt_lvm_pool".into(),
            current_state: dv(&state, &pool_ty),
            ..Default::default()
        })
        .await
        .expect("still serving")
        .into_inner();
    assert!(
        errors(&r.diagnostics).iter().any(|e| e.contains("stopping")),
        "{:?}",
        r.diagnostics
    );

    // Shutdown ends the process cleanly and removes the socket directory.
    let mut controller = common::controller_client(&plugin, &id).await;
    controller.shutdown(Empty {}).await.expect("shutdown");
    let mut plugin = plugin;
    let status = plugin.child.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    assert!(!dir.exists(), "socket directory removed");
}

#[tokio::test]
async fn clients_without_terraforms_certificate_are_refused() {
    let id = common::client_identity();
    let plugin = common::start(&id);
    // No client certificate at all.
    let none = common::channel(&plugin.socket, common::tls_config(&plugin.server_cert, None)).await;
    let refused_none = match none {
        Err(_) => true,
        Ok(ch) => {
            let mut c =
                terraform_provider_libvirt::proto::tfplugin6::provider_client::ProviderClient::new(ch);
            c.get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .is_err()
        }
    };
    assert!(refused_none, "a client without a certificate was served");
    // Another P-521 certificate, valid in itself.
    let other = common::client_identity();
    let wrong = common::channel(
        &plugin.socket,
        common::tls_config(&plugin.server_cert, Some(&other)),
    )
    .await;
    let refused_other = match wrong {
        Err(_) => true,
        Ok(ch) => {
            let mut c =
                terraform_provider_libvirt::proto::tfplugin6::provider_client::ProviderClient::new(ch);
            c.get_provider_schema(pb::get_provider_schema::Request {})
                .await
                .is_err()
        }
    };
    assert!(refused_other, "a client with another certificate was served");
    // The right one works.
    let mut ok = common::provider_client(&plugin, &id).await;
    ok.get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("served");
}

/// Stored state at the schema's version is read as it is (attributes removed since are dropped);
/// state that does not fit the schema, at another version, or not JSON is refused with a diagnostic.
#[tokio::test]
async fn stored_state_is_read_at_the_current_version_and_refused_otherwise() {
    let id = common::client_identity();
    let plugin = common::start(&id);
    let mut client = common::provider_client(&plugin, &id).await;
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("schema")
        .into_inner();
    let vol_ty = schema_type(&schema, "libvirt_lvm_volume");
    let version = schema.resource_schemas["libvirt_lvm_volume"].version;
    let upgrade = |version: i64, json: &str| {
        let req = pb::upgrade_resource_state::Request {
            type_name: "libvirt_lvm_volume".into(),
            version,
            raw_state: Some(pb::RawState {
                json: json.as_bytes().to_vec(),
                flatmap: Default::default(),
            }),
        };
        let mut client = client.clone();
        async move {
            client
                .upgrade_resource_state(req)
                .await
                .expect("upgrade")
                .into_inner()
        }
    };

    let stored = r#"{"id":"k1","pool":"p","name":"v0","capacity":"1MiB","sparse":false,
        "allow_shrink":false,"wipe_on_destroy":false,"path":"/dev/p/v0","key":"k1",
        "allocation":1048576,"capacity_bytes":1048576,"attribute_removed_since":"x"}"#;
    let r = upgrade(version, stored).await;
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
    let v = undv(r.upgraded_state.as_ref(), &vol_ty);
    assert_eq!(v.attr("name").and_then(Value::as_str), Some("v0"));
    assert_eq!(v.attr("capacity_bytes").and_then(Value::as_u64), Some(1 << 20));
    assert_eq!(v.attr("path").and_then(Value::as_str), Some("/dev/p/v0"));

    let misfit = r#"{"pool":"p","name":"v0","capacity":{"GiB":1}}"#;
    let r = upgrade(version, misfit).await;
    let e = errors(&r.diagnostics);
    assert!(
        e.len() == 1 && e[0].contains("libvirt_lvm_volume does not fit its schema"),
        "{e:?}"
    );
    assert!(r.upgraded_state.is_none());

    let r = upgrade(version, "{not json").await;
    assert_eq!(errors(&r.diagnostics).len(), 1, "{:?}", r.diagnostics);

    let r = upgrade(version + 7, stored).await;
    let e = errors(&r.diagnostics);
    assert!(e.len() == 1 && e[0].contains("cannot be upgraded"), "{e:?}");
}

/// Presents Terraform's certificate but signs the handshake with another key.
#[derive(Debug)]
struct StolenCertificate(Arc<rustls::sign::CertifiedKey>);

impl rustls::client::ResolvesClientCert for StolenCertificate {
    fn resolve(&self, _: &[&[u8]], _: &[rustls::SignatureScheme]) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
    fn has_certs(&self) -> bool {
        true
    }
}

/// A client that holds Terraform's certificate (it is in the provider's environment, which other
/// processes of the user may read) but not its private key is refused: the TLS handshake proves
/// possession of the key.
#[tokio::test]
async fn terraforms_certificate_with_another_key_is_refused() {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let id = common::client_identity();
    let plugin = common::start(&id);
    let thief = common::client_identity();
    // The same client code with each key: only the key differs, so a refusal is the key's.
    let served_with = |key_der: Vec<u8>| {
        let (socket, server_cert, cert) = (plugin.socket.clone(), plugin.server_cert.clone(), id.der.clone());
        async move {
            let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
            let key = provider
                .key_provider
                .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)))
                .expect("the key loads");
            let presented = rustls::sign::CertifiedKey::new(vec![CertificateDer::from(cert)], key);
            let mut config = rustls::ClientConfig::clone(&common::tls_config(&server_cert, None));
            config.client_auth_cert_resolver = Arc::new(StolenCertificate(Arc::new(presented)));
            match common::channel(&socket, Arc::new(config)).await {
                Err(_) => false,
                Ok(ch) => {
                    terraform_provider_libvirt::proto::tfplugin6::provider_client::ProviderClient::new(ch)
                        .get_provider_schema(pb::get_provider_schema::Request {})
                        .await
                        .is_ok()
                }
            }
        }
    };
    assert!(
        !served_with(thief.key_der.clone()).await,
        "a client with Terraform's certificate but another key was served"
    );
    assert!(
        served_with(id.key_der.clone()).await,
        "the certificate with its own key was refused"
    );
}

/// libvirt's own debug output prints the connection URI verbatim, secrets included; when it is
/// turned on, the provider's stderr (which Terraform copies into its log) goes through a filter.
#[tokio::test]
async fn libvirt_debug_output_never_shows_uri_secrets() {
    use std::io::Read;
    let id = common::client_identity();
    let mut plugin = common::start_with(&id, &[("LIBVIRT_DEBUG", "1")], std::process::Stdio::piped());
    let mut stderr = plugin.child.stderr.take().expect("stderr");
    let collector = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = stderr.read_to_string(&mut all);
        all
    });
    let mut client = common::provider_client(&plugin, &id).await;
    let cfg_ty = provider::schema().ty();
    let cfg = obj(
        &cfg_ty,
        &[("uri", "test:///default?password=hunter2secret".into())],
    );
    client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&cfg, &cfg_ty),
            client_capabilities: None,
        })
        .await
        .expect("configure");
    // A data source read opens the connection (whatever libvirt thinks of the parameter).
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("schema")
        .into_inner();
    let ty = schema_type_data(&schema, "libvirt_lvm_pool");
    let _ = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "libvirt_lvm_pool".into(),
            config: dv(&obj(&ty, &[("name", "default-pool".into())]), &ty),
            provider_meta: None,
            client_capabilities: None,
        })
        .await;
    drop(client);
    let _ = plugin.child.kill();
    let _ = plugin.child.wait();
    let log = collector.join().expect("stderr collector");
    assert!(
        log.contains("virConnectOpen"),
        "libvirt's debug output did not come through:\n{log}"
    );
    assert!(
        !log.contains("hunter2secret"),
        "the secret reached stderr:\n{log}"
    );
    assert!(log.contains("password=***"), "{log}");
}

fn schema_type_data(resp: &pb::get_provider_schema::Response, name: &str) -> Type {
    common::block_type(resp.data_source_schemas[name].block.as_ref().expect("block"))
}

#[test]
fn without_the_cookie_it_explains_and_exits_1() {
    let out = std::process::Command::new(common::binary())
        .env_remove("TF_PLUGIN_MAGIC_COOKIE")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty(), "nothing on stdout");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("run it through terraform") && err.contains("--debug"),
        "{err}"
    );
}

#[test]
fn protocol_5_only_is_refused_clearly() {
    let out = std::process::Command::new(common::binary())
        .env(
            "TF_PLUGIN_MAGIC_COOKIE",
            "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2",
        )
        .env("PLUGIN_PROTOCOL_VERSIONS", "4,5")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("protocol 6"));
}

/// The socket inodes a process holds open (`/proc/<pid>/fd/* -> socket:[inode]`).
fn socket_inodes(pid: u32) -> Vec<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).expect("the provider's /proc/<pid>/fd");
    let mut inodes: Vec<u64> = fds
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|target| {
            let t = target.to_string_lossy();
            t.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect();
    inodes.sort_unstable();
    inodes.dedup();
    inodes
}

/// The inodes in one `/proc/net/{tcp,tcp6,udp,udp6}` table (tenth column), and its row count.
fn inet_inodes(table: &str) -> (Vec<u64>, usize) {
    let text = std::fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let inodes = rows
        .iter()
        .filter_map(|l| l.split_whitespace().nth(9)?.parse().ok())
        .collect();
    (inodes, rows.len())
}

/// `/proc/net/unix` rows as (inode, path).
fn unix_sockets() -> Vec<(u64, String)> {
    std::fs::read_to_string("/proc/net/unix")
        .expect("/proc/net/unix")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            Some((
                f.get(6)?.parse().ok()?,
                f.get(7).copied().unwrap_or("").to_string(),
            ))
        })
        .collect()
}

#[tokio::test]
async fn no_network_listener_only_a_private_unix_socket() {
    let id = common::client_identity();
    let plugin = common::start(&id);
    // Serve one request first, so every listener and connection the provider opens exists.
    let mut client = common::provider_client(&plugin, &id).await;
    client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("served");
    let pid = plugin.child.id();
    let mine = socket_inodes(pid);
    assert!(
        !mine.is_empty(),
        "the provider (pid {pid}) holds no socket at all"
    );

    // Positive control: the method finds the listening Unix socket among the provider's sockets.
    let unix = unix_sockets();
    assert!(
        unix.iter()
            .any(|(inode, path)| *path == plugin.socket && mine.contains(inode)),
        "the provider's socket {} is not among its open sockets {mine:?}",
        plugin.socket
    );

    // No TCP or UDP socket, listening or not, over IPv4 or IPv6.
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let (inodes, rows) = inet_inodes(table);
        let shared: Vec<&u64> = mine.iter().filter(|i| inodes.contains(i)).collect();
        assert!(
            shared.is_empty(),
            "the provider holds {table} sockets {shared:?} (of {rows} rows in /proc/net/{table})"
        );
    }
    // Every socket it holds is a Unix socket.
    let unix_inodes: Vec<u64> = unix.iter().map(|(i, _)| *i).collect();
    let other: Vec<&u64> = mine.iter().filter(|i| !unix_inodes.contains(i)).collect();
    assert!(other.is_empty(), "sockets that are not Unix sockets: {other:?}");

    // The socket lives inside the private 0700 directory and is itself closed to others.
    let socket = std::path::Path::new(&plugin.socket);
    let dir = socket.parent().expect("socket directory");
    let dir_meta = std::fs::metadata(dir).expect("socket directory");
    assert_eq!(
        dir_meta.permissions().mode() & 0o777,
        0o700,
        "socket directory mode"
    );
    let sock_meta = std::fs::symlink_metadata(socket).expect("socket");
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    assert!(
        sock_meta.file_type().is_socket(),
        "{} is not a socket",
        plugin.socket
    );
    assert_eq!(
        sock_meta.permissions().mode() & 0o007,
        0,
        "the socket is accessible to others: mode {:o}",
        sock_meta.permissions().mode() & 0o777
    );
    assert_eq!(
        sock_meta.uid(),
        dir_meta.uid(),
        "socket and directory owners differ"
    );
    // The directory is the only way in: nothing else in it.
    let entries: Vec<_> = std::fs::read_dir(dir)
        .expect("list socket directory")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(
        entries,
        vec![std::ffi::OsString::from("plugin.sock")],
        "socket directory contents"
    );
}

/// The volume's passphrase is write-only in the schema Terraform reads, and a configuration that
/// sets it is refused, naming it, unless the client says it allows write-only attributes
/// (Terraform 1.11 and later): an older Terraform would keep the value in state and plans.
#[tokio::test]
async fn write_only_passphrases_need_a_client_that_allows_them() {
    let id = common::client_identity();
    let plugin = common::start(&id);
    let mut client = common::provider_client(&plugin, &id).await;
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("schema")
        .into_inner();
    let block = schema.resource_schemas["libvirt_lvm_volume"]
        .block
        .as_ref()
        .expect("block");
    let encryption = block
        .block_types
        .iter()
        .find(|b| b.type_name == "encryption")
        .and_then(|b| b.block.as_ref())
        .expect("encryption block");
    let attr = |name: &str| {
        encryption
            .attributes
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("encryption.{name}"))
    };
    assert!(attr("passphrase_wo").write_only && attr("passphrase_wo").sensitive);
    assert!(!attr("passphrase_wo").computed);
    assert!(!attr("secret_uuid").write_only);

    let ty = schema_type(&schema, "libvirt_lvm_volume");
    let Type::Object(fields) = &ty else {
        panic!("object type")
    };
    let enc_ty = fields["encryption"].clone();
    let enc = obj(
        &enc_ty,
        &[
            ("format", "luks".into()),
            ("passphrase_wo", "s3cret-pass".into()),
            ("passphrase_wo_version", Value::from(1i64)),
        ],
    );
    let config = obj(
        &ty,
        &[
            ("pool", "p".into()),
            ("name", "v".into()),
            ("capacity", "8MiB".into()),
            ("encryption", enc),
        ],
    );
    for (allowed, want_refusal) in [(None, true), (Some(false), true), (Some(true), false)] {
        let r = client
            .validate_resource_config(pb::validate_resource_config::Request {
                type_name: "libvirt_lvm_volume".into(),
                config: dv(&config, &ty),
                client_capabilities: allowed.map(|a| pb::ClientCapabilities {
                    deferral_allowed: false,
                    write_only_attributes_allowed: a,
                }),
            })
            .await
            .expect("validate")
            .into_inner();
        let errs = errors(&r.diagnostics);
        if want_refusal {
            assert_eq!(errs.len(), 1, "{allowed:?}: {errs:?}");
            assert!(
                errs[0].contains("encryption.passphrase_wo") && errs[0].contains("1.11"),
                "{}",
                errs[0]
            );
            assert!(!errs[0].contains("s3cret-pass"), "{}", errs[0]);
        } else {
            assert!(errs.is_empty(), "{allowed:?}: {errs:?}");
        }
    }
}
