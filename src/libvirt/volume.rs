//! Storage volumes: lookups, and the changes that must touch only the volume a resource made.
//!
//! A volume is identified by its key (for LVM the LV UUID, which names one LV for its whole life)
//! *and* its pool, name and path as last read. Reads by key return [`Lookup::Gone`] when the key is
//! gone and [`Lookup::Elsewhere`] when it now answers somewhere else; a name is never a fallback.
//! Every change refreshes the pool, finds the volume by key, checks it and acts in one piece of
//! blocking work, so that what it checks is what the hypervisor holds when it acts: libvirt
//! deletes a logical volume by `lvremove <vg>/<name>`, so acting on a stale pool listing could
//! remove another LV that took the name since.

use std::time::Instant;

use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;

use super::conn::{connection_address, Gate, PoolHandle};
use super::domain::{volume_users, Use, VolumeNames};
use super::error::{during, not_found_to_none, Error, Result};
use super::xml::{PoolXml, VolumeXml};
use super::Connection;

/// `virStorageVolResizeFlags`: allow a smaller capacity.
const RESIZE_SHRINK: u32 = 4;

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

    fn object(&self) -> String {
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

/// What [`Connection::create_volume`] did.
#[derive(Debug)]
pub enum Created {
    /// The volume was created.
    New(VolInfo),
    /// The pool already had a volume of that name; nothing was created.
    Exists(VolInfo),
    /// The pool is gone or stopped; nothing was created.
    NoActivePool,
    /// No pool has the name (told apart from [`Created::NoActivePool`] only when `space` was
    /// asked); nothing was created.
    NoPool,
    /// The pool has fewer bytes available than asked for; nothing was created.
    NoSpace {
        /// What the pool reported available, in bytes.
        available: u64,
    },
}

/// What [`Connection::delete_volume`] did.
#[derive(Debug)]
pub enum VolumeDelete {
    /// Deleted (wiped first when asked).
    Deleted,
    /// No volume has the key any more: nothing was deleted.
    Gone,
    /// The key answers in another pool or under another name or path: nothing was deleted.
    Elsewhere(VolInfo),
    /// Domains use it: nothing was deleted.
    InUse(VolInfo, Vec<Use>),
    /// Its pool is stopped (or gone), so the volume cannot be checked: nothing was deleted.
    PoolNotActive,
}

/// What [`Connection::clone_volume`] did.
#[derive(Debug)]
pub enum Cloned {
    /// The volume was created as a copy of the source, whose size (the bytes copied) was the
    /// second field.
    New(VolInfo, u64),
    /// The pool already had a volume of that name; nothing was created.
    Exists(VolInfo),
    /// The pool is gone or stopped; nothing was created.
    NoActivePool,
    /// No volume has the source's key any more (or its pool is stopped): nothing was created.
    SourceGone,
    /// The source's key answers in another pool or under another name or path: nothing was
    /// created.
    SourceElsewhere(VolInfo),
    /// The source is larger than the volume asked for: nothing was created.
    SourceLarger(VolInfo),
}

/// What [`Connection::resize_volume`] did.
#[derive(Debug)]
pub enum Resize {
    /// Resized; the volume as it is now.
    Resized(VolInfo),
    /// No volume has the key any more: nothing changed.
    Gone,
    /// The key answers elsewhere: nothing changed.
    Elsewhere(VolInfo),
}

/// What the plan of a create reads of the pool it creates in: [`Connection::pool_for_create`].
#[derive(Clone, Debug)]
pub struct PoolForCreate {
    /// Whether the pool is started.
    pub active: bool,
    /// Its definition as it reports it now (target path, space available).
    pub xml: PoolXml,
    /// The volume of the planned name, when the pool is active and has one.
    pub existing: Option<VolInfo>,
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

pub(super) fn vol_info(v: &StorageVol, pool: &str, object: &str) -> Result<VolInfo> {
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
fn pool_of(v: &StorageVol, object: &str) -> Result<String> {
    v.lookup_storage_pool()
        .and_then(|p| p.name())
        .map_err(during("look up the pool of storage volume", object))
}

/// The volume with this key in any active pool, with what it reports.
pub(super) fn lookup_by_key(c: &Connect, key: &str) -> Result<Option<(StorageVol, VolInfo)>> {
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

pub(super) fn lookup_pool(c: &Connect, name: &str) -> Result<StoragePool> {
    c.lookup_storage_pool_by_name(name)
        .map_err(during("look up storage pool", quoted(name)))
}

/// Refreshes the pool `name` when it is active, so that LVs made or removed outside libvirt are
/// seen: `None` when it is stopped or gone.
///
/// The refresh is asked first: libvirt refuses to refresh a stopped pool before doing anything,
/// and only then is the pool asked whether it is active, to tell a stopped pool (`None`) from a
/// refresh that failed (the error). Two calls on the usual path instead of three; the outcome of
/// every case is the one asking first gave.
fn refresh_active(c: &Connect, name: &str, op: &'static str) -> Result<Option<StoragePool>> {
    let Some(p) = not_found_to_none(lookup_pool(c, name))? else {
        return Ok(None);
    };
    if let Err(e) = p.refresh(0) {
        let e = Error::libvirt("refresh storage pool", quoted(name), e);
        if !p.is_active().map_err(during(op, quoted(name)))? {
            return Ok(None);
        }
        return Err(e);
    }
    Ok(Some(p))
}

/// [`refresh_active`], starting from the pool handle of the last refresh of `name` when it was
/// made on `c` (see [`Connection::pool_handle`]): one libvirt call instead of two. libvirt finds a
/// handle's pool by its UUID, so the handle answers only for the pool that refresh found, never
/// for another pool made since under the name; when it does not answer (that pool is gone or
/// stopped, busy, or the call failed) the pool is looked up by name as without it. Either way the
/// pool is refreshed here, in the caller's piece of work.
fn refresh_active_from(
    c: &Connect,
    handle: Option<&PoolHandle>,
    name: &str,
    op: &'static str,
) -> Result<Option<StoragePool>> {
    if let Some(h) = handle.filter(|h| h.made_on(c)) {
        if h.pool.refresh(0).is_ok() {
            return Ok(Some(h.pool.clone()));
        }
    }
    refresh_active(c, name, op)
}

/// The volume `id` records, in the pool `p` (the pool named `id.pool`, looked up in the same piece
/// of work): looked up by the recorded name and returned only when it reports the recorded key
/// and path as well, so that it matches `id` in all four. `None` in every other case (no such
/// name, another volume under it, a failed lookup): the caller then decides by the key alone, as
/// it would have without this lookup. The name only ever finds the volume sooner (two calls
/// instead of the key lookup's three); it never stands in for the key.
fn by_name_in(p: &StoragePool, id: &VolumeIdentity, object: &str) -> Option<(StorageVol, VolInfo)> {
    let v = p.lookup_storage_vol_by_name(&id.name).ok()?;
    let info = vol_info(&v, &id.pool, object).ok()?;
    id.matches(&info).then_some((v, info))
}

/// What a pool handle kept from the walk's refresh says of the volume `id` records.
enum InHandle {
    /// The volume of the recorded name, with the recorded key and path.
    Found(VolInfo),
    /// A volume of that name with another key or path: the fresh read decides.
    NotThere,
    /// The handle did not answer (the pool it stood for is gone, or the call failed): the fresh
    /// read decides, and the handle is forgotten.
    Failed,
}

fn found_in(p: &StoragePool, id: &VolumeIdentity) -> InHandle {
    let Ok(v) = p.lookup_storage_vol_by_name(&id.name) else {
        return InHandle::Failed;
    };
    match vol_info(&v, &id.pool, &id.object()) {
        Ok(info) if id.matches(&info) => InHandle::Found(info),
        Ok(_) => InHandle::NotThere,
        Err(_) => InHandle::Failed,
    }
}

/// What the plan of a create reads of the pool `p` (named `pool`): refreshed first when `refresh`
/// (a refresh that succeeds says the pool is active: libvirt refuses to refresh a stopped pool),
/// its XML, and the volume `name` in it. Whether the pool is active is otherwise read from the
/// name's lookup: libvirt refuses a lookup in a stopped pool before looking, so a lookup that
/// finds the volume or says there is none says the pool is active; the pool is asked only after
/// another answer, or when there is no name to look up.
fn read_for_create(p: &StoragePool, pool: &str, name: Option<&str>, refresh: bool) -> Result<PoolForCreate> {
    let is_active = || p.is_active().map_err(during("read storage pool", quoted(pool)));
    let known = if refresh {
        Some(match p.refresh(0) {
            Ok(()) => true,
            Err(e) if is_active()? => return Err(Error::libvirt("refresh storage pool", quoted(pool), e)),
            Err(_) => false,
        })
    } else {
        None
    };
    let xml = pool_xml(p, pool)?;
    let (active, existing) = match (known, name) {
        (Some(false), _) => (false, None),
        (_, Some(name)) => {
            let object = format!("'{pool}/{name}'");
            match p.lookup_storage_vol_by_name(name) {
                Ok(v) => (true, Some(vol_info(&v, pool, &object)?)),
                Err(e) if no_such_volume(&e) => (true, None),
                Err(e) => {
                    let e = Error::libvirt("look up storage volume", object, e);
                    // Not found, but not the volume: the pool went away since it was read.
                    if e.is_not_found() {
                        (false, None)
                    } else if known == Some(true) || is_active()? {
                        return Err(e);
                    } else {
                        (false, None)
                    }
                }
            }
        }
        (Some(true), None) => (true, None),
        (None, None) => (is_active()?, None),
    };
    Ok(PoolForCreate {
        active,
        xml,
        existing,
    })
}

/// The pool `p` (named `pool`) as its XML describes it now.
fn pool_xml(p: &StoragePool, pool: &str) -> Result<PoolXml> {
    let xml = p.xml_desc(0).map_err(during("read storage pool", quoted(pool)))?;
    PoolXml::parse(&xml).map_err(|source| Error::Xml {
        object: format!("storage pool {}", quoted(pool)),
        source,
    })
}

/// Whether libvirt says an active pool has no volume of the name asked (and not, say, that the
/// pool is gone or stopped).
fn no_such_volume(e: &virt::error::Error) -> bool {
    e.code() == virt::enumutil::Enum::Known(virt::error::ErrorNumber::NoStorageVolume)
}

/// [`Connection::read_volume`] from a fresh lookup of the pool by name.
fn read_fresh(c: &Connect, id: &VolumeIdentity) -> Result<Option<Lookup>> {
    let object = id.object();
    if let Some(p) = not_found_to_none(lookup_pool(c, &id.pool))? {
        match p.lookup_storage_vol_by_name(&id.name) {
            Ok(v) => {
                let info = vol_info(&v, &id.pool, &object)?;
                if id.matches(&info) {
                    return Ok(Some(Lookup::Found(info)));
                }
            }
            Err(e) => {
                let e = Error::libvirt("look up storage volume", object.clone(), e);
                if !e.is_not_found() {
                    // libvirt refuses lookups in a stopped pool: tell that from a failure.
                    let active = p
                        .is_active()
                        .map_err(during("read storage pool", quoted(&id.pool)))?;
                    return if active { Err(e) } else { Ok(None) };
                }
            }
        }
    }
    by_key(c, id, None).map(Some)
}

/// The volume `id` records, looked up by its key: found when it still answers in its pool under its
/// name and path (a volume whose path lies in `pool_dir`, when given, is in the recorded pool).
fn by_key(c: &Connect, id: &VolumeIdentity, pool_dir: Option<&str>) -> Result<Lookup> {
    let object = id.object();
    let found = c
        .lookup_storage_vol_by_key(&id.key)
        .map_err(during("look up storage volume", object.clone()));
    let Some(v) = not_found_to_none(found)? else {
        return Ok(Lookup::Gone);
    };
    let mut info = vol_info(&v, &id.pool, &object)?;
    let in_dir = pool_dir.is_some_and(|dir| info.path().starts_with(dir));
    if !in_dir {
        info.pool = pool_of(&v, &object)?;
    }
    Ok(if id.matches(&info) {
        Lookup::Found(info)
    } else {
        Lookup::Elsewhere(info)
    })
}

impl Connection {
    /// The volume `name` in `pool` (what a user names: import, data sources, plan warnings).
    pub async fn find_volume(&self, pool: &str, name: &str) -> Result<Option<VolInfo>> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        self.read("look up storage volume", &object.clone(), move |c| {
            let Some(p) = not_found_to_none(lookup_pool(c, &pool))? else {
                return Ok(None);
            };
            let v = not_found_to_none(
                p.lookup_storage_vol_by_name(&name)
                    .map_err(during("look up storage volume", object.clone())),
            )?;
            v.map(|v| vol_info(&v, &pool, &object)).transpose()
        })
        .await
    }

    /// The volume with this key, in any active pool.
    pub async fn volume_by_key(&self, key: &str) -> Result<Option<VolInfo>> {
        let key = key.to_string();
        self.read("look up storage volume", &quoted(&key), move |c| {
            Ok(lookup_by_key(c, &key)?.map(|(_, info)| info))
        })
        .await
    }

    /// The volume at this path, in any active pool.
    pub async fn volume_by_path(&self, path: &str) -> Result<Option<VolInfo>> {
        let path = path.to_string();
        let object = quoted(&path);
        self.read("look up storage volume", &object.clone(), move |c| {
            let found = c
                .lookup_storage_vol_by_path(&path)
                .map_err(during("look up storage volume", object.clone()));
            let Some(v) = not_found_to_none(found)? else {
                return Ok(None);
            };
            let pool = pool_of(&v, &object)?;
            vol_info(&v, &pool, &object).map(Some)
        })
        .await
    }

    /// The volume a resource recorded, found by its key alone. `pool_dir`, the target path of the
    /// pool when the caller read it, saves the call that asks a volume for its pool: a volume
    /// whose path lies in that directory belongs to that pool (a logical pool is its VG).
    pub async fn volume(&self, id: &VolumeIdentity, pool_dir: Option<&str>) -> Result<Lookup> {
        let id = id.clone();
        let pool_dir = pool_dir.map(|d| format!("{}/", d.trim_end_matches('/')));
        self.read("look up storage volume", &id.object(), move |c| {
            by_key(c, &id, pool_dir.as_deref())
        })
        .await
    }

    /// What a resource's read finds of the volume it recorded, or `None` when its pool is stopped
    /// (the volumes of a stopped pool cannot be listed; they still exist). One piece of work of
    /// three libvirt calls on the usual path: the pool by name, the volume of the recorded name in
    /// that pool, its XML; it is this resource's volume only when it reports the recorded key and
    /// path too. Anything else (no such name there, another key under the name, no such pool) is
    /// decided by the key alone, as [`Connection::volume`] decides it: the name only ever finds
    /// the volume sooner, it never stands in for the key.
    ///
    /// A plan reads every volume once; this is the call it makes for each.
    ///
    /// After the walk's refresh of the pool ([`Connection::refresh_pool`]) it starts from the
    /// handle that refresh found, saving the pool lookup: two calls. libvirt finds a pool handle
    /// by its UUID, so the handle answers only for the pool the walk refreshed, never for another
    /// pool made since under its name; and only the volume's key, name and path, checked here as
    /// above, make it the resource's. Whatever else that handle answers (an error, no such name,
    /// another key, a handle of an earlier connection) goes the way described above, from a fresh
    /// lookup of the pool.
    pub async fn read_volume(&self, id: &VolumeIdentity) -> Result<Option<Lookup>> {
        let pool = id.pool.clone();
        let handle = self.pool_handle(&pool);
        let id = id.clone();
        let (found, stale) = self
            .read("look up storage volume", &id.object(), move |c| {
                let stale = match &handle {
                    Some(h) if h.made_on(c) => match found_in(&h.pool, &id) {
                        InHandle::Found(info) => return Ok((Some(Lookup::Found(info)), false)),
                        InHandle::NotThere => false,
                        InHandle::Failed => true,
                    },
                    Some(_) => true,
                    None => false,
                };
                Ok((read_fresh(c, &id)?, stale))
            })
            .await?;
        if stale {
            self.keep_pool_handle(&pool, None);
        }
        Ok(found)
    }

    /// What the plan of a create checks, in one piece of work: the pool `pool` (`None`: no such
    /// pool), whether it is active, its XML (target path and space available) and, when it is
    /// active and `name` is given, the volume of that name in it.
    ///
    /// The pool is refreshed first under [`Connection::refresh_pool`]'s rule, sharing its record:
    /// once for every read of the walk until this provider changes something. A refresh that
    /// succeeds says the pool is active (libvirt refuses to refresh a stopped pool); when none is
    /// needed the pool is asked. These are the reads the plan made before in three pieces of
    /// work (the pool read, the refresh, the name lookup); they only ever feed warnings, the
    /// create checks everything again in its own piece of work.
    ///
    /// A pool found missing is taken as missing by the plans of the other creates under the same
    /// rule (until this provider changes something): the plan of a configuration that creates
    /// the pool and its volumes looks the pool up once, not once per volume.
    pub async fn pool_for_create(&self, pool: &str, name: Option<&str>) -> Result<Option<PoolForCreate>> {
        let missing = || {
            self.shared()
                .missing_pools
                .lock()
                .unwrap_or_else(|p| p.into_inner())
        };
        if missing().get(pool).is_some_and(|at| self.unchanged_since(*at)) {
            return Ok(None);
        }
        let pool_name = pool.to_string();
        let slot = self.refresh_slot(pool);
        let mut last = Some(slot.lock().await);
        let refresh = !last
            .as_ref()
            .and_then(|l| **l)
            .is_some_and(|t| self.pool_view_unchanged_since(t));
        if !refresh {
            // Nothing to record: the read need not hold back others.
            last = None;
        }
        // With no refresh to make, the pool is read from the handle that refresh left (one call
        // fewer), as volume reads are; a handle that does not answer leaves the lookup by name.
        let handle = if refresh { None } else { self.pool_handle(pool) };
        let started = Instant::now();
        let (pool, name) = (pool.to_string(), name.map(str::to_string));
        let found = self
            .read("look up storage pool", &quoted(&pool), move |c| {
                if let Some(h) = handle.as_ref().filter(|h| h.made_on(c)) {
                    if let Ok(found) = read_for_create(&h.pool, &pool, name.as_deref(), false) {
                        return Ok(Some((found, None)));
                    }
                }
                let Some(p) = not_found_to_none(lookup_pool(c, &pool))? else {
                    return Ok(None);
                };
                let found = read_for_create(&p, &pool, name.as_deref(), refresh)?;
                // A refresh that found the pool active leaves its handle, as refresh_pool's does.
                let handle = (refresh && found.active).then(|| PoolHandle {
                    at: started,
                    conn: connection_address(c),
                    pool: p.clone(),
                });
                Ok(Some((found, handle)))
            })
            .await?;
        if let Some(mut last) = last {
            self.keep_pool_handle(&pool_name, found.as_ref().and_then(|(_, h)| h.clone()));
            *last = Some(started);
        }
        let Some((found, _)) = found else {
            missing().insert(pool_name, started);
            return Ok(None);
        };
        Ok(Some(found))
    }

    /// Every volume of an active pool.
    pub async fn list_volumes(&self, pool: &str) -> Result<Vec<VolInfo>> {
        let pool = pool.to_string();
        self.read("list volumes of storage pool", &quoted(&pool), move |c| {
            let p = lookup_pool(c, &pool)?;
            let vols = p
                .list_all_volumes(0)
                .map_err(during("list volumes of storage pool", quoted(&pool)))?;
            vols.iter().map(|v| vol_info(v, &pool, &quoted(&pool))).collect()
        })
        .await
    }

    /// Creates the volume `name` in `pool` from XML, unless the pool already has a volume of that
    /// name: then nothing is created and that volume is returned as [`Created::Exists`].
    ///
    /// The refresh, the check and the create are one piece of blocking work. An error before the
    /// create is an error of a change that never went out (nothing was done); only an error of the
    /// create itself can be [`Error::is_connection_lost`], after which a volume of this name can
    /// only be this create's: LVM itself (the pool was refreshed) had no LV of that name when the
    /// request left.
    ///
    /// With `space`, a create that LVM refuses while the pool has fewer bytes available than
    /// that, as its XML reports them right after the refusal, is [`Created::NoSpace`] (LVM refuses
    /// before creating anything); and a pool that is gone is told from a stopped one
    /// ([`Created::NoPool`]). So the create needs no read of the pool of its own before it:
    /// everything it checks is read in the same piece of work as the create.
    ///
    /// The pool is refreshed from the handle of its last refresh when there is one (see
    /// `refresh_active_from`), and this refresh is then recorded as the pool's last
    /// ([`Connection::note_refresh`]): libvirt applies the create to its view of the pool.
    pub async fn create_volume(
        &self,
        pool: &str,
        name: &str,
        xml: String,
        space: Option<u64>,
    ) -> Result<Created> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        let _queue = self.pool_change_lock(&pool).await;
        let handle = self.pool_handle(&pool);
        let started = Instant::now();
        let pool_name = pool.clone();
        let (created, refreshed) = self
            .volume_change("create storage volume", &object.clone(), move |c, gate: &Gate| {
                let Some(p) = refresh_active_from(c, handle.as_ref(), &pool, "create storage volume")? else {
                    if space.is_some() && not_found_to_none(lookup_pool(c, &pool))?.is_none() {
                        return Ok((Created::NoPool, None));
                    }
                    return Ok((Created::NoActivePool, None));
                };
                let refreshed = Some(PoolHandle {
                    at: started,
                    conn: connection_address(c),
                    pool: p.clone(),
                });
                // The name is looked up before the create goes out, in this piece of work after
                // the refresh: the lost-reply rule (a volume of this name found after a lost reply
                // can only be this create's) rests on it, so it is never left to libvirt's own
                // refusal of a taken name. The space is not asked first: LVM (as the test driver)
                // refuses a size the pool has no room for before anything is created, so only a
                // refusal reads what the pool has available, to say why; a read that fails too
                // (the connection died with the request out) leaves the create's own error.
                let existing = not_found_to_none(
                    p.lookup_storage_vol_by_name(&name)
                        .map_err(during("look up storage volume", object.clone())),
                )?;
                if let Some(existing) = existing {
                    return Ok((Created::Exists(vol_info(&existing, &pool, &object)?), refreshed));
                }
                gate.send()?;
                let created = match StorageVol::create_xml(&p, &xml, 0) {
                    Ok(v) => Created::New(vol_info(&v, &pool, &object)?),
                    Err(e) => match space.and_then(|wanted| {
                        pool_xml(&p, &pool)
                            .ok()
                            .map(|x| x.available)
                            .filter(|a| wanted > *a)
                    }) {
                        Some(available) => Created::NoSpace { available },
                        None => return Err(Error::libvirt("create storage volume", object.clone(), e)),
                    },
                };
                Ok((created, refreshed))
            })
            .await?;
        if let Some(h) = refreshed {
            self.note_refresh(&pool_name, h);
        }
        Ok(created)
    }

    /// Creates the volume `name` in `pool` from XML as a copy of the volume `source`
    /// (`virStorageVolCreateXMLFrom`), when the pool has no volume of that name, the source's key
    /// still answers where `source` says, and the source is no larger than `capacity`.
    ///
    /// The source may be in any active pool of the hypervisor: libvirt copies a raw volume block
    /// by block and converts any other format with `qemu-img convert` on the hypervisor (a dir
    /// pool's qcow2 lands on the LV as its raw disk). Either way the copy stops at the source's
    /// size: what lies beyond, up to `capacity`, is whatever the LV's extents held (the caller
    /// zeroes it).
    ///
    /// Both pools are refreshed, and everything checked, in the same piece of work as the copy,
    /// under the change queue of both pools: libvirt holds an asynchronous job on each during
    /// the copy, which makes a refresh of either fail as busy. The lost-reply rule is
    /// [`Connection::create_volume`]'s: a volume of this name found after a lost reply can only
    /// be this copy's.
    pub async fn clone_volume(
        &self,
        pool: &str,
        name: &str,
        xml: String,
        capacity: u64,
        source: &VolumeIdentity,
    ) -> Result<Cloned> {
        let (pool, name, source) = (pool.to_string(), name.to_string(), source.clone());
        let object = format!("'{pool}/{name}'");
        // One order for every caller, so that two copies between the same pools never wait on
        // each other's second lock.
        let mut queues = vec![pool.clone()];
        if source.pool != pool {
            queues.push(source.pool.clone());
        }
        queues.sort();
        let mut _held = Vec::with_capacity(queues.len());
        for q in &queues {
            _held.push(self.pool_change_lock(q).await);
        }
        self.volume_change("clone storage volume", &object.clone(), move |c, gate: &Gate| {
            let Some(p) = refresh_active(c, &pool, "clone storage volume")? else {
                return Ok(Cloned::NoActivePool);
            };
            if source.pool != pool && refresh_active(c, &source.pool, "clone storage volume")?.is_none() {
                return Ok(Cloned::SourceGone);
            }
            let existing = not_found_to_none(
                p.lookup_storage_vol_by_name(&name)
                    .map_err(during("look up storage volume", object.clone())),
            )?;
            if let Some(existing) = existing {
                return Ok(Cloned::Exists(vol_info(&existing, &pool, &object)?));
            }
            let Some((src, info)) = lookup_by_key(c, &source.key)? else {
                return Ok(Cloned::SourceGone);
            };
            if !source.matches(&info) {
                return Ok(Cloned::SourceElsewhere(info));
            }
            if info.xml.capacity > capacity {
                return Ok(Cloned::SourceLarger(info));
            }
            let copied = info.xml.capacity;
            gate.send()?;
            let v = StorageVol::create_xml_from(&p, &xml, &src, 0)
                .map_err(during("clone storage volume", object.clone()))?;
            vol_info(&v, &pool, &object).map(|v| Cloned::New(v, copied))
        })
        .await
    }

    /// Deletes the volume `id` names (wiping it first when asked), when it is still that volume
    /// and no domain uses it. One piece of work: refresh the pool, find the volume by key, check
    /// pool, name and path, read every domain's two definitions for any name of it, then delete.
    pub async fn delete_volume(&self, id: &VolumeIdentity, wipe: bool) -> Result<VolumeDelete> {
        let id = id.clone();
        let pool_name = id.pool.clone();
        let _queue = self.pool_change_lock(&id.pool).await;
        let handle = self.pool_handle(&id.pool);
        let started = Instant::now();
        let (deleted, refreshed) = self
            .volume_change("delete storage volume", &id.object(), move |c, gate: &Gate| {
                let object = id.object();
                let pool = refresh_active_from(c, handle.as_ref(), &id.pool, "delete storage volume")?;
                if pool.is_none() {
                    // Stopped, or gone: no volume of a stopped pool can be found or deleted, so
                    // whether the key is still there cannot be told. A gone pool is checked by
                    // key below (a pool of another name may hold it now).
                    if not_found_to_none(lookup_pool(c, &id.pool))?.is_some() {
                        return Ok((VolumeDelete::PoolNotActive, None));
                    }
                }
                let refreshed = pool.as_ref().map(|p| PoolHandle {
                    at: started,
                    conn: connection_address(c),
                    pool: p.clone(),
                });
                let found = match pool.as_ref().and_then(|p| by_name_in(p, &id, &object)) {
                    Some(found) => Some(found),
                    None => lookup_by_key(c, &id.key)?,
                };
                let Some((v, info)) = found else {
                    return Ok((VolumeDelete::Gone, refreshed));
                };
                if !id.matches(&info) {
                    return Ok((VolumeDelete::Elsewhere(info), refreshed));
                }
                let users = volume_users(c, &VolumeNames::of(&info))?;
                if !users.is_empty() {
                    return Ok((VolumeDelete::InUse(info, users), refreshed));
                }
                gate.send()?;
                if wipe {
                    v.wipe(0).map_err(during("wipe storage volume", object.clone()))?;
                }
                v.delete(0)
                    .map_err(during("delete storage volume", object.clone()))?;
                Ok((VolumeDelete::Deleted, refreshed))
            })
            .await?;
        if let Some(h) = refreshed {
            self.note_refresh(&pool_name, h);
        }
        Ok(deleted)
    }

    /// Resizes the volume `id` names to `capacity` bytes (`shrink` allows a smaller size), when it
    /// is still that volume; refreshed and checked in the same piece of work.
    pub async fn resize_volume(&self, id: &VolumeIdentity, capacity: u64, shrink: bool) -> Result<Resize> {
        let id = id.clone();
        let _queue = self.pool_change_lock(&id.pool).await;
        self.volume_change("resize storage volume", &id.object(), move |c, gate: &Gate| {
            let object = id.object();
            refresh_active(c, &id.pool, "resize storage volume")?;
            let Some((v, info)) = lookup_by_key(c, &id.key)? else {
                return Ok(Resize::Gone);
            };
            if !id.matches(&info) {
                return Ok(Resize::Elsewhere(info));
            }
            gate.send()?;
            v.resize(capacity, if shrink { RESIZE_SHRINK } else { 0 })
                .map_err(during("resize storage volume", object.clone()))?;
            refresh_active(c, &id.pool, "resize storage volume")?;
            vol_info(&v, &id.pool, &object).map(Resize::Resized)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::testing::TestDriver;
    use crate::libvirt::xml::volume_xml;

    async fn make(c: &Connection, name: &str) -> VolInfo {
        match c
            .create_volume(
                "default-pool",
                name,
                volume_xml(name, 1 << 20, 1 << 20).expect("xml"),
                None,
            )
            .await
            .expect("create")
        {
            Created::New(v) => v,
            other => panic!("{other:?}"),
        }
    }

    fn identity(v: &VolInfo) -> VolumeIdentity {
        v.identity()
    }

    /// Out of band (a read, so not a change of this provider): the pool is stopped.
    async fn stop_the_pool(c: &Connection) {
        c.read("stop the pool", "'default-pool'", |c| {
            lookup_pool(c, "default-pool")?
                .destroy()
                .map_err(|e| Error::libvirt("stop", "'default-pool'", e))
        })
        .await
        .expect("out of band");
    }

    #[tokio::test]
    async fn a_volume_is_found_by_its_key_and_never_by_its_name() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let v = make(&c, "a").await;
        let id = identity(&v);
        assert!(matches!(
            c.volume(&id, None).await.expect("read"),
            Lookup::Found(_)
        ));
        assert!(matches!(
            c.volume(&id, Some("/default-pool")).await.expect("read"),
            Lookup::Found(_)
        ));
        // The key names another volume's record: the name is never a fallback.
        let mut other = id.clone();
        other.key = "/default-pool/not-there".into();
        assert!(matches!(
            c.volume(&other, None).await.expect("read"),
            Lookup::Gone
        ));
        // Same key, recorded under another name: elsewhere, not ours.
        let mut renamed = id.clone();
        renamed.name = "b".into();
        assert!(matches!(
            c.volume(&renamed, None).await.expect("read"),
            Lookup::Elsewhere(_)
        ));
    }

    /// The plan of a create reads its pool and the planned name in one piece of work; a pool found
    /// missing is not looked up again until this provider changes something.
    #[tokio::test]
    async fn the_plan_of_a_create_reads_its_pool_in_one_piece_of_work() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        make(&c, "a").await;
        let runs = c.runs();
        let found = c
            .pool_for_create("default-pool", Some("a"))
            .await
            .expect("read")
            .expect("the pool");
        assert!(found.active);
        assert_eq!(found.existing.map(|v| v.xml.name), Some("a".to_string()));
        assert_eq!(c.runs(), runs + 1);
        assert!(
            c.pool_handle("default-pool").is_some(),
            "its refresh leaves the pool handle for the walk's reads"
        );
        let runs = c.runs();
        assert!(c
            .pool_for_create("nope", Some("a"))
            .await
            .expect("read")
            .is_none());
        assert!(c
            .pool_for_create("nope", Some("b"))
            .await
            .expect("read")
            .is_none());
        assert_eq!(c.runs(), runs + 1, "a missing pool is looked up once");
        make(&c, "b").await;
        let runs = c.runs();
        assert!(c
            .pool_for_create("nope", Some("c"))
            .await
            .expect("read")
            .is_none());
        assert_eq!(c.runs(), runs + 1, "and again after a change");
    }

    #[tokio::test]
    async fn the_plan_of_a_create_tells_a_stopped_pool_by_its_name_lookup() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        make(&c, "a").await;
        let found = c
            .pool_for_create("default-pool", Some("b"))
            .await
            .expect("read")
            .expect("the pool");
        assert!(found.active && found.existing.is_none());
        assert_eq!(found.xml.target_path.as_deref(), Some("/default-pool"));
        stop_the_pool(&c).await;
        for name in [Some("a"), Some("b"), None] {
            let found = c
                .pool_for_create("default-pool", name)
                .await
                .expect("read")
                .expect("the pool");
            assert!(!found.active, "{name:?}: the pool is stopped");
            assert!(
                found.existing.is_none(),
                "{name:?}: nothing can be said of its volumes"
            );
        }
    }

    #[tokio::test]
    async fn a_create_refused_for_space_says_what_the_pool_has() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let huge = 1u64 << 50;
        match c
            .create_volume(
                "default-pool",
                "big",
                volume_xml("big", huge, huge).expect("xml"),
                Some(huge),
            )
            .await
            .expect("create")
        {
            Created::NoSpace { available } => assert!(available > 0 && available < huge),
            other => panic!("{other:?}"),
        }
        assert!(c
            .find_volume("default-pool", "big")
            .await
            .expect("read")
            .is_none());
        // Without a size to check, the refusal is libvirt's own error.
        let e = c
            .create_volume(
                "default-pool",
                "big",
                volume_xml("big", huge, huge).expect("xml"),
                None,
            )
            .await
            .expect_err("refused");
        assert!(!e.is_connection_lost(), "{e}");
    }

    /// A read finds the volume by its recorded name in one piece of work, and takes it for the
    /// resource's only when the key and path agree; otherwise the key decides.
    #[tokio::test]
    async fn a_read_takes_the_named_volume_only_when_its_key_agrees() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let v = make(&c, "a").await;
        let id = identity(&v);
        let runs = c.runs();
        match c.read_volume(&id).await.expect("read") {
            Some(Lookup::Found(found)) => assert_eq!(identity(&found), id),
            other => panic!("{other:?}"),
        }
        assert_eq!(c.runs(), runs + 1, "one piece of blocking work per read");
        // Another key recorded under the name: the volume of that name is not this one.
        let mut other = id.clone();
        other.key = "/default-pool/not-there".into();
        assert!(matches!(
            c.read_volume(&other).await.expect("read"),
            Some(Lookup::Gone)
        ));
        // The key, recorded under a name another volume now has: elsewhere, not that volume.
        let b = make(&c, "b").await;
        let mut renamed = id.clone();
        renamed.name = "b".into();
        match c.read_volume(&renamed).await.expect("read") {
            Some(Lookup::Elsewhere(found)) => assert_eq!(found.key(), id.key),
            other => panic!("{other:?}"),
        }
        assert_ne!(b.key(), id.key);
        // Recorded in a pool that no longer exists: the key finds where it is.
        let mut moved = id.clone();
        moved.pool = "gone-pool".into();
        match c.read_volume(&moved).await.expect("read") {
            Some(Lookup::Elsewhere(found)) => assert_eq!(found.pool, "default-pool"),
            other => panic!("{other:?}"),
        }
        // A stopped pool: nothing can be said of its volumes.
        c.change("stop storage pool", "'default-pool'", |c, gate| {
            let p = lookup_pool(c, "default-pool")?;
            gate.send()?;
            p.destroy().map_err(during("stop storage pool", "'default-pool'"))
        })
        .await
        .expect("stop");
        assert!(c.read_volume(&id).await.expect("read").is_none());
    }

    /// After the walk's refresh a read starts from the pool handle the refresh found. A handle that
    /// no longer answers is forgotten, and the fresh lookup decides as without it. (libvirt's
    /// storage driver finds the pool of a handle by UUID, so a pool made again under the same name
    /// does not answer to the old handle either; the test driver finds it by name, so a pool
    /// stopped out of band stands for both here.)
    #[tokio::test]
    async fn a_read_after_the_refresh_starts_from_its_pool_handle() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let v = make(&c, "a").await;
        let id = identity(&v);
        assert!(
            c.pool_handle("default-pool").is_some(),
            "the create's own refresh is kept: the volume change leaves libvirt's view current"
        );
        // Any other change makes that refresh stale.
        c.change("change nothing", "'default-pool'", |_, _| Ok(()))
            .await
            .expect("a change");
        assert!(c.pool_handle("default-pool").is_none(), "stale after a change");
        c.refresh_pool("default-pool").await.expect("refresh");
        assert!(
            c.pool_handle("default-pool").is_some(),
            "the refresh keeps its handle"
        );
        match c.read_volume(&id).await.expect("read") {
            Some(Lookup::Found(found)) => assert_eq!(identity(&found), id),
            other => panic!("{other:?}"),
        }
        assert!(
            c.pool_handle("default-pool").is_some(),
            "a read that found keeps it"
        );
        // Another key recorded under the name: the handle finds the name, not the key; by key
        // the recorded volume is gone. The handle stays: it answered.
        let mut other = id.clone();
        other.key = "/default-pool/not-there".into();
        assert!(matches!(
            c.read_volume(&other).await.expect("read"),
            Some(Lookup::Gone)
        ));
        assert!(c.pool_handle("default-pool").is_some());
        stop_the_pool(&c).await;
        assert!(
            c.read_volume(&id).await.expect("read").is_none(),
            "a stopped pool: nothing can be said of its volumes"
        );
        assert!(
            c.pool_handle("default-pool").is_none(),
            "the handle that failed is forgotten"
        );
    }

    /// Out of band (reads, so not changes of this provider, which keeps its pool handle): the
    /// pool `default-pool` is stopped, undefined and defined again under its name with another
    /// UUID and target directory, started, and given a volume `name`.
    async fn make_the_pool_again(c: &Connection, name: &str) {
        let name = name.to_string();
        c.read("make the pool again", "'default-pool'", move |c| {
            let fail = |e| Error::libvirt("make the pool again", "'default-pool'", e);
            let old = lookup_pool(c, "default-pool")?;
            old.destroy().map_err(fail)?;
            old.undefine().map_err(fail)?;
            let new = c
                .define_storage_pool_xml(
                    "<pool type='dir'><name>default-pool</name>\
                 <uuid>0b0b1cde-0000-4000-8000-000000000001</uuid>\
                 <target><path>/another-pool</path></target></pool>",
                    0,
                )
                .map_err(fail)?;
            new.create(0).map_err(fail)?;
            let xml = volume_xml(&name, 1 << 20, 1 << 20).expect("xml");
            StorageVol::create_xml(&new, &xml, 0).map_err(fail)?;
            Ok(())
        })
        .await
        .expect("out of band");
    }

    #[tokio::test]
    async fn only_volume_changes_leave_a_pool_refresh_good() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        c.refresh_pool("default-pool").await.expect("refresh");
        let runs = c.runs();
        let v = make(&c, "a").await;
        c.refresh_pool("default-pool").await.expect("refresh");
        assert_eq!(
            c.runs(),
            runs + 1,
            "after a create (libvirt applies it to its view of the pool) the refresh is still good"
        );
        match c.delete_volume(&identity(&v), false).await.expect("delete") {
            VolumeDelete::Deleted => {}
            other => panic!("{other:?}"),
        }
        c.refresh_pool("default-pool").await.expect("refresh");
        assert_eq!(c.runs(), runs + 2, "and after a delete");
        c.change("change nothing", "'default-pool'", |_, _| Ok(()))
            .await
            .expect("a change");
        c.refresh_pool("default-pool").await.expect("refresh");
        assert_eq!(
            c.runs(),
            runs + 4,
            "any other change makes the pool be refreshed again"
        );
    }

    #[tokio::test]
    async fn a_create_after_its_pool_was_made_again_under_the_name_goes_to_the_new_pool() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        make(&c, "a").await;
        assert!(
            c.pool_handle("default-pool").is_some(),
            "the handle of the old pool"
        );
        make_the_pool_again(&c, "x").await;
        let b = make(&c, "b").await;
        assert_eq!(
            b.path(),
            "/another-pool/b",
            "created in the pool the name names now, not through the old pool's handle"
        );
        // The name the new pool already holds is refused and told as taken, nothing created.
        match c
            .create_volume(
                "default-pool",
                "x",
                volume_xml("x", 2 << 20, 2 << 20).expect("xml"),
                None,
            )
            .await
            .expect("create")
        {
            Created::Exists(v) => {
                assert_eq!(v.path(), "/another-pool/x");
                assert_eq!(v.xml.capacity, 1 << 20, "the volume that was there, unchanged");
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_delete_after_its_pool_was_made_again_under_the_name_deletes_nothing() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let mine = make(&c, "mine").await;
        assert!(
            c.pool_handle("default-pool").is_some(),
            "the handle of the old pool"
        );
        // The new pool holds a volume of the same name (another key and path).
        make_the_pool_again(&c, "mine").await;
        match c.delete_volume(&identity(&mine), false).await.expect("delete") {
            VolumeDelete::Gone => {}
            other => panic!("{other:?}"),
        }
        let left = c
            .find_volume("default-pool", "mine")
            .await
            .expect("read")
            .expect("the new pool's volume is still there");
        assert_eq!(left.path(), "/another-pool/mine");
    }

    #[tokio::test]
    async fn delete_touches_only_the_volume_it_was_given() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let v = make(&c, "mine").await;
        let id = identity(&v);
        // Another record of the same key (another pool name): nothing is deleted.
        let mut wrong_pool = id.clone();
        wrong_pool.pool = "other-pool".into();
        assert!(matches!(
            c.delete_volume(&wrong_pool, false).await.expect("delete"),
            VolumeDelete::Elsewhere(_)
        ));
        assert!(c
            .find_volume("default-pool", "mine")
            .await
            .expect("read")
            .is_some());
        // Deleted once; the second delete finds nothing and deletes nothing.
        assert!(matches!(
            c.delete_volume(&id, false).await.expect("delete"),
            VolumeDelete::Deleted
        ));
        assert!(c
            .find_volume("default-pool", "mine")
            .await
            .expect("read")
            .is_none());
        // A new volume under the old name has another key: the old identity is gone, the new
        // volume stays.
        let again = make(&c, "mine").await;
        let mut stale = id.clone();
        stale.key = format!("{}-old", again.key());
        assert!(matches!(
            c.delete_volume(&stale, false).await.expect("delete"),
            VolumeDelete::Gone
        ));
        assert!(c
            .find_volume("default-pool", "mine")
            .await
            .expect("read")
            .is_some());
    }
}
