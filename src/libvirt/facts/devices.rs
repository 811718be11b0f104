//! The host's block devices by every name udev gives them (`/dev/vdb`,
//! `/dev/disk/by-id/virtio-…`, `/dev/disk/by-path/…`), as libvirt's node device driver reports
//! them: how devices are compared by what they are rather than by how they are spelled.

use std::collections::HashMap;

use virt::connect::Connect;

use crate::libvirt::error::{during, Error, Result};
use crate::libvirt::xml::parse_nodedev_names;
use crate::names::normalize_path;

/// `virConnectListAllNodeDeviceFlags`: storage devices only.
const LIST_STORAGE: u32 = 1 << 8;

/// Every name of each block device the host reports, resolved to its device node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceNames {
    /// Normalised alias → device node.
    node_of: HashMap<String, String>,
    /// Whether libvirt answered: when it did not, names are compared as spelled, and nothing
    /// that needs to know what a device is may rely on them.
    known: bool,
}

impl DeviceNames {
    /// Names as given: `(device node, [other names])` pairs (tests, and what libvirt reported).
    pub fn from_devices<I, L>(devices: I) -> Self
    where
        I: IntoIterator<Item = (String, L)>,
        L: IntoIterator<Item = String>,
    {
        let mut node_of = HashMap::new();
        for (dev, links) in devices {
            let dev = normalize_path(&dev);
            for link in links {
                node_of.insert(normalize_path(&link), dev.clone());
            }
            node_of.insert(dev.clone(), dev);
        }
        DeviceNames { node_of, known: true }
    }

    /// No names known (libvirt could not tell): every path stands for itself.
    pub fn unknown() -> Self {
        DeviceNames::default()
    }

    /// Whether the host told the names of its devices.
    pub fn known(&self) -> bool {
        self.known
    }

    /// The device node `path` names (itself, normalised, when it is no known alias).
    pub fn node(&self, path: &str) -> String {
        let p = normalize_path(path);
        self.node_of.get(&p).cloned().unwrap_or(p)
    }
}

/// The host's storage devices and their names. A hypervisor whose node device driver does not
/// answer (an unsupported driver, a denied call) gives [`DeviceNames::unknown`], never an error:
/// the callers that need real names refuse on their own.
pub(crate) fn device_names(c: &Connect) -> DeviceNames {
    let read = || -> Result<DeviceNames> {
        let devices = c
            .list_all_node_devices(LIST_STORAGE)
            .map_err(during("list node devices", "on the host"))?;
        let mut named = Vec::with_capacity(devices.len());
        for d in &devices {
            let xml = d.xml_desc(0).map_err(during("read node device", "on the host"))?;
            let parsed = parse_nodedev_names(&xml).map_err(|source| Error::Xml {
                object: "a node device".into(),
                source,
            })?;
            named.extend(parsed);
        }
        Ok(DeviceNames::from_devices(named))
    };
    read().unwrap_or_else(|e| {
        tracing::debug!("device names unknown: {e}");
        DeviceNames::unknown()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_to_their_device_node() {
        let names = DeviceNames::from_devices([(
            "/dev/vdb".to_string(),
            vec!["/dev/disk/by-id/virtio-pv1".to_string()],
        )]);
        assert_eq!(names.node("/dev/disk/by-id/virtio-pv1"), "/dev/vdb");
        assert_eq!(names.node("/dev//vdb"), "/dev/vdb");
        assert_eq!(
            names.node("/dev/sdz"),
            "/dev/sdz",
            "unknown names stand for themselves"
        );
        assert!(names.known());
        assert!(!DeviceNames::unknown().known());
    }
}
