//! `moved` blocks from the Go libvirt provider (`dmacvicar/libvirt`): its `libvirt_volume` in a
//! logical pool to `libvirt_lvm_volume`, its `libvirt_pool` of type `logical` to
//! `libvirt_lvm_pool`. Nothing on the hypervisor is created, replaced or written by a move.
//!
//! Terraform asks for a move in a provider process it has not configured (it has no URI then), so
//! a move is two steps:
//!
//! 1. [`volume_state`], [`pool_state`] (MoveResourceState): read the Go provider's state, in
//!    either of its schema generations (v0.6 to v0.8 on the plugin SDK: a volume's `id` is its key
//!    and `size` its capacity; v0.9, the rewrite on the plugin framework: `key`, `capacity`,
//!    `path`), refuse what the state alone shows is not an LV of a logical pool (a key that is a
//!    file's path, a pool of another type), and return the state as the source recorded it
//!    together with what the next step must find.
//! 2. [`moved_volume_key`], [`moved_pool_uuid`] (the refresh that follows in the same plan, configured):
//!    the LV by its key, the pool by its UUID. What is not found, or is not an LV in a logical
//!    pool, is refused with what it is and what to do; what is found is recorded as an import of
//!    it records (`terraform import` by key or UUID), so a configuration that matches the object
//!    plans no change.

use serde::Deserialize;
use serde_json::{json, Value as Json};

use crate::framework::resource::{MoveSource, Moved};
use crate::framework::{Diagnostic, Diagnostics};
use crate::libvirt::Connection;
use crate::provider::Ctx;
use crate::units::format_size;

/// The Go provider's volume type, the only one a `libvirt_lvm_volume` takes.
const GO_VOLUME: &str = "libvirt_volume";
/// The Go provider's pool type, the only one a `libvirt_lvm_pool` takes.
const GO_POOL: &str = "libvirt_pool";

/// Which of the Go provider's schemas wrote a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Generation {
    /// v0.6 to v0.8: terraform-plugin-sdk, libvirt through cgo.
    Sdk,
    /// v0.9 and later: the rewrite on terraform-plugin-framework.
    Framework,
}

impl Generation {
    fn label(self) -> &'static str {
        match self {
            Generation::Sdk => "v0.6-v0.8",
            Generation::Framework => "v0.9",
        }
    }
}

/// A `libvirt_volume` state, as either generation writes it (only what a move reads).
#[derive(Debug, Default, Deserialize)]
struct GoVolume {
    /// The key (both generations).
    id: Option<String>,
    /// The key again (v0.9).
    key: Option<String>,
    name: Option<String>,
    pool: Option<String>,
    /// Capacity in bytes (v0.6 to v0.8).
    size: Option<u64>,
    /// Capacity in bytes (v0.9).
    capacity: Option<u64>,
    /// Device or file path (v0.9).
    path: Option<String>,
    /// `file`, `block`, ... (v0.9).
    #[serde(rename = "type")]
    kind: Option<String>,
    /// A backing volume by key (v0.6 to v0.8).
    base_volume_id: Option<String>,
    /// A backing volume by name (v0.6 to v0.8).
    base_volume_name: Option<String>,
    /// A backing volume (v0.9).
    backing_store: Option<BackingStore>,
}

#[derive(Debug, Default, Deserialize)]
struct BackingStore {
    path: Option<String>,
}

/// A `libvirt_pool` state, as either generation writes it (only what a move reads).
#[derive(Debug, Default, Deserialize)]
struct GoPool {
    /// The UUID (both generations).
    id: Option<String>,
    /// The UUID again (v0.9).
    uuid: Option<String>,
    name: Option<String>,
    /// `dir`, `logical`, ...: required by both, though v0.6.2 leaves it empty after an import.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The target directory (v0.6 to v0.8; deprecated in v0.8).
    path: Option<String>,
    /// `source { name, device { path } }` (v0.8.1 and later, and v0.9).
    source: Option<OneOrList<GoPoolSource>>,
    /// `target { path }` (v0.8.1 and later, and v0.9).
    target: Option<OneOrList<GoPoolTarget>>,
}

/// The plugin SDK stores a nested block as a list of at most one object; the framework stores a
/// nested attribute as the object.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrList<T> {
    One(T),
    List(Vec<T>),
}

impl<T> OneOrList<T> {
    fn first(&self) -> Option<&T> {
        match self {
            OneOrList::One(t) => Some(t),
            OneOrList::List(v) => v.first(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct GoPoolSource {
    name: Option<String>,
    device: Option<Vec<GoDevice>>,
}

#[derive(Debug, Default, Deserialize)]
struct GoDevice {
    path: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct GoPoolTarget {
    path: Option<String>,
}

/// What the first read of a moved volume must find (the moved state's private data).
#[derive(Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
struct PendingVolume {
    /// `libvirt_volume.<name>` of which provider, for messages.
    from: String,
    generation: String,
    key: String,
    pool: String,
    name: String,
}

/// What the first read of a moved pool must find.
#[derive(Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
struct PendingPool {
    from: String,
    generation: String,
    uuid: String,
    name: String,
}

// ------------------------------------------------------------ step 1: the source state

/// The move of a Go provider `libvirt_volume` state to `libvirt_lvm_volume`, before the LV is read.
/// `S` is the volume resource's state, built from what an import records.
pub fn volume_state<S: serde::de::DeserializeOwned>(from: &MoveSource<'_>) -> Result<Moved<S>, Diagnostics> {
    let generation = check_source(from, GO_VOLUME, "libvirt_lvm_volume")?;
    let go: GoVolume = parse(from)?;
    let name = go.name.clone().unwrap_or_default();
    // The SDK generation defaults a volume's pool to "default".
    let pool = go.pool.clone().unwrap_or_else(|| "default".into());
    let key = go
        .key
        .clone()
        .or_else(|| go.id.clone())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| no_key(&pool, &name))?;
    if let Some(what) = not_an_lv(&key, go.kind.as_deref()) {
        return Err(volume_not_lvm(&pool, &name, &key, what).into());
    }
    let capacity = go.size.or(go.capacity);
    let mut warnings = Diagnostics::new();
    let backing = go
        .base_volume_id
        .as_deref()
        .or(go.base_volume_name.as_deref())
        .or(go.backing_store.as_ref().and_then(|b| b.path.as_deref()));
    if let Some(origin) = backing {
        warnings.push(snapshot_warning(&pool, &name, origin));
    }
    let state = json!({
        "id": key,
        "key": key,
        "pool": pool,
        "name": name,
        "capacity": capacity.map_or_else(String::new, format_size),
        "capacity_bytes": capacity,
        "path": go.path,
        "sparse": false,
        "allow_shrink": false,
        "wipe_on_destroy": false,
    });
    let pending = PendingVolume {
        from: from.provider_address.to_string(),
        generation: generation.label().into(),
        key,
        pool,
        name,
    };
    Ok(Moved {
        state: serde_json::from_value(state).map_err(internal)?,
        pending: serde_json::to_value(pending).map_err(internal)?,
        warnings,
    })
}

/// The move of a Go provider `libvirt_pool` state to `libvirt_lvm_pool`, before the pool is read.
/// `S` is the pool resource's state, built from what an import records.
pub fn pool_state<S: serde::de::DeserializeOwned>(from: &MoveSource<'_>) -> Result<Moved<S>, Diagnostics> {
    let generation = check_source(from, GO_POOL, "libvirt_lvm_pool")?;
    let go: GoPool = parse(from)?;
    let name = go.name.clone().unwrap_or_default();
    let uuid = go
        .uuid
        .clone()
        .or_else(|| go.id.clone())
        .filter(|u| looks_like_uuid(u))
        .ok_or_else(|| no_uuid(&name, go.id.as_deref()))?;
    match go.kind.as_deref() {
        Some("logical") => {}
        // v0.6.2 imports pools without their type: the read finds it.
        None | Some("") if generation == Generation::Sdk => {}
        other => return Err(pool_not_logical(&name, other.unwrap_or("(none)")).into()),
    }
    let source = go.source.as_ref().and_then(OneOrList::first);
    let devices: Option<Vec<String>> = source
        .and_then(|s| s.device.as_ref())
        .map(|d| d.iter().filter_map(|d| d.path.clone()).collect());
    let target = go
        .target
        .as_ref()
        .and_then(OneOrList::first)
        .and_then(|t| t.path.clone())
        .or(go.path.clone());
    let state = json!({
        "id": uuid,
        "name": name,
        "volume_group": source.and_then(|s| s.name.clone()),
        "source_devices": devices,
        "overwrite": false,
        "on_destroy": "keep",
        "force_destroy": false,
        "target_path": target,
    });
    let pending = PendingPool {
        from: from.provider_address.to_string(),
        generation: generation.label().into(),
        uuid,
        name,
    };
    Ok(Moved {
        state: serde_json::from_value(state).map_err(internal)?,
        pending: serde_json::to_value(pending).map_err(internal)?,
        warnings: Diagnostics::new(),
    })
}

/// The checks every move makes of where the state comes from; the generation that wrote it.
fn check_source(from: &MoveSource<'_>, source_type: &str, target: &str) -> Result<Generation, Diagnostic> {
    if from.type_name != source_type {
        return Err(Diagnostic::error(
            "Unsupported Move",
            format!(
                "{target} takes the state of the Go libvirt provider's {source_type} only, not of {} ({}). \
                 Point the moved block's `from` at a {source_type}, or remove the moved block.",
                from.type_name, from.provider_address
            ),
        ));
    }
    // The Go provider, whatever registry or mirror it came from, and its forks: a provider whose
    // type is `libvirt` and that has a `libvirt_volume`/`libvirt_pool` (this one has neither).
    if from.provider_address.rsplit('/').next() != Some("libvirt") {
        return Err(Diagnostic::error(
            "Unsupported Move",
            format!(
                "{target} takes the {source_type} of the Go libvirt provider (dmacvicar/libvirt), not of \
                 {}. Remove the moved block.",
                from.provider_address
            ),
        ));
    }
    if from.schema_version != 0 {
        return Err(Diagnostic::error(
            "Unsupported Source Schema",
            format!(
                "This {source_type} state has schema version {} of {}; this provider reads the versions the Go \
                 provider v0.6 to v0.9 write (0). Move it with a newer build of this provider, or use \
                 `terraform import` on {target} instead of the moved block.",
                from.schema_version, from.provider_address
            ),
        ));
    }
    let has = |a: &str| from.state.get(a).is_some();
    match source_type {
        GO_VOLUME if has("size") => Ok(Generation::Sdk),
        GO_VOLUME if has("key") || has("capacity") => Ok(Generation::Framework),
        GO_POOL if has("uuid") => Ok(Generation::Framework),
        GO_POOL if has("id") => Ok(Generation::Sdk),
        _ => Err(Diagnostic::error(
            "Unrecognised Source State",
            format!(
                "This {source_type} state of {} has none of the attributes the Go provider v0.6 to v0.9 write \
                 ({}). Use `terraform import` on {target} instead of the moved block.",
                from.provider_address,
                if source_type == GO_VOLUME {
                    "`size`, or `key` and `capacity`"
                } else {
                    "`id` or `uuid`"
                }
            ),
        )),
    }
}

fn parse<T: for<'de> Deserialize<'de>>(from: &MoveSource<'_>) -> Result<T, Diagnostic> {
    T::deserialize(from.state).map_err(|e| {
        Diagnostic::error(
            "Unrecognised Source State",
            format!(
                "The {} state of {} does not read as the Go libvirt provider v0.6 to v0.9 write it: {e}.",
                from.type_name, from.provider_address
            ),
        )
    })
}

/// Why a volume key is not an LV's, or None when it has an LV UUID's form. libvirt's logical
/// backend keys a volume by its LV UUID (`lvs -o lv_uuid`: 32 letters and digits in groups of
/// 6-4-4-4-4-4-6); every other backend keys it by a path.
fn not_an_lv(key: &str, kind: Option<&str>) -> Option<&'static str> {
    if key.starts_with('/') {
        return Some(match kind {
            Some("block") => "a block device's path",
            _ => "a file's path: a volume of a directory or filesystem pool",
        });
    }
    let groups: Vec<&str> = key.split('-').collect();
    let lengths = [6, 4, 4, 4, 4, 4, 6];
    let lv_uuid = groups.len() == lengths.len()
        && groups
            .iter()
            .zip(lengths)
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_alphanumeric()));
    (!lv_uuid).then_some("not an LV UUID: a volume of a pool that is not logical")
}

fn looks_like_uuid(id: &str) -> bool {
    id.len() == 36 && id.chars().all(|c| c.is_ascii_hexdigit() || c == '-')
}

// ------------------------------------------------------------ step 2: the object

/// The first read of a moved volume: the LV with the recorded key, in a logical pool. Returns
/// the key, which the resource then imports (`terraform import <key>` records the same).
pub async fn moved_volume_key(
    ctx: &Ctx,
    pending: Json,
    notes: &mut Diagnostics,
) -> Result<String, Diagnostics> {
    let p: PendingVolume = serde_json::from_value(pending).map_err(internal)?;
    let conn = ctx.conn().await?;
    // Lookups by key answer from libvirt's listing of each pool: refreshed first, so that an LV
    // removed on the hypervisor since is not taken for present.
    conn.refresh_pool(&p.pool).await?;
    let Some(v) = conn.volume_by_key(&p.key).await? else {
        return Err(lv_not_found(conn, &p).await.into());
    };
    let pool = conn.find_pool(&v.pool).await?;
    let pool_type = pool.as_ref().map_or("(unknown)", |p| p.xml.pool_type.as_str());
    if pool_type != "logical" {
        return Err(volume_not_lvm(
            &v.pool,
            &v.xml.name,
            &p.key,
            &format!("in a pool of type {pool_type:?}"),
        )
        .into());
    }
    if v.pool != p.pool || v.xml.name != p.name {
        notes.push(Diagnostic::warning(
            "Moved Volume Found Under Another Name",
            format!(
                "The Go provider's state recorded {}/{}; the LV with its UUID {} is now {}. It is recorded as it \
                 is: a configuration naming {}/{} would replace it (destroying its data), so name it as found.",
                p.pool,
                p.name,
                p.key,
                v.describe(),
                p.pool,
                p.name
            ),
        ));
    }
    Ok(p.key)
}

/// The first read of a moved pool: the pool with the recorded UUID, of type logical. Returns the
/// UUID, which the resource then imports (`terraform import <uuid>` records the same).
pub async fn moved_pool_uuid(ctx: &Ctx, pending: Json) -> Result<String, Diagnostics> {
    let p: PendingPool = serde_json::from_value(pending).map_err(internal)?;
    let conn = ctx.conn().await?;
    let Some(found) = conn.pool(&p.uuid).await? else {
        return Err(Diagnostic::error(
            "Moved Pool Not Found",
            format!(
                "No storage pool with UUID {} (the Go provider's {:?}) exists on {}, so there is nothing to move \
                 and nothing was recorded. If it was removed, remove the moved block and the Go provider's \
                 libvirt_pool from the configuration (`terraform state rm` it). If it was defined again, it has \
                 another UUID: import that one (`terraform import` on the libvirt_lvm_pool, by name) instead of moving.",
                p.uuid,
                p.name,
                conn.display_uri()
            ),
        )
        .into());
    };
    if found.xml.pool_type != "logical" {
        return Err(pool_not_logical(&found.xml.name, &found.xml.pool_type).into());
    }
    Ok(p.uuid)
}

/// Why the LV of a moved volume is not there, and what to do.
async fn lv_not_found(conn: &Connection, p: &PendingVolume) -> Diagnostic {
    let why = match conn.find_pool(&p.pool).await {
        Ok(Some(pool)) if !pool.active => format!(
            "Pool {:?} is stopped, so its volumes cannot be read: start it (`virsh pool-start {}`) and plan again.",
            p.pool, p.pool
        ),
        Ok(Some(_)) => format!(
            "Pool {:?} has no LV with that UUID: it was removed or made again (a new LV has a new UUID). If it is \
             gone, remove the moved block and `terraform state rm` the Go provider's libvirt_volume. If another LV \
             now has the name, import that one (`terraform import` on the libvirt_lvm_volume, by \"{}/{}\") instead \
             of moving.",
            p.pool, p.pool, p.name
        ),
        _ => format!(
            "Pool {:?} does not exist on this hypervisor. Check the provider's uri; if the pool and its LV are gone, \
             remove the moved block and `terraform state rm` the Go provider's libvirt_volume.",
            p.pool
        ),
    };
    Diagnostic::error(
        "Moved Volume Not Found",
        format!(
            "No LV with UUID {} (the Go provider's volume {}/{}) exists on {}, so there is nothing to move and nothing \
             was recorded. {why}",
            p.key,
            p.pool,
            p.name,
            conn.display_uri()
        ),
    )
}

// ------------------------------------------------------------ diagnostics

fn volume_not_lvm(pool: &str, name: &str, key: &str, what: &str) -> Diagnostic {
    Diagnostic::error(
        "Not An LVM Volume",
        format!(
            "Volume {pool}/{name} (key {key:?}) is {what}; libvirt_lvm_volume manages logical volumes of `logical` \
             pools only, so it cannot take this volume and nothing was moved. Keep it with the Go provider: remove \
             this moved block and keep its libvirt_volume (with the Go provider in required_providers)."
        ),
    )
}

fn pool_not_logical(name: &str, kind: &str) -> Diagnostic {
    Diagnostic::error(
        "Not A Logical Pool",
        format!(
            "Storage pool {name:?} is of type {kind:?}; libvirt_lvm_pool manages pools of type `logical` only, so it \
             cannot take this pool and nothing was moved. Keep it with the Go provider: remove this moved block and \
             keep its libvirt_pool."
        ),
    )
}

fn no_key(pool: &str, name: &str) -> Diagnostic {
    Diagnostic::error(
        "Nothing To Move",
        format!(
            "The Go provider's state of volume {pool}/{name} records no key: its create never completed, so no LV \
             can be shown to be it. Remove the moved block; to manage an LV of that name, import it (`terraform \
             import` on the libvirt_lvm_volume, by \"{pool}/{name}\")."
        ),
    )
}

fn no_uuid(name: &str, id: Option<&str>) -> Diagnostic {
    Diagnostic::error(
        "Nothing To Move",
        format!(
            "The Go provider's state of pool {name:?} records no pool UUID (id {id:?}), so no pool can be shown to \
             be it. Remove the moved block; to manage the pool, import it (`terraform import` on the \
             libvirt_lvm_pool, by name)."
        ),
    )
}

fn snapshot_warning(pool: &str, name: &str, origin: &str) -> Diagnostic {
    Diagnostic::warning(
        "Moved Volume Has A Backing Volume",
        format!(
            "The Go provider made {pool}/{name} over a backing volume ({origin}); on a logical pool libvirt makes such a \
             volume as an LVM snapshot of that LV. It moves as it is and stays a snapshot: removing its origin LV \
             removes it too, and it fails if its snapshot space fills up."
        ),
    )
}

fn internal(e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(
        "Provider Internal Error",
        format!("moving a Go provider state: {e}. This is a bug in the provider; please report it."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::Resource;
    use crate::libvirt::testing::TestDriver;
    use crate::resources::lvm_pool::{self, LvmPool};
    use crate::resources::lvm_volume::{self, LvmVolume};

    /// The resource's own hook, which checks with [`moved_volume_key`] and imports.
    async fn adopt_volume(
        ctx: &Ctx,
        pending: Json,
        notes: &mut Diagnostics,
    ) -> Result<lvm_volume::State, Diagnostics> {
        LvmVolume.adopt_moved(ctx, pending, notes).await
    }

    /// The resource's own hook, which checks with [`moved_pool_uuid`] and imports.
    async fn adopt_pool(
        ctx: &Ctx,
        pending: Json,
        notes: &mut Diagnostics,
    ) -> Result<lvm_pool::State, Diagnostics> {
        LvmPool.adopt_moved(ctx, pending, notes).await
    }

    const GO: &str = "registry.terraform.io/dmacvicar/libvirt";
    const V062: &str = include_str!("../../acceptance-tests/fixtures/go-provider/v0.6.2/recorded.tfstate");
    const V097: &str =
        include_str!("../../acceptance-tests/fixtures/go-provider/v0.9.7/hand-written.tfstate");

    /// The attributes of `<type>.<name>` in a state file.
    fn attrs(state: &str, ty: &str, name: &str) -> Json {
        let s: Json = serde_json::from_str(state).expect("a state file");
        s["resources"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == ty && r["name"] == name)
            .unwrap_or_else(|| panic!("{ty}.{name} in the fixture"))["instances"][0]["attributes"]
            .clone()
    }

    fn source<'a>(type_name: &'a str, state: &'a Json) -> MoveSource<'a> {
        MoveSource {
            provider_address: GO,
            type_name,
            schema_version: 0,
            state,
        }
    }

    fn summary(r: Result<impl std::fmt::Debug, Diagnostics>) -> (String, String) {
        let d = r.expect_err("refused");
        let first = d.0.first().expect("a diagnostic").clone();
        (first.summary, first.detail)
    }

    #[test]
    fn volumes_of_both_generations_move_as_their_state_records_them() {
        for (fixture, name, key, pool, size, generation) in [
            (
                V062,
                "data",
                "HaMD34-zAq1-Ne9W-J24Q-84tS-T6Ie-PSUVJz",
                "govg",
                64u64 << 20,
                "v0.6-v0.8",
            ),
            (
                V097,
                "data",
                "XR48a9-pb1J-D8ge-AcOl-CdWD-RuyQ-GroQgQ",
                "govg09",
                64 << 20,
                "v0.9",
            ),
        ] {
            let go = attrs(fixture, "libvirt_volume", name);
            let moved = volume_state::<lvm_volume::State>(&source("libvirt_volume", &go)).expect("moved");
            let s = serde_json::to_value(&moved.state).expect("state as JSON");
            assert_eq!(s["key"], key, "{s}");
            assert_eq!(s["id"], key, "{s}");
            assert_eq!(s["pool"], pool, "{s}");
            assert_eq!(s["capacity"], "64MiB", "{s}");
            assert_eq!(s["capacity_bytes"], size, "{s}");
            assert!(moved.warnings.0.is_empty(), "{:?}", moved.warnings);
            let p: PendingVolume = serde_json::from_value(moved.pending).expect("pending");
            assert_eq!(
                (p.key.as_str(), p.pool.as_str(), p.generation.as_str()),
                (key, pool, generation)
            );
            assert_eq!(p.from, GO);
        }
    }

    #[test]
    fn logical_pools_of_both_generations_move_and_the_imported_v062_pool_too() {
        // v0.6.2 imports a pool without its type: the read decides.
        let go = attrs(V062, "libvirt_pool", "vg");
        assert!(go["type"].is_null());
        let moved = pool_state::<lvm_pool::State>(&source("libvirt_pool", &go)).expect("moved");
        let s = serde_json::to_value(&moved.state).expect("state");
        assert_eq!(s["id"], "40ec4cce-b218-474a-9b86-c8907e761236");
        assert_eq!(s["name"], "govg");
        assert_eq!(s["target_path"], "/dev/govg");
        assert_eq!(s["on_destroy"], "keep");

        let go = attrs(V097, "libvirt_pool", "vg");
        let moved = pool_state::<lvm_pool::State>(&source("libvirt_pool", &go)).expect("moved");
        let s = serde_json::to_value(&moved.state).expect("state");
        assert_eq!(s["id"], "5a9a3b1e-2f0c-4d3b-9c61-0e7f4b2d8a11");
        assert_eq!(s["volume_group"], "govg09");
        assert_eq!(s["source_devices"], json!(["/dev/vdc"]));
        assert_eq!(s["target_path"], "/dev/govg09");
        let p: PendingPool = serde_json::from_value(moved.pending).expect("pending");
        assert_eq!(p.generation, "v0.9");

        // v0.8's blocks are lists of one object.
        let v08 = json!({"id": "40ec4cce-b218-474a-9b86-c8907e761236", "name": "vg", "type": "logical",
            "source": [{"name": "vgx", "device": [{"path": "/dev/sdb"}, {"path": "/dev/sdc"}]}],
            "target": [{"path": "/dev/vgx"}], "path": null, "xml": []});
        let s = serde_json::to_value(
            pool_state::<lvm_pool::State>(&source("libvirt_pool", &v08))
                .expect("moved")
                .state,
        )
        .expect("state");
        assert_eq!(s["volume_group"], "vgx");
        assert_eq!(s["source_devices"], json!(["/dev/sdb", "/dev/sdc"]));
        assert_eq!(s["target_path"], "/dev/vgx");
    }

    #[test]
    fn volumes_of_directory_pools_are_refused_for_what_they_are() {
        for fixture in [V062, V097] {
            let go = attrs(fixture, "libvirt_volume", "file");
            let (summary, detail) =
                summary(volume_state::<lvm_volume::State>(&source("libvirt_volume", &go)));
            assert_eq!(summary, "Not An LVM Volume");
            assert!(
                detail.contains("a file's path: a volume of a directory"),
                "{detail}"
            );
            assert!(detail.contains("remove this moved block"), "{detail}");
        }
        // A key that is neither a path nor an LV UUID (another backend's).
        let go = json!({"id": "iqn.2004-04.com.qnap:lun-0", "name": "x", "pool": "iscsi", "size": 1});
        let (summary, detail) = summary(volume_state::<lvm_volume::State>(&source("libvirt_volume", &go)));
        assert_eq!(summary, "Not An LVM Volume");
        assert!(detail.contains("not an LV UUID"), "{detail}");
    }

    #[test]
    fn pools_of_other_types_are_refused() {
        let go = attrs(V062, "libvirt_pool", "images");
        let (summary, detail) = summary(pool_state::<lvm_pool::State>(&source("libvirt_pool", &go)));
        assert_eq!(summary, "Not A Logical Pool");
        assert!(detail.contains("\"goimages\" is of type \"dir\""), "{detail}");
        // v0.9 always records the type: none is not logical.
        let mut go = attrs(V097, "libvirt_pool", "vg");
        go["type"] = Json::Null;
        assert_eq!(
            summary_of(pool_state::<lvm_pool::State>(&source("libvirt_pool", &go))),
            "Not A Logical Pool"
        );
    }

    fn summary_of(r: Result<impl std::fmt::Debug, Diagnostics>) -> String {
        summary(r).0
    }

    #[test]
    fn states_that_name_no_object_or_come_from_elsewhere_are_refused() {
        let go = attrs(V062, "libvirt_volume", "data");
        let mut no_key = go.clone();
        no_key["id"] = json!("");
        assert_eq!(
            summary_of(volume_state::<lvm_volume::State>(&source(
                "libvirt_volume",
                &no_key
            ))),
            "Nothing To Move"
        );
        let mut pool = attrs(V062, "libvirt_pool", "vg");
        pool["id"] = json!("govg");
        assert_eq!(
            summary_of(pool_state::<lvm_pool::State>(&source("libvirt_pool", &pool))),
            "Nothing To Move"
        );

        // A pool's state offered to the volume type, and the other way round.
        let (s, d) = summary(volume_state::<lvm_volume::State>(&source("libvirt_pool", &go)));
        assert_eq!(s, "Unsupported Move");
        assert!(
            d.contains("takes the state of the Go libvirt provider's libvirt_volume only"),
            "{d}"
        );
        assert_eq!(
            summary_of(pool_state::<lvm_pool::State>(&source("libvirt_volume", &go))),
            "Unsupported Move"
        );
        // Another provider's type of the same name.
        let other = MoveSource {
            provider_address: "registry.terraform.io/example/storage",
            ..source("libvirt_volume", &go)
        };
        assert_eq!(
            summary_of(volume_state::<lvm_volume::State>(&other)),
            "Unsupported Move"
        );
        // A schema version the Go provider never wrote.
        let newer = MoveSource {
            schema_version: 1,
            ..source("libvirt_volume", &go)
        };
        assert_eq!(
            summary_of(volume_state::<lvm_volume::State>(&newer)),
            "Unsupported Source Schema"
        );
        // Neither generation's attributes.
        let odd = json!({"id": "HaMD34-zAq1-Ne9W-J24Q-84tS-T6Ie-PSUVJz", "name": "x"});
        assert_eq!(
            summary_of(volume_state::<lvm_volume::State>(&source("libvirt_volume", &odd))),
            "Unrecognised Source State"
        );
        // An attribute of an unexpected type.
        let mut bad = go.clone();
        bad["size"] = json!("64M");
        assert_eq!(
            summary_of(volume_state::<lvm_volume::State>(&source("libvirt_volume", &bad))),
            "Unrecognised Source State"
        );
    }

    #[test]
    fn a_volume_over_a_backing_volume_moves_with_a_warning() {
        let mut go = attrs(V062, "libvirt_volume", "data");
        go["base_volume_id"] = json!("Qk3mZ1-aaaa-bbbb-cccc-dddd-eeee-ffffff");
        let moved = volume_state::<lvm_volume::State>(&source("libvirt_volume", &go)).expect("moved");
        assert_eq!(moved.warnings.0[0].summary, "Moved Volume Has A Backing Volume");
        let mut go = attrs(V097, "libvirt_volume", "data");
        go["backing_store"] = json!({"path": "/dev/govg09/base", "format": null, "permissions": null});
        let moved = volume_state::<lvm_volume::State>(&source("libvirt_volume", &go)).expect("moved");
        assert!(moved.warnings.0[0].detail.contains("/dev/govg09/base"));
    }

    #[test]
    fn lv_uuids_are_told_from_other_keys() {
        assert_eq!(not_an_lv("HaMD34-zAq1-Ne9W-J24Q-84tS-T6Ie-PSUVJz", None), None);
        assert!(not_an_lv("/dev/sdb", Some("block")).is_some_and(|w| w.contains("block device")));
        assert!(not_an_lv("/var/lib/libvirt/images/a.qcow2", None).is_some());
        for not in [
            "HaMD34-zAq1-Ne9W-J24Q-84tS-T6Ie",
            "HaMD3-zAq1-Ne9W-J24Q-84tS-T6Ie-PSUVJzz",
            "HaMD34-zAq1-Ne9W-J24Q-84tS-T6Ie-PSUVJ!",
            "",
        ] {
            assert!(not_an_lv(not, None).is_some(), "{not}");
        }
    }

    // ------------------------------------------------------------ the first read, on the test driver

    const LV_KEY: &str = "Ab12Cd-0000-1111-2222-3333-4444-Ef56Gh";

    /// A logical pool `vg` holding `lv` (key [`LV_KEY`]) and, beside the default directory pool,
    /// nothing else.
    fn driver() -> TestDriver {
        TestDriver::new(&format!(
            "<pool type='logical'><name>vg</name><uuid>6c0b1f4a-1d2e-4f3a-8b5c-9d0e1f2a3b4c</uuid>\
             <source><device path='/dev/sdz'/><name>vg</name><format type='lvm2'/></source>\
             <target><path>/dev/vg</path></target>\
             <volume type='block'><name>lv</name><key>{LV_KEY}</key>\
             <capacity unit='bytes'>67108864</capacity><allocation unit='bytes'>67108864</allocation>\
             <target><path>/dev/vg/lv</path></target></volume></pool>"
        ))
    }

    fn pending_volume(key: &str, pool: &str, name: &str) -> Json {
        serde_json::to_value(PendingVolume {
            from: GO.into(),
            generation: "v0.6-v0.8".into(),
            key: key.into(),
            pool: pool.into(),
            name: name.into(),
        })
        .expect("pending")
    }

    #[tokio::test]
    async fn the_first_read_records_what_an_import_records() {
        let d = driver();
        let ctx = Ctx::for_tests(&d.uri);
        let mut notes = Diagnostics::new();
        let adopted = adopt_volume(&ctx, pending_volume(LV_KEY, "vg", "lv"), &mut notes)
            .await
            .expect("adopted");
        assert!(notes.0.is_empty(), "{notes:?}");
        let imported = LvmVolume.import(&ctx, LV_KEY).await.expect("import");
        let (a, i) = (
            serde_json::to_value(&adopted).expect("json"),
            serde_json::to_value(&imported).expect("json"),
        );
        assert_eq!(a, i);
        assert_eq!(a["path"], "/dev/vg/lv");
        assert_eq!(a["sparse"], false);

        // Found under another name than the Go provider recorded: recorded as found, with a warning.
        let mut notes = Diagnostics::new();
        let adopted = adopt_volume(&ctx, pending_volume(LV_KEY, "vg", "old-name"), &mut notes)
            .await
            .expect("adopted");
        assert_eq!(serde_json::to_value(&adopted).expect("json")["name"], "lv");
        assert_eq!(notes.0[0].summary, "Moved Volume Found Under Another Name");

        let pending = serde_json::to_value(PendingPool {
            from: GO.into(),
            generation: "v0.6-v0.8".into(),
            uuid: "6c0b1f4a-1d2e-4f3a-8b5c-9d0e1f2a3b4c".into(),
            name: "vg".into(),
        })
        .expect("pending");
        let adopted = adopt_pool(&ctx, pending, &mut Diagnostics::new())
            .await
            .expect("adopted");
        let imported = LvmPool
            .import(&ctx, "6c0b1f4a-1d2e-4f3a-8b5c-9d0e1f2a3b4c")
            .await
            .expect("import");
        assert_eq!(
            serde_json::to_value(&adopted).expect("json"),
            serde_json::to_value(&imported).expect("json")
        );
    }

    #[tokio::test]
    async fn the_first_read_refuses_what_is_gone_or_not_an_lv() {
        let d = driver();
        let ctx = Ctx::for_tests(&d.uri);
        let conn = ctx.conn().await.expect("conn");
        let (s, detail) = summary(
            adopt_volume(
                &ctx,
                pending_volume("Zz12Cd-0000-1111-2222-3333-4444-Ef56Gh", "vg", "lv"),
                &mut Diagnostics::new(),
            )
            .await,
        );
        assert_eq!(s, "Moved Volume Not Found");
        assert!(
            detail.contains("Pool \"vg\" has no LV with that UUID"),
            "{detail}"
        );
        assert!(detail.contains("terraform state rm"), "{detail}");
        let (_, detail) = summary(
            adopt_volume(
                &ctx,
                pending_volume("Zz12Cd-0000-1111-2222-3333-4444-Ef56Gh", "nopool", "lv"),
                &mut Diagnostics::new(),
            )
            .await,
        );
        assert!(detail.contains("Pool \"nopool\" does not exist"), "{detail}");

        // A volume of the directory pool, found by its key: what it is, whatever the state said.
        conn.create_volume(
            "default-pool",
            &crate::libvirt::volume::NewVolume::plain("f", 1 << 20),
        )
        .await
        .expect("create");
        let (s, detail) = summary(
            adopt_volume(
                &ctx,
                pending_volume("/default-pool/f", "default-pool", "f"),
                &mut Diagnostics::new(),
            )
            .await,
        );
        assert_eq!(s, "Not An LVM Volume");
        assert!(detail.contains("in a pool of type \"dir\""), "{detail}");

        // The pool: not there, and not logical.
        let pool = |uuid: &str| {
            serde_json::to_value(PendingPool {
                from: GO.into(),
                generation: "v0.9".into(),
                uuid: uuid.into(),
                name: "p".into(),
            })
            .expect("pending")
        };
        let (s, _) = summary(
            adopt_pool(
                &ctx,
                pool("00000000-0000-4000-8000-000000000001"),
                &mut Diagnostics::new(),
            )
            .await,
        );
        assert_eq!(s, "Moved Pool Not Found");
        let (s, detail) = summary(
            adopt_pool(
                &ctx,
                pool("dfe224cb-28fb-8dd0-c4b2-64eb3f0f4566"),
                &mut Diagnostics::new(),
            )
            .await,
        );
        assert_eq!(s, "Not A Logical Pool");
        assert!(detail.contains("\"default-pool\" is of type \"dir\""), "{detail}");

        // A stopped pool: its volumes cannot be listed; start it.
        conn.stop_pool(&crate::libvirt::facts::pool::PoolIdentity {
            uuid: "6c0b1f4a-1d2e-4f3a-8b5c-9d0e1f2a3b4c".into(),
            name: "vg".into(),
            vg: "vg".into(),
        })
        .await
        .expect("stop");
        let (s, detail) =
            summary(adopt_volume(&ctx, pending_volume(LV_KEY, "vg", "lv"), &mut Diagnostics::new()).await);
        assert_eq!(s, "Moved Volume Not Found");
        assert!(detail.contains("virsh pool-start vg"), "{detail}");
    }
}
