//! Invalid configurations: each is refused with an error diagnostic that names the attribute and says
//! what would be valid, at `terraform validate` when the configuration alone shows the mistake, and at
//! apply, before anything changes, when it takes a look at the hypervisor. The plan shows those as
//! warnings with the same summary: Terraform runs a normal plan before every `terraform destroy`, and
//! an error there would block destroying everything else (data sources, which exist to fail when what
//! they look up is missing, are refused at plan). Some are only known at apply (a pool that the same
//! apply might create, a device path that only the build can try). Nothing
//! appears on the hypervisor: volume groups, physical volumes and logical volumes (with UUIDs), every
//! pool's state, autostart, saved definition and volumes, and every domain's state, autostart, saved
//! definition and live XML are compared before and after, in the guest.
//!
//! One test per family (the provider block, each resource, the data sources), a table of cases, each
//! case in its own work directory. Each test ends with a line `validation: <family>: <n> cases
//! refused`.

use acceptance_tests::{hcl_string, provider_block, DomainOpts, Run, Scenario, Snapshot, Workdir};

/// The earliest terraform command that can refuse a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// `terraform validate`: the configuration alone is wrong.
    Validate,
    /// `terraform plan`: a data source that finds nothing.
    Plan,
    /// Wrong given what exists on the hypervisor: the plan warns (same summary), the apply refuses.
    PlanWarnsApplyRefuses,
    /// `terraform apply`: only trying can tell (the plan passes).
    Apply,
}

/// One invalid configuration.
struct Case {
    what: &'static str,
    /// Resource blocks (after the provider block), or the whole main.tf when `raw`.
    body: String,
    raw: bool,
    /// The diagnostic's summary.
    summary: &'static str,
    /// The attribute it is about.
    attr: &'static str,
    /// What would be valid: each must appear in the diagnostic's detail.
    valid: &'static [&'static str],
    /// Where it must be refused.
    stage: Stage,
}

fn case(
    what: &'static str,
    body: String,
    summary: &'static str,
    attr: &'static str,
    valid: &'static [&'static str],
) -> Case {
    Case {
        what,
        body,
        raw: false,
        summary,
        attr,
        valid,
        stage: Stage::Validate,
    }
}

impl Case {
    /// Refused at `stage` instead of at validate.
    fn at(self, stage: Stage) -> Case {
        Case { stage, ..self }
    }

    /// `body` is the whole main.tf (it brings its own provider block).
    fn raw(self) -> Case {
        Case { raw: true, ..self }
    }
}

/// What the hypervisor holds ([`Lab::snapshot`](acceptance_tests::Lab::snapshot)): VGs, PVs and
/// LVs with their UUIDs, every pool's state, autostart, saved definition and volumes, every
/// domain's state, autostart, saved definition and live XML.
fn hypervisor(s: &Scenario) -> Snapshot {
    s.lab().snapshot()
}

/// Runs every case and checks: refused at its stage, the summary, the attribute, what would be
/// valid, nothing in the state, nothing changed on the hypervisor. Prints the family's count.
fn refuse_all(s: &Scenario, family: &str, cases: &[Case]) {
    let before = hypervisor(s);
    let mut failures = Vec::new();
    for c in cases {
        let wd = if c.raw {
            s.workdir_raw(&c.body)
        } else {
            s.workdir(&c.body)
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let r = run_to_refusal(c, &wd);
            check(c, &wd, &r);
            if c.stage != Stage::Validate {
                // These talked to the hypervisor: check it after each one.
                before.assert_unchanged(&hypervisor(s), c.what);
            }
        }));
        match outcome {
            Ok(()) => s.step(&format!("{}: {} at {:?}", c.what, c.summary, c.stage)),
            Err(e) => {
                let why = e
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                failures.push(format!("{}: {why}", c.what));
            }
        }
    }
    before.assert_unchanged(&hypervisor(s), family);
    assert!(
        failures.is_empty(),
        "{} of {} cases were not refused as expected:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
    println!("validation: {family}: {} cases refused", cases.len());
}

/// Runs validate, then plan, then apply, as far as the case's stage, asserting that the commands
/// before it pass.
fn run_to_refusal(c: &Case, wd: &Workdir<'_>) -> Run {
    let validate = wd.validate();
    if c.stage == Stage::Validate {
        return validate;
    }
    assert!(
        validate.ok(),
        "{}: refused at validate, not at {:?}:\n{validate}",
        c.what,
        c.stage
    );
    let plan = wd.plan_detailed();
    if c.stage == Stage::Plan {
        return plan;
    }
    assert_eq!(
        plan.code,
        Some(2),
        "{}: the plan should pass (changes):\n{plan}",
        c.what
    );
    if c.stage == Stage::PlanWarnsApplyRefuses {
        assert!(
            normalize(&plan.text()).contains(&normalize(&format!("Warning: {}", c.summary))),
            "{}: the plan does not warn {:?}:\n{plan}",
            c.what,
            c.summary
        );
    }
    wd.try_apply(&[])
}

/// Whitespace collapsed and the box-drawing margin Terraform draws around diagnostics removed, so
/// text that Terraform wrapped over several lines still matches.
fn normalize(s: &str) -> String {
    s.replace(['│', '╷', '╵'], " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn check(c: &Case, wd: &Workdir<'_>, r: &Run) {
    assert_eq!(r.code, Some(1), "{}: not refused at {:?}:\n{r}", c.what, c.stage);
    // Terraform points at the attribute's line when the attribute is written in the configuration;
    // otherwise the detail must name it.
    let written = c.body.lines().any(|l| {
        l.trim_start()
            .strip_prefix(c.attr)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
    });
    if written {
        r.expect_diagnostic(c.summary, c.attr);
    } else {
        r.expect_mentions(&[&format!("Error: {}", c.summary), c.attr]);
    }
    // The diagnostic (one of those with this summary) says what would be valid.
    let text = r.text();
    let blocks: Vec<String> = text
        .split("Error: ")
        .skip(1)
        .filter(|b| b.starts_with(c.summary))
        .map(normalize)
        .collect();
    assert!(
        blocks
            .iter()
            .any(|b| c.valid.iter().all(|v| b.contains(&normalize(v)))),
        "{}: the diagnostic {:?} does not say what would be valid ({:?}):\n{r}",
        c.what,
        c.summary,
        c.valid
    );
    assert!(!c.valid.is_empty(), "{}: no valid values listed", c.what);
    // Nothing entered the state (terraform writes no state file when nothing was applied).
    if let Ok(state) = std::fs::read_to_string(wd.path().join("terraform.tfstate")) {
        let v: serde_json::Value = serde_json::from_str(&state).expect("state is JSON");
        assert!(
            v["resources"].as_array().is_none_or(Vec::is_empty),
            "{}: something entered the state: {state}",
            c.what
        );
    }
}

/// What LVM names may be (names.rs).
const LVM_CHARS: &str = "1 to 127 characters from a-z A-Z 0-9 + _ . -";
/// What device paths may be (names.rs).
const DEVICE_RULE: &str = "absolute, normalized path under /dev/";
/// What pool names may be (names.rs).
const POOL_RULE: &str = "without '/', control characters or leading/trailing whitespace";

fn volume(pool: &str, name: &str, capacity: &str) -> String {
    format!(
        "resource \"libvirt_lvm_volume\" \"v\" {{\n  pool     = {}\n  name     = {}\n  capacity = {}\n}}\n",
        hcl_string(pool),
        hcl_string(name),
        hcl_string(capacity)
    )
}

fn pool(name: &str, extra: &str) -> String {
    format!(
        "resource \"libvirt_lvm_pool\" \"p\" {{\n  name = {}\n{extra}\n}}\n",
        hcl_string(name)
    )
}

/// A logical pool made directly with virsh (define, build, start) on `device`; the scenario's
/// cleanup removes it with its VG.
fn fixture_pool(s: &Scenario, name: &str, device: &str) {
    let lab = s.lab();
    lab.virsh_ok(&[
        "pool-define-as",
        name,
        "logical",
        "--source-dev",
        device,
        "--source-name",
        name,
        "--target",
        &format!("/dev/{name}"),
    ]);
    lab.virsh_ok(&["pool-build", name]);
    lab.virsh_ok(&["pool-start", name]);
}

/// A plain 8 MiB logical volume made with virsh.
fn fixture_volume(s: &Scenario, pool: &str, name: &str) {
    s.lab()
        .virsh_ok(&["vol-create-as", pool, name, "8M", "--allocation", "8M"]);
}

// ------------------------------------------------------------------------------------------------
// The provider block

#[test]
fn validation_provider_block() {
    let Some(s) = Scenario::start("validation::provider_block") else {
        return;
    };
    let uri = hcl_string(&s.lab().uri);
    let vol = volume(&s.name("pool"), "data", "64MiB");
    let with = |provider_body: String| format!("{}\n{vol}", provider_block(&provider_body));
    let lab = |extra: &str| with(format!("uri = {uri}\n  {extra}"));
    let cases = [
        case(
            "uri \"not a uri\"",
            with("uri = \"not a uri\"".into()),
            "Invalid uri",
            "uri",
            &["qemu:///system", "qemu+ssh://user@host/system"],
        ),
        case(
            "uri empty",
            with("uri = \"\"".into()),
            "Invalid uri",
            "uri",
            &["qemu:///system"],
        ),
        case(
            "uri with an unsupported scheme (http)",
            with("uri = \"http://127.0.0.1/system\"".into()),
            "Invalid uri",
            "uri",
            &["not a libvirt driver", "qemu, test", "qemu+ssh"],
        ),
        case(
            "uri with an unknown transport (qemu+carrier)",
            with("uri = \"qemu+carrier://127.0.0.1/system\"".into()),
            "Invalid uri",
            "uri",
            &["tls, tcp, unix, ssh, libssh"],
        ),
        case(
            "connect_timeout \"soon\"",
            lab("connect_timeout = \"soon\""),
            "Invalid connect_timeout",
            "connect_timeout",
            &["\"30s\"", "\"2m\""],
        ),
        case(
            "connect_timeout \"-5s\"",
            lab("connect_timeout = \"-5s\""),
            "Invalid connect_timeout",
            "connect_timeout",
            &["a number with a unit"],
        ),
        case(
            "connect_timeout \"0s\"",
            lab("connect_timeout = \"0s\""),
            "Invalid connect_timeout",
            "connect_timeout",
            &["greater than zero"],
        ),
        case(
            "keepalive_interval -1",
            lab("keepalive_interval = -1"),
            "Invalid keepalive_interval",
            "keepalive_interval",
            &["0 (off) to 3600 seconds"],
        ),
        case(
            "keepalive_interval 86400",
            lab("keepalive_interval = 86400"),
            "Invalid keepalive_interval",
            "keepalive_interval",
            &["0 (off) to 3600 seconds"],
        ),
        case(
            "keepalive_interval 2.5",
            lab("keepalive_interval = 2.5"),
            "Invalid keepalive_interval",
            "keepalive_interval",
            &["whole number"],
        ),
        case(
            "keepalive_count 0",
            lab("keepalive_count = 0"),
            "Invalid keepalive_count",
            "keepalive_count",
            &["1 to 100"],
        ),
        case(
            "keepalive_count 1000",
            lab("keepalive_count = 1000"),
            "Invalid keepalive_count",
            "keepalive_count",
            &["1 to 100"],
        ),
    ];
    let cases: Vec<Case> = cases.into_iter().map(Case::raw).collect();
    refuse_all(&s, "provider", &cases);
}

// ------------------------------------------------------------------------------------------------
// libvirt_lvm_volume

#[test]
fn validation_volume_arguments() {
    let Some(s) = Scenario::start("validation::volume_arguments") else {
        return;
    };
    let pool = s.name("nopool");
    let v = |name: &str, capacity: &str| volume(&pool, name, capacity);
    let long = "l".repeat(128);
    let cases = [
        case(
            "LV name starting with '-'",
            v("-data", "64MiB"),
            "Invalid name",
            "name",
            &["not starting with '-'"],
        ),
        case(
            "LV name snapshot1",
            v("snapshot1", "64MiB"),
            "Invalid name",
            "name",
            &["may not start with \"pvmove\" or \"snapshot\""],
        ),
        case(
            "LV name with a space",
            v("my data", "64MiB"),
            "Invalid name",
            "name",
            &[LVM_CHARS],
        ),
        case(
            "LV name with a reserved suffix (_tmeta)",
            v("data_tmeta", "64MiB"),
            "Invalid name",
            "name",
            &["reserves for internal volumes", "_rimage"],
        ),
        case(
            "LV name \".\"",
            v(".", "64MiB"),
            "Invalid name",
            "name",
            &[LVM_CHARS],
        ),
        case(
            "LV name of 128 characters",
            v(&long, "64MiB"),
            "Invalid name",
            "name",
            &[LVM_CHARS],
        ),
        case(
            "pool name with '/'",
            v("data", "64MiB").replace(&pool, "a/b"),
            "Invalid pool",
            "pool",
            &["without '/'"],
        ),
        case(
            "capacity 10 parsecs",
            v("data", "10 parsecs"),
            "Invalid capacity",
            "capacity",
            &["K/KiB, M/MiB, G/GiB", "KB, MB, GB"],
        ),
        case(
            "capacity 10gib (case matters)",
            v("data", "10gib"),
            "Invalid capacity",
            "capacity",
            &["G/GiB"],
        ),
        case(
            "capacity 0",
            v("data", "0"),
            "Invalid capacity",
            "capacity",
            &["greater than zero", "\"10GiB\""],
        ),
        case(
            "capacity -1G",
            v("data", "-1G"),
            "Invalid capacity",
            "capacity",
            &["greater than zero"],
        ),
        case(
            "capacity empty",
            v("data", ""),
            "Invalid capacity",
            "capacity",
            &["a number with a unit (\"10GiB\")"],
        ),
        case(
            "capacity 1.5B (not whole bytes)",
            v("data", "1.5B"),
            "Invalid capacity",
            "capacity",
            &["whole number of bytes", "\"1.5GiB\""],
        ),
        case(
            "capacity 99999P (too large)",
            v("data", "99999P"),
            "Invalid capacity",
            "capacity",
            &["the maximum is 18446744073709551615 bytes"],
        ),
    ];
    refuse_all(&s, "libvirt_lvm_volume arguments", &cases);
}

#[test]
fn validation_volume_against_the_hypervisor() {
    let Some(s) = Scenario::start("validation::volume_against_the_hypervisor") else {
        return;
    };
    let name = s.name("pool");
    // An existing pool on one 1 GiB lab disk, holding one volume.
    fixture_pool(&s, &name, &s.lab().pv_devices[0]);
    fixture_volume(&s, &name, "taken");
    let free = s.lab().vg(&name).expect("the fixture VG").free;
    assert!(free < 2 << 30, "the pool is larger than expected: {free}");
    s.step("fixture pool and volume");
    let cases = [
        case(
            "capacity larger than the pool's free space",
            volume(&name, "big", "2GiB"),
            "Not Enough Space In Pool",
            "capacity",
            &["Choose a smaller capacity"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        // The plan only warns: the create half of a replacement is planned while the old volume
        // still exists.
        case(
            "a volume of that name exists",
            volume(&name, "taken", "8MiB"),
            "Volume Already Exists",
            "name",
            &["choose another name", "terraform import"],
        )
        .at(Stage::Apply),
        // The plan cannot refuse: the pool may be created by the same apply.
        case(
            "a pool that does not exist",
            volume(&s.name("nopool"), "data", "8MiB"),
            "Storage Pool Not Found",
            "pool",
            &["name of an existing logical pool"],
        )
        .at(Stage::Apply),
    ];
    refuse_all(&s, "libvirt_lvm_volume on the hypervisor", &cases);
}

// ------------------------------------------------------------------------------------------------
// libvirt_lvm_pool

#[test]
fn validation_pool_arguments() {
    let Some(s) = Scenario::start("validation::pool_arguments") else {
        return;
    };
    let name = s.name("pool");
    let vdb = "  source_devices = [\"/dev/vdb\"]";
    let with_vg = |vg: &str| pool(&name, &format!("  volume_group   = {}\n{vdb}", hcl_string(vg)));
    let devices = |d: &str| pool(&name, &format!("  source_devices = [{}]", hcl_string(d)));
    let long = "g".repeat(128);
    let cases = [
        case(
            "VG name ..",
            with_vg(".."),
            "Invalid volume_group",
            "volume_group",
            &[LVM_CHARS],
        ),
        case(
            "VG name starting with '-'",
            with_vg("-vg"),
            "Invalid volume_group",
            "volume_group",
            &["not starting with '-'"],
        ),
        case(
            "VG name with ':'",
            with_vg("vg:data"),
            "Invalid volume_group",
            "volume_group",
            &[LVM_CHARS],
        ),
        case(
            "VG name of 128 characters",
            with_vg(&long),
            "Invalid volume_group",
            "volume_group",
            &[LVM_CHARS],
        ),
        case(
            "relative device path",
            devices("vdb"),
            "Invalid source_devices",
            "source_devices",
            &[DEVICE_RULE, "/dev/sdb"],
        ),
        case(
            "device path with //",
            devices("/dev//vdb"),
            "Invalid source_devices",
            "source_devices",
            &[DEVICE_RULE],
        ),
        case(
            "device path with ..",
            devices("/dev/../etc/passwd"),
            "Invalid source_devices",
            "source_devices",
            &[DEVICE_RULE],
        ),
        case(
            "device path outside /dev",
            devices("/var/tmp/disk.img"),
            "Invalid source_devices",
            "source_devices",
            &[DEVICE_RULE],
        ),
        case(
            "on_destroy = drop",
            pool(&name, &format!("{vdb}\n  on_destroy     = \"drop\"")),
            "Invalid on_destroy",
            "on_destroy",
            &["keep, delete"],
        ),
        case(
            "pool name with '/'",
            pool(&format!("{name}/x"), vdb),
            "Invalid name",
            "name",
            &[POOL_RULE],
        ),
        case(
            "pool name empty",
            pool("", vdb),
            "Invalid name",
            "name",
            &["non-empty name"],
        ),
        case(
            "pool name with a leading space",
            pool(&format!(" {name}"), vdb),
            "Invalid name",
            "name",
            &[POOL_RULE],
        ),
        case(
            "build = true without source_devices",
            pool(&name, "  build = true"),
            "Build Needs Source Devices",
            "build",
            &["set source_devices", "remove build to adopt"],
        ),
    ];
    refuse_all(&s, "libvirt_lvm_pool arguments", &cases);
}

#[test]
fn validation_pool_against_the_hypervisor() {
    let Some(s) = Scenario::start("validation::pool_against_the_hypervisor") else {
        return;
    };
    let lab = s.lab();
    let (vdb, vdc) = (&lab.pv_devices[0], &lab.pv_devices[1]);
    let existing = s.name("pool");
    fixture_pool(&s, &existing, vdb);
    s.step("fixture pool");
    let new = s.name("new");
    let on = |d: &str| format!("  source_devices = [{}]", hcl_string(d));
    let cases = [
        case(
            "a pool of that name exists",
            pool(&existing, &on(vdc)),
            "Storage Pool Already Exists",
            "name",
            &["choose another name", "terraform import"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "a device that belongs to another volume group",
            pool(&new, &on(vdb)),
            "Device Already In Use",
            "source_devices",
            &[
                "Choose devices that no other volume group uses",
                "overwrite = true",
            ],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "adopting a volume group that does not exist",
            pool(&new, &format!("  volume_group = {}", hcl_string(&s.name("novg")))),
            "Volume Group Not Found",
            "volume_group",
            &["existing volume group", "set source_devices"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        // Only the build (vgcreate on the hypervisor) can find that a device is missing.
        case(
            "a device that does not exist",
            pool(&new, &on("/dev/vdz")),
            "Cannot Build Volume Group",
            "source_devices",
            &["choose empty devices"],
        )
        .at(Stage::Apply),
    ];
    refuse_all(&s, "libvirt_lvm_pool on the hypervisor", &cases);
}

// ------------------------------------------------------------------------------------------------
// libvirt_disk_attachment

fn attachment(domain: &str, target: &str, extra: &str) -> String {
    format!(
        "resource \"libvirt_disk_attachment\" \"d\" {{\n  domain = {}\n  target = {}\n{extra}\n}}\n",
        hcl_string(domain),
        hcl_string(target)
    )
}

#[test]
fn validation_attachment_arguments() {
    let Some(s) = Scenario::start("validation::attachment_arguments") else {
        return;
    };
    let dom = s.name("nodomain");
    let a = |target: &str, extra: &str| attachment(&dom, target, extra);
    let vol = "  volume_id = \"abc-def\"";
    let with_vol = |extra: &str| a("sdb", &format!("{vol}\n{extra}"));
    let cases = [
        case(
            "volume_id and path both set",
            a("sdb", "  volume_id = \"abc-def\"\n  path      = \"/dev/vg/lv\""),
            "Conflicting Disk Sources",
            "path",
            &["set only one of them"],
        ),
        case(
            "neither volume_id nor path",
            a("sdb", ""),
            "Missing Disk Source",
            "volume_id",
            &["Set exactly one of volume_id", "or path"],
        ),
        case(
            "bus floppy",
            with_vol("  bus = \"floppy\""),
            "Invalid bus",
            "bus",
            &["virtio, scsi, sata, ide, usb, xen"],
        ),
        case(
            "target xyz",
            a("xyz", vol),
            "Invalid target",
            "target",
            &["vd, sd, hd or xvd followed by 1 to 3 lowercase letters"],
        ),
        case(
            "target sdb1 (a partition)",
            a("sdb1", vol),
            "Invalid target",
            "target",
            &["1 to 3 lowercase letters", "\"sdc\""],
        ),
        case(
            "cache fast",
            with_vol("  cache = \"fast\""),
            "Invalid cache",
            "cache",
            &["default, none, writethrough, writeback, directsync, unsafe"],
        ),
        case(
            "io fast",
            with_vol("  io = \"fast\""),
            "Invalid io",
            "io",
            &["native, threads, io_uring"],
        ),
        case(
            "discard trim",
            with_vol("  discard = \"trim\""),
            "Invalid discard",
            "discard",
            &["unmap, ignore"],
        ),
        case(
            "relative path",
            a("sdb", "  path = \"vg0/data\""),
            "Invalid path",
            "path",
            &["absolute, normalized path under /dev/"],
        ),
        case(
            "live = false and persistent = false",
            with_vol("  live       = false\n  persistent = false"),
            "Nothing To Attach",
            "persistent",
            &["set at least one of them to true"],
        ),
        case(
            "timeouts.delete \"a while\"",
            with_vol("  timeouts {\n    delete = \"a while\"\n  }"),
            "Invalid delete",
            "delete",
            &["\"30s\", \"2m\" or \"1h30m\""],
        ),
    ];
    refuse_all(&s, "libvirt_disk_attachment arguments", &cases);
}

#[test]
fn validation_attachment_against_the_hypervisor() {
    let Some(s) = Scenario::start("validation::attachment_against_the_hypervisor") else {
        return;
    };
    let lab = s.lab();
    let vg = s.name("pool");
    fixture_pool(&s, &vg, &lab.pv_devices[0]);
    fixture_volume(&s, &vg, "used");
    let used = format!("/dev/{vg}/used");
    let other = format!("/dev/{vg}/other");
    // Domain "a": running, with ACPI and SCSI, the volume attached as sdb (live and saved).
    let a = s.domain("a", DomainOpts::running());
    lab.virsh_ok(&[
        "attach-disk",
        &a.name,
        &used,
        "sdb",
        "--targetbus",
        "scsi",
        "--sourcetype",
        "block",
        "--live",
        "--config",
    ]);
    assert!(
        a.disk_targets(false).contains(&"sdb".to_string())
            && a.disk_targets(true).contains(&"sdb".to_string()),
        "the fixture disk is not attached"
    );
    // Domain "b": running, without ACPI (no hotplug) and without a SCSI controller.
    let b = s.domain("b", DomainOpts::running().no_acpi().no_scsi());
    s.step("fixtures: pool, volume, two running domains");
    let path = |p: &str| format!("  path = {}", hcl_string(p));
    let cases = [
        case(
            "a domain that does not exist",
            attachment(&s.name("nodomain"), "sdc", &path(&other)),
            "Domain Not Found",
            "domain",
            &["The domain must exist"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "a target already in use",
            attachment(&a.name, "sdb", &path(&other)),
            "Target Already In Use",
            "target",
            &["Choose another target"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "a volume attached to another domain",
            attachment(&b.name, "vdb", &format!("{}\n  live = false", path(&used))),
            "Volume Already Attached",
            "path",
            &["shareable = true", "detach it there first"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "a volume_id that does not exist",
            attachment(&a.name, "sdc", "  volume_id = \"no-such-volume-key\""),
            "Volume Not Found",
            "volume_id",
            &["Set volume_id to the id of a libvirt_lvm_volume", "set path"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "the scsi bus on a domain without a SCSI controller",
            attachment(&b.name, "sdc", &format!("{}\n  bus  = \"scsi\"", path(&other))),
            "Domain Has No SCSI Controller",
            "bus",
            &[
                "<controller type='scsi' model='virtio-scsi'/>",
                "virtio target such as vdb",
            ],
        )
        .at(Stage::PlanWarnsApplyRefuses),
        case(
            "hotplug on a domain without ACPI",
            attachment(&b.name, "vdc", &format!("{}\n  live = true", path(&other))),
            "Domain Cannot Hotplug Disks",
            "live",
            &["<features><acpi/></features>", "set live = false"],
        )
        .at(Stage::PlanWarnsApplyRefuses),
    ];
    refuse_all(&s, "libvirt_disk_attachment on the hypervisor", &cases);
    // The fixture disk is still there, as it was.
    assert!(a.disk("sdb", false).is_some_and(|d| d.contains(&used)));
    assert!(b.disk_targets(false).is_empty() && b.disk_targets(true).is_empty());
}

// ------------------------------------------------------------------------------------------------
// Data sources

#[test]
fn validation_data_sources() {
    let Some(s) = Scenario::start("validation::data_sources") else {
        return;
    };
    let data_pool = |name: &str| {
        format!(
            "data \"libvirt_lvm_pool\" \"p\" {{\n  name = {}\n}}\n",
            hcl_string(name)
        )
    };
    let data_vol = |body: &str| format!("data \"libvirt_lvm_volume\" \"v\" {{\n{body}\n}}\n");
    let missing_pool = s.name("nopool");
    let cases = [
        case(
            "pool data source: pool name with '/'",
            data_pool("a/b"),
            "Invalid name",
            "name",
            &["without '/'"],
        ),
        case(
            "volume data source: path and pool/name",
            data_vol("  pool = \"p\"\n  name = \"v\"\n  path = \"/dev/p/v\""),
            "Conflicting Lookup",
            "path",
            &["either path, or pool and name, not both"],
        ),
        case(
            "volume data source: pool without name",
            data_vol("  pool = \"p\""),
            "Incomplete Lookup",
            "name",
            &["Give both pool and name", "or path"],
        ),
        case(
            "volume data source: relative path",
            data_vol("  path = \"p/v\""),
            "Invalid path",
            "path",
            &["absolute, normalized path under /dev/"],
        ),
        case(
            "pool data source: no such pool",
            data_pool(&missing_pool),
            "Storage Pool Not Found",
            "name",
            &["existing logical pool", "virsh pool-list --all"],
        )
        .at(Stage::Plan),
        case(
            "volume data source: no such pool/name",
            data_vol(&format!(
                "  pool = {}\n  name = \"data\"",
                hcl_string(&missing_pool)
            )),
            "Storage Volume Not Found",
            "name",
            &["existing volume", "virsh vol-list"],
        )
        .at(Stage::Plan),
        case(
            "volume data source: no such path",
            data_vol(&format!(
                "  path = {}",
                hcl_string(&format!("/dev/{missing_pool}/data"))
            )),
            "Storage Volume Not Found",
            "path",
            &["existing volume's device path"],
        )
        .at(Stage::Plan),
    ];
    refuse_all(&s, "data sources", &cases);
}
