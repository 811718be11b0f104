//! Unit tests of the lvm_pool resource.

use super::*;

#[test]
fn uuids_are_version_4_and_distinct() {
    let a = new_uuid().expect("uuid");
    let b = new_uuid().expect("uuid");
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4", "{a}");
    assert!("89ab".contains(&a[19..20]), "{a}");
}

#[test]
fn duplicate_devices_are_refused_at_validate() {
    let config = |devices: &[&str]| {
        Value::object([
            ("name", Value::from("p")),
            (
                "source_devices",
                Value::List(devices.iter().map(|d| Value::from(*d)).collect()),
            ),
        ])
    };
    let mut diags = Diagnostics::new();
    LvmPool::validate(&config(&["/dev/sdb", "/dev/sdc"]), &mut diags);
    assert!(!diags.has_errors(), "{diags:?}");
    LvmPool::validate(&config(&["/dev/sdb", "/dev/sdb"]), &mut diags);
    assert!(diags.has_errors());
    let d = &diags.0[0];
    assert_eq!(d.summary, "Duplicate Source Device");
    assert!(d.detail.contains("\"/dev/sdb\""), "{}", d.detail);
}

#[test]
fn identities_name_pools_by_name_only() {
    let id = |v: Value| Value::object([("name", v)]);
    assert_eq!(
        LvmPool::import_id_from_identity(&id("p1".into())).ok(),
        Some("p1".to_string())
    );
    let uuid = "0b7e4c9e-3c52-4f7e-9d0e-2a1b3c4d5e6f";
    for bad in [Value::Null, "".into(), "a/b".into(), uuid.into()] {
        let d = LvmPool::import_id_from_identity(&id(bad.clone())).expect_err("refused");
        assert!(format!("{d:?}").contains("Invalid Identity"), "{bad:?}: {d:?}");
    }
}

#[test]
fn device_sets_ignore_order() {
    let v = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(same_set(&v(&["/dev/a", "/dev/b"]), &v(&["/dev/b", "/dev/a"])));
    assert!(!same_set(&v(&["/dev/a"]), &v(&["/dev/a", "/dev/b"])));
}

fn planned(name: &str) -> State {
    State {
        name: name.into(),
        volume_group: Some(format!("{name}-vg")),
        source_devices: Some(vec!["/dev/sdz".into()]),
        build: Some(true),
        overwrite: Some(false),
        autostart: Some(true),
        active: Some(true),
        on_destroy: Some("delete".into()),
        force_destroy: Some(false),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_missing_pool_reads_as_gone_and_deletes_nothing() {
    let d = crate::libvirt::testing::TestDriver::new("");
    let ctx = Ctx::for_tests(&d.uri);
    let made = LvmPool.create(&ctx, planned("p")).await.expect("create");
    assert!(made.id.is_some());
    let mut gone = made.clone();
    gone.id = Some("00000000-0000-4000-8000-000000000001".into());
    let mut notes = Diagnostics::new();
    assert!(LvmPool
        .read(&ctx, gone.clone(), &mut notes)
        .await
        .expect("read")
        .is_none());
    LvmPool
        .delete(&ctx, gone, &mut notes)
        .await
        .expect("deletes nothing");
    assert_eq!(notes.0[0].summary, "Pool Already Gone");
    // The pool that has the name is untouched.
    let found = LvmPool
        .read(&ctx, made, &mut Diagnostics::new())
        .await
        .expect("read");
    assert_eq!(found.and_then(|s| s.state).as_deref(), Some("running"));
}

/// The recorded UUID now answers over another volume group: never adopted, never deleted.
#[tokio::test]
async fn identity_mismatch_on_read_and_delete_changes_nothing() {
    let d = crate::libvirt::testing::TestDriver::new("");
    let ctx = Ctx::for_tests(&d.uri);
    let made = LvmPool.create(&ctx, planned("p")).await.expect("create");
    let mut other = made.clone();
    other.volume_group = Some("recorded-vg".into());
    let mut notes = Diagnostics::new();
    assert!(LvmPool
        .read(&ctx, other.clone(), &mut notes)
        .await
        .expect("read")
        .is_none());
    let text = format!("{notes:?}");
    assert!(text.contains("recorded-vg") && text.contains("p-vg"), "{text}");
    let mut notes = Diagnostics::new();
    LvmPool
        .delete(&ctx, other, &mut notes)
        .await
        .expect("deletes nothing");
    assert_eq!(notes.0[0].summary, "Pool Not Deleted");
    let conn = ctx.conn().await.expect("conn");
    let p = conn
        .pool(made.id.as_deref().unwrap_or_default())
        .await
        .expect("read");
    assert!(p.is_some_and(|p| p.active), "the pool was stopped or removed");
    // Its own identity: deleted (the test driver's VG is in memory).
    let mut notes = Diagnostics::new();
    LvmPool
        .delete(&ctx, made.clone(), &mut notes)
        .await
        .expect("delete");
    assert!(notes.0.is_empty(), "{notes:?}");
    assert!(LvmPool
        .read(&ctx, made, &mut notes)
        .await
        .expect("read")
        .is_none());
}

fn strings(v: &[&str]) -> Value {
    Value::List(v.iter().map(|s| Value::from(*s)).collect())
}

#[tokio::test]
async fn an_update_with_the_devices_reordered_plans_no_replacement() {
    let schema = LvmPool::schema();
    let mut prior = Value::object([
        ("id", Value::from("u")),
        ("name", Value::from("p")),
        ("volume_group", Value::from("p")),
        ("source_devices", strings(&["/dev/vdb", "/dev/vdc"])),
        ("build", Value::Bool(true)),
        ("overwrite", Value::Bool(false)),
        ("autostart", Value::Bool(true)),
        ("active", Value::Bool(true)),
        ("on_destroy", Value::from("keep")),
        ("force_destroy", Value::Bool(false)),
        ("target_path", Value::from("/dev/p")),
        ("capacity", Value::from(1u64)),
        ("allocation", Value::from(0u64)),
        ("available", Value::from(1u64)),
        ("state", Value::from("running")),
    ]);
    let mut config = prior.clone();
    for (k, v) in [
        ("source_devices", strings(&["/dev/vdc", "/dev/vdb"])),
        ("id", Value::Null),
        ("build", Value::Null),
    ] {
        if let Some(slot) = config.attr_mut(k) {
            *slot = v;
        }
    }
    let mut proposed = prior.clone();
    if let Some(slot) = proposed.attr_mut("source_devices") {
        *slot = strings(&["/dev/vdc", "/dev/vdb"]);
    }
    let ctx = Ctx::for_tests("test:///never-opened");
    let mut p = Plan::new(&schema, Some(prior.clone()), proposed, config);
    crate::framework::plan::apply_defaults(&schema, &mut p);
    LvmPool.plan(&ctx, &mut p).await.expect("plan");
    crate::framework::plan::finish(&schema, &mut p);
    assert_eq!(
        p.planned("source_devices"),
        prior.attr("source_devices").unwrap_or(&Value::Null)
    );
    assert!(p.requires_replace.is_empty(), "{:?}", p.requires_replace);
    assert!(p.warnings.0.is_empty(), "{:?}", p.warnings);
    // Another device is no replacement: an update, refused at plan without LVM's tools (the
    // test driver has none), said in this plan.
    if let Some(slot) = prior.attr_mut("source_devices") {
        *slot = strings(&["/dev/vdb"]);
    }
    let mut p = Plan::new(&schema, Some(prior), p.planned.clone(), p.config.clone());
    LvmPool.plan(&ctx, &mut p).await.expect("plan");
    crate::framework::plan::finish(&schema, &mut p);
    assert!(p.requires_replace.is_empty(), "{:?}", p.requires_replace);
    let w = &p.warnings.0;
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(w[0].summary, "Changing Devices Needs LVM's Tools");
    assert!(w[0].detail.contains("Nothing was changed"), "{}", w[0].detail);
}

#[test]
fn a_replacement_says_what_the_destroy_half_does_and_what_refuses_it() {
    let says = |d: &Diagnostic, parts: &[&str]| {
        for p in parts {
            assert!(d.detail.contains(p), "no {p:?} in {}", d.detail);
        }
    };
    let mut prior = planned("p");
    prior.on_destroy = Some("delete".into());
    says(
        &replacement_detail(&prior, &["volume_group"]),
        &[
            "volume group \"p-vg\" is removed.",
            "while it holds any logical volume",
        ],
    );
    prior.force_destroy = Some(true);
    says(
        &replacement_detail(&prior, &["volume_group", "source_devices"]),
        &[
            "Changing volume_group, source_devices",
            "with every logical volume in it",
            "while a domain uses any of its volumes.",
        ],
    );
}
