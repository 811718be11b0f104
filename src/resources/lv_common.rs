//! What the resources made with LVM's own tools share (`libvirt_lvm_thin_pool`,
//! `libvirt_lvm_thin_volume`, `libvirt_lvm_snapshot`): the channel they need, the volume group of
//! a libvirt pool, LVM's report of it, LVs found by UUID, and the pure decisions (sizes,
//! overcommit, whether a merge may run) with their unit tests.
//!
//! libvirt's logical backend neither lists nor makes thin pools, thin volumes or merges, so these
//! objects are reached through [`crate::lvm::Channel`] only; the libvirt pool names the volume
//! group, and libvirt's domain definitions say who uses an LV.

use std::sync::Arc;

use crate::framework::{Diagnostic, Diagnostics};
use crate::libvirt::facts::domain::View;
use crate::libvirt::rules::usage::{Use, VolumeNames};
use crate::lvm::command::Command;
use crate::lvm::report::Lv;
use crate::lvm::Channel;
use crate::provider::Ctx;
use crate::units::{human, parse_size, Size, SizeError};

/// The channel to LVM's tools, or an error naming `lvm_tools` and saying how to enable it.
pub(crate) async fn channel(ctx: &Ctx, type_name: &str) -> Result<Arc<Channel>, Diagnostic> {
    match ctx.lvm().await? {
        Some(c) => Ok(c),
        None => Err(needs_lvm_tools(type_name, &ctx.lvm_unavailable().await)),
    }
}

/// A `type_name` resource cannot be made or changed without LVM's tools.
pub(crate) fn needs_lvm_tools(type_name: &str, why: &str) -> Diagnostic {
    Diagnostic::error(
        "LVM Tools Needed",
        format!(
            "{type_name} is made and read with LVM's own tools on the hypervisor (libvirt's logical backend has \
             no thin pools, thin volumes or snapshot merges), and this provider does not use them: {why}. Valid \
             ways: a qemu+ssh:// URI (the tools run over the same ssh), a local qemu:///system URI, or a \
             provider block with lvm_tools {{ ssh_host = \"...\" }} (with ssh_port, ssh_user, ssh_keyfile, \
             ssh_known_hosts as needed) for qemu+tcp:// and qemu+tls:// URIs."
        ),
    )
}

/// The volume group of the libvirt pool `pool`, or `None` when there is no such pool.
pub(crate) async fn vg_of(ctx: &Ctx, pool: &str) -> Result<Option<String>, Diagnostics> {
    let conn = ctx.conn().await?;
    Ok(conn.find_pool(pool).await?.map(|p| p.vg().to_string()))
}

/// The volume group of `pool`, or an error saying the pool is gone.
pub(crate) async fn require_vg(ctx: &Ctx, pool: &str) -> Result<String, Diagnostics> {
    vg_of(ctx, pool).await?.ok_or_else(|| {
        Diagnostic::error(
            "Storage Pool Not Found",
            format!(
                "No libvirt pool named {pool:?} exists, so its volume group is unknown; nothing was changed."
            ),
        )
        .at_attr("pool")
        .into()
    })
}

/// Every LV of `vg` (internal ones included), by LVM's report.
pub(crate) async fn lvs(lvm: &Arc<Channel>, vg: &str) -> Result<Vec<Lv>, Diagnostic> {
    let vg = vg.to_string();
    lvm.call(move |c| c.lvs(&vg))
        .await
        .map_err(|e| Diagnostic::error("LVM Report Failed", e.to_string()))
}

/// Runs a changing command; its failure is an error titled `summary`.
pub(crate) async fn run(lvm: &Arc<Channel>, cmd: Command, summary: &str) -> Result<(), Diagnostic> {
    let summary = summary.to_string();
    lvm.call(move |c| c.run(&cmd).map(drop))
        .await
        .map_err(|e| Diagnostic::error(summary, e.to_string()))
}

/// The LV, of those LVM lists after a create's command (`found`: the one of the create's name and
/// kind), that the create may record as its own.
///
/// Only one LVM said it made: after a failed command or a lost reply, an LV of that name may be one
/// that another hand made in the meantime, and recording it (even tainted) would let a later apply
/// or destroy delete it. Such an LV is named, with the import that takes it when it is this
/// create's, and nothing is recorded.
pub(crate) fn claim<'a>(
    made: Result<(), Diagnostic>,
    found: Option<&'a Lv>,
    what: &str,
    pool: &str,
    name: &str,
) -> Result<&'a Lv, Diagnostic> {
    match (made, found) {
        (Ok(()), Some(lv)) => Ok(lv),
        (Ok(()), None) => Err(Diagnostic::error(
            format!("{what} Not Created"),
            format!(
                "LVM reported success, but no {} {name:?} exists in pool {pool:?}.",
                what.to_lowercase()
            ),
        )),
        (Err(d), None) => Err(d),
        (Err(mut d), Some(lv)) => {
            d.detail.push_str(&format!(
                "\n\nAn LV {name:?} (LV UUID {}) exists now, but LVM did not say that this create made it (its \
                 command failed or its reply was lost), so it is not recorded: it may be one made by another hand \
                 meanwhile. If it is this create's, import it (`terraform import <address> {pool}/{name}`); if not, \
                 choose another name.",
                lv.uuid
            ));
            Err(d)
        }
    }
}

/// What LVM's report says of the LV a state records.
#[derive(Debug)]
pub(crate) enum Found<'a> {
    /// The LV with that UUID, under that name.
    Ours(&'a Lv),
    /// No LV has the UUID; `other` is whatever now has the name.
    Gone { other: Option<&'a Lv> },
}

/// The LV with `uuid` named `name` in `lvs`.
pub(crate) fn find<'a>(lvs: &'a [Lv], uuid: &str, name: &str) -> Found<'a> {
    match lvs.iter().find(|l| l.uuid == uuid) {
        Some(l) if l.name == name => Found::Ours(l),
        _ => Found::Gone {
            other: lvs.iter().find(|l| l.name == name),
        },
    }
}

/// The identity of an LV resource: its pool's name and its own (`name_description` says whose).
pub(crate) fn pool_and_name_identity_schema(
    name_description: &'static str,
) -> crate::framework::resource::IdentitySchema {
    use crate::framework::Type;
    crate::framework::resource::IdentitySchema {
        version: 0,
        attributes: vec![
            ("pool", Type::String, true, "Name of the storage pool."),
            ("name", Type::String, true, name_description),
        ],
    }
}

/// The identity value [`pool_and_name_identity_schema`] describes.
pub(crate) fn pool_and_name_identity(pool: &str, name: &str) -> crate::framework::Value {
    use crate::framework::Value;
    Value::object([("pool", Value::from(pool)), ("name", Value::from(name))])
}

/// What a read of the LV a state records finds.
pub(crate) enum Read {
    /// LVM's tools cannot be used now: the state stays as it is (a warning said why).
    Unread,
    /// The pool, its volume group or the LV is gone (a warning names what has its name now).
    Gone,
    /// The LV, and the report of its whole volume group.
    Found { lv: Box<Lv>, report: Vec<Lv> },
}

/// Reads the LV `uuid` named `name` in pool `pool` for a resource's read; `what` names the
/// object in warnings ("Thin Pool"), `type_name` the resource type.
pub(crate) async fn read_lv(
    ctx: &Ctx,
    what: &str,
    type_name: &str,
    (pool, uuid, name): (&str, &str, &str),
    notes: &mut Diagnostics,
) -> Result<Read, Diagnostics> {
    let Some(lvm) = ctx.lvm().await? else {
        notes.push(Diagnostic::warning(
            format!("{what} Not Read"),
            needs_lvm_tools(type_name, &ctx.lvm_unavailable().await).detail,
        ));
        return Ok(Read::Unread);
    };
    let Some(vg) = vg_of(ctx, pool).await? else {
        return Ok(Read::Gone);
    };
    let report = lvs(&lvm, &vg).await?;
    let lv = match find(&report, uuid, name) {
        Found::Ours(lv) => Box::new(lv.clone()),
        Found::Gone { other } => {
            if let Some(o) = other {
                notes.push(other_under_name(what, name, uuid, o));
            }
            return Ok(Read::Gone);
        }
    };
    Ok(Read::Found { lv, report })
}

/// A warning that the LV a state records is gone and another answers to its name.
pub(crate) fn other_under_name(what: &str, name: &str, uuid: &str, other: &Lv) -> Diagnostic {
    Diagnostic::warning(
        format!("{what} Replaced Outside Terraform"),
        format!(
            "No LV with UUID {uuid} exists any more; the LV now named {name:?} has UUID {} and is another object, \
             which this resource never adopts, changes or deletes.",
            other.uuid
        ),
    )
}

/// The names by which a domain can use the LV `lv` of pool `pool`.
pub(crate) fn names_of(pool: &str, lv: &Lv) -> VolumeNames {
    let path = lv
        .path
        .clone()
        .unwrap_or_else(|| format!("/dev/{}/{}", lv.vg, lv.name));
    VolumeNames::new(pool, &lv.name, &path, &lv.uuid)
}

/// A size attribute's rule: a size greater than zero.
pub(crate) fn validate_size(s: &str) -> Result<(), String> {
    match parse_size(s) {
        Ok(0) => Err("a size must be greater than zero, such as \"256MiB\".".into()),
        Ok(_) => Ok(()),
        Err(SizeError::Negative(_)) => Err(format!(
            "negative size {s:?}: a size must be greater than zero, such as \"256MiB\"."
        )),
        Err(e) => Err(e.to_string()),
    }
}

/// A thin pool chunk size attribute's rule.
pub(crate) fn validate_chunk_size(s: &str) -> Result<(), String> {
    let bytes = parse_size(s).map_err(|e| e.to_string())?;
    crate::lvm::command::thin_chunk_size_rule(bytes)
}

/// The bytes of a size attribute, or an error at it.
pub(crate) fn size_at(attr: &str, size: &Size) -> Result<u64, Diagnostic> {
    size.bytes()
        .map_err(|e| Diagnostic::error(format!("Invalid {attr}"), e.to_string()).at_attr(attr))
}

/// A recorded size kept as it was written while it still names the actual size, else the actual
/// size in its canonical spelling (drift, shown by the next plan).
pub(crate) fn size_kept(recorded: Option<&Size>, actual: u64) -> Size {
    match recorded {
        Some(s) => s.kept_if(actual),
        None => Size::of_bytes(actual),
    }
}

/// Takes `lv` (of `vg`) to `wanted` bytes: nothing when it has them, `lvextend` when it has fewer
/// (libvirt's view of the pool is then stale), and a refusal naming `what`'s `attr` when it has
/// more (shrinking is never done in place).
pub(crate) async fn grow_to(
    ctx: &Ctx,
    lvm: &Arc<Channel>,
    vg: &str,
    lv: &Lv,
    wanted: u64,
    (what, attr): (&str, &str),
) -> Result<(), Diagnostics> {
    match size_change(lv.size, wanted) {
        SizeChange::Shrink => Err(shrink_refused(what, attr, lv.size, wanted).into()),
        SizeChange::None => Ok(()),
        SizeChange::Grow => {
            run(
                lvm,
                Command::Extend {
                    vg: vg.to_string(),
                    lv: lv.name.clone(),
                    bytes: wanted,
                },
                &format!("{what} Not Grown"),
            )
            .await?;
            ctx.conn().await?.changed_outside_libvirt();
            Ok(())
        }
    }
}

/// Whether a size change from `current` to `wanted` is none, a grow, or a refused shrink (LVM
/// rounds up to whole extents, so less than one extent smaller is no change).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SizeChange {
    /// The same size, possibly in another spelling.
    None,
    /// Larger: grown in place with lvextend.
    Grow,
    /// Smaller: never done (a shrink cuts off data).
    Shrink,
}

/// LVM's default extent size.
const EXTENT: u64 = 4 << 20;

/// See [`SizeChange`].
pub(crate) fn size_change(current: u64, wanted: u64) -> SizeChange {
    if wanted > current {
        SizeChange::Grow
    } else if current - wanted < EXTENT {
        SizeChange::None
    } else {
        SizeChange::Shrink
    }
}

/// A refused shrink of `attr`.
pub(crate) fn shrink_refused(what: &str, attr: &str, current: u64, wanted: u64) -> Diagnostic {
    Diagnostic::error(
        format!("{what} Cannot Shrink"),
        format!(
            "{attr} {} is smaller than the current {} ({current} bytes): shrinking would cut off data, so it is \
             never done. Valid: {attr} of at least {}.",
            human(wanted),
            human(current),
            human(current)
        ),
    )
    .at_attr(attr)
}

/// The key under which this walk's plans add up the thin volumes' virtual sizes of one thin pool
/// (a libvirt pool name never holds `/`, so it cannot meet a pool's own key).
pub(crate) fn virtual_claim_key(pool: &str, thin_pool: &str) -> String {
    format!("{pool}/{thin_pool}/virtual")
}

/// The key under which a thin pool's plan records its planned size for the thin volumes' plans.
pub(crate) fn size_claim_key(pool: &str, thin_pool: &str) -> String {
    format!("{pool}/{thin_pool}/size")
}

/// The sum of the virtual sizes of the thin volumes of `thin_pool` in `lvs`, but `except` (a UUID).
pub(crate) fn virtual_total(lvs: &[Lv], thin_pool: &str, except: Option<&str>) -> u64 {
    lvs.iter()
        .filter(|l| l.pool_lv.as_deref() == Some(thin_pool) && Some(l.uuid.as_str()) != except)
        .map(|l| l.size)
        .sum()
}

/// A warning when thin volumes of `virtual_total` bytes together promise more than the thin pool's
/// `pool_size`: writes beyond the pool's data fail for every thin volume in it.
pub(crate) fn overcommit(thin_pool: &str, virtual_total: u64, pool_size: u64) -> Option<Diagnostic> {
    (pool_size > 0 && virtual_total > pool_size).then(|| {
        Diagnostic::warning(
            "Thin Pool Overcommitted",
            format!(
                "The thin volumes of thin pool {thin_pool:?} add up to {} of virtual size, {:.1} times its {} \
                 of data. That is allowed (it is what thin provisioning is for), but when the data they really \
                 write fills the pool, writes fail in every thin volume of it: watch the thin pool's \
                 data_percent, and grow its size in time.",
                human(virtual_total),
                virtual_total as f64 / pool_size as f64,
                human(pool_size)
            ),
        )
    })
}

/// Whether a snapshot may be merged into its origin now: never while a running domain uses the
/// origin (the guest would see its disk change under it), nor while the origin is open on the
/// hypervisor (LVM would defer the merge to the origin's next activation, which may be never).
pub(crate) fn merge_refusal(origin: &str, origin_open: bool, users: &[Use]) -> Option<String> {
    let running: Vec<String> = users
        .iter()
        .filter(|u| u.view == View::Running)
        .map(ToString::to_string)
        .collect();
    if !running.is_empty() {
        return Some(format!(
            "origin {origin:?} is in use by a running domain: {}. Shut the domain down (or detach the disk), \
             then apply again",
            running.join(", ")
        ));
    }
    origin_open.then(|| {
        format!(
            "origin {origin:?} is open on the hypervisor (mounted, or held by another program): LVM would only \
             merge at its next activation. Close it, then apply again"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lv(name: &str, uuid: &str, pool_lv: Option<&str>, size: u64) -> Lv {
        Lv {
            uuid: uuid.into(),
            name: name.into(),
            vg: "vg".into(),
            attr: "Vwi-a-tz--".into(),
            size,
            origin: None,
            pool_lv: pool_lv.map(str::to_string),
            roles: vec!["public".into()],
            active: true,
            open: Some(false),
            data_percent: None,
            metadata_percent: None,
            tags: vec![],
            path: None,
            chunk_size: None,
            metadata_size: None,
            devices: vec![],
        }
    }

    #[test]
    fn overcommit_adds_the_thin_volumes_of_one_thin_pool() {
        let g = 1u64 << 30;
        let lvs = [
            lv("a", "u-a", Some("tp"), g),
            lv("b", "u-b", Some("tp"), g),
            lv("c", "u-c", Some("other"), 5 * g),
            lv("tp", "u-tp", None, 256 << 20),
        ];
        assert_eq!(virtual_total(&lvs, "tp", None), 2 * g);
        assert_eq!(virtual_total(&lvs, "tp", Some("u-a")), g);
        assert!(overcommit("tp", 3 * g, 256 << 20).is_some_and(|d| d.detail.contains("12.0 times")));
        assert!(
            overcommit("tp", 256 << 20, 256 << 20).is_none(),
            "exactly full is no overcommit"
        );
        assert!(
            overcommit("tp", g, 0).is_none(),
            "an unknown pool size warns nothing"
        );
    }

    #[test]
    fn sizes_grow_never_shrink_and_round_to_extents() {
        assert_eq!(size_change(8 << 20, 16 << 20), SizeChange::Grow);
        assert_eq!(size_change(8 << 20, 8 << 20), SizeChange::None);
        assert_eq!(size_change(8 << 20, (8 << 20) - 512), SizeChange::None);
        assert_eq!(size_change(16 << 20, 8 << 20), SizeChange::Shrink);
        assert!(validate_size("0").is_err());
        assert!(validate_size("-1MiB").is_err());
        assert!(validate_size("lots").is_err());
        assert!(validate_size("256MiB").is_ok());
        assert!(validate_chunk_size("64KiB").is_ok());
        assert!(validate_chunk_size("96KiB").is_err());
        assert!(validate_chunk_size("32KiB").is_err());
        assert!(validate_chunk_size("2GiB").is_err());
        assert_eq!(size_kept(Some(&"1GiB".into()), 1 << 30).text(), "1GiB");
        assert_eq!(
            size_kept(Some(&"1GiB".into()), 2 << 30).text(),
            crate::units::format_size(2 << 30)
        );
        assert_eq!(
            size_kept(None, 1 << 30).text(),
            crate::units::format_size(1 << 30)
        );
    }

    #[test]
    fn merges_are_refused_while_a_running_domain_or_anything_holds_the_origin() {
        let u = |view| Use {
            domain: "vm".into(),
            target: "vdb".into(),
            view,
            shareable: false,
        };
        assert_eq!(merge_refusal("o", false, &[]), None);
        assert_eq!(
            merge_refusal("o", false, &[u(View::Saved)]),
            None,
            "a saved definition reads the disk only when it boots"
        );
        assert!(merge_refusal("o", false, &[u(View::Running), u(View::Saved)])
            .is_some_and(|w| w.contains("running domain") && w.contains("\"vm\"")));
        assert!(merge_refusal("o", true, &[]).is_some_and(|w| w.contains("next activation")));
    }

    #[test]
    fn lvs_are_found_by_uuid_and_name_only() {
        let lvs = [lv("a", "u-a", None, 1), lv("b", "u-b2", None, 1)];
        assert!(matches!(find(&lvs, "u-a", "a"), Found::Ours(l) if l.name == "a"));
        assert!(matches!(find(&lvs, "u-b", "b"), Found::Gone { other: Some(l) } if l.uuid == "u-b2"));
        assert!(matches!(
            find(&lvs, "u-a", "renamed"),
            Found::Gone { other: None }
        ));
        assert!(matches!(find(&lvs, "u-x", "x"), Found::Gone { other: None }));
    }

    #[test]
    fn a_create_claims_only_an_lv_lvm_said_it_made() {
        let lv = lv("t1", "u-1", Some("tp"), 8 << 20);
        let failed = || Err(Diagnostic::error("Thin Volume Not Created", "lost reply"));
        // LVM said it made it: recorded.
        assert_eq!(
            claim(Ok(()), Some(&lv), "Thin Volume", "p", "t1").map(|l| l.uuid.clone()),
            Ok("u-1".into())
        );
        // LVM said so, but nothing is there: an error, nothing recorded.
        let d = claim(Ok(()), None, "Thin Volume", "p", "t1").unwrap_err();
        assert!(d.detail.contains("reported success"), "{d:?}");
        // The command failed and nothing is there: its own error.
        assert_eq!(
            claim(failed(), None, "Thin Volume", "p", "t1")
                .unwrap_err()
                .detail,
            "lost reply"
        );
        // The command failed or its reply was lost, and an LV of the name is there: named, with the
        // import, never claimed.
        let d = claim(failed(), Some(&lv), "Thin Volume", "p", "t1").unwrap_err();
        assert!(d.detail.starts_with("lost reply"), "{d:?}");
        assert!(
            d.detail.contains("u-1") && d.detail.contains("terraform import <address> p/t1"),
            "{d:?}"
        );
    }
}
