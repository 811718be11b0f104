//! Terraform's value model ("cty", from `github.com/zclconf/go-cty`).
//!
//! Terraform describes every attribute with a cty [`Type`] and exchanges
//! [`Value`]s with providers in msgpack ([`super::msgpack`]) or JSON
//! ([`super::json`]). The wire formats carry no type information (apart from
//! `dynamic` attributes), so both codecs are driven by the schema type.
//!
//! Rules kept from cty:
//! * every type admits `null` and, while planning, an *unknown* value;
//! * numbers are arbitrary-precision decimals; two numbers are equal when
//!   their shortest decimal texts are equal (cty's `rawNumberEqual`), so
//!   `Int(1) == Float(1.0)` and `Float(0.1) == Big("0.1")`;
//! * sets are unordered and hold no duplicates;
//! * an object value has exactly the attributes of its type (absent ones
//!   are null); a `dynamic` attribute holds a value of any concrete type,
//!   which travels with the value ([`Value::Dynamic`]).

use std::collections::BTreeMap;
use std::fmt;

/// A cty type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Type {
    Bool,
    Number,
    String,
    /// cty's `DynamicPseudoType`: any type, decided per value.
    Dynamic,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
}

impl Type {
    pub fn list(t: Type) -> Type {
        Type::List(Box::new(t))
    }

    pub fn set(t: Type) -> Type {
        Type::Set(Box::new(t))
    }

    pub fn map(t: Type) -> Type {
        Type::Map(Box::new(t))
    }

    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Type)>) -> Type {
        Type::Object(attrs.into_iter().map(|(k, t)| (k.into(), t)).collect())
    }

    /// Human-readable name used in error messages ("list of string").
    pub fn friendly_name(&self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Number => "number".into(),
            Type::String => "string".into(),
            Type::Dynamic => "dynamic".into(),
            Type::List(e) => format!("list of {}", e.friendly_name()),
            Type::Set(e) => format!("set of {}", e.friendly_name()),
            Type::Map(e) => format!("map of {}", e.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
        }
    }

    /// cty's JSON type description (`cty.Type.MarshalJSON`), e.g.
    /// `["list","string"]` or `["object",{"a":"number"}]`.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        let pair = |kind: &str, inner: J| J::Array(vec![J::String(kind.into()), inner]);
        match self {
            Type::Bool => J::String("bool".into()),
            Type::Number => J::String("number".into()),
            Type::String => J::String("string".into()),
            Type::Dynamic => J::String("dynamic".into()),
            Type::List(e) => pair("list", e.to_json()),
            Type::Set(e) => pair("set", e.to_json()),
            Type::Map(e) => pair("map", e.to_json()),
            Type::Object(attrs) => pair(
                "object",
                J::Object(attrs.iter().map(|(k, t)| (k.clone(), t.to_json())).collect()),
            ),
            Type::Tuple(elems) => pair("tuple", J::Array(elems.iter().map(Type::to_json).collect())),
        }
    }

    /// The exact bytes cty produces for [`Type::to_json`]: compact, object
    /// attributes sorted by name, strings escaped like Go's `encoding/json`.
    /// These bytes are embedded in msgpack for dynamic values.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_json(&mut out);
        out
    }

    fn write_json(&self, out: &mut Vec<u8>) {
        let open = |out: &mut Vec<u8>, kind: &str| {
            out.extend_from_slice(b"[\"");
            out.extend_from_slice(kind.as_bytes());
            out.extend_from_slice(b"\",");
        };
        match self {
            Type::Bool => out.extend_from_slice(b"\"bool\""),
            Type::Number => out.extend_from_slice(b"\"number\""),
            Type::String => out.extend_from_slice(b"\"string\""),
            Type::Dynamic => out.extend_from_slice(b"\"dynamic\""),
            Type::List(e) | Type::Set(e) | Type::Map(e) => {
                let kind = match self {
                    Type::List(_) => "list",
                    Type::Set(_) => "set",
                    _ => "map",
                };
                open(out, kind);
                e.write_json(out);
                out.push(b']');
            }
            Type::Object(attrs) => {
                open(out, "object");
                out.push(b'{');
                for (i, (name, t)) in attrs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    super::json_string::write_string(out, name);
                    out.push(b':');
                    t.write_json(out);
                }
                out.extend_from_slice(b"}]");
            }
            Type::Tuple(elems) => {
                open(out, "tuple");
                out.push(b'[');
                for (i, t) in elems.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    t.write_json(out);
                }
                out.extend_from_slice(b"]]");
            }
        }
    }

    /// Parses cty's JSON type description. An object type's optional third
    /// element (the list of optional attributes, a config-only concept) is
    /// accepted and ignored.
    pub fn from_json(j: &serde_json::Value) -> Result<Type, CodecError> {
        use serde_json::Value as J;
        let bad = || CodecError::invalid(&Path::root(), format!("invalid type description {j}"));
        match j {
            J::String(s) => match s.as_str() {
                "bool" => Ok(Type::Bool),
                "number" => Ok(Type::Number),
                "string" => Ok(Type::String),
                "dynamic" => Ok(Type::Dynamic),
                _ => Err(bad()),
            },
            J::Array(a) => match (a.first().and_then(J::as_str), a.get(1), a.len()) {
                (Some("list"), Some(e), 2) => Ok(Type::list(Type::from_json(e)?)),
                (Some("set"), Some(e), 2) => Ok(Type::set(Type::from_json(e)?)),
                (Some("map"), Some(e), 2) => Ok(Type::map(Type::from_json(e)?)),
                (Some("object"), Some(J::Object(attrs)), 2 | 3) => attrs
                    .iter()
                    .map(|(k, t)| Ok((k.clone(), Type::from_json(t)?)))
                    .collect::<Result<_, _>>()
                    .map(Type::Object),
                (Some("tuple"), Some(J::Array(elems)), 2) => elems
                    .iter()
                    .map(Type::from_json)
                    .collect::<Result<_, _>>()
                    .map(Type::Tuple),
                (Some("tuple"), Some(J::Null), 2) => Ok(Type::Tuple(Vec::new())),
                _ => Err(bad()),
            },
            _ => Err(bad()),
        }
    }

    /// [`Type::from_json`] over raw bytes (e.g. a schema or a dynamic value's type).
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Type, CodecError> {
        let j: serde_json::Value = serde_json::from_slice(bytes)
            .map_err(|e| CodecError::invalid(&Path::root(), format!("invalid type description: {e}")))?;
        Type::from_json(&j)
    }
}

/// A cty number: arbitrary-precision decimal. `Int` and `Float` are fast
/// paths; `Big` keeps anything else (integers beyond `i64`, decimals with
/// more precision than `f64`) as decimal text.
#[derive(Clone, Debug)]
pub enum Number {
    Int(i64),
    Float(f64),
    /// arbitrary precision decimal, kept as text
    Big(String),
}

impl Number {
    /// Parses decimal text the way cty's `ParseNumberVal` does (optional
    /// sign, digits, fraction, exponent, or `Inf`). The result is `Int` when
    /// it fits `i64`, `Float` when the `f64` nearest to it prints back as the
    /// same decimal (so nothing is lost by cty's equality rule), else `Big`
    /// holding the normalized text.
    pub fn parse(s: &str) -> Option<Number> {
        let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
        if unsigned.eq_ignore_ascii_case("inf") {
            let inf = if s.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            };
            return Some(Number::Float(inf));
        }
        let d = Decimal::parse(s)?;
        if d.exp >= 0 {
            return Some(match d.to_i128().and_then(|i| i64::try_from(i).ok()) {
                Some(i) => Number::Int(i),
                None => Number::Big(d.to_text()),
            });
        }
        match s.parse::<f64>() {
            Ok(f) if f.is_finite() && Decimal::of_f64(f).as_ref() == Some(&d) => Some(Number::Float(f)),
            _ => Some(Number::Big(d.to_text())),
        }
    }

    fn decimal(&self) -> Option<Decimal> {
        match self {
            Number::Int(i) => Decimal::parse(&i.to_string()),
            Number::Float(f) => Decimal::of_f64(*f),
            Number::Big(s) => Decimal::parse(s),
        }
    }

    /// The value as an `i128` if it is an integer in range.
    pub fn as_i128(&self) -> Option<i128> {
        match self {
            Number::Int(i) => Some(i128::from(*i)),
            // Exact: `as` is lossless for integral floats inside i128's range
            // [-2^127, 2^127) (printing would round: 2^60 → …847000).
            Number::Float(f) if f.fract() == 0.0 && *f >= -(2f64.powi(127)) && *f < 2f64.powi(127) => {
                Some(*f as i128)
            }
            Number::Float(_) => None,
            Number::Big(s) => Decimal::parse(s)?.to_i128(),
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        self.as_i128().and_then(|i| i64::try_from(i).ok())
    }

    pub fn as_u64(&self) -> Option<u64> {
        self.as_i128().and_then(|i| u64::try_from(i).ok())
    }

    /// The nearest `f64` (lossy for `Big`).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Number::Int(i) => Some(*i as f64),
            Number::Float(f) => Some(*f),
            Number::Big(s) => s.parse().ok(),
        }
    }

    /// cty's canonical text (`big.Float.Text('f', -1)`): plain decimal
    /// notation, no exponent. `None` for infinities and NaN.
    pub fn to_decimal_string(&self) -> Option<String> {
        self.decimal().map(|d| d.to_text())
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => a == b,
            (Number::Float(a), Number::Float(b)) => a == b,
            // Integers compare exactly, others by shortest text, as in cty.
            _ => match (self.as_i128(), other.as_i128()) {
                (Some(a), Some(b)) => a == b,
                _ => match (self.decimal(), other.decimal()) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                },
            },
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) if x.is_nan() => f.write_str("NaN"),
            Number::Float(x) if x.is_infinite() => f.write_str(if *x > 0.0 { "+Inf" } else { "-Inf" }),
            Number::Float(_) => f.write_str(&self.to_decimal_string().unwrap_or_default()),
            Number::Big(s) => f.write_str(&self.to_decimal_string().unwrap_or_else(|| s.clone())),
        }
    }
}

/// A normalized decimal: `digits × 10^exp`, `digits` without leading or
/// trailing zeros (empty for zero, which is never negative).
#[derive(Debug, PartialEq, Eq)]
struct Decimal {
    neg: bool,
    digits: String,
    exp: i64,
}

impl Decimal {
    /// Bound on exponents so that printing a parsed number stays cheap.
    const MAX_EXP: i64 = 10_000;

    fn parse(s: &str) -> Option<Decimal> {
        let (neg, s) = match s.as_bytes().first()? {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        let (mantissa, exp) = match s.find(['e', 'E']) {
            Some(i) => {
                let e = &s[i + 1..];
                let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                (&s[..i], e.parse::<i64>().ok()?)
            }
            None => (s, 0),
        };
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all = || int.bytes().chain(frac.bytes());
        if int.len() + frac.len() == 0 || !all().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: String = all().map(char::from).collect();
        let mut exp = exp.checked_sub(i64::try_from(frac.len()).ok()?)?;
        let trailing = digits.len() - digits.trim_end_matches('0').len();
        digits.truncate(digits.len() - trailing);
        exp = exp.checked_add(i64::try_from(trailing).ok()?)?;
        let digits = digits.trim_start_matches('0').to_string();
        if digits.is_empty() {
            return Some(Decimal {
                neg: false,
                digits,
                exp: 0,
            });
        }
        let magnitude = exp.checked_add(i64::try_from(digits.len()).ok()?)?;
        if exp.abs() > Self::MAX_EXP || magnitude.abs() > Self::MAX_EXP {
            return None;
        }
        Some(Decimal { neg, digits, exp })
    }

    /// Rust prints the shortest decimal that round-trips, exactly as Go's
    /// `big.Float.Text('f', -1)` does for a float64-precision value.
    fn of_f64(f: f64) -> Option<Decimal> {
        if f.is_finite() {
            Decimal::parse(&format!("{f}"))
        } else {
            None
        }
    }

    fn to_text(&self) -> String {
        if self.digits.is_empty() {
            return "0".into();
        }
        let sign = if self.neg { "-" } else { "" };
        let len = self.digits.len() as i64;
        if self.exp >= 0 {
            return format!("{sign}{}{}", self.digits, "0".repeat(self.exp as usize));
        }
        let point = len + self.exp;
        if point > 0 {
            let (a, b) = self.digits.split_at(point as usize);
            format!("{sign}{a}.{b}")
        } else {
            format!("{sign}0.{}{}", "0".repeat((-point) as usize), self.digits)
        }
    }

    fn to_i128(&self) -> Option<i128> {
        if self.exp < 0 || self.digits.len() as i64 + self.exp > 40 {
            return None;
        }
        self.to_text().parse().ok()
    }
}

/// A cty value. Values carry no type: the schema [`Type`] travels beside
/// them, except inside `dynamic` attributes ([`Value::Dynamic`]).
#[derive(Clone, Debug)]
pub enum Value {
    Null,
    /// Not known until apply ("known after apply").
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    /// Unordered; equality ignores order. Decoders remove duplicates.
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Equality treats an absent attribute as null.
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    /// a known value of a Dynamic-typed attribute, carrying its concrete type
    Dynamic(Type, Box<Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Null, Null) | (Unknown, Unknown) => true,
            (Bool(a), Bool(b)) => a == b,
            (Number(a), Number(b)) => a == b,
            (String(a), String(b)) => a == b,
            (List(a), List(b)) | (Tuple(a), Tuple(b)) => a == b,
            (Set(a), Set(b)) => a.iter().all(|x| b.contains(x)) && b.iter().all(|y| a.contains(y)),
            (Map(a), Map(b)) => a == b,
            // An object has every attribute of its type: absent means null.
            (Object(a), Object(b)) => {
                let same = |x: &BTreeMap<std::string::String, Value>,
                            y: &BTreeMap<std::string::String, Value>| {
                    x.iter().all(|(k, v)| y.get(k).unwrap_or(&Null) == v)
                };
                same(a, b) && same(b, a)
            }
            (Dynamic(ta, a), Dynamic(tb, b)) => ta == tb && a == b,
            _ => false,
        }
    }
}

impl Value {
    /// Builds an object value from `(name, value)` pairs.
    pub fn object<K: Into<String>>(attrs: impl IntoIterator<Item = (K, Value)>) -> Value {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// Looks through [`Value::Dynamic`] wrappers.
    pub fn inner(&self) -> &Value {
        match self {
            Value::Dynamic(_, v) => v.inner(),
            v => v,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.inner(), Value::Null)
    }

    /// False only for an unknown value itself (elements may still be unknown).
    pub fn is_known(&self) -> bool {
        !matches!(self.inner(), Value::Unknown)
    }

    /// True when no unknown value occurs anywhere inside.
    pub fn is_wholly_known(&self) -> bool {
        match self.inner() {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_wholly_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_wholly_known),
            _ => true,
        }
    }

    pub fn attr(&self, name: &str) -> Option<&Value> {
        match self.inner() {
            Value::Object(m) => m.get(name),
            _ => None,
        }
    }

    pub fn attr_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) => m.get_mut(name),
            Value::Dynamic(_, v) => v.attr_mut(name),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self.inner() {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self.inner() {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&Number> {
        match self.inner() {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// An integral number fitting `i64` (`Int`, integral `Float`, or `Big`).
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.as_i64()
    }

    pub fn as_u64(&self) -> Option<u64> {
        self.as_number()?.as_u64()
    }

    pub fn as_f64(&self) -> Option<f64> {
        self.as_number()?.as_f64()
    }

    /// Elements of a list, set or tuple.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self.inner() {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            _ => None,
        }
    }

    /// Entries of a map or object.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Value>> {
        match self.inner() {
            Value::Map(m) | Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// Short description of the value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Unknown => "unknown value",
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Map(_) => "map",
            Value::Object(_) => "object",
            Value::Tuple(_) => "tuple",
            Value::Dynamic(..) => "dynamic value",
        }
    }

    /// The type a value suggests when it must be stored in a `dynamic`
    /// attribute without explicit type: primitives map to themselves,
    /// objects and tuples to their element-wise types, and lists, sets and
    /// maps to a collection of their (single) element type, ignoring null
    /// and unknown elements. Mixed lists fall back to a tuple and mixed maps
    /// to an object; null and unknown values imply `dynamic`.
    pub fn implied_type(&self) -> Type {
        fn common(items: &mut dyn Iterator<Item = &Value>) -> Option<Type> {
            let mut found = Type::Dynamic;
            for t in items.map(Value::implied_type) {
                if t == Type::Dynamic || t == found {
                    continue;
                }
                if found != Type::Dynamic {
                    return None;
                }
                found = t;
            }
            Some(found)
        }
        let each = |v: &[Value]| v.iter().map(Value::implied_type).collect();
        match self {
            Value::Null | Value::Unknown => Type::Dynamic,
            Value::Bool(_) => Type::Bool,
            Value::Number(_) => Type::Number,
            Value::String(_) => Type::String,
            Value::List(v) => common(&mut v.iter()).map_or_else(|| Type::Tuple(each(v)), Type::list),
            Value::Set(v) => common(&mut v.iter()).map_or_else(|| Type::Tuple(each(v)), Type::set),
            Value::Tuple(v) => Type::Tuple(each(v)),
            Value::Map(m) => common(&mut m.values()).map_or_else(
                || Type::Object(m.iter().map(|(k, v)| (k.clone(), v.implied_type())).collect()),
                Type::map,
            ),
            Value::Object(m) => Type::Object(m.iter().map(|(k, v)| (k.clone(), v.implied_type())).collect()),
            Value::Dynamic(t, _) => t.clone(),
        }
    }
}

/// The null value of a type (cty's `NullVal(ty)`); values are untyped here,
/// so this is always [`Value::Null`].
pub fn null_of(_ty: &Type) -> Value {
    Value::Null
}

/// Removes duplicate elements from a set, keeping the first occurrence.
/// Elements that are not wholly known are never merged: cty treats each
/// unknown set element as distinct.
pub fn dedup_set(items: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_wholly_known() || !out.iter().any(|o| o.is_wholly_known() && *o == item) {
            out.push(item);
        }
    }
    out
}

/// Makes a value conform to a type, the way providers build values before
/// encoding them: arrays become `List`/`Set`/`Tuple` and maps become
/// `Map`/`Object` as the type says, sets are de-duplicated, object
/// attributes missing from the value become null, and values of `dynamic`
/// attributes get wrapped in [`Value::Dynamic`] with their
/// [implied type](Value::implied_type). Attributes not in the type and
/// mismatched primitives are errors (they reveal schema drift).
pub fn conform(v: Value, ty: &Type) -> Result<Value, CodecError> {
    conform_at(v, ty, &mut Path::root())
}

fn conform_at(v: Value, ty: &Type, path: &mut Path) -> Result<Value, CodecError> {
    let elems = |items: Vec<Value>, ety: &Type, path: &mut Path| {
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.into_iter().enumerate() {
            path.push(PathStep::Index(i as u64));
            out.push(conform_at(item, ety, path)?);
            path.pop();
        }
        Ok::<_, CodecError>(out)
    };
    match (ty, v) {
        (_, v @ (Value::Null | Value::Unknown)) => Ok(v),
        (Type::Dynamic, Value::Dynamic(t, inner)) => {
            let inner = conform_at(*inner, &t, path)?;
            Ok(Value::Dynamic(t, Box::new(inner)))
        }
        (Type::Dynamic, v) => {
            let t = v.implied_type();
            let inner = conform_at(v, &t, path)?;
            Ok(Value::Dynamic(t, Box::new(inner)))
        }
        (_, Value::Dynamic(_, inner)) => conform_at(*inner, ty, path),
        (Type::Bool, v @ Value::Bool(_))
        | (Type::Number, v @ Value::Number(_))
        | (Type::String, v @ Value::String(_)) => Ok(v),
        (Type::List(e), Value::List(v) | Value::Set(v) | Value::Tuple(v)) => {
            Ok(Value::List(elems(v, e, path)?))
        }
        (Type::Set(e), Value::List(v) | Value::Set(v) | Value::Tuple(v)) => {
            Ok(Value::Set(dedup_set(elems(v, e, path)?)))
        }
        (Type::Tuple(ts), Value::List(v) | Value::Tuple(v)) if ts.len() == v.len() => {
            let mut out = Vec::with_capacity(v.len());
            for (i, (item, t)) in v.into_iter().zip(ts).enumerate() {
                path.push(PathStep::Index(i as u64));
                out.push(conform_at(item, t, path)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        (Type::Map(e), Value::Map(m) | Value::Object(m)) => {
            let mut out = BTreeMap::new();
            for (k, item) in m {
                path.push(PathStep::Key(k.clone()));
                out.insert(k, conform_at(item, e, path)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        (Type::Object(attrs), Value::Map(mut m) | Value::Object(mut m)) => {
            if let Some(extra) = m.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(CodecError::invalid(
                    path,
                    format!("attribute \"{extra}\" is not defined in the schema type"),
                ));
            }
            let mut out = BTreeMap::new();
            for (k, t) in attrs {
                path.push(PathStep::Attr(k.clone()));
                let item = m.remove(k).unwrap_or(Value::Null);
                out.insert(k.clone(), conform_at(item, t, path)?);
                path.pop();
            }
            Ok(Value::Object(out))
        }
        (ty, v) => Err(CodecError::mismatch(path, ty.friendly_name(), v.kind_name())),
    }
}

macro_rules! value_from {
    ($($t:ty => |$x:ident| $e:expr),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from($x: $t) -> Value {
                $e
            }
        })*
    };
}

value_from! {
    &str => |s| Value::String(s.to_string()),
    String => |s| Value::String(s),
    bool => |b| Value::Bool(b),
    i32 => |i| Value::Number(Number::Int(i64::from(i))),
    u32 => |i| Value::Number(Number::Int(i64::from(i))),
    i64 => |i| Value::Number(Number::Int(i)),
    u64 => |u| Value::Number(Number::from(u)),
    f64 => |f| Value::Number(Number::Float(f)),
    Number => |n| Value::Number(n),
    Vec<Value> => |v| Value::List(v),
}

impl From<u64> for Number {
    fn from(u: u64) -> Number {
        i64::try_from(u).map_or_else(|_| Number::Big(u.to_string()), Number::Int)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

/// One step of a [`Path`] (cty's `GetAttrStep` / `IndexStep`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathStep {
    /// Object attribute.
    Attr(String),
    /// List, set or tuple element (for sets: position in the encoding).
    Index(u64),
    /// Map key.
    Key(String),
}

/// Where in a value an error occurred; maps one-to-one onto tfplugin6's
/// `AttributePath` for diagnostics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<PathStep>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }

    pub fn push(&mut self, step: PathStep) {
        self.0.push(step);
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// A copy of this path with one more step.
    pub fn child(&self, step: PathStep) -> Path {
        let mut p = self.clone();
        p.push(step);
        p
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for step in &self.0 {
            match step {
                PathStep::Attr(a) => write!(f, ".{a}")?,
                PathStep::Index(i) => write!(f, "[{i}]")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
            }
        }
        Ok(())
    }
}

/// Errors of the codecs and of the typed bridge, with the location.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The data is of another kind than the type requires.
    #[error("at {path}: expected {expected}, found {found}")]
    Mismatch {
        path: Path,
        expected: String,
        found: String,
    },
    /// An unknown value where only known values can be used (JSON
    /// encoding, non-`Option` struct fields).
    #[error("at {path}: value is unknown (known only after apply) but a known value is required")]
    Unknown { path: Path },
    /// Any other problem: malformed input, attributes outside the type...
    #[error("at {path}: {message}")]
    Invalid { path: Path, message: String },
    /// A message raised by serde without location. The typed bridge
    /// replaces it by [`CodecError::Invalid`] at the innermost known path.
    #[error("{0}")]
    Custom(String),
}

impl CodecError {
    pub fn mismatch(path: &Path, expected: impl Into<String>, found: impl Into<String>) -> CodecError {
        CodecError::Mismatch {
            path: path.clone(),
            expected: expected.into(),
            found: found.into(),
        }
    }

    pub fn invalid(path: &Path, message: impl Into<String>) -> CodecError {
        CodecError::Invalid {
            path: path.clone(),
            message: message.into(),
        }
    }

    pub fn unknown(path: &Path) -> CodecError {
        CodecError::Unknown { path: path.clone() }
    }

    /// The location of the error (`None` for [`CodecError::Custom`]).
    pub fn path(&self) -> Option<&Path> {
        match self {
            CodecError::Mismatch { path, .. }
            | CodecError::Unknown { path }
            | CodecError::Invalid { path, .. } => Some(path),
            CodecError::Custom(_) => None,
        }
    }

    /// Gives a location-less error the location `path`.
    pub fn at(self, path: &Path) -> CodecError {
        match self {
            CodecError::Custom(message) => CodecError::Invalid {
                path: path.clone(),
                message,
            },
            e => e,
        }
    }
}

impl serde::de::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> CodecError {
        CodecError::Custom(msg.to_string())
    }
}

impl serde::ser::Error for CodecError {
    fn custom<T: fmt::Display>(msg: T) -> CodecError {
        CodecError::Custom(msg.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_equality_follows_cty() {
        assert_eq!(Number::Int(1), Number::Float(1.0));
        assert_eq!(Number::Float(0.1), Number::Big("0.1".into()));
        assert_eq!(Number::Big("1e3".into()), Number::Int(1000));
        assert_eq!(Number::Float(-0.0), Number::Int(0));
        assert_ne!(Number::Int(1), Number::Float(1.5));
        assert_ne!(Number::Big("0.10000000000000000001".into()), Number::Float(0.1));
        assert_eq!(Number::Float(f64::INFINITY), Number::Float(f64::INFINITY));
        let two_60 = 2f64.powi(60);
        assert_eq!(Number::Float(two_60), Number::Int(1 << 60));
        assert_eq!(Number::Float(two_60).as_i64(), Some(1 << 60));
        assert_ne!(Number::Float(two_60), Number::Int(1_152_921_504_606_847_000));
    }

    #[test]
    fn number_parse() {
        assert_eq!(Number::parse("42"), Some(Number::Int(42)));
        assert!(matches!(Number::parse("-1.5"), Some(Number::Float(f)) if f == -1.5));
        assert!(
            matches!(Number::parse("18446744073709551615"), Some(Number::Big(s)) if s == "18446744073709551615")
        );
        assert!(matches!(
            Number::parse("0.10000000000000000001"),
            Some(Number::Big(_))
        ));
        assert!(
            matches!(Number::parse("1.5e30"), Some(Number::Big(s)) if s == "1500000000000000000000000000000")
        );
        assert!(matches!(Number::parse("-Inf"), Some(Number::Float(f)) if f == f64::NEG_INFINITY));
        for bad in ["", "-", "abc", "1e", "1.2.3", ".", "0x10", "1e999999999999"] {
            assert_eq!(Number::parse(bad), None, "{bad:?}");
        }
        assert_eq!(
            Number::Big("12.50e-1".into()).to_decimal_string().as_deref(),
            Some("1.25")
        );
        assert_eq!(
            Number::Float(1e-7).to_decimal_string().as_deref(),
            Some("0.0000001")
        );
        assert_eq!(Number::Float(1e20).as_i128(), Some(100_000_000_000_000_000_000));
        assert_eq!(Number::Float(2.5).as_i64(), None);
    }

    #[test]
    fn set_equality_ignores_order() {
        let a = Value::Set(vec!["a".into(), "b".into()]);
        let b = Value::Set(vec!["b".into(), "a".into()]);
        assert_eq!(a, b);
        assert_ne!(
            Value::List(vec!["a".into(), "b".into()]),
            Value::List(vec!["b".into(), "a".into()])
        );
        assert_ne!(a, Value::Set(vec!["a".into()]));
        let d = dedup_set(vec!["a".into(), "a".into(), Value::Unknown, Value::Unknown]);
        assert_eq!(d.len(), 3);
    }

    #[test]
    fn type_json() {
        let t = Type::object([
            ("b", Type::list(Type::String)),
            ("a", Type::Tuple(vec![Type::Number, Type::Dynamic])),
            ("c", Type::map(Type::set(Type::Bool))),
        ]);
        let bytes = t.to_json_bytes();
        assert_eq!(
            std::str::from_utf8(&bytes).ok(),
            Some(
                r#"["object",{"a":["tuple",["number","dynamic"]],"b":["list","string"],"c":["map",["set","bool"]]}]"#
            )
        );
        assert_eq!(serde_json::to_vec(&t.to_json()).ok(), Some(bytes.clone()));
        assert_eq!(Type::from_json_bytes(&bytes), Ok(t));
        // Optional-attribute list is accepted and ignored.
        assert_eq!(
            Type::from_json_bytes(br#"["object",{"a":"string"},["a"]]"#),
            Ok(Type::object([("a", Type::String)]))
        );
        assert!(Type::from_json_bytes(br#"["list"]"#).is_err());
        assert!(Type::from_json_bytes(br#""float""#).is_err());
    }

    #[test]
    fn conform_shapes_values() {
        let ty = Type::object([
            ("tags", Type::set(Type::String)),
            ("m", Type::map(Type::Number)),
            ("missing", Type::String),
            ("any", Type::Dynamic),
        ]);
        let v = Value::object([
            ("tags", Value::List(vec!["x".into(), "x".into()])),
            ("m", Value::object([("k", 1i64.into())])),
            ("any", Value::List(vec!["a".into(), Value::Null])),
        ]);
        let c = conform(v, &ty).expect("conforms");
        assert_eq!(c.attr("tags"), Some(&Value::Set(vec!["x".into()])));
        assert_eq!(
            c.attr("m"),
            Some(&Value::Map([("k".to_string(), 1i64.into())].into()))
        );
        assert_eq!(c.attr("missing"), Some(&Value::Null));
        assert_eq!(
            c.attr("any"),
            Some(&Value::Dynamic(
                Type::list(Type::String),
                Box::new(Value::List(vec!["a".into(), Value::Null]))
            ))
        );
        let err = conform(Value::object([("nope", Value::Null)]), &ty).expect_err("extra attribute");
        assert_eq!(
            err.to_string(),
            "at (root): attribute \"nope\" is not defined in the schema type"
        );
        let err =
            conform(Value::object([("m", Value::object([("k", "x".into())]))]), &ty).expect_err("mismatch");
        assert_eq!(err.to_string(), "at .m[\"k\"]: expected number, found string");
    }

    #[test]
    fn accessors() {
        let v = Value::object([("n", Value::Number(Number::Float(3.0))), ("s", "x".into())]);
        assert_eq!(v.attr("n").and_then(Value::as_i64), Some(3));
        assert_eq!(v.attr("s").and_then(Value::as_str), Some("x"));
        assert_eq!(Value::from(u64::MAX).as_u64(), Some(u64::MAX));
        assert!(matches!(Value::from(u64::MAX), Value::Number(Number::Big(_))));
        let mut v = v;
        if let Some(s) = v.attr_mut("s") {
            *s = Value::Unknown;
        }
        assert!(v.is_known() && !v.is_wholly_known());
        assert!(Value::Dynamic(Type::String, Box::new(Value::Null)).is_null());
    }
}
