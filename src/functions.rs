//! Provider-defined functions (Terraform 1.8+): sizes spelled the way the
//! volume resource reads them.
//!
//! `provider::libvirt::parse_size("10GiB")` → `10737418240`
//! `provider::libvirt::format_size(10737418240)` → `"10GiB"`

use crate::framework::{Function, FunctionError, Param, Type, Value};
use crate::units;

/// The functions this provider offers.
pub fn functions() -> Vec<Function> {
    vec![
        Function {
            name: "parse_size",
            summary: "Parse a size with a unit into bytes",
            description: "Returns the number of bytes in a size written as the `capacity` of \
                `libvirt_lvm_volume` accepts it: a plain number of bytes, or a number with a unit. \
                `K`, `M`, `G`, `T`, `P` and `KiB`…`PiB` are powers of 1024 (as in virsh); `KB`…`PB` are \
                powers of 1000; `B` is bytes. Example: `parse_size(\"1.5GiB\")` is `1610612736`.",
            params: vec![Param {
                name: "size",
                ty: Type::String,
                description: "The size, such as `\"10GiB\"` or `\"512M\"`.",
            }],
            ret: Type::Number,
            call: |args| {
                let s = args
                    .first()
                    .and_then(Value::as_str)
                    .ok_or_else(|| FunctionError::argument(0, "size must be a string"))?;
                units::parse_size(s)
                    .map(Value::from)
                    .map_err(|e| FunctionError::argument(0, e.to_string()))
            },
        },
        Function {
            name: "format_size",
            summary: "Format a number of bytes with the largest exact binary unit",
            description: "Returns the canonical spelling of a size: the largest of `KiB`, `MiB`, `GiB`, \
                `TiB`, `PiB` that divides the number exactly, else plain bytes. This is the spelling the \
                provider writes into `capacity` after an import or an out-of-band resize. Example: \
                `format_size(1610612736)` is `\"1536MiB\"`.",
            params: vec![Param {
                name: "bytes",
                ty: Type::Number,
                description: "A whole, non-negative number of bytes.",
            }],
            ret: Type::String,
            call: |args| {
                let n = args.first().and_then(Value::as_u64).ok_or_else(|| {
                    FunctionError::argument(0, "bytes must be a whole, non-negative number")
                })?;
                Ok(Value::from(units::format_size(n)))
            },
        },
    ]
}
