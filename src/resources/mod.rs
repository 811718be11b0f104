//! Managed resource types, one module each (a directory when it has parts), and the list of them:
//! adding a resource is its module and two lines here. `moved` reads the Go provider's states for
//! the resources' `moved` hooks.

use crate::framework::resource::{AnyResource, Erased};
use crate::framework::{Diagnostic, Diagnostics, Value};
use crate::provider::Ctx;

pub mod disk_attachment;
mod lv_common;
pub mod lvm_pool;
pub mod lvm_snapshot;
pub mod lvm_thin_pool;
pub mod lvm_thin_volume;
pub mod lvm_volume;
pub mod moved;

/// Every managed resource type, as the provider serves them.
pub fn all() -> Vec<Box<dyn AnyResource<Ctx>>> {
    vec![
        Box::new(Erased::new(lvm_pool::LvmPool)),
        Box::new(Erased::new(lvm_volume::LvmVolume)),
        Box::new(Erased::new(disk_attachment::DiskAttachment)),
        Box::new(Erased::new(lvm_thin_pool::LvmThinPool)),
        Box::new(Erased::new(lvm_thin_volume::LvmThinVolume)),
        Box::new(Erased::new(lvm_snapshot::LvmSnapshot)),
    ]
}

/// The import id an identity stands for: its string attributes `names`, joined by `/`. Each must be
/// set, not empty and without a `/` (no libvirt pool, domain or disk target, nor LVM volume, has one
/// in its name): the import id is split at `/`, and an identity whose parts moved across the
/// separator, or whose first part is empty (`{pool = "", name = "dev/vg/lv"}` reads as the path
/// `/dev/vg/lv`), would name another object than the one it says.
pub(crate) fn import_id_from_identity(identity: &Value, names: &[&str]) -> Result<String, Diagnostics> {
    let mut parts = Vec::with_capacity(names.len());
    for name in names {
        let problem = match identity.attr(name) {
            Some(Value::String(v)) if v.is_empty() => "is empty",
            Some(Value::String(v)) if v.contains('/') => "contains \"/\"",
            Some(Value::String(v)) => {
                parts.push(v.as_str());
                continue;
            }
            _ => "is missing",
        };
        return Err(Diagnostic::error(
            "Invalid Identity",
            format!(
                "The identity's {name} {problem}: an identity needs {}, each a name without \"/\".",
                names.join(" and ")
            ),
        )
        .into());
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_from_identities_refuse_missing_empty_and_slashed_parts() {
        let id = |pairs: &[(&str, Value)]| Value::object(pairs.iter().cloned());
        let s = |v: &str| Value::from(v);
        let names = ["pool", "name"];
        assert_eq!(
            import_id_from_identity(&id(&[("pool", s("p")), ("name", s("v"))]), &names).ok(),
            Some("p/v".to_string())
        );
        for (identity, attr, problem) in [
            (
                id(&[("pool", Value::Null), ("name", s("v"))]),
                "pool",
                "is missing",
            ),
            (id(&[("name", s("v"))]), "pool", "is missing"),
            (
                id(&[("pool", s("p")), ("name", Value::Null)]),
                "name",
                "is missing",
            ),
            (
                id(&[("pool", s("")), ("name", s("dev/vg/lv"))]),
                "pool",
                "is empty",
            ),
            (id(&[("pool", s("p")), ("name", s(""))]), "name", "is empty"),
            (id(&[("pool", s("p/q")), ("name", s("v"))]), "pool", "contains"),
            (id(&[("pool", s("p")), ("name", s("a/b"))]), "name", "contains"),
        ] {
            let d = import_id_from_identity(&identity, &names).expect_err("refused");
            let text = format!("{d:?}");
            assert!(
                text.contains("Invalid Identity") && text.contains(&format!("{attr} {problem}")),
                "{identity:?}: {text}"
            );
        }
    }

    #[test]
    fn every_schema_is_one_terraform_accepts() {
        for r in all() {
            if let Err(e) = r.schema().check() {
                panic!("{}: {e}", r.type_name());
            }
        }
    }
}
