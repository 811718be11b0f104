//! Helpers shared by the fuzz targets in `fuzz_targets/`.
//!
//! # Input format of the cty codec targets
//!
//! The first byte picks the cty type the rest of the input is decoded with:
//!
//! * `0xff`: the type is given as cty type JSON (`["list","string"]`) up to
//!   the first NUL byte; the bytes after the NUL are the value. Arbitrary
//!   types, including ones nested through `dynamic`, are reachable this way.
//! * any other byte `b`: `types()[b % types().len()]`, a table of shapes that
//!   matter (every primitive, `dynamic`, lists, sets and maps of primitives,
//!   objects and dynamics, tuples) and the real schema types of the provider
//!   configuration, every resource and every data source.
//!
//! The seed corpus uses explicit bytes `0..types().len()`; see `fuzz/README.md`.

use std::sync::OnceLock;

use terraform_provider_libvirt::framework::value::{Number, Type, Value};
use terraform_provider_libvirt::provider;

/// Selector byte announcing an inline type description.
pub const INLINE_TYPE: u8 = 0xff;

/// The table of types addressed by the first input byte.
pub fn types() -> &'static [Type] {
    static TYPES: OnceLock<Vec<Type>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let obj_ab = Type::object([("a", Type::String), ("b", Type::Number)]);
        let mut t = vec![
            /* 0 */ Type::Dynamic,
            /* 1 */ Type::String,
            /* 2 */ Type::Number,
            /* 3 */ Type::Bool,
            /* 4 */ Type::list(Type::String),
            /* 5 */ Type::set(Type::String),
            /* 6 */ Type::map(Type::Number),
            /* 7 */ Type::list(Type::Dynamic),
            /* 8 */ Type::set(obj_ab.clone()),
            /* 9 */ Type::map(Type::list(Type::Bool)),
            /* 10 */
            Type::object([
                ("a", Type::String),
                ("b", Type::Number),
                ("c", Type::Bool),
                ("d", Type::Dynamic),
                ("e", Type::list(Type::String)),
                ("f", Type::set(Type::Number)),
                ("g", Type::map(Type::String)),
            ]),
            /* 11 */ Type::Tuple(vec![Type::String, Type::Number, Type::Dynamic]),
            /* 12 */ Type::set(Type::Dynamic),
            /* 13 */ Type::map(Type::Dynamic),
            /* 14 */ Type::set(Type::set(Type::Number)),
            /* 15 */
            Type::list(Type::object([
                ("x", Type::Tuple(vec![Type::Bool])),
                ("y", Type::map(Type::set(Type::String))),
            ])),
            /* 16 */ Type::Tuple(Vec::new()),
            /* 17 */ Type::object(Vec::<(String, Type)>::new()),
            /* 18 */ Type::set(Type::list(obj_ab)),
            /* 19 */ provider::schema().ty(),
        ];
        // 20…: the managed resources, then the data sources, in provider order.
        t.extend(
            terraform_provider_libvirt::resources::all()
                .iter()
                .map(|r| r.schema().ty()),
        );
        t.extend(
            terraform_provider_libvirt::data_sources::all()
                .iter()
                .map(|d| d.schema().ty()),
        );
        t
    })
}

/// Splits a codec target's input into the type it selects and the value bytes.
/// `None` when an inline type is not valid cty type JSON.
pub fn split_type(data: &[u8]) -> Option<(Type, &[u8])> {
    let (&sel, rest) = data.split_first()?;
    if sel == INLINE_TYPE {
        let nul = rest.iter().position(|&b| b == 0)?;
        let ty = Type::from_json_bytes(&rest[..nul]).ok()?;
        return Some((ty, &rest[nul + 1..]));
    }
    let table = types();
    Some((table[usize::from(sel) % table.len()].clone(), rest))
}

/// Whether an infinite number occurs anywhere in `v`: cty accepts infinities
/// (msgpack carries them) but its JSON cannot write them.
pub fn has_infinity(v: &Value) -> bool {
    match v {
        Value::Number(Number::Float(f)) => f.is_infinite(),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => items.iter().any(has_infinity),
        Value::Map(m) | Value::Object(m) => m.values().any(has_infinity),
        Value::Dynamic(_, inner) => has_infinity(inner),
        _ => false,
    }
}
