//! The traits a resource or data source implements, and their type-erased
//! forms used by the protocol dispatcher.
//!
//! A resource works with its own serde state struct; the erased wrapper does
//! the conversions to and from cty values, so a resource file holds only
//! resource logic. The context every operation gets (the provider's configured
//! connection, say) is the resource's own associated type: this crate never
//! names it.

use async_trait::async_trait;
use serde::{de::DeserializeOwned, Serialize};

use super::diag::{Diagnostic, Diagnostics};
use super::plan::{self, Plan};
use super::schema::Schema;
use super::typed;
use super::value::{Type, Value};

/// A failed create or update. When libvirt already made something that could
/// not be undone, `partial` records it: Terraform then keeps it in state as
/// tainted, so the next plan replaces it instead of leaving an orphan.
#[derive(Debug)]
pub struct Failed<S> {
    /// Why it failed.
    pub diags: Diagnostics,
    /// What exists now, if anything.
    pub partial: Option<S>,
}

impl<S> Failed<S> {
    /// A failure that left `state` behind.
    pub fn with_partial(diags: impl Into<Diagnostics>, state: S) -> Self {
        Failed {
            diags: diags.into(),
            partial: Some(state),
        }
    }
}

impl<S> From<Diagnostics> for Failed<S> {
    fn from(diags: Diagnostics) -> Self {
        Failed { diags, partial: None }
    }
}

impl<S> From<Diagnostic> for Failed<S> {
    fn from(d: Diagnostic) -> Self {
        Diagnostics::from(d).into()
    }
}

/// The result of a create or update.
pub type Outcome<S> = Result<S, Failed<S>>;

/// Resource identity (protocol 6.9): the attributes that identify an object
/// for `import` blocks with `identity = {...}`.
#[derive(Clone, Debug)]
pub struct IdentitySchema {
    /// Bumped when the attributes change.
    pub version: i64,
    /// (name, type, required for import, description)
    pub attributes: Vec<(&'static str, Type, bool, &'static str)>,
}

/// A managed resource type.
#[async_trait]
pub trait Resource: Send + Sync + 'static {
    /// What every operation gets from the configured provider.
    type Ctx: Send + Sync + 'static;

    /// The state, as the schema describes it (unknown values read as `None`).
    type State: Serialize + DeserializeOwned + Send + Sync;

    /// `libvirt_…`.
    const TYPE_NAME: &'static str;

    /// Attributes, documentation, validators and planning flags.
    fn schema() -> Schema;

    /// Checks across attributes, on configuration that may hold unknown values.
    fn validate(_config: &Value, _diags: &mut Diagnostics) {}

    /// Resource-specific planning after defaults are applied (semantic
    /// equality, warnings, checks against the hypervisor).
    async fn plan(&self, _ctx: &Self::Ctx, _plan: &mut Plan) -> Result<(), Diagnostics> {
        Ok(())
    }

    /// Makes the object described by `planned` (computed values are `None`).
    async fn create(&self, ctx: &Self::Ctx, planned: Self::State) -> Outcome<Self::State>;

    /// The object as it is now, or `None` when it no longer exists. Warnings go to `notes`
    /// (shown with the refresh), such as why an object that answers to the name is not this one.
    async fn read(
        &self,
        ctx: &Self::Ctx,
        state: Self::State,
        notes: &mut Diagnostics,
    ) -> Result<Option<Self::State>, Diagnostics>;

    /// Changes what can change in place.
    async fn update(&self, ctx: &Self::Ctx, prior: Self::State, planned: Self::State)
        -> Outcome<Self::State>;

    /// Removes the object. When it is already gone, or something else now answers to its name,
    /// nothing is removed and a warning in `notes` says so.
    async fn delete(
        &self,
        ctx: &Self::Ctx,
        prior: Self::State,
        notes: &mut Diagnostics,
    ) -> Result<(), Diagnostics>;

    /// Finds an existing object by the id given to `terraform import`.
    async fn import(&self, ctx: &Self::Ctx, id: &str) -> Result<Self::State, Diagnostics>;

    /// The identity schema, if the type supports import by identity.
    fn identity_schema() -> Option<IdentitySchema> {
        None
    }

    /// This object's identity value (an object of the identity schema).
    fn identity(_state: &Self::State) -> Option<Value> {
        None
    }

    /// The import id equivalent to an identity value.
    fn import_id_from_identity(_identity: &Value) -> Result<String, Diagnostics> {
        Err(Diagnostic::error(
            "Import By Identity Not Supported",
            format!("{} can only be imported by id.", Self::TYPE_NAME),
        )
        .into())
    }

    /// Rewrites a state saved under an older schema version (JSON) into the
    /// current layout. The default accepts the current version only.
    fn upgrade_state(version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        if version == Self::schema().version {
            Ok(raw)
        } else {
            Err(Diagnostic::error(
                "Unsupported State Version",
                format!(
                    "{} state version {version} cannot be upgraded to version {} by this provider build.",
                    Self::TYPE_NAME,
                    Self::schema().version
                ),
            )
            .into())
        }
    }
}

/// A data source type.
#[async_trait]
pub trait DataSource: Send + Sync + 'static {
    /// What every read gets from the configured provider.
    type Ctx: Send + Sync + 'static;
    /// Configuration and result (unknown values read as `None`).
    type Model: Serialize + DeserializeOwned + Send + Sync;
    /// `libvirt_…`.
    const TYPE_NAME: &'static str;
    /// Attributes and documentation.
    fn schema() -> Schema;
    /// Checks across attributes.
    fn validate(_config: &Value, _diags: &mut Diagnostics) {}
    /// Looks the object up.
    async fn read(&self, ctx: &Self::Ctx, config: Self::Model) -> Result<Self::Model, Diagnostics>;
}

/// The outcome of an erased apply: new state (may be present with errors).
pub struct ApplyOutput {
    /// The new state (null after delete).
    pub state: Value,
    /// The identity of the new state.
    pub identity: Option<Value>,
    /// Errors and warnings.
    pub diags: Diagnostics,
}

/// The outcome of an erased read.
pub struct ReadOutput {
    /// The new state (null when the object is gone).
    pub state: Value,
    /// Its identity.
    pub identity: Option<Value>,
    /// Warnings.
    pub warnings: Diagnostics,
}

/// A resource type behind a `dyn`, working on cty values, for a provider whose context is `C`.
#[async_trait]
pub trait AnyResource<C>: Send + Sync {
    /// Type name.
    fn type_name(&self) -> &'static str;
    /// Schema (built once).
    fn schema(&self) -> &Schema;
    /// Identity schema.
    fn identity_schema(&self) -> Option<IdentitySchema>;
    /// Schema validators plus the resource's own checks.
    fn validate(&self, config: &Value) -> Diagnostics;
    /// Plans a create or update; `prior` is None for a create.
    async fn plan(
        &self,
        ctx: &C,
        prior: Option<Value>,
        proposed: Value,
        config: Value,
    ) -> Result<Plan, Diagnostics>;
    /// Creates, updates or deletes.
    async fn apply(&self, ctx: &C, prior: Option<Value>, planned: Option<Value>) -> ApplyOutput;
    /// Reads; Null when gone.
    async fn read(&self, ctx: &C, state: Value) -> Result<ReadOutput, Diagnostics>;
    /// Imports by id.
    async fn import(&self, ctx: &C, id: &str) -> Result<(Value, Option<Value>), Diagnostics>;
    /// The import id for an identity.
    fn import_id_from_identity(&self, identity: &Value) -> Result<String, Diagnostics>;
    /// The identity of a state value.
    fn identity_of(&self, state: &Value) -> Option<Value>;
    /// Upgrades raw JSON state.
    fn upgrade_state(&self, version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics>;
}

/// Wraps a [`Resource`] as an [`AnyResource`].
pub struct Erased<R: Resource> {
    resource: R,
    schema: Schema,
    ty: Type,
}

impl<R: Resource> Erased<R> {
    /// Wraps `resource`.
    pub fn new(resource: R) -> Self {
        let schema = R::schema();
        let ty = schema.ty();
        Erased { resource, schema, ty }
    }

    fn decode(&self, v: &Value) -> Result<R::State, Diagnostics> {
        typed::from_value(v).map_err(|e| internal(R::TYPE_NAME, "reading", e))
    }

    fn encode(&self, s: &R::State) -> Result<Value, Diagnostics> {
        typed::to_value(s, &self.ty).map_err(|e| internal(R::TYPE_NAME, "writing", e))
    }
}

fn internal(type_name: &str, what: &str, e: impl std::fmt::Display) -> Diagnostics {
    Diagnostic::error(
        "Provider Internal Error",
        format!("{what} the state of {type_name}: {e}. This is a bug in the provider; please report it."),
    )
    .into()
}

#[async_trait]
impl<R: Resource> AnyResource<R::Ctx> for Erased<R> {
    fn type_name(&self) -> &'static str {
        R::TYPE_NAME
    }

    fn schema(&self) -> &Schema {
        &self.schema
    }

    fn identity_schema(&self) -> Option<IdentitySchema> {
        R::identity_schema()
    }

    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        self.schema.validate(config, &mut diags);
        R::validate(config, &mut diags);
        diags
    }

    async fn plan(
        &self,
        ctx: &R::Ctx,
        prior: Option<Value>,
        proposed: Value,
        config: Value,
    ) -> Result<Plan, Diagnostics> {
        let mut p = Plan::new(&self.schema, prior, proposed, config);
        plan::apply_defaults(&self.schema, &mut p);
        self.resource.plan(ctx, &mut p).await?;
        plan::finish(&self.schema, &mut p);
        Ok(p)
    }

    async fn apply(&self, ctx: &R::Ctx, prior: Option<Value>, planned: Option<Value>) -> ApplyOutput {
        let fail = |diags: Diagnostics, state: Value| ApplyOutput {
            state,
            identity: None,
            diags,
        };
        let prior_value = prior.clone().unwrap_or(Value::Null);
        let outcome = match (prior, planned) {
            (Some(prior), None) => {
                let state = match self.decode(&prior) {
                    Ok(s) => s,
                    Err(d) => return fail(d, prior_value),
                };
                let mut notes = Diagnostics::new();
                return match self.resource.delete(ctx, state, &mut notes).await {
                    Ok(()) => ApplyOutput {
                        state: Value::Null,
                        identity: None,
                        diags: notes,
                    },
                    Err(d) => {
                        notes.extend(d);
                        fail(notes, prior_value)
                    }
                };
            }
            (None, Some(planned)) => match self.decode(&planned) {
                Ok(s) => self.resource.create(ctx, s).await,
                Err(d) => return fail(d, Value::Null),
            },
            (Some(prior), Some(planned)) => match (self.decode(&prior), self.decode(&planned)) {
                (Ok(p), Ok(n)) => self.resource.update(ctx, p, n).await,
                (Err(d), _) | (_, Err(d)) => return fail(d, prior_value),
            },
            (None, None) => return fail(Diagnostics::new(), Value::Null),
        };
        match outcome {
            Ok(state) => match self.encode(&state) {
                Ok(v) => ApplyOutput {
                    identity: R::identity(&state),
                    state: v,
                    diags: Diagnostics::new(),
                },
                Err(d) => fail(d, prior_value),
            },
            Err(Failed { diags, partial }) => {
                let state = match partial.as_ref().map(|s| self.encode(s)) {
                    Some(Ok(v)) => v,
                    // Nothing was left behind (create) or nothing changed (update).
                    _ => prior_value,
                };
                ApplyOutput {
                    identity: partial.as_ref().and_then(R::identity),
                    state,
                    diags,
                }
            }
        }
    }

    async fn read(&self, ctx: &R::Ctx, state: Value) -> Result<ReadOutput, Diagnostics> {
        let s = self.decode(&state)?;
        let mut warnings = Diagnostics::new();
        let (state, identity) = match self.resource.read(ctx, s, &mut warnings).await? {
            Some(s) => (self.encode(&s)?, R::identity(&s)),
            None => (Value::Null, None),
        };
        Ok(ReadOutput {
            state,
            identity,
            warnings,
        })
    }

    async fn import(&self, ctx: &R::Ctx, id: &str) -> Result<(Value, Option<Value>), Diagnostics> {
        let s = self.resource.import(ctx, id).await?;
        Ok((self.encode(&s)?, R::identity(&s)))
    }

    fn import_id_from_identity(&self, identity: &Value) -> Result<String, Diagnostics> {
        R::import_id_from_identity(identity)
    }

    fn identity_of(&self, state: &Value) -> Option<Value> {
        let s = self.decode(state).ok()?;
        R::identity(&s)
    }

    fn upgrade_state(&self, version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics> {
        R::upgrade_state(version, raw)
    }
}

/// A data source behind a `dyn`, for a provider whose context is `C`.
#[async_trait]
pub trait AnyDataSource<C>: Send + Sync {
    /// Type name.
    fn type_name(&self) -> &'static str;
    /// Schema.
    fn schema(&self) -> &Schema;
    /// Validators and own checks.
    fn validate(&self, config: &Value) -> Diagnostics;
    /// Reads.
    async fn read(&self, ctx: &C, config: Value) -> Result<Value, Diagnostics>;
}

/// Wraps a [`DataSource`].
pub struct ErasedData<D: DataSource> {
    source: D,
    schema: Schema,
    ty: Type,
}

impl<D: DataSource> ErasedData<D> {
    /// Wraps `source`.
    pub fn new(source: D) -> Self {
        let schema = D::schema();
        let ty = schema.ty();
        ErasedData { source, schema, ty }
    }
}

#[async_trait]
impl<D: DataSource> AnyDataSource<D::Ctx> for ErasedData<D> {
    fn type_name(&self) -> &'static str {
        D::TYPE_NAME
    }
    fn schema(&self) -> &Schema {
        &self.schema
    }
    fn validate(&self, config: &Value) -> Diagnostics {
        let mut diags = Diagnostics::new();
        self.schema.validate(config, &mut diags);
        D::validate(config, &mut diags);
        diags
    }
    async fn read(&self, ctx: &D::Ctx, config: Value) -> Result<Value, Diagnostics> {
        let model = typed::from_value(&config).map_err(|e| internal(D::TYPE_NAME, "reading", e))?;
        let out = self.source.read(ctx, model).await?;
        typed::to_value(&out, &self.ty).map_err(|e| internal(D::TYPE_NAME, "writing", e))
    }
}
