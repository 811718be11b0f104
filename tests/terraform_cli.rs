//! The provider through the real `terraform` binary (dev_overrides in a
//! temporary CLI config), on libvirt's in-memory test driver.

mod common;

use std::path::Path;
use std::time::Duration;

use tfrun::{Run, TfDir};

/// A working directory whose CLI configuration installs the provider `cargo test` built.
fn workdir(main_tf: &str) -> TfDir {
    let bin_dir = Path::new(common::binary()).parent().expect("binary dir");
    let dir = TfDir::new("tfcli", bin_dir).expect("tempdir");
    dir.write_main(main_tf).expect("main.tf");
    dir
}

fn run(dir: &TfDir, args: &[&str]) -> Run {
    dir.run(args, Duration::from_secs(300))
}

const HEADER: &str = r#"
terraform {
  required_providers {
    libvirt = { source = "libvirt-lvm/libvirt" }
  }
}
provider "libvirt" {
  uri = "test:///default"
}
"#;

#[test]
fn providers_schema_validate_and_plan() {
    let dir = workdir(&format!(
        "{HEADER}
resource \"libvirt_lvm_pool\" \"p\" {{
  name           = \"pool1\"
  source_devices = [\"/dev/sdx\"]
}}
resource \"libvirt_lvm_volume\" \"v\" {{
  pool     = libvirt_lvm_pool.p.name
  name     = \"data\"
  capacity = \"1GiB\"
}}
output \"bytes\" {{
  value = provider::libvirt::parse_size(\"1.5GiB\")
}}
"
    ));
    let o = run(&dir, &["providers", "schema", "-json", "-no-color"]);
    assert!(o.ok(), "{o}");
    let schema: serde_json::Value = serde_json::from_str(&o.stdout).expect("json");
    let provider = schema["provider_schemas"]
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.ends_with("libvirt-lvm/libvirt")))
        .map(|(_, v)| v.clone())
        .expect("our provider in the schema");
    for r in [
        "libvirt_lvm_pool",
        "libvirt_lvm_volume",
        "libvirt_disk_attachment",
    ] {
        let attrs = &provider["resource_schemas"][r]["block"]["attributes"];
        assert!(attrs.is_object(), "{r} has attributes");
        for (name, a) in attrs.as_object().expect("attributes") {
            let d = a["description"].as_str().unwrap_or_default();
            assert!(!d.is_empty(), "{r}.{name} has a description");
        }
    }
    assert_eq!(
        provider["resource_schemas"]["libvirt_lvm_volume"]["block"]["attributes"]["capacity"]["type"],
        "string"
    );

    let o = run(&dir, &["validate", "-no-color"]);
    assert!(o.ok(), "{o}");

    let o = run(&dir, &["plan", "-no-color", "-detailed-exitcode"]);
    assert_eq!(o.code, Some(2), "{o}");
    let out = o.text();
    assert!(out.contains("2 to add"), "{out}");
    assert!(out.contains("bytes = 1610612736"), "{out}");
    // Terraform aligns the `=` of a block to its longest name: compare words, not spacing.
    let flat = out.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(flat.contains("+ capacity = \"1GiB\""), "{out}");
    assert!(flat.contains("+ capacity_bytes = (known after apply)"), "{out}");
}

#[test]
fn invalid_configuration_names_the_attribute() {
    let dir = workdir(&format!(
        "{HEADER}
resource \"libvirt_lvm_volume\" \"v\" {{
  pool     = \"p\"
  name     = \"-bad\"
  capacity = \"10 parsecs\"
}}
"
    ));
    let o = run(&dir, &["validate", "-no-color"]);
    assert!(!o.ok(), "{o}");
    let out = o.text();
    assert!(out.contains("Invalid name"), "{out}");
    assert!(out.contains("Invalid capacity"), "{out}");
    assert!(out.contains("parsecs"), "{out}");
    assert!(out.contains("GiB"), "valid units are listed: {out}");
    assert!(
        out.contains("main.tf line 13") && out.contains("main.tf line 14"),
        "points at the lines: {out}"
    );
}

#[test]
fn data_sources_read_existing_objects_and_fail_clearly_on_missing_ones() {
    let dir = workdir(&format!(
        "{HEADER}
resource \"libvirt_lvm_pool\" \"p\" {{
  name           = \"dspool\"
  source_devices = [\"/dev/sdx\"]
}}
resource \"libvirt_lvm_volume\" \"v\" {{
  pool     = libvirt_lvm_pool.p.name
  name     = \"data\"
  capacity = \"1GiB\"
}}
data \"libvirt_lvm_pool\" \"p\" {{
  name       = libvirt_lvm_pool.p.name
  depends_on = [libvirt_lvm_volume.v]
}}
data \"libvirt_lvm_volume\" \"by_name\" {{
  pool = libvirt_lvm_volume.v.pool
  name = libvirt_lvm_volume.v.name
}}
data \"libvirt_lvm_volume\" \"by_path\" {{
  path = libvirt_lvm_volume.v.path
}}
output \"pool_volumes\" {{
  value = [for v in data.libvirt_lvm_pool.p.volumes : \"${{v.name}}=${{v.capacity}}\"]
}}
output \"by_name\" {{
  value = data.libvirt_lvm_volume.by_name.key
}}
output \"by_path\" {{
  value = \"${{data.libvirt_lvm_volume.by_path.pool}}/${{data.libvirt_lvm_volume.by_path.name}}\"
}}
"
    ));
    // The test driver keeps state only while one connection is open, so
    // everything happens in one apply.
    let o = run(&dir, &["apply", "-auto-approve", "-no-color"]);
    let out = o.text();
    assert!(o.ok(), "{out}");
    assert!(out.contains("\"data=1073741824\""), "{out}");
    assert!(
        out.contains("by_name = \"/dev/dspool/data\""),
        "the test driver's key is the path: {out}"
    );
    assert!(out.contains("by_path = \"dspool/data\""), "{out}");

    let missing = workdir(&format!(
        "{HEADER}
data \"libvirt_lvm_pool\" \"p\" {{
  name = \"no-such-pool\"
}}
data \"libvirt_lvm_volume\" \"v\" {{
  path = \"/dev/nope/nothing\"
}}
"
    ));
    let o = run(&missing, &["plan", "-no-color"]);
    assert!(!o.ok(), "{o}");
    let out = o.text();
    assert!(
        out.contains("Storage Pool Not Found") && out.contains("no-such-pool"),
        "{out}"
    );
    assert!(
        out.contains("Storage Volume Not Found") && out.contains("/dev/nope/nothing"),
        "{out}"
    );
}
