//! Out-of-band changes: what an operator could do to the hypervisor between Terraform commands.

use super::backends::Backend;
use super::generator::{pick, Draw, Oob, VOLS};
use super::ledger::{Ledger, Origin};
use super::world::{aliases, DomObs, LvObs, PoolObs, View, World};
use crate::xml::DiskSource;

/// Runs one out-of-band change; `Ok(what it did)` or `Err(why it was not done)`.
pub(crate) fn oob(
    op: Oob,
    d: &Draw,
    b: &mut dyn Backend,
    w: &World,
    ledger: &Ledger,
    n: &mut u32,
) -> Result<String, String> {
    *n += 1;
    let n = *n;
    let layout = b.layout().clone();
    let real = b.real_lvm();
    let origin_of_pool = |uuid: &str| ledger.pools.get(uuid).map(|p| p.origin);
    let mut managed_pools: Vec<(&String, &PoolObs)> = w
        .pools
        .iter()
        .filter(|(u, _)| origin_of_pool(u) == Some(Origin::Terraform))
        .collect();
    managed_pools.sort_by(|a, b| a.1.name.cmp(&b.1.name));
    let mut lvs: Vec<(&String, &LvObs)> = w.lvs.iter().collect();
    lvs.sort_by(|a, b| (&a.1.vg, &a.1.name).cmp(&(&b.1.vg, &b.1.name)));
    let origin_of_lv = |key: &str| ledger.lvs.get(key).map(|l| l.origin);
    let none = |what: &str| Err(format!("no {what}"));
    match op {
        Oob::LvInPool => {
            let candidates: Vec<_> = managed_pools
                .iter()
                .filter(|(_, p)| {
                    if real {
                        w.vgs.values().any(|v| *v == p.vg)
                    } else {
                        p.active
                    }
                })
                .collect();
            let Some((_, p)) = pick(&candidates, d.a) else {
                return none("managed pool to add an LV to");
            };
            let name = format!("f{n}");
            b.create_lv(&p.name, &p.vg, &name)?;
            Ok(format!(
                "lvcreate {}/{name} (foreign) in managed pool {}",
                p.vg, p.name
            ))
        }
        Oob::SwapPool => {
            let Some((_, p)) = pick(&managed_pools, d.a) else {
                return none("managed pool to swap");
            };
            if real
                && ledger
                    .vgs
                    .values()
                    .filter(|g| g.origin == Origin::Foreign)
                    .count()
                    >= 4
            {
                return Err("enough foreign volume groups already".into());
            }
            let i = usize::from(p.name == layout.pools[1]);
            let names: Vec<&str> = VOLS.iter().filter(|(_, pi)| *pi == i).map(|(n, _)| *n).collect();
            let lv = pick(&names, d.b).copied().unwrap_or("v0");
            let vg = layout.name(&format!("fvg{n}"));
            b.undefine_pool(&p.name)?;
            let dev = b.new_vg(&vg)?;
            b.define_pool(&p.name, &vg, &dev)?;
            b.create_lv(&p.name, &vg, lv)?;
            Ok(format!(
                "pool {} undefined; another pool {} defined over a new VG {vg} ({dev}) holding a foreign LV {lv}",
                p.name, p.name
            ))
        }
        Oob::StopStart => {
            let Some((_, p)) = pick(&managed_pools, d.a) else {
                return none("managed pool");
            };
            b.set_pool_active(&p.name, !p.active)?;
            Ok(format!(
                "pool {} {}",
                p.name,
                if p.active { "stopped" } else { "started" }
            ))
        }
        Oob::ReplaceLv => {
            if !real {
                return Err("an LV made again under its name has the same key on the test driver".into());
            }
            let used = w.used_lvs();
            let candidates: Vec<_> = lvs
                .iter()
                .filter(|(k, _)| origin_of_lv(k) == Some(Origin::Terraform) && !used.contains(*k))
                .collect();
            let Some((_, l)) = pick(&candidates, d.a) else {
                return none("managed LV that no domain uses");
            };
            b.remove_lv("", &l.vg, &l.name)?;
            b.create_lv("", &l.vg, &l.name)?;
            Ok(format!(
                "LV {}/{} removed by hand and a foreign one made under its name",
                l.vg, l.name
            ))
        }
        Oob::AliasDomain => {
            let Some((k1, l1)) = pick(&lvs, d.a) else {
                return none("LV to use");
            };
            let mut chosen = vec![(*k1, *l1)];
            if d.b.is_multiple_of(2) {
                if let Some((k2, l2)) = pick(&lvs, d.a / 7 + 1) {
                    if k2 != k1 {
                        chosen.push((*k2, *l2));
                    }
                }
            }
            let mut disks = Vec::new();
            for (i, (key, l)) in chosen.iter().enumerate() {
                let src = alias_src(key, l, w, d.c >> (8 * i));
                disks.push((["sdb", "sdc"][i].to_string(), src));
            }
            let name = layout.name(&format!("f{n}"));
            // A fresh pattern in what the domain will use (an inactive LV keeps its last one); a
            // write that fails leaves the step undone.
            let used: Vec<(String, String)> = chosen
                .iter()
                .map(|(_, l)| (l.vg.clone(), l.name.clone()))
                .collect();
            b.write_patterns(&used, "in use")?;
            b.define_domain(&name, &disks, false)?;
            let list: Vec<String> = disks.iter().map(|(t, s)| format!("{t} = {s}")).collect();
            Ok(format!(
                "domain {name} (shut off) defined with {}",
                list.join(", ")
            ))
        }
        Oob::RecreateDomain => {
            if !real {
                return Err("no attachments on the test driver".into());
            }
            let present: Vec<&String> = layout
                .domains
                .iter()
                .filter(|n| w.domains.values().any(|d| &d.name == *n))
                .collect();
            let Some(name) = pick(&present, d.a) else {
                return none("fixture domain");
            };
            let target = ledger
                .domains
                .values()
                .filter(|e| &e.name == *name)
                .flat_map(|e| e.disks.iter())
                .find(|(_, disk)| disk.origin == Origin::Terraform)
                .map(|((_, t), _)| t.clone())
                .unwrap_or_else(|| "sdb".into());
            let src = DiskSource::Block(format!("/dev/{}/keep", layout.name("fvg0")));
            b.undefine_domain(name)?;
            b.define_domain(name, &[(target.clone(), src.clone())], false)?;
            Ok(format!(
                "domain {name} undefined; a new domain {name} (shut off) defined with its own disk {target} = {src}"
            ))
        }
        Oob::HandAttach => {
            if !real {
                return Err("no device hotplug on the test driver".into());
            }
            let present: Vec<(&String, &DomObs)> = {
                let mut v: Vec<_> = w
                    .domains
                    .iter()
                    .filter(|(_, d)| layout.domains.contains(&d.name))
                    .collect();
                v.sort_by(|a, b| a.1.name.cmp(&b.1.name));
                v
            };
            let Some((_, dom)) = pick(&present, d.a) else {
                return none("fixture domain");
            };
            let Some((key, l)) = pick(&lvs, d.b) else {
                return none("LV to attach");
            };
            let Some(target) = ["sdd", "sde", "sdf"]
                .into_iter()
                .find(|t| !dom.disks.keys().any(|(_, used)| used == t))
            else {
                return Err(format!("no free target on {}", dom.name));
            };
            let src = alias_src(key, l, w, d.c);
            b.write_patterns(&[(l.vg.clone(), l.name.clone())], "attached by hand")?;
            b.attach_disk(&dom.name, target, &src, dom.active)?;
            Ok(format!(
                "{target} = {src} attached by hand to {} ({})",
                dom.name,
                if dom.active {
                    "live and saved"
                } else {
                    "saved definition"
                }
            ))
        }
        Oob::UndefineDomain => {
            let mut mine: Vec<&String> = w
                .domains
                .values()
                .map(|d| &d.name)
                .filter(|n| n.starts_with(&layout.name("f")))
                .collect();
            mine.sort();
            let Some(name) = pick(&mine, d.a) else {
                return none("domain made by the test");
            };
            b.undefine_domain(name)?;
            Ok(format!("domain {name} undefined"))
        }
        Oob::RemoveForeignLv => {
            let keep = layout.name("fvg0");
            let candidates: Vec<_> = lvs
                .iter()
                .filter(|(k, l)| origin_of_lv(k) == Some(Origin::Foreign) && l.vg != keep)
                .collect();
            let Some((_, l)) = pick(&candidates, d.a) else {
                return none("foreign LV");
            };
            let pool = w
                .pools
                .values()
                .find(|p| p.vg == l.vg)
                .map(|p| p.name.clone())
                .unwrap_or_default();
            b.remove_lv(&pool, &l.vg, &l.name)?;
            Ok(format!("foreign LV {}/{} removed by hand", l.vg, l.name))
        }
        Oob::RestartLibvirtd => {
            b.restart_libvirtd()?;
            Ok("libvirtd restarted".into())
        }
        Oob::UndefineForeignPool => {
            let mut candidates: Vec<&PoolObs> = w
                .pools
                .iter()
                .filter(|(u, p)| origin_of_pool(u) == Some(Origin::Foreign) && layout.pools.contains(&p.name))
                .map(|(_, p)| p)
                .collect();
            candidates.sort_by(|a, b| a.name.cmp(&b.name));
            let Some(p) = pick(&candidates, d.a) else {
                return none("foreign pool under a managed pool's name");
            };
            b.undefine_pool(&p.name)?;
            Ok(format!(
                "foreign pool {} (VG {}) undefined; its VG stays",
                p.name, p.vg
            ))
        }
        Oob::Deactivate => {
            if !real {
                return Err("the test driver has no LVM beneath its pools".into());
            }
            let managed_vgs: Vec<&str> = managed_pools.iter().map(|(_, p)| p.vg.as_str()).collect();
            let candidates: Vec<_> = lvs
                .iter()
                .filter(|(_, l)| l.sha.is_some() && managed_vgs.contains(&l.vg.as_str()))
                .collect();
            let Some((key, l)) = pick(&candidates, d.a) else {
                return none("active LV in a managed pool's VG");
            };
            b.deactivate_lv(&l.vg, &l.name)?;
            Ok(format!(
                "lvchange -an {}/{} ({:?} LV)",
                l.vg,
                l.name,
                origin_of_lv(key).unwrap_or(Origin::Foreign)
            ))
        }
        Oob::ThinPool => {
            let candidates: Vec<_> = managed_pools
                .iter()
                .filter(|(_, p)| w.vgs.values().any(|v| *v == p.vg))
                .collect();
            let Some((_, p)) = pick(&candidates, d.a) else {
                return none("managed pool's VG");
            };
            let (pool, thin) = (format!("tp{n}"), format!("th{n}"));
            b.thin_pool(&p.vg, &pool, &thin)?;
            Ok(format!(
                "thin pool {}/{pool} with thin LV {thin} made in managed pool {}",
                p.vg, p.name
            ))
        }
        Oob::Snapshot => {
            let candidates: Vec<_> = lvs
                .iter()
                .filter(|(k, l)| origin_of_lv(k) == Some(Origin::Terraform) && l.sha.is_some())
                .collect();
            let Some((_, l)) = pick(&candidates, d.a) else {
                return none("active managed LV");
            };
            let snap = format!("snap{n}");
            b.snapshot_lv(&l.vg, &l.name, &snap)?;
            Ok(format!(
                "snapshot {}/{snap} of managed LV {}/{} made",
                l.vg, l.vg, l.name
            ))
        }
        Oob::SwapDisk => {
            if !real {
                return Err("no attachments on the test driver".into());
            }
            // The disks attachments made, by domain and target, with the views they are in.
            let mut made: Vec<(String, String, bool, bool)> = Vec::new();
            for (uuid, e) in &ledger.domains {
                let Some(dom) = w.domains.get(uuid) else {
                    continue;
                };
                for ((view, target), disk) in &e.disks {
                    if disk.origin != Origin::Terraform {
                        continue;
                    }
                    let entry = match made.iter_mut().find(|m| m.0 == dom.name && &m.1 == target) {
                        Some(m) => m,
                        None => {
                            made.push((dom.name.clone(), target.clone(), false, false));
                            made.last_mut().expect("just pushed")
                        }
                    };
                    match view {
                        View::Live => entry.2 = true,
                        View::Saved => entry.3 = true,
                    }
                }
            }
            made.sort();
            let Some((dom, target, live, saved)) = pick(&made, d.a) else {
                return none("disk an attachment made");
            };
            let views = match (live, saved) {
                (true, true) => "live and saved",
                (true, false) => "live",
                _ => "saved",
            };
            // In a saved definition, half the time an operator's overlay: a qcow2 file whose
            // backing store is the LV the attachment attached (libvirt keeps a `<backingStore>`
            // given in the persistent XML; a running domain would need the file to exist).
            let attached = ledger
                .domains
                .values()
                .find(|e| &e.name == dom)
                .and_then(|e| e.disks.get(&(View::Saved, target.clone())))
                .and_then(|disk| disk.lv.as_ref())
                .and_then(|k| w.lvs.get(k));
            if let (false, true, Some(l), 0) = (*live, *saved, attached, (d.c >> 40) % 2) {
                let file = layout.name(&format!("ovl{n}.qcow2"));
                let src = DiskSource::File(format!("/var/tmp/{file}"));
                let backing = format!("/dev/{}/{}", l.vg, l.name);
                b.swap_disk(dom, target, false, true, &src, Some(&backing))?;
                return Ok(format!(
                    "{dom} {target} detached by hand ({views}), an overlay {src} backed by {backing} attached there"
                ));
            }
            let foreign: Vec<_> = lvs
                .iter()
                .filter(|(k, l)| origin_of_lv(k) == Some(Origin::Foreign) && l.sha.is_some())
                .collect();
            let Some((key, l)) = pick(&foreign, d.b) else {
                return none("active foreign LV to put in its place");
            };
            let src = alias_src(key, l, w, d.c);
            b.swap_disk(dom, target, *live, *saved, &src, None)?;
            Ok(format!(
                "{dom} {target} detached by hand ({views}), {src} attached there instead"
            ))
        }
    }
}

/// A disk source naming the LV `key` under one of its aliases, chosen by `v`.
pub(crate) fn alias_src(key: &str, l: &LvObs, w: &World, v: u64) -> DiskSource {
    let mut choices: Vec<DiskSource> = aliases(key, l).into_iter().map(DiskSource::Block).collect();
    choices.push(DiskSource::File(format!("/dev/{}/{}", l.vg, l.name)));
    if let Some(p) = w.pools.values().find(|p| p.vg == l.vg) {
        choices.push(DiskSource::Volume {
            pool: p.name.clone(),
            volume: l.name.clone(),
        });
    }
    pick(&choices, v)
        .cloned()
        .unwrap_or(DiskSource::Other(String::new()))
}
