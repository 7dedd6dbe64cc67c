//! Data source `privatelink_snowflake_endpoint_registrations`: the VPC
//! endpoints pinned to the provider's Snowflake account
//! (SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS), pins made outside
//! Terraform included.

use crate::framework::resource::{Ctx, DataSource};
use crate::framework::{typed, Attribute, Block, Diagnostics, Schema, Type, Value};
use crate::provider::permissions::Permissions;
use crate::provider::snowflake;
use crate::provider::ProviderData;
use async_trait::async_trait;
use serde::Serialize;
use std::time::Duration;

/// The AWS actions a read may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[];

pub struct SnowflakeEndpointRegistrations;

const READ_TIMEOUT: Duration = Duration::from_secs(2 * 60);

#[derive(Serialize)]
struct Entry {
    vpc_endpoint_id: String,
    aws_account_id: String,
    endpoint_type: Option<String>,
    provider_service_endpoint: Option<String>,
}

#[derive(Serialize)]
struct State {
    id: String,
    registrations: Vec<Entry>,
    vpc_endpoint_ids: Vec<String>,
}

fn entry_type() -> Type {
    Type::object([
        ("vpc_endpoint_id", Type::String),
        ("aws_account_id", Type::String),
        ("endpoint_type", Type::String),
        ("provider_service_endpoint", Type::String),
    ])
}

#[async_trait]
impl DataSource<ProviderData> for SnowflakeEndpointRegistrations {
    fn type_name(&self) -> &'static str {
        "privatelink_snowflake_endpoint_registrations"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("The VPC endpoints pinned to the provider's Snowflake account, as SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS lists them (ACCOUNTADMIN required), including pins made outside Terraform.")
                .attribute(Attribute::computed("id", Type::String).description("The account locator (CURRENT_ACCOUNT())."))
                .attribute(
                    Attribute::computed("registrations", Type::list(entry_type()))
                        .description("Each pin: `vpc_endpoint_id` (pinnedConsumerEndpointId), `aws_account_id` (consumerEndpointId), `endpoint_type` (consumerEndpointType, `Aws Id`), `provider_service_endpoint` (Snowflake's `vpce-svc-...`)."),
                )
                .attribute(
                    Attribute::computed("vpc_endpoint_ids", Type::list(Type::String))
                        .description("The pinned VPC endpoint IDs, sorted."),
                ),
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, _config: &Value) -> Result<Value, Diagnostics> {
        let sf = ctx.data.snowflake().await?;
        let fail =
            |e: snowflake::SnowflakeError| Diagnostics::from(snowflake::diagnostic(&e, Some(sf)));
        let locator = sf
            .account_locator(ctx.stopped())
            .await
            .map_err(fail)?
            .to_string();
        let mut all = sf
            .endpoint_registrations(READ_TIMEOUT, ctx.stopped())
            .await
            .map_err(fail)?
            .as_ref()
            .clone();
        all.sort_by(|a, b| {
            a.pinned_consumer_endpoint_id
                .cmp(&b.pinned_consumer_endpoint_id)
        });
        let state = State {
            id: locator,
            vpc_endpoint_ids: all
                .iter()
                .map(|r| r.pinned_consumer_endpoint_id.clone())
                .collect(),
            registrations: all
                .into_iter()
                .map(|r| Entry {
                    vpc_endpoint_id: r.pinned_consumer_endpoint_id,
                    aws_account_id: r.consumer_endpoint_id,
                    endpoint_type: r.consumer_endpoint_type,
                    provider_service_endpoint: r.provider_service_endpoint,
                })
                .collect(),
        };
        typed::state_value(&state, self, || self.schema())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(
            SnowflakeEndpointRegistrations.schema().lint(),
            Vec::<String>::new()
        );
    }
}
