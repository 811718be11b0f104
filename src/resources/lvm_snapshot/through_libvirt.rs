//! A thick snapshot made, read and removed through libvirt alone, for a provider without LVM's
//! tools (no `lvm_tools`, and a URI they cannot ride on).
//!
//! libvirt's logical backend makes a thick snapshot when asked for a volume with a
//! `<backingStore>` (`lvcreate -L <size> -s <origin>`), lists it with its origin as that backing
//! store, and removes it with `lvremove` of the snapshot alone. It cannot make a thin snapshot (it
//! does not list thin volumes), grow a snapshot, merge one or say how full one is: those need the
//! tools, and the plan says so before anything changes. The snapshot is still its LV UUID (libvirt's
//! key of a logical volume): reads and the removal go through the same key checks as a volume's.

use crate::framework::plan::Plan;
use crate::framework::resource::Outcome;
use crate::framework::{Diagnostic, Diagnostics};
use crate::libvirt::facts::volume::{Lookup, VolInfo, VolumeIdentity};
use crate::libvirt::volume::{Created, VolumeDelete};
use crate::provider::Ctx;
use crate::units::parse_size;

use super::super::lv_common::{size_at, size_change, size_kept, vg_of, SizeChange};
use super::{nothing_to_merge_yet, State, TYPE};

/// Why the tools are missing, for the diagnostics below.
async fn why(ctx: &Ctx) -> String {
    ctx.lvm_unavailable().await
}

/// What needs LVM's tools, said at `attr`: `what` cannot be done through libvirt.
fn needs_tools(what: &str, why: &str, attr: &str) -> Diagnostic {
    Diagnostic::error(
        "LVM Tools Needed",
        format!(
            "Without LVM's tools on the hypervisor ({why}), {TYPE} makes only thick snapshots of plain LVs, \
             through libvirt (`lvcreate -s` by its logical backend), and cannot {what}. Valid: size set and \
             merge_into_origin = false; or the tools: a qemu+ssh:// URI, a local qemu:///system URI, or a \
             provider block with lvm_tools {{ ssh_host = \"...\" }} for qemu+tcp:// and qemu+tls:// URIs."
        ),
    )
    .at_attr(attr)
}

fn origin_not_listed(pool: &str, origin: &str) -> Diagnostic {
    Diagnostic::error(
        "Origin Not Found",
        format!(
            "libvirt lists no LV named {origin:?} in pool {pool:?}: it does not exist, or it is a thin volume or an \
             LV deactivated by hand, which libvirt's logical backend does not list (a snapshot of those needs \
             LVM's tools, lvm_tools). Nothing was changed."
        ),
    )
    .at_attr("origin")
}

fn origin_is_a_snapshot(origin: &VolInfo) -> Diagnostic {
    Diagnostic::error(
        "Origin Cannot Be Snapshotted",
        format!(
            "{} is itself a snapshot (of {}); LVM cannot snapshot a thick snapshot. Valid: the name of a plain LV \
             of the pool. Nothing was changed.",
            origin.describe(),
            origin.xml.backing_path.as_deref().unwrap_or("?")
        ),
    )
    .at_attr("origin")
}

fn identity(s: &State) -> Option<VolumeIdentity> {
    Some(VolumeIdentity {
        pool: s.pool.clone(),
        key: s.id.clone()?,
        name: s.name.clone(),
        path: s.path.clone()?,
    })
}

impl State {
    /// What libvirt says of the snapshot: its key, name, copy-on-write size and path. How full
    /// it is and whether it overflowed are LVM's to say (`null` here).
    ///
    /// The copy-on-write size is libvirt's allocation: its logical backend takes a volume's
    /// allocation from LVM's `lv_size` (for a snapshot, its copy-on-write space) and its capacity
    /// from the device, which for a snapshot reads as large as its origin.
    pub(super) fn fill_from_volume(&mut self, v: &VolInfo) {
        self.id = Some(v.key());
        self.name = v.xml.name.clone();
        self.kind = Some("thick".to_string());
        self.size = Some(size_kept(self.size.as_ref(), v.xml.allocation));
        self.size_bytes = Some(v.xml.allocation);
        self.data_percent = None;
        self.invalid = None;
        self.merged = Some(false);
        self.path = Some(v.path());
    }
}

/// The plan without the tools: what libvirt cannot do is refused here, before anything changes.
pub(super) async fn plan(
    ctx: &Ctx,
    plan: &mut Plan,
    (pool, origin, name): (&str, &str, &str),
) -> Result<(), Diagnostics> {
    let merge_now = plan.planned("merge_into_origin").as_bool() == Some(true);
    if plan.is_create() {
        if merge_now {
            plan.warn_refusal(nothing_to_merge_yet());
        }
        if plan.config("size").is_null() {
            plan.warn_refusal(needs_tools(
                "make a thin snapshot (size unset)",
                &why(ctx).await,
                "size",
            ));
        }
        plan.set("kind", "thick");
        let conn = ctx.conn().await?;
        if let Some(o) = conn.find_volume(pool, origin).await? {
            if o.xml.backing_path.is_some() {
                plan.warn_refusal(origin_is_a_snapshot(&o));
            }
        }
        if let Some(v) = conn.find_volume(pool, name).await? {
            plan.warn_refusal(
                Diagnostic::error(
                    "Name Already Taken",
                    format!(
                        "Pool {pool:?} already has a volume named {name:?} ({}).",
                        v.describe()
                    ),
                )
                .at_attr("name"),
            );
        }
        if let Some(vg) = vg_of(ctx, pool).await? {
            plan.set("path", format!("/dev/{vg}/{name}"));
        }
        return Ok(());
    }
    if plan.prior("merged").as_bool() == Some(true) {
        return Ok(());
    }
    if merge_now && plan.prior("merge_into_origin").as_bool() != Some(true) {
        plan.warn_refusal(needs_tools(
            "merge a snapshot into its origin (lvconvert --merge)",
            &why(ctx).await,
            "merge_into_origin",
        ));
    }
    if let (Some(current), Some(wanted)) = (
        plan.prior("size_bytes").as_u64(),
        plan.planned("size").as_str().and_then(|s| parse_size(s).ok()),
    ) {
        match size_change(current, wanted) {
            SizeChange::None => plan.keep_prior("size"),
            SizeChange::Shrink => plan.warn_refusal(super::super::lv_common::shrink_refused(
                "Snapshot", "size", current, wanted,
            )),
            SizeChange::Grow => plan.warn_refusal(needs_tools("grow a snapshot", &why(ctx).await, "size")),
        }
    }
    Ok(())
}

/// Makes the thick snapshot through libvirt: the origin must be a plain LV libvirt lists.
pub(super) async fn create(ctx: &Ctx, planned: State) -> Outcome<State> {
    let Some(size) = planned.size.clone() else {
        return Err(needs_tools("make a thin snapshot (size unset)", &why(ctx).await, "size").into());
    };
    let bytes = size_at("size", &size)?;
    let conn = ctx.conn().await?;
    conn.refresh_pool(&planned.pool).await?;
    let Some(origin) = conn.find_volume(&planned.pool, &planned.origin).await? else {
        return Err(origin_not_listed(&planned.pool, &planned.origin).into());
    };
    if origin.xml.backing_path.is_some() {
        return Err(origin_is_a_snapshot(&origin).into());
    }
    let made = conn
        .create_snapshot_volume(&planned.pool, &planned.name, bytes, &origin.path())
        .await?;
    let v = match made {
        Created::New(v) => v,
        Created::Exists(v) => {
            return Err(Diagnostic::error(
                "Name Already Taken",
                format!(
                    "Pool {:?} already has a volume named {:?} ({}); nothing was changed.",
                    planned.pool,
                    planned.name,
                    v.describe()
                ),
            )
            .at_attr("name")
            .into())
        }
        Created::NoActivePool | Created::NoPool => {
            return Err(Diagnostic::error(
                "Storage Pool Not Active",
                format!(
                    "Pool {:?} is stopped or gone; no snapshot was made.",
                    planned.pool
                ),
            )
            .at_attr("pool")
            .into())
        }
        Created::NoSpace { available } => {
            return Err(Diagnostic::error(
                "Not Enough Space",
                format!(
                    "Pool {:?} has {} available, less than the snapshot's size {size}; no snapshot was made.",
                    planned.pool,
                    crate::units::human(available)
                ),
            )
            .at_attr("size")
            .into())
        }
    };
    let mut s = planned;
    s.fill_from_volume(&v);
    Ok(s)
}

/// Reads the snapshot by its key: gone, or under another name, it leaves the state.
pub(super) async fn read(
    ctx: &Ctx,
    mut s: State,
    notes: &mut Diagnostics,
) -> Result<Option<State>, Diagnostics> {
    let Some(id) = identity(&s) else {
        return Ok(None);
    };
    let conn = ctx.conn().await?;
    conn.refresh_pool(&s.pool).await?;
    let Some(found) = conn.read_volume(&id).await? else {
        // The volumes of a stopped pool cannot be listed; they still exist.
        return Ok(Some(s));
    };
    match found {
        Lookup::Found(v) => {
            s.fill_from_volume(&v);
            Ok(Some(s))
        }
        Lookup::Gone => Ok(None),
        Lookup::Elsewhere(v) => {
            notes.push(Diagnostic::warning(
                "Snapshot Is No Longer This Resource's",
                format!(
                    "The LV UUID {} of snapshot {:?} now answers as {}. It is left alone and removed from the state; \
                     import it to manage it.",
                    id.key,
                    id.name,
                    v.describe()
                ),
            ));
            Ok(None)
        }
    }
}

/// An update without the tools: nothing libvirt can change (the plan refused the rest).
pub(super) async fn update(ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
    if planned.merge_into_origin == Some(true) && prior.merge_into_origin != Some(true) {
        return Err(needs_tools(
            "merge a snapshot into its origin (lvconvert --merge)",
            &why(ctx).await,
            "merge_into_origin",
        )
        .into());
    }
    if let (Some(text), Some(current)) = (&planned.size, prior.size_bytes) {
        if size_change(current, size_at("size", text)?) == SizeChange::Grow {
            return Err(needs_tools("grow a snapshot", &why(ctx).await, "size").into());
        }
    }
    let mut notes = Diagnostics::new();
    let Some(mut s) = read(ctx, prior.clone(), &mut notes).await? else {
        return Err(super::gone(&prior).into());
    };
    s.merge_into_origin = planned.merge_into_origin;
    s.size = planned.size.or(s.size);
    Ok(s)
}

/// Removes the snapshot alone, by libvirt, after the checks every volume's delete makes (the key
/// still answers under the recorded name and path, no domain uses it).
pub(super) async fn delete(ctx: &Ctx, prior: &State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
    let Some(id) = identity(prior) else {
        return Ok(());
    };
    let conn = ctx.conn().await?;
    match conn.delete_volume(&id, false, None).await? {
        VolumeDelete::Deleted => Ok(()),
        VolumeDelete::Gone => {
            notes.push(Diagnostic::warning(
                "Snapshot Already Gone",
                format!(
                    "No LV with UUID {} exists in pool {:?} any more, so nothing was deleted.",
                    id.key, id.pool
                ),
            ));
            Ok(())
        }
        VolumeDelete::Elsewhere(v) => {
            notes.push(Diagnostic::warning(
                "Snapshot Not Deleted",
                format!(
                    "The LV UUID {} of snapshot {:?} now answers as {}: it was left alone; only the state entry is \
                     removed.",
                    id.key,
                    id.name,
                    v.describe()
                ),
            ));
            Ok(())
        }
        VolumeDelete::InUse(v, users) => Err(Diagnostic::error(
            "Snapshot Is Attached To A Domain",
            format!(
                "Snapshot {} is in use as {}; nothing was changed. Detach it first, then destroy the snapshot.",
                v.describe(),
                users.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
        .into()),
        VolumeDelete::HasSnapshots(v, _) | VolumeDelete::Open(v) | VolumeDelete::Unchecked(v, _) => {
            Err(Diagnostic::error(
                "Snapshot Not Deleted",
                format!("Snapshot {} could not be removed safely; nothing was changed.", v.describe()),
            )
            .into())
        }
        VolumeDelete::PoolNotActive => Err(Diagnostic::error(
            "Storage Pool Not Active",
            format!(
                "Pool {:?} is stopped, so snapshot {} (LV UUID {}) can be neither checked nor deleted; nothing was \
                 changed. Start the pool and destroy again.",
                id.pool, id.name, id.key
            ),
        )
        .into()),
    }
}

/// Imports `pool/name` when libvirt lists it with a backing store (a thick snapshot).
pub(super) async fn import(ctx: &Ctx, pool: &str, name: &str) -> Result<State, Diagnostics> {
    let conn = ctx.conn().await?;
    conn.refresh_pool(pool).await?;
    let found = conn.find_volume(pool, name).await?;
    let Some((v, origin_path)) = found.and_then(|v| {
        let origin = v.xml.backing_path.clone()?;
        Some((v, origin))
    }) else {
        return Err(Diagnostic::error(
            "Snapshot Not Found",
            format!(
                "libvirt lists no snapshot named {name:?} in pool {pool:?} (without LVM's tools only thick snapshots \
                 of plain LVs can be seen)."
            ),
        )
        .into());
    };
    let mut s = State {
        pool: pool.to_string(),
        origin: origin_path.rsplit('/').next().unwrap_or_default().to_string(),
        merge_into_origin: Some(false),
        ..Default::default()
    };
    s.fill_from_volume(&v);
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::super::LvmSnapshot;
    use super::*;
    use crate::framework::resource::Resource;
    use crate::framework::Value;
    use crate::libvirt::testing::TestDriver;
    use crate::libvirt::volume::NewVolume;

    const POOL: &str = "default-pool";

    fn snapshot(origin: &str, name: &str, size: Option<&str>) -> State {
        State {
            pool: POOL.into(),
            origin: origin.into(),
            name: name.into(),
            size: size.map(Into::into),
            merge_into_origin: Some(false),
            ..Default::default()
        }
    }

    /// A test driver with a plain volume `origin` of 8 MiB in its default pool.
    async fn with_origin() -> (TestDriver, Ctx) {
        let driver = TestDriver::new("");
        let ctx = Ctx::for_tests(&driver.uri);
        let conn = ctx.conn().await.expect("conn");
        let made = conn
            .create_volume(POOL, &NewVolume::plain("origin", 8 << 20))
            .await
            .expect("origin");
        assert!(matches!(made, Created::New(_)), "{made:?}");
        (driver, ctx)
    }

    #[tokio::test]
    async fn a_thick_snapshot_is_made_read_and_removed_through_libvirt_alone() {
        let (_driver, ctx) = with_origin().await;
        assert!(
            ctx.lvm().await.expect("lvm").is_none(),
            "the test driver has no LVM tools"
        );
        let conn = ctx.conn().await.expect("conn");
        let origin = conn
            .find_volume(POOL, "origin")
            .await
            .expect("read")
            .expect("origin");

        let s = LvmSnapshot
            .create(&ctx, snapshot("origin", "snap", Some("4MiB")))
            .await
            .expect("made through libvirt");
        assert_eq!(
            (
                s.kind.as_deref(),
                s.size_bytes,
                s.data_percent,
                s.invalid,
                s.merged
            ),
            (Some("thick"), Some(4 << 20), None, None, Some(false))
        );
        let made = conn
            .find_volume(POOL, "snap")
            .await
            .expect("read")
            .expect("the snapshot");
        assert_eq!(
            made.xml.backing_path,
            Some(origin.path()),
            "its origin is the backing store"
        );
        assert_eq!(s.id, Some(made.key()));

        let mut notes = Diagnostics::new();
        let read = LvmSnapshot.read(&ctx, s.clone(), &mut notes).await.expect("read");
        assert_eq!(read.as_ref().and_then(|r| r.id.clone()), s.id, "{notes:?}");

        LvmSnapshot
            .delete(&ctx, s.clone(), &mut notes)
            .await
            .expect("removed");
        assert!(
            conn.find_volume(POOL, "snap").await.expect("read").is_none(),
            "the snapshot is gone"
        );
        assert!(
            conn.find_volume(POOL, "origin").await.expect("read").is_some(),
            "the origin is left"
        );
        assert!(LvmSnapshot
            .read(&ctx, s, &mut notes)
            .await
            .expect("read")
            .is_none());
    }

    #[tokio::test]
    async fn what_libvirt_cannot_do_is_refused_and_changes_nothing() {
        let (_driver, ctx) = with_origin().await;
        let conn = ctx.conn().await.expect("conn");
        let count = || async { conn.list_volumes(POOL).await.expect("list").len() };
        let before = count().await;
        for (planned, summary, attr) in [
            (snapshot("origin", "thin", None), "LVM Tools Needed", "size"),
            (
                snapshot("nowhere", "s1", Some("4MiB")),
                "Origin Not Found",
                "origin",
            ),
        ] {
            let e = LvmSnapshot
                .create(&ctx, planned)
                .await
                .expect_err("refused")
                .diags;
            assert_eq!(e.0[0].summary, summary, "{e:?}");
            assert_eq!(
                e.0[0].attribute.as_ref().map(ToString::to_string).as_deref(),
                Some(attr)
            );
            assert!(
                e.0[0].detail.contains("Valid") || e.0[0].detail.contains("lvm_tools"),
                "{e:?}"
            );
        }
        assert_eq!(count().await, before, "nothing was made");

        let s = LvmSnapshot
            .create(&ctx, snapshot("origin", "snap", Some("4MiB")))
            .await
            .expect("made");
        let e = LvmSnapshot
            .create(&ctx, snapshot("snap", "snap2", Some("4MiB")))
            .await
            .expect_err("a snapshot of a snapshot")
            .diags;
        assert_eq!(e.0[0].summary, "Origin Cannot Be Snapshotted");
        for (merge, size, attr) in [(true, "4MiB", "merge_into_origin"), (false, "8MiB", "size")] {
            let planned = State {
                merge_into_origin: Some(merge),
                size: Some(size.into()),
                ..s.clone()
            };
            let e = LvmSnapshot
                .update(&ctx, s.clone(), planned)
                .await
                .expect_err("needs the tools")
                .diags;
            assert_eq!(e.0[0].summary, "LVM Tools Needed");
            assert_eq!(
                e.0[0].attribute.as_ref().map(ToString::to_string).as_deref(),
                Some(attr)
            );
        }
        let after = conn
            .find_volume(POOL, "snap")
            .await
            .expect("read")
            .expect("still there");
        assert_eq!(after.xml.capacity, 4 << 20, "not grown");
    }

    /// A thin snapshot recorded in the state is invisible to libvirt: without the tools it is kept
    /// unread (with a warning), and its removal is refused, never taken for done.
    #[tokio::test]
    async fn a_thin_snapshot_is_never_taken_for_gone_without_the_tools() {
        let (_driver, ctx) = with_origin().await;
        let thin = State {
            id: Some("tHiN00-0000-0000-0000-0000-0000-000000".into()),
            kind: Some("thin".into()),
            path: Some("/default-pool/thin-snap".into()),
            merged: Some(false),
            ..snapshot("origin", "thin-snap", None)
        };
        let mut notes = Diagnostics::new();
        let kept = LvmSnapshot
            .read(&ctx, thin.clone(), &mut notes)
            .await
            .expect("read");
        assert_eq!(kept.and_then(|k| k.id), thin.id, "kept in the state");
        assert_eq!(
            notes.0.first().map(|n| n.summary.as_str()),
            Some("Snapshot Not Read")
        );
        let e = LvmSnapshot
            .delete(&ctx, thin.clone(), &mut Diagnostics::new())
            .await
            .expect_err("refused");
        assert_eq!(e.0[0].summary, "LVM Tools Needed");
    }

    /// The plan says what the apply would refuse: a thin snapshot (no size), a merge and a grow.
    #[tokio::test]
    async fn the_plan_warns_of_what_needs_the_tools() {
        let (_driver, ctx) = with_origin().await;
        let proposed = |size: Value, merge: bool| {
            Value::object([
                ("id", Value::Unknown),
                ("pool", Value::from(POOL)),
                ("origin", Value::from("origin")),
                ("name", Value::from("snap")),
                ("size", size),
                ("merge_into_origin", Value::Bool(merge)),
                ("kind", Value::Unknown),
                ("size_bytes", Value::Unknown),
                ("data_percent", Value::Unknown),
                ("invalid", Value::Unknown),
                ("merged", Value::Unknown),
                ("path", Value::Unknown),
            ])
        };
        let schema = LvmSnapshot::schema();
        let p = proposed(Value::Null, false);
        let mut plan = Plan::new(&schema, None, p.clone(), p);
        LvmSnapshot.plan(&ctx, &mut plan).await.expect("plan");
        let said: Vec<_> = plan.warnings.0.iter().map(|w| w.summary.clone()).collect();
        assert_eq!(said, ["LVM Tools Needed"]);

        let p = proposed(Value::from("4MiB"), false);
        let mut plan = Plan::new(&schema, None, p.clone(), p);
        LvmSnapshot.plan(&ctx, &mut plan).await.expect("plan");
        assert!(plan.warnings.0.is_empty(), "{:?}", plan.warnings);

        let s = LvmSnapshot
            .create(&ctx, snapshot("origin", "snap", Some("4MiB")))
            .await
            .expect("made");
        let prior = Value::object([
            ("id", Value::from(s.id.clone().expect("id"))),
            ("pool", Value::from(POOL)),
            ("origin", Value::from("origin")),
            ("name", Value::from("snap")),
            ("size", Value::from("4MiB")),
            ("merge_into_origin", Value::Bool(false)),
            ("kind", Value::from("thick")),
            ("size_bytes", Value::from(4u64 << 20)),
            ("data_percent", Value::Null),
            ("invalid", Value::Null),
            ("merged", Value::Bool(false)),
            ("path", Value::from(s.path.clone().expect("path"))),
        ]);
        for (size, merge) in [("8MiB", false), ("4MiB", true)] {
            let p = proposed(Value::from(size), merge);
            let mut plan = Plan::new(&schema, Some(prior.clone()), p.clone(), p);
            LvmSnapshot.plan(&ctx, &mut plan).await.expect("plan");
            let said: Vec<_> = plan.warnings.0.iter().map(|w| w.summary.clone()).collect();
            assert_eq!(said, ["LVM Tools Needed"], "size {size}, merge {merge}");
        }
    }
}
