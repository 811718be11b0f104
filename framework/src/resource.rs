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

/// What Terraform sends when a `moved` block moves another resource type's object here
/// (MoveResourceState, Terraform 1.8+).
#[derive(Clone, Copy, Debug)]
pub struct MoveSource<'a> {
    /// The source provider's address, such as `registry.terraform.io/dmacvicar/libvirt`.
    pub provider_address: &'a str,
    /// The source resource type, such as `libvirt_volume`.
    pub type_name: &'a str,
    /// The schema version the source state was written under.
    pub schema_version: i64,
    /// The source state, as the source provider wrote it.
    pub state: &'a serde_json::Value,
}

/// A state moved here, not yet checked against the object.
///
/// Terraform asks for a move before it configures the provider, so a move can only read the
/// source state. The object itself is found by [`Resource::adopt_moved`] at the refresh that
/// follows in the same plan, from `pending`, which the state carries until then as its private
/// data. A plan that skips that refresh is refused (see [`move_pending`]).
#[derive(Debug)]
pub struct Moved<S> {
    /// The state as the source records it, in this type's schema.
    pub state: S,
    /// What the first read needs to find and check the object.
    pub pending: serde_json::Value,
    /// Shown with the move.
    pub warnings: Diagnostics,
}

/// The key of the private data that marks a moved state as not yet read.
const MOVE_PENDING_KEY: &str = "moved_pending";

/// The private data of a moved state that has not been read yet (JSON `{"moved_pending": ..}`).
fn pending_private(pending: &serde_json::Value) -> Vec<u8> {
    serde_json::json!({ MOVE_PENDING_KEY: pending })
        .to_string()
        .into_bytes()
}

/// What a moved state still has to find, when `private` (a state's private data) marks it as
/// moved and not yet read. Terraform's plan reads every object before planning it unless told
/// not to (`-refresh=false`): a plan that meets such a state has skipped the read that checks
/// the object, and must refuse.
pub fn move_pending(private: &[u8]) -> Option<serde_json::Value> {
    if private.is_empty() {
        return None;
    }
    let mut v: serde_json::Value = serde_json::from_slice(private).ok()?;
    v.get_mut(MOVE_PENDING_KEY).map(serde_json::Value::take)
}

/// The error of a plan over a moved state that was never read.
pub fn move_not_read(type_name: &str) -> Diagnostic {
    Diagnostic::error(
        "Moved Object Not Read Yet",
        format!(
            "This {type_name} was moved from another resource type by a moved block, and the provider has \
             not yet found and checked the object it stands for: that happens when Terraform refreshes it. \
             Run the plan or apply again without -refresh=false."
        ),
    )
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

    /// A state moved here from another resource type (a `moved` block). Terraform asks before
    /// configuring the provider: this reads only `from`, never the object. The default refuses.
    fn move_state(from: &MoveSource<'_>) -> Result<Moved<Self::State>, Diagnostics> {
        Err(Diagnostic::error(
            "Move Not Supported",
            format!(
                "{} cannot take the state of {} ({}) by a moved block.",
                Self::TYPE_NAME,
                from.type_name,
                from.provider_address
            ),
        )
        .into())
    }

    /// Completes a move at its first read: finds the object `pending` (from [`Moved`]) names,
    /// checks it is one this type manages and returns what an import of it records. Not found,
    /// or not such an object, is an error (a move never drops the object from the state).
    async fn adopt_moved(
        &self,
        _ctx: &Self::Ctx,
        _pending: serde_json::Value,
        _notes: &mut Diagnostics,
    ) -> Result<Self::State, Diagnostics> {
        Err(Diagnostic::error(
            "Move Not Supported",
            format!(
                "{} cannot take objects moved from other resource types.",
                Self::TYPE_NAME
            ),
        )
        .into())
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
    /// New private data, when the read replaces it (a moved state's first read clears its mark).
    pub private: Option<Vec<u8>>,
}

/// The outcome of an erased move. It carries no identity: the object's identity is known once its
/// first read has found it (Terraform takes an identity from a read when the state had none, but
/// refuses one that changes).
pub struct MoveOutput {
    /// The moved state.
    pub state: Value,
    /// Its private data: what its first read must find.
    pub private: Vec<u8>,
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
    /// Creates, updates or deletes. `config` is the configuration (Null for a delete): the
    /// resource sees its write-only values in the planned state; the new state never holds them.
    async fn apply(
        &self,
        ctx: &C,
        prior: Option<Value>,
        planned: Option<Value>,
        config: &Value,
    ) -> ApplyOutput;
    /// Reads; Null when gone. `private` is the state's private data: a moved state's first read
    /// finds and checks the object instead (see [`Moved`]).
    async fn read(&self, ctx: &C, state: Value, private: &[u8]) -> Result<ReadOutput, Diagnostics>;
    /// Imports by id.
    async fn import(&self, ctx: &C, id: &str) -> Result<(Value, Option<Value>), Diagnostics>;
    /// The import id for an identity.
    fn import_id_from_identity(&self, identity: &Value) -> Result<String, Diagnostics>;
    /// The identity of a state value.
    fn identity_of(&self, state: &Value) -> Option<Value>;
    /// Upgrades raw JSON state.
    fn upgrade_state(&self, version: i64, raw: serde_json::Value) -> Result<serde_json::Value, Diagnostics>;
    /// Moves another type's state here.
    fn move_state(&self, from: &MoveSource<'_>) -> Result<MoveOutput, Diagnostics>;
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
        // Terraform refuses a planned write-only value other than null; the resource's plan step
        // reads them from `config`.
        self.schema.null_write_only(&mut p.planned);
        Ok(p)
    }

    async fn apply(
        &self,
        ctx: &R::Ctx,
        prior: Option<Value>,
        planned: Option<Value>,
        config: &Value,
    ) -> ApplyOutput {
        let mut out = self.apply_inner(ctx, prior, planned, config).await;
        self.schema.null_write_only(&mut out.state);
        out
    }

    async fn read(&self, ctx: &R::Ctx, state: Value, private: &[u8]) -> Result<ReadOutput, Diagnostics> {
        let mut out = self.read_inner(ctx, state, private).await?;
        self.schema.null_write_only(&mut out.state);
        Ok(out)
    }

    async fn import(&self, ctx: &R::Ctx, id: &str) -> Result<(Value, Option<Value>), Diagnostics> {
        let s = self.resource.import(ctx, id).await?;
        let mut state = self.encode(&s)?;
        self.schema.null_write_only(&mut state);
        Ok((state, R::identity(&s)))
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

    fn move_state(&self, from: &MoveSource<'_>) -> Result<MoveOutput, Diagnostics> {
        let moved = R::move_state(from)?;
        let mut state = self.encode(&moved.state)?;
        self.schema.null_write_only(&mut state);
        Ok(MoveOutput {
            state,
            private: pending_private(&moved.pending),
            warnings: moved.warnings,
        })
    }
}

impl<R: Resource> Erased<R> {
    /// The apply, with the configured write-only values in the planned state the resource sees.
    async fn apply_inner(
        &self,
        ctx: &R::Ctx,
        prior: Option<Value>,
        planned: Option<Value>,
        config: &Value,
    ) -> ApplyOutput {
        let planned = planned.map(|mut p| {
            self.schema.with_write_only(&mut p, config);
            p
        });
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

    async fn read_inner(
        &self,
        ctx: &R::Ctx,
        state: Value,
        private: &[u8],
    ) -> Result<ReadOutput, Diagnostics> {
        let mut warnings = Diagnostics::new();
        if let Some(pending) = move_pending(private) {
            let s = self.resource.adopt_moved(ctx, pending, &mut warnings).await?;
            return Ok(ReadOutput {
                state: self.encode(&s)?,
                identity: R::identity(&s),
                warnings,
                private: Some(Vec::new()),
            });
        }
        let s = self.decode(&state)?;
        let (state, identity) = match self.resource.read(ctx, s, &mut warnings).await? {
            Some(s) => (self.encode(&s)?, R::identity(&s)),
            None => (Value::Null, None),
        };
        Ok(ReadOutput {
            state,
            identity,
            warnings,
            private: None,
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Attribute;
    use serde::Deserialize;
    use serde_json::json;

    /// Runs a future that never waits (the test resources below do no I/O).
    fn now<F: std::future::Future>(f: F) -> F::Output {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the test future waited"),
        }
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct S {
        id: Option<String>,
        name: String,
    }

    /// Takes moves from `other_thing`; its read returns the state as it is.
    struct Thing;

    /// Takes no moves.
    struct Plain;

    #[async_trait]
    impl Resource for Thing {
        type Ctx = ();
        type State = S;
        const TYPE_NAME: &'static str = "test_thing";
        fn schema() -> Schema {
            Schema::new(
                "t",
                vec![
                    Attribute::string("id").computed(),
                    Attribute::string("name").required(),
                ],
            )
        }
        async fn create(&self, _: &(), planned: S) -> Outcome<S> {
            Ok(planned)
        }
        async fn read(&self, _: &(), s: S, _: &mut Diagnostics) -> Result<Option<S>, Diagnostics> {
            Ok(Some(s))
        }
        async fn update(&self, _: &(), _: S, planned: S) -> Outcome<S> {
            Ok(planned)
        }
        async fn delete(&self, _: &(), _: S, _: &mut Diagnostics) -> Result<(), Diagnostics> {
            Ok(())
        }
        async fn import(&self, _: &(), id: &str) -> Result<S, Diagnostics> {
            Ok(S {
                id: Some(id.into()),
                name: id.into(),
            })
        }

        fn move_state(from: &MoveSource<'_>) -> Result<Moved<S>, Diagnostics> {
            let name = from.state["label"].as_str().unwrap_or_default().to_string();
            Ok(Moved {
                state: S {
                    id: None,
                    name: name.clone(),
                },
                pending: json!({ "label": name }),
                warnings: Diagnostics::new(),
            })
        }

        async fn adopt_moved(
            &self,
            _: &(),
            pending: serde_json::Value,
            _: &mut Diagnostics,
        ) -> Result<S, Diagnostics> {
            let name = pending["label"].as_str().unwrap_or_default();
            Ok(S {
                id: Some(format!("found-{name}")),
                name: name.into(),
            })
        }
    }

    #[async_trait]
    impl Resource for Plain {
        type Ctx = ();
        type State = S;
        const TYPE_NAME: &'static str = "test_plain";
        fn schema() -> Schema {
            Schema::new(
                "t",
                vec![
                    Attribute::string("id").computed(),
                    Attribute::string("name").required(),
                ],
            )
        }
        async fn create(&self, _: &(), planned: S) -> Outcome<S> {
            Ok(planned)
        }
        async fn read(&self, _: &(), s: S, _: &mut Diagnostics) -> Result<Option<S>, Diagnostics> {
            Ok(Some(s))
        }
        async fn update(&self, _: &(), _: S, planned: S) -> Outcome<S> {
            Ok(planned)
        }
        async fn delete(&self, _: &(), _: S, _: &mut Diagnostics) -> Result<(), Diagnostics> {
            Ok(())
        }
        async fn import(&self, _: &(), id: &str) -> Result<S, Diagnostics> {
            Ok(S {
                id: Some(id.into()),
                name: id.into(),
            })
        }
    }

    fn from(state: &serde_json::Value) -> MoveSource<'_> {
        MoveSource {
            provider_address: "registry.terraform.io/example/other",
            type_name: "other_thing",
            schema_version: 0,
            state,
        }
    }

    #[test]
    fn a_moved_state_is_marked_until_its_first_read_finds_the_object() {
        let thing = Erased::new(Thing);
        let src = json!({"label": "x"});
        let moved = thing.move_state(&from(&src)).expect("moved");
        assert_eq!(moved.state.attr("name"), Some(&Value::from("x")));
        assert_eq!(moved.state.attr("id"), Some(&Value::Null));
        assert_eq!(move_pending(&moved.private), Some(json!({"label": "x"})));

        // The first read adopts the object and clears the mark.
        let read = now(thing.read(&(), moved.state.clone(), &moved.private)).expect("read");
        assert_eq!(read.state.attr("id"), Some(&Value::from("found-x")));
        assert_eq!(read.private, Some(Vec::new()));
        assert_eq!(move_pending(read.private.as_deref().unwrap_or_default()), None);

        // Any other read is the resource's own, private data left as Terraform holds it.
        let read = now(thing.read(&(), moved.state, br#"{"other":1}"#)).expect("read");
        assert_eq!(read.state.attr("id"), Some(&Value::Null));
        assert_eq!(read.private, None);
    }

    #[test]
    fn private_data_that_is_not_a_move_mark_is_not_one() {
        assert_eq!(move_pending(b""), None);
        assert_eq!(move_pending(b"null"), None);
        assert_eq!(move_pending(b"not json"), None);
        assert_eq!(move_pending(br#"{"schema_version":"0"}"#), None);
        assert_eq!(move_pending(&pending_private(&json!(3))), Some(json!(3)));
    }

    #[test]
    fn types_that_take_no_moves_refuse_them() {
        let src = json!({});
        let Err(d) = Erased::new(Plain).move_state(&from(&src)) else {
            panic!("Plain takes no moves");
        };
        assert_eq!(d.0[0].summary, "Move Not Supported");
        assert!(d.0[0]
            .detail
            .contains("test_plain cannot take the state of other_thing"));
        let Err(d) = now(Erased::new(Plain).read(&(), Value::Null, &pending_private(&json!({})))) else {
            panic!("Plain adopts nothing");
        };
        assert_eq!(d.0[0].summary, "Move Not Supported");
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    struct W {
        id: Option<String>,
        secret_wo: Option<String>,
    }

    /// Records in `id` the write-only value its create and read were given.
    struct Secretive;

    #[async_trait]
    impl Resource for Secretive {
        type Ctx = ();
        type State = W;
        const TYPE_NAME: &'static str = "test_secretive";
        fn schema() -> Schema {
            Schema::new(
                "t",
                vec![
                    Attribute::string("id").computed(),
                    Attribute::string("secret_wo").optional().write_only(),
                ],
            )
        }
        async fn create(&self, _: &(), planned: W) -> Outcome<W> {
            Ok(W {
                id: Some(format!("made with {:?}", planned.secret_wo)),
                secret_wo: planned.secret_wo,
            })
        }
        async fn read(&self, _: &(), s: W, _: &mut Diagnostics) -> Result<Option<W>, Diagnostics> {
            Ok(Some(W {
                secret_wo: Some("leaked".into()),
                ..s
            }))
        }
        async fn update(&self, _: &(), _: W, planned: W) -> Outcome<W> {
            Ok(planned)
        }
        async fn delete(&self, _: &(), _: W, _: &mut Diagnostics) -> Result<(), Diagnostics> {
            Ok(())
        }
        async fn import(&self, _: &(), id: &str) -> Result<W, Diagnostics> {
            Ok(W {
                id: Some(id.into()),
                secret_wo: Some("leaked".into()),
            })
        }
    }

    #[test]
    fn write_only_values_reach_the_apply_and_never_a_plan_or_state() {
        let r = Erased::new(Secretive);
        let config = Value::object([("id", Value::Null), ("secret_wo", Value::from("s3cret"))]);
        let plan = now(r.plan(&(), None, config.clone(), config.clone())).expect("plan");
        assert_eq!(plan.planned.attr("secret_wo"), Some(&Value::Null));
        let out = now(r.apply(&(), None, Some(plan.planned), &config));
        assert!(!out.diags.has_errors());
        assert_eq!(
            out.state.attr("id"),
            Some(&Value::from("made with Some(\"s3cret\")"))
        );
        assert_eq!(out.state.attr("secret_wo"), Some(&Value::Null));
        let read = now(r.read(&(), out.state, b"")).expect("read");
        assert_eq!(read.state.attr("secret_wo"), Some(&Value::Null));
        let (imported, _) = now(r.import(&(), "x")).expect("import");
        assert_eq!(imported.attr("secret_wo"), Some(&Value::Null));
    }
}
