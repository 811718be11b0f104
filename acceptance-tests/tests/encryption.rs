//! Encryption at rest on the lab: a LUKS volume made through libvirt with a passphrase given as a
//! write-only argument (Terraform 1.11), opened by a running domain, imported (the secret that
//! opens it recorded as the configuration's `secret_uuid`, which the destroy then leaves),
//! attached again once libvirt has forgotten its `<encryption>` (the secret found by the volume's
//! path), grown online through LVM's tools (the guest sees the payload: the LV less its header),
//! and the passphrase in no file Terraform wrote (state, plan, outputs, the `TF_LOG=trace` log
//! that carries the provider's own lines).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use acceptance_tests::{DomainOpts, Lab, Run, Scenario, Workdir};

const MIB: u64 = 1 << 20;
/// What the provider counts for the LUKS1 header and key material before the payload of a LUKS
/// volume libvirt made (the header's own payload offset is read in the guest).
const LUKS_HEADER: u64 = 2 * MIB;

/// A passphrase no earlier run used, given to Terraform only through the environment
/// (`TF_VAR_passphrase`), so no file holds it unless Terraform or the provider wrote it there.
fn passphrase() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("Lk{:x}Pz", nanos % 0xffff_ffff_ffff)
}

/// `terraform ARGS` with the passphrase in the environment and a trace log in `log` (in the
/// workdir); stdout and stderr are kept in the workdir too (`<log>.out`), to be searched.
fn tf_logged(wd: &Workdir<'_>, args: &[&str], pass: &str, log: &str) -> Run {
    let log_path = wd.path().join(log);
    let log_path = log_path.to_string_lossy().into_owned();
    let r = wd.tf_env(
        args,
        &[
            ("TF_VAR_passphrase", pass),
            ("TF_LOG", "trace"),
            ("TF_LOG_PATH", &log_path),
        ],
    );
    let out = wd.path().join(format!("{log}.out"));
    std::fs::write(&out, r.text()).expect("keep the command's output");
    r
}

/// Whether the LUKS header of `dev` opens with `pass` (`cryptsetup open --test-passphrase`).
fn opens_with(lab: &Lab, dev: &str, pass: &str) -> bool {
    lab.ssh(&format!(
        "printf %s '{pass}' | cryptsetup open --test-passphrase --key-file=- {dev}"
    ))
    .0 == 0
}

/// `terraform plan -detailed-exitcode` (logged as `log`) says there is nothing to change.
#[track_caller]
fn assert_clean_plan(wd: &Workdir<'_>, pass: &str, log: &str) {
    let r = tf_logged(wd, &["plan", "-input=false", "-detailed-exitcode"], pass, log);
    assert_eq!(r.code, Some(0), "not a clean plan ({log}):\n{}", r.text());
}

/// Every regular file under `dir` whose content holds `needle`.
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).expect("read the workdir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                if bytes.windows(needle.len()).any(|w| w == needle.as_bytes()) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found
}

#[test]
fn encryption_luks_volume_with_write_only_passphrase_opened_by_a_domain() {
    let Some(s) = Scenario::start("encryption::luks_volume_with_write_only_passphrase") else {
        return;
    };
    let lab = s.lab();
    let pool = s.name("pool");
    let dom = s.domain("vm", DomainOpts::running());
    let before = dom.runtime();
    let pass = passphrase();
    let body = format!(
        r#"
# Ephemeral (Terraform 1.10+): a saved plan records the values of ordinary input variables,
# sensitive ones included, so a passphrase must come from an ephemeral variable (or resource).
variable "passphrase" {{
  type      = string
  sensitive = true
  ephemeral = true
  # Only the scenario's own commands give the passphrase; a clean-up destroy needs none.
  default   = "not-the-passphrase"
}}

resource "libvirt_lvm_pool" "p" {{
  name           = "{pool}"
  source_devices = {devices}
  on_destroy     = "delete"
  force_destroy  = true
}}

resource "libvirt_lvm_volume" "enc" {{
  pool     = libvirt_lvm_pool.p.name
  name     = "enc"
  capacity = "32MiB"
  encryption {{
    format                = "luks"
    passphrase_wo         = var.passphrase
    passphrase_wo_version = 1
  }}
}}

resource "libvirt_disk_attachment" "d" {{
  domain    = "{domain}"
  volume_id = libvirt_lvm_volume.enc.id
  target    = "sdb"
}}
"#,
        devices = s.devices_hcl(1),
        domain = dom.name,
    );
    let wd = s.workdir(&body);

    tf_logged(&wd, &["plan", "-input=false", "-out=tfplan"], &pass, "plan.log").expect_ok();
    let shown = tf_logged(&wd, &["show", "-json", "tfplan"], &pass, "show-plan.log").expect_ok();
    std::fs::write(wd.path().join("plan.json"), &shown.stdout).expect("keep the plan");
    s.step("plan");
    tf_logged(&wd, &["apply", "-input=false", "tfplan"], &pass, "apply.log").expect_ok();
    s.step("apply");

    // The LV starts with a LUKS header, made by libvirt (qemu-img) with this passphrase.
    let dev = format!("/dev/{pool}/enc");
    let dump = lab.ssh_ok(&format!("cryptsetup luksDump {dev}"));
    assert!(dump.contains("LUKS header information"), "{dump}");
    assert!(
        opens_with(lab, &dev, &pass),
        "the LUKS header does not open with the configured passphrase"
    );
    assert!(
        !opens_with(lab, &dev, &format!("not-{pass}")),
        "the LUKS header opens with a wrong passphrase"
    );

    // State: the provider's secret, no passphrase.
    let enc = wd.state_attr("libvirt_lvm_volume.enc", "encryption");
    let enc = if enc.is_array() { enc[0].clone() } else { enc };
    assert!(enc["passphrase_wo"].is_null(), "passphrase in state: {enc}");
    let uuid = enc["secret_uuid"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret_uuid in state: {enc}"))
        .to_string();
    let secrets = lab.virsh_ok(&["secret-list"]);
    assert!(
        secrets.contains(&uuid) && secrets.contains(&dev),
        "secret {uuid} for {dev} not in:\n{secrets}"
    );

    // The running domain opened it: the live disk names the secret inside its source.
    let disk = dom.disk("sdb", false).expect("live sdb");
    assert!(
        disk.contains("<encryption format='luks'") && disk.contains(&format!("uuid='{uuid}'")),
        "no LUKS encryption with secret {uuid} in the live disk:\n{disk}"
    );
    dom.assert_not_restarted(&before);
    assert_clean_plan(&wd, &pass, "replan.log");
    s.step("checked in the guest and the domain");

    // A new passphrase with a new version: libvirt cannot re-key the LUKS header, so the apply
    // refuses before changing anything (a secret holding the new passphrase would no longer open
    // the volume).
    let lv = lab.lv(&pool, "enc").expect("the LV");
    let pass2 = format!("Rt{}", &pass[2..]);
    wd.write(&body.replace("passphrase_wo_version = 1", "passphrase_wo_version = 2"));
    // The LV is still the one made above (after `step`).
    let same_lv = |step: &str| {
        assert_eq!(
            lab.lv(&pool, "enc").map(|l| l.uuid),
            Some(lv.uuid.clone()),
            "the LV changed ({step})"
        );
    };
    // An apply refused with `summary`, the LV the same one after it.
    let refused_apply = |pass: &str, log: &str, summary: &str| {
        let r = tf_logged(&wd, &["apply", "-auto-approve", "-input=false"], pass, log);
        assert!(
            !r.ok() && r.text().contains(summary),
            "the apply ({log}) was not refused with {summary:?}:\n{}",
            r.text()
        );
        same_lv(log);
    };
    refused_apply(&pass2, "rotate.log", "Passphrase Cannot Be Rotated In Place");
    assert!(
        opens_with(lab, &dev, &pass),
        "the volume no longer opens with its passphrase after the refusal"
    );
    assert!(
        lab.virsh_ok(&["secret-list"]).contains(&uuid),
        "the secret went with the refusal"
    );
    wd.write(&body);
    s.step("a new passphrase_wo_version refused, nothing changed");

    // Import: the encrypted volume forgotten, then imported by pool and name. The import records
    // the secret that opens it, as the user's (a secret_uuid), never a passphrase.
    tf_logged(
        &wd,
        &["state", "rm", "libvirt_lvm_volume.enc"],
        &pass,
        "state-rm.log",
    )
    .expect_ok();
    let id = format!("{pool}/enc");
    tf_logged(
        &wd,
        &["import", "-input=false", "libvirt_lvm_volume.enc", &id],
        &pass,
        "import.log",
    )
    .expect_ok();
    let enc = wd.state_attr("libvirt_lvm_volume.enc", "encryption");
    let enc = if enc.is_array() { enc[0].clone() } else { enc };
    assert_eq!(enc["format"].as_str(), Some("luks"), "imported: {enc}");
    assert_eq!(
        enc["secret_uuid"].as_str(),
        Some(uuid.as_str()),
        "imported: {enc}"
    );
    assert!(
        enc["passphrase_wo"].is_null() && enc["passphrase_wo_version"].is_null(),
        "an imported volume's secret is not the provider's: {enc}"
    );
    assert_eq!(
        wd.state_str("libvirt_lvm_volume.enc", "id"),
        lv.uuid,
        "the imported id is the LV's UUID"
    );
    // The configuration still gives a passphrase: that would replace the volume, so the plan warns
    // and the apply refuses, before anything changes.
    let warned = tf_logged(&wd, &["plan", "-input=false"], &pass, "import-plan.log").expect_ok();
    assert!(
        warned.text().contains("Encrypted Volume Keeps Its Secret")
            && !warned.text().contains("must be replaced"),
        "the plan for a passphrase_wo on the imported volume:\n{}",
        warned.text()
    );
    refused_apply(&pass, "import-apply.log", "Encrypted Volume Keeps Its Secret");
    // Said as the refusal says: the existing secret. The plan is clean.
    let kept = body.replace(
        "passphrase_wo         = var.passphrase\n    passphrase_wo_version = 1",
        &format!("secret_uuid = \"{uuid}\""),
    );
    assert_ne!(kept, body, "the configuration's passphrase lines moved");
    wd.write(&kept);
    assert_clean_plan(&wd, &pass, "import-replan.log");
    same_lv("import-replan.log");
    s.step("import: secret_uuid recorded, a passphrase refused, the existing secret a clean plan");

    // The import refreshed the pool, after which libvirt's logical backend no longer shows the
    // volume's <encryption>: an attachment made now finds the secret by the volume's path (the
    // lookup that read the secret's usage and, before the fix, aborted the provider).
    let lv_xml = lab.vol_xml(&pool, "enc").unwrap_or_default();
    assert!(
        lv_xml.contains("<volume") && !lv_xml.contains("<encryption"),
        "the premise of this step: after a refresh libvirt shows no <encryption> for the volume:\n{lv_xml}"
    );
    tf_logged(
        &wd,
        &[
            "apply",
            "-auto-approve",
            "-input=false",
            "-replace=libvirt_disk_attachment.d",
        ],
        &pass,
        "reattach.log",
    )
    .expect_ok();
    let disk = dom.disk("sdb", false).expect("live sdb after the new attachment");
    assert!(
        disk.contains("<encryption format='luks'") && disk.contains(&format!("uuid='{uuid}'")),
        "the attachment made after the refresh does not open the volume with secret {uuid}:\n{disk}\n\
         (the volume's XML: {lv_xml})"
    );
    dom.assert_not_restarted(&before);
    s.step("attached again after the refresh: the live disk names the secret");

    // Grown through LVM's tools while the running domain has it open: the LV gets room for the
    // LUKS header besides the new capacity, and the guest is told the payload, the LV less its
    // header (told the LV's own size, QEMU would have to grow the device past its end).
    let grown = kept.replace("capacity = \"32MiB\"", "capacity = \"48MiB\"");
    assert_ne!(grown, kept, "the configuration's capacity line moved");
    wd.write_raw(&format!("{}\n{grown}", lab.provider_with_lvm_tools("")));
    tf_logged(
        &wd,
        &["apply", "-auto-approve", "-input=false"],
        &pass,
        "grow.log",
    )
    .expect_ok();
    let now = lab.lv(&pool, "enc").expect("the LV after the grow");
    assert_eq!(now.uuid, lv.uuid, "the grow replaced the LV");
    assert!(
        now.size >= 48 * MIB + LUKS_HEADER,
        "the LV ({} bytes) has no room for 48 MiB and the header",
        now.size
    );
    // What the guest sees is the LV less the payload offset the header itself gives (4040 sectors
    // for the LUKS1 header qemu-img writes: within the 2 MiB the provider counts).
    let dump = lab.ssh_ok(&format!("cryptsetup luksDump {dev}"));
    let offset: u64 = dump
        .lines()
        .find_map(|l| l.strip_prefix("Payload offset:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no payload offset in the LUKS header:\n{dump}"));
    assert!(
        offset * 512 <= LUKS_HEADER,
        "a payload offset of {offset} sectors"
    );
    assert_eq!(
        lab.live_capacity(&dom.name, "sdb"),
        now.size - offset * 512,
        "the guest does not see the payload of the {}-byte LV (payload offset {offset} sectors)",
        now.size
    );
    dom.assert_not_restarted(&before);
    assert!(
        opens_with(lab, &dev, &pass),
        "the grown volume no longer opens with its passphrase"
    );
    assert_clean_plan(&wd, &pass, "grow-replan.log");
    s.step("grown online: the LV holds 48 MiB and the header, the guest sees the payload");

    tf_logged(
        &wd,
        &["destroy", "-auto-approve", "-input=false"],
        &pass,
        "destroy.log",
    )
    .expect_ok();
    s.step("destroy");
    assert!(lab.lv(&pool, "enc").is_none(), "the LV outlived its destroy");
    // The secret now belongs to the configuration (secret_uuid), not to the volume: it stays.
    let secrets = lab.virsh_ok(&["secret-list"]);
    assert!(
        secrets.contains(&uuid),
        "the destroy undefined secret {uuid}, which the configuration named as its own:\n{secrets}"
    );
    lab.virsh_ok(&["secret-undefine", &uuid]);

    // Nothing Terraform or the provider wrote holds the passphrase: the state and its backup,
    // the plan file and its JSON, every command's output and trace log.
    let logged = std::fs::read_to_string(wd.path().join("apply.log")).unwrap_or_default();
    assert!(
        logged.contains("provider.terraform-provider-libvirt"),
        "the trace log has no provider lines"
    );
    for p in [&pass, &pass2] {
        let leaks = files_holding(wd.path(), p);
        assert!(leaks.is_empty(), "the passphrase {p} is in {leaks:?}");
    }
}
