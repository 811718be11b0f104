//! [`Workdir`]: a temporary Terraform working directory of a scenario, on the shared runner
//! ([`tfrun::TfDir`]: `dev_overrides` at the built provider, no `terraform init`), with one method
//! per terraform command.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use tfrun::TfDir;

use crate::lab::Lab;
use crate::provider::provider_dir;
use crate::{log, run_command, Background, Run, TF_TIMEOUT};

/// A temporary Terraform working directory. Dropping it runs `terraform destroy` when its state still
/// holds resources (the scenario's own direct cleanup follows). It borrows its scenario's prefix,
/// so it cannot outlive the scenario whose cleanup comes after its destroy.
pub struct Workdir<'s> {
    dir: Option<TfDir>,
    lab: &'static Lab,
    /// The provider block and `required_providers` that [`Workdir::write`] puts first.
    provider_block: String,
    _prefix: &'s str,
}

impl<'s> Workdir<'s> {
    /// A new directory named after `prefix` (the scenario's) on `lab`.
    pub(crate) fn new(lab: &'static Lab, prefix: &'s str, provider_block: String) -> Workdir<'s> {
        let dir = TfDir::new(&format!("{prefix}-"), provider_dir())
            .unwrap_or_else(|e| panic!("a temporary terraform directory: {e}"));
        Workdir {
            dir: Some(dir),
            lab,
            provider_block,
            _prefix: prefix,
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.as_ref().expect("workdir").path()
    }

    /// Replaces main.tf with the provider block followed by `body`.
    pub fn write(&self, body: &str) {
        self.write_raw(&format!("{}\n{body}", self.provider_block));
    }

    /// Replaces main.tf with exactly `main_tf`.
    pub fn write_raw(&self, main_tf: &str) {
        std::fs::write(self.path().join("main.tf"), main_tf).expect("write main.tf");
    }

    /// Runs `terraform ARGS` here (with `-no-color`; add `-input=false` yourself where the command
    /// takes it: the helpers below do).
    pub fn tf(&self, args: &[&str]) -> Run {
        self.tf_timeout(args, TF_TIMEOUT)
    }

    /// [`Workdir::tf`] with a timeout.
    pub fn tf_timeout(&self, args: &[&str], timeout: Duration) -> Run {
        let run = run_command(self.tf_command(args), timeout);
        log(format!(
            "    terraform {} -> {} ({:.1} s)",
            args.join(" "),
            run.code.map_or("killed".into(), |c| c.to_string()),
            run.elapsed.as_secs_f64()
        ));
        run
    }

    /// [`Workdir::tf`] with extra environment variables for terraform and the provider it starts
    /// (set after the runner's own, so they win: the runner removes `LIBVIRT_DEFAULT_URI`, and
    /// `("LIBVIRT_DEFAULT_URI", uri)` puts it back for one command).
    pub fn tf_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut cmd = self.tf_command(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let run = run_command(cmd, TF_TIMEOUT);
        log(format!(
            "    {} terraform {} -> {} ({:.1} s)",
            env.iter()
                .map(|(k, _)| format!("{k}=…"))
                .collect::<Vec<_>>()
                .join(" "),
            args.join(" "),
            run.code.map_or("killed".into(), |c| c.to_string()),
            run.elapsed.as_secs_f64()
        ));
        run
    }

    /// Starts `terraform ARGS` here in the background (for faults injected while it runs); wait
    /// for it with [`Background::wait`].
    pub fn spawn_tf(&self, args: &[&str]) -> Background {
        log(format!(
            "    terraform {} (started in the background)",
            args.join(" ")
        ));
        Background::spawn(self.tf_command(args))
    }

    fn tf_command(&self, args: &[&str]) -> Command {
        let mut all = args.to_vec();
        all.push("-no-color");
        self.dir.as_ref().expect("workdir").command(&all)
    }

    /// `terraform validate` (not asserted).
    pub fn validate(&self) -> Run {
        self.tf(&["validate"])
    }

    /// `terraform apply -auto-approve -input=false EXTRA...` (not asserted).
    pub fn try_apply(&self, extra: &[&str]) -> Run {
        let mut args = vec!["apply", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        self.tf(&args)
    }

    /// `terraform apply -auto-approve`, asserted to succeed.
    #[track_caller]
    pub fn apply(&self) -> Run {
        self.try_apply(&[]).expect_ok()
    }

    /// `terraform apply -auto-approve -parallelism=N`, asserted to succeed.
    #[track_caller]
    pub fn apply_parallel(&self, n: u32) -> Run {
        self.try_apply(&[&format!("-parallelism={n}")]).expect_ok()
    }

    /// `terraform plan -detailed-exitcode -input=false` (not asserted).
    pub fn plan_detailed(&self) -> Run {
        self.tf(&["plan", "-detailed-exitcode", "-input=false"])
    }

    /// The exit code of `terraform plan -detailed-exitcode`: 0 no changes, 1 error, 2 changes.
    pub fn plan_exitcode(&self) -> i32 {
        self.plan_detailed().code.unwrap_or(-1)
    }

    /// Asserts `terraform plan -detailed-exitcode` exits with `code`; returns the run.
    #[track_caller]
    pub fn expect_plan(&self, code: i32) -> Run {
        let r = self.plan_detailed();
        assert_eq!(
            r.code,
            Some(code),
            "plan -detailed-exitcode: expected {code} ({}):\n{r}",
            match code {
                0 => "no changes",
                2 => "changes",
                _ => "error",
            }
        );
        r
    }

    /// The text of `terraform plan` (stdout and stderr, whatever the exit code).
    pub fn plan_output(&self) -> String {
        self.tf(&["plan", "-input=false"]).text()
    }

    /// `terraform destroy -auto-approve -input=false EXTRA...` (not asserted).
    pub fn try_destroy(&self, extra: &[&str]) -> Run {
        let mut args = vec!["destroy", "-auto-approve", "-input=false"];
        args.extend_from_slice(extra);
        self.tf(&args)
    }

    /// `terraform destroy -auto-approve`, asserted to succeed.
    #[track_caller]
    pub fn destroy(&self) -> Run {
        self.try_destroy(&[]).expect_ok()
    }

    /// `terraform import -input=false ADDR ID` (not asserted).
    pub fn try_import(&self, addr: &str, id: &str) -> Run {
        self.tf(&["import", "-input=false", addr, id])
    }

    /// `terraform import ADDR ID`, asserted to succeed.
    #[track_caller]
    pub fn import(&self, addr: &str, id: &str) -> Run {
        self.try_import(addr, id).expect_ok()
    }

    /// `terraform state rm ADDR`, asserted to succeed.
    #[track_caller]
    pub fn state_rm(&self, addr: &str) -> Run {
        self.tf(&["state", "rm", addr]).expect_ok()
    }

    /// `terraform show -json`, parsed.
    #[track_caller]
    pub fn show_json(&self) -> serde_json::Value {
        let r = self.tf(&["show", "-json"]).expect_ok();
        serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("show -json is not JSON ({e}):\n{r}"))
    }

    /// The addresses of the resources in the state.
    pub fn state_addresses(&self) -> Vec<String> {
        let v = self.show_json();
        v["values"]["root_module"]["resources"]
            .as_array()
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r["address"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// One attribute of one resource in the state (`Null` when absent).
    #[track_caller]
    pub fn state_attr(&self, addr: &str, attr: &str) -> serde_json::Value {
        let v = self.show_json();
        let resources = v["values"]["root_module"]["resources"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let r = resources
            .iter()
            .find(|r| r["address"] == addr)
            .unwrap_or_else(|| panic!("{addr} is not in the state: {v}"));
        r["values"][attr].clone()
    }

    /// A string attribute of a resource in the state.
    #[track_caller]
    pub fn state_str(&self, addr: &str, attr: &str) -> String {
        match self.state_attr(addr, attr) {
            serde_json::Value::String(s) => s,
            other => panic!("{addr}.{attr} is not a string: {other}"),
        }
    }

    /// Whether the local state file lists any resource.
    fn state_has_resources(&self) -> bool {
        let Ok(text) = std::fs::read_to_string(self.path().join("terraform.tfstate")) else {
            return false;
        };
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["resources"].as_array().map(|a| !a.is_empty()))
            .unwrap_or(true)
    }
}

impl Drop for Workdir<'_> {
    fn drop(&mut self) {
        if let Some(why) = self.lab.unusable() {
            log(format!("no terraform destroy: the lab is unusable ({why})"));
        } else if self.state_has_resources() {
            let r = self.tf_timeout(
                &["destroy", "-auto-approve", "-input=false"],
                Duration::from_secs(300),
            );
            if !r.ok() {
                log(format!(
                    "cleanup: terraform destroy failed (direct cleanup follows):\n{r}"
                ));
            }
        }
        if std::thread::panicking() && std::env::var("ACCEPTANCE_KEEP").as_deref() == Ok("1") {
            if let Some(d) = self.dir.take() {
                log(format!("kept work directory {}", d.keep().display()));
            }
        }
    }
}
