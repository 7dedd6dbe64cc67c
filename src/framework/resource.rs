//! The traits a provider, its resources and its data sources implement. The
//! framework's gRPC server (`server.rs`) turns Terraform's RPCs into calls on
//! these, with the protocol's rules already applied.

use super::diag::{Diagnostic, Diagnostics};
use super::plan::PlanContext;
use super::schema::Schema;
use super::value::Value;
use async_trait::async_trait;
use std::sync::Arc;
use tokio::sync::watch;

/// What every call receives: the data the provider built at Configure, and a
/// signal raised when Terraform asks the provider to stop (Ctrl-C).
pub struct Ctx<D> {
    pub data: Arc<D>,
    stop: watch::Receiver<bool>,
}

impl<D> Ctx<D> {
    pub fn new(data: Arc<D>, stop: watch::Receiver<bool>) -> Ctx<D> {
        Ctx { data, stop }
    }
    pub fn stop_requested(&self) -> bool {
        *self.stop.borrow()
    }
    /// Resolves when Terraform sends Stop; waits use it to end early.
    pub async fn stopped(&self) {
        let mut rx = self.stop.clone();
        let _ = rx.wait_for(|s| *s).await;
    }
}

/// Whether Terraform has asked the provider to stop, read without waiting:
/// for what the provider builds at Configure and consults on its own, such
/// as its clients' retry decisions.
#[derive(Clone, Debug)]
pub struct StopSignal(Option<watch::Receiver<bool>>);

impl StopSignal {
    pub fn new(stop: watch::Receiver<bool>) -> StopSignal {
        StopSignal(Some(stop))
    }
    /// For what runs outside Terraform (tools, tests): never raised.
    pub fn never() -> StopSignal {
        StopSignal(None)
    }
    pub fn requested(&self) -> bool {
        self.0.as_ref().is_some_and(|s| *s.borrow())
    }
}

/// The outcome of create or update. On failure, `state` still records what
/// exists remotely so that nothing created is forgotten: the next apply
/// converges from it.
pub struct ApplyResult {
    pub state: Option<Value>,
    pub diagnostics: Diagnostics,
}

impl ApplyResult {
    pub fn ok(state: Value) -> ApplyResult {
        ApplyResult {
            state: Some(state),
            diagnostics: Diagnostics::new(),
        }
    }
    pub fn failed(state: Option<Value>, diagnostics: impl Into<Diagnostics>) -> ApplyResult {
        ApplyResult {
            state,
            diagnostics: diagnostics.into(),
        }
    }
}

/// What read found: the object's state, None when it no longer exists
/// (Terraform then drops it from state and the next plan re-creates it),
/// and warnings about what it found, shown with the refresh.
pub struct ReadResult {
    pub state: Option<Value>,
    pub warnings: Diagnostics,
}

impl From<Option<Value>> for ReadResult {
    fn from(state: Option<Value>) -> ReadResult {
        ReadResult {
            state,
            warnings: Diagnostics::new(),
        }
    }
}

impl ReadResult {
    pub fn warn(mut self, warning: Diagnostic) -> ReadResult {
        debug_assert!(!warning.is_error(), "a read that fails returns Err");
        self.warnings.push(warning);
        self
    }
}

impl From<Result<Value, Diagnostics>> for ApplyResult {
    fn from(r: Result<Value, Diagnostics>) -> ApplyResult {
        match r {
            Ok(v) => ApplyResult::ok(v),
            Err(d) => ApplyResult::failed(None, d),
        }
    }
}

#[async_trait]
pub trait Resource<D: Send + Sync + 'static>: Send + Sync + 'static {
    /// The full type name, e.g. `privatelink_endpoint_service`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;

    /// Checks beyond per-attribute validators (conflicts between attributes,
    /// for example). `config` may hold unknown values.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Adjusts the plan after the framework has applied the schema's rules
    /// (computed values, defaults, requires-replace). Provider data is
    /// available unless the provider configuration is still unknown. An
    /// error here also stops `terraform destroy`, which plans pending
    /// changes first: what only an apply of the change would meet is better
    /// a warning (`Diagnostic::as_warning`) on objects that exist.
    async fn modify_plan(&self, _ctx: Option<&Ctx<D>>, _plan: &mut PlanContext) {}

    /// What stops destroying `prior`, said while Terraform plans the
    /// destroy, before it destroys anything else (Terraform 1.3 and later).
    async fn plan_destroy(&self, _ctx: Option<&Ctx<D>>, _prior: &Value) -> Diagnostics {
        Diagnostics::new()
    }

    async fn create(&self, ctx: &Ctx<D>, planned: &Value, config: &Value) -> ApplyResult;

    /// The object as it is now (see `ReadResult`); an error fails the
    /// refresh and keeps the stored state.
    async fn read(&self, ctx: &Ctx<D>, state: &Value) -> Result<ReadResult, Diagnostics>;

    async fn update(
        &self,
        ctx: &Ctx<D>,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> ApplyResult;

    async fn delete(&self, ctx: &Ctx<D>, prior: &Value) -> Result<(), Diagnostics>;

    /// Builds the minimal state from an import ID; Terraform reads it
    /// afterwards. Provider-only arguments left null start at their
    /// defaults (the framework sets them). The default refuses import.
    async fn import(&self, _ctx: &Ctx<D>, _id: &str) -> Result<Value, Diagnostics> {
        Err(Diagnostic::error(
            "Import not supported",
            format!("{} cannot be imported.", self.type_name()),
        )
        .into())
    }

    /// Migrates stored JSON state written by schema `version` (older than
    /// the current one: the framework refuses newer state itself) to the
    /// current schema's shape. The default keeps it as is.
    fn upgrade_state(
        &self,
        _version: i64,
        state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        Ok(state)
    }
}

#[async_trait]
pub trait DataSource<D: Send + Sync + 'static>: Send + Sync + 'static {
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}
    /// Returns the full object: configuration values unchanged, computed
    /// attributes filled.
    async fn read(&self, ctx: &Ctx<D>, config: &Value) -> Result<Value, Diagnostics>;
}

#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// What Configure builds and every resource call receives: clients,
    /// defaults from the provider block.
    type Data: Send + Sync + 'static;

    /// The provider's type name, e.g. `privatelink`.
    fn type_name(&self) -> &'static str;
    fn schema(&self) -> Schema;
    fn resources(&self) -> Vec<Arc<dyn Resource<Self::Data>>>;
    fn data_sources(&self) -> Vec<Arc<dyn DataSource<Self::Data>>>;

    /// Checks beyond per-attribute validators. `config` may hold unknowns.
    fn validate(&self, _config: &Value, _diags: &mut Diagnostics) {}

    /// Builds the provider data. Called once per provider instance; `stop`
    /// is raised when Terraform asks the provider to stop.
    async fn configure(
        &self,
        terraform_version: &str,
        config: &Value,
        stop: StopSignal,
    ) -> Result<Self::Data, Diagnostics>;
}
