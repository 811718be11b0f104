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
        m.volumes = Some(entries);
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
