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
        if plan.changes(a.name) {
            plan.requires_replace.push(AttrPath::attr(a.name));
        }
    }
}
