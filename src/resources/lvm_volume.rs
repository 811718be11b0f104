//! `libvirt_lvm_volume`: a logical volume carved from an active logical pool.
//!
//! Plain, fully allocated LVs by default (allocation = capacity), never libvirt's snapshot-backed
//! sparse LV unless `sparse = true`. Capacity changes are tried in place and never turn into a
//! replacement: replacing a volume destroys its data.
//!
//! The volume is its key (the LV UUID) in its pool: reads, resizes and deletes act on the LV with
//! that key when it is still in that pool under that name, never on whatever now has the name.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{Failed, IdentitySchema, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::libvirt::volume::{Created, Lookup, Resize, VolInfo, VolumeDelete, VolumeIdentity};
use crate::libvirt::{xml, Connection, Error};
use crate::names;
use crate::provider::Ctx;
use crate::units::{format_size, human, parse_size, SizeError};

/// The resource type.
pub struct LvmVolume;

/// State and configuration of one volume.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    pool: String,
    name: String,
    capacity: String,
    sparse: Option<bool>,
    allow_shrink: Option<bool>,
    wipe_on_destroy: Option<bool>,
    path: Option<String>,
    key: Option<String>,
    allocation: Option<u64>,
    capacity_bytes: Option<u64>,
}

impl State {
    /// What the state recorded of the volume: None before it was created (or when a create's
    /// reply was lost and nothing was found).
    fn identity(&self) -> Option<VolumeIdentity> {
        Some(VolumeIdentity {
            pool: self.pool.clone(),
            key: self.key.clone().filter(|k| !k.is_empty())?,
            name: self.name.clone(),
            path: self.path.clone().filter(|p| !p.is_empty())?,
        })
    }

    /// Copies what libvirt reports into the state. The configured `capacity` text is kept unless
    /// the size changed since it was last seen (drift: then the new size is shown in its canonical
    /// spelling and the plan compares).
    fn fill(&mut self, v: VolInfo) {
        let actual = v.xml.capacity;
        if self.capacity_bytes.is_some_and(|seen| seen != actual) {
            self.capacity = format_size(actual);
        }
        self.id = Some(v.key());
        self.key = Some(v.key());
        self.path = Some(v.path());
        self.pool = v.pool.clone();
        self.name = v.xml.name.clone();
        self.capacity_bytes = Some(actual);
        self.allocation = Some(v.xml.allocation);
    }

    fn capacity_bytes_wanted(&self) -> Result<u64, Diagnostic> {
        parse_size(&self.capacity)
            .map_err(|e| Diagnostic::error("Invalid capacity", e.to_string()).at_attr("capacity"))
    }
}

/// LVM allocates whole extents (4 MiB unless the volume group says otherwise), so a volume can
/// come out slightly larger than asked: a request that rounds up to the current size is no change.
const EXTENT_ROUNDING: u64 = 4 << 20;

#[async_trait]
impl Resource for LvmVolume {
    type Ctx = Ctx;
    type State = State;
    const TYPE_NAME: &'static str = "libvirt_lvm_volume";

    // ------------------------------------------------------------ schema

    fn schema() -> Schema {
        Schema::new(
            "A logical volume in a `logical` storage pool (`virsh vol-create`).\n\n\
             By default the volume is a plain, fully allocated LV. Growing `capacity` is attempted in place \
             and never replaces the volume (which would destroy its data); libvirt's logical backend cannot \
             resize volumes (libvirt 9.0 to 11.x), so such an apply fails with an explanation of the safe ways \
             forward. Destroying a volume that any domain uses, under any of its device names, is refused. The \
             volume is identified by its LV UUID: one deleted by hand and made again under the same name is \
             another volume, which this resource never deletes.",
            vec![
                Attribute::string("id").computed().stable().describe("The volume's libvirt key (for LVM, the LV UUID)."),
                Attribute::string("pool")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_pool_name))
                    .describe("Name of the logical storage pool, for example `libvirt_lvm_pool.data.name`."),
                Attribute::string("name")
                    .required()
                    .replace()
                    .validate(Validator::Str(names::validate_lv_name))
                    .describe(
                        "Name of the logical volume. LVM's rules apply: letters, digits and `+_.-`, not starting \
                         with `-`, not `.` or `..`, not starting with `snapshot` or `pvmove`, and none of LVM's \
                         reserved suffixes such as `_tmeta` or `_rimage`.",
                    ),
                Attribute::string("capacity")
                    .required()
                    .validate(Validator::Str(validate_capacity))
                    .describe(
                        "Size of the volume: a number of bytes (`1073741824`) or a number with a unit. `K`, `M`, \
                         `G`, `T`, `P` and `KiB`, `MiB`, `GiB`, `TiB`, `PiB` are powers of 1024 (as in virsh); \
                         `KB`, `MB`, `GB`, `TB`, `PB` are powers of 1000; `B` is bytes. Decimals are allowed when \
                         the result is a whole number of bytes (`1.5GiB`). Another spelling of the current size \
                         (`1GiB` for `1024MiB`) is not a change. Growing is tried in place; shrinking is refused \
                         unless `allow_shrink`.",
                    ),
                Attribute::bool("sparse").default(false).describe(
                    "Create a thin, snapshot-backed sparse LV (libvirt's behaviour for allocation 0) instead of \
                     a plain fully allocated one. Sparse LVs fail when their backing space fills up; leave this \
                     `false` unless you know you want it. Only used at creation.",
                ),
                Attribute::bool("allow_shrink").default(false).describe(
                    "Allow a smaller `capacity` than the current size. Shrinking destroys the data beyond the new size.",
                ),
                Attribute::bool("wipe_on_destroy")
                    .default(false)
                    .describe("Overwrite the volume's contents with zeros (`virsh vol-wipe`) before deleting it."),
                Attribute::string("path").computed().stable().describe("Device path of the volume, `/dev/<volume group>/<name>`."),
                Attribute::string("key").computed().stable().describe("libvirt's key of the volume (the LV UUID); same as `id`."),
                Attribute::number("allocation").computed().describe("Bytes allocated on the volume group, refreshed on every read."),
                Attribute::number("capacity_bytes").computed().describe("The volume's size in bytes, refreshed on every read."),
            ],
        )
    }

    // ------------------------------------------------------------ plan

    /// Checks that depend on the hypervisor warn here and refuse at apply, before anything
    /// changes: Terraform runs a normal plan to refresh before every `terraform destroy`, so an
    /// error here would stop the destroy of everything in the configuration.
    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        let Some(wanted) = plan.planned("capacity").as_str().and_then(|s| parse_size(s).ok()) else {
            return Ok(());
        };
        if plan.is_create() {
            // capacity_bytes and allocation stay "known after apply": LVM rounds up to whole
            // extents, whose size the pool does not tell us.
            return plan_create(ctx, plan, wanted).await;
        }
        let current = plan.prior("capacity_bytes").as_u64().unwrap_or(0);
        let same_text = plan.planned("capacity") == plan.prior("capacity");
        if same_text || (wanted <= current && current - wanted < EXTENT_ROUNDING) {
            // The same size, possibly in another spelling: no change.
            plan.keep_prior("capacity");
            return Ok(());
        }
        plan.set_unknown("capacity_bytes");
        plan.set_unknown("allocation");
        if wanted < current && plan.planned("allow_shrink").as_bool() != Some(true) {
            plan.warn_refusal(shrink_refused(
                plan.planned("capacity").as_str().unwrap_or_default(),
                wanted,
                current,
            ));
            return Ok(());
        }
        plan.warn(
            Diagnostic::warning(
                "Volume Resize Is Attempted In Place",
                format!(
                    "The volume will be resized from {} to {} with virStorageVolResize; it is never replaced, \
                     since that would destroy its data. libvirt's logical (LVM) backend does not support resizing \
                     in libvirt 9.0 to 11.x: if this hypervisor's libvirt refuses, the apply fails and nothing \
                     changes. Safe ways forward are then described in the error.",
                    format_size(current),
                    format_size(wanted)
                ),
            )
            .at_attr("capacity"),
        );
        Ok(())
    }

    // ------------------------------------------------------------ create

    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        let conn = ctx.conn().await?;
        let capacity = planned.capacity_bytes_wanted()?;
        let pool = conn
            .find_pool(&planned.pool)
            .await?
            .ok_or_else(|| pool_not_found(conn, &planned.pool))?;
        if !pool.active {
            return Err(pool_not_active(&planned.pool).into());
        }
        let sparse = planned.sparse == Some(true);
        if !sparse && capacity > pool.xml.available {
            return Err(no_space(&planned.pool, capacity, pool.xml.available).into());
        }
        let allocation = if sparse { 0 } else { capacity };
        let vol_xml = xml::volume_xml(&planned.name, capacity, allocation)
            .map_err(|e| Diagnostic::error("Invalid Volume Definition", e.to_string()))?;
        match conn.create_volume(&planned.pool, &planned.name, vol_xml).await {
            Ok(Created::New(info)) => {
                let mut s = planned;
                s.fill(info);
                Ok(s)
            }
            Ok(Created::Exists(v)) => Err(already_exists(&planned, &v.path()).into()),
            Ok(Created::NoActivePool) => Err(pool_not_active(&planned.pool).into()),
            Err(e) if e.is_connection_lost() => Err(lost_create(conn, planned, capacity, e).await),
            Err(e) if e.is_already_exists() => Err(already_exists(&planned, "").into()),
            Err(e) => Err(e.into()),
        }
    }

    // ------------------------------------------------------------ read

    async fn read(
        &self,
        ctx: &Ctx,
        mut s: State,
        notes: &mut Diagnostics,
    ) -> Result<Option<State>, Diagnostics> {
        let Some(id) = s.identity() else {
            // A create whose reply was lost and that found nothing: nothing to read.
            return Ok(None);
        };
        let conn = ctx.conn().await?;
        let pool = conn.find_pool(&s.pool).await?;
        if let Some(p) = &pool {
            if !p.active {
                // The volumes of a stopped pool cannot be listed; they still exist.
                return Ok(Some(s));
            }
            conn.refresh_pool(&s.pool).await?;
        }
        let dir = pool.as_ref().and_then(|p| p.xml.target_path.as_deref());
        match conn.volume(&id, dir).await? {
            Lookup::Found(v) => {
                s.fill(v);
                Ok(Some(s))
            }
            Lookup::Gone => Ok(None),
            Lookup::Elsewhere(v) => {
                notes.push(elsewhere(
                    "Volume Is No Longer This Resource's",
                    &id,
                    &v,
                    "It is left alone and removed from the state; import it to manage it.",
                ));
                Ok(None)
            }
        }
    }

    // ------------------------------------------------------------ update

    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        let conn = ctx.conn().await?;
        let wanted = planned.capacity_bytes_wanted()?;
        let current = prior.capacity_bytes.unwrap_or(wanted);
        let id = prior.identity().ok_or_else(|| vanished(&prior))?;
        let mut s = planned;
        // The plan keeps the prior text when the size does not really change.
        if s.capacity == prior.capacity || wanted == current {
            return match conn.volume(&id, None).await? {
                Lookup::Found(v) => {
                    s.fill(v);
                    Ok(s)
                }
                _ => Err(vanished(&prior).into()),
            };
        }
        if wanted < current && s.allow_shrink != Some(true) {
            return Err(shrink_refused(&s.capacity, wanted, current).into());
        }
        match conn
            .resize_volume(&id, wanted, wanted < current)
            .await
            .map_err(|e| resize_error(e, &prior, wanted))?
        {
            Resize::Resized(v) => {
                s.fill(v);
                Ok(s)
            }
            Resize::Gone | Resize::Elsewhere(_) => Err(vanished(&prior).into()),
        }
    }

    // ------------------------------------------------------------ delete

    async fn delete(&self, ctx: &Ctx, prior: State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
        let Some(id) = prior.identity() else {
            notes.push(Diagnostic::warning(
                "Nothing To Delete",
                format!(
                    "The state of volume {}/{} records no LV UUID (its create never completed), so no LV can be \
                     proven to be this resource's; nothing was deleted.",
                    prior.pool, prior.name
                ),
            ));
            return Ok(());
        };
        let conn = ctx.conn().await?;
        match conn.delete_volume(&id, prior.wipe_on_destroy == Some(true)).await? {
            VolumeDelete::Deleted => Ok(()),
            VolumeDelete::Gone => {
                notes.push(Diagnostic::warning(
                    "Volume Already Gone",
                    format!(
                        "No LV with UUID {} exists in pool {:?} any more, so nothing was deleted. Whatever now has the \
                         name {:?} is another volume and was left alone.",
                        id.key, id.pool, id.name
                    ),
                ));
                Ok(())
            }
            VolumeDelete::Elsewhere(v) => {
                notes.push(elsewhere(
                    "Volume Not Deleted",
                    &id,
                    &v,
                    "It no longer is the volume this resource made, so it was left alone; only the state entry is removed.",
                ));
                Ok(())
            }
            VolumeDelete::InUse(v, users) => Err(Diagnostic::error(
                "Volume Is Attached To A Domain",
                format!(
                    "Volume {} is in use as {}. Deleting it would pull the disk from under the guest, so nothing \
                     was changed. Detach it first (remove its libvirt_disk_attachment, or `virsh detach-disk`), \
                     then destroy the volume.",
                    v.describe(),
                    users.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
                ),
            )
            .into()),
            VolumeDelete::PoolNotActive => Err(Diagnostic::error(
                "Storage Pool Not Active",
                format!(
                    "Pool {:?} is stopped, so volume {} (LV UUID {}) can be neither checked nor deleted; nothing was \
                     changed. Start the pool (`virsh pool-start {}`, or active = true on its libvirt_lvm_pool) and \
                     destroy again, or `terraform state rm` this volume to forget it and keep the LV.",
                    id.pool, id.name, id.key, id.pool
                ),
            )
            .into()),
        }
    }

    // ------------------------------------------------------------ import

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        let conn = ctx.conn().await?;
        let found = if id.starts_with('/') {
            conn.volume_by_path(id).await?
        } else if let Some((pool, name)) = id.split_once('/') {
            conn.refresh_pool(pool).await?;
            conn.find_volume(pool, name).await?
        } else {
            conn.volume_by_key(id).await?
        };
        let Some(v) = found else {
            return Err(Diagnostic::error(
                "Storage Volume Not Found",
                format!(
                    "No storage volume matches {id:?} on {}. Import by \"<pool>/<volume name>\", by path \
                     (\"/dev/<vg>/<lv>\") or by key.",
                    conn.display_uri()
                ),
            )
            .into());
        };
        let mut s = State {
            capacity: format_size(v.xml.capacity),
            sparse: Some(v.xml.allocation < v.xml.capacity),
            allow_shrink: Some(false),
            wipe_on_destroy: Some(false),
            ..Default::default()
        };
        s.fill(v);
        Ok(s)
    }

    // ------------------------------------------------------------ identity

    fn identity_schema() -> Option<IdentitySchema> {
        Some(IdentitySchema {
            version: 0,
            attributes: vec![
                ("pool", Type::String, true, "Name of the storage pool."),
                ("name", Type::String, true, "Name of the volume."),
            ],
        })
    }

    fn identity(s: &State) -> Option<Value> {
        Some(Value::object([
            ("pool", Value::from(s.pool.as_str())),
            ("name", Value::from(s.name.as_str())),
        ]))
    }

    fn import_id_from_identity(identity: &Value) -> Result<String, Diagnostics> {
        crate::framework::resource::import_id_from_pair(identity, "pool", "name")
    }
}

fn validate_capacity(s: &str) -> Result<(), String> {
    match parse_size(s) {
        Ok(0) => Err("capacity must be greater than zero, such as \"10GiB\".".into()),
        Ok(_) => Ok(()),
        Err(SizeError::Negative(_)) => Err(format!(
            "negative capacity {s:?}: capacity must be greater than zero, such as \"10GiB\"."
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// A new volume: its path, and warnings for what the apply will refuse (a taken name, too little
/// space) when the pool already exists (it may be created by the same apply).
async fn plan_create(ctx: &Ctx, plan: &mut Plan, wanted: u64) -> Result<(), Diagnostics> {
    let Some(pool) = plan.planned("pool").as_str().map(str::to_string) else {
        return Ok(());
    };
    let conn = ctx.conn().await?;
    let Some(info) = conn.find_pool(&pool).await? else {
        return Ok(());
    };
    if let (Some(path), Some(name)) = (info.xml.target_path.as_deref(), plan.planned("name").as_str()) {
        let full = format!("{path}/{name}");
        plan.set("path", full);
    }
    // A volume of this name may be the one this resource replaces (-replace, a tainted volume, a
    // change that forces replacement): Terraform plans the create half of a replacement exactly like
    // a new create, while the old volume still exists. The apply refuses, with nothing changed, if
    // the name is still taken when the create runs.
    if let Some(name) = plan.planned("name").as_str().filter(|_| info.active) {
        conn.refresh_pool(&pool).await?;
        if let Some(existing) = conn.find_volume(&pool, name).await? {
            plan.warn(
                Diagnostic::warning(
                    "Volume Name Already Taken",
                    format!(
                        "Pool {pool:?} already has a volume named {name:?} ({}). If this plan replaces that \
                         volume, this is expected: it is deleted first. Otherwise the apply will refuse to \
                         create this volume and change nothing; to manage the existing volume instead, import \
                         it: `terraform import <address> {pool}/{name}`.",
                        existing.path()
                    ),
                )
                .at_attr("name"),
            );
        }
    }
    let sparse = plan.planned("sparse").as_bool() == Some(true);
    if info.active && !sparse && wanted > info.xml.available {
        plan.warn_refusal(no_space(&pool, wanted, info.xml.available));
    }
    Ok(())
}

fn no_space(pool: &str, wanted: u64, available: u64) -> Diagnostic {
    Diagnostic::error(
        "Not Enough Space In Pool",
        format!(
            "capacity {} ({wanted} bytes) does not fit in pool {pool:?}: it has {} ({available} bytes) available. \
             Choose a smaller capacity or add a device to the volume group.",
            human(wanted),
            human(available),
        ),
    )
    .at_attr("capacity")
}

fn shrink_refused(capacity: &str, wanted: u64, current: u64) -> Diagnostic {
    Diagnostic::error(
        "Shrinking Would Destroy Data",
        format!(
            "capacity {capacity} ({}) is smaller than the volume's current size {} ({}). Shrinking cuts off the \
             data at the end of the volume; it is refused unless allow_shrink = true, and nothing is changed. To \
             keep the volume as it is, set capacity = \"{}\".",
            human(wanted),
            format_size(current),
            human(current),
            format_size(current)
        ),
    )
    .at_attr("capacity")
}

fn pool_not_found(conn: &Connection, pool: &str) -> Diagnostic {
    Diagnostic::error(
        "Storage Pool Not Found",
        format!(
            "No storage pool named {pool:?} exists on {}. Set pool to the name of an existing logical pool (see \
             `virsh pool-list --all`), or to libvirt_lvm_pool.<name>.name of a pool this configuration creates.",
            conn.display_uri()
        ),
    )
    .at_attr("pool")
}

fn pool_not_active(pool: &str) -> Diagnostic {
    Diagnostic::error(
        "Storage Pool Not Active",
        format!(
            "Storage pool {pool:?} is not started; volumes can only be created in an active pool (set active = \
             true on the pool)."
        ),
    )
    .at_attr("pool")
}

fn already_exists(planned: &State, path: &str) -> Diagnostic {
    Diagnostic::error(
        "Volume Already Exists",
        format!(
            "Storage pool {:?} already holds a volume named {:?}{}; it was not created by this resource, so \
             nothing was changed. To manage the existing volume, import it: `terraform import <address> \
             {}/{}`; or choose another name.",
            planned.pool,
            planned.name,
            if path.is_empty() {
                String::new()
            } else {
                format!(" ({path})")
            },
            planned.pool,
            planned.name
        ),
    )
    .at_attr("name")
}

fn vanished(s: &State) -> Diagnostic {
    Diagnostic::error(
        "Volume Vanished",
        format!(
            "Volume {}/{} (LV UUID {}) is no longer in its pool; nothing was changed. Run `terraform plan` to see it \
             planned for creation.",
            s.pool,
            s.name,
            s.key.as_deref().unwrap_or("unknown")
        ),
    )
}

/// A warning naming both identities: what the state recorded and what answers now.
fn elsewhere(summary: &str, id: &VolumeIdentity, found: &VolInfo, what_now: &str) -> Diagnostic {
    Diagnostic::warning(
        summary,
        format!(
            "The state records volume {}/{} at {} with LV UUID {}; that UUID now answers as {}. {what_now}",
            id.pool,
            id.name,
            id.path,
            id.key,
            found.describe()
        ),
    )
}

/// The create's reply was lost after its request went out (the connection died under it): the
/// volume may or may not exist. LVM had no LV of this name when the request left (the create
/// refreshed the pool and checked in the same piece of work), so one found now of this name and
/// the requested size is this create's. It is returned as partial state: Terraform records it as
/// tainted, the next plan reads it (gone: planned for creation; there: replaced), and no volume is
/// left that Terraform does not know about. One of another size is not claimed.
async fn lost_create(conn: &Connection, planned: State, capacity: u64, e: Error) -> Failed<State> {
    let mut s = planned;
    let found = async {
        conn.refresh_pool(&s.pool).await?;
        conn.find_volume(&s.pool, &s.name).await
    }
    .await;
    let detail = match found {
        Ok(Some(v)) if v.xml.capacity >= capacity && v.xml.capacity - capacity < EXTENT_ROUNDING => {
            s.fill(v);
            format!(
                "The volume {}/{} was created ({}) but the reply was lost, so it may be incomplete. It is \
                 recorded as tainted: the next apply replaces it.",
                s.pool,
                s.name,
                s.path.as_deref().unwrap_or_default()
            )
        }
        Ok(Some(v)) => format!(
            "A volume {} exists, but not of the size this create asked for, so it is not claimed as this \
             resource's and is left alone.",
            v.describe()
        ),
        Ok(None) => format!(
            "The volume {}/{} does not exist now. The next plan reads it again and creates it.",
            s.pool, s.name
        ),
        Err(again) => format!(
            "Whether the volume {}/{} exists could not be checked ({again}). If it does, import it.",
            s.pool, s.name
        ),
    };
    let mut d = Diagnostic::from(e);
    d.summary = "Volume Creation Interrupted".into();
    d.detail.push_str(&format!("\n\n{detail}"));
    if s.key.is_some() {
        Failed::with_partial(d, s)
    } else {
        d.into()
    }
}

fn resize_error(e: Error, prior: &State, wanted: u64) -> Diagnostic {
    let unsupported = e.is_resize_unsupported();
    let below_allocation = e.is_shrink_below_allocation();
    let mut d = Diagnostic::from(e).at_attr("capacity");
    let path = prior
        .path
        .clone()
        .unwrap_or_else(|| format!("/dev/<vg>/{}", prior.name));
    let size = format_size(prior.capacity_bytes.unwrap_or(0));
    // `lvextend -L`/`lvreduce -L` read a bare number as MiB: the `b` suffix makes it bytes.
    if below_allocation {
        // libvirt's storage driver refuses any capacity below the allocation before the backend
        // is asked, and a plain LV is fully allocated: libvirt can never shrink it.
        d.summary = "libvirt Cannot Shrink LVM Volumes".into();
        d.detail = format!(
            "{}\n\nlibvirt never shrinks a volume below its allocation, and a plain LVM volume is fully allocated, \
             so libvirt cannot shrink volume {}/{}: it stays at {size} and nothing was changed. Safe ways \
             forward:\n  1. Shrink it on the hypervisor, losing the data beyond the new size: `lvreduce -L {wanted}b \
             {path}`, then run `terraform apply -refresh-only` (the provider then sees the new size).\n  2. Or set \
             capacity back to \"{}\".",
            d.detail, prior.pool, prior.name, prior.capacity
        );
    } else if unsupported {
        d.summary = "libvirt Cannot Resize LVM Volumes".into();
        d.detail = format!(
            "{}\n\nlibvirt's logical (LVM) storage backend does not implement volume resize, so volume \
             {}/{} stays at {size} and nothing was changed. It was not replaced, because that would destroy its \
             data. Safe ways forward:\n  1. Grow it on the hypervisor: `lvextend -L {wanted}b {path}`, then run \
             `terraform apply -refresh-only` (the provider then sees the new size).\n  2. Or create a new \
             libvirt_lvm_volume of the new size and copy the data.\n  3. Or set capacity back to \"{}\".",
            d.detail, prior.pool, prior.name, prior.capacity
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::testing::{domain, TestDriver};

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
        let driver = TestDriver::new(&domain("user", "5a8f9c71-7e6b-4d2a-9c1e-3b4a5d6e7f80", disk));
        let ctx = Ctx::for_tests(&driver.uri);
        let s = created(&ctx, "used").await;
        let e = LvmVolume
            .delete(&ctx, s, &mut Diagnostics::new())
            .await
            .expect_err("refused");
        assert_eq!(e.0[0].summary, "Volume Is Attached To A Domain");
        assert!(
            e.0[0].detail.contains("domain \"user\" as sdb"),
            "{}",
            e.0[0].detail
        );
        let conn = ctx.conn().await.expect("conn");
        assert!(conn
            .find_volume("default-pool", "used")
            .await
            .expect("read")
            .is_some());
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

    /// (prior text, current bytes, configured, allow_shrink) → (capacity planned, warning summary)
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
                Some("Volume Resize Is Attempted In Place"),
            ),
            (
                "64MiB",
                64 * MIB,
                "2GiB",
                false,
                "2GiB",
                Some("Volume Resize Is Attempted In Place"),
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
            },
        };
        let mut s = planned("v");
        s.capacity = "1024MiB".into();
        s.fill(info(1 << 30));
        assert_eq!(
            (s.capacity.as_str(), s.capacity_bytes),
            ("1024MiB", Some(1 << 30))
        );
        s.fill(info(1 << 30));
        assert_eq!(s.capacity, "1024MiB", "the same size keeps the spelling");
        s.fill(info(2 << 30));
        assert_eq!(s.capacity, "2GiB", "drift shows in the canonical spelling");
        assert_eq!(s.key.as_deref(), Some("k"));
    }
}
