//! Whether libvirt may copy a volume as a clone source from what its XML says, before any header
//! is read (the copy itself reads a qcow2 source's header too).
//!
//! libvirt copies a block volume (an LV) by reading its device, and a raw file byte for byte; only
//! a file of another format is converted, by `qemu-img` running as root on the hypervisor, which
//! opens whatever the image names (a backing file such as `/etc/shadow`, another tenant's LV, an
//! external data file). So a backing store matters only where qemu-img would read it. A thick LVM
//! snapshot lists its origin as its backing store, yet its device already reads as the origin did
//! when the snapshot was taken: copying it is reading that device, as for any LV.

use crate::libvirt::xml::VolumeXml;

/// Why the volume `xml` must not be a clone source, when its XML alone says so.
pub fn clone_source_problem(xml: &VolumeXml) -> Option<String> {
    let block = xml.vol_type.as_deref() == Some("block");
    match (&xml.backing_path, xml.format.as_deref()) {
        (Some(_), None | Some("raw")) if block => None,
        (Some(b), _) => Some(format!("it has a backing store, {b}")),
        (None, None | Some("raw" | "qcow2")) => None,
        (None, Some(f)) => Some(format!(
            "it is a {f} image, which only qcow2 and raw sources may be: libvirt would convert it with \
             qemu-img on the hypervisor without a check of the files it names"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vol(vol_type: &str, backing: Option<&str>, format: Option<&str>) -> VolumeXml {
        VolumeXml {
            vol_type: Some(vol_type.into()),
            name: "v".into(),
            key: None,
            capacity: 1 << 20,
            allocation: 1 << 20,
            target_path: None,
            format: format.map(Into::into),
            backing_path: backing.map(Into::into),
        }
    }

    #[test]
    fn a_backing_store_is_refused_only_where_qemu_img_would_read_it() {
        // A thick LVM snapshot: a block volume whose backing store is its origin.
        assert_eq!(
            clone_source_problem(&vol("block", Some("/dev/vg/origin"), None)),
            None
        );
        assert_eq!(
            clone_source_problem(&vol("block", Some("/dev/vg/origin"), Some("raw"))),
            None
        );
        // A file overlay, or a block volume libvirt would convert: refused, naming the backing.
        for refused in [
            vol("file", Some("/etc/shadow"), None),
            vol("file", Some("/etc/shadow"), Some("qcow2")),
            vol("block", Some("/etc/shadow"), Some("qcow2")),
        ] {
            let why = clone_source_problem(&refused).expect("refused");
            assert!(why.contains("/etc/shadow"), "{why}");
        }
        assert_eq!(clone_source_problem(&vol("file", None, Some("qcow2"))), None);
        assert_eq!(clone_source_problem(&vol("block", None, None)), None);
        let why = clone_source_problem(&vol("file", None, Some("vmdk"))).expect("refused");
        assert!(why.contains("vmdk image"), "{why}");
    }
}
