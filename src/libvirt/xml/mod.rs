//! Typed views of the libvirt XML documents the provider reads (pool, volume
//! and domain dumps) and the few it writes (pool define, volume create, disk
//! attach): one file per document kind (pool, volume, domain), the
//! element tree and value rules they share here.
//!
//! Parsing builds a small element tree with quick-xml's event reader rather
//! than serde structs: libvirt interleaves repeated elements (`<disk>`,
//! `<controller>`), adds elements and attributes with every release, and a
//! tree with lookups by name ignores whatever we do not model and never
//! depends on element order. Hostile input yields an [`XmlError`], never a
//! panic: nesting depth is bounded, undeclared entities are refused (so no
//! entity expansion), and every number is range-checked.

use std::borrow::Cow;

use quick_xml::escape::{escape, resolve_predefined_entity};
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Decoder, Reader};

const POOL: &str = "storage pool";
const VOLUME: &str = "storage volume";
const DOMAIN: &str = "domain";
const DISK: &str = "disk";
const SECRET: &str = "secret";
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

mod domain;
mod pool;
#[cfg(test)]
pub(crate) mod samples;
mod volume;

pub use domain::*;
pub use pool::*;
pub use volume::*;

#[cfg(test)]
mod tests {
    use super::samples::*;
    use super::*;

    /// A sample document and its parser, whose result is irrelevant.
    type Sample = (&'static str, fn(&str));

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
}
