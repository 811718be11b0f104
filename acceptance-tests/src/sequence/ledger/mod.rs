//! The ledger: who made each object (the test, out of band, or Terraform), and the invariant checked after every Terraform command.

use std::collections::{BTreeMap, BTreeSet};

use super::terraform::TfState;
use super::world::{LvObs, PoolObs, View, World};
use crate::xml::DiskSource;

/// Who made an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The test (out of band), or there before the run.
    Foreign,
    /// Appeared during a Terraform command.
    Terraform,
}

#[derive(Clone, Debug)]
pub(crate) struct Entry<T> {
    pub(crate) origin: Origin,
    pub(crate) obs: T,
}

#[derive(Clone, Debug)]
pub(crate) struct LvEntry {
    pub(crate) origin: Origin,
    pub(crate) obs: LvObs,
    /// The last content seen (lab).
    pub(crate) sha: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct DiskEntry {
    pub(crate) origin: Origin,
    pub(crate) src: DiskSource,
    /// The LV it names, as resolved against the latest observation.
    pub(crate) lv: Option<String>,
}

#[derive(Clone, Debug)]
pub(crate) struct DomEntry {
    pub(crate) name: String,
    pub(crate) active: bool,
    pub(crate) disks: BTreeMap<(View, String), DiskEntry>,
}

/// One broken promise.
#[derive(Clone, Debug)]
pub(crate) struct Violation {
    /// The class, such as "foreign LV removed".
    pub(crate) kind: String,
    /// Which object, in words.
    pub(crate) what: String,
}

/// Every object seen, with its origin.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    pub(crate) pools: BTreeMap<String, Entry<PoolObs>>,
    pub(crate) vgs: BTreeMap<String, Entry<String>>,
    pub(crate) lvs: BTreeMap<String, LvEntry>,
    pub(crate) domains: BTreeMap<String, DomEntry>,
}

/// How a pool resource in the state was to treat its volume group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolPolicy {
    Keep,
    Delete { force: bool },
}

impl Ledger {
    /// Whether a foreign domain's disk names the LV `key` (every domain is foreign: Terraform never
    /// makes one; disks Terraform attached do not count).
    pub(crate) fn used_by_foreign(&self, key: &str) -> Vec<String> {
        let mut users = Vec::new();
        for d in self.domains.values() {
            for ((view, target), disk) in &d.disks {
                if disk.origin == Origin::Foreign && disk.lv.as_deref() == Some(key) {
                    users.push(format!("domain {} {target} ({view:?}, {})", d.name, disk.src));
                }
            }
        }
        users
    }

    /// How foreign domains name the LV `key`: "/dev/mapper alias", "pool/volume", … (for grouping).
    pub(crate) fn use_forms(&self, key: &str) -> String {
        let mut forms = BTreeSet::new();
        for d in self.domains.values() {
            for disk in d.disks.values() {
                if disk.origin != Origin::Foreign || disk.lv.as_deref() != Some(key) {
                    continue;
                }
                forms.insert(match &disk.src {
                    DiskSource::Volume { .. } => "type='volume'",
                    DiskSource::File(_) => "type='file' /dev/VG/LV",
                    DiskSource::Block(p) if p.starts_with("/dev/mapper/") => "/dev/mapper alias",
                    DiskSource::Block(p) if p.contains("/dm-name-") => "dm-name alias",
                    DiskSource::Block(p) if p.contains("/dm-uuid-") => "dm-uuid alias",
                    DiskSource::Block(_) => "/dev/VG/LV",
                    DiskSource::Other(_) => "other",
                });
            }
        }
        forms.into_iter().collect::<Vec<_>>().join(", ")
    }

    pub(crate) fn describe_lv(&self, key: &str) -> String {
        match self.lvs.get(key) {
            Some(l) => format!("{:?} LV {}/{} (key {key})", l.origin, l.obs.vg, l.obs.name),
            None => format!("LV with key {key}"),
        }
    }

    /// The invariant, after the Terraform command `cmd`, against the world `w` it left.
    pub(crate) fn check(&self, w: &World, cmd: &Command, notes: &mut Vec<String>) -> Vec<Violation> {
        let mut out = Vec::new();
        let mut v = |kind: &str, what: String| {
            out.push(Violation {
                kind: kind.to_string(),
                what,
            })
        };
        for (uuid, p) in &self.pools {
            if p.origin != Origin::Foreign {
                continue;
            }
            match w.pools.get(uuid) {
                None => v(
                    "foreign pool removed",
                    format!("pool {} (UUID {uuid}, VG {})", p.obs.name, p.obs.vg),
                ),
                Some(now) if now.name != p.obs.name || now.vg != p.obs.vg => v(
                    "foreign pool changed",
                    format!("pool {uuid}: was {:?}, now {:?}", p.obs, now),
                ),
                Some(now) if now.active != p.obs.active => v(
                    if now.active {
                        "foreign pool started"
                    } else {
                        "foreign pool stopped"
                    },
                    format!("pool {} (UUID {uuid}, VG {})", p.obs.name, p.obs.vg),
                ),
                Some(_) => {}
            }
        }
        for (uuid, g) in &self.vgs {
            if w.vgs.contains_key(uuid) {
                continue;
            }
            if g.origin == Origin::Foreign {
                v("foreign VG removed", format!("VG {} (UUID {uuid})", g.obs));
                continue;
            }
            // A VG a pool resource built goes only with the destroy of that pool, and only when
            // its state said on_destroy = "delete".
            match cmd.destroyed_pool(|a| a["volume_group"].as_str() == Some(g.obs.as_str())) {
                Some((_, PoolPolicy::Delete { .. })) => {}
                Some((addr, PoolPolicy::Keep)) => v(
                    "managed VG removed, its pool's on_destroy was \"keep\"",
                    format!("VG {} (UUID {uuid}) by {addr}", g.obs),
                ),
                None => v(
                    "managed VG removed without a destroy of its pool",
                    format!("VG {} (UUID {uuid})", g.obs),
                ),
            }
        }
        for (key, l) in &self.lvs {
            let users = self.used_by_foreign(key);
            let foreign = l.origin == Origin::Foreign;
            let label = if foreign {
                "foreign LV".to_string()
            } else if users.is_empty() {
                "managed LV".to_string()
            } else {
                format!("LV in use by a foreign domain ({})", self.use_forms(key))
            };
            let what = || {
                let mut s = self.describe_lv(key);
                if !users.is_empty() {
                    s.push_str(&format!(", used by {}", users.join("; ")));
                }
                s
            };
            match w.lvs.get(key) {
                Some(now) => {
                    if now.vg != l.obs.vg || now.name != l.obs.name {
                        v(
                            &format!("{label} renamed"),
                            format!("{} now {}/{}", what(), now.vg, now.name),
                        );
                    } else if let (Some(was), Some(is)) = (&l.sha, &now.sha) {
                        if was != is {
                            v(&format!("{label} content changed"), what());
                        }
                    }
                }
                None if w.hidden_vgs.contains(&l.obs.vg) => {}
                None => match self.lost_lv_verdict(key, l, w, cmd, users.is_empty()) {
                    Verdict::Consented(why) => notes.push(format!("{}: removed, {why}", what())),
                    Verdict::Dormant(why) => notes.push(format!("{}: out of sight, {why}", what())),
                    Verdict::Lost(how) => v(&format!("{label} removed{how}"), what()),
                },
            }
        }
        for (uuid, d) in &self.domains {
            let Some(now) = w.domains.get(uuid) else {
                v(
                    "foreign domain removed",
                    format!("domain {} (UUID {uuid})", d.name),
                );
                continue;
            };
            if now.name != d.name {
                v(
                    "foreign domain renamed",
                    format!("domain {} now {}", d.name, now.name),
                );
            }
            if now.active != d.active {
                v(
                    if now.active {
                        "foreign domain started"
                    } else {
                        "foreign domain stopped"
                    },
                    format!("domain {} (UUID {uuid})", d.name),
                );
                continue;
            }
            for ((view, target), disk) in &d.disks {
                if disk.origin != Origin::Foreign {
                    continue;
                }
                match now.disks.get(&(*view, target.clone())) {
                    None => v(
                        "foreign disk detached",
                        format!("domain {} {target} ({view:?}: {})", d.name, disk.src),
                    ),
                    Some(src) if *src != disk.src => v(
                        "foreign disk changed",
                        format!("domain {} {target} ({view:?}): {} -> {src}", d.name, disk.src),
                    ),
                    Some(_) => {}
                }
            }
        }
        out
    }

    /// Why an LV is gone, and whether that was sanctioned. A managed LV that no foreign domain uses
    /// may go with the destroy of its own volume resource (one whose `id` in the state before the
    /// command is its key, and whose destroy Terraform started); any LV, managed or not, that no
    /// domain uses may go with its VG when a pool resource with `on_destroy = "delete"` and
    /// `force_destroy = true` was destroyed (the documented meaning of force_destroy).
    pub(crate) fn lost_lv_verdict(
        &self,
        key: &str,
        l: &LvEntry,
        w: &World,
        cmd: &Command,
        unused: bool,
    ) -> Verdict {
        if l.origin == Origin::Terraform && unused {
            if let Some(addr) = cmd.destroyed_volume(key) {
                return Verdict::Consented(format!("by the destroy of {addr}"));
            }
        }
        // A snapshot goes with its origin (`lvremove -f` of the origin takes its snapshots): the
        // most specific cause, whatever happened to the VG after.
        if let Some(origin) = &l.obs.origin {
            let origin_key = self
                .lvs
                .iter()
                .find(|(_, o)| o.obs.vg == l.obs.vg && &o.obs.name == origin)
                .map(|(k, _)| k.as_str());
            if let Some(addr) = origin_key.and_then(|k| cmd.destroyed_volume(k)) {
                return Verdict::Lost(format!(
                    " with its origin {}/{origin} by the destroy of {addr}",
                    l.obs.vg
                ));
            }
        }
        let (container_gone, container_ours, destroyed) = match (&l.obs.vg_uuid, &l.obs.pool_uuid) {
            // Lab: the VG is the container.
            (Some(vg_uuid), _) => (
                !w.vgs.contains_key(vg_uuid),
                self.vgs.get(vg_uuid).map(|g| g.origin) == Some(Origin::Terraform),
                cmd.destroyed_pool(|a| a["volume_group"].as_str() == Some(l.obs.vg.as_str())),
            ),
            // Test driver: the pool is.
            (None, Some(pool_uuid)) => (
                !w.pools.contains_key(pool_uuid),
                self.pools.get(pool_uuid).map(|p| p.origin) == Some(Origin::Terraform),
                cmd.destroyed_pool(|a| a["id"].as_str() == Some(pool_uuid.as_str())),
            ),
            (None, None) => (false, false, None),
        };
        if !container_gone {
            return Verdict::Lost(if l.origin == Origin::Terraform && unused {
                " without a destroy of its resource".into()
            } else {
                String::new()
            });
        }
        if !container_ours {
            if l.obs.vg_uuid.is_none() {
                // Test driver: the removal of the foreign pool is itself the violation; whether its
                // VG went too depends on what the destroy thought it was destroying.
                let by_name = cmd
                    .prior
                    .pools()
                    .find(|(_, a)| Some(a["name"].as_str().unwrap_or_default()) == self.pool_name(l))
                    .map(|(_, a)| policy(a));
                if by_name == Some(PoolPolicy::Keep) {
                    return Verdict::Dormant(
                        "its foreign pool was undefined by a destroy with on_destroy = \"keep\" (reported as \
                         such)"
                            .into(),
                    );
                }
            }
            return Verdict::Lost(" with its foreign pool/VG".into());
        }
        match destroyed {
            None => Verdict::Lost(" with its pool/VG, which no destroyed pool resource owned".into()),
            Some((addr, PoolPolicy::Keep)) if l.obs.vg_uuid.is_none() => Verdict::Dormant(format!(
                "{addr} was destroyed with on_destroy = \"keep\" (the test driver keeps no VG to look at)"
            )),
            Some((addr, PoolPolicy::Keep)) => {
                Verdict::Lost(format!(" with its VG by {addr}, whose on_destroy was \"keep\""))
            }
            Some((addr, PoolPolicy::Delete { force: true })) if unused => Verdict::Consented(format!(
                "with its VG by {addr} (on_destroy = \"delete\", force_destroy = true)"
            )),
            Some((addr, PoolPolicy::Delete { force: true })) => Verdict::Lost(format!(
                " with its VG by {addr} (force_destroy, but a domain uses it)"
            )),
            Some((addr, PoolPolicy::Delete { force: false })) => {
                Verdict::Lost(format!(" with its VG by {addr}, whose force_destroy was false"))
            }
        }
    }

    /// The name of the pool an LV was listed through (test driver).
    pub(crate) fn pool_name(&self, l: &LvEntry) -> Option<&str> {
        let uuid = l.obs.pool_uuid.as_deref()?;
        self.pools.get(uuid).map(|p| p.obs.name.as_str())
    }

    /// Takes in what `w` shows: new objects get `origin`, vanished ones are forgotten (after an
    /// out-of-band step that is the test's own doing; after a Terraform command [`Ledger::check`]
    /// has judged it).
    pub(crate) fn absorb(&mut self, w: &World, origin: Origin) {
        self.pools.retain(|k, _| w.pools.contains_key(k));
        for (k, p) in &w.pools {
            self.pools
                .entry(k.clone())
                .and_modify(|e| e.obs = p.clone())
                .or_insert(Entry {
                    origin,
                    obs: p.clone(),
                });
        }
        self.vgs.retain(|k, _| w.vgs.contains_key(k));
        for (k, name) in &w.vgs {
            self.vgs
                .entry(k.clone())
                .and_modify(|e| e.obs = name.clone())
                .or_insert(Entry {
                    origin,
                    obs: name.clone(),
                });
        }
        self.lvs
            .retain(|k, l| w.lvs.contains_key(k) || w.hidden_vgs.contains(&l.obs.vg));
        for (k, l) in &w.lvs {
            let e = self.lvs.entry(k.clone()).or_insert(LvEntry {
                origin,
                obs: l.clone(),
                sha: None,
            });
            e.obs = l.clone();
            if l.sha.is_some() {
                e.sha = l.sha.clone();
            }
        }
        self.domains.retain(|k, _| w.domains.contains_key(k));
        for (k, d) in &w.domains {
            let e = self.domains.entry(k.clone()).or_insert(DomEntry {
                name: d.name.clone(),
                active: d.active,
                disks: BTreeMap::new(),
            });
            e.name = d.name.clone();
            e.active = d.active;
            e.disks.retain(|slot, disk| d.disks.get(slot) == Some(&disk.src));
            // What a path names can change (an LV made again under it): the next command must spare
            // whatever the disk names now.
            for disk in e.disks.values_mut() {
                if let Some(lv) = w.resolve(&disk.src) {
                    disk.lv = Some(lv);
                }
            }
            for (slot, src) in &d.disks {
                e.disks.entry(slot.clone()).or_insert(DiskEntry {
                    origin,
                    src: src.clone(),
                    lv: w.resolve(src),
                });
            }
        }
    }

    /// Findings after a successful refresh: state entries naming missing or foreign objects.
    pub(crate) fn state_claims(&self, w: &World, state: &TfState) -> Vec<String> {
        let mut out = Vec::new();
        for (addr, a) in &state.res {
            let id = a["id"].as_str().unwrap_or_default();
            if addr.starts_with("libvirt_lvm_pool.") {
                match (w.pools.get(id), self.pools.get(id)) {
                    (None, _) => out.push(format!("state claims missing object: {addr} (pool UUID {id})")),
                    (Some(p), Some(e)) if e.origin == Origin::Foreign => out.push(format!(
                        "state claims foreign object: {addr} = foreign pool {} (UUID {id}, VG {})",
                        p.name, p.vg
                    )),
                    _ => {}
                }
            } else if addr.starts_with("libvirt_lvm_volume.") {
                match (w.lvs.get(id), self.lvs.get(id)) {
                    (None, _) => {
                        let pool = a["pool"].as_str().unwrap_or_default();
                        let hidden = w
                            .pool_by_name(pool)
                            .is_some_and(|(_, p)| w.hidden_vgs.contains(&p.vg));
                        if !hidden {
                            out.push(format!("state claims missing object: {addr} (volume key {id})"));
                        }
                    }
                    (Some(l), Some(e)) if e.origin == Origin::Foreign => out.push(format!(
                        "state claims foreign object: {addr} = foreign LV {}/{} (key {id})",
                        l.vg, l.name
                    )),
                    _ => {}
                }
            } else if addr.starts_with("libvirt_disk_attachment.") {
                let (dom, target) = id.rsplit_once('/').unwrap_or((id, ""));
                let entry = self.domains.get(dom);
                let disk = entry.and_then(|d| {
                    d.disks
                        .get(&(View::Saved, target.to_string()))
                        .or_else(|| d.disks.get(&(View::Live, target.to_string())))
                });
                match disk {
                    None => out.push(format!("state claims missing object: {addr} ({id})")),
                    Some(d) if d.origin == Origin::Foreign => out.push(format!(
                        "state claims foreign object: {addr} = foreign disk {target} of {} ({})",
                        entry.map(|e| e.name.as_str()).unwrap_or_default(),
                        d.src
                    )),
                    _ => {}
                }
            }
        }
        out
    }
}

/// What one Terraform command did, as the judge needs it.
pub(crate) struct Command<'a> {
    /// The state before the command.
    pub(crate) prior: &'a TfState,
    /// Addresses whose destroy Terraform started (`ADDR: Destroying...` in its output): a destroy
    /// the user asked for, whether or not it completed. A resource that left the state without
    /// one (dropped by a refresh) was not destroyed.
    pub(crate) destroyed: &'a BTreeSet<String>,
}

impl Command<'_> {
    /// The volume resource (in the state before the command) whose `id` is `key`, if Terraform
    /// started its destroy.
    pub(crate) fn destroyed_volume(&self, key: &str) -> Option<&str> {
        self.prior
            .res
            .iter()
            .find(|(addr, a)| {
                addr.starts_with("libvirt_lvm_volume.")
                    && a["id"].as_str() == Some(key)
                    && self.destroyed.contains(*addr)
            })
            .map(|(addr, _)| addr.as_str())
    }

    /// The pool resource (in the state before the command) whose attributes match, if Terraform
    /// started its destroy; with the policy its state held.
    pub(crate) fn destroyed_pool(
        &self,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<(String, PoolPolicy)> {
        self.prior
            .pools()
            .find(|(addr, attrs)| matches(attrs) && self.destroyed.contains(*addr))
            .map(|(addr, attrs)| (addr.to_string(), policy(attrs)))
    }
}

/// What a vanished LV means.
pub(crate) enum Verdict {
    /// Sanctioned by the configuration (force_destroy).
    Consented(String),
    /// Out of sight on the test driver, not lost.
    Dormant(String),
    /// Data loss; the text completes "… removed".
    Lost(String),
}

pub(crate) fn policy(attrs: &serde_json::Value) -> PoolPolicy {
    if attrs["on_destroy"].as_str() == Some("delete") {
        PoolPolicy::Delete {
            force: attrs["force_destroy"].as_bool() == Some(true),
        }
    } else {
        PoolPolicy::Keep
    }
}

#[cfg(test)]
mod tests;
