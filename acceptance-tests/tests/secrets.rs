//! Secrets in provider URIs (a password in the user info, secret-looking query parameters such as
//! `passphrase=` or `password=`) never reach Terraform's output, its `TF_LOG=trace` log (which carries
//! the provider's own log lines), diagnostics, or the state file.
//!
//! Every terraform command here runs with `TF_LOG=trace`, and its whole stdout and stderr are searched
//! for each secret. The lab's libvirtd uses `auth_tcp = "none"`, so it accepts and ignores the password
//! and the unknown query parameters: the connection works, and a real apply and destroy run. A URI
//! pointing at a closed port makes the connection-error path run too; its diagnostic must show the URI
//! with the secrets replaced by `***`.

use std::process::Command;
use std::time::{Duration, SystemTime};

use acceptance_tests::{hcl_string, provider_block, run_command, terraform_bin, Run, Scenario, Workdir};

/// `terraform ARGS -no-color` in `wd` with `TF_LOG=trace` (core and provider logs on stderr).
fn tf_trace(wd: &Workdir<'_>, args: &[&str]) -> Run {
    let mut cmd = Command::new(terraform_bin());
    cmd.args(args)
        .arg("-no-color")
        .current_dir(wd.path())
        .env("TF_CLI_CONFIG_FILE", wd.path().join("cli.tfrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("TF_LOG", "trace")
        .env_remove("TF_LOG_PATH")
        .env_remove("TF_LOG_CORE")
        .env_remove("TF_LOG_PROVIDER")
        .env_remove("LIBVIRT_DEFAULT_URI");
    let r = run_command(cmd, Duration::from_secs(600));
    eprintln!(
        "[secrets]     TF_LOG=trace terraform {} -> {} ({:.1} s, {} bytes of output)",
        args.join(" "),
        r.code.map_or("killed".into(), |c| c.to_string()),
        r.elapsed.as_secs_f64(),
        r.stdout.len() + r.stderr.len()
    );
    r
}

/// A run for a failure message: the command, its exit code, stdout, and the end of its (trace) stderr.
fn brief(r: &Run) -> String {
    let lines: Vec<&str> = r.stderr.lines().collect();
    let tail = lines[lines.len().saturating_sub(30)..].join("\n");
    format!(
        "$ {} (exit {:?})\n--- stdout\n{}\n--- last lines of stderr\n{tail}",
        r.command, r.code, r.stdout
    )
}

/// Distinct, unguessable-enough strings for one run.
fn secret(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("Sx{tag}{:x}Qz", nanos % 0xffff_ffff)
}

/// Panics, saying where, if any secret occurs in the command's output.
#[track_caller]
fn assert_no_secret(r: &Run, secrets: &[&str]) {
    let text = r.text();
    for s in secrets {
        if let Some(i) = text.find(s) {
            let from = text[..i].rfind('\n').map_or(0, |n| n + 1);
            let to = text[i..].find('\n').map_or(text.len(), |n| i + n);
            panic!(
                "secret {s:?} appears in the output of `{}` ({} bytes), on this line:\n{}",
                r.command,
                text.len(),
                &text[from..to]
            );
        }
    }
}

/// The provider's own trace lines are in the log: the search above covered them.
#[track_caller]
fn assert_provider_traced(r: &Run) {
    assert!(
        r.stderr.contains("provider.terraform-provider-libvirt") && r.stderr.contains("[TRACE]"),
        "no provider log lines at trace level in `{}`:\n{}",
        r.command,
        r.stderr.chars().take(3000).collect::<String>()
    );
}

#[test]
fn secrets_in_uris_never_reach_logs_diagnostics_or_state() {
    let Some(s) = Scenario::start("secrets::in_uris") else {
        return;
    };
    let lab = s.lab();
    let password = secret("pw");
    let passphrase = secret("pp");
    let query_password = secret("qp");
    let secrets = [password.as_str(), passphrase.as_str(), query_password.as_str()];
    // qemu+tcp://root:<password>@127.0.0.1:PORT/system?passphrase=<..>&password=<..>
    let authority = lab
        .uri
        .strip_prefix("qemu+tcp://")
        .expect("the lab URI is qemu+tcp://");
    let (hostport, path) = authority.split_once('/').expect("URI path");
    let uri = format!(
        "qemu+tcp://root:{password}@{hostport}/{path}?passphrase={passphrase}&password={query_password}"
    );

    // 1. A working connection: validate, plan, apply, plan again, destroy of a pool and a volume.
    let pool = s.name("pool");
    let main_tf = format!(
        "{}\nresource \"libvirt_lvm_pool\" \"p\" {{\n  name           = {}\n  source_devices = {}\n  \
         on_destroy     = \"delete\"\n}}\n\nresource \"libvirt_lvm_volume\" \"v\" {{\n  pool     = \
         libvirt_lvm_pool.p.name\n  name     = \"data\"\n  capacity = \"8MiB\"\n}}\n",
        provider_block(&format!("uri = {}", hcl_string(&uri))),
        hcl_string(&pool),
        s.devices_hcl(1)
    );
    let wd = s.workdir_raw(&main_tf);
    let validate = tf_trace(&wd, &["validate"]);
    assert!(validate.ok(), "validate failed:\n{}", brief(&validate));
    assert_no_secret(&validate, &secrets);
    let plan = tf_trace(&wd, &["plan", "-input=false"]);
    assert!(plan.ok(), "plan failed:\n{}", brief(&plan));
    assert_no_secret(&plan, &secrets);
    assert_provider_traced(&plan);
    let apply = tf_trace(&wd, &["apply", "-auto-approve", "-input=false"]);
    assert!(apply.ok(), "apply failed:\n{}", brief(&apply));
    assert_no_secret(&apply, &secrets);
    assert_provider_traced(&apply);
    assert!(
        apply.stderr.contains("libvirt call"),
        "the provider's per-call trace lines are missing"
    );
    // It really connected with that URI: the volume exists in the guest.
    assert!(
        lab.lv(&pool, "data").is_some(),
        "the volume is not on the hypervisor"
    );
    s.step("validate, plan, apply with secrets in the URI");
    // The provider configuration is not part of the state.
    let state = std::fs::read_to_string(wd.path().join("terraform.tfstate")).expect("state file");
    assert!(state.contains(&pool), "the state does not hold the pool");
    for secret in &secrets {
        assert!(
            !state.contains(secret),
            "secret {secret:?} is in terraform.tfstate"
        );
    }
    let refresh = tf_trace(&wd, &["plan", "-input=false", "-detailed-exitcode"]);
    assert_eq!(
        refresh.code,
        Some(0),
        "second plan not empty:\n{}",
        brief(&refresh)
    );
    assert_no_secret(&refresh, &secrets);
    let destroy = tf_trace(&wd, &["destroy", "-auto-approve", "-input=false"]);
    assert!(destroy.ok(), "destroy failed:\n{}", brief(&destroy));
    assert_no_secret(&destroy, &secrets);
    assert!(lab.vg(&pool).is_none(), "the VG is still there after destroy");
    for file in ["terraform.tfstate", "terraform.tfstate.backup"] {
        if let Ok(text) = std::fs::read_to_string(wd.path().join(file)) {
            for secret in &secrets {
                assert!(!text.contains(secret), "secret {secret:?} is in {file}");
            }
        }
    }
    s.step("plan, destroy");

    // 2. An unreachable hypervisor (a closed port): the error path, with the URI shown redacted.
    let dead_password = secret("dpw");
    let dead_passphrase = secret("dpp");
    let dead_secrets = [dead_password.as_str(), dead_passphrase.as_str()];
    let dead_uri = format!("qemu+tcp://root:{dead_password}@127.0.0.1:1/system?passphrase={dead_passphrase}");
    let dead_shown = "qemu+tcp://root:***@127.0.0.1:1/system?passphrase=***";
    let wd = s.workdir_raw(&format!(
        "{}\ndata \"libvirt_lvm_pool\" \"p\" {{\n  name = {}\n}}\n",
        provider_block(&format!(
            "uri = {}\n  connect_timeout = \"10s\"",
            hcl_string(&dead_uri)
        )),
        hcl_string(&pool)
    ));
    let plan = tf_trace(&wd, &["plan", "-input=false"]);
    assert_eq!(
        plan.code,
        Some(1),
        "plan against a closed port did not fail:\n{}",
        brief(&plan)
    );
    assert_no_secret(&plan, &dead_secrets);
    assert!(
        plan.text().contains(dead_shown),
        "the error does not show the redacted URI {dead_shown:?}:\n{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("Connection refused") || plan.stderr.contains("Connection refused"),
        "the error does not say why:\n{}",
        brief(&plan)
    );
    s.step("unreachable hypervisor: error with the redacted URI");

    // 3. A URI that validation refuses: the provider's message shows only the redacted form. Written
    //    literally, Terraform echoes the configuration line under the diagnostic (the user's own source
    //    text); passed through a variable, the line shows `var.uri` and the value must not be printed.
    let bad_uri =
        format!("qemu+carrier://root:{dead_password}@127.0.0.1:1/system?passphrase={dead_passphrase}");
    let literal = provider_block(&format!("uri = {}", hcl_string(&bad_uri)));
    let via_variable = format!(
        "variable \"uri\" {{\n  type    = string\n  default = {}\n}}\n\n{}",
        hcl_string(&bad_uri),
        provider_block("uri = var.uri")
    );
    for (how, provider) in [("literal", literal), ("variable", via_variable)] {
        let wd = s.workdir_raw(&format!(
            "{provider}\ndata \"libvirt_lvm_pool\" \"p\" {{\n  name = \"x\"\n}}\n"
        ));
        for cmd in [&["validate"][..], &["plan", "-input=false"][..]] {
            let r = tf_trace(&wd, cmd);
            if how == "variable" && cmd[0] == "validate" {
                // validate leaves variables unknown: the URI is checked at plan.
                assert!(r.ok(), "{how}: validate:\n{}", brief(&r));
                assert_no_secret(&r, &dead_secrets);
                continue;
            }
            assert_eq!(
                r.code,
                Some(1),
                "{how}: {cmd:?} accepted {bad_uri:?}:\n{}",
                brief(&r)
            );
            let detail = r
                .text()
                .split("Error: Invalid uri")
                .nth(1)
                .map(|b| b.split("Error: ").next().unwrap_or(b).to_string())
                .unwrap_or_default();
            assert!(
                detail.contains("qemu+carrier://root:***@127.0.0.1:1/system?passphrase=***"),
                "{how}: the diagnostic does not show the redacted URI:\n{}",
                brief(&r)
            );
            let echoed = core_echo(&r, &dead_secrets);
            if how == "variable" {
                assert_no_secret(&r, &dead_secrets);
            }
            eprintln!(
                "[secrets] invalid uri ({how}), terraform {}: the secret appears on {echoed} line(s), all of \
                 them Terraform's echo of the configuration line",
                cmd[0]
            );
        }
    }
    s.step("invalid uri: only the redacted form in the provider's diagnostic");
}

/// Terraform prints the configuration line under a diagnostic about a provider argument: that is the
/// user's own source text, printed by Terraform itself, not by the provider. Reports whether it did,
/// and checks that the provider's detail text never carries the secret.
fn core_echo(r: &Run, secrets: &[&str]) -> usize {
    let text = r.text();
    let source_lines: Vec<&str> = text
        .lines()
        .filter(|l| secrets.iter().any(|s| l.contains(s)))
        .collect();
    for l in &source_lines {
        // Only Terraform's source snippet (`  N:   uri = "..."`) may carry it.
        let t = l.trim_start_matches(['│', ' ']);
        let is_snippet = t.split_once(':').is_some_and(|(n, rest)| {
            n.chars().all(|c| c.is_ascii_digit()) && rest.trim_start().starts_with("uri")
        });
        let is_core_log = t.contains("[TRACE]") || t.contains("[DEBUG]") || t.contains("[INFO]");
        assert!(
            is_snippet && !is_core_log,
            "a secret appears outside Terraform's source snippet of the configuration:\n{l}"
        );
    }
    source_lines.len()
}
