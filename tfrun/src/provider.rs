//! Where the provider binary is: a directory named by an environment variable, or the one
//! `cargo build` reports (built once per process).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::run_command;

/// The binary's file name.
pub const BINARY: &str = "terraform-provider-libvirt";

/// Which cargo profile to build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Profile {
    /// `cargo build` (debug): what `cargo test` already built, so usually a no-op.
    Dev,
    /// `cargo build --release`: what the acceptance suite and the benchmarks run.
    Release,
}

/// The workspace root (this crate lives in `tfrun/` under it).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    root.canonicalize().unwrap_or(root)
}

/// The directory named by `$var` when it is set and non-empty (it must hold the binary), else
/// [`build`]`(profile)`.
pub fn locate_or_build(var: &str, profile: Profile) -> Result<PathBuf, String> {
    locate(var, std::env::var_os(var), profile)
}

fn locate(var: &str, value: Option<std::ffi::OsString>, profile: Profile) -> Result<PathBuf, String> {
    match value.filter(|d| !d.is_empty()) {
        Some(d) => {
            let d = PathBuf::from(d);
            if d.join(BINARY).is_file() {
                Ok(d)
            } else {
                Err(format!("{var}={} holds no {BINARY}", d.display()))
            }
        }
        None => build(profile),
    }
}

/// Builds the provider binary with `profile` (once per process and profile; cargo makes it a
/// no-op when it is up to date) and returns the directory cargo reports for the executable, so
/// `CARGO_TARGET_DIR` and the like are honoured.
pub fn build(profile: Profile) -> Result<PathBuf, String> {
    /// Each profile's outcome, once built.
    type Built = Vec<(Profile, Result<PathBuf, String>)>;
    static BUILT: OnceLock<Mutex<Built>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    // Held while building: two tests asking at once get one build.
    let mut built = built.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, r)) = built.iter().find(|(p, _)| *p == profile) {
        return r.clone();
    }
    let r = cargo_build(profile);
    built.push((profile, r.clone()));
    r
}

fn cargo_build(profile: Profile) -> Result<PathBuf, String> {
    let t0 = Instant::now();
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.args([
        "build",
        "-p",
        BINARY,
        "--bin",
        BINARY,
        "--message-format=json-render-diagnostics",
    ])
    .current_dir(workspace_root());
    if profile == Profile::Release {
        cmd.arg("--release");
    }
    let run = run_command(cmd, Duration::from_secs(1800));
    if !run.ok() {
        return Err(format!("building the provider failed:\n{run}"));
    }
    let dir = executable_dir(&run.stdout)
        .ok_or_else(|| format!("cargo reported no executable for {BINARY}:\n{run}"))?;
    eprintln!(
        "[tfrun] provider: {}/{BINARY} ({profile:?}, cargo build {:.1} s)",
        dir.display(),
        t0.elapsed().as_secs_f64()
    );
    Ok(dir)
}

/// The directory of the provider's executable in cargo's JSON messages.
fn executable_dir(messages: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == BINARY)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_in_cargos_messages() {
        let messages = r#"{"reason":"compiler-artifact","target":{"name":"libc"},"executable":null}
not json
{"reason":"compiler-artifact","target":{"name":"terraform-provider-libvirt","kind":["lib"]},"executable":null}
{"reason":"compiler-artifact","target":{"name":"terraform-provider-libvirt","kind":["bin"]},"executable":"/t/release/terraform-provider-libvirt"}
{"reason":"build-finished","success":true}"#;
        assert_eq!(executable_dir(messages), Some(PathBuf::from("/t/release")));
        assert_eq!(executable_dir("{\"reason\":\"build-finished\"}"), None);
    }

    #[test]
    fn a_variable_must_name_a_directory_with_the_binary() {
        let empty = tempfile::tempdir().expect("tempdir");
        let value = || Some(empty.path().as_os_str().to_owned());
        let e = locate("X_DIR", value(), Profile::Dev).expect_err("no binary there");
        assert!(
            e.starts_with("X_DIR=") && e.contains("holds no terraform-provider-libvirt"),
            "{e}"
        );
        std::fs::write(empty.path().join(BINARY), "").expect("fake binary");
        assert_eq!(
            locate("X_DIR", value(), Profile::Dev),
            Ok(empty.path().to_path_buf())
        );
    }
}
