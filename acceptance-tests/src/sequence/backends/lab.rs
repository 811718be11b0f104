//! The lab: real LVM through ssh, pools and domains through libvirt.

use std::time::{Duration, Instant};

use super::{domain_xml, pattern_script, Backend, Libvirt};
use crate::census::{self, Content};
use crate::domain::DomainOpts;
use crate::lab::Lab;
use crate::scenario::Scenario;
use crate::sequence::generator::Layout;
use crate::sequence::terraform::TfDir;
use crate::sequence::world::{LvObs, World};
use crate::xml::DiskSource;

/// Loop devices made in the lab guest for foreign volume groups; detached when dropped (after the
/// scenario's cleanup has removed the volume groups on them).
pub(crate) struct Loops {
    pub(crate) lab: &'static Lab,
    pub(crate) devices: Vec<(String, String)>,
}

impl Loops {
    /// A new loop device over a sparse file `/var/tmp/<name>.img` of `size` (`truncate -s`).
    pub(crate) fn make(&mut self, name: &str, size: &str) -> Result<String, String> {
        let file = format!("/var/tmp/{name}.img");
        let r = self
            .lab
            .ssh_run(&format!("truncate -s {size} {file} && losetup -f --show {file}"));
        if !r.ok() {
            return Err(format!("a loop device over {file}: {}", r.text().trim()));
        }
        let dev = r.stdout.trim().to_string();
        self.devices.push((dev.clone(), file));
        Ok(dev)
    }
}

impl Drop for Loops {
    fn drop(&mut self) {
        for (dev, file) in self.devices.drain(..) {
            let r = self.lab.ssh_run(&format!(
                "vg=$(pvs --noheadings -o vg_name {dev} 2>/dev/null | tr -d ' '); \
                 [ -n \"$vg\" ] && vgremove -f \"$vg\" >/dev/null 2>&1; pvremove -ff -y {dev} >/dev/null 2>&1; \
                 losetup -d {dev}; rm -f {file}"
            ));
            if !r.ok() {
                eprintln!("[sequence] cleanup of {dev} ({file}) failed:\n{r}");
            }
        }
    }
}

/// The lab: pools and domains through libvirt, LVM through ssh.
///
/// Field order is drop order: the work directory, the connection, then the scenario (whose cleanup
/// removes every pool, VG and domain named with its prefix), then the loop devices.
pub(crate) struct LabBackend {
    pub(crate) tf: TfDir,
    pub(crate) lv: Libvirt,
    pub(crate) layout: Layout,
    pub(crate) scenario: Scenario,
    pub(crate) loops: Loops,
    pub(crate) seed: u64,
    pub(crate) writes: u32,
}

impl LabBackend {
    pub(crate) fn new(s: Scenario, seed: u64) -> Result<LabBackend, String> {
        let lab = s.lab();
        let mut loops = Loops {
            lab,
            devices: Vec::new(),
        };
        // The device a pool gains (a replacement) or loses: blank, as a new disk would be.
        let spare = loops.make(&s.name("spare"), "128M")?;
        let layout = Layout {
            pools: [s.name("p0"), s.name("p1")],
            devices: [lab.pv_devices[0].clone(), lab.pv_devices[1].clone()],
            spare,
            domains: vec![s.name("d0"), s.name("d1")],
            prefix: s.prefix().to_string(),
        };
        // Fixture domains for the attachments: one running (hotplug), one shut off (config only).
        s.domain("d0", DomainOpts::running());
        s.domain("d1", DomainOpts::shut_off());
        let mut b = LabBackend {
            tf: TfDir::new(&lab.uri, crate::TF_TIMEOUT),
            lv: Libvirt::open(&lab.uri)?,
            layout,
            loops,
            scenario: s,
            seed,
            writes: 0,
        };
        // A foreign volume group libvirt does not know, with one LV that recreated domains use.
        let vg = b.layout.name("fvg0");
        b.new_vg(&vg)?;
        b.create_lv("", &vg, "keep")?;
        Ok(b)
    }

    pub(crate) fn lab(&self) -> &'static Lab {
        self.scenario.lab()
    }

    pub(crate) fn ssh(&self, script: &str) -> Result<String, String> {
        let r = self.lab().ssh_run(script);
        if r.ok() {
            Ok(r.stdout)
        } else {
            Err(format!(
                "`{}` failed: {}",
                script.lines().next().unwrap_or_default(),
                r.text().trim()
            ))
        }
    }

    /// The libvirt connection, opened again if libvirtd went away (a restart).
    pub(crate) fn libvirt(&mut self) -> Result<&Libvirt, String> {
        if !self.lv.conn().is_alive().unwrap_or(false) {
            self.lv.reconnect()?;
        }
        Ok(&self.lv)
    }
}

impl Layout {
    /// `<prefix>-<what>`: a name for something the test makes.
    pub(crate) fn name(&self, what: &str) -> String {
        format!("{}-{what}", self.prefix)
    }
}

impl Backend for LabBackend {
    fn label(&self) -> &'static str {
        "lab"
    }
    fn layout(&self) -> &Layout {
        &self.layout
    }
    fn tf(&self) -> &TfDir {
        &self.tf
    }
    fn real_lvm(&self) -> bool {
        true
    }
    fn observe(&mut self) -> Result<World, String> {
        let mut w = World::default();
        let prefix = self.layout.prefix.clone();
        self.libvirt()?.observe(&prefix, false, &mut w)?;
        // One census of this run's VGs (pipefail, no 2>/dev/null): LVM failing must fail the
        // observation (the seed stops, loudly), not read as a hypervisor without VGs.
        let out = self.ssh(&census::script(&format!("{prefix}*")))?;
        let c = census::parse(&out)?;
        for (name, uuid) in &c.vgs {
            w.vgs.insert(uuid.clone(), name.clone());
        }
        for lv in c.lvs {
            w.lvs.insert(
                lv.uuid,
                LvObs {
                    vg_uuid: c.vgs.get(&lv.vg).cloned(),
                    vg: lv.vg,
                    name: lv.name,
                    pool_uuid: None,
                    sha: (lv.content != Content::Inactive).then(|| lv.content.as_str().to_string()),
                    origin: lv.origin,
                },
            );
        }
        Ok(w)
    }
    fn create_lv(&mut self, _pool: &str, vg: &str, name: &str) -> Result<(), String> {
        self.ssh(&format!("lvcreate -q -y -L 8M -n {name} {vg} >/dev/null"))?;
        self.write_patterns(&[(vg.to_string(), name.to_string())], "created")
            .map(|_| ())
    }
    fn remove_lv(&mut self, _pool: &str, vg: &str, name: &str) -> Result<(), String> {
        self.ssh(&format!("lvremove -q -f -y {vg}/{name} >/dev/null"))
            .map(|_| ())
    }
    fn set_pool_active(&mut self, name: &str, active: bool) -> Result<(), String> {
        self.libvirt()?.set_pool_active(name, active)
    }
    fn undefine_pool(&mut self, name: &str) -> Result<(), String> {
        self.libvirt()?.undefine_pool(name)
    }
    fn new_vg(&mut self, vg: &str) -> Result<String, String> {
        let dev = self.loops.make(vg, "64M")?;
        self.ssh(&format!(
            "pvcreate -q -y {dev} >/dev/null && vgcreate -q {vg} {dev} >/dev/null"
        ))?;
        Ok(dev)
    }
    fn define_pool(&mut self, name: &str, vg: &str, device: &str) -> Result<(), String> {
        self.libvirt()?.define_pool(name, vg, device)
    }
    fn define_domain(
        &mut self,
        name: &str,
        disks: &[(String, DiskSource)],
        running: bool,
    ) -> Result<(), String> {
        let xml = domain_xml("qemu", name, disks);
        self.libvirt()?.define_domain(&xml, running)
    }
    fn undefine_domain(&mut self, name: &str) -> Result<(), String> {
        self.libvirt()?.undefine_domain(name)
    }
    fn attach_disk(
        &mut self,
        domain: &str,
        target: &str,
        src: &DiskSource,
        live: bool,
    ) -> Result<(), String> {
        self.libvirt()?.attach_disk(domain, target, src, live)
    }
    fn write_patterns(&mut self, lvs: &[(String, String)], tag: &str) -> Result<Vec<Option<String>>, String> {
        if lvs.is_empty() {
            return Ok(Vec::new());
        }
        let mut script = String::from("set -eo pipefail\n");
        for (vg, name) in lvs {
            self.writes += 1;
            script.push_str(&pattern_script(self.seed, self.writes, vg, name, tag));
        }
        let out = self.ssh(&script)?;
        let sums: Vec<Option<String>> = out
            .lines()
            .map(|l| (l.trim() != "-").then(|| l.trim().to_string()))
            .collect();
        if sums.len() != lvs.len() || sums.iter().flatten().any(|s| s.len() != 64) {
            return Err(format!("writing patterns to {lvs:?}: the guest printed {out:?}"));
        }
        Ok(sums)
    }
    fn deactivate_lv(&mut self, vg: &str, name: &str) -> Result<(), String> {
        self.ssh(&format!("lvchange -q -an {vg}/{name}")).map(|_| ())
    }
    fn thin_pool(&mut self, vg: &str, pool: &str, thin: &str) -> Result<(), String> {
        self.ssh(&format!(
            "lvcreate -q -y -T -L 8M {vg}/{pool} >/dev/null && lvcreate -q -y -V 8M -T {vg}/{pool} -n {thin} >/dev/null"
        ))?;
        self.write_patterns(&[(vg.to_string(), thin.to_string())], "thin")
            .map(|_| ())
    }
    fn snapshot_lv(&mut self, vg: &str, origin: &str, snap: &str) -> Result<(), String> {
        self.ssh(&format!(
            "lvcreate -q -y -s -L 8M -n {snap} {vg}/{origin} >/dev/null"
        ))?;
        self.write_patterns(&[(vg.to_string(), snap.to_string())], "snapshot")
            .map(|_| ())
    }
    fn swap_disk(
        &mut self,
        domain: &str,
        target: &str,
        live: bool,
        saved: bool,
        src: &DiskSource,
        backing: Option<&str>,
    ) -> Result<(), String> {
        self.libvirt()?
            .swap_disk(domain, target, live, saved, src, backing)
    }
    fn restart_libvirtd(&mut self) -> Result<(), String> {
        self.ssh("systemctl restart libvirtd")?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if self.lv.reconnect().is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("libvirtd did not answer within 60 s of its restart".into());
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
