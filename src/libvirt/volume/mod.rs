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
use super::domain::volume_users;
use super::error::{during, not_found_to_none, Error, Result};
use super::facts::pool::{lookup_pool, pool_xml, quoted};
use super::facts::volume::{
    lookup_by_key, no_such_volume, pool_of, vol_info, Lookup, VolInfo, VolumeIdentity,
};
use super::rules::broken::{off, Guard};
use super::rules::clone::clone_source_problem;
use super::rules::usage::{Use, VolumeNames};
use super::rules::vg::{dependants, snapshots_of, Held};
use super::xml::PoolXml;
use super::Connection;
use crate::lvm::command::Command;
use crate::lvm::Channel;
use std::sync::Arc;

/// `virStorageVolResizeFlags`: allow a smaller capacity.
const RESIZE_SHRINK: u32 = 4;

/// What a create asks libvirt for: the LV's name, its capacity, whether it is sparse (allocated
/// on write, a snapshot-backed LV) or plain, and for a LUKS volume the libvirt secret that holds
/// its passphrase. Its XML is written only here, in the libvirt layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewVolume {
    /// The LV's name.
    pub name: String,
    /// Bytes the guest sees.
    pub capacity: u64,
    /// Allocated on write instead of up front.
    pub sparse: bool,
    /// For a LUKS volume, the UUID of the libvirt secret that holds its passphrase.
    pub luks_secret: Option<String>,
}

impl NewVolume {
    /// Bytes the LV takes up front: its capacity, or none for a sparse one.
    pub fn allocation(&self) -> u64 {
        if self.sparse {
            0
        } else {
            self.capacity
        }
    }

    /// A plain volume of `capacity` bytes (for tests).
    #[cfg(test)]
    pub fn plain(name: &str, capacity: u64) -> NewVolume {
        NewVolume {
            name: name.to_string(),
            capacity,
            sparse: false,
            luks_secret: None,
        }
    }

    /// The definition libvirt gets.
    pub fn xml(&self) -> std::result::Result<String, super::xml::XmlError> {
        match &self.luks_secret {
            Some(uuid) => super::xml::luks_volume_xml(&self.name, self.capacity, self.allocation(), uuid),
            None => super::xml::volume_xml(&self.name, self.capacity, self.allocation()),
        }
    }
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
    /// It is the origin of snapshots (listed), which its delete would remove with it: nothing was
    /// deleted or wiped.
    HasSnapshots(VolInfo, Vec<Held>),
    /// LVM's report shows its device open (mounted, held by a guest or a program on the
    /// hypervisor): nothing was deleted or wiped.
    Open(VolInfo),
    /// LVM's tools are configured but their report could not be had: nothing was deleted.
    Unchecked(VolInfo, String),
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
    /// The source is an image that reads other files (a backing file, an external data file) or
    /// of a format that may: libvirt would run `qemu-img convert` on it as root on the hypervisor,
    /// which follows them. Nothing was created; the text says why.
    SourceRefused(VolInfo, String),
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

/// How much of a clone source's first bytes is read to check its header: a qcow2 header with its
/// extensions and backing file name fits in its first cluster (64 KiB by default).
const CLONE_HEAD: usize = 64 << 10;

/// Why a clone source must not be copied, if it must not: libvirt copies a raw volume block by
/// block, but converts any other format with `qemu-img` running as root on the hypervisor, which
/// opens whatever the image names (a backing file such as `/etc/shadow` or another tenant's LV, an
/// external data file). So a file with a backing store in libvirt's XML is refused (a thick LVM
/// snapshot's, its origin, is not: [`clone_source_problem`]), a qcow2 is refused when its header
/// (read here, in the copy's piece of work) names another file, and other formats (vmdk, qed, vdi,
/// ...) are refused outright.
fn refuse_clone_source(
    c: &Connect,
    src: &StorageVol,
    info: &VolInfo,
    object: &str,
) -> Result<Option<String>> {
    if let Some(why) = clone_source_problem(&info.xml) {
        return Ok(Some(why));
    }
    if info.xml.format.as_deref() != Some("qcow2") {
        return Ok(None);
    }
    let head = download_head(c, src, CLONE_HEAD, object)?;
    Ok(crate::image::check_qcow2_head(&head, &info.path())
        .err()
        .map(|e| e.to_string()))
}

/// The first `len` bytes of `v` (fewer when it is smaller), read over a libvirt stream.
fn download_head(c: &Connect, v: &StorageVol, len: usize, object: &str) -> Result<Vec<u8>> {
    const OP: &str = "read storage volume";
    let stream = virt::stream::Stream::new(c, 0).map_err(during(OP, object))?;
    v.download(&stream, 0, len as u64, 0)
        .map_err(during(OP, object))?;
    let mut head = vec![0u8; len];
    let mut got = 0;
    while got < len {
        let n = stream.recv(&mut head[got..]).map_err(during(OP, object))?;
        if n <= 0 {
            break;
        }
        got += n as usize;
    }
    head.truncate(got);
    // Whatever is left of the requested range is not needed: end the transfer.
    if got < len {
        stream.finish().map_err(during(OP, object))?;
    } else {
        let _ = stream.abort();
    }
    Ok(head)
}

/// The volume group and LV of `/dev/<vg>/<lv>`.
fn vg_and_lv(path: &str) -> Option<(String, String)> {
    let rest = crate::names::normalize_path(path);
    let mut parts = rest.strip_prefix("/dev/")?.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(vg), Some(lv), None) => Some((vg.to_string(), lv.to_string())),
        _ => None,
    }
}

/// An LVM command's failure inside a libvirt operation, as this layer's error: a timed-out
/// change is as unknown as a lost reply.
pub(super) fn lvm_error(op: &'static str, object: &str, e: crate::lvm::Error) -> Error {
    Error::Libvirt {
        op,
        object: object.to_string(),
        code: if e.outcome_unknown() {
            super::error::Code::ConnectionLost
        } else {
            super::error::Code::Other
        },
        message: format!("through LVM's tools: {e}"),
    }
}

/// Every volume libvirt lists in the pool `p` (named `pool`).
fn list_volumes_of(p: &StoragePool, pool: &str) -> Result<Vec<VolInfo>> {
    p.list_all_volumes(0)
        .map_err(during("list volumes of storage pool", quoted(pool)))?
        .iter()
        .map(|v| vol_info(v, pool, &quoted(pool)))
        .collect()
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
    /// A create that LVM refuses while the pool has fewer bytes available than the volume's
    /// allocation, as its XML reports them right after the refusal, is [`Created::NoSpace`] (LVM
    /// refuses before creating anything); and a pool that is gone is told from a stopped one
    /// ([`Created::NoPool`]). So the create needs no read of the pool of its own before it:
    /// everything it checks is read in the same piece of work as the create.
    ///
    /// The pool is refreshed from the handle of its last refresh when there is one (see
    /// `refresh_active_from`), and this refresh is then recorded as the pool's last
    /// ([`Connection::note_refresh`]): libvirt applies the create to its view of the pool.
    pub async fn create_volume(&self, pool: &str, new: &NewVolume) -> Result<Created> {
        let object = format!("'{pool}/{}'", new.name);
        let xml = new.xml().map_err(|source| Error::Definition { object, source })?;
        self.create_from_xml(pool, &new.name, xml, new.allocation()).await
    }

    /// Creates `name` in `pool` as a thick snapshot of the LV at `origin_path` with `bytes` of
    /// copy-on-write space, through libvirt alone: its logical backend runs `lvcreate -s`. Checked
    /// and made in one piece of work, as [`Connection::create_volume`]; LVM refuses an origin path
    /// that is no LV of the volume group, and a snapshot removes nothing, so the origin is named
    /// by the path the caller read just before.
    pub async fn create_snapshot_volume(
        &self,
        pool: &str,
        name: &str,
        bytes: u64,
        origin_path: &str,
    ) -> Result<Created> {
        let object = format!("'{pool}/{name}'");
        let xml = super::xml::snapshot_volume_xml(name, bytes, origin_path)
            .map_err(|source| Error::Definition { object, source })?;
        self.create_from_xml(pool, name, xml, bytes).await
    }

    /// [`Connection::create_volume`] from a definition written by hand: for tests that make what
    /// an operator might make out of band (a backing store, another format, an encryption).
    #[cfg(test)]
    pub async fn create_volume_xml(&self, pool: &str, name: &str, xml: String) -> Result<Created> {
        self.create_from_xml(pool, name, xml, 0).await
    }

    /// [`Connection::create_volume`]'s work, for a definition `xml` that allocates `space` bytes.
    async fn create_from_xml(&self, pool: &str, name: &str, xml: String, space: u64) -> Result<Created> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        let _queue = self.pool_change_lock(&pool).await;
        let handle = self.pool_handle(&pool);
        let started = Instant::now();
        let pool_name = pool.clone();
        let (created, refreshed) = self
            .volume_change("create storage volume", &object.clone(), move |c, gate: &Gate| {
                let Some(p) = refresh_active_from(c, handle.as_ref(), &pool, "create storage volume")? else {
                    if not_found_to_none(lookup_pool(c, &pool))?.is_none() {
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
                    Err(e) => match pool_xml(&p, &pool)
                        .ok()
                        .map(|x| x.available)
                        .filter(|a| space > *a)
                    {
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

    /// Creates the volume `new` in `pool` as a copy of the volume `source`
    /// (`virStorageVolCreateXMLFrom`), when the pool has no volume of that name, the source's key
    /// still answers where `source` says, and the source is no larger than its capacity.
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
    pub async fn clone_volume(&self, pool: &str, new: &NewVolume, source: &VolumeIdentity) -> Result<Cloned> {
        let (pool, name, source) = (pool.to_string(), new.name.clone(), source.clone());
        let object = format!("'{pool}/{name}'");
        let capacity = new.capacity;
        let xml = new.xml().map_err(|source| Error::Definition {
            object: object.clone(),
            source,
        })?;
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
            if let Some(why) = refuse_clone_source(c, &src, &info, &object)? {
                return Ok(Cloned::SourceRefused(info, why));
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
    ///
    /// With LVM's tools (`lvm`), their report of the volume group is read in the same piece of
    /// work too: snapshots of any kind (thin ones included) and an open device refuse the delete
    /// and any wipe; then LVM removes the LV itself, selected by its UUID and name and only while
    /// it is no origin, under LVM's own volume group lock ([`Command::RemoveByUuid`]), and
    /// libvirt's view of the pool is marked stale.
    // Over 100 lines on purpose: every guard and the delete in one piece of work, in the order they must run; split, the order would be hidden.
    pub async fn delete_volume(
        &self,
        id: &VolumeIdentity,
        wipe: bool,
        lvm: Option<Arc<Channel>>,
    ) -> Result<VolumeDelete> {
        let id = id.clone();
        let pool_name = id.pool.clone();
        let _queue = self.pool_change_lock(&id.pool).await;
        let handle = self.pool_handle(&id.pool);
        let started = Instant::now();
        let lvm_used = lvm.is_some();
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
                if !users.is_empty() && !off(Guard::InUse) {
                    return Ok((VolumeDelete::InUse(info, users), refreshed));
                }
                // libvirt deletes with `lvremove -f`, which takes every snapshot of the origin
                // with it: a volume with snapshots is refused (the listing is the refreshed one).
                if let Some(p) = &pool {
                    let listed = list_volumes_of(p, &id.pool)?;
                    let snapshots: Vec<Held> = snapshots_of(&info, &listed)
                        .into_iter()
                        .map(Held::listed)
                        .collect();
                    if !snapshots.is_empty() && !off(Guard::Dependants) {
                        return Ok((VolumeDelete::HasSnapshots(info, snapshots), refreshed));
                    }
                }
                let Some(lvm) = &lvm else {
                    gate.send()?;
                    if wipe {
                        v.wipe(0).map_err(during("wipe storage volume", object.clone()))?;
                    }
                    v.delete(0)
                        .map_err(during("delete storage volume", object.clone()))?;
                    return Ok((VolumeDelete::Deleted, refreshed));
                };
                let unchecked =
                    |why: String| Ok((VolumeDelete::Unchecked(info.clone(), why), refreshed.clone()));
                let Some((vg, lv)) = vg_and_lv(&info.path()) else {
                    return unchecked(format!("{} is no /dev/<vg>/<lv> path", info.path()));
                };
                let lvs = match lvm.lvs(&vg) {
                    Ok(lvs) => lvs,
                    Err(e) => return unchecked(e.to_string()),
                };
                let Some(me) = lvs.iter().find(|l| l.uuid == id.key && l.name == lv) else {
                    return unchecked(format!(
                        "LVM's report of {vg} shows no LV {lv} with UUID {}",
                        id.key
                    ));
                };
                let snapshots: Vec<Held> = dependants(me, &lvs).into_iter().map(Held::lv).collect();
                if !snapshots.is_empty() && !off(Guard::Dependants) {
                    return Ok((VolumeDelete::HasSnapshots(info, snapshots), refreshed));
                }
                if me.open == Some(true) {
                    return Ok((VolumeDelete::Open(info), refreshed));
                }
                gate.send()?;
                if wipe {
                    v.wipe(0).map_err(during("wipe storage volume", object.clone()))?;
                }
                let removed = lvm
                    .run(&Command::RemoveByUuid {
                        vg: vg.clone(),
                        lv: lv.clone(),
                        uuid: id.key.clone(),
                    })
                    .map_err(|e| lvm_error("delete storage volume", &object, e))?;
                if removed.contains("successfully removed") {
                    return Ok((VolumeDelete::Deleted, None));
                }
                // LVM's selection matched nothing: the LV became an origin, was renamed or went
                // since the report. What it is now decides.
                let now = lvm
                    .lvs(&vg)
                    .map_err(|e| lvm_error("delete storage volume", &object, e))?;
                Ok((
                    match now.iter().find(|l| l.uuid == id.key) {
                        None => VolumeDelete::Deleted,
                        Some(me) => VolumeDelete::HasSnapshots(
                            info,
                            dependants(me, &now).into_iter().map(Held::lv).collect(),
                        ),
                    },
                    None,
                ))
            })
            .await?;
        match refreshed {
            Some(h) => self.note_refresh(&pool_name, h),
            // LVM removed the LV: libvirt's pool view no longer shows what the pool holds.
            None if lvm_used => self.changed_outside_libvirt(),
            None => {}
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
mod tests;
