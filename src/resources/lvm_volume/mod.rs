//! `libvirt_lvm_volume`: a logical volume carved from an active logical pool.
//!
//! Plain, fully allocated LVs by default (allocation = capacity), never libvirt's snapshot-backed
//! sparse LV unless `sparse = true`. Capacity changes are tried in place and never turn into a
//! replacement: replacing a volume destroys its data.
//!
//! The volume is its key (the LV UUID) in its pool: reads, resizes and deletes act on the LV with
//! that key when it is still in that pool under that name, never on whatever now has the name.
//!
//! Content (`source`: an image file or URL; `clone_from`: another volume) is written once, at
//! creation, and the whole LV then reads as that content followed by zeros. Everything that can
//! refuse the content (the file, the download, its checksum, its size) is checked before the LV
//! is created where it can be; a failure after that removes the LV this create made (by its
//! identity), or, when even that fails, records it as tainted: a half-written volume is never
//! recorded as good. Changing `source` or `clone_from` later is an update that writes nothing.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{Failed, IdentitySchema, MoveSource, Moved, Outcome, Resource};
use crate::framework::schema::{parse_duration, Attribute, Block, Validator};
use crate::framework::{AttrPath, Diagnostic, Diagnostics, Schema, Severity, Type, Value};
use crate::image::Cancel;
use crate::libvirt::facts::volume::{Lookup, VolInfo, VolumeIdentity};
use crate::libvirt::upload::UploadTarget;
use crate::libvirt::volume::{Cloned, Created, NewVolume, Resize, VolumeDelete};
use crate::libvirt::Connection;
use crate::names;
use crate::provider::Ctx;
use crate::units::{format_size, parse_size, Size, SizeError};

mod content;
mod diag;
mod encryption;
mod lost_reply;
mod resize;

use content::{
    clone_source, content_change_warning, content_conflicts, open_image, plan_image, source_block,
    validate_clone_from, Content, Source, Written,
};
use diag::*;
use encryption::{encryption_block, missing_passphrase, secret_problem, Encryption};
use lost_reply::{find_lost_create, lost_create};

/// The resource type.
pub struct LvmVolume;

/// State and configuration of one volume.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    pool: String,
    name: String,
    capacity: Size,
    sparse: Option<bool>,
    allow_shrink: Option<bool>,
    wipe_on_destroy: Option<bool>,
    path: Option<String>,
    key: Option<String>,
    allocation: Option<u64>,
    capacity_bytes: Option<u64>,
    pending_guest_resize: Option<bool>,
    source: Option<Source>,
    clone_from: Option<String>,
    encryption: Option<Encryption>,
    timeouts: Option<Timeouts>,
}

/// The `timeouts` block.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timeouts {
    create: Option<String>,
}

/// How long a create may take when `timeouts.create` is not set: the whole create, download and
/// upload included. Generous because images are big and links slow; a stalled download (60 s
/// without a byte) or a dead hypervisor (keepalive) fails long before.
const DEFAULT_CREATE_TIMEOUT: &str = "1h";

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
            self.capacity = Size::of_bytes(actual);
        }
        self.id = Some(v.key());
        self.key = Some(v.key());
        self.path = Some(v.path());
        self.pool = v.pool.clone();
        self.name = v.xml.name.clone();
        self.capacity_bytes = Some(actual);
        self.allocation = Some(v.xml.allocation);
        self.pending_guest_resize.get_or_insert(false);
    }

    /// The create's deadline, from `timeouts.create`.
    fn create_deadline(&self) -> Result<Instant, Diagnostic> {
        let text = self
            .timeouts
            .as_ref()
            .and_then(|t| t.create.as_deref())
            .unwrap_or(DEFAULT_CREATE_TIMEOUT);
        let d: Duration = parse_duration(text).map_err(|e| {
            Diagnostic::error("Invalid timeouts.create", e).at(AttrPath::attr("timeouts").then_attr("create"))
        })?;
        Ok(Instant::now() + d)
    }

    /// Where libvirt finds the volume again: by key, checked against pool, name and path.
    fn upload_target(&self) -> UploadTarget {
        UploadTarget {
            pool: self.pool.clone(),
            name: self.name.clone(),
            key: self.key.clone().unwrap_or_default(),
            path: self.path.clone(),
        }
    }

    fn capacity_bytes_wanted(&self) -> Result<u64, Diagnostic> {
        self.capacity
            .bytes()
            .map_err(|e| Diagnostic::error("Invalid capacity", e.to_string()).at_attr("capacity"))
    }
}

/// LVM allocates whole extents (4 MiB unless the volume group says otherwise), so a volume can
/// come out slightly larger than asked: a request that rounds up to the current size is no change.
const EXTENT_ROUNDING: u64 = 4 << 20;

/// Whether an LV of `current` bytes already is a volume of `wanted` bytes: LVM rounded the request
/// up to whole extents, and an encrypted volume's LV also holds its LUKS header (its `capacity` is
/// what the guest sees). Without the header, an imported LUKS volume configured with the capacity
/// it was made with planned a shrink of its header's size.
fn already_holds(wanted: u64, current: u64, encrypted: bool) -> bool {
    let lv = encryption::lv_bytes(wanted, encrypted);
    lv <= current && current - lv < EXTENT_ROUNDING
}

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
                    "Allow a smaller `capacity` than the current size: the shrink is then asked of libvirt instead of refused at plan. \
                     Where it happens, the data beyond the new size is lost; libvirt's logical backend refuses it for a plain, fully \
                     allocated LV (\"can't shrink capacity below existing allocation\"), and the error gives the `lvreduce` command.",
                ),
                Attribute::bool("wipe_on_destroy")
                    .default(false)
                    .describe("Overwrite the volume's contents with zeros (`virsh vol-wipe`) before deleting it."),
                Attribute::string("path").computed().stable().describe("Device path of the volume, `/dev/<volume group>/<name>`."),
                Attribute::string("key").computed().stable().describe("libvirt's key of the volume (the LV UUID); same as `id`."),
                Attribute::number("allocation").computed().describe("Bytes allocated on the volume group, refreshed on every read."),
                Attribute::number("capacity_bytes").computed().describe("The volume's size in bytes, refreshed on every read."),
                Attribute::bool("pending_guest_resize").computed().describe(
                    "`true` when the volume was grown but a running domain that has it attached could not be told \
                     (`virDomainBlockResize` failed): the next apply tells it again. `false` otherwise.",
                ),
                Attribute::string("clone_from")
                    .optional()
                    .validate(Validator::Str(validate_clone_from))
                    .describe(
                        "Create the volume as a copy of another volume on the same hypervisor, named by its key \
                         (for example `libvirt_lvm_volume.golden.id`): any active pool, a directory pool's qcow2 \
                         included (libvirt converts it to raw on the hypervisor), or a thick snapshot \
                         (`libvirt_lvm_snapshot.x.id`: the copy reads as the origin did when the snapshot was \
                         taken). `capacity` must be at least the \
                         source's size (checked at plan); the rest of the volume reads as zeros. Written at creation \
                         only: changing it later writes nothing (see `source`). Conflicts with `source`.",
                    ),
            ],
        )
        .with_block(source_block())
        .with_block(encryption_block())
        .with_block(Block::timeouts(&[("create", DEFAULT_CREATE_TIMEOUT)]))
    }

    /// Checks across attributes that need no hypervisor: where the image is, and one kind of
    /// content.
    fn validate(config: &Value, diags: &mut Diagnostics) {
        for d in content_conflicts(config) {
            diags.push(d);
        }
        encryption::validate(config, diags);
        let on = |a: &str| config.attr(a).and_then(Value::as_bool) == Some(true);
        if on("sparse") && on("wipe_on_destroy") {
            diags.push(sparse_cannot_be_wiped());
        }
    }

    // ------------------------------------------------------------ plan

    /// Checks that depend on the hypervisor warn here and refuse at apply, before anything
    /// changes: Terraform runs a normal plan to refresh before every `terraform destroy`, so an
    /// error here would stop the destroy of everything in the configuration.
    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        if let Some(w) = content_change_warning(plan) {
            plan.warn(w);
        }
        if !plan.planned("encryption").is_null() || !plan.prior("encryption").is_null() {
            encryption::plan_change(ctx.conn().await?, plan).await?;
        }
        let Some(wanted) = plan.planned("capacity").as_str().and_then(|s| parse_size(s).ok()) else {
            return Ok(());
        };
        if plan.is_create() {
            // capacity_bytes and allocation stay "known after apply": LVM rounds up to whole
            // extents, whose size the pool does not tell us.
            return plan_create(ctx, plan, wanted).await;
        }
        let current = plan.prior("capacity_bytes").as_u64().unwrap_or(0);
        if plan.prior("pending_guest_resize").as_bool() == Some(true) {
            // A grow whose guests were not all told: this apply tells them.
            plan.set("pending_guest_resize", false);
            plan.warn(Diagnostic::warning(
                "Guests Will Be Told The Volume's Size",
                format!(
                    "The volume was grown to {} but a running domain was not told; this apply tells every running \
                     domain that has it attached (virDomainBlockResize).",
                    format_size(current)
                ),
            ));
        }
        let same_text = plan.planned("capacity") == plan.prior("capacity");
        let encrypted = !plan.prior("encryption").is_null();
        if same_text || already_holds(wanted, current, encrypted) {
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
        let lvm = match ctx.lvm().await {
            Ok(lvm) => lvm,
            Err(d) => {
                plan.warn_refusal(d);
                return Ok(());
            }
        };
        if lvm.is_none() {
            plan.warn_refusal(resize_needs_lvm_tools(
                current,
                wanted,
                &ctx.lvm_unavailable().await,
            ));
            return Ok(());
        }
        if wanted > current {
            let pool = plan.planned("pool").as_str().unwrap_or_default().to_string();
            if let Some(d) = claim_space(ctx, &pool, wanted - current).await? {
                plan.warn_refusal(d);
            }
            plan.warn(
                Diagnostic::warning(
                    "Volume Is Grown In Place",
                    format!(
                        "The volume grows from {} to {} with lvextend, in place (never replaced: that would destroy \
                         its data); every running domain that has it attached is then told its new size \
                         (virDomainBlockResize), so the guest sees it without a restart. The filesystem inside is \
                         the guest's to grow.",
                        format_size(current),
                        format_size(wanted)
                    ),
                )
                .at_attr("capacity"),
            );
        } else {
            plan.warn(
                Diagnostic::warning(
                    "Volume Is Shrunk In Place",
                    format!(
                        "allow_shrink = true: the volume shrinks from {} to {} with lvreduce, and the data beyond the \
                         new size is lost. The apply refuses while any domain uses the volume or its device is open.",
                        format_size(current),
                        format_size(wanted)
                    ),
                )
                .at_attr("capacity"),
            );
        }
        Ok(())
    }

    // ------------------------------------------------------------ create

    /// An encrypted volume's secret comes first: an existing one is checked, or the provider's
    /// own is defined (and undefined again when the volume is not made).
    async fn create(&self, ctx: &Ctx, mut planned: State) -> Outcome<State> {
        let Some(enc) = planned.encryption.clone() else {
            return create_volume(ctx, planned).await;
        };
        let conn = ctx.conn().await?;
        if !enc.owns_secret() {
            let uuid = enc.secret_uuid.as_deref().unwrap_or_default();
            if let Some(d) = secret_problem(conn, uuid).await? {
                return Err(d.into());
            }
            return create_volume(ctx, planned).await;
        }
        let passphrase = enc
            .passphrase_wo
            .clone()
            .filter(|p| !p.is_empty())
            .ok_or_else(missing_passphrase)?;
        let path = planned_path(conn, &planned).await?;
        let uuid = conn
            .define_volume_secret(&path, &passphrase)
            .await
            .map_err(|e| secret_not_defined(&path, e))?;
        if let Some(e) = planned.encryption.as_mut() {
            e.secret_uuid = Some(uuid.clone());
        }
        match create_volume(ctx, planned).await {
            // Made (or made and recorded as tainted): the secret goes with the volume's state.
            Ok(s) => Ok(s),
            Err(f) if f.partial.is_some() => Err(f),
            Err(mut f) => {
                let note = match conn.undefine_secret(&uuid).await {
                    Ok(_) => format!("\n\nThe libvirt secret {uuid} this create defined was undefined again."),
                    Err(e) => format!(
                        "\n\nThe libvirt secret {uuid} this create defined could not be undefined ({e}): remove it \
                         with `virsh secret-undefine {uuid}` before trying again (libvirt allows one secret per \
                         volume path)."
                    ),
                };
                if let Some(d) = f.diags.0.iter_mut().find(|d| d.severity == Severity::Error) {
                    d.detail.push_str(&note);
                }
                Err(f)
            }
        }
    }

    // ------------------------------------------------------------ read

    async fn read(
        &self,
        ctx: &Ctx,
        mut s: State,
        notes: &mut Diagnostics,
    ) -> Result<Option<State>, Diagnostics> {
        let conn = ctx.conn().await?;
        let Some(id) = s.identity() else {
            // Only a create whose reply was lost, and whose LV could not be looked for then,
            // leaves a state without an LV UUID.
            return find_lost_create(conn, s, notes).await;
        };
        // Once per walk (see refresh_pool); a stopped or missing pool is not refreshed.
        conn.refresh_pool(&s.pool).await?;
        let Some(found) = conn.read_volume(&id).await? else {
            // The volumes of a stopped pool cannot be listed; they still exist.
            return Ok(Some(s));
        };
        match found {
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
        let (was, now) = (
            prior.encryption.as_ref().and_then(|e| e.passphrase_wo_version),
            planned.encryption.as_ref().and_then(|e| e.passphrase_wo_version),
        );
        if let (None, Some(_), Some(uuid)) = (
            was,
            now,
            prior.encryption.as_ref().and_then(|e| e.secret_uuid.as_deref()),
        ) {
            return Err(encryption::secret_kept(uuid).into());
        }
        if was != now {
            return Err(encryption::rotation_refused(
                was.map(Value::from).as_ref(),
                now.map(Value::from).as_ref(),
            )
            .into());
        }
        let conn = ctx.conn().await?;
        let wanted = planned.capacity_bytes_wanted()?;
        let current = prior.capacity_bytes.unwrap_or(wanted);
        let id = prior.identity().ok_or_else(|| vanished(&prior))?;
        let mut s = planned;
        let pending = prior.pending_guest_resize == Some(true);
        if wanted < current && s.allow_shrink != Some(true) {
            return Err(shrink_refused(s.capacity.text(), wanted, current).into());
        }
        let resizes = pending || (s.capacity != prior.capacity && wanted != current);
        if resizes {
            // Through LVM's tools when the provider has them; libvirt alone cannot (its logical
            // backend has no resize), and is asked only to say so.
            if let Some(lvm) = ctx.lvm().await? {
                return resize::resize(conn, &lvm, &prior, s, wanted).await;
            }
        }
        s.pending_guest_resize = Some(false);
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
        let lvm = ctx.lvm().await?;
        match conn.delete_volume(&id, prior.wipe_on_destroy == Some(true), lvm).await? {
            VolumeDelete::Deleted => {
                undefine_owned_secret(conn, &prior, notes).await;
                Ok(())
            }
            VolumeDelete::Gone => {
                undefine_owned_secret(conn, &prior, notes).await;
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
            VolumeDelete::HasSnapshots(v, snapshots) => Err(has_snapshots(&v, &snapshots).into()),
            VolumeDelete::Open(v) => Err(volume_open(&v).into()),
            VolumeDelete::Unchecked(v, why) => Err(Diagnostic::error(
                "Volume Could Not Be Checked",
                format!(
                    "Volume {} was not deleted: LVM's report of it, which the delete reads first (snapshots, an open \
                     device), could not be had: {why}.",
                    v.describe()
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
        // Only an LV of a logical pool is a libvirt_lvm_volume: a file in a directory pool (or a
        // volume of any other pool) imported as one would be read and deleted by rules made for
        // LVs.
        match conn.find_pool(&v.pool).await? {
            Some(p) if p.xml.pool_type == "logical" => {}
            other => return Err(not_a_logical_volume(id, &v, other.as_ref()).into()),
        }
        // A LUKS volume is recorded with the secret that opens it, so that a configuration
        // declaring that encryption keeps the volume instead of replacing it (and its data).
        let encryption = conn
            .volume_encryption_secret(&v.path())
            .await?
            .map(|uuid| Encryption {
                format: "luks".into(),
                passphrase_wo: None,
                passphrase_wo_version: None,
                secret_uuid: Some(uuid),
            });
        let mut s = State {
            capacity: Size::of_bytes(v.xml.capacity),
            sparse: Some(v.xml.allocation < v.xml.capacity),
            allow_shrink: Some(false),
            wipe_on_destroy: Some(false),
            encryption,
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
        super::import_id_from_identity(identity, &["pool", "name"])
    }

    // ------------------------------------------------------------ moved from the Go provider

    fn move_state(from: &MoveSource<'_>) -> Result<Moved<State>, Diagnostics> {
        super::moved::volume_state(from)
    }

    async fn adopt_moved(
        &self,
        ctx: &Ctx,
        p: serde_json::Value,
        notes: &mut Diagnostics,
    ) -> Result<State, Diagnostics> {
        let key = super::moved::moved_volume_key(ctx, p, notes).await?;
        self.import(ctx, &key).await
    }
}

/// Creates the volume `planned` describes (for an encrypted one, its secret exists already).
// Over 100 lines on purpose: the create's steps in order (checks, the LV, its content, the lost-reply rule), each short.
async fn create_volume(ctx: &Ctx, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    let capacity = planned.capacity_bytes_wanted()?;
    let cancel = Cancel::new(ctx.stop_flag(), Some(planned.create_deadline()?));
    // Everything that can refuse the content is settled before the LV exists: the image is
    // opened (a URL connected to, a spooled download fetched and checked), its size compared.
    let content = match (&planned.source, &planned.clone_from) {
        (Some(_), Some(_)) => return Err(conflicting_content().into()),
        (Some(src), None) => Content::Image(open_image(src, capacity, &cancel).await?),
        (None, Some(key)) => Content::Clone(clone_source(conn, key, capacity).await?),
        (None, None) => Content::Empty,
    };
    // A deadline (or a stop) that passed while the image was fetched stops here, before any
    // volume exists.
    cancel
        .check()
        .map_err(|e| image_error(&e, AttrPath::attr("timeouts").then_attr("create")))?;
    let sparse = planned.sparse == Some(true);
    // A copy reads its pool first; a plain create checks the pool (there, active, room for a
    // fully allocated LV) in the same piece of work as the create itself (create_volume).
    if matches!(content, Content::Clone(_)) {
        let pool = conn
            .find_pool(&planned.pool)
            .await?
            .ok_or_else(|| pool_not_found(conn, &planned.pool))?;
        if !pool.active {
            return Err(pool_not_active(&planned.pool).into());
        }
        if !sparse && capacity > pool.xml.available {
            return Err(no_space(&planned.pool, capacity, pool.xml.available).into());
        }
    }
    let new = NewVolume {
        name: planned.name.clone(),
        capacity,
        sparse,
        luks_secret: planned.encryption.as_ref().and_then(|e| e.secret_uuid.clone()),
    };
    let (made, content) = match content {
        Content::Clone(source) => {
            let made = conn.clone_volume(&planned.pool, &new, &source).await;
            match made {
                Ok(Cloned::New(info, copied)) => (info, Written::Clone { copied }),
                Ok(Cloned::Exists(v)) => return Err(already_exists(&planned, &v.path()).into()),
                Ok(Cloned::NoActivePool) => return Err(pool_not_active(&planned.pool).into()),
                Ok(Cloned::SourceGone) => return Err(clone_source_gone(&source.key).into()),
                Ok(Cloned::SourceElsewhere(v)) => return Err(clone_source_moved(&source, &v).into()),
                Ok(Cloned::SourceRefused(v, why)) => return Err(clone_source_refused(&v, &why).into()),
                Ok(Cloned::SourceLarger(v)) => {
                    return Err(clone_too_large(planned.capacity.text(), capacity, &v).into())
                }
                Err(e) if e.is_connection_lost() => return Err(lost_create(conn, planned, capacity, e).await),
                Err(e) if e.is_already_exists() => return Err(already_exists(&planned, "").into()),
                Err(e) => return Err(e.into()),
            }
        }
        other => match conn.create_volume(&planned.pool, &new).await {
            Ok(Created::New(info)) => (
                info,
                match other {
                    Content::Image(img) => Written::Image(img),
                    _ => Written::Nothing,
                },
            ),
            Ok(Created::Exists(v)) => return Err(already_exists(&planned, &v.path()).into()),
            Ok(Created::NoActivePool) => return Err(pool_not_active(&planned.pool).into()),
            Ok(Created::NoPool) => return Err(pool_not_found(conn, &planned.pool).into()),
            Ok(Created::NoSpace { available }) => {
                return Err(no_space(&planned.pool, capacity, available).into())
            }
            Err(e) if e.is_connection_lost() => return Err(lost_create(conn, planned, capacity, e).await),
            Err(e) if e.is_already_exists() => return Err(already_exists(&planned, "").into()),
            Err(e) => return Err(e.into()),
        },
    };
    let mut s = planned;
    s.fill(made);
    let target = s.upload_target();
    let failed = match content {
        Written::Nothing => None,
        Written::Image(img) => match conn.upload_volume(&target, img, cancel).await {
            Ok(done) => {
                tracing::info!(
                    volume = %format!("{}/{}", s.pool, s.name),
                    image_bytes = done.image.virtual_size,
                    data_bytes = done.image.data_bytes,
                    tail_bytes = done.tail,
                    seconds = format!("{:.1}", done.elapsed.as_secs_f64()),
                    "the volume holds the image, zeros to its end"
                );
                None
            }
            Err(e) => Some(upload_error(
                e,
                s.source
                    .as_ref()
                    .map_or_else(|| AttrPath::attr("clone_from"), |x| x.location_attr()),
            )),
        },
        Written::Clone { copied } => match conn.zero_volume_tail(&target, copied, cancel).await {
            Ok(_) => None,
            Err(e) => Some(upload_error(e, AttrPath::attr("clone_from"))),
        },
    };
    match failed {
        None => Ok(s),
        Some(d) => Err(remove_failed(conn, s, d).await),
    }
}

/// Where the volume will be: its pool's target path and its name (the usage of its secret).
async fn planned_path(conn: &Connection, planned: &State) -> Result<String, Diagnostic> {
    let pool = conn
        .find_pool(&planned.pool)
        .await?
        .ok_or_else(|| pool_not_found(conn, &planned.pool))?;
    let dir = pool
        .xml
        .target_path
        .clone()
        .unwrap_or_else(|| format!("/dev/{}", planned.pool));
    Ok(format!("{}/{}", dir.trim_end_matches('/'), planned.name))
}

/// The secret for a new encrypted volume could not be defined: nothing was created.
fn secret_not_defined(path: &str, e: crate::libvirt::Error) -> Diagnostic {
    Diagnostic::error(
        "Secret Not Defined",
        format!(
            "The libvirt secret for the encrypted volume {path} could not be defined, so nothing was created: {e}. \
             libvirt allows one volume secret per path: if `virsh secret-list` shows one for {path} that nothing \
             uses, undefine it (`virsh secret-undefine <uuid>`), or give its UUID as encryption.secret_uuid."
        ),
    )
    .at(AttrPath::attr("encryption").then_attr("passphrase_wo"))
}

/// After the volume is deleted (or found gone), the secret this resource defined for it goes too;
/// a failure is a warning: the volume it opened no longer exists.
async fn undefine_owned_secret(conn: &Connection, prior: &State, notes: &mut Diagnostics) {
    let Some(uuid) = prior
        .encryption
        .as_ref()
        .filter(|e| e.owns_secret())
        .and_then(|e| e.secret_uuid.clone())
    else {
        return;
    };
    match conn.undefine_secret(&uuid).await {
        Ok(true) => {}
        Ok(false) => notes.push(Diagnostic::warning(
            "Secret Already Gone",
            format!("The libvirt secret {uuid} of volume {}/{} no longer existed.", prior.pool, prior.name),
        )),
        Err(e) => notes.push(Diagnostic::warning(
            "Secret Not Undefined",
            format!(
                "Volume {}/{} was deleted but its libvirt secret {uuid} could not be undefined: {e}. Remove it with \
                 `virsh secret-undefine {uuid}`.",
                prior.pool, prior.name
            ),
        )),
    }
}

/// Claims `bytes` of pool `pool` for this plan and says, when the creates and grows this plan
/// claimed in the pool together do not fit in what it has available, what the apply will refuse.
async fn claim_space(ctx: &Ctx, pool: &str, bytes: u64) -> Result<Option<Diagnostic>, Diagnostics> {
    let conn = ctx.conn().await?;
    let Some(p) = conn.find_pool(pool).await? else {
        return Ok(None);
    };
    let claimed = conn.claim_space(pool, bytes);
    Ok((claimed > p.xml.available).then(|| no_space_together(pool, bytes, claimed, p.xml.available)))
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
    // The image's header is on this machine: a capacity it does not fit in is a mistake in the
    // configuration, refused now whatever the hypervisor holds.
    if let Some(w) = plan_image(plan, wanted).await? {
        plan.warn(w);
    }
    let Some(pool) = plan.planned("pool").as_str().map(str::to_string) else {
        return Ok(());
    };
    let conn = ctx.conn().await?;
    if let Some(key) = plan.planned("clone_from").as_str().map(str::to_string) {
        match conn.volume_by_key(&key).await? {
            None => plan.warn_refusal(clone_source_gone(&key)),
            Some(v) if v.xml.capacity > wanted => plan.warn_refusal(clone_too_large(
                plan.planned("capacity").as_str().unwrap_or_default(),
                wanted,
                &v,
            )),
            Some(v) => {
                // What libvirt's XML already tells; the create reads the header too.
                if let Some(why) = crate::libvirt::rules::clone::clone_source_problem(&v.xml) {
                    plan.warn_refusal(clone_source_refused(&v, &why));
                }
            }
        }
    }
    let name = plan.planned("name").as_str().map(str::to_string);
    // One piece of work: the pool, refreshed once per walk, and the volume of the planned name.
    let Some(info) = conn.pool_for_create(&pool, name.as_deref()).await? else {
        return Ok(());
    };
    if let (Some(path), Some(name)) = (info.xml.target_path.as_deref(), name.as_deref()) {
        let full = format!("{path}/{name}");
        plan.set("path", full);
    }
    // A volume of this name may be the one this resource replaces (-replace, a tainted volume, a
    // change that forces replacement): Terraform plans the create half of a replacement exactly like
    // a new create, while the old volume still exists. The apply refuses, with nothing changed, if
    // the name is still taken when the create runs.
    if let Some(name) = name.as_deref().filter(|_| info.active) {
        if let Some(existing) = &info.existing {
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
    if info.active && !sparse {
        // Every create and grow of this plan in the pool counts, not this one alone.
        let claimed = conn.claim_space(&pool, wanted);
        if wanted > info.xml.available {
            plan.warn_refusal(no_space(&pool, wanted, info.xml.available));
        } else if claimed > info.xml.available {
            plan.warn_refusal(no_space_together(&pool, wanted, claimed, info.xml.available));
        }
    }
    Ok(())
}

// ------------------------------------------------------------ content

/// After the LV was made, writing its content failed: remove that LV (by its identity), or, when
/// that fails too, hand it back as partial state so Terraform records it as tainted.
async fn remove_failed(conn: &Connection, s: State, mut d: Diagnostic) -> Failed<State> {
    let Some(id) = s.identity() else {
        return d.into();
    };
    // The LV this create made a moment ago, by its identity: libvirt's checks suffice.
    let why = match conn.delete_volume(&id, false, None).await {
        Ok(VolumeDelete::Deleted) | Ok(VolumeDelete::Gone) => {
            d.detail.push_str(&format!(
                "\n\nThe volume {}/{} this create made was removed: nothing is left behind.",
                s.pool, s.name
            ));
            return d.into();
        }
        Ok(VolumeDelete::Elsewhere(v)) => format!("its key now answers as {}", v.describe()),
        Ok(VolumeDelete::InUse(v, users)) => format!(
            "{} is in use as {}",
            v.describe(),
            users
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Ok(VolumeDelete::PoolNotActive) => format!("pool {:?} is not active", s.pool),
        Ok(VolumeDelete::Open(v)) => format!("{} is open on the hypervisor", v.describe()),
        Ok(VolumeDelete::Unchecked(v, why)) => format!("{} could not be checked: {why}", v.describe()),
        Ok(VolumeDelete::HasSnapshots(v, snapshots)) => format!(
            "{} has snapshots: {}",
            v.describe(),
            snapshots
                .iter()
                .map(|s| s.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => e.to_string(),
    };
    d.detail.push_str(&format!(
        "\n\nThe volume {}/{} this create made could not be removed ({why}). It is recorded as tainted: its \
         content is not the image, and the next apply replaces it.",
        s.pool, s.name
    ));
    Failed::with_partial(d, s)
}

#[cfg(test)]
mod tests;
