//! Domain operations: disk hotplug (attach-disk / detach-disk) that checks, in the same piece of
//! work, that the disk it detaches is the one it was asked to, and the guard every volume delete
//! runs: which domains use the volume now ([`volume_users`], by the rule in
//! [`crate::libvirt::rules::usage`]).

use virt::connect::Connect;

use super::conn::Gate;
use super::error::{during, Error, Result};
use super::facts::domain::{
    all_domains, info, lookup_by_reference, lookup_by_uuid, quoted, DomainInfo, View, XML_INACTIVE,
};
use super::facts::pool::{lookup_pool, pool_xml};
use super::facts::volume::lookup_by_key;
use super::rules::broken::{off, Guard};
use super::rules::usage::{describe_source, users, uses_in, AttachedSource, PoolDirs, Use, VolumeNames};
use super::xml::{DiskSpec, DiskSpecSource, DiskXml, DomainXml};
use super::Connection;

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
    let pools = LivePoolDirs::new(c);
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
                    return Ok(users(&all_domains(c)?, names, &pools));
                }
            };
            let Ok(parsed) = DomainXml::parse(&xml) else {
                // all_domains reports the document that cannot be read.
                return Ok(users(&all_domains(c)?, names, &pools));
            };
            for (target, shareable) in uses_in(&parsed, names, &pools) {
                let u = Use {
                    domain: d.name().unwrap_or_default(),
                    target,
                    view,
                    shareable,
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
    let exact = users(&all_domains(c)?, names, &pools);
    Ok(if exact.is_empty() { seen } else { exact })
}

/// The target directories of the host's pools, looked up by name on `c` as the in-use rule asks
/// (only for `<disk type='volume'>` sources naming another pool than the volume's own), each
/// pool once per piece of work. A pool that cannot be read resolves to nothing.
pub(super) struct LivePoolDirs<'a> {
    c: &'a Connect,
    seen: std::cell::RefCell<std::collections::HashMap<String, Option<String>>>,
}

impl<'a> LivePoolDirs<'a> {
    pub(super) fn new(c: &'a Connect) -> Self {
        LivePoolDirs {
            c,
            seen: Default::default(),
        }
    }
}

impl PoolDirs for LivePoolDirs<'_> {
    fn dir(&self, pool: &str) -> Option<String> {
        if let Some(dir) = self.seen.borrow().get(pool) {
            return dir.clone();
        }
        let dir = lookup_pool(self.c, pool)
            .ok()
            .and_then(|p| pool_xml(&p, pool).ok())
            .and_then(|x| x.target_path)
            .map(|d| d.trim_end_matches('/').to_string());
        self.seen.borrow_mut().insert(pool.to_string(), dir.clone());
        dir
    }
}

// ---------------------------------------------------------------- operations

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
        encryption: None,
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
    /// The volume, attached without `<shareable/>`, is used by a device of a domain (this one
    /// included): nothing was attached.
    InUse(Use),
    /// A definition already has a disk at the target: nothing was attached.
    TargetTaken {
        /// Which definition.
        view: View,
        /// What that disk points at.
        found: String,
    },
}

/// `virDomainBlockResizeFlags`: the size is in bytes.
const BLOCK_RESIZE_BYTES: u32 = 1;

/// What telling one running domain a volume's new size did.
#[derive(Debug)]
pub struct Told {
    /// The domain and disk.
    pub disk: Use,
    /// `None` when the domain now sees the new size; the failure otherwise.
    pub failed: Option<Error>,
}

impl Connection {
    /// Tells every running domain that has the volume `names` attached (live) that it is now
    /// `bytes` long (`virDomainBlockResize`): the guest sees the new size at once, without a
    /// restart. Saved definitions need nothing (they name the volume, not a size). One piece of
    /// work that reads every domain's running definition and resizes each disk of it that uses
    /// the volume; each disk's outcome is returned, so that a failure is told by name and the
    /// others still happen.
    pub async fn tell_domains_volume_size(&self, names: &VolumeNames, bytes: u64) -> Result<Vec<Told>> {
        let names = names.clone();
        self.change("resize disk of domain", "in the list", move |c, gate: &Gate| {
            let pools = LivePoolDirs::new(c);
            let running = all_domains(c)?.into_iter().filter(|d| d.active);
            let mut told = Vec::new();
            for d in running {
                // Disks only: a filesystem or memory device backed by the volume has no block
                // size to tell.
                let disks = d.live.disks.iter().filter(|disk| names.used_by(disk, &pools));
                for found in disks {
                    let target = found.target_dev.clone();
                    let disk = Use {
                        domain: d.name.clone(),
                        target: target.clone(),
                        view: View::Running,
                        shareable: found.shareable,
                    };
                    let Some(dom) = lookup_by_uuid(c, &d.uuid)? else {
                        continue;
                    };
                    gate.send()?;
                    let failed = dom
                        .block_resize(&target, bytes, BLOCK_RESIZE_BYTES)
                        .map_err(during("resize disk of domain", quoted(&d.name)))
                        .err();
                    told.push(Told { disk, failed });
                }
            }
            Ok(told)
        })
        .await
    }

    /// Every use of the volume `names` by any domain now (running or saved definitions, every
    /// kind of device): what a shrink checks right before it.
    pub async fn volume_users(&self, names: &VolumeNames) -> Result<Vec<Use>> {
        let names = names.clone();
        self.read("list domains", "on the host", move |c| volume_users(c, &names))
            .await
    }

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
                AttachedSource::Volume { key } => lookup_by_key(c, key)?.map(|(_, v)| VolumeNames::of(&v)),
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
    ///
    /// With `volume` (the names of the volume attached, and whether the new disk is
    /// `<shareable/>`), every domain's definitions are read in the same piece of work too, and the
    /// attach is refused when a device uses the volume unless both sides are shareable
    /// ([`Attach::InUse`]). This provider's attaches queue for one another here, so two
    /// attachments of one volume applied together cannot both pass the check.
    pub async fn attach_disk(
        &self,
        uuid: &str,
        target: &str,
        xml: String,
        flags: u32,
        volume: Option<(VolumeNames, bool)>,
    ) -> Result<Attach> {
        let (id, target) = (uuid.to_string(), target.to_string());
        let _queue = self.shared().attaches.lock().await;
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
            if let Some((names, shareable)) = &volume {
                let pools = LivePoolDirs::new(c);
                // This domain's own disk at the target (in its other definition) is the disk
                // being attached, not another use.
                let conflicts = |u: &Use| {
                    let this_disk = u.domain == dom.name && u.target == target;
                    let both_shareable = *shareable && u.shareable;
                    !(this_disk || both_shareable)
                };
                if let Some(u) = users(&all_domains(c)?, names, &pools).into_iter().find(conflicts) {
                    return Ok(Attach::InUse(u));
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
                AttachedSource::Volume { key } => lookup_by_key(c, key)?.map(|(_, v)| VolumeNames::of(&v)),
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
                if source.matches(disk, volume.as_ref()) || off(Guard::DetachSource) {
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
