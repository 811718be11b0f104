//! `libvirt_lvm_thin_pool`: an LVM thin pool in the volume group of a logical pool.
//!
//! Made, grown and removed with LVM's own tools (libvirt's logical backend neither lists nor makes
//! thin pools). The thin pool is its LV UUID in its volume group: reads, grows and the removal act
//! on the LV with that UUID under that name, never on whatever now has the name.
//!
//! Never done: shrinking (LVM cannot shrink a thin pool's data), and removing a thin pool that
//! holds any thin volume, whoever made it (`lvremove` of a thin pool removes its thin volumes with
//! it); the removal itself asks LVM to select the thin pool only while it counts no thin volume.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{IdentitySchema, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::lvm::command::Command;
use crate::lvm::report::{Lv, LvKind};
use crate::names;
use crate::provider::Ctx;
use crate::units::{human, parse_size, Size};

use super::lv_common::{
    channel, find, lvs, needs_lvm_tools, other_under_name, overcommit, read_lv, require_vg, run,
    shrink_refused, size_at, size_change, size_claim_key, size_kept, validate_chunk_size, validate_size,
    vg_of, virtual_total, Found, Read, SizeChange,
};
use super::lv_common::{claim, grow_to, pool_and_name_identity, pool_and_name_identity_schema};

/// The resource type.
pub struct LvmThinPool;

/// State and configuration of one thin pool.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    pool: String,
    name: String,
    size: Size,
    chunk_size: Option<Size>,
    metadata_size: Option<Size>,
    size_bytes: Option<u64>,
    data_percent: Option<f64>,
    metadata_percent: Option<f64>,
    virtual_size_total: Option<u64>,
    thin_volumes: Option<Vec<String>>,
}

impl State {
    /// Copies LVM's report of the thin pool (and of the volume group's other LVs) into the state.
    fn fill(&mut self, tp: &Lv, all: &[Lv]) {
        self.id = Some(tp.uuid.clone());
        self.name = tp.name.clone();
        self.size = self.size.kept_if(tp.size);
        self.size_bytes = Some(tp.size);
        if let Some(c) = tp.chunk_size {
            self.chunk_size = Some(size_kept(self.chunk_size.as_ref(), c));
        }
        if let Some(m) = tp.metadata_size {
            self.metadata_size = Some(size_kept(self.metadata_size.as_ref(), m));
        }
        self.data_percent = tp.data_percent.or(Some(0.0));
        self.metadata_percent = tp.metadata_percent.or(Some(0.0));
        self.virtual_size_total = Some(virtual_total(all, &tp.name, None));
        let mut names: Vec<String> = all
            .iter()
            .filter(|l| l.pool_lv.as_deref() == Some(tp.name.as_str()))
            .map(|l| l.name.clone())
            .collect();
        names.sort();
        self.thin_volumes = Some(names);
    }
}

const TYPE: &str = "libvirt_lvm_thin_pool";

#[async_trait]
impl Resource for LvmThinPool {
    type Ctx = Ctx;
    type State = State;
    const TYPE_NAME: &'static str = TYPE;

    fn schema() -> Schema {
        Schema::new(
            "An LVM thin pool (`lvcreate --type thin-pool`) in the volume group of a `logical` storage pool: the \
             space `libvirt_lvm_thin_volume`s allocate from as they are written. Made, read and grown with LVM's \
             own tools, so the provider must reach them (see the provider's `lvm_tools` block); libvirt's logical \
             backend does not list thin pools.\n\n\
             The thin volumes' virtual sizes may add up to more than the thin pool (overcommit): the plan warns \
             when they do, and `data_percent` shows how full it really is. Growing `size` is done in place \
             (`lvextend`); it never shrinks. Destroying a thin pool is refused while it holds any thin volume, \
             whoever made it: destroy its thin volumes first. The thin pool is identified by its LV UUID.",
            vec![
                Attribute::string("id").computed().stable().describe("The thin pool's LV UUID."),
                Attribute::string("pool")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_pool_name))
                    .describe("Name of the logical storage pool whose volume group holds the thin pool, for example `libvirt_lvm_pool.data.name`."),
                Attribute::string("name")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe("Name of the thin pool LV (LVM's naming rules, as for `libvirt_lvm_volume`)."),
                Attribute::string("size")
                    .required()
                    .validate(Validator::Str(validate_size))
                    .describe(
                        "Size of the thin pool's data, such as `\"10GiB\"` (units as for `libvirt_lvm_volume.capacity`). \
                         Grown in place with `lvextend`; a smaller size is refused (LVM cannot shrink a thin pool).",
                    ),
                Attribute::string("chunk_size")
                    .optional()
                    .computed()
                    .replace()
                    .validate(Validator::Str(validate_chunk_size))
                    .describe(
                        "The unit of allocation: a multiple of 64 KiB from 64 KiB to 1 GiB. LVM chooses when unset \
                         (64 KiB for small pools). Destroying the old thin pool for a new value is refused while it \
                         holds thin volumes.",
                    ),
                Attribute::string("metadata_size")
                    .optional()
                    .computed()
                    .replace()
                    .validate(Validator::Str(validate_size))
                    .describe(
                        "Size of the thin pool's metadata LV; LVM chooses when unset. Destroying the old thin pool for a new \
                         value is refused while it holds thin volumes.",
                    ),
                Attribute::number("size_bytes").computed().describe("The thin pool's data size in bytes, refreshed on every read."),
                Attribute::number("data_percent").computed().describe(
                    "How full the thin pool's data is, in percent (LVM's `data_percent`): what the thin volumes really \
                     wrote. Writes fail in every thin volume when it reaches 100.",
                ),
                Attribute::number("metadata_percent").computed().describe("How full the thin pool's metadata is, in percent."),
                Attribute::number("virtual_size_total").computed().describe(
                    "The sum of the virtual sizes of every thin volume in the thin pool (any made outside Terraform \
                     included), in bytes: more than `size_bytes` means the pool is overcommitted.",
                ),
                Attribute::typed("thin_volumes", Type::List(Box::new(Type::String)))
                    .computed()
                    .describe("Names of the thin volumes in the thin pool, by LVM's report, whoever made them."),
            ],
        )
    }

    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        let (Some(pool), Some(name)) = (
            plan.planned("pool").as_str().map(str::to_string),
            plan.planned("name").as_str().map(str::to_string),
        ) else {
            return Ok(());
        };
        let Some(wanted) = plan.planned("size").as_str().and_then(|s| parse_size(s).ok()) else {
            return Ok(());
        };
        // The thin volumes planned with this thin pool compare their virtual sizes with it.
        if let Ok(conn) = ctx.conn().await {
            conn.claim_space(&size_claim_key(&pool, &name), wanted);
        }
        let lvm = match ctx.lvm().await {
            Ok(Some(lvm)) => lvm,
            Ok(None) => {
                plan.warn_refusal(needs_lvm_tools(TYPE, &ctx.lvm_unavailable().await).at_attr("pool"));
                return Ok(());
            }
            Err(d) => {
                plan.warn_refusal(d);
                return Ok(());
            }
        };
        let Some(vg) = vg_of(ctx, &pool).await? else {
            return Ok(());
        };
        let report = match lvs(&lvm, &vg).await {
            Ok(r) => r,
            Err(d) => {
                plan.warn(d);
                return Ok(());
            }
        };
        if plan.is_create() {
            if let Some(l) = report.iter().find(|l| l.name == name) {
                plan.warn_refusal(
                    Diagnostic::error(
                        "Name Already Taken",
                        format!(
                            "Volume group {vg:?} already has an LV named {name:?} ({}, LV UUID {}). Import it to manage \
                             it (`terraform import <address> {pool}/{name}`), or choose another name.",
                            l.kind().as_str(),
                            l.uuid
                        ),
                    )
                    .at_attr("name"),
                );
            }
            return Ok(());
        }
        let current = plan.prior("size_bytes").as_u64().unwrap_or(0);
        match size_change(current, wanted) {
            SizeChange::None => plan.keep_prior("size"),
            SizeChange::Shrink => plan.warn_refusal(shrink_refused("Thin Pool", "size", current, wanted)),
            SizeChange::Grow => {
                plan.set_unknown("size_bytes");
                plan.set_unknown("data_percent");
                plan.warn(Diagnostic::warning(
                    "Thin Pool Is Grown In Place",
                    format!(
                        "Thin pool {name:?} grows from {} to {} with lvextend, in place; its thin volumes keep their data.",
                        human(current),
                        human(wanted)
                    ),
                ));
            }
        }
        if let Some(uuid) = plan.prior("id").as_str() {
            if let Found::Ours(tp) = find(&report, uuid, &name) {
                if let Some(w) =
                    overcommit(&name, virtual_total(&report, &tp.name, None), wanted.max(tp.size))
                {
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
        let bytes = size_at("size", &planned.size)?;
        let chunk_size = planned
            .chunk_size
            .as_ref()
            .map(|c| size_at("chunk_size", c))
            .transpose()?;
        let metadata_size = planned
            .metadata_size
            .as_ref()
            .map(|m| size_at("metadata_size", m))
            .transpose()?;
        let made = run(
            &lvm,
            Command::ThinPoolCreate {
                vg: vg.clone(),
                name: planned.name.clone(),
                bytes,
                chunk_size,
                metadata_size,
            },
            "Thin Pool Not Created",
        )
        .await;
        ctx.conn().await?.changed_outside_libvirt();
        let after = lvs(&lvm, &vg).await?;
        let found = after
            .iter()
            .find(|l| l.name == planned.name && l.kind() == LvKind::ThinPool);
        let tp = claim(made, found, "Thin Pool", &planned.pool, &planned.name)?;
        let mut s = planned;
        s.fill(tp, &after);
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
        match read_lv(ctx, "Thin Pool", TYPE, (&s.pool, &uuid, &s.name), notes).await? {
            Read::Unread => Ok(Some(s)),
            Read::Gone => Ok(None),
            Read::Found { lv, report } => {
                s.fill(&lv, &report);
                Ok(Some(s))
            }
        }
    }

    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        let lvm = channel(ctx, TYPE).await?;
        let vg = require_vg(ctx, &prior.pool).await?;
        let uuid = prior.id.clone().unwrap_or_default();
        let report = lvs(&lvm, &vg).await?;
        let Found::Ours(tp) = find(&report, &uuid, &prior.name) else {
            return Err(gone(&prior).into());
        };
        let wanted = size_at("size", &planned.size)?;
        grow_to(ctx, &lvm, &vg, tp, wanted, ("Thin Pool", "size")).await?;
        let report = lvs(&lvm, &vg).await?;
        let Found::Ours(tp) = find(&report, &uuid, &prior.name) else {
            return Err(gone(&prior).into());
        };
        let mut s = planned;
        s.fill(tp, &report);
        Ok(s)
    }

    async fn delete(&self, ctx: &Ctx, prior: State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
        let Some(uuid) = prior.id.clone() else {
            return Ok(());
        };
        let lvm = channel(ctx, TYPE).await?;
        let Some(vg) = vg_of(ctx, &prior.pool).await? else {
            notes.push(Diagnostic::warning(
                "Thin Pool Not Deleted",
                format!(
                    "Pool {:?} no longer exists, so thin pool {:?} (LV UUID {uuid}) cannot be found; nothing was deleted.",
                    prior.pool, prior.name
                ),
            ));
            return Ok(());
        };
        let report = lvs(&lvm, &vg).await?;
        let tp = match find(&report, &uuid, &prior.name) {
            Found::Ours(tp) => tp,
            Found::Gone { other } => {
                notes.push(match other {
                    Some(o) => other_under_name("Thin Pool", &prior.name, &uuid, o),
                    None => Diagnostic::warning(
                        "Thin Pool Already Gone",
                        format!("No LV with UUID {uuid} exists in volume group {vg:?}; nothing was deleted."),
                    ),
                });
                return Ok(());
            }
        };
        let holds = thin_volumes_named(&report, &tp.name);
        if !holds.is_empty() {
            return Err(holds_thin_volumes(&vg, &tp.name, &holds).into());
        }
        run(
            &lvm,
            Command::RemoveEmptyThinPool {
                vg: vg.clone(),
                lv: tp.name.clone(),
                uuid: uuid.clone(),
            },
            "Thin Pool Not Deleted",
        )
        .await?;
        ctx.conn().await?.changed_outside_libvirt();
        let after = lvs(&lvm, &vg).await?;
        if let Found::Ours(tp) = find(&after, &uuid, &prior.name) {
            // LVM's selection found thin volumes made since the check above: nothing was removed.
            return Err(holds_thin_volumes(&vg, &tp.name, &thin_volumes_named(&after, &tp.name)).into());
        }
        Ok(())
    }

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        let Some((pool, name)) = id.split_once('/') else {
            return Err(Diagnostic::error(
                "Invalid Import Id",
                format!("{id:?} is not \"<pool>/<thin pool name>\"."),
            )
            .into());
        };
        let lvm = channel(ctx, TYPE).await?;
        let vg = require_vg(ctx, pool).await?;
        let report = lvs(&lvm, &vg).await?;
        let Some(tp) = report
            .iter()
            .find(|l| l.name == name && l.kind() == LvKind::ThinPool)
        else {
            return Err(Diagnostic::error(
                "Thin Pool Not Found",
                format!("Volume group {vg:?} of pool {pool:?} has no thin pool named {name:?}."),
            )
            .into());
        };
        let mut s = State {
            pool: pool.to_string(),
            size: Size::of_bytes(tp.size),
            ..Default::default()
        };
        s.fill(tp, &report);
        Ok(s)
    }

    fn identity_schema() -> Option<IdentitySchema> {
        Some(pool_and_name_identity_schema("Name of the thin pool."))
    }

    fn identity(s: &State) -> Option<Value> {
        Some(pool_and_name_identity(&s.pool, &s.name))
    }

    fn import_id_from_identity(identity: &Value) -> Result<String, Diagnostics> {
        super::import_id_from_identity(identity, &["pool", "name"])
    }
}

fn thin_volumes_named(report: &[Lv], thin_pool: &str) -> Vec<String> {
    report
        .iter()
        .filter(|l| l.pool_lv.as_deref() == Some(thin_pool))
        .map(|l| l.name.clone())
        .collect()
}

fn holds_thin_volumes(vg: &str, thin_pool: &str, names: &[String]) -> Diagnostic {
    Diagnostic::error(
        "Thin Pool Holds Thin Volumes",
        format!(
            "Thin pool {vg}/{thin_pool} holds thin volumes: {}. Removing it would remove them and their data, so \
             nothing was changed. Destroy the thin volumes first (those made outside Terraform too, with lvremove \
             once their data is safe), then destroy the thin pool; or `terraform state rm` it to keep it.",
            names.join(", ")
        ),
    )
}

fn gone(prior: &State) -> Diagnostic {
    Diagnostic::error(
        "Thin Pool Gone",
        format!(
            "Thin pool {:?} (LV UUID {}) no longer exists in pool {:?}; nothing was changed.",
            prior.name,
            prior.id.as_deref().unwrap_or("unknown"),
            prior.pool
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_name_every_thin_volume() {
        let d = holds_thin_volumes("vg", "tp", &["a".into(), "op-made".into()]);
        assert!(
            d.detail.contains("a, op-made") && d.detail.contains("vg/tp"),
            "{}",
            d.detail
        );
    }
}
