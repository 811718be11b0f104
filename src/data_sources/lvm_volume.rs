//! Data source `libvirt_lvm_volume`: an existing volume, by pool and name or by path.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::framework::resource::DataSource;
use crate::framework::schema::{Attribute, Validator};
use crate::framework::{Diagnostic, Diagnostics, Schema, Value};
use crate::names;
use crate::provider::Ctx;

/// The data source type.
pub struct LvmVolumeData;

/// Configuration and result.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Model {
    pool: Option<String>,
    name: Option<String>,
    path: Option<String>,
    key: Option<String>,
    capacity: Option<u64>,
    allocation: Option<u64>,
}

#[async_trait]
impl DataSource for LvmVolumeData {
    type Ctx = Ctx;
    type Model = Model;
    const TYPE_NAME: &'static str = "libvirt_lvm_volume";

    fn schema() -> Schema {
        Schema::new(
            "Looks up an existing storage volume, either by `pool` and `name` or by `path`. Fails when no such volume exists.",
            vec![
                Attribute::string("pool")
                    .optional()
                    .computed()
                    .validate(Validator::Str(names::validate_pool_name))
                    .describe("Name of the storage pool. Set with `name`, or leave unset and give `path`."),
                Attribute::string("name").optional().computed().describe("Name of the volume; give it together with `pool`."),
                Attribute::string("path")
                    .optional()
                    .computed()
                    .validate(Validator::Str(names::validate_device_path))
                    .describe("Device path of the volume, such as `/dev/vg0/data`, instead of `pool` and `name`."),
                Attribute::string("key").computed().describe("libvirt's key of the volume (the LV UUID)."),
                Attribute::number("capacity").computed().describe("Size in bytes."),
                Attribute::number("allocation").computed().describe("Bytes allocated on the volume group."),
            ],
        )
    }

    fn validate(config: &Value, diags: &mut Diagnostics) {
        let set = |n: &str| config.attr(n).is_some_and(|v| !v.is_null());
        let known = ["pool", "name", "path"]
            .iter()
            .all(|n| config.attr(n).is_none_or(Value::is_known));
        if !known {
            return;
        }
        match (set("pool"), set("name"), set("path")) {
            (true, true, false) | (false, false, true) => {}
            (_, _, true) => diags.attr_error(
                "path",
                "Conflicting Lookup",
                "Give either path, or pool and name, not both.",
            ),
            _ => diags.attr_error(
                "name",
                "Incomplete Lookup",
                "Give both pool and name (for example pool = \"vg0\", name = \"data\"), or path.",
            ),
        }
    }

    async fn read(&self, ctx: &Ctx, mut m: Model) -> Result<Model, Diagnostics> {
        let conn = ctx.conn().await?;
        let found = match (&m.path, &m.pool, &m.name) {
            (Some(path), _, _) => conn.volume_by_path(path).await?,
            (None, Some(pool), Some(name)) => {
                conn.refresh_pool(pool).await?;
                conn.find_volume(pool, name).await?
            }
            _ => None,
        };
        let Some(v) = found else {
            let what = match (&m.path, &m.pool, &m.name) {
                (Some(p), _, _) => format!("at path {p:?}"),
                (_, Some(p), Some(n)) => format!("named {n:?} in pool {p:?}"),
                _ => "without pool and name or path".to_string(),
            };
            let (attr, fix) = if m.path.is_some() {
                (
                    "path",
                    "Set path to an existing volume's device path, /dev/<volume group>/<name>",
                )
            } else {
                (
                    "name",
                    "Set pool and name to an existing volume (see `virsh vol-list <pool>`)",
                )
            };
            return Err(Diagnostic::error(
                "Storage Volume Not Found",
                format!(
                    "No storage volume {what} exists on {}. {fix}.",
                    conn.display_uri()
                ),
            )
            .at_attr(attr)
            .into());
        };
        m.key = Some(v.key());
        m.path = Some(v.path());
        m.pool = Some(v.pool.clone());
        m.name = Some(v.xml.name.clone());
        m.capacity = Some(v.xml.capacity);
        m.allocation = Some(v.xml.allocation);
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_missing_volume_is_an_error_naming_the_attribute() {
        let d = crate::libvirt::testing::TestDriver::new("");
        let ctx = Ctx::for_tests(&d.uri);
        for (m, attr) in [
            (
                Model {
                    pool: Some("default-pool".into()),
                    name: Some("nope".into()),
                    ..Default::default()
                },
                "name",
            ),
            (
                Model {
                    path: Some("/default-pool/nope".into()),
                    ..Default::default()
                },
                "path",
            ),
        ] {
            let e = LvmVolumeData.read(&ctx, m).await.expect_err("not found");
            assert_eq!(e.0[0].summary, "Storage Volume Not Found");
            assert_eq!(
                e.0[0].attribute.as_ref().map(ToString::to_string).as_deref(),
                Some(attr)
            );
        }
    }
}
