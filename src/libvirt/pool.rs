//! Storage pools of type `logical`: lookups, and the lifecycle steps as named operations.
//!
//! A pool is identified by its UUID *and* its name and volume group as last read: a pool undefined
//! and defined again under the same name (over another VG) has another UUID and is not it, and a
//! pool whose definition now names another VG is not it either. Reads by UUID never fall back to
//! the name. Every change that could lose data checks, in the same piece of blocking work, what it
//! acts on: the build scans the host's volume groups right before `vgcreate`, and the delete
//! refreshes the pool, lists its LVs and reads every domain's disks right before `vgremove`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use virt::connect::Connect;
use virt::storage_pool::StoragePool;

use super::conn::{connection_address, Gate, PoolHandle};
use super::domain::{all_domains, users, Use, VolumeNames};
use super::error::{during, not_found_to_none, Error, Result};
use super::volume::{lookup_pool, vol_info, VolInfo};
use super::xml::PoolXml;
use super::Connection;

/// `virStoragePoolBuildFlags`: fail when a device already holds data.
const BUILD_NO_OVERWRITE: u32 = 4;
/// `virStoragePoolBuildFlags`: write over whatever the devices hold.
const BUILD_OVERWRITE: u32 = 8;

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

    fn object(&self) -> String {
        format!("'{}'", self.name)
    }
}

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
    InUse(Vec<(VolInfo, Vec<Use>)>),
    /// It holds volumes and `force` is off: nothing was done.
    HoldsVolumes(Vec<VolInfo>),
}

/// What to do with the devices of a new pool, from the host's volume groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildPlan {
    /// The volume group exists on exactly these devices: adopt it (no vgcreate).
    Adopt,
    /// No known volume group uses the devices: build.
    Build,
    /// A device belongs to another volume group, or this one lives on other devices.
    Conflict(String),
}

/// Whether to build volume group `vg` on `devices`, given the host's volume groups.
pub fn build_plan(sources: &[(String, Vec<String>)], vg: &str, devices: &[String]) -> BuildPlan {
    let wanted: std::collections::BTreeSet<&str> = devices.iter().map(String::as_str).collect();
    for (name, have) in sources {
        let have_set: std::collections::BTreeSet<&str> = have.iter().map(String::as_str).collect();
        if name == vg {
            return if have_set == wanted {
                BuildPlan::Adopt
            } else {
                BuildPlan::Conflict(format!(
                    "Volume group {name:?} already exists on {}, not on the configured {}.",
                    have.join(", "),
                    devices.join(", ")
                ))
            };
        }
    }
    for (name, have) in sources {
        if let Some(d) = have.iter().find(|d| wanted.contains(d.as_str())) {
            return BuildPlan::Conflict(format!(
                "{d} is a physical volume of another volume group, {name:?}. Building on it would destroy \
                 that volume group."
            ));
        }
    }
    BuildPlan::Build
}

/// What [`Connection::build_pool`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Built {
    /// vgcreate ran.
    Built,
    /// The volume group was already there on exactly these devices: nothing was built.
    Adopted,
    /// A device belongs to another volume group and overwrite is off: nothing was built.
    Refused(String),
}

fn quoted(s: &str) -> String {
    format!("'{s}'")
}

fn pool_info(p: &StoragePool, object: &str) -> Result<PoolInfo> {
    let xml = p.xml_desc(0).map_err(during("read storage pool", object))?;
    Ok(PoolInfo {
        uuid: p.uuid_string().map_err(during("read storage pool", object))?,
        active: p.is_active().map_err(during("read storage pool", object))?,
        autostart: p.autostart().map_err(during("read storage pool", object))?,
        xml: PoolXml::parse(&xml).map_err(|source| Error::Xml {
            object: format!("storage pool {object}"),
            source,
        })?,
    })
}

fn lookup_by_uuid(c: &Connect, uuid: &str) -> Result<Option<StoragePool>> {
    not_found_to_none(
        c.lookup_storage_pool_by_uuid_string(uuid)
            .map_err(during("look up storage pool", quoted(uuid))),
    )
}

/// The host's volume groups, scanned now.
fn scan(c: &Connect) -> Result<Sources> {
    let xml = c
        .find_storage_pool_sources("logical", None, 0)
        .map_err(during("find logical volume groups", "on the host"))?;
    super::xml::parse_pool_sources(&xml).map_err(|source| Error::Xml {
        object: "the host's volume groups".into(),
        source,
    })
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
    /// work, from a scan made right before, whether the volume group is already there (adopted,
    /// nothing built) or a device holds another (refused unless `overwrite`).
    pub async fn build_pool(
        &self,
        uuid: &str,
        vg: &str,
        devices: &[String],
        overwrite: bool,
    ) -> Result<Built> {
        let (uuid, vg, devices) = (uuid.to_string(), vg.to_string(), devices.to_vec());
        self.change(
            "build storage pool",
            &quoted(&vg.clone()),
            move |c, gate: &Gate| {
                let object = quoted(&vg);
                match build_plan(&scan(c)?, &vg, &devices) {
                    BuildPlan::Adopt => return Ok(Built::Adopted),
                    BuildPlan::Conflict(why) if !overwrite => return Ok(Built::Refused(why)),
                    BuildPlan::Build | BuildPlan::Conflict(_) => {}
                }
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
    pub async fn delete_pool(&self, id: &PoolIdentity, mode: OnDestroy) -> Result<PoolDelete> {
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
            if !info.active {
                // A stopped pool is started to be listed. If it cannot start and the host's scan
                // shows no such volume group, an earlier delete removed it and failed to undefine:
                // finish that. (The scan alone is not trusted: a filtered or failing scan must not
                // make a pool whose volume group exists look finished.)
                let listed = scan(c)?.iter().any(|(vg, _)| vg == &id.vg);
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
            let refused = if volumes.is_empty() {
                None
            } else {
                let domains = all_domains(c)?;
                let in_use: Vec<(VolInfo, Vec<Use>)> = volumes
                    .iter()
                    .map(|v| (v.clone(), users(&domains, &VolumeNames::of(v))))
                    .filter(|(_, u)| !u.is_empty())
                    .collect();
                if !in_use.is_empty() {
                    Some(PoolDelete::InUse(in_use))
                } else if !force {
                    Some(PoolDelete::HoldsVolumes(volumes))
                } else {
                    None
                }
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

    fn sources(list: &[(&str, &[&str])]) -> Sources {
        list.iter()
            .map(|(vg, d)| (vg.to_string(), d.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    fn devs(d: &[&str]) -> Vec<String> {
        d.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn build_plans() {
        let host = sources(&[("vg0", &["/dev/vdb", "/dev/vdc"]), ("system", &["/dev/sda3"])]);
        let cases: &[(&str, &[&str], &str)] = &[
            ("vg0", &["/dev/vdc", "/dev/vdb"], "adopt"),
            ("vg1", &["/dev/vdd"], "build"),
            ("vg0", &["/dev/vdb"], "already exists on /dev/vdb, /dev/vdc"),
            (
                "vg1",
                &["/dev/vdd", "/dev/sda3"],
                "/dev/sda3 is a physical volume of another volume group, \"system\"",
            ),
            ("vg0", &["/dev/vdd"], "not on the configured /dev/vdd"),
        ];
        for (vg, d, want) in cases {
            let got = build_plan(&host, vg, &devs(d));
            match (&got, *want) {
                (BuildPlan::Adopt, "adopt") | (BuildPlan::Build, "build") => {}
                (BuildPlan::Conflict(why), w) if why.contains(w) => {}
                _ => panic!("{vg} on {d:?}: {got:?}, wanted {want}"),
            }
        }
        assert_eq!(build_plan(&[], "vg0", &devs(&["/dev/vdb"])), BuildPlan::Build);
    }

    /// A logical pool defined, built and started on a private test driver.
    async fn logical(c: &Connection, name: &str) -> PoolIdentity {
        let uuid = "4b5d6a1e-1c2d-4e5f-9a8b-7c6d5e4f3a21";
        let xml = crate::libvirt::xml::logical_pool_xml(name, uuid, &format!("{name}-vg"), &["/dev/sdz"])
            .expect("xml");
        c.define_pool(name, xml).await.expect("define");
        let built = c
            .build_pool(uuid, &format!("{name}-vg"), &devs(&["/dev/sdz"]), false)
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
                c.delete_pool(&wrong, OnDestroy::Delete { force: true })
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
            c.delete_pool(&gone, OnDestroy::Keep).await.expect("delete"),
            PoolDelete::Gone
        ));
        let p = c.pool(&id.uuid).await.expect("read").expect("still there");
        assert!(p.active, "nothing was stopped");
        // The right identity: deleted, and a second delete finds nothing.
        assert!(matches!(
            c.delete_pool(&id, OnDestroy::Delete { force: false })
                .await
                .expect("delete"),
            PoolDelete::Deleted { vg_removed: true, .. }
        ));
        assert!(c.pool(&id.uuid).await.expect("read").is_none());
        assert!(matches!(
            c.delete_pool(&id, OnDestroy::Keep).await.expect("delete"),
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
        c.create_volume("tp", "kept", xml, None).await.expect("volume");
        assert!(c.stop_pool(&id).await.expect("stop"));
        let r = c
            .delete_pool(&id, OnDestroy::Delete { force: false })
            .await
            .expect("delete");
        assert!(matches!(&r, PoolDelete::HoldsVolumes(v) if v.len() == 1), "{r:?}");
        let p = c.pool(&id.uuid).await.expect("read").expect("still defined");
        assert!(!p.active, "left as it was found: stopped");
    }
}
