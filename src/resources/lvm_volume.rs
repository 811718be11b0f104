//! `libvirt_lvm_volume`: a logical volume carved from an active logical pool.
//!
//! Plain, fully allocated LVs by default (allocation = capacity), never
//! libvirt's snapshot-backed sparse LV unless `sparse = true`. Capacity
//! changes are tried in place and never turn into a replacement: replacing
//! a volume destroys its data.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{Failed, IdentitySchema, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::libvirt::domain::DomainInfo;
use crate::libvirt::error::Code;
use crate::libvirt::storage::{Created, KeyedDelete, VolInfo, RESIZE_SHRINK};
use crate::libvirt::{xml, Connection, Error};
use crate::names;
use crate::provider::Ctx;
use crate::units::{format_size, human, parse_size, SizeError};

// ---------------------------------------------------------------- model

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

// ---------------------------------------------------------------- schema

fn schema() -> Schema {
    Schema::new(
        "A logical volume in a `logical` storage pool (`virsh vol-create`).\n\n\
         By default the volume is a plain, fully allocated LV. Growing `capacity` is attempted in place \
         and never replaces the volume (which would destroy its data); libvirt's logical backend cannot \
         resize volumes (libvirt 9.0 to 11.x), so such an apply fails with an explanation of the safe ways \
         forward. Destroying a volume that is attached to any domain is refused.",
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
            Attribute::bool("sparse")
                .default(false)
                .describe(
                    "Create a thin, snapshot-backed sparse LV (libvirt's behaviour for allocation 0) instead of \
                     a plain fully allocated one. Sparse LVs fail when their backing space fills up; leave this \
                     `false` unless you know you want it. Only used at creation.",
                ),
            Attribute::bool("allow_shrink")
                .default(false)
                .describe("Allow a smaller `capacity` than the current size. Shrinking destroys the data beyond the new size."),
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

// ---------------------------------------------------------------- plan

/// LVM allocates whole extents (4 MiB unless the volume group says otherwise),
/// so a volume can come out slightly larger than asked: a request that rounds
/// up to the current size is no change.
const EXTENT_ROUNDING: u64 = 4 << 20;

async fn plan(ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
    let Some(wanted) = plan.planned("capacity").as_str().and_then(|s| parse_size(s).ok()) else {
        return Ok(());
    };
    if plan.is_create() {
        // capacity_bytes and allocation stay "known after apply": LVM rounds
        // up to whole extents, whose size the pool does not tell us.
        return check_space(ctx, plan, wanted).await;
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
        return Err(Diagnostic::error(
            "Shrinking Would Destroy Data",
            format!(
                "capacity {} ({}) is smaller than the volume's current size {} ({}). Shrinking cuts off the \
                 data at the end of the volume; it is refused unless allow_shrink = true. To keep the volume \
                 as it is, set capacity = \"{}\".",
                plan.planned("capacity").as_str().unwrap_or_default(),
                human(wanted),
                format_size(current),
                human(current),
                format_size(current)
            ),
        )
        .at_attr("capacity")
        .into());
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

/// A new, fully allocated volume must fit in the pool's free space, when the
/// pool already exists (it may be created by the same apply).
async fn check_space(ctx: &Ctx, plan: &mut Plan, wanted: u64) -> Result<(), Diagnostics> {
    let Some(pool) = plan.planned("pool").as_str().map(str::to_string) else {
        return Ok(());
    };
    let conn = ctx.conn().await?;
    let Some(info) = conn.find_pool(None, &pool).await? else {
        return Ok(());
    };
    if let (Some(path), Some(name)) = (info.xml.target_path.as_deref(), plan.planned("name").as_str()) {
        let full = format!("{path}/{name}");
        plan.set("path", full);
    }
    // A volume of this name may be the one this resource replaces (-replace, a tainted volume, a
    // change that forces replacement): Terraform plans the create half of a replacement exactly like
    // a new create, while the old volume still exists. So this is a warning here; the apply refuses,
    // with nothing changed, if the name is still taken when the create runs.
    if let Some(name) = plan.planned("name").as_str().filter(|_| info.active) {
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
        return Err(Diagnostic::error(
            "Not Enough Space In Pool",
            format!(
                "capacity {} ({} bytes) does not fit in pool {:?}: it has {} ({} bytes) available. Choose a \
                 smaller capacity or add a device to the volume group.",
                human(wanted),
                wanted,
                pool,
                human(info.xml.available),
                info.xml.available
            ),
        )
        .at_attr("capacity")
        .into());
    }
    Ok(())
}

// ---------------------------------------------------------------- create

async fn create(ctx: &Ctx, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    let capacity = parse_size(&planned.capacity)
        .map_err(|e| Diagnostic::error("Invalid capacity", e.to_string()).at_attr("capacity"))?;
    let pool = conn.find_pool(None, &planned.pool).await?.ok_or_else(|| {
        Diagnostic::error(
            "Storage Pool Not Found",
            format!(
                "No storage pool named {:?} exists on {}. Set pool to the name of an existing logical pool \
                 (see `virsh pool-list --all`), or to libvirt_lvm_pool.<name>.name of a pool this \
                 configuration creates.",
                planned.pool,
                conn.display_uri()
            ),
        )
        .at_attr("pool")
    })?;
    if !pool.active {
        return Err(Diagnostic::error(
            "Storage Pool Not Active",
            format!("Storage pool {:?} is not started; volumes can only be created in an active pool (set active = true on the pool).", planned.pool),
        )
        .at_attr("pool")
        .into());
    }
    let allocation = if planned.sparse == Some(true) { 0 } else { capacity };
    let vol_xml = xml::volume_xml(&planned.name, capacity, allocation)
        .map_err(|e| Diagnostic::error("Invalid Volume Definition", e.to_string()))?;
    // The name is checked first, in the same piece of work as the create, so that a volume found
    // after a lost reply (below) is known to be the one this create made, never one that was
    // already there.
    match conn.create_volume(&planned.pool, &planned.name, vol_xml).await {
        Ok(Created::New(info)) => {
            let mut s = planned;
            fill(&mut s, info);
            Ok(s)
        }
        Ok(Created::Exists(v)) => Err(already_exists(&planned, &v.path()).into()),
        Ok(Created::NotAsked(e)) => Err(Diagnostic::from(e).into()),
        Err(e) if e.is_connection_lost() || matches!(e, Error::Internal { .. }) => {
            Err(lost_create(conn, planned, e).await)
        }
        Err(e) => {
            let exists = e
                .message()
                .is_some_and(|m| m.contains("exists already") || m.contains("already exists"));
            Err(if exists {
                already_exists(&planned, "").into()
            } else {
                Diagnostic::from(e).into()
            })
        }
    }
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

/// The create's reply was lost (the connection died under it): the volume may
/// or may not exist. It did not exist just before, so whatever now carries
/// its name is this create's doing. The failure returns the volume's identity
/// (and what can be read of it) as partial state: Terraform records it as
/// tainted, the next plan reads it (gone: planned for creation; there:
/// replaced), and no volume is left that Terraform does not know about.
async fn lost_create(conn: &Connection, planned: State, e: Error) -> Failed<State> {
    let mut s = planned;
    let detail = match conn.find_volume(&s.pool, &s.name).await {
        Ok(Some(v)) => {
            fill(&mut s, v);
            format!(
                "The volume {}/{} was created ({}) but the reply was lost, so it may be incomplete. It is \
                 recorded as tainted: the next apply replaces it.",
                s.pool,
                s.name,
                s.path.as_deref().unwrap_or_default()
            )
        }
        Ok(None) => format!(
            "The volume {}/{} does not exist now. It is recorded as tainted in case the hypervisor still \
             creates it: the next plan reads it again and creates or replaces it.",
            s.pool, s.name
        ),
        Err(again) => format!(
            "Whether the volume {}/{} exists could not be checked ({again}). It is recorded as tainted: the \
             next plan reads it again and creates or replaces it.",
            s.pool, s.name
        ),
    };
    let mut d = Diagnostic::from(e);
    d.summary = "Volume Creation Interrupted".into();
    d.detail.push_str(&format!("\n\n{detail}"));
    Failed::with_partial(d, s)
}

// ---------------------------------------------------------------- read

/// Copies what libvirt reports into the state. The configured `capacity`
/// text is kept unless the size changed since we last saw it (drift: then
/// the new size is shown in its canonical spelling and the plan compares).
fn fill(s: &mut State, v: VolInfo) {
    let actual = v.xml.capacity;
    if s.capacity_bytes.is_some_and(|seen| seen != actual) {
        s.capacity = format_size(actual);
    }
    s.id = Some(v.key());
    s.key = Some(v.key());
    s.path = Some(v.path());
    s.pool = v.pool.clone();
    s.name = v.xml.name.clone();
    s.capacity_bytes = Some(actual);
    s.allocation = Some(v.xml.allocation);
}

/// The volume this state describes: the one with its key (the LV UUID) while that is still the
/// volume of this name in this pool, else the volume of this name (an LV made again under the same
/// name is this resource's volume now, and its new key shows in the state). `pool_dir`, the pool's
/// target path when the caller has read the pool, saves a call.
async fn find(conn: &Connection, s: &State, pool_dir: Option<&str>) -> Result<Option<VolInfo>, Error> {
    if let Some(key) = s.key.as_deref().filter(|k| !k.is_empty()) {
        let by_key = match pool_dir {
            Some(dir) => conn.find_volume_by_key_in(&s.pool, dir, key, &s.name).await?,
            None => conn
                .find_volume_by(key, false)
                .await?
                .filter(|v| v.pool == s.pool && v.xml.name == s.name),
        };
        if by_key.is_some() {
            return Ok(by_key);
        }
    }
    conn.find_volume(&s.pool, &s.name).await
}

async fn read(ctx: &Ctx, mut s: State) -> Result<Option<State>, Diagnostics> {
    let conn = ctx.conn().await?;
    let Some(pool) = conn.find_pool(None, &s.pool).await? else {
        return Ok(None);
    };
    if !pool.active {
        // The volumes of a stopped pool cannot be listed; they still exist.
        return Ok(Some(s));
    }
    match ctx.pools.refresh(conn, &s.pool).await {
        Err(e) if !e.is_not_found() => return Err(e.into()),
        _ => {}
    }
    match find(conn, &s, pool.xml.target_path.as_deref()).await? {
        Some(v) => {
            fill(&mut s, v);
            Ok(Some(s))
        }
        None => Ok(None),
    }
}

// ---------------------------------------------------------------- update

async fn update(ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    let wanted = parse_size(&planned.capacity)
        .map_err(|e| Diagnostic::error("Invalid capacity", e.to_string()).at_attr("capacity"))?;
    let current = prior.capacity_bytes.unwrap_or(wanted);
    let mut s = planned;
    // The plan keeps the prior text when the size does not really change.
    if s.capacity != prior.capacity && wanted != current {
        let flags = if wanted < current { RESIZE_SHRINK } else { 0 };
        conn.resize_volume(&s.pool, &s.name, wanted, flags)
            .await
            .map_err(|e| resize_error(e, &prior, wanted))?;
        ctx.pools.refresh(conn, &s.pool).await?;
    }
    match find(conn, &s, None).await? {
        Some(v) => fill(&mut s, v),
        None => {
            return Err(Diagnostic::error(
                "Volume Vanished",
                format!("Volume {}/{} disappeared during the update.", s.pool, s.name),
            )
            .into())
        }
    }
    Ok(s)
}

fn resize_error(e: Error, prior: &State, wanted: u64) -> Diagnostic {
    let unsupported = matches!(
        &e,
        Error::Libvirt {
            code: Code::Unsupported,
            ..
        }
    ) || e
        .message()
        .is_some_and(|m| m.contains("does not support changing of volume capacity"));
    let mut d = Diagnostic::from(e).at_attr("capacity");
    if unsupported {
        let path = prior
            .path
            .clone()
            .unwrap_or_else(|| format!("/dev/<vg>/{}", prior.name));
        d.summary = "libvirt Cannot Resize LVM Volumes".into();
        d.detail = format!(
            "{}\n\nlibvirt's logical (LVM) storage backend does not implement volume resize, so volume \
             {}/{} stays at {} and nothing was changed. It was not replaced, because that would destroy its \
             data. Safe ways forward:\n  1. Grow it on the hypervisor: `lvextend -L {} {}`, then run \
             `terraform apply -refresh-only` (the provider then sees the new size).\n  2. Or create a new \
             libvirt_lvm_volume of the new size and copy the data.\n  3. Or set capacity back to \"{}\".",
            d.detail,
            prior.pool,
            prior.name,
            format_size(prior.capacity_bytes.unwrap_or(0)),
            wanted,
            path,
            prior.capacity
        );
    }
    d
}

// ---------------------------------------------------------------- delete

async fn delete(ctx: &Ctx, prior: State) -> Result<(), Diagnostics> {
    let conn = ctx.conn().await?;
    let wipe = prior.wipe_on_destroy == Some(true);
    let key = prior.key.as_deref().filter(|k| !k.is_empty());
    let path = prior.path.as_deref().filter(|p| !p.is_empty());
    if let (Some(key), Some(path)) = (key, path) {
        // The volume last read: found by its key, checked, deleted, in one piece of work.
        let domains = conn.list_domains().await?;
        let refuse = move |v: &VolInfo| Some(users_of(&domains, v)).filter(|u| !u.is_empty());
        match conn
            .delete_volume_by_key(&prior.pool, key, &prior.name, path, wipe, refuse)
            .await?
        {
            KeyedDelete::Deleted => return Ok(()),
            KeyedDelete::Refused(v, users) => return Err(in_use(&v, &users).into()),
            KeyedDelete::NotThisVolume => {}
        }
    }
    // Not where it was last read: whatever now has its name in its pool.
    let Some(v) = find(conn, &prior, None).await? else {
        return Ok(());
    };
    let users = attached_to(conn, &v).await?;
    if !users.is_empty() {
        return Err(in_use(&v, &users).into());
    }
    conn.delete_volume(&v.pool, &v.xml.name, wipe).await?;
    Ok(())
}

fn in_use(v: &VolInfo, users: &[String]) -> Diagnostic {
    Diagnostic::error(
        "Volume Is Attached To A Domain",
        format!(
            "Volume {}/{} ({}) is in use as {}. Deleting it would pull the disk from under the guest, so \
             nothing was changed. Detach it first (remove its libvirt_disk_attachment, or `virsh \
             detach-disk`), then destroy the volume.",
            v.pool,
            v.xml.name,
            v.path(),
            users.join(", ")
        ),
    )
}

/// "domain 'web' as sdb (running)" for every domain whose live or saved
/// definition uses the volume.
pub async fn attached_to(conn: &Connection, v: &VolInfo) -> Result<Vec<String>, Error> {
    Ok(users_of(&conn.list_domains().await?, v))
}

/// [`attached_to`] against a domain list already read (one listing for many volumes).
pub fn users_of(domains: &[DomainInfo], v: &VolInfo) -> Vec<String> {
    let path = v.path();
    let mut users = Vec::new();
    for d in domains {
        let mut views = Vec::new();
        if d.active {
            views.push(("running", &d.live));
        }
        if d.persistent {
            views.push(("persistent", &d.config));
        }
        for (view, xml) in views {
            for disk in &xml.disks {
                // virsh attach-disk writes a block device as type='file' unless told otherwise.
                let by_path = [&disk.source.dev, &disk.source.file]
                    .iter()
                    .any(|p| p.as_deref() == Some(path.as_str()));
                let by_volume = disk.source.pool.as_deref() == Some(v.pool.as_str())
                    && disk.source.volume.as_deref() == Some(v.xml.name.as_str());
                let user = format!("domain {:?} as {} ({view} definition)", d.name, disk.target_dev);
                if (by_path || by_volume) && !users.contains(&user) {
                    users.push(user);
                }
            }
        }
    }
    users
}

// ---------------------------------------------------------------- import

async fn import(ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
    let conn = ctx.conn().await?;
    let found = if id.starts_with('/') {
        conn.find_volume_by(id, true).await?
    } else if let Some((pool, name)) = id.split_once('/') {
        conn.find_volume(pool, name).await?
    } else {
        conn.find_volume_by(id, false).await?
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
    fill(&mut s, v);
    Ok(s)
}

// ---------------------------------------------------------------- wiring

#[async_trait]
impl Resource for LvmVolume {
    type State = State;
    const TYPE_NAME: &'static str = "libvirt_lvm_volume";

    fn schema() -> Schema {
        schema()
    }
    async fn plan(&self, ctx: &Ctx, p: &mut Plan) -> Result<(), Diagnostics> {
        plan(ctx, p).await
    }
    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        create(ctx, planned).await
    }
    async fn read(&self, ctx: &Ctx, state: State) -> Result<Option<State>, Diagnostics> {
        read(ctx, state).await
    }
    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        update(ctx, prior, planned).await
    }
    async fn delete(&self, ctx: &Ctx, prior: State) -> Result<(), Diagnostics> {
        delete(ctx, prior).await
    }
    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        import(ctx, id).await
    }
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
