//! cty's msgpack encoding (`cty/msgpack`), Terraform's main wire format for
//! `DynamicValue.msgpack`.
//!
//! The encoding is schema-driven: the bytes hold no type names except for
//! `dynamic` attributes. cty's rules, reproduced here:
//! * null is msgpack nil; a wholly unknown value is the extension
//!   `d4 00 00` (fixext1, type 0, one zero byte). Newer Terraform sends
//!   *refined* unknowns as extension type 12 carrying a map of refinements;
//!   like cty, any extension of length ≤ 1 (whatever its type code) and any
//!   type-12 extension decode as unknown (the refinements are dropped).
//! * numbers are encoded as the smallest msgpack int when they are integers
//!   fitting `i64`, as float64 when they are exactly a non-integral `f64` (or
//!   infinite), otherwise as a decimal string. Decoding accepts any msgpack
//!   int, uint or float, and decimal strings.
//! * lists, sets and tuples are arrays; maps and objects are maps, with keys
//!   in byte order (objects list every attribute of the type, null if
//!   absent). Decoding accepts keys in any order but, like cty, requires the
//!   exact set of attributes.
//! * a known value of a `dynamic` attribute is the array
//!   `[type JSON as msgpack bin, value encoded with that type]`.

use super::value::{dedup_set, CodecError, Number, Path, PathStep, Type, Value};
use rmp::Marker;
use std::collections::BTreeMap;

/// cty's wholly-unknown value: fixext1, extension type 0, payload `00`.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];
/// Extension type of an unknown value carrying refinements (cty ≥ 1.13).
const REFINED_UNKNOWN_EXT: i8 = 0x0c;
/// cty rejects larger refinement payloads as abusive.
const MAX_REFINEMENTS_LEN: usize = 1024;

/// Encodes `v` as msgpack for a value of type `ty`.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    Encoder {
        out: &mut out,
        path: Path::root(),
    }
    .value(v, ty)?;
    Ok(out)
}

/// Decodes msgpack holding a value of type `ty`. Empty input is null
/// (Terraform leaves absent `DynamicValue`s empty). Like cty, bytes after
/// the value are ignored.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    if bytes.is_empty() {
        return Ok(Value::Null);
    }
    Decoder {
        buf: bytes,
        pos: 0,
        path: Path::root(),
        depth: 0,
    }
    .value(ty)
}

/// Maps rmp's write errors (impossible for a `Vec`) to a located error.
fn w<T, E: std::fmt::Display>(r: Result<T, E>, path: &Path) -> Result<(), CodecError> {
    r.map(|_| ())
        .map_err(|e| CodecError::invalid(path, format!("msgpack write failed: {e}")))
}

struct Encoder<'a> {
    out: &'a mut Vec<u8>,
    path: Path,
}

impl Encoder<'_> {
    fn len(&self, n: usize) -> Result<u32, CodecError> {
        u32::try_from(n).map_err(|_| CodecError::invalid(&self.path, "collection too large for msgpack"))
    }

    fn value(&mut self, v: &Value, ty: &Type) -> Result<(), CodecError> {
        if *ty == Type::Dynamic {
            return match v {
                Value::Null => w(rmp::encode::write_nil(self.out), &self.path),
                Value::Unknown => {
                    self.out.extend_from_slice(&UNKNOWN);
                    Ok(())
                }
                Value::Dynamic(t, inner) => self.dynamic(t, inner),
                v => self.dynamic(&v.implied_type(), v),
            };
        }
        match (ty, v) {
            (_, Value::Null) => w(rmp::encode::write_nil(self.out), &self.path),
            (_, Value::Unknown) => {
                self.out.extend_from_slice(&UNKNOWN);
                Ok(())
            }
            (_, Value::Dynamic(_, inner)) => self.value(inner, ty),
            (Type::Bool, Value::Bool(b)) => w(rmp::encode::write_bool(self.out, *b), &self.path),
            (Type::Number, Value::Number(n)) => self.number(n),
            (Type::String, Value::String(s)) => w(rmp::encode::write_str(self.out, s), &self.path),
            (Type::List(e) | Type::Set(e), Value::List(items) | Value::Set(items) | Value::Tuple(items)) => {
                let n = self.len(items.len())?;
                w(rmp::encode::write_array_len(self.out, n), &self.path)?;
                for (i, item) in items.iter().enumerate() {
                    self.path.push(PathStep::Index(i as u64));
                    self.value(item, e)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Type::Tuple(ts), Value::List(items) | Value::Tuple(items)) if ts.len() == items.len() => {
                let n = self.len(items.len())?;
                w(rmp::encode::write_array_len(self.out, n), &self.path)?;
                for (i, (item, t)) in items.iter().zip(ts).enumerate() {
                    self.path.push(PathStep::Index(i as u64));
                    self.value(item, t)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Type::Map(e), Value::Map(m) | Value::Object(m)) => {
                let n = self.len(m.len())?;
                w(rmp::encode::write_map_len(self.out, n), &self.path)?;
                for (k, item) in m {
                    w(rmp::encode::write_str(self.out, k), &self.path)?;
                    self.path.push(PathStep::Key(k.clone()));
                    self.value(item, e)?;
                    self.path.pop();
                }
                Ok(())
            }
            (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
                if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                    return Err(CodecError::invalid(
                        &self.path,
                        format!("unsupported attribute \"{extra}\""),
                    ));
                }
                let n = self.len(attrs.len())?;
                w(rmp::encode::write_map_len(self.out, n), &self.path)?;
                for (k, t) in attrs {
                    w(rmp::encode::write_str(self.out, k), &self.path)?;
                    self.path.push(PathStep::Attr(k.clone()));
                    self.value(m.get(k).unwrap_or(&Value::Null), t)?;
                    self.path.pop();
                }
                Ok(())
            }
            (ty, v) => Err(CodecError::mismatch(
                &self.path,
                ty.friendly_name(),
                v.kind_name(),
            )),
        }
    }

    /// `[type JSON as bin, value]`, as cty's `dynamicVal.MarshalMsgpack`.
    fn dynamic(&mut self, t: &Type, v: &Value) -> Result<(), CodecError> {
        w(rmp::encode::write_array_len(self.out, 2), &self.path)?;
        w(rmp::encode::write_bin(self.out, &t.to_json_bytes()), &self.path)?;
        self.value(v, t)
    }

    /// cty: exact int64 → compact int; exact non-integral float64 (or ±Inf)
    /// → float64; anything else → decimal string (`Text('f', -1)`).
    fn number(&mut self, n: &Number) -> Result<(), CodecError> {
        match n {
            Number::Float(f) if f.is_nan() => {
                Err(CodecError::invalid(&self.path, "NaN is not a number in cty"))
            }
            Number::Float(f) if f.is_infinite() || f.fract() != 0.0 => {
                w(rmp::encode::write_f64(self.out, *f), &self.path)
            }
            // An integral float beyond i64 is written as its exact digits: its shortest
            // text (2^70 → …411300000) would decode as a different number.
            _ => match (n.as_i64(), n.as_i128(), n.to_decimal_string()) {
                (Some(i), _, _) => w(rmp::encode::write_sint(self.out, i), &self.path),
                (None, Some(i), _) => w(rmp::encode::write_str(self.out, &i.to_string()), &self.path),
                (None, None, Some(text)) => w(rmp::encode::write_str(self.out, &text), &self.path),
                (None, None, None) => Err(CodecError::invalid(&self.path, format!("invalid number {n:?}"))),
            },
        }
    }
}

struct Decoder<'a> {
    buf: &'a [u8],
    pos: usize,
    path: Path,
    /// Nesting is bounded by the type, except through `dynamic` wrappers,
    /// whose types come from the input: limit it to protect the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 256;

/// Names a marker for "expected X, found Y" messages.
fn marker_name(m: Marker) -> String {
    match m {
        Marker::FixPos(_) | Marker::FixNeg(_) => "integer",
        Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => "integer",
        Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => "integer",
        Marker::F32 | Marker::F64 => "float",
        Marker::Null => "nil",
        Marker::True | Marker::False => "bool",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::Reserved => "reserved byte 0xc1",
        _ => "extension",
    }
    .to_string()
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        let end = end.ok_or_else(|| CodecError::invalid(&self.path, "truncated msgpack data"))?;
        let s = &self.buf[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn peek(&self) -> Result<Marker, CodecError> {
        match self.buf.get(self.pos) {
            Some(b) => Ok(Marker::from_u8(*b)),
            None => Err(CodecError::invalid(&self.path, "truncated msgpack data")),
        }
    }

    fn marker(&mut self) -> Result<Marker, CodecError> {
        let m = self.peek()?;
        self.pos += 1;
        Ok(m)
    }

    /// Big-endian unsigned integer of `n` bytes (n ≤ 8).
    fn uint(&mut self, n: usize) -> Result<u64, CodecError> {
        Ok(self
            .take(n)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    #[cold]
    #[inline(never)]
    fn mismatch(&self, expected: &str, found: Marker) -> CodecError {
        CodecError::mismatch(&self.path, expected, marker_name(found))
    }

    fn value(&mut self, ty: &Type) -> Result<Value, CodecError> {
        if self.depth >= MAX_DEPTH {
            return Err(CodecError::invalid(&self.path, "value nested too deeply"));
        }
        self.depth += 1;
        let v = self.value_inner(ty);
        self.depth -= 1;
        v
    }

    fn value_inner(&mut self, ty: &Type) -> Result<Value, CodecError> {
        // As in cty: extensions first (an unknown of any type), then nil.
        match self.peek()? {
            Marker::FixExt1
            | Marker::FixExt2
            | Marker::FixExt4
            | Marker::FixExt8
            | Marker::FixExt16
            | Marker::Ext8
            | Marker::Ext16
            | Marker::Ext32 => return self.unknown(),
            Marker::Null => {
                self.pos += 1;
                return Ok(Value::Null);
            }
            _ => {}
        }
        match ty {
            Type::Dynamic => self.dynamic(),
            Type::Bool => match self.marker()? {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                m => Err(self.mismatch("bool", m)),
            },
            Type::Number => self.number(),
            Type::String => match self.peek()? {
                m @ (Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32) => {
                    Ok(Value::String(self.string(m)?))
                }
                m @ (Marker::Bin8 | Marker::Bin16 | Marker::Bin32) => Ok(Value::String(self.string(m)?)),
                m => Err(self.mismatch("string", m)),
            },
            Type::List(e) => Ok(Value::List(self.array(e)?)),
            Type::Set(e) => Ok(Value::Set(dedup_set(self.array(e)?))),
            Type::Tuple(ts) => self.tuple(ts),
            Type::Map(e) => self.map(e),
            Type::Object(attrs) => self.object(attrs),
        }
    }

    // The recursive methods below keep formatting out of their own frames
    // (see `fail`), which keeps debug-build stack frames small.

    fn tuple(&mut self, ts: &[Type]) -> Result<Value, CodecError> {
        let n = self.array_len("tuple")?;
        if n != ts.len() {
            return Err(self.fail(format_args!(
                "a tuple of length {} is required, found {n} elements",
                ts.len()
            )));
        }
        let mut items = Vec::with_capacity(n);
        for (i, t) in ts.iter().enumerate() {
            self.path.push(PathStep::Index(i as u64));
            items.push(self.value(t)?);
            self.path.pop();
        }
        Ok(Value::Tuple(items))
    }

    fn map(&mut self, ety: &Type) -> Result<Value, CodecError> {
        let n = self.map_len("map")?;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = self.key()?;
            self.path.push(PathStep::Key(k.clone()));
            let v = self.value(ety)?;
            self.path.pop();
            m.insert(k, v);
        }
        Ok(Value::Map(m))
    }

    fn object(&mut self, attrs: &BTreeMap<String, Type>) -> Result<Value, CodecError> {
        let n = self.map_len("object")?;
        let mut m = BTreeMap::new();
        for _ in 0..n {
            let k = self.key()?;
            let Some(t) = attrs.get(&k) else {
                return Err(self.fail(format_args!("unsupported attribute \"{k}\"")));
            };
            self.path.push(PathStep::Attr(k.clone()));
            let v = self.value(t)?;
            self.path.pop();
            if m.insert(k.clone(), v).is_some() {
                return Err(self.fail(format_args!("duplicate attribute \"{k}\"")));
            }
        }
        if let Some(missing) = attrs.keys().find(|k| !m.contains_key(*k)) {
            let n = attrs.len();
            return Err(self.fail(format_args!(
                "an object with {n} attributes is required; \"{missing}\" is missing"
            )));
        }
        Ok(Value::Object(m))
    }

    #[cold]
    #[inline(never)]
    fn fail(&self, message: std::fmt::Arguments<'_>) -> CodecError {
        CodecError::invalid(&self.path, message.to_string())
    }

    /// Reads an unknown value, following cty's `unmarshalUnknownValue`.
    fn unknown(&mut self) -> Result<Value, CodecError> {
        let len = match self.marker()? {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => self.uint(1)? as usize,
            Marker::Ext16 => self.uint(2)? as usize,
            _ => self.uint(4)? as usize,
        };
        let code = self.take(1)?[0] as i8;
        let body = self.take(len)?;
        if len <= 1 {
            return Ok(Value::Unknown);
        }
        if code != REFINED_UNKNOWN_EXT {
            return Err(CodecError::invalid(
                &self.path,
                format!("unsupported msgpack extension type 0x{code:02x} with length {len}"),
            ));
        }
        if len > MAX_REFINEMENTS_LEN {
            return Err(CodecError::invalid(
                &self.path,
                "oversize unknown value refinement",
            ));
        }
        match Marker::from_u8(body[0]) {
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => Ok(Value::Unknown),
            _ => Err(CodecError::invalid(
                &self.path,
                "unknown value refinements are not a map",
            )),
        }
    }

    /// `[type JSON, value]`; the type JSON may be bin or str (cty's decoder
    /// accepts both, its encoder writes bin).
    fn dynamic(&mut self) -> Result<Value, CodecError> {
        let n = self.array_len("dynamic value array")?;
        if n != 2 {
            return Err(CodecError::invalid(
                &self.path,
                "dynamic value array must have exactly two elements",
            ));
        }
        let m = self.peek()?;
        let raw = match m {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => self.bytes(m)?,
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => self.bytes(m)?,
            m => return Err(self.mismatch("type description bytes", m)),
        };
        let t = Type::from_json_bytes(raw).map_err(|e| match e {
            CodecError::Invalid { message, .. } => CodecError::invalid(&self.path, message),
            e => e,
        })?;
        let v = self.value(&t)?;
        Ok(Value::Dynamic(t, Box::new(v)))
    }

    fn number(&mut self) -> Result<Value, CodecError> {
        let n = match self.marker()? {
            Marker::FixPos(n) => Number::Int(i64::from(n)),
            Marker::FixNeg(n) => Number::Int(i64::from(n)),
            Marker::U8 => Number::Int(self.uint(1)? as i64),
            Marker::U16 => Number::Int(self.uint(2)? as i64),
            Marker::U32 => Number::Int(self.uint(4)? as i64),
            Marker::U64 => Number::from(self.uint(8)?),
            Marker::I8 => Number::Int(i64::from(self.uint(1)? as u8 as i8)),
            Marker::I16 => Number::Int(i64::from(self.uint(2)? as u16 as i16)),
            Marker::I32 => Number::Int(i64::from(self.uint(4)? as u32 as i32)),
            Marker::I64 => Number::Int(self.uint(8)? as i64),
            Marker::F32 => Number::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
            Marker::F64 => Number::Float(f64::from_bits(self.uint(8)?)),
            m @ (Marker::FixStr(_)
            | Marker::Str8
            | Marker::Str16
            | Marker::Str32
            | Marker::Bin8
            | Marker::Bin16
            | Marker::Bin32) => {
                self.pos -= 1;
                let s = self.string(m)?;
                Number::parse(&s)
                    .ok_or_else(|| CodecError::mismatch(&self.path, "number", format!("{s:?}")))?
            }
            m => return Err(self.mismatch("number", m)),
        };
        // cty has no NaN (and `encode` refuses it): refuse it here too.
        if matches!(n, Number::Float(f) if f.is_nan()) {
            return Err(CodecError::invalid(&self.path, "NaN is not a number in cty"));
        }
        Ok(Value::Number(n))
    }

    /// Raw bytes of a str or bin whose marker `m` was peeked.
    fn bytes(&mut self, m: Marker) -> Result<&'a [u8], CodecError> {
        self.pos += 1;
        let len = match m {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => self.uint(1)? as usize,
            Marker::Str16 | Marker::Bin16 => self.uint(2)? as usize,
            _ => self.uint(4)? as usize,
        };
        self.take(len)
    }

    fn string(&mut self, m: Marker) -> Result<String, CodecError> {
        let raw = self.bytes(m)?;
        match std::str::from_utf8(raw) {
            Ok(s) => Ok(s.to_string()),
            Err(_) => Err(CodecError::invalid(&self.path, "string is not valid UTF-8")),
        }
    }

    fn key(&mut self) -> Result<String, CodecError> {
        match self.peek()? {
            m @ (Marker::FixStr(_)
            | Marker::Str8
            | Marker::Str16
            | Marker::Str32
            | Marker::Bin8
            | Marker::Bin16
            | Marker::Bin32) => self.string(m),
            m => Err(self.mismatch("string key", m)),
        }
    }

    fn array_len(&mut self, what: &str) -> Result<usize, CodecError> {
        match self.marker()? {
            Marker::FixArray(n) => Ok(usize::from(n)),
            Marker::Array16 => Ok(self.uint(2)? as usize),
            Marker::Array32 => Ok(self.uint(4)? as usize),
            m => Err(self.mismatch(what, m)),
        }
    }

    fn map_len(&mut self, what: &str) -> Result<usize, CodecError> {
        match self.marker()? {
            Marker::FixMap(n) => Ok(usize::from(n)),
            Marker::Map16 => Ok(self.uint(2)? as usize),
            Marker::Map32 => Ok(self.uint(4)? as usize),
            m => Err(self.mismatch(what, m)),
        }
    }

    fn array(&mut self, ety: &Type) -> Result<Vec<Value>, CodecError> {
        let n = self.array_len("array")?;
        // Every element takes at least one byte: bound the allocation by
        // the input size, not by a length the input claims.
        let mut items = Vec::with_capacity(n.min(self.buf.len() - self.pos));
        for i in 0..n {
            self.path.push(PathStep::Index(i as u64));
            items.push(self.value(ety)?);
            self.path.pop();
        }
        Ok(items)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(v: Value, ty: Type) {
        let bytes = encode(&v, &ty).unwrap_or_else(|e| panic!("encode {v:?}: {e}"));
        let back = decode(&bytes, &ty).unwrap_or_else(|e| panic!("decode {v:?}: {e}"));
        assert_eq!(back, v, "bytes {bytes:02x?}");
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect()
    }

    #[test]
    fn roundtrip_primitives() {
        roundtrip(Value::Bool(true), Type::Bool);
        roundtrip("héllo".into(), Type::String);
        roundtrip("x".repeat(300).into(), Type::String);
        for n in [
            0,
            1,
            -1,
            127,
            128,
            -32,
            -33,
            255,
            256,
            65535,
            65536,
            -129,
            i64::MIN,
            i64::MAX,
        ] {
            roundtrip(n.into(), Type::Number);
        }
        roundtrip(Value::Number(Number::Float(1.5)), Type::Number);
        roundtrip(Value::Number(Number::Float(-1e-300)), Type::Number);
        roundtrip(Value::Number(Number::Float(f64::INFINITY)), Type::Number);
        roundtrip(u64::MAX.into(), Type::Number);
        roundtrip(
            Value::Number(Number::Big("123456789012345678901234567890.5".into())),
            Type::Number,
        );
        roundtrip(Value::Null, Type::String);
        roundtrip(Value::Unknown, Type::Number);
    }

    #[test]
    fn roundtrip_nested() {
        let inner = Type::object([
            ("name", Type::String),
            ("size", Type::Number),
            ("flags", Type::list(Type::Bool)),
        ]);
        let ty = Type::object([
            ("items", Type::set(Type::list(inner.clone()))),
            ("labels", Type::map(Type::String)),
            ("pair", Type::Tuple(vec![Type::String, Type::Number])),
            ("any", Type::Dynamic),
            ("any_null", Type::Dynamic),
            ("any_unknown", Type::Dynamic),
            ("empty", Type::list(Type::String)),
        ]);
        let elem = |name: &str, size: Value| {
            Value::object([
                ("name", name.into()),
                ("size", size),
                (
                    "flags",
                    Value::List(vec![true.into(), Value::Null, Value::Unknown]),
                ),
            ])
        };
        let v = Value::object([
            (
                "items",
                Value::Set(vec![
                    Value::List(vec![elem("a", 1i64.into()), elem("b", Value::Unknown)]),
                    Value::List(vec![elem("c", Value::Null)]),
                ]),
            ),
            (
                "labels",
                Value::Map([("k".to_string(), "v".into()), ("n".to_string(), Value::Null)].into()),
            ),
            (
                "pair",
                Value::Tuple(vec!["x".into(), Value::Number(Number::Float(0.25))]),
            ),
            (
                "any",
                Value::Dynamic(
                    Type::object([("l", Type::list(Type::Dynamic))]),
                    Box::new(Value::object([(
                        "l",
                        Value::List(vec![
                            Value::Dynamic(Type::Number, Box::new(7i64.into())),
                            Value::Null,
                        ]),
                    )])),
                ),
            ),
            ("any_null", Value::Null),
            ("any_unknown", Value::Unknown),
            ("empty", Value::List(vec![])),
        ]);
        roundtrip(v, ty);
        roundtrip(
            Value::Set(vec![Value::Unknown, "a".into()]),
            Type::set(Type::String),
        );
    }

    /// Expected bytes written by hand from cty's marshal.go / unknown.go /
    /// dynamic.go and vmihailenco/msgpack's compact encodings.
    #[test]
    fn golden_bytes() {
        let cases: Vec<(Value, Type, &str)> = vec![
            (Value::Unknown, Type::String, "d4 00 00"),
            (Value::Null, Type::String, "c0"),
            (
                Value::object([("a", "x".into())]),
                Type::object([("a", Type::String)]),
                "81 a1 61 a1 78",
            ),
            // Attributes in byte order, absent ones nil.
            (
                Value::object([("b", true.into())]),
                Type::object([("b", Type::Bool), ("a", Type::Number)]),
                "82 a1 61 c0 a1 62 c3",
            ),
            // [bin8 len 8 "\"string\"", "x"]
            (
                Value::Dynamic(Type::String, Box::new("x".into())),
                Type::Dynamic,
                "92 c4 08 22 73 74 72 69 6e 67 22 a1 78",
            ),
            (Value::Unknown, Type::Dynamic, "d4 00 00"),
            // Compact ints: EncodeInt → EncodeUint for n ≥ 0.
            (1i64.into(), Type::Number, "01"),
            (200i64.into(), Type::Number, "cc c8"),
            (Value::from(-1i64), Type::Number, "ff"),
            (Value::from(-100i64), Type::Number, "d0 9c"),
            (70000i64.into(), Type::Number, "ce 00 01 11 70"),
            // Integral float → int; non-integral → float64.
            (Value::Number(Number::Float(2.0)), Type::Number, "02"),
            // 2^60 as a float: exactly int64 → uint64 form, not rounded text.
            (
                Value::Number(Number::Float(2f64.powi(60))),
                Type::Number,
                "cf 10 00 00 00 00 00 00 00",
            ),
            (
                Value::Number(Number::Float(1.5)),
                Type::Number,
                "cb 3f f8 00 00 00 00 00 00",
            ),
            // Integers beyond int64 → decimal string.
            (
                u64::MAX.into(),
                Type::Number,
                "b4 31 38 34 34 36 37 34 34 30 37 33 37 30 39 35 35 31 36 31 35",
            ),
            (
                Value::Number(Number::Float(1e20)),
                Type::Number,
                "b5 31 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30 30",
            ),
            (Value::Set(vec!["a".into()]), Type::set(Type::String), "91 a1 61"),
            (
                Value::Map([("k".to_string(), 1i64.into())].into()),
                Type::map(Type::Number),
                "81 a1 6b 01",
            ),
        ];
        for (v, ty, expected) in cases {
            assert_eq!(encode(&v, &ty).ok(), Some(hex(expected)), "{v:?}");
            assert_eq!(decode(&hex(expected), &ty).ok(), Some(v));
        }
    }

    #[test]
    fn decode_leniency() {
        assert_eq!(decode(&[], &Type::object([("a", Type::String)])), Ok(Value::Null));
        // Refined unknown: ext8, len 3, type 12, {1: false} (definitely not null).
        assert_eq!(
            decode(&hex("c7 03 0c 81 01 c2"), &Type::String),
            Ok(Value::Unknown)
        );
        // Refined unknown as fixext4: {2: "ab"} (string prefix).
        assert_eq!(
            decode(&hex("d6 0c 81 02 a2 61 62"), &Type::String),
            Ok(Value::Unknown)
        );
        // Zero-length and other one-byte extensions are unknown whatever their type code.
        assert_eq!(decode(&hex("c7 00 00"), &Type::Number), Ok(Value::Unknown));
        assert_eq!(
            decode(&hex("d4 05 07"), &Type::list(Type::String)),
            Ok(Value::Unknown)
        );
        assert!(decode(&hex("d5 05 00 00"), &Type::String).is_err());
        // Numbers: any int width, float32, decimal strings, uint64.
        let num = |h: &str| decode(&hex(h), &Type::Number);
        assert_eq!(num("d3 00 00 00 00 00 00 00 05"), Ok(5i64.into()));
        assert_eq!(num("cf 00 00 00 00 00 00 00 05"), Ok(5i64.into()));
        assert_eq!(num("ca 3f c0 00 00"), Ok(Value::Number(Number::Float(1.5))));
        assert_eq!(num("a3 31 2e 35"), Ok(Value::Number(Number::Float(1.5))));
        assert_eq!(num("a2 34 32"), Ok(42i64.into()));
        // Keys in any order; str or bin type JSON for dynamic.
        let ty = Type::object([("a", Type::String), ("b", Type::Bool)]);
        assert_eq!(
            decode(&hex("82 a1 62 c2 a1 61 a1 78"), &ty),
            Ok(Value::object([("a", "x".into()), ("b", false.into())]))
        );
        assert_eq!(
            decode(&hex("92 a8 22 73 74 72 69 6e 67 22 a1 78"), &Type::Dynamic),
            Ok(Value::Dynamic(Type::String, Box::new("x".into())))
        );
        // Sets are de-duplicated.
        assert_eq!(
            decode(&hex("92 a1 61 a1 61"), &Type::set(Type::String)),
            Ok(Value::Set(vec!["a".into()]))
        );
    }

    #[test]
    fn decode_errors_have_paths() {
        let ty = Type::object([("source_devices", Type::list(Type::String))]);
        let err = decode(
            &hex("81 ae 73 6f 75 72 63 65 5f 64 65 76 69 63 65 73 92 a1 61 05"),
            &ty,
        )
        .expect_err("int");
        assert_eq!(
            err.to_string(),
            "at .source_devices[1]: expected string, found integer"
        );
        let err = decode(&hex("81 a1 7a c0"), &Type::object([("a", Type::String)])).expect_err("attr");
        assert_eq!(err.to_string(), "at (root): unsupported attribute \"z\"");
        assert!(decode(&hex("80"), &Type::object([("a", Type::String)])).is_err());
        assert!(decode(&hex("92 a1 61"), &Type::list(Type::String)).is_err());
        assert!(decode(&hex("93 01 02 03"), &Type::Tuple(vec![Type::Number])).is_err());
        assert!(decode(&hex("dd ff ff ff ff"), &Type::list(Type::String)).is_err());
        assert!(decode(&hex("a1 78"), &Type::Number).is_err());
        // Found by fuzzing: an integral float64 beyond i64 came back as a different number.
        let big = Value::Number(Number::Float(-2.3446549587447786e24));
        roundtrip(big.clone(), Type::Number);
        assert_eq!(
            encode(&Value::Number(Number::Float(2f64.powi(70))), &Type::Number).ok(),
            Some([&[0xb6][..], b"1180591620717411303424"].concat())
        );
        // NaN as float64 or float32 (found by fuzzing: it decoded, then could not be encoded).
        assert!(decode(&hex("cb 7f f8 00 00 00 00 00 00"), &Type::Number).is_err());
        assert!(decode(&hex("ca ff c0 00 01"), &Type::Number).is_err());
        // ["dynamic", ["dynamic", ...]] nested 10000 times must not overflow the stack.
        let mut deep = Vec::new();
        for _ in 0..10_000 {
            deep.extend_from_slice(&hex("92 c4 09 22 64 79 6e 61 6d 69 63 22"));
        }
        deep.push(0xc0);
        assert!(decode(&deep, &Type::Dynamic).is_err());
        assert_eq!(
            decode(&hex("92 c4 09 22 64 79 6e 61 6d 69 63 22 c0"), &Type::Dynamic),
            Ok(Value::Dynamic(Type::Dynamic, Box::new(Value::Null)))
        );
    }

    #[test]
    fn encode_checks_types() {
        let ty = Type::object([("a", Type::String)]);
        let err = encode(&Value::object([("a", 1i64.into())]), &ty).expect_err("mismatch");
        assert_eq!(err.to_string(), "at .a: expected string, found number");
        assert!(encode(&Value::object([("b", Value::Null)]), &ty).is_err());
        assert!(encode(&Value::Number(Number::Float(f64::NAN)), &Type::Number).is_err());
        // A plain value for a dynamic attribute is wrapped with its implied type.
        assert_eq!(
            encode(&"x".into(), &Type::Dynamic).ok(),
            Some(hex("92 c4 08 22 73 74 72 69 6e 67 22 a1 78"))
        );
    }
}
