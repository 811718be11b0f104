//! Small XML helpers: libvirt's XML is regular (single-quoted attributes, one element per line)
//! enough that a few string searches read it.

use std::fmt;

/// The `<disk ...>...</disk>` elements of a domain XML.
pub fn disk_blocks(xml: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(start) = rest.find("<disk ") {
        let tail = &rest[start..];
        let end = tail.find("</disk>").map_or(tail.len(), |e| e + "</disk>".len());
        out.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    out
}

/// The value of attribute `attr` on the first `<elem ...>` in `xml`.
pub fn attr_value(xml: &str, elem: &str, attr: &str) -> Option<String> {
    let open = format!("<{elem} ");
    let start = xml.find(&open)?;
    let tag = &xml[start..];
    let tag = &tag[..tag.find('>')?];
    for quote in ['\'', '"'] {
        let key = format!(" {attr}={quote}");
        if let Some(i) = tag.find(&key) {
            let v = &tag[i + key.len()..];
            return v.find(quote).map(|j| v[..j].to_string());
        }
    }
    None
}

/// Disk target devices (`sdb`, `vdb`, …) of a domain XML.
pub fn disk_targets(xml: &str) -> Vec<String> {
    disk_blocks(xml)
        .iter()
        .filter_map(|d| attr_value(d, "target", "dev"))
        .collect()
}

/// The `<disk>` element with target `target`.
pub fn disk_block(xml: &str, target: &str) -> Option<String> {
    disk_blocks(xml)
        .into_iter()
        .find(|d| attr_value(d, "target", "dev").as_deref() == Some(target))
}

/// The text of the first `<tag>text</tag>` in `xml`.
pub fn tag_text(xml: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{tag}>"))?;
    Some(xml[start..start + end].trim().to_string())
}

/// The text of the first `<tag ...>text</tag>` (with attributes) in `xml`.
pub fn tag_text_attrs(xml: &str, tag: &str) -> Option<String> {
    let exact = tag_text(xml, tag);
    if exact.is_some() {
        return exact;
    }
    let open = format!("<{tag} ");
    let start = xml.find(&open)?;
    let gt = xml[start..].find('>')? + start + 1;
    let end = xml[gt..].find(&format!("</{tag}>"))?;
    Some(xml[gt..gt + end].trim().to_string())
}

/// Where a `<disk>` element's data comes from, as its XML says.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DiskSource {
    /// `<disk type='block'>` with `<source dev=…>`.
    Block(String),
    /// `<disk type='file'>` with `<source file=…>`.
    File(String),
    /// `<disk type='volume'>` with `<source pool=… volume=…>`.
    Volume {
        /// The pool's name.
        pool: String,
        /// The volume's name in it.
        volume: String,
    },
    /// Anything else (network disks, a disk without a source): the disk's `type`.
    Other(String),
}

impl fmt::Display for DiskSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiskSource::Block(p) => write!(f, "block {p}"),
            DiskSource::File(p) => write!(f, "file {p}"),
            DiskSource::Volume { pool, volume } => write!(f, "volume {pool}/{volume}"),
            DiskSource::Other(s) => write!(f, "{s}"),
        }
    }
}

/// The source of one `<disk>` element (pool and volume win over `dev`, `dev` over `file`).
pub fn disk_source(disk: &str) -> DiskSource {
    match (
        attr_value(disk, "source", "pool"),
        attr_value(disk, "source", "volume"),
        attr_value(disk, "source", "dev"),
        attr_value(disk, "source", "file"),
    ) {
        (Some(pool), Some(volume), _, _) => DiskSource::Volume { pool, volume },
        (_, _, Some(dev), _) => DiskSource::Block(dev),
        (_, _, _, Some(file)) => DiskSource::File(file),
        _ => DiskSource::Other(attr_value(disk, "disk", "type").unwrap_or_default()),
    }
}

/// Target device → source of every disk of a domain XML (disks without a target are skipped).
pub fn disk_sources(xml: &str) -> Vec<(String, DiskSource)> {
    disk_blocks(xml)
        .iter()
        .filter_map(|d| Some((attr_value(d, "target", "dev")?, disk_source(d))))
        .collect()
}

/// A `<disk device='disk'>` element for `source` at `target` on `bus` (attach-device XML).
pub fn disk_element(target: &str, source: &DiskSource, bus: &str) -> String {
    let open = match source {
        DiskSource::Block(p) => format!("<disk type='block' device='disk'><source dev='{p}'/>"),
        DiskSource::File(p) => format!("<disk type='file' device='disk'><source file='{p}'/>"),
        DiskSource::Volume { pool, volume } => {
            format!("<disk type='volume' device='disk'><source pool='{pool}' volume='{volume}'/>")
        }
        DiskSource::Other(_) => "<disk type='block' device='disk'>".to_string(),
    };
    format!("{open}<target dev='{target}' bus='{bus}'/></disk>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disks() {
        let xml = "<domain><devices>\n<disk type='block' device='disk'>\n<source dev='/dev/a/b'/>\n\
                   <target dev='sdb' bus='scsi'/>\n</disk>\n<disk type='volume' device='disk'>\n\
                   <source pool='p' volume='v'/>\n<target dev='sdc' bus='scsi'/>\n</disk>\n\
                   <console type='pty'><target type='serial' port='0'/></console></devices></domain>";
        assert_eq!(disk_targets(xml), vec!["sdb", "sdc"]);
        let d = disk_block(xml, "sdc").expect("sdc");
        assert_eq!(attr_value(&d, "source", "volume").as_deref(), Some("v"));
        assert_eq!(attr_value(&d, "source", "dev"), None);
        assert_eq!(disk_block(xml, "sdd"), None);
        assert_eq!(
            attr_value("<target dev=\"vdb\" bus=\"virtio\"/>", "target", "bus").as_deref(),
            Some("virtio")
        );
        assert_eq!(
            tag_text("<pool><name> x </name></pool>", "name").as_deref(),
            Some("x")
        );
        assert_eq!(
            tag_text_attrs("<capacity unit='bytes'>42</capacity>", "capacity").as_deref(),
            Some("42")
        );
        assert_eq!(tag_text("<a>open", "a"), None);
    }

    #[test]
    fn disk_sources_of_each_kind_and_back() {
        let kinds = [
            DiskSource::Block("/dev/mapper/vg-lv".into()),
            DiskSource::File("/dev/vg/lv".into()),
            DiskSource::Volume {
                pool: "p".into(),
                volume: "v".into(),
            },
        ];
        let xml: String = kinds
            .iter()
            .zip(["sdb", "sdc", "sdd"])
            .map(|(k, t)| disk_element(t, k, "scsi"))
            .collect();
        let read = disk_sources(&format!("<domain><devices>{xml}</devices></domain>"));
        assert_eq!(
            read,
            vec![
                ("sdb".to_string(), kinds[0].clone()),
                ("sdc".to_string(), kinds[1].clone()),
                ("sdd".to_string(), kinds[2].clone()),
            ]
        );
        assert_eq!(
            disk_source("<disk type='network' device='disk'><target dev='vdb'/></disk>"),
            DiskSource::Other("network".into())
        );
        assert_eq!(kinds[2].to_string(), "volume p/v");
    }
}
