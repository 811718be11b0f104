//! The volume group's devices changed in place through LVM's tools: an added device becomes a
//! physical volume of the group (`vgextend`, which prepares it), a removed one leaves it
//! (`vgreduce`, then `pvremove`) only when no extent of it is allocated; libvirt's pool definition
//! then lists the devices. The logical volumes are never touched; moving data off a device
//! (`pvmove`) is the operator's decision.
//!
//! Without LVM's tools a changed device list is refused at plan and at apply, before anything
//! changes: never a replacement, whose destroy half would stop and undefine the pool before its
//! create half refused to build over the group (see `crate::libvirt::rules::vg`).

use std::sync::Arc;

use crate::framework::plan::Plan;
use crate::framework::{Diagnostic, Diagnostics};
use crate::libvirt::facts::pool::PoolIdentity;
use crate::libvirt::{xml, Connection};
use crate::lvm::command::Command;
use crate::lvm::report::Pv;
use crate::lvm::Channel;
use crate::names::normalize_path;
use crate::provider::Ctx;

use super::State;

/// What a change of `source_devices` asks of the volume group.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct DeviceChange {
    /// Devices to add, as configured.
    pub(super) added: Vec<String>,
    /// Devices to remove, as recorded.
    pub(super) removed: Vec<String>,
}

impl DeviceChange {
    /// The difference between the recorded and the configured device lists (spelled as given).
    pub(super) fn between(prior: &[String], planned: &[String]) -> Self {
        let has = |list: &[String], d: &String| list.iter().any(|x| normalize_path(x) == normalize_path(d));
        DeviceChange {
            added: planned.iter().filter(|d| !has(prior, d)).cloned().collect(),
            removed: prior.iter().filter(|d| !has(planned, d)).cloned().collect(),
        }
    }

    fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// What LVM says of the devices a change names, and what would stop it.
struct Checked {
    /// Added devices that are not yet physical volumes of this group.
    to_add: Vec<String>,
    /// Removed devices that are physical volumes of this group (LVM's names).
    to_remove: Vec<String>,
    /// Why the change cannot be made, when it cannot.
    refusals: Vec<Diagnostic>,
}

/// Reads what LVM reports of the devices (blocking).
fn check(lvm: &Channel, vg: &str, change: &DeviceChange) -> Result<Checked, crate::lvm::Error> {
    let mut out = Checked {
        to_add: Vec::new(),
        to_remove: Vec::new(),
        refusals: Vec::new(),
    };
    let pv_of = |d: &String, pvs: &[Pv]| -> Option<Pv> {
        // LVM names a PV by the name it knows; asked for one device at a time, what it answers
        // is that device.
        (pvs.len() == 1).then(|| pvs[0].clone()).filter(|_| !d.is_empty())
    };
    // Added spellings of physical volumes the group already has (a by-id name for /dev/vdb):
    // a removed spelling of the same PV is then no removal.
    let mut kept = Vec::new();
    for d in &change.added {
        let pvs = lvm.pvs(std::slice::from_ref(d))?;
        let pv = pv_of(d, &pvs);
        match pv.as_ref().and_then(|p| p.vg.clone()) {
            Some(g) if g == vg => kept.extend(pv.map(|p| p.name)),
            Some(other) => out.refusals.push(
                Diagnostic::error(
                    "Device Belongs To Another Volume Group",
                    format!(
                        "{d} is a physical volume of volume group {other:?}: adding it to {vg:?} would take it from \
                         that group. Choose another device. Nothing was changed."
                    ),
                )
                .at_attr("source_devices"),
            ),
            None => out.to_add.push(d.clone()),
        }
    }
    let lvs = if change.removed.is_empty() {
        Vec::new()
    } else {
        lvm.lvs(vg)?
    };
    for d in &change.removed {
        let pvs = lvm.pvs(std::slice::from_ref(d))?;
        let Some(pv) = pv_of(d, &pvs).filter(|p| p.vg.as_deref() == Some(vg)) else {
            continue;
        };
        if kept.contains(&pv.name) {
            continue;
        }
        if pv.used > 0 {
            let on: Vec<String> = lvs
                .iter()
                .filter(|l| l.devices.iter().any(|x| x == &pv.name))
                .map(|l| l.name.clone())
                .collect();
            out.refusals.push(
                Diagnostic::error(
                    "Device Holds Logical Volumes",
                    format!(
                        "{d} ({}) holds {} bytes of volume group {vg:?}'s logical volumes ({}): removing it would \
                         cut them. Nothing was changed. Move them off it first if that is what you want (`pvmove {}` \
                         on the hypervisor; your decision, it takes time and space), or keep the device in \
                         source_devices.",
                        pv.name,
                        pv.used,
                        if on.is_empty() { "see `lvs -o +devices`".to_string() } else { on.join(", ") },
                        pv.name
                    ),
                )
                .at_attr("source_devices"),
            );
        } else {
            out.to_remove.push(pv.name.clone());
        }
    }
    Ok(out)
}

/// At plan: a changed device list of an existing pool is made in place when LVM's tools are
/// there (no replacement); what the apply would refuse is warned.
pub(super) async fn plan_change(ctx: &Ctx, plan: &mut Plan) -> Result<(), Diagnostics> {
    let (Some(prior), Some(planned)) = (
        strings(plan.prior("source_devices")),
        strings(plan.planned("source_devices")),
    ) else {
        return Ok(());
    };
    let change = DeviceChange::between(&prior, &planned);
    if change.is_empty() || planned.is_empty() {
        return Ok(());
    }
    let Some(vg) = plan.prior("volume_group").as_str().map(str::to_string) else {
        return Ok(());
    };
    if plan.changes("volume_group") || plan.changes("name") {
        return Ok(());
    }
    // Never a replacement: its destroy half would stop and undefine the pool before its create
    // half could refuse. Without LVM's tools the update refuses, before anything changes.
    plan.change_in_place("source_devices");
    let lvm = match ctx.lvm().await {
        Ok(Some(lvm)) => lvm,
        Ok(None) => {
            plan.warn_refusal(needs_lvm_tools(&ctx.lvm_unavailable().await));
            return Ok(());
        }
        Err(d) => {
            plan.warn_refusal(d);
            return Ok(());
        }
    };
    let c = DeviceChange::between(&prior, &planned);
    let v = vg.clone();
    match lvm.call(move |l| check(l, &v, &c)).await {
        Ok(checked) => {
            for d in checked.refusals {
                plan.warn_refusal(d);
            }
        }
        Err(e) => plan.warn_refusal(Diagnostic::error("Devices Could Not Be Checked", e.to_string())),
    }
    plan.warn(
        Diagnostic::warning(
            "Volume Group Changes In Place",
            format!(
                "source_devices changes in place, through LVM's tools; the pool is not replaced and its logical \
                 volumes are not touched.{}{}",
                if change.added.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Added to volume group {vg:?} (pvcreate, vgextend{}): {}.",
                        if plan.planned("overwrite").as_bool() == Some(true) {
                            "; their signatures wiped, as overwrite = true says"
                        } else {
                            "; refused when a device holds a signature, unless overwrite = true"
                        },
                        change.added.join(", ")
                    )
                },
                if change.removed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " Removed from it (vgreduce, pvremove; refused while a device holds extents): {}.",
                        change.removed.join(", ")
                    )
                }
            ),
        )
        .at_attr("source_devices"),
    );
    Ok(())
}

/// The refusal of a device change without LVM's tools (`why`: why they cannot be used).
pub(super) fn needs_lvm_tools(why: &str) -> Diagnostic {
    Diagnostic::error(
        "Changing Devices Needs LVM's Tools",
        format!(
            "source_devices changes in place (vgextend, vgreduce) only through LVM's tools, which this provider \
             cannot use here: {why}. Nothing was changed. Configure them (a qemu+ssh:// URI, or an lvm_tools block \
             with ssh_host for qemu+tcp/tls), or change the volume group by hand (`vgextend`, `vgreduce`) and set \
             source_devices to what it then has. `terraform apply -replace` would stop and undefine the pool \
             first, and its create would then refuse to build over the volume group."
        ),
    )
    .at_attr("source_devices")
}

fn strings(v: &crate::framework::Value) -> Option<Vec<String>> {
    v.as_list()?
        .iter()
        .map(|d| d.as_str().map(str::to_string))
        .collect()
}

/// At apply: adds and removes the devices of the pool `id` names, then defines the pool again
/// (same UUID and name) with the configured list. Every check runs before the first change.
pub(super) async fn apply_change(
    conn: &Connection,
    lvm: &Arc<Channel>,
    id: &PoolIdentity,
    prior: &State,
    planned: &State,
) -> Result<(), Diagnostics> {
    let change = DeviceChange::between(prior.devices(), planned.devices());
    if change.is_empty() {
        return Ok(());
    }
    let (vg, c) = (
        id.vg.clone(),
        DeviceChange::between(prior.devices(), planned.devices()),
    );
    let checked = lvm
        .call(move |l| check(l, &vg, &c))
        .await
        .map_err(|e| Diagnostic::error("Devices Could Not Be Checked", e.to_string()))?;
    if !checked.refusals.is_empty() {
        return Err(Diagnostics(checked.refusals));
    }
    let fail = |what: &str, e: crate::lvm::Error| {
        Diagnostic::error(
            "Volume Group Not Changed",
            format!("{what}: {e}. The logical volumes were not touched."),
        )
        .at_attr("source_devices")
    };
    if !checked.to_add.is_empty() {
        let cmd = Command::VgExtend {
            vg: id.vg.clone(),
            devices: checked.to_add.clone(),
            wipe: planned.overwrite == Some(true),
        };
        lvm.call(move |l| l.run(&cmd).map(drop))
            .await
            .map_err(|e| fail("adding the devices failed", e))?;
    }
    if !checked.to_remove.is_empty() {
        let reduce = Command::VgReduce {
            vg: id.vg.clone(),
            devices: checked.to_remove.clone(),
        };
        let label = Command::PvRemove {
            devices: checked.to_remove.clone(),
        };
        lvm.call(move |l| l.run(&reduce).and_then(|_| l.run(&label)).map(drop))
            .await
            .map_err(|e| fail("removing the devices failed", e))?;
    }
    conn.changed_outside_libvirt();
    let xml = xml::logical_pool_xml(&id.name, &id.uuid, &id.vg, planned.devices())
        .map_err(|e| Diagnostic::error("Invalid Pool Definition", e.to_string()))?;
    conn.define_pool(&id.name, xml).await?;
    conn.refresh_pool(&id.name).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(d: &[&str]) -> Vec<String> {
        d.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn device_changes_are_what_was_added_and_removed() {
        let c = DeviceChange::between(&v(&["/dev/vdb"]), &v(&["/dev/vdb", "/dev/vdc"]));
        assert_eq!((c.added, c.removed), (v(&["/dev/vdc"]), v(&[])));
        let c = DeviceChange::between(&v(&["/dev/vdb", "/dev/vdc"]), &v(&["/dev/vdc"]));
        assert_eq!((c.added, c.removed), (v(&[]), v(&["/dev/vdb"])));
        let c = DeviceChange::between(&v(&["/dev/vdb"]), &v(&["/dev//vdb/"]));
        assert!(c.is_empty(), "another spelling of the same path");
        let c = DeviceChange::between(&v(&["/dev/vdb"]), &v(&["/dev/vdd"]));
        assert_eq!((c.added, c.removed), (v(&["/dev/vdd"]), v(&["/dev/vdb"])));
    }
}
