//! Volume content: an image (`source`) or another volume (`clone_from`), prepared before the LV
//! exists and written once, at creation.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::framework::plan::Plan;
use crate::framework::schema::{Attribute, Block, Validator};
use crate::framework::{AttrPath, Diagnostic, Diagnostics, Value};
use crate::image::{self, display_url, Cancel, Checksum, FormatChoice, Image, Location, Spec};
use crate::libvirt::facts::volume::VolumeIdentity;
use crate::libvirt::Connection;
use crate::units::format_size;

use super::diag::{
    clone_source_gone, clone_too_large, conflicting_content, image_error, image_too_large, source_attr,
};

/// The `source` block: an image to fill the volume with at creation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(super) struct Source {
    pub(super) path: Option<String>,
    pub(super) url: Option<String>,
    pub(super) format: Option<String>,
    pub(super) checksum: Option<String>,
}

impl Source {
    /// The attribute that names where the image is: `source.url` or `source.path`.
    pub(super) fn location_attr(&self) -> AttrPath {
        source_attr(if self.url.is_some() { "url" } else { "path" })
    }

    /// The image this block describes, for [`image::open`].
    pub(super) fn spec(&self) -> Result<Spec, Diagnostic> {
        let location = match (&self.path, &self.url) {
            (Some(p), None) => Location::Path(PathBuf::from(p)),
            (None, Some(u)) => Location::Url(u.clone()),
            _ => return Err(Diagnostic::error("Invalid source", ONE_LOCATION).at(source_attr("path"))),
        };
        let format = match self.format.as_deref() {
            None => FormatChoice::Auto,
            Some(f) => FormatChoice::parse(f).ok_or_else(|| {
                Diagnostic::error(
                    "Invalid source.format",
                    format!("{f:?} is not one of auto, raw, qcow2."),
                )
                .at(source_attr("format"))
            })?,
        };
        let checksum = self
            .checksum
            .as_deref()
            .map(|c| {
                Checksum::parse(c).map_err(|e| {
                    Diagnostic::error("Invalid source.checksum", e.to_string()).at(source_attr("checksum"))
                })
            })
            .transpose()?;
        Ok(Spec {
            location,
            format,
            checksum,
        })
    }
}

pub(super) const ONE_LOCATION: &str =
    "Set exactly one of source.path (a file on the machine running Terraform) or \
                            source.url (an http:// or https:// URL).";

/// What fills a new volume, prepared before the LV is created.
pub(super) enum Content {
    Empty,
    Image(Image),
    Clone(VolumeIdentity),
}

/// What is left to write once the LV exists.
pub(super) enum Written {
    Nothing,
    Image(Image),
    /// libvirt copied `copied` bytes; the rest of the volume is to be zeroed.
    Clone {
        copied: u64,
    },
}

pub(super) fn source_block() -> Block {
    Block {
        name: "source",
        description: "Fill the volume at creation with a disk image, converted to raw on the machine running \
                      Terraform and streamed over the provider's libvirt connection (`virStorageVolUpload`, \
                      sparse): nothing is needed on the hypervisor, and remote URIs work. qcow2 (v2 and v3, \
                      compressed clusters, zero clusters) becomes the raw disk it holds; a `.gz`, `.xz` or `.zst` \
                      wrapper is recognised by its first bytes. The whole volume then reads as the image followed \
                      by zeros. `capacity` must be at least the image's virtual size (checked at plan for a \
                      `path`, before the volume is created for a `url`). A failure after the volume was created \
                      removes it (or, if that fails too, records it as tainted): a half-written volume is never \
                      recorded as good. Written at creation only: changing the block later writes nothing and \
                      warns; `terraform apply -replace=<address>` re-images the volume. Conflicts with \
                      `clone_from`."
            .into(),
        attributes: vec![
            Attribute::string("path").optional().describe(
                "A file on the machine running Terraform (relative paths are from the working directory). \
                 Exactly one of `path` and `url`.",
            ),
            Attribute::string("url").optional().sensitive().validate(Validator::Str(validate_url)).describe(
                "An `http://` or `https://` URL to download the image from; redirects are followed and the usual \
                 proxy variables (`HTTPS_PROXY`, `NO_PROXY`, ...) apply. Exactly one of `path` and `url`. \
                 Sensitive: a URL may carry credentials (`user:password@`) or a signed token in its query, so \
                 Terraform never shows it in plans or output, and the provider's messages and logs show it \
                 without them (`https://***@host/path?…`). Terraform keeps it in the state file, as it keeps \
                 every argument: protect the state as you would the URL.",
            ),
            Attribute::string("format")
                .optional()
                .one_of(FormatChoice::VALUES)
                .describe(
                    "The image's format inside any compression wrapper. `auto` (the default) takes qcow2 by its \
                     magic bytes and anything else as raw, but refuses VMDK, VHD(X), VDI and QED images by name; \
                     `raw` writes the bytes as they are; `qcow2` refuses anything else.",
                ),
            Attribute::string("checksum").optional().validate(Validator::Str(validate_checksum)).describe(
                "`sha256:<64 hex digits>` or `sha512:<128 hex digits>`: the digest of the file as read (before \
                 decompression). A mismatch fails the create, naming both digests, and leaves no volume behind.",
            ),
        ],
    }
}

pub(super) fn validate_url(u: &str) -> Result<(), String> {
    let lower = u.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') => Ok(()),
        Some(_) => Err(format!(
            "{:?} names no host: use a URL such as \"https://example.com/disk.qcow2\".",
            display_url(u)
        )),
        None => Err(format!(
            "{:?} is not an http:// or https:// URL: only http and https downloads are supported; for a file on \
             this machine use source.path.",
            display_url(u)
        )),
    }
}

pub(super) fn validate_checksum(c: &str) -> Result<(), String> {
    Checksum::parse(c).map(|_| ()).map_err(|e| e.to_string())
}

pub(super) fn validate_clone_from(k: &str) -> Result<(), String> {
    if k.trim().is_empty() {
        Err("clone_from must be the key of an existing volume, such as libvirt_lvm_volume.golden.id.".into())
    } else {
        Ok(())
    }
}

/// The configuration's own contradictions about content (values still unknown pass).
pub(super) fn content_conflicts(config: &Value) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let source = config.attr("source").unwrap_or(&Value::Null);
    let clone_from = config.attr("clone_from").unwrap_or(&Value::Null);
    if !source.is_null() && !clone_from.is_null() {
        out.push(conflicting_content());
    }
    if source.is_known() && !source.is_null() {
        let path = source.attr("path").unwrap_or(&Value::Null);
        let url = source.attr("url").unwrap_or(&Value::Null);
        if path.is_null() && url.is_null() {
            out.push(Diagnostic::error("Missing Image Location", ONE_LOCATION).at(source_attr("path")));
        } else if !path.is_null() && !url.is_null() {
            out.push(Diagnostic::error("Conflicting Image Locations", ONE_LOCATION).at(source_attr("url")));
        }
    }
    out
}

/// The warning for a changed `source` or `clone_from` on an existing volume: content is written
/// at creation only, so the update records the new value and writes nothing.
pub(super) fn content_change_warning(plan: &Plan) -> Option<Diagnostic> {
    let changed: Vec<&str> = ["source", "clone_from"]
        .into_iter()
        .filter(|a| plan.changes(a))
        .collect();
    let first = *changed.first()?;
    let name = plan.planned("name").as_str().unwrap_or("<name>");
    Some(
        Diagnostic::warning(
            "Volume Content Is Not Re-Written",
            format!(
                "{} changed, but a volume's content is written only when it is created: this apply records the new \
                 value and leaves the volume's data as it is. To re-image the volume (its current data is lost), \
                 replace it: `terraform apply -replace=<address>` (for example \
                 -replace=libvirt_lvm_volume.<label> for volume {name:?}).",
                changed.join(" and ")
            ),
        )
        .at_attr(first),
    )
}

/// Plan-time check of a `source.path` image: its header read here. A missing file only warns (it
/// may be made by the same apply); everything else `open` would refuse is an error now.
pub(super) async fn plan_image(plan: &Plan, wanted: u64) -> Result<Option<Diagnostic>, Diagnostic> {
    let source = plan.planned("source");
    let Some(path) = source.attr("path").and_then(Value::as_str).map(str::to_string) else {
        return Ok(None);
    };
    let format = source.attr("format").unwrap_or(&Value::Null);
    if !format.is_known() {
        return Ok(None);
    }
    let choice = format.as_str().and_then(FormatChoice::parse).unwrap_or_default();
    let p = PathBuf::from(&path);
    let inspected = tokio::task::spawn_blocking(move || image::inspect(&p, choice))
        .await
        .map_err(|e| {
            Diagnostic::error(
                "Provider Internal Error",
                format!("reading the image header: {e}"),
            )
        })?;
    match inspected {
        Ok(i) if i.virtual_size > wanted => Err(image_too_large(
            plan.planned("capacity").as_str().unwrap_or_default(),
            wanted,
            &path,
            i.virtual_size,
            AttrPath::attr("capacity"),
        )),
        Ok(_) => Ok(None),
        Err(image::Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(Some(
                Diagnostic::warning(
                    "Image File Not Found",
                    format!(
                        "source.path {path:?} does not exist (yet). If the same apply makes it, it is read then; \
                         otherwise the create fails before any volume is made."
                    ),
                )
                .at(source_attr("path")),
            ))
        }
        Err(e) => Err(image_error(&e, source_attr("path"))),
    }
}

/// Opens the image (blocking, off the runtime) and checks it fits, before any LV exists.
pub(super) async fn open_image(src: &Source, capacity: u64, cancel: &Cancel) -> Result<Image, Diagnostic> {
    let spec = src.spec()?;
    let location = src.location_attr();
    let c = cancel.clone();
    let img = tokio::task::spawn_blocking(move || image::open_for(&spec, capacity, &c))
        .await
        .map_err(|e| Diagnostic::error("Provider Internal Error", format!("opening the image: {e}")))?
        .map_err(|e| image_error(&e, location.clone()))?;
    if let Some(size) = img.virtual_size().filter(|&v| v > capacity) {
        return Err(image_too_large(
            &format_size(capacity),
            capacity,
            img.what(),
            size,
            AttrPath::attr("capacity"),
        ));
    }
    Ok(img)
}

/// The volume `clone_from` names, checked to fit.
pub(super) async fn clone_source(
    conn: &Connection,
    key: &str,
    capacity: u64,
) -> Result<VolumeIdentity, Diagnostics> {
    let v = conn
        .volume_by_key(key)
        .await?
        .ok_or_else(|| clone_source_gone(key))?;
    if v.xml.capacity > capacity {
        return Err(clone_too_large(&format_size(capacity), capacity, &v).into());
    }
    Ok(v.identity())
}
