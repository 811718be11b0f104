//! Backends: what the sequence can do out of band on a hypervisor, and how it observes it.

use std::collections::BTreeMap;

use super::generator::Layout;
use super::terraform::TfDir;
use super::world::{parse_disks, DomObs, LvObs, PoolObs, View, World};
use crate::domain::{domain_xml_with, DomainOpts};
use crate::xml::{disk_element, tag_text, DiskSource};

/// What a backend can do out of band, and how it observes the world.
pub(crate) trait Backend {
    /// "test-driver" or "lab".
    fn label(&self) -> &'static str;
    fn layout(&self) -> &Layout;
    fn tf(&self) -> &TfDir;
    /// Attachments, data patterns, replacing an LV by hand, restarting libvirtd.
    fn real_lvm(&self) -> bool;
    fn observe(&mut self) -> Result<World, String>;
    /// Makes an LV `name` in volume group `vg` (whose pool is `pool`), with a data pattern on the lab.
    fn create_lv(&mut self, pool: &str, vg: &str, name: &str) -> Result<(), String>;
    fn remove_lv(&mut self, pool: &str, vg: &str, name: &str) -> Result<(), String>;
    fn set_pool_active(&mut self, name: &str, active: bool) -> Result<(), String>;
    /// Stops (if needed) and undefines a pool; its volume group stays.
    fn undefine_pool(&mut self, name: &str) -> Result<(), String>;
    /// A new foreign volume group `vg` (lab: on a loop device); returns its device.
    fn new_vg(&mut self, vg: &str) -> Result<String, String>;
    /// Defines and starts a logical pool over an existing volume group.
    fn define_pool(&mut self, name: &str, vg: &str, device: &str) -> Result<(), String>;
    fn define_domain(
        &mut self,
        name: &str,
        disks: &[(String, DiskSource)],
        running: bool,
    ) -> Result<(), String>;
    fn undefine_domain(&mut self, name: &str) -> Result<(), String>;
    fn attach_disk(&mut self, domain: &str, target: &str, src: &DiskSource, live: bool)
        -> Result<(), String>;
    /// Writes a fresh pattern (unique to the write) to the first MiB of each LV `(vg, name)` and
    /// returns the SHA-256 of that MiB as read back, `None` for an LV without a device node
    /// (inactive: nothing to write). A write that fails is an error, never a silent skip: an LV
    /// left holding zeros would make a later wipe invisible. The test driver has no content:
    /// `None` for each.
    fn write_patterns(&mut self, lvs: &[(String, String)], tag: &str) -> Result<Vec<Option<String>>, String>;
    fn restart_libvirtd(&mut self) -> Result<(), String>;
    /// `lvchange -an` (lab).
    fn deactivate_lv(&mut self, vg: &str, name: &str) -> Result<(), String>;
    /// A thin pool `pool` of 8 MiB in `vg` and a thin LV `thin` of 8 MiB in it, with a pattern
    /// (lab).
    fn thin_pool(&mut self, vg: &str, pool: &str, thin: &str) -> Result<(), String>;
    /// A thick snapshot `snap` of `vg/origin` (8 MiB of copy-on-write space, as large as the
    /// sequence's volumes, so it never overflows), with a pattern of its own (lab).
    fn snapshot_lv(&mut self, vg: &str, origin: &str, snap: &str) -> Result<(), String>;
    /// Detaches the disk at `target` of `domain` from the live XML (`live`) and the saved
    /// definition (`saved`), and attaches `src` there in the same views; with `backing`, `src`
    /// is a qcow2 file whose `<backingStore>` is that block device (lab).
    fn swap_disk(
        &mut self,
        domain: &str,
        target: &str,
        live: bool,
        saved: bool,
        src: &DiskSource,
        backing: Option<&str>,
    ) -> Result<(), String>;
}

/// Writes one pattern to the first MiB of an LV: `<seed>:<vg>/<lv>:<tag>:<n>`.
pub(crate) fn pattern_script(seed: u64, n: u32, vg: &str, name: &str, tag: &str) -> String {
    // The pattern comes through a process substitution, so that `yes` ending on SIGPIPE is not
    // the pipeline's status; dd's is, and the read-back sum's (pipefail).
    format!(
        "if [ -b /dev/{vg}/{name} ]; then dd of=/dev/{vg}/{name} bs=1M count=1 iflag=fullblock oflag=direct \
         conv=fsync,notrunc status=none < <(yes 'seed {seed}:{vg}/{name}:{tag}:{n}' | head -c 1048576); \
         head -c 1048576 /dev/{vg}/{name} | sha256sum | cut -c1-64; else echo -; fi\n"
    )
}

pub(crate) fn lv_err(what: &str) -> impl Fn(virt::error::Error) -> String + '_ {
    move |e| format!("{what}: {}", e.message())
}

/// Pools and domains through a libvirt connection (both backends).
pub(crate) struct Libvirt {
    pub(crate) uri: String,
    pub(crate) conn: Option<virt::connect::Connect>,
}

impl Libvirt {
    pub(crate) fn open(uri: &str) -> Result<Libvirt, String> {
        let conn = virt::connect::Connect::open(Some(uri)).map_err(lv_err("connect"))?;
        Ok(Libvirt {
            uri: uri.to_string(),
            conn: Some(conn),
        })
    }

    pub(crate) fn conn(&self) -> &virt::connect::Connect {
        self.conn.as_ref().expect("open connection")
    }

    pub(crate) fn reconnect(&mut self) -> Result<(), String> {
        // Dropping the old connection closes it.
        self.conn = None;
        self.conn = Some(virt::connect::Connect::open(Some(&self.uri)).map_err(lv_err("reconnect"))?);
        Ok(())
    }

    pub(crate) fn pool(&self, name: &str) -> Result<virt::storage_pool::StoragePool, String> {
        self.conn()
            .lookup_storage_pool_by_name(name)
            .map_err(lv_err("look up pool"))
    }

    /// Pools (all, or those whose name starts with `prefix`) and domains likewise; with
    /// `volumes`, the LVs of active pools as libvirt lists them.
    pub(crate) fn observe(&self, prefix: &str, volumes: bool, w: &mut World) -> Result<(), String> {
        let c = self.conn();
        for p in c.list_all_storage_pools(0).map_err(lv_err("list pools"))? {
            let name = p.name().map_err(lv_err("pool name"))?;
            if !name.starts_with(prefix) {
                continue;
            }
            let uuid = p.uuid_string().map_err(lv_err("pool uuid"))?;
            let xml = p.xml_desc(0).map_err(lv_err("pool xml"))?;
            let active = p.is_active().map_err(lv_err("pool state"))?;
            let source = xml
                .split("<source>")
                .nth(1)
                .and_then(|s| s.split("</source>").next())
                .unwrap_or_default();
            let vg = tag_text(source, "name")
                .or_else(|| tag_text(&xml, "path"))
                .unwrap_or_else(|| name.clone());
            if volumes {
                if active {
                    for v in p.list_all_volumes(0).map_err(lv_err("list volumes"))? {
                        let key = v.key().map_err(lv_err("volume key"))?;
                        w.lvs.insert(
                            key,
                            LvObs {
                                vg: vg.clone(),
                                name: v.name().map_err(lv_err("volume name"))?,
                                vg_uuid: None,
                                pool_uuid: Some(uuid.clone()),
                                sha: None,
                                origin: None,
                            },
                        );
                    }
                } else {
                    w.hidden_vgs.insert(vg.clone());
                }
            }
            w.pools.insert(uuid, PoolObs { name, vg, active });
        }
        for d in c.list_all_domains(0).map_err(lv_err("list domains"))? {
            let name = d.name().map_err(lv_err("domain name"))?;
            if !name.starts_with(prefix) {
                continue;
            }
            let uuid = d.uuid_string().map_err(lv_err("domain uuid"))?;
            let active = d.is_active().map_err(lv_err("domain state"))?;
            let mut disks = BTreeMap::new();
            if active {
                parse_disks(
                    &d.xml_desc(0).map_err(lv_err("live xml"))?,
                    View::Live,
                    &mut disks,
                );
            }
            if d.is_persistent().map_err(lv_err("domain persistence"))? {
                parse_disks(
                    &d.xml_desc(virt::sys::VIR_DOMAIN_XML_INACTIVE)
                        .map_err(lv_err("saved xml"))?,
                    View::Saved,
                    &mut disks,
                );
            }
            w.domains.insert(uuid, DomObs { name, active, disks });
        }
        Ok(())
    }

    pub(crate) fn set_pool_active(&self, name: &str, active: bool) -> Result<(), String> {
        let p = self.pool(name)?;
        if active {
            p.create(0).map_err(lv_err("start pool"))
        } else {
            p.destroy().map_err(lv_err("stop pool"))
        }
    }

    pub(crate) fn undefine_pool(&self, name: &str) -> Result<(), String> {
        let p = self.pool(name)?;
        if p.is_active().map_err(lv_err("pool state"))? {
            p.destroy().map_err(lv_err("stop pool"))?;
        }
        p.undefine().map_err(lv_err("undefine pool"))
    }

    pub(crate) fn define_pool(&self, name: &str, vg: &str, device: &str) -> Result<(), String> {
        let xml = format!(
            "<pool type='logical'><name>{name}</name><source><device path='{device}'/><name>{vg}</name>\
             <format type='lvm2'/></source><target><path>/dev/{vg}</path></target></pool>"
        );
        let p = self
            .conn()
            .define_storage_pool_xml(&xml, 0)
            .map_err(lv_err("define pool"))?;
        p.create(0).map_err(lv_err("start pool"))
    }

    pub(crate) fn define_domain(&self, xml: &str, running: bool) -> Result<(), String> {
        let d = self
            .conn()
            .define_domain_xml(xml)
            .map_err(lv_err("define domain"))?;
        if running {
            d.create().map_err(lv_err("start domain"))?;
        }
        Ok(())
    }

    pub(crate) fn undefine_domain(&self, name: &str) -> Result<(), String> {
        let d = self
            .conn()
            .lookup_domain_by_name(name)
            .map_err(lv_err("look up domain"))?;
        if d.is_active().map_err(lv_err("domain state"))? {
            d.destroy().map_err(lv_err("stop domain"))?;
        }
        d.undefine().map_err(lv_err("undefine domain"))
    }

    pub(crate) fn attach_disk(
        &self,
        domain: &str,
        target: &str,
        src: &DiskSource,
        live: bool,
    ) -> Result<(), String> {
        let d = self
            .conn()
            .lookup_domain_by_name(domain)
            .map_err(lv_err("look up domain"))?;
        let flags = virt::sys::VIR_DOMAIN_AFFECT_CONFIG
            | if live {
                virt::sys::VIR_DOMAIN_AFFECT_LIVE
            } else {
                0
            };
        d.attach_device_flags(&disk_element(target, src, "scsi"), flags)
            .map_err(lv_err("attach disk"))
    }

    /// Detaches the disk at `target` from the live XML and/or the saved definition (each view's
    /// own `<disk>` element), then attaches `src` at `target` in the same views.
    pub(crate) fn swap_disk(
        &self,
        domain: &str,
        target: &str,
        live: bool,
        saved: bool,
        src: &DiskSource,
        backing: Option<&str>,
    ) -> Result<(), String> {
        let element = match (backing, src) {
            (Some(dev), DiskSource::File(file)) => format!(
                "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{file}'/>\
                 <backingStore type='block'><format type='raw'/><source dev='{dev}'/><backingStore/></backingStore>\
                 <target dev='{target}' bus='scsi'/></disk>"
            ),
            _ => disk_element(target, src, "scsi"),
        };
        let d = self
            .conn()
            .lookup_domain_by_name(domain)
            .map_err(lv_err("look up domain"))?;
        for (view, on, xml_flags, flags) in [
            ("live", live, 0, virt::sys::VIR_DOMAIN_AFFECT_LIVE),
            (
                "saved",
                saved,
                virt::sys::VIR_DOMAIN_XML_INACTIVE,
                virt::sys::VIR_DOMAIN_AFFECT_CONFIG,
            ),
        ] {
            if !on {
                continue;
            }
            let xml = d.xml_desc(xml_flags).map_err(lv_err("domain xml"))?;
            let disk = crate::xml::disk_block(&xml, target)
                .ok_or_else(|| format!("{domain} has no disk {target} in its {view} XML"))?;
            d.detach_device_flags(&disk, flags)
                .map_err(lv_err("detach disk"))?;
            d.attach_device_flags(&element, flags)
                .map_err(lv_err("attach disk"))?;
        }
        Ok(())
    }
}

/// A domain named `name` with a virtio-scsi controller and `disks`; `qemu` for the lab, `test` for
/// the test driver.
pub(crate) fn domain_xml(kind: &str, name: &str, disks: &[(String, DiskSource)]) -> String {
    let disks: Vec<String> = disks.iter().map(|(t, s)| disk_element(t, s, "scsi")).collect();
    domain_xml_with(kind, name, DomainOpts::shut_off(), &disks)
}

mod lab;
mod test_driver;

pub(crate) use lab::LabBackend;
pub(crate) use test_driver::TestDriver;
