//! Storage pools and volumes: typed operations over [`Connection::run`].
//!
//! Lookups return `Ok(None)` for "not found", so a resource's read can tell
//! "gone" from "could not ask".

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use virt::connect::Connect;
use virt::storage_pool::StoragePool;
use virt::storage_vol::StorageVol;

use super::error::{lv, Error, Result};
use super::xml::{PoolXml, VolumeXml};
use super::Connection;

/// `virStoragePoolBuildFlags`: fail when a device already holds data.
pub const BUILD_NO_OVERWRITE: u32 = 4;
/// `virStoragePoolBuildFlags`: write over whatever the devices hold.
pub const BUILD_OVERWRITE: u32 = 8;
/// `virStorageVolResizeFlags`: allow a smaller capacity.
pub const RESIZE_SHRINK: u32 = 4;

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
    /// The device path, /dev/<vg>/<lv>.
    pub fn path(&self) -> String {
        self.xml.target_path.clone().unwrap_or_default()
    }
}

/// Volume groups and the devices under each, as `virConnectFindStoragePoolSources` reports them.
pub type Sources = Vec<(String, Vec<String>)>;

/// What [`Connection::create_volume`] did.
#[derive(Debug)]
pub enum Created {
    /// The volume was created.
    New(VolInfo),
    /// The pool already had a volume of that name; nothing was created.
    Exists(VolInfo),
    /// Checking for a volume of that name failed; nothing was asked of libvirt to create.
    NotAsked(Error),
}

/// What [`Connection::delete_volume_by_key`] did.
#[derive(Debug)]
pub enum KeyedDelete<R> {
    /// Deleted.
    Deleted,
    /// The check refused; nothing was deleted.
    Refused(VolInfo, R),
    /// No volume has this key any more, or the one that has it is not in that pool at that name
    /// and path; nothing was deleted.
    NotThisVolume,
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn not_found_to_none<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

fn pool_info(p: &StoragePool, object: &str) -> Result<PoolInfo> {
    let xml = p.xml_desc(0).map_err(lv("read storage pool", object))?;
    Ok(PoolInfo {
        uuid: p.uuid_string().map_err(lv("read storage pool", object))?,
        active: p.is_active().map_err(lv("read storage pool", object))?,
        autostart: p.autostart().map_err(lv("read storage pool", object))?,
        xml: PoolXml::parse(&xml).map_err(|source| Error::Xml {
            object: format!("storage pool {object}"),
            source,
        })?,
    })
}

fn vol_info(v: &StorageVol, pool: &str, object: &str) -> Result<VolInfo> {
    let xml = v.xml_desc(0).map_err(lv("read storage volume", object))?;
    Ok(VolInfo {
        pool: pool.to_string(),
        xml: VolumeXml::parse(&xml).map_err(|source| Error::Xml {
            object: format!("storage volume {object}"),
            source,
        })?,
    })
}

/// The volume with this key and what it reports, when it is the volume `name` at `path` (the
/// handle too, for what the caller does next); None when no volume has this key or another does.
fn lookup_by_key_at(
    c: &Connect,
    key: &str,
    pool: &str,
    name: &str,
    path: &str,
    object: &str,
) -> Result<Option<(StorageVol, VolInfo)>> {
    let found = c
        .lookup_storage_vol_by_key(key)
        .map_err(lv("look up storage volume", object.to_string()));
    let Some(v) = not_found_to_none(found)? else {
        return Ok(None);
    };
    let info = vol_info(&v, pool, object)?;
    let same = info.xml.name == name && info.xml.target_path.as_deref() == Some(path);
    Ok(same.then_some((v, info)))
}

fn lookup_pool(c: &Connect, name: &str) -> Result<StoragePool> {
    c.lookup_storage_pool_by_name(name)
        .map_err(lv("look up storage pool", quoted(name)))
}

/// Per-pool coordination shared by all RPCs of one provider instance.
#[derive(Default)]
pub struct PoolLocks {
    refreshes: std::sync::Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Instant>>>>>,
}

impl PoolLocks {
    fn slot(&self, pool: &str) -> Arc<tokio::sync::Mutex<Option<Instant>>> {
        let mut map = self.refreshes.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(pool.to_string()).or_default().clone()
    }

    /// Refreshes `pool` so that what changed outside libvirt (lvcreate, lvextend, lvremove by hand)
    /// is seen. One refresh serves every read of this configured provider, that is of one Terraform
    /// walk, that comes after it, until this provider changes something on the hypervisor: a
    /// refresh that started before that change ended is not used again. So a plan refreshes each
    /// pool once however many volumes it reads (on LVM a refresh runs the LVM tools, seconds on a
    /// busy host), and what it reports is at least as fresh as the start of the walk.
    /// Concurrent callers share one refresh.
    pub async fn refresh(&self, conn: &Connection, pool: &str) -> Result<()> {
        let slot = self.slot(pool);
        let mut last = slot.lock().await;
        if last.is_some_and(|t| conn.unchanged_since(t)) {
            return Ok(());
        }
        let started = Instant::now();
        let name = pool.to_string();
        conn.run("refresh storage pool", &quoted(pool), move |c| {
            let p = lookup_pool(c, &name)?;
            if p.is_active().map_err(lv("refresh storage pool", quoted(&name)))? {
                p.refresh(0).map_err(lv("refresh storage pool", quoted(&name)))?;
            }
            Ok(())
        })
        .await?;
        *last = Some(started);
        Ok(())
    }
}

impl Connection {
    /// The pool with this UUID, else the pool with this name. Concurrent lookups of the same pool
    /// share one read that started after they asked (see [`super::coalesce`]).
    pub async fn find_pool(&self, uuid: Option<&str>, name: &str) -> Result<Option<PoolInfo>> {
        let uuid = uuid.filter(|u| !u.is_empty()).map(str::to_string);
        let key = (uuid.clone(), name.to_string());
        self.shared()
            .pools
            .get(&key, || self.read_pool(uuid, name.to_string()))
            .await
    }

    async fn read_pool(&self, uuid: Option<String>, name: String) -> Result<Option<PoolInfo>> {
        self.run("look up storage pool", &quoted(&name.clone()), move |c| {
            let by_uuid = match &uuid {
                Some(u) => not_found_to_none(
                    c.lookup_storage_pool_by_uuid_string(u)
                        .map_err(lv("look up storage pool", quoted(u))),
                )?,
                None => None,
            };
            let pool = match by_uuid {
                Some(p) => Some(p),
                None if !name.is_empty() => not_found_to_none(lookup_pool(c, &name))?,
                None => None,
            };
            pool.map(|p| pool_info(&p, &quoted(&name))).transpose()
        })
        .await
    }

    /// Defines a pool from XML; returns its UUID.
    pub async fn define_pool(&self, name: &str, xml: String) -> Result<String> {
        let object = quoted(name);
        self.run("define storage pool", &object.clone(), move |c| {
            let p = c
                .define_storage_pool_xml(&xml, 0)
                .map_err(lv("define storage pool", object.clone()))?;
            p.uuid_string().map_err(lv("define storage pool", object.clone()))
        })
        .await
    }

    /// Runs one pool operation by name.
    pub async fn pool_op(
        &self,
        op: &'static str,
        name: &str,
        f: fn(&StoragePool) -> std::result::Result<(), virt::error::Error>,
    ) -> Result<()> {
        let name = name.to_string();
        self.run(op, &quoted(&name), move |c| {
            f(&lookup_pool(c, &name)?).map_err(lv(op, quoted(&name)))
        })
        .await
    }

    /// Builds the pool (vgcreate on its devices) with `flags`.
    pub async fn build_pool(&self, name: &str, flags: u32) -> Result<()> {
        let name = name.to_string();
        self.run("build storage pool", &quoted(&name), move |c| {
            let pool = lookup_pool(c, &name)?;
            match pool.build(flags) {
                // Drivers without the overwrite flags (the test driver)
                // refuse before doing anything: build as they know how.
                Err(e) if flags != 0 && e.message().contains("unsupported flags") => pool.build(0),
                other => other,
            }
            .map_err(lv("build storage pool", quoted(&name)))
        })
        .await
    }

    /// Sets whether libvirt starts the pool on boot.
    pub async fn set_pool_autostart(&self, name: &str, on: bool) -> Result<()> {
        let name = name.to_string();
        self.run("set autostart of storage pool", &quoted(&name), move |c| {
            lookup_pool(c, &name)?
                .set_autostart(on)
                .map(|_| ())
                .map_err(lv("set autostart of storage pool", quoted(&name)))
        })
        .await
    }

    /// Volume groups libvirt can see on the host and the devices under them
    /// (`virConnectFindStoragePoolSources` for type logical): (vg, devices).
    ///
    /// The scan runs the LVM tools on the hypervisor (seconds on a busy one), and Terraform plans a
    /// new pool twice in one apply: in the plan, then again in the apply walk right before the
    /// create, which scans too. So a scan is reused within one configured provider (one walk) until
    /// this provider changes something through its connection; concurrent callers share one. A
    /// reused scan shows what a new one would, unless something outside the provider changed the
    /// volume groups in the moment between, which could as well happen between any scan and the
    /// build that follows it (and a build refuses devices that hold data unless overwrite is set).
    pub async fn logical_sources(&self) -> Result<Sources> {
        let mut last = self.shared().sources.lock().await;
        if let Some((_, sources)) = last.as_ref().filter(|(at, _)| self.unchanged_since(*at)) {
            return Ok(sources.clone());
        }
        let started = Instant::now();
        let sources = self
            .run("find logical volume groups", "on the host", |c| {
                let xml = c
                    .find_storage_pool_sources("logical", None, 0)
                    .map_err(lv("find logical volume groups", "on the host"))?;
                super::xml::parse_pool_sources(&xml).map_err(|source| Error::Xml {
                    object: "the host's volume groups".into(),
                    source,
                })
            })
            .await?;
        *last = Some((started, sources.clone()));
        Ok(sources)
    }

    /// Every volume of an active pool.
    pub async fn list_volumes(&self, pool: &str) -> Result<Vec<VolInfo>> {
        let pool = pool.to_string();
        self.run("list volumes of storage pool", &quoted(&pool), move |c| {
            let p = lookup_pool(c, &pool)?;
            let vols = p
                .list_all_volumes(0)
                .map_err(lv("list volumes of storage pool", quoted(&pool)))?;
            vols.iter().map(|v| vol_info(v, &pool, &quoted(&pool))).collect()
        })
        .await
    }

    /// Creates the volume `name` in `pool` from XML, unless the pool already has a volume of that
    /// name: then nothing is created and that volume is returned as [`Created::Exists`].
    ///
    /// The check and the create are one piece of blocking work (a pool lookup fewer than two). A
    /// failure of the check is returned as [`Created::NotAsked`], never as an error of the create:
    /// only an error of the create itself may mean that the volume was made and its reply lost.
    pub async fn create_volume(&self, pool: &str, name: &str, xml: String) -> Result<Created> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        self.run("create storage volume", &object.clone(), move |c| {
            let check = lookup_pool(c, &pool).and_then(|p| {
                let existing = not_found_to_none(
                    p.lookup_storage_vol_by_name(&name)
                        .map_err(lv("look up storage volume", object.clone())),
                )?;
                Ok((p, existing))
            });
            let p = match check {
                Err(e) => return Ok(Created::NotAsked(e)),
                Ok((_, Some(existing))) => return Ok(Created::Exists(vol_info(&existing, &pool, &object)?)),
                Ok((p, None)) => p,
            };
            let v =
                StorageVol::create_xml(&p, &xml, 0).map_err(lv("create storage volume", object.clone()))?;
            vol_info(&v, &pool, &object).map(Created::New)
        })
        .await
    }

    /// The volume `name` in `pool`.
    pub async fn find_volume(&self, pool: &str, name: &str) -> Result<Option<VolInfo>> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        self.run("look up storage volume", &object.clone(), move |c| {
            let p = match not_found_to_none(lookup_pool(c, &pool))? {
                Some(p) => p,
                None => return Ok(None),
            };
            let v = not_found_to_none(
                p.lookup_storage_vol_by_name(&name)
                    .map_err(lv("look up storage volume", object.clone())),
            )?;
            v.map(|v| vol_info(&v, &pool, &object)).transpose()
        })
        .await
    }

    /// The volume with this key or path (`by_path` chooses), with its pool.
    pub async fn find_volume_by(&self, key_or_path: &str, by_path: bool) -> Result<Option<VolInfo>> {
        let id = key_or_path.to_string();
        let object = quoted(key_or_path);
        self.run("look up storage volume", &object.clone(), move |c| {
            let found = if by_path {
                c.lookup_storage_vol_by_path(&id)
            } else {
                c.lookup_storage_vol_by_key(&id)
            };
            let Some(v) = not_found_to_none(found.map_err(lv("look up storage volume", object.clone())))?
            else {
                return Ok(None);
            };
            let pool = v
                .lookup_storage_pool()
                .and_then(|p| p.name())
                .map_err(lv("look up the pool of storage volume", object.clone()))?;
            vol_info(&v, &pool, &object).map(Some)
        })
        .await
    }

    /// The volume with this key when it is the volume `name` of the pool whose volumes live in
    /// `pool_dir` (its target path); None when no volume has this key, or when the one that has it
    /// is not that volume. Two calls, where [`Connection::find_volume_by`] needs three: the pool is
    /// told by the volume's path instead of being asked for.
    pub async fn find_volume_by_key_in(
        &self,
        pool: &str,
        pool_dir: &str,
        key: &str,
        name: &str,
    ) -> Result<Option<VolInfo>> {
        let (pool, key) = (pool.to_string(), key.to_string());
        let expected_path = format!("{}/{name}", pool_dir.trim_end_matches('/'));
        let name = name.to_string();
        let object = quoted(&key);
        self.run("look up storage volume", &object.clone(), move |c| {
            Ok(lookup_by_key_at(c, &key, &pool, &name, &expected_path, &object)?.map(|(_, info)| info))
        })
        .await
    }

    /// Deletes the volume with this key (an LV UUID names one volume for its whole life, unlike a
    /// name) when it is still the volume `name` of `pool` at `path`, and `refuse` has no objection
    /// to it; wipes it first when asked. One piece of blocking work: look up, check, delete.
    pub async fn delete_volume_by_key<R, F>(
        &self,
        pool: &str,
        key: &str,
        name: &str,
        path: &str,
        wipe: bool,
        refuse: F,
    ) -> Result<KeyedDelete<R>>
    where
        R: Send + 'static,
        F: Fn(&VolInfo) -> Option<R> + Send + Sync + 'static,
    {
        let (pool, key, name, path) = (
            pool.to_string(),
            key.to_string(),
            name.to_string(),
            path.to_string(),
        );
        let object = format!("'{pool}/{name}'");
        self.run("delete storage volume", &object.clone(), move |c| {
            let Some((v, info)) = lookup_by_key_at(c, &key, &pool, &name, &path, &object)? else {
                return Ok(KeyedDelete::NotThisVolume);
            };
            // The same LV adopted since by a pool of another name belongs to that pool now.
            let owner = v
                .lookup_storage_pool()
                .and_then(|p| p.name())
                .map_err(lv("look up the pool of storage volume", object.clone()))?;
            if owner != pool {
                return Ok(KeyedDelete::NotThisVolume);
            }
            if let Some(why) = refuse(&info) {
                return Ok(KeyedDelete::Refused(info, why));
            }
            if wipe {
                v.wipe(0).map_err(lv("wipe storage volume", object.clone()))?;
            }
            v.delete(0).map_err(lv("delete storage volume", object.clone()))?;
            Ok(KeyedDelete::Deleted)
        })
        .await
    }

    /// Deletes a volume, wiping it first when asked.
    pub async fn delete_volume(&self, pool: &str, name: &str, wipe: bool) -> Result<()> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        self.run("delete storage volume", &object.clone(), move |c| {
            let v = lookup_pool(c, &pool)?
                .lookup_storage_vol_by_name(&name)
                .map_err(lv("look up storage volume", object.clone()))?;
            if wipe {
                v.wipe(0).map_err(lv("wipe storage volume", object.clone()))?;
            }
            v.delete(0).map_err(lv("delete storage volume", object.clone()))
        })
        .await
    }

    /// Resizes a volume to `capacity` bytes.
    pub async fn resize_volume(&self, pool: &str, name: &str, capacity: u64, flags: u32) -> Result<()> {
        let (pool, name) = (pool.to_string(), name.to_string());
        let object = format!("'{pool}/{name}'");
        self.run("resize storage volume", &object.clone(), move |c| {
            lookup_pool(c, &pool)?
                .lookup_storage_vol_by_name(&name)
                .map_err(lv("look up storage volume", object.clone()))?
                .resize(capacity, flags)
                .map_err(lv("resize storage volume", object.clone()))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use super::*;
    use crate::libvirt::conn::ConnectOptions;

    /// A private test-driver hypervisor (not the process-wide `test:///default`: the tests
    /// change the pool's autostart, and run side by side); keep the directory while it is used.
    async fn test_driver() -> (tempfile::TempDir, Connection) {
        let (dir, uri) = crate::libvirt::conn::tests::private_test_driver();
        let c = Connection::open(&uri, &ConnectOptions::default(), Arc::new(AtomicBool::new(false)))
            .await
            .expect("the test driver opens");
        (dir, c)
    }

    /// A pool is refreshed once per configured provider (one Terraform walk), and again after the
    /// provider changed something.
    #[tokio::test]
    async fn one_refresh_per_walk_until_the_provider_changes_something() {
        let (_dir, c) = test_driver().await;
        let locks = PoolLocks::default();
        let start = c.runs();
        locks.refresh(&c, "default-pool").await.expect("refresh");
        assert_eq!(c.runs(), start + 1, "the first read refreshes");
        locks.refresh(&c, "default-pool").await.expect("refresh again");
        assert_eq!(c.runs(), start + 1, "later reads of the walk reuse it");
        let autostart = c
            .find_pool(None, "default-pool")
            .await
            .expect("read")
            .expect("the test driver's pool")
            .autostart;
        c.set_pool_autostart("default-pool", autostart)
            .await
            .expect("a change (to the same value)");
        let changed = c.runs();
        locks
            .refresh(&c, "default-pool")
            .await
            .expect("refresh after a change");
        assert_eq!(c.runs(), changed + 1, "a change makes the next read refresh");
    }

    /// The same for the scan of the host's volume groups.
    #[tokio::test]
    async fn one_scan_per_walk_until_the_provider_changes_something() {
        let (_dir, c) = test_driver().await;
        let start = c.runs();
        let first = c.logical_sources().await.expect("scan");
        assert_eq!(c.runs(), start + 1);
        assert_eq!(c.logical_sources().await.expect("scan again"), first, "reused");
        assert_eq!(c.runs(), start + 1);
        c.set_pool_autostart("default-pool", true)
            .await
            .expect("a change");
        let changed = c.runs();
        c.logical_sources().await.expect("scan after a change");
        assert_eq!(c.runs(), changed + 1, "a change makes the next scan fresh");
    }
}
