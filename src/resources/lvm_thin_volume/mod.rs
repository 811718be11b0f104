//! `libvirt_lvm_thin_volume`: a thin volume in an LVM thin pool.
//!
//! Its size is virtual: blocks are allocated in the thin pool as they are written. With `origin`
//! it is a thin snapshot of another thin volume of the same thin pool, made without copying (a fast
//! clone). Made, grown and removed with LVM's own tools; libvirt's logical backend does not list
//! thin volumes, but a domain attaches one by its path like any block device.
//!
//! The thin volume is its LV UUID: reads, grows and the removal act on the LV with that UUID under
//! that name. Never done: shrinking, and removing a thin volume that is open, used by a domain, or
//! the origin of thin snapshots (they are named in the refusal).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{IdentitySchema, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::lvm::command::Command;
use crate::lvm::report::{Lv, LvKind};
use crate::names;
use crate::provider::Ctx;
use crate::units::{format_size, human, parse_size, Size};

use super::lv_common::{
    channel, find, lvs, names_of, needs_lvm_tools, other_under_name, overcommit, read_lv, require_vg, run,
    shrink_refused, size_at, size_change, size_claim_key, validate_size, vg_of, virtual_claim_key,
    virtual_total, Found, Read, SizeChange,
};
use super::lv_common::{claim, grow_to, pool_and_name_identity, pool_and_name_identity_schema};

/// The resource type.
pub struct LvmThinVolume;

/// State and configuration of one thin volume.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    pool: String,
    thin_pool: String,
    name: String,
    capacity: Size,
    origin: Option<String>,
    capacity_bytes: Option<u64>,
    allocation: Option<u64>,
    data_percent: Option<f64>,
    path: Option<String>,
}

impl State {
    fn fill(&mut self, lv: &Lv) {
        self.id = Some(lv.uuid.clone());
        self.name = lv.name.clone();
        self.capacity = self.capacity.kept_if(lv.size);
        self.capacity_bytes = Some(lv.size);
        let percent = lv.data_percent.unwrap_or(0.0);
        self.data_percent = Some(percent);
        self.allocation = Some(allocated(lv.size, percent));
        self.path = Some(
            lv.path
                .clone()
                .unwrap_or_else(|| format!("/dev/{}/{}", lv.vg, lv.name)),
        );
        if let Some(tp) = &lv.pool_lv {
            self.thin_pool = tp.clone();
        }
    }
}

/// Bytes a thin volume of `size` uses in its thin pool when LVM reports it `percent` full.
fn allocated(size: u64, percent: f64) -> u64 {
    ((size as f64) * percent / 100.0).round() as u64
}

const TYPE: &str = "libvirt_lvm_thin_volume";

#[async_trait]
impl Resource for LvmThinVolume {
    type Ctx = Ctx;
    type State = State;
    const TYPE_NAME: &'static str = TYPE;

    fn schema() -> Schema {
        Schema::new(
            "A thin volume (`lvcreate --type thin`) in a `libvirt_lvm_thin_pool`: a block device of `capacity` \
             virtual bytes whose blocks are allocated in the thin pool only as they are written. With `origin`, a \
             thin snapshot of another thin volume of the same thin pool: a fast clone, made without copying, that \
             reads as the origin did. Made, read and grown with LVM's own tools (see the provider's `lvm_tools` \
             block). Attach it to a domain by its `path`.\n\n\
             Growing `capacity` is done in place (`lvextend`); it never shrinks. Destroying it is refused while it \
             is open, used by a domain, or the origin of thin snapshots. Identified by its LV UUID.",
            vec![
                Attribute::string("id").computed().stable().describe("The thin volume's LV UUID."),
                Attribute::string("pool")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_pool_name))
                    .describe("Name of the logical storage pool whose volume group holds the thin pool."),
                Attribute::string("thin_pool")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe("Name of the thin pool, for example `libvirt_lvm_thin_pool.tp.name`."),
                Attribute::string("name")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe("Name of the thin volume (LVM's naming rules, as for `libvirt_lvm_volume`)."),
                Attribute::string("capacity")
                    .required()
                    .validate(Validator::Str(validate_size))
                    .describe(
                        "Virtual size, such as `\"10GiB\"` (units as for `libvirt_lvm_volume.capacity`); may be more \
                         than the thin pool has (the plan warns). Grown in place with `lvextend`; a smaller size is \
                         refused. With `origin`, at least the origin's size.",
                    ),
                Attribute::string("origin")
                    .optional()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe(
                        "Name of a thin volume (or thin snapshot) in the same thin pool to clone: the new volume is a \
                         thin snapshot of it, made without copying, active and activated with the volume group \
                         like any volume.",
                    ),
                Attribute::number("capacity_bytes").computed().describe("The virtual size in bytes, refreshed on every read."),
                Attribute::number("allocation").computed().describe(
                    "Bytes the thin volume really uses in its thin pool: its virtual size times LVM's `data_percent`, \
                     which LVM gives with two decimals (so within 0.01 % of the capacity).",
                ),
                Attribute::number("data_percent").computed().describe("How much of the virtual size is allocated, in percent."),
                Attribute::string("path").computed().stable().describe("Device path, `/dev/<volume group>/<name>`."),
            ],
        )
    }

    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        let (Some(pool), Some(tp), Some(name)) = (
            plan.planned("pool").as_str().map(str::to_string),
            plan.planned("thin_pool").as_str().map(str::to_string),
            plan.planned("name").as_str().map(str::to_string),
        ) else {
            return Ok(());
        };
        let Some(wanted) = plan.planned("capacity").as_str().and_then(|s| parse_size(s).ok()) else {
            return Ok(());
        };
        let lvm = match ctx.lvm().await {
            Ok(Some(lvm)) => Some(lvm),
            Ok(None) => {
                plan.warn_refusal(needs_lvm_tools(TYPE, &ctx.lvm_unavailable().await).at_attr("pool"));
                None
            }
            Err(d) => {
                plan.warn_refusal(d);
                None
            }
        };
        let vg = vg_of(ctx, &pool).await?;
        let report = match (&lvm, &vg) {
            (Some(lvm), Some(vg)) => lvs(lvm, vg).await.ok(),
            _ => None,
        };
        let report = report.unwrap_or_default();
        let current = plan.prior("capacity_bytes").as_u64();
        let added = match current {
            None => wanted,
            Some(current) => match size_change(current, wanted) {
                SizeChange::None => {
                    plan.keep_prior("capacity");
                    0
                }
                SizeChange::Shrink => {
                    plan.warn_refusal(shrink_refused("Thin Volume", "capacity", current, wanted));
                    0
                }
                SizeChange::Grow => {
                    plan.set_unknown("capacity_bytes");
                    wanted - current
                }
            },
        };
        if plan.is_create() {
            if let Some(l) = report.iter().find(|l| l.name == name) {
                plan.warn_refusal(
                    Diagnostic::error(
                        "Name Already Taken",
                        format!(
                            "The volume group already has an LV named {name:?} (LV UUID {}); choose another name.",
                            l.uuid
                        ),
                    )
                    .at_attr("name"),
                );
            }
            if let Some(origin) = plan.planned("origin").as_str() {
                if let Some(o) = report.iter().find(|l| l.name == origin) {
                    if let Err(d) = origin_fits(o, &tp, wanted) {
                        plan.warn_refusal(d);
                    }
                }
            }
            if let Some(vg) = &vg {
                plan.set("path", format!("/dev/{vg}/{name}"));
            }
        }
        // Overcommit: the thin pool's existing thin volumes (this one's prior size included) and
        // every create and grow this walk planned in it, against the thin pool's size (as LVM
        // reports it, or as its own plan in this walk says).
        if let Ok(conn) = ctx.conn().await {
            let claimed = conn.claim_space(&virtual_claim_key(&pool, &tp), added);
            let planned_size = conn.claim_space(&size_claim_key(&pool, &tp), 0);
            let existing = virtual_total(&report, &tp, None);
            let size = report
                .iter()
                .find(|l| l.name == tp && l.kind() == LvKind::ThinPool)
                .map(|l| l.size)
                .unwrap_or(0)
                .max(planned_size);
            if added > 0 {
                if let Some(w) = overcommit(&tp, existing + claimed, size) {
                    plan.warn(w);
                }
            }
        }
        Ok(())
    }

    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        let lvm = channel(ctx, TYPE).await?;
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
        if !before
            .iter()
            .any(|l| l.name == planned.thin_pool && l.kind() == LvKind::ThinPool)
        {
            return Err(Diagnostic::error(
                "Thin Pool Not Found",
                format!(
                    "Volume group {vg:?} has no thin pool named {:?}; nothing was changed.",
                    planned.thin_pool
                ),
            )
            .at_attr("thin_pool")
            .into());
        }
        let bytes = size_at("capacity", &planned.capacity)?;
        // `created`: the command that makes the LV; `grown`: the extend after a clone, whose
        // failure leaves an LV this create made (recorded, tainted).
        let (created, grown) = match &planned.origin {
            Some(origin) => {
                let Some(o) = before.iter().find(|l| &l.name == origin) else {
                    return Err(Diagnostic::error(
                        "Origin Not Found",
                        format!(
                            "Volume group {vg:?} has no LV named {origin:?} to clone; nothing was changed."
                        ),
                    )
                    .at_attr("origin")
                    .into());
                };
                origin_fits(o, &planned.thin_pool, bytes)?;
                let created = run(
                    &lvm,
                    Command::ThinSnapshot {
                        vg: vg.clone(),
                        origin: origin.clone(),
                        name: planned.name.clone(),
                    },
                    "Thin Volume Not Cloned",
                )
                .await;
                let grown = if created.is_ok() && bytes > o.size {
                    run(
                        &lvm,
                        Command::Extend {
                            vg: vg.clone(),
                            lv: planned.name.clone(),
                            bytes,
                        },
                        "Thin Volume Not Grown",
                    )
                    .await
                } else {
                    Ok(())
                };
                (created, grown)
            }
            None => {
                let created = run(
                    &lvm,
                    Command::ThinCreate {
                        vg: vg.clone(),
                        thin_pool: planned.thin_pool.clone(),
                        name: planned.name.clone(),
                        bytes,
                    },
                    "Thin Volume Not Created",
                )
                .await;
                (created, Ok(()))
            }
        };
        ctx.conn().await?.changed_outside_libvirt();
        let after = lvs(&lvm, &vg).await?;
        let found = after
            .iter()
            .find(|l| l.name == planned.name && l.pool_lv.as_deref() == Some(planned.thin_pool.as_str()));
        let lv = claim(created, found, "Thin Volume", &planned.pool, &planned.name)?;
        let mut s = planned;
        s.fill(lv);
        match grown {
            Ok(()) => Ok(s),
            // Made, but not grown to the capacity asked: recorded as it is, tainted.
            Err(d) => Err(crate::framework::resource::Failed::with_partial(d, s)),
        }
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
        match read_lv(ctx, "Thin Volume", TYPE, (&s.pool, &uuid, &s.name), notes).await? {
            Read::Unread => Ok(Some(s)),
            Read::Gone => Ok(None),
            Read::Found { lv, .. } => {
                s.fill(&lv);
                Ok(Some(s))
            }
        }
    }

    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        let lvm = channel(ctx, TYPE).await?;
        let vg = require_vg(ctx, &prior.pool).await?;
        let uuid = prior.id.clone().unwrap_or_default();
        let report = lvs(&lvm, &vg).await?;
        let Found::Ours(lv) = find(&report, &uuid, &prior.name) else {
            return Err(gone(&prior).into());
        };
        let wanted = size_at("capacity", &planned.capacity)?;
        grow_to(ctx, &lvm, &vg, lv, wanted, ("Thin Volume", "capacity")).await?;
        let report = lvs(&lvm, &vg).await?;
        let Found::Ours(lv) = find(&report, &uuid, &prior.name) else {
            return Err(gone(&prior).into());
        };
        let mut s = planned;
        s.fill(lv);
        Ok(s)
    }

    async fn delete(&self, ctx: &Ctx, prior: State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
        let Some(uuid) = prior.id.clone() else {
            return Ok(());
        };
        let lvm = channel(ctx, TYPE).await?;
        let Some(vg) = vg_of(ctx, &prior.pool).await? else {
            notes.push(Diagnostic::warning(
                "Thin Volume Not Deleted",
                format!(
                    "Pool {:?} no longer exists, so thin volume {:?} (LV UUID {uuid}) cannot be found; nothing was deleted.",
                    prior.pool, prior.name
                ),
            ));
            return Ok(());
        };
        remove_lv(
            ctx,
            &lvm,
            &prior.pool,
            &vg,
            &uuid,
            &prior.name,
            "Thin Volume",
            notes,
        )
        .await
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        let Some((pool, name)) = id.split_once('/') else {
            return Err(Diagnostic::error(
                "Invalid Import Id",
                format!("{id:?} is not \"<pool>/<thin volume name>\"."),
            )
            .into());
        };
        let lvm = channel(ctx, TYPE).await?;
        let vg = require_vg(ctx, pool).await?;
        let report = lvs(&lvm, &vg).await?;
        let Some(lv) = report.iter().find(|l| l.name == name && l.kind() == LvKind::Thin) else {
            return Err(Diagnostic::error(
                "Thin Volume Not Found",
                format!("Volume group {vg:?} of pool {pool:?} has no thin volume named {name:?}."),
            )
            .into());
        };
        let mut s = State {
            pool: pool.to_string(),
            capacity: Size::of_bytes(lv.size),
            ..Default::default()
        };
        s.fill(lv);
        Ok(s)
    }

    fn identity_schema() -> Option<IdentitySchema> {
        Some(pool_and_name_identity_schema("Name of the thin volume."))
    }

    fn identity(s: &State) -> Option<Value> {
        Some(pool_and_name_identity(&s.pool, &s.name))
    }

    fn import_id_from_identity(identity: &Value) -> Result<String, Diagnostics> {
        super::import_id_from_identity(identity, &["pool", "name"])
    }
}

/// Whether `origin` can be cloned into a thin volume of `bytes` in thin pool `thin_pool`.
fn origin_fits(origin: &Lv, thin_pool: &str, bytes: u64) -> Result<(), Diagnostic> {
    if origin.kind() != LvKind::Thin || origin.pool_lv.as_deref() != Some(thin_pool) {
        return Err(Diagnostic::error(
            "Origin Is Not A Thin Volume Of This Thin Pool",
            format!(
                "origin {:?} is a {} LV{}: a fast clone is a thin snapshot, which only a thin volume of the same thin \
                 pool ({thin_pool:?}) has. Valid: the name of a thin volume in thin pool {thin_pool:?}.",
                origin.name,
                origin.kind().as_str(),
                origin
                    .pool_lv
                    .as_deref()
                    .map(|p| format!(" of thin pool {p:?}"))
                    .unwrap_or_default()
            ),
        )
        .at_attr("origin"));
    }
    if bytes < origin.size {
        return Err(Diagnostic::error(
            "Capacity Smaller Than The Origin",
            format!(
                "capacity {} is smaller than origin {:?} ({}): a clone cannot be smaller than what it copies. Valid: a \
                 capacity of at least {}.",
                human(bytes),
                origin.name,
                human(origin.size),
                format_size(origin.size)
            ),
        )
        .at_attr("capacity"));
    }
    Ok(())
}

/// Removes the LV with `uuid` named `name` from `vg` (by UUID, with LVM's own check that it is no
/// origin), after checking that it is not open, has no snapshots and no domain uses it; gone or
/// replaced LVs are left alone with a warning.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn remove_lv(
    ctx: &Ctx,
    lvm: &std::sync::Arc<crate::lvm::Channel>,
    pool: &str,
    vg: &str,
    uuid: &str,
    name: &str,
    what: &str,
    notes: &mut Diagnostics,
) -> Result<(), Diagnostics> {
    let report = lvs(lvm, vg).await?;
    let lv = match find(&report, uuid, name) {
        Found::Ours(lv) => lv,
        Found::Gone { other } => {
            notes.push(match other {
                Some(o) => other_under_name(what, name, uuid, o),
                None => Diagnostic::warning(
                    format!("{what} Already Gone"),
                    format!("No LV with UUID {uuid} exists in volume group {vg:?}; nothing was deleted."),
                ),
            });
            return Ok(());
        }
    };
    let snapshots: Vec<&str> = report
        .iter()
        .filter(|l| l.uuid != lv.uuid && l.origin.as_deref() == Some(lv.name.as_str()))
        .map(|l| l.name.as_str())
        .collect();
    if !snapshots.is_empty() {
        return Err(Diagnostic::error(
            format!("{what} Has Snapshots"),
            format!(
                "{vg}/{name} is the origin of snapshots: {}. Removing it would remove them too, so nothing was \
                 changed. Destroy the snapshots first (or merge one back), then destroy it.",
                snapshots.join(", ")
            ),
        )
        .into());
    }
    let users = ctx.conn().await?.volume_users(&names_of(pool, lv)).await?;
    if !users.is_empty() {
        return Err(Diagnostic::error(
            format!("{what} Is Used By A Domain"),
            format!(
                "{vg}/{name} is in use as {}. Removing it would pull the disk from under the guest, so nothing was \
                 changed. Detach it first, then destroy it.",
                users.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
        .into());
    }
    if lv.open == Some(true) {
        return Err(Diagnostic::error(
            format!("{what} Is Open"),
            format!(
                "{vg}/{name} is open on the hypervisor (mounted, attached to a guest of another hypervisor, or held by \
                 another program); nothing was changed. Close it, then destroy it."
            ),
        )
        .into());
    }
    run(
        lvm,
        Command::RemoveByUuid {
            vg: vg.to_string(),
            lv: name.to_string(),
            uuid: uuid.to_string(),
        },
        &format!("{what} Not Deleted"),
    )
    .await?;
    ctx.conn().await?.changed_outside_libvirt();
    let after = lvs(lvm, vg).await?;
    if let Found::Ours(_) = find(&after, uuid, name) {
        return Err(Diagnostic::error(
            format!("{what} Not Deleted"),
            format!(
                "LVM left {vg}/{name} (LV UUID {uuid}) in place: it became the origin of a snapshot since the check. \
                 Nothing was removed."
            ),
        )
        .into());
    }
    Ok(())
}

fn gone(prior: &State) -> Diagnostic {
    Diagnostic::error(
        "Thin Volume Gone",
        format!(
            "Thin volume {:?} (LV UUID {}) no longer exists in pool {:?}; nothing was changed.",
            prior.name,
            prior.id.as_deref().unwrap_or("unknown"),
            prior.pool
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thin(name: &str, pool_lv: Option<&str>, attr: &str, size: u64) -> Lv {
        Lv {
            uuid: format!("u-{name}"),
            name: name.into(),
            vg: "vg".into(),
            attr: attr.into(),
            size,
            origin: None,
            pool_lv: pool_lv.map(str::to_string),
            roles: vec!["public".into()],
            active: true,
            open: Some(false),
            data_percent: Some(25.0),
            metadata_percent: None,
            tags: vec![],
            path: None,
            chunk_size: None,
            metadata_size: None,
            devices: vec![],
        }
    }

    #[test]
    fn allocation_is_the_written_share_of_the_virtual_size() {
        assert_eq!(allocated(1 << 30, 6.25), 64 << 20);
        assert_eq!(allocated(1 << 30, 0.0), 0);
        let mut s = State::default();
        s.fill(&thin("t", Some("tp"), "Vwi-a-tz--", 1 << 30));
        assert_eq!(
            (s.allocation, s.path.as_deref()),
            (Some(256 << 20), Some("/dev/vg/t"))
        );
    }

    #[test]
    fn clones_need_a_thin_origin_of_the_same_thin_pool_and_room() {
        let g = 1u64 << 30;
        assert!(origin_fits(&thin("o", Some("tp"), "Vwi-a-tz--", g), "tp", g).is_ok());
        assert!(origin_fits(&thin("o", Some("tp"), "Vwi-a-tz--", g), "tp", 2 * g).is_ok());
        let small = origin_fits(&thin("o", Some("tp"), "Vwi-a-tz--", g), "tp", g / 2).expect_err("smaller");
        assert!(small.detail.contains("at least"), "{}", small.detail);
        let other = origin_fits(&thin("o", Some("tp2"), "Vwi-a-tz--", g), "tp", g).expect_err("other pool");
        assert!(other.detail.contains("\"tp2\""), "{}", other.detail);
        assert!(
            origin_fits(&thin("o", None, "-wi-a-----", g), "tp", g).is_err(),
            "a plain LV"
        );
    }
}
