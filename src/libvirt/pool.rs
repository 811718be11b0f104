//! Storage pools of type `logical`: lookups, and the lifecycle steps as named operations.
//!
//! A pool is identified by its UUID *and* its name and volume group as last read: a pool undefined
//! and defined again under the same name (over another VG) has another UUID and is not it, and a
//! pool whose definition now names another VG is not it either. Reads by UUID never fall back to
//! the name. Every change that could lose data checks, in the same piece of blocking work, what it
//! acts on: the build scans the host's volume groups right before `vgcreate`, and the delete
//! refreshes the pool, lists its LVs and reads every domain's disks right before `vgremove`.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use virt::connect::Connect;
use virt::storage_pool::StoragePool;

use super::conn::{connection_address, Gate, PoolHandle};
use super::domain::LivePoolDirs;
use super::error::{during, not_found_to_none, Error, Result};
use super::facts::devices::{device_names, DeviceNames};
use super::facts::domain::all_domains;
use super::facts::pool::{
    lookup_by_uuid, lookup_pool, pool_info, pool_xml, quoted, scan, PoolIdentity, PoolInfo, Sources,
};
use super::facts::volume::{vol_info, VolInfo};
use super::rules::broken::{off, Guard};
use super::rules::usage::{users, Use, VolumeNames};
use super::rules::vg::{
    build_plan, decide, open_lvs, public_lvs, unexplained, BuildDecision, Held, Unexplained,
};
use super::Connection;
use crate::lvm::Channel;

/// `virStoragePoolBuildFlags`: fail when a device already holds data.
const BUILD_NO_OVERWRITE: u32 = 4;
/// `virStoragePoolBuildFlags`: write over whatever the devices hold.
const BUILD_OVERWRITE: u32 = 8;

/// What to do to the volume group when the pool goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnDestroy {
    /// Stop and undefine the pool; the VG and its data stay.
    Keep,
    /// Also remove the VG (`vgremove`, `pvremove`); `force` allows LVs no domain uses.
    Delete {
        /// Delete LVs with it.
        force: bool,
    },
}

/// What [`Connection::delete_pool`] did.
#[derive(Debug)]
pub enum PoolDelete {
    /// Stopped and undefined; `vg_removed` when the VG was deleted too, `vg_already_gone` when an
    /// earlier delete had removed it and only the undefine was left.
    Deleted {
        /// The VG was removed now.
        vg_removed: bool,
        /// The VG was already gone.
        vg_already_gone: bool,
    },
    /// No pool has the UUID any more: nothing was done.
    Gone,
    /// The UUID now answers with another name or volume group: nothing was done.
    NotThisPool(PoolInfo),
    /// Domains use some of its volumes: nothing was done.
    InUse(Vec<(Held, Vec<Use>)>),
    /// It holds volumes and `force` is off: nothing was done.
    HoldsVolumes(Vec<Held>),
    /// LVM's report shows LVs whose devices are open (mounted, held by a guest of any
    /// hypervisor, exported): nothing was done, whatever `force` says.
    Open(Vec<Held>),
    /// LVM's report could not be had (the tools are configured but failed): nothing was done.
    Unchecked(String),
    /// The volume group holds extents the volumes libvirt lists do not explain (LVs libvirt does
    /// not show: thin pools, thin volumes, inactive LVs): nothing was done, whatever `force`
    /// says, since nobody can tell what they are or who uses them.
    HiddenExtents(Unexplained),
    /// The volume group of the pool's name lives on other devices than the pool was defined
    /// on: it is not the group this pool was made over, and nothing was done.
    VgElsewhere {
        /// The devices in the pool's definition.
        defined: Vec<String>,
        /// The devices the volume group of that name has now.
        now: Vec<String>,
    },
}

/// What [`Connection::build_pool`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Built {
    /// vgcreate ran.
    Built,
    /// The volume group was already there on exactly these devices: nothing was built.
    Adopted,
    /// The volume group exists on some of the devices and can only grow by these (through
    /// LVM's tools): nothing was built.
    Grow(Vec<String>),
    /// Refused, saying why: nothing was built.
    Refused(String),
}

/// The pool with this UUID when it is still the pool `id` names.
fn checked(
    c: &Connect,
    id: &PoolIdentity,
) -> Result<std::result::Result<(StoragePool, PoolInfo), Option<PoolInfo>>> {
    let Some(p) = lookup_by_uuid(c, &id.uuid)? else {
        return Ok(Err(None));
    };
    let info = pool_info(&p, &id.object())?;
    if !id.matches(&info) {
        return Ok(Err(Some(info)));
    }
    Ok(Ok((p, info)))
}

impl Connection {
    /// The pool with this name (what a user names: volume pools, data sources, plan checks).
    /// Concurrent lookups of the same pool share one read that started after they asked.
    pub async fn find_pool(&self, name: &str) -> Result<Option<PoolInfo>> {
        let name = name.to_string();
        self.shared()
            .pools
            .get(&name, || async {
                let (n, object) = (name.clone(), quoted(&name));
                self.read("look up storage pool", &object, move |c| {
                    not_found_to_none(lookup_pool(c, &n))?
                        .map(|p| pool_info(&p, &quoted(&n)))
                        .transpose()
                })
                .await
            })
            .await
    }

    /// The pool with this UUID, and no other.
    pub async fn pool(&self, uuid: &str) -> Result<Option<PoolInfo>> {
        let uuid = uuid.to_string();
        let object = quoted(&uuid);
        self.read("look up storage pool", &object, move |c| {
            lookup_by_uuid(c, &uuid)?
                .map(|p| pool_info(&p, &quoted(&uuid)))
                .transpose()
        })
        .await
    }

    /// Refreshes `pool` so that what changed outside libvirt (lvcreate, lvextend, lvremove by hand)
    /// is seen by reads. One refresh serves every read of this configured provider, that is of one
    /// Terraform walk, that comes after it, until this provider changes something on the
    /// hypervisor other than volumes through libvirt's volume calls (which libvirt applies to its
    /// view of the pool as it makes them; see [`Connection::volume_change`]): a refresh that
    /// started before such a change ended is not used again. So a plan
    /// refreshes each pool once however many volumes it reads (on LVM a refresh runs the LVM tools,
    /// seconds on a busy host). Changes never rely on it: each refreshes in its own work.
    /// A stopped or missing pool is not refreshed (nothing to do).
    pub async fn refresh_pool(&self, pool: &str) -> Result<()> {
        let slot = self.refresh_slot(pool);
        let mut last = slot.lock().await;
        if last.is_some_and(|t| self.pool_view_unchanged_since(t)) {
            return Ok(());
        }
        let started = Instant::now();
        let name = pool.to_string();
        let active = self
            .read("refresh storage pool", &quoted(pool), move |c| {
                let Some(p) = not_found_to_none(lookup_pool(c, &name))? else {
                    return Ok(None);
                };
                // Asked first: libvirt refuses to refresh a stopped pool before doing anything, and
                // only a refusal needs the question whether the pool is active.
                if let Err(e) = p.refresh(0) {
                    if p.is_active()
                        .map_err(during("refresh storage pool", quoted(&name)))?
                    {
                        return Err(Error::libvirt("refresh storage pool", quoted(&name), e));
                    }
                    return Ok(None);
                }
                Ok(Some((connection_address(c), p)))
            })
            .await?;
        // The volume reads of this walk start from this handle (read_volume).
        self.keep_pool_handle(
            pool,
            active.map(|(conn, pool)| PoolHandle {
                at: started,
                conn,
                pool,
            }),
        );
        *last = Some(started);
        Ok(())
    }

    /// Volume groups libvirt can see on the host and the devices under them (type logical).
    ///
    /// Used for plan-time warnings. The scan runs the LVM tools on the hypervisor (seconds on a
    /// busy one), so it is reused within one configured provider until this provider changes
    /// something; the build never relies on it, it scans again in its own piece of work.
    pub async fn logical_sources(&self) -> Result<Sources> {
        let mut last = self.shared().sources.lock().await;
        if let Some((_, sources)) = last.as_ref().filter(|(at, _)| self.unchanged_since(*at)) {
            return Ok(sources.clone());
        }
        let started = Instant::now();
        let sources = self
            .read("find logical volume groups", "on the host", scan)
            .await?;
        *last = Some((started, sources.clone()));
        Ok(sources)
    }

    /// The names of the host's block devices (for plan-time checks; the build reads them again in
    /// its own piece of work).
    pub async fn device_names(&self) -> Result<DeviceNames> {
        self.read("list node devices", "on the host", |c| Ok(device_names(c)))
            .await
    }

    /// Defines a pool from XML that carries its UUID (so that a define whose reply was lost can be
    /// recognised by it: no other pool can have it).
    pub async fn define_pool(&self, name: &str, xml: String) -> Result<()> {
        let object = quoted(name);
        self.change("define storage pool", &object.clone(), move |c, gate: &Gate| {
            gate.send()?;
            c.define_storage_pool_xml(&xml, 0)
                .map(drop)
                .map_err(during("define storage pool", object.clone()))
        })
        .await
    }

    /// Builds the pool with this UUID (vgcreate on its devices), deciding in the same piece of
    /// work, from a scan of the host's volume groups and its devices' names made right before,
    /// what may be done ([`decide`]): adopt a volume group already there, grow it (returned as
    /// [`Built::Grow`], nothing done here: LVM's tools do that), build, or refuse. `empty_groups`
    /// are other volume groups LVM's report proved to hold no logical volume.
    pub async fn build_pool(
        &self,
        uuid: &str,
        vg: &str,
        devices: &[String],
        overwrite: bool,
        empty_groups: &[String],
    ) -> Result<Built> {
        let (uuid, vg, devices) = (uuid.to_string(), vg.to_string(), devices.to_vec());
        let empty_groups = empty_groups.to_vec();
        self.change(
            "build storage pool",
            &quoted(&vg.clone()),
            move |c, gate: &Gate| {
                let object = quoted(&vg);
                let names = device_names(c);
                let plan = build_plan(&scan(c)?, &vg, &devices, &names);
                let overwrite = match decide(plan, &devices, overwrite, &empty_groups, names.known()) {
                    BuildDecision::Adopt => return Ok(Built::Adopted),
                    BuildDecision::Grow(added) => return Ok(Built::Grow(added)),
                    BuildDecision::Refuse(why) => return Ok(Built::Refused(why)),
                    BuildDecision::Build { overwrite } => overwrite,
                };
                let pool = lookup_by_uuid(c, &uuid)?.ok_or_else(|| Error::Libvirt {
                    op: "build storage pool",
                    object: object.clone(),
                    code: super::error::Code::NotFound,
                    message: format!("the pool defined with UUID {uuid} is gone"),
                })?;
                let flags = if overwrite {
                    BUILD_OVERWRITE
                } else {
                    BUILD_NO_OVERWRITE
                };
                gate.send()?;
                match pool
                    .build(flags)
                    .map_err(during("build storage pool", object.clone()))
                {
                    // Drivers without the overwrite flags (the test driver) refuse before doing
                    // anything: build as they know how.
                    Err(e) if e.is_unsupported_flags() => {
                        pool.build(0).map_err(during("build storage pool", object))
                    }
                    other => other,
                }
                .map(|_| Built::Built)
            },
        )
        .await
    }

    /// Starts the pool with this UUID.
    pub async fn start_pool(&self, uuid: &str) -> Result<()> {
        let uuid = uuid.to_string();
        self.change(
            "start storage pool",
            &quoted(&uuid.clone()),
            move |c, gate: &Gate| {
                let p = lookup_by_uuid(c, &uuid)?.ok_or_else(|| gone("start storage pool", &uuid))?;
                gate.send()?;
                p.create(0)
                    .map(drop)
                    .map_err(during("start storage pool", quoted(&uuid)))
            },
        )
        .await
    }

    /// Stops the pool `id` names when it is still that pool; false when it is not (nothing done).
    pub async fn stop_pool(&self, id: &PoolIdentity) -> Result<bool> {
        let id = id.clone();
        self.change("stop storage pool", &id.object(), move |c, gate: &Gate| {
            let Ok((p, info)) = checked(c, &id)? else {
                return Ok(false);
            };
            if info.active {
                gate.send()?;
                p.destroy().map_err(during("stop storage pool", id.object()))?;
            }
            Ok(true)
        })
        .await
    }

    /// Sets whether libvirt starts the pool with this UUID on boot.
    pub async fn set_pool_autostart(&self, uuid: &str, on: bool) -> Result<()> {
        let uuid = uuid.to_string();
        self.change(
            "set autostart of storage pool",
            &quoted(&uuid.clone()),
            move |c, gate: &Gate| {
                let p =
                    lookup_by_uuid(c, &uuid)?.ok_or_else(|| gone("set autostart of storage pool", &uuid))?;
                gate.send()?;
                p.set_autostart(on)
                    .map(drop)
                    .map_err(during("set autostart of storage pool", quoted(&uuid)))
            },
        )
        .await
    }

    /// Undoes a create that failed half-way: the pool with this UUID (which the create chose, so
    /// it is the create's own) is stopped, its VG removed when the create built it, and undefined.
    pub async fn undo_pool_create(&self, uuid: &str, built: bool) -> Result<()> {
        let uuid = uuid.to_string();
        self.change(
            "remove storage pool",
            &quoted(&uuid.clone()),
            move |c, gate: &Gate| {
                let Some(p) = lookup_by_uuid(c, &uuid)? else {
                    return Ok(());
                };
                let object = quoted(&uuid);
                gate.send()?;
                if p.is_active()
                    .map_err(during("stop storage pool", object.clone()))?
                {
                    p.destroy().map_err(during("stop storage pool", object.clone()))?;
                }
                if built {
                    p.delete(0)
                        .map_err(during("delete storage pool", object.clone()))?;
                }
                p.undefine().map_err(during("undefine storage pool", object))
            },
        )
        .await
    }

    /// Removes the pool `id` names: stop, then (with [`OnDestroy::Delete`]) `vgremove`, then
    /// undefine. One piece of work that first proves it acts on that pool (UUID, name, VG) and,
    /// before a delete, refreshes the pool, lists its LVs and reads every domain's disks: a VG
    /// whose LV a domain uses is never removed; one holding LVs only with `force`. A stopped pool
    /// is started to be listed and stopped again when the delete is refused. A pool whose VG an
    /// earlier delete removed (and whose undefine then failed) is only undefined.
    pub async fn delete_pool(
        &self,
        id: &PoolIdentity,
        mode: OnDestroy,
        lvm: Option<Arc<Channel>>,
    ) -> Result<PoolDelete> {
        let id = id.clone();
        let _queue = self.pool_change_lock(&id.name).await;
        // Remembered across the busy retries of the same work.
        let started_here = Arc::new(AtomicBool::new(false));
        self.change("delete storage pool", &id.object(), move |c, gate: &Gate| {
            let object = id.object();
            let (p, info) = match checked(c, &id)? {
                Ok(found) => found,
                Err(None) => return Ok(PoolDelete::Gone),
                Err(Some(other)) => return Ok(PoolDelete::NotThisPool(other)),
            };
            let stop = |p: &StoragePool| p.destroy().map_err(during("stop storage pool", object.clone()));
            let OnDestroy::Delete { force } = mode else {
                gate.send()?;
                if info.active {
                    stop(&p)?;
                }
                p.undefine()
                    .map_err(during("undefine storage pool", object.clone()))?;
                return Ok(PoolDelete::Deleted {
                    vg_removed: false,
                    vg_already_gone: false,
                });
            };
            let sources = scan(c)?;
            let found = sources.iter().find(|(vg, _)| vg == &id.vg);
            // The volume group of this name must still be the one on the pool's devices: a group
            // renamed away and another made under the name (`vgrename`, `vgcreate`) is not it.
            if let Some((_, now)) = found.filter(|_| !info.xml.source.devices.is_empty()) {
                let names = device_names(c);
                let set = |d: &[String]| d.iter().map(|p| names.node(p)).collect::<BTreeSet<_>>();
                if set(now) != set(&info.xml.source.devices) {
                    return Ok(PoolDelete::VgElsewhere {
                        defined: info.xml.source.devices.clone(),
                        now: now.clone(),
                    });
                }
            }
            if !info.active {
                // A stopped pool is started to be listed. If it cannot start and the host's scan
                // shows no such volume group, an earlier delete removed it and failed to undefine:
                // finish that. (The scan alone is not trusted: a filtered or failing scan must not
                // make a pool whose volume group exists look finished.)
                let listed = found.is_some();
                gate.send()?;
                match p.create(0).map_err(during("start storage pool", object.clone())) {
                    Ok(_) => started_here.store(true, Ordering::SeqCst),
                    Err(_) if !listed => {
                        p.undefine()
                            .map_err(during("undefine storage pool", object.clone()))?;
                        return Ok(PoolDelete::Deleted {
                            vg_removed: false,
                            vg_already_gone: true,
                        });
                    }
                    Err(e) => return Err(e),
                }
            }
            p.refresh(0)
                .map_err(during("refresh storage pool", object.clone()))?;
            let volumes: Vec<VolInfo> = p
                .list_all_volumes(0)
                .map_err(during("list volumes of storage pool", object.clone()))?
                .iter()
                .map(|v| vol_info(v, &id.name, &object))
                .collect::<Result<_>>()?;
            let refused = match &lvm {
                None => refusal_from_listing(c, &p, &id, &volumes, force)?,
                Some(lvm) => refusal_from_lvm(c, lvm, &id, &volumes, force)?,
            };
            if let Some(refused) = refused {
                // Leave it as it was found.
                if started_here.load(Ordering::SeqCst) {
                    stop(&p)?;
                }
                return Ok(refused);
            }
            gate.send()?;
            stop(&p)?;
            p.delete(0)
                .map_err(during("delete storage pool", object.clone()))?;
            p.undefine()
                .map_err(during("undefine storage pool", object.clone()))?;
            Ok(PoolDelete::Deleted {
                vg_removed: true,
                vg_already_gone: false,
            })
        })
        .await
    }
}

/// What stops a pool delete, from libvirt's listing alone: extents the listed volumes do not
/// explain, a volume a domain uses, any volume without `force`.
fn refusal_from_listing(
    c: &Connect,
    p: &StoragePool,
    id: &PoolIdentity,
    volumes: &[VolInfo],
    force: bool,
) -> Result<Option<PoolDelete>> {
    let allocation = pool_xml(p, &id.name)?.allocation;
    if let Some(u) = unexplained(allocation, volumes).filter(|_| !off(Guard::VgAccounting)) {
        return Ok(Some(PoolDelete::HiddenExtents(u)));
    }
    if volumes.is_empty() {
        return Ok(None);
    }
    let named: Vec<(Held, VolumeNames)> = volumes
        .iter()
        .map(|v| (Held::listed(v), VolumeNames::of(v)))
        .collect();
    if let Some(in_use) = in_use(c, &named)? {
        return Ok(Some(in_use));
    }
    Ok((!force).then(|| PoolDelete::HoldsVolumes(named.into_iter().map(|(h, _)| h).collect())))
}

/// What stops a pool delete, from LVM's own report of the volume group (every LV, hidden and
/// inactive ones included): an open LV, an LV a domain uses (under any of its names), any LV
/// without `force`.
fn refusal_from_lvm(
    c: &Connect,
    lvm: &Channel,
    id: &PoolIdentity,
    volumes: &[VolInfo],
    force: bool,
) -> Result<Option<PoolDelete>> {
    let lvs = match lvm.lvs(&id.vg) {
        Ok(lvs) => lvs,
        Err(e) => return Ok(Some(PoolDelete::Unchecked(e.to_string()))),
    };
    let open: Vec<Held> = open_lvs(&lvs).into_iter().map(Held::lv).collect();
    if !open.is_empty() {
        return Ok(Some(PoolDelete::Open(open)));
    }
    let mut public = public_lvs(&lvs);
    if off(Guard::VgAccounting) {
        // Broken on purpose (tests only): libvirt's listing alone counts.
        public.retain(|l| volumes.iter().any(|v| v.key() == l.uuid));
    }
    if public.is_empty() {
        return Ok(None);
    }
    let named: Vec<(Held, VolumeNames)> = public
        .iter()
        .map(|l| {
            // libvirt's own view of a listed LV, for `type='volume'` disks that name it.
            let listed = volumes.iter().find(|v| v.key() == l.uuid);
            let names = match listed {
                Some(v) => VolumeNames::of(v),
                None => VolumeNames::new(
                    &id.name,
                    &l.name,
                    l.path.as_deref().unwrap_or(&format!("/dev/{}/{}", id.vg, l.name)),
                    &l.uuid,
                ),
            };
            (Held::lv(l), names)
        })
        .collect();
    if let Some(in_use) = in_use(c, &named)? {
        return Ok(Some(in_use));
    }
    Ok((!force).then(|| PoolDelete::HoldsVolumes(named.into_iter().map(|(h, _)| h).collect())))
}

/// [`PoolDelete::InUse`] when any domain uses any of `named`.
fn in_use(c: &Connect, named: &[(Held, VolumeNames)]) -> Result<Option<PoolDelete>> {
    if off(Guard::InUse) {
        return Ok(None);
    }
    let domains = all_domains(c)?;
    let pools = LivePoolDirs::new(c);
    let in_use: Vec<(Held, Vec<Use>)> = named
        .iter()
        .map(|(h, n)| (h.clone(), users(&domains, n, &pools)))
        .filter(|(_, u)| !u.is_empty())
        .collect();
    Ok((!in_use.is_empty()).then_some(PoolDelete::InUse(in_use)))
}

fn gone(op: &'static str, uuid: &str) -> Error {
    Error::Libvirt {
        op,
        object: quoted(uuid),
        code: super::error::Code::NotFound,
        message: format!("no storage pool with UUID {uuid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::libvirt::testing::TestDriver;

    /// A logical pool defined, built and started on a private test driver.
    async fn logical(c: &Connection, name: &str) -> PoolIdentity {
        let uuid = "4b5d6a1e-1c2d-4e5f-9a8b-7c6d5e4f3a21";
        let xml = crate::libvirt::xml::logical_pool_xml(name, uuid, &format!("{name}-vg"), &["/dev/sdz"])
            .expect("xml");
        c.define_pool(name, xml).await.expect("define");
        let built = c
            .build_pool(uuid, &format!("{name}-vg"), &["/dev/sdz".to_string()], false, &[])
            .await
            .expect("build");
        assert_eq!(built, Built::Built);
        c.start_pool(uuid).await.expect("start");
        PoolIdentity {
            uuid: uuid.into(),
            name: name.into(),
            vg: format!("{name}-vg"),
        }
    }

    #[tokio::test]
    async fn a_pool_is_found_by_its_uuid_only() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let id = logical(&c, "tp").await;
        let found = c.pool(&id.uuid).await.expect("read").expect("by its UUID");
        assert!(id.matches(&found), "{found:?}");
        assert!(c
            .pool("00000000-0000-0000-0000-000000000001")
            .await
            .expect("read")
            .is_none());
    }

    #[tokio::test]
    async fn delete_and_stop_touch_only_the_pool_they_were_given() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let id = logical(&c, "tp").await;
        for wrong in [
            PoolIdentity {
                vg: "another-vg".into(),
                ..id.clone()
            },
            PoolIdentity {
                name: "another-name".into(),
                ..id.clone()
            },
        ] {
            assert!(matches!(
                c.delete_pool(&wrong, OnDestroy::Delete { force: true }, None)
                    .await
                    .expect("delete"),
                PoolDelete::NotThisPool(_)
            ));
            assert!(
                !c.stop_pool(&wrong).await.expect("stop"),
                "not ours: nothing stopped"
            );
        }
        let gone = PoolIdentity {
            uuid: "00000000-0000-0000-0000-000000000001".into(),
            ..id.clone()
        };
        assert!(matches!(
            c.delete_pool(&gone, OnDestroy::Keep, None).await.expect("delete"),
            PoolDelete::Gone
        ));
        let p = c.pool(&id.uuid).await.expect("read").expect("still there");
        assert!(p.active, "nothing was stopped");
        // The right identity: deleted, and a second delete finds nothing.
        assert!(matches!(
            c.delete_pool(&id, OnDestroy::Delete { force: false }, None)
                .await
                .expect("delete"),
            PoolDelete::Deleted { vg_removed: true, .. }
        ));
        assert!(c.pool(&id.uuid).await.expect("read").is_none());
        assert!(matches!(
            c.delete_pool(&id, OnDestroy::Keep, None).await.expect("delete"),
            PoolDelete::Gone
        ));
    }

    /// A stopped pool whose volume group holds an LV: started to be listed, refused, stopped again.
    #[tokio::test]
    async fn a_stopped_pool_is_listed_before_its_volume_group_goes() {
        let driver = TestDriver::new("");
        let c = driver.connect().await;
        let id = logical(&c, "tp").await;
        let xml = crate::libvirt::xml::volume_xml("kept", 1 << 20, 1 << 20).expect("xml");
        c.create_volume_xml("tp", "kept", xml).await.expect("volume");
        assert!(c.stop_pool(&id).await.expect("stop"));
        let r = c
            .delete_pool(&id, OnDestroy::Delete { force: false }, None)
            .await
            .expect("delete");
        assert!(matches!(&r, PoolDelete::HoldsVolumes(v) if v.len() == 1), "{r:?}");
        let p = c.pool(&id.uuid).await.expect("read").expect("still defined");
        assert!(!p.active, "left as it was found: stopped");
    }
}
