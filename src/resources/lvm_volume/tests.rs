//! Unit tests of the volume resource on libvirt's test driver.

use super::*;
use crate::libvirt::testing::{domain, TestDriver};
use crate::libvirt::Error;

fn planned(name: &str) -> State {
    State {
        pool: "default-pool".into(),
        name: name.into(),
        capacity: "1MiB".into(),
        sparse: Some(false),
        allow_shrink: Some(false),
        wipe_on_destroy: Some(false),
        ..Default::default()
    }
}

impl State {
    fn with_clone_from(mut self, key: &str) -> State {
        self.clone_from = Some(key.into());
        self
    }
}

#[test]
fn resize_refusals_explain_the_way_forward_in_bytes() {
    let prior = State {
        pool: "vg0".into(),
        name: "data".into(),
        capacity: "32MiB".into(),
        capacity_bytes: Some(32 << 20),
        path: Some("/dev/vg0/data".into()),
        ..planned("data")
    };
    let libvirt = |message: &str| Error::Libvirt {
        op: "resize storage volume",
        object: "'vg0/data'".into(),
        code: crate::libvirt::error::Code::Other,
        message: message.into(),
    };
    // A shrink: libvirt's storage driver refuses below the allocation (libvirt 9.0 on a plain LV).
    let d = resize_error(
        libvirt("invalid argument: can't shrink capacity below existing allocation"),
        &prior,
        16 << 20,
    );
    assert_eq!(d.summary, "libvirt Cannot Shrink LVM Volumes");
    assert!(
        d.detail
            .contains("can't shrink capacity below existing allocation"),
        "{}",
        d.detail
    );
    assert!(
        d.detail.contains("`lvreduce -L 16777216b /dev/vg0/data`"),
        "{}",
        d.detail
    );
    assert!(d.detail.contains("capacity back to \"32MiB\""), "{}", d.detail);
    // A grow: the backend has no resize. The size is given in bytes (a bare -L number is MiB).
    let d = resize_error(
        libvirt("storage pool does not support changing of volume capacity"),
        &prior,
        64 << 20,
    );
    assert_eq!(d.summary, "libvirt Cannot Resize LVM Volumes");
    assert!(
        d.detail.contains("`lvextend -L 67108864b /dev/vg0/data`"),
        "{}",
        d.detail
    );
    // Anything else is libvirt's own error.
    let d = resize_error(libvirt("anything else"), &prior, 64 << 20);
    assert!(!d.summary.contains("Cannot"), "{}", d.summary);
}

async fn created(ctx: &Ctx, name: &str) -> State {
    LvmVolume.create(ctx, planned(name)).await.expect("create")
}

#[tokio::test]
async fn a_missing_volume_reads_as_gone() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let mut s = created(&ctx, "v").await;
    s.key = Some("/default-pool/never-made".into());
    let mut notes = Diagnostics::new();
    assert!(LvmVolume.read(&ctx, s, &mut notes).await.expect("read").is_none());
    assert!(notes.0.is_empty(), "{notes:?}");
}

/// A create that lost its reply and could not look then left a state without an LV UUID. The
/// next read never takes an LV of that name over (nothing proves it is the create's: an operator
/// may have made it since), whatever its size: the resource leaves the state with a warning that
/// names the LV (UUID, size) and the import command, and the LV stays. With no such LV the
/// resource leaves the state quietly. The delete of such a state deletes nothing.
#[tokio::test]
async fn a_lost_create_is_never_taken_over_on_the_next_read() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let made = created(&ctx, "lost").await;
    let unchecked = State {
        path: made.path.clone(),
        ..planned("lost")
    };

    let mut notes = Diagnostics::new();
    LvmVolume
        .delete(&ctx, unchecked.clone(), &mut notes)
        .await
        .expect("delete deletes nothing");
    assert_eq!(notes.0[0].summary, "Nothing To Delete");

    for capacity in ["1MiB", "8MiB"] {
        let s = State {
            capacity: capacity.into(),
            ..unchecked.clone()
        };
        let mut notes = Diagnostics::new();
        let read = LvmVolume.read(&ctx, s, &mut notes).await.expect("read");
        assert!(read.is_none(), "{capacity}: not taken over");
        let d = &notes.0[0];
        assert_eq!(d.summary, "Volume Not Claimed After A Lost Reply");
        let key = made.key.as_deref().expect("a key");
        assert!(d.detail.contains(key), "names the LV UUID: {}", d.detail);
        assert!(d.detail.contains("1048576 bytes"), "names the size: {}", d.detail);
        assert!(
            d.detail.contains("terraform import <address> default-pool/lost"),
            "{}",
            d.detail
        );
    }

    let none = State {
        path: Some("/default-pool/never-made".into()),
        ..planned("never-made")
    };
    let mut notes = Diagnostics::new();
    assert!(LvmVolume
        .read(&ctx, none, &mut notes)
        .await
        .expect("read")
        .is_none());
    assert!(notes.0.is_empty(), "{notes:?}");
    let conn = ctx.conn().await.expect("conn");
    assert!(conn
        .find_volume("default-pool", "lost")
        .await
        .expect("read")
        .is_some());
}

/// Snapshots of a volume (listed by libvirt with the volume as their backing store) stop its
/// delete: nothing is deleted, and the refusal names them. Without them the delete goes ahead.
#[tokio::test]
async fn a_volume_with_snapshots_is_not_deleted() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let origin = created(&ctx, "origin").await;
    let conn = ctx.conn().await.expect("conn");
    let path = origin.path.clone().expect("a path");
    let snap = format!(
        "<volume><name>snap</name><capacity unit='bytes'>1048576</capacity>\
         <allocation unit='bytes'>1048576</allocation><backingStore><path>{path}</path></backingStore></volume>"
    );
    conn.create_volume_xml("default-pool", "snap", snap)
        .await
        .expect("a snapshot made out of band");
    let has_backing = conn
        .find_volume("default-pool", "snap")
        .await
        .expect("read")
        .and_then(|v| v.xml.backing_path)
        .is_some();
    assert!(has_backing, "the test driver keeps the backing store");
    let e = LvmVolume
        .delete(&ctx, origin.clone(), &mut Diagnostics::new())
        .await
        .expect_err("refused");
    assert_eq!(e.0[0].summary, "Volume Has Snapshots");
    assert!(e.0[0].detail.contains("snap"), "{}", e.0[0].detail);
    assert!(conn
        .find_volume("default-pool", "origin")
        .await
        .expect("read")
        .is_some());
}

#[test]
fn sparse_volumes_with_wipe_on_destroy_are_refused_at_validate() {
    let config = |sparse: bool, wipe: bool| {
        Value::object([
            ("sparse", Value::Bool(sparse)),
            ("wipe_on_destroy", Value::Bool(wipe)),
            ("source", Value::Null),
            ("clone_from", Value::Null),
        ])
    };
    let mut d = Diagnostics::new();
    LvmVolume::validate(&config(true, true), &mut d);
    assert_eq!(d.0.len(), 1);
    assert_eq!(d.0[0].summary, "Sparse Volumes Cannot Be Wiped");
    for (sparse, wipe) in [(true, false), (false, true), (false, false)] {
        let mut d = Diagnostics::new();
        LvmVolume::validate(&config(sparse, wipe), &mut d);
        assert!(d.0.is_empty(), "{sparse} {wipe}: {d:?}");
    }
}

/// The key answers under another name: never adopted, the warning names both.
#[tokio::test]
async fn identity_mismatch_on_read_and_delete_changes_nothing() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let real = created(&ctx, "real").await;
    let mut other = real.clone();
    other.name = "recorded-name".into();
    let mut notes = Diagnostics::new();
    assert!(LvmVolume
        .read(&ctx, other.clone(), &mut notes)
        .await
        .expect("read")
        .is_none());
    let text = format!("{notes:?}");
    assert!(
        text.contains("recorded-name") && text.contains("default-pool/real"),
        "{text}"
    );

    let mut notes = Diagnostics::new();
    LvmVolume
        .delete(&ctx, other, &mut notes)
        .await
        .expect("delete deletes nothing");
    assert_eq!(notes.0[0].summary, "Volume Not Deleted");
    let conn = ctx.conn().await.expect("conn");
    assert!(
        conn.find_volume("default-pool", "real")
            .await
            .expect("read")
            .is_some(),
        "the volume was deleted"
    );

    // A key no volume has: "already gone", and the volume of that name stays.
    let mut stale = real.clone();
    stale.key = Some("/default-pool/gone".into());
    let mut notes = Diagnostics::new();
    LvmVolume
        .delete(&ctx, stale, &mut notes)
        .await
        .expect("delete deletes nothing");
    assert_eq!(notes.0[0].summary, "Volume Already Gone");
    assert!(conn
        .find_volume("default-pool", "real")
        .await
        .expect("read")
        .is_some());

    // The volume itself: deleted, and gone on the next read.
    let mut notes = Diagnostics::new();
    LvmVolume
        .delete(&ctx, real.clone(), &mut notes)
        .await
        .expect("delete");
    assert!(notes.0.is_empty(), "{notes:?}");
    assert!(LvmVolume
        .read(&ctx, real, &mut notes)
        .await
        .expect("read")
        .is_none());
}

/// A domain using the volume under another spelling of its path blocks the delete.
#[tokio::test]
async fn a_volume_in_use_under_another_spelling_is_not_deleted() {
    let disk = "<disk type='block' device='disk'><source dev='//default-pool/./used/'/>\
                <target dev='sdb' bus='scsi'/></disk>";
    let detail =
        delete_of_used_is_refused(&domain("user", "5a8f9c71-7e6b-4d2a-9c1e-3b4a5d6e7f80", disk)).await;
    assert!(detail.contains("domain \"user\" as sdb"), "{detail}");
}

/// Creates the volume `used` on a test driver holding `node_extra`, asserts that its delete is
/// refused as attached and that the volume is still there; returns the refusal's detail.
async fn delete_of_used_is_refused(node_extra: &str) -> String {
    let driver = TestDriver::new(node_extra);
    let ctx = Ctx::for_tests(&driver.uri);
    let s = created(&ctx, "used").await;
    let e = LvmVolume
        .delete(&ctx, s, &mut Diagnostics::new())
        .await
        .expect_err("refused");
    assert_eq!(e.0[0].summary, "Volume Is Attached To A Domain", "{node_extra}");
    let conn = ctx.conn().await.expect("conn");
    assert!(conn
        .find_volume("default-pool", "used")
        .await
        .expect("read")
        .is_some());
    e.0[0].detail.clone()
}

/// The delete's guard reads every definition of every domain: a shut-off persistent domain's
/// saved definition and a transient running domain's only one each refuse the delete, and the
/// message names the definition that uses the volume.
#[tokio::test]
async fn a_volume_used_by_a_stopped_or_a_transient_domain_is_not_deleted() {
    let disk = "<disk type='block' device='disk'><source dev='/default-pool/used'/>\
                <target dev='vdb' bus='virtio'/></disk>";
    for (state, view, not_view) in [
        ("<test:runstate>5</test:runstate>", "persistent", "running"),
        ("<test:transient/>", "running", "persistent"),
    ] {
        let dom = format!(
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\
             <name>user</name><uuid>5a8f9c71-7e6b-4d2a-9c1e-3b4a5d6e7f81</uuid><memory>65536</memory>\
             <vcpu>1</vcpu><os><type>hvm</type></os><devices>{disk}</devices>{state}</domain>"
        );
        let detail = &delete_of_used_is_refused(&dom).await;
        assert!(
            detail.contains(&format!("domain \"user\" as vdb ({view} definition)"))
                && !detail.contains(&format!("({not_view} definition)")),
            "{state}: {detail}"
        );
    }
}

#[test]
fn capacities() {
    for (s, ok) in [("1GiB", true), ("0", false), ("-1G", false), ("lots", false)] {
        assert_eq!(validate_capacity(s).is_ok(), ok, "{s}");
    }
    assert!(validate_capacity("-1G")
        .unwrap_err()
        .contains("greater than zero"));
}

/// An update plan of a volume last read at `current` bytes, configured as `capacity`.
async fn plan_update(prior_text: &str, current: u64, capacity: &str, allow_shrink: bool) -> Plan {
    let schema = LvmVolume::schema();
    let prior = Value::object([
        ("id", Value::from("key")),
        ("pool", Value::from("p")),
        ("name", Value::from("v")),
        ("capacity", Value::from(prior_text)),
        ("sparse", Value::Bool(false)),
        ("allow_shrink", Value::Bool(false)),
        ("wipe_on_destroy", Value::Bool(false)),
        ("path", Value::from("/dev/p/v")),
        ("key", Value::from("key")),
        ("allocation", Value::from(current)),
        ("capacity_bytes", Value::from(current)),
    ]);
    let mut proposed = prior.clone();
    if let Some(v) = proposed.attr_mut("capacity") {
        *v = Value::from(capacity);
    }
    if let Some(v) = proposed.attr_mut("allow_shrink") {
        *v = Value::Bool(allow_shrink);
    }
    let mut plan = Plan::new(&schema, Some(prior), proposed.clone(), proposed);
    // An update plan reads nothing from the hypervisor: this context never connects.
    let ctx = Ctx::for_tests("test:///never-opened");
    LvmVolume.plan(&ctx, &mut plan).await.expect("plan");
    plan
}

/// (prior text, current bytes, configured, allow_shrink) → (capacity planned, warning summary).
/// On libvirt's test driver LVM's tools are never there: a real resize is warned as needing them.
#[tokio::test]
async fn capacity_plans() {
    const MIB: u64 = 1 << 20;
    type Case<'a> = (&'a str, u64, &'a str, bool, &'a str, Option<&'a str>);
    let cases: &[Case] = &[
        ("1GiB", 1024 * MIB, "1GiB", false, "1GiB", None),
        ("1GiB", 1024 * MIB, "1024MiB", false, "1GiB", None),
        ("1GiB", 1024 * MIB, "1073741824", false, "1GiB", None),
        // LVM rounded 66 MiB up to 68 MiB (whole 4 MiB extents): no change.
        ("66MiB", 68 * MIB, "66MiB", false, "66MiB", None),
        ("68MiB", 68 * MIB, "65MiB", false, "68MiB", None),
        (
            "64MiB",
            68 * MIB,
            "60MiB",
            false,
            "60MiB",
            Some("Shrinking Would Destroy Data"),
        ),
        (
            "64MiB",
            68 * MIB,
            "60MiB",
            true,
            "60MiB",
            Some("Resizing Needs LVM's Tools"),
        ),
        (
            "64MiB",
            64 * MIB,
            "2GiB",
            false,
            "2GiB",
            Some("Resizing Needs LVM's Tools"),
        ),
    ];
    for (prior, current, configured, shrink, planned, warning) in cases {
        let plan = plan_update(prior, *current, configured, *shrink).await;
        let what = format!("{prior} ({current} B) -> {configured}");
        assert_eq!(plan.planned("capacity").as_str(), Some(*planned), "{what}");
        assert_eq!(
            plan.warnings.0.first().map(|d| d.summary.as_str()),
            *warning,
            "{what}: {:?}",
            plan.warnings
        );
        let resized = warning.is_some();
        assert_eq!(plan.planned("capacity_bytes").is_known(), !resized, "{what}");
        if let Some(w) = plan.warnings.0.first() {
            assert_eq!(
                w.severity,
                crate::framework::Severity::Warning,
                "{what}: a plan never errors"
            );
        }
    }
}

// ------------------------------------------------------------ content

/// Where a diagnostic points, as `a.b`.
fn at(d: &Diagnostic) -> String {
    d.attribute.as_ref().map(ToString::to_string).unwrap_or_default()
}

fn src(path: Option<&str>, url: Option<&str>, format: Option<&str>, checksum: Option<&str>) -> Value {
    let v = |o: Option<&str>| o.map_or(Value::Null, Value::from);
    Value::object([
        ("path", v(path)),
        ("url", v(url)),
        ("format", v(format)),
        ("checksum", v(checksum)),
    ])
}

/// config → the first error's (summary, attribute path), or None when valid.
#[test]
fn content_validation() {
    let sha256 = format!("sha256:{}", "a".repeat(64));
    let sha512 = format!("SHA512:{}", "B".repeat(128));
    let short = format!("sha256:{}", "a".repeat(63));
    // (source, clone_from, the first error's summary and attribute)
    type Case<'a> = (Value, Value, Option<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        (src(Some("d.qcow2"), None, None, None), Value::Null, None),
        (
            src(None, Some("https://h/d.img"), Some("qcow2"), Some(&sha256)),
            Value::Null,
            None,
        ),
        (
            src(None, Some("HTTP://h/d.img"), Some("raw"), Some(&sha512)),
            Value::Null,
            None,
        ),
        (Value::Null, Value::from("key"), None),
        (Value::Null, Value::Null, None),
        (
            src(None, None, None, None),
            Value::Null,
            Some(("Missing Image Location", "source.path")),
        ),
        (
            src(Some("a"), Some("http://h/a"), None, None),
            Value::Null,
            Some(("Conflicting Image Locations", "source.url")),
        ),
        (
            src(None, Some("ftp://h/a"), None, None),
            Value::Null,
            Some(("Invalid url", "source.url")),
        ),
        (
            src(None, Some("https://"), None, None),
            Value::Null,
            Some(("Invalid url", "source.url")),
        ),
        (
            src(None, Some("/tmp/a"), None, None),
            Value::Null,
            Some(("Invalid url", "source.url")),
        ),
        (
            src(Some("a"), None, Some("vmdk"), None),
            Value::Null,
            Some(("Invalid format", "source.format")),
        ),
        (
            src(Some("a"), None, None, Some(&short)),
            Value::Null,
            Some(("Invalid checksum", "source.checksum")),
        ),
        (
            src(Some("a"), None, None, Some("md5:abc")),
            Value::Null,
            Some(("Invalid checksum", "source.checksum")),
        ),
        (
            src(Some("a"), None, None, Some(&format!("sha256:{}", "g".repeat(64)))),
            Value::Null,
            Some(("Invalid checksum", "source.checksum")),
        ),
        (
            src(Some("a"), None, None, None),
            Value::from("k"),
            Some(("Conflicting Volume Content", "clone_from")),
        ),
        (
            Value::Null,
            Value::from(" "),
            Some(("Invalid clone_from", "clone_from")),
        ),
        // Unknown values pass until they are known.
        (
            Value::object([("path", Value::Unknown), ("url", Value::Null)]),
            Value::Null,
            None,
        ),
    ];
    for (source, clone_from, want) in cases {
        let config = Value::object([
            ("pool", Value::from("p")),
            ("name", Value::from("v")),
            ("capacity", Value::from("1GiB")),
            ("source", source.clone()),
            ("clone_from", clone_from.clone()),
            ("timeouts", Value::Null),
        ]);
        let mut diags = Diagnostics::new();
        LvmVolume::schema().validate(&config, &mut diags);
        LvmVolume::validate(&config, &mut diags);
        let got = diags.0.first().map(|d| (d.summary.clone(), at(d)));
        let want = want.map(|(s, p)| (s.to_string(), p.to_string()));
        assert_eq!(
            got, want,
            "source {source:?}, clone_from {clone_from:?}: {diags:?}"
        );
    }
}

/// A create plan of `capacity` with `source`, on a test driver.
async fn plan_create_with(capacity: &str, source: Value) -> Result<Plan, Diagnostics> {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let proposed = Value::object([
        ("id", Value::Unknown),
        ("pool", Value::from("default-pool")),
        ("name", Value::from("v")),
        ("capacity", Value::from(capacity)),
        ("sparse", Value::Bool(false)),
        ("allow_shrink", Value::Bool(false)),
        ("wipe_on_destroy", Value::Bool(false)),
        ("path", Value::Unknown),
        ("key", Value::Unknown),
        ("allocation", Value::Unknown),
        ("capacity_bytes", Value::Unknown),
        ("clone_from", Value::Null),
        ("source", source),
        ("timeouts", Value::Null),
    ]);
    let mut plan = Plan::new(&LvmVolume::schema(), None, proposed.clone(), proposed);
    LvmVolume.plan(&ctx, &mut plan).await.map(|()| plan)
}

/// The image's header is read at plan: a capacity it does not fit in is an error naming both
/// sizes; a file not there yet only warns.
#[tokio::test]
async fn capacity_against_the_image_at_plan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("disk.raw");
    std::fs::write(&file, vec![7u8; (2 << 20) + 512]).expect("write");
    let path = file.to_str().expect("utf-8");

    let e = plan_create_with("2MiB", src(Some(path), None, None, None))
        .await
        .expect_err("refused");
    assert_eq!(e.0[0].summary, "Capacity Smaller Than The Image");
    assert_eq!(at(&e.0[0]), "capacity");
    assert!(
        e.0[0].detail.contains("2097152 bytes") && e.0[0].detail.contains("2097664 bytes"),
        "{}",
        e.0[0].detail
    );
    assert!(e.0[0].detail.contains("at least \"3MiB\""), "{}", e.0[0].detail);

    let plan = plan_create_with("3MiB", src(Some(path), None, None, None))
        .await
        .expect("fits");
    assert!(plan.warnings.0.is_empty(), "{:?}", plan.warnings);

    let missing = dir.path().join("later.qcow2");
    let plan = plan_create_with("1MiB", src(missing.to_str(), None, None, None))
        .await
        .expect("a missing file only warns");
    assert_eq!(plan.warnings.0[0].summary, "Image File Not Found");

    // A url is not fetched at plan.
    let plan = plan_create_with("1MiB", src(None, Some("http://127.0.0.1:9/x"), None, None))
        .await
        .expect("not fetched at plan");
    assert!(plan.warnings.0.is_empty(), "{:?}", plan.warnings);
}

/// Changing `source` or `clone_from` of an existing volume plans an update (never a
/// replacement) with the warning; nothing else changed plans no warning.
#[tokio::test]
async fn content_changes_plan_an_update_with_a_warning() {
    let schema = LvmVolume::schema();
    let prior = Value::object([
        ("id", Value::from("key")),
        ("pool", Value::from("p")),
        ("name", Value::from("v")),
        ("capacity", Value::from("1GiB")),
        ("sparse", Value::Bool(false)),
        ("allow_shrink", Value::Bool(false)),
        ("wipe_on_destroy", Value::Bool(false)),
        ("path", Value::from("/dev/p/v")),
        ("key", Value::from("key")),
        ("allocation", Value::from(1u64 << 30)),
        ("capacity_bytes", Value::from(1u64 << 30)),
        ("clone_from", Value::Null),
        ("source", src(Some("a.qcow2"), None, None, None)),
        ("timeouts", Value::Null),
    ]);
    let ctx = Ctx::for_tests("test:///never-opened");
    let cases: Vec<(&str, Value, Option<&str>)> = vec![
        ("source", src(Some("a.qcow2"), None, None, None), None),
        ("source", src(Some("b.qcow2"), None, None, None), Some("source")),
        ("source", Value::Null, Some("source")),
        ("clone_from", Value::from("other-key"), Some("clone_from")),
    ];
    for (attr, value, warned_at) in cases {
        let mut proposed = prior.clone();
        *proposed.attr_mut(attr).expect("attr") = value.clone();
        let mut plan = Plan::new(&schema, Some(prior.clone()), proposed.clone(), proposed);
        LvmVolume.plan(&ctx, &mut plan).await.expect("plan");
        crate::framework::plan::finish(&schema, &mut plan);
        assert!(
            plan.requires_replace.is_empty(),
            "{attr} = {value:?}: never replaced"
        );
        let w = plan.warnings.0.first();
        assert_eq!(w.map(at), warned_at.map(str::to_string), "{attr} = {value:?}");
        if let Some(w) = w {
            assert_eq!(w.summary, "Volume Content Is Not Re-Written");
            assert!(
                w.detail.contains("terraform apply -replace=<address>"),
                "{}",
                w.detail
            );
            assert_eq!(w.severity, crate::framework::Severity::Warning);
        }
    }
}

/// clone_from on the test driver: a copy of the same size needs no zeroing and is made; a
/// smaller capacity is refused before anything exists; a larger one needs its tail zeroed,
/// which the test driver cannot do (it has no uploads): the copy is then removed, by its
/// identity, and nothing is left.
#[tokio::test]
async fn clone_from_on_the_test_driver() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let gold = created(&ctx, "gold").await;
    let key = gold.key.clone().expect("key");
    let conn = ctx.conn().await.expect("conn");
    let clone = |name: &str, capacity: &str| {
        let mut p = planned(name);
        p.capacity = capacity.into();
        p.clone_from = Some(key.clone());
        p
    };

    let copy = LvmVolume
        .create(&ctx, clone("copy", "1MiB"))
        .await
        .expect("same size");
    assert_eq!(copy.capacity_bytes, Some(1 << 20));
    assert!(conn
        .find_volume("default-pool", "copy")
        .await
        .expect("read")
        .is_some());
    // Import cannot know what filled a volume: both stay unset (a configuration that sets them
    // then plans an update that writes nothing, with the warning).
    // A volume of a directory pool is not an LV: its import is refused, naming the pool's type.
    let e = LvmVolume
        .import(&ctx, "default-pool/copy")
        .await
        .expect_err("not a logical pool");
    assert_eq!(e.0[0].summary, "Not A Logical Volume");
    assert!(e.0[0].detail.contains("\"dir\""), "{}", e.0[0].detail);

    let e = LvmVolume
        .create(&ctx, clone("small", "512KiB"))
        .await
        .expect_err("smaller than its source");
    assert_eq!(e.diags.0[0].summary, "Capacity Smaller Than The Clone Source");
    assert!(e.partial.is_none());
    assert!(conn
        .find_volume("default-pool", "small")
        .await
        .expect("read")
        .is_none());

    let e = LvmVolume
        .create(&ctx, clone("big", "2MiB"))
        .await
        .expect_err("the test driver cannot zero the tail");
    assert_eq!(e.diags.0[0].summary, "Writing The Volume's Content Failed");
    assert!(
        e.diags.0[0].detail.contains("was removed"),
        "{}",
        e.diags.0[0].detail
    );
    assert!(e.partial.is_none());
    assert!(conn
        .find_volume("default-pool", "big")
        .await
        .expect("read")
        .is_none());

    let e = LvmVolume
        .create(
            &ctx,
            clone("nosource", "2MiB").with_clone_from("/default-pool/never"),
        )
        .await
        .expect_err("no such source");
    assert_eq!(e.diags.0[0].summary, "Clone Source Not Found");
    assert!(conn
        .find_volume("default-pool", "nosource")
        .await
        .expect("read")
        .is_none());
}

/// `source` on the test driver: a wrong checksum of a local file fails before the volume is
/// made; a good image is opened, the volume made, the upload refused by the test driver, and
/// the volume removed again.
#[tokio::test]
async fn source_failures_leave_nothing_on_the_test_driver() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let conn = ctx.conn().await.expect("conn");
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("disk.raw");
    std::fs::write(&file, vec![7u8; 4096]).expect("write");
    let with_source = |name: &str, checksum: Option<String>| {
        let mut p = planned(name);
        p.source = Some(Source {
            path: Some(file.display().to_string()),
            checksum,
            ..Default::default()
        });
        p
    };

    let e = LvmVolume
        .create(
            &ctx,
            with_source("sum", Some(format!("sha256:{}", "0".repeat(64)))),
        )
        .await
        .expect_err("wrong checksum");
    assert_eq!(e.diags.0[0].summary, "Image Checksum Mismatch");
    assert_eq!(at(&e.diags.0[0]), "source.checksum");
    assert!(conn
        .find_volume("default-pool", "sum")
        .await
        .expect("read")
        .is_none());

    let e = LvmVolume
        .create(&ctx, with_source("up", None))
        .await
        .expect_err("the test driver has no uploads");
    assert!(
        e.diags.0[0].detail.contains("was removed"),
        "{}",
        e.diags.0[0].detail
    );
    assert!(e.partial.is_none());
    assert!(conn
        .find_volume("default-pool", "up")
        .await
        .expect("read")
        .is_none());

    // A deadline already past stops the create before any volume exists.
    let mut late = with_source("late", None);
    late.timeouts = Some(Timeouts {
        create: Some("0s".into()),
    });
    let e = LvmVolume.create(&ctx, late).await.expect_err("timed out");
    assert_eq!(e.diags.0[0].summary, "Volume Creation Timed Out");
    assert!(conn
        .find_volume("default-pool", "late")
        .await
        .expect("read")
        .is_none());
}

#[test]
fn fill_keeps_the_configured_spelling_until_the_size_drifts() {
    let info = |capacity: u64| VolInfo {
        pool: "p".into(),
        xml: crate::libvirt::xml::VolumeXml {
            vol_type: Some("block".into()),
            name: "v".into(),
            key: Some("k".into()),
            capacity,
            allocation: capacity,
            target_path: Some("/dev/p/v".into()),
            format: None,
            backing_path: None,
        },
    };
    let mut s = planned("v");
    s.capacity = "1024MiB".into();
    s.fill(info(1 << 30));
    assert_eq!((s.capacity.text(), s.capacity_bytes), ("1024MiB", Some(1 << 30)));
    s.fill(info(1 << 30));
    assert_eq!(s.capacity.text(), "1024MiB", "the same size keeps the spelling");
    s.fill(info(2 << 30));
    assert_eq!(s.capacity.text(), "2GiB", "drift shows in the canonical spelling");
    assert_eq!(s.key.as_deref(), Some("k"));
}

/// A test driver with the logical pool `lp` (volume group `lvg`) beside its own directory pool.
fn logical_pool_lp() -> TestDriver {
    TestDriver::new(
        "<pool type='logical'><name>lp</name><uuid>4b5d6a1e-1c2d-4e5f-9a8b-7c6d5e4f3a22</uuid>\
         <source><name>lvg</name><format type='lvm2'/></source><target><path>/dev/lvg</path></target></pool>",
    )
}

/// Import cannot know what filled a volume: `source` and `clone_from` stay unset (a configuration
/// that sets them then plans an update that writes nothing, with the warning). Only LVs of logical
/// pools are imported.
#[tokio::test]
async fn import_takes_volumes_of_logical_pools_only() {
    let driver = logical_pool_lp();
    let ctx = Ctx::for_tests(&driver.uri);
    let conn = ctx.conn().await.expect("conn");
    conn.create_volume_xml(
        "lp",
        "lv",
        crate::libvirt::xml::volume_xml("lv", 1 << 20, 1 << 20).expect("xml"),
    )
    .await
    .expect("create");
    let imported = LvmVolume.import(&ctx, "lp/lv").await.expect("import");
    assert_eq!(imported.pool, "lp");
    assert_eq!(imported.capacity_bytes, Some(1 << 20));
    assert!(imported.source.is_none() && imported.clone_from.is_none() && imported.timeouts.is_none());
    // The test driver has no secret driver: a plain volume imports without encryption.
    assert!(imported.encryption.is_none());
}

/// An imported LUKS volume records the secret that opens it, so that a configuration declaring
/// that encryption plans no replacement.
#[tokio::test]
async fn import_records_the_secret_of_an_encrypted_volume() {
    let driver = logical_pool_lp();
    let ctx = Ctx::for_tests(&driver.uri);
    let conn = ctx.conn().await.expect("conn");
    let uuid = "675f09f9-ce67-4ba6-bc7f-4614de90d640";
    conn.create_volume_xml(
        "lp",
        "enc",
        format!(
            "<volume><name>enc</name><capacity unit='bytes'>1048576</capacity>\
             <allocation unit='bytes'>1048576</allocation><target><encryption format='luks'>\
             <secret type='passphrase' uuid='{uuid}'/></encryption></target></volume>"
        ),
    )
    .await
    .expect("create");
    let imported = LvmVolume.import(&ctx, "lp/enc").await.expect("import");
    let enc = imported.encryption.expect("the encryption is recorded");
    assert_eq!(
        (enc.format.as_str(), enc.secret_uuid.as_deref()),
        ("luks", Some(uuid))
    );
    assert_eq!((enc.passphrase_wo, enc.passphrase_wo_version), (None, None));
}

/// A clone source that would make libvirt's qemu-img open other files is refused before any
/// volume exists: one with a backing store, one of another format than raw or qcow2.
#[tokio::test]
async fn clone_sources_that_name_other_files_are_refused() {
    let driver = TestDriver::new("");
    let ctx = Ctx::for_tests(&driver.uri);
    let conn = ctx.conn().await.expect("conn");
    let make = |name: &str, extra: &str| {
        format!(
            "<volume><name>{name}</name><capacity unit='bytes'>1048576</capacity>\
             <allocation unit='bytes'>1048576</allocation>{extra}</volume>"
        )
    };
    conn.create_volume_xml(
        "default-pool",
        "overlay",
        make("overlay", "<backingStore><path>/etc/shadow</path></backingStore>"),
    )
    .await
    .expect("overlay");
    conn.create_volume_xml(
        "default-pool",
        "disk.vmdk",
        make("disk.vmdk", "<target><format type='vmdk'/></target>"),
    )
    .await
    .expect("vmdk");
    for (source, says) in [("overlay", "/etc/shadow"), ("disk.vmdk", "vmdk image")] {
        let key = conn
            .find_volume("default-pool", source)
            .await
            .expect("read")
            .expect("made")
            .key();
        let e = LvmVolume
            .create(&ctx, planned(&format!("copy-of-{source}")).with_clone_from(&key))
            .await
            .expect_err("refused");
        assert_eq!(e.diags.0[0].summary, "Clone Source Refused", "{source}");
        assert!(
            e.diags.0[0].detail.contains(says),
            "{source}: {}",
            e.diags.0[0].detail
        );
        assert!(conn
            .find_volume("default-pool", &format!("copy-of-{source}"))
            .await
            .expect("read")
            .is_none());
    }
}

#[test]
fn an_lv_already_holds_what_rounds_up_to_it_and_a_luks_header() {
    const M: u64 = 1 << 20;
    // Plain: LVM's rounding to 4 MiB extents is no change; a whole extent more is.
    assert!(already_holds(10 * M, 12 * M, false));
    assert!(already_holds(12 * M, 12 * M, false));
    assert!(!already_holds(32 * M, 36 * M, false), "a 4 MiB shrink");
    assert!(!already_holds(13 * M, 12 * M, false), "a grow");
    // Encrypted: 32 MiB inside a 2 MiB LUKS header is the 36 MiB LV libvirt made for it.
    assert!(already_holds(32 * M, 36 * M, true));
    assert!(already_holds(34 * M, 36 * M, true));
    assert!(
        !already_holds(36 * M, 36 * M, true),
        "no room left for the header: a grow"
    );
    assert!(!already_holds(28 * M, 36 * M, true), "a shrink");
}

/// A resize of an encrypted volume sizes its LV for the payload and the header, and tells the
/// guests the payload: grown to 40 MiB, the LV is 42 MiB (44 after LVM's rounding) and a guest is
/// told 42 MiB, never the LV's own size (QEMU would have to grow the device past its end).
#[test]
fn an_encrypted_resize_counts_the_luks_header_once_each_way() {
    use super::encryption::{guest_bytes, lv_bytes};
    const M: u64 = 1 << 20;
    assert_eq!(lv_bytes(40 * M, true), 42 * M);
    assert_eq!(lv_bytes(40 * M, false), 40 * M);
    assert_eq!(guest_bytes(44 * M, true), 42 * M);
    assert_eq!(guest_bytes(44 * M, false), 44 * M);
    assert_eq!(guest_bytes(M, true), 0, "never below zero");
    for c in [M, 32 * M, 1 << 40] {
        assert_eq!(guest_bytes(lv_bytes(c, true), true), c);
    }
}
