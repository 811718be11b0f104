//! Conversions between the framework's types and protobuf messages.

use crate::framework::diag::PathStep;
use crate::framework::resource::IdentitySchema;
use crate::framework::schema::{Attribute, Block};
use std::collections::HashMap;

use crate::framework::{
    msgpack, AttrPath, Diagnostic, Diagnostics, Function, FunctionError, Schema, Severity, Type, Value,
};
use crate::proto::tfplugin6 as pb;

/// Decodes a DynamicValue (msgpack, or JSON from older code paths; empty is null).
pub fn decode(dv: Option<&pb::DynamicValue>, ty: &Type) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else { return Ok(Value::Null) };
    let result = if !dv.msgpack.is_empty() {
        msgpack::decode(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        crate::framework::json::decode(&dv.json, ty)
    } else {
        return Ok(Value::Null);
    };
    result.map_err(|e| {
        Diagnostic::error(
            "Invalid Value From Terraform",
            format!("The provider could not decode a value Terraform sent: {e}"),
        )
        .into()
    })
}

/// Encodes a value as a msgpack DynamicValue.
pub fn encode(v: &Value, ty: &Type) -> Result<pb::DynamicValue, Diagnostics> {
    msgpack::encode(v, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                "Provider Internal Error",
                format!("The provider could not encode a value: {e}. This is a bug in the provider."),
            )
            .into()
        })
}

/// Diagnostics as protobuf.
pub fn diags(d: Diagnostics) -> Vec<pb::Diagnostic> {
    d.into_iter().map(diag).collect()
}

fn diag(d: Diagnostic) -> pb::Diagnostic {
    pb::Diagnostic {
        severity: match d.severity {
            Severity::Error => pb::diagnostic::Severity::Error as i32,
            Severity::Warning => pb::diagnostic::Severity::Warning as i32,
        },
        summary: d.summary,
        detail: d.detail,
        attribute: d.attribute.as_ref().map(path),
    }
}

/// An attribute path as protobuf.
pub fn path(p: &AttrPath) -> pb::AttributePath {
    use pb::attribute_path::step::Selector;
    pb::AttributePath {
        steps: p
            .0
            .iter()
            .map(|s| pb::attribute_path::Step {
                selector: Some(match s {
                    PathStep::Attr(a) => Selector::AttributeName(a.clone()),
                    PathStep::Index(i) => Selector::ElementKeyInt(i64::try_from(*i).unwrap_or(i64::MAX)),
                    PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                }),
            })
            .collect(),
    }
}

/// A schema as protobuf.
pub fn schema(s: &Schema) -> pb::Schema {
    pb::Schema {
        version: s.version,
        block: Some(pb::schema::Block {
            version: s.version,
            attributes: s.attributes.iter().map(attribute).collect(),
            block_types: s.blocks.iter().map(block).collect(),
            description: s.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: false,
        }),
    }
}

fn block(b: &Block) -> pb::schema::NestedBlock {
    pb::schema::NestedBlock {
        type_name: b.name.to_string(),
        block: Some(pb::schema::Block {
            version: 0,
            attributes: b.attributes.iter().map(attribute).collect(),
            block_types: Vec::new(),
            description: b.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: false,
        }),
        nesting: pb::schema::nested_block::NestingMode::Single as i32,
        min_items: 0,
        max_items: 0,
    }
}

fn attribute(a: &Attribute) -> pb::schema::Attribute {
    pb::schema::Attribute {
        name: a.name.to_string(),
        r#type: a.ty.to_json_bytes(),
        nested_type: None,
        description: a.full_description(),
        required: a.required,
        optional: a.optional,
        computed: a.computed,
        sensitive: a.sensitive,
        description_kind: pb::StringKind::Markdown as i32,
        deprecated: a.deprecated.is_some(),
        write_only: a.write_only,
    }
}

/// An identity schema as protobuf.
pub fn identity_schema(s: &IdentitySchema) -> pb::ResourceIdentitySchema {
    pb::ResourceIdentitySchema {
        version: s.version,
        identity_attributes: s
            .attributes
            .iter()
            .map(
                |(name, ty, required, description)| pb::resource_identity_schema::IdentityAttribute {
                    name: name.to_string(),
                    r#type: ty.to_json_bytes(),
                    required_for_import: *required,
                    optional_for_import: !*required,
                    description: description.to_string(),
                },
            )
            .collect(),
    }
}

/// The cty type of an identity schema.
pub fn identity_type(s: &IdentitySchema) -> Type {
    Type::Object(
        s.attributes
            .iter()
            .map(|(n, t, _, _)| (n.to_string(), t.clone()))
            .collect(),
    )
}

/// The protocol's definitions of the provider's functions, by name.
pub fn function_definitions(functions: &[Function]) -> HashMap<String, pb::Function> {
    functions
        .iter()
        .map(|f| {
            let def = pb::Function {
                parameters: f
                    .params
                    .iter()
                    .map(|p| pb::function::Parameter {
                        name: p.name.to_string(),
                        r#type: p.ty.to_json_bytes(),
                        allow_null_value: false,
                        allow_unknown_values: false,
                        description: p.description.to_string(),
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

/// Calls the function `name` with msgpack-encoded arguments.
pub fn call_function(
    functions: &[Function],
    name: &str,
    args: &[pb::DynamicValue],
) -> pb::call_function::Response {
    let fail = |text: String, arg: Option<usize>| pb::call_function::Response {
        result: None,
        error: Some(pb::FunctionError {
            text,
            function_argument: arg.map(|i| i as i64),
        }),
    };
    let Some(f) = functions.iter().find(|f| f.name == name) else {
        return fail(format!("this provider has no function {name:?}"), None);
    };
    let mut values = Vec::with_capacity(args.len());
    for (i, (arg, p)) in args.iter().zip(&f.params).enumerate() {
        match msgpack::decode(&arg.msgpack, &p.ty) {
            Ok(v) => values.push(v),
            Err(e) => return fail(format!("argument {i}: {e}"), Some(i)),
        }
    }
    let result = (f.call)(&values).and_then(|v| {
        msgpack::encode(&v, &f.ret).map_err(|e| FunctionError {
            text: e.to_string(),
            argument: None,
        })
    });
    match result {
        Ok(bytes) => pb::call_function::Response {
            result: Some(pb::DynamicValue {
                msgpack: bytes,
                json: Vec::new(),
            }),
            error: None,
        },
        Err(e) => fail(e.text, e.argument),
    }
}
