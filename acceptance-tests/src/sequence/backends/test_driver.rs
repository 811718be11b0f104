//! libvirt's test driver behind a private libvirtd: no lab needed.

use std::time::Duration;

use super::{domain_xml, lv_err, Backend, Libvirt};
use crate::libvirtd::Libvirtd;
use crate::sequence::generator::Layout;
use crate::sequence::terraform::TfDir;
use crate::sequence::world::World;
use crate::xml::DiskSource;

/// libvirt's test driver behind a private libvirtd.
pub struct TestDriver {
    pub(crate) lv: Libvirt,
    pub(crate) layout: Layout,
    pub(crate) tf: TfDir,
}

impl TestDriver {
    pub(crate) fn new(daemon: &Libvirtd) -> Result<TestDriver, String> {
        let uri = daemon.test_uri();
        // This connection keeps the driver's state alive for the whole seed.
        let lv = Libvirt::open(&uri)?;
        Ok(TestDriver {
            lv,
            layout: Layout {
                pools: ["sq-p0".into(), "sq-p1".into()],
                devices: ["/dev/sdq0".into(), "/dev/sdq1".into()],
                spare: "/dev/sdq2".into(),
                domains: Vec::new(),
                prefix: "sq".into(),
            },
            tf: TfDir::new(&uri, Duration::from_secs(120)),
        })
    }

    pub(crate) fn pool_of_vg(&self, vg: &str) -> Result<virt::storage_pool::StoragePool, String> {
        let mut w = World::default();
        self.lv.observe("", false, &mut w)?;
        let (_, p) = w
            .pools
            .iter()
            .find(|(_, p)| p.vg == vg)
            .ok_or_else(|| format!("no pool over {vg}"))?;
        self.lv.pool(&p.name)
    }
}

impl Backend for TestDriver {
    fn label(&self) -> &'static str {
        "test-driver"
    }
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn tf(&self) -> &TfDir {
        &self.tf
    }
    fn real_lvm(&self) -> bool {
        false
    }
    fn observe(&mut self) -> Result<World, String> {
        let mut w = World::default();
        self.lv.observe("", true, &mut w)?;
        Ok(w)
    }
    fn create_lv(&mut self, pool: &str, _vg: &str, name: &str) -> Result<(), String> {
        let p = self.lv.pool(pool)?;
        let xml = format!(
            "<volume><name>{name}</name><capacity unit='MiB'>8</capacity><allocation unit='MiB'>8</allocation></volume>"
        );
        virt::storage_vol::StorageVol::create_xml(&p, &xml, 0)
            .map(|_| ())
            .map_err(lv_err("create volume"))
    }
    fn remove_lv(&mut self, _pool: &str, vg: &str, name: &str) -> Result<(), String> {
        let p = self.pool_of_vg(vg)?;
        let v = p
            .lookup_storage_vol_by_name(name)
            .map_err(lv_err("look up volume"))?;
        v.delete(0).map_err(lv_err("delete volume"))
    }
    fn set_pool_active(&mut self, name: &str, active: bool) -> Result<(), String> {
        self.lv.set_pool_active(name, active)
    }
    fn undefine_pool(&mut self, name: &str) -> Result<(), String> {
        self.lv.undefine_pool(name)
    }
    fn new_vg(&mut self, vg: &str) -> Result<String, String> {
        // The test driver has no volume groups apart from pools: any device name will do.
        Ok(format!("/dev/disk/by-id/{vg}"))
    }
    fn define_pool(&mut self, name: &str, vg: &str, device: &str) -> Result<(), String> {
        self.lv.define_pool(name, vg, device)
    }
    fn define_domain(
        &mut self,
        name: &str,
        disks: &[(String, DiskSource)],
        running: bool,
    ) -> Result<(), String> {
        self.lv.define_domain(&domain_xml("test", name, disks), running)
    }
    fn undefine_domain(&mut self, name: &str) -> Result<(), String> {
        self.lv.undefine_domain(name)
    }
    fn attach_disk(&mut self, _: &str, _: &str, _: &DiskSource, _: bool) -> Result<(), String> {
        Err("the test driver has no device hotplug".into())
    }
    fn write_patterns(&mut self, lvs: &[(String, String)], _: &str) -> Result<Vec<Option<String>>, String> {
        Ok(vec![None; lvs.len()])
    }
    fn restart_libvirtd(&mut self) -> Result<(), String> {
        Err("restarting the private libvirtd would reset the test driver's whole world".into())
    }
    fn deactivate_lv(&mut self, _: &str, _: &str) -> Result<(), String> {
        Err(NO_LVM.into())
    }
    fn thin_pool(&mut self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Err(NO_LVM.into())
    }
    fn snapshot_lv(&mut self, _: &str, _: &str, _: &str) -> Result<(), String> {
        Err(NO_LVM.into())
    }
    fn swap_disk(
        &mut self,
        _: &str,
        _: &str,
        _: bool,
        _: bool,
        _: &DiskSource,
        _: Option<&str>,
    ) -> Result<(), String> {
        Err("the test driver has no device hotplug".into())
    }
}

const NO_LVM: &str = "the test driver has no LVM beneath its pools";
