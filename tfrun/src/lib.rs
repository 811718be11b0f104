//! Running the real `terraform` binary against the provider built from this workspace, without a
//! registry: a temporary working directory whose CLI configuration points `dev_overrides` at the
//! directory holding `terraform-provider-libvirt` (no `terraform init`, a rebuilt binary is used at
//! once). One crate for every caller that does this: `tests/terraform_cli.rs`, the acceptance suite
//! (`acceptance-tests`), the docs generator's example tests (`tools/docgen/tests`), and the
//! benchmarks (`bench/`).
//!
//! # Layout
//!
//! - [`TfDir`]: a temporary working directory with its `cli.tfrc`; [`TfDir::command`] gives the
//!   `terraform` [`Command`](std::process::Command) with the environment every caller needs (so a
//!   caller that measures the process, as the benchmarks do, spawns it itself), [`TfDir::run`]
//!   runs it with a timeout and collects a [`Run`].
//! - [`Run`], [`Background`], [`run_command`]: any command with a timeout, output collected by
//!   threads (a grandchild that keeps a pipe open cannot block the caller), and the assertions
//!   tests make on terraform's output ([`Run::expect_diagnostic`], …).
//! - [`provider`]: where the provider binary is (`TF_PROVIDER_DIR`-style variables, or one
//!   `cargo build` per process whose executable path cargo reports).
//! - [`terraform_bin`], [`terraform_version`], [`dev_overrides`], [`terraform_command`]: the pieces,
//!   for callers that keep their own directories (a checked-in example run in place).
//!
//! # Adopting it (the benchmarks' `Workdir`, for example)
//!
//! ```no_run
//! use std::time::Duration;
//! let provider = tfrun::provider::locate_or_build("PROVIDER_DIR", tfrun::provider::Profile::Release)?;
//! let dir = tfrun::TfDir::new("tfbench", &provider)?;
//! dir.write_main("terraform {}\n")?;
//! // Spawn it yourself to sample the process...
//! let child = dir.command(&["plan", "-input=false", "-no-color"]).spawn()?;
//! # drop(child);
//! // ...or let tfrun collect the output, killing terraform after the timeout.
//! let run = dir.run(&["apply", "-auto-approve", "-input=false"], Duration::from_secs(600));
//! assert!(run.ok(), "{run}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Environment of every terraform command
//!
//! `TF_CLI_CONFIG_FILE` (the directory's own `cli.tfrc`: the machine's `~/.terraformrc` or a
//! `TF_CLI_CONFIG_FILE` pointing at a missing file never applies), `TF_IN_AUTOMATION=1`,
//! `CHECKPOINT_DISABLE=1` (no update check over the network); `TF_DATA_DIR` and
//! `LIBVIRT_DEFAULT_URI` removed (they would redirect the working directory's data or the
//! provider's connection). `TF_LOG` is passed through when the caller's environment sets it.
//! `TF_BIN` chooses the terraform binary (default `terraform` on `PATH`).

pub mod provider;
mod run;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

pub use run::{describe, run_command, Background, Run};

/// The provider's source address, the key of its `dev_overrides` entry.
pub const PROVIDER_SOURCE: &str = "libvirt-lvm/libvirt";

/// The terraform binary: `TF_BIN`, or `terraform` on `PATH`.
pub fn terraform_bin() -> String {
    std::env::var("TF_BIN")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "terraform".into())
}

/// A CLI configuration that installs [`PROVIDER_SOURCE`] from `provider_dir` (dev_overrides) and
/// every other provider as usual.
pub fn dev_overrides(provider_dir: &Path) -> String {
    format!(
        "provider_installation {{\n  dev_overrides {{\n    \"{PROVIDER_SOURCE}\" = \"{}\"\n  }}\n  direct {{}}\n}}\n",
        provider_dir.display()
    )
}

/// `terraform ARGS` in `dir` with `cli_config` and the environment described in the crate docs.
pub fn terraform_command(dir: &Path, cli_config: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(terraform_bin());
    cmd.args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", cli_config)
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env_remove("TF_DATA_DIR")
        .env_remove("LIBVIRT_DEFAULT_URI");
    cmd
}

/// Terraform's version (major, minor, patch), read once per process with `terraform version -json`.
pub fn terraform_version() -> Result<(u64, u64, u64), String> {
    static V: OnceLock<Result<(u64, u64, u64), String>> = OnceLock::new();
    V.get_or_init(|| {
        let dir = TfDir::with_cli_config("tfversion", "").map_err(|e| e.to_string())?;
        let run = dir.run(&["version", "-json"], Duration::from_secs(60));
        if !run.ok() {
            return Err(format!("`{} version -json` failed:\n{run}", terraform_bin()));
        }
        let v: serde_json::Value = serde_json::from_str(&run.stdout)
            .map_err(|e| format!("`terraform version -json` is not JSON ({e}):\n{run}"))?;
        let s = v["terraform_version"]
            .as_str()
            .ok_or_else(|| format!("no terraform_version in:\n{run}"))?;
        parse_version(s).ok_or_else(|| format!("terraform version {s:?} is not MAJOR.MINOR.PATCH"))
    })
    .clone()
}

/// `1.11.4` (or `1.12.0-beta1`) as numbers.
fn parse_version(s: &str) -> Option<(u64, u64, u64)> {
    let core = s.split(['-', '+']).next()?;
    let mut it = core.split('.').map(|p| p.parse::<u64>().ok());
    let v = (it.next()??, it.next()??, it.next()??);
    it.next().is_none().then_some(v)
}

/// A temporary Terraform working directory with its own CLI configuration (`cli.tfrc`); removed
/// when dropped, unless [`TfDir::keep`] is called.
#[derive(Debug)]
pub struct TfDir {
    dir: tempfile::TempDir,
    cli: PathBuf,
}

impl TfDir {
    /// A directory named `<prefix>…` under the system's temporary directory, whose CLI
    /// configuration installs the provider from `provider_dir` ([`dev_overrides`]).
    pub fn new(prefix: &str, provider_dir: &Path) -> std::io::Result<TfDir> {
        Self::with_cli_config(prefix, &dev_overrides(provider_dir))
    }

    /// The same with any CLI configuration text (empty: Terraform's defaults, nothing of the
    /// machine's own configuration).
    pub fn with_cli_config(prefix: &str, cli_config: &str) -> std::io::Result<TfDir> {
        let dir = tempfile::Builder::new().prefix(prefix).tempdir()?;
        let cli = dir.path().join("cli.tfrc");
        std::fs::write(&cli, cli_config)?;
        Ok(TfDir { dir, cli })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Its CLI configuration file.
    pub fn cli_config(&self) -> &Path {
        &self.cli
    }

    /// Writes `name` (relative to the directory) with `contents`.
    pub fn write(&self, name: &str, contents: &str) -> std::io::Result<()> {
        std::fs::write(self.path().join(name), contents)
    }

    /// Writes `main.tf`.
    pub fn write_main(&self, main_tf: &str) -> std::io::Result<()> {
        self.write("main.tf", main_tf)
    }

    /// `terraform ARGS` here, not started ([`terraform_command`]).
    pub fn command(&self, args: &[&str]) -> Command {
        terraform_command(self.path(), &self.cli, args)
    }

    /// Runs `terraform ARGS` here, killing it after `timeout`.
    pub fn run(&self, args: &[&str], timeout: Duration) -> Run {
        run_command(self.command(args), timeout)
    }

    /// Keeps the directory on disk (for a failed test's evidence); returns its path.
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("1.11.4"), Some((1, 11, 4)));
        assert_eq!(parse_version("1.12.0-beta1"), Some((1, 12, 0)));
        assert_eq!(parse_version("1.0"), None);
        assert_eq!(parse_version("1.0.3.4"), None);
        assert_eq!(parse_version("v1.0.3"), None);
    }

    #[test]
    fn cli_config_and_environment() {
        let dir = TfDir::new("tfrun-test", Path::new("/opt/provider dir")).expect("tempdir");
        let cfg = std::fs::read_to_string(dir.cli_config()).expect("cli.tfrc");
        assert!(
            cfg.contains("\"libvirt-lvm/libvirt\" = \"/opt/provider dir\""),
            "{cfg}"
        );
        assert!(cfg.contains("direct {}"), "{cfg}");
        let cmd = dir.command(&["plan", "-no-color"]);
        assert_eq!(cmd.get_current_dir(), Some(dir.path()));
        let envs: Vec<(String, Option<String>)> = cmd
            .get_envs()
            .map(|(k, v)| {
                (
                    k.to_string_lossy().into_owned(),
                    v.map(|v| v.to_string_lossy().into_owned()),
                )
            })
            .collect();
        assert!(envs.contains(&(
            "TF_CLI_CONFIG_FILE".into(),
            Some(dir.cli_config().to_string_lossy().into_owned())
        )));
        assert!(envs.contains(&("CHECKPOINT_DISABLE".into(), Some("1".into()))));
        assert!(envs.contains(&("TF_DATA_DIR".into(), None)));
        assert!(envs.contains(&("LIBVIRT_DEFAULT_URI".into(), None)));
        let args: Vec<_> = cmd.get_args().collect();
        assert_eq!(args, ["plan", "-no-color"]);
    }

    #[test]
    fn dropped_directories_go_and_kept_ones_stay() {
        let dir = TfDir::with_cli_config("tfrun-test", "").expect("tempdir");
        let path = dir.path().to_path_buf();
        drop(dir);
        assert!(!path.exists());
        let dir = TfDir::with_cli_config("tfrun-test", "").expect("tempdir");
        let kept = dir.keep();
        assert!(kept.join("cli.tfrc").is_file());
        std::fs::remove_dir_all(kept).expect("cleanup");
    }
}
