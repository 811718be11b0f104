//! Domains and their disks: lookups, the one home of the rule "which disks use this volume", and
//! disk hotplug (attach-disk / detach-disk) that checks, in the same piece of work, that the disk
//! it detaches is the one it was asked to.
//!
//! A logical volume has many names on the hypervisor. A domain's disk may reach it as
//! `/dev/<vg>/<lv>`, `/dev/mapper/<vg>-<lv>` (every `-` inside a name doubled, as LVM does),
//! `/dev/disk/by-id/dm-name-<vg>-<lv>`, `/dev/disk/by-id/dm-uuid-LVM-<vg uuid><lv uuid>`, or as
//! `<disk type='volume'>` by pool and name; directly, or behind a qcow2 overlay (its backing chain)
//! or a block copy (its mirror). Every one of those counts as a use, in the running and the saved
//! definition of every domain, running or not. What cannot be told from the XML alone: a kernel
//! name (`/dev/dm-7`) or a filesystem UUID link; those are not recognised (docs/index.md says so).

use std::fmt;

use virt::connect::Connect;
use virt::domain::Domain;

use super::conn::Gate;
use super::error::{during, not_found_to_none, Error, Result};
use super::volume::VolInfo;
use super::xml::{DiskSpec, DiskSpecSource, DiskXml, DomainXml};
use super::Connection;

/// `virDomainDeviceModifyFlags`: change the running domain.
pub const AFFECT_LIVE: u32 = 1;
/// `virDomainDeviceModifyFlags`: change the saved definition.
pub const AFFECT_CONFIG: u32 = 2;
/// `virDomainXMLFlags`: the definition used at next boot.
const XML_INACTIVE: u32 = 2;

/// A domain's two views: what runs now and what boots next time.
#[derive(Clone, Debug)]
pub struct DomainInfo {
    /// UUID.
    pub uuid: String,
    /// Name.
    pub name: String,
    /// Whether it is running (or paused).
    pub active: bool,
    /// Whether it has a saved definition.
    pub persistent: bool,
    /// The running domain's XML (equal to `config` when shut off).
    pub live: DomainXml,
    /// The saved definition's XML.
    pub config: DomainXml,
}

/// Which definition of a domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The running domain.
    Running,
    /// The saved definition (what boots next time).
    Saved,
}

impl View {
    /// The `virDomainDeviceModifyFlags` bit that changes this view.
    pub fn flag(self) -> u32 {
        match self {
            View::Running => AFFECT_LIVE,
            View::Saved => AFFECT_CONFIG,
        }
    }
}

impl fmt::Display for View {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            View::Running => "running",
            View::Saved => "persistent",
        })
    }
}

impl DomainInfo {
    /// The definitions that exist: the running one while it runs, the saved one when persistent.
    pub fn views(&self) -> Vec<(View, &DomainXml)> {
        let mut v = Vec::with_capacity(2);
        if self.active {
            v.push((View::Running, &self.live));
        }
        if self.persistent {
            v.push((View::Saved, &self.config));
        }
        v
    }
}

// ---------------------------------------------------------------- the names of a volume

/// Every name by which a domain's disk can use one volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeNames {
    pool: String,
    name: String,
    /// Normalised paths that are this volume: `/dev/<vg>/<lv>` and its device-mapper names.
    paths: Vec<String>,
    /// The LV UUID without dashes, as it ends a `dm-uuid-LVM-…` name (None when the key is not an
    /// LV UUID, as on libvirt's test driver).
    bare_uuid: Option<String>,
}

/// LVM's device-mapper name of a VG or LV name: every `-` doubled, so that the single `-` between
/// the two stays unambiguous.
fn dm_escape(s: &str) -> String {
    s.replace('-', "--")
}

/// A path with `//`, `/./`, `..` and a trailing `/` resolved lexically. Lexically is right for the
/// names compared here: `/dev/<vg>` and `/dev/mapper` are directories, not links.
pub fn normalize_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if p.starts_with('/') {
        format!("/{}", parts.join("/"))
    } else {
        parts.join("/")
    }
}

impl VolumeNames {
    /// The names of the volume `name` in `pool`, at `path`, with libvirt key `key`.
    pub fn new(pool: &str, name: &str, path: &str, key: &str) -> Self {
        let path = normalize_path(path);
        let mut paths = vec![path.clone()];
        // /dev/<vg>/<lv>: the device-mapper names follow from the two names.
        if let [vg, lv] = path
            .strip_prefix("/dev/")
            .map(|rest| rest.split('/').collect::<Vec<_>>())
            .unwrap_or_default()
            .as_slice()
        {
            let dm = format!("{}-{}", dm_escape(vg), dm_escape(lv));
            paths.push(format!("/dev/mapper/{dm}"));
            paths.push(format!("/dev/disk/by-id/dm-name-{dm}"));
        }
        let bare: String = key.chars().filter(|c| *c != '-').collect();
        let bare_uuid = (bare.len() == 32 && bare.chars().all(|c| c.is_ascii_alphanumeric())).then_some(bare);
        VolumeNames {
            pool: pool.to_string(),
            name: name.to_string(),
            paths,
            bare_uuid,
        }
    }

    /// The names of a volume libvirt reported.
    pub fn of(v: &VolInfo) -> Self {
        Self::new(&v.pool, &v.xml.name, &v.path(), &v.key())
    }

    fn is_path(&self, p: &str) -> bool {
        let p = normalize_path(p);
        if self.paths.contains(&p) {
            return true;
        }
        // dm-uuid-LVM-<vg uuid><lv uuid>, possibly with a suffix for a snapshot's parts.
        match (&self.bare_uuid, p.strip_prefix("/dev/disk/by-id/dm-uuid-LVM-")) {
            (Some(uuid), Some(rest)) => rest.contains(uuid.as_str()),
            _ => false,
        }
    }

    /// Whether the disk reads this volume, by any name, directly or behind an overlay or mirror.
    pub fn used_by(&self, disk: &DiskXml) -> bool {
        disk.all_sources().any(|s| {
            let by_volume = s.pool.as_deref() == Some(self.pool.as_str())
                && s.volume.as_deref() == Some(self.name.as_str());
            by_volume || s.paths().any(|p| self.is_path(p))
        })
    }
}

/// One disk of one domain that uses a volume.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Use {
    /// The domain's name.
    pub domain: String,
    /// The disk's target (`sdb`).
    pub target: String,
    /// Which definition.
    pub view: View,
    /// Whether the disk is marked `<shareable/>`.
    pub shareable: bool,
}

impl fmt::Display for Use {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "domain {:?} as {} ({} definition)",
            self.domain, self.target, self.view
        )
    }
}

/// Every disk of `domains` that uses the volume named by `names`.
pub fn users(domains: &[DomainInfo], names: &VolumeNames) -> Vec<Use> {
    let mut out: Vec<Use> = Vec::new();
    for d in domains {
        for (view, xml) in d.views() {
            for disk in xml.disks.iter().filter(|disk| names.used_by(disk)) {
                let u = Use {
                    domain: d.name.clone(),
                    target: disk.target_dev.clone(),
                    view,
                    shareable: disk.shareable,
                };
                if !out.contains(&u) {
                    out.push(u);
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------- blocking pieces

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn parse(xml: &str, object: &str) -> Result<DomainXml> {
    DomainXml::parse(xml).map_err(|source| Error::Xml {
        object: format!("domain {object}"),
        source,
    })
}

fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The domain a user named: by UUID when it looks like one, else by name.
fn lookup_by_reference(c: &Connect, name_or_uuid: &str) -> Result<Option<Domain>> {
    let object = quoted(name_or_uuid);
    if looks_like_uuid(name_or_uuid) {
        let by_uuid = c
            .lookup_domain_by_uuid_string(name_or_uuid)
            .map_err(during("look up domain", object.clone()));
        if let Some(d) = not_found_to_none(by_uuid)? {
            return Ok(Some(d));
        }
    }
    not_found_to_none(
        c.lookup_domain_by_name(name_or_uuid)
            .map_err(during("look up domain", object)),
    )
}

/// The domain with this UUID, and no other.
pub(super) fn lookup_by_uuid(c: &Connect, uuid: &str) -> Result<Option<Domain>> {
    not_found_to_none(
        c.lookup_domain_by_uuid_string(uuid)
            .map_err(during("look up domain", quoted(uuid))),
    )
}

fn info(d: &Domain, object: &str) -> Result<DomainInfo> {
    let active = d.is_active().map_err(during("read domain", object))?;
    let persistent = d.is_persistent().map_err(during("read domain", object))?;
    let live = parse(&d.xml_desc(0).map_err(during("read domain", object))?, object)?;
    let config = if persistent {
        parse(
            &d.xml_desc(XML_INACTIVE).map_err(during("read domain", object))?,
            object,
        )?
    } else {
        live.clone()
    };
    Ok(DomainInfo {
        uuid: d.uuid_string().map_err(during("read domain", object))?,
        name: d.name().map_err(during("read domain", object))?,
        active,
        persistent,
        live,
        config,
    })
}

/// Every domain, running or defined, with both definitions: what a guard reads right before the
/// change it guards, in the same piece of work.
pub(super) fn all_domains(c: &Connect) -> Result<Vec<DomainInfo>> {
    let doms = c
        .list_all_domains(0)
        .map_err(during("list domains", "on the host"))?;
    let mut out = Vec::with_capacity(doms.len());
    for d in &doms {
        match info(d, "in the list") {
            Ok(i) => out.push(i),
            // Undefined between listing and reading: not there any more.
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Every use of the volume `names` by any domain, running or defined: the guard a volume's delete
/// runs right before the delete, in the same piece of work.
///
/// It reads at least every definition [`all_domains`] reads, in fewer calls: for each domain both
/// its running XML and its saved XML, without asking first whether it runs or is persistent (for a
/// domain that is not running the first is its saved definition; for a transient one libvirt
/// answers the second with the running definition). That is two calls a domain instead of four.
/// Only when a use is found (the delete is then refused) are the domains read again with
/// [`all_domains`], for a message that names the right definitions; should that second read find
/// nothing (a domain changed in between), the uses the first read found are returned, so a use seen
/// once always refuses the delete. Any failure of the quick read (other than a domain undefined
/// under it) falls back to [`all_domains`] as well.
pub(super) fn volume_users(c: &Connect, names: &VolumeNames) -> Result<Vec<Use>> {
    let doms = c
        .list_all_domains(0)
        .map_err(during("list domains", "on the host"))?;
    let mut seen: Vec<Use> = Vec::new();
    for d in &doms {
        for (view, flags) in [(View::Running, 0), (View::Saved, XML_INACTIVE)] {
            let xml = match d.xml_desc(flags) {
                Ok(xml) => xml,
                Err(e) => {
                    let e = Error::libvirt("read domain", "in the list", e);
                    if e.is_not_found() {
                        // Undefined between listing and reading: not there any more.
                        break;
                    }
                    return Ok(users(&all_domains(c)?, names));
                }
            };
            let Ok(parsed) = DomainXml::parse(&xml) else {
                // all_domains reports the document that cannot be read.
                return Ok(users(&all_domains(c)?, names));
            };
            for disk in parsed.disks.iter().filter(|disk| names.used_by(disk)) {
                let u = Use {
                    domain: d.name().unwrap_or_default(),
                    target: disk.target_dev.clone(),
                    view,
                    shareable: disk.shareable,
                };
                if !seen.contains(&u) {
                    seen.push(u);
                }
            }
        }
    }
    if seen.is_empty() {
        return Ok(seen);
    }
    let exact = users(&all_domains(c)?, names);
    Ok(if exact.is_empty() { seen } else { exact })
}

// ---------------------------------------------------------------- operations

/// What a disk attached by the provider points at, as recorded in its state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AttachedSource {
    /// A libvirt volume, by its key (the LV UUID).
    Volume {
        /// The key.
        key: String,
    },
    /// A host path the user gave.
    Path(String),
}

impl AttachedSource {
    /// Whether `disk` uses this source: any name of the volume, or exactly the path given.
    fn matches(&self, disk: &DiskXml, volume: Option<&VolumeNames>) -> bool {
        match (self, volume) {
            (AttachedSource::Volume { .. }, Some(names)) => names.used_by(disk),
            (AttachedSource::Volume { .. }, None) => false,
            (AttachedSource::Path(p), _) => {
                let p = normalize_path(p);
                disk.source.paths().any(|q| normalize_path(q) == p)
            }
        }
    }
}

/// A short description of what a disk points at, for messages.
pub fn describe_source(d: &DiskXml) -> String {
    match (&d.source.dev, &d.source.pool, &d.source.volume, &d.source.file) {
        (Some(dev), ..) => dev.clone(),
        (_, Some(p), Some(v), _) => format!("volume {p}/{v}"),
        (.., Some(f)) => f.clone(),
        _ => "no source".into(),
    }
}

/// The XML that detaches `disk` as it is (libvirt finds the disk by its target).
fn detach_xml(disk: &DiskXml) -> Result<String> {
    let source = match (
        &disk.source.pool,
        &disk.source.volume,
        &disk.source.dev,
        &disk.source.file,
    ) {
        (Some(p), Some(v), ..) => DiskSpecSource::Volume {
            pool: p.clone(),
            volume: v.clone(),
        },
        (_, _, Some(dev), _) => DiskSpecSource::Block(dev.clone()),
        (.., Some(f)) => DiskSpecSource::File(f.clone()),
        _ => DiskSpecSource::Block(String::new()),
    };
    let bus = disk
        .target_bus
        .as_deref()
        .and_then(|b| b.parse().ok())
        .or_else(|| crate::names::validate_domain_target(&disk.target_dev).ok())
        .unwrap_or(crate::names::Bus::Virtio);
    DiskSpec {
        source,
        target_dev: disk.target_dev.clone(),
        bus,
        read_only: disk.readonly,
        shareable: disk.shareable,
        serial: None,
        cache: None,
        io: None,
        discard: None,
    }
    .to_xml()
    .map_err(|source| Error::Xml {
        object: format!("disk {}", disk.target_dev),
        source,
    })
}

/// What [`Connection::detach_disk`] found and did.
#[derive(Debug)]
pub enum Detach {
    /// Detached from `views`. `others` lists definitions whose disk at the target is another one
    /// (left alone), with what it points at.
    Detached {
        /// Where it was detached.
        views: Vec<View>,
        /// Where another disk sits at the target.
        others: Vec<(View, String)>,
    },
    /// No domain has this UUID any more, or none of its definitions has a disk at the target:
    /// nothing was detached.
    Gone,
    /// The disk at the target is another one (its source is not what was attached): nothing was
    /// detached.
    NotThisDisk {
        /// The domain's name.
        domain: String,
        /// What the disk at the target points at.
        found: String,
    },
    /// The attached volume cannot be found any more (its pool stopped, or the LV gone), so the
    /// disk at the target cannot be proven to be it: nothing was detached.
    Unverifiable {
        /// The domain's name.
        domain: String,
        /// What the disk at the target points at.
        found: String,
    },
}

/// What [`Connection::attached_disk`] found at a target.
#[derive(Debug)]
pub enum AttachedRead {
    /// No domain has the UUID, or none of its definitions has a disk at the target.
    Gone,
    /// The disk, in the running and the saved definition.
    Found(Box<FoundDisk>),
    /// The disk at the target is another one.
    NotThisDisk {
        /// The domain's name.
        domain: String,
        /// What the disk at the target points at.
        found: String,
    },
    /// The attached volume cannot be found (its pool stopped, or the LV gone), so the disk at the
    /// target can be neither proven to be it nor to be another.
    Unverifiable,
}

/// A disk found where an attachment put it.
#[derive(Debug)]
pub struct FoundDisk {
    /// The domain.
    pub domain: DomainInfo,
    /// The disk in the running definition, when there.
    pub live: Option<DiskXml>,
    /// The disk in the saved definition, when there.
    pub config: Option<DiskXml>,
}

/// What [`Connection::attach_disk`] did.
#[derive(Debug)]
pub enum Attach {
    /// Attached to these definitions.
    Attached,
    /// No domain has this UUID: nothing was attached.
    NoDomain,
    /// A definition already has a disk at the target: nothing was attached.
    TargetTaken {
        /// Which definition.
        view: View,
        /// What that disk points at.
        found: String,
    },
}

impl Connection {
    /// The domain with this name or UUID, or `None`.
    pub async fn find_domain(&self, name_or_uuid: &str) -> Result<Option<DomainInfo>> {
        let id = name_or_uuid.to_string();
        self.read("look up domain", &quoted(&id), move |c| {
            lookup_by_reference(c, &id)?
                .map(|d| info(&d, &quoted(&id)))
                .transpose()
        })
        .await
    }

    /// The domain with this UUID, and no other (a domain defined again under the same name has
    /// another UUID and is not it).
    pub async fn domain(&self, uuid: &str) -> Result<Option<DomainInfo>> {
        let id = uuid.to_string();
        self.read("look up domain", &quoted(&id), move |c| {
            lookup_by_uuid(c, &id)?
                .map(|d| info(&d, &quoted(&id)))
                .transpose()
        })
        .await
    }

    /// Every domain, running or defined, with its live and saved definitions. Concurrent callers
    /// share one listing that started after they asked.
    pub async fn list_domains(&self) -> Result<Vec<DomainInfo>> {
        self.shared()
            .domains
            .get(&(), || self.read("list domains", "on the host", all_domains))
            .await
    }

    /// The disk at `target` of the domain with this UUID, when it is `source`.
    pub async fn attached_disk(
        &self,
        uuid: &str,
        target: &str,
        source: AttachedSource,
    ) -> Result<AttachedRead> {
        let (id, target) = (uuid.to_string(), target.to_string());
        self.read("look up domain", &quoted(&id), move |c| {
            let Some(d) = lookup_by_uuid(c, &id)? else {
                return Ok(AttachedRead::Gone);
            };
            let dom = info(&d, &quoted(&id))?;
            let volume = match &source {
                AttachedSource::Volume { key } => {
                    super::volume::lookup_by_key(c, key)?.map(|(_, v)| VolumeNames::of(&v))
                }
                AttachedSource::Path(_) => None,
            };
            let at = |view: View| {
                dom.views()
                    .into_iter()
                    .find(|(v, _)| *v == view)
                    .and_then(|(_, x)| x.find_disk(&target).cloned())
            };
            let (live, config) = (at(View::Running), at(View::Saved));
            let Some(any) = live.as_ref().or(config.as_ref()) else {
                return Ok(AttachedRead::Gone);
            };
            if matches!(source, AttachedSource::Volume { .. }) && volume.is_none() {
                return Ok(AttachedRead::Unverifiable);
            }
            let ours =
                |d: &Option<DiskXml>| d.as_ref().filter(|d| source.matches(d, volume.as_ref())).cloned();
            let (live_ours, config_ours) = (ours(&live), ours(&config));
            if live_ours.is_none() && config_ours.is_none() {
                return Ok(AttachedRead::NotThisDisk {
                    domain: dom.name.clone(),
                    found: describe_source(any),
                });
            }
            Ok(AttachedRead::Found(Box::new(FoundDisk {
                domain: dom,
                live: live_ours,
                config: config_ours,
            })))
        })
        .await
    }

    /// Attaches `disk` (its XML) at `target` to the domain with this UUID, in the definitions
    /// `flags` names; in the same piece of work it checks that the domain is that one and that
    /// no such definition has a disk at the target yet.
    pub async fn attach_disk(&self, uuid: &str, target: &str, xml: String, flags: u32) -> Result<Attach> {
        let (id, target) = (uuid.to_string(), target.to_string());
        self.change("attach disk to domain", &quoted(&id), move |c, gate: &Gate| {
            let Some(d) = lookup_by_uuid(c, &id)? else {
                return Ok(Attach::NoDomain);
            };
            let dom = info(&d, &quoted(&id))?;
            for (view, xml) in dom.views() {
                if flags & view.flag() == 0 {
                    continue;
                }
                if let Some(disk) = xml.find_disk(&target) {
                    return Ok(Attach::TargetTaken {
                        view,
                        found: describe_source(disk),
                    });
                }
            }
            gate.send()?;
            d.attach_device_flags(&xml, flags)
                .map_err(during("attach disk to domain", quoted(&id)))?;
            Ok(Attach::Attached)
        })
        .await
    }

    /// Detaches the disk at `target` of the domain with this UUID from the definitions `flags`
    /// names, only where that disk is `source`. One piece of work: look the domain up by UUID, read
    /// both definitions, resolve the volume by key, compare, detach.
    pub async fn detach_disk(
        &self,
        uuid: &str,
        target: &str,
        source: AttachedSource,
        flags: u32,
    ) -> Result<Detach> {
        let (id, target) = (uuid.to_string(), target.to_string());
        self.change("detach disk from domain", &quoted(&id), move |c, gate: &Gate| {
            let Some(d) = lookup_by_uuid(c, &id)? else {
                return Ok(Detach::Gone);
            };
            let dom = info(&d, &quoted(&id))?;
            let volume = match &source {
                AttachedSource::Volume { key } => {
                    super::volume::lookup_by_key(c, key)?.map(|(_, v)| VolumeNames::of(&v))
                }
                AttachedSource::Path(_) => None,
            };
            let mut detach = 0;
            let mut views = Vec::new();
            let mut others = Vec::new();
            let mut found_disk = None;
            for (view, xml) in dom.views() {
                let Some(disk) = xml.find_disk(&target) else {
                    continue;
                };
                if flags & view.flag() == 0 {
                    continue;
                }
                if source.matches(disk, volume.as_ref()) {
                    detach |= view.flag();
                    views.push(view);
                    found_disk.get_or_insert(disk.clone());
                } else {
                    others.push((view, describe_source(disk)));
                }
            }
            let Some(disk) = found_disk else {
                let domain = dom.name.clone();
                return Ok(match others.into_iter().next() {
                    None => Detach::Gone,
                    Some((_, found))
                        if volume.is_none() && matches!(source, AttachedSource::Volume { .. }) =>
                    {
                        Detach::Unverifiable { domain, found }
                    }
                    Some((_, found)) => Detach::NotThisDisk { domain, found },
                });
            };
            let xml = detach_xml(&disk)?;
            gate.send()?;
            d.detach_device_flags(&xml, detach)
                .map_err(during("detach disk from domain", quoted(&id)))?;
            Ok(Detach::Detached { views, others })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::xml::DiskSourceXml;

    const KEY: &str = "8Hx2cF-0xYq-3k2T-Qb7L-4WmE-gR5d-Zp1N9a";

    fn names() -> VolumeNames {
        VolumeNames::new("vm-pool", "db-data", "/dev/vg-1/db-data", KEY)
    }

    fn disk(source: DiskSourceXml) -> DiskXml {
        DiskXml {
            source,
            target_dev: "sdb".into(),
            ..Default::default()
        }
    }

    fn dev(p: &str) -> DiskSourceXml {
        DiskSourceXml {
            dev: Some(p.into()),
            ..Default::default()
        }
    }

    fn file(p: &str) -> DiskSourceXml {
        DiskSourceXml {
            file: Some(p.into()),
            ..Default::default()
        }
    }

    /// Every name of an LV counts as a use; near misses do not.
    #[test]
    fn every_name_of_a_volume_is_a_use() {
        let uuid: String = KEY.chars().filter(|c| *c != '-').collect();
        let vg_uuid = "Ab12Cd34Ef56Gh78Ij90Kl12Mn34Op56";
        let uses = [
            dev("/dev/vg-1/db-data"),
            file("/dev/vg-1/db-data"),
            dev("//dev/vg-1//db-data/"),
            dev("/dev/./vg-1/../vg-1/db-data"),
            dev("/dev/mapper/vg--1-db--data"),
            file("/dev/mapper/vg--1-db--data"),
            dev("/dev/disk/by-id/dm-name-vg--1-db--data"),
            dev(&format!("/dev/disk/by-id/dm-uuid-LVM-{vg_uuid}{uuid}")),
            dev(&format!("/dev/disk/by-id/dm-uuid-LVM-{vg_uuid}{uuid}-real")),
            DiskSourceXml {
                pool: Some("vm-pool".into()),
                volume: Some("db-data".into()),
                ..Default::default()
            },
        ];
        for s in uses {
            assert!(names().used_by(&disk(s.clone())), "{s:?} is a use");
        }
        let others = [
            dev("/dev/vg-1/db-data2"),
            dev("/dev/vg-1/db"),
            dev("/dev/mapper/vg-1-db-data"), // single dashes: another split of names
            dev("/dev/mapper/vg--1-db--data2"),
            dev("/dev/disk/by-id/dm-name-vg--1-db"),
            dev(&format!(
                "/dev/disk/by-id/dm-uuid-LVM-{vg_uuid}{}",
                "x".repeat(32)
            )),
            dev("/dev/vg-2/db-data"),
            DiskSourceXml {
                pool: Some("vm-pool".into()),
                volume: Some("db".into()),
                ..Default::default()
            },
            DiskSourceXml {
                pool: Some("other".into()),
                volume: Some("db-data".into()),
                ..Default::default()
            },
            DiskSourceXml::default(),
        ];
        for s in others {
            assert!(!names().used_by(&disk(s.clone())), "{s:?} is not a use");
        }
    }

    #[test]
    fn a_volume_behind_an_overlay_or_a_mirror_is_used() {
        let mut d = disk(file("/var/lib/libvirt/images/overlay.qcow2"));
        assert!(!names().used_by(&d));
        d.behind = vec![file("/var/lib/base.qcow2"), dev("/dev/mapper/vg--1-db--data")];
        assert!(names().used_by(&d), "the end of a backing chain");
        let mut d = disk(dev("/dev/other/lv"));
        d.behind = vec![dev("/dev/vg-1/db-data")];
        assert!(names().used_by(&d), "a block copy's mirror");
    }

    #[test]
    fn keys_that_are_not_lv_uuids_match_no_dm_uuid() {
        let n = VolumeNames::new("default-pool", "v", "/default-pool/v", "/default-pool/v");
        assert!(n.used_by(&disk(dev("/default-pool/v"))));
        assert!(!n.used_by(&disk(dev("/dev/disk/by-id/dm-uuid-LVM-defaultpoolv"))));
    }

    #[test]
    fn users_lists_each_disk_once_per_view() {
        let xml = |sources: &[DiskSourceXml]| DomainXml {
            name: "web".into(),
            uuid: None,
            id: None,
            domain_type: "qemu".into(),
            has_acpi: true,
            disks: sources
                .iter()
                .enumerate()
                .map(|(i, s)| DiskXml {
                    target_dev: format!("sd{}", (b'a' + i as u8) as char),
                    ..disk(s.clone())
                })
                .collect(),
            controllers: vec![],
        };
        let running = DomainInfo {
            uuid: "u1".into(),
            name: "web".into(),
            active: true,
            persistent: true,
            live: xml(&[dev("/dev/vg-1/db-data")]),
            config: xml(&[dev("/dev/vg-1/db-data"), dev("/dev/mapper/vg--1-db--data")]),
        };
        let off = DomainInfo {
            uuid: "u2".into(),
            name: "batch".into(),
            active: false,
            persistent: true,
            live: xml(&[dev("/dev/disk/by-id/dm-name-vg--1-db--data")]),
            config: xml(&[dev("/dev/disk/by-id/dm-name-vg--1-db--data")]),
        };
        let found: Vec<String> = users(&[running, off], &names())
            .iter()
            .map(Use::to_string)
            .collect();
        assert_eq!(
            found,
            [
                "domain \"web\" as sda (running definition)",
                "domain \"web\" as sda (persistent definition)",
                "domain \"web\" as sdb (persistent definition)",
                "domain \"batch\" as sda (persistent definition)",
            ]
        );
    }

    #[test]
    fn path_attachments_match_their_exact_path() {
        let s = AttachedSource::Path("/dev/vg0/data".into());
        assert!(s.matches(&disk(dev("/dev/vg0/data")), None));
        assert!(s.matches(&disk(file("/dev/vg0//data")), None));
        assert!(!s.matches(&disk(dev("/dev/vg0/other")), None));
        let v = AttachedSource::Volume { key: KEY.into() };
        assert!(
            !v.matches(&disk(dev("/dev/vg-1/db-data")), None),
            "unresolved: never proven"
        );
        assert!(v.matches(&disk(dev("/dev/vg-1/db-data")), Some(&names())));
    }

    #[test]
    fn paths_normalise_lexically() {
        for (p, want) in [
            ("/dev//vg/lv/", "/dev/vg/lv"),
            ("/dev/./vg/lv", "/dev/vg/lv"),
            ("/dev/vg/../vg/lv", "/dev/vg/lv"),
            ("/", "/"),
        ] {
            assert_eq!(normalize_path(p), want, "{p}");
        }
    }
}
