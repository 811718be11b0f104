//! `libvirt_disk_attachment`: one disk attached to an existing domain, live
//! and in its saved definition, like `virsh attach-disk` / `detach-disk`.
//! The guest is never restarted; domains themselves are not managed here.

use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::resource::{IdentitySchema, Outcome, Resource};
use crate::framework::schema::{parse_duration, Attribute, Block, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type, Value};
use crate::libvirt::domain::{DomainInfo, AFFECT_CONFIG, AFFECT_LIVE};
use crate::libvirt::xml::{DiskSpec, DiskSpecSource, DiskXml, DomainXml};
use crate::libvirt::{Connection, Error};
use crate::names::{self, Bus};
use crate::provider::Ctx;

// ---------------------------------------------------------------- model

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

const DEFAULT_DETACH_TIMEOUT: Duration = Duration::from_secs(120);
const BUSES: &[&str] = &["virtio", "scsi", "sata", "ide", "usb", "xen"];

// ---------------------------------------------------------------- schema

fn schema() -> Schema {
    let replace_bool = |name: &'static str, text: &'static str| {
        Attribute::bool(name).default(false).replace().describe(text)
    };
    Schema::new(
        "A volume or block device attached to an existing libvirt domain as a disk.\n\n\
         On a running domain the disk is hot-plugged (and added to the saved definition); on a shut-off \
         domain only the saved definition changes. The guest is never restarted. Detaching waits until \
         the guest has released the disk (virtio-scsi disks detach at once; virtio-blk needs the guest \
         OS to cooperate).",
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
                .describe(
                    "Also attach to the running domain (hotplug). Ignored while the domain is shut off.",
                ),
            Attribute::bool("persistent")
                .default(true)
                .describe("Also attach in the domain's saved definition, so the disk survives a restart."),
            Attribute::string("alias").computed().describe("Device alias libvirt assigned in the running domain, such as `scsi0-0-0-1`."),
            Attribute::string("address").computed().describe("Address libvirt assigned, such as `drive:0:0:0:1` or `pci:0000:00:07.0`."),
        ],
    )
    .with_block(Block::timeouts(&[("delete", "2m")]))
}

// ---------------------------------------------------------------- validate

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

fn inferred_bus(target: &str) -> Option<Bus> {
    names::validate_domain_target(target).ok()
}

fn bus_of(s: &State) -> Result<Bus, Diagnostic> {
    match s.bus.as_deref() {
        Some(b) => b
            .parse::<Bus>()
            .map_err(|e| Diagnostic::error("Invalid bus", e.to_string()).at_attr("bus")),
        None => inferred_bus(&s.target).ok_or_else(|| {
            Diagnostic::error(
                "Invalid target",
                format!("Cannot infer a bus from target {:?}.", s.target),
            )
            .at_attr("target")
        }),
    }
}

// ---------------------------------------------------------------- plan

async fn plan(ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
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
    if plan.is_create() && inputs.iter().all(|a| plan.planned(a).is_wholly_known()) {
        let s: State = plan.planned_as()?;
        let conn = ctx.conn().await?;
        let dom = find_domain(conn, &s.domain).await?;
        let source = resolve_source(conn, &s).await?;
        // The create half of a replacement (`-replace`, or a changed attribute
        // that forces one) is planned while the disk it replaces is still
        // attached: a disk at this target with this source is that one (or an
        // identical one, which create's own preflight then refuses at apply).
        let replacing = views(&dom)
            .iter()
            .any(|(_, x)| x.find_disk(&s.target).is_some_and(|d| uses(d, &source)));
        if !replacing {
            preflight(conn, &s, &dom, &source).await?;
        }
        plan.set("id", format!("{}/{}", dom.uuid, s.target));
    }
    Ok(())
}

async fn find_domain(conn: &Connection, domain: &str) -> Result<DomainInfo, Diagnostics> {
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
        .into()
    })
}

/// What the disk points at, resolved on the hypervisor.
struct Source {
    spec: DiskSpecSource,
    /// The block device path behind it.
    dev: String,
}

async fn resolve_source(conn: &Connection, s: &State) -> Result<Source, Diagnostics> {
    if let Some(path) = &s.path {
        return Ok(Source {
            spec: DiskSpecSource::Block(path.clone()),
            dev: path.clone(),
        });
    }
    let key = s.volume_id.clone().unwrap_or_default();
    let v = conn.find_volume_by(&key, false).await?.ok_or_else(|| {
        Diagnostic::error(
            "Volume Not Found",
            format!(
                "No storage volume with key {key:?} exists on {}. Set volume_id to the id of a \
                 libvirt_lvm_volume (its LV UUID, see `virsh vol-key`), or set path to a block device instead.",
                conn.display_uri()
            ),
        )
        .at_attr("volume_id")
    })?;
    Ok(Source {
        dev: v.path(),
        spec: DiskSpecSource::Volume {
            pool: v.pool.clone(),
            volume: v.xml.name.clone(),
        },
    })
}

fn uses(disk: &DiskXml, source: &Source) -> bool {
    let by_volume = match &source.spec {
        DiskSpecSource::Volume { pool, volume } => {
            disk.source.pool.as_deref() == Some(pool.as_str())
                && disk.source.volume.as_deref() == Some(volume.as_str())
        }
        DiskSpecSource::Block(_) => false,
    };
    // A block device may also be attached as `type='file'` (virsh's guess).
    by_volume
        || [&disk.source.dev, &disk.source.file]
            .iter()
            .any(|p| p.as_deref() == Some(source.dev.as_str()))
}

/// Checks that name the fix, before anything changes.
async fn preflight(
    conn: &Connection,
    s: &State,
    dom: &DomainInfo,
    source: &Source,
) -> Result<(), Diagnostics> {
    let bus = bus_of(s)?;
    for (view, xml) in views(dom) {
        if let Some(d) = xml.find_disk(&s.target) {
            return Err(Diagnostic::error(
                "Target Already In Use",
                format!(
                    "Domain {:?} already has a disk {} in its {view} definition (source {}). Choose another target.",
                    dom.name,
                    s.target,
                    describe_source(d)
                ),
            )
            .at_attr("target")
            .into());
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
        .at_attr("bus")
        .into());
    }
    if bus == Bus::Virtio && dom.active && s.live != Some(false) && !dom.live.has_acpi {
        return Err(acpi_diagnostic(&dom.name).into());
    }
    if s.shareable != Some(true) {
        for other in conn.list_domains().await? {
            for (view, xml) in views(&other) {
                if let Some(d) = xml.disks.iter().find(|d| uses(d, source) && !d.shareable) {
                    return Err(Diagnostic::error(
                        "Volume Already Attached",
                        format!(
                            "{} is already attached to domain {:?} as {} ({view} definition). Attaching one volume \
                             to two domains corrupts it unless both use a cluster filesystem: set shareable = true \
                             if that is what you want, or detach it there first.",
                            source.dev, other.name, d.target_dev
                        ),
                    )
                    .at_attr(if s.path.is_some() { "path" } else { "volume_id" })
                    .into());
                }
            }
        }
    }
    Ok(())
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

fn views(dom: &DomainInfo) -> Vec<(&'static str, &DomainXml)> {
    let mut v = Vec::new();
    if dom.active {
        v.push(("running", &dom.live));
    }
    if dom.persistent {
        v.push(("persistent", &dom.config));
    }
    v
}

fn describe_source(d: &DiskXml) -> String {
    match (&d.source.dev, &d.source.pool, &d.source.volume, &d.source.file) {
        (Some(dev), ..) => dev.clone(),
        (_, Some(p), Some(v), _) => format!("{p}/{v}"),
        (.., Some(f)) => f.clone(),
        _ => "none".into(),
    }
}

fn spec(s: &State, source: &Source) -> Result<String, Diagnostic> {
    DiskSpec {
        source: source.spec.clone(),
        target_dev: s.target.clone(),
        bus: bus_of(s)?,
        read_only: s.read_only == Some(true),
        shareable: s.shareable == Some(true),
        serial: s.serial.clone(),
        cache: s.cache.clone(),
        io: s.io.clone(),
        discard: s.discard.clone(),
    }
    .to_xml()
    .map_err(|e| Diagnostic::error("Invalid Disk Definition", e.to_string()))
}

fn hotplug_error(e: Error, domain: &str) -> Diagnostic {
    if e.message()
        .is_some_and(|m| m.contains("does not support hotplugging"))
    {
        let mut d = acpi_diagnostic(domain);
        d.detail = format!("{}\n\nlibvirt: {e}", d.detail);
        d
    } else {
        Diagnostic::from(e)
    }
}

// ---------------------------------------------------------------- create

async fn create(ctx: &Ctx, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    let dom = find_domain(conn, &planned.domain).await?;
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
    let xml = spec(&planned, &source)?;
    conn.attach_device(&dom.uuid, xml, flags)
        .await
        .map_err(|e| hotplug_error(e, &dom.name))?;
    let mut s = planned;
    s.id = Some(format!("{}/{}", dom.uuid, s.target));
    match read(conn, s.clone()).await? {
        Some(s) => Ok(s),
        None => Err(Diagnostic::error(
            "Disk Vanished",
            "The disk was attached but is not in the domain's definition.",
        )
        .into()),
    }
}

// ---------------------------------------------------------------- read

async fn read(conn: &Connection, mut s: State) -> Result<Option<State>, Diagnostics> {
    let key =
        s.id.as_deref()
            .and_then(|id| id.split_once('/'))
            .map(|(u, _)| u.to_string());
    let dom = match conn.find_domain(key.as_deref().unwrap_or(&s.domain)).await? {
        Some(d) => d,
        None => return Ok(None),
    };
    let live_disk = dom.active.then(|| dom.live.find_disk(&s.target)).flatten();
    let config_disk = dom.persistent.then(|| dom.config.find_disk(&s.target)).flatten();
    let Some(found) = live_disk.or(config_disk) else {
        return Ok(None);
    };
    if dom.active {
        s.live = Some(live_disk.is_some());
    }
    if dom.persistent {
        s.persistent = Some(config_disk.is_some());
    }
    // A disk at our target that points elsewhere shows as a change of source.
    let expected = resolve_source(conn, &s).await.ok();
    if !expected.as_ref().is_some_and(|src| uses(found, src)) {
        match (&found.source.pool, &found.source.volume) {
            (Some(pool), Some(vol)) => {
                s.volume_id = conn.find_volume(pool, vol).await?.map(|v| v.key());
                s.path = None;
            }
            _ => {
                s.path = found.source.dev.clone().or_else(|| found.source.file.clone());
                s.volume_id = None;
            }
        }
    }
    s.read_only = Some(found.readonly);
    s.shareable = Some(found.shareable);
    s.id = Some(format!("{}/{}", dom.uuid, s.target));
    let shown = live_disk.unwrap_or(found);
    s.alias = shown.alias.clone();
    s.address = shown.address.as_ref().map(|a| a.to_string());
    Ok(Some(s))
}

// ---------------------------------------------------------------- update

async fn update(ctx: &Ctx, prior: State, planned: State) -> Outcome<State> {
    let conn = ctx.conn().await?;
    let dom = find_domain(conn, &planned.domain).await?;
    let source = resolve_source(conn, &planned).await?;
    let xml = spec(&planned, &source)?;
    let want_live = planned.live != Some(false) && dom.active;
    let want_config = planned.persistent != Some(false) && dom.persistent;
    let has_live = dom.active && dom.live.find_disk(&planned.target).is_some();
    let has_config = dom.persistent && dom.config.find_disk(&planned.target).is_some();
    let mut attach = 0;
    let mut detach = 0;
    if want_live != has_live && dom.active {
        if want_live {
            attach |= AFFECT_LIVE
        } else {
            detach |= AFFECT_LIVE
        }
    }
    if want_config != has_config && dom.persistent {
        if want_config {
            attach |= AFFECT_CONFIG
        } else {
            detach |= AFFECT_CONFIG
        }
    }
    if attach != 0 {
        conn.attach_device(&dom.uuid, xml.clone(), attach)
            .await
            .map_err(|e| hotplug_error(e, &dom.name))?;
    }
    if detach != 0 {
        conn.detach_device(&dom.uuid, xml, detach).await?;
        if detach & AFFECT_LIVE != 0 {
            wait_detached(conn, &dom.uuid, &planned.target, detach_timeout(&planned)?).await?;
        }
    }
    let _ = prior;
    match read(conn, planned.clone()).await? {
        Some(s) => Ok(s),
        None => Err(Diagnostic::error(
            "Disk Vanished",
            "The disk is no longer in the domain's definitions.",
        )
        .into()),
    }
}

fn detach_timeout(s: &State) -> Result<Duration, Diagnostic> {
    match s.timeouts.as_ref().and_then(|t| t.delete.as_deref()) {
        Some(t) => parse_duration(t).map_err(|e| Diagnostic::error("Invalid timeouts.delete", e)),
        None => Ok(DEFAULT_DETACH_TIMEOUT),
    }
}

/// Waits until the running domain no longer has the disk. libvirt's detach
/// returns once QEMU was asked; the guest may take its time (virtio-blk).
async fn wait_detached(
    conn: &Connection,
    domain: &str,
    target: &str,
    timeout: Duration,
) -> Result<(), Diagnostic> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut delay = Duration::from_millis(50);
    loop {
        match conn.find_domain(domain).await? {
            Some(d) if d.active && d.live.find_disk(target).is_some() => {}
            _ => return Ok(()),
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(Diagnostic::error(
                "Guest Did Not Release The Disk",
                format!(
                    "Domain {domain:?} still has {target} in its running configuration {} s after the detach \
                     request. Unplugging a virtio-blk disk needs the guest OS to cooperate; a guest without one (or \
                     that holds the disk busy) never releases it. The persistent definition has already changed, so \
                     the disk goes away at the next shutdown. Raise timeouts.delete, release the disk in the guest, \
                     or use a scsi target (sdX), which detaches at once.",
                    timeout.as_secs()
                ),
            ));
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_millis(500));
    }
}

// ---------------------------------------------------------------- delete

async fn delete(ctx: &Ctx, prior: State) -> Result<(), Diagnostics> {
    let conn = ctx.conn().await?;
    let Some(dom) = conn.find_domain(&prior.domain).await? else {
        return Ok(());
    };
    let in_live = dom.active && dom.live.find_disk(&prior.target).is_some();
    let in_config = dom.persistent && dom.config.find_disk(&prior.target).is_some();
    let flags = (if in_live { AFFECT_LIVE } else { 0 }) | (if in_config { AFFECT_CONFIG } else { 0 });
    if flags == 0 {
        return Ok(());
    }
    // Detach exactly the disk at our target, whatever libvirt now says it holds.
    let found = if in_live {
        dom.live.find_disk(&prior.target)
    } else {
        dom.config.find_disk(&prior.target)
    };
    let source = match found {
        Some(d) => match (&d.source.pool, &d.source.volume, &d.source.dev) {
            (Some(p), Some(v), _) => DiskSpecSource::Volume {
                pool: p.clone(),
                volume: v.clone(),
            },
            (_, _, Some(dev)) => DiskSpecSource::Block(dev.clone()),
            _ => DiskSpecSource::Block(prior.path.clone().unwrap_or_default()),
        },
        None => DiskSpecSource::Block(prior.path.clone().unwrap_or_default()),
    };
    let xml = spec(
        &prior,
        &Source {
            spec: source,
            dev: String::new(),
        },
    )?;
    conn.detach_device(&dom.uuid, xml, flags).await?;
    if in_live {
        wait_detached(conn, &dom.uuid, &prior.target, detach_timeout(&prior)?).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------- import

async fn import(ctx: &Ctx, id: &str) -> Result<State, Diagnostics> {
    let conn = ctx.conn().await?;
    let Some((domain, target)) = id.rsplit_once('/') else {
        return Err(Diagnostic::error(
            "Invalid Import Id",
            format!("{id:?} is not \"<domain name or uuid>/<target>\", such as \"web/sdb\"."),
        )
        .into());
    };
    let dom = find_domain(conn, domain).await?;
    let found = views(&dom)
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
        _ => s.path = disk.source.dev.clone(),
    }
    read(conn, s)
        .await?
        .ok_or_else(|| Diagnostic::error("Disk Not Found", "The disk disappeared during import.").into())
}

// ---------------------------------------------------------------- wiring

#[async_trait]
impl Resource for DiskAttachment {
    type State = State;
    const TYPE_NAME: &'static str = "libvirt_disk_attachment";

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
        read(ctx.conn().await?, state).await
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
        crate::framework::resource::import_id_from_pair(identity, "domain", "target")
    }
}
