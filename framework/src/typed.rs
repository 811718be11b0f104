//! Bridge between cty [`Value`]s and plain serde structs.
//!
//! Resources keep their config/state as `#[derive(Serialize, Deserialize)]`
//! structs. [`from_value`] reads a decoded value into such a struct and
//! [`to_value`] turns one back into a value shaped by the schema type.
//!
//! Reading (`from_value`):
//! * objects and maps feed structs and maps, lists/sets/tuples feed
//!   sequences, a dynamic value feeds whatever its inner value is;
//! * null **and unknown** become `None` for `Option` fields; an unknown
//!   anywhere else is an error naming its path (use `Option` for
//!   attributes that may be "known after apply");
//! * a null object attribute counts as absent for a struct, so serde's
//!   usual rules apply: `Option` → `None`, `#[serde(default)]` → default,
//!   otherwise "missing field";
//! * numbers convert to any integer or float type with range checks;
//!   unit enum variants are read from strings.
//!
//! Writing (`to_value`): the serialized value is [`conform`]ed to the type:
//! sequences become sets or lists, maps become maps or objects, `None` is
//! null, attributes of the type absent from the struct are null, and struct
//! fields that the type lacks are errors (schema/struct drift).

use super::value::{conform, CodecError, Number, Path, PathStep, Type, Value};
use serde::de::{self, DeserializeSeed, Visitor};
use serde::ser::{self, Serialize};
use serde::Deserialize;
use std::collections::BTreeMap;

/// Reads a value into a serde type. Errors carry the attribute path.
pub fn from_value<'de, T: Deserialize<'de>>(v: &'de Value) -> Result<T, CodecError> {
    T::deserialize(De {
        v,
        path: Path::root(),
    })
    .map_err(|e| e.at(&Path::root()))
}

/// Serializes `t` and conforms the result to `ty` (see the module docs).
pub fn to_value<T: Serialize + ?Sized>(t: &T, ty: &Type) -> Result<Value, CodecError> {
    let v = t.serialize(Ser).map_err(|e| e.at(&Path::root()))?;
    conform(v, ty)
}

/// Gives location-less errors raised by serde the location `path`.
fn here(path: &Path) -> impl FnOnce(CodecError) -> CodecError + '_ {
    move |e| e.at(path)
}

struct De<'de> {
    v: &'de Value,
    path: Path,
}

impl<'de> De<'de> {
    /// The value with dynamic wrappers removed; unknown is an error here.
    fn known(&self) -> Result<&'de Value, CodecError> {
        match self.v.inner() {
            Value::Unknown => Err(CodecError::unknown(&self.path)),
            v => Ok(v),
        }
    }

    fn mismatch(&self, expected: &str, found: &Value) -> CodecError {
        CodecError::mismatch(&self.path, expected, found.kind_name())
    }

    fn number(&self, expected: &str) -> Result<&'de Number, CodecError> {
        match self.known()? {
            Value::Number(n) => Ok(n),
            v => Err(self.mismatch(expected, v)),
        }
    }

    fn seq<V: Visitor<'de>>(self, vis: V, items: &'de [Value]) -> Result<V::Value, CodecError> {
        let mut access = SeqDe {
            items: items.iter().enumerate(),
            path: &self.path,
        };
        let out = vis.visit_seq(&mut access).map_err(here(&self.path))?;
        match access.items.len() {
            0 => Ok(out),
            n => Err(CodecError::invalid(
                &self.path,
                format!("{n} more elements than expected"),
            )),
        }
    }

    fn map<V: Visitor<'de>>(self, vis: V, skip_nulls: bool) -> Result<V::Value, CodecError> {
        let (m, attrs) = match self.known()? {
            Value::Object(m) => (m, true),
            Value::Map(m) => (m, false),
            v => return Err(self.mismatch("object or map", v)),
        };
        let access = MapDe {
            entries: m.iter(),
            pending: None,
            attrs,
            skip_nulls,
            path: &self.path,
        };
        vis.visit_map(access).map_err(here(&self.path))
    }
}

macro_rules! de_integers {
    ($($method:ident => $visit:ident($t:ty)),* $(,)?) => {
        $(fn $method<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
            let n = self.number(stringify!($t))?;
            let i = n.as_i128().and_then(|i| <$t>::try_from(i).ok()).ok_or_else(|| {
                CodecError::mismatch(&self.path, concat!("an integer fitting ", stringify!($t)), n.to_string())
            })?;
            vis.$visit(i).map_err(here(&self.path))
        })*
    };
}

impl<'de> de::Deserializer<'de> for De<'de> {
    type Error = CodecError;

    fn deserialize_any<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        let r = match self.known()? {
            Value::Null => vis.visit_unit(),
            Value::Bool(b) => vis.visit_bool(*b),
            Value::Number(Number::Int(i)) => vis.visit_i64(*i),
            Value::Number(Number::Float(f)) => vis.visit_f64(*f),
            Value::Number(n) => match (n.as_u64(), n.as_i128(), n.as_f64()) {
                (Some(u), _, _) => vis.visit_u64(u),
                (None, Some(i), _) => vis.visit_i128(i),
                (None, None, Some(f)) => vis.visit_f64(f),
                _ => return Err(CodecError::invalid(&self.path, format!("invalid number {n}"))),
            },
            Value::String(s) => vis.visit_borrowed_str(s),
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => return self.seq(vis, items),
            Value::Map(_) | Value::Object(_) => return self.map(vis, false),
            v => return Err(self.mismatch("a value", v)),
        };
        r.map_err(here(&self.path))
    }

    fn deserialize_option<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        let path = self.path.clone();
        match self.v.inner() {
            Value::Null | Value::Unknown => vis.visit_none(),
            _ => vis.visit_some(self),
        }
        .map_err(here(&path))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        match self.known()? {
            Value::Bool(b) => vis.visit_bool(*b).map_err(here(&self.path)),
            v => Err(self.mismatch("bool", v)),
        }
    }

    de_integers! {
        deserialize_i8 => visit_i8(i8),
        deserialize_i16 => visit_i16(i16),
        deserialize_i32 => visit_i32(i32),
        deserialize_i64 => visit_i64(i64),
        deserialize_i128 => visit_i128(i128),
        deserialize_u8 => visit_u8(u8),
        deserialize_u16 => visit_u16(u16),
        deserialize_u32 => visit_u32(u32),
        deserialize_u64 => visit_u64(u64),
        deserialize_u128 => visit_u128(u128),
    }

    fn deserialize_f32<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        self.deserialize_f64(vis)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        let n = self.number("number")?;
        let f = n
            .as_f64()
            .ok_or_else(|| CodecError::invalid(&self.path, format!("invalid number {n}")))?;
        vis.visit_f64(f).map_err(here(&self.path))
    }

    fn deserialize_char<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        self.deserialize_str(vis)
    }

    fn deserialize_str<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        match self.known()? {
            Value::String(s) => vis.visit_borrowed_str(s).map_err(here(&self.path)),
            v => Err(self.mismatch("string", v)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        self.deserialize_str(vis)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        match self.known()? {
            Value::String(s) => vis.visit_borrowed_bytes(s.as_bytes()).map_err(here(&self.path)),
            _ => self.deserialize_seq(vis),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        self.deserialize_bytes(vis)
    }

    fn deserialize_unit<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        match self.known()? {
            Value::Null => vis.visit_unit().map_err(here(&self.path)),
            v => Err(self.mismatch("null", v)),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        vis: V,
    ) -> Result<V::Value, CodecError> {
        self.deserialize_unit(vis)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        vis: V,
    ) -> Result<V::Value, CodecError> {
        let path = self.path.clone();
        vis.visit_newtype_struct(self).map_err(here(&path))
    }

    fn deserialize_seq<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        match self.known()? {
            Value::List(items) | Value::Set(items) | Value::Tuple(items) => self.seq(vis, items),
            v => Err(self.mismatch("list", v)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, vis: V) -> Result<V::Value, CodecError> {
        self.deserialize_seq(vis)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        vis: V,
    ) -> Result<V::Value, CodecError> {
        self.deserialize_seq(vis)
    }

    fn deserialize_map<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        self.map(vis, false)
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        vis: V,
    ) -> Result<V::Value, CodecError> {
        self.map(vis, true)
    }

    /// Unit variants, from strings.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        vis: V,
    ) -> Result<V::Value, CodecError> {
        match self.known()? {
            Value::String(s) => {
                let d = de::value::BorrowedStrDeserializer::<CodecError>::new(s);
                vis.visit_enum(d).map_err(here(&self.path))
            }
            v => Err(self.mismatch("string (enum variant)", v)),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        self.deserialize_str(vis)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, vis: V) -> Result<V::Value, CodecError> {
        vis.visit_unit()
    }
}

struct SeqDe<'a, 'de> {
    items: std::iter::Enumerate<std::slice::Iter<'de, Value>>,
    path: &'a Path,
}

impl<'de> de::SeqAccess<'de> for SeqDe<'_, 'de> {
    type Error = CodecError;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, CodecError> {
        match self.items.next() {
            Some((i, v)) => seed
                .deserialize(De {
                    v,
                    path: self.path.child(PathStep::Index(i as u64)),
                })
                .map(Some),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct MapDe<'a, 'de> {
    entries: std::collections::btree_map::Iter<'de, String, Value>,
    pending: Option<(&'de String, &'de Value)>,
    /// Object (steps are attributes) rather than map (steps are keys).
    attrs: bool,
    /// Struct mode: null attributes count as absent.
    skip_nulls: bool,
    path: &'a Path,
}

impl<'de> de::MapAccess<'de> for MapDe<'_, 'de> {
    type Error = CodecError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CodecError> {
        for (k, v) in self.entries.by_ref() {
            if self.skip_nulls && v.is_null() {
                continue;
            }
            self.pending = Some((k, v));
            let d = de::value::BorrowedStrDeserializer::<CodecError>::new(k);
            return seed.deserialize(d).map(Some).map_err(here(self.path));
        }
        Ok(None)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, CodecError> {
        let (k, v) = self
            .pending
            .take()
            .ok_or_else(|| CodecError::invalid(self.path, "map value without key"))?;
        let step = if self.attrs {
            PathStep::Attr(k.clone())
        } else {
            PathStep::Key(k.clone())
        };
        seed.deserialize(De {
            v,
            path: self.path.child(step),
        })
    }
}

/// Serializes into an untyped [`Value`] (to be conformed to a type).
struct Ser;

fn unsupported(what: &str) -> CodecError {
    CodecError::Custom(format!("{what} cannot be represented as a Terraform value"))
}

impl ser::Serializer for Ser {
    type Ok = Value;
    type Error = CodecError;
    type SerializeSeq = SeqSer;
    type SerializeTuple = SeqSer;
    type SerializeTupleStruct = SeqSer;
    type SerializeTupleVariant = ser::Impossible<Value, CodecError>;
    type SerializeMap = MapSer;
    type SerializeStruct = MapSer;
    type SerializeStructVariant = ser::Impossible<Value, CodecError>;

    fn serialize_bool(self, v: bool) -> Result<Value, CodecError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, CodecError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, CodecError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, CodecError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, CodecError> {
        Ok(Value::Number(Number::Int(v)))
    }
    fn serialize_i128(self, v: i128) -> Result<Value, CodecError> {
        Ok(Value::Number(
            i64::try_from(v).map_or_else(|_| Number::Big(v.to_string()), Number::Int),
        ))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, CodecError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, CodecError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, CodecError> {
        self.serialize_i64(i64::from(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, CodecError> {
        Ok(Value::Number(Number::from(v)))
    }
    fn serialize_u128(self, v: u128) -> Result<Value, CodecError> {
        Ok(Value::Number(
            i64::try_from(v).map_or_else(|_| Number::Big(v.to_string()), Number::Int),
        ))
    }
    /// Through its shortest text, so `0.1f32` becomes 0.1, not 0.100000001….
    fn serialize_f32(self, v: f32) -> Result<Value, CodecError> {
        self.serialize_f64(format!("{v}").parse().unwrap_or(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, CodecError> {
        Ok(Value::Number(Number::Float(v)))
    }
    fn serialize_char(self, v: char) -> Result<Value, CodecError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, CodecError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, CodecError> {
        Ok(Value::List(
            v.iter().map(|b| Value::from(i64::from(*b))).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, v: &T) -> Result<Value, CodecError> {
        v.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, CodecError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _i: u32,
        variant: &'static str,
    ) -> Result<Value, CodecError> {
        Ok(Value::String(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        v: &T,
    ) -> Result<Value, CodecError> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        _i: u32,
        variant: &'static str,
        _v: &T,
    ) -> Result<Value, CodecError> {
        Err(unsupported(&format!("enum variant with data {name}::{variant}")))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSer, CodecError> {
        Ok(SeqSer(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSer, CodecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<SeqSer, CodecError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, CodecError> {
        Err(unsupported(&format!("enum variant with data {name}::{variant}")))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<MapSer, CodecError> {
        Ok(MapSer {
            map: BTreeMap::new(),
            key: None,
            object: false,
        })
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<MapSer, CodecError> {
        Ok(MapSer {
            map: BTreeMap::new(),
            key: None,
            object: true,
        })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _i: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, CodecError> {
        Err(unsupported(&format!("enum variant with data {name}::{variant}")))
    }
}

struct SeqSer(Vec<Value>);

impl ser::SerializeSeq for SeqSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        self.0.push(v.serialize(Ser)?);
        Ok(())
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::List(self.0))
    }
}

impl ser::SerializeTuple for SeqSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::Tuple(self.0))
    }
}

impl ser::SerializeTupleStruct for SeqSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        ser::SerializeSeq::serialize_element(self, v)
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(Value::Tuple(self.0))
    }
}

struct MapSer {
    map: BTreeMap<String, Value>,
    key: Option<String>,
    /// A struct (→ Object) rather than a map (→ Map).
    object: bool,
}

impl ser::SerializeMap for MapSer {
    type Ok = Value;
    type Error = CodecError;
    /// Keys must be strings; numbers and bools are written as text, as
    /// JSON does.
    fn serialize_key<T: Serialize + ?Sized>(&mut self, k: &T) -> Result<(), CodecError> {
        self.key = Some(match k.serialize(Ser)? {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            v => {
                return Err(CodecError::Custom(format!(
                    "map keys must be strings, found {}",
                    v.kind_name()
                )))
            }
        });
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), CodecError> {
        let k = self
            .key
            .take()
            .ok_or_else(|| CodecError::Custom("map value without key".into()))?;
        let v = v
            .serialize(Ser)
            .map_err(|e| e.at(&Path(vec![PathStep::Key(k.clone())])))?;
        self.map.insert(k, v);
        Ok(())
    }
    fn end(self) -> Result<Value, CodecError> {
        Ok(if self.object {
            Value::Object(self.map)
        } else {
            Value::Map(self.map)
        })
    }
}

impl ser::SerializeStruct for MapSer {
    type Ok = Value;
    type Error = CodecError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        v: &T,
    ) -> Result<(), CodecError> {
        let v = v
            .serialize(Ser)
            .map_err(|e| e.at(&Path(vec![PathStep::Attr(name.to_string())])))?;
        self.map.insert(name.to_string(), v);
        Ok(())
    }
    fn end(self) -> Result<Value, CodecError> {
        ser::SerializeMap::end(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct PoolState {
        id: Option<String>,
        name: String,
        source_devices: Option<Vec<String>>,
        autostart: Option<bool>,
        capacity: Option<u64>,
        tags: Option<BTreeMap<String, String>>,
        #[serde(default)]
        volumes: Vec<Volume>,
        mode: Option<Mode>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Volume {
        name: String,
        size: i32,
        ratio: Option<f64>,
    }

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Mode {
        Thin,
        Thick,
    }

    fn pool_type() -> Type {
        Type::object([
            ("id", Type::String),
            ("name", Type::String),
            ("source_devices", Type::set(Type::String)),
            ("autostart", Type::Bool),
            ("capacity", Type::Number),
            ("tags", Type::map(Type::String)),
            (
                "volumes",
                Type::list(Type::object([
                    ("name", Type::String),
                    ("size", Type::Number),
                    ("ratio", Type::Number),
                ])),
            ),
            ("mode", Type::String),
            ("computed_only", Type::String),
        ])
    }

    fn sample() -> PoolState {
        PoolState {
            id: Some("pool-1".into()),
            name: "vg0".into(),
            source_devices: Some(vec!["/dev/sdb".into(), "/dev/sda".into()]),
            autostart: None,
            capacity: Some(u64::MAX),
            tags: Some([("env".to_string(), "prod".to_string())].into()),
            volumes: vec![Volume {
                name: "v".into(),
                size: -3,
                ratio: Some(0.5),
            }],
            mode: Some(Mode::Thin),
        }
    }

    #[test]
    fn struct_roundtrip() {
        let v = to_value(&sample(), &pool_type()).expect("to_value");
        assert_eq!(
            v.attr("source_devices"),
            Some(&Value::Set(vec!["/dev/sda".into(), "/dev/sdb".into()]))
        );
        assert_eq!(v.attr("autostart"), Some(&Value::Null));
        assert_eq!(v.attr("computed_only"), Some(&Value::Null));
        assert_eq!(v.attr("mode"), Some(&Value::from("thin")));
        assert!(matches!(v.attr("tags"), Some(Value::Map(_))));
        assert!(matches!(
            v.attr("volumes")
                .and_then(|l| l.as_list())
                .and_then(|l| l.first()),
            Some(Value::Object(_))
        ));
        // Through the wire and back.
        let bytes = crate::msgpack::encode(&v, &pool_type()).expect("encode");
        let decoded = crate::msgpack::decode(&bytes, &pool_type()).expect("decode");
        let back: PoolState = from_value(&decoded).expect("from_value");
        let mut expected = sample();
        expected.source_devices = Some(vec!["/dev/sda".into(), "/dev/sdb".into()]);
        let mut back = back;
        if let Some(d) = back.source_devices.as_mut() {
            d.sort();
        }
        assert_eq!(back, expected);
    }

    #[test]
    fn unknown_and_null_become_none() {
        let mut v = to_value(&sample(), &pool_type()).expect("to_value");
        for attr in ["id", "capacity", "source_devices"] {
            if let Some(a) = v.attr_mut(attr) {
                *a = Value::Unknown;
            }
        }
        if let Some(a) = v.attr_mut("volumes") {
            *a = Value::Null; // #[serde(default)] applies to null attributes
        }
        let s: PoolState = from_value(&v).expect("from_value");
        assert_eq!(
            (s.id, s.capacity, s.source_devices, s.volumes),
            (None, None, None, vec![])
        );
    }

    #[test]
    fn errors_name_paths() {
        let mut v = to_value(&sample(), &pool_type()).expect("to_value");
        if let Some(Value::List(vols)) = v.attr_mut("volumes") {
            if let Some(Value::Object(vol)) = vols.first_mut() {
                vol.insert("name".into(), Value::Unknown);
            }
        }
        let err = from_value::<PoolState>(&v).expect_err("unknown name");
        assert!(
            err.to_string()
                .starts_with("at .volumes[0].name: value is unknown"),
            "{err}"
        );

        let v = Value::object([("name", Value::Null)]);
        let err = from_value::<PoolState>(&v).expect_err("null name");
        assert_eq!(err.to_string(), "at (root): missing field `name`");

        let v = Value::object([
            ("name", "x".into()),
            ("source_devices", Value::List(vec!["a".into(), 5i64.into()])),
        ]);
        let err = from_value::<PoolState>(&v).expect_err("bad element");
        assert_eq!(
            err.to_string(),
            "at .source_devices[1]: expected string, found number"
        );

        let v = Value::object([
            ("name", "x".into()),
            (
                "volumes",
                Value::List(vec![Value::object([("name", "v".into()), ("size", 1e10.into())])]),
            ),
        ]);
        let err = from_value::<PoolState>(&v).expect_err("range");
        assert_eq!(
            err.to_string(),
            "at .volumes[0].size: expected an integer fitting i32, found 10000000000"
        );

        let v = Value::object([("name", "x".into()), ("mode", "medium".into())]);
        let err = from_value::<PoolState>(&v).expect_err("variant");
        assert!(
            err.to_string().starts_with("at .mode: unknown variant `medium`"),
            "{err}"
        );

        // Struct field missing from the schema type.
        let ty = Type::object([
            ("name", Type::String),
            ("volumes", Type::list(Type::object([("name", Type::String)]))),
        ]);
        #[derive(Serialize)]
        struct Small {
            name: String,
            volumes: Vec<Volume>,
        }
        let err = to_value(
            &Small {
                name: "x".into(),
                volumes: vec![Volume {
                    name: "v".into(),
                    size: 1,
                    ratio: None,
                }],
            },
            &ty,
        )
        .expect_err("drift");
        assert_eq!(
            err.to_string(),
            "at .volumes[0]: attribute \"ratio\" is not defined in the schema type"
        );
        let err = to_value(&sample(), &Type::object([("name", Type::Number)])).expect_err("drift");
        assert!(
            err.to_string().contains("attribute \"autostart\" is not defined"),
            "{err}"
        );
    }

    #[test]
    fn numbers_and_dynamic() {
        let ty = Type::object([
            ("n", Type::Number),
            ("any", Type::Dynamic),
            ("t", Type::Tuple(vec![Type::String, Type::Number])),
        ]);
        #[derive(Serialize, Deserialize, Debug, PartialEq)]
        struct S {
            n: f32,
            any: Option<Vec<u8>>,
            t: (String, u128),
        }
        let s = S {
            n: 0.1,
            any: Some(vec![1, 2]),
            t: ("x".into(), u128::MAX),
        };
        let v = to_value(&s, &ty).expect("to_value");
        assert_eq!(v.attr("n"), Some(&Value::Number(Number::Float(0.1))));
        assert_eq!(
            v.attr("any"),
            Some(&Value::Dynamic(
                Type::list(Type::Number),
                Box::new(Value::List(vec![1i64.into(), 2i64.into()]))
            ))
        );
        let bytes = crate::msgpack::encode(&v, &ty).expect("encode");
        let back = crate::msgpack::decode(&bytes, &ty).expect("decode");
        assert_eq!(back, v);
        let u128_big = back
            .attr("t")
            .and_then(Value::as_list)
            .and_then(|t| t.get(1))
            .cloned();
        assert!(u128_big.is_some());
        // u128::MAX exceeds i128: the bridge reports a range error rather than wrapping.
        assert!(from_value::<S>(&back).is_err());
        let v = Value::object([
            ("n", 2i64.into()),
            ("any", Value::Null),
            ("t", Value::Tuple(vec!["y".into(), 7i64.into()])),
        ]);
        assert_eq!(
            from_value::<S>(&v),
            Ok(S {
                n: 2.0,
                any: None,
                t: ("y".into(), 7)
            })
        );
        // Borrowed strings work too.
        let borrowed = Value::from("borrowed");
        let name: &str = from_value(&borrowed).expect("str");
        assert_eq!(name, "borrowed");
    }
}
