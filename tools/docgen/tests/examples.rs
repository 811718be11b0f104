//! Every example is formatted (`terraform fmt -check`) and valid
//! (`terraform validate`, against the provider built from this workspace
//! through dev_overrides), and there is one example directory per type.
//!
//! Uses `terraform` from PATH, or the binary named by `TF_BIN`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use terraform_provider_libvirt::functions::functions;
use terraform_provider_libvirt::provider;

const FUNCTION_EXAMPLES: &str = "tools/docgen/function-examples";

/// Added to per-type snippets, which leave the provider requirement to the page.
const HEADER: &str = r#"terraform {
  required_providers {
    libvirt = {
      source = "libvirt-lvm/libvirt"
    }
  }
}
"#;

fn root() -> PathBuf {
    docgen::workspace_root()
}

fn terraform() -> String {
    std::env::var("TF_BIN").unwrap_or_else(|_| "terraform".into())
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A CLI configuration that matches nothing, so that the environment's
/// (possibly missing) one does not apply.
fn empty_cli_config() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("cli.tfrc"), "").expect("cli config");
        dir
    });
    dir.path()
}

fn run_terraform(dir: &Path, args: &[&str], cli_config: &Path) -> Output {
    Command::new(terraform())
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_LOG")
        .env_remove("TF_DATA_DIR")
        .output()
        .unwrap_or_else(|e| panic!("running {} (set TF_BIN to use another): {e}", terraform()))
}

/// Builds the provider binary (a no-op when it is up to date) and returns its directory.
fn provider_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args([
                "build",
                "-p",
                "terraform-provider-libvirt",
                "--bin",
                "terraform-provider-libvirt",
                "--message-format=json-render-diagnostics",
            ])
            .current_dir(root())
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "cargo build -p terraform-provider-libvirt failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let exe = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|m| m["target"]["name"] == "terraform-provider-libvirt")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .expect("cargo reports the provider executable");
        exe.parent().expect("binary directory").to_path_buf()
    })
}

/// Terraform's version as (major, minor).
fn terraform_version() -> (u64, u64) {
    static V: OnceLock<(u64, u64)> = OnceLock::new();
    *V.get_or_init(|| {
        let o = run_terraform(
            &root(),
            &["version", "-json"],
            &empty_cli_config().join("cli.tfrc"),
        );
        assert!(o.status.success(), "terraform version: {}", text(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("version json");
        let s = v["terraform_version"].as_str().expect("terraform_version");
        let mut parts = s.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
        (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
    })
}

/// Every directory holding .tf files under examples/ and the function examples.
fn example_dirs() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let mut has_tf = false;
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| e.expect("entry").path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                if p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                {
                    continue;
                }
                walk(&p, out);
            } else if p.extension().is_some_and(|e| e == "tf") {
                has_tf = true;
            }
        }
        if has_tf {
            out.push(dir.to_path_buf());
        }
    }
    let mut dirs = Vec::new();
    walk(&root().join("examples"), &mut dirs);
    walk(&root().join(FUNCTION_EXAMPLES), &mut dirs);
    dirs
}

/// Copies the example's .tf files into a fresh directory (with the provider
/// requirement added when the example has none) and runs `terraform validate`.
fn validate(example: &Path) -> Result<(), String> {
    let dir = tempfile::tempdir().expect("tempdir");
    let identity_imports = terraform_version() >= (1, 12);
    let mut has_requirement = false;
    for entry in std::fs::read_dir(example).expect("read example") {
        let p = entry.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().to_string();
        if !name.ends_with(".tf") || (name == "import-by-identity.tf" && !identity_imports) {
            continue;
        }
        let body = std::fs::read_to_string(&p).expect("read .tf");
        has_requirement |= body.contains("required_providers");
        std::fs::write(dir.path().join(&name), body).expect("copy .tf");
    }
    if !has_requirement {
        std::fs::write(dir.path().join("zz_header.tf"), HEADER).expect("header");
    }
    let cli = dir.path().join("cli.tfrc");
    std::fs::write(
        &cli,
        format!(
            "provider_installation {{\n  dev_overrides {{\n    \"libvirt-lvm/libvirt\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
            provider_dir().display()
        ),
    )
    .expect("cli config");
    let o = run_terraform(dir.path(), &["validate", "-no-color"], &cli);
    if o.status.success() {
        Ok(())
    } else {
        Err(format!("{}:\n{}", example.display(), text(&o)))
    }
}

#[test]
fn examples_are_formatted() {
    for dir in ["examples", FUNCTION_EXAMPLES] {
        let o = run_terraform(
            &root(),
            &["fmt", "-check", "-recursive", "-diff", "-no-color", dir],
            &empty_cli_config().join("cli.tfrc"),
        );
        assert!(
            o.status.success(),
            "terraform fmt -check -recursive {dir} found unformatted files (run `terraform fmt -recursive {dir}`):\n{}",
            text(&o)
        );
    }
}

#[test]
fn examples_validate() {
    provider_dir();
    let dirs = example_dirs();
    assert!(dirs.len() >= 10, "found only {dirs:?}");
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs.iter().map(|d| s.spawn(move || validate(d))).collect();
        handles
            .into_iter()
            .filter_map(|h| h.join().expect("validate thread").err())
            .collect()
    });
    assert!(
        failures.is_empty(),
        "terraform validate failed:\n\n{}",
        failures.join("\n\n")
    );
}

/// The names of the subdirectories of `dir` (relative to the root).
fn subdirs(dir: &str) -> BTreeSet<String> {
    std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.expect("entry").path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().expect("name").to_string_lossy().to_string())
        .collect()
}

#[test]
fn one_example_directory_per_type() {
    let resources: BTreeSet<String> = provider::resources()
        .iter()
        .map(|r| r.type_name().to_string())
        .collect();
    let data_sources: BTreeSet<String> = provider::data_sources()
        .iter()
        .map(|d| d.type_name().to_string())
        .collect();
    let functions: BTreeSet<String> = functions().iter().map(|f| f.name.to_string()).collect();
    assert_eq!(
        subdirs("examples/resources"),
        resources,
        "examples/resources/<type>"
    );
    assert_eq!(
        subdirs("examples/data-sources"),
        data_sources,
        "examples/data-sources/<type>"
    );
    assert_eq!(
        subdirs(FUNCTION_EXAMPLES),
        functions,
        "{FUNCTION_EXAMPLES}/<name>"
    );
}

/// Terraform 1.11 cannot validate `identity = {...}` in import blocks, so the
/// identity examples are checked against the identity schemas here.
#[test]
fn identity_examples_name_the_identity_attributes() {
    for r in provider::resources() {
        let Some(identity) = r.identity_schema() else {
            continue;
        };
        let path = root().join(format!(
            "examples/resources/{}/import-by-identity.tf",
            r.type_name()
        ));
        let body = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(
            body.contains(&format!("to = {}.", r.type_name())),
            "{}: imports into another type",
            path.display()
        );
        let inner = body
            .split_once("identity = {")
            .and_then(|(_, rest)| rest.split_once('}'))
            .map(|(inner, _)| inner)
            .unwrap_or_else(|| panic!("{}: no identity = {{ ... }}", path.display()));
        let keys: BTreeSet<&str> = inner
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, _)| k.trim()))
            .collect();
        let required: BTreeSet<&str> = identity
            .attributes
            .iter()
            .filter(|(_, _, required, _)| *required)
            .map(|(name, ..)| *name)
            .collect();
        let known: BTreeSet<&str> = identity.attributes.iter().map(|(name, ..)| *name).collect();
        assert!(
            required.is_subset(&keys) && keys.is_subset(&known),
            "{}: identity keys {keys:?}, but the identity schema has {known:?} (required {required:?})",
            path.display()
        );
    }
}
