//! What libvirt reports of a domain (its running and saved definitions), and the raw lookups that
//! read it.

use std::fmt;

use virt::connect::Connect;
use virt::domain::Domain;

use crate::libvirt::error::{during, not_found_to_none, Error, Result};
use crate::libvirt::xml::DomainXml;

/// `virDomainDeviceModifyFlags`: change the running domain.
pub const AFFECT_LIVE: u32 = 1;
/// `virDomainDeviceModifyFlags`: change the saved definition.
pub const AFFECT_CONFIG: u32 = 2;
/// `virDomainXMLFlags`: the definition used at next boot.
pub(crate) const XML_INACTIVE: u32 = 2;

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

pub(crate) fn quoted(s: &str) -> String {
    format!("'{s}'")
}

pub(crate) fn parse(xml: &str, object: &str) -> Result<DomainXml> {
    DomainXml::parse(xml).map_err(|source| Error::Xml {
        object: format!("domain {object}"),
        source,
    })
}

pub(crate) fn looks_like_uuid(s: &str) -> bool {
    s.len() == 36 && s.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

/// The domain a user named: by UUID when it looks like one, else by name.
pub(crate) fn lookup_by_reference(c: &Connect, name_or_uuid: &str) -> Result<Option<Domain>> {
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
pub(crate) fn lookup_by_uuid(c: &Connect, uuid: &str) -> Result<Option<Domain>> {
    not_found_to_none(
        c.lookup_domain_by_uuid_string(uuid)
            .map_err(during("look up domain", quoted(uuid))),
    )
}

pub(crate) fn info(d: &Domain, object: &str) -> Result<DomainInfo> {
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
pub(crate) fn all_domains(c: &Connect) -> Result<Vec<DomainInfo>> {
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
