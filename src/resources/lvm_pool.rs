//! `libvirt_lvm_pool`: a libvirt storage pool of type `logical` over an LVM
//! volume group.
//!
//! Lifecycle, as libvirt's own: define → build (vgcreate on the devices) →
//! start → autostart; and back: stop → delete (vgremove, only when asked) →
//! undefine. A volume group that already exists is adopted (define + start,
//! no build), which is also how a pool destroyed with `on_destroy = "keep"`
//! comes back with its volumes intact.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{Failed, IdentitySchema, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::libvirt::storage::{PoolInfo, BUILD_NO_OVERWRITE, BUILD_OVERWRITE};
use crate::libvirt::{xml, Connection};
use crate::names;
use crate::provider::Ctx;
use crate::resources::lvm_volume::users_of;
use crate::units::human;

// ---------------------------------------------------------------- model

/// The resource type.
pub struct LvmPool;

/// State and configuration of one pool.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    name: String,
    volume_group: Option<String>,
    source_devices: Option<Vec<String>>,
    build: Option<bool>,
    overwrite: Option<bool>,
    autostart: Option<bool>,
    active: Option<bool>,
    on_destroy: Option<String>,
    force_destroy: Option<bool>,
    target_path: Option<String>,
    capacity: Option<u64>,
    allocation: Option<u64>,
    available: Option<u64>,
    state: Option<String>,
}

impl State {
    fn vg(&self) -> &str {
        self.volume_group.as_deref().unwrap_or(&self.name)
    }
    fn devices(&self) -> &[String] {
        self.source_devices.as_deref().unwrap_or_default()
    }
    fn deletes_vg(&self) -> bool {
        self.on_destroy.as_deref() == Some("delete")
    }
}

// ---------------------------------------------------------------- schema

fn schema() -> Schema {
    Schema::new(
        "A libvirt storage pool of type `logical` over an LVM volume group.\n\n\
         With `source_devices`, the provider builds a new volume group on those block devices \
         (`virsh pool-build`: vgcreate); without them it adopts a volume group that already exists \
         (what `virsh pool-create` does). If the volume group already exists on the given devices \
         (for example after a destroy with `on_destroy = \"keep\"`), it is adopted with its logical \
         volumes intact instead of being built again.\n\n\
         Destroying the resource stops and undefines the pool and keeps the volume group and its \
         data unless `on_destroy = \"delete\"`.",
        vec![
            Attribute::string("id")
                .computed()
                .stable()
                .describe("The pool's libvirt UUID."),
            Attribute::string("name")
                .required()
                .replace()
                .validate(Validator::Str(names::validate_pool_name))
                .describe("Name of the libvirt storage pool."),
            Attribute::string("volume_group")
                .optional()
                .computed()
                .replace()
                .validate(Validator::Str(names::validate_vg_name))
                .describe(
                    "Name of the LVM volume group. Defaults to `name`. Must follow LVM's naming rules: \
                     letters, digits and `+_.-`, not starting with `-`, at most 127 characters.",
                ),
            Attribute::typed("source_devices", Type::set(Type::String))
                .optional()
                .computed()
                .replace()
                .validate(Validator::Str(names::validate_device_path))
                .describe(
                    "Absolute paths of the block devices that hold the volume group's physical volumes, \
                     such as `/dev/vdb` or `/dev/disk/by-id/...`. Required to build a new volume group; \
                     leave unset to adopt an existing one (the devices libvirt reports are then filled in).",
                ),
            Attribute::bool("build").optional().computed().describe(
                "Whether this resource creates the volume group on `source_devices` (vgcreate). \
                     Defaults to `true` when `source_devices` are given, `false` otherwise. An existing \
                     volume group with this name is adopted rather than built again. Only used at creation.",
            ),
            Attribute::bool("overwrite").default(false).describe(
                "Allow building over devices that already hold a signature (a filesystem, a partition \
                     table, or a physical volume of another volume group). Whatever they hold is lost. \
                     Only used at creation.",
            ),
            Attribute::bool("autostart")
                .default(true)
                .describe("Whether libvirt starts the pool when the host boots."),
            Attribute::bool("active").default(true).describe(
                "Whether the pool is started (its volume group active). `false` \
                     stops the pool (`virsh pool-destroy`, which deactivates the logical volumes but \
                     keeps them).",
            ),
            Attribute::string("on_destroy")
                .default("keep")
                .one_of(&["keep", "delete"])
                .describe(
                    "What destroying this resource does to the volume group: `keep` leaves it and its data \
                     on the devices (the pool is only stopped and undefined); `delete` removes the volume \
                     group and the physical volume labels (`virsh pool-delete`).",
                ),
            Attribute::bool("force_destroy").default(false).describe(
                "With `on_destroy = \"delete\"`, allow deleting a volume group that still holds \
                     logical volumes (created by hand or not managed by this configuration). Without it, \
                     such a destroy is refused and the volumes are listed. A volume group whose volume a \
                     domain uses (running or saved definition) is never deleted, even with force_destroy.",
            ),
            Attribute::string("target_path")
                .computed()
                .stable()
                .describe("Directory of the volume group's device nodes, `/dev/<volume_group>`."),
            Attribute::number("capacity")
                .computed()
                .describe("Size of the volume group in bytes, refreshed on every read."),
            Attribute::number("allocation")
                .computed()
                .describe("Bytes allocated to logical volumes, refreshed on every read."),
            Attribute::number("available")
                .computed()
                .describe("Bytes free for new logical volumes, refreshed on every read."),
            Attribute::string("state")
                .computed()
                .describe("`running` or `inactive`, as libvirt reports the pool."),
        ],
    )
}

// ---------------------------------------------------------------- validate

fn validate(config: &Value, diags: &mut Diagnostics) {
    let devices = config.attr("source_devices").unwrap_or(&Value::Null);
    let no_devices = devices.as_list().is_some_and(<[Value]>::is_empty) || devices.is_null();
    if config.attr("build").and_then(Value::as_bool) == Some(true) && no_devices && devices.is_known() {
        diags.attr_error(
            "build",
            "Build Needs Source Devices",
            "build = true creates a volume group, which needs the block devices to put it on: set \
             source_devices (for example [\"/dev/vdb\"]), or remove build to adopt an existing volume group.",
        );
    }
}

// ---------------------------------------------------------------- plan

async fn plan(ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
    if plan.config("volume_group").is_null() {
        let name = plan.planned("name").clone();
        plan.set("volume_group", name);
    }
    if plan.config("build").is_null() {
        if plan.is_create() {
            let devices = plan.config("source_devices");
            let build = match devices {
                Value::Unknown => Value::Unknown,
                v => Value::Bool(v.as_list().is_some_and(|d| !d.is_empty())),
            };
            plan.set("build", build);
        } else {
            plan.keep_prior("build");
        }
    }
    if let Some(vg) = plan.planned("volume_group").as_str() {
        let path = format!("/dev/{vg}");
        if plan.is_create() {
            plan.set("target_path", path);
        }
    }
    if let Some(active) = plan.planned("active").as_bool() {
        if plan.is_create() || plan.changes("active") {
            plan.set("state", if active { "running" } else { "inactive" });
        }
    }
    // source_devices left unset (adoption) is planned as unknown (libvirt fills it in): what
    // matters is that the configured value is known.
    let inputs = ["name", "volume_group", "build", "overwrite"];
    if plan.is_create()
        && inputs.iter().all(|a| plan.planned(a).is_wholly_known())
        && plan.config("source_devices").is_wholly_known()
    {
        let planned: State = plan.planned_as()?;
        check_create(ctx, &planned, plan).await?;
    }
    Ok(())
}

/// Before anything is created: the pool name is free, and the devices hold
/// nothing that building would destroy (unless `overwrite`).
async fn check_create(ctx: &Ctx, planned: &State, plan: &mut Plan) -> Result<(), Diagnostics> {
    let conn = ctx.conn().await?;
    if let Some(existing) = conn.find_pool(None, &planned.name).await? {
        return Err(Diagnostic::error(
            "Storage Pool Already Exists",
            format!(
                "libvirt already has a storage pool named {:?} (UUID {}). Import it with \
                 `terraform import <address> {}` to manage it, or choose another name. If this plan \
                 replaces a pool this configuration already manages (-replace, a tainted pool, or a change \
                 that forces replacement): pools are never replaced, since that could take the volume \
                 group with it; revert the change, or `terraform untaint` the pool.",
                planned.name, existing.uuid, planned.name
            ),
        )
        .at_attr("name")
        .into());
    }
    let sources = conn.logical_sources().await?;
    if planned.build != Some(true) {
        // Adoption: the volume group must already exist.
        if !sources.iter().any(|(vg, _)| vg == planned.vg()) {
            let existing: Vec<&str> = sources.iter().map(|(vg, _)| vg.as_str()).collect();
            return Err(Diagnostic::error(
                "Volume Group Not Found",
                format!(
                    "No volume group {:?} exists on {} to adopt (existing: {}). Set volume_group to an \
                     existing volume group (see `vgs`), or set source_devices to build a new one.",
                    planned.vg(),
                    conn.display_uri(),
                    if existing.is_empty() {
                        "none".to_string()
                    } else {
                        existing.join(", ")
                    }
                ),
            )
            .at_attr("volume_group")
            .into());
        }
        return Ok(());
    }
    match adoption(&sources, planned) {
        Adoption::Adopt => plan.warn(Diagnostic::warning(
            "Existing Volume Group Will Be Adopted",
            format!(
                "Volume group {:?} already exists on {}. It will be adopted with its logical volumes \
                 intact instead of being built again.",
                planned.vg(),
                planned.devices().join(", ")
            ),
        )),
        Adoption::Build => {}
        Adoption::Conflict(detail) if planned.overwrite != Some(true) => {
            return Err(Diagnostic::error(
                "Device Already In Use",
                format!(
                    "{detail} Choose devices that no other volume group uses, or set overwrite = true to \
                     build over them (what they hold is lost)."
                ),
            )
            .at_attr("source_devices")
            .into())
        }
        Adoption::Conflict(detail) => plan.warn(Diagnostic::warning(
            "Devices Will Be Overwritten",
            format!("{detail} overwrite = true: building will destroy it."),
        )),
    }
    Ok(())
}

enum Adoption {
    /// The volume group exists on exactly these devices: adopt it.
    Adopt,
    /// Nothing known on the devices: build.
    Build,
    /// A device belongs to another volume group, or ours lives elsewhere.
    Conflict(String),
}

fn adoption(sources: &[(String, Vec<String>)], planned: &State) -> Adoption {
    let wanted: std::collections::BTreeSet<&str> = planned.devices().iter().map(String::as_str).collect();
    for (vg, devices) in sources {
        let have: std::collections::BTreeSet<&str> = devices.iter().map(String::as_str).collect();
        if vg == planned.vg() {
            return if have == wanted {
                Adoption::Adopt
            } else {
                Adoption::Conflict(format!(
                    "Volume group {vg:?} already exists on {}, not on the configured {}.",
                    devices.join(", "),
                    planned.devices().join(", ")
                ))
            };
        }
        if let Some(d) = devices.iter().find(|d| wanted.contains(d.as_str())) {
            return Adoption::Conflict(format!(
                "{d} is a physical volume of another volume group, {vg:?}. Building on it would destroy \
                 that volume group."
            ));
        }
    }
    Adoption::Build
}

// ---------------------------------------------------------------- create

async fn create(ctx: &Ctx, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    let define_xml = xml::logical_pool_xml(&planned.name, planned.vg(), planned.devices())
        .map_err(|e| Diagnostic::error("Invalid Pool Definition", e.to_string()))?;

    // Some(true) once built; None when the build's reply was lost.
    let mut built = Some(false);
    let build = planned.build == Some(true)
        && !matches!(
            adoption(&conn.logical_sources().await?, &planned),
            Adoption::Adopt
        );

    // Asked first (the plan checked too, but time passed): a pool found with
    // this name after a lost reply is then known to be this create's, and
    // the cleanup below never touches a pool someone else defined.
    if conn.find_pool(None, &planned.name).await?.is_some() {
        return Err(Diagnostic::error(
            "Storage Pool Already Exists",
            format!(
                "A storage pool named {:?} appeared on {} after the plan; it was not created by this \
                 resource, so nothing was changed. Import it to manage it, or choose another name.",
                planned.name,
                conn.display_uri()
            ),
        )
        .at_attr("name")
        .into());
    }
    let mut defined = false;
    let steps = async {
        // A define, build or start whose reply was lost may have happened:
        // the cleanup then looks at what exists instead of trusting the error.
        conn.define_pool(&planned.name, define_xml).await.map_err(|e| {
            defined = e.is_connection_lost();
            Diagnostic::from(e)
        })?;
        defined = true;
        if build {
            let flags = if planned.overwrite == Some(true) { BUILD_OVERWRITE } else { BUILD_NO_OVERWRITE };
            conn.build_pool(&planned.name, flags).await.map_err(|e| {
                built = if e.is_connection_lost() { None } else { Some(false) };
                build_error(e, &planned)
            })?;
            built = Some(true);
        }
        if planned.active != Some(false) {
            conn.pool_op("start storage pool", &planned.name, |p| p.create(0)).await.map_err(|e| {
                let mut d = Diagnostic::from(e);
                if !build {
                    d.detail.push_str(&format!(
                        "\n\nNo volume group {:?} could be activated. To adopt a volume group it must already \
                         exist on the hypervisor (see `vgs`); to create one, set source_devices.",
                        planned.vg()
                    ));
                }
                d
            })?;
        }
        conn.set_pool_autostart(&planned.name, planned.autostart != Some(false)).await?;
        Ok::<_, Diagnostic>(())
    }
    .await;

    if let Err(d) = steps {
        // Undo what this create did, newest first, so nothing is half-made.
        let mut diags = Diagnostics::from(d);
        if !defined {
            return Err(diags.into());
        }
        let built = match built {
            Some(b) => Ok(b),
            // The build's reply was lost: the volume group did not exist
            // before (or the build would have been an adoption), so if it
            // exists now on exactly our devices, this create built it.
            None => conn
                .logical_sources()
                .await
                .map(|sources| matches!(adoption(&sources, &planned), Adoption::Adopt)),
        };
        match built {
            Ok(built) => {
                match undo_create(conn, &planned.name, built).await {
                    Ok(()) => {
                        diags.push(Diagnostic::warning(
                            "Partial Pool Removed",
                            format!(
                            "What this create had made of pool {:?} was removed again{}; nothing is left \
                             behind. Fix the cause above and apply again.",
                            planned.name,
                            if built { " (including the volume group it built)" } else { "" }
                        ),
                        ));
                        return Err(diags.into());
                    }
                    Err(e) => diags.push(cleanup_failed(&planned, e)),
                }
            }
            Err(e) => diags.push(cleanup_failed(&planned, e)),
        }
        // Something may remain: keep it in the state (tainted) rather than
        // leave a pool Terraform does not know about.
        let mut partial = planned.clone();
        partial.state = None;
        return Err(Failed::with_partial(diags, partial));
    }

    match read_pool(conn, ctx, planned.clone()).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => Err(Diagnostic::error("Pool Vanished", "The pool was created but is gone again.").into()),
        Err(d) => Err(Failed::with_partial(d, planned)),
    }
}

fn cleanup_failed(planned: &State, e: crate::libvirt::Error) -> Diagnostic {
    Diagnostic::error(
        "Cleanup After Failed Create Also Failed",
        format!(
            "{e}. The pool {:?} may still be defined in libvirt (check `virsh pool-list --all`); it is kept \
             in the state as tainted, so the next apply deals with it.",
            planned.name
        ),
    )
}

fn build_error(e: crate::libvirt::Error, planned: &State) -> Diagnostic {
    let mut d = Diagnostic::from(e).at_attr("source_devices");
    d.summary = "Cannot Build Volume Group".into();
    d.detail.push_str(&format!(
        "\n\nlibvirt refused to create volume group {:?} on {}. If a device holds a filesystem, a partition \
         table or another volume group's data that may be discarded, set overwrite = true; otherwise choose \
         empty devices.",
        planned.vg(),
        planned.devices().join(", ")
    ));
    d
}

async fn undo_create(conn: &Connection, name: &str, built: bool) -> crate::libvirt::Result<()> {
    if let Some(p) = conn.find_pool(None, name).await? {
        if p.active {
            conn.pool_op("stop storage pool", name, |p| p.destroy()).await?;
        }
        if built {
            conn.pool_op("delete storage pool", name, |p| p.delete(0)).await?;
        }
        conn.pool_op("undefine storage pool", name, |p| p.undefine())
            .await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- read

async fn read_pool(conn: &Connection, ctx: &Ctx, mut s: State) -> Result<Option<State>, Diagnostics> {
    match ctx.pools.refresh(conn, &s.name).await {
        Ok(()) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    let Some(p) = conn.find_pool(s.id.as_deref(), &s.name).await? else {
        return Ok(None);
    };
    fill(&mut s, p)?;
    Ok(Some(s))
}

fn fill(s: &mut State, p: PoolInfo) -> Result<(), Diagnostics> {
    if p.xml.pool_type != "logical" {
        return Err(Diagnostic::error(
            "Not A Logical Pool",
            format!(
                "Storage pool {:?} is of type {:?}; libvirt_lvm_pool manages pools of type \"logical\" only.",
                p.xml.name, p.xml.pool_type
            ),
        )
        .into());
    }
    s.id = Some(p.uuid);
    s.name = p.xml.name;
    s.volume_group = Some(p.xml.source.vg_name.clone().unwrap_or_else(|| s.name.clone()));
    let devices = p.xml.source.devices;
    // Keep the configured spelling when libvirt reports the same set.
    let same = s.source_devices.as_ref().is_some_and(|d| {
        let mut a = d.clone();
        let mut b = devices.clone();
        a.sort();
        b.sort();
        a == b
    });
    if !same {
        s.source_devices = Some(devices);
    }
    s.autostart = Some(p.autostart);
    s.active = Some(p.active);
    s.state = Some(if p.active { "running" } else { "inactive" }.into());
    s.target_path = p.xml.target_path.or_else(|| Some(format!("/dev/{}", s.vg())));
    s.capacity = Some(p.xml.capacity);
    s.allocation = Some(p.xml.allocation);
    s.available = Some(p.xml.available);
    Ok(())
}

// ---------------------------------------------------------------- update

async fn update(ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    if planned.active != prior.active {
        if planned.active == Some(false) {
            conn.pool_op("stop storage pool", &planned.name, |p| p.destroy())
                .await?;
        } else {
            conn.pool_op("start storage pool", &planned.name, |p| p.create(0))
                .await?;
        }
    }
    if planned.autostart != prior.autostart {
        conn.set_pool_autostart(&planned.name, planned.autostart != Some(false))
            .await?;
    }
    match read_pool(conn, ctx, planned.clone()).await? {
        Some(s) => Ok(s),
        None => Err(Diagnostic::error(
            "Pool Vanished",
            format!("Storage pool {:?} disappeared during the update.", planned.name),
        )
        .into()),
    }
}

// ---------------------------------------------------------------- delete

async fn delete(ctx: &Ctx, prior: State) -> Result<(), Diagnostics> {
    let conn = ctx.conn().await?;
    let Some(pool) = conn.find_pool(prior.id.as_deref(), &prior.name).await? else {
        return Ok(());
    };
    let name = pool.xml.name.clone();
    if prior.deletes_vg() {
        // Listing needs an active pool; leave it as it was found.
        if !pool.active {
            conn.pool_op("start storage pool", &name, |p| p.create(0)).await?;
        }
        let volumes = conn.list_volumes(&name).await;
        if !pool.active {
            conn.pool_op("stop storage pool", &name, |p| p.destroy()).await?;
        }
        let volumes = volumes?;
        // force_destroy covers volumes that are merely there, never one a
        // domain uses (what libvirt_lvm_volume refuses to delete too).
        let domains = if volumes.is_empty() {
            Vec::new()
        } else {
            conn.list_domains().await?
        };
        let mut in_use = Vec::new();
        for v in &volumes {
            for user in users_of(&domains, v) {
                in_use.push(format!("  - {} ({}): {user}", v.xml.name, v.path()));
            }
        }
        if !in_use.is_empty() {
            return Err(Diagnostic::error(
                "Volume Group Has Volumes In Use",
                format!(
                    "on_destroy = \"delete\" would remove volume group {:?}, whose volumes domains still use:\n{}\n\n\
                     Nothing was changed; force_destroy does not override this. Detach those disks first \
                     (remove their libvirt_disk_attachment, or `virsh detach-disk`), or set on_destroy = \
                     \"keep\" to leave the volume group and its data in place.",
                    prior.vg(),
                    in_use.join("\n")
                ),
            )
            .at_attr("on_destroy")
            .into());
        }
        if prior.force_destroy != Some(true) && !volumes.is_empty() {
            let list: Vec<String> = volumes
                .iter()
                .map(|v| format!("  - {} ({}, {})", v.xml.name, v.path(), human(v.xml.capacity)))
                .collect();
            return Err(Diagnostic::error(
                "Volume Group Still Holds Logical Volumes",
                format!(
                    "on_destroy = \"delete\" would remove volume group {:?}, which still holds:\n{}\n\nNothing \
                     was changed. Remove those volumes, set on_destroy = \"keep\" to leave the volume group \
                     and its data in place, or set force_destroy = true to delete them with it.",
                    prior.vg(),
                    list.join("\n")
                ),
            )
            .at_attr("on_destroy")
            .into());
        }
    }
    if pool.active {
        conn.pool_op("stop storage pool", &name, |p| p.destroy()).await?;
    }
    if prior.deletes_vg() {
        conn.pool_op("delete storage pool", &name, |p| p.delete(0))
            .await?;
    }
    conn.pool_op("undefine storage pool", &name, |p| p.undefine())
        .await?;
    Ok(())
}

// ---------------------------------------------------------------- import

async fn import(ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
    let conn = ctx.conn().await?;
    let is_uuid = id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    let found = conn
        .find_pool(is_uuid.then_some(id), if is_uuid { "" } else { id })
        .await?;
    let Some(p) = found else {
        return Err(Diagnostic::error(
            "Storage Pool Not Found",
            format!(
                "No storage pool with name or UUID {id:?} exists on {}.",
                conn.display_uri()
            ),
        )
        .into());
    };
    let mut s = State {
        name: p.xml.name.clone(),
        overwrite: Some(false),
        on_destroy: Some("keep".into()),
        force_destroy: Some(false),
        ..Default::default()
    };
    fill(&mut s, p)?;
    s.build = Some(!s.devices().is_empty());
    Ok(s)
}

// ---------------------------------------------------------------- wiring

#[async_trait]
impl Resource for LvmPool {
    type State = State;
    const TYPE_NAME: &'static str = "libvirt_lvm_pool";

    fn schema() -> Schema {
        schema()
    }
    fn validate(config: &Value, diags: &mut Diagnostics) {
        validate(config, diags)
    }
    async fn plan(&self, ctx: &Ctx, p: &mut Plan) -> Result<(), Diagnostics> {
        plan(ctx, p).await
    }
    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        create(ctx, planned).await
    }
    async fn read(&self, ctx: &Ctx, state: State) -> Result<Option<State>, Diagnostics> {
        read_pool(ctx.conn().await?, ctx, state).await
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
            attributes: vec![("name", Type::String, true, "Name of the libvirt storage pool.")],
        })
    }
    fn identity(s: &State) -> Option<Value> {
        Some(Value::object([("name", Value::from(s.name.as_str()))]))
    }
    fn import_id_from_identity(identity: &Value) -> Result<String, Diagnostics> {
        identity
            .attr("name")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Diagnostic::error("Invalid Identity", "The identity needs name.").into())
    }
}
