//! `libvirt_disk_attachment`: one disk attached to an existing domain, live and in its saved
//! definition, like `virsh attach-disk` / `detach-disk`. The guest is never restarted; domains
//! themselves are not managed here.
//!
//! The attachment is the domain's UUID, the target and the disk's source: a domain undefined and
//! defined again under the same name is another domain, and a disk at the same target that points
//! at something else is another disk. Neither is ever detached by this resource.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{IdentitySchema, Outcome, Resource};
use crate::framework::schema::{parse_duration, Attribute, Block, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::libvirt::domain::{Attach, AttachedRead, Detach};
use crate::libvirt::facts::domain::{DomainInfo, View, AFFECT_CONFIG, AFFECT_LIVE};
use crate::libvirt::facts::volume::VolInfo;
use crate::libvirt::rules::usage::{describe_source, users, AttachedSource, NoOtherPools, Use, VolumeNames};
use crate::libvirt::xml::{DiskSpec, DiskSpecSource, DiskXml, DomainXml};
use crate::libvirt::{Connection, Error};
use crate::names::{self, Bus};
use crate::provider::Ctx;

/// The resource type.
pub struct DiskAttachment;

/// State and configuration of one attachment.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    id: Option<String>,
    domain: String,
    volume_id: Option<String>,
    path: Option<String>,
    target: String,
    bus: Option<String>,
    read_only: Option<bool>,
    shareable: Option<bool>,
    serial: Option<String>,
    cache: Option<String>,
    io: Option<String>,
    discard: Option<String>,
    live: Option<bool>,
    persistent: Option<bool>,
    alias: Option<String>,
    address: Option<String>,
    timeouts: Option<Timeouts>,
}

/// The `timeouts` block.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Timeouts {
    delete: Option<String>,
}

impl State {
    /// The domain UUID recorded in the id (`<domain uuid>/<target>`).
    fn domain_uuid(&self) -> Option<&str> {
        self.id
            .as_deref()?
            .split_once('/')
            .map(|(u, _)| u)
            .filter(|u| !u.is_empty())
    }

    fn source(&self) -> AttachedSource {
        match &self.path {
            Some(p) => AttachedSource::Path(p.clone()),
            None => AttachedSource::Volume {
                key: self.volume_id.clone().unwrap_or_default(),
            },
        }
    }

    fn bus(&self) -> Result<Bus, Diagnostic> {
        match self.bus.as_deref() {
            Some(b) => b
                .parse::<Bus>()
                .map_err(|e| Diagnostic::error("Invalid bus", e.to_string()).at_attr("bus")),
            None => inferred_bus(&self.target).ok_or_else(|| {
                Diagnostic::error(
                    "Invalid target",
                    format!("Cannot infer a bus from target {:?}.", self.target),
                )
                .at_attr("target")
            }),
        }
    }

    fn detach_timeout(&self) -> Result<Duration, Diagnostic> {
        match self.timeouts.as_ref().and_then(|t| t.delete.as_deref()) {
            Some(t) => parse_duration(t).map_err(|e| Diagnostic::error("Invalid timeouts.delete", e)),
            None => Ok(DEFAULT_DETACH_TIMEOUT),
        }
    }

    /// Copies what the domain's definitions say of the disk.
    fn fill(&mut self, dom: &DomainInfo, live: Option<&DiskXml>, config: Option<&DiskXml>) {
        if dom.active {
            self.live = Some(live.is_some());
        }
        if dom.persistent {
            self.persistent = Some(config.is_some());
        }
        if let Some(found) = live.or(config) {
            self.read_only = Some(found.readonly);
            self.shareable = Some(found.shareable);
            self.alias = found.alias.clone();
            self.address = found.address.as_ref().map(|a| a.to_string());
        }
        self.id = Some(format!("{}/{}", dom.uuid, self.target));
    }
}

const DEFAULT_DETACH_TIMEOUT: Duration = Duration::from_secs(120);
const BUSES: &[&str] = &["virtio", "scsi", "sata", "ide", "usb", "xen"];

#[async_trait]
impl Resource for DiskAttachment {
    type Ctx = Ctx;
    type State = State;
    const TYPE_NAME: &'static str = "libvirt_disk_attachment";

    // ------------------------------------------------------------ schema

    fn schema() -> Schema {
        let replace_bool = |name: &'static str, text: &'static str| {
            Attribute::bool(name).default(false).replace().describe(text)
        };
        Schema::new(
            "A volume or block device attached to an existing libvirt domain as a disk.\n\n\
             On a running domain the disk is hot-plugged (and added to the saved definition); on a shut-off \
             domain only the saved definition changes. The guest is never restarted. Detaching waits until \
             the guest has released the disk (virtio-scsi disks detach at once; virtio-blk needs the guest \
             OS to cooperate). The attachment is the domain's UUID, the target and the disk's source: a \
             domain defined again under the same name, or another disk put at the target, is never detached.\n\n\
             A LUKS-encrypted volume (a `libvirt_lvm_volume` with an `encryption` block, or any volume libvirt \
             holds a volume secret for) is attached with `<encryption format='luks'>` and its libvirt secret \
             inside the disk's `<source>`, so QEMU opens it and the guest sees the plain data.",
            vec![
                Attribute::string("id").computed().stable().describe("The domain's UUID and the target, as `<domain uuid>/<target>`."),
                Attribute::string("domain")
                    .required()
                    .replace()
                    .describe("Name or UUID of the domain. The domain must exist; it is not managed by this resource."),
                Attribute::string("volume_id")
                    .optional()
                    .replace()
                    .describe(
                        "Key of the volume to attach, for example `libvirt_lvm_volume.data.id`. The disk is written \
                         as `<disk type='volume'>` with its pool and volume. Exactly one of `volume_id` and `path`.",
                    ),
                Attribute::string("path")
                    .optional()
                    .replace()
                    .validate(Validator::Str(names::validate_device_path))
                    .describe(
                        "Absolute path of a block device on the hypervisor, such as `/dev/vg0/data`. The disk is \
                         written as `<disk type='block'>`. Exactly one of `volume_id` and `path`.",
                    ),
                Attribute::string("target")
                    .required()
                    .replace()
                    .validate(Validator::Str(|t| names::validate_domain_target(t).map(|_| ())))
                    .describe("Device name in the guest's definition, such as `sdb` (SCSI) or `vdb` (virtio-blk)."),
                Attribute::string("bus")
                    .optional()
                    .computed()
                    .replace()
                    .one_of(BUSES)
                    .describe(
                        "Bus of the disk. Defaults from the target's prefix: `vd*` virtio, `sd*` scsi, `hd*` ide, \
                         `xvd*` xen. `scsi` needs a SCSI controller in the domain (virtio-scsi recommended).",
                    ),
                replace_bool("read_only", "Attach the disk read-only (`<readonly/>`)."),
                replace_bool(
                    "shareable",
                    "Mark the disk shareable (`<shareable/>`), allowing it to be attached to several domains at once. \
                     Without it, attaching a volume that another domain uses is refused.",
                ),
                Attribute::string("serial")
                    .optional()
                    .replace()
                    .describe("Serial number shown to the guest, e.g. in `/dev/disk/by-id/`."),
                Attribute::string("cache")
                    .optional()
                    .replace()
                    .one_of(&["default", "none", "writethrough", "writeback", "directsync", "unsafe"])
                    .describe("Host cache mode of the disk (`<driver cache=…>`)."),
                Attribute::string("io")
                    .optional()
                    .replace()
                    .one_of(&["native", "threads", "io_uring"])
                    .describe("I/O mode (`<driver io=…>`); `native` needs `cache = \"none\"` or `\"directsync\"`."),
                Attribute::string("discard")
                    .optional()
                    .replace()
                    .one_of(&["unmap", "ignore"])
                    .describe("Whether guest discard (TRIM) requests reach the volume (`<driver discard=…>`)."),
                Attribute::bool("live")
                    .default(true)
                    .describe("Also attach to the running domain (hotplug). Ignored while the domain is shut off."),
                Attribute::bool("persistent")
                    .default(true)
                    .describe("Also attach in the domain's saved definition, so the disk survives a restart."),
                Attribute::string("alias").computed().describe("Device alias libvirt assigned in the running domain, such as `scsi0-0-0-1`."),
                Attribute::string("address").computed().describe("Address libvirt assigned, such as `drive:0:0:0:1` or `pci:0000:00:07.0`."),
            ],
        )
        .with_block(Block::timeouts(&[("delete", "2m")]))
    }

    // ------------------------------------------------------------ validate

    fn validate(config: &Value, diags: &mut Diagnostics) {
        let vol = config.attr("volume_id").unwrap_or(&Value::Null);
        let path = config.attr("path").unwrap_or(&Value::Null);
        if vol.is_known() && path.is_known() {
            match (vol.is_null(), path.is_null()) {
                (true, true) => diags.attr_error(
                    "volume_id",
                    "Missing Disk Source",
                    "Set exactly one of volume_id (a libvirt_lvm_volume's id) or path (a block device path).",
                ),
                (false, false) => diags.attr_error(
                    "path",
                    "Conflicting Disk Sources",
                    "volume_id and path both name what to attach; set only one of them.",
                ),
                _ => {}
            }
        }
        if config.attr("live").and_then(Value::as_bool) == Some(false)
            && config.attr("persistent").and_then(Value::as_bool) == Some(false)
        {
            diags.attr_error(
                "persistent",
                "Nothing To Attach",
                "live = false and persistent = false would change neither the running domain nor its definition; \
                 set at least one of them to true.",
            );
        }
    }

    // ------------------------------------------------------------ plan

    async fn plan(&self, ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
        if plan.config("bus").is_null() {
            if let Some(bus) = plan.planned("target").as_str().and_then(inferred_bus) {
                plan.set("bus", bus.as_str());
            }
        }
        let inputs = [
            "domain",
            "volume_id",
            "path",
            "target",
            "bus",
            "live",
            "persistent",
            "shareable",
        ];
        if !plan.is_create() || !inputs.iter().all(|a| plan.planned(a).is_wholly_known()) {
            return Ok(());
        }
        let s: State = plan.planned_as()?;
        let conn = ctx.conn().await?;
        let dom = match find_domain(conn, &s.domain).await {
            Ok(dom) => dom,
            Err(d) => {
                plan.warn_refusal(d);
                return Ok(());
            }
        };
        let source = match resolve_source(conn, &s).await {
            Ok(source) => source,
            Err(d) => {
                plan.warn_refusal(d);
                return Ok(());
            }
        };
        // The create half of a replacement (`-replace`, or a changed attribute that forces one) is
        // planned while the disk it replaces is still attached: a disk at this target with this
        // source is that one (or an identical one, which the apply then refuses).
        let replacing = dom.views().iter().any(|(_, x)| {
            x.find_disk(&s.target)
                .is_some_and(|d| source.names.used_by(d, &NoOtherPools))
        });
        if !replacing {
            if let Err(d) = preflight(conn, &s, &dom, &source).await {
                plan.warn_refusal(d);
            }
        }
        // The domain the plan was made for: the apply refuses another domain of the same name.
        plan.set("id", format!("{}/{}", dom.uuid, s.target));
        Ok(())
    }

    // ------------------------------------------------------------ create

    async fn create(&self, ctx: &Ctx, planned: State) -> Outcome<State> {
        let conn = ctx.conn().await?;
        let dom = find_domain(conn, &planned.domain).await?;
        if let Some(planned_uuid) = planned.domain_uuid().filter(|u| *u != dom.uuid) {
            return Err(Diagnostic::error(
                "Domain Changed Since The Plan",
                format!(
                    "The plan was made for domain {:?} with UUID {planned_uuid}; {:?} now has UUID {} (it was defined \
                     again). Nothing was attached. Run `terraform plan` again to attach to the new domain.",
                    planned.domain, dom.name, dom.uuid
                ),
            )
            .at_attr("domain")
            .into());
        }
        let source = resolve_source(conn, &planned).await?;
        preflight(conn, &planned, &dom, &source).await?;
        let mut flags = 0;
        if planned.persistent != Some(false) && dom.persistent {
            flags |= AFFECT_CONFIG;
        }
        if planned.live != Some(false) && dom.active {
            flags |= AFFECT_LIVE;
        }
        if flags == 0 {
            return Err(Diagnostic::error(
                "Nothing To Attach To",
                format!(
                    "Domain {:?} is {} and the attachment asks for live = {} and persistent = {}: no definition would \
                     change. Start the domain or set persistent = true.",
                    dom.name,
                    if dom.active { "running without a saved definition" } else { "shut off" },
                    planned.live != Some(false),
                    planned.persistent != Some(false)
                ),
            )
            .into());
        }
        let xml = spec(&planned, &source.spec, source.encryption.as_deref())?;
        let mut s = planned;
        s.id = Some(format!("{}/{}", dom.uuid, s.target));
        let volume = Some((source.names.clone(), s.shareable == Some(true)));
        match conn.attach_disk(&dom.uuid, &s.target, xml, flags, volume).await {
            Ok(Attach::Attached) => {}
            Ok(Attach::InUse(u)) => return Err(already_attached(&s, &source, &u).into()),
            Ok(Attach::NoDomain) => return Err(domain_gone(&s.domain).into()),
            Ok(Attach::TargetTaken { view, found }) => {
                return Err(target_taken(&dom.name, &s.target, view, &found).into())
            }
            // The reply was lost after the request went out: the target was free when it left (checked
            // in the same piece of work), so a disk with this source there now is this attach's.
            Err(e) if e.is_connection_lost() => {
                return match reread(conn, s).await {
                    Ok(Some(s)) => Ok(s),
                    _ => Err(Diagnostic::from(e).into()),
                }
            }
            Err(e) => return Err(hotplug_error(e, &dom.name).into()),
        }
        match reread(conn, s).await? {
            Some(s) => Ok(s),
            None => Err(Diagnostic::error(
                "Disk Vanished",
                "The disk was attached but is not in the domain's definition.",
            )
            .into()),
        }
    }

    // ------------------------------------------------------------ read

    async fn read(&self, ctx: &Ctx, s: State, notes: &mut Diagnostics) -> Result<Option<State>, Diagnostics> {
        let Some(uuid) = s.domain_uuid().map(str::to_string) else {
            return Ok(None);
        };
        let conn = ctx.conn().await?;
        match conn.attached_disk(&uuid, &s.target, s.source()).await? {
            AttachedRead::Found(f) => {
                let mut s = s;
                s.fill(&f.domain, f.live.as_ref(), f.config.as_ref());
                Ok(Some(s))
            }
            AttachedRead::Gone => Ok(None),
            AttachedRead::NotThisDisk { domain, found } => {
                notes.push(other_disk(
                    "Disk Is No Longer This Resource's",
                    &s,
                    &domain,
                    &found,
                    "It is left alone and removed from the state.",
                ));
                Ok(None)
            }
            // The volume cannot be looked up (its pool stopped): the disk is kept as last read.
            AttachedRead::Unverifiable => Ok(Some(s)),
        }
    }

    // ------------------------------------------------------------ update

    async fn update(&self, ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
        let conn = ctx.conn().await?;
        let uuid = prior
            .domain_uuid()
            .ok_or_else(|| domain_gone(&prior.domain))?
            .to_string();
        let AttachedRead::Found(found) = conn.attached_disk(&uuid, &prior.target, prior.source()).await?
        else {
            return Err(Diagnostic::error(
                "Disk Vanished",
                "The disk is no longer in the domain's definitions (or another disk is at its target); nothing was \
                 changed. Run `terraform plan` to see it planned again.",
            )
            .into());
        };
        let (dom, live, config) = (&found.domain, &found.live, &found.config);
        let want_live = planned.live != Some(false) && dom.active;
        let want_config = planned.persistent != Some(false) && dom.persistent;
        let (has_live, has_config) = (live.is_some(), config.is_some());
        let mut attach = 0;
        let mut detach = 0;
        if dom.active && want_live != has_live {
            if want_live {
                attach |= AFFECT_LIVE
            } else {
                detach |= AFFECT_LIVE
            }
        }
        if dom.persistent && want_config != has_config {
            if want_config {
                attach |= AFFECT_CONFIG
            } else {
                detach |= AFFECT_CONFIG
            }
        }
        if attach != 0 {
            let source = resolve_source(conn, &planned).await?;
            let xml = spec(&planned, &source.spec, source.encryption.as_deref())?;
            let volume = Some((source.names.clone(), planned.shareable == Some(true)));
            match conn
                .attach_disk(&uuid, &planned.target, xml, attach, volume)
                .await
            {
                Ok(Attach::Attached) => {}
                Ok(Attach::InUse(u)) => return Err(already_attached(&planned, &source, &u).into()),
                Ok(Attach::NoDomain) => return Err(domain_gone(&planned.domain).into()),
                Ok(Attach::TargetTaken { view, found }) => {
                    return Err(target_taken(&dom.name, &planned.target, view, &found).into())
                }
                Err(e) => return Err(hotplug_error(e, &dom.name).into()),
            }
        }
        if detach != 0 {
            detach_checked(conn, &prior, &uuid, detach, &mut Diagnostics::new()).await?;
        }
        match reread(conn, planned).await? {
            Some(s) => Ok(s),
            None => Err(Diagnostic::error(
                "Disk Vanished",
                "The disk is no longer in the domain's definitions.",
            )
            .into()),
        }
    }

    // ------------------------------------------------------------ delete

    async fn delete(&self, ctx: &Ctx, prior: State, notes: &mut Diagnostics) -> Result<(), Diagnostics> {
        let Some(uuid) = prior.domain_uuid().map(str::to_string) else {
            notes.push(Diagnostic::warning(
                "Nothing To Detach",
                format!(
                    "The state of the attachment at {} records no domain UUID, so no disk can be proven to be this \
                     resource's; nothing was detached.",
                    prior.target
                ),
            ));
            return Ok(());
        };
        let conn = ctx.conn().await?;
        detach_checked(conn, &prior, &uuid, AFFECT_LIVE | AFFECT_CONFIG, notes).await
    }

    // ------------------------------------------------------------ import

    async fn import(&self, ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
        let conn = ctx.conn().await?;
        let Some((domain, target)) = id.rsplit_once('/') else {
            return Err(Diagnostic::error(
                "Invalid Import Id",
                format!("{id:?} is not \"<domain name or uuid>/<target>\", such as \"web/sdb\"."),
            )
            .into());
        };
        let dom = find_domain(conn, domain).await?;
        let found = dom
            .views()
            .into_iter()
            .find_map(|(_, x)| x.find_disk(target))
            .cloned();
        let Some(disk) = found else {
            return Err(Diagnostic::error(
                "Disk Not Found",
                format!("Domain {:?} has no disk with target {target:?}.", dom.name),
            )
            .into());
        };
        let mut s = State {
            id: Some(format!("{}/{target}", dom.uuid)),
            domain: domain.to_string(),
            target: target.to_string(),
            bus: disk.target_bus.clone(),
            serial: disk.serial.clone(),
            cache: disk.driver.cache.clone(),
            io: disk.driver.io.clone(),
            discard: disk.driver.discard.clone(),
            live: Some(true),
            persistent: Some(true),
            ..Default::default()
        };
        match (&disk.source.pool, &disk.source.volume) {
            (Some(p), Some(v)) => s.volume_id = conn.find_volume(p, v).await?.map(|v| v.key()),
            _ => s.path = disk.source.dev.clone().or_else(|| disk.source.file.clone()),
        }
        reread(conn, s)
            .await?
            .ok_or_else(|| Diagnostic::error("Disk Not Found", "The disk disappeared during import.").into())
    }

    // ------------------------------------------------------------ identity

    fn identity_schema() -> Option<IdentitySchema> {
        Some(IdentitySchema {
            version: 0,
            attributes: vec![
                ("domain", Type::String, true, "Name or UUID of the domain."),
                ("target", Type::String, true, "Target device name of the disk."),
            ],
        })
    }

    fn identity(s: &State) -> Option<Value> {
        Some(Value::object([
            ("domain", Value::from(s.domain.as_str())),
            ("target", Value::from(s.target.as_str())),
        ]))
    }

    fn import_id_from_identity(identity: &Value) -> Result<String, Diagnostics> {
        super::import_id_from_identity(identity, &["domain", "target"])
    }
}

fn inferred_bus(target: &str) -> Option<Bus> {
    names::validate_domain_target(target).ok()
}

/// The state as the domain has it now (None when the disk is not there as this attachment).
async fn reread(conn: &Connection, mut s: State) -> Result<Option<State>, Diagnostics> {
    let Some(uuid) = s.domain_uuid().map(str::to_string) else {
        return Ok(None);
    };
    match conn.attached_disk(&uuid, &s.target, s.source()).await? {
        AttachedRead::Found(f) => {
            s.fill(&f.domain, f.live.as_ref(), f.config.as_ref());
            Ok(Some(s))
        }
        _ => Ok(None),
    }
}

async fn find_domain(conn: &Connection, domain: &str) -> Result<DomainInfo, Diagnostic> {
    conn.find_domain(domain).await?.ok_or_else(|| {
        Diagnostic::error(
            "Domain Not Found",
            format!(
                "No domain named or with UUID {domain:?} exists on {}. The domain must exist before a disk can be \
                 attached (see `virsh list --all`).",
                conn.display_uri()
            ),
        )
        .at_attr("domain")
    })
}

/// What the disk points at, resolved on the hypervisor.
struct Source {
    spec: DiskSpecSource,
    /// Every name of it, to find its other users.
    names: VolumeNames,
    /// How it is shown in messages.
    shown: String,
    /// The passphrase secret when the source is a LUKS-encrypted volume.
    encryption: Option<String>,
}

async fn resolve_source(conn: &Connection, s: &State) -> Result<Source, Diagnostic> {
    if let Some(path) = &s.path {
        // A path attaches whatever is there; a volume at that path has its other names too.
        let (names, encryption) = match conn.volume_by_path(path).await? {
            Some(v) => (VolumeNames::of(&v), encryption_secret(conn, &v).await?),
            None => (VolumeNames::new("", "", path, ""), None),
        };
        return Ok(Source {
            spec: DiskSpecSource::Block(path.clone()),
            names,
            shown: path.clone(),
            encryption,
        });
    }
    let key = s.volume_id.clone().unwrap_or_default();
    let v = conn.volume_by_key(&key).await?.ok_or_else(|| {
        Diagnostic::error(
            "Volume Not Found",
            format!(
                "No storage volume with key {key:?} exists on {}. Set volume_id to the id of a libvirt_lvm_volume \
                 (its LV UUID, see `virsh vol-key`), or set path to a block device instead.",
                conn.display_uri()
            ),
        )
        .at_attr("volume_id")
    })?;
    Ok(Source {
        encryption: encryption_secret(conn, &v).await?,
        names: VolumeNames::of(&v),
        shown: v.path(),
        spec: DiskSpecSource::Volume {
            pool: v.pool.clone(),
            volume: v.xml.name.clone(),
        },
    })
}

/// The passphrase secret of an encrypted volume (see `Connection::volume_encryption_secret`); a
/// volume without one is attached as plain data.
async fn encryption_secret(conn: &Connection, v: &VolInfo) -> Result<Option<String>, Diagnostic> {
    Ok(conn.volume_encryption_secret(&v.path()).await?)
}

/// Checks that name the fix, before anything changes.
async fn preflight(
    conn: &Connection,
    s: &State,
    dom: &DomainInfo,
    source: &Source,
) -> Result<(), Diagnostic> {
    let bus = s.bus()?;
    for (view, xml) in dom.views() {
        if let Some(d) = xml.find_disk(&s.target) {
            return Err(target_taken(&dom.name, &s.target, view, &describe_source(d)));
        }
    }
    let current: &DomainXml = if dom.active { &dom.live } else { &dom.config };
    if bus == Bus::Scsi && !current.controllers.iter().any(|c| c.ctype == "scsi") {
        return Err(Diagnostic::error(
            "Domain Has No SCSI Controller",
            format!(
                "Target {} is on the scsi bus, but domain {:?} has no SCSI controller. Add \
                 <controller type='scsi' model='virtio-scsi'/> to the domain, or use a virtio target such as vdb.",
                s.target, dom.name
            ),
        )
        .at_attr("bus"));
    }
    if bus == Bus::Virtio && dom.active && s.live != Some(false) && !dom.live.has_acpi {
        return Err(acpi_diagnostic(&dom.name));
    }
    // Two disks of one volume are only safe when both are shareable (a cluster filesystem); the
    // attach checks again in its own piece of work.
    let shareable = s.shareable == Some(true);
    let domains = conn.list_domains().await?;
    if let Some(u) = users(&domains, &source.names, &NoOtherPools)
        .into_iter()
        .find(|u| !(shareable && u.shareable))
    {
        return Err(already_attached(s, source, &u));
    }
    Ok(())
}

fn already_attached(s: &State, source: &Source, u: &Use) -> Diagnostic {
    Diagnostic::error(
        "Volume Already Attached",
        format!(
            "{} is already attached to {u}. Attaching one volume to two domains corrupts it unless both use a \
             cluster filesystem: set shareable = true if that is what you want, or detach it there first. \
             Nothing was attached.",
            source.shown
        ),
    )
    .at_attr(if s.path.is_some() { "path" } else { "volume_id" })
}

fn target_taken(domain: &str, target: &str, view: View, found: &str) -> Diagnostic {
    Diagnostic::error(
        "Target Already In Use",
        format!(
            "Domain {domain:?} already has a disk {target} in its {view} definition (source {found}). Choose another \
             target."
        ),
    )
    .at_attr("target")
}

fn domain_gone(domain: &str) -> Diagnostic {
    Diagnostic::error(
        "Domain Not Found",
        format!(
            "The domain {domain:?} this attachment was planned for no longer exists; nothing was changed."
        ),
    )
    .at_attr("domain")
}

fn acpi_diagnostic(domain: &str) -> Diagnostic {
    Diagnostic::error(
        "Domain Cannot Hotplug Disks",
        format!(
            "Domain {domain:?} has no ACPI, so QEMU cannot hot-plug PCI devices (libvirt says \"Bus 'pci.0' does \
             not support hotplugging\"). Add <features><acpi/></features> to the domain's definition (takes \
             effect at its next boot), or set live = false to change only its saved definition."
        ),
    )
    .at_attr("live")
}

fn spec(s: &State, source: &DiskSpecSource, encryption: Option<&str>) -> Result<String, Diagnostic> {
    DiskSpec {
        source: source.clone(),
        target_dev: s.target.clone(),
        bus: s.bus()?,
        read_only: s.read_only == Some(true),
        shareable: s.shareable == Some(true),
        serial: s.serial.clone(),
        cache: s.cache.clone(),
        io: s.io.clone(),
        discard: s.discard.clone(),
        encryption: encryption.map(str::to_string),
    }
    .to_xml()
    .map_err(|e| Diagnostic::error("Invalid Disk Definition", e.to_string()))
}

fn hotplug_error(e: Error, domain: &str) -> Diagnostic {
    if !e.is_hotplug_unsupported() {
        return Diagnostic::from(e);
    }
    // QEMU names the bus that refused: only the PCI bus (virtio-blk) depends on the domain's
    // ACPI; an IDE bus never hot-plugs, whatever the domain has ("Bus 'ide.0' does not support
    // hotplugging"), so blaming ACPI there would send the user after the wrong fix.
    let message = e.to_string();
    if message.contains("Bus 'pci") {
        let mut d = acpi_diagnostic(domain);
        d.detail = format!("{}\n\nlibvirt: {e}", d.detail);
        return d;
    }
    Diagnostic::error(
        "Disk Bus Cannot Be Hot-Plugged",
        format!(
            "QEMU cannot hot-plug a disk on this bus into the running domain {domain:?}. Set live = false to \
             change only its saved definition (the disk appears at the next boot), or use a bus that hot-plugs: \
             scsi (sdX, with a virtio-scsi controller), virtio (vdX) or usb.\n\nlibvirt: {message}"
        ),
    )
    // The target is always in the configuration; bus may be a default taken from it.
    .at_attr("target")
}

/// A warning naming both: the disk the state recorded and what now sits at its target.
fn other_disk(summary: &str, s: &State, domain: &str, found: &str, what_now: &str) -> Diagnostic {
    let recorded = match (&s.path, &s.volume_id) {
        (Some(p), _) => p.clone(),
        (None, Some(k)) => format!("the volume with key {k}"),
        _ => "its source".into(),
    };
    Diagnostic::warning(
        summary,
        format!(
            "The state records {recorded} attached as {} of domain {domain:?} (UUID {}); the disk at {} now points at \
             {found}. {what_now}",
            s.target,
            s.domain_uuid().unwrap_or("unknown"),
            s.target
        ),
    )
}

/// Detaches this attachment's disk from the definitions `flags` names, only where it is still this
/// attachment's (the domain's UUID, the target, the source), and waits for a live detach to finish.
async fn detach_checked(
    conn: &Connection,
    prior: &State,
    uuid: &str,
    flags: u32,
    notes: &mut Diagnostics,
) -> Result<(), Diagnostics> {
    let timeout = prior.detach_timeout()?;
    match conn.detach_disk(uuid, &prior.target, prior.source(), flags).await? {
        Detach::Detached { views, others } => {
            for (view, found) in others {
                notes.push(other_disk(
                    "Other Disk Left Attached",
                    prior,
                    &prior.domain,
                    &found,
                    &format!("In the {view} definition it is not this attachment's disk, so it was left there."),
                ));
            }
            if views.contains(&View::Running) {
                wait_detached(conn, prior, uuid, timeout).await?;
            }
            Ok(())
        }
        Detach::Gone => {
            notes.push(Diagnostic::warning(
                "Disk Already Detached",
                format!(
                    "Domain {:?} (UUID {uuid}) no longer exists or has no disk at {}; nothing was detached. A domain \
                     defined again under the same name is another domain and was left alone.",
                    prior.domain, prior.target
                ),
            ));
            Ok(())
        }
        Detach::NotThisDisk { domain, found } => {
            notes.push(other_disk(
                "Disk Not Detached",
                prior,
                &domain,
                &found,
                "It is not this attachment's disk, so it was left attached; only the state entry is removed.",
            ));
            Ok(())
        }
        Detach::Unverifiable { domain, found } => Err(Diagnostic::error(
            "Cannot Prove The Disk Is This Attachment's",
            format!(
                "Domain {domain:?} has a disk at {} pointing at {found}, but the volume this attachment attached (key \
                 {}) cannot be found (its pool stopped, or the LV gone), so whether that disk is it cannot be told. \
                 Nothing was detached. Start the volume's pool and destroy again, detach the disk by hand (`virsh \
                 detach-disk {domain} {} --persistent`), or `terraform state rm` this attachment.",
                prior.target,
                prior.volume_id.as_deref().unwrap_or_default(),
                prior.target
            ),
        )
        .into()),
    }
}

/// Waits until the running domain no longer has this attachment's disk. libvirt's detach returns
/// once QEMU was asked; the guest may take its time (virtio-blk).
async fn wait_detached(
    conn: &Connection,
    s: &State,
    uuid: &str,
    timeout: Duration,
) -> Result<(), Diagnostic> {
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(50);
    loop {
        match conn.attached_disk(uuid, &s.target, s.source()).await? {
            AttachedRead::Found(f) if f.domain.active && f.live.is_some() => {}
            _ => return Ok(()),
        }
        if start.elapsed() >= timeout {
            return Err(Diagnostic::error(
                "Guest Did Not Release The Disk",
                format!(
                    "Domain {:?} still has {} in its running configuration {} s after the detach request. Unplugging a \
                     virtio-blk disk needs the guest OS to cooperate; a guest without one (or that holds the disk \
                     busy) never releases it. The persistent definition has already changed, so the disk goes away \
                     at the next shutdown. Raise timeouts.delete, release the disk in the guest, or use a scsi target \
                     (sdX), which detaches at once.",
                    s.domain,
                    s.target,
                    timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

#[cfg(test)]
mod tests;
