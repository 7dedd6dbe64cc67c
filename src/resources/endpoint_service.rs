//! Resource `privatelink_endpoint_service`: a VPC endpoint service on your
//! Network Load Balancers that a vendor may connect to.
//!
//! It owns the whole list of allowed principals, waits until the service is
//! Available, changes only what changed on update, and computes the facts a
//! vendor's runbook asks you to send (`vendor_handoff`: service name, AZ IDs,
//! region). Destroy refuses while endpoints are connected, naming them,
//! unless `force_destroy` rejects them first.

use super::{
    any_of, aws_error, claim, create_with_tokens, deleted_here, diff, ec2_tags,
    held_by_the_replacement, invalid_state, is_claimed, no_id, plan_tags_all, read_tags, sorted,
    tag_map, tags_all_attribute, unsuccessful, update_tags, wait_error, whole_or_each, Answer,
    Created, Seen, Unlisted, FILTER_VALUES, LISTED_WITHIN,
};
use crate::framework::operation::Operation;
use crate::framework::plan::PlanContext;
use crate::framework::resource::{ApplyResult, Ctx, ReadResult, Resource};
use crate::framework::timeouts::{self, Timeouts};
use crate::framework::validators::{each, one_of, pattern, NotEmpty, Pattern};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::aws::AwsClients;
use crate::provider::aws::{error_code, error_text};
use crate::provider::permissions::Permissions;
use crate::provider::shapes::{aws_region, aws_tags, dns_name, network_load_balancer_arn};
use crate::provider::ProviderData;
use async_trait::async_trait;
use aws_sdk_ec2::types::{ResourceType, ServiceConfiguration, TagSpecification};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

/// The AWS actions each operation may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[
    (
        Operation::Read,
        &[
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeVpcEndpointServiceConfigurations",
            "ec2:DescribeVpcEndpointServicePermissions",
        ],
    ),
    // vpce:AllowMultiRegion is permission-only: AWS checks it when
    // supported_regions names another Region.
    (
        Operation::Create,
        &[
            "ec2:CreateTags",
            "ec2:CreateVpcEndpointServiceConfiguration",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeVpcEndpointServiceConfigurations",
            "ec2:DescribeVpcEndpointServicePermissions",
            "ec2:ModifyVpcEndpointServicePermissions",
            "vpce:AllowMultiRegion",
        ],
    ),
    (
        Operation::Update,
        &[
            "ec2:CreateTags",
            "ec2:DeleteTags",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeVpcEndpointServiceConfigurations",
            "ec2:DescribeVpcEndpointServicePermissions",
            "ec2:ModifyVpcEndpointServiceConfiguration",
            "ec2:ModifyVpcEndpointServicePermissions",
            "vpce:AllowMultiRegion",
        ],
    ),
    (
        Operation::Delete,
        &[
            "ec2:DeleteVpcEndpointServiceConfigurations",
            "ec2:DescribeVpcEndpointConnections",
            "ec2:DescribeVpcEndpointServiceConfigurations",
            "ec2:RejectVpcEndpointConnections",
        ],
    ),
    (
        Operation::Import,
        &[
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeVpcEndpointServiceConfigurations",
            "ec2:DescribeVpcEndpointServicePermissions",
        ],
    ),
];

pub struct EndpointService;

const CREATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PrivateDnsConfiguration {
    pub name: Option<String>,
    pub state: Option<String>,
    pub r#type: Option<String>,
    pub value: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Handoff {
    pub service_name: Option<String>,
    /// None in a plan that moves the service to other load balancers.
    pub availability_zone_ids: Option<Vec<String>>,
    pub region: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    id: Option<String>,
    network_load_balancer_arns: Vec<String>,
    acceptance_required: Option<bool>,
    allowed_principals: Option<Vec<String>>,
    allow_all_principals: Option<bool>,
    private_dns_name: Option<String>,
    supported_ip_address_types: Option<Vec<String>>,
    supported_regions: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
    tags_all: Option<BTreeMap<String, String>>,
    force_destroy: Option<bool>,
    timeouts: Option<Timeouts>,
    service_name: Option<String>,
    service_type: Option<String>,
    state: Option<String>,
    availability_zones: Option<Vec<String>>,
    availability_zone_ids: Option<Vec<String>>,
    base_endpoint_dns_names: Option<Vec<String>>,
    private_dns_name_configuration: Option<PrivateDnsConfiguration>,
    manages_vpc_endpoints: Option<bool>,
    vendor_handoff: Option<Handoff>,
}

fn handoff_type() -> Type {
    Type::object([
        ("service_name", Type::String),
        ("availability_zone_ids", Type::list(Type::String)),
        ("region", Type::String),
    ])
}

/// An allowed principal: an IAM ARN without a path (AWS refuses those), or
/// `*` (checked separately against `allow_all_principals`).
fn principal() -> Pattern {
    pattern(
        r"^(\*|arn:aws[a-z-]*:iam::[0-9]{12}:(root|(role|user)/[A-Za-z0-9_+=,.@-]+))$",
        "an IAM principal ARN: `arn:aws:iam::`, a 12-digit account ID, then `:root`, `:role/NAME` or `:user/NAME` with no path, such as `arn:aws:iam::185497759670:role/cdktf-operator` or `arn:aws:iam::123456789012:root`",
    )
}

/// `*` as a principal only with `allow_all_principals = true`, which alone
/// allows nothing (`warn_unused_flag`: a warning says so, once, at
/// validate). An `allow_all_principals` not known yet (a module variable,
/// say) is judged when it is.
fn wildcard_principals(config: &Value, warn_unused_flag: bool, diags: &mut Diagnostics) {
    let allow_all = config.get("allow_all_principals").unwrap_or(&Value::Null);
    if allow_all.is_unknown() {
        return;
    }
    if allow_all.as_bool() == Some(true) {
        let principals = config.get("allowed_principals").unwrap_or(&Value::Null);
        let no_wildcard = principals.is_fully_known()
            && !principals
                .elements()
                .unwrap_or_default()
                .iter()
                .any(|p| p.as_str() == Some("*"));
        if no_wildcard && warn_unused_flag {
            diags.push(
                Diagnostic::warning(
                    "allow_all_principals allows nothing by itself",
                    "allow_all_principals = true only lets `*` stand in allowed_principals, and allowed_principals has no `*`: only the principals listed there may connect. Remove allow_all_principals, or add \"*\" to allowed_principals if every AWS account is meant to.",
                )
                .at(AttributePath::attr("allow_all_principals")),
            );
        }
        return;
    }
    if let Some(principals) = config.get("allowed_principals") {
        let in_set = matches!(principals, Value::Set(_));
        for (i, p) in principals.elements().unwrap_or_default().iter().enumerate() {
            if p.as_str() == Some("*") {
                diags.error_at(
                    AttributePath::attr("allowed_principals").then_element(in_set, i),
                    "Wildcard principal",
                    "`*` lets every AWS account discover and connect to the service. Set allow_all_principals = true if that is intended, or list the vendor's principal instead.",
                );
            }
        }
    }
}

/// The code of AWS's refusal to delete a service that still has an
/// available or pending connection.
const STILL_CONNECTED: &str = "ExistingVpcEndpointConnections";

#[async_trait]
impl Resource<ProviderData> for EndpointService {
    fn type_name(&self) -> &'static str {
        "privatelink_endpoint_service"
    }

    fn schema(&self) -> Schema {
        let computed_set = |name: &str, text: &str| {
            Attribute::computed(name, Type::set(Type::String))
                .description(text)
                .use_state_for_unknown()
        };
        Schema::new(
            Block::new()
                .description("A VPC endpoint service (AWS PrivateLink) on your Network Load Balancers, with the vendor as allowed principal. `vendor_handoff` holds what the vendor's runbook asks you to send: the service name, the AZ IDs of the load balancer and the region.")
                .attribute(Attribute::computed("id", Type::String).description("The service ID, `vpce-svc-...`.").use_state_for_unknown())
                .attribute(
                    Attribute::required("network_load_balancer_arns", Type::set(Type::String))
                        .description("ARNs of the Network Load Balancers behind the service.")
                        .validate(NotEmpty)
                        .validate(each(network_load_balancer_arn())),
                )
                .attribute(
                    Attribute::optional("acceptance_required", Type::Bool)
                        .description("Whether each endpoint connection must be accepted (see `privatelink_endpoint_connection_accepter`).")
                        .default(Value::Bool(true)),
                )
                .attribute(
                    Attribute::optional("allowed_principals", Type::set(Type::String))
                        .description("Principals allowed to discover and connect to the service, e.g. `data.privatelink_vendor.sigma.principal_arn`. This resource owns the whole list: principals added elsewhere are removed. ARNs with a path are refused, as AWS does; `*` needs `allow_all_principals`.")
                        .validate(each(principal())),
                )
                .attribute(
                    Attribute::optional("allow_all_principals", Type::Bool)
                        .description("Must be true for `*` (any AWS account) to be accepted in `allowed_principals`; by itself it allows no one (validate warns when `allowed_principals` has no `*`).")
                        .default(Value::Bool(false)),
                )
                .attribute(Attribute::optional("private_dns_name", Type::String).description("A private DNS name consumers' endpoints resolve to the service; AWS asks you to verify the domain with the TXT record in `private_dns_name_configuration`.").validate(dns_name()))
                .attribute(
                    Attribute::optional_computed("supported_ip_address_types", Type::set(Type::String))
                        .description("IP address types the service accepts: `ipv4`, `ipv6`. Defaults to what AWS sets (`ipv4`); left out, the types the service has are kept.")
                        .use_state_for_unknown()
                        .validate(each(one_of(["ipv4", "ipv6"]))),
                )
                .attribute(
                    Attribute::optional("supported_regions", Type::set(Type::String))
                        .description("Other Regions whose consumers may connect to the service (cross-Region PrivateLink). The service's own Region is always supported and need not be listed.")
                        .validate(each(aws_region())),
                )
                .attribute(Attribute::optional("tags", Type::map(Type::String)).description("Tags for the service. The provider also tags a service it creates `privatelink:claimed` (left out of this map), so that a later create with equal arguments never takes it for its own: at most 49 here.").validate(aws_tags(1)))
                .attribute(tags_all_attribute())
                .attribute(
                    Attribute::optional("force_destroy", Type::Bool)
                        .description("On destroy, reject every connected endpoint first instead of failing while endpoints are connected.")
                        .default(Value::Bool(false))
                        .provider_only(),
                )
                .attribute(Attribute::computed("service_name", Type::String).description("The service name consumers connect to, `com.amazonaws.vpce.<region>.vpce-svc-...`.").use_state_for_unknown())
                .attribute(Attribute::computed("service_type", Type::String).description("`Interface`.").use_state_for_unknown())
                .attribute(Attribute::computed("state", Type::String).description("The service state, e.g. `Available`.").use_state_for_unknown())
                .attribute(computed_set("availability_zones", "Availability Zones of the load balancers."))
                .attribute(computed_set("availability_zone_ids", "Availability Zone IDs of the load balancers (the `use1-az1` form vendors ask for)."))
                .attribute(computed_set("base_endpoint_dns_names", "DNS names of the service."))
                .attribute(
                    Attribute::computed(
                        "private_dns_name_configuration",
                        Type::object([
                            ("name", Type::String),
                            ("state", Type::String),
                            ("type", Type::String),
                            ("value", Type::String),
                        ]),
                    )
                    .description("The TXT record to publish to verify the private DNS name's domain."),
                )
                .attribute(Attribute::computed("manages_vpc_endpoints", Type::Bool).description("Whether AWS manages the service's endpoints.").use_state_for_unknown())
                .attribute(
                    Attribute::computed("vendor_handoff", handoff_type())
                        .description("What to send the vendor, ready to paste: `service_name`, `availability_zone_ids`, `region`."),
                )
                .block(timeouts::block(CREATE_TIMEOUT, Some(UPDATE_TIMEOUT), DELETE_TIMEOUT)),
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        wildcard_principals(config, true, diags);
    }

    async fn modify_plan(&self, ctx: Option<&Ctx<ProviderData>>, plan: &mut PlanContext) {
        // Again now that the values validate could not see may be known.
        wildcard_principals(&plan.config, false, &mut plan.diagnostics);
        if plan.planned.is_null() {
            return;
        }
        plan_tags_all(ctx, plan, || self.schema(), |_| aws_tags(1));
        if plan.is_create() || plan.changed("network_load_balancer_arns") {
            if let Some(home) = ctx.and_then(|c| c.data.config.region.as_deref()) {
                load_balancers_elsewhere(plan, home);
            }
        }
        if !plan.is_create() {
            // The zones are the load balancers'; the TXT record is the
            // private DNS name's. Other updates leave them as they are.
            if plan.changed("network_load_balancer_arns") {
                plan.set_unknown("availability_zones");
                plan.set_unknown("availability_zone_ids");
            }
            if !plan.changed("private_dns_name") {
                if let Some(prior) = plan.prior.get("private_dns_name_configuration").cloned() {
                    plan.set("private_dns_name_configuration", prior);
                }
            }
            if let Some(home) = ctx.and_then(|c| c.data.config.region.as_deref()) {
                keep_regions_differing_only_by_home(plan, home);
            }
        }
        // The hand-off changes only when what it is made of changes.
        let inputs_changed = plan.is_create()
            || plan.changed("network_load_balancer_arns")
            || plan
                .planned
                .get("availability_zone_ids")
                .is_some_and(Value::is_unknown);
        if let Some(Value::Object(mut prior)) = plan.prior.get("vendor_handoff").cloned() {
            if inputs_changed {
                // Only the zones follow the load balancers: the service
                // name and region the vendor holds stay as they are.
                prior.insert("availability_zone_ids".to_string(), Value::Unknown);
            }
            plan.set("vendor_handoff", Value::Object(prior));
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let aws = match ctx.data.aws().await {
            Ok(a) => a,
            Err(d) => return ApplyResult::failed(None, d),
        };
        let plan: State = match typed::from_value(planned) {
            Ok(s) => s,
            Err(e) => {
                return ApplyResult::failed(None, Diagnostic::error("Invalid plan", e.to_string()))
            }
        };
        let id = match create_service(aws, ctx, &plan, planned).await {
            Ok(id) => id,
            Err(d) => return ApplyResult::failed(None, d),
        };
        // From here on the service exists: every failure keeps it in state.
        let mut state = State {
            id: Some(id.clone()),
            ..plan.clone()
        };
        let partial = |state: &State, d: Diagnostics| {
            let v = typed::state_value(state, self, || self.schema()).ok();
            ApplyResult::failed(v, d)
        };
        let timeout = Timeouts::get(&plan.timeouts, "create", CREATE_TIMEOUT);
        // The configuration as the wait last saw it is the one to store:
        // setting principals changes nothing in it.
        let available = match wait_available(aws, ctx, &id, timeout).await {
            Ok(c) => c,
            Err(d) => return partial(&state, d),
        };
        let wanted = plan.allowed_principals.clone().unwrap_or_default();
        if let Err(d) = set_principals(aws, &id, &[], &wanted).await {
            return partial(&state, d);
        }
        // A service just created allows exactly the principals just added.
        let added = Some(sorted(wanted));
        match from_configuration(aws, &id, available, &plan, added).await {
            Ok(s) => state = s,
            Err(d) => return partial(&state, d),
        }
        claim(&aws.ec2, &id).await;
        to_result(&state, self)
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
    ) -> Result<ReadResult, Diagnostics> {
        let aws = ctx.data.aws().await?;
        let prior: State = typed::from_value(state).map_err(invalid_state)?;
        let Some(id) = prior.id.clone() else {
            return Ok(None.into());
        };
        let found = read(aws, &id, &prior).await?;
        Ok(found.map(|s| to_value(&s, self)).transpose()?.into())
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let result: Result<State, Diagnostics> = async {
            let aws = ctx.data.aws().await?;
            let old: State = typed::from_value(prior).map_err(invalid_state)?;
            let new: State = typed::from_value(planned).map_err(invalid_state)?;
            let id = old.id.clone().unwrap_or_default();
            let (add_nlb, remove_nlb) = diff(
                &old.network_load_balancer_arns,
                &new.network_load_balancer_arns,
            );
            let (add_ip, remove_ip) = diff(
                &old.supported_ip_address_types.clone().unwrap_or_default(),
                &new.supported_ip_address_types.clone().unwrap_or_default(),
            );
            let (add_region, remove_region) = diff(
                &remote_regions(&old.supported_regions, &aws.region).unwrap_or_default(),
                &remote_regions(&new.supported_regions, &aws.region).unwrap_or_default(),
            );
            let regions_changed = !add_region.is_empty() || !remove_region.is_empty();
            let dns_changed = old.private_dns_name != new.private_dns_name;
            let acceptance_changed = old.acceptance_required != new.acceptance_required;
            let ip_changed = new.supported_ip_address_types.is_some()
                && (!add_ip.is_empty() || !remove_ip.is_empty());
            if !add_nlb.is_empty()
                || !remove_nlb.is_empty()
                || dns_changed
                || acceptance_changed
                || ip_changed
                || regions_changed
            {
                let mut req = aws
                    .ec2
                    .modify_vpc_endpoint_service_configuration()
                    .service_id(&id)
                    .set_add_network_load_balancer_arns((!add_nlb.is_empty()).then_some(add_nlb))
                    .set_remove_network_load_balancer_arns(
                        (!remove_nlb.is_empty()).then_some(remove_nlb),
                    );
                if acceptance_changed {
                    req = req.acceptance_required(new.acceptance_required.unwrap_or(true));
                }
                if dns_changed {
                    req = match &new.private_dns_name {
                        Some(name) => req.private_dns_name(name),
                        None => req.remove_private_dns_name(true),
                    };
                }
                if regions_changed {
                    req = req
                        .set_add_supported_regions((!add_region.is_empty()).then_some(add_region))
                        .set_remove_supported_regions(
                            (!remove_region.is_empty()).then_some(remove_region),
                        );
                }
                if ip_changed {
                    req = req
                        .set_add_supported_ip_address_types((!add_ip.is_empty()).then_some(add_ip))
                        .set_remove_supported_ip_address_types(
                            (!remove_ip.is_empty()).then_some(remove_ip),
                        );
                }
                req.send().await.map_err(|e| {
                    service_error(
                        "modify the VPC endpoint service",
                        &e,
                        &new.network_load_balancer_arns,
                        &aws.region,
                    )
                })?;
                wait_available(
                    aws,
                    ctx,
                    &id,
                    Timeouts::get(&new.timeouts, "update", UPDATE_TIMEOUT),
                )
                .await?;
            }
            set_principals(
                aws,
                &id,
                &old.allowed_principals.clone().unwrap_or_default(),
                &new.allowed_principals.clone().unwrap_or_default(),
            )
            .await?;
            update_tags(
                aws,
                &id,
                old.tags_all.as_ref().or(old.tags.as_ref()),
                new.tags_all.as_ref(),
            )
            .await?;
            read(aws, &id, &new).await?.ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "The VPC endpoint service disappeared",
                    format!("{id} is no longer found."),
                ))
            })
        }
        .await;
        match result {
            Ok(s) => to_result(&s, self),
            // Nothing is lost on failure: the next plan reads what AWS has.
            Err(d) => ApplyResult::failed(None, d),
        }
    }

    async fn delete(&self, ctx: &Ctx<ProviderData>, prior: &Value) -> Result<(), Diagnostics> {
        let aws = ctx.data.aws().await?;
        let state: State = typed::from_value(prior).map_err(invalid_state)?;
        let Some(id) = state.id.clone() else {
            return Ok(());
        };
        if held_by_the_replacement(&id) {
            return Ok(());
        }
        let connected = connected_endpoints(aws, &id).await?;
        let force = state.force_destroy == Some(true);
        let reject = |ids: Vec<String>| async {
            let out = aws
                .ec2
                .reject_vpc_endpoint_connections()
                .service_id(&id)
                .set_vpc_endpoint_ids(Some(ids))
                .send()
                .await
                .map_err(|e| aws_error("reject the connected endpoints", &e))?;
            // A rejection AWS refused would otherwise surface as a vaguer
            // failure of the delete below.
            unsuccessful("reject the connected endpoints", out.unsuccessful(), |_| {
                false
            })
        };
        if !connected.is_empty() {
            if !force {
                let list: Vec<String> = connected
                    .iter()
                    .map(|(e, owner, st)| format!("{e} (account {owner}, {st})"))
                    .collect();
                return Err(Diagnostic::error(
                    "Endpoints are still connected",
                    format!(
                        "{id} has connected endpoints: {}. Ask their owners to delete them, or set force_destroy = true to reject them and delete the service.",
                        list.join(", ")
                    ),
                )
                .into());
            }
            reject(connected.into_iter().map(|(e, _, _)| e).collect()).await?;
        }
        let timeout = Timeouts::get(&state.timeouts, "delete", DELETE_TIMEOUT);
        let deadline = std::time::Instant::now() + timeout;
        // AWS deletes no service with an available or pending connection.
        // With force_destroy, one that connected since the check is
        // rejected too, and right after a rejection AWS may still count the
        // connection for a moment, which is waited out. Without it, an
        // endpoint connected since the check: an error.
        let deleted = timeouts::poll(
            timeout,
            Duration::from_millis(500),
            ctx.stopped(),
            || async {
                let out = aws
                    .ec2
                    .delete_vpc_endpoint_service_configurations()
                    .service_ids(&id)
                    .send()
                    .await;
                match out {
                    Ok(o) => {
                        let still_connected = o
                            .unsuccessful()
                            .iter()
                            .any(|i| i.error().and_then(|e| e.code()) == Some(STILL_CONNECTED));
                        if force && still_connected {
                            let newcomers = connected_endpoints(aws, &id).await?;
                            if !newcomers.is_empty() {
                                reject(newcomers.into_iter().map(|(e, _, _)| e).collect())
                                    .await?;
                            }
                            return Ok(Err("still counted as connected".to_string()));
                        }
                        if still_connected {
                            return Err(Diagnostics::from(Diagnostic::error(
                                "Endpoints are still connected",
                                format!("An endpoint connected to {id} since the check before deleting it. Ask its owner to delete it, or set force_destroy = true to reject it and delete the service."),
                            )));
                        }
                        unsuccessful(
                            "delete the VPC endpoint service",
                            o.unsuccessful(),
                            |code| code.contains("NotFound"),
                        )?;
                        deleted_here(&id);
                        Ok(Ok(true))
                    }
                    Err(e)
                        if crate::provider::aws::error_code(&e)
                            .is_some_and(|c| c.contains("NotFound")) =>
                    {
                        Ok(Ok(false))
                    }
                    Err(e) => Err(aws_error("delete the VPC endpoint service", &e)),
                }
            },
        )
        .await
        .map_err(|e| wait_error(&format!("{id}'s rejected connections to be let go"), e))?;
        if !deleted {
            return Ok(());
        }
        timeouts::poll(
            deadline.saturating_duration_since(std::time::Instant::now()),
            Duration::from_millis(200),
            ctx.stopped(),
            || async {
                match describe(aws, &id).await? {
                    None => Ok(Ok(())),
                    Some(c) => Ok(Err(c
                        .service_state()
                        .map(|s| s.as_str().to_string())
                        .unwrap_or_default())),
                }
            },
        )
        .await
        .map_err(|e| wait_error(&format!("{id} to be deleted"), e))
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if !id.starts_with("vpce-svc-") {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not a VPC endpoint service ID (`vpce-svc-...`)."),
            )
            .into());
        }
        let aws = ctx.data.aws().await?;
        let defaults = State {
            id: Some(id.to_string()),
            allow_all_principals: Some(false),
            ..State::default()
        };
        match read(aws, id, &defaults).await? {
            Some(s) => to_value(&s, self),
            None => Err(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("No VPC endpoint service {id} exists in {}.", aws.region),
            )
            .into()),
        }
    }
}

fn to_value(s: &State, r: &EndpointService) -> Result<Value, Diagnostics> {
    typed::state_value(s, r, || r.schema())
}

fn to_result(s: &State, r: &EndpointService) -> ApplyResult {
    to_value(s, r).into()
}

/// The home Region is implied, so listing it or not is the same service.
/// State holds it only when the configuration did (an import cannot know,
/// and leaves it out): a plan that differs from state only by it keeps
/// state's set, as Terraform allows for a configured value.
fn keep_regions_differing_only_by_home(plan: &mut PlanContext, home: &str) {
    let regions = |v: Option<&Value>| -> Option<std::collections::BTreeSet<String>> {
        let v = v?;
        if !v.is_fully_known() {
            return None;
        }
        v.elements()?
            .iter()
            .map(|r| r.as_str().map(str::to_string))
            .collect()
    };
    let (Some(planned), Some(prior)) = (
        regions(plan.planned.get("supported_regions")),
        regions(plan.prior.get("supported_regions")),
    ) else {
        return;
    };
    if planned != prior && planned.contains(home) && !prior.contains(home) {
        let mut with_home = prior;
        with_home.insert(home.to_string());
        if with_home == planned {
            if let Some(p) = plan.prior.get("supported_regions").cloned() {
                plan.set("supported_regions", p);
            }
        }
    }
}

/// An endpoint service takes load balancers of its own Region only: one
/// from another Region fails a new service's plan on
/// `network_load_balancer_arns`, and is warned of for one that exists (an
/// error would stop destroying it too).
fn load_balancers_elsewhere(plan: &mut PlanContext, home: &str) {
    let Some(Value::Set(arns)) = plan.planned.get("network_load_balancer_arns") else {
        return;
    };
    let elsewhere: Vec<(String, String)> = arns
        .iter()
        .filter_map(Value::as_str)
        .filter_map(|arn| {
            let region = arn.split(':').nth(3)?;
            (region != home).then(|| (arn.to_string(), region.to_string()))
        })
        .collect();
    for (arn, region) in elsewhere {
        let d = Diagnostic::error(
            "Load balancer in another Region",
            format!("{arn} is in {region}, but this provider makes the service in {home}, and an endpoint service takes load balancers of its own Region only. Use a provider configured for {region} (an alias), or a load balancer in {home}."),
        )
        .at(AttributePath::attr("network_load_balancer_arns"));
        plan.diagnostics.push(if plan.is_create() {
            d
        } else {
            d.as_warning("Applying this change fails.")
        });
    }
}

/// AWS's refusal of a create or modify; one about a load balancer names the
/// ARNs and points at `network_load_balancer_arns`.
fn service_error<E, R>(
    doing: &str,
    e: &aws_sdk_ec2::error::SdkError<E, R>,
    arns: &[String],
    region: &str,
) -> Diagnostics
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if !about_load_balancers(e) {
        return aws_error(doing, e);
    }
    Diagnostic::error(
        format!("Failed to {doing}"),
        format!(
            "{} Check each of network_load_balancer_arns ({}): it must be a Network Load Balancer that exists in {region} of this account and backs no other endpoint service (AWS lets a load balancer back one at a time; to let another vendor in through it, add the vendor's principal to that service's allowed_principals). If that service is the one this resource replaces under create_before_destroy, it holds the load balancer until it is destroyed, after this create: make this change without create_before_destroy. If an apply of this configuration made that service and was interrupted before recording it, and the arguments have changed since, import it: terraform import <address> <its vpce-svc- ID>.",
            error_text(e),
            sorted(arns.to_vec()).join(", "),
        ),
    )
    .at(AttributePath::attr("network_load_balancer_arns"))
    .into()
}

/// Whether AWS refused because of a load balancer: missing, of another
/// kind, or backing another service already.
fn about_load_balancers<E, R>(e: &aws_sdk_ec2::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    // moto's code; EC2 documents none for this, so its message too.
    error_code(e).is_some_and(|c| c.starts_with("LoadBalancer"))
        || error_text(e).to_lowercase().contains("load balancer")
}

/// Creates the service with the plan's ClientTokens (`client_token`): a
/// re-run apply gets the service its lost answer made, and a token spent on
/// a service since deleted moves on to the next.
async fn create_service(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    plan: &State,
    planned: &Value,
) -> Result<String, Diagnostics> {
    const WHAT: &str = "VPC endpoint service";
    let create = |token: String| async move {
        let mut req = aws
            .ec2
            .create_vpc_endpoint_service_configuration()
            .set_network_load_balancer_arns(Some(sorted(plan.network_load_balancer_arns.clone())))
            .acceptance_required(plan.acceptance_required.unwrap_or(true))
            .set_private_dns_name(plan.private_dns_name.clone())
            .set_supported_ip_address_types(plan.supported_ip_address_types.clone())
            .set_supported_regions(remote_regions(&plan.supported_regions, &aws.region))
            .client_token(token);
        if let Some(tags) = plan.tags_all.as_ref().filter(|t| !t.is_empty()) {
            req = req.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::VpcEndpointService)
                    .set_tags(Some(ec2_tags(tags)))
                    .build(),
            );
        }
        match req.send().await {
            // The answer carries no creation time: a new service not listed
            // yet cannot be told from a deleted one by it (see PassOver).
            Ok(out) => match out.service_configuration.and_then(|c| c.service_id) {
                Some(id) => Ok(Answer::Made(Created {
                    id,
                    made_now: false,
                    made_before: None,
                })),
                None => Err(no_id(WHAT)),
            },
            Err(e) if error_code(&e) == Some("IdempotentParameterMismatch") => Ok(Answer::Spent),
            Err(e) => {
                let refusal = service_error(
                    "create the VPC endpoint service",
                    &e,
                    &plan.network_load_balancer_arns,
                    &aws.region,
                );
                // A load balancer may be held by a service an earlier
                // token made that is not listed yet.
                if about_load_balancers(&e) {
                    Ok(Answer::Held(refusal))
                } else {
                    Err(refusal)
                }
            }
        }
    };
    let look = |id: String| async move {
        Ok(match configuration(aws, &id).await? {
            Some(c) if is_deleted(&c) => Seen::Deleted,
            Some(c) if is_claimed(c.tags()) => Seen::Claimed,
            Some(_) => Seen::Live,
            None => Seen::NotFound,
        })
    };
    // A load balancer backs one service at a time, so a service passed over
    // while it is live but not listed yet refuses the next create (Held)
    // rather than getting a twin: a token spent on a deleted service costs
    // no wait.
    create_with_tokens(
        &EndpointService.schema().block.remote_part(planned),
        WHAT,
        create,
        look,
        LISTED_WITHIN,
        Unlisted::PassOver,
        ctx.stopped(),
    )
    .await
}

/// The regions to send AWS: the home Region is implied.
fn remote_regions(regions: &Option<Vec<String>>, home: &str) -> Option<Vec<String>> {
    let r: Vec<String> = regions
        .iter()
        .flatten()
        .filter(|r| *r != home)
        .cloned()
        .collect();
    (!r.is_empty()).then(|| sorted(r))
}

/// The service's configuration, unless it is deleted (or not this
/// account's).
pub(crate) async fn describe(
    aws: &AwsClients,
    id: &str,
) -> Result<Option<ServiceConfiguration>, Diagnostics> {
    Ok(configuration(aws, id).await?.filter(|c| !is_deleted(c)))
}

/// The service's configuration as AWS lists it, deleted ones included.
/// Services read or waited on together share one call.
async fn configuration(
    aws: &AwsClients,
    id: &str,
) -> Result<Option<ServiceConfiguration>, Diagnostics> {
    let found = aws
        .coalesced("ec2:DescribeVpcEndpointServiceConfigurations")
        .get(id.to_string(), |ids| {
            // Asked by ID, one missing fails the whole call.
            whole_or_each(
                ids,
                |ids| async move { configurations_by_id(aws, &ids).await },
            )
        })
        .await?;
    Ok(found.get(id).cloned())
}

fn is_deleted(c: &ServiceConfiguration) -> bool {
    c.service_state().map(|s| s.as_str()) == Some("Deleted")
}

/// One DescribeVpcEndpointServiceConfigurations by ID; None when AWS
/// answers that one of them is not found.
async fn configurations_by_id(
    aws: &AwsClients,
    ids: &[String],
) -> Result<Option<HashMap<String, ServiceConfiguration>>, Diagnostics> {
    match aws
        .ec2
        .describe_vpc_endpoint_service_configurations()
        .set_service_ids(Some(ids.to_vec()))
        .send()
        .await
    {
        Ok(o) => Ok(Some(
            o.service_configurations
                .unwrap_or_default()
                .into_iter()
                .filter_map(|c| Some((c.service_id()?.to_string(), c)))
                .filter(|(id, _)| ids.contains(id))
                .collect(),
        )),
        Err(e) if crate::provider::aws::error_code(&e).is_some_and(|c| c.contains("NotFound")) => {
            Ok(None)
        }
        Err(e) => Err(aws_error("read the VPC endpoint service", &e)),
    }
}

/// Waits until the service is Available; returns its configuration then.
async fn wait_available(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    id: &str,
    timeout: Duration,
) -> Result<aws_sdk_ec2::types::ServiceConfiguration, Diagnostics> {
    timeouts::poll(
        timeout,
        Duration::from_millis(200),
        ctx.stopped(),
        || async {
            let Some(c) = describe(aws, id).await? else {
                return Ok(Err("not found".to_string()));
            };
            let state = c.service_state().map(|s| s.as_str().to_string());
            match state.as_deref() {
                Some("Available") => Ok(Ok(c)),
                Some("Failed") => Err(Diagnostic::error(
                    "The VPC endpoint service failed",
                    format!("{id} entered state Failed."),
                )
                .into()),
                other => Ok(Err(other.unwrap_or("unknown").to_string())),
            }
        },
    )
    .await
    .map_err(|e| wait_error(&format!("{id} to become Available"), e))
}

/// Adds and removes only the principals that differ: a vendor's access never
/// drops for a moment because an unrelated principal changed.
async fn set_principals(
    aws: &AwsClients,
    id: &str,
    old: &[String],
    new: &[String],
) -> Result<(), Diagnostics> {
    let (add, remove) = diff(old, new);
    if add.is_empty() && remove.is_empty() {
        return Ok(());
    }
    aws.ec2
        .modify_vpc_endpoint_service_permissions()
        .service_id(id)
        .set_add_allowed_principals((!add.is_empty()).then_some(add))
        .set_remove_allowed_principals((!remove.is_empty()).then_some(remove))
        .send()
        .await
        .map_err(|e| aws_error("set the allowed principals", &e))?;
    Ok(())
}

/// Endpoints connected to the service that block its deletion: (endpoint,
/// owner, state). Services deleted together share one call.
async fn connected_endpoints(
    aws: &AwsClients,
    id: &str,
) -> Result<Vec<(String, String, String)>, Diagnostics> {
    let found = aws
        .coalesced("ec2:DescribeVpcEndpointConnections/service")
        .get(id.to_string(), |ids| connections_of(aws, ids))
        .await?;
    Ok(found.get(id).cloned().unwrap_or_default())
}

type Connected = HashMap<String, Vec<(String, String, String)>>;

async fn connections_of(aws: &AwsClients, ids: Vec<String>) -> Result<Connected, Diagnostics> {
    let mut out = Connected::new();
    for chunk in ids.chunks(FILTER_VALUES) {
        out.extend(connections_of_chunk(aws, chunk).await?);
    }
    Ok(out)
}

async fn connections_of_chunk(aws: &AwsClients, ids: &[String]) -> Result<Connected, Diagnostics> {
    let mut out = Connected::new();
    let mut token = None;
    loop {
        let page = aws
            .ec2
            .describe_vpc_endpoint_connections()
            .filters(any_of("service-id", ids))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("list the service's endpoint connections", &e))?;
        for c in page.vpc_endpoint_connections() {
            let state = c
                .vpc_endpoint_state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default();
            if matches!(
                state.as_str(),
                "rejected" | "deleted" | "deleting" | "failed" | "expired"
            ) {
                continue;
            }
            out.entry(c.service_id().unwrap_or_default().to_string())
                .or_default()
                .push((
                    c.vpc_endpoint_id().unwrap_or_default().to_string(),
                    c.vpc_endpoint_owner().unwrap_or_default().to_string(),
                    state,
                ));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(out);
        }
    }
}

/// Reads the service as it is, keeping the settings AWS does not store
/// (force_destroy, allow_all_principals, timeouts) from `prior`. One call
/// for the configuration, one for the permissions, and one for AZ IDs only
/// when AWS leaves them out.
async fn read(aws: &AwsClients, id: &str, prior: &State) -> Result<Option<State>, Diagnostics> {
    let Some(c) = describe(aws, id).await? else {
        return Ok(None);
    };
    from_configuration(aws, id, c, prior, None).await.map(Some)
}

/// The state of the service whose configuration `c` is: its permissions
/// read (unless `known_principals`, those the caller just set on a new
/// service), its AZ IDs looked up when AWS leaves them out.
async fn from_configuration(
    aws: &AwsClients,
    id: &str,
    c: aws_sdk_ec2::types::ServiceConfiguration,
    prior: &State,
    known_principals: Option<Vec<String>>,
) -> Result<State, Diagnostics> {
    let principals = match known_principals {
        Some(p) => p,
        None => {
            let mut principals = Vec::new();
            let mut pages = aws
                .ec2
                .describe_vpc_endpoint_service_permissions()
                .service_id(id)
                .into_paginator()
                .send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| aws_error("read the allowed principals", &e))?;
                principals.extend(
                    page.allowed_principals()
                        .iter()
                        .filter_map(|p| p.principal().map(str::to_string)),
                );
            }
            sorted(principals)
        }
    };
    let azs = sorted(c.availability_zones().to_vec());
    let mut az_ids = sorted(c.availability_zone_ids().to_vec());
    if az_ids.is_empty() && !azs.is_empty() {
        az_ids = aws.zone_ids(&azs).await?;
    }
    let (tags, tags_all) = read_tags(
        aws,
        tag_map(c.tags()),
        prior.tags.as_ref(),
        prior.tags_all.as_ref(),
    );
    let ip_types: Vec<String> = sorted(
        c.supported_ip_address_types()
            .iter()
            .map(|t| t.as_str().to_string())
            .collect(),
    );
    let service_name = c.service_name().map(str::to_string);
    // AWS may list the home Region among the supported ones; state keeps it
    // only when the configuration does, so it never shows as drift.
    let home_listed = prior
        .supported_regions
        .as_ref()
        .is_some_and(|r| r.contains(&aws.region));
    let regions = sorted(
        c.supported_regions()
            .iter()
            .filter_map(|r| r.region().map(str::to_string))
            .filter(|r| home_listed || *r != aws.region)
            .collect(),
    );
    Ok(State {
        supported_regions: if regions.is_empty() && prior.supported_regions.is_none() {
            None
        } else {
            Some(regions)
        },
        id: Some(id.to_string()),
        network_load_balancer_arns: sorted(c.network_load_balancer_arns().to_vec()),
        acceptance_required: c.acceptance_required(),
        allowed_principals: if principals.is_empty() && prior.allowed_principals.is_none() {
            None
        } else {
            Some(principals)
        },
        allow_all_principals: prior.allow_all_principals.or(Some(false)),
        private_dns_name: c.private_dns_name().map(str::to_string),
        supported_ip_address_types: Some(ip_types),
        tags,
        tags_all: Some(tags_all),
        force_destroy: prior.force_destroy.or(Some(false)),
        timeouts: prior.timeouts.clone(),
        service_type: c
            .service_type()
            .first()
            .and_then(|t| t.service_type())
            .map(|t| t.as_str().to_string()),
        state: c.service_state().map(|s| s.as_str().to_string()),
        availability_zones: Some(azs),
        availability_zone_ids: Some(az_ids.clone()),
        base_endpoint_dns_names: Some(sorted(c.base_endpoint_dns_names().to_vec())),
        // Without a private DNS name there is nothing to verify.
        private_dns_name_configuration: c
            .private_dns_name_configuration()
            .filter(|p| p.name().is_some())
            .map(|p| PrivateDnsConfiguration {
                name: p.name().map(str::to_string),
                state: p.state().map(|s| s.as_str().to_string()),
                r#type: p.r#type().map(str::to_string),
                value: p.value().map(str::to_string),
            }),
        manages_vpc_endpoints: c.manages_vpc_endpoints(),
        vendor_handoff: Some(Handoff {
            service_name: service_name.clone(),
            availability_zone_ids: Some(az_ids),
            region: aws.region.clone(),
        }),
        service_name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::validators::Validator;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(EndpointService.schema().lint(), Vec::<String>::new());
    }

    #[test]
    fn principals_with_paths_are_refused() {
        let check = |s: &str| {
            let mut d = Diagnostics::new();
            principal().check(&Value::string(s), &AttributePath::attr("p"), &mut d);
            d.has_errors()
        };
        assert!(!check("arn:aws:iam::185497759670:role/cdktf-operator"));
        assert!(!check("arn:aws:iam::185497759670:root"));
        assert!(!check("*"));
        assert!(check("arn:aws:iam::185497759670:role/team/cdktf-operator"));
        assert!(check("185497759670"));
    }

    #[test]
    fn wildcard_needs_the_flag() {
        let cfg = |allow: bool| {
            Value::object([
                ("allowed_principals", Value::Set(vec![Value::string("*")])),
                ("allow_all_principals", Value::Bool(allow)),
            ])
        };
        let mut d = Diagnostics::new();
        EndpointService.validate(&cfg(false), &mut d);
        assert_eq!(
            d.0[0].path.as_ref().unwrap().to_string(),
            "allowed_principals",
            "a set element has no index Terraform can match"
        );
        let mut d = Diagnostics::new();
        EndpointService.validate(&cfg(true), &mut d);
        assert!(d.is_empty());
        // The flag without `*` allows nothing: a warning on the flag.
        let listed = Value::object([
            (
                "allowed_principals",
                Value::Set(vec![Value::string("arn:aws:iam::185497759670:root")]),
            ),
            ("allow_all_principals", Value::Bool(true)),
        ]);
        let mut d = Diagnostics::new();
        EndpointService.validate(&listed, &mut d);
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert!(!d.has_errors());
        assert_eq!(
            d.0[0].path.as_ref().unwrap().to_string(),
            "allow_all_principals"
        );
    }
}
