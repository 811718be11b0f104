//! cty's JSON encoding (`cty/json`): Terraform's format for stored state
//! (`RawState.json` in `UpgradeResourceState`) and `DynamicValue.json`.
//!
//! cty's rules, reproduced here:
//! * output is compact, object attributes and map keys in byte order, every
//!   attribute of an object type present (null if absent), strings escaped
//!   as Go's `encoding/json` does (`<`, `>`, `&`, U+2028/9 as `\u....`);
//! * numbers are written in plain decimal (`Text('f', -1)`), never with an
//!   exponent; infinities and unknown values cannot be written;
//! * decoding converts where cty does: numbers may be JSON strings, bools
//!   may be `"true"`/`"false"`/`"1"`/`"0"`, strings may be JSON numbers or
//!   bools; object attributes missing from the JSON become null, while
//!   attributes not in the type are errors (see [`decode_lenient`]);
//! * a value of a `dynamic` attribute is `{"value": ..., "type": ...}`.
//!
//! Input is read by a small JSON reader of our own that keeps number
//! literals as text, so no precision is lost (serde_json, without its
//! `arbitrary_precision` feature, would round them to `f64`).

use super::json_string::write_string;
use super::value::{dedup_set, CodecError, Number, Path, PathStep, Type, Value};
use std::collections::BTreeMap;

/// Encodes `v` as cty JSON for a value of type `ty`.
pub fn encode(v: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    write_value(&mut out, v, ty, &mut Path::root())?;
    Ok(out)
}

/// Decodes cty JSON holding a value of type `ty`, as cty's `json.Unmarshal`
/// does. Empty (or all-whitespace) input is null.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode_with(bytes, ty, false)
}

/// Like [`decode`], but object attributes not in the type are dropped
/// instead of rejected, at every depth. Use it to read state written by an
/// older schema (attributes removed since; added ones come back null).
pub fn decode_lenient(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    decode_with(bytes, ty, true)
}

fn decode_with(bytes: &[u8], ty: &Type, lenient: bool) -> Result<Value, CodecError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Null);
    }
    let j = Reader {
        b: bytes,
        i: 0,
        depth: 0,
    }
    .document()
    .map_err(|e| CodecError::invalid(&Path::root(), format!("invalid JSON: {e}")))?;
    read_value(&j, ty, lenient, &mut Path::root())
}

fn write_value(out: &mut Vec<u8>, v: &Value, ty: &Type, path: &mut Path) -> Result<(), CodecError> {
    let list = |out: &mut Vec<u8>, items: &[Value], tys: &mut dyn Iterator<Item = &Type>, path: &mut Path| {
        out.push(b'[');
        for (i, (item, t)) in items.iter().zip(tys).enumerate() {
            if i > 0 {
                out.push(b',');
            }
            path.push(PathStep::Index(i as u64));
            write_value(out, item, t, path)?;
            path.pop();
        }
        out.push(b']');
        Ok(())
    };
    match (ty, v) {
        (_, Value::Unknown) => Err(CodecError::unknown(path)),
        (_, Value::Null) => {
            out.extend_from_slice(b"null");
            Ok(())
        }
        (Type::Dynamic, Value::Dynamic(t, inner)) => write_dynamic(out, t, inner, path),
        (Type::Dynamic, v) => write_dynamic(out, &v.implied_type(), v, path),
        (_, Value::Dynamic(_, inner)) => write_value(out, inner, ty, path),
        (Type::Bool, Value::Bool(b)) => {
            out.extend_from_slice(if *b { b"true" } else { b"false" });
            Ok(())
        }
        // Integers by their exact digits: an integral float's shortest text (2^70 →
        // …411300000) would read back as a different number.
        (Type::Number, Value::Number(n)) => match n
            .as_i128()
            .map(|i| i.to_string())
            .or_else(|| n.to_decimal_string())
        {
            Some(text) => {
                out.extend_from_slice(text.as_bytes());
                Ok(())
            }
            None => Err(CodecError::invalid(path, format!("cannot serialize {n} as JSON"))),
        },
        (Type::String, Value::String(s)) => {
            write_string(out, s);
            Ok(())
        }
        (Type::List(e) | Type::Set(e), Value::List(items) | Value::Set(items) | Value::Tuple(items)) => {
            list(out, items, &mut std::iter::repeat(&**e), path)
        }
        (Type::Tuple(ts), Value::List(items) | Value::Tuple(items)) if items.len() == ts.len() => {
            list(out, items, &mut ts.iter(), path)
        }
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => {
            out.push(b'{');
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                path.push(PathStep::Key(k.clone()));
                write_value(out, item, e, path)?;
                path.pop();
            }
            out.push(b'}');
            Ok(())
        }
        (Type::Object(attrs), Value::Object(m) | Value::Map(m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(CodecError::invalid(
                    path,
                    format!("unsupported attribute \"{extra}\""),
                ));
            }
            out.push(b'{');
            for (i, (k, t)) in attrs.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, k);
                out.push(b':');
                path.push(PathStep::Attr(k.clone()));
                write_value(out, m.get(k).unwrap_or(&Value::Null), t, path)?;
                path.pop();
            }
            out.push(b'}');
            Ok(())
        }
        (ty, v) => Err(CodecError::mismatch(path, ty.friendly_name(), v.kind_name())),
    }
}

/// `{"value":...,"type":...}`, in that order, as cty's `marshalDynamic`.
fn write_dynamic(out: &mut Vec<u8>, t: &Type, v: &Value, path: &mut Path) -> Result<(), CodecError> {
    out.extend_from_slice(b"{\"value\":");
    write_value(out, v, t, path)?;
    out.extend_from_slice(b",\"type\":");
    out.extend_from_slice(&t.to_json_bytes());
    out.push(b'}');
    Ok(())
}

/// A parsed JSON document; numbers keep their literal text, objects their
/// member order (later duplicates win when read, as in Go).
#[derive(Debug, PartialEq)]
enum J {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<J>),
    Object(Vec<(String, J)>),
}

impl J {
    fn kind(&self) -> &'static str {
        match self {
            J::Null => "null",
            J::Bool(_) => "bool",
            J::Number(_) => "number",
            J::String(_) => "string",
            J::Array(_) => "array",
            J::Object(_) => "object",
        }
    }
}

/// A strict RFC 8259 reader.
struct Reader<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
}

impl Reader<'_> {
    const MAX_DEPTH: usize = 256;

    fn document(mut self) -> Result<J, String> {
        let v = self.value()?;
        self.ws();
        match self.b.get(self.i) {
            None => Ok(v),
            Some(_) => Err(format!("unexpected data after the value at byte {}", self.i)),
        }
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        self.ws();
        let hit = self.b.get(self.i) == Some(&c);
        if hit {
            self.i += 1;
        }
        hit
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(format!("expected '{}' at byte {}", char::from(c), self.i))
        }
    }

    fn literal(&mut self, word: &str, v: J) -> Result<J, String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!("invalid literal at byte {}", self.i))
        }
    }

    fn value(&mut self) -> Result<J, String> {
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') | Some(b'[') if self.depth >= Self::MAX_DEPTH => Err("nesting too deep".into()),
            Some(b'{') => {
                self.i += 1;
                self.depth += 1;
                let mut members = Vec::new();
                if !self.eat(b'}') {
                    loop {
                        self.ws();
                        if self.b.get(self.i) != Some(&b'"') {
                            return Err(format!("expected object key at byte {}", self.i));
                        }
                        let k = self.string()?;
                        self.expect(b':')?;
                        members.push((k, self.value()?));
                        if self.eat(b'}') {
                            break;
                        }
                        self.expect(b',')?;
                    }
                }
                self.depth -= 1;
                Ok(J::Object(members))
            }
            Some(b'[') => {
                self.i += 1;
                self.depth += 1;
                let mut items = Vec::new();
                if !self.eat(b']') {
                    loop {
                        items.push(self.value()?);
                        if self.eat(b']') {
                            break;
                        }
                        self.expect(b',')?;
                    }
                }
                self.depth -= 1;
                Ok(J::Array(items))
            }
            Some(b'"') => self.string().map(J::String),
            Some(b't') => self.literal("true", J::Bool(true)),
            Some(b'f') => self.literal("false", J::Bool(false)),
            Some(b'n') => self.literal("null", J::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(format!("unexpected character at byte {}", self.i)),
            None => Err("unexpected end of input".into()),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, kept as text.
    fn number(&mut self) -> Result<J, String> {
        let start = self.i;
        let digits = |r: &mut Self| {
            let s = r.i;
            while matches!(r.b.get(r.i), Some(b'0'..=b'9')) {
                r.i += 1;
            }
            r.i > s
        };
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let int_start = self.i;
        let ok = digits(self) && (self.b[int_start] != b'0' || self.i == int_start + 1);
        let ok = ok
            && (self.b.get(self.i) != Some(&b'.') || {
                self.i += 1;
                digits(self)
            });
        let ok = ok
            && (!matches!(self.b.get(self.i), Some(b'e' | b'E')) || {
                self.i += 1;
                if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                    self.i += 1;
                }
                digits(self)
            });
        if !ok {
            return Err(format!("invalid number at byte {start}"));
        }
        // The slice is ASCII by construction.
        Ok(J::Number(
            String::from_utf8_lossy(&self.b[start..self.i]).into_owned(),
        ))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self.b.get(self.i..self.i + 4).ok_or("truncated \\u escape")?;
        let n = h.iter().try_fold(0u32, |acc, b| {
            char::from(*b)
                .to_digit(16)
                .map(|d| acc * 16 + d)
                .ok_or("invalid \\u escape")
        })?;
        self.i += 4;
        Ok(n)
    }

    /// A string starting at the opening quote. Lone surrogates become
    /// U+FFFD, as Go does.
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let c = *self.b.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = *self.b.get(self.i).ok_or("unterminated string")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code =
                                if (0xd800..0xdc00).contains(&hi) && self.b[self.i..].starts_with(b"\\u") {
                                    let save = self.i;
                                    self.i += 2;
                                    let lo = self.hex4()?;
                                    if (0xdc00..0xe000).contains(&lo) {
                                        0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                                    } else {
                                        self.i = save;
                                        0xfffd
                                    }
                                } else {
                                    hi
                                };
                            char::from_u32(code).unwrap_or('\u{fffd}')
                        }
                        _ => return Err(format!("invalid escape at byte {}", self.i - 1)),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(format!("control character in string at byte {}", self.i - 1)),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| "string is not valid UTF-8".into())
    }
}

fn read_value(j: &J, ty: &Type, lenient: bool, path: &mut Path) -> Result<Value, CodecError> {
    let elems = |items: &[J], ety: &Type, path: &mut Path| {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            path.push(PathStep::Index(i as u64));
            out.push(read_value(item, ety, lenient, path)?);
            path.pop();
        }
        Ok::<_, CodecError>(out)
    };
    match (ty, j) {
        (_, J::Null) => Ok(Value::Null),
        (Type::Dynamic, J::Object(o)) => {
            let (mut t, mut v) = (None, None);
            for (k, item) in o {
                match k.as_str() {
                    "type" => t = Some(item),
                    "value" => v = Some(item),
                    _ => {
                        return Err(CodecError::invalid(
                            path,
                            format!("invalid key \"{k}\" in dynamically-typed value"),
                        ))
                    }
                }
            }
            let t = t.ok_or_else(|| CodecError::invalid(path, "missing type in dynamically-typed value"))?;
            let t = Type::from_json(&to_serde(t)).map_err(|e| match e {
                CodecError::Invalid { message, .. } => CodecError::invalid(path, message),
                e => e,
            })?;
            let v = v.ok_or_else(|| CodecError::invalid(path, "missing value in dynamically-typed value"))?;
            let v = read_value(v, &t, lenient, path)?;
            Ok(Value::Dynamic(t, Box::new(v)))
        }
        (Type::Bool, J::Bool(b)) => Ok(Value::Bool(*b)),
        (Type::Bool, J::String(s)) => match s.as_str() {
            "true" | "1" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            _ => Err(CodecError::mismatch(path, "bool", format!("string {s:?}"))),
        },
        (Type::Number, J::Number(s)) => Number::parse(s)
            .map(Value::Number)
            .ok_or_else(|| CodecError::invalid(path, format!("number {s} is out of range"))),
        (Type::Number, J::String(s)) => Number::parse(s)
            .map(Value::Number)
            .ok_or_else(|| CodecError::mismatch(path, "number", format!("string {s:?}"))),
        (Type::String, J::String(s) | J::Number(s)) => Ok(Value::String(s.clone())),
        (Type::String, J::Bool(b)) => Ok(Value::String(b.to_string())),
        (Type::List(e), J::Array(a)) => Ok(Value::List(elems(a, e, path)?)),
        (Type::Set(e), J::Array(a)) => Ok(Value::Set(dedup_set(elems(a, e, path)?))),
        (Type::Tuple(ts), J::Array(a)) => {
            if a.len() != ts.len() {
                return Err(CodecError::invalid(
                    path,
                    format!("a tuple of {} elements is required, found {}", ts.len(), a.len()),
                ));
            }
            let mut out = Vec::with_capacity(a.len());
            for (i, (item, t)) in a.iter().zip(ts).enumerate() {
                path.push(PathStep::Index(i as u64));
                out.push(read_value(item, t, lenient, path)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        (Type::Map(e), J::Object(o)) => {
            let mut out = BTreeMap::new();
            for (k, item) in o {
                path.push(PathStep::Key(k.clone()));
                out.insert(k.clone(), read_value(item, e, lenient, path)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        (Type::Object(attrs), J::Object(o)) => {
            let mut out = BTreeMap::new();
            for (k, item) in o {
                let Some(t) = attrs.get(k) else {
                    if lenient {
                        continue;
                    }
                    return Err(CodecError::invalid(
                        path,
                        format!("unsupported attribute \"{k}\""),
                    ));
                };
                path.push(PathStep::Attr(k.clone()));
                out.insert(k.clone(), read_value(item, t, lenient, path)?);
                path.pop();
            }
            for k in attrs.keys() {
                out.entry(k.clone()).or_insert(Value::Null);
            }
            Ok(Value::Object(out))
        }
        _ => Err(CodecError::mismatch(path, ty.friendly_name(), j.kind())),
    }
}

/// Converts a (small) parsed type description for [`Type::from_json`].
fn to_serde(j: &J) -> serde_json::Value {
    use serde_json::Value as S;
    match j {
        J::Null => S::Null,
        J::Bool(b) => S::Bool(*b),
        J::Number(n) => S::String(n.clone()),
        J::String(s) => S::String(s.clone()),
        J::Array(a) => S::Array(a.iter().map(to_serde).collect()),
        J::Object(o) => S::Object(o.iter().map(|(k, v)| (k.clone(), to_serde(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value, ty: &Type) -> String {
        String::from_utf8(encode(v, ty).unwrap_or_else(|e| panic!("encode: {e}"))).expect("utf8")
    }

    fn ty() -> Type {
        Type::object([
            ("name", Type::String),
            ("size", Type::Number),
            ("on", Type::Bool),
            ("devs", Type::list(Type::String)),
            ("tags", Type::set(Type::String)),
            ("meta", Type::map(Type::Number)),
            ("nested", Type::list(Type::object([("x", Type::Number)]))),
            ("any", Type::Dynamic),
        ])
    }

    #[test]
    fn encode_matches_cty() {
        let v = Value::object([
            ("name", "a<b>&\"\n\u{1}".into()),
            ("size", Value::Number(Number::Float(0.5))),
            ("devs", Value::List(vec!["/dev/sda".into()])),
            ("tags", Value::Set(vec![])),
            (
                "meta",
                Value::Map([("z".to_string(), 1i64.into()), ("a".to_string(), Value::Null)].into()),
            ),
            (
                "nested",
                Value::List(vec![Value::object([("x", u64::MAX.into())])]),
            ),
            (
                "any",
                Value::Dynamic(Type::list(Type::String), Box::new(Value::List(vec!["q".into()]))),
            ),
        ]);
        assert_eq!(
            text(&v, &ty()),
            r#"{"any":{"value":["q"],"type":["list","string"]},"devs":["/dev/sda"],"meta":{"a":null,"z":1},"name":"a\u003cb\u003e\u0026\"\n\u0001","nested":[{"x":18446744073709551615}],"on":null,"size":0.5,"tags":[]}"#
        );
        assert_eq!(
            text(&Value::Number(Number::Float(1e21)), &Type::Number),
            "1000000000000000000000"
        );
        assert_eq!(
            text(&Value::Number(Number::Big("1.5e-8".into())), &Type::Number),
            "0.000000015"
        );
        assert!(encode(&Value::Unknown, &Type::String).is_err());
        let err = encode(
            &Value::object([("devs", Value::List(vec![Value::Unknown]))]),
            &ty(),
        )
        .expect_err("unknown");
        assert!(
            err.to_string().starts_with("at .devs[0]: value is unknown"),
            "{err}"
        );
        assert!(encode(&Value::Number(Number::Float(f64::INFINITY)), &Type::Number).is_err());
        // Found by fuzzing: integral floats beyond i64 are written exactly, so they read back equal.
        let big = Value::Number(Number::Float(2f64.powi(70)));
        assert_eq!(text(&big, &Type::Number), "1180591620717411303424");
        assert_eq!(
            decode(text(&big, &Type::Number).as_bytes(), &Type::Number),
            Ok(big)
        );
    }

    #[test]
    fn roundtrip() {
        let v = Value::object([
            ("name", "pool".into()),
            (
                "size",
                Value::Number(Number::Big("123456789012345678901234567890.123".into())),
            ),
            ("on", true.into()),
            ("devs", Value::List(vec!["a".into(), Value::Null])),
            ("tags", Value::Set(vec!["y".into(), "x".into()])),
            ("meta", Value::Map([("k".to_string(), (-3i64).into())].into())),
            (
                "nested",
                Value::List(vec![Value::object([("x", Value::Number(Number::Float(2.25)))])]),
            ),
            (
                "any",
                Value::Dynamic(
                    Type::object([("n", Type::Number)]),
                    Box::new(Value::object([("n", 1i64.into())])),
                ),
            ),
        ]);
        let bytes = encode(&v, &ty()).expect("encode");
        assert_eq!(decode(&bytes, &ty()), Ok(v.clone()));
        // And through msgpack as well.
        let mp = super::super::msgpack::encode(&v, &ty()).expect("msgpack");
        assert_eq!(super::super::msgpack::decode(&mp, &ty()), Ok(v));
    }

    #[test]
    fn decode_conversions() {
        let t = Type::object([
            ("n", Type::Number),
            ("b", Type::Bool),
            ("s", Type::String),
            ("big", Type::Number),
        ]);
        let v = decode(
            br#"{"n":"42","b":"true","s":12.5,"big":"18446744073709551616"}"#,
            &t,
        )
        .expect("decode");
        assert_eq!(v.attr("n"), Some(&Value::from(42i64)));
        assert_eq!(v.attr("b"), Some(&Value::Bool(true)));
        assert_eq!(v.attr("s"), Some(&Value::from("12.5")));
        assert_eq!(
            v.attr("big")
                .and_then(Value::as_number)
                .and_then(Number::to_decimal_string)
                .as_deref(),
            Some("18446744073709551616")
        );
        assert!(decode(br#"{"n":"x"}"#, &t).is_err());
        assert!(decode(br#"{"b":"yes"}"#, &t).is_err());
        assert_eq!(decode(b"", &t), Ok(Value::Null));
        assert_eq!(decode(b"null", &t), Ok(Value::Null));
        assert!(decode(br#"{"any":{"value":1}}"#, &Type::object([("any", Type::Dynamic)])).is_err());
    }

    #[test]
    fn reader() {
        let t = Type::object([("n", Type::Number), ("s", Type::String)]);
        let v = decode(
            br#" {"n": 123456789012345678901234567890.125, "s": "a\u00e9\ud83d\ude00\n\/"} "#,
            &t,
        )
        .expect("decode");
        assert_eq!(
            v.attr("n")
                .and_then(Value::as_number)
                .and_then(Number::to_decimal_string)
                .as_deref(),
            Some("123456789012345678901234567890.125")
        );
        assert_eq!(v.attr("s").and_then(Value::as_str), Some("a\u{e9}\u{1f600}\n/"));
        let v = decode(br#"{"s": 1.50e2}"#, &t).expect("number as string");
        assert_eq!(v.attr("s").and_then(Value::as_str), Some("1.50e2"));
        for bad in [
            &b"{"[..],
            b"[1,]",
            b"01",
            b"1.",
            b"-",
            b"\"\\x\"",
            b"{\"a\" 1}",
            b"tru",
            b"1 2",
            b"\"\x01\"",
            b"\"\\u+abc\"",
        ] {
            assert!(
                decode(bad, &Type::Dynamic).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(decode(&[b'['; 600], &Type::list(Type::String)).is_err());
        assert!(decode(&[b'['; 100_000], &Type::Dynamic).is_err());
        assert!(decode(b"1e999999", &Type::Number).is_err());
    }

    #[test]
    fn lenient_drops_and_fills() {
        let t = Type::object([
            ("keep", Type::String),
            ("added", Type::String),
            ("l", Type::list(Type::object([("a", Type::Number)]))),
        ]);
        let raw = br#"{"keep":"k","removed":1,"l":[{"a":1,"gone":true}]}"#;
        let err = decode(raw, &t).expect_err("strict");
        assert_eq!(err.to_string(), "at (root): unsupported attribute \"removed\"");
        let v = decode_lenient(raw, &t).expect("lenient");
        assert_eq!(
            v,
            Value::object([
                ("keep", "k".into()),
                ("added", Value::Null),
                ("l", Value::List(vec![Value::object([("a", 1i64.into())])])),
            ])
        );
        // Missing attributes are null even in strict mode, as in cty.
        assert_eq!(
            decode(br#"{}"#, &t).ok().and_then(|v| v.attr("keep").cloned()),
            Some(Value::Null)
        );
    }

    #[test]
    fn errors_have_paths() {
        let err = decode(
            br#"{"devs":["a",5]}"#,
            &Type::object([("devs", Type::list(Type::Bool))]),
        )
        .expect_err("bad");
        assert_eq!(err.to_string(), "at .devs[0]: expected bool, found string \"a\"");
        let err = decode(
            br#"{"m":{"k":[]}}"#,
            &Type::object([("m", Type::map(Type::String))]),
        )
        .expect_err("bad");
        assert_eq!(err.to_string(), "at .m[\"k\"]: expected string, found array");
    }
}
