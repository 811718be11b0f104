//! Invalid configurations: each is refused by `terraform validate` or `terraform plan` with a
//! diagnostic that names the attribute, and nothing appears on the hypervisor.
//!
//! One test per family, a table of cases, each case in its own work directory: `terraform validate`
//! first, then `terraform plan` when validate passes.

use acceptance_tests::{hcl_string, provider_block, Run, Scenario, Workdir};

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
}

fn case(what: &'static str, body: String, summary: &'static str, attr: &'static str) -> Case {
    Case {
        what,
        body,
        raw: false,
        summary,
        attr,
    }
}

/// What the hypervisor holds: pools, VGs and LVs.
fn hypervisor(s: &Scenario) -> String {
    let lab = s.lab();
    format!(
        "pools {:?}\nvgs {:?}\nlvs {:?}",
        lab.pool_names(),
        lab.vgs(),
        lab.lvs()
    )
}

/// Runs every case and checks: refused at validate or plan, the summary, the attribute, nothing
/// created, nothing in the state.
fn refuse_all(s: &Scenario, cases: &[Case]) {
    let before = hypervisor(s);
    let mut failures = Vec::new();
    for c in cases {
        let wd = if c.raw {
            s.workdir_raw(&c.body)
        } else {
            s.workdir(&c.body)
        };
        let validate = wd.validate();
        let (stage, r): (&str, Run) = if validate.ok() {
            ("plan", wd.plan_detailed())
        } else {
            ("validate", validate)
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(c, &wd, &r)));
        match outcome {
            Ok(()) => s.step(&format!("{}: {} at {stage}", c.what, c.summary)),
            Err(_) => failures.push(c.what),
        }
    }
    assert_eq!(hypervisor(s), before, "the hypervisor changed");
    assert!(
        failures.is_empty(),
        "cases that were not refused as expected: {failures:?}"
    );
}

fn check(c: &Case, wd: &Workdir<'_>, r: &Run) {
    assert_eq!(r.code, Some(1), "{}: not refused:\n{r}", c.what);
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
    assert!(
        wd.state_addresses().is_empty(),
        "{}: something entered the state",
        c.what
    );
}

fn volume(pool: &str, name: &str, capacity: &str) -> String {
    format!(
        "resource \"libvirt_lvm_volume\" \"v\" {{\n  pool     = {}\n  name     = {}\n  capacity = {}\n}}\n",
        hcl_string(pool),
        hcl_string(name),
        hcl_string(capacity)
    )
}

#[test]
fn validation_volume_arguments() {
    let Some(s) = Scenario::start("validation::volume_arguments") else {
        return;
    };
    let pool = s.name("nopool");
    let cases = [
        case(
            "LV name starting with '-'",
            volume(&pool, "-data", "64MiB"),
            "Invalid name",
            "name",
        ),
        case(
            "LV name snapshot1",
            volume(&pool, "snapshot1", "64MiB"),
            "Invalid name",
            "name",
        ),
        case(
            "LV name with a space",
            volume(&pool, "my data", "64MiB"),
            "Invalid name",
            "name",
        ),
        case(
            "capacity 10 parsecs",
            volume(&pool, "data", "10 parsecs"),
            "Invalid capacity",
            "capacity",
        ),
        case(
            "capacity 0",
            volume(&pool, "data", "0"),
            "Invalid capacity",
            "capacity",
        ),
        case(
            "capacity -1G",
            volume(&pool, "data", "-1G"),
            "Invalid capacity",
            "capacity",
        ),
    ];
    refuse_all(&s, &cases);
}

fn pool(name: &str, extra: &str) -> String {
    format!(
        "resource \"libvirt_lvm_pool\" \"p\" {{\n  name = {}\n{extra}\n}}\n",
        hcl_string(name)
    )
}

#[test]
fn validation_pool_arguments() {
    let Some(s) = Scenario::start("validation::pool_arguments") else {
        return;
    };
    let name = s.name("pool");
    let cases = [
        case(
            "VG name ..",
            pool(
                &name,
                "  volume_group   = \"..\"\n  source_devices = [\"/dev/vdb\"]",
            ),
            "Invalid volume_group",
            "volume_group",
        ),
        case(
            "relative device path",
            pool(&name, "  source_devices = [\"vdb\"]"),
            "Invalid source_devices",
            "source_devices",
        ),
        case(
            "device path with //",
            pool(&name, "  source_devices = [\"/dev//vdb\"]"),
            "Invalid source_devices",
            "source_devices",
        ),
        case(
            "on_destroy = drop",
            pool(
                &name,
                "  source_devices = [\"/dev/vdb\"]\n  on_destroy     = \"drop\"",
            ),
            "Invalid on_destroy",
            "on_destroy",
        ),
        case(
            "pool name with '/'",
            pool(&format!("{name}/x"), "  source_devices = [\"/dev/vdb\"]"),
            "Invalid name",
            "name",
        ),
    ];
    refuse_all(&s, &cases);
}

fn attachment(extra: &str) -> String {
    format!(
        "resource \"libvirt_disk_attachment\" \"d\" {{\n  domain = \"acc-no-such-domain\"\n  target = \"sdb\"\n{extra}\n}}\n"
    )
}

#[test]
fn validation_attachment_arguments() {
    let Some(s) = Scenario::start("validation::attachment_arguments") else {
        return;
    };
    let vol = "  volume_id = \"abc-def\"";
    let cases = [
        case(
            "volume_id and path both set",
            attachment("  volume_id = \"abc-def\"\n  path      = \"/dev/vg/lv\""),
            "Conflicting Disk Sources",
            "path",
        ),
        case("neither volume_id nor path", attachment(""), "Missing Disk Source", "volume_id"),
        case(
            "bus floppy",
            attachment(&format!("{vol}\n  bus = \"floppy\"")),
            "Invalid bus",
            "bus",
        ),
        case(
            "target xyz",
            format!(
                "resource \"libvirt_disk_attachment\" \"d\" {{\n  domain    = \"acc-no-such-domain\"\n  target    = \"xyz\"\n{vol}\n}}\n"
            ),
            "Invalid target",
            "target",
        ),
        case(
            "cache fast",
            attachment(&format!("{vol}\n  cache = \"fast\"")),
            "Invalid cache",
            "cache",
        ),
        case(
            "live = false and persistent = false",
            attachment(&format!("{vol}\n  live       = false\n  persistent = false")),
            "Nothing To Attach",
            "persistent",
        ),
    ];
    refuse_all(&s, &cases);
}

#[test]
fn validation_provider_uri() {
    let Some(s) = Scenario::start("validation::provider_uri") else {
        return;
    };
    let cases = [Case {
        what: "provider uri \"not a uri\"",
        body: format!(
            "{}\n{}",
            provider_block("uri = \"not a uri\""),
            volume(&s.name("pool"), "data", "64MiB")
        ),
        raw: true,
        summary: "Invalid uri",
        attr: "uri",
    }];
    refuse_all(&s, &cases);
}

#[test]
fn validation_capacity_beyond_pool_space() {
    let Some(s) = Scenario::start("validation::capacity_beyond_pool_space") else {
        return;
    };
    let name = s.name("pool");
    // An existing pool on one 1 GiB lab disk.
    let wd = s.workdir(&pool(
        &name,
        &format!(
            "  source_devices = {}\n  on_destroy     = \"delete\"",
            s.devices_hcl(1)
        ),
    ));
    wd.apply();
    let available = wd
        .state_attr("libvirt_lvm_pool.p", "available")
        .as_u64()
        .expect("available");
    assert!(
        available < 2 << 30,
        "the pool is larger than expected: {available}"
    );
    s.step("pool");
    let cases = [case(
        "capacity larger than the pool's free space",
        volume(&name, "big", "2GiB"),
        "Not Enough Space In Pool",
        "capacity",
    )];
    refuse_all(&s, &cases);
}
