//! `libvirt_lvm_pool`: a libvirt storage pool of type `logical` over an LVM volume group.
//!
//! Lifecycle, as libvirt's own: define → build (vgcreate on the devices) → start → autostart; and
//! back: stop → delete (vgremove, only when asked) → undefine. A volume group that already exists
//! is adopted (define + start, no build), which is also how a pool destroyed with
//! `on_destroy = "keep"` comes back with its volumes intact.
//!
//! The pool is its UUID (chosen by the provider and sent with the define, so that a define whose
//! reply was lost is recognised) together with its name and volume group: a pool defined again
//! under the same name is another pool, which this resource never stops, deletes or undefines.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{Failed, IdentitySchema, MoveSource, Moved, Outcome, Resource};
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::libvirt::facts::pool::{PoolIdentity, PoolInfo};
use crate::libvirt::pool::{Built, OnDestroy, PoolDelete};
use crate::libvirt::rules::vg::{build_plan, decide, BuildDecision, BuildPlan};
use crate::libvirt::{xml, Connection};
use crate::names;
use crate::provider::Ctx;
use crate::units::human;

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

    fn on_destroy(&self) -> OnDestroy {
        match self.on_destroy.as_deref() {
            Some("delete") => OnDestroy::Delete {
                force: self.force_destroy == Some(true),
            },
            _ => OnDestroy::Keep,
        }
    }

    /// What the state recorded of the pool; None before a define (or for a state without a UUID).
    fn identity(&self) -> Option<PoolIdentity> {
        Some(PoolIdentity {
            uuid: self.id.clone().filter(|u| !u.is_empty())?,
            name: self.name.clone(),
            vg: self.vg().to_string(),
        })
    }

    /// Copies what libvirt reports into the state.
    fn fill(&mut self, p: PoolInfo) {
        self.id = Some(p.uuid.clone());
        self.volume_group = Some(p.vg().to_string());
        self.name = p.xml.name;
        let devices = p.xml.source.devices;
        // Keep the configured spelling and order when libvirt reports the same set.
        if !self
            .source_devices
            .as_deref()
            .is_some_and(|d| same_set(d, &devices))
        {
            self.source_devices = Some(devices);
        }
        self.autostart = Some(p.autostart);
        self.active = Some(p.active);
        self.state = Some(if p.active { "running" } else { "inactive" }.into());
        self.target_path = p.xml.target_path.or_else(|| Some(format!("/dev/{}", self.vg())));
        self.capacity = Some(p.xml.capacity);
        self.allocation = Some(p.xml.allocation);
        self.available = Some(p.xml.available);
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    fn set(v: &[String]) -> std::collections::BTreeSet<&str> {
        v.iter().map(String::as_str).collect()
    }
    set(a) == set(b)
}

#[async_trait]
impl Resource for LvmPool {
    type Ctx = Ctx;
    type State = State;
    const TYPE_NAME: &'static str = "libvirt_lvm_pool";

    // ------------------------------------------------------------ schema

    fn schema() -> Schema {
        Schema::new(
            "A libvirt storage pool of type `logical` over an LVM volume group.\n\n\
             With `source_devices`, the provider builds a new volume group on those block devices \
             (`virsh pool-build`: vgcreate); without them it adopts a volume group that already exists \
             (what `virsh pool-create` does). If the volume group already exists on the given devices \
             (for example after a destroy with `on_destroy = \"keep\"`), it is adopted with its logical \
             volumes intact instead of being built again.\n\n\
             Destroying the resource stops and undefines the pool and keeps the volume group and its \
             data unless `on_destroy = \"delete\"`. The pool is identified by its UUID, name and volume \
             group: a pool undefined and defined again under the same name is another pool, which this \
             resource never touches.",
            vec![
                Attribute::string("id").computed().stable().describe("The pool's libvirt UUID."),
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
                Attribute::typed("source_devices", Type::list(Type::String))
                    .optional()
                    .computed()
                    .replace()
                    .validate(Validator::Str(names::validate_device_path))
                    .describe(
                        "Absolute paths of the block devices that hold the volume group's physical volumes, \
                         such as `/dev/vdb` or `/dev/disk/by-id/...`, each once; their order does not matter. \
                         Required to build a new volume group; leave unset to adopt an existing one (the \
                         devices libvirt reports are then filled in).",
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
                    "Whether the pool is started (its volume group active). `false` stops the pool (`virsh \
                     pool-destroy`, which deactivates the logical volumes but keeps them).",
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
                    "With `on_destroy = \"delete\"`, allow deleting a volume group that still holds logical \
                     volumes (created by hand or not managed by this configuration). Without it, such a destroy \
                     is refused and the volumes are listed. A volume group whose volume a domain uses (running \
                     or saved definition, under any device name) is never deleted, even with force_destroy. \
                     What the volume group holds is read when the destroy runs, not from the plan.",
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

    // ------------------------------------------------------------ validate

    fn validate(config: &Value, diags: &mut Diagnostics) {
        let devices = config.attr("source_devices").unwrap_or(&Value::Null);
        if let Some(list) = devices.as_list() {
            let mut seen = std::collections::BTreeSet::new();
            for d in list.iter().filter_map(Value::as_str) {
                if !seen.insert(d) {
                    diags.attr_error(
                        "source_devices",
                        "Duplicate Source Device",
                        format!(
                            "{d:?} is listed more than once. Each device can hold one physical volume: list every \
                             device once."
                        ),
                    );
                }
            }
        }
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

    // ------------------------------------------------------------ plan

    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        if plan.config("volume_group").is_null() {
            let name = plan.planned("name").clone();
            plan.set("volume_group", name);
        }
        if !plan.is_create() {
            // The same devices in another order are the same volume group.
            let (planned, prior) = (plan.planned("source_devices"), plan.prior("source_devices"));
            let strings = |v: &Value| -> Option<Vec<String>> {
                v.as_list()?
                    .iter()
                    .map(|d| d.as_str().map(str::to_string))
                    .collect()
            };
            if let (Some(a), Some(b)) = (strings(planned), strings(prior)) {
                if same_set(&a, &b) {
                    plan.keep_prior("source_devices");
                }
            }
        }
        // With LVM's tools, a changed device list is made in place (the group grows or shrinks).
        if !plan.is_create() && plan.changes("source_devices") {
            devices::plan_change(ctx, plan).await?;
        }
        if let Some(d) = replacement_warning(plan)? {
            // Terraform drops the warnings of the create half of a replacement (it plans it in a
            // second call and keeps only its errors), so what the replacement will do, and what
            // would stop it, is said here, in the plan of the change that forces it.
            plan.warn(d);
        }
        if plan.config("build").is_null() {
            if plan.is_create() {
                let build = match plan.config("source_devices") {
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
            plan_create(ctx, &planned, plan).await?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ create

    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        let conn = ctx.conn().await?;
        let uuid = new_uuid().map_err(|e| Diagnostic::error("Cannot Make A Pool UUID", e.to_string()))?;
        let define_xml = xml::logical_pool_xml(&planned.name, &uuid, planned.vg(), planned.devices())
            .map_err(|e| Diagnostic::error("Invalid Pool Definition", e.to_string()))?;
        // The refusals the plan showed as warnings, asked again now: nothing has changed yet.
        // (The build checks the devices once more in its own unit of work, right before vgcreate.)
        let refusals = create_checks(conn, &planned).await?.refusals;
        if !refusals.is_empty() {
            return Err(Diagnostics(refusals).into());
        }
        // From here on the pool is the one with this UUID, which no other pool can have.
        let mut partial = planned.clone();
        partial.id = Some(uuid.clone());
        partial.state = None;
        // What this create did, for the undo: Some(true) once built, None when unknown.
        let mut built = Some(false);
        let steps = async {
            // A define whose reply was lost may have happened: the undo below asks by UUID.
            conn.define_pool(&planned.name, define_xml).await?;
            if planned.build == Some(true) {
                let outcome = conn
                    .build_pool(&uuid, planned.vg(), planned.devices(), planned.overwrite == Some(true), &[])
                    .await;
                match outcome {
                    Ok(Built::Built) => built = Some(true),
                    Ok(Built::Adopted) => {}
                    Ok(Built::Refused(why)) => return Err(device_conflict(why)),
                    Ok(Built::Grow(added)) => return Err(grow_needs_lvm_tools(&planned, &added)),
                    Err(e) => {
                        built = if e.is_connection_lost() { None } else { Some(false) };
                        return Err(build_error(e, &planned));
                    }
                }
            }
            if planned.active != Some(false) {
                conn.start_pool(&uuid).await.map_err(|e| {
                    let mut d = Diagnostic::from(e);
                    if planned.build != Some(true) {
                        d.detail.push_str(&format!(
                            "\n\nNo volume group {:?} could be activated. To adopt a volume group it must already \
                             exist on the hypervisor (see `vgs`); to create one, set source_devices.",
                            planned.vg()
                        ));
                    }
                    d
                })?;
            }
            conn.set_pool_autostart(&uuid, planned.autostart != Some(false)).await?;
            Ok::<_, Diagnostic>(())
        }
        .await;

        if let Err(d) = steps {
            return Err(undo_create(conn, &planned, partial, built, d).await);
        }
        match conn.pool(&uuid).await {
            Ok(Some(p)) => {
                let mut s = planned;
                s.fill(p);
                Ok(s)
            }
            Ok(None) => {
                Err(Diagnostic::error("Pool Vanished", "The pool was created but is gone again.").into())
            }
            Err(e) => Err(Failed::with_partial(Diagnostic::from(e), partial)),
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
            return Ok(None);
        };
        let conn = ctx.conn().await?;
        let Some(p) = conn.pool(&id.uuid).await? else {
            return Ok(None);
        };
        if !id.matches(&p) {
            notes.push(not_this_pool(
                "Pool Is No Longer This Resource's",
                &id,
                &p,
                "It is left alone and removed from the state.",
            ));
            return Ok(None);
        }
        if p.active {
            conn.refresh_pool(&id.name).await?;
        }
        // Sizes after the refresh.
        let p = conn.pool(&id.uuid).await?.unwrap_or(p);
        s.fill(p);
        Ok(Some(s))
    }

    // ------------------------------------------------------------ update

    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        let conn = ctx.conn().await?;
        let id = prior.identity().ok_or_else(|| vanished(&planned.name))?;
        if !same_set(prior.devices(), planned.devices()) {
            let Some(lvm) = ctx.lvm().await? else {
                return Err(devices::needs_lvm_tools(&ctx.lvm_unavailable().await).into());
            };
            devices::apply_change(conn, &lvm, &id, &prior, &planned).await?;
        }
        if planned.active != prior.active {
            if planned.active == Some(false) {
                if !conn.stop_pool(&id).await? {
                    return Err(vanished(&planned.name).into());
                }
            } else {
                conn.start_pool(&id.uuid).await?;
            }
        }
        if planned.autostart != prior.autostart {
            conn.set_pool_autostart(&id.uuid, planned.autostart != Some(false))
                .await?;
        }
        match conn.pool(&id.uuid).await? {
            Some(p) if id.matches(&p) => {
                let mut s = planned;
                s.fill(p);
                Ok(s)
            }
            _ => Err(vanished(&planned.name).into()),
        }
    }

    // ------------------------------------------------------------ delete

    async fn delete(&self, ctx: &Ctx, prior: State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
        let Some(id) = prior.identity() else {
            notes.push(Diagnostic::warning(
                "Nothing To Delete",
                format!(
                    "The state of pool {:?} records no UUID, so no pool can be proven to be this resource's; \
                     nothing was stopped, deleted or undefined.",
                    prior.name
                ),
            ));
            return Ok(());
        };
        let conn = ctx.conn().await?;
        // LVM's own report, where the provider can have it, shows what libvirt's listing does not.
        let lvm = match prior.on_destroy() {
            OnDestroy::Delete { .. } => ctx.lvm().await?,
            OnDestroy::Keep => None,
        };
        let outcome = conn.delete_pool(&id, prior.on_destroy(), lvm).await?;
        delete_outcome(&id, outcome, notes)
    }

    // ------------------------------------------------------------ import

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        let conn = ctx.conn().await?;
        let found = if looks_like_uuid(id) {
            conn.pool(id).await?
        } else {
            conn.find_pool(id).await?
        };
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
        if p.xml.pool_type != "logical" {
            return Err(not_logical(&p).into());
        }
        let mut s = State {
            name: p.xml.name.clone(),
            overwrite: Some(false),
            on_destroy: Some("keep".into()),
            force_destroy: Some(false),
            ..Default::default()
        };
        s.fill(p);
        s.build = Some(!s.devices().is_empty());
        Ok(s)
    }

    // ------------------------------------------------------------ identity

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
        let name = super::import_id_from_identity(identity, &["name"])?;
        // An import id of this form is looked up as a UUID: the identity would import the pool with
        // that UUID, whatever its name, and Terraform would keep that pool's identity instead.
        if looks_like_uuid(&name) {
            return Err(Diagnostic::error(
                "Invalid Identity",
                format!(
                    "The identity's name {name:?} has the form of a UUID: an identity names a pool by its \
                     name. To import a pool by its UUID, use an import block with `id`."
                ),
            )
            .into());
        }
        Ok(name)
    }

    // ------------------------------------------------------------ moved from the Go provider

    fn move_state(from: &MoveSource<'_>) -> Result<Moved<State>, Diagnostics> {
        super::moved::pool_state(from)
    }

    async fn adopt_moved(
        &self,
        ctx: &Ctx,
        p: serde_json::Value,
        _notes: &mut Diagnostics,
    ) -> Result<State, Diagnostics> {
        let uuid = super::moved::moved_pool_uuid(ctx, p).await?;
        self.import(ctx, &uuid).await
    }
}

/// What a pool delete's outcome means for the user: a note when nothing was there to delete, an
/// error naming what stopped it otherwise. Over 100 lines on purpose: one arm per outcome, each
/// with its whole message, read in one place.
fn delete_outcome(
    id: &PoolIdentity,
    outcome: PoolDelete,
    notes: &mut Diagnostics,
) -> Result<(), Diagnostics> {
    match outcome {
        PoolDelete::Deleted { vg_already_gone, .. } => {
            if vg_already_gone {
                notes.push(Diagnostic::warning(
                    "Volume Group Was Already Deleted",
                    format!(
                        "Volume group {:?} was removed by an earlier destroy whose undefine did not finish; the \
                         pool definition was undefined now.",
                        id.vg
                    ),
                ));
            }
            Ok(())
        }
        PoolDelete::Gone => {
            notes.push(Diagnostic::warning(
                "Pool Already Gone",
                format!(
                    "No storage pool with UUID {} exists any more, so nothing was stopped, deleted or undefined. \
                     A pool that now has the name {:?} is another pool and was left alone.",
                    id.uuid, id.name
                ),
            ));
            Ok(())
        }
        PoolDelete::NotThisPool(p) => {
            notes.push(not_this_pool(
                "Pool Not Deleted",
                id,
                &p,
                "It is not the pool this resource made, so it was left alone; only the state entry is removed.",
            ));
            Ok(())
        }
        PoolDelete::InUse(in_use) => {
            let lines: Vec<String> = in_use
                .iter()
                .flat_map(|(v, users)| {
                    users
                        .iter()
                        .map(move |u| format!("  - {v}: {u}"))
                })
                .collect();
            Err(Diagnostic::error(
                "Volume Group Has Volumes In Use",
                format!(
                    "on_destroy = \"delete\" would remove volume group {:?}, whose volumes domains still use:\n{}\n\n\
                     Nothing was changed; force_destroy does not override this. Detach those disks first \
                     (remove their libvirt_disk_attachment, or `virsh detach-disk`), or set on_destroy = \
                     \"keep\" to leave the volume group and its data in place.",
                    id.vg,
                    lines.join("\n")
                ),
            )
            .at_attr("on_destroy")
            .into())
        }
        PoolDelete::HiddenExtents(u) => Err(Diagnostic::error(
            "Volume Group Holds Volumes libvirt Does Not List",
            format!(
                "on_destroy = \"delete\" would remove volume group {:?}, which has {} ({} bytes) allocated \
                 while the volumes libvirt lists account for {} ({} bytes): {} ({} bytes) belong to logical \
                 volumes libvirt does not show (thin pools and thin volumes, LVs deactivated while the pool \
                 runs, their metadata). Nothing was changed, and force_destroy does not override this: what they \
                 are, and whether anything uses them, cannot be checked through libvirt. See them with `lvs -a \
                 {}` on the hypervisor; remove them by hand if they are not needed, or set on_destroy = \"keep\" \
                 to leave the volume group and its data in place.",
                id.vg,
                human(u.allocation),
                u.allocation,
                human(u.listed),
                u.listed,
                human(u.hidden()),
                u.hidden(),
                id.vg
            ),
        )
        .at_attr("on_destroy")
        .into()),
        PoolDelete::VgElsewhere { defined, now } => Err(Diagnostic::error(
            "Volume Group Is Not The One This Pool Was Made Over",
            format!(
                "on_destroy = \"delete\" would remove volume group {:?}, but it now lives on {} while pool {:?} \
                 was defined over {}: it is another volume group under the same name (or one whose devices \
                 changed outside Terraform). Nothing was changed. Check `pvs` on the hypervisor; set on_destroy = \
                 \"keep\" to only stop and undefine the pool.",
                id.vg,
                now.join(", "),
                id.name,
                defined.join(", ")
            ),
        )
        .at_attr("on_destroy")
        .into()),
        PoolDelete::Open(open) => Err(Diagnostic::error(
            "Volume Group Has Open Logical Volumes",
            format!(
                "on_destroy = \"delete\" would remove volume group {:?}, whose logical volumes are open now \
                 (mounted, held by a guest or another program on the hypervisor):\n{}\n\nNothing was changed; \
                 force_destroy does not override this. Close them first (see `lsblk`, `fuser -vm` on the \
                 hypervisor), or set on_destroy = \"keep\".",
                id.vg,
                open.iter().map(|h| format!("  - {h}")).collect::<Vec<_>>().join("\n")
            ),
        )
        .at_attr("on_destroy")
        .into()),
        PoolDelete::Unchecked(why) => Err(Diagnostic::error(
            "Volume Group Could Not Be Checked",
            format!(
                "on_destroy = \"delete\" would remove volume group {:?}, but LVM's report of it, which the \
                 delete reads first, could not be had: {why}. Nothing was changed.",
                id.vg
            ),
        )
        .at_attr("on_destroy")
        .into()),
        PoolDelete::HoldsVolumes(volumes) => {
            let list: Vec<String> = volumes.iter().map(|v| format!("  - {v}")).collect();
            Err(Diagnostic::error(
                "Volume Group Still Holds Logical Volumes",
                format!(
                    "on_destroy = \"delete\" would remove volume group {:?}, which still holds:\n{}\n\nNothing \
                     was changed. Remove those volumes, set on_destroy = \"keep\" to leave the volume group \
                     and its data in place, or set force_destroy = true to delete them with it.",
                    id.vg,
                    list.join("\n")
                ),
            )
            .at_attr("on_destroy")
            .into())
        }
    }
}

/// Whether an import id is a pool UUID rather than a name.
fn looks_like_uuid(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// A new random (version 4) UUID for a pool definition.
fn new_uuid() -> std::io::Result<String> {
    let mut b = [0u8; 16];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom")?, &mut b)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    ))
}

/// What a create of `planned` would run into on the hypervisor as it is now: `refusals` stop the
/// apply before anything changes (the plan shows them as warnings), `notes` are warnings only.
/// The plan and the create both ask, so the apply refuses with the same message the plan showed,
/// instead of whatever libvirt says when the define or the build meets the same fact.
#[derive(Default)]
struct CreateChecks {
    refusals: Vec<Diagnostic>,
    notes: Vec<Diagnostic>,
}

async fn create_checks(conn: &Connection, planned: &State) -> Result<CreateChecks, Diagnostics> {
    let mut out = CreateChecks::default();
    if let Some(existing) = conn.find_pool(&planned.name).await? {
        out.refusals.push(name_taken(&planned.name, &existing));
        return Ok(out);
    }
    let sources = conn.logical_sources().await?;
    if planned.build != Some(true) {
        // Adoption: the volume group must already exist.
        if !sources.iter().any(|(vg, _)| vg == planned.vg()) {
            let existing: Vec<&str> = sources.iter().map(|(vg, _)| vg.as_str()).collect();
            out.refusals.push(
                Diagnostic::error(
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
                .at_attr("volume_group"),
            );
        }
        return Ok(out);
    }
    let names = conn.device_names().await?;
    let plan = build_plan(&sources, planned.vg(), planned.devices(), &names);
    let other_groups = matches!(plan, BuildPlan::OtherGroups(_));
    match decide(plan, planned.devices(), planned.overwrite == Some(true), &[], names.known()) {
        BuildDecision::Adopt => out.notes.push(Diagnostic::warning(
            "Existing Volume Group Will Be Adopted",
            format!(
                "Volume group {:?} already exists on {}. It will be adopted with its logical volumes intact \
                 instead of being built again.",
                planned.vg(),
                planned.devices().join(", ")
            ),
        )),
        BuildDecision::Build { overwrite: true } if other_groups => out.notes.push(Diagnostic::warning(
            "Devices Will Be Overwritten",
            "overwrite = true: the devices hold physical volumes of volume groups that hold no logical volume; \
             building destroys those groups.",
        )),
        BuildDecision::Build { .. } => {}
        BuildDecision::Grow(added) => out.refusals.push(grow_needs_lvm_tools(planned, &added)),
        BuildDecision::Refuse(why) => out.refusals.push(device_conflict(why)),
    }
    Ok(out)
}

/// The arguments whose change replaces the pool.
const REPLACING: [&str; 3] = ["name", "volume_group", "source_devices"];

/// For a plan that changes an argument in [`REPLACING`] (all known): what destroying the old
/// pool will do, as its prior `on_destroy` says, and what will refuse it.
fn replacement_warning(plan: &Plan) -> Result<Option<Diagnostic>, Diagnostics> {
    let changed: Vec<&str> = REPLACING
        .into_iter()
        .filter(|a| plan.changes(a) && plan.planned(a).is_wholly_known() && !plan.is_in_place(a))
        .collect();
    if changed.is_empty() {
        return Ok(None);
    }
    Ok(plan
        .prior_as::<State>()?
        .map(|prior| replacement_detail(&prior, &changed)))
}

fn replacement_detail(prior: &State, changed: &[&str]) -> Diagnostic {
    let destroy = match prior.on_destroy() {
        OnDestroy::Keep => format!(
            "on_destroy = \"keep\": the pool is stopped and undefined, and volume group {:?} stays with its logical \
             volumes.",
            prior.vg()
        ),
        OnDestroy::Delete { force } => format!(
            "on_destroy = \"delete\": volume group {:?} is removed{}. The destroy refuses, before changing anything, \
             while a domain uses any of its volumes{}.",
            prior.vg(),
            if force { " with every logical volume in it" } else { "" },
            if force { "" } else { ", or while it holds any logical volume" }
        ),
    };
    Diagnostic::warning(
        "Storage Pool Will Be Replaced",
        format!(
            "Changing {} cannot be done in place: pool {:?} is destroyed first, then created again. {destroy} \
             The new pool is then created with the checks of any create: a volume group of its name that still \
             exists is adopted when it has exactly the configured devices, and is never built over otherwise (the \
             create refuses, or, with LVM's tools configured, grows it by the added devices); devices holding \
             another volume group refuse it unless overwrite = true and LVM's report shows that group holds no \
             logical volume.",
            changed.join(", "),
            prior.name
        ),
    )
    .at_attr(changed[0])
}

/// Before anything is created, warnings for what the apply will refuse (see [`create_checks`]).
async fn plan_create(ctx: &Ctx, planned: &State, plan: &mut Plan) -> Result<(), Diagnostics> {
    let checks = create_checks(ctx.conn().await?, planned).await?;
    for mut d in checks.refusals {
        if d.summary == "Storage Pool Already Exists" {
            d.detail.push_str(
                " If this plan replaces a pool this configuration manages (-replace, a tainted pool, a change that \
                 forces replacement), this is expected: the old pool is removed first, as its on_destroy says.",
            );
        }
        plan.warn_refusal(d);
    }
    for d in checks.notes {
        plan.warn(d);
    }
    Ok(())
}

/// Undoes, newest first, what a failed create made of the pool with its own UUID, so nothing is
/// left half-made; when that cannot be done or told, the pool stays in the state (tainted) rather
/// than be left where Terraform does not know about it.
async fn undo_create(
    conn: &Connection,
    planned: &State,
    partial: State,
    built: Option<bool>,
    d: Diagnostic,
) -> Failed<State> {
    let mut diags = Diagnostics::from(d);
    let uuid = partial.id.clone().unwrap_or_default();
    match conn.pool(&uuid).await {
        Ok(None) => return diags.into(),
        Ok(Some(_)) => {}
        Err(e) => {
            diags.push(cleanup_failed(planned, e));
            return Failed::with_partial(diags, partial);
        }
    }
    let built = match built {
        Some(b) => Ok(b),
        // The build's reply was lost after its request went out: the build's own scan had found
        // no such volume group on these devices, so one there now is this create's.
        None => match (conn.logical_sources().await, conn.device_names().await) {
            (Ok(sources), Ok(names)) => {
                Ok(build_plan(&sources, planned.vg(), planned.devices(), &names) == BuildPlan::Adopt)
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        },
    };
    let undone = match built {
        Ok(built) => conn.undo_pool_create(&uuid, built).await.map(|()| built),
        Err(e) => Err(e),
    };
    match undone {
        Ok(built) => {
            diags.push(Diagnostic::warning(
                "Partial Pool Removed",
                format!(
                    "What this create had made of pool {:?} was removed again{}; nothing is left behind. Fix the \
                     cause above and apply again.",
                    planned.name,
                    if built { " (including the volume group it built)" } else { "" }
                ),
            ));
            diags.into()
        }
        Err(e) => {
            diags.push(cleanup_failed(planned, e));
            Failed::with_partial(diags, partial)
        }
    }
}

fn name_taken(name: &str, existing: &PoolInfo) -> Diagnostic {
    Diagnostic::error(
        "Storage Pool Already Exists",
        format!(
            "libvirt already has a storage pool named {name:?} (UUID {}, volume group {:?}); it was not created by \
             this resource. Import it with `terraform import <address> {name}` to manage it, or choose another \
             name.",
            existing.uuid,
            existing.vg()
        ),
    )
    .at_attr("name")
}

fn device_conflict(detail: String) -> Diagnostic {
    Diagnostic::error("Device Already In Use", format!("{detail} Nothing was changed."))
        .at_attr("source_devices")
}

fn grow_needs_lvm_tools(planned: &State, added: &[String]) -> Diagnostic {
    Diagnostic::error(
        "Volume Group Would Have To Grow",
        format!(
            "Volume group {:?} already exists on some of the configured devices; {} would have to be added to it \
             (pvcreate, vgextend), which libvirt cannot do and this provider does only through LVM's own tools, \
             not configured here (see the provider's lvm_tools block). It is never built again over its logical \
             volumes. Add the devices by hand (`vgextend {} {}`) and apply again, or list only the devices it has. \
             Nothing was changed.",
            planned.vg(),
            added.join(", "),
            planned.vg(),
            added.join(" ")
        ),
    )
    .at_attr("source_devices")
}

fn cleanup_failed(planned: &State, e: crate::libvirt::Error) -> Diagnostic {
    Diagnostic::error(
        "Cleanup After Failed Create Also Failed",
        format!(
            "{e}. The pool {:?} may still be defined in libvirt (check `virsh pool-list --all`); it is kept in the \
             state as tainted, so the next apply deals with it.",
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

fn not_logical(p: &PoolInfo) -> Diagnostic {
    Diagnostic::error(
        "Not A Logical Pool",
        format!(
            "Storage pool {:?} is of type {:?}; libvirt_lvm_pool manages pools of type \"logical\" only.",
            p.xml.name, p.xml.pool_type
        ),
    )
}

fn vanished(name: &str) -> Diagnostic {
    Diagnostic::error(
        "Pool Vanished",
        format!(
            "Storage pool {name:?} is no longer the pool this resource made (its UUID is gone or names another \
             volume group); nothing was changed. Run `terraform plan` to see it planned again."
        ),
    )
}

/// A warning naming both identities: what the state recorded and what answers now.
fn not_this_pool(summary: &str, id: &PoolIdentity, found: &PoolInfo, what_now: &str) -> Diagnostic {
    Diagnostic::warning(
        summary,
        format!(
            "The state records pool {:?} with UUID {} over volume group {:?}; that UUID now answers as {} of type \
             {:?}. {what_now}",
            id.name,
            id.uuid,
            id.vg,
            found.describe(),
            found.xml.pool_type
        ),
    )
}

mod devices;
#[cfg(test)]
mod tests;
