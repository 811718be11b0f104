//! Storage volume documents: `virsh vol-dumpxml` and the definition of a new volume.

use super::{esc, parse_tree, size, XmlError, SECRET, VOLUME};

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
    /// `<backingStore><path>`: for a thick LVM snapshot, its origin's path; for a file image, its
    /// backing file.
    pub backing_path: Option<String>,
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
            backing_path: root
                .text_at(&["backingStore", "path"])
                .map(|p| p.trim().to_string()),
        })
    }
}

/// The UUID of the passphrase secret of a LUKS volume, from its `virsh vol-dumpxml`
/// (`<target><encryption format='luks'><secret type='passphrase' uuid=…/>`). libvirt's logical
/// backend reports it only until the pool is refreshed: a refresh re-reads the LVs and forgets it
/// (measured, libvirt 9.0).
pub fn volume_encryption_secret(xml: &str) -> Result<Option<String>, XmlError> {
    let root = parse_tree(xml, VOLUME, "volume")?;
    let luks = root.attr_at(&["target", "encryption"], "format").as_deref() == Some("luks");
    Ok(luks
        .then(|| root.attr_at(&["target", "encryption", "secret"], "uuid"))
        .flatten())
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

/// The XML to create a thick LVM snapshot of the LV at `origin_path` with `bytes` of copy-on-write
/// space: libvirt's logical backend runs `lvcreate -L <bytes> -s <origin_path>` for a volume with a
/// `<backingStore>` whose capacity equals its allocation (a smaller allocation would make it one of
/// libvirt's sparse volumes, `--virtualsize`, instead).
pub fn snapshot_volume_xml(name: &str, bytes: u64, origin_path: &str) -> Result<String, XmlError> {
    Ok(format!(
        "<volume>\n  <name>{}</name>\n  <capacity unit='bytes'>{bytes}</capacity>\n  \
         <allocation unit='bytes'>{bytes}</allocation>\n  <backingStore>\n    <path>{}</path>\n  \
         </backingStore>\n</volume>\n",
        esc(VOLUME, "volume name", name)?,
        esc(VOLUME, "origin path", origin_path)?
    ))
}

/// The XML to create a LUKS-encrypted volume whose passphrase is libvirt secret `secret_uuid`:
/// libvirt formats it with `qemu-img create -f luks` on the hypervisor, so the volume's first
/// bytes are a LUKS header and its capacity is what the guest sees inside it.
pub fn luks_volume_xml(
    name: &str,
    capacity: u64,
    allocation: u64,
    secret_uuid: &str,
) -> Result<String, XmlError> {
    Ok(format!(
        "<volume>\n  <name>{}</name>\n  <capacity unit='bytes'>{capacity}</capacity>\n  \
         <allocation unit='bytes'>{allocation}</allocation>\n  <target>\n    <encryption format='luks'>\n      \
         <secret type='passphrase' uuid='{}'/>\n    </encryption>\n  </target>\n</volume>\n",
        esc(VOLUME, "volume name", name)?,
        esc(VOLUME, "secret UUID", secret_uuid)?
    ))
}

/// The XML of a private, persistent libvirt secret used as the passphrase of the volume at
/// `path` (the usage libvirt checks when it opens the volume).
pub fn volume_secret_xml(path: &str) -> Result<String, XmlError> {
    Ok(format!(
        "<secret ephemeral='no' private='yes'>\n  <description>passphrase of {0}, managed by \
         terraform-provider-libvirt</description>\n  <usage type='volume'>\n    <volume>{0}</volume>\n  \
         </usage>\n</secret>\n",
        esc(SECRET, "volume path", path)?
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
                backing_path: None,
            }
        );
        let snapshot = "<volume type='block'><name>snap</name><capacity>8</capacity><allocation>8</allocation>\
            <target><path>/dev/vg/snap</path></target><backingStore><path>/dev/vg/plain</path></backingStore></volume>";
        assert_eq!(
            VolumeXml::parse(snapshot).unwrap().backing_path.as_deref(),
            Some("/dev/vg/plain")
        );
        let file = "<volume type='file'><name>a.qcow2</name><target><format type='qcow2'/></target></volume>";
        assert_eq!(VolumeXml::parse(file).unwrap().format.as_deref(), Some("qcow2"));
    }

    #[test]
    fn a_snapshot_volume_names_its_origin_and_allocates_its_size() {
        let xml = snapshot_volume_xml("before-upgrade", 64 << 20, "/dev/vg/vm&1").unwrap();
        let vol = VolumeXml::parse(&xml).unwrap();
        assert_eq!(
            (
                vol.name.as_str(),
                vol.capacity,
                vol.allocation,
                vol.backing_path.as_deref()
            ),
            ("before-upgrade", 64 << 20, 64 << 20, Some("/dev/vg/vm&1"))
        );
        assert!(xml.contains("<path>/dev/vg/vm&amp;1</path>"), "{xml}");
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

    #[test]
    fn luks_volumes_name_their_secret_and_read_it_back() {
        let xml =
            luks_volume_xml("enc", 64 << 20, 64 << 20, "675f09f9-ce67-4ba6-bc7f-4614de90d640").expect("xml");
        assert!(xml.contains("<encryption format='luks'>"), "{xml}");
        // What libvirt 9.0 answered for that create, before a pool refresh (trimmed).
        let dump =
            "<volume type='block'><name>enc</name><key>k</key><capacity unit='bytes'>71303168</capacity>\
            <allocation unit='bytes'>71303168</allocation><target><path>/dev/ep/enc</path>\
            <encryption format='luks'><secret type='passphrase' uuid='675f09f9-ce67-4ba6-bc7f-4614de90d640'/>\
            </encryption></target></volume>";
        assert_eq!(
            volume_encryption_secret(dump).expect("parse").as_deref(),
            Some("675f09f9-ce67-4ba6-bc7f-4614de90d640")
        );
        let qcow = dump.replace("format='luks'", "format='qcow'");
        assert_eq!(volume_encryption_secret(&qcow).expect("parse"), None);
        assert_eq!(volume_encryption_secret(VOLUME_DUMP).expect("parse"), None);
        let secret = volume_secret_xml("/dev/ep/a&b").expect("xml");
        assert!(secret.contains("<volume>/dev/ep/a&amp;b</volume>"), "{secret}");
        assert!(secret.contains("private='yes'"), "{secret}");
        assert!(volume_secret_xml("/dev/ep/\u{7}").is_err());
    }
}
