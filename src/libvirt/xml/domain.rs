//! Domain documents: the disks and controllers of `virsh dumpxml`, and the `<disk>` written to
//! attach one.

use std::fmt;

use super::{esc, invalid, number_attr, parse_tree, Element, XmlError, DISK, DOMAIN};
use crate::names::Bus;

/// `virsh dumpxml` of a domain; only what disk attachment needs is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainXml {
    /// `<name>`.
    pub name: String,
    /// `<uuid>`.
    pub uuid: Option<String>,
    /// `<domain id=…>`, present only while the domain runs.
    pub id: Option<i32>,
    /// `<domain type=…>`: `kvm`, `qemu`, `xen`…
    pub domain_type: String,
    /// `<features><acpi/>`: without ACPI a guest ignores hot-unplug requests.
    pub has_acpi: bool,
    /// `<devices><disk>`, in document order.
    pub disks: Vec<DiskXml>,
    /// `<devices><controller>`, in document order.
    pub controllers: Vec<ControllerXml>,
    /// The devices other than disks that read a host block device or file: each can be a use of a
    /// volume ([`DeviceXml`]).
    pub devices: Vec<DeviceXml>,
}

/// A device other than a `<disk>` that reads a host path: what the in-use rule must see beside
/// disks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceXml {
    /// What it is, for messages: `filesystem /mnt`, `hostdev`, `memory nvdimm`.
    pub kind: String,
    /// The host path(s) it reads (as `dev` or `file`).
    pub source: DiskSourceXml,
}

/// One `<disk>` of a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskXml {
    /// `<disk type=…>`: `block`, `volume`, `file`, `network`…; libvirt's
    /// default `file` when absent.
    pub disk_type: String,
    /// `<disk device=…>`: `disk`, `cdrom`, `lun`…; `disk` when absent.
    pub device: String,
    /// `<driver>`.
    pub driver: DriverXml,
    /// `<source>`; all empty for an empty cdrom.
    pub source: DiskSourceXml,
    /// The sources behind it: every `<backingStore>` of its chain (an overlay on a volume uses
    /// that volume too), every `<dataStore>` (a qcow2 image whose data lives in an external file
    /// or device) and the `<mirror>` of a block copy under way.
    pub behind: Vec<DiskSourceXml>,
    /// `<target dev=…>`: the guest name (`vda`, `sdb`…), unique per domain.
    pub target_dev: String,
    /// `<target bus=…>`.
    pub target_bus: Option<String>,
    /// `<readonly/>` is present.
    pub readonly: bool,
    /// `<shareable/>` is present.
    pub shareable: bool,
    /// `<serial>`.
    pub serial: Option<String>,
    /// `<alias name=…>`, present while the domain runs (or user-set `ua-…`).
    pub alias: Option<String>,
    /// `<address>`, assigned by libvirt when not given.
    pub address: Option<AddressXml>,
}

/// `<driver …/>` of a disk; every attribute is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DriverXml {
    /// `name=…`: `qemu`.
    pub name: Option<String>,
    /// `type=…`: `raw`, `qcow2`…
    pub dtype: Option<String>,
    /// `cache=…`: `none`, `writeback`, `directsync`…
    pub cache: Option<String>,
    /// `io=…`: `native`, `threads`, `io_uring`.
    pub io: Option<String>,
    /// `discard=…`: `unmap` or `ignore`.
    pub discard: Option<String>,
}

/// `<source …/>` of a disk; which attribute is set depends on the disk type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DiskSourceXml {
    /// `dev=…`, for `type='block'`.
    pub dev: Option<String>,
    /// `pool=…`, for `type='volume'`.
    pub pool: Option<String>,
    /// `volume=…`, for `type='volume'`.
    pub volume: Option<String>,
    /// `file=…`, for `type='file'`.
    pub file: Option<String>,
}

impl DiskSourceXml {
    fn of(source: Option<&Element>) -> Self {
        let get = |name: &str| source.and_then(|s| s.attr(name)).map(str::to_string);
        DiskSourceXml {
            dev: get("dev"),
            pool: get("pool"),
            volume: get("volume"),
            file: get("file"),
        }
    }

    /// The host paths it names (`dev` and `file`).
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        [&self.dev, &self.file].into_iter().flatten().map(String::as_str)
    }
}

impl DiskXml {
    /// Every source the disk reads: its own and those behind it.
    pub fn all_sources(&self) -> impl Iterator<Item = &DiskSourceXml> {
        std::iter::once(&self.source).chain(&self.behind)
    }
}

/// A device `<address …/>`, attributes kept verbatim (libvirt writes PCI
/// numbers in hex, drive numbers in decimal). [`fmt::Display`] gives a
/// compact form: `drive:0:0:0:1` (controller:bus:target:unit),
/// `pci:0000:00:05.0` (domain:bus:slot.function), else the type followed by
/// whatever attributes are present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[allow(missing_docs)] // each field is the attribute of the same name
pub struct AddressXml {
    pub atype: String,
    pub controller: Option<String>,
    pub bus: Option<String>,
    pub target: Option<String>,
    pub unit: Option<String>,
    pub domain: Option<String>,
    pub slot: Option<String>,
    pub function: Option<String>,
    pub port: Option<String>,
}

/// One `<controller>` of a domain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ControllerXml {
    /// `type=…`: `scsi`, `sata`, `pci`, `usb`, `virtio-serial`…
    pub ctype: String,
    /// `model=…`: `virtio-scsi`, `pcie-root`…
    pub model: Option<String>,
    /// `index=…`: the number disks' `<address controller=…>` refer to.
    pub index: Option<u32>,
}

/// Parses `0x`-prefixed hex or decimal, as libvirt accepts in addresses.
fn address_number(v: &str) -> Option<u64> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse().ok(),
    }
}

impl fmt::Display for AddressXml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let num = |v: &Option<String>| v.as_deref().and_then(address_number);
        match self.atype.as_str() {
            "drive" => {
                let dec = |v: &Option<String>| match (v, num(v)) {
                    (_, Some(n)) => n.to_string(),
                    (Some(raw), None) => raw.clone(),
                    (None, None) => "0".to_string(),
                };
                let [c, b, t, u] = [&self.controller, &self.bus, &self.target, &self.unit].map(dec);
                return write!(f, "drive:{c}:{b}:{t}:{u}");
            }
            "pci" => {
                let zero = |v: &Option<String>| if v.is_some() { num(v) } else { Some(0) };
                let parts = (
                    zero(&self.domain),
                    zero(&self.bus),
                    zero(&self.slot),
                    zero(&self.function),
                );
                if let (Some(d), Some(b), Some(s), Some(func)) = parts {
                    return write!(f, "pci:{d:04x}:{b:02x}:{s:02x}.{func:x}");
                }
            }
            _ => {}
        }
        f.write_str(&self.atype)?;
        let fields = [
            &self.domain,
            &self.controller,
            &self.bus,
            &self.target,
            &self.unit,
            &self.slot,
            &self.function,
            &self.port,
        ];
        fields.into_iter().flatten().try_for_each(|v| write!(f, ":{v}"))
    }
}

impl DiskXml {
    /// Parses a standalone `<disk>` document, such as an attach XML.
    pub fn parse(xml: &str) -> Result<Self, XmlError> {
        Self::from_element(&parse_tree(xml, DISK, "disk")?, DISK)
    }

    fn from_element(el: &Element, doc: &'static str) -> Result<Self, XmlError> {
        let attr = |path: &[&str], name: &str| el.attr_at(path, name);
        Ok(DiskXml {
            disk_type: el.attr("type").unwrap_or("file").to_string(),
            device: el.attr("device").unwrap_or("disk").to_string(),
            driver: DriverXml {
                name: attr(&["driver"], "name"),
                dtype: attr(&["driver"], "type"),
                cache: attr(&["driver"], "cache"),
                io: attr(&["driver"], "io"),
                discard: attr(&["driver"], "discard"),
            },
            source: DiskSourceXml::of(el.child("source")),
            behind: {
                let mut behind = Vec::new();
                data_stores(el.child("source"), &mut behind);
                let mut next = el.child("backingStore");
                while let Some(b) = next {
                    behind.push(DiskSourceXml::of(b.child("source")));
                    data_stores(b.child("source"), &mut behind);
                    next = b.child("backingStore");
                }
                // libvirt writes a mirror's source as <source> inside it, or (older) as file=.
                if let Some(m) = el.child("mirror") {
                    let mut src = DiskSourceXml::of(m.child("source"));
                    src.file = src.file.or_else(|| m.attr("file").map(str::to_string));
                    behind.push(src);
                }
                behind.retain(|s| s != &DiskSourceXml::default());
                behind
            },
            target_dev: attr(&["target"], "dev")
                .ok_or_else(|| invalid(doc, "a <disk> has no <target dev=…>"))?,
            target_bus: attr(&["target"], "bus"),
            readonly: el.child("readonly").is_some(),
            shareable: el.child("shareable").is_some(),
            serial: el.text_at(&["serial"]),
            alias: attr(&["alias"], "name"),
            address: el.child("address").map(|a| {
                let get = |name: &str| a.attr(name).map(str::to_string);
                AddressXml {
                    atype: a.attr("type").unwrap_or_default().to_string(),
                    controller: get("controller"),
                    bus: get("bus"),
                    target: get("target"),
                    unit: get("unit"),
                    domain: get("domain"),
                    slot: get("slot"),
                    function: get("function"),
                    port: get("port"),
                }
            }),
        })
    }
}

/// The `<dataStore>` of a `<source>` (libvirt 10.10+: a qcow2 image's external data file), itself
/// a `<source>` of its own.
fn data_stores(source: Option<&Element>, out: &mut Vec<DiskSourceXml>) {
    if let Some(ds) = source.and_then(|s| s.child("dataStore")) {
        out.push(DiskSourceXml::of(ds.child("source")));
    }
}

/// The non-disk devices of `<devices>` that read a host path: `<filesystem>` (a block device or
/// an image file holding the filesystem), `<hostdev mode='capabilities' type='storage'>` (its
/// `<source><block>`), and `<memory>` devices backed by a file or device (nvdimm, virtio-pmem:
/// `<source><path>`).
fn path_devices(devs: Option<&Element>) -> Vec<DeviceXml> {
    let Some(devs) = devs else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let path_source = |p: Option<String>| DiskSourceXml {
        dev: p,
        ..Default::default()
    };
    for fs in devs.children("filesystem") {
        let mut source = DiskSourceXml::of(fs.child("source"));
        source.pool = None;
        source.volume = None;
        if source.dev.is_none() && source.file.is_none() {
            continue;
        }
        let target = fs.attr_at(&["target"], "dir").unwrap_or_default();
        out.push(DeviceXml {
            kind: format!("filesystem {target}").trim_end().to_string(),
            source,
        });
    }
    for h in devs.children("hostdev") {
        if let Some(block) = h.text_at(&["source", "block"]) {
            out.push(DeviceXml {
                kind: "hostdev".into(),
                source: path_source(Some(block)),
            });
        }
    }
    for m in devs.children("memory") {
        if let Some(path) = m.text_at(&["source", "path"]) {
            let model = m.attr("model").unwrap_or("memory");
            out.push(DeviceXml {
                kind: format!("memory {model}"),
                source: path_source(Some(path)),
            });
        }
    }
    out
}

impl DomainXml {
    /// Parses a `<domain>` document (live or inactive).
    pub fn parse(xml: &str) -> Result<Self, XmlError> {
        let root = parse_tree(xml, DOMAIN, "domain")?;
        let devs = root.child("devices");
        let devices = |name: &'static str| devs.into_iter().flat_map(move |d| d.children(name));
        Ok(DomainXml {
            name: root.required_text("name", DOMAIN)?,
            uuid: root.text_at(&["uuid"]),
            id: number_attr(&root, "id", DOMAIN)?,
            domain_type: root
                .attr("type")
                .ok_or_else(|| invalid(DOMAIN, "<domain> has no type"))?
                .to_string(),
            has_acpi: root.find(&["features", "acpi"]).is_some(),
            disks: devices("disk")
                .map(|d| DiskXml::from_element(d, DOMAIN))
                .collect::<Result<_, _>>()?,
            controllers: devices("controller")
                .map(|c| {
                    Ok(ControllerXml {
                        ctype: c.attr("type").unwrap_or_default().to_string(),
                        model: c.attr("model").map(str::to_string),
                        index: number_attr(c, "index", DOMAIN)?,
                    })
                })
                .collect::<Result<_, XmlError>>()?,
            devices: path_devices(devs),
        })
    }

    /// The disk attached at guest target `target` (`sdb`, `vdc`…).
    pub fn find_disk(&self, target: &str) -> Option<&DiskXml> {
        self.disks.iter().find(|d| d.target_dev == target)
    }
}

// ---------------------------------------------------------------------------
// Disk attachment

/// Where an attached disk's data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiskSpecSource {
    /// A host block device path: `<disk type='block'><source dev=…>`.
    Block(String),
    /// A host path written as a file: `<disk type='file'><source file=…>` (what `virsh
    /// attach-disk` writes for a block device unless told otherwise); only used to detach such a
    /// disk.
    File(String),
    /// A libvirt volume: `<disk type='volume'><source pool=… volume=…>`.
    Volume {
        /// The pool name.
        pool: String,
        /// The volume name within the pool.
        volume: String,
    },
}

/// A disk to attach to a domain. The driver is always qemu/raw (LVs hold raw
/// data); `cache`, `io` and `discard` are passed through when set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiskSpec {
    /// What to attach.
    pub source: DiskSpecSource,
    /// The guest name (`sdb`, `vdc`…).
    pub target_dev: String,
    /// The bus; a matching controller must exist for `scsi`/`sata`/`usb`.
    pub bus: Bus,
    /// Writes `<readonly/>`.
    pub read_only: bool,
    /// Writes `<shareable/>`, for disks attached to several domains.
    pub shareable: bool,
    /// `<serial>`, shown to the guest (e.g. in `/dev/disk/by-id/`).
    pub serial: Option<String>,
    /// `<driver cache=…>`.
    pub cache: Option<String>,
    /// `<driver io=…>`.
    pub io: Option<String>,
    /// `<driver discard=…>`.
    pub discard: Option<String>,
    /// The passphrase secret of a LUKS-encrypted source: `<encryption format='luks'>` inside
    /// `<source>`, where QEMU's block layer opens it (the form libvirt documents for current
    /// QEMU; the older place, directly under `<disk>`, is for qcow encryption).
    pub encryption: Option<String>,
}

impl DiskSpec {
    /// The `<disk>` XML for `virDomainAttachDeviceFlags`.
    pub fn to_xml(&self) -> Result<String, XmlError> {
        let attrs = |pairs: &[(&str, Option<&str>)]| -> Result<String, XmlError> {
            pairs
                .iter()
                .try_fold(String::new(), |out, (name, value)| match value {
                    Some(v) => Ok(format!("{out} {name}='{}'", esc(DISK, name, v)?)),
                    None => Ok(out),
                })
        };
        let (disk_type, source) = match &self.source {
            DiskSpecSource::Block(dev) => ("block", attrs(&[("dev", Some(dev))])?),
            DiskSpecSource::File(file) => ("file", attrs(&[("file", Some(file))])?),
            DiskSpecSource::Volume { pool, volume } => (
                "volume",
                attrs(&[("pool", Some(pool)), ("volume", Some(volume))])?,
            ),
        };
        let driver = attrs(&[
            ("name", Some("qemu")),
            ("type", Some("raw")),
            ("cache", self.cache.as_deref()),
            ("io", self.io.as_deref()),
            ("discard", self.discard.as_deref()),
        ])?;
        let target = attrs(&[("dev", Some(&self.target_dev)), ("bus", Some(self.bus.as_str()))])?;
        let source = match &self.encryption {
            None => format!("<source{source}/>"),
            Some(uuid) => format!(
                "<source{source}>\n    <encryption format='luks'>\n      <secret type='passphrase' uuid='{}'/>\n    \
                 </encryption>\n  </source>",
                esc(DISK, "secret UUID", uuid)?
            ),
        };
        let mut xml = format!(
            "<disk type='{disk_type}' device='disk'>\n  <driver{driver}/>\n  {source}\n  <target{target}/>\n"
        );
        if self.read_only {
            xml += "  <readonly/>\n";
        }
        if self.shareable {
            xml += "  <shareable/>\n";
        }
        if let Some(serial) = &self.serial {
            xml += &format!("  <serial>{}</serial>\n", esc(DISK, "serial", serial)?);
        }
        xml += "</disk>\n";
        Ok(xml)
    }
}

#[cfg(test)]
mod tests {
    use super::super::samples::*;
    use super::*;
    use crate::libvirt::xml::{logical_pool_xml, volume_xml};

    fn spec() -> DiskSpec {
        DiskSpec {
            source: DiskSpecSource::Block("/dev/vg_data/data1".into()),
            target_dev: "sdb".into(),
            bus: Bus::Scsi,
            read_only: false,
            shareable: false,
            serial: None,
            cache: None,
            io: None,
            discard: None,
            encryption: None,
        }
    }

    #[test]
    fn encrypted_sources_carry_their_secret_inside_source() {
        let xml = DiskSpec {
            encryption: Some("675f09f9-ce67-4ba6-bc7f-4614de90d640".into()),
            ..spec()
        }
        .to_xml()
        .expect("xml");
        let source = xml.find("<source").expect("source");
        let enc = xml.find("<encryption format='luks'>").expect("encryption");
        let end = xml.find("</source>").expect("source closed");
        assert!(source < enc && enc < end, "{xml}");
        assert!(xml.contains("<secret type='passphrase' uuid='675f09f9-ce67-4ba6-bc7f-4614de90d640'/>"));
        assert!(!spec().to_xml().expect("xml").contains("encryption"));
    }

    #[test]
    fn parses_domain_dump() {
        let dom = DomainXml::parse(DOMAIN_DUMP).unwrap();
        assert_eq!(dom.name, "web-01");
        assert_eq!(dom.uuid.as_deref(), Some("0b4c8f1e-2d3a-4e5f-8a9b-1c2d3e4f5a6b"));
        assert_eq!(dom.id, Some(7));
        assert_eq!(dom.domain_type, "kvm");
        assert!(dom.has_acpi);
        assert_eq!(
            dom.disks
                .iter()
                .map(|d| d.target_dev.as_str())
                .collect::<Vec<_>>(),
            ["vda", "sdb", "sda", "vdc"]
        );
        assert_eq!(
            dom.controllers,
            [
                ControllerXml {
                    ctype: "scsi".into(),
                    model: Some("virtio-scsi".into()),
                    index: Some(0)
                },
                ControllerXml {
                    ctype: "pci".into(),
                    model: Some("pcie-root".into()),
                    index: Some(0)
                },
                ControllerXml {
                    ctype: "sata".into(),
                    model: None,
                    index: Some(0)
                },
            ]
        );

        let sdb = dom.find_disk("sdb").unwrap();
        assert_eq!(
            *sdb,
            DiskXml {
                disk_type: "block".into(),
                device: "disk".into(),
                driver: DriverXml {
                    name: Some("qemu".into()),
                    dtype: Some("raw".into()),
                    cache: Some("none".into()),
                    io: Some("native".into()),
                    discard: Some("unmap".into()),
                },
                source: DiskSourceXml {
                    dev: Some("/dev/vg_data/data1".into()),
                    ..Default::default()
                },
                behind: vec![],
                target_dev: "sdb".into(),
                target_bus: Some("scsi".into()),
                readonly: false,
                shareable: true,
                serial: Some("data1-serial".into()),
                alias: Some("scsi0-0-0-1".into()),
                address: Some(AddressXml {
                    atype: "drive".into(),
                    controller: Some("0".into()),
                    bus: Some("0".into()),
                    target: Some("0".into()),
                    unit: Some("1".into()),
                    ..Default::default()
                }),
            }
        );
        assert_eq!(sdb.address.as_ref().unwrap().to_string(), "drive:0:0:0:1");

        let vda = dom.find_disk("vda").unwrap();
        assert_eq!(
            vda.source.file.as_deref(),
            Some("/var/lib/libvirt/images/web-01.qcow2")
        );
        assert_eq!(vda.driver.dtype.as_deref(), Some("qcow2"));
        assert_eq!(vda.address.as_ref().unwrap().to_string(), "pci:0000:04:00.0");

        let cdrom = dom.find_disk("sda").unwrap();
        assert_eq!(
            (
                cdrom.device.as_str(),
                cdrom.readonly,
                cdrom.source.file.as_deref()
            ),
            ("cdrom", true, None)
        );

        let vdc = dom.find_disk("vdc").unwrap();
        assert_eq!(vdc.disk_type, "volume");
        assert_eq!(
            (vdc.source.pool.as_deref(), vdc.source.volume.as_deref()),
            (Some("vg_data"), Some("logs"))
        );
        assert_eq!(vdc.alias.as_deref(), Some("ua-logs"));
        assert_eq!(vdc.address.as_ref().unwrap().to_string(), "pci:0000:00:05.0");

        assert!(dom.find_disk("vdz").is_none());
    }

    #[test]
    fn parses_inactive_minimal_domain() {
        let xml = "<?xml version='1.0'?>\n<!-- inactive -->\n<domain type='qemu'><name>x</name><devices>\
                   <disk><target dev='hda'/></disk></devices></domain>";
        let dom = DomainXml::parse(xml).unwrap();
        assert_eq!((dom.id, dom.uuid, dom.has_acpi), (None, None, false));
        assert_eq!(
            (dom.disks[0].disk_type.as_str(), dom.disks[0].device.as_str()),
            ("file", "disk")
        );
        assert!(dom.controllers.is_empty());
    }

    #[test]
    fn formats_addresses() {
        let addr = |atype: &str, f: fn(&mut AddressXml)| {
            let mut a = AddressXml {
                atype: atype.into(),
                ..Default::default()
            };
            f(&mut a);
            a.to_string()
        };
        assert_eq!(addr("drive", |_| {}), "drive:0:0:0:0");
        assert_eq!(addr("drive", |a| a.unit = Some("0x3".into())), "drive:0:0:0:3");
        assert_eq!(addr("drive", |a| a.unit = Some("x".into())), "drive:0:0:0:x");
        assert_eq!(
            addr("pci", |a| {
                a.domain = Some("0x0000".into());
                a.bus = Some("0x0a".into());
                a.slot = Some("0x1f".into());
                a.function = Some("0x7".into());
            }),
            "pci:0000:0a:1f.7"
        );
        assert_eq!(addr("pci", |a| a.slot = Some("5".into())), "pci:0000:00:05.0");
        assert_eq!(addr("pci", |a| a.slot = Some("bogus".into())), "pci:bogus");
        assert_eq!(
            addr("usb", |a| {
                a.bus = Some("0".into());
                a.port = Some("2".into());
            }),
            "usb:0:2"
        );
        assert_eq!(addr("", |_| {}), "");
    }

    #[test]
    fn disk_xml_block_round_trip() {
        let xml = spec().to_xml().unwrap();
        assert_eq!(
            xml,
            "<disk type='block' device='disk'>\n  <driver name='qemu' type='raw'/>\n  \
             <source dev='/dev/vg_data/data1'/>\n  <target dev='sdb' bus='scsi'/>\n</disk>\n"
        );
        let disk = DiskXml::parse(&xml).unwrap();
        assert_eq!(disk.disk_type, "block");
        assert_eq!(disk.source.dev.as_deref(), Some("/dev/vg_data/data1"));
        assert_eq!(
            (disk.target_dev.as_str(), disk.target_bus.as_deref()),
            ("sdb", Some("scsi"))
        );
        assert_eq!(
            (disk.readonly, disk.shareable, disk.serial, disk.address),
            (false, false, None, None)
        );
    }

    #[test]
    fn disk_xml_volume_with_every_option() {
        let spec = DiskSpec {
            source: DiskSpecSource::Volume {
                pool: "p&1".into(),
                volume: "v'1".into(),
            },
            target_dev: "vdc".into(),
            bus: Bus::Virtio,
            read_only: true,
            shareable: true,
            serial: Some("<s&n>".into()),
            cache: Some("none".into()),
            io: Some("native".into()),
            discard: Some("unmap".into()),
            encryption: None,
        };
        let xml = spec.to_xml().unwrap();
        assert!(
            xml.contains("<source pool='p&amp;1' volume='v&apos;1'/>"),
            "{xml}"
        );
        assert!(
            xml.contains("<driver name='qemu' type='raw' cache='none' io='native' discard='unmap'/>"),
            "{xml}"
        );
        let disk = DiskXml::parse(&xml).unwrap();
        assert_eq!(
            disk,
            DiskXml {
                disk_type: "volume".into(),
                device: "disk".into(),
                driver: DriverXml {
                    name: Some("qemu".into()),
                    dtype: Some("raw".into()),
                    cache: Some("none".into()),
                    io: Some("native".into()),
                    discard: Some("unmap".into()),
                },
                source: DiskSourceXml {
                    pool: Some("p&1".into()),
                    volume: Some("v'1".into()),
                    ..Default::default()
                },
                behind: vec![],
                target_dev: "vdc".into(),
                target_bus: Some("virtio".into()),
                readonly: true,
                shareable: true,
                serial: Some("<s&n>".into()),
                alias: None,
                address: None,
            }
        );
        // Attaching the generated disk to a domain dump finds it by target.
        let dom = DOMAIN_DUMP.replace(
            "</devices>",
            &format!("{}</devices>", spec.to_xml().unwrap().replace("vdc", "vdd")),
        );
        assert_eq!(
            DomainXml::parse(&dom)
                .unwrap()
                .find_disk("vdd")
                .unwrap()
                .serial
                .as_deref(),
            Some("<s&n>")
        );
    }

    #[test]
    fn generation_refuses_control_characters() {
        let err = logical_pool_xml(
            "p\u{1}",
            "0b4c8f1e-2d3a-4e5f-8a9b-1c2d3e4f5a6b",
            "vg",
            &["/dev/sdb"],
        )
        .unwrap_err();
        assert!(
            matches!(
                err,
                XmlError::Unrepresentable {
                    doc: "storage pool",
                    ..
                }
            ),
            "{err}"
        );
        assert!(volume_xml("a\nb", 1, 1).is_err());
        assert!(
            logical_pool_xml("p", "0b4c8f1e-2d3a-4e5f-8a9b-1c2d3e4f5a6b", "vg", &["/dev/sd\0b"]).is_err()
        );
        let mut s = spec();
        s.serial = Some("x\ty".into());
        assert!(s.to_xml().unwrap_err().to_string().contains("serial"));
        let mut s = spec();
        s.cache = Some("none\u{7f}".into());
        assert!(s.to_xml().is_err());
    }

    #[test]
    fn backing_chains_and_mirrors_are_read() {
        let xml = "<domain type='qemu'><name>d</name><devices>\
            <disk type='file' device='disk'><source file='/var/lib/top.qcow2'/>\
              <backingStore type='file'><source file='/var/lib/mid.qcow2'/>\
                <backingStore type='block'><source dev='/dev/mapper/vg-lv'/><backingStore/></backingStore>\
              </backingStore>\
              <mirror type='block' job='copy'><source dev='/dev/vg/copy'/></mirror>\
              <target dev='vda' bus='virtio'/></disk>\
            <disk type='file' device='disk'><source file='/a'/>\
              <mirror file='/var/lib/old-mirror.img' job='copy'/><target dev='vdb'/></disk>\
            </devices></domain>";
        let dom = DomainXml::parse(xml).unwrap();
        let vda = dom.find_disk("vda").unwrap();
        let behind: Vec<Vec<&str>> = vda.behind.iter().map(|s| s.paths().collect()).collect();
        assert_eq!(
            behind,
            [
                vec!["/var/lib/mid.qcow2"],
                vec!["/dev/mapper/vg-lv"],
                vec!["/dev/vg/copy"]
            ]
        );
        let all: Vec<&str> = vda.all_sources().flat_map(|s| s.paths()).collect();
        assert_eq!(all[0], "/var/lib/top.qcow2");
        let vdb = dom.find_disk("vdb").unwrap();
        assert_eq!(vdb.behind.len(), 1);
        assert_eq!(vdb.behind[0].file.as_deref(), Some("/var/lib/old-mirror.img"));
    }
}
