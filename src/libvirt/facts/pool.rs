//! What libvirt reports of a storage pool, and the raw lookups that read it.
//!
//! A pool is its UUID *and* its name and volume group as last read ([`PoolIdentity`]): a pool
//! undefined and defined again under the same name (over another VG) has another UUID and is not
//! it, and a pool whose definition now names another VG is not it either.

use virt::connect::Connect;
use virt::storage_pool::StoragePool;

use crate::libvirt::error::{during, not_found_to_none, Error, Result};
use crate::libvirt::xml::PoolXml;

/// A storage pool as libvirt reports it.
#[derive(Clone, Debug)]
pub struct PoolInfo {
    /// UUID.
    pub uuid: String,
    /// Whether it is started.
    pub active: bool,
    /// Whether libvirt starts it on boot.
    pub autostart: bool,
    /// Its definition and sizes.
    pub xml: PoolXml,
}

impl PoolInfo {
    /// The volume group: the source name, else the pool's name (libvirt's default).
    pub fn vg(&self) -> &str {
        self.xml.source.vg_name.as_deref().unwrap_or(&self.xml.name)
    }

    /// `name (UUID u, volume group vg)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{:?} (UUID {}, volume group {:?})",
            self.xml.name,
            self.uuid,
            self.vg()
        )
    }
}

/// Volume groups and the devices under each, as `virConnectFindStoragePoolSources` reports them.
pub type Sources = Vec<(String, Vec<String>)>;

/// What a resource recorded of the pool it made or adopted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolIdentity {
    /// libvirt's UUID of the pool.
    pub uuid: String,
    /// The pool's name.
    pub name: String,
    /// The volume group.
    pub vg: String,
}

impl PoolIdentity {
    /// Whether libvirt's pool is this one: same UUID, name and volume group, and logical.
    pub fn matches(&self, p: &PoolInfo) -> bool {
        p.uuid == self.uuid && p.xml.name == self.name && p.vg() == self.vg && p.xml.pool_type == "logical"
    }

    /// `'name'`, for errors.
    pub(crate) fn object(&self) -> String {
        format!("'{}'", self.name)
    }
}

pub(crate) fn quoted(s: &str) -> String {
    format!("'{s}'")
}

/// `virStorageXMLFlags`: the persistent definition (what the pool is defined as from now on).
const XML_INACTIVE: u32 = 1;

/// The pool as libvirt reports it: sizes from the running pool, source devices from its
/// persistent definition (a pool whose devices changed while it runs, as when its volume group
/// grew, keeps the old list in its running definition until it is restarted).
pub(crate) fn pool_info(p: &StoragePool, object: &str) -> Result<PoolInfo> {
    let parse = |xml: String| {
        PoolXml::parse(&xml).map_err(|source| Error::Xml {
            object: format!("storage pool {object}"),
            source,
        })
    };
    let mut xml = parse(p.xml_desc(0).map_err(during("read storage pool", object))?)?;
    let active = p.is_active().map_err(during("read storage pool", object))?;
    if active {
        match p
            .xml_desc(XML_INACTIVE)
            .map_err(during("read storage pool", object))
        {
            Ok(defined) => xml.source.devices = parse(defined)?.source.devices,
            // A driver without persistent definitions (libvirt's test driver) has one view.
            Err(e) if e.is_unsupported_flags() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(PoolInfo {
        uuid: p.uuid_string().map_err(during("read storage pool", object))?,
        active,
        autostart: p.autostart().map_err(during("read storage pool", object))?,
        xml,
    })
}

pub(crate) fn lookup_by_uuid(c: &Connect, uuid: &str) -> Result<Option<StoragePool>> {
    not_found_to_none(
        c.lookup_storage_pool_by_uuid_string(uuid)
            .map_err(during("look up storage pool", quoted(uuid))),
    )
}

/// The host's volume groups, scanned now.
pub(crate) fn scan(c: &Connect) -> Result<Sources> {
    let xml = c
        .find_storage_pool_sources("logical", None, 0)
        .map_err(during("find logical volume groups", "on the host"))?;
    crate::libvirt::xml::parse_pool_sources(&xml).map_err(|source| Error::Xml {
        object: "the host's volume groups".into(),
        source,
    })
}

/// The pool named `name` (a stopped pool too).
pub(crate) fn lookup_pool(c: &Connect, name: &str) -> Result<StoragePool> {
    c.lookup_storage_pool_by_name(name)
        .map_err(during("look up storage pool", quoted(name)))
}

/// The pool `p` (named `pool`) as its XML describes it now.
pub(crate) fn pool_xml(p: &StoragePool, pool: &str) -> Result<PoolXml> {
    let xml = p.xml_desc(0).map_err(during("read storage pool", quoted(pool)))?;
    PoolXml::parse(&xml).map_err(|source| Error::Xml {
        object: format!("storage pool {}", quoted(pool)),
        source,
    })
}
