//! Names, in each AWS call's User-Agent, the resource type and the operation
//! the call was made for (`md/tf-resource#privatelink_vpc_endpoint
//! md/tf-operation#create`), so that CloudTrail, which records the agent,
//! tells which Terraform resource made a change and why; the tests hold the
//! documented permissions to the same record. Added after signing: SigV4
//! leaves the User-Agent header out of the signature.

use crate::framework::operation;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextMut;
use aws_smithy_runtime_api::client::interceptors::{dyn_dispatch_hint, Intercept};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

#[derive(Debug, Clone, Copy)]
pub struct Attribution;

#[dyn_dispatch_hint]
impl Intercept for Attribution {
    fn name(&self) -> &'static str {
        "privatelink::Attribution"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(work) = operation::current() else {
            return Ok(());
        };
        let headers = context.request_mut().headers_mut();
        let agent = headers.get("user-agent").unwrap_or_default();
        let tagged = with_work(agent, work.type_name, work.operation.as_str());
        // Type names and operation words are ASCII; a failure only loses
        // the attribution, never the call.
        let _ = headers.try_insert("user-agent", tagged);
        Ok(())
    }
}

/// `agent` with the work appended as User-Agent metadata.
fn with_work(agent: &str, type_name: &str, operation: &str) -> String {
    let work = format!("md/tf-resource#{type_name} md/tf-operation#{operation}");
    if agent.is_empty() {
        work
    } else {
        format!("{agent} {work}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_work_follows_what_the_sdk_wrote() {
        assert_eq!(
            with_work("aws-sdk-rust/1.0 app/terraform-provider-privatelink", "privatelink_vpc_endpoint", "create"),
            "aws-sdk-rust/1.0 app/terraform-provider-privatelink md/tf-resource#privatelink_vpc_endpoint md/tf-operation#create"
        );
        assert_eq!(
            with_work("", "privatelink_x", "read"),
            "md/tf-resource#privatelink_x md/tf-operation#read"
        );
    }
}
