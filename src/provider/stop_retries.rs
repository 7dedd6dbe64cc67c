//! No AWS call is tried again once Terraform has asked the provider to stop.
//! A create or update is never abandoned (what it made is only its own to
//! record), so after Ctrl-C it still finishes the attempt in flight; without
//! this, a throttled or hung endpoint would hold it for every attempt
//! `max_retries` allows. It fails with AWS's last answer instead, and the
//! next apply converges from the state it records.

use crate::framework::resource::StopSignal;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{ClassifyRetry, RetryAction};

#[derive(Debug, Clone)]
pub struct NoRetriesAfterStop(pub StopSignal);

impl ClassifyRetry for NoRetriesAfterStop {
    fn classify_retry(&self, _ctx: &InterceptorContext) -> RetryAction {
        if self.0.requested() {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "privatelink::NoRetriesAfterStop"
    }
}
