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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::interceptors::context::Input;

    #[test]
    fn retries_are_forbidden_once_a_stop_is_requested_and_not_before() {
        let ctx = InterceptorContext::new(Input::erase("any call"));
        let (stop, requested) = tokio::sync::watch::channel(false);
        let classifier = NoRetriesAfterStop(StopSignal::new(requested));
        assert_eq!(
            classifier.classify_retry(&ctx),
            RetryAction::NoActionIndicated
        );
        stop.send_replace(true);
        assert_eq!(classifier.classify_retry(&ctx), RetryAction::RetryForbidden);
        let never = NoRetriesAfterStop(StopSignal::never());
        assert_eq!(never.classify_retry(&ctx), RetryAction::NoActionIndicated);
    }
}
