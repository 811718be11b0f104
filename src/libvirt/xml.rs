//! Typed views of the libvirt XML documents the provider reads (pool, volume
//! and domain dumps) and the few it writes (pool define, volume create, disk
//! attach).
//!
//! Parsing builds a small element tree with quick-xml's event reader rather
//! than serde structs: libvirt interleaves repeated elements (`<disk>`,
//! `<controller>`), adds elements and attributes with every release, and a
//! tree with lookups by name ignores whatever we do not model and never
//! depends on element order. Hostile input yields an [`XmlError`], never a
//! panic: nesting depth is bounded, undeclared entities are refused (so no
//! entity expansion), and every number is range-checked.

use std::borrow::Cow;
use std::fmt;

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Decoder, Reader};

use crate::names::Bus;

const POOL: &str = "storage pool";
const VOLUME: &str = "storage volume";
const DOMAIN: &str = "domain";
const DISK: &str = "disk";
/// libvirt documents nest about 10 deep; the bound only stops hostile input.
const MAX_DEPTH: usize = 64;

/// A libvirt XML document that could not be read or written; `doc` names the
/// kind of document ("storage pool", "storage volume", "domain", "disk").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed XML.
    #[error("malformed {doc} XML: {reason}")]
    #[allow(missing_docs)]
    Malformed { doc: &'static str, reason: String },
    /// Well-formed, but not shaped as libvirt emits this document.
    #[error("unexpected {doc} XML: {reason}")]
    #[allow(missing_docs)]
    Invalid { doc: &'static str, reason: String },
    /// A value that cannot be written into an XML document.
    #[error("cannot write {doc} XML: {reason}")]
    #[allow(missing_docs)]
    Unrepresentable { doc: &'static str, reason: String },
}

fn invalid(doc: &'static str, reason: impl Into<String>) -> XmlError {
    XmlError::Invalid {
        doc,
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------
// Element tree

#[derive(Debug, Default)]
struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Element>,
    /// All character data directly inside this element, concatenated.
    text: String,
}

impl Element {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn find(&self, path: &[&str]) -> Option<&Element> {
        path.iter().try_fold(self, |e, name| e.child(name))
    }

    fn text_at(&self, path: &[&str]) -> Option<String> {
        self.find(path).map(|e| e.text.clone())
    }

    fn attr_at(&self, path: &[&str], attr: &str) -> Option<String> {
        self.find(path)?.attr(attr).map(str::to_string)
    }

    /// The text of a child element libvirt always emits.
    fn required_text(&self, name: &str, doc: &'static str) -> Result<String, XmlError> {
        self.text_at(&[name])
            .ok_or_else(|| invalid(doc, format!("<{}> has no <{name}> element", self.name)))
    }
}

fn start_element(e: &BytesStart<'_>, decoder: Decoder, doc: &'static str) -> Result<Element, XmlError> {
    let malformed = |reason: String| XmlError::Malformed { doc, reason };
    let utf8 = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|e| malformed(e.to_string()));
    let mut el = Element {
        name: utf8(e.name().as_ref())?,
        ..Element::default()
    };
    for attr in e.attributes() {
        let attr = attr.map_err(|e| malformed(format!("in <{}>: {e}", el.name)))?;
        let value = attr
            .decode_and_unescape_value(decoder)
            .map_err(|e| malformed(format!("in <{}>: {e}", el.name)))?;
        el.attrs.push((utf8(attr.key.as_ref())?, value.into_owned()));
    }
    Ok(el)
}

/// Parses a whole document and checks the name of its root element.
fn parse_tree(xml: &str, doc: &'static str, root_name: &str) -> Result<Element, XmlError> {
    let malformed = |reason: String| XmlError::Malformed { doc, reason };
    let mut reader = Reader::from_str(xml);
    let decoder = reader.decoder();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| malformed(format!("{e} (near byte {})", reader.error_position())))?;
        let text: Cow<'_, str> = match &event {
            Event::Start(e) | Event::Empty(e) => {
                if root.is_some() {
                    return Err(malformed("more than one root element".into()));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let el = start_element(e, decoder, doc)?;
                if matches!(event, Event::Start(_)) {
                    stack.push(el);
                } else {
                    close(el, &mut stack, &mut root);
                }
                continue;
            }
            Event::End(_) => {
                // quick-xml already checked that the name matches the open tag.
                let el = stack.pop().ok_or_else(|| malformed("unmatched end tag".into()))?;
                close(el, &mut stack, &mut root);
                continue;
            }
            Event::Text(t) => t.xml10_content().map_err(|e| malformed(e.to_string()))?,
            Event::CData(t) => t.decode().map_err(|e| malformed(e.to_string()))?,
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| malformed(e.to_string()))? {
                    Some(c) => c.to_string(),
                    None => {
                        let name = r.decode().map_err(|e| malformed(e.to_string()))?;
                        resolve_predefined_entity(&name)
                            .ok_or_else(|| malformed(format!("unknown entity &{name};")))?
                            .to_string()
                    }
                };
                Cow::Owned(resolved)
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => continue,
        };
        match stack.last_mut() {
            Some(el) => el.text.push_str(&text),
            None if text.trim().is_empty() => {}
            None => return Err(malformed("text outside the root element".into())),
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(format!("document ends inside <{}>", open.name)));
    }
    let root = root.ok_or_else(|| malformed("no root element".into()))?;
    if root.name != root_name {
        return Err(invalid(
            doc,
            format!("root element is <{}>, expected <{root_name}>", root.name),
        ));
    }
    Ok(root)
}

fn close(el: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

// ---------------------------------------------------------------------------
// Values

/// libvirt's scaled integers (`virScaleInteger`): the unit is
/// case-insensitive; `b`/`byte`/`bytes` (or none) is 1, a single letter
/// `k m g t p e` or `KiB`…`EiB` is a power of 1024, `KB`…`EB` a power of 1000.
fn scaled(value: &str, unit: Option<&str>) -> Option<u64> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let value: u64 = value.parse().ok()?;
    let unit = unit.unwrap_or("").to_ascii_lowercase();
    let factor = match unit.as_str() {
        "" | "b" | "byte" | "bytes" => 1,
        _ => {
            let mut chars = unit.chars();
            let prefix = chars.next()?;
            let base: u64 = match chars.as_str() {
                "" | "ib" => 1024,
                "b" => 1000,
                _ => return None,
            };
            let exp = "kmgtpe".find(prefix)? as u32 + 1;
            base.checked_pow(exp)?
        }
    };
    value.checked_mul(factor)
}

/// A size element such as `<capacity unit='bytes'>N</capacity>`; absent
/// means 0, as libvirt omits sizes it does not know.
fn size(parent: &Element, name: &str, doc: &'static str) -> Result<u64, XmlError> {
    let Some(el) = parent.child(name) else {
        return Ok(0);
    };
    let unit = el.attr("unit");
    scaled(el.text.trim(), unit).ok_or_else(|| {
        invalid(
            doc,
            format!("<{name}> {:?} (unit {unit:?}) is not a size in range", el.text),
        )
    })
}

/// An optional numeric attribute that must parse when present.
fn number_attr<T: std::str::FromStr>(
    el: &Element,
    name: &str,
    doc: &'static str,
) -> Result<Option<T>, XmlError> {
    el.attr(name)
        .map(|v| {
            v.trim()
                .parse()
                .map_err(|_| invalid(doc, format!("<{} {name}={v:?}> is not a valid number", el.name)))
        })
        .transpose()
}

/// Escapes a value for an element or attribute. Control characters are
/// refused: XML 1.0 cannot carry most of them at all, and the rest would be
/// normalized to spaces in attributes.
fn esc<'a>(doc: &'static str, what: &str, value: &'a str) -> Result<Cow<'a, str>, XmlError> {
    match value.chars().find(|c| c.is_control()) {
        Some(c) => Err(XmlError::Unrepresentable {
            doc,
            reason: format!("{what} {value:?} contains the control character {c:?}"),
        }),
        None => Ok(escape(value)),
    }
}

// ---------------------------------------------------------------------------
// Storage pools

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

/// The XML to define a `logical` pool on volume group `vg_name`, built from
/// `devices` (may be empty for an existing VG); libvirt always uses
/// `/dev/<vg>` as the target path of such a pool, so it is written that way.
pub fn logical_pool_xml<S: AsRef<str>>(name: &str, vg_name: &str, devices: &[S]) -> Result<String, XmlError> {
    let vg = esc(POOL, "volume group name", vg_name)?;
    let mut xml = format!(
        "<pool type='logical'>\n  <name>{}</name>\n  <source>\n",
        esc(POOL, "pool name", name)?
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

// ---------------------------------------------------------------------------
// Storage volumes

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

// ---------------------------------------------------------------------------
// Domains

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
            source: DiskSourceXml {
                dev: attr(&["source"], "dev"),
                pool: attr(&["source"], "pool"),
                volume: attr(&["source"], "volume"),
                file: attr(&["source"], "file"),
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
        let mut xml = format!(
            "<disk type='{disk_type}' device='disk'>\n  <driver{driver}/>\n  <source{source}/>\n  <target{target}/>\n"
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
    use super::*;

    const POOL_DUMP: &str = r#"<pool type='logical'>
  <name>vg_data</name>
  <uuid>3f1e0c52-8d9a-4a7e-9b1e-6f0d2a1c4b7e</uuid>
  <capacity unit='bytes'>21470642176</capacity>
  <allocation unit='bytes'>10737418240</allocation>
  <available unit='bytes'>10733223936</available>
  <source>
    <device path='/dev/vdb'/>
    <device path='/dev/disk/by-id/virtio-data2'/>
    <name>vg_data</name>
    <format type='lvm2'/>
  </source>
  <target>
    <path>/dev/vg_data</path>
  </target>
</pool>
"#;

    const VOLUME_DUMP: &str = r#"<volume type='block'>
  <name>data1</name>
  <key>8Hx2cF-0xYq-3k2T-Qb7L-4WmE-gR5d-Zp1N9a</key>
  <source>
    <device path='/dev/vdb'>
      <extent start='0' end='1073741824'/>
    </device>
  </source>
  <capacity unit='bytes'>1073741824</capacity>
  <allocation unit='bytes'>1073741824</allocation>
  <physical unit='bytes'>1073741824</physical>
  <target>
    <path>/dev/vg_data/data1</path>
    <permissions>
      <mode>0660</mode>
      <owner>0</owner>
      <group>6</group>
      <label>system_u:object_r:fixed_disk_device_t:s0</label>
    </permissions>
    <timestamps>
      <atime>1717171717.123456789</atime>
      <mtime>1717171717.123456789</mtime>
      <ctime>1717171717.123456789</ctime>
    </timestamps>
  </target>
</volume>
"#;

    const DOMAIN_DUMP: &str = r#"<domain type='kvm' id='7' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>web-01</name>
  <uuid>0b4c8f1e-2d3a-4e5f-8a9b-1c2d3e4f5a6b</uuid>
  <metadata>
    <app:info xmlns:app="https://example.com/app"><app:owner>ops &amp; dev</app:owner></app:info>
  </metadata>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <resource>
    <partition>/machine</partition>
  </resource>
  <os>
    <type arch='x86_64' machine='pc-q35-8.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
    <vmport state='off'/>
  </features>
  <cpu mode='host-passthrough' check='none' migratable='on'/>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source file='/var/lib/libvirt/images/web-01.qcow2' index='2'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
      <alias name='virtio-disk0'/>
      <address type='pci' domain='0x0000' bus='0x04' slot='0x00' function='0x0'/>
    </disk>
    <disk type='block' device='disk'>
      <driver name='qemu' type='raw' cache='none' io='native' discard='unmap'/>
      <source dev='/dev/vg_data/data1' index='3'/>
      <backingStore/>
      <target dev='sdb' bus='scsi'/>
      <shareable/>
      <serial>data1-serial</serial>
      <alias name='scsi0-0-0-1'/>
      <address type='drive' controller='0' bus='0' target='0' unit='1'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/>
      <target dev='sda' bus='sata'/>
      <readonly/>
      <alias name='sata0-0-0'/>
      <address type='drive' controller='0' bus='0' target='0' unit='0'/>
    </disk>
    <controller type='scsi' index='0' model='virtio-scsi'>
      <alias name='scsi0'/>
      <address type='pci' domain='0x0000' bus='0x03' slot='0x00' function='0x0'/>
    </controller>
    <controller type='pci' index='0' model='pcie-root'>
      <alias name='pcie.0'/>
    </controller>
    <controller type='sata' index='0'>
      <alias name='ide'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x1f' function='0x2'/>
    </controller>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='raw'/>
      <source pool='vg_data' volume='logs'/>
      <target dev='vdc' bus='virtio'/>
      <alias name='ua-logs'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </disk>
    <interface type='network'>
      <mac address='52:54:00:12:34:56'/>
      <source network='default'/>
      <model type='virtio'/>
    </interface>
  </devices>
  <seclabel type='dynamic' model='selinux' relabel='yes'>
    <label>system_u:system_r:svirt_t:s0:c1,c2</label>
  </seclabel>
  <qemu:commandline>
    <qemu:arg value='-newarg'/>
  </qemu:commandline>
</domain>
"#;

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
        }
    }

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

    #[test]
    fn size_units_follow_libvirt() {
        let with = |unit: &str, v: &str| {
            let attr = if unit.is_empty() {
                String::new()
            } else {
                format!(" unit='{unit}'")
            };
            PoolXml::parse(&format!(
                "<pool type='logical'><name>p</name><capacity{attr}>{v}</capacity></pool>"
            ))
            .map(|p| p.capacity)
        };
        assert_eq!(with("", "5"), Ok(5));
        assert_eq!(with("bytes", " 5\n"), Ok(5));
        assert_eq!(with("B", "5"), Ok(5));
        assert_eq!(with("KiB", "2"), Ok(2048));
        assert_eq!(with("k", "2"), Ok(2048));
        assert_eq!(with("M", "1"), Ok(1 << 20));
        assert_eq!(with("gib", "1"), Ok(1 << 30));
        assert_eq!(with("TiB", "1"), Ok(1 << 40));
        assert_eq!(with("PiB", "1"), Ok(1 << 50));
        assert_eq!(with("EiB", "1"), Ok(1 << 60));
        assert_eq!(with("KB", "2"), Ok(2000));
        assert_eq!(with("GB", "3"), Ok(3_000_000_000));
        for (unit, v) in [
            ("bytes", "-1"),
            ("bytes", "1.5"),
            ("bytes", ""),
            ("bytes", "+1"),
            ("XiB", "1"),
            ("KiBB", "1"),
            ("éiB", "1"),
            ("ĸ", "1"),
            ("EiB", "16"),
            ("bytes", "18446744073709551616"),
        ] {
            let err = with(unit, v).unwrap_err();
            assert!(
                matches!(
                    err,
                    XmlError::Invalid {
                        doc: "storage pool",
                        ..
                    }
                ),
                "{unit} {v}: {err}"
            );
            assert!(err.to_string().contains("<capacity>"), "{err}");
        }
    }

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
    fn pool_xml_round_trips_and_escapes() {
        let xml = logical_pool_xml("p&<'\">", "vg0", &["/dev/sdb", "/dev/sdc"]).unwrap();
        assert!(xml.contains("<name>p&amp;&lt;&apos;&quot;&gt;</name>"), "{xml}");
        let pool = PoolXml::parse(&xml).unwrap();
        assert_eq!(pool.name, "p&<'\">");
        assert_eq!(pool.pool_type, "logical");
        assert_eq!(pool.source.devices, ["/dev/sdb", "/dev/sdc"]);
        assert_eq!(pool.source.vg_name.as_deref(), Some("vg0"));
        assert_eq!(pool.source.format.as_deref(), Some("lvm2"));
        assert_eq!(pool.target_path.as_deref(), Some("/dev/vg0"));
        assert_eq!((pool.capacity, pool.uuid), (0, None));

        let odd = logical_pool_xml("p", "vg", &["/dev/it's&<"]).unwrap();
        assert_eq!(PoolXml::parse(&odd).unwrap().source.devices, ["/dev/it's&<"]);
        let none: &[&str] = &[];
        assert!(PoolXml::parse(&logical_pool_xml("p", "vg", none).unwrap())
            .unwrap()
            .source
            .devices
            .is_empty());
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
        let err = logical_pool_xml("p\u{1}", "vg", &["/dev/sdb"]).unwrap_err();
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
        assert!(logical_pool_xml("p", "vg", &["/dev/sd\0b"]).is_err());
        let mut s = spec();
        s.serial = Some("x\ty".into());
        assert!(s.to_xml().unwrap_err().to_string().contains("serial"));
        let mut s = spec();
        s.cache = Some("none\u{7f}".into());
        assert!(s.to_xml().is_err());
    }

    #[test]
    fn entities_and_cdata_are_decoded() {
        let xml = "<volume><name>a&amp;b&#x3C;&#60;&lt;&gt;&quot;&apos;<![CDATA[<&>]]></name>\
                   <target><path>/dev/v&apos;g/x</path></target></volume>";
        let vol = VolumeXml::parse(xml).unwrap();
        assert_eq!(vol.name, "a&b<<<>\"'<&>");
        assert_eq!(vol.target_path.as_deref(), Some("/dev/v'g/x"));
    }

    #[test]
    fn malformed_input_is_an_error() {
        let deep = format!(
            "<pool type='logical'>{}{}</pool>",
            "<a>".repeat(100_000),
            "</a>".repeat(100_000)
        );
        let cases = [
            "",
            "   ",
            "not xml",
            "<pool",
            "<pool type='logical'><name>p</name>",
            "<pool type='logical'><name>p</pool>",
            "<pool type='logical'></pool><pool type='logical'></pool>",
            "<pool type='logical'></pool>trailing",
            "text<pool type='logical'></pool>",
            "</pool>",
            "<pool type='logical' type='dir'></pool>",
            "<pool type='logical><name>p</name></pool>",
            "<pool type=logical></pool>",
            "<pool type='logical'><name>&unknown;</name></pool>",
            "<pool type='&bogus;'><name>p</name></pool>",
            "<pool type='logical'><name>&#0;</name></pool>",
            "<pool type='logical'><name>&#xFFFFFFFF;</name></pool>",
            "<!DOCTYPE pool [<!ENTITY x 'boom'>]><pool type='logical'><name>&x;</name></pool>",
            deep.as_str(),
        ];
        for xml in cases {
            let err = PoolXml::parse(xml).unwrap_err();
            assert!(
                matches!(
                    err,
                    XmlError::Malformed {
                        doc: "storage pool",
                        ..
                    }
                ),
                "{xml:.80}: {err}"
            );
        }
    }

    #[test]
    fn unexpected_documents_are_errors() {
        type Parse = fn(&str) -> Result<(), XmlError>;
        let cases: [(&str, Parse); 7] = [
            ("<volume><name>v</name></volume>", |x| PoolXml::parse(x).map(drop)),
            ("<pool><name>p</name></pool>", |x| PoolXml::parse(x).map(drop)),
            ("<pool type='logical'/>", |x| PoolXml::parse(x).map(drop)),
            ("<volume/>", |x| VolumeXml::parse(x).map(drop)),
            ("<domain type='kvm' id='x'><name>d</name></domain>", |x| {
                DomainXml::parse(x).map(drop)
            }),
            (
                "<domain type='kvm'><name>d</name><devices><disk type='block'/></devices></domain>",
                |x| DomainXml::parse(x).map(drop),
            ),
            (
                "<domain type='kvm'><name>d</name><devices><controller index='-1'/></devices></domain>",
                |x| DomainXml::parse(x).map(drop),
            ),
        ];
        for (xml, parse) in cases {
            let err = parse(xml).unwrap_err();
            assert!(matches!(err, XmlError::Invalid { .. }), "{xml}: {err}");
        }
        let err = PoolXml::parse("<volume/>").unwrap_err().to_string();
        assert_eq!(
            err,
            "unexpected storage pool XML: root element is <volume>, expected <pool>"
        );
    }

    /// A sample document and its parser, whose result is irrelevant.
    type Sample = (&'static str, fn(&str));

    fn samples() -> [Sample; 3] {
        [
            (POOL_DUMP, |x| drop(PoolXml::parse(x))),
            (VOLUME_DUMP, |x| drop(VolumeXml::parse(x))),
            (DOMAIN_DUMP, |x| drop(DomainXml::parse(x))),
        ]
    }

    #[test]
    fn mutated_documents_never_panic() {
        for (sample, parse) in samples() {
            let chars: Vec<char> = sample.chars().collect();
            for i in (0..chars.len()).step_by(2) {
                for c in ['<', '>', '&', '\'', '/', '#', 'é', '\0'] {
                    let mut m = chars.clone();
                    m[i] = c;
                    parse(&m.into_iter().collect::<String>());
                }
            }
        }
    }

    #[test]
    fn truncated_documents_never_panic() {
        for (sample, parse) in samples() {
            for end in (0..sample.len()).filter(|&i| sample.is_char_boundary(i)) {
                parse(&sample[..end]);
            }
        }
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
}
