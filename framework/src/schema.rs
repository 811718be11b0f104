//! Schemas: the attributes of a resource, data source or the provider, with
//! their types, documentation, validation and planning behaviour.

use super::diag::{AttrPath, Diagnostic, Diagnostics};
use super::value::{Type, Value};

/// The schema of one resource type, data source or the provider itself.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Bumped when the state layout changes; old states go through the
    /// resource's upgrader.
    pub version: i64,
    /// Markdown description of the whole type.
    pub description: String,
    /// Top-level attributes.
    pub attributes: Vec<Attribute>,
    /// Nested blocks (only `timeouts` so far).
    pub blocks: Vec<Block>,
}

/// A nested block with single nesting, such as `timeouts { delete = "5m" }`.
#[derive(Clone, Debug)]
pub struct Block {
    /// The block's type name.
    pub name: &'static str,
    /// Markdown description.
    pub description: String,
    /// Its attributes.
    pub attributes: Vec<Attribute>,
}

/// A check of one attribute's known value; an `Err` explains what would be valid.
#[derive(Clone, Copy)]
pub enum Validator {
    /// The string must be one of these.
    OneOf(&'static [&'static str]),
    /// A check of a string value, or of each element of a list or set of strings.
    Str(fn(&str) -> Result<(), String>),
    /// A check of a whole number.
    Int(fn(i64) -> Result<(), String>),
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Validator::OneOf(v) => write!(f, "OneOf({v:?})"),
            Validator::Str(_) => write!(f, "Str(..)"),
            Validator::Int(_) => write!(f, "Int(..)"),
        }
    }
}

/// One attribute.
#[derive(Clone, Debug)]
pub struct Attribute {
    /// Its name.
    pub name: &'static str,
    /// Its cty type.
    pub ty: Type,
    /// Markdown description (the docs are generated from it).
    pub description: String,
    /// Must be set in configuration.
    pub required: bool,
    /// May be set in configuration.
    pub optional: bool,
    /// The provider may set it.
    pub computed: bool,
    /// Hidden in plan output.
    pub sensitive: bool,
    /// Deprecation message, if deprecated.
    pub deprecated: Option<&'static str>,
    /// A change means the object must be replaced.
    pub requires_replace: bool,
    /// The value planned when the configuration leaves it unset.
    pub default: Option<Value>,
    /// A computed value that does not change once known: planned as the prior
    /// value instead of "known after apply" on updates.
    pub stable: bool,
    /// Checks of known values.
    pub validators: Vec<Validator>,
    /// Write-only (Terraform 1.11+): the configured value reaches the provider at plan and apply,
    /// and is never planned, stored in state or read back (always null there).
    pub write_only: bool,
}

impl Attribute {
    /// The description shown to users (in Terraform's schema and the generated docs): the
    /// attribute's own text, plus the valid values and deprecation when the schema knows them.
    pub fn full_description(&self) -> String {
        let mut d = self.description.clone();
        for v in &self.validators {
            if let Validator::OneOf(values) = v {
                let list: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
                if !d.contains("One of") {
                    d.push_str(&format!(" One of {}.", list.join(", ")));
                }
            }
        }
        if let Some(msg) = self.deprecated {
            d.push_str(&format!(" **Deprecated:** {msg}"));
        }
        d
    }

    fn new(name: &'static str, ty: Type) -> Self {
        Attribute {
            name,
            ty,
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            deprecated: None,
            requires_replace: false,
            default: None,
            stable: false,
            validators: Vec::new(),
            write_only: false,
        }
    }

    /// A string attribute.
    pub fn string(name: &'static str) -> Self {
        Self::new(name, Type::String)
    }
    /// A number attribute.
    pub fn number(name: &'static str) -> Self {
        Self::new(name, Type::Number)
    }
    /// A bool attribute.
    pub fn bool(name: &'static str) -> Self {
        Self::new(name, Type::Bool)
    }
    /// An attribute of any type.
    pub fn typed(name: &'static str, ty: Type) -> Self {
        Self::new(name, ty)
    }

    /// Must be set.
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    /// May be set.
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    /// Set by the provider.
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    /// Optional, with this value when unset (shown in plans).
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.optional = true;
        self.computed = true;
        self.default = Some(v.into());
        self
    }
    /// A change replaces the object.
    pub fn replace(mut self) -> Self {
        self.requires_replace = true;
        self
    }
    /// Computed once, then unchanged (the prior value is planned on updates).
    pub fn stable(mut self) -> Self {
        self.stable = true;
        self
    }
    /// Hidden in plan output.
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only: configured, used by the apply, never in plans or state (see
    /// [`Schema::null_write_only`]). Cannot be computed or have a default ([`Schema::check`]).
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    /// Deprecated, with a message saying what to use instead.
    pub fn deprecated(mut self, message: &'static str) -> Self {
        self.deprecated = Some(message);
        self
    }
    /// Markdown description.
    pub fn describe(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
    /// Adds a validator.
    pub fn validate(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }
    /// The string must be one of `values` (also documented).
    pub fn one_of(mut self, values: &'static [&'static str]) -> Self {
        self.validators.push(Validator::OneOf(values));
        self
    }

    /// Runs the validators on `v`; unknown and null values pass.
    pub fn check(&self, path: &AttrPath, v: &Value, diags: &mut Diagnostics) {
        for validator in &self.validators {
            check_one(*validator, self.name, path, v, diags);
        }
    }
}

fn check_one(validator: Validator, name: &str, path: &AttrPath, v: &Value, diags: &mut Diagnostics) {
    match v {
        Value::Null | Value::Unknown => {}
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            for (i, item) in items.iter().enumerate() {
                check_one(validator, name, &path.clone().then_index(i), item, diags);
            }
        }
        Value::String(s) => {
            let outcome = match validator {
                Validator::OneOf(allowed) if allowed.contains(&s.as_str()) => Ok(()),
                Validator::OneOf(allowed) => Err(format!(
                    "{s:?} is not a valid value for {name}; use one of: {}.",
                    allowed.join(", ")
                )),
                Validator::Str(f) => f(s),
                Validator::Int(_) => Ok(()),
            };
            if let Err(detail) = outcome {
                diags.push(Diagnostic::error(format!("Invalid {name}"), detail).at(path.clone()));
            }
        }
        Value::Number(n) => {
            if let Validator::Int(f) = validator {
                let outcome = match (v.as_i64(), n.as_f64()) {
                    (Some(i), _) => f(i),
                    (None, Some(x)) if x.fract() != 0.0 => Err(format!(
                        "{n} is not a whole number: {name} takes a whole number, such as {}.",
                        x.round()
                    )),
                    (None, _) => Err(format!("{n} is out of range for {name}.")),
                };
                if let Err(detail) = outcome {
                    diags.push(Diagnostic::error(format!("Invalid {name}"), detail).at(path.clone()));
                }
            }
        }
        _ => {}
    }
}

impl Block {
    /// The standard `timeouts` block with the given operations ("create", "delete", …).
    pub fn timeouts(ops: &[(&'static str, &'static str)]) -> Self {
        Block {
            name: "timeouts",
            description:
                "How long operations may take, as durations such as `\"30s\"`, `\"2m\"` or `\"1h\"`.".into(),
            attributes: ops
                .iter()
                .map(|(op, default)| {
                    Attribute::string(op)
                        .optional()
                        .validate(Validator::Str(validate_duration))
                        .describe(format!("How long {op} may take. Defaults to `\"{default}\"`."))
                })
                .collect(),
        }
    }

    /// The cty type of this block's value.
    pub fn ty(&self) -> Type {
        Type::Object(
            self.attributes
                .iter()
                .map(|a| (a.name.to_string(), a.ty.clone()))
                .collect(),
        )
    }
}

impl Schema {
    /// A schema with a description and attributes.
    pub fn new(description: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Schema {
            version: 0,
            description: description.into(),
            attributes,
            blocks: Vec::new(),
        }
    }

    /// Adds a nested block.
    pub fn with_block(mut self, b: Block) -> Self {
        self.blocks.push(b);
        self
    }

    /// The cty object type of values of this schema.
    pub fn ty(&self) -> Type {
        let mut fields: std::collections::BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.to_string(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            fields.insert(b.name.to_string(), b.ty());
        }
        Type::Object(fields)
    }

    /// The attribute called `name`.
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// Every attribute with its path: the top-level ones, then each block's.
    fn paths(&self) -> impl Iterator<Item = (AttrPath, &Attribute)> {
        let top = self.attributes.iter().map(|a| (AttrPath::attr(a.name), a));
        let nested = self.blocks.iter().flat_map(|b| {
            b.attributes
                .iter()
                .map(move |a| (AttrPath::attr(b.name).then_attr(a.name), a))
        });
        top.chain(nested)
    }

    /// Mistakes in the schema itself that Terraform would refuse at `GetProviderSchema`: a
    /// write-only attribute must be neither computed nor defaulted (its value is never the
    /// provider's to choose, and it is never planned).
    pub fn check(&self) -> Result<(), String> {
        for (path, a) in self.paths() {
            if a.write_only && (a.computed || a.default.is_some()) {
                return Err(format!(
                    "{path}: a write-only attribute cannot be computed or have a default"
                ));
            }
        }
        Ok(())
    }

    /// Sets every write-only attribute of `v` (a state or planned value, blocks included) to null:
    /// what Terraform requires of planned and new states, and what keeps secrets out of state.
    pub fn null_write_only(&self, v: &mut Value) {
        for a in self.attributes.iter().filter(|a| a.write_only) {
            if let Some(slot) = v.attr_mut(a.name) {
                *slot = Value::Null;
            }
        }
        for b in &self.blocks {
            let Some(block) = v.attr_mut(b.name) else {
                continue;
            };
            for a in b.attributes.iter().filter(|a| a.write_only) {
                if let Some(slot) = block.attr_mut(a.name) {
                    *slot = Value::Null;
                }
            }
        }
    }

    /// Copies the configured values of the write-only attributes from `config` into `planned`,
    /// so the apply sees them (Terraform sends them only in the configuration).
    pub fn with_write_only(&self, planned: &mut Value, config: &Value) {
        for a in self.attributes.iter().filter(|a| a.write_only) {
            if let (Some(slot), Some(v)) = (planned.attr_mut(a.name), config.attr(a.name)) {
                *slot = v.clone();
            }
        }
        for b in &self.blocks {
            let (Some(block), Some(cb)) = (planned.attr_mut(b.name), config.attr(b.name)) else {
                continue;
            };
            for a in b.attributes.iter().filter(|a| a.write_only) {
                if let (Some(slot), Some(v)) = (block.attr_mut(a.name), cb.attr(a.name)) {
                    *slot = v.clone();
                }
            }
        }
    }

    /// The write-only attributes set (not null) in `config`, by path.
    pub fn write_only_set(&self, config: &Value) -> Vec<AttrPath> {
        let set = |v: Option<&Value>| v.is_some_and(|v| !v.is_null());
        let mut paths: Vec<AttrPath> = self
            .attributes
            .iter()
            .filter(|a| a.write_only && set(config.attr(a.name)))
            .map(|a| AttrPath::attr(a.name))
            .collect();
        for b in &self.blocks {
            let block = config.attr(b.name);
            for a in b.attributes.iter().filter(|a| a.write_only) {
                if set(block.and_then(|bv| bv.attr(a.name))) {
                    paths.push(AttrPath::attr(b.name).then_attr(a.name));
                }
            }
        }
        paths
    }

    /// Errors for write-only values configured through a Terraform that does not support
    /// write-only attributes (before 1.11): it would store them in state and show them in plans.
    pub fn refuse_write_only(&self, config: &Value, diags: &mut Diagnostics) {
        for path in self.write_only_set(config) {
            diags.push(
                Diagnostic::error(
                    "Write-Only Attribute Not Supported By This Terraform",
                    format!(
                        "{path} is a write-only attribute: its value must never be stored in state or shown in \
                         plans, and this version of Terraform does not support write-only attributes (they need \
                         Terraform 1.11 or later). Upgrade Terraform, or leave {path} unset and use the \
                         alternative the attribute's documentation names."
                    ),
                )
                .at(path),
            );
        }
    }

    /// Runs every attribute's validators on a configuration value.
    pub fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        for a in &self.attributes {
            if let Some(v) = config.attr(a.name) {
                a.check(&AttrPath::attr(a.name), v, diags);
            }
        }
        for b in &self.blocks {
            if let Some(bv) = config.attr(b.name) {
                for a in &b.attributes {
                    if let Some(v) = bv.attr(a.name) {
                        a.check(&AttrPath::attr(b.name).then_attr(a.name), v, diags);
                    }
                }
            }
        }
    }
}

/// Parses a duration such as `"90s"`, `"2m"`, `"1h30m"` (Go's units h, m, s, ms).
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let bad = || {
        format!("{s:?} is not a duration: write a number with a unit, such as \"30s\", \"2m\" or \"1h30m\"")
    };
    let mut total = 0f64;
    let mut rest = s.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let n: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return Err(bad()),
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    // Durations beyond u64 seconds (or digits beyond f64) are an error, not a panic.
    std::time::Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// The longest operation timeout accepted: far beyond any real wait, and far below what would
/// overflow a deadline computed from it.
pub const MAX_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

fn validate_duration(s: &str) -> Result<(), String> {
    if parse_duration(s)? > MAX_TIMEOUT {
        return Err(format!(
            "{s:?} is longer than the 24h an operation may be given: use at most \"24h\"."
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Number;
    use std::time::Duration;

    #[test]
    fn timeouts_are_bounded() {
        assert!(validate_duration("24h").is_ok());
        let e = validate_duration("24h1s").expect_err("too long");
        assert!(e.contains("at most \"24h\""), "{e}");
        assert!(validate_duration("999999999999h").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("2 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("10").is_err());
        // Found by fuzzing (fuzz/corpus/text_rules/regression-duration-overflow): these panicked.
        assert!(parse_duration("25777777777777777777777777777777777777704s").is_err());
        assert!(parse_duration(&format!("{}h", "9".repeat(400))).is_err());
        assert_eq!(parse_duration("100000h"), Ok(Duration::from_secs(360_000_000)));
    }

    #[test]
    fn validators_name_the_attribute_and_valid_values() {
        let a = Attribute::string("on_destroy").one_of(&["keep", "delete"]);
        let mut d = Diagnostics::new();
        a.check(
            &AttrPath::attr("on_destroy"),
            &Value::String("drop".into()),
            &mut d,
        );
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("keep, delete"), "{}", d.0[0].detail);
        assert_eq!(d.0[0].attribute, Some(AttrPath::attr("on_destroy")));
        let mut d = Diagnostics::new();
        a.check(&AttrPath::attr("on_destroy"), &Value::Unknown, &mut d);
        assert!(d.0.is_empty());
    }

    #[test]
    fn whole_number_validators_refuse_fractions() {
        let a = Attribute::number("count").validate(Validator::Int(|_| Ok(())));
        let mut d = Diagnostics::new();
        a.check(
            &AttrPath::attr("count"),
            &Value::Number(Number::Float(2.5)),
            &mut d,
        );
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("whole number"), "{}", d.0[0].detail);
        let mut d = Diagnostics::new();
        a.check(
            &AttrPath::attr("count"),
            &Value::Number(Number::Float(3.0)),
            &mut d,
        );
        assert!(d.0.is_empty());
    }

    fn secret_schema() -> Schema {
        Schema::new(
            "t",
            vec![
                Attribute::string("name").required(),
                Attribute::string("token_wo").optional().sensitive().write_only(),
            ],
        )
        .with_block(Block {
            name: "enc",
            description: String::new(),
            attributes: vec![
                Attribute::string("passphrase_wo").optional().write_only(),
                Attribute::number("version").optional(),
            ],
        })
    }

    fn secret_value(token: Value, pass: Value) -> Value {
        Value::object([
            ("name", Value::from("a")),
            ("token_wo", token),
            (
                "enc",
                Value::object([("passphrase_wo", pass), ("version", Value::from(1i64))]),
            ),
        ])
    }

    #[test]
    fn write_only_values_are_nulled_everywhere_and_copied_from_config() {
        let schema = secret_schema();
        let config = secret_value(Value::from("t0k"), Value::from("s3cret"));
        let mut v = config.clone();
        schema.null_write_only(&mut v);
        assert_eq!(v, secret_value(Value::Null, Value::Null));
        schema.with_write_only(&mut v, &config);
        assert_eq!(v, config);
        // A null block stays null: there is nothing to copy into.
        let mut no_block = Value::object([
            ("name", Value::from("a")),
            ("token_wo", Value::Null),
            ("enc", Value::Null),
        ]);
        schema.with_write_only(&mut no_block, &config);
        assert_eq!(no_block.attr("enc"), Some(&Value::Null));
        assert_eq!(no_block.attr("token_wo"), Some(&Value::from("t0k")));
    }

    #[test]
    fn write_only_values_are_refused_for_clients_without_support() {
        let schema = secret_schema();
        let config = secret_value(Value::Null, Value::Unknown);
        assert_eq!(
            schema.write_only_set(&config),
            vec![AttrPath::attr("enc").then_attr("passphrase_wo")]
        );
        let mut d = Diagnostics::new();
        schema.refuse_write_only(&config, &mut d);
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("enc.passphrase_wo"), "{}", d.0[0].detail);
        assert!(d.0[0].detail.contains("1.11"), "{}", d.0[0].detail);
        let mut d = Diagnostics::new();
        schema.refuse_write_only(&secret_value(Value::Null, Value::Null), &mut d);
        assert!(d.0.is_empty());
    }

    #[test]
    fn a_write_only_attribute_cannot_be_computed() {
        assert_eq!(secret_schema().check(), Ok(()));
        let bad = Schema::new(
            "t",
            vec![Attribute::string("x_wo").optional().computed().write_only()],
        );
        let e = bad.check().expect_err("computed and write-only");
        assert!(e.contains("x_wo"), "{e}");
        let bad = Schema::new("t", vec![]).with_block(Block {
            name: "b",
            description: String::new(),
            attributes: vec![Attribute::string("y_wo").default("v").write_only()],
        });
        let e = bad.check().expect_err("defaulted and write-only");
        assert!(e.contains("b.y_wo"), "{e}");
    }

    #[test]
    fn validators_pass_valid_values_and_read_lists_element_by_element() {
        let a = Attribute::string("on_destroy").one_of(&["keep", "delete"]);
        let mut d = Diagnostics::new();
        a.check(
            &AttrPath::attr("on_destroy"),
            &Value::String("keep".into()),
            &mut d,
        );
        assert!(d.0.is_empty(), "{d:?}");
        // Lists, sets and tuples: each element checked, the diagnostic at its index.
        let devices = Attribute::typed(
            "source_devices",
            crate::value::Type::List(Box::new(crate::value::Type::String)),
        )
        .validate(Validator::Str(|s| {
            if s.starts_with('/') {
                Ok(())
            } else {
                Err(format!("{s:?} is not an absolute path"))
            }
        }));
        for list in [Value::List, Value::Set, Value::Tuple] {
            let mut d = Diagnostics::new();
            let v = list(vec![
                Value::String("/dev/vdb".into()),
                Value::String("vdc".into()),
            ]);
            devices.check(&AttrPath::attr("source_devices"), &v, &mut d);
            assert_eq!(d.0.len(), 1, "{d:?}");
            assert_eq!(d.0[0].summary, "Invalid source_devices");
            assert_eq!(
                d.0[0].attribute,
                Some(AttrPath::attr("source_devices").then_index(1))
            );
        }
        // A whole number too large for an i64 is out of range, not "not a whole number".
        let count = Attribute::number("count").validate(Validator::Int(|_| Ok(())));
        let mut d = Diagnostics::new();
        count.check(
            &AttrPath::attr("count"),
            &Value::Number(Number::Float(1e30)),
            &mut d,
        );
        assert_eq!(d.0.len(), 1);
        assert!(d.0[0].detail.contains("out of range"), "{}", d.0[0].detail);
        // Int validators see the number; a refusal names the attribute.
        let small = Attribute::number("n").validate(Validator::Int(|n| {
            if n < 10 {
                Ok(())
            } else {
                Err(format!("{n} is too big"))
            }
        }));
        let mut d = Diagnostics::new();
        small.check(&AttrPath::attr("n"), &Value::from(12i64), &mut d);
        assert_eq!(d.0[0].detail, "12 is too big");
        assert_eq!(format!("{:?}", Validator::OneOf(&["a"])), "OneOf([\"a\"])");
        assert_eq!(format!("{:?}", Validator::Int(|_| Ok(()))), "Int(..)");
        assert_eq!(format!("{:?}", Validator::Str(|_| Ok(()))), "Str(..)");
    }

    #[test]
    fn a_schema_validates_attributes_and_block_attributes() {
        let s = Schema::new(
            "t",
            vec![
                Attribute::string("mode").optional().one_of(&["a", "b"]),
                Attribute::string("name").optional(),
            ],
        )
        .with_block(Block::timeouts(&[("create", "5m")]));
        assert_eq!(s.attribute("name").map(|a| a.name), Some("name"));
        assert_eq!(s.attribute("mode").map(|a| a.name), Some("mode"));
        assert!(s.attribute("absent").is_none());
        let config = |mode: &str, create: &str| {
            Value::object([
                ("mode".to_string(), Value::String(mode.into())),
                ("name".to_string(), Value::Null),
                (
                    "timeouts".to_string(),
                    Value::object([("create".to_string(), Value::String(create.into()))]),
                ),
            ])
        };
        let mut d = Diagnostics::new();
        s.validate(&config("a", "30s"), &mut d);
        assert!(d.0.is_empty(), "{d:?}");
        let mut d = Diagnostics::new();
        s.validate(&config("c", "soon"), &mut d);
        let at: Vec<Option<AttrPath>> = d.0.iter().map(|d| d.attribute.clone()).collect();
        assert_eq!(
            at,
            [
                Some(AttrPath::attr("mode")),
                Some(AttrPath::attr("timeouts").then_attr("create"))
            ]
        );
    }

    #[test]
    fn milliseconds_are_a_unit() {
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m30s500ms"), Ok(Duration::from_millis(90_500)));
    }

    #[test]
    fn descriptions_name_the_valid_values_and_the_deprecation() {
        let a = Attribute::string("mode")
            .one_of(&["fast", "safe"])
            .describe("How.");
        assert_eq!(a.full_description(), "How. One of `fast`, `safe`.");
        // A text that already lists the values is not given a second list.
        let a = Attribute::string("mode")
            .one_of(&["fast", "safe"])
            .describe("One of `fast` (quick) or `safe`.");
        assert_eq!(a.full_description(), "One of `fast` (quick) or `safe`.");
        let a = Attribute::string("old")
            .describe("Gone soon.")
            .deprecated("Use `new`.");
        assert_eq!(a.full_description(), "Gone soon. **Deprecated:** Use `new`.");
    }
}
