//! Planning: the rules every resource shares, and the [`Plan`] a resource's
//! own `plan` step works on.
//!
//! Order: Terraform's proposed new state → [`apply_defaults`] (defaults,
//! "known after apply" on create) → the resource's hook → [`finish`]
//! (computed values that may change become unknown, changed immutable
//! attributes require replacement).

use serde::de::DeserializeOwned;

use super::diag::{AttrPath, Diagnostic, Diagnostics};
use super::schema::Schema;
use super::typed;
use super::value::Value;

/// A plan being made for one resource instance.
#[derive(Debug)]
pub struct Plan {
    /// The state before (None when creating).
    pub prior: Option<Value>,
    /// The configuration (may hold unknown values).
    pub config: Value,
    /// The planned new state, changed by the planning steps.
    pub planned: Value,
    /// Attributes whose change needs a replacement.
    pub requires_replace: Vec<AttrPath>,
    /// Warnings (errors are returned instead).
    pub warnings: Diagnostics,
    computed_only: Vec<&'static str>,
    /// Attributes that normally need a replacement but change in place in this plan.
    in_place: Vec<String>,
}

static NULL: Value = Value::Null;

impl Plan {
    /// A plan starting from Terraform's proposed new state.
    pub fn new(schema: &Schema, prior: Option<Value>, proposed: Value, config: Value) -> Self {
        Plan {
            prior,
            config,
            planned: proposed,
            requires_replace: Vec::new(),
            in_place: Vec::new(),
            warnings: Diagnostics::new(),
            computed_only: schema
                .attributes
                .iter()
                .filter(|a| a.computed && !a.optional)
                .map(|a| a.name)
                .collect(),
        }
    }

    /// Whether this plans a create.
    pub fn is_create(&self) -> bool {
        self.prior.is_none()
    }

    /// The configured value of `name` (Null when unset).
    pub fn config(&self, name: &str) -> &Value {
        self.config.attr(name).unwrap_or(&NULL)
    }

    /// The planned value of `name`.
    pub fn planned(&self, name: &str) -> &Value {
        self.planned.attr(name).unwrap_or(&NULL)
    }

    /// The prior value of `name` (Null when creating).
    pub fn prior(&self, name: &str) -> &Value {
        self.prior.as_ref().and_then(|p| p.attr(name)).unwrap_or(&NULL)
    }

    /// Sets the planned value of `name`.
    pub fn set(&mut self, name: &str, v: impl Into<Value>) {
        if let Some(slot) = self.planned.attr_mut(name) {
            *slot = v.into();
        }
    }

    /// Plans `name` as "known after apply".
    pub fn set_unknown(&mut self, name: &str) {
        self.set(name, Value::Unknown);
    }

    /// Plans the prior value of `name`: used when the configuration says the
    /// same thing in another spelling, so Terraform shows no change.
    pub fn keep_prior(&mut self, name: &str) {
        let v = self.prior(name).clone();
        self.set(name, v);
    }

    /// Whether the planned value of `name` differs from the prior one.
    pub fn changes(&self, name: &str) -> bool {
        self.prior.is_some() && self.planned(name) != self.prior(name)
    }

    /// The planned state as the resource's typed struct (unknown → None).
    pub fn planned_as<T: DeserializeOwned>(&self) -> Result<T, Diagnostics> {
        typed::from_value(&self.planned).map_err(|e| {
            Diagnostic::error("Provider Internal Error", format!("reading the plan: {e}")).into()
        })
    }

    /// The prior state as the resource's typed struct (None when creating).
    pub fn prior_as<T: DeserializeOwned>(&self) -> Result<Option<T>, Diagnostics> {
        self.prior
            .as_ref()
            .map(|p| {
                typed::from_value(p).map_err(|e| {
                    Diagnostic::error("Provider Internal Error", format!("reading the prior state: {e}"))
                        .into()
                })
            })
            .transpose()
    }

    /// Lets a change of `name`, an attribute that normally requires a replacement, be made in
    /// place by this plan's update (the resource can do it this time, for example because the
    /// change only adds to what exists).
    pub fn change_in_place(&mut self, name: &str) {
        self.in_place.push(name.to_string());
    }

    /// Whether [`Plan::change_in_place`] was said of `name`.
    pub fn is_in_place(&self, name: &str) -> bool {
        self.in_place.iter().any(|n| n == name)
    }

    /// Adds a warning shown with the plan.
    pub fn warn(&mut self, d: Diagnostic) {
        self.warnings.push(d);
    }

    /// Shows, as a warning, an error the apply will raise before changing anything.
    ///
    /// Checks that depend on the world outside Terraform (a name taken, a device in use, a domain
    /// missing) are reported this way at plan time and enforced at apply. They must not be plan
    /// errors: Terraform runs a normal plan to refresh before every `terraform destroy`, and an
    /// error there would block destroying everything else in the configuration.
    pub fn warn_refusal(&mut self, mut d: Diagnostic) {
        d.severity = super::diag::Severity::Warning;
        d.detail.push_str(
            "\n\nThe apply will stop at this check, before changing anything, unless it is resolved first.",
        );
        self.warnings.push(d);
    }
}

/// Defaults for unset optional attributes, and "known after apply" for
/// computed attributes of a new object.
pub fn apply_defaults(schema: &Schema, plan: &mut Plan) {
    for a in &schema.attributes {
        if !a.computed || !plan.config(a.name).is_null() {
            continue;
        }
        if let Some(d) = &a.default {
            plan.set(a.name, d.clone());
        } else if plan.is_create() {
            plan.set_unknown(a.name);
        }
    }
}

/// When anything the user controls changes, computed-only values that the
/// resource did not plan itself may change too: plan them as unknown, unless
/// they are stable. Then list the changed attributes that need a replacement.
pub fn finish(schema: &Schema, plan: &mut Plan) {
    let Some(prior) = plan.prior.clone() else {
        return;
    };
    let user_changed = schema
        .attributes
        .iter()
        .filter(|a| !plan.computed_only.contains(&a.name))
        .any(|a| plan.planned(a.name) != prior.attr(a.name).unwrap_or(&NULL));
    if user_changed {
        for a in &schema.attributes {
            let untouched = plan.planned(a.name) == prior.attr(a.name).unwrap_or(&NULL);
            if plan.computed_only.contains(&a.name) && !a.stable && untouched {
                plan.set_unknown(a.name);
            }
        }
    }
    for a in schema.attributes.iter().filter(|a| a.requires_replace) {
        if plan.changes(a.name) && !plan.in_place.iter().any(|n| n == a.name) {
            plan.requires_replace.push(AttrPath::attr(a.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;
    use crate::diag::Severity;
    use crate::schema::Attribute;

    /// `name` (required, replaces), `size` (optional), `mode` (default "fast"), `id` (computed,
    /// stable), `used` (computed), `path` (optional and computed, no default).
    fn schema() -> Schema {
        Schema::new(
            "test",
            vec![
                Attribute::string("name").required().replace(),
                Attribute::number("size").optional(),
                Attribute::string("mode").default("fast"),
                Attribute::string("id").computed().stable(),
                Attribute::number("used").computed(),
                Attribute::string("path").optional().computed(),
            ],
        )
    }

    fn obj(pairs: &[(&str, Value)]) -> Value {
        Value::object(pairs.iter().map(|(k, v)| (k.to_string(), v.clone())))
    }

    /// The prior state of an object `name = "a"`, size 8, mode fast, id ID, used 3, path /p.
    fn prior() -> Value {
        obj(&[
            ("name", "a".into()),
            ("size", 8i64.into()),
            ("mode", "fast".into()),
            ("id", "ID".into()),
            ("used", 3i64.into()),
            ("path", "/p".into()),
        ])
    }

    /// What Terraform proposes for an update whose configuration says `name` and `size`:
    /// computed values carried over from the prior state.
    fn proposed(name: &str, size: i64) -> (Value, Value) {
        let config = obj(&[
            ("name", name.into()),
            ("size", size.into()),
            ("mode", Value::Null),
            ("id", Value::Null),
            ("used", Value::Null),
            ("path", Value::Null),
        ]);
        let mut p = prior();
        if let Some(v) = p.attr_mut("name") {
            *v = name.into();
        }
        if let Some(v) = p.attr_mut("size") {
            *v = size.into();
        }
        (p, config)
    }

    #[test]
    fn accessors_read_config_plan_and_prior() {
        let s = schema();
        let (planned, config) = proposed("b", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        assert!(!plan.is_create());
        assert_eq!(plan.config("name"), &Value::from("b"));
        assert_eq!(plan.config("mode"), &Value::Null);
        assert_eq!(plan.config("absent"), &Value::Null);
        assert_eq!(plan.planned("used"), &Value::from(3i64));
        assert_eq!(plan.planned("absent"), &Value::Null);
        assert_eq!(plan.prior("name"), &Value::from("a"));
        assert_eq!(plan.prior("absent"), &Value::Null);
        assert!(plan.changes("name") && !plan.changes("size"));
        plan.set("size", 9i64);
        assert_eq!(plan.planned("size"), &Value::from(9i64));
        assert!(plan.changes("size"));
        plan.keep_prior("size");
        assert_eq!(plan.planned("size"), &Value::from(8i64));
        assert!(!plan.changes("size"));
        plan.set_unknown("path");
        assert_eq!(plan.planned("path"), &Value::Unknown);
        // An attribute the object does not have is not added.
        plan.set("absent", "x");
        assert_eq!(plan.planned.attr("absent"), None);

        let create = Plan::new(
            &s,
            None,
            obj(&[("name", "a".into())]),
            obj(&[("name", "a".into())]),
        );
        assert!(create.is_create());
        assert_eq!(create.prior("name"), &Value::Null);
        // Nothing "changes" on a create: there is nothing to compare with.
        assert!(!create.changes("name"));
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Typed {
        name: String,
        size: Option<i64>,
    }

    #[test]
    fn typed_views_of_the_plan_and_the_prior_state() {
        let s = schema();
        let (planned, config) = proposed("b", 4);
        let plan = Plan::new(&s, Some(prior()), planned.clone(), config.clone());
        assert_eq!(
            plan.planned_as::<Typed>().expect("planned"),
            Typed {
                name: "b".into(),
                size: Some(4)
            }
        );
        assert_eq!(
            plan.prior_as::<Typed>().expect("prior"),
            Some(Typed {
                name: "a".into(),
                size: Some(8)
            })
        );
        let create = Plan::new(&s, None, planned, config);
        assert_eq!(create.prior_as::<Typed>().expect("none"), None);
        // A prior state of the wrong shape is an internal error, not a silent None.
        let bad = Plan::new(&s, Some(obj(&[("name", 5i64.into())])), obj(&[]), obj(&[]));
        let e = bad.prior_as::<Typed>().expect_err("a number is no name");
        assert!(e.0[0].detail.contains("reading the prior state"), "{e:?}");
        assert!(bad.planned_as::<Typed>().is_err());
    }

    #[test]
    fn warnings_and_refusals_shown_at_plan() {
        let s = schema();
        let (planned, config) = proposed("a", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        plan.warn(Diagnostic::warning("Heads Up", "detail"));
        plan.warn_refusal(Diagnostic::error("Name Taken", "pool p exists"));
        let w = &plan.warnings.0;
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].summary, "Heads Up");
        assert!(matches!(w[1].severity, Severity::Warning), "{w:?}");
        assert!(
            w[1].detail
                .starts_with("pool p exists\n\nThe apply will stop at this check"),
            "{w:?}"
        );
    }

    #[test]
    fn defaults_and_unknowns_on_create_and_update() {
        let s = schema();
        // Create: the default for mode, unknown for every computed attribute without one, config
        // values left alone, a configured optional+computed value kept.
        let config = obj(&[
            ("name", "a".into()),
            ("size", Value::Null),
            ("mode", Value::Null),
            ("id", Value::Null),
            ("used", Value::Null),
            ("path", "/mine".into()),
        ]);
        let mut plan = Plan::new(&s, None, config.clone(), config.clone());
        apply_defaults(&s, &mut plan);
        assert_eq!(plan.planned("mode"), &Value::from("fast"));
        assert_eq!(plan.planned("id"), &Value::Unknown);
        assert_eq!(plan.planned("used"), &Value::Unknown);
        assert_eq!(plan.planned("path"), &Value::from("/mine"));
        assert_eq!(plan.planned("name"), &Value::from("a"));
        assert_eq!(plan.planned("size"), &Value::Null);
        // A configured mode wins over the default.
        let mut configured = config.clone();
        if let Some(v) = configured.attr_mut("mode") {
            *v = "slow".into();
        }
        let mut plan = Plan::new(&s, None, configured.clone(), configured);
        apply_defaults(&s, &mut plan);
        assert_eq!(plan.planned("mode"), &Value::from("slow"));
        // Update: the default still applies to an unset mode; computed values keep what Terraform
        // proposed (the prior values).
        let (mut planned, config) = proposed("a", 8);
        if let Some(v) = planned.attr_mut("mode") {
            *v = "slow".into();
        }
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        apply_defaults(&s, &mut plan);
        assert_eq!(plan.planned("mode"), &Value::from("fast"));
        assert_eq!(plan.planned("id"), &Value::from("ID"));
        assert_eq!(plan.planned("used"), &Value::from(3i64));
        assert_eq!(plan.planned("path"), &Value::from("/p"));
    }

    #[test]
    fn finish_marks_what_may_change_and_what_replaces() {
        let s = schema();
        // No change: nothing becomes unknown, nothing is replaced.
        let (planned, config) = proposed("a", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        finish(&s, &mut plan);
        assert_eq!(plan.planned("used"), &Value::from(3i64));
        assert!(plan.requires_replace.is_empty());
        // A user-controlled change (size): computed-only values the resource did not plan may
        // change (unknown), a stable one keeps its value, an optional+computed one too; size does
        // not replace.
        let (planned, config) = proposed("a", 9);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        finish(&s, &mut plan);
        assert_eq!(plan.planned("used"), &Value::Unknown);
        assert_eq!(plan.planned("id"), &Value::from("ID"));
        assert_eq!(plan.planned("path"), &Value::from("/p"));
        assert!(plan.requires_replace.is_empty(), "{:?}", plan.requires_replace);
        // A computed-only value the resource planned itself is left as planned.
        let (planned, config) = proposed("a", 9);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        plan.set("used", 5i64);
        finish(&s, &mut plan);
        assert_eq!(plan.planned("used"), &Value::from(5i64));
        // A change of a computed-only value alone is not the user's: nothing else becomes unknown.
        let (planned, config) = proposed("a", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        plan.set("id", "OTHER");
        finish(&s, &mut plan);
        assert_eq!(plan.planned("used"), &Value::from(3i64));
        // name replaces.
        let (planned, config) = proposed("b", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        finish(&s, &mut plan);
        assert_eq!(plan.requires_replace, vec![AttrPath::attr("name")]);
        // name changed in place, when the resource says it can this time; said of another
        // attribute, it still replaces.
        let (planned, config) = proposed("b", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        plan.change_in_place("name");
        assert!(plan.is_in_place("name") && !plan.is_in_place("size"));
        finish(&s, &mut plan);
        assert!(plan.requires_replace.is_empty(), "{:?}", plan.requires_replace);
        let (planned, config) = proposed("b", 8);
        let mut plan = Plan::new(&s, Some(prior()), planned, config);
        plan.change_in_place("size");
        assert!(!plan.is_in_place("name"));
        finish(&s, &mut plan);
        assert_eq!(plan.requires_replace, vec![AttrPath::attr("name")]);
        // A create is left alone.
        let config = obj(&[("name", "a".into()), ("used", Value::Null)]);
        let mut plan = Plan::new(&s, None, config.clone(), config.clone());
        finish(&s, &mut plan);
        assert_eq!(plan.planned, config);
        assert!(plan.requires_replace.is_empty());
    }
}
