//! The tfplugin6 Provider service: decodes requests, dispatches to the resource, data source or
//! function, and encodes the answers. With [`super::convert`] (framework types to messages) it is
//! where protobuf message shapes are known; nothing outside `plugin` names them (tests/layers.rs).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tonic::{Request, Response, Status};

use super::convert::{self, decode, diags, encode};
use crate::framework::resource::{move_not_read, move_pending, AnyDataSource, AnyResource, MoveSource};
use crate::framework::Function;
use crate::framework::{json, Diagnostic, Diagnostics, Type, Value};
use crate::proto::tfplugin6 as pb;
use crate::provider::{self, Ctx};

/// The provider service.
pub struct ProviderService {
    resources: HashMap<&'static str, Served>,
    data_sources: HashMap<&'static str, ServedData>,
    functions: Vec<Function>,
    provider_schema: crate::framework::Schema,
    provider_ty: Type,
    ctx: RwLock<Option<Arc<Ctx>>>,
    stopping: Arc<AtomicBool>,
    schema_response: OnceLock<pb::get_provider_schema::Response>,
}

type Rpc<T> = Result<Response<T>, Status>;

/// A resource type with the cty types every one of its RPCs needs, built once: building a type
/// from the schema allocates every attribute's name, which cost more than some RPCs' own work.
struct Served {
    resource: Box<dyn AnyResource<Ctx>>,
    /// The type of its values.
    ty: Type,
    /// The type of its identity, when it has one.
    identity_ty: Option<Type>,
}

impl Served {
    fn new(resource: Box<dyn AnyResource<Ctx>>) -> Self {
        Served {
            ty: resource.schema().ty(),
            identity_ty: resource.identity_schema().map(|s| convert::identity_type(&s)),
            resource,
        }
    }

    /// The identity of an object as protobuf, when the type has one.
    fn identity_data(&self, v: Option<Value>) -> Option<pb::ResourceIdentityData> {
        let dv = encode(&v?, self.identity_ty.as_ref()?).ok()?;
        Some(pb::ResourceIdentityData {
            identity_data: Some(dv),
        })
    }
}

/// A data source with the type of its values, built once.
struct ServedData {
    source: Box<dyn AnyDataSource<Ctx>>,
    ty: Type,
}

impl Default for ProviderService {
    fn default() -> Self {
        Self::new()
    }
}

impl ProviderService {
    /// The service with every type this provider serves.
    pub fn new() -> Self {
        Self::with_resources(crate::resources::all())
    }

    /// The service with `resources` in place of the provider's own (its provider block, data
    /// sources and functions stay). The benchmarks' plugin floor serves resources that do no
    /// work through it, so that they cost exactly what this protocol stack costs.
    pub fn with_resources(resources: Vec<Box<dyn AnyResource<Ctx>>>) -> Self {
        let provider_schema = provider::schema();
        ProviderService {
            resources: resources
                .into_iter()
                .map(|r| (r.type_name(), Served::new(r)))
                .collect(),
            data_sources: crate::data_sources::all()
                .into_iter()
                .map(|d| {
                    let ty = d.schema().ty();
                    (d.type_name(), ServedData { source: d, ty })
                })
                .collect(),
            functions: crate::functions::functions(),
            provider_ty: provider_schema.ty(),
            provider_schema,
            ctx: RwLock::new(None),
            stopping: Arc::new(AtomicBool::new(false)),
            schema_response: OnceLock::new(),
        }
    }

    /// Set by StopProvider; shared with every connection.
    pub fn stopping(&self) -> Arc<AtomicBool> {
        self.stopping.clone()
    }

    fn resource(&self, name: &str) -> Result<&Served, Diagnostics> {
        self.resources.get(name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown Resource Type",
                format!("This provider has no resource type {name:?}."),
            )
            .into()
        })
    }

    fn data_source(&self, name: &str) -> Result<&ServedData, Diagnostics> {
        self.data_sources.get(name).ok_or_else(|| {
            Diagnostic::error(
                "Unknown Data Source",
                format!("This provider has no data source {name:?}."),
            )
            .into()
        })
    }

    fn ctx(&self) -> Result<Arc<Ctx>, Diagnostics> {
        let guard = self.ctx.read().map_err(|_| poisoned())?;
        guard.clone().ok_or_else(|| {
            Diagnostic::error(
                "Provider Not Configured",
                "Terraform called the provider before ConfigureProvider. This is a bug in Terraform or the provider.",
            )
            .into()
        })
    }

    fn build_schema_response(&self) -> pb::get_provider_schema::Response {
        pb::get_provider_schema::Response {
            provider: Some(convert::schema(&self.provider_schema)),
            resource_schemas: self
                .resources
                .iter()
                .map(|(n, r)| (n.to_string(), convert::schema(r.resource.schema())))
                .collect(),
            data_source_schemas: self
                .data_sources
                .iter()
                .map(|(n, d)| (n.to_string(), convert::schema(d.source.schema())))
                .collect(),
            diagnostics: Vec::new(),
            provider_meta: None,
            server_capabilities: Some(capabilities()),
            functions: convert::function_definitions(&self.functions),
            ephemeral_resource_schemas: HashMap::new(),
        }
    }
}

fn poisoned() -> Diagnostics {
    Diagnostic::error(
        "Provider Internal Error",
        "A lock was poisoned by an earlier panic.",
    )
    .into()
}

fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        plan_destroy: false,
        get_provider_schema_optional: true,
        move_resource_state: true,
    }
}

/// Turns `Result<T, Diagnostics>` into (Option<T>, diagnostics) for responses.
fn split<T>(r: Result<T, Diagnostics>) -> (Option<T>, Vec<pb::Diagnostic>) {
    match r {
        Ok(t) => (Some(t), Vec::new()),
        Err(d) => (None, diags(d)),
    }
}

#[tonic::async_trait]
impl pb::provider_server::Provider for ProviderService {
    async fn get_metadata(&self, _: Request<pb::get_metadata::Request>) -> Rpc<pb::get_metadata::Response> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            diagnostics: Vec::new(),
            data_sources: self
                .data_sources
                .keys()
                .map(|n| pb::get_metadata::DataSourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            resources: self
                .resources
                .keys()
                .map(|n| pb::get_metadata::ResourceMetadata {
                    type_name: n.to_string(),
                })
                .collect(),
            functions: self
                .functions
                .iter()
                .map(|f| pb::get_metadata::FunctionMetadata {
                    name: f.name.to_string(),
                })
                .collect(),
            ephemeral_resources: Vec::new(),
        }))
    }

    async fn get_provider_schema(
        &self,
        _: Request<pb::get_provider_schema::Request>,
    ) -> Rpc<pb::get_provider_schema::Response> {
        Ok(Response::new(
            self.schema_response
                .get_or_init(|| self.build_schema_response())
                .clone(),
        ))
    }

    async fn get_resource_identity_schemas(
        &self,
        _: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Rpc<pb::get_resource_identity_schemas::Response> {
        Ok(Response::new(pb::get_resource_identity_schemas::Response {
            identity_schemas: self
                .resources
                .iter()
                .filter_map(|(n, r)| {
                    r.resource
                        .identity_schema()
                        .map(|s| (n.to_string(), convert::identity_schema(&s)))
                })
                .collect(),
            diagnostics: Vec::new(),
        }))
    }

    async fn validate_provider_config(
        &self,
        req: Request<pb::validate_provider_config::Request>,
    ) -> Rpc<pb::validate_provider_config::Response> {
        let req = req.into_inner();
        let d = decode(req.config.as_ref(), &self.provider_ty).map(|config| {
            let mut d = Diagnostics::new();
            self.provider_schema.validate(&config, &mut d);
            d
        });
        let d = match d {
            Ok(d) | Err(d) => d,
        };
        Ok(Response::new(pb::validate_provider_config::Response {
            diagnostics: diags(d),
        }))
    }

    async fn validate_resource_config(
        &self,
        req: Request<pb::validate_resource_config::Request>,
    ) -> Rpc<pb::validate_resource_config::Response> {
        let req = req.into_inner();
        // Terraform before 1.11 does not say it allows write-only attributes: it would keep their
        // values in state and plans, so they are refused.
        let write_only_allowed = req
            .client_capabilities
            .as_ref()
            .is_some_and(|c| c.write_only_attributes_allowed);
        let d = self.resource(&req.type_name).and_then(|r| {
            let config = decode(req.config.as_ref(), &r.ty)?;
            let mut d = r.resource.validate(&config);
            if !write_only_allowed {
                r.resource.schema().refuse_write_only(&config, &mut d);
            }
            Ok(d)
        });
        let d = match d {
            Ok(d) | Err(d) => d,
        };
        Ok(Response::new(pb::validate_resource_config::Response {
            diagnostics: diags(d),
        }))
    }

    async fn validate_data_resource_config(
        &self,
        req: Request<pb::validate_data_resource_config::Request>,
    ) -> Rpc<pb::validate_data_resource_config::Response> {
        let req = req.into_inner();
        let d = self
            .data_source(&req.type_name)
            .and_then(|d| Ok(d.source.validate(&decode(req.config.as_ref(), &d.ty)?)));
        let d = match d {
            Ok(d) | Err(d) => d,
        };
        Ok(Response::new(pb::validate_data_resource_config::Response {
            diagnostics: diags(d),
        }))
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Rpc<pb::upgrade_resource_state::Response> {
        let req = req.into_inner();
        let result = (|| {
            let served = self.resource(&req.type_name)?;
            let (r, ty) = (served.resource.as_ref(), &served.ty);
            let raw = req.raw_state.unwrap_or_default();
            if raw.json.is_empty() {
                if !raw.flatmap.is_empty() {
                    return Err(Diagnostic::error(
                        "Unsupported State Format",
                        "This state was written by a Terraform 0.11-era provider (flatmap); it cannot be read.",
                    )
                    .into());
                }
                return encode(&Value::Null, ty);
            }
            let invalid = |e: &dyn std::fmt::Display| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid Stored State",
                    format!(
                        "The stored state of {} does not fit its schema: {e}",
                        req.type_name
                    ),
                ))
            };
            if req.version == r.schema().version {
                // Already in the current layout (what every state of a plan is): read straight
                // into the schema's type, without a round trip through the upgrader's JSON tree.
                let v = json::decode_lenient(&raw.json, ty).map_err(|e| invalid(&e))?;
                return encode(&v, ty);
            }
            let parsed: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid Stored State",
                    format!("The stored state is not JSON: {e}"),
                ))
            })?;
            let upgraded = r.upgrade_state(req.version, parsed)?;
            let bytes = serde_json::to_vec(&upgraded).map_err(|e| {
                Diagnostics::from(Diagnostic::error("Provider Internal Error", e.to_string()))
            })?;
            let v = json::decode_lenient(&bytes, ty).map_err(|e| invalid(&e))?;
            encode(&v, ty)
        })();
        let (upgraded_state, diagnostics) = split(result);
        Ok(Response::new(pb::upgrade_resource_state::Response {
            upgraded_state,
            diagnostics,
        }))
    }

    async fn upgrade_resource_identity(
        &self,
        req: Request<pb::upgrade_resource_identity::Request>,
    ) -> Rpc<pb::upgrade_resource_identity::Response> {
        let req = req.into_inner();
        let result = (|| {
            let r = self.resource(&req.type_name)?;
            let ty = r.identity_ty.as_ref().ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "No Identity",
                    format!("{} has no identity.", req.type_name),
                ))
            })?;
            let raw = req.raw_identity.unwrap_or_default();
            let v = json::decode_lenient(&raw.json, ty).map_err(|e| {
                Diagnostics::from(Diagnostic::error("Invalid Stored Identity", e.to_string()))
            })?;
            Ok(pb::ResourceIdentityData {
                identity_data: Some(encode(&v, ty)?),
            })
        })();
        let (upgraded_identity, diagnostics) = split(result);
        Ok(Response::new(pb::upgrade_resource_identity::Response {
            upgraded_identity,
            diagnostics,
        }))
    }

    async fn configure_provider(
        &self,
        req: Request<pb::configure_provider::Request>,
    ) -> Rpc<pb::configure_provider::Response> {
        let req = req.into_inner();
        let result = decode(req.config.as_ref(), &self.provider_ty)
            .and_then(|config| Ctx::configure(&config, self.stopping.clone()));
        let diagnostics = match result {
            Ok(ctx) => {
                match self.ctx.write() {
                    Ok(mut slot) => *slot = Some(Arc::new(ctx)),
                    Err(_) => {
                        return Ok(Response::new(pb::configure_provider::Response {
                            diagnostics: diags(poisoned()),
                        }))
                    }
                }
                Vec::new()
            }
            Err(d) => diags(d),
        };
        Ok(Response::new(pb::configure_provider::Response { diagnostics }))
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Rpc<pb::read_resource::Response> {
        let req = req.into_inner();
        let mut private = req.private.clone();
        let mut identity = None;
        let mut warnings = Diagnostics::new();
        let result = async {
            let r = self.resource(&req.type_name)?;
            let state = decode(req.current_state.as_ref(), &r.ty)?;
            if state.is_null() {
                return encode(&Value::Null, &r.ty);
            }
            let ctx = self.ctx()?;
            let read = r.resource.read(&ctx, state, &req.private).await?;
            identity = r.identity_data(read.identity);
            warnings = read.warnings;
            if let Some(p) = read.private {
                private = p;
            }
            encode(&read.state, &r.ty)
        }
        .await;
        let (new_state, mut diagnostics) = split(result);
        diagnostics.extend(diags(warnings));
        Ok(Response::new(pb::read_resource::Response {
            new_state: new_state.or_else(|| req.current_state.clone()),
            diagnostics,
            private,
            deferred: None,
            new_identity: identity,
        }))
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Rpc<pb::plan_resource_change::Response> {
        let req = req.into_inner();
        let mut requires_replace = Vec::new();
        let mut warnings = Diagnostics::new();
        let mut identity = None;
        let result = async {
            let r = self.resource(&req.type_name)?;
            if move_pending(&req.prior_private).is_some() {
                return Err(move_not_read(&req.type_name).into());
            }
            let ty = &r.ty;
            let prior = decode(req.prior_state.as_ref(), ty)?;
            let proposed = decode(req.proposed_new_state.as_ref(), ty)?;
            let config = decode(req.config.as_ref(), ty)?;
            if proposed.is_null() {
                // Destroy: nothing to plan.
                return encode(&Value::Null, ty);
            }
            let ctx = self.ctx()?;
            let prior = (!prior.is_null()).then_some(prior);
            let plan = r.resource.plan(&ctx, prior, proposed, config).await?;
            requires_replace = plan.requires_replace.iter().map(convert::path).collect();
            warnings = plan.warnings;
            if plan.planned.is_wholly_known() && r.identity_ty.is_some() {
                identity = r.identity_data(r.resource.identity_of(&plan.planned));
            }
            encode(&plan.planned, ty)
        }
        .await;
        let (planned_state, mut diagnostics) = split(result);
        diagnostics.extend(diags(warnings));
        Ok(Response::new(pb::plan_resource_change::Response {
            planned_state,
            requires_replace,
            planned_private: req.prior_private,
            diagnostics,
            legacy_type_system: false,
            deferred: None,
            planned_identity: identity,
        }))
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Rpc<pb::apply_resource_change::Response> {
        let req = req.into_inner();
        let mut identity = None;
        let result = async {
            let r = self.resource(&req.type_name)?;
            let ty = &r.ty;
            let prior = decode(req.prior_state.as_ref(), ty)?;
            let planned = decode(req.planned_state.as_ref(), ty)?;
            let config = decode(req.config.as_ref(), ty)?;
            let ctx = self.ctx()?;
            let out = r
                .resource
                .apply(
                    &ctx,
                    (!prior.is_null()).then_some(prior),
                    (!planned.is_null()).then_some(planned),
                    &config,
                )
                .await;
            identity = r.identity_data(out.identity);
            Ok::<_, Diagnostics>((encode(&out.state, ty)?, out.diags))
        }
        .await;
        let (new_state, diagnostics) = match result {
            Ok((state, d)) => (Some(state), diags(d)),
            // Nothing was done: the prior state stands.
            Err(d) => (req.prior_state.clone(), diags(d)),
        };
        Ok(Response::new(pb::apply_resource_change::Response {
            new_state,
            private: req.planned_private,
            diagnostics,
            legacy_type_system: false,
            new_identity: identity,
        }))
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Rpc<pb::import_resource_state::Response> {
        let req = req.into_inner();
        let result = async {
            let r = self.resource(&req.type_name)?;
            let id = match req.identity.as_ref().and_then(|i| i.identity_data.as_ref()) {
                Some(dv) if req.id.is_empty() => {
                    let ty = r.identity_ty.as_ref().ok_or_else(|| {
                        Diagnostics::from(Diagnostic::error(
                            "Import By Identity Not Supported",
                            format!("{} can only be imported by id.", req.type_name),
                        ))
                    })?;
                    let identity = decode(Some(dv), ty)?;
                    r.resource.import_id_from_identity(&identity)?
                }
                _ => req.id.clone(),
            };
            let ctx = self.ctx()?;
            let (state, identity) = r.resource.import(&ctx, &id).await?;
            Ok(pb::import_resource_state::ImportedResource {
                type_name: req.type_name.clone(),
                state: Some(encode(&state, &r.ty)?),
                private: Vec::new(),
                identity: r.identity_data(identity),
            })
        }
        .await;
        let (imported, diagnostics) = split(result);
        Ok(Response::new(pb::import_resource_state::Response {
            imported_resources: imported.into_iter().collect(),
            diagnostics,
            deferred: None,
        }))
    }

    /// A `moved` block from another type. Terraform asks before configuring the provider: the
    /// resource reads only the source state here and finds the object at the refresh that follows
    /// (see `framework::resource::Moved`).
    async fn move_resource_state(
        &self,
        req: Request<pb::move_resource_state::Request>,
    ) -> Rpc<pb::move_resource_state::Response> {
        let req = req.into_inner();
        let mut private = Vec::new();
        let mut warnings = Diagnostics::new();
        let result = (|| {
            let r = self.resource(&req.target_type_name)?;
            let raw = req.source_state.unwrap_or_default();
            let state: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
                Diagnostics::from(Diagnostic::error(
                    "Invalid Source State",
                    format!("The state of {} to move is not JSON: {e}", req.source_type_name),
                ))
            })?;
            let moved = r.resource.move_state(&MoveSource {
                provider_address: &req.source_provider_address,
                type_name: &req.source_type_name,
                schema_version: req.source_schema_version,
                state: &state,
            })?;
            private = moved.private;
            warnings = moved.warnings;
            encode(&moved.state, &r.ty)
        })();
        let (target_state, mut diagnostics) = split(result);
        diagnostics.extend(diags(warnings));
        Ok(Response::new(pb::move_resource_state::Response {
            target_state,
            diagnostics,
            target_private: private,
            target_identity: None,
        }))
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Rpc<pb::read_data_source::Response> {
        let req = req.into_inner();
        let result = async {
            let d = self.data_source(&req.type_name)?;
            let config = decode(req.config.as_ref(), &d.ty)?;
            let ctx = self.ctx()?;
            encode(&d.source.read(&ctx, config).await?, &d.ty)
        }
        .await;
        let (state, diagnostics) = split(result);
        Ok(Response::new(pb::read_data_source::Response {
            state,
            diagnostics,
            deferred: None,
        }))
    }

    async fn validate_ephemeral_resource_config(
        &self,
        req: Request<pb::validate_ephemeral_resource_config::Request>,
    ) -> Rpc<pb::validate_ephemeral_resource_config::Response> {
        Ok(Response::new(pb::validate_ephemeral_resource_config::Response {
            diagnostics: no_ephemeral(&req.into_inner().type_name),
        }))
    }

    async fn open_ephemeral_resource(
        &self,
        req: Request<pb::open_ephemeral_resource::Request>,
    ) -> Rpc<pb::open_ephemeral_resource::Response> {
        Ok(Response::new(pb::open_ephemeral_resource::Response {
            diagnostics: no_ephemeral(&req.into_inner().type_name),
            ..Default::default()
        }))
    }

    async fn renew_ephemeral_resource(
        &self,
        req: Request<pb::renew_ephemeral_resource::Request>,
    ) -> Rpc<pb::renew_ephemeral_resource::Response> {
        Ok(Response::new(pb::renew_ephemeral_resource::Response {
            diagnostics: no_ephemeral(&req.into_inner().type_name),
            ..Default::default()
        }))
    }

    async fn close_ephemeral_resource(
        &self,
        req: Request<pb::close_ephemeral_resource::Request>,
    ) -> Rpc<pb::close_ephemeral_resource::Response> {
        Ok(Response::new(pb::close_ephemeral_resource::Response {
            diagnostics: no_ephemeral(&req.into_inner().type_name),
        }))
    }

    async fn get_functions(
        &self,
        _: Request<pb::get_functions::Request>,
    ) -> Rpc<pb::get_functions::Response> {
        Ok(Response::new(pb::get_functions::Response {
            functions: convert::function_definitions(&self.functions),
            diagnostics: Vec::new(),
        }))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Rpc<pb::call_function::Response> {
        let req = req.into_inner();
        Ok(Response::new(convert::call_function(
            &self.functions,
            &req.name,
            &req.arguments,
        )))
    }

    async fn stop_provider(
        &self,
        _: Request<pb::stop_provider::Request>,
    ) -> Rpc<pb::stop_provider::Response> {
        tracing::info!("StopProvider: no new libvirt work will start; calls in progress finish");
        self.stopping.store(true, Ordering::SeqCst);
        Ok(Response::new(pb::stop_provider::Response {
            error: String::new(),
        }))
    }
}

fn no_ephemeral(name: &str) -> Vec<pb::Diagnostic> {
    diags(
        Diagnostic::error(
            "Unknown Ephemeral Resource",
            format!("This provider has no ephemeral resource type {name:?}."),
        )
        .into(),
    )
}
