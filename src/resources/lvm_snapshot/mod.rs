//! `libvirt_lvm_snapshot`: an LVM snapshot of an LV, and the explicit rollback to it.
//!
//! A thin snapshot of a thin volume (instant, no size: it shares the thin pool), or a thick
//! (copy-on-write) snapshot of a plain LV with `size` for the changed blocks. The snapshot is its
//! LV UUID: reads and the removal act on the LV with that UUID under that name, never on whatever
//! now has the name; destroying it removes only the snapshot.
//!
//! `merge_into_origin = true` is the rollback (`lvconvert --merge`): the origin reads as it did
//! when the snapshot was taken, its writes since are lost, and the snapshot LV is consumed. It is
//! refused while a running domain uses the origin or the origin is open (LVM would defer the merge
//! to the origin's next activation). Once merged, the resource stays in the state as a record of
//! the rollback and destroying it removes nothing.
//!
//! Without LVM's tools a thick snapshot goes through libvirt alone ([`through_libvirt`]).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{IdentitySchema, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::lvm::command::Command;
use crate::lvm::report::{Lv, LvKind};
use crate::lvm::Channel;
use crate::names;
use crate::provider::Ctx;
use crate::units::Size;
use std::sync::Arc;

use super::lv_common::{claim, grow_to, pool_and_name_identity, pool_and_name_identity_schema};
use super::lv_common::{
    find, lvs, merge_refusal, names_of, needs_lvm_tools, read_lv, require_vg, run, shrink_refused, size_at,
    size_change, size_kept, validate_size, vg_of, Found, Read, SizeChange,
};
use super::lvm_thin_volume::remove_lv;

mod through_libvirt;

/// The resource type.
pub struct LvmSnapshot;

/// State and configuration of one snapshot.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    pool: String,
    origin: String,
    name: String,
    size: Option<Size>,
    merge_into_origin: Option<bool>,
    kind: Option<String>,
    size_bytes: Option<u64>,
    data_percent: Option<f64>,
    invalid: Option<bool>,
    merged: Option<bool>,
    path: Option<String>,
}

impl State {
    fn fill(&mut self, lv: &Lv) {
        self.id = Some(lv.uuid.clone());
        self.name = lv.name.clone();
        let thin = lv.kind() == LvKind::Thin;
        self.kind = Some(if thin { "thin" } else { "thick" }.to_string());
        if !thin {
            self.size = Some(size_kept(self.size.as_ref(), lv.size));
        }
        self.size_bytes = Some(lv.size);
        self.data_percent = Some(lv.data_percent.unwrap_or(0.0));
        self.invalid = Some(lv.is_invalid_snapshot());
        self.merged = Some(false);
        self.path = Some(
            lv.path
                .clone()
                .unwrap_or_else(|| format!("/dev/{}/{}", lv.vg, lv.name)),
        );
    }
}

/// What kind of snapshot an origin takes, and whether `size` fits it.
fn kind_for(origin: &Lv, size_set: bool) -> Result<&'static str, Diagnostic> {
    match origin.kind() {
        LvKind::Thin if size_set => Err(Diagnostic::error(
            "Size Not Allowed For A Thin Snapshot",
            format!(
                "origin {:?} is a thin volume: its snapshot is a thin snapshot, which allocates from the thin pool \
                 and has no size of its own. Valid: leave size unset.",
                origin.name
            ),
        )
        .at_attr("size")),
        LvKind::Thin => Ok("thin"),
        LvKind::Plain if !size_set => Err(Diagnostic::error(
            "Size Required For A Thick Snapshot",
            format!(
                "origin {:?} is a plain LV: its snapshot is a thick (copy-on-write) snapshot, which needs space for \
                 the blocks that change. Valid: size set, such as \"1GiB\" (a snapshot whose changes outgrow it \
                 becomes invalid).",
                origin.name
            ),
        )
        .at_attr("size")),
        LvKind::Plain => Ok("thick"),
        other => Err(Diagnostic::error(
            "Origin Cannot Be Snapshotted",
            format!(
                "origin {:?} is a {} LV. Valid: the name of a plain LV or a thin volume of the pool's volume group.",
                origin.name,
                other.as_str()
            ),
        )
        .at_attr("origin")),
    }
}

/// A thin snapshot is invisible to libvirt (it lists no thin LV): without LVM's tools it is neither
/// read (the state is kept, with a warning) nor changed nor removed, never taken for gone.
fn is_thin(kind: Option<&str>) -> bool {
    kind == Some("thin")
}

fn nothing_to_merge_yet() -> Diagnostic {
    Diagnostic::error(
        "Nothing To Merge Yet",
        "merge_into_origin = true on a snapshot not made yet would roll its origin back to itself. Valid: false at \
         creation; set it to true on an existing snapshot to roll back.",
    )
    .at_attr("merge_into_origin")
}

fn merge_warning(origin: &str, name: &str) -> Diagnostic {
    Diagnostic::warning(
        "Rollback: The Origin's Writes Since The Snapshot Are Lost",
        format!(
            "merge_into_origin = true merges snapshot {name:?} into {origin:?} (lvconvert --merge): {origin:?} reads \
             again as it did when the snapshot was taken. Everything written to {origin:?} since is lost, and the \
             snapshot {name:?} disappears (the resource stays in the state as a record of the rollback; remove it \
             from the configuration afterwards)."
        ),
    )
    .at_attr("merge_into_origin")
}

fn invalid_warning(name: &str) -> Diagnostic {
    Diagnostic::warning(
        "Snapshot Is Invalid",
        format!(
            "Thick snapshot {name:?} overflowed: more of its origin changed than its size holds, so LVM dropped it and \
             its data is gone (lv_attr state I). It can only be destroyed; a new snapshot needs a larger size."
        ),
    )
}

const TYPE: &str = "libvirt_lvm_snapshot";

#[async_trait]
impl Resource for LvmSnapshot {
    type Ctx = Ctx;
    type State = State;
    const TYPE_NAME: &'static str = TYPE;

    fn schema() -> Schema {
        Schema::new(
            "An LVM snapshot of an LV in a `logical` storage pool's volume group: a thin snapshot of a thin volume \
             (instant, no size), or a thick copy-on-write snapshot of a plain LV (`size` for the blocks that \
             change). Made and read with LVM's own tools (see the provider's `lvm_tools` block).\n\n\
             Without those tools, a thick snapshot of a plain LV is made, read and removed through libvirt alone (a \
             volume with a `<backingStore>`; libvirt runs `lvcreate -s`). Then `data_percent` and `invalid` are \
             null (libvirt does not report them), a snapshot that overflowed disappears from libvirt's listing and \
             reads as gone, and a thin snapshot, a grow or a merge is refused at plan: they need the tools.\n\n\
             Rolling the origin back is explicit: set `merge_into_origin = true` and apply (`lvconvert --merge`). The \
             plan says what is lost (the origin's writes since the snapshot); the apply is refused while a running \
             domain uses the origin, or the origin is open. Destroying the resource removes only the snapshot, \
             identified by its LV UUID.",
            vec![
                Attribute::string("id").computed().stable().describe("The snapshot's LV UUID."),
                Attribute::string("pool")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_pool_name))
                    .describe("Name of the logical storage pool whose volume group holds the origin."),
                Attribute::string("origin")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe(
                        "Name of the LV to snapshot: a thin volume (for example `libvirt_lvm_thin_volume.vm.name`) or a \
                         plain LV (`libvirt_lvm_volume.vm.name`).",
                    ),
                Attribute::string("name")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe("Name of the snapshot LV (LVM's naming rules; not starting with `snapshot`)."),
                Attribute::string("size")
                    .optional()
                    .computed()
                    .validate(Validator::Str(validate_size))
                    .describe(
                        "Copy-on-write space of a thick snapshot, such as `\"1GiB\"`: required for a plain origin, not \
                         allowed for a thin one. Grown in place with `lvextend` (a thick snapshot that fills becomes \
                         invalid); never shrunk.",
                    ),
                Attribute::bool("merge_into_origin").default(false).describe(
                    "Set to `true` on an existing snapshot to roll its origin back to it (`lvconvert --merge`): the \
                     origin's writes since the snapshot are lost and the snapshot LV disappears. Refused while a running \
                     domain uses the origin or the origin is open.",
                ),
                Attribute::string("kind").computed().describe("`thin` or `thick`."),
                Attribute::number("size_bytes").computed().describe("The snapshot's size in bytes (a thin snapshot's virtual size)."),
                Attribute::number("data_percent").computed().describe(
                    "How full the snapshot is, in percent: for a thick snapshot, of its copy-on-write space (it becomes \
                     invalid at 100); for a thin one, of its virtual size.",
                ),
                Attribute::bool("invalid").computed().describe(
                    "`true` when a thick snapshot overflowed and LVM dropped its data; the plan warns.",
                ),
                Attribute::bool("merged").computed().describe("`true` once the snapshot was merged into its origin."),
                Attribute::string("path").computed().stable().describe("Device path, `/dev/<volume group>/<name>`."),
            ],
        )
    }

    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        let name = plan.planned("name").as_str().unwrap_or_default().to_string();
        if plan.prior("invalid").as_bool() == Some(true) {
            plan.warn(invalid_warning(&name));
        }
        let (Some(pool), Some(origin)) = (
            plan.planned("pool").as_str().map(str::to_string),
            plan.planned("origin").as_str().map(str::to_string),
        ) else {
            return Ok(());
        };
        let lvm = match ctx.lvm().await {
            Ok(Some(lvm)) => lvm,
            Ok(None) if !is_thin(plan.prior("kind").as_str()) => {
                return through_libvirt::plan(ctx, plan, (&pool, &origin, &name)).await
            }
            Ok(None) => {
                plan.warn_refusal(needs_lvm_tools(TYPE, &ctx.lvm_unavailable().await).at_attr("pool"));
                return Ok(());
            }
            Err(d) => {
                plan.warn_refusal(d);
                return Ok(());
            }
        };
        let merge_now = plan.planned("merge_into_origin").as_bool() == Some(true);
        if plan.is_create() {
            if merge_now {
                plan.warn_refusal(nothing_to_merge_yet());
            }
            let Some(vg) = vg_of(ctx, &pool).await? else {
                return Ok(());
            };
            let Ok(report) = lvs(&lvm, &vg).await else {
                return Ok(());
            };
            if let Some(o) = report.iter().find(|l| l.name == origin) {
                match kind_for(o, !plan.config("size").is_null()) {
                    Ok(kind) => plan.set("kind", kind),
                    Err(d) => plan.warn_refusal(d),
                }
            }
            if let Some(l) = report.iter().find(|l| l.name == name) {
                plan.warn_refusal(
                    Diagnostic::error(
                        "Name Already Taken",
                        format!(
                            "The volume group already has an LV named {name:?} (LV UUID {}).",
                            l.uuid
                        ),
                    )
                    .at_attr("name"),
                );
            }
            plan.set("path", format!("/dev/{vg}/{name}"));
            return Ok(());
        }
        if plan.prior("merged").as_bool() == Some(true) {
            return Ok(());
        }
        if merge_now && plan.prior("merge_into_origin").as_bool() != Some(true) {
            plan.warn(merge_warning(&origin, &name));
            plan.set_unknown("merged");
            if let Some(vg) = vg_of(ctx, &pool).await? {
                if let Ok(report) = lvs(&lvm, &vg).await {
                    if let Some(o) = report.iter().find(|l| l.name == origin) {
                        let users = ctx.conn().await?.volume_users(&names_of(&pool, o)).await?;
                        if let Some(why) = merge_refusal(&origin, o.open == Some(true), &users) {
                            plan.warn_refusal(
                                Diagnostic::error("Merge Refused", why).at_attr("merge_into_origin"),
                            );
                        }
                    }
                }
            }
        }
        if let (Some(current), Some(wanted)) = (
            plan.prior("size_bytes").as_u64(),
            plan.planned("size")
                .as_str()
                .and_then(|s| crate::units::parse_size(s).ok()),
        ) {
            if plan.prior("kind").as_str() == Some("thick") {
                match size_change(current, wanted) {
                    SizeChange::None => plan.keep_prior("size"),
                    SizeChange::Shrink => {
                        plan.warn_refusal(shrink_refused("Snapshot", "size", current, wanted))
                    }
                    SizeChange::Grow => plan.set_unknown("size_bytes"),
                }
            }
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        if planned.merge_into_origin == Some(true) {
            return Err(Diagnostic::error(
                "Nothing To Merge Yet",
                "merge_into_origin must be false when the snapshot is made; nothing was changed.",
            )
            .at_attr("merge_into_origin")
            .into());
        }
        let Some(lvm) = ctx.lvm().await? else {
            return through_libvirt::create(ctx, planned).await;
        };
        let vg = require_vg(ctx, &planned.pool).await?;
        let before = lvs(&lvm, &vg).await?;
        if let Some(l) = before.iter().find(|l| l.name == planned.name) {
            return Err(Diagnostic::error(
                "Name Already Taken",
                format!(
                    "Volume group {vg:?} already has an LV named {:?} (LV UUID {}); nothing was changed.",
                    planned.name, l.uuid
                ),
            )
            .at_attr("name")
            .into());
        }
        let Some(origin) = before.iter().find(|l| l.name == planned.origin) else {
            return Err(Diagnostic::error(
                "Origin Not Found",
                format!(
                    "Volume group {vg:?} has no LV named {:?}; nothing was changed.",
                    planned.origin
                ),
            )
            .at_attr("origin")
            .into());
        };
        let cmd = match kind_for(origin, planned.size.is_some())? {
            "thin" => Command::ThinSnapshot {
                vg: vg.clone(),
                origin: origin.name.clone(),
                name: planned.name.clone(),
            },
            _ => Command::ThickSnapshot {
                vg: vg.clone(),
                origin: origin.name.clone(),
                name: planned.name.clone(),
                bytes: size_at("size", &planned.size.clone().unwrap_or_default())?,
            },
        };
        let made = run(&lvm, cmd, "Snapshot Not Created").await;
        ctx.conn().await?.changed_outside_libvirt();
        let after = lvs(&lvm, &vg).await?;
        let found = after
            .iter()
            .find(|l| l.name == planned.name && l.origin.as_deref() == Some(planned.origin.as_str()));
        let lv = claim(made, found, "Snapshot", &planned.pool, &planned.name)?;
        let mut s = planned;
        s.fill(lv);
        Ok(s)
    }

    async fn read(
        &self,
        ctx: &Ctx,
        mut s: State,
        notes: &mut Diagnostics,
    ) -> Result<Option<State>, Diagnostics> {
        let Some(uuid) = s.id.clone() else {
            return Ok(None);
        };
        if s.merged == Some(true) {
            // The snapshot was consumed by the rollback this resource records.
            return Ok(Some(s));
        }
        if ctx.lvm().await?.is_none() && !is_thin(s.kind.as_deref()) {
            return through_libvirt::read(ctx, s, notes).await;
        }
        match read_lv(ctx, "Snapshot", TYPE, (&s.pool, &uuid, &s.name), notes).await? {
            Read::Unread => Ok(Some(s)),
            Read::Gone => Ok(None),
            Read::Found { lv, .. } => {
                s.fill(&lv);
                Ok(Some(s))
            }
        }
    }

    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        if prior.merged == Some(true) {
            // Nothing is left to change: the record of the rollback stays as it is.
            return Ok(State {
                merge_into_origin: planned.merge_into_origin,
                ..prior
            });
        }
        let lvm = match ctx.lvm().await? {
            Some(lvm) => lvm,
            None if !is_thin(prior.kind.as_deref()) => {
                return through_libvirt::update(ctx, prior, planned).await
            }
            None => return Err(needs_lvm_tools(TYPE, &ctx.lvm_unavailable().await).into()),
        };
        let mut s = planned;
        let vg = require_vg(ctx, &prior.pool).await?;
        let uuid = prior.id.clone().unwrap_or_default();
        let report = lvs(&lvm, &vg).await?;
        let Found::Ours(lv) = find(&report, &uuid, &prior.name) else {
            return Err(gone(&prior).into());
        };
        if s.merge_into_origin == Some(true) && prior.merge_into_origin != Some(true) {
            return merge(ctx, &lvm, &vg, &prior, lv, &report, s).await;
        }
        if let (Some(text), "thick") = (s.size.clone(), prior.kind.as_deref().unwrap_or_default()) {
            let wanted = size_at("size", &text)?;
            grow_to(ctx, &lvm, &vg, lv, wanted, ("Snapshot", "size")).await?;
        }
        let report = lvs(&lvm, &vg).await?;
        let Found::Ours(lv) = find(&report, &uuid, &prior.name) else {
            return Err(gone(&prior).into());
        };
        s.fill(lv);
        Ok(s)
    }

    async fn delete(&self, ctx: &Ctx, prior: State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
        let Some(uuid) = prior.id.clone() else {
            return Ok(());
        };
        if prior.merged == Some(true) {
            return Ok(());
        }
        let lvm = match ctx.lvm().await? {
            Some(lvm) => lvm,
            None if !is_thin(prior.kind.as_deref()) => {
                return through_libvirt::delete(ctx, &prior, notes).await
            }
            None => return Err(needs_lvm_tools(TYPE, &ctx.lvm_unavailable().await).into()),
        };
        let Some(vg) = vg_of(ctx, &prior.pool).await? else {
            notes.push(Diagnostic::warning(
                "Snapshot Not Deleted",
                format!(
                    "Pool {:?} no longer exists, so snapshot {:?} (LV UUID {uuid}) cannot be found; nothing was deleted.",
                    prior.pool, prior.name
                ),
            ));
            return Ok(());
        };
        remove_lv(ctx, &lvm, &prior.pool, &vg, &uuid, &prior.name, "Snapshot", notes).await
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        let Some((pool, name)) = id.split_once('/') else {
            return Err(Diagnostic::error(
                "Invalid Import Id",
                format!("{id:?} is not \"<pool>/<snapshot name>\"."),
            )
            .into());
        };
        let Some(lvm) = ctx.lvm().await? else {
            return through_libvirt::import(ctx, pool, name).await;
        };
        let vg = require_vg(ctx, pool).await?;
        let report = lvs(&lvm, &vg).await?;
        let Some(lv) = report.iter().find(|l| l.name == name && l.origin.is_some()) else {
            return Err(Diagnostic::error(
                "Snapshot Not Found",
                format!("Volume group {vg:?} of pool {pool:?} has no snapshot named {name:?}."),
            )
            .into());
        };
        let mut s = State {
            pool: pool.to_string(),
            origin: lv.origin.clone().unwrap_or_default(),
            merge_into_origin: Some(false),
            ..Default::default()
        };
        s.fill(lv);
        Ok(s)
    }

    fn identity_schema() -> Option<IdentitySchema> {
        Some(pool_and_name_identity_schema("Name of the snapshot."))
    }

    fn identity(s: &State) -> Option<Value> {
        Some(pool_and_name_identity(&s.pool, &s.name))
    }

    fn import_id_from_identity(identity: &Value) -> Result<String, Diagnostics> {
        super::import_id_from_identity(identity, &["pool", "name"])
    }
}

fn gone(prior: &State) -> Diagnostic {
    Diagnostic::error(
        "Snapshot Gone",
        format!(
            "Snapshot {:?} (LV UUID {}) no longer exists in pool {:?}; nothing was changed.",
            prior.name,
            prior.id.as_deref().unwrap_or("unknown"),
            prior.pool
        ),
    )
}

/// Rolls the origin back to the snapshot `lv` (of `prior`, found in `report`): refused while the
/// origin is open or used by a running domain, or when the snapshot overflowed.
async fn merge(
    ctx: &Ctx,
    lvm: &Arc<Channel>,
    vg: &str,
    prior: &State,
    lv: &Lv,
    report: &[Lv],
    mut s: State,
) -> Outcome<State> {
    let uuid = prior.id.clone().unwrap_or_default();
    let origin_name = lv.origin.clone().unwrap_or_else(|| prior.origin.clone());
    let Some(origin) = report.iter().find(|l| l.name == origin_name) else {
        return Err(Diagnostic::error(
            "Origin Not Found",
            format!(
                "The origin {origin_name:?} of snapshot {:?} is gone; nothing was changed.",
                prior.name
            ),
        )
        .into());
    };
    if lv.is_invalid_snapshot() {
        return Err(Diagnostic::error(
                "Merge Refused",
                format!(
                    "Snapshot {:?} is invalid (it overflowed): it holds no usable data to roll back to. Nothing was changed.",
                    prior.name
                ),
            )
            .at_attr("merge_into_origin")
            .into());
    }
    let users = ctx
        .conn()
        .await?
        .volume_users(&names_of(&prior.pool, origin))
        .await?;
    if let Some(why) = merge_refusal(&origin.name, origin.open == Some(true), &users) {
        return Err(
            Diagnostic::error("Merge Refused", format!("{why}. Nothing was changed."))
                .at_attr("merge_into_origin")
                .into(),
        );
    }
    run(
        lvm,
        Command::Merge {
            vg: vg.to_string(),
            lv: lv.name.clone(),
        },
        "Snapshot Not Merged",
    )
    .await?;
    ctx.conn().await?.changed_outside_libvirt();
    let after = lvs(lvm, vg).await?;
    match find(&after, &uuid, &prior.name) {
        Found::Gone { .. } => {
            s.kind = prior.kind.clone();
            s.size_bytes = prior.size_bytes;
            s.path = prior.path.clone();
            s.merged = Some(true);
            s.invalid = Some(false);
            s.data_percent = Some(0.0);
            Ok(s)
        }
        Found::Ours(lv) => {
            s.fill(lv);
            Err(Diagnostic::error(
                    "Merge Deferred",
                    format!(
                        "LVM accepted the merge of {:?} into {:?} but deferred it to the origin's next activation \
                         (lv_attr {}): the origin reads as the snapshot only after it is deactivated and \
                         activated again.",
                        prior.name, origin_name, lv.attr
                    ),
                )
                .into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(name: &str, attr: &str) -> Lv {
        Lv {
            uuid: format!("u-{name}"),
            name: name.into(),
            vg: "vg".into(),
            attr: attr.into(),
            size: 1 << 30,
            origin: None,
            pool_lv: None,
            roles: vec!["public".into()],
            active: true,
            open: Some(false),
            data_percent: None,
            metadata_percent: None,
            tags: vec![],
            path: None,
            chunk_size: None,
            metadata_size: None,
            devices: vec![],
        }
    }

    #[test]
    fn size_is_required_for_thick_and_refused_for_thin_snapshots() {
        assert_eq!(kind_for(&lv("t", "Vwi-a-tz--"), false).ok(), Some("thin"));
        assert_eq!(kind_for(&lv("p", "-wi-a-----"), true).ok(), Some("thick"));
        for (origin, size_set, summary) in [
            (lv("t", "Vwi-a-tz--"), true, "Size Not Allowed"),
            (lv("p", "-wi-a-----"), false, "Size Required"),
            (lv("tp", "twi-aotz--"), false, "Cannot Be Snapshotted"),
        ] {
            let d = kind_for(&origin, size_set).expect_err("refused");
            assert!(d.summary.contains(summary), "{}", d.summary);
            assert!(d.detail.contains("Valid"), "{}", d.detail);
        }
    }

    #[test]
    fn the_merge_warning_says_what_is_lost() {
        let w = merge_warning("vm", "before-upgrade");
        assert!(
            w.detail.contains("Everything written to \"vm\" since is lost"),
            "{}",
            w.detail
        );
        assert!(w.detail.contains("disappears"));
        let mut s = State::default();
        let mut snap = lv("s", "swi-I-s---");
        snap.origin = Some("p".into());
        s.fill(&snap);
        assert_eq!((s.kind.as_deref(), s.invalid), (Some("thick"), Some(true)));
    }
}
