//! Provider-defined functions (Terraform 1.8+): sizes spelled the way the
//! volume resource reads them.
//!
//! `provider::libvirt::parse_size("10GiB")` → `10737418240`
//! `provider::libvirt::format_size(10737418240)` → `"10GiB"`

use std::collections::HashMap;

use crate::framework::{msgpack, Type, Value};
use crate::proto::tfplugin6 as pb;
use crate::units;

/// A function's failure: the message and the index of the argument at fault.
type CallError = (String, Option<i64>);

struct Function {
    name: &'static str,
    summary: &'static str,
    description: &'static str,
    params: &'static [(&'static str, Type, &'static str)],
    ret: Type,
    call: fn(&[Value]) -> Result<Value, CallError>,
}

/// The functions this provider offers.
pub struct Functions(Vec<Function>);

impl Default for Functions {
    fn default() -> Self {
        Self::new()
    }
}

impl Functions {
    /// All of them.
    pub fn new() -> Self {
        Functions(vec![
            Function {
                name: "parse_size",
                summary: "Parse a size with a unit into bytes",
                description: "Returns the number of bytes in a size written as the `capacity` of \
                    `libvirt_lvm_volume` accepts it: a plain number of bytes, or a number with a unit. \
                    `K`, `M`, `G`, `T`, `P` and `KiB`…`PiB` are powers of 1024 (as in virsh); `KB`…`PB` are \
                    powers of 1000; `B` is bytes. Example: `parse_size(\"1.5GiB\")` is `1610612736`.",
                params: &[(
                    "size",
                    Type::String,
                    "The size, such as `\"10GiB\"` or `\"512M\"`.",
                )],
                ret: Type::Number,
                call: |args| {
                    let s = args
                        .first()
                        .and_then(Value::as_str)
                        .ok_or(("size must be a string".to_string(), Some(0)))?;
                    units::parse_size(s)
                        .map(Value::from)
                        .map_err(|e| (e.to_string(), Some(0)))
                },
            },
            Function {
                name: "format_size",
                summary: "Format a number of bytes with the largest exact binary unit",
                description: "Returns the canonical spelling of a size: the largest of `KiB`, `MiB`, `GiB`, \
                    `TiB`, `PiB` that divides the number exactly, else plain bytes. This is the spelling the \
                    provider writes into `capacity` after an import or an out-of-band resize. Example: \
                    `format_size(1610612736)` is `\"1536MiB\"`.",
                params: &[("bytes", Type::Number, "A whole, non-negative number of bytes.")],
                ret: Type::String,
                call: |args| {
                    let n = args
                        .first()
                        .and_then(Value::as_u64)
                        .ok_or(("bytes must be a whole, non-negative number".to_string(), Some(0)))?;
                    Ok(Value::from(units::format_size(n)))
                },
            },
        ])
    }

    /// Function names.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.0.iter().map(|f| f.name)
    }

    /// Definitions for GetProviderSchema and GetFunctions.
    pub fn definitions(&self) -> HashMap<String, pb::Function> {
        self.0
            .iter()
            .map(|f| {
                let def = pb::Function {
                    parameters: f
                        .params
                        .iter()
                        .map(|(name, ty, description)| pb::function::Parameter {
                            name: name.to_string(),
                            r#type: ty.to_json_bytes(),
                            allow_null_value: false,
                            allow_unknown_values: false,
                            description: description.to_string(),
                            description_kind: pb::StringKind::Markdown as i32,
                        })
                        .collect(),
                    variadic_parameter: None,
                    r#return: Some(pb::function::Return {
                        r#type: f.ret.to_json_bytes(),
                    }),
                    summary: f.summary.to_string(),
                    description: f.description.to_string(),
                    description_kind: pb::StringKind::Markdown as i32,
                    deprecation_message: String::new(),
                };
                (f.name.to_string(), def)
            })
            .collect()
    }

    /// Calls `name` with msgpack-encoded arguments.
    pub fn call(&self, name: &str, args: &[pb::DynamicValue]) -> pb::call_function::Response {
        let fail = |text: String, arg: Option<i64>| pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text,
                function_argument: arg,
            }),
        };
        let Some(f) = self.0.iter().find(|f| f.name == name) else {
            return fail(format!("this provider has no function {name:?}"), None);
        };
        let mut values = Vec::with_capacity(args.len());
        for (i, (arg, (_, ty, _))) in args.iter().zip(f.params).enumerate() {
            match msgpack::decode(&arg.msgpack, ty) {
                Ok(v) => values.push(v),
                Err(e) => return fail(format!("argument {i}: {e}"), Some(i as i64)),
            }
        }
        match (f.call)(&values).and_then(|v| msgpack::encode(&v, &f.ret).map_err(|e| (e.to_string(), None))) {
            Ok(bytes) => pb::call_function::Response {
                result: Some(pb::DynamicValue {
                    msgpack: bytes,
                    json: Vec::new(),
                }),
                error: None,
            },
            Err((text, arg)) => fail(text, arg),
        }
    }
}
