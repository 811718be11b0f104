//! What libvirt reports of a storage volume, and the raw lookups that read it.
//!
//! A volume is its key (for LVM the LV UUID) together with its pool, name and path as last read
//! ([`VolumeIdentity`]); nothing here decides anything, the rules and operations above do.

use virt::connect::Connect;
use virt::storage_vol::StorageVol;

use crate::libvirt::error::{during, not_found_to_none, Error, Result};
use crate::libvirt::xml::VolumeXml;

/// A storage volume as libvirt reports it.
#[derive(Clone, Debug)]
pub struct VolInfo {
    /// The pool it belongs to.
    pub pool: String,
    /// Its definition (name, key, path, sizes).
    pub xml: VolumeXml,
}

impl VolInfo {
    /// The volume's key (for LVM: the LV UUID).
    pub fn key(&self) -> String {
        self.xml.key.clone().unwrap_or_default()
    }
    /// The device path, `/dev/<vg>/<lv>`.
    pub fn path(&self) -> String {
        self.xml.target_path.clone().unwrap_or_default()
    }
    /// `pool/name (path)`, for messages.
    pub fn describe(&self) -> String {
        format!(
            "{}/{} ({}, key {})",
            self.pool,
            self.xml.name,
            self.path(),
            self.key()
        )
    }
}

/// What a resource recorded of the volume it made: the key and where it was.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VolumeIdentity {
    /// The pool's name.
    pub pool: String,
    /// The key (LV UUID).
    pub key: String,
    /// The volume's name.
    pub name: String,
    /// Its path, `/dev/<vg>/<lv>`.
    pub path: String,
}

impl VolInfo {
    /// What identifies this volume as it is now: its pool, key, name and path.
    pub fn identity(&self) -> VolumeIdentity {
        VolumeIdentity {
            pool: self.pool.clone(),
            key: self.key(),
            name: self.xml.name.clone(),
            path: self.path(),
        }
    }
}

impl VolumeIdentity {
    /// Whether libvirt's volume is this one: same key, pool, name and path.
    pub fn matches(&self, v: &VolInfo) -> bool {
        v.key() == self.key && v.pool == self.pool && v.xml.name == self.name && v.path() == self.path
    }

    /// `'pool/name'`, for errors.
    pub(crate) fn object(&self) -> String {
        format!("'{}/{}'", self.pool, self.name)
    }
}

/// What a lookup by identity found.
#[derive(Debug)]
pub enum Lookup {
    /// The volume, as it is now.
    Found(VolInfo),
    /// No volume has the key any more.
    Gone,
    /// The key now answers in another pool or under another name or path.
    Elsewhere(VolInfo),
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

pub(crate) fn vol_info(v: &StorageVol, pool: &str, object: &str) -> Result<VolInfo> {
    let xml = v.xml_desc(0).map_err(during("read storage volume", object))?;
    Ok(VolInfo {
        pool: pool.to_string(),
        xml: VolumeXml::parse(&xml).map_err(|source| Error::Xml {
            object: format!("storage volume {object}"),
            source,
        })?,
    })
}

/// The pool a volume belongs to, by name.
pub(crate) fn pool_of(v: &StorageVol, object: &str) -> Result<String> {
    v.lookup_storage_pool()
        .and_then(|p| p.name())
        .map_err(during("look up the pool of storage volume", object))
}

/// The volume with this key in any active pool, with what it reports.
pub(crate) fn lookup_by_key(c: &Connect, key: &str) -> Result<Option<(StorageVol, VolInfo)>> {
    let object = quoted(key);
    let found = c
        .lookup_storage_vol_by_key(key)
        .map_err(during("look up storage volume", object.clone()));
    let Some(v) = not_found_to_none(found)? else {
        return Ok(None);
    };
    let pool = pool_of(&v, &object)?;
    let info = vol_info(&v, &pool, &object)?;
    Ok(Some((v, info)))
}

/// Whether libvirt says an active pool has no volume of the name asked (and not, say, that the
/// pool is gone or stopped).
pub(crate) fn no_such_volume(e: &virt::error::Error) -> bool {
    e.code() == virt::enumutil::Enum::Known(virt::error::ErrorNumber::NoStorageVolume)
}
