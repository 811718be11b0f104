//! The HCL writer: a [`Config`] as the `main.tf` body of the sequence's work directory.

use super::generator::{Config, Layout, ATTS, VOLS};
use crate::hcl::{hcl_list, hcl_string};

impl Config {
    /// The resources of this configuration, named as `l` says.
    pub(crate) fn hcl(&self, l: &Layout) -> String {
        let mut tf = String::new();
        for i in 0..2 {
            if !self.pool[i] {
                continue;
            }
            let mut devices = vec![l.devices[i].clone()];
            if self.spare[i] {
                devices.push(l.spare.clone());
            }
            tf.push_str(&format!(
                "\nresource \"libvirt_lvm_pool\" \"p{i}\" {{\n  name           = {}\n  source_devices = {}\n  \
                 on_destroy     = \"{}\"\n  force_destroy  = {}\n  overwrite      = {}\n}}\n",
                hcl_string(&l.pools[i]),
                hcl_list(&devices),
                if self.delete[i] { "delete" } else { "keep" },
                self.force[i],
                self.overwrite[i]
            ));
        }
        for (i, (name, p)) in VOLS.iter().enumerate() {
            if !self.vol[i] {
                continue;
            }
            tf.push_str(&format!(
                "\nresource \"libvirt_lvm_volume\" \"{name}\" {{\n  pool            = libvirt_lvm_pool.p{p}.name\n  \
                 name            = \"{name}\"\n  capacity        = \"8MiB\"\n  wipe_on_destroy = {}\n}}\n",
                self.wipe[i]
            ));
        }
        for (i, (label, v, d, target)) in ATTS.iter().enumerate() {
            if !self.att[i] || l.domains.len() <= *d {
                continue;
            }
            tf.push_str(&format!(
                "\nresource \"libvirt_disk_attachment\" \"{label}\" {{\n  domain    = {}\n  volume_id = \
                 libvirt_lvm_volume.{}.id\n  target    = \"{target}\"\n}}\n",
                hcl_string(&l.domains[*d]),
                VOLS[*v].0
            ));
        }
        tf
    }
}
