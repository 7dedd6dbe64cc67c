//! Data source `privatelink_endpoint_service`: a partner's endpoint service
//! as your account sees it, by `service_name` or `id`, so a consumer module
//! can check the service and its Availability Zone IDs before creating an
//! endpoint (`privatelink_vpc_endpoint`).

use crate::framework::operation::Operation;
use crate::framework::resource::{Ctx, DataSource};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::aws::AwsClients;
use crate::provider::permissions::Permissions;
use crate::provider::shapes::{endpoint_service_id, endpoint_service_name};
use crate::provider::ProviderData;
use crate::resources::{endpoint_service_detail, sorted, tag_map};
use async_trait::async_trait;
use aws_sdk_ec2::types::ServiceDetail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The AWS actions a read may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[(
    Operation::ReadData,
    &[
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeVpcEndpointServices",
    ],
)];

pub struct EndpointServiceDataSource;

#[derive(Deserialize)]
struct Config {
    service_name: Option<String>,
    id: Option<String>,
}

#[derive(Serialize)]
struct State {
    id: Option<String>,
    service_name: Option<String>,
    service_type: Option<String>,
    owner: Option<String>,
    region: Option<String>,
    availability_zones: Vec<String>,
    availability_zone_ids: Vec<String>,
    base_endpoint_dns_names: Vec<String>,
    private_dns_name: Option<String>,
    private_dns_name_verification_state: Option<String>,
    acceptance_required: Option<bool>,
    manages_vpc_endpoints: Option<bool>,
    vpc_endpoint_policy_supported: Option<bool>,
    supported_ip_address_types: Vec<String>,
    tags: BTreeMap<String, String>,
}

#[async_trait]
impl DataSource<ProviderData> for EndpointServiceDataSource {
    fn type_name(&self) -> &'static str {
        "privatelink_endpoint_service"
    }

    fn schema(&self) -> Schema {
        let s = |name: &str, text: &str| Attribute::computed(name, Type::String).description(text);
        let b = |name: &str, text: &str| Attribute::computed(name, Type::Bool).description(text);
        let l = |name: &str, text: &str| {
            Attribute::computed(name, Type::list(Type::String)).description(text)
        };
        Schema::new(
            Block::new()
                .description("An endpoint service (yours or a partner's) as your account sees it, by service name or ID: its Availability Zones and their IDs, private DNS name, and whether connections need acceptance. A partner's private service is visible only once the partner allows your account.")
                .attribute(
                    Attribute::optional_computed("service_name", Type::String)
                        .description("The service name, e.g. `com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0`. Set this or `id`.")
                        .validate(endpoint_service_name()),
                )
                .attribute(
                    Attribute::optional_computed("id", Type::String)
                        .description("The service ID, `vpce-svc-...`. Set this or `service_name`.")
                        .validate(endpoint_service_id()),
                )
                .attribute(s("service_type", "`Interface`, `Gateway` or `GatewayLoadBalancer`. Where AWS lists a Gateway and an Interface service under one name (S3, DynamoDB), the Interface one."))
                .attribute(s("owner", "The AWS account that owns the service."))
                .attribute(s("region", "The Region the service is in."))
                .attribute(l("availability_zones", "Availability Zones the service is offered in (names as your account maps them)."))
                .attribute(l("availability_zone_ids", "Availability Zone IDs the service is offered in (the `use1-az1` form); your endpoint's subnets must be in these."))
                .attribute(l("base_endpoint_dns_names", "The service's DNS names."))
                .attribute(s("private_dns_name", "The private DNS name consumers' endpoints can resolve, e.g. `api.partner.com`."))
                .attribute(s("private_dns_name_verification_state", "Whether the provider verified the private DNS name's domain."))
                .attribute(b("acceptance_required", "Whether the provider must accept each endpoint connection."))
                .attribute(b("manages_vpc_endpoints", "Whether AWS manages the service's endpoints."))
                .attribute(b("vpc_endpoint_policy_supported", "Whether endpoints to the service take an endpoint policy."))
                .attribute(l("supported_ip_address_types", "IP address types the service accepts."))
                .attribute(Attribute::computed("tags", Type::map(Type::String)).description("The service's tags.")),
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let given = |n: &str| config.get(n).unwrap_or(&Value::Null).is_set();
        match (given("service_name"), given("id")) {
            (Some(true), Some(true)) => diags.error_at(
                AttributePath::attr("id"),
                "Conflicting arguments",
                "Set service_name or id, not both.",
            ),
            (Some(false), Some(false)) => diags.error_at(
                AttributePath::attr("service_name"),
                "Missing service",
                "Set service_name (as the partner gave it) or id.",
            ),
            _ => {}
        }
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, config: &Value) -> Result<Value, Diagnostics> {
        let cfg: Config = typed::from_value(config).map_err(|e| {
            Diagnostics::from(Diagnostic::error("Invalid configuration", e.to_string()))
        })?;
        let aws = ctx.data.aws().await?;
        let (attr, wanted) = match (&cfg.service_name, &cfg.id) {
            (Some(n), _) => ("service_name", n.clone()),
            (None, Some(id)) => ("id", id.clone()),
            (None, None) => {
                return Err(
                    Diagnostic::error("Missing service", "Set service_name or id.")
                        .at(AttributePath::attr("service_name"))
                        .into(),
                )
            }
        };
        let Some(d) = find(aws, attr, &wanted).await? else {
            let detail = crate::resources::service_not_visible(aws, &wanted);
            return Err(Diagnostic::error("Endpoint service not found", detail)
                .at(AttributePath::attr(attr))
                .into());
        };
        let state = State {
            id: d.service_id().map(str::to_string),
            service_name: d.service_name().map(str::to_string),
            service_type: d
                .service_type()
                .first()
                .and_then(|t| t.service_type())
                .map(|t| t.as_str().to_string()),
            owner: d.owner().map(str::to_string),
            region: Some(
                d.service_region()
                    .map(str::to_string)
                    .unwrap_or_else(|| aws.region.clone()),
            ),
            availability_zones: sorted(d.availability_zones().to_vec()),
            availability_zone_ids: zone_ids_of(aws, &d).await?,
            base_endpoint_dns_names: sorted(d.base_endpoint_dns_names().to_vec()),
            private_dns_name: d.private_dns_name().map(str::to_string),
            private_dns_name_verification_state: d
                .private_dns_name_verification_state()
                .map(|s| s.as_str().to_string()),
            acceptance_required: d.acceptance_required(),
            manages_vpc_endpoints: d.manages_vpc_endpoints(),
            vpc_endpoint_policy_supported: d.vpc_endpoint_policy_supported(),
            supported_ip_address_types: sorted(
                d.supported_ip_address_types()
                    .iter()
                    .map(|t| t.as_str().to_string())
                    .collect(),
            ),
            tags: tag_map(d.tags()),
        };
        typed::state_value(&state, self, || self.schema())
    }
}

/// The service by name, or by ID.
async fn find(
    aws: &AwsClients,
    attr: &str,
    wanted: &str,
) -> Result<Option<ServiceDetail>, Diagnostics> {
    // DescribeVpcEndpointServices has no service-id filter; an endpoint
    // service's name is its ID under the Region's prefix.
    let name = if attr == "service_name" {
        wanted.to_string()
    } else {
        format!("com.amazonaws.vpce.{}.{wanted}", aws.region)
    };
    let found = endpoint_service_detail(aws, &name).await?;
    Ok(found.filter(|d| {
        if attr == "service_name" {
            d.service_name() == Some(wanted)
        } else {
            d.service_id() == Some(wanted)
        }
    }))
}

/// AZ IDs straight from the service when AWS includes them, else mapped
/// from the zone names.
async fn zone_ids_of(aws: &AwsClients, d: &ServiceDetail) -> Result<Vec<String>, Diagnostics> {
    if !d.availability_zone_ids().is_empty() {
        return Ok(sorted(d.availability_zone_ids().to_vec()));
    }
    aws.zone_ids(d.availability_zones()).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(
            EndpointServiceDataSource.schema().lint(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn needs_exactly_one_of_name_and_id() {
        let check = |cfg: Value| {
            let mut d = Diagnostics::new();
            EndpointServiceDataSource.validate(&cfg, &mut d);
            d.iter()
                .map(|d| d.path.as_ref().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            check(Value::object([("id", Value::Null)])),
            vec!["service_name"]
        );
        assert_eq!(
            check(Value::object([
                ("id", Value::string("vpce-svc-1")),
                (
                    "service_name",
                    Value::string("com.amazonaws.vpce.us-east-1.vpce-svc-1")
                ),
            ])),
            vec!["id"]
        );
        assert!(check(Value::object([("id", Value::string("vpce-svc-1"))])).is_empty());
        // Unknown until apply, either may still be null: no verdict yet.
        assert!(check(Value::object([
            ("id", Value::Unknown),
            (
                "service_name",
                Value::string("com.amazonaws.vpce.us-east-1.vpce-svc-1")
            ),
        ]))
        .is_empty());
        assert!(check(Value::object([
            ("id", Value::Unknown),
            ("service_name", Value::Null)
        ]))
        .is_empty());
    }
}
