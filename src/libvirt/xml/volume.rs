//! Storage volume documents: `virsh vol-dumpxml` and the definition of a new volume.

use super::{esc, parse_tree, size, XmlError, VOLUME};

/// `virsh vol-dumpxml` of a volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeXml {
    /// `<volume type=…>`, `block` for logical volumes.
    pub vol_type: Option<String>,
    /// `<name>`: the LV name in a logical pool.
    pub name: String,
    /// For logical volumes, the LV UUID (`XXXXXX-XXXX-XXXX-XXXX-XXXX-XXXX-XXXXXX`).
    pub key: Option<String>,
    /// `<capacity>` in bytes: the size the guest sees.
    pub capacity: u64,
    /// `<allocation>` in bytes: the space used on the host.
    pub allocation: u64,
    /// `<target><path>`: `/dev/<vg>/<lv>` for logical volumes.
    pub target_path: Option<String>,
    /// `<target><format type=…>`; logical volumes have none.
    pub format: Option<String>,
}

impl VolumeXml {
    /// Parses a `<volume>` document.
    pub fn parse(xml: &str) -> Result<Self, XmlError> {
        let root = parse_tree(xml, VOLUME, "volume")?;
        Ok(VolumeXml {
            vol_type: root.attr("type").map(str::to_string),
            name: root.required_text("name", VOLUME)?,
            key: root.text_at(&["key"]),
            capacity: size(&root, "capacity", VOLUME)?,
            allocation: size(&root, "allocation", VOLUME)?,
            target_path: root.text_at(&["target", "path"]),
            format: root.attr_at(&["target", "format"], "type"),
        })
    }
}

/// The XML to create a volume. In a logical pool libvirt rounds sizes up to
/// KiB, and an `allocation` below `capacity` makes it create a sparse
/// (snapshot-backed) LV, so callers wanting a plain LV pass equal values.
pub fn volume_xml(name: &str, capacity: u64, allocation: u64) -> Result<String, XmlError> {
    Ok(format!(
        "<volume>\n  <name>{}</name>\n  <capacity unit='bytes'>{capacity}</capacity>\n  \
         <allocation unit='bytes'>{allocation}</allocation>\n</volume>\n",
        esc(VOLUME, "volume name", name)?
    ))
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;

    #[test]
    fn parses_volume_dump() {
        let vol = VolumeXml::parse(VOLUME_DUMP).unwrap();
        assert_eq!(
            vol,
            VolumeXml {
                vol_type: Some("block".into()),
                name: "data1".into(),
                key: Some("8Hx2cF-0xYq-3k2T-Qb7L-4WmE-gR5d-Zp1N9a".into()),
                capacity: 1 << 30,
                allocation: 1 << 30,
                target_path: Some("/dev/vg_data/data1".into()),
                format: None,
            }
        );
        let file = "<volume type='file'><name>a.qcow2</name><target><format type='qcow2'/></target></volume>";
        assert_eq!(VolumeXml::parse(file).unwrap().format.as_deref(), Some("qcow2"));
    }

    #[test]
    fn volume_xml_round_trips_and_escapes() {
        let xml = volume_xml("lv&<'\">", 10 << 30, 1 << 30).unwrap();
        assert!(
            xml.contains("<capacity unit='bytes'>10737418240</capacity>"),
            "{xml}"
        );
        let vol = VolumeXml::parse(&xml).unwrap();
        assert_eq!(
            (vol.name.as_str(), vol.capacity, vol.allocation),
            ("lv&<'\">", 10 << 30, 1 << 30)
        );
        let max = VolumeXml::parse(&volume_xml("v", u64::MAX, 0).unwrap()).unwrap();
        assert_eq!((max.capacity, max.allocation), (u64::MAX, 0));
    }
}
