//! Storage pool documents: `virsh pool-dumpxml`, the volume groups a host offers, and the
//! definition of a logical pool.

use super::{esc, invalid, parse_tree, size, XmlError, POOL};

/// `virsh pool-dumpxml` of a pool; only what the provider uses is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolXml {
    /// `<pool type=…>`, `logical` for LVM pools.
    pub pool_type: String,
    /// `<name>`.
    pub name: String,
    /// `<uuid>`.
    pub uuid: Option<String>,
    /// `<capacity>` in bytes (0 when absent, as for an inactive pool).
    pub capacity: u64,
    /// `<allocation>` in bytes.
    pub allocation: u64,
    /// `<available>` in bytes.
    pub available: u64,
    /// `<source>`.
    pub source: PoolSourceXml,
    /// `<target><path>`: `/dev/<vg>` for logical pools.
    pub target_path: Option<String>,
}

/// The `<source>` of a pool.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolSourceXml {
    /// `<device path=…>`, in document order (the physical volumes).
    pub devices: Vec<String>,
    /// `<source><name>`: the volume group.
    pub vg_name: Option<String>,
    /// `<format type=…>`, `lvm2` for LVM pools.
    pub format: Option<String>,
}

impl PoolXml {
    /// Parses a `<pool>` document.
    pub fn parse(xml: &str) -> Result<Self, XmlError> {
        let root = parse_tree(xml, POOL, "pool")?;
        let source = root.child("source");
        Ok(PoolXml {
            pool_type: root
                .attr("type")
                .ok_or_else(|| invalid(POOL, "<pool> has no type"))?
                .to_string(),
            name: root.required_text("name", POOL)?,
            uuid: root.text_at(&["uuid"]),
            capacity: size(&root, "capacity", POOL)?,
            allocation: size(&root, "allocation", POOL)?,
            available: size(&root, "available", POOL)?,
            source: PoolSourceXml {
                devices: source
                    .into_iter()
                    .flat_map(|s| s.children("device"))
                    .filter_map(|d| d.attr("path").map(str::to_string))
                    .collect(),
                vg_name: source.and_then(|s| s.text_at(&["name"])),
                format: source.and_then(|s| s.attr_at(&["format"], "type")),
            },
            target_path: root.text_at(&["target", "path"]),
        })
    }
}

/// Parses the answer of `virConnectFindStoragePoolSources` for type
/// `logical`: each volume group found on the host with its physical volumes.
pub fn parse_pool_sources(xml: &str) -> Result<Vec<(String, Vec<String>)>, XmlError> {
    const SOURCES: &str = "storage pool sources";
    let root = parse_tree(xml, SOURCES, "sources")?;
    Ok(root
        .children("source")
        .filter_map(|s| {
            let vg = s.text_at(&["name"])?;
            let devices = s
                .children("device")
                .filter_map(|d| d.attr("path").map(str::to_string))
                .collect();
            Some((vg, devices))
        })
        .collect())
}

/// The device node and its other names (`/dev/disk/by-id/…`, `/dev/disk/by-path/…`) from a node
/// device document (`virsh nodedev-dumpxml` of a storage device): `None` for a device without a
/// `<devnode type='dev'>`.
pub fn parse_nodedev_names(xml: &str) -> Result<Option<(String, Vec<String>)>, XmlError> {
    const NODEDEV: &str = "node device";
    let root = parse_tree(xml, NODEDEV, "device")?;
    let of_type = |t: &'static str| {
        root.children("devnode")
            .filter(move |d| d.attr("type") == Some(t))
            .map(|d| d.text.trim().to_string())
            .filter(|p| !p.is_empty())
    };
    let Some(dev) = of_type("dev").next() else {
        return Ok(None);
    };
    Ok(Some((dev, of_type("link").collect())))
}

/// The XML to define a `logical` pool on volume group `vg_name`, built from `devices` (may be
/// empty for an existing VG). The UUID is chosen by the caller, so that a define whose reply was
/// lost can be recognised by it. libvirt always uses `/dev/<vg>` as the target path of such a
/// pool, so it is written that way.
pub fn logical_pool_xml<S: AsRef<str>>(
    name: &str,
    uuid: &str,
    vg_name: &str,
    devices: &[S],
) -> Result<String, XmlError> {
    let vg = esc(POOL, "volume group name", vg_name)?;
    let mut xml = format!(
        "<pool type='logical'>\n  <name>{}</name>\n  <uuid>{}</uuid>\n  <source>\n",
        esc(POOL, "pool name", name)?,
        esc(POOL, "pool UUID", uuid)?
    );
    for d in devices {
        xml += &format!("    <device path='{}'/>\n", esc(POOL, "device path", d.as_ref())?);
    }
    xml += &format!(
        "    <name>{vg}</name>\n    <format type='lvm2'/>\n  </source>\n  \
         <target>\n    <path>/dev/{vg}</path>\n  </target>\n</pool>\n"
    );
    Ok(xml)
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;

    #[test]
    fn parses_logical_pool_dump() {
        let pool = PoolXml::parse(POOL_DUMP).unwrap();
        assert_eq!(
            pool,
            PoolXml {
                pool_type: "logical".into(),
                name: "vg_data".into(),
                uuid: Some("3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e".into()),
                capacity: 21_470_642_176,
                allocation: 10_737_418_240,
                available: 10_733_223_936,
                source: PoolSourceXml {
                    devices: vec!["/dev/vdb".into(), "/dev/disk/by-id/virtio-data2".into()],
                    vg_name: Some("vg_data".into()),
                    format: Some("lvm2".into()),
                },
                target_path: Some("/dev/vg_data".into()),
            }
        );
    }

    const UUID: &str = "3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e";

    #[test]
    fn pool_xml_round_trips_and_escapes() {
        let xml = logical_pool_xml("p&<'\">", UUID, "vg0", &["/dev/sdb", "/dev/sdc"]).unwrap();
        assert!(xml.contains("<name>p&amp;&lt;&apos;&quot;&gt;</name>"), "{xml}");
        let pool = PoolXml::parse(&xml).unwrap();
        assert_eq!(pool.name, "p&<'\">");
        assert_eq!(pool.pool_type, "logical");
        assert_eq!(pool.source.devices, ["/dev/sdb", "/dev/sdc"]);
        assert_eq!(pool.source.vg_name.as_deref(), Some("vg0"));
        assert_eq!(pool.source.format.as_deref(), Some("lvm2"));
        assert_eq!(pool.target_path.as_deref(), Some("/dev/vg0"));
        assert_eq!((pool.capacity, pool.uuid.as_deref()), (0, Some(UUID)));

        let odd = logical_pool_xml("p", UUID, "vg", &["/dev/it's&<"]).unwrap();
        assert_eq!(PoolXml::parse(&odd).unwrap().source.devices, ["/dev/it's&<"]);
        let none: &[&str] = &[];
        assert!(PoolXml::parse(&logical_pool_xml("p", UUID, "vg", none).unwrap())
            .unwrap()
            .source
            .devices
            .is_empty());
    }

    #[test]
    fn pool_sources() {
        let xml = "<sources>\n  <source>\n    <device path='/dev/vdb'/>\n    <device path='/dev/vdc'/>\n    <name>vg0</name>\n    <format type='lvm2'/>\n  </source>\n  <source>\n    <device path='/dev/sda3'/>\n    <name>system</name>\n  </source>\n</sources>";
        let found = parse_pool_sources(xml).expect("parses");
        assert_eq!(
            found,
            vec![
                (
                    "vg0".to_string(),
                    vec!["/dev/vdb".to_string(), "/dev/vdc".to_string()]
                ),
                ("system".to_string(), vec!["/dev/sda3".to_string()]),
            ]
        );
        assert!(parse_pool_sources("<sources/>").expect("empty").is_empty());
        assert!(parse_pool_sources("<sources><source>").is_err());
    }

    #[test]
    fn parses_node_device_names() {
        let xml = "<device><name>block_vdb_lab_pv1</name>\
            <devnode type='dev'>/dev/vdb</devnode>\
            <devnode type='link'>/dev/disk/by-id/virtio-lab-pv1</devnode>\
            <devnode type='link'>/dev/disk/by-path/pci-0000:00:03.0</devnode>\
            <capability type='storage'><block>/dev/vdb</block></capability></device>";
        let (dev, links) = parse_nodedev_names(xml).unwrap().unwrap();
        assert_eq!(dev, "/dev/vdb");
        assert_eq!(
            links,
            [
                "/dev/disk/by-id/virtio-lab-pv1",
                "/dev/disk/by-path/pci-0000:00:03.0"
            ]
        );
        assert_eq!(
            parse_nodedev_names("<device><name>x</name></device>").unwrap(),
            None
        );
    }
}
