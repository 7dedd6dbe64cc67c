//! One debug line per AWS call (service, operation, HTTP status, attempts,
//! time taken, request ID), the counterpart of the Snowflake client's: with
//! `TF_LOG=debug` an operator sees what the provider asked AWS and how AWS
//! answered, without the SDK's own trace-level noise. Nothing of the request
//! or response body is logged, so no secret can reach the log.

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{dyn_dispatch_hint, Intercept};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct CallLog;

/// When the call started, kept in the call's own config bag.
#[derive(Debug, Clone)]
struct Started(Instant);

impl Storable for Started {
    type Storer = StoreReplace<Self>;
}

#[dyn_dispatch_hint]
impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "privatelink::CallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if tracing::enabled!(tracing::Level::DEBUG) {
            cfg.interceptor_state().store_put(Started(Instant::now()));
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(Started(at)) = cfg.load::<Started>() else {
            return Ok(());
        };
        let (service, operation) = cfg
            .load::<Metadata>()
            .map_or(("", ""), |m| (m.service(), m.name()));
        let response = context.response();
        let status = response.map_or(0, |r| r.status().as_u16());
        let request_id = response
            .and_then(|r| {
                let h = r.headers();
                h.get("x-amzn-requestid")
                    .or_else(|| h.get("x-amz-request-id"))
            })
            .unwrap_or_default();
        let attempts = cfg.load::<RequestAttempts>().map_or(1, |a| a.attempts());
        tracing::debug!(
            service,
            operation,
            // 0: no answer came (the connection failed or timed out).
            status,
            attempts,
            millis = at.elapsed().as_millis() as u64,
            request_id,
            "AWS answered"
        );
        Ok(())
    }
}
