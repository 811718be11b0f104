//! Terraform: the sequence's work directory, its state file, and what a run's output says.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use crate::hcl::{hcl_string, provider_block};
use crate::provider::provider_dir;
use crate::{run_command, Run};

/// Terraform's state, read from the state file (resource address → attributes).
#[derive(Clone, Debug, Default)]
pub(crate) struct TfState {
    pub(crate) res: BTreeMap<String, serde_json::Value>,
}

impl TfState {
    pub(crate) fn read(dir: &Path) -> TfState {
        let Ok(text) = std::fs::read_to_string(dir.join("terraform.tfstate")) else {
            return TfState::default();
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let mut res = BTreeMap::new();
        for r in v["resources"].as_array().into_iter().flatten() {
            if r["mode"] != "managed" {
                continue;
            }
            let addr = format!(
                "{}.{}",
                r["type"].as_str().unwrap_or_default(),
                r["name"].as_str().unwrap_or_default()
            );
            if let Some(i) = r["instances"].as_array().and_then(|a| a.first()) {
                res.insert(addr, i["attributes"].clone());
            }
        }
        TfState { res }
    }

    pub(crate) fn pools(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.res
            .iter()
            .filter(|(a, _)| a.starts_with("libvirt_lvm_pool."))
            .map(|(a, v)| (a.as_str(), v))
    }
}

/// A Terraform working directory (the shared runner's, `dev_overrides` at the built provider) with
/// the provider block of the hypervisor under test.
pub(crate) struct TfDir {
    pub(crate) dir: tfrun::TfDir,
    pub(crate) header: String,
    pub(crate) timeout: Duration,
}

impl TfDir {
    pub(crate) fn new(provider_uri: &str, timeout: Duration) -> TfDir {
        TfDir {
            dir: tfrun::TfDir::new("tpl-sequence-", provider_dir()).expect("temporary directory"),
            header: provider_block(&format!("uri = {}", hcl_string(provider_uri))),
            timeout,
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn write(&self, body: &str) {
        self.dir
            .write_main(&format!("{}\n{body}", self.header))
            .expect("write main.tf");
    }

    pub(crate) fn run(&self, args: &[String]) -> Run {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.push("-no-color");
        let mut cmd = self.dir.command(&args);
        if std::env::var_os("TF_LOG").is_none() {
            cmd.env_remove("TF_LOG");
        }
        run_command(cmd, self.timeout)
    }

    pub(crate) fn state(&self) -> TfState {
        TfState::read(self.path())
    }
}

/// The first `Error: …` line of a run, for the step log.
pub(crate) fn first_error(run: &Run) -> String {
    run.text()
        .lines()
        .find_map(|l| l.trim_start_matches(['│', ' ']).strip_prefix("Error: "))
        .map(str::to_string)
        .unwrap_or_else(|| {
            if run.code.is_none() {
                "killed (timeout)".into()
            } else {
                String::new()
            }
        })
}

/// Output that looks like a provider defect rather than a refusal.
pub(crate) fn provider_bug(run: &Run) -> Option<String> {
    const SIGNS: [&str; 7] = [
        "panicked at",
        "Provider produced inconsistent",
        "Provider produced invalid",
        "Provider returned invalid result",
        "produced an unexpected new value",
        "The plugin encountered an error",
        "Plugin did not respond",
    ];
    let text = run.text();
    SIGNS.iter().find(|s| text.contains(*s)).map(|s| {
        let line = text
            .lines()
            .find(|l| l.contains(s))
            .unwrap_or_default()
            .trim_start_matches(['│', ' ']);
        format!("{s}: {line}")
    })
}

/// Terraform output for the log, without the dev_overrides warning every command prints.
pub(crate) fn indent(text: &str) -> String {
    let mut skipping = false;
    text.lines()
        .filter(|l| {
            if l.contains("Warning: Provider development overrides are in effect") {
                skipping = true;
            }
            let keep = !skipping && !l.trim().is_empty();
            if skipping && l.contains("releases.") {
                skipping = false;
            }
            keep
        })
        .map(|l| format!("      | {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The addresses whose destroy Terraform started in this output (`ADDR: Destroying... [id=…]`,
/// printed before the provider is asked, whatever the outcome).
pub(crate) fn destroys_started(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim_start_matches(['│', ' ']);
            let (addr, rest) = l.split_once(": Destroying...")?;
            (rest.is_empty() || rest.starts_with(' ')).then(|| addr.trim().to_string())
        })
        .filter(|a| !a.is_empty() && !a.contains(' '))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destroys_are_read_from_terraforms_output() {
        let out = "libvirt_disk_attachment.a0: Destroying... [id=1f2e/sdb]\n\
                   libvirt_disk_attachment.a0: Destruction complete after 1s\n\
                   libvirt_lvm_volume.v0: Destroying... [id=abc-def]\n\
                   libvirt_lvm_pool.p0: Refreshing state... [id=P]\n\
                   │ Error: Volume Is Attached To A Domain\n\
                   Plan: 0 to add, 0 to change, 2 to destroy.\n";
        let got: Vec<String> = destroys_started(out).into_iter().collect();
        assert_eq!(got, ["libvirt_disk_attachment.a0", "libvirt_lvm_volume.v0"]);
        assert!(destroys_started("libvirt_lvm_pool.p0: Creating...\n").is_empty());
    }
}
