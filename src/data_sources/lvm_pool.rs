//! Data source `libvirt_lvm_pool`: an existing logical pool and its volumes.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::resource::DataSource;
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Type};
use crate::names;
use crate::provider::Ctx;

/// The data source type.
pub struct LvmPoolData;

/// Configuration and result.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Model {
    name: String,
    id: Option<String>,
    volume_group: Option<String>,
    source_devices: Option<Vec<String>>,
    target_path: Option<String>,
    capacity: Option<u64>,
    allocation: Option<u64>,
    available: Option<u64>,
    state: Option<String>,
    autostart: Option<bool>,
    volumes: Option<Vec<VolumeEntry>>,
    logical_volumes: Option<Vec<LvEntry>>,
}

/// One LV of the volume group as LVM reports it (libvirt lists only some of them).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct LvEntry {
    name: String,
    kind: String,
    size: u64,
    active: bool,
    open: Option<bool>,
    origin: Option<String>,
    thin_pool: Option<String>,
    data_percent: Option<f64>,
    metadata_percent: Option<f64>,
    listed_by_libvirt: bool,
}

fn lv_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("kind", Type::String),
        ("size", Type::Number),
        ("active", Type::Bool),
        ("open", Type::Bool),
        ("origin", Type::String),
        ("thin_pool", Type::String),
        ("data_percent", Type::Number),
        ("metadata_percent", Type::Number),
        ("listed_by_libvirt", Type::Bool),
    ])
}

/// Every LV of `lvs` (internal ones left out: they belong to the LV that names them), marked
/// with whether libvirt's listing has it (by key, the LV UUID), sorted by name.
fn lv_entries(lvs: Vec<crate::lvm::report::Lv>, libvirt_keys: &[String]) -> Vec<LvEntry> {
    use crate::lvm::report::LvKind;
    let mut out: Vec<LvEntry> = lvs
        .into_iter()
        .filter(|l| l.kind() != LvKind::Internal)
        .map(|l| LvEntry {
            kind: l.kind().as_str().to_string(),
            listed_by_libvirt: libvirt_keys.contains(&l.uuid),
            name: l.name,
            size: l.size,
            active: l.active,
            open: l.open,
            origin: l.origin,
            thin_pool: l.pool_lv,
            data_percent: l.data_percent,
            metadata_percent: l.metadata_percent,
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// One volume of the pool.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct VolumeEntry {
    name: String,
    path: String,
    key: String,
    capacity: u64,
    allocation: u64,
}

fn volume_type() -> Type {
    Type::object([
        ("name", Type::String),
        ("path", Type::String),
        ("key", Type::String),
        ("capacity", Type::Number),
        ("allocation", Type::Number),
    ])
}

#[async_trait]
impl DataSource for LvmPoolData {
    type Ctx = Ctx;
    type Model = Model;
    const TYPE_NAME: &'static str = "libvirt_lvm_pool";

    fn schema() -> Schema {
        Schema::new(
            "Looks up an existing logical (LVM) storage pool by name, with its volumes. Fails when no such pool exists.",
            vec![
                Attribute::string("name")
                    .required()
                    .validate(Validator::Str(names::validate_pool_name))
                    .describe("Name of the libvirt storage pool."),
                Attribute::string("id").computed().describe("The pool's UUID."),
                Attribute::string("volume_group").computed().describe("Name of the LVM volume group."),
                Attribute::typed("source_devices", Type::list(Type::String))
                    .computed()
                    .describe("Block devices of the volume group's physical volumes, as libvirt knows them."),
                Attribute::string("target_path").computed().describe("Directory of the volume group's device nodes, `/dev/<volume_group>`."),
                Attribute::number("capacity").computed().describe("Size of the volume group in bytes."),
                Attribute::number("allocation").computed().describe("Bytes allocated to logical volumes."),
                Attribute::number("available").computed().describe("Bytes free for new volumes."),
                Attribute::string("state").computed().describe("The pool's state as libvirt reports it: `running` or `inactive`."),
                Attribute::bool("autostart").computed().describe("Whether libvirt starts the pool on boot."),
                Attribute::typed("volumes", Type::list(volume_type()))
                    .computed()
                    .describe(
                        "The pool's volumes (empty while the pool is inactive), each with `name`, `path`, `key`, \
                         `capacity` and `allocation` (bytes).",
                    ),
                Attribute::typed("logical_volumes", Type::list(lv_type()))
                    .computed()
                    .describe(
                        "Every logical volume of the volume group as LVM reports it, with LVM's tools (see the \
                         provider's `lvm_tools`; null without them): also the thin pools, thin volumes, snapshots \
                         and inactive LVs libvirt does not list. Each with `name`, `kind` (`plain`, `snapshot`, \
                         `thin-pool`, `thin`, `other`), `size` (bytes; virtual for thin volumes), `active`, `open` \
                         (null when LVM cannot tell), `origin` (of a snapshot), `thin_pool` (of a thin volume), \
                         `data_percent`, `metadata_percent` (thin pools and snapshots) and `listed_by_libvirt`.",
                    ),
            ],
        )
    }

    async fn read(&self, ctx: &Ctx, mut m: Model) -> Result<Model, Diagnostics> {
        let conn = ctx.conn().await?;
        conn.refresh_pool(&m.name).await?;
        let Some(p) = conn.find_pool(&m.name).await? else {
            return Err(Diagnostic::error(
                "Storage Pool Not Found",
                format!(
                    "No storage pool named {:?} exists on {}. Set name to an existing logical pool (see \
                     `virsh pool-list --all`).",
                    m.name,
                    conn.display_uri()
                ),
            )
            .at_attr("name")
            .into());
        };
        if p.xml.pool_type != "logical" {
            return Err(Diagnostic::error(
                "Not A Logical Pool",
                format!(
                    "Storage pool {:?} is of type {:?}, not \"logical\".",
                    m.name, p.xml.pool_type
                ),
            )
            .at_attr("name")
            .into());
        }
        let volumes = if p.active {
            conn.list_volumes(&m.name).await?
        } else {
            Vec::new()
        };
        m.id = Some(p.uuid);
        m.volume_group = Some(p.xml.source.vg_name.clone().unwrap_or_else(|| m.name.clone()));
        m.source_devices = Some(p.xml.source.devices);
        m.target_path = p.xml.target_path;
        m.capacity = Some(p.xml.capacity);
        m.allocation = Some(p.xml.allocation);
        m.available = Some(p.xml.available);
        m.state = Some(if p.active { "running" } else { "inactive" }.into());
        m.autostart = Some(p.autostart);
        let mut entries: Vec<VolumeEntry> = volumes
            .into_iter()
            .map(|v| VolumeEntry {
                key: v.key(),
                path: v.path(),
                name: v.xml.name,
                capacity: v.xml.capacity,
                allocation: v.xml.allocation,
            })
            .collect();
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let keys: Vec<String> = entries.iter().map(|e| e.key.clone()).collect();
        m.volumes = Some(entries);
        m.logical_volumes = match ctx.lvm().await? {
            Some(lvm) => {
                let vg = m.volume_group.clone().unwrap_or_default();
                let lvs = lvm
                    .call(move |l| l.lvs(&vg))
                    .await
                    .map_err(|e| Diagnostic::error("Logical Volumes Could Not Be Read", e.to_string()))?;
                Some(lv_entries(lvs, &keys))
            }
            None => None,
        };
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_lv_but_internal_ones_is_listed_with_its_kind() {
        let json = r#"{"report":[{"lv":[
          {"lv_uuid":"U1","lv_name":"plain","vg_name":"vg","lv_attr":"-wi-ao----","lv_size":"8388608",
           "origin":"","pool_lv":"","lv_role":"public","lv_active":"active","lv_device_open":"open",
           "data_percent":"","metadata_percent":"","lv_tags":"","lv_path":"/dev/vg/plain",
           "chunk_size":"0","lv_metadata_size":"","devices":"/dev/vdb(0)"},
          {"lv_uuid":"U2","lv_name":"tp","vg_name":"vg","lv_attr":"twi-aotz--","lv_size":"16777216",
           "origin":"","pool_lv":"","lv_role":"private","lv_active":"active","lv_device_open":"",
           "data_percent":"12.50","metadata_percent":"10.00","lv_tags":"","lv_path":"",
           "chunk_size":"65536","lv_metadata_size":"4194304","devices":"tp_tdata(0)"},
          {"lv_uuid":"U3","lv_name":"[tp_tdata]","vg_name":"vg","lv_attr":"Twi-ao----","lv_size":"16777216",
           "origin":"","pool_lv":"","lv_role":"private,thin,pool,data","lv_active":"active","lv_device_open":"open",
           "data_percent":"","metadata_percent":"","lv_tags":"","lv_path":"",
           "chunk_size":"0","lv_metadata_size":"","devices":"/dev/vdb(2)"},
          {"lv_uuid":"U4","lv_name":"th","vg_name":"vg","lv_attr":"Vwi-a-tz--","lv_size":"1073741824",
           "origin":"","pool_lv":"tp","lv_role":"public","lv_active":"active","lv_device_open":"",
           "data_percent":"0.00","metadata_percent":"","lv_tags":"","lv_path":"/dev/vg/th",
           "chunk_size":"0","lv_metadata_size":"","devices":""}]}]}"#;
        let lvs = crate::lvm::report::parse_lvs(json).expect("a report");
        let e = lv_entries(lvs, &["U1".to_string()]);
        let names: Vec<(&str, &str, bool)> = e
            .iter()
            .map(|l| (l.name.as_str(), l.kind.as_str(), l.listed_by_libvirt))
            .collect();
        assert_eq!(
            names,
            [
                ("plain", "plain", true),
                ("th", "thin", false),
                ("tp", "thin-pool", false)
            ]
        );
        assert_eq!(e[1].thin_pool.as_deref(), Some("tp"));
        assert_eq!(e[2].data_percent, Some(12.5));
    }

    #[tokio::test]
    async fn a_missing_pool_is_an_error_naming_the_attribute() {
        let d = crate::libvirt::testing::TestDriver::new("");
        let ctx = Ctx::for_tests(&d.uri);
        let m = Model {
            name: "nope".into(),
            ..Default::default()
        };
        let e = LvmPoolData.read(&ctx, m).await.expect_err("not found");
        assert_eq!(e.0[0].summary, "Storage Pool Not Found");
        assert!(e.0[0].detail.contains("\"nope\""), "{}", e.0[0].detail);
    }
}
