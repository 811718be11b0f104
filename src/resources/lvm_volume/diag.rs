//! The volume resource's diagnostics: each names the attribute it is about and the way forward.

use crate::framework::{AttrPath, Diagnostic};
use crate::image;
use crate::libvirt::facts::pool::PoolInfo;
use crate::libvirt::facts::volume::{VolInfo, VolumeIdentity};
use crate::libvirt::rules::vg::Held;
use crate::libvirt::upload::{UploadError, UploadErrorKind};
use crate::libvirt::{Connection, Error};
use crate::units::{format_size, human};

use super::State;

pub(super) fn no_space(pool: &str, wanted: u64, available: u64) -> Diagnostic {
    Diagnostic::error(
        "Not Enough Space In Pool",
        format!(
            "capacity {} ({wanted} bytes) does not fit in pool {pool:?}: it has {} ({available} bytes) available. \
             Choose a smaller capacity or add a device to the volume group.",
            human(wanted),
            human(available),
        ),
    )
    .at_attr("capacity")
}

pub(super) fn shrink_refused(capacity: &str, wanted: u64, current: u64) -> Diagnostic {
    Diagnostic::error(
        "Shrinking Would Destroy Data",
        format!(
            "capacity {capacity} ({}) is smaller than the volume's current size {} ({}). Shrinking cuts off the \
             data at the end of the volume; it is refused unless allow_shrink = true, and nothing is changed. To \
             keep the volume as it is, set capacity = \"{}\".",
            human(wanted),
            format_size(current),
            human(current),
            format_size(current)
        ),
    )
    .at_attr("capacity")
}

pub(super) fn pool_not_found(conn: &Connection, pool: &str) -> Diagnostic {
    Diagnostic::error(
        "Storage Pool Not Found",
        format!(
            "No storage pool named {pool:?} exists on {}. Set pool to the name of an existing logical pool (see \
             `virsh pool-list --all`), or to libvirt_lvm_pool.<name>.name of a pool this configuration creates.",
            conn.display_uri()
        ),
    )
    .at_attr("pool")
}

pub(super) fn pool_not_active(pool: &str) -> Diagnostic {
    Diagnostic::error(
        "Storage Pool Not Active",
        format!(
            "Storage pool {pool:?} is not started; volumes can only be created in an active pool (set active = \
             true on the pool)."
        ),
    )
    .at_attr("pool")
}

pub(super) fn already_exists(planned: &State, path: &str) -> Diagnostic {
    Diagnostic::error(
        "Volume Already Exists",
        format!(
            "Storage pool {:?} already holds a volume named {:?}{}; it was not created by this resource, so \
             nothing was changed. To manage the existing volume, import it: `terraform import <address> \
             {}/{}`; or choose another name.",
            planned.pool,
            planned.name,
            if path.is_empty() {
                String::new()
            } else {
                format!(" ({path})")
            },
            planned.pool,
            planned.name
        ),
    )
    .at_attr("name")
}

pub(super) fn vanished(s: &State) -> Diagnostic {
    Diagnostic::error(
        "Volume Vanished",
        format!(
            "Volume {}/{} (LV UUID {}) is no longer in its pool; nothing was changed. Run `terraform plan` to see it \
             planned for creation.",
            s.pool,
            s.name,
            s.key.as_deref().unwrap_or("unknown")
        ),
    )
}

/// A warning naming both identities: what the state recorded and what answers now.
pub(super) fn elsewhere(summary: &str, id: &VolumeIdentity, found: &VolInfo, what_now: &str) -> Diagnostic {
    Diagnostic::warning(
        summary,
        format!(
            "The state records volume {}/{} at {} with LV UUID {}; that UUID now answers as {}. {what_now}",
            id.pool,
            id.name,
            id.path,
            id.key,
            found.describe()
        ),
    )
}

pub(super) fn resize_error(e: Error, prior: &State, wanted: u64) -> Diagnostic {
    let unsupported = e.is_resize_unsupported();
    let below_allocation = e.is_shrink_below_allocation();
    let mut d = Diagnostic::from(e).at_attr("capacity");
    let path = prior
        .path
        .clone()
        .unwrap_or_else(|| format!("/dev/<vg>/{}", prior.name));
    let size = format_size(prior.capacity_bytes.unwrap_or(0));
    // `lvextend -L`/`lvreduce -L` read a bare number as MiB: the `b` suffix makes it bytes.
    if below_allocation {
        // libvirt's storage driver refuses any capacity below the allocation before the backend
        // is asked, and a plain LV is fully allocated: libvirt can never shrink it.
        d.summary = "libvirt Cannot Shrink LVM Volumes".into();
        d.detail = format!(
            "{}\n\nlibvirt never shrinks a volume below its allocation, and a plain LVM volume is fully allocated, \
             so libvirt cannot shrink volume {}/{}: it stays at {size} and nothing was changed. Safe ways \
             forward:\n  1. Shrink it on the hypervisor, losing the data beyond the new size: `lvreduce -L {wanted}b \
             {path}`, then run `terraform apply -refresh-only` (the provider then sees the new size).\n  2. Or \
             configure LVM's tools for this provider (lvm_tools, or a qemu+ssh:// URI): it then shrinks with \
             lvreduce itself, never while anything uses the volume.\n  3. Or set capacity back to \"{}\".",
            d.detail, prior.pool, prior.name, prior.capacity
        );
    } else if unsupported {
        d.summary = "libvirt Cannot Resize LVM Volumes".into();
        d.detail = format!(
            "{}\n\nlibvirt's logical (LVM) storage backend does not implement volume resize, so volume \
             {}/{} stays at {size} and nothing was changed. It was not replaced, because that would destroy its \
             data. Safe ways forward:\n  1. Grow it on the hypervisor: `lvextend -L {wanted}b {path}`, then run \
             `terraform apply -refresh-only` (the provider then sees the new size).\n  2. Or configure LVM's \
             tools for this provider (lvm_tools, or a qemu+ssh:// URI): it then grows the volume in place with \
             lvextend and tells running guests the new size.\n  3. Or set capacity back to \"{}\".",
            d.detail, prior.pool, prior.name, prior.capacity
        );
    }
    d
}

pub(super) fn clone_source_gone(key: &str) -> Diagnostic {
    Diagnostic::error(
        "Clone Source Not Found",
        format!(
            "No volume on this hypervisor has the key {key:?} (or its pool is stopped). Set clone_from to the key \
             of an existing volume in an active pool, such as libvirt_lvm_volume.golden.id."
        ),
    )
    .at_attr("clone_from")
}

pub(super) fn clone_source_moved(source: &VolumeIdentity, now: &VolInfo) -> Diagnostic {
    Diagnostic::error(
        "Clone Source Changed",
        format!(
            "The volume with key {:?} was {}/{} when this create started and is now {}; nothing was created.",
            source.key,
            source.pool,
            source.name,
            now.describe()
        ),
    )
    .at_attr("clone_from")
}

pub(super) fn clone_too_large(capacity_text: &str, capacity: u64, source: &VolInfo) -> Diagnostic {
    Diagnostic::error(
        "Capacity Smaller Than The Clone Source",
        format!(
            "capacity {capacity_text} ({capacity} bytes, {}) is smaller than the volume to copy, {}: {} bytes \
             ({}). Set capacity to at least \"{}\".",
            human(capacity),
            source.describe(),
            source.xml.capacity,
            human(source.xml.capacity),
            format_size(source.xml.capacity)
        ),
    )
    .at_attr("capacity")
}

pub(super) fn image_too_large(
    capacity_text: &str,
    capacity: u64,
    what: &str,
    virtual_size: u64,
    attr: AttrPath,
) -> Diagnostic {
    Diagnostic::error(
        "Capacity Smaller Than The Image",
        format!(
            "capacity {capacity_text} ({capacity} bytes, {}) is smaller than the disk the image {what} holds: \
             {virtual_size} bytes ({}). Shrinking an image would cut off its data; set capacity to at least \
             \"{}\".",
            human(capacity),
            human(virtual_size),
            format_size(virtual_size.div_ceil(1 << 20) << 20)
        ),
    )
    .at(attr)
}

/// A diagnostic for an image failure, at the attribute it is about.
pub(super) fn image_error(e: &image::Error, location: AttrPath) -> Diagnostic {
    use image::Error as E;
    let (summary, at) = match e {
        E::ChecksumMismatch { .. } => ("Image Checksum Mismatch", source_attr("checksum")),
        E::TooLarge { .. } => ("Capacity Smaller Than The Image", AttrPath::attr("capacity")),
        E::UrlScheme { .. } | E::HttpStatus { .. } | E::Http { .. } | E::ShortBody { .. } => {
            ("Image Download Failed", source_attr("url"))
        }
        E::Cancelled => ("Volume Creation Cancelled", location),
        E::DeadlineExceeded => (
            "Volume Creation Timed Out",
            AttrPath::attr("timeouts").then_attr("create"),
        ),
        E::Io { .. } | E::Spool { .. } => ("Image Not Readable", location),
        E::SinkClosed(_) => ("Image Upload Failed", location),
        E::NotQcow2 { .. }
        | E::OtherFormat { .. }
        | E::BackingFile { .. }
        | E::Unsupported { .. }
        | E::Corrupt { .. }
        | E::Decompress { .. }
        | E::SpoolLimit { .. } => ("Image Not Usable", location),
    };
    Diagnostic::error(summary, e.to_string()).at(at)
}

/// A failed fill of the volume, pointed at `location` (the source's path or url, or clone_from).
/// `source.<name>`.
pub(super) fn source_attr(name: &str) -> AttrPath {
    AttrPath::attr("source").then_attr(name)
}

pub(super) fn upload_error(e: UploadError, location: AttrPath) -> Diagnostic {
    match e.kind {
        UploadErrorKind::Image(i) => image_error(&i, location),
        UploadErrorKind::Libvirt(l) => {
            let mut d = Diagnostic::from(l);
            d.summary = "Writing The Volume's Content Failed".into();
            d
        }
        other @ UploadErrorKind::NotThisVolume { .. } => {
            Diagnostic::error("Volume Changed During Creation", other.to_string())
        }
    }
}

pub(super) fn conflicting_content() -> Diagnostic {
    Diagnostic::error(
        "Conflicting Volume Content",
        "source and clone_from both say what to fill the volume with; set only one of them.",
    )
    .at_attr("clone_from")
}

pub(super) fn volume_open(v: &VolInfo) -> Diagnostic {
    Diagnostic::error(
        "Volume Is Open On The Hypervisor",
        format!(
            "Volume {} is open on the hypervisor (LVM reports its device open: mounted, held by a guest of any \
             hypervisor, or by a program such as an iSCSI target), though no libvirt domain lists it. Nothing was \
             deleted or wiped. Find what holds it (`lsblk`, `fuser -vm {}` on the hypervisor) and close it, then \
             destroy again.",
            v.describe(),
            v.path()
        ),
    )
}

pub(super) fn has_snapshots(v: &VolInfo, snapshots: &[Held]) -> Diagnostic {
    Diagnostic::error(
        "Volume Has Snapshots",
        format!(
            "Volume {} is the origin of snapshots that this destroy would remove with it (libvirt deletes an origin \
             with `lvremove -f`, which takes its snapshots too): {}. Nothing was deleted or wiped. Remove or merge \
             the snapshots first (`lvremove`, `lvconvert --merge` on the hypervisor), or `terraform state rm` this \
             volume to forget it and keep everything.",
            v.describe(),
            snapshots.iter().map(Held::to_string).collect::<Vec<_>>().join(", ")
        ),
    )
}

pub(super) fn sparse_cannot_be_wiped() -> Diagnostic {
    Diagnostic::error(
        "Sparse Volumes Cannot Be Wiped",
        "wipe_on_destroy = true with sparse = true: libvirt cannot wipe a sparse (snapshot-backed) logical volume, \
         so such a volume could never be destroyed. Set sparse = false (a plain, fully allocated LV) or \
         wipe_on_destroy = false.",
    )
    .at_attr("wipe_on_destroy")
}

pub(super) fn not_a_logical_volume(id: &str, v: &VolInfo, pool: Option<&PoolInfo>) -> Diagnostic {
    let what = match pool {
        Some(p) => format!(
            "a volume of pool {:?}, whose type is {:?}",
            v.pool, p.xml.pool_type
        ),
        None => format!("a volume of pool {:?}, which could not be read", v.pool),
    };
    Diagnostic::error(
        "Not A Logical Volume",
        format!(
            "{id:?} is {} ({what}), not a logical volume of a `logical` pool, so it cannot be managed as a \
             libvirt_lvm_volume; nothing was imported. Import LVs of logical pools only (`virsh pool-list --all \
             --type logical`).",
            v.describe()
        ),
    )
}

pub(super) fn clone_source_refused(source: &VolInfo, why: &str) -> Diagnostic {
    Diagnostic::error(
        "Clone Source Refused",
        format!(
            "Volume {} cannot be copied: {why}. libvirt converts a non-raw source with qemu-img running as root on \
             the hypervisor, which would read every file the image names. Nothing was created. Flatten the image \
             first (`qemu-img convert -O qcow2 <image> <flat image>`, or -O raw) and clone that, or fill the volume \
             with source.path / source.url instead (the provider converts those on this machine).",
            source.describe()
        ),
    )
    .at_attr("clone_from")
}

pub(super) fn no_space_together(pool: &str, bytes: u64, claimed: u64, available: u64) -> Diagnostic {
    Diagnostic::error(
        "Not Enough Space In Pool",
        format!(
            "This volume needs {} ({bytes} bytes) of pool {pool:?}; with the other volumes this plan creates or grows \
             there, {} ({claimed} bytes), more than the {} ({available} bytes) the pool has available. Choose smaller \
             capacities or add a device to the volume group.",
            human(bytes),
            human(claimed),
            human(available)
        ),
    )
    .at_attr("capacity")
}

pub(super) fn resize_needs_lvm_tools(current: u64, wanted: u64, why: &str) -> Diagnostic {
    Diagnostic::error(
        "Resizing Needs LVM's Tools",
        format!(
            "The volume would change from {} to {} in place, which libvirt's logical backend cannot do (libvirt \
             9.0 to 11.x have no resize for it) and this provider does with LVM's own tools (lvextend, then \
             virDomainBlockResize for running guests), which it cannot use here: {why}. Configure them (a \
             qemu+ssh:// URI, or an lvm_tools block with ssh_host for qemu+tcp/tls; see the provider's docs), or \
             grow the LV by hand (`lvextend -L {wanted}b <vg>/<lv>`) and run `terraform apply -refresh-only`. \
             The volume is never replaced to change its size.",
            format_size(current),
            format_size(wanted)
        ),
    )
    .at_attr("capacity")
}
