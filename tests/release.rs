//! Release artefacts: scripts/release packages the provider the way registries
//! lay it out, and Terraform installs it from a filesystem mirror built from
//! those artefacts (`terraform init`, no dev_overrides) and applies with it.

mod common;

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn artefacts_install_from_a_filesystem_mirror_and_apply() {
    let version = env!("CARGO_PKG_VERSION");
    let dist = tempfile::tempdir().expect("dist");
    let out = Command::new(root().join("scripts/release"))
        .args(["--binary", common::binary(), "--out"])
        .arg(dist.path())
        .output()
        .expect("scripts/release runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let zip = format!("terraform-provider-libvirt_{version}_linux_amd64.zip");
    let manifest = std::fs::read_to_string(
        dist.path()
            .join(format!("terraform-provider-libvirt_{version}_manifest.json")),
    )
    .expect("manifest");
    let manifest: serde_json::Value = serde_json::from_str(&manifest).expect("manifest is JSON");
    assert_eq!(
        manifest["metadata"]["protocol_versions"],
        serde_json::json!(["6.0"])
    );
    let sums = std::fs::read_to_string(
        dist.path()
            .join(format!("terraform-provider-libvirt_{version}_SHA256SUMS")),
    )
    .expect("SHA256SUMS");
    assert!(sums.lines().any(|l| l.ends_with(&format!("  {zip}"))), "{sums}");
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg("--quiet")
        .arg(
            dist.path()
                .join(format!("terraform-provider-libvirt_{version}_SHA256SUMS")),
        )
        .current_dir(dist.path())
        .status()
        .expect("sha256sum");
    assert!(check.success(), "checksums match");

    // A filesystem mirror in the packed layout: HOST/NAMESPACE/TYPE/<zip>.
    let work = tempfile::tempdir().expect("work");
    let mirror = work
        .path()
        .join("mirror/registry.terraform.io/libvirt-lvm/libvirt");
    std::fs::create_dir_all(&mirror).expect("mirror");
    std::fs::copy(dist.path().join(&zip), mirror.join(&zip)).expect("copy zip");
    let cli = work.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{}\"\n    include = [\"registry.terraform.io/libvirt-lvm/*\"]\n  }}\n  direct {{\n    exclude = [\"registry.terraform.io/libvirt-lvm/*\"]\n  }}\n}}\n",
            work.path().join("mirror").display()
        ),
    )
    .expect("cli config");
    let config = work.path().join("config");
    std::fs::create_dir_all(&config).expect("config dir");
    std::fs::write(
        config.join("main.tf"),
        format!(
            r#"terraform {{
  required_providers {{
    libvirt = {{
      source  = "libvirt-lvm/libvirt"
      version = "{version}"
    }}
  }}
}}
provider "libvirt" {{
  uri = "test:///default"
}}
resource "libvirt_lvm_pool" "p" {{
  name           = "mirrored"
  source_devices = ["/dev/sdx"]
}}
output "size" {{
  value = provider::libvirt::format_size(libvirt_lvm_pool.p.capacity)
}}
"#
        ),
    )
    .expect("main.tf");
    let tf = |args: &[&str]| {
        let o = Command::new(std::env::var("TF_BIN").unwrap_or_else(|_| "terraform".into()))
            .args(args)
            .current_dir(&config)
            .env("TF_CLI_CONFIG_FILE", &cli)
            .env("TF_IN_AUTOMATION", "1")
            .output()
            .expect("terraform runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.status.success(), "terraform {args:?}:\n{text}");
        text
    };
    let init = tf(&["init", "-input=false", "-no-color"]);
    assert!(
        init.contains(&format!("Installing libvirt-lvm/libvirt v{version}")),
        "{init}"
    );
    let lock = std::fs::read_to_string(config.join(".terraform.lock.hcl")).expect("lock file");
    assert!(lock.contains("h1:"), "{lock}");
    let apply = tf(&["apply", "-auto-approve", "-input=false", "-no-color"]);
    assert!(apply.contains("Apply complete! Resources: 1 added"), "{apply}");
    assert!(
        apply.contains("size = \"100GiB\""),
        "the test driver's pool is 100 GiB: {apply}"
    );
}
