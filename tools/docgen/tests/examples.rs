//! Every example is formatted (`terraform fmt -check`) and valid
//! (`terraform validate`, against the provider built from this workspace
//! through dev_overrides), and there is one example directory per type.
//!
//! Uses `terraform` from PATH, or the binary named by `TF_BIN`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use terraform_provider_libvirt::functions::functions;
use terraform_provider_libvirt::provider;
use tfrun::provider::Profile;
use tfrun::{run_command, terraform_command, Run, TfDir};

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

fn terraform_timeout() -> Duration {
    Duration::from_secs(300)
}

/// A directory with an empty CLI configuration, so that the environment's (possibly missing) one
/// does not apply.
fn empty_cli_config() -> &'static TfDir {
    static DIR: OnceLock<TfDir> = OnceLock::new();
    DIR.get_or_init(|| TfDir::with_cli_config("docgen-fmt", "").expect("tempdir"))
}

/// `terraform ARGS` in `dir` (a checked-in directory, run in place) with no CLI configuration.
fn run_in(dir: &Path, args: &[&str]) -> Run {
    run_command(
        terraform_command(dir, empty_cli_config().cli_config(), args),
        terraform_timeout(),
    )
}

/// Builds the provider binary (a no-op when it is up to date) and returns its directory.
fn provider_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tfrun::provider::build(Profile::Dev).unwrap_or_else(|e| panic!("{e}")))
}

/// Terraform's version as (major, minor).
fn terraform_version() -> (u64, u64) {
    let (major, minor, _) = tfrun::terraform_version().unwrap_or_else(|e| panic!("{e}"));
    (major, minor)
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
    let dir = TfDir::new("docgen-example", provider_dir()).expect("tempdir");
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
    let o = dir.run(&["validate", "-no-color"], terraform_timeout());
    if o.ok() {
        Ok(())
    } else {
        Err(format!("{}:\n{}", example.display(), o.text()))
    }
}

#[test]
fn examples_are_formatted() {
    for dir in ["examples", FUNCTION_EXAMPLES] {
        let o = run_in(
            &root(),
            &["fmt", "-check", "-recursive", "-diff", "-no-color", dir],
        );
        assert!(
            o.ok(),
            "terraform fmt -check -recursive {dir} found unformatted files (run `terraform fmt -recursive {dir}`):\n{o}"
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
