//! The tfplugin5 Provider service, built from a `Provider` implementation.
//! Decodes Terraform's values with the schema, applies the protocol's rules,
//! and turns every failure (a panic included) into diagnostics rather than a
//! crashed plugin.

use super::diag::{Diagnostic, Diagnostics};
use super::operation::{within, Operation};
use super::plan::{self, PlanContext};
use super::resource::{ApplyResult, Ctx, DataSource, Provider, Resource, StopSignal};
use super::schema::{Block, Schema};
use super::validators::{validate_block, warn_deprecated};
use super::value::{Type, Value};
use super::{json, msgpack};
use crate::framework::diag::AttributePath;
use crate::proto::tfplugin5 as pb;
use futures_util::FutureExt;
use std::collections::BTreeMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, RwLock};
use tokio::sync::watch;
use tonic::{Request, Response, Status};

struct Typed<T: ?Sized> {
    imp: Arc<T>,
    schema: Schema,
    ty: Type,
}

pub struct FrameworkServer<P: Provider> {
    provider: P,
    provider_schema: Schema,
    provider_type: Type,
    resources: BTreeMap<String, Typed<dyn Resource<P::Data>>>,
    data_sources: BTreeMap<String, Typed<dyn DataSource<P::Data>>>,
    schema_response: pb::get_provider_schema::Response,
    data: RwLock<Option<Arc<P::Data>>>,
    stop: watch::Sender<bool>,
}

/// How long a call may go on after Terraform asks the provider to stop.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(3);

/// The error of a call `unless_stopped` dropped while `doing`.
fn abandoned(doing: &str, then: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Stopped while {doing}"),
        format!(
            "Terraform asked the provider to stop, and the request under way was abandoned. {then}"
        ),
    )
    .into()
}

impl<P: Provider> FrameworkServer<P> {
    pub fn new(provider: P) -> FrameworkServer<P> {
        let provider_schema = provider.schema();
        let resources: BTreeMap<_, _> = provider
            .resources()
            .into_iter()
            .map(|r| {
                let schema = r.schema();
                let ty = schema.value_type();
                (r.type_name().to_string(), Typed { imp: r, schema, ty })
            })
            .collect();
        let data_sources: BTreeMap<_, _> = provider
            .data_sources()
            .into_iter()
            .map(|d| {
                let schema = d.schema();
                let ty = schema.value_type();
                (d.type_name().to_string(), Typed { imp: d, schema, ty })
            })
            .collect();
        let schema_response = pb::get_provider_schema::Response {
            provider: Some(provider_schema.to_proto()),
            resource_schemas: resources
                .iter()
                .map(|(k, r)| (k.clone(), r.schema.to_proto()))
                .collect(),
            data_source_schemas: data_sources
                .iter()
                .map(|(k, d)| (k.clone(), d.schema.to_proto()))
                .collect(),
            server_capabilities: Some(capabilities()),
            ..Default::default()
        };
        FrameworkServer {
            provider_type: provider_schema.value_type(),
            provider_schema,
            provider,
            resources,
            data_sources,
            schema_response,
            data: RwLock::new(None),
            stop: watch::channel(false).0,
        }
    }

    pub fn provider(&self) -> &P {
        &self.provider
    }

    fn ctx(&self) -> Option<Ctx<P::Data>> {
        let data = self.data.read().ok()?.clone()?;
        Some(Ctx::new(data, self.stop.subscribe()))
    }

    /// Runs a call that records nothing of its own (a read, a plan, an
    /// import, a delete, Configure) until it ends, or, once Terraform has
    /// sent Stop, for `STOP_GRACE` more: a request still in flight (or its
    /// retries) would otherwise hold Terraform until it ends. Then the call
    /// is dropped, and the error says it was stopped while `doing`, and
    /// `then` what the next run does; the state stays as it was. Creates and
    /// updates are never dropped: what they made is only theirs to record.
    async fn unless_stopped<T>(
        &self,
        work: impl Future<Output = T>,
        doing: &str,
        then: &str,
    ) -> Result<T, Diagnostics> {
        let mut stop = self.stop.subscribe();
        let stopped = async move {
            // The sender lives as long as the server: no stop, no end.
            if stop.wait_for(|s| *s).await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::pin!(work);
        tokio::select! {
            out = &mut work => return Ok(out),
            _ = stopped => {}
        }
        tokio::time::timeout(STOP_GRACE, work)
            .await
            .map_err(|_| abandoned(doing, then))
    }

    fn require_ctx(&self) -> Result<Ctx<P::Data>, Diagnostics> {
        self.ctx().ok_or_else(|| {
            Diagnostic::error(
                "Provider not configured",
                "Terraform called the provider before configuring it. This is a bug in the provider or in Terraform; please report it.",
            )
            .into()
        })
    }

    fn resource(&self, type_name: &str) -> Result<&Typed<dyn Resource<P::Data>>, Diagnostics> {
        self.resources
            .get(type_name)
            .ok_or_else(|| unknown_type("resource", type_name))
    }

    fn data_source(&self, type_name: &str) -> Result<&Typed<dyn DataSource<P::Data>>, Diagnostics> {
        self.data_sources
            .get(type_name)
            .ok_or_else(|| unknown_type("data source", type_name))
    }
}

fn unknown_type(kind: &str, name: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Unknown {kind} type"),
        format!("This provider has no {kind} named {name:?}."),
    )
    .into()
}

/// Terraform shows an import's errors without the resource address, and a
/// configuration may import many objects in one plan: each says which (the
/// ID only where the error does not quote it already).
fn importing(type_name: &str, id: &str, mut diags: Diagnostics) -> Diagnostics {
    for d in &mut diags.0 {
        d.detail = if d.detail.contains(id) {
            format!("Importing {type_name}: {}", d.detail)
        } else {
            format!("Importing {type_name} {id:?}: {}", d.detail)
        };
    }
    diags
}

/// Decodes a DynamicValue: msgpack when present, else JSON, else null.
fn decode(dv: Option<&pb::DynamicValue>, ty: &Type, what: &str) -> Result<Value, Diagnostics> {
    let Some(dv) = dv else {
        return Ok(Value::Null);
    };
    let result = if !dv.msgpack.is_empty() {
        msgpack::decode(&dv.msgpack, ty)
    } else if !dv.json.is_empty() {
        json::decode(&dv.json, ty)
    } else {
        Ok(Value::Null)
    };
    result.map_err(|e| {
        Diagnostic::error(
            format!("Invalid {what} received from Terraform"),
            format!("The provider could not decode the {what}: {e}"),
        )
        .into()
    })
}

/// Decodes a configuration and runs the schema's validators, then the
/// type's own checks: every Validate RPC and Configure do the same.
fn check_config(
    dv: Option<&pb::DynamicValue>,
    schema: &Schema,
    ty: &Type,
    extra: impl FnOnce(&Value, &mut Diagnostics),
) -> Result<(Value, Diagnostics), Diagnostics> {
    let config = decode(dv, ty, "configuration")?;
    let mut diags = Diagnostics::new();
    validate_block(&schema.block, &config, &AttributePath::root(), &mut diags);
    extra(&config, &mut diags);
    Ok((config, diags))
}

fn encode(value: &Value, ty: &Type, what: &str) -> Result<pb::DynamicValue, Diagnostics> {
    msgpack::encode(value, ty)
        .map(|msgpack| pb::DynamicValue {
            msgpack,
            json: Vec::new(),
        })
        .map_err(|e| {
            Diagnostic::error(
                format!("Provider produced an invalid {what}"),
                format!("The {what} could not be encoded: {e}. This is a bug in the provider."),
            )
            .into()
        })
}

/// Every tfplugin5 response with a `diagnostics` list.
trait WithDiagnostics: Default {
    fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic>;
}

macro_rules! with_diagnostics {
    ($($t:ty),* $(,)?) => {$(
        impl WithDiagnostics for $t {
            fn diagnostics_mut(&mut self) -> &mut Vec<pb::Diagnostic> {
                &mut self.diagnostics
            }
        }
    )*};
}

with_diagnostics!(
    pb::get_metadata::Response,
    pb::get_provider_schema::Response,
    pb::prepare_provider_config::Response,
    pb::validate_resource_type_config::Response,
    pb::validate_data_source_config::Response,
    pb::upgrade_resource_state::Response,
    pb::get_resource_identity_schemas::Response,
    pb::configure::Response,
    pb::read_resource::Response,
    pb::plan_resource_change::Response,
    pb::apply_resource_change::Response,
    pb::import_resource_state::Response,
    pb::read_data_source::Response,
);

/// Runs a handler; a panic inside it becomes an error diagnostic naming the
/// RPC and the type, and the plugin keeps serving.
async fn guarded<T, F>(rpc: &str, type_name: &str, fut: F) -> Result<Response<T>, Status>
where
    T: WithDiagnostics,
    F: Future<Output = T>,
{
    match AssertUnwindSafe(fut).catch_unwind().await {
        Ok(resp) => Ok(Response::new(resp)),
        Err(panic) => {
            let message = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            tracing::error!(rpc, type_name, panic = %message, "handler panicked");
            let mut resp = T::default();
            let subject = if type_name.is_empty() {
                String::new()
            } else {
                format!(" for {type_name}")
            };
            resp.diagnostics_mut().push(
                Diagnostic::error(
                    format!("The provider crashed while handling {rpc}{subject}"),
                    format!("{message}\n\nThis is a bug in the provider; please report it. Nothing else was changed by this call."),
                )
                .to_proto(),
            );
            Ok(Response::new(resp))
        }
    }
}

/// Lets handlers use `?` on `Result<_, Diagnostics>` and still answer with a
/// response carrying those diagnostics.
fn answer<T: WithDiagnostics>(result: Result<T, Diagnostics>) -> T {
    match result {
        Ok(t) => t,
        Err(diags) => {
            let mut t = T::default();
            *t.diagnostics_mut() = diags.to_proto();
            t
        }
    }
}

fn with_diags<T: WithDiagnostics>(mut t: T, diags: &Diagnostics) -> T {
    t.diagnostics_mut().extend(diags.to_proto());
    t
}

/// Unknown leaves cannot be stored; a resource that leaves one is buggy, and
/// saying so beats Terraform's opaque "inconsistent result" error.
fn require_known(value: Value, type_name: &str, diags: &mut Diagnostics) -> Value {
    if value.is_fully_known() {
        return value;
    }
    diags.error(
        "Provider returned unknown values",
        format!("The provider left values of {type_name} unknown after applying. This is a bug in the provider; the unknown values were stored as null."),
    );
    replace_unknown_with_null(value)
}

/// An imported object's provider-only arguments (what destroy does, a
/// wait) exist nowhere remote: they start at their defaults, as the
/// resource pages' Import sections say.
fn provider_only_defaults(block: &Block, state: Value) -> Value {
    let Value::Object(mut attrs) = state else {
        return state;
    };
    for a in block.attributes.iter().filter(|a| a.provider_only) {
        if let Some(default) = &a.default {
            if attrs.get(&a.name).is_none_or(Value::is_null) {
                attrs.insert(a.name.clone(), default.clone());
            }
        }
    }
    Value::Object(attrs)
}

/// A planned value the object does not have after the change (the service
/// took the request but not that setting) is said on its attribute; the
/// state keeps what is there, instead of Terraform reporting a provider
/// bug. An update's next plan shows the difference; a new object with an
/// error Terraform taints, so the message says how to keep it.
fn unkept_changes(
    block: &Block,
    planned: &Value,
    actual: &Value,
    created: bool,
    diags: &mut Diagnostics,
) {
    let next = if created {
        "The state records what is there, but Terraform marks a new object that comes with an error as tainted, so the next apply replaces it; `terraform untaint` keeps it instead, and the next plan then shows the difference."
    } else {
        "The state records what is there, so the next plan shows the difference."
    };
    for (name, want, got) in plan::unkept_attributes(planned, actual) {
        // A sensitive value is never written out, here as anywhere.
        let sensitive = block
            .attributes
            .iter()
            .any(|a| a.name == name && a.sensitive);
        let shown = |v: &Value| {
            if sensitive {
                "(sensitive value)".to_string()
            } else {
                json::to_json(v).to_string()
            }
        };
        diags.error_at(
            AttributePath::attr(name),
            format!("{name} did not take effect"),
            format!(
                "The change set {name} to {}, but afterwards the object has {}. The service accepted the request without applying this value: check that it is supported here. {next}",
                shown(want),
                shown(got)
            ),
        );
    }
}

fn replace_unknown_with_null(v: Value) -> Value {
    match v {
        Value::Unknown => Value::Null,
        Value::List(items) => {
            Value::List(items.into_iter().map(replace_unknown_with_null).collect())
        }
        Value::Set(items) => Value::Set(items.into_iter().map(replace_unknown_with_null).collect()),
        Value::Tuple(items) => {
            Value::Tuple(items.into_iter().map(replace_unknown_with_null).collect())
        }
        Value::Map(m) => Value::Map(
            m.into_iter()
                .map(|(k, v)| (k, replace_unknown_with_null(v)))
                .collect(),
        ),
        Value::Object(m) => Value::Object(
            m.into_iter()
                .map(|(k, v)| (k, replace_unknown_with_null(v)))
                .collect(),
        ),
        Value::Dynamic(t, v) => Value::Dynamic(t, Box::new(replace_unknown_with_null(*v))),
        other => other,
    }
}

/// Every RPC is served without a prior GetProviderSchema in this process
/// (the schemas are built at start), so Terraform may reuse the schema it
/// already holds instead of asking each provider process it starts for it.
/// Destroy plans come here too (`plan_destroy`), so that a resource can
/// stop a destroy before Terraform has destroyed anything.
fn capabilities() -> pb::ServerCapabilities {
    pb::ServerCapabilities {
        get_provider_schema_optional: true,
        plan_destroy: true,
        ..Default::default()
    }
}

#[tonic::async_trait]
impl<P: Provider> pb::provider_server::Provider for FrameworkServer<P> {
    async fn get_metadata(
        &self,
        _req: Request<pb::get_metadata::Request>,
    ) -> Result<Response<pb::get_metadata::Response>, Status> {
        Ok(Response::new(pb::get_metadata::Response {
            server_capabilities: Some(capabilities()),
            resources: self
                .resources
                .keys()
                .map(|k| pb::get_metadata::ResourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            data_sources: self
                .data_sources
                .keys()
                .map(|k| pb::get_metadata::DataSourceMetadata {
                    type_name: k.clone(),
                })
                .collect(),
            ..Default::default()
        }))
    }

    async fn get_schema(
        &self,
        _req: Request<pb::get_provider_schema::Request>,
    ) -> Result<Response<pb::get_provider_schema::Response>, Status> {
        Ok(Response::new(self.schema_response.clone()))
    }

    async fn get_resource_identity_schemas(
        &self,
        _req: Request<pb::get_resource_identity_schemas::Request>,
    ) -> Result<Response<pb::get_resource_identity_schemas::Response>, Status> {
        // No resource declares an identity: an empty map says so.
        Ok(Response::new(Default::default()))
    }

    async fn prepare_provider_config(
        &self,
        req: Request<pb::prepare_provider_config::Request>,
    ) -> Result<Response<pb::prepare_provider_config::Response>, Status> {
        let req = req.into_inner();
        guarded("PrepareProviderConfig", "", async {
            answer((|| {
                let (_, diags) = check_config(
                    req.config.as_ref(),
                    &self.provider_schema,
                    &self.provider_type,
                    |c, d| {
                        warn_deprecated(&self.provider_schema.block, c, &AttributePath::root(), d);
                        self.provider.validate(c, d)
                    },
                )?;
                Ok(with_diags(
                    pb::prepare_provider_config::Response {
                        prepared_config: req.config.clone(),
                        ..Default::default()
                    },
                    &diags,
                ))
            })())
        })
        .await
    }

    async fn validate_resource_type_config(
        &self,
        req: Request<pb::validate_resource_type_config::Request>,
    ) -> Result<Response<pb::validate_resource_type_config::Response>, Status> {
        let req = req.into_inner();
        guarded("ValidateResourceTypeConfig", &req.type_name, async {
            answer((|| {
                let r = self.resource(&req.type_name)?;
                let (_, diags) = check_config(req.config.as_ref(), &r.schema, &r.ty, |c, d| {
                    r.imp.validate(c, d)
                })?;
                Ok(with_diags(Default::default(), &diags))
            })())
        })
        .await
    }

    async fn validate_data_source_config(
        &self,
        req: Request<pb::validate_data_source_config::Request>,
    ) -> Result<Response<pb::validate_data_source_config::Response>, Status> {
        let req = req.into_inner();
        guarded("ValidateDataSourceConfig", &req.type_name, async {
            answer((|| {
                let d = self.data_source(&req.type_name)?;
                let (_, diags) =
                    check_config(req.config.as_ref(), &d.schema, &d.ty, |c, diags| {
                        d.imp.validate(c, diags)
                    })?;
                Ok(with_diags(Default::default(), &diags))
            })())
        })
        .await
    }

    async fn upgrade_resource_state(
        &self,
        req: Request<pb::upgrade_resource_state::Request>,
    ) -> Result<Response<pb::upgrade_resource_state::Response>, Status> {
        let req = req.into_inner();
        guarded("UpgradeResourceState", &req.type_name, async {
            answer((|| {
                let r = self.resource(&req.type_name)?;
                let raw = req.raw_state.unwrap_or_default();
                if raw.json.is_empty() {
                    if raw.flatmap.is_empty() {
                        return Ok(pb::upgrade_resource_state::Response {
                            upgraded_state: Some(encode(&Value::Null, &r.ty, "state")?),
                            ..Default::default()
                        });
                    }
                    return Err(Diagnostic::error(
                        "Unsupported state format",
                        "This state was written in the pre-0.12 flatmap format, which this provider never wrote.",
                    )
                    .into());
                }
                let json: serde_json::Value = serde_json::from_slice(&raw.json).map_err(|e| {
                    Diagnostics::from(Diagnostic::error("Invalid stored state", format!("The stored state is not valid JSON: {e}")))
                })?;
                let current = r.schema.version;
                if req.version > current {
                    return Err(Diagnostic::error(
                        "State written by a newer provider",
                        format!(
                            "The state of this {} was written with schema version {}, newer than this provider's {current}. Upgrade the provider.",
                            req.type_name, req.version
                        ),
                    )
                    .into());
                }
                let upgraded = if req.version < current {
                    r.imp.upgrade_state(req.version, json)?
                } else {
                    json
                };
                let value = json::from_json(&upgraded, &r.ty).map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "Stored state does not match the schema",
                        format!("The stored state of this {} could not be read with the current schema: {e}", req.type_name),
                    ))
                })?;
                Ok(pb::upgrade_resource_state::Response {
                    upgraded_state: Some(encode(&value, &r.ty, "state")?),
                    ..Default::default()
                })
            })())
        })
        .await
    }

    async fn configure(
        &self,
        req: Request<pb::configure::Request>,
    ) -> Result<Response<pb::configure::Response>, Status> {
        let req = req.into_inner();
        guarded("Configure", "", async {
            let result: Result<_, Diagnostics> = async {
                let (config, diags) = check_config(
                    req.config.as_ref(),
                    &self.provider_schema,
                    &self.provider_type,
                    |c, d| self.provider.validate(c, d),
                )?;
                if diags.has_errors() {
                    return Err(diags);
                }
                let data = self
                    .unless_stopped(
                        self.provider.configure(
                            &req.terraform_version,
                            &config,
                            StopSignal::new(self.stop.subscribe()),
                        ),
                        "configuring the provider",
                        "Nothing was changed.",
                    )
                    .await??;
                if let Ok(mut slot) = self.data.write() {
                    *slot = Some(Arc::new(data));
                }
                Ok(with_diags(pb::configure::Response::default(), &diags))
            }
            .await;
            answer(result)
        })
        .await
    }

    async fn read_resource(
        &self,
        req: Request<pb::read_resource::Request>,
    ) -> Result<Response<pb::read_resource::Response>, Status> {
        let req = req.into_inner();
        guarded("ReadResource", &req.type_name, async {
            let result: Result<_, Diagnostics> = async {
                let r = self.resource(&req.type_name)?;
                let state = decode(req.current_state.as_ref(), &r.ty, "state")?;
                if state.is_null() {
                    return Ok(pb::read_resource::Response {
                        new_state: Some(encode(&Value::Null, &r.ty, "state")?),
                        private: req.private.clone(),
                        ..Default::default()
                    });
                }
                let ctx = self.require_ctx()?;
                let read = self
                    .unless_stopped(
                        within(r.imp.type_name(), Operation::Read, r.imp.read(&ctx, &state)),
                        "reading",
                        "The state is as it was; the next plan reads the object again.",
                    )
                    .await??;
                let mut diags = read.warnings;
                let new_state = match read.state {
                    Some(v) => require_known(v, &req.type_name, &mut diags),
                    None => Value::Null,
                };
                Ok(with_diags(
                    pb::read_resource::Response {
                        new_state: Some(encode(&new_state, &r.ty, "state")?),
                        private: req.private.clone(),
                        ..Default::default()
                    },
                    &diags,
                ))
            }
            .await;
            answer(result)
        })
        .await
    }

    async fn plan_resource_change(
        &self,
        req: Request<pb::plan_resource_change::Request>,
    ) -> Result<Response<pb::plan_resource_change::Response>, Status> {
        let req = req.into_inner();
        guarded("PlanResourceChange", &req.type_name, async {
            let result: Result<_, Diagnostics> = async {
                let r = self.resource(&req.type_name)?;
                let prior = decode(req.prior_state.as_ref(), &r.ty, "prior state")?;
                let proposed = decode(req.proposed_new_state.as_ref(), &r.ty, "proposed state")?;
                let config = decode(req.config.as_ref(), &r.ty, "configuration")?;
                if proposed.is_null() {
                    // Destroy: nothing to plan, but maybe something to stop it.
                    let diags = if prior.is_null() {
                        Diagnostics::new()
                    } else {
                        self.unless_stopped(
                            within(
                                r.imp.type_name(),
                                Operation::Plan,
                                r.imp.plan_destroy(self.ctx().as_ref(), &prior),
                            ),
                            "planning",
                            "Nothing was changed.",
                        )
                        .await
                        .unwrap_or_else(|stopped| stopped)
                    };
                    return Ok(with_diags(
                        pb::plan_resource_change::Response {
                            planned_state: Some(encode(&Value::Null, &r.ty, "plan")?),
                            planned_private: req.prior_private.clone(),
                            ..Default::default()
                        },
                        &diags,
                    ));
                }
                let mut pc: PlanContext = plan::plan(&r.schema.block, &prior, &proposed, &config);
                let ctx = self.ctx();
                let planned = self
                    .unless_stopped(
                        within(
                            r.imp.type_name(),
                            Operation::Plan,
                            r.imp.modify_plan(ctx.as_ref(), &mut pc),
                        ),
                        "planning",
                        "Nothing was changed.",
                    )
                    .await;
                if let Err(stopped) = planned {
                    pc.diagnostics.extend(stopped);
                }
                pc.settle();
                Ok(with_diags(
                    pb::plan_resource_change::Response {
                        planned_state: Some(encode(&pc.planned, &r.ty, "plan")?),
                        requires_replace: pc
                            .requires_replace
                            .iter()
                            .map(AttributePath::to_proto)
                            .collect(),
                        planned_private: req.prior_private.clone(),
                        ..Default::default()
                    },
                    &pc.diagnostics,
                ))
            }
            .await;
            answer(result)
        })
        .await
    }

    async fn apply_resource_change(
        &self,
        req: Request<pb::apply_resource_change::Request>,
    ) -> Result<Response<pb::apply_resource_change::Response>, Status> {
        let req = req.into_inner();
        guarded("ApplyResourceChange", &req.type_name, async {
            let result: Result<_, Diagnostics> = async {
                let r = self.resource(&req.type_name)?;
                let prior = decode(req.prior_state.as_ref(), &r.ty, "prior state")?;
                let planned = decode(req.planned_state.as_ref(), &r.ty, "planned state")?;
                let config = decode(req.config.as_ref(), &r.ty, "configuration")?;
                let ctx = self.require_ctx()?;
                let mut diags = Diagnostics::new();
                let new_state = if planned.is_null() {
                    let deleted = self
                        .unless_stopped(
                            within(
                                r.imp.type_name(),
                                Operation::Delete,
                                r.imp.delete(&ctx, &prior),
                            ),
                            "deleting",
                            "The object stays in state: run destroy (or apply) again.",
                        )
                        .await
                        .and_then(|d| d);
                    match deleted {
                        Ok(()) => Value::Null,
                        // The object still exists: keep it in state.
                        Err(d) => {
                            diags.extend(d);
                            prior.clone()
                        }
                    }
                } else {
                    let ApplyResult { state, diagnostics } = if prior.is_null() {
                        // Never abandoned: what a create has made lives in
                        // its own variables until it returns, and dropped it
                        // would be in no state at all. Its waits end at once
                        // on a stop, and each request is bounded.
                        within(
                            r.imp.type_name(),
                            Operation::Create,
                            r.imp.create(&ctx, &planned, &config),
                        )
                        .await
                    } else if planned.is_fully_known()
                        && r.schema.block.only_provider_side_differs(&prior, &planned)
                    {
                        // Nothing to send: the object is as it was.
                        ApplyResult::ok(planned.clone())
                    } else {
                        // Not abandoned either, as for a create: an update
                        // may make objects (an owned group) on its way.
                        within(
                            r.imp.type_name(),
                            Operation::Update,
                            r.imp.update(&ctx, &prior, &planned, &config),
                        )
                        .await
                    };
                    diags.extend(diagnostics);
                    match state {
                        Some(v) if !diags.has_errors() => {
                            let v = require_known(v, &req.type_name, &mut diags);
                            unkept_changes(
                                &r.schema.block,
                                &planned,
                                &v,
                                prior.is_null(),
                                &mut diags,
                            );
                            v
                        }
                        Some(v) => require_known(v, &req.type_name, &mut diags),
                        // Nothing was created, or an update failed before
                        // changing anything: keep what was there.
                        None => prior.clone(),
                    }
                };
                Ok(with_diags(
                    pb::apply_resource_change::Response {
                        new_state: Some(encode(&new_state, &r.ty, "new state")?),
                        private: req.planned_private.clone(),
                        ..Default::default()
                    },
                    &diags,
                ))
            }
            .await;
            answer(result)
        })
        .await
    }

    async fn import_resource_state(
        &self,
        req: Request<pb::import_resource_state::Request>,
    ) -> Result<Response<pb::import_resource_state::Response>, Status> {
        let req = req.into_inner();
        guarded("ImportResourceState", &req.type_name, async {
            let result: Result<_, Diagnostics> = async {
                let r = self.resource(&req.type_name)?;
                let ctx = self.require_ctx()?;
                let mut diags = Diagnostics::new();
                let state = self
                    .unless_stopped(
                        within(
                            r.imp.type_name(),
                            Operation::Import,
                            r.imp.import(&ctx, &req.id),
                        ),
                        "importing",
                        "Nothing was imported.",
                    )
                    .await?
                    .map_err(|d| importing(&req.type_name, &req.id, d))?;
                let state = require_known(state, &req.type_name, &mut diags);
                let state = provider_only_defaults(&r.schema.block, state);
                Ok(with_diags(
                    pb::import_resource_state::Response {
                        imported_resources: vec![pb::import_resource_state::ImportedResource {
                            type_name: req.type_name.clone(),
                            state: Some(encode(&state, &r.ty, "imported state")?),
                            ..Default::default()
                        }],
                        ..Default::default()
                    },
                    &diags,
                ))
            }
            .await;
            answer(result)
        })
        .await
    }

    async fn read_data_source(
        &self,
        req: Request<pb::read_data_source::Request>,
    ) -> Result<Response<pb::read_data_source::Response>, Status> {
        let req = req.into_inner();
        guarded("ReadDataSource", &req.type_name, async {
            let result: Result<_, Diagnostics> = async {
                let d = self.data_source(&req.type_name)?;
                let config = decode(req.config.as_ref(), &d.ty, "configuration")?;
                let ctx = self.require_ctx()?;
                let mut diags = Diagnostics::new();
                let state = self
                    .unless_stopped(
                        within(
                            d.imp.type_name(),
                            Operation::ReadData,
                            d.imp.read(&ctx, &config),
                        ),
                        "reading",
                        "Nothing was read.",
                    )
                    .await??;
                let state = require_known(state, &req.type_name, &mut diags);
                Ok(with_diags(
                    pb::read_data_source::Response {
                        state: Some(encode(&state, &d.ty, "data")?),
                        ..Default::default()
                    },
                    &diags,
                ))
            }
            .await;
            answer(result)
        })
        .await
    }

    // No provider functions: an empty list and a clear error, rather than
    // "Unimplemented", for clients (OpenTofu) that ask when a configuration
    // calls a function the schema does not list.
    async fn get_functions(
        &self,
        _req: Request<pb::get_functions::Request>,
    ) -> Result<Response<pb::get_functions::Response>, Status> {
        Ok(Response::new(pb::get_functions::Response::default()))
    }

    async fn call_function(
        &self,
        req: Request<pb::call_function::Request>,
    ) -> Result<Response<pb::call_function::Response>, Status> {
        let name = req.into_inner().name;
        Ok(Response::new(pb::call_function::Response {
            result: None,
            error: Some(pb::FunctionError {
                text: format!("This provider has no function {name:?}."),
                function_argument: None,
            }),
        }))
    }

    async fn stop(
        &self,
        _req: Request<pb::stop::Request>,
    ) -> Result<Response<pb::stop::Response>, Status> {
        tracing::info!("stop requested by terraform");
        // Kept even when no call is listening now: later calls must see it.
        self.stop.send_replace(true);
        Ok(Response::new(pb::stop::Response::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::schema::Attribute;
    use crate::framework::value::Type;

    #[test]
    fn an_import_starts_provider_only_arguments_at_their_defaults() {
        let block = Block::new()
            .attribute(Attribute::computed("id", Type::String))
            .attribute(
                Attribute::optional("force_destroy", Type::Bool)
                    .default(Value::Bool(false))
                    .provider_only(),
            )
            .attribute(Attribute::optional("profile", Type::String).provider_only())
            .attribute(Attribute::optional("acceptance", Type::Bool).default(Value::Bool(true)));
        let imported = Value::object([
            ("id", Value::string("x")),
            ("force_destroy", Value::Null),
            ("profile", Value::Null),
            ("acceptance", Value::Null),
        ]);
        let state = provider_only_defaults(&block, imported);
        assert_eq!(state.get("force_destroy"), Some(&Value::Bool(false)));
        // No default to give, and not provider-only: left as read.
        assert_eq!(state.get("profile"), Some(&Value::Null));
        assert_eq!(state.get("acceptance"), Some(&Value::Null));
        assert_eq!(state.get("id"), Some(&Value::string("x")));
    }

    #[test]
    fn an_unkept_value_on_a_new_object_says_terraform_taints_it() {
        let block = Block::new().attribute(Attribute::optional("note", Type::String));
        let planned = Value::object([("note", Value::string("wanted"))]);
        let actual = Value::object([("note", Value::string("kept"))]);
        let said = |created: bool| {
            let mut diags = Diagnostics::new();
            unkept_changes(&block, &planned, &actual, created, &mut diags);
            diags.0[0].detail.clone()
        };
        assert!(
            said(true).contains("the next apply replaces it"),
            "{}",
            said(true)
        );
        assert!(!said(true).contains("so the next plan shows the difference"));
        assert!(said(false).contains("so the next plan shows the difference"));
        assert!(!said(false).contains("tainted"));
    }

    #[test]
    fn an_unkept_sensitive_value_is_named_but_never_written_out() {
        let block = Block::new()
            .attribute(Attribute::optional("secret", Type::String).sensitive())
            .attribute(Attribute::optional("note", Type::String));
        let planned = Value::object([
            ("secret", Value::string("hunter2")),
            ("note", Value::string("wanted")),
        ]);
        let actual = Value::object([
            ("secret", Value::string("older-secret")),
            ("note", Value::string("kept")),
        ]);
        let mut diags = Diagnostics::new();
        unkept_changes(&block, &planned, &actual, false, &mut diags);
        let text: Vec<String> = diags.0.iter().map(|d| d.detail.clone()).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        let all = text.join("\n");
        assert!(
            !all.contains("hunter2") && !all.contains("older-secret"),
            "{all}"
        );
        assert!(all.contains("(sensitive value)"), "{all}");
        assert!(
            all.contains("\"wanted\"") && all.contains("\"kept\""),
            "{all}"
        );
    }
}
