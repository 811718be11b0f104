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

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{Failed, IdentitySchema, Outcome, Resource};
use crate::framework::schema::{parse_duration, Attribute, Block, Validator};
use crate::framework::{AttrPath, Diagnostic, Diagnostics, Schema, Type, Value};
use crate::image::{self, Cancel, Checksum, FormatChoice, Image, Location, Spec};
use crate::libvirt::upload::{UploadError, UploadErrorKind, UploadTarget};
use crate::libvirt::volume::{Cloned, Created, Lookup, Resize, VolInfo, VolumeDelete, VolumeIdentity};
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
    source: Option<Source>,
    clone_from: Option<String>,
    timeouts: Option<Timeouts>,
}

/// The `source` block: an image to fill the volume with at creation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Source {
    path: Option<String>,
    url: Option<String>,
    format: Option<String>,
    checksum: Option<String>,
}

impl Source {
    /// The attribute that names where the image is: `source.url` or `source.path`.
    fn location_attr(&self) -> AttrPath {
        source_attr(if self.url.is_some() { "url" } else { "path" })
    }

    /// The image this block describes, for [`image::open`].
    fn spec(&self) -> Result<Spec, Diagnostic> {
        let location = match (&self.path, &self.url) {
            (Some(p), None) => Location::Path(PathBuf::from(p)),
            (None, Some(u)) => Location::Url(u.clone()),
            _ => return Err(Diagnostic::error("Invalid source", ONE_LOCATION).at(source_attr("path"))),
        };
        let format = match self.format.as_deref() {
            None => FormatChoice::Auto,
            Some(f) => FormatChoice::parse(f).ok_or_else(|| {
                Diagnostic::error(
                    "Invalid source.format",
                    format!("{f:?} is not one of auto, raw, qcow2."),
                )
                .at(source_attr("format"))
            })?,
        };
        let checksum = self
            .checksum
            .as_deref()
            .map(|c| {
                Checksum::parse(c).map_err(|e| {
                    Diagnostic::error("Invalid source.checksum", e.to_string()).at(source_attr("checksum"))
                })
            })
            .transpose()?;
        Ok(Spec {
            location,
            format,
            checksum,
        })
    }
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

const ONE_LOCATION: &str = "Set exactly one of source.path (a file on the machine running Terraform) or \
                            source.url (an http:// or https:// URL).";

fn source_attr(name: &str) -> AttrPath {
    AttrPath::attr("source").then_attr(name)
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
                Attribute::string("clone_from")
                    .optional()
                    .validate(Validator::Str(validate_clone_from))
                    .describe(
                        "Create the volume as a copy of another volume on the same hypervisor, named by its key \
                         (for example `libvirt_lvm_volume.golden.id`): any active pool, a directory pool's qcow2 \
                         included (libvirt converts it to raw on the hypervisor). `capacity` must be at least the \
                         source's size (checked at plan); the rest of the volume reads as zeros. Written at creation \
                         only: changing it later writes nothing (see `source`). Conflicts with `source`.",
                    ),
            ],
        )
        .with_block(source_block())
        .with_block(Block::timeouts(&[("create", DEFAULT_CREATE_TIMEOUT)]))
    }

    /// Checks across attributes that need no hypervisor: where the image is, and one kind of
    /// content.
    fn validate(config: &Value, diags: &mut Diagnostics) {
        for d in content_conflicts(config) {
            diags.push(d);
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
        let allocation = if sparse { 0 } else { capacity };
        let vol_xml = xml::volume_xml(&planned.name, capacity, allocation)
            .map_err(|e| Diagnostic::error("Invalid Volume Definition", e.to_string()))?;
        let (made, content) = match content {
            Content::Clone(source) => {
                let made = conn
                    .clone_volume(&planned.pool, &planned.name, vol_xml, capacity, &source)
                    .await;
                match made {
                    Ok(Cloned::New(info, copied)) => (info, Written::Clone { copied }),
                    Ok(Cloned::Exists(v)) => return Err(already_exists(&planned, &v.path()).into()),
                    Ok(Cloned::NoActivePool) => return Err(pool_not_active(&planned.pool).into()),
                    Ok(Cloned::SourceGone) => return Err(clone_source_gone(&source.key).into()),
                    Ok(Cloned::SourceElsewhere(v)) => return Err(clone_source_moved(&source, &v).into()),
                    Ok(Cloned::SourceLarger(v)) => {
                        return Err(clone_too_large(&planned.capacity, capacity, &v).into())
                    }
                    Err(e) if e.is_connection_lost() => {
                        return Err(lost_create(conn, planned, capacity, e).await)
                    }
                    Err(e) if e.is_already_exists() => return Err(already_exists(&planned, "").into()),
                    Err(e) => return Err(e.into()),
                }
            }
            other => match conn
                .create_volume(&planned.pool, &planned.name, vol_xml, Some(allocation))
                .await
            {
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
                Err(e) => Some(upload_error(e, s.source.as_ref())),
            },
            Written::Clone { copied } => match conn.zero_volume_tail(&target, copied, cancel).await {
                Ok(_) => None,
                Err(e) => Some(upload_error(e, None)),
            },
        };
        match failed {
            None => Ok(s),
            Some(d) => Err(remove_failed(conn, s, d).await),
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
        super::import_id_from_identity(identity, &["pool", "name"])
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
            Some(_) => {}
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
    let mut unchecked = false;
    let detail = match look_for_lost_create(conn, &s, capacity).await {
        Ok(LostLookup::Made(v)) => {
            s.fill(v);
            format!(
                "The volume {}/{} was created ({}) but the reply was lost, so it may be incomplete. It is \
                 recorded as tainted: the next apply replaces it.",
                s.pool,
                s.name,
                s.path.as_deref().unwrap_or_default()
            )
        }
        Ok(LostLookup::OtherSize(v)) => format!(
            "A volume {} exists, but not of the size this create asked for, so it is not claimed as this \
             resource's and is left alone.",
            v.describe()
        ),
        Ok(LostLookup::Absent) => format!(
            "The volume {}/{} does not exist now. The next plan reads it again and creates it.",
            s.pool, s.name
        ),
        other => {
            let again = match other {
                Err(e) => e.to_string(),
                _ => format!("pool {:?} is stopped", s.pool),
            };
            // The hypervisor cannot be asked now (it is restarting, or frozen). Dropping the
            // resource would leave an LV Terraform does not know if the create took effect, so
            // it is recorded without an LV UUID, as tainted: the next read looks for it.
            unchecked = true;
            format!(
                "Whether the volume {}/{} exists could not be checked ({again}). It is recorded as tainted \
                 without an LV UUID: the next plan looks for it, takes an LV of this name and size as this \
                 create's (and replaces it), and otherwise plans the create again.",
                s.pool, s.name
            )
        }
    };
    let mut d = Diagnostic::from(e);
    d.summary = "Volume Creation Interrupted".into();
    d.detail.push_str(&format!("\n\n{detail}"));
    if s.key.is_some() || unchecked {
        Failed::with_partial(d, s)
    } else {
        d.into()
    }
}

/// The lost-reply rule: LVM had no LV of this name when the create went out (it refreshed the
/// pool and looked in the same piece of work), so an LV of this name and of the size asked for
/// (LVM rounds up to whole extents) is taken as the create's. One of another size is not.
fn made_by_this_create(v: &VolInfo, capacity: u64) -> bool {
    v.xml.capacity >= capacity && v.xml.capacity - capacity < EXTENT_ROUNDING
}

/// What the lost-reply rule finds of a create in its pool.
enum LostLookup {
    /// An LV of the name and size: the create's.
    Made(VolInfo),
    /// An LV of the name but another size: not the create's.
    OtherSize(VolInfo),
    /// No LV of the name (or no pool).
    Absent,
    /// The pool is stopped: its volumes cannot be looked for.
    PoolStopped,
}

/// Refreshes the pool and looks for the volume `s` names by the lost-reply rule; used right after
/// the reply was lost ([`lost_create`]) and by the read of a create that could not look then
/// ([`find_lost_create`]).
async fn look_for_lost_create(conn: &Connection, s: &State, capacity: u64) -> Result<LostLookup, Error> {
    conn.refresh_pool(&s.pool).await?;
    match conn.find_pool(&s.pool).await? {
        Some(p) if p.active => {}
        Some(_) => return Ok(LostLookup::PoolStopped),
        None => return Ok(LostLookup::Absent),
    }
    Ok(match conn.find_volume(&s.pool, &s.name).await? {
        Some(v) if made_by_this_create(&v, capacity) => LostLookup::Made(v),
        Some(v) => LostLookup::OtherSize(v),
        None => LostLookup::Absent,
    })
}

/// Reads a volume whose create lost its reply and could not be checked then (see
/// [`lost_create`]): the state has its name but no LV UUID. An LV found by the lost-reply rule is
/// filled in (the resource stays tainted, so the plan replaces it, and says so); none, or one of
/// another size, and the resource is gone from the state. In a stopped pool nothing can be
/// looked for: the state stays as it is.
async fn find_lost_create(
    conn: &Connection,
    mut s: State,
    notes: &mut Diagnostics,
) -> Result<Option<State>, Diagnostics> {
    let Ok(capacity) = s.capacity_bytes_wanted() else {
        return Ok(None);
    };
    match look_for_lost_create(conn, &s, capacity).await? {
        LostLookup::Made(v) => {
            notes.push(Diagnostic::warning(
                "Volume Found After A Lost Reply",
                format!(
                    "The create of volume {}/{} lost its reply and could not be checked then. {} has its name and \
                     the size asked for, so it is taken as that create's: it is in the state as tainted, and the \
                     next apply replaces it (deletes it and creates it again).",
                    s.pool,
                    s.name,
                    v.describe()
                ),
            ));
            s.fill(v);
            Ok(Some(s))
        }
        LostLookup::OtherSize(v) => {
            notes.push(Diagnostic::warning(
                "Volume Not Claimed After A Lost Reply",
                format!(
                    "The create of volume {}/{} lost its reply. {} has its name but not the size asked for, so it \
                     is not this create's; it is left alone and the resource is removed from the state.",
                    s.pool,
                    s.name,
                    v.describe()
                ),
            ));
            Ok(None)
        }
        LostLookup::Absent => Ok(None),
        LostLookup::PoolStopped => Ok(Some(s)),
    }
}

// ------------------------------------------------------------ content

/// What fills a new volume, prepared before the LV is created.
enum Content {
    Empty,
    Image(Image),
    Clone(VolumeIdentity),
}

/// What is left to write once the LV exists.
enum Written {
    Nothing,
    Image(Image),
    /// libvirt copied `copied` bytes; the rest of the volume is to be zeroed.
    Clone {
        copied: u64,
    },
}

fn source_block() -> Block {
    Block {
        name: "source",
        description: "Fill the volume at creation with a disk image, converted to raw on the machine running \
                      Terraform and streamed over the provider's libvirt connection (`virStorageVolUpload`, \
                      sparse): nothing is needed on the hypervisor, and remote URIs work. qcow2 (v2 and v3, \
                      compressed clusters, zero clusters) becomes the raw disk it holds; a `.gz`, `.xz` or `.zst` \
                      wrapper is recognised by its first bytes. The whole volume then reads as the image followed \
                      by zeros. `capacity` must be at least the image's virtual size (checked at plan for a \
                      `path`, before the volume is created for a `url`). A failure after the volume was created \
                      removes it (or, if that fails too, records it as tainted): a half-written volume is never \
                      recorded as good. Written at creation only: changing the block later writes nothing and \
                      warns; `terraform apply -replace=<address>` re-images the volume. Conflicts with \
                      `clone_from`."
            .into(),
        attributes: vec![
            Attribute::string("path").optional().describe(
                "A file on the machine running Terraform (relative paths are from the working directory). \
                 Exactly one of `path` and `url`.",
            ),
            Attribute::string("url").optional().validate(Validator::Str(validate_url)).describe(
                "An `http://` or `https://` URL to download the image from; redirects are followed and the usual \
                 proxy variables (`HTTPS_PROXY`, `NO_PROXY`, ...) apply. Exactly one of `path` and `url`.",
            ),
            Attribute::string("format")
                .optional()
                .one_of(FormatChoice::VALUES)
                .describe(
                    "The image's format inside any compression wrapper. `auto` (the default) takes qcow2 by its \
                     magic bytes and anything else as raw, but refuses VMDK, VHD(X), VDI and QED images by name; \
                     `raw` writes the bytes as they are; `qcow2` refuses anything else.",
                ),
            Attribute::string("checksum").optional().validate(Validator::Str(validate_checksum)).describe(
                "`sha256:<64 hex digits>` or `sha512:<128 hex digits>`: the digest of the file as read (before \
                 decompression). A mismatch fails the create, naming both digests, and leaves no volume behind.",
            ),
        ],
    }
}

fn validate_url(u: &str) -> Result<(), String> {
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        Some(_) => Err(format!("{u:?} names no host: use a URL such as \"https://example.com/disk.qcow2\".")),
        None => Err(format!(
            "{u:?} is not an http:// or https:// URL: only http and https downloads are supported; for a file on \
             this machine use source.path."
        )),
    }
}

fn validate_checksum(c: &str) -> Result<(), String> {
    Checksum::parse(c).map(|_| ()).map_err(|e| e.to_string())
}

fn validate_clone_from(k: &str) -> Result<(), String> {
    if k.trim().is_empty() {
        Err("clone_from must be the key of an existing volume, such as libvirt_lvm_volume.golden.id.".into())
    } else {
        Ok(())
    }
}

fn conflicting_content() -> Diagnostic {
    Diagnostic::error(
        "Conflicting Volume Content",
        "source and clone_from both say what to fill the volume with; set only one of them.",
    )
    .at_attr("clone_from")
}

/// The configuration's own contradictions about content (values still unknown pass).
fn content_conflicts(config: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let source = config.attr("source").unwrap_or(&Value::Null);
    let clone_from = config.attr("clone_from").unwrap_or(&Value::Null);
    if !source.is_null() && !clone_from.is_null() {
        out.push(conflicting_content());
    }
    if source.is_known() && !source.is_null() {
        let path = source.attr("path").unwrap_or(&Value::Null);
        let url = source.attr("url").unwrap_or(&Value::Null);
        if path.is_null() && url.is_null() {
            out.push(Diagnostic::error("Missing Image Location", ONE_LOCATION).at(source_attr("path")));
        } else if !path.is_null() && !url.is_null() {
            out.push(Diagnostic::error("Conflicting Image Locations", ONE_LOCATION).at(source_attr("url")));
        }
    }
    out
}

/// The warning for a changed `source` or `clone_from` on an existing volume: content is written
/// at creation only, so the update records the new value and writes nothing.
fn content_change_warning(plan: &Plan) -> Option<Diagnostic> {
    let changed: Vec<&str> = ["source", "clone_from"]
        .into_iter()
        .filter(|a| plan.changes(a))
        .collect();
    let first = *changed.first()?;
    let name = plan.planned("name").as_str().unwrap_or("<name>");
    Some(
        Diagnostic::warning(
            "Volume Content Is Not Re-Written",
            format!(
                "{} changed, but a volume's content is written only when it is created: this apply records the new \
                 value and leaves the volume's data as it is. To re-image the volume (its current data is lost), \
                 replace it: `terraform apply -replace=<address>` (for example \
                 -replace=libvirt_lvm_volume.<label> for volume {name:?}).",
                changed.join(" and ")
            ),
        )
        .at_attr(first),
    )
}

fn image_too_large(
    capacity_text: &str,
    capacity: u64,
    what: &str,
    virtual_size: u64,
    attr: AttrPath,
) -> Diagnostic {
    Diagnostic::error(
        "Capacity Smaller Than The Image",
        format!(
            "capacity {capacity_text} ({capacity} bytes, {}) is smaller than the disk the image {what} holds: \
             {virtual_size} bytes ({}). Shrinking an image would cut off its data; set capacity to at least \
             \"{}\".",
            human(capacity),
            human(virtual_size),
            format_size(virtual_size.div_ceil(1 << 20) << 20)
        ),
    )
    .at(attr)
}

/// Plan-time check of a `source.path` image: its header read here. A missing file only warns (it
/// may be made by the same apply); everything else `open` would refuse is an error now.
async fn plan_image(plan: &Plan, wanted: u64) -> Result<Option<Diagnostic>, Diagnostic> {
    let source = plan.planned("source");
    let Some(path) = source.attr("path").and_then(Value::as_str).map(str::to_string) else {
        return Ok(None);
    };
    let format = source.attr("format").unwrap_or(&Value::Null);
    if !format.is_known() {
        return Ok(None);
    }
    let choice = format.as_str().and_then(FormatChoice::parse).unwrap_or_default();
    let p = PathBuf::from(&path);
    let inspected = tokio::task::spawn_blocking(move || image::inspect(&p, choice))
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Provider Internal Error",
                format!("reading the image header: {e}"),
            )
        })?;
    match inspected {
        Ok(i) if i.virtual_size > wanted => Err(image_too_large(
            plan.planned("capacity").as_str().unwrap_or_default(),
            wanted,
            &path,
            i.virtual_size,
            AttrPath::attr("capacity"),
        )),
        Ok(_) => Ok(None),
        Err(image::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Some(
                Diagnostic::warning(
                    "Image File Not Found",
                    format!(
                        "source.path {path:?} does not exist (yet). If the same apply makes it, it is read then; \
                         otherwise the create fails before any volume is made."
                    ),
                )
                .at(source_attr("path")),
            ))
        }
        Err(e) => Err(image_error(&e, source_attr("path"))),
    }
}

/// A diagnostic for an image failure, at the attribute it is about.
fn image_error(e: &image::Error, location: AttrPath) -> Diagnostic {
    use image::Error as E;
    let (summary, at) = match e {
        E::ChecksumMismatch { .. } => ("Image Checksum Mismatch", source_attr("checksum")),
        E::TooLarge { .. } => ("Capacity Smaller Than The Image", AttrPath::attr("capacity")),
        E::UrlScheme { .. } | E::HttpStatus { .. } | E::Http { .. } | E::ShortBody { .. } => {
            ("Image Download Failed", source_attr("url"))
        }
        E::Cancelled => ("Volume Creation Cancelled", location),
        E::DeadlineExceeded => (
            "Volume Creation Timed Out",
            AttrPath::attr("timeouts").then_attr("create"),
        ),
        E::Io { .. } | E::Spool { .. } => ("Image Not Readable", location),
        E::SinkClosed(_) => ("Image Upload Failed", location),
        E::NotQcow2 { .. }
        | E::OtherFormat { .. }
        | E::BackingFile { .. }
        | E::Unsupported { .. }
        | E::Corrupt { .. }
        | E::Decompress { .. } => ("Image Not Usable", location),
    };
    Diagnostic::error(summary, e.to_string()).at(at)
}

fn upload_error(e: UploadError, source: Option<&Source>) -> Diagnostic {
    let location = source.map_or_else(|| AttrPath::attr("clone_from"), Source::location_attr);
    match e.kind {
        UploadErrorKind::Image(i) => image_error(&i, location),
        UploadErrorKind::Libvirt(l) => {
            let mut d = Diagnostic::from(l);
            d.summary = "Writing The Volume's Content Failed".into();
            d
        }
        other @ UploadErrorKind::NotThisVolume { .. } => {
            Diagnostic::error("Volume Changed During Creation", other.to_string())
        }
    }
}

/// Opens the image (blocking, off the runtime) and checks it fits, before any LV exists.
async fn open_image(src: &Source, capacity: u64, cancel: &Cancel) -> Result<Image, Diagnostic> {
    let spec = src.spec()?;
    let location = src.location_attr();
    let c = cancel.clone();
    let img = tokio::task::spawn_blocking(move || image::open(&spec, &c))
        .await
        .map_err(|e| Diagnostic::error("Provider Internal Error", format!("opening the image: {e}")))?
        .map_err(|e| image_error(&e, location.clone()))?;
    if let Some(size) = img.virtual_size().filter(|&v| v > capacity) {
        return Err(image_too_large(
            &format_size(capacity),
            capacity,
            img.what(),
            size,
            AttrPath::attr("capacity"),
        ));
    }
    Ok(img)
}

/// The volume `clone_from` names, checked to fit.
async fn clone_source(conn: &Connection, key: &str, capacity: u64) -> Result<VolumeIdentity, Diagnostics> {
    let v = conn
        .volume_by_key(key)
        .await?
        .ok_or_else(|| clone_source_gone(key))?;
    if v.xml.capacity > capacity {
        return Err(clone_too_large(&format_size(capacity), capacity, &v).into());
    }
    Ok(v.identity())
}

fn clone_source_gone(key: &str) -> Diagnostic {
    Diagnostic::error(
        "Clone Source Not Found",
        format!(
            "No volume on this hypervisor has the key {key:?} (or its pool is stopped). Set clone_from to the key \
             of an existing volume in an active pool, such as libvirt_lvm_volume.golden.id."
        ),
    )
    .at_attr("clone_from")
}

fn clone_source_moved(source: &VolumeIdentity, now: &VolInfo) -> Diagnostic {
    Diagnostic::error(
        "Clone Source Changed",
        format!(
            "The volume with key {:?} was {}/{} when this create started and is now {}; nothing was created.",
            source.key,
            source.pool,
            source.name,
            now.describe()
        ),
    )
    .at_attr("clone_from")
}

fn clone_too_large(capacity_text: &str, capacity: u64, source: &VolInfo) -> Diagnostic {
    Diagnostic::error(
        "Capacity Smaller Than The Clone Source",
        format!(
            "capacity {capacity_text} ({capacity} bytes, {}) is smaller than the volume to copy, {}: {} bytes \
             ({}). Set capacity to at least \"{}\".",
            human(capacity),
            source.describe(),
            source.xml.capacity,
            human(source.xml.capacity),
            format_size(source.xml.capacity)
        ),
    )
    .at_attr("capacity")
}

/// After the LV was made, writing its content failed: remove that LV (by its identity), or, when
/// that fails too, hand it back as partial state so Terraform records it as tainted.
async fn remove_failed(conn: &Connection, s: State, mut d: Diagnostic) -> Failed<State> {
    let Some(id) = s.identity() else {
        return d.into();
    };
    let why = match conn.delete_volume(&id, false).await {
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
        Err(e) => e.to_string(),
    };
    d.detail.push_str(&format!(
        "\n\nThe volume {}/{} this create made could not be removed ({why}). It is recorded as tainted: its \
         content is not the image, and the next apply replaces it.",
        s.pool, s.name
    ));
    Failed::with_partial(d, s)
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

    impl State {
        fn with_clone_from(mut self, key: &str) -> State {
            self.clone_from = Some(key.into());
            self
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

    /// A create that lost its reply and could not look then left a state without an LV UUID: the
    /// read takes an LV of that name and size, leaves one of another size alone, and forgets the
    /// resource when there is none. The delete of such a state deletes nothing.
    #[tokio::test]
    async fn a_lost_create_is_found_by_name_and_size_on_the_next_read() {
        let driver = TestDriver::new("");
        let ctx = Ctx::for_tests(&driver.uri);
        let made = created(&ctx, "lost").await;
        let unchecked = State {
            path: made.path.clone(),
            ..planned("lost")
        };

        let mut notes = Diagnostics::new();
        LvmVolume
            .delete(&ctx, unchecked.clone(), &mut notes)
            .await
            .expect("delete deletes nothing");
        assert_eq!(notes.0[0].summary, "Nothing To Delete");

        let mut notes = Diagnostics::new();
        let found = LvmVolume
            .read(&ctx, unchecked.clone(), &mut notes)
            .await
            .expect("read")
            .expect("the LV of that name and size is the create's");
        assert_eq!(found.key, made.key);
        assert_eq!(notes.0[0].summary, "Volume Found After A Lost Reply");

        let other_size = State {
            capacity: "8MiB".into(),
            ..unchecked.clone()
        };
        let mut notes = Diagnostics::new();
        assert!(LvmVolume
            .read(&ctx, other_size, &mut notes)
            .await
            .expect("read")
            .is_none());
        assert_eq!(notes.0[0].summary, "Volume Not Claimed After A Lost Reply");

        let none = State {
            path: Some("/default-pool/never-made".into()),
            ..planned("never-made")
        };
        let mut notes = Diagnostics::new();
        assert!(LvmVolume
            .read(&ctx, none, &mut notes)
            .await
            .expect("read")
            .is_none());
        assert!(notes.0.is_empty(), "{notes:?}");
        let conn = ctx.conn().await.expect("conn");
        assert!(conn
            .find_volume("default-pool", "lost")
            .await
            .expect("read")
            .is_some());
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
        let detail =
            delete_of_used_is_refused(&domain("user", "5a8f9c71-7e6b-4d2a-9c1e-3b4a5d6e7f80", disk)).await;
        assert!(detail.contains("domain \"user\" as sdb"), "{detail}");
    }

    /// Creates the volume `used` on a test driver holding `node_extra`, asserts that its delete is
    /// refused as attached and that the volume is still there; returns the refusal's detail.
    async fn delete_of_used_is_refused(node_extra: &str) -> String {
        let driver = TestDriver::new(node_extra);
        let ctx = Ctx::for_tests(&driver.uri);
        let s = created(&ctx, "used").await;
        let e = LvmVolume
            .delete(&ctx, s, &mut Diagnostics::new())
            .await
            .expect_err("refused");
        assert_eq!(e.0[0].summary, "Volume Is Attached To A Domain", "{node_extra}");
        let conn = ctx.conn().await.expect("conn");
        assert!(conn
            .find_volume("default-pool", "used")
            .await
            .expect("read")
            .is_some());
        e.0[0].detail.clone()
    }

    /// The delete's guard reads every definition of every domain: a shut-off persistent domain's
    /// saved definition and a transient running domain's only one each refuse the delete, and the
    /// message names the definition that uses the volume.
    #[tokio::test]
    async fn a_volume_used_by_a_stopped_or_a_transient_domain_is_not_deleted() {
        let disk = "<disk type='block' device='disk'><source dev='/default-pool/used'/>\
                    <target dev='vdb' bus='virtio'/></disk>";
        for (state, view, not_view) in [
            ("<test:runstate>5</test:runstate>", "persistent", "running"),
            ("<test:transient/>", "running", "persistent"),
        ] {
            let dom = format!(
                "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>\
                 <name>user</name><uuid>5a8f9c71-7e6b-4d2a-9c1e-3b4a5d6e7f81</uuid><memory>65536</memory>\
                 <vcpu>1</vcpu><os><type>hvm</type></os><devices>{disk}</devices>{state}</domain>"
            );
            let detail = &delete_of_used_is_refused(&dom).await;
            assert!(
                detail.contains(&format!("domain \"user\" as vdb ({view} definition)"))
                    && !detail.contains(&format!("({not_view} definition)")),
                "{state}: {detail}"
            );
        }
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

    // ------------------------------------------------------------ content

    /// Where a diagnostic points, as `a.b`.
    fn at(d: &Diagnostic) -> String {
        d.attribute.as_ref().map(ToString::to_string).unwrap_or_default()
    }

    fn src(path: Option<&str>, url: Option<&str>, format: Option<&str>, checksum: Option<&str>) -> Value {
        let v = |o: Option<&str>| o.map_or(Value::Null, Value::from);
        Value::object([
            ("path", v(path)),
            ("url", v(url)),
            ("format", v(format)),
            ("checksum", v(checksum)),
        ])
    }

    /// config → the first error's (summary, attribute path), or None when valid.
    #[test]
    fn content_validation() {
        let sha256 = format!("sha256:{}", "a".repeat(64));
        let sha512 = format!("SHA512:{}", "B".repeat(128));
        let short = format!("sha256:{}", "a".repeat(63));
        // (source, clone_from, the first error's summary and attribute)
        type Case<'a> = (Value, Value, Option<(&'a str, &'a str)>);
        let cases: Vec<Case> = vec![
            (src(Some("d.qcow2"), None, None, None), Value::Null, None),
            (
                src(None, Some("https://h/d.img"), Some("qcow2"), Some(&sha256)),
                Value::Null,
                None,
            ),
            (
                src(None, Some("HTTP://h/d.img"), Some("raw"), Some(&sha512)),
                Value::Null,
                None,
            ),
            (Value::Null, Value::from("key"), None),
            (Value::Null, Value::Null, None),
            (
                src(None, None, None, None),
                Value::Null,
                Some(("Missing Image Location", "source.path")),
            ),
            (
                src(Some("a"), Some("http://h/a"), None, None),
                Value::Null,
                Some(("Conflicting Image Locations", "source.url")),
            ),
            (
                src(None, Some("ftp://h/a"), None, None),
                Value::Null,
                Some(("Invalid url", "source.url")),
            ),
            (
                src(None, Some("https://"), None, None),
                Value::Null,
                Some(("Invalid url", "source.url")),
            ),
            (
                src(None, Some("/tmp/a"), None, None),
                Value::Null,
                Some(("Invalid url", "source.url")),
            ),
            (
                src(Some("a"), None, Some("vmdk"), None),
                Value::Null,
                Some(("Invalid format", "source.format")),
            ),
            (
                src(Some("a"), None, None, Some(&short)),
                Value::Null,
                Some(("Invalid checksum", "source.checksum")),
            ),
            (
                src(Some("a"), None, None, Some("md5:abc")),
                Value::Null,
                Some(("Invalid checksum", "source.checksum")),
            ),
            (
                src(Some("a"), None, None, Some(&format!("sha256:{}", "g".repeat(64)))),
                Value::Null,
                Some(("Invalid checksum", "source.checksum")),
            ),
            (
                src(Some("a"), None, None, None),
                Value::from("k"),
                Some(("Conflicting Volume Content", "clone_from")),
            ),
            (
                Value::Null,
                Value::from(" "),
                Some(("Invalid clone_from", "clone_from")),
            ),
            // Unknown values pass until they are known.
            (
                Value::object([("path", Value::Unknown), ("url", Value::Null)]),
                Value::Null,
                None,
            ),
        ];
        for (source, clone_from, want) in cases {
            let config = Value::object([
                ("pool", Value::from("p")),
                ("name", Value::from("v")),
                ("capacity", Value::from("1GiB")),
                ("source", source.clone()),
                ("clone_from", clone_from.clone()),
                ("timeouts", Value::Null),
            ]);
            let mut diags = Diagnostics::new();
            LvmVolume::schema().validate(&config, &mut diags);
            LvmVolume::validate(&config, &mut diags);
            let got = diags.0.first().map(|d| (d.summary.clone(), at(d)));
            let want = want.map(|(s, p)| (s.to_string(), p.to_string()));
            assert_eq!(
                got, want,
                "source {source:?}, clone_from {clone_from:?}: {diags:?}"
            );
        }
    }

    /// A create plan of `capacity` with `source`, on a test driver.
    async fn plan_create_with(capacity: &str, source: Value) -> Result<Plan, Diagnostics> {
        let driver = TestDriver::new("");
        let ctx = Ctx::for_tests(&driver.uri);
        let proposed = Value::object([
            ("id", Value::Unknown),
            ("pool", Value::from("default-pool")),
            ("name", Value::from("v")),
            ("capacity", Value::from(capacity)),
            ("sparse", Value::Bool(false)),
            ("allow_shrink", Value::Bool(false)),
            ("wipe_on_destroy", Value::Bool(false)),
            ("path", Value::Unknown),
            ("key", Value::Unknown),
            ("allocation", Value::Unknown),
            ("capacity_bytes", Value::Unknown),
            ("clone_from", Value::Null),
            ("source", source),
            ("timeouts", Value::Null),
        ]);
        let mut plan = Plan::new(&LvmVolume::schema(), None, proposed.clone(), proposed);
        LvmVolume.plan(&ctx, &mut plan).await.map(|()| plan)
    }

    /// The image's header is read at plan: a capacity it does not fit in is an error naming both
    /// sizes; a file not there yet only warns.
    #[tokio::test]
    async fn capacity_against_the_image_at_plan() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("disk.raw");
        std::fs::write(&file, vec![7u8; (2 << 20) + 512]).expect("write");
        let path = file.to_str().expect("utf-8");

        let e = plan_create_with("2MiB", src(Some(path), None, None, None))
            .await
            .expect_err("refused");
        assert_eq!(e.0[0].summary, "Capacity Smaller Than The Image");
        assert_eq!(at(&e.0[0]), "capacity");
        assert!(
            e.0[0].detail.contains("2097152 bytes") && e.0[0].detail.contains("2097664 bytes"),
            "{}",
            e.0[0].detail
        );
        assert!(e.0[0].detail.contains("at least \"3MiB\""), "{}", e.0[0].detail);

        let plan = plan_create_with("3MiB", src(Some(path), None, None, None))
            .await
            .expect("fits");
        assert!(plan.warnings.0.is_empty(), "{:?}", plan.warnings);

        let missing = dir.path().join("later.qcow2");
        let plan = plan_create_with("1MiB", src(missing.to_str(), None, None, None))
            .await
            .expect("a missing file only warns");
        assert_eq!(plan.warnings.0[0].summary, "Image File Not Found");

        // A url is not fetched at plan.
        let plan = plan_create_with("1MiB", src(None, Some("http://127.0.0.1:9/x"), None, None))
            .await
            .expect("not fetched at plan");
        assert!(plan.warnings.0.is_empty(), "{:?}", plan.warnings);
    }

    /// Changing `source` or `clone_from` of an existing volume plans an update (never a
    /// replacement) with the warning; nothing else changed plans no warning.
    #[tokio::test]
    async fn content_changes_plan_an_update_with_a_warning() {
        let schema = LvmVolume::schema();
        let prior = Value::object([
            ("id", Value::from("key")),
            ("pool", Value::from("p")),
            ("name", Value::from("v")),
            ("capacity", Value::from("1GiB")),
            ("sparse", Value::Bool(false)),
            ("allow_shrink", Value::Bool(false)),
            ("wipe_on_destroy", Value::Bool(false)),
            ("path", Value::from("/dev/p/v")),
            ("key", Value::from("key")),
            ("allocation", Value::from(1u64 << 30)),
            ("capacity_bytes", Value::from(1u64 << 30)),
            ("clone_from", Value::Null),
            ("source", src(Some("a.qcow2"), None, None, None)),
            ("timeouts", Value::Null),
        ]);
        let ctx = Ctx::for_tests("test:///never-opened");
        let cases: Vec<(&str, Value, Option<&str>)> = vec![
            ("source", src(Some("a.qcow2"), None, None, None), None),
            ("source", src(Some("b.qcow2"), None, None, None), Some("source")),
            ("source", Value::Null, Some("source")),
            ("clone_from", Value::from("other-key"), Some("clone_from")),
        ];
        for (attr, value, warned_at) in cases {
            let mut proposed = prior.clone();
            *proposed.attr_mut(attr).expect("attr") = value.clone();
            let mut plan = Plan::new(&schema, Some(prior.clone()), proposed.clone(), proposed);
            LvmVolume.plan(&ctx, &mut plan).await.expect("plan");
            crate::framework::plan::finish(&schema, &mut plan);
            assert!(
                plan.requires_replace.is_empty(),
                "{attr} = {value:?}: never replaced"
            );
            let w = plan.warnings.0.first();
            assert_eq!(w.map(at), warned_at.map(str::to_string), "{attr} = {value:?}");
            if let Some(w) = w {
                assert_eq!(w.summary, "Volume Content Is Not Re-Written");
                assert!(
                    w.detail.contains("terraform apply -replace=<address>"),
                    "{}",
                    w.detail
                );
                assert_eq!(w.severity, crate::framework::Severity::Warning);
            }
        }
    }

    /// clone_from on the test driver: a copy of the same size needs no zeroing and is made; a
    /// smaller capacity is refused before anything exists; a larger one needs its tail zeroed,
    /// which the test driver cannot do (it has no uploads): the copy is then removed, by its
    /// identity, and nothing is left.
    #[tokio::test]
    async fn clone_from_on_the_test_driver() {
        let driver = TestDriver::new("");
        let ctx = Ctx::for_tests(&driver.uri);
        let gold = created(&ctx, "gold").await;
        let key = gold.key.clone().expect("key");
        let conn = ctx.conn().await.expect("conn");
        let clone = |name: &str, capacity: &str| {
            let mut p = planned(name);
            p.capacity = capacity.into();
            p.clone_from = Some(key.clone());
            p
        };

        let copy = LvmVolume
            .create(&ctx, clone("copy", "1MiB"))
            .await
            .expect("same size");
        assert_eq!(copy.capacity_bytes, Some(1 << 20));
        assert!(conn
            .find_volume("default-pool", "copy")
            .await
            .expect("read")
            .is_some());
        // Import cannot know what filled a volume: both stay unset (a configuration that sets them
        // then plans an update that writes nothing, with the warning).
        let imported = LvmVolume.import(&ctx, "default-pool/copy").await.expect("import");
        assert_eq!(imported.key, copy.key);
        assert!(imported.source.is_none() && imported.clone_from.is_none() && imported.timeouts.is_none());

        let e = LvmVolume
            .create(&ctx, clone("small", "512KiB"))
            .await
            .expect_err("smaller than its source");
        assert_eq!(e.diags.0[0].summary, "Capacity Smaller Than The Clone Source");
        assert!(e.partial.is_none());
        assert!(conn
            .find_volume("default-pool", "small")
            .await
            .expect("read")
            .is_none());

        let e = LvmVolume
            .create(&ctx, clone("big", "2MiB"))
            .await
            .expect_err("the test driver cannot zero the tail");
        assert_eq!(e.diags.0[0].summary, "Writing The Volume's Content Failed");
        assert!(
            e.diags.0[0].detail.contains("was removed"),
            "{}",
            e.diags.0[0].detail
        );
        assert!(e.partial.is_none());
        assert!(conn
            .find_volume("default-pool", "big")
            .await
            .expect("read")
            .is_none());

        let e = LvmVolume
            .create(
                &ctx,
                clone("nosource", "2MiB").with_clone_from("/default-pool/never"),
            )
            .await
            .expect_err("no such source");
        assert_eq!(e.diags.0[0].summary, "Clone Source Not Found");
        assert!(conn
            .find_volume("default-pool", "nosource")
            .await
            .expect("read")
            .is_none());
    }

    /// `source` on the test driver: a wrong checksum of a local file fails before the volume is
    /// made; a good image is opened, the volume made, the upload refused by the test driver, and
    /// the volume removed again.
    #[tokio::test]
    async fn source_failures_leave_nothing_on_the_test_driver() {
        let driver = TestDriver::new("");
        let ctx = Ctx::for_tests(&driver.uri);
        let conn = ctx.conn().await.expect("conn");
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("disk.raw");
        std::fs::write(&file, vec![7u8; 4096]).expect("write");
        let with_source = |name: &str, checksum: Option<String>| {
            let mut p = planned(name);
            p.source = Some(Source {
                path: Some(file.display().to_string()),
                checksum,
                ..Default::default()
            });
            p
        };

        let e = LvmVolume
            .create(
                &ctx,
                with_source("sum", Some(format!("sha256:{}", "0".repeat(64)))),
            )
            .await
            .expect_err("wrong checksum");
        assert_eq!(e.diags.0[0].summary, "Image Checksum Mismatch");
        assert_eq!(at(&e.diags.0[0]), "source.checksum");
        assert!(conn
            .find_volume("default-pool", "sum")
            .await
            .expect("read")
            .is_none());

        let e = LvmVolume
            .create(&ctx, with_source("up", None))
            .await
            .expect_err("the test driver has no uploads");
        assert!(
            e.diags.0[0].detail.contains("was removed"),
            "{}",
            e.diags.0[0].detail
        );
        assert!(e.partial.is_none());
        assert!(conn
            .find_volume("default-pool", "up")
            .await
            .expect("read")
            .is_none());

        // A deadline already past stops the create before any volume exists.
        let mut late = with_source("late", None);
        late.timeouts = Some(Timeouts {
            create: Some("0s".into()),
        });
        let e = LvmVolume.create(&ctx, late).await.expect_err("timed out");
        assert_eq!(e.diags.0[0].summary, "Volume Creation Timed Out");
        assert!(conn
            .find_volume("default-pool", "late")
            .await
            .expect("read")
            .is_none());
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
