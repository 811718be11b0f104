//! Domains: lookups and one-disk hotplug (attach-disk / detach-disk).

use virt::connect::Connect;
use virt::domain::Domain;

use super::error::{lv, Error, Result};
use super::xml::DomainXml;
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

fn lookup(c: &Connect, name_or_uuid: &str) -> Result<Domain> {
    let object = quoted(name_or_uuid);
    if looks_like_uuid(name_or_uuid) {
        match c.lookup_domain_by_uuid_string(name_or_uuid) {
            Ok(d) => return Ok(d),
            Err(e) => {
                let e = Error::libvirt("look up domain", object.clone(), e);
                if !e.is_not_found() {
                    return Err(e);
                }
            }
        }
    }
    c.lookup_domain_by_name(name_or_uuid)
        .map_err(lv("look up domain", object))
}

fn info(d: &Domain, object: &str) -> Result<DomainInfo> {
    let active = d.is_active().map_err(lv("read domain", object))?;
    let persistent = d.is_persistent().map_err(lv("read domain", object))?;
    let live = parse(&d.xml_desc(0).map_err(lv("read domain", object))?, object)?;
    let config = if persistent {
        parse(
            &d.xml_desc(XML_INACTIVE).map_err(lv("read domain", object))?,
            object,
        )?
    } else {
        live.clone()
    };
    Ok(DomainInfo {
        uuid: d.uuid_string().map_err(lv("read domain", object))?,
        name: d.name().map_err(lv("read domain", object))?,
        active,
        persistent,
        live,
        config,
    })
}

impl Connection {
    /// The domain with this name or UUID, or `None`.
    pub async fn find_domain(&self, name_or_uuid: &str) -> Result<Option<DomainInfo>> {
        let id = name_or_uuid.to_string();
        self.run("look up domain", &quoted(&id), move |c| match lookup(c, &id) {
            Ok(d) => info(&d, &quoted(&id)).map(Some),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        })
        .await
    }

    /// Every domain, running or defined, with its live and saved definitions. Concurrent callers
    /// (volume deletes checking for users) share one listing that started after they asked.
    pub async fn list_domains(&self) -> Result<Vec<DomainInfo>> {
        self.shared().domains.get(&(), || self.read_domains()).await
    }

    async fn read_domains(&self) -> Result<Vec<DomainInfo>> {
        self.run("list domains", "on the host", |c| {
            let doms = c.list_all_domains(0).map_err(lv("list domains", "on the host"))?;
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
        })
        .await
    }

    /// Attaches one device.
    pub async fn attach_device(&self, domain: &str, xml: String, flags: u32) -> Result<()> {
        let id = domain.to_string();
        self.run("attach disk to domain", &quoted(&id), move |c| {
            lookup(c, &id)?
                .attach_device_flags(&xml, flags)
                .map(|_| ())
                .map_err(lv("attach disk to domain", quoted(&id)))
        })
        .await
    }

    /// Detaches one device.
    pub async fn detach_device(&self, domain: &str, xml: String, flags: u32) -> Result<()> {
        let id = domain.to_string();
        self.run("detach disk from domain", &quoted(&id), move |c| {
            lookup(c, &id)?
                .detach_device_flags(&xml, flags)
                .map(|_| ())
                .map_err(lv("detach disk from domain", quoted(&id)))
        })
        .await
    }
}
