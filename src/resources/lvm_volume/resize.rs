//! A volume's size changed in place through LVM's tools: `lvextend` to the exact bytes, then every
//! running domain that has it attached is told (`virDomainBlockResize`), so the guest sees the new
//! size at once. A shrink (only with `allow_shrink`) never runs while anything uses the LV.
//!
//! The LV is the one the state records: found by libvirt by its key, and by LVM's report by the
//! same UUID and name, before anything is run. An `lvextend` that ran but whose notification of a
//! domain failed is recorded (`pending_guest_resize`) and completed by the next apply.

use std::sync::Arc;

use crate::framework::resource::{Failed, Outcome};
use crate::framework::Diagnostic;
use crate::libvirt::facts::volume::{Lookup, VolInfo, VolumeIdentity};
use crate::libvirt::rules::usage::VolumeNames;
use crate::libvirt::Connection;
use crate::lvm::command::Command;
use crate::lvm::report::Lv;
use crate::lvm::Channel;
use crate::units::human;

use super::diag::vanished;
use super::encryption::{guest_bytes, lv_bytes};
use super::State;

/// Resizes the volume `prior` records to `wanted` bytes through LVM's tools; `planned` is the new
/// state. Nothing is run when the LV is no longer the recorded one.
pub(super) async fn resize(
    conn: &Connection,
    lvm: &Arc<Channel>,
    prior: &State,
    mut planned: State,
    wanted: u64,
) -> Outcome<State> {
    let id = prior.identity().ok_or_else(|| vanished(prior))?;
    let v = match conn.volume(&id, None).await? {
        Lookup::Found(v) => v,
        _ => return Err(vanished(prior).into()),
    };
    let lv = lv_of(lvm, &id, &v).await?;
    let (vg, name) = (lv.vg.clone(), lv.name.clone());
    // An encrypted volume's LV holds the LUKS header besides the `capacity` the guest sees.
    let encrypted = prior.encryption.is_some();
    let lv_wanted = lv_bytes(wanted, encrypted);
    if lv_wanted < lv.size {
        shrink(conn, lvm, &v, &lv, lv_wanted).await?;
    } else if lv_wanted > lv.size {
        let cmd = Command::Extend {
            vg: vg.clone(),
            lv: name.clone(),
            bytes: lv_wanted,
        };
        lvm.call(move |c| c.run(&cmd).map(drop))
            .await
            .map_err(|e| Diagnostic::error("Volume Not Grown", e.to_string()).at_attr("capacity"))?;
    }
    // libvirt's view of the pool does not know what LVM just did: read it again.
    conn.changed_outside_libvirt();
    conn.refresh_pool(&id.pool).await?;
    let now = match conn.volume(&id, None).await? {
        Lookup::Found(v) => v,
        _ => return Err(vanished(prior).into()),
    };
    planned.fill(now.clone());
    planned.pending_guest_resize = Some(false);
    // LVM's own figure for the size before: libvirt's may be a LUKS volume's payload.
    if now.xml.capacity <= lv.size && lv_wanted > lv.size {
        return Err(Diagnostic::error(
            "Volume Not Grown",
            format!(
                "LVM reported success, but {} is still {} bytes.",
                now.describe(),
                now.xml.capacity
            ),
        )
        .into());
    }
    if now.xml.capacity < lv.size {
        // A shrink: no domain uses the LV (checked right before), so none is told.
        return Ok(planned);
    }
    if !tell_domains(
        lv_wanted,
        lv.size,
        prior.pending_guest_resize == Some(true),
        encrypted,
    ) {
        return Ok(planned);
    }
    let guest = guest_bytes(now.xml.capacity, encrypted);
    let told = conn.tell_domains_volume_size(&VolumeNames::of(&now), guest).await;
    let failures: Vec<String> = match told {
        Ok(told) => told
            .into_iter()
            .filter_map(|t| t.failed.map(|e| format!("{}: {e}", t.disk)))
            .collect(),
        Err(e) => vec![e.to_string()],
    };
    if failures.is_empty() {
        return Ok(planned);
    }
    planned.pending_guest_resize = Some(true);
    let d = Diagnostic::error(
        "Guest Not Told Of The New Size",
        format!(
            "Volume {} was grown to {} ({} bytes), but telling running domains failed:\n  - {}\n\nThe volume keeps its \
             new size and data. It is recorded as grown with the guests not yet told (pending_guest_resize): the next \
             apply tells them again. The guest can also be told by hand: `virsh blockresize <domain> <target> {}B`.",
            now.describe(),
            human(guest),
            guest,
            failures.join("\n  - "),
            guest
        ),
    );
    Err(Failed::with_partial(d, planned))
}

/// Whether running domains are told the volume's size after a resize to `lv_wanted` bytes of an
/// LV that had `lv_before`. A plain volume's domains are told the LV's size every time (it is what
/// they see, and it takes in a grow made by hand). An encrypted volume's are told only when the LV
/// grew now or an earlier notice is still pending: the figure they are told is the LV less the
/// LUKS header bound, a little under what QEMU shows them (the real payload offset is smaller), so
/// telling it for an LV that did not change could shrink their disk.
fn tell_domains(lv_wanted: u64, lv_before: u64, pending: bool, encrypted: bool) -> bool {
    !encrypted || lv_wanted > lv_before || pending
}

/// The LV LVM reports under the recorded UUID and name.
async fn lv_of(lvm: &Arc<Channel>, id: &VolumeIdentity, v: &VolInfo) -> Result<Lv, Diagnostic> {
    let vg = v
        .path()
        .strip_prefix("/dev/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or_default()
        .to_string();
    let report = lvm
        .call(move |c| c.lvs(&vg))
        .await
        .map_err(|e| Diagnostic::error("Volume Could Not Be Checked", e.to_string()))?;
    report
        .into_iter()
        .find(|l| l.uuid == id.key && l.name == id.name)
        .ok_or_else(|| {
            Diagnostic::error(
                "Volume Not Found By LVM",
                format!(
                    "LVM's report shows no LV {} with UUID {} (libvirt still lists {}); nothing was changed.",
                    id.name,
                    id.key,
                    v.describe()
                ),
            )
        })
}

/// `lvreduce`, only when no domain (any definition, any device) uses the LV and LVM reports its
/// device closed: the data beyond the new size is cut off, so nothing may be reading it.
async fn shrink(
    conn: &Connection,
    lvm: &Arc<Channel>,
    v: &VolInfo,
    lv: &Lv,
    wanted: u64,
) -> Result<(), Diagnostic> {
    let users = conn.volume_users(&VolumeNames::of(v)).await?;
    if !users.is_empty() || lv.open == Some(true) {
        let who = if users.is_empty() {
            "its device is open on the hypervisor".to_string()
        } else {
            users
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        return Err(Diagnostic::error(
            "Volume In Use: Not Shrunk",
            format!(
                "Shrinking {} would cut off the data beyond {} bytes while something reads it: {who}. Nothing was \
                 changed. Detach it (and shrink the filesystem inside first), then apply again.",
                v.describe(),
                wanted
            ),
        )
        .at_attr("capacity"));
    }
    let cmd = Command::Reduce {
        vg: lv.vg.clone(),
        lv: lv.name.clone(),
        bytes: wanted,
    };
    lvm.call(move |c| c.run(&cmd).map(drop))
        .await
        .map_err(|e| Diagnostic::error("Volume Not Shrunk", e.to_string()).at_attr("capacity"))
}

#[cfg(test)]
mod tests {
    use super::tell_domains;

    #[test]
    fn an_encrypted_volumes_domains_are_told_only_of_a_grow_or_a_pending_notice() {
        const MIB: u64 = 1 << 20;
        let encrypted = true;
        assert!(tell_domains(48 * MIB, 32 * MIB, false, encrypted), "grown now");
        assert!(
            !tell_domains(32 * MIB, 32 * MIB, false, encrypted),
            "fits the LV as it is"
        );
        assert!(
            tell_domains(32 * MIB, 32 * MIB, true, encrypted),
            "an earlier notice failed"
        );
        assert!(
            !tell_domains(30 * MIB, 32 * MIB, false, encrypted),
            "within the extents"
        );
        // A plain volume's domains are told the LV's own size, which is what they see.
        assert!(tell_domains(32 * MIB, 32 * MIB, false, !encrypted));
    }
}
