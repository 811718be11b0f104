//! The plugin starts without loading libvirt (see `src/libvirt/loader.rs`): Terraform starts the
//! provider several times per command, and most of those processes never connect to a hypervisor.

mod common;

use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_terraform-provider-libvirt");

/// The shared libraries the binary names in its dynamic section (`readelf -d`).
fn needed_libraries() -> Vec<String> {
    let out = Command::new("readelf")
        .args(["-d", "-W", BIN])
        .output()
        .expect("readelf (binutils) runs");
    assert!(
        out.status.success(),
        "readelf: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split('[').nth(1).and_then(|r| r.split(']').next()))
        .map(str::to_string)
        .collect()
}

#[test]
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
fn the_binary_does_not_link_libvirt() {
    let needed = needed_libraries();
    assert!(!needed.is_empty(), "no NEEDED entries read from {BIN}");
    assert!(
        !needed.iter().any(|l| l.starts_with("libvirt")),
        "{BIN} links {needed:?}: a libvirt function is missing from the trampoline list in \
         src/libvirt/loader.rs (add the names `readelf --dyn-syms` shows as undefined vir* symbols)"
    );
}

/// Whether the process has libvirt's shared library mapped.
fn maps_libvirt(pid: u32) -> bool {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("/proc/PID/maps");
    maps.lines().any(|l| l.contains("/libvirt.so"))
}

/// The plugin started as Terraform starts it (magic cookie, protocol versions, P-521 client
/// certificate, the handshake line), then asked for its schema and configured, as Terraform's
/// first processes of a plan are: libvirt is never mapped. As a control, a data source read
/// opens the connection, and then libvirt is mapped (the check can see it).
#[tokio::test]
#[cfg(target_os = "linux")]
async fn starting_maps_no_libvirt() {
    use terraform_provider_libvirt::framework::{msgpack, Type, Value};
    use terraform_provider_libvirt::proto::tfplugin6 as pb;
    use terraform_provider_libvirt::provider;

    fn dv(v: &Value, ty: &Type) -> Option<pb::DynamicValue> {
        Some(pb::DynamicValue {
            msgpack: msgpack::encode(v, ty).expect("encode"),
            json: vec![],
        })
    }
    fn obj(ty: &Type, set: &[(&str, Value)]) -> Value {
        let Type::Object(fields) = ty else {
            panic!("object type")
        };
        Value::object(fields.keys().map(|k| {
            let v = set.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            (k.clone(), v.unwrap_or(Value::Null))
        }))
    }
    fn errors(d: &[pb::Diagnostic]) -> Vec<String> {
        d.iter()
            .filter(|d| d.severity == pb::diagnostic::Severity::Error as i32)
            .map(|d| format!("{}: {}", d.summary, d.detail))
            .collect()
    }

    let id = common::client_identity();
    let plugin = common::start(&id);
    let pid = plugin.child.id();
    assert!(!maps_libvirt(pid), "libvirt is mapped right after the handshake");

    let mut client = common::provider_client(&plugin, &id).await;
    let schema = client
        .get_provider_schema(pb::get_provider_schema::Request {})
        .await
        .expect("schema")
        .into_inner();
    assert!(schema.resource_schemas.contains_key("libvirt_lvm_pool"));
    assert!(!maps_libvirt(pid), "libvirt is mapped after GetProviderSchema");

    let cfg_ty = provider::schema().ty();
    let r = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.11.4".into(),
            config: dv(&obj(&cfg_ty, &[("uri", "test:///default".into())]), &cfg_ty),
            client_capabilities: None,
        })
        .await
        .expect("configure")
        .into_inner();
    assert!(errors(&r.diagnostics).is_empty(), "{:?}", errors(&r.diagnostics));
    assert!(!maps_libvirt(pid), "libvirt is mapped after ConfigureProvider");

    // Control: the first call that needs the hypervisor loads libvirt.
    let ds = provider::data_sources()
        .into_iter()
        .find(|d| d.type_name() == "libvirt_lvm_pool")
        .expect("the pool data source");
    let ty = ds.schema().ty();
    let r = client
        .read_data_source(pb::read_data_source::Request {
            type_name: "libvirt_lvm_pool".into(),
            config: dv(&obj(&ty, &[("name", "default-pool".into())]), &ty),
            provider_meta: None,
            client_capabilities: None,
        })
        .await
        .expect("read data source")
        .into_inner();
    // The test driver's default pool is a directory pool: only libvirt can have said so.
    let e = errors(&r.diagnostics);
    assert!(
        e.iter()
            .any(|e| e.contains("Not A Logical Pool") && e.contains("\"dir\"")),
        "{e:?}"
    );
    assert!(
        maps_libvirt(pid),
        "a data source read on test:///default must have loaded libvirt (else this check sees nothing)"
    );
}
