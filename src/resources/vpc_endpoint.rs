//! Resource `privatelink_vpc_endpoint`: the consumer side. An interface VPC
//! endpoint in your VPC to a partner's endpoint service, so your workloads
//! reach it privately (optionally under the partner's private DNS name).
//!
//! Before anything is created it checks that each subnet sits in an
//! Availability Zone the service supports, one subnet per zone. With
//! `allow_from_vpc_cidr` it creates and owns a security group that admits
//! only the VPC's own CIDR blocks on the given ports, the runbook's best
//! practice; that group is kept to exactly those rules, so a rule added by
//! hand shows as drift. The policy is compared as JSON, so formatting never
//! shows as a change.

use super::{
    any_of, aws_error, claim, create_with_tokens, deleted_here, described_by_id, diff, ec2_tags,
    endpoint_service_detail, held_by_the_replacement, invalid_state, is_claimed, is_not_found,
    made_since, no_id, plan_tags_all, read_tags, service_not_visible, sorted, tag_map,
    tags_all_attribute, update_tags, wait_error, Answer, Created, Seen, Unlisted, LISTED_WITHIN,
};
use crate::framework::operation::Operation;
use crate::framework::plan::PlanContext;
use crate::framework::resource::{ApplyResult, Ctx, ReadResult, Resource};
use crate::framework::timeouts::{self, Timeouts, WaitError};
use crate::framework::validators::{each, int_between, NotEmpty};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type,
    Value,
};
use crate::provider::aws::{error_code, AwsClients};
use crate::provider::permissions::Permissions;
use crate::provider::shapes::{
    aws_tags, endpoint_service_name, security_group_id, subnet_id, vpc_id,
};
use crate::provider::{ProviderData, JUST_CHECKED};
use async_trait::async_trait;
use aws_sdk_ec2::types::{
    AttributeBooleanValue, DnsNameState, Filter, IpPermission, IpRange, ResourceType,
    SecurityGroup, ServiceDetail, Subnet, TagSpecification, Vpc, VpcAttributeName, VpcEndpoint,
    VpcEndpointType,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

/// The AWS actions each operation may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[
    (
        Operation::Read,
        &["ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints"],
    ),
    (
        Operation::Plan,
        &[
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeSubnets",
            "ec2:DescribeVpcAttribute",
            "ec2:DescribeVpcEndpointServices",
            "ec2:DescribeVpcEndpoints",
            "ec2:DescribeVpcs",
        ],
    ),
    // route53:AssociateVPCWithHostedZone is permission-only: AWS checks it
    // when private DNS is turned on; the provider makes no Route 53 call.
    (
        Operation::Create,
        &[
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:CreateSecurityGroup",
            "ec2:CreateTags",
            "ec2:CreateVpcEndpoint",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcEndpoints",
            "ec2:ModifyVpcEndpoint",
            "ec2:RevokeSecurityGroupIngress",
            "route53:AssociateVPCWithHostedZone",
        ],
    ),
    (
        Operation::Update,
        &[
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:CreateSecurityGroup",
            "ec2:CreateTags",
            "ec2:DeleteSecurityGroup",
            "ec2:DeleteTags",
            "ec2:DescribeSecurityGroups",
            "ec2:DescribeVpcEndpoints",
            "ec2:ModifyVpcEndpoint",
            "ec2:RevokeSecurityGroupIngress",
            "route53:AssociateVPCWithHostedZone",
        ],
    ),
    (
        Operation::Delete,
        &[
            "ec2:DeleteSecurityGroup",
            "ec2:DeleteVpcEndpoints",
            "ec2:DescribeVpcEndpoints",
        ],
    ),
    (
        Operation::Import,
        &["ec2:DescribeSecurityGroups", "ec2:DescribeVpcEndpoints"],
    ),
];

pub struct VpcEndpointResource;

const CREATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Marks the security group this resource owns, so import can find it again.
const OWNED_TAG: &str = "privatelink:allow-from-vpc-cidr";
/// How long a security group just created may stay invisible to EC2 calls.
const NEW_GROUP_VISIBLE_WITHIN: Duration = Duration::from_secs(2 * 60);
/// In the only characters EC2 takes in a security group description
/// (a-z, A-Z, 0-9, spaces and `._-:/()#,@[]+=&;{}!$*`): no apostrophe.
const OWNED_GROUP_DESCRIPTION: &str = "Admits only the VPC CIDR blocks to a PrivateLink endpoint";

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct AllowFromVpcCidr {
    ports: Vec<i64>,
    cidr_blocks: Option<Vec<String>>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct DnsEntry {
    dns_name: Option<String>,
    hosted_zone_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    id: Option<String>,
    service_name: String,
    vpc_id: String,
    subnet_ids: Vec<String>,
    security_group_ids: Option<Vec<String>>,
    allow_from_vpc_cidr: Option<AllowFromVpcCidr>,
    private_dns_enabled: Option<bool>,
    policy: Option<String>,
    wait_for_acceptance: Option<bool>,
    tags: Option<BTreeMap<String, String>>,
    tags_all: Option<BTreeMap<String, String>>,
    timeouts: Option<Timeouts>,
    state: Option<String>,
    dns_entries: Option<Vec<DnsEntry>>,
    network_interface_ids: Option<Vec<String>>,
    owned_security_group_id: Option<String>,
}

fn conflicting_groups() -> Diagnostic {
    Diagnostic::error(
        "Conflicting security groups",
        "Use security_group_ids or allow_from_vpc_cidr, not both: allow_from_vpc_cidr creates the endpoint's only security group. (After an import, security_group_ids may name that group itself, as generated configuration does.)",
    )
    .at(AttributePath::attr("security_group_ids"))
}

fn dns_entry_type() -> Type {
    Type::object([("dns_name", Type::String), ("hosted_zone_id", Type::String)])
}

#[async_trait]
impl Resource<ProviderData> for VpcEndpointResource {
    fn type_name(&self) -> &'static str {
        "privatelink_vpc_endpoint"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("An interface VPC endpoint in your VPC to a partner's endpoint service (the consumer side of PrivateLink). Checks the subnets against the Availability Zones the service supports before creating anything, and with `allow_from_vpc_cidr` creates and owns a security group that admits only your VPC's CIDR blocks.")
                .attribute(Attribute::computed("id", Type::String).description("The endpoint ID, `vpce-...`.").use_state_for_unknown())
                .attribute(
                    Attribute::required("service_name", Type::String)
                        .description("The service name the partner gave you, e.g. `com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0`.")
                        .requires_replace()
                        .validate(endpoint_service_name()),
                )
                .attribute(
                    Attribute::required("vpc_id", Type::String)
                        .description("The VPC your workloads run in.")
                        .requires_replace()
                        .validate(vpc_id()),
                )
                .attribute(
                    Attribute::required("subnet_ids", Type::set(Type::String))
                        .description("One subnet per Availability Zone to place the endpoint's network interfaces in. Each must be in a zone the service supports.")
                        .validate(NotEmpty)
                        .validate(each(subnet_id())),
                )
                .attribute(
                    Attribute::optional_computed("security_group_ids", Type::set(Type::String))
                        .description("Security groups for the endpoint's network interfaces. Leave out with `allow_from_vpc_cidr` (the owned group is used; configuration Terraform generates on import names that group here, which is accepted), or to get the VPC's default group.")
                        .use_state_for_unknown()
                        .validate(each(security_group_id())),
                )
                .attribute(
                    Attribute::optional("private_dns_enabled", Type::Bool)
                        .description("Resolve the service's private DNS name (e.g. `api.partner.com`) to this endpoint inside the VPC. Needs a service that offers a private DNS name and the VPC's DNS support and hostnames on; both are checked at plan time, and a name its owner has not verified yet is warned of (AWS lets consumers use it only once verified). AWS turns it on only for an accepted connection: for a partner that accepts by hand, set `wait_for_acceptance`, and the endpoint gets private DNS as soon as the partner accepts.")
                        .default(Value::Bool(false)),
                )
                .attribute(
                    Attribute::optional_computed("policy", Type::String)
                        .description("The endpoint policy (JSON). Compared as JSON, so formatting is never a change. AWS's default allows full access, and endpoints to a customer's or partner's service (`VpcEndpointPolicySupported` false, as `data.privatelink_endpoint_service` shows) take no other: a narrower policy for one fails at plan. Left out, the policy the endpoint has is kept and not compared (removing the attribute does not reset it): to go back to full access, set that policy explicitly.")
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::optional("wait_for_acceptance", Type::Bool)
                        .description("Wait until the partner accepts the connection (`available`), bounded by the create timeout, then turn private DNS on if asked. When false, creation ends at `pendingAcceptance`. A create that times out keeps the endpoint, but Terraform marks it tainted: run `terraform untaint` on it once the partner accepts, or the next apply replaces it with a new request.")
                        .default(Value::Bool(false))
                        .provider_only(),
                )
                .attribute(Attribute::optional("tags", Type::map(Type::String)).description("Tags for the endpoint. The provider also tags an endpoint it creates `privatelink:claimed` (left out of this map), so that a later create with equal arguments never takes it for its own, and the owned security group is created with `tags_all` plus its own marker and, unless set here, `Name` (other endpoints of the service in the VPC may share the group, so later tag changes are not copied to it): at most 49 here, 48 with `allow_from_vpc_cidr` and no `Name`.").validate(aws_tags(1)))
                .attribute(tags_all_attribute())
                .attribute(Attribute::computed("state", Type::String).description("The endpoint state: `pendingAcceptance`, `available`, `rejected`..."))
                .attribute(
                    Attribute::computed("dns_entries", Type::list(dns_entry_type()))
                        .description("The endpoint's DNS names and their hosted zones.")
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::computed("network_interface_ids", Type::set(Type::String))
                        .description("The endpoint's network interfaces, one per subnet.")
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::computed("owned_security_group_id", Type::String)
                        .description("The security group created for `allow_from_vpc_cidr`, if any.")
                        .use_state_for_unknown(),
                )
                .block(
                    NestedBlock::single(
                        "allow_from_vpc_cidr",
                        Block::new()
                            .description("Creates and owns a security group that admits TCP on `ports` from the VPC's CIDR blocks only.")
                            .attribute(
                                Attribute::required("ports", Type::set(Type::Number))
                                    .description("TCP ports the partner's service listens on, e.g. `[443]`.")
                                    .validate(NotEmpty)
                                    .validate(each(int_between(1, 65535))),
                            )
                            .attribute(
                                Attribute::computed("cidr_blocks", Type::set(Type::String))
                                    .description("The VPC's IPv4 CIDR blocks the group admits (empty when the group's rules no longer match)."),
                            ),
                    ),
                )
                .block(timeouts::block(CREATE_TIMEOUT, Some(UPDATE_TIMEOUT), DELETE_TIMEOUT)),
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        // Beside allow_from_vpc_cidr, only the owned group itself may be
        // listed (as `-generate-config-out` writes it for an imported
        // endpoint); the plan checks that, knowing which group it is. Any
        // other number of groups is wrong whatever the state holds.
        let given = |name: &str| config.get(name).is_some_and(|v| !v.is_null());
        let group_count = config
            .get("security_group_ids")
            .and_then(Value::elements)
            .map(|groups| groups.len());
        if given("allow_from_vpc_cidr") && group_count.is_some_and(|n| n != 1) {
            diags.push(conflicting_groups());
        }
        // The owned group carries the tags plus its marker and a Name.
        if let (true, Some(Value::Map(tags))) = (given("allow_from_vpc_cidr"), config.get("tags")) {
            if !tags.contains_key("Name") && tags.len() > 48 {
                diags.error_at(
                    AttributePath::attr("tags"),
                    "Too many tags",
                    format!("{} tags: the owned security group gets them plus its own marker and Name, and AWS takes 50 per object, so at most 48 here (49 with a Name tag of yours).", tags.len()),
                );
            }
        }
        if let Some(text) = config.get("policy").and_then(Value::as_str) {
            match serde_json::from_str::<serde_json::Value>(text) {
                Err(e) => diags.error_at(
                    AttributePath::attr("policy"),
                    "Invalid policy",
                    format!("The policy is not valid JSON: {e}."),
                ),
                Ok(doc) if !doc.is_object() => diags.error_at(
                    AttributePath::attr("policy"),
                    "Invalid policy",
                    "A policy is a JSON object with a \"Statement\" list, such as jsonencode({ Version = \"2012-10-17\", Statement = [...] }).",
                ),
                Ok(_) => {}
            }
        }
    }

    async fn modify_plan(&self, ctx: Option<&Ctx<ProviderData>>, plan: &mut PlanContext) {
        if plan.planned.is_null() {
            return;
        }
        // A group this apply makes gets the tags plus its marker and,
        // unless one is among them, a Name.
        let makes_group = plan
            .config
            .get("allow_from_vpc_cidr")
            .is_some_and(|v| !v.is_null())
            && plan
                .prior
                .get("owned_security_group_id")
                .is_none_or(Value::is_null);
        plan_tags_all(
            ctx,
            plan,
            || self.schema(),
            |all| {
                aws_tags(if makes_group && !all.contains_key("Name") {
                    2
                } else {
                    1
                })
            },
        );
        // A policy that says the same thing keeps the stored text.
        if let (Some(new), Some(old)) = (
            plan.config.get("policy").and_then(Value::as_str),
            plan.prior.get("policy").and_then(Value::as_str),
        ) {
            if same_json(new, old) {
                let old = Value::string(old);
                plan.set("policy", old);
            }
        }
        // Only the owned group is left (see `orphaned_group`): the endpoint
        // is made anew, and the group with it.
        if !plan.is_create() && plan.prior.get("id").is_none_or(Value::is_null) {
            plan.set_unknown("id");
            plan.require_replace(AttributePath::attr("id"));
        }
        let subnets_changed = plan.is_create() || plan.changed("subnet_ids");
        if subnets_changed {
            plan.set_unknown("network_interface_ids");
            plan.set_unknown("dns_entries");
        }
        if plan.changed("private_dns_enabled") {
            plan.set_unknown("dns_entries");
        }

        let wants_owned = plan
            .config
            .get("allow_from_vpc_cidr")
            .is_some_and(|b| !b.is_null());
        let has_owned = plan
            .prior
            .get("owned_security_group_id")
            .is_some_and(|v| !v.is_null());
        match (wants_owned, has_owned) {
            (true, false) => plan.set_unknown("owned_security_group_id"),
            (false, true) => plan.set("owned_security_group_id", Value::Null),
            _ => {}
        }
        let configured_groups = plan
            .config
            .get("security_group_ids")
            .filter(|v| !v.is_null());
        let prior_owned = plan
            .prior
            .get("owned_security_group_id")
            .and_then(Value::as_str);
        if let Some(groups) = configured_groups {
            let listed = groups.elements().unwrap_or_default();
            let owned = prior_owned.map(Value::string);
            let names_owned =
                groups.is_fully_known() && owned.as_ref().is_some_and(|o| listed == [o.clone()]);
            if wants_owned && !names_owned {
                plan.diagnostics.push(conflicting_groups());
            }
            if let Some(owned) =
                prior_owned.filter(|o| !wants_owned && listed.contains(&Value::string(*o)))
            {
                plan.diagnostics.push(
                    Diagnostic::error(
                        "Security group about to be deleted",
                        format!(
                            "security_group_ids lists {owned}, the group allow_from_vpc_cidr made; without that block the group is deleted. List other groups, or leave security_group_ids out for the VPC's default group."
                        ),
                    )
                    .at(AttributePath::attr("security_group_ids")),
                );
            }
        }
        let sg_config_null = configured_groups.is_none();
        let prior_owned = prior_owned.map(str::to_string);
        if sg_config_null && wants_owned != has_owned {
            plan.set_unknown("security_group_ids");
        }
        // With the block, the owned group is the endpoint's only group: one
        // added or swapped in by hand is drift, and the apply puts it back.
        if let (true, true, Some(owned)) = (sg_config_null, wants_owned, prior_owned) {
            plan.set("security_group_ids", Value::Set(vec![Value::string(owned)]));
        }

        let Some(ctx) = ctx else { return };
        let Ok(aws) = ctx.data.aws().await else {
            // Apply reports credential problems with their full message.
            return;
        };
        if wants_owned {
            // The owned group must admit exactly the VPC's CIDR blocks as
            // they are now: a block added to the VPC, or a rule changed by
            // hand, shows here as an in-place change.
            let cidrs = match plan.planned.get("vpc_id").and_then(Value::as_str) {
                Some(vpc) if !plan.changed("vpc_id") || plan.is_create() => {
                    match recent_vpc_cidrs(ctx, aws, vpc).await {
                        Ok(c) => Value::Set(c.iter().cloned().map(Value::string).collect()),
                        Err(_) => Value::Unknown,
                    }
                }
                _ => Value::Unknown,
            };
            if let Some(block) = plan.planned.get_mut("allow_from_vpc_cidr") {
                if !block.is_null() && !block.is_unknown() {
                    block.set_attr("cidr_blocks", cidrs);
                }
            }
        }
        if subnets_changed {
            let service = plan.planned.get("service_name").and_then(Value::as_str);
            let subnets = plan
                .planned
                .get("subnet_ids")
                .filter(|v| v.is_fully_known());
            if let (Some(service), Some(subnets)) = (service, subnets) {
                let ids: Vec<String> = subnets
                    .elements()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect();
                let vpc = plan.planned.get("vpc_id").and_then(Value::as_str);
                if let Err(d) = checked_subnets(ctx, aws, service, vpc, &ids).await {
                    plan.diagnostics.extend(d);
                }
            }
        }
        // Ports changed in place on a group other endpoints share: refused
        // now, as the apply would refuse it. Only a change costs the calls.
        if let (true, true, Some(sg), Some(id), Some(vpc), Some(ports)) = (
            plan.requires_replace.is_empty() && !plan.is_create(),
            wants_owned,
            plan.prior
                .get("owned_security_group_id")
                .and_then(Value::as_str),
            plan.prior.get("id").and_then(Value::as_str),
            plan.prior.get("vpc_id").and_then(Value::as_str),
            ports_of(&plan.planned).filter(|p| Some(p) != ports_of(&plan.prior).as_ref()),
        ) {
            if let Ok(rules) = group_rules(aws, sg).await {
                if let Err(d) = check_shared_ports(aws, vpc, sg, Some(id), &rules, &ports).await {
                    plan.diagnostics.extend(d);
                }
            }
        }
        let policy_changes =
            plan.is_create() || plan.changed("policy") || plan.changed("service_name");
        if let (true, Some(policy), Some(service)) = (
            policy_changes,
            plan.planned.get("policy").and_then(Value::as_str),
            plan.planned.get("service_name").and_then(Value::as_str),
        ) {
            if !is_full_access(policy) && !takes_endpoint_policies(ctx, aws, service).await {
                plan.diagnostics.error_at(
                    AttributePath::attr("policy"),
                    "The service takes no endpoint policy",
                    format!("{service} reports VpcEndpointPolicySupported false: AWS refuses any policy but full access for endpoints to it, as for every customer's or partner's endpoint service. Leave policy out (full access), and limit access with the endpoint's security groups and the service's own authentication."),
                );
            }
        }
        let turns_private_dns_on = plan.planned.get("private_dns_enabled")
            == Some(&Value::Bool(true))
            && (plan.is_create()
                || plan.changed("private_dns_enabled")
                || plan.changed("service_name")
                || plan.changed("vpc_id"));
        if turns_private_dns_on {
            let service = plan.planned.get("service_name").and_then(Value::as_str);
            let vpc = plan.planned.get("vpc_id").and_then(Value::as_str);
            plan.diagnostics
                .extend(check_private_dns(ctx, aws, service, vpc).await);
            // AWS turns private DNS on only once the partner has accepted.
            let new_endpoint =
                plan.is_create() || plan.changed("service_name") || plan.changed("vpc_id");
            let waits = plan.planned.get("wait_for_acceptance") == Some(&Value::Bool(true));
            if new_endpoint && !waits {
                if let Some(service) = service {
                    if awaits_acceptance(ctx, aws, service).await {
                        plan.diagnostics.push(dns_before_acceptance(&format!("The partner accepts connections to {service} by hand, and AWS turns private DNS on only for an accepted connection. Set wait_for_acceptance = true: the endpoint is then created without private DNS, and private DNS is turned on once the partner has accepted. Or leave private_dns_enabled off until they have.")));
                    }
                }
            } else if !new_endpoint
                && plan.prior.get("state").and_then(Value::as_str) == Some("pendingAcceptance")
            {
                plan.diagnostics.push(dns_before_acceptance("The endpoint is still pendingAcceptance, and AWS turns private DNS on only for an accepted connection. Apply this once the partner has accepted."));
            }
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
            Err(e) => return ApplyResult::failed(None, invalid_state(e)),
        };
        // Nothing is created for subnets the service cannot serve.
        if let Err(d) = checked_subnets(
            ctx,
            aws,
            &plan.service_name,
            Some(&plan.vpc_id),
            &plan.subnet_ids,
        )
        .await
        {
            return ApplyResult::failed(None, d);
        }
        let mut state = State {
            security_group_ids: plan.security_group_ids.clone(),
            ..plan.clone()
        };
        let partial = |state: &State, d: Diagnostics| {
            ApplyResult::failed(typed::state_value(state, self, || self.schema()).ok(), d)
        };
        if let Some(allow) = &plan.allow_from_vpc_cidr {
            match ensure_owned_group(
                aws,
                ctx,
                &plan.vpc_id,
                &plan.service_name,
                &allow.ports,
                plan.tags_all.as_ref(),
            )
            .await
            {
                Ok(sg) => {
                    state.owned_security_group_id = Some(sg.clone());
                    state.security_group_ids = Some(vec![sg]);
                }
                Err(d) => return ApplyResult::failed(None, d),
            }
        }
        // Private DNS for a connection the partner has yet to accept is
        // turned on once it is accepted (the plan made sure the create
        // waits for that).
        let dns_after_acceptance = plan.private_dns_enabled == Some(true)
            && plan.wait_for_acceptance == Some(true)
            && awaits_acceptance(ctx, aws, &plan.service_name).await;
        let request = State {
            private_dns_enabled: Some(
                plan.private_dns_enabled == Some(true) && !dns_after_acceptance,
            ),
            ..plan.clone()
        };
        let id = match create_endpoint(
            aws,
            ctx,
            &request,
            planned,
            state.security_group_ids.clone(),
        )
        .await
        {
            Ok(id) => id,
            // The owned group stays in state, so destroy (or the next
            // apply, after Terraform replaces this tainted object) removes
            // it.
            Err(d) if state.owned_security_group_id.is_some() => return partial(&state, d),
            Err(d) => return ApplyResult::failed(None, d),
        };
        state.id = Some(id.clone());
        let timeout = Timeouts::get(&plan.timeouts, "create", CREATE_TIMEOUT);
        let accept_pending = plan.wait_for_acceptance != Some(true);
        let mut settled = match wait_settled(aws, ctx, &id, accept_pending, timeout).await {
            Ok(e) => e,
            Err(d) => return partial(&state, d),
        };
        if dns_after_acceptance && !settled.private_dns_enabled().unwrap_or(false) {
            let turned_on = aws
                .ec2
                .modify_vpc_endpoint()
                .vpc_endpoint_id(&id)
                .private_dns_enabled(true)
                .send()
                .await
                .map_err(|e| endpoint_error(aws, "turn private DNS on", &plan.service_name, &e));
            if let Err(d) = turned_on {
                return partial(&state, d);
            }
            settled = match wait_settled(aws, ctx, &id, false, timeout).await {
                Ok(e) => e,
                Err(d) => return partial(&state, d),
            };
        }
        match from_endpoint(aws, settled, &state).await {
            Ok(Some(s)) => {
                claim(&aws.ec2, &id).await;
                to_value(&s, self).into()
            }
            Ok(None) => partial(
                &state,
                Diagnostic::error(
                    "The VPC endpoint disappeared",
                    format!("{id} was created but is no longer found."),
                )
                .into(),
            ),
            Err(d) => partial(&state, d),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
    ) -> Result<ReadResult, Diagnostics> {
        let aws = ctx.data.aws().await?;
        let prior: State = typed::from_value(state).map_err(invalid_state)?;
        let found = match prior.id.clone() {
            Some(id) => read(aws, &id, &prior).await?,
            None => None,
        };
        if let Some(s) = found {
            return Ok(Some(to_value(&s, self)?).into());
        }
        let Some(left) = orphaned_group(aws, &prior).await? else {
            return Ok(None.into());
        };
        let read = ReadResult::from(Some(to_value(&left, self)?));
        Ok(match (&prior.id, &left.owned_security_group_id) {
            (Some(id), Some(group)) => read.warn(deleted_outside(id, group)),
            _ => read,
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        config: &Value,
    ) -> ApplyResult {
        let result: Result<State, Diagnostics> = async {
            let aws = ctx.data.aws().await?;
            let old: State = typed::from_value(prior).map_err(invalid_state)?;
            let new: State = typed::from_value(planned).map_err(invalid_state)?;
            let id = old.id.clone().unwrap_or_default();

            if new.subnet_ids != old.subnet_ids {
                checked_subnets(
                    ctx,
                    aws,
                    &new.service_name,
                    Some(&new.vpc_id),
                    &new.subnet_ids,
                )
                .await?;
            }
            // The owned group first, so the endpoint can switch to it.
            let owned = match (&new.allow_from_vpc_cidr, &old.owned_security_group_id) {
                (Some(allow), None) => Some(
                    ensure_owned_group(
                        aws,
                        ctx,
                        &new.vpc_id,
                        &new.service_name,
                        &allow.ports,
                        new.tags_all.as_ref(),
                    )
                    .await?,
                ),
                (Some(allow), Some(sg)) => {
                    let cidrs = recent_vpc_cidrs(ctx, aws, &new.vpc_id).await?;
                    let rules = group_rules(aws, sg).await?;
                    check_shared_ports(aws, &new.vpc_id, sg, Some(&id), &rules, &allow.ports)
                        .await?;
                    set_group_rules(aws, ctx, sg, Some(rules), &cidrs, &allow.ports).await?;
                    Some(sg.clone())
                }
                (None, _) => None,
            };

            let configured_groups = config
                .get("security_group_ids")
                .filter(|v| !v.is_null())
                .and_then(|_| new.security_group_ids.clone());
            let old_groups = old.security_group_ids.clone().unwrap_or_default();
            let want_groups = match (configured_groups, &owned) {
                (Some(g), _) => g,
                (None, Some(sg)) => vec![sg.clone()],
                (None, None) => match &old.owned_security_group_id {
                    // Dropping the owned group without naming others: AWS
                    // needs one, so the VPC's default group takes over.
                    Some(_) => vec![default_group(aws, &new.vpc_id).await?],
                    None => old_groups.clone(),
                },
            };
            let (add_groups, remove_groups) = diff(&old_groups, &want_groups);
            let (add_subnets, remove_subnets) = diff(&old.subnet_ids, &new.subnet_ids);
            let policy_changed = match (&old.policy, &new.policy) {
                (Some(a), Some(b)) => !same_json(a, b),
                (a, b) => a != b,
            };
            let dns_changed = old.private_dns_enabled != new.private_dns_enabled;
            if !add_groups.is_empty()
                || !remove_groups.is_empty()
                || !add_subnets.is_empty()
                || !remove_subnets.is_empty()
                || policy_changed
                || dns_changed
            {
                let mut req = aws
                    .ec2
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(&id)
                    .set_add_subnet_ids((!add_subnets.is_empty()).then_some(add_subnets))
                    .set_remove_subnet_ids((!remove_subnets.is_empty()).then_some(remove_subnets))
                    .set_add_security_group_ids((!add_groups.is_empty()).then_some(add_groups))
                    .set_remove_security_group_ids(
                        (!remove_groups.is_empty()).then_some(remove_groups),
                    );
                if policy_changed {
                    req = match &new.policy {
                        Some(p) => req.policy_document(p),
                        None => req.reset_policy(true),
                    };
                }
                if dns_changed {
                    req = req.private_dns_enabled(new.private_dns_enabled.unwrap_or(false));
                }
                req.send().await.map_err(|e| {
                    endpoint_error(aws, "modify the VPC endpoint", &new.service_name, &e)
                })?;
            }
            update_tags(
                aws,
                &id,
                old.tags_all.as_ref().or(old.tags.as_ref()),
                new.tags_all.as_ref(),
            )
            .await?;
            if let (None, Some(sg)) = (&owned, &old.owned_security_group_id) {
                // Another endpoint to the service from this VPC still uses
                // the shared group: it stays for that one to delete.
                if endpoints_using_group(aws, &new.vpc_id, sg, Some(&id))
                    .await?
                    .is_empty()
                {
                    let timeout = Timeouts::get(&new.timeouts, "update", UPDATE_TIMEOUT);
                    delete_group(aws, ctx, sg, timeout).await?;
                }
            }
            let timeout = Timeouts::get(&new.timeouts, "update", UPDATE_TIMEOUT);
            wait_settled(aws, ctx, &id, true, timeout).await?;
            // The plan leaves the owned group unknown when the block is
            // added: the read starts from the group this update settled on,
            // so that it is recorded, and deleted with the endpoint.
            let settled = State {
                owned_security_group_id: owned,
                ..new
            };
            read(aws, &id, &settled).await?.ok_or_else(|| {
                Diagnostics::from(Diagnostic::error(
                    "The VPC endpoint disappeared",
                    format!("{id} is no longer found."),
                ))
            })
        }
        .await;
        match result {
            Ok(s) => to_value(&s, self).into(),
            // Nothing is lost: the next plan reads what AWS has, and a
            // group created before the failure has a name the next apply
            // adopts.
            Err(d) => ApplyResult::failed(None, d),
        }
    }

    async fn delete(&self, ctx: &Ctx<ProviderData>, prior: &Value) -> Result<(), Diagnostics> {
        let aws = ctx.data.aws().await?;
        let state: State = typed::from_value(prior).map_err(invalid_state)?;
        let timeout = Timeouts::get(&state.timeouts, "delete", DELETE_TIMEOUT);
        if state.id.as_deref().is_some_and(held_by_the_replacement) {
            return Ok(());
        }
        if let Some(id) = &state.id {
            match aws
                .ec2
                .delete_vpc_endpoints()
                .vpc_endpoint_ids(id)
                .send()
                .await
            {
                Ok(out) => {
                    super::unsuccessful("delete the VPC endpoint", out.unsuccessful(), |c| {
                        c.contains("NotFound")
                    })?;
                    deleted_here(id);
                }
                Err(e) if is_not_found(&e) => {}
                Err(e) => return Err(aws_error("delete the VPC endpoint", &e)),
            }
            timeouts::poll(
                timeout,
                Duration::from_millis(200),
                ctx.stopped(),
                // Until gone, not merely `deleting`: its network interfaces
                // and private DNS names are released only then, and what is
                // destroyed next (the subnets, a replacement with the same
                // private DNS) needs them released.
                || async {
                    match endpoint(aws, id).await? {
                        None => Ok(Ok(())),
                        Some(e) if is_gone(&e) => Ok(Ok(())),
                        Some(e) => Ok(Err(e
                            .state()
                            .map(|s| s.as_str().to_string())
                            .unwrap_or_default())),
                    }
                },
            )
            .await
            .map_err(|e| wait_error(&format!("{id} to be deleted"), e))?;
        }
        if let Some(sg) = &state.owned_security_group_id {
            // Endpoints to one service from one VPC share the owned group
            // (it is named per VPC and service): the last one out deletes
            // it, or the others would wait for it to be released until their
            // timeouts. Each checks after its own endpoint is gone, so
            // whichever checks last sees no other user.
            if endpoints_using_group(aws, &state.vpc_id, sg, None)
                .await?
                .is_empty()
            {
                delete_group(aws, ctx, sg, timeout).await?;
            }
        }
        Ok(())
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        if !id.starts_with("vpce-") || id.starts_with("vpce-svc-") {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not a VPC endpoint ID (`vpce-...`)."),
            )
            .into());
        }
        let aws = ctx.data.aws().await?;
        let Some(e) = describe(aws, id).await? else {
            return Err(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("No VPC endpoint {id} exists in {}.", aws.region),
            )
            .into());
        };
        // The group this provider made for allow_from_vpc_cidr carries a tag.
        let groups: Vec<String> = e
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect();
        let owned = if groups.is_empty() {
            None
        } else {
            aws.ec2
                .describe_security_groups()
                .set_group_ids(Some(groups))
                .filters(Filter::builder().name("tag-key").values(OWNED_TAG).build())
                .send()
                .await
                .map_err(|e| aws_error("read the endpoint's security groups", &e))?
                .security_groups()
                .first()
                .and_then(|g| g.group_id().map(str::to_string))
        };
        let defaults = State {
            id: Some(id.to_string()),
            allow_from_vpc_cidr: owned.as_ref().map(|_| AllowFromVpcCidr::default()),
            owned_security_group_id: owned,
            ..State::default()
        };
        match from_endpoint(aws, e, &defaults).await? {
            Some(s) => to_value(&s, self),
            None => Err(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("The VPC endpoint {id} is being deleted."),
            )
            .into()),
        }
    }
}

fn to_value(s: &State, r: &VpcEndpointResource) -> Result<Value, Diagnostics> {
    typed::state_value(s, r, || r.schema())
}

fn same_json(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// Creates the endpoint with the plan's ClientTokens (`client_token`): a
/// re-run apply gets the endpoint its lost answer made, and a token spent
/// on an endpoint since deleted (or with other arguments, such as a new
/// owned group after `-replace`) moves on to the next.
async fn create_endpoint(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    plan: &State,
    planned: &Value,
    security_group_ids: Option<Vec<String>>,
) -> Result<String, Diagnostics> {
    const WHAT: &str = "VPC endpoint";
    let security_group_ids = &security_group_ids;
    let create = |token: String| async move {
        let started = std::time::SystemTime::now();
        let mut req = aws
            .ec2
            .create_vpc_endpoint()
            .vpc_endpoint_type(VpcEndpointType::Interface)
            .vpc_id(&plan.vpc_id)
            .service_name(&plan.service_name)
            .set_subnet_ids(Some(sorted(plan.subnet_ids.clone())))
            .set_security_group_ids(security_group_ids.clone().map(sorted))
            .private_dns_enabled(plan.private_dns_enabled.unwrap_or(false))
            .set_policy_document(plan.policy.clone())
            .client_token(token);
        if let Some(tags) = plan.tags_all.as_ref().filter(|t| !t.is_empty()) {
            req = req.tag_specifications(
                TagSpecification::builder()
                    .resource_type(ResourceType::VpcEndpoint)
                    .set_tags(Some(ec2_tags(tags)))
                    .build(),
            );
        }
        match req.send().await {
            Ok(out) => match out.vpc_endpoint {
                Some(VpcEndpoint {
                    vpc_endpoint_id: Some(id),
                    creation_timestamp,
                    ..
                }) => Ok(Answer::Made(Created {
                    id,
                    made_now: made_since(creation_timestamp.as_ref(), started),
                    made_before: creation_timestamp.and_then(|c| {
                        started
                            .duration_since(std::time::SystemTime::try_from(c).ok()?)
                            .ok()
                    }),
                })),
                _ => Err(no_id(WHAT)),
            },
            Err(e) if error_code(&e) == Some("IdempotentParameterMismatch") => Ok(Answer::Spent),
            Err(e) => Err(endpoint_error(
                aws,
                "create the VPC endpoint",
                &plan.service_name,
                &e,
            )),
        }
    };
    let look = |id: String| async move {
        Ok(match endpoint(aws, &id).await? {
            Some(e) if is_deleted(&e) => Seen::Deleted,
            Some(e) if is_claimed(e.tags()) => Seen::Claimed,
            Some(_) => Seen::Live,
            None => Seen::NotFound,
        })
    };
    create_with_tokens(
        &VpcEndpointResource.schema().block.remote_part(planned),
        WHAT,
        create,
        look,
        LISTED_WITHIN,
        Unlisted::Wait,
        ctx.stopped(),
    )
    .await
}

/// A failed endpoint call; the service-not-found case says what to ask the
/// partner for.
fn endpoint_error<E, R>(
    aws: &AwsClients,
    doing: &str,
    service: &str,
    err: &aws_sdk_ec2::error::SdkError<E, R>,
) -> Diagnostics
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if error_code(err).is_some_and(|c| c.starts_with("InvalidServiceName")) {
        return not_visible(aws, service);
    }
    aws_error(doing, err)
}

fn not_visible(aws: &AwsClients, service: &str) -> Diagnostics {
    let mut d = Diagnostics::new();
    d.error_at(
        AttributePath::attr("service_name"),
        "Endpoint service not found",
        service_not_visible(aws, service),
    );
    d
}

/// `check_subnets`, unless this process passed the same check moments ago
/// (planning the resource it now applies).
async fn checked_subnets(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    service: &str,
    vpc_id: Option<&str>,
    subnet_ids: &[String],
) -> Result<(), Diagnostics> {
    let key = format!(
        "endpoint-subnets:{service}:{}:{}",
        vpc_id.unwrap_or("?"),
        sorted(subnet_ids.to_vec()).join(",")
    );
    ctx.data
        .recent(&key, JUST_CHECKED, || {
            check_subnets(ctx, aws, service, vpc_id, subnet_ids)
        })
        .await
        .map(|_| ())
}

/// AWS refuses private DNS for a service that offers no private DNS name,
/// and in a VPC without both DNS support and DNS hostnames on: said at plan
/// time on `private_dns_enabled`, before anything is created. A name its
/// owner has not verified yet is only warned of: the endpoint is sound, but
/// the name serves no consumer until it is verified.
async fn check_private_dns(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    service: Option<&str>,
    vpc_id: Option<&str>,
) -> Diagnostics {
    let mut found = Diagnostics::new();
    if let Some(service) = service {
        match recent_service_detail(ctx, aws, service).await {
            // A service we cannot see is reported on service_name already.
            Ok(detail) => match private_dns_finding(service, (*detail).as_ref()) {
                Some(d) if d.is_error() => return d.into(),
                Some(d) => found.push(d),
                None => {}
            },
            Err(d) => return d,
        }
    }
    if let Some(vpc_id) = vpc_id {
        if let Err(d) = check_vpc_dns_attributes(ctx, aws, vpc_id).await {
            found.extend(d);
        }
    }
    found
}

/// What the partner's side of private DNS stops or risks: no name at all
/// (AWS refuses), or a name whose domain its owner has not verified (AWS
/// lets consumers use a name only once it is `verified`).
fn private_dns_finding(service: &str, detail: Option<&ServiceDetail>) -> Option<Diagnostic> {
    let detail = detail?;
    let at = AttributePath::attr("private_dns_enabled");
    let name = detail
        .private_dns_name()
        .filter(|n| !n.is_empty())
        .or_else(|| {
            detail
                .private_dns_names()
                .iter()
                .find_map(|n| n.private_dns_name())
        });
    let Some(name) = name else {
        return Some(Diagnostic::error(
            "No private DNS name to enable",
            format!("The service {service} offers no private DNS name, so AWS refuses private DNS for endpoints to it. Leave private_dns_enabled out and connect to the endpoint's own names (dns_entries), or ask the service's owner to set a private DNS name."),
        )
        .at(at));
    };
    let state = detail.private_dns_name_verification_state()?;
    if *state == DnsNameState::Verified {
        return None;
    }
    Some(
        Diagnostic::warning(
            "Private DNS name not verified",
            format!("The private DNS name {name} of {service} is {} (not verified): AWS lets consumers use a service's private DNS name only once its owner has verified the domain, so {name} may not resolve to this endpoint, or AWS may refuse private DNS, until they have. Ask the service's owner to finish the verification; meanwhile the endpoint's own names (dns_entries) work.", state.as_str()),
        )
        .at(at),
    )
}

/// Private DNS needs the VPC's DNS support and DNS hostnames both on.
async fn check_vpc_dns_attributes(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    vpc_id: &str,
) -> Result<(), Diagnostics> {
    let at = || AttributePath::attr("private_dns_enabled");
    // Read once per VPC, however many of its endpoints are planned together.
    let off = ctx
        .data
        .recent(
            &format!("vpc-dns-attributes:{vpc_id}"),
            JUST_CHECKED,
            || dns_attributes_off(aws, vpc_id),
        )
        .await?;
    // Unreadable (a VPC that is not there, or a role without
    // ec2:DescribeVpcAttribute): the create meets AWS's own answer.
    let Some(off) = off.as_ref() else {
        return Ok(());
    };
    if off.is_empty() {
        return Ok(());
    }
    Err(Diagnostic::error(
        "VPC DNS attributes off",
        format!("Private DNS needs both enableDnsSupport and enableDnsHostnames on in the VPC; {vpc_id} has {} off. Turn them on (enable_dns_support and enable_dns_hostnames of aws_vpc), or leave private_dns_enabled out.", off.join(" and ")),
    )
    .at(at())
    .into())
}

/// Which of the VPC's two DNS attributes private DNS needs are off; None
/// when they cannot be read.
async fn dns_attributes_off(
    aws: &AwsClients,
    vpc_id: &str,
) -> Result<Option<Vec<&'static str>>, Diagnostics> {
    let read = |attribute: VpcAttributeName| {
        aws.ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(attribute)
            .send()
    };
    let (Ok(support), Ok(hostnames)) = tokio::join!(
        read(VpcAttributeName::EnableDnsSupport),
        read(VpcAttributeName::EnableDnsHostnames)
    ) else {
        return Ok(None);
    };
    let on = |v: Option<&AttributeBooleanValue>| v.and_then(|v| v.value()) == Some(true);
    let mut off = Vec::new();
    if !on(support.enable_dns_support()) {
        off.push("enableDnsSupport");
    }
    if !on(hostnames.enable_dns_hostnames()) {
        off.push("enableDnsHostnames");
    }
    Ok(Some(off))
}

/// Checks the subnets against the zones the service supports, one subnet
/// per zone, with errors on `subnet_ids` that name the supported zone IDs.
async fn check_subnets(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    service: &str,
    vpc_id: Option<&str>,
    subnet_ids: &[String],
) -> Result<(), Diagnostics> {
    // The service's zones, as this process saw them moments ago if it did
    // (the endpoints to one service are planned together).
    let detail = recent_service_detail(ctx, aws, service).await?;
    let Some(detail) = detail.as_ref() else {
        return Err(not_visible(aws, service));
    };
    let mut supported: Vec<String> = detail.availability_zone_ids().to_vec();
    if supported.is_empty() && !detail.availability_zones().is_empty() {
        supported = aws.zone_ids(detail.availability_zones()).await?;
    }
    let supported = sorted(supported);
    let key = sorted(subnet_ids.to_vec());
    let found = aws
        .coalesced("ec2:DescribeSubnets")
        .get(key.clone(), |keys| describe_subnets(aws, keys))
        .await?;
    let missing: Vec<&str> = key
        .iter()
        .filter(|id| !found.contains_key(*id))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        let mut d = Diagnostics::new();
        d.error_at(
            AttributePath::attr("subnet_ids"),
            "Subnet not found",
            format!("No subnet {}.", missing.join(", ")),
        );
        return Err(d);
    }
    let subnets: Vec<&Subnet> = key.iter().filter_map(|id| found.get(id)).collect();
    let mut d = Diagnostics::new();
    let mut by_zone: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for s in &subnets {
        let (Some(id), Some(zone)) = (s.subnet_id(), s.availability_zone_id()) else {
            continue;
        };
        by_zone
            .entry(zone.to_string())
            .or_default()
            .push(id.to_string());
        if let (Some(want), Some(has)) = (vpc_id, s.vpc_id()) {
            if want != has {
                d.error_at(
                    AttributePath::attr("subnet_ids"),
                    "Subnet in another VPC",
                    format!("{id} is in {has}, not in vpc_id {want}: an endpoint's subnets are in its own VPC."),
                );
            }
        }
        if !supported.iter().any(|z| z == zone) {
            d.error_at(
                AttributePath::attr("subnet_ids"),
                "Subnet in an unsupported Availability Zone",
                format!(
                    "{id} is in {zone} ({}), which {service} does not serve. The service supports: {}. Choose subnets in those zones.",
                    s.availability_zone().unwrap_or_default(),
                    supported.join(", ")
                ),
            );
        }
    }
    for (zone, ids) in by_zone.iter().filter(|(_, ids)| ids.len() > 1) {
        d.error_at(
            AttributePath::attr("subnet_ids"),
            "More than one subnet in an Availability Zone",
            format!(
                "{} are all in {zone}; an endpoint takes at most one subnet per zone.",
                ids.join(", ")
            ),
        );
    }
    if d.has_errors() {
        Err(d)
    } else {
        Ok(())
    }
}

/// `vpc_cidrs` as this process read them moments ago, if it did: the plan
/// reads them to show drift, and the apply right after uses the same.
async fn recent_vpc_cidrs(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    vpc_id: &str,
) -> Result<std::sync::Arc<Vec<String>>, Diagnostics> {
    ctx.data
        .recent(&format!("vpc-cidrs:{vpc_id}"), JUST_CHECKED, || {
            vpc_cidrs(aws, vpc_id)
        })
        .await
}

/// The VPC's associated IPv4 CIDR blocks.
async fn vpc_cidrs(aws: &AwsClients, vpc_id: &str) -> Result<Vec<String>, Diagnostics> {
    let vpcs = aws
        .coalesced("ec2:DescribeVpcs")
        .get(vpc_id.to_string(), |ids| describe_vpcs(aws, ids))
        .await?;
    let Some(vpc) = vpcs.get(vpc_id) else {
        return Err(
            Diagnostic::error("VPC not found", format!("No VPC {vpc_id}."))
                .at(AttributePath::attr("vpc_id"))
                .into(),
        );
    };
    let mut cidrs: Vec<String> = vpc
        .cidr_block_association_set()
        .iter()
        .filter(|a| {
            a.cidr_block_state()
                .and_then(|s| s.state())
                .is_none_or(|s| s.as_str() == "associated")
        })
        .filter_map(|a| a.cidr_block().map(str::to_string))
        .collect();
    if cidrs.is_empty() {
        cidrs.extend(vpc.cidr_block().map(str::to_string));
    }
    Ok(sorted(cidrs))
}

/// The subnets among those of `lists` that exist, by ID (filtered, so that
/// one missing subnet does not fail the lookup of the others).
async fn describe_subnets(
    aws: &AwsClients,
    lists: Vec<Vec<String>>,
) -> Result<HashMap<String, Subnet>, Diagnostics> {
    let mut ids: Vec<String> = lists.into_iter().flatten().collect();
    ids.sort();
    ids.dedup();
    described_by_id(&ids, Subnet::subnet_id, |chunk, token| async move {
        let page = aws
            .ec2
            .describe_subnets()
            .filters(any_of("subnet-id", &chunk))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("look up the subnets", &e))?;
        Ok((
            page.subnets().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

/// The VPCs among `ids` that exist, by ID. Filtered rather than asked by
/// ID, so that one missing VPC does not fail the lookup of the others.
async fn describe_vpcs(
    aws: &AwsClients,
    ids: Vec<String>,
) -> Result<HashMap<String, Vpc>, Diagnostics> {
    described_by_id(&ids, Vpc::vpc_id, |chunk, token| async move {
        let page = aws
            .ec2
            .describe_vpcs()
            .filters(any_of("vpc-id", &chunk))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("read the VPC's CIDR blocks", &e))?;
        Ok((page.vpcs().to_vec(), page.next_token().map(str::to_string)))
    })
    .await
}

/// The security groups among `ids` that exist, by ID (filtered, as above).
async fn describe_groups(
    aws: &AwsClients,
    ids: Vec<String>,
) -> Result<HashMap<String, SecurityGroup>, Diagnostics> {
    described_by_id(&ids, SecurityGroup::group_id, |chunk, token| async move {
        let page = aws
            .ec2
            .describe_security_groups()
            .filters(any_of("group-id", &chunk))
            .set_next_token(token)
            .send()
            .await
            .map_err(|e| aws_error("read the endpoint's security group", &e))?;
        Ok((
            page.security_groups().to_vec(),
            page.next_token().map(str::to_string),
        ))
    })
    .await
}

async fn default_group(aws: &AwsClients, vpc_id: &str) -> Result<String, Diagnostics> {
    let out = aws
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .filters(
            Filter::builder()
                .name("group-name")
                .values("default")
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_error("find the VPC's default security group", &e))?;
    out.security_groups()
        .first()
        .and_then(|g| g.group_id().map(str::to_string))
        .ok_or_else(|| {
            Diagnostic::error(
                "No default security group",
                format!("{vpc_id} has no default security group; set security_group_ids."),
            )
            .into()
        })
}

/// The owned group's name, from what identifies the endpoint (one per
/// service per VPC): an interrupted apply, or a re-create after the endpoint
/// was deleted by hand, adopts the group instead of leaving one behind.
fn owned_group_name(vpc_id: &str, service: &str) -> String {
    let id = service.rsplit('.').next().unwrap_or(service);
    format!("privatelink-{vpc_id}-{id}")
}

/// Creates the owned group (or adopts the one of the same name) and sets its
/// rules.
async fn ensure_owned_group(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    vpc_id: &str,
    service: &str,
    ports: &[i64],
    tags: Option<&BTreeMap<String, String>>,
) -> Result<String, Diagnostics> {
    let name = owned_group_name(vpc_id, service);
    let mut all_tags = tags.cloned().unwrap_or_default();
    all_tags.insert(OWNED_TAG.to_string(), "true".to_string());
    all_tags
        .entry("Name".to_string())
        .or_insert_with(|| name.clone());
    let cidrs = recent_vpc_cidrs(ctx, aws, vpc_id).await?;
    let created = aws
        .ec2
        .create_security_group()
        .group_name(&name)
        .description(OWNED_GROUP_DESCRIPTION)
        .vpc_id(vpc_id)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .set_tags(Some(ec2_tags(&all_tags)))
                .build(),
        )
        .send()
        .await;
    // A group just created has no ingress rules; an adopted one is read.
    let (group, existing) = match created {
        Ok(out) => (out.group_id.unwrap_or_default(), Some(Vec::new())),
        Err(e) if error_code(&e) == Some("InvalidGroup.Duplicate") => (
            aws.ec2
                .describe_security_groups()
                .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
                .filters(Filter::builder().name("group-name").values(&name).build())
                .send()
                .await
                .map_err(|e| aws_error("find the endpoint's security group", &e))?
                .security_groups()
                .first()
                .and_then(|g| g.group_id().map(str::to_string))
                .unwrap_or_default(),
            None,
        ),
        Err(e) => return Err(aws_error("create the endpoint's security group", &e)),
    };
    if group.is_empty() {
        return Err(Diagnostic::error(
            "Failed to create the endpoint's security group",
            "AWS returned no group ID.",
        )
        .into());
    }
    let existing = match existing {
        Some(rules) => rules,
        None => {
            let rules = group_rules(aws, &group).await?;
            check_shared_ports(aws, vpc_id, &group, None, &rules, ports).await?;
            rules
        }
    };
    set_group_rules(aws, ctx, &group, Some(existing), &cidrs, ports).await?;
    Ok(group)
}

/// The ingress rules of a group as (port, cidr) pairs, and whether every
/// rule has that simple shape.
fn simple_rules(perms: &[IpPermission]) -> (BTreeSet<(i64, String)>, bool) {
    let mut pairs = BTreeSet::new();
    let mut simple = true;
    for p in perms {
        let single_tcp_port = p.ip_protocol() == Some("tcp") && p.from_port() == p.to_port();
        if !single_tcp_port
            || !p.ipv6_ranges().is_empty()
            || !p.user_id_group_pairs().is_empty()
            || !p.prefix_list_ids().is_empty()
        {
            simple = false;
        }
        if single_tcp_port {
            for r in p.ip_ranges() {
                if let (Some(port), Some(cidr)) = (p.from_port(), r.cidr_ip()) {
                    pairs.insert((i64::from(port), cidr.to_string()));
                }
            }
        }
    }
    (pairs, simple)
}

/// Makes the group admit exactly TCP `ports` from `cidrs`: revokes anything
/// else (rules added by hand), adds what is missing. `existing` is the
/// group's ingress when the caller knows it (a group it just created), else
/// it is read.
async fn set_group_rules(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    group: &str,
    existing: Option<Vec<IpPermission>>,
    cidrs: &[String],
    ports: &[i64],
) -> Result<(), Diagnostics> {
    let existing: Vec<IpPermission> = match existing {
        Some(perms) => perms,
        None => group_rules(aws, group).await?,
    };
    let wanted: BTreeSet<(i64, String)> = ports
        .iter()
        .flat_map(|p| cidrs.iter().map(move |c| (*p, c.clone())))
        .collect();
    let (have, _) = simple_rules(&existing);
    // Revoke whole permissions that are not simple, and simple pairs that
    // are not wanted.
    let mut revoke: Vec<IpPermission> = Vec::new();
    for p in &existing {
        let single_tcp_port = p.ip_protocol() == Some("tcp") && p.from_port() == p.to_port();
        if !single_tcp_port {
            revoke.push(p.clone());
            continue;
        }
        let port = i64::from(p.from_port().unwrap_or_default());
        let extra_ranges: Vec<IpRange> = p
            .ip_ranges()
            .iter()
            .filter(|r| {
                r.cidr_ip()
                    .is_none_or(|c| !wanted.contains(&(port, c.to_string())))
            })
            .cloned()
            .collect();
        let others = !p.ipv6_ranges().is_empty()
            || !p.user_id_group_pairs().is_empty()
            || !p.prefix_list_ids().is_empty();
        if !extra_ranges.is_empty() || others {
            revoke.push(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(port as i32)
                    .to_port(port as i32)
                    .set_ip_ranges((!extra_ranges.is_empty()).then_some(extra_ranges))
                    .set_ipv6_ranges(Some(p.ipv6_ranges().to_vec()).filter(|v| !v.is_empty()))
                    .set_user_id_group_pairs(
                        Some(p.user_id_group_pairs().to_vec()).filter(|v| !v.is_empty()),
                    )
                    .set_prefix_list_ids(
                        Some(p.prefix_list_ids().to_vec()).filter(|v| !v.is_empty()),
                    )
                    .build(),
            );
        }
    }
    if !revoke.is_empty() {
        aws.ec2
            .revoke_security_group_ingress()
            .group_id(group)
            .set_ip_permissions(Some(revoke))
            .send()
            .await
            .map_err(|e| aws_error("remove rules from the endpoint's security group", &e))?;
    }
    let missing: BTreeMap<i64, Vec<String>> =
        wanted
            .difference(&have)
            .fold(BTreeMap::new(), |mut m, (port, cidr)| {
                m.entry(*port).or_insert_with(Vec::new).push(cidr.clone());
                m
            });
    if !missing.is_empty() {
        let perms: Vec<IpPermission> = missing
            .into_iter()
            .map(|(port, cidrs)| {
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(port as i32)
                    .to_port(port as i32)
                    .set_ip_ranges(Some(
                        cidrs
                            .into_iter()
                            .map(|c| {
                                IpRange::builder()
                                    .cidr_ip(c)
                                    .description("From the VPC only")
                                    .build()
                            })
                            .collect(),
                    ))
                    .build()
            })
            .collect();
        // A group just created may not be visible yet (EC2 is eventually
        // consistent): NotFound is retried for as long as AWS's own provider
        // waits for a new group, or until Terraform asks to stop.
        let since = std::time::Instant::now();
        loop {
            match aws
                .ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
            {
                Ok(_) => break,
                // A retried call whose first attempt landed.
                Err(e) if error_code(&e) == Some("InvalidPermission.Duplicate") => break,
                Err(e)
                    if error_code(&e) == Some("InvalidGroup.NotFound")
                        && since.elapsed() < NEW_GROUP_VISIBLE_WITHIN =>
                {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = ctx.stopped() => {
                            return Err(wait_error(&format!("{group} to be visible"), WaitError::Stopped));
                        }
                    }
                }
                Err(e) => return Err(aws_error("add rules to the endpoint's security group", &e)),
            }
        }
    }
    Ok(())
}

/// A group's ingress rules as they are now.
async fn group_rules(aws: &AwsClients, group: &str) -> Result<Vec<IpPermission>, Diagnostics> {
    Ok(aws
        .ec2
        .describe_security_groups()
        .group_ids(group)
        .send()
        .await
        .map_err(|e| aws_error("read the endpoint's security group", &e))?
        .security_groups()
        .first()
        .map(|g| g.ip_permissions().to_vec())
        .unwrap_or_default())
}

/// The live endpoints in `vpc_id` that carry `group`, but `except`.
async fn endpoints_using_group(
    aws: &AwsClients,
    vpc_id: &str,
    group: &str,
    except: Option<&str>,
) -> Result<Vec<String>, Diagnostics> {
    let mut users = Vec::new();
    let mut pages = aws
        .ec2
        .describe_vpc_endpoints()
        .filters(Filter::builder().name("vpc-id").values(vpc_id).build())
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("list the VPC's endpoints", &e))?;
        users.extend(
            page.vpc_endpoints()
                .iter()
                .filter(|e| {
                    !is_deleted(e) && e.groups().iter().any(|g| g.group_id() == Some(group))
                })
                .filter_map(|e| e.vpc_endpoint_id())
                .filter(|id| Some(*id) != except)
                .map(str::to_string),
        );
    }
    Ok(users)
}

/// The ports a plan's or state's `allow_from_vpc_cidr` admits, once all
/// are known.
fn ports_of(value: &Value) -> Option<Vec<i64>> {
    value
        .get("allow_from_vpc_cidr")
        .and_then(|b| b.get("ports"))
        .filter(|p| p.is_fully_known())?
        .elements()?
        .iter()
        .map(|p| p.as_number()?.as_i64())
        .collect()
}

/// Endpoints to one service from one VPC share the owned group (it is
/// named per VPC and service), so its ports are theirs together: a
/// different set for one would silently close the others' ports.
async fn check_shared_ports(
    aws: &AwsClients,
    vpc_id: &str,
    group: &str,
    except: Option<&str>,
    rules: &[IpPermission],
    ports: &[i64],
) -> Result<(), Diagnostics> {
    let (pairs, _) = simple_rules(rules);
    let current: BTreeSet<i64> = pairs.iter().map(|(p, _)| *p).collect();
    let wanted: BTreeSet<i64> = ports.iter().copied().collect();
    if current == wanted {
        return Ok(());
    }
    let users = endpoints_using_group(aws, vpc_id, group, except).await?;
    if users.is_empty() {
        return Ok(());
    }
    let list = |ports: &BTreeSet<i64>| {
        ports
            .iter()
            .map(i64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(Diagnostic::error(
        "Security group shared with another endpoint",
        format!(
            "{group}, the group allow_from_vpc_cidr makes for this service in {vpc_id}, is shared with {} (endpoints to one service from one VPC share it), which admit ports [{}]. Changing them to [{}] would close the others' ports. Give this endpoint groups of its own with security_group_ids instead of allow_from_vpc_cidr; or, to change the ports for all of them, first leave this endpoint the group's only user (the others on security_group_ids), change the ports, then give the others the same allow_from_vpc_cidr. If one of them is the endpoint this one replaces under create_before_destroy, it is destroyed only after this create: make this change without create_before_destroy.",
            users.join(", "),
            list(&current),
            list(&wanted)
        ),
    )
    .at(AttributePath::attr("allow_from_vpc_cidr").then_attr("ports"))
    .into())
}

/// Deletes the owned group, waiting out the seconds in which the deleted
/// endpoint's interfaces still hold it.
async fn delete_group(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    group: &str,
    timeout: Duration,
) -> Result<(), Diagnostics> {
    timeouts::poll(
        timeout,
        Duration::from_millis(500),
        ctx.stopped(),
        || async {
            match aws.ec2.delete_security_group().group_id(group).send().await {
                Ok(_) => Ok(Ok(())),
                Err(e) if is_not_found(&e) => Ok(Ok(())),
                Err(e) if error_code(&e) == Some("DependencyViolation") => {
                    Ok(Err("in use by network interfaces".to_string()))
                }
                // Another group's rule still names it (AWS's provider waits
                // on this too: the rule's owner may be on its way out).
                Err(e) if error_code(&e) == Some("InvalidGroup.InUse") => Ok(Err(format!(
                    "named in another group's rule ({})",
                    crate::provider::aws::error_text(&e)
                ))),
                Err(e) => Err(aws_error("delete the endpoint's security group", &e)),
            }
        },
    )
    .await
    .map_err(|e| wait_error(&format!("{group} to be released"), e))
}

/// The partner service's detail (None when not visible), as this process
/// read it moments ago if it did: the endpoints to one service are planned
/// together.
async fn recent_service_detail(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    service: &str,
) -> Result<std::sync::Arc<Option<ServiceDetail>>, Diagnostics> {
    ctx.data
        .recent(&format!("endpoint-service:{service}"), JUST_CHECKED, || {
            endpoint_service_detail(aws, service)
        })
        .await
}

/// Whether endpoints to `service` take a policy other than full access;
/// true when the service cannot be read (apply then meets AWS's answer).
async fn takes_endpoint_policies(ctx: &Ctx<ProviderData>, aws: &AwsClients, service: &str) -> bool {
    let Ok(detail) = recent_service_detail(ctx, aws, service).await else {
        return true;
    };
    (*detail)
        .as_ref()
        .and_then(ServiceDetail::vpc_endpoint_policy_supported)
        != Some(false)
}

/// One statement allowing every principal every action on every resource,
/// with no condition: what AWS stores by default, and all a partner's
/// service takes.
fn is_full_access(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one @ serde_json::Value::Object(_) => vec![one.clone()],
        _ => return false,
    };
    let [st] = statements.as_slice() else {
        return false;
    };
    let any = |v: &serde_json::Value| v == "*" || *v == serde_json::json!(["*"]);
    let only_these_keys = st.as_object().is_some_and(|keys| {
        keys.keys()
            .all(|k| ["Sid", "Effect", "Principal", "Action", "Resource"].contains(&k.as_str()))
    });
    only_these_keys
        && st["Effect"] == "Allow"
        && (any(&st["Principal"]) || any(&st["Principal"]["AWS"]))
        && any(&st["Action"])
        && any(&st["Resource"])
}

/// Whether an endpoint to `service` starts pendingAcceptance: the service
/// accepts connections by hand and belongs to another account (AWS accepts
/// its owner's own endpoints at once). Unknown (a service not visible, an
/// identity not readable) counts as no: the create meets AWS's own answer.
async fn awaits_acceptance(ctx: &Ctx<ProviderData>, aws: &AwsClients, service: &str) -> bool {
    let Ok(detail) = recent_service_detail(ctx, aws, service).await else {
        return false;
    };
    let Some(d) = (*detail).as_ref() else {
        return false;
    };
    if d.acceptance_required() != Some(true) {
        return false;
    }
    match aws.caller_account().await {
        Ok(account) => d.owner() != Some(account.as_str()),
        Err(_) => false,
    }
}

fn dns_before_acceptance(detail: &str) -> Diagnostic {
    Diagnostic::error("Private DNS before acceptance", detail)
        .at(AttributePath::attr("private_dns_enabled"))
}

/// With the endpoint gone (deleted outside Terraform, or a create that
/// failed after making the owned group), the state that keeps that group,
/// with no endpoint ID: destroy then deletes it and the next apply replaces
/// the endpoint, where forgetting it would leave it in the VPC (and a VPC
/// with it cannot be deleted). None when there is no such group.
async fn orphaned_group(aws: &AwsClients, prior: &State) -> Result<Option<State>, Diagnostics> {
    let Some(group) = &prior.owned_security_group_id else {
        return Ok(None);
    };
    if !describe_groups(aws, vec![group.clone()])
        .await?
        .contains_key(group)
    {
        return Ok(None);
    }
    Ok(Some(State {
        id: None,
        ..prior.clone()
    }))
}

/// Why a refresh shows the endpoint's ID going to null rather than the
/// endpoint as deleted: its security group is still in state.
fn deleted_outside(id: &str, group: &str) -> Diagnostic {
    Diagnostic::warning(
        "VPC endpoint no longer exists",
        format!("{id} no longer exists: it was deleted outside Terraform, or by a destroy that could not finish deleting its security group. That group, {group}, still exists, so the resource stays in state without an endpoint ID: the next apply deletes the group and, if the configuration still has this endpoint, makes it anew with a new group; `terraform destroy` deletes the group. `terraform state rm` would leave the group behind in the VPC."),
    )
    .at(AttributePath::attr("id"))
}

/// The endpoint, unless it is gone (or going).
async fn describe(aws: &AwsClients, id: &str) -> Result<Option<VpcEndpoint>, Diagnostics> {
    Ok(endpoint(aws, id).await?.filter(|e| !is_deleted(e)))
}

/// The endpoint as AWS lists it, deleted ones included. Concurrent reads,
/// waits and creates share one DescribeVpcEndpoints.
async fn endpoint(aws: &AwsClients, id: &str) -> Result<Option<VpcEndpoint>, Diagnostics> {
    let endpoints = aws
        .coalesced("ec2:DescribeVpcEndpoints")
        .get(id.to_string(), |ids| describe_endpoints(aws, ids))
        .await?;
    Ok(endpoints.get(id).cloned())
}

/// Gone for good.
fn is_gone(e: &VpcEndpoint) -> bool {
    matches!(e.state().map(|s| s.as_str()), Some("deleted" | "Deleted"))
}

/// Gone or going.
fn is_deleted(e: &VpcEndpoint) -> bool {
    matches!(
        e.state().map(|s| s.as_str()),
        Some("deleted" | "Deleted" | "deleting" | "Deleting")
    )
}

/// The endpoints among `ids` that exist, by ID (filtered, so that one
/// deleted meanwhile does not fail the others).
async fn describe_endpoints(
    aws: &AwsClients,
    ids: Vec<String>,
) -> Result<HashMap<String, VpcEndpoint>, Diagnostics> {
    described_by_id(
        &ids,
        VpcEndpoint::vpc_endpoint_id,
        |chunk, token| async move {
            let page = aws
                .ec2
                .describe_vpc_endpoints()
                .filters(any_of("vpc-endpoint-id", &chunk))
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| aws_error("read the VPC endpoint", &e))?;
            Ok((
                page.vpc_endpoints().to_vec(),
                page.next_token().map(str::to_string),
            ))
        },
    )
    .await
}

/// Waits until the endpoint is usable (`available`), or, when
/// `accept_pending`, until it waits on the partner (`pendingAcceptance`);
/// returns it as last described.
async fn wait_settled(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    id: &str,
    accept_pending: bool,
    timeout: Duration,
) -> Result<VpcEndpoint, Diagnostics> {
    timeouts::poll(timeout, Duration::from_millis(200), ctx.stopped(), || async {
        let Some(endpoint) = describe(aws, id).await? else {
            return Ok(Err("not found".to_string()));
        };
        let state = endpoint.state().map(|s| s.as_str().to_string());
        match state.as_deref() {
            Some("available" | "Available") => Ok(Ok(endpoint)),
            Some("pendingAcceptance" | "PendingAcceptance") if accept_pending => Ok(Ok(endpoint)),
            Some("pendingAcceptance" | "PendingAcceptance") => Ok(Err("pendingAcceptance".into())),
            Some("pending" | "Pending") | None => Ok(Err(state.unwrap_or_else(|| "unknown".into()))),
            Some(s @ ("rejected" | "Rejected" | "expired" | "Expired")) => Err(Diagnostic::error(
                "The VPC endpoint was not accepted",
                format!("{id} is {s}. Ask the service provider to accept connections from your account, then replace the endpoint."),
            )
            .into()),
            // As AWS's provider does: any other state will not turn into
            // `available` by waiting, so say so now rather than at the timeout.
            Some(s) => {
                let reason = endpoint
                    .failure_reason()
                    .map(|r| format!(" AWS gives the reason: {r}"))
                    .unwrap_or_default();
                let creating = crate::framework::operation::current()
                    .is_some_and(|c| c.operation == Operation::Create);
                let then = if creating {
                    "after a failed create Terraform marks it tainted, so the next apply does that"
                } else {
                    "run `terraform apply -replace=<its address>`"
                };
                Err(Diagnostic::error(
                    "The VPC endpoint did not become available",
                    format!("{id} is {s}, not available.{reason} Fix the cause, then replace the endpoint: {then}."),
                )
                .into())
            }
        }
    })
    .await
    .map_err(|e| {
        let pending = matches!(&e, WaitError::TimedOut { last: Some(l) } if l.eq_ignore_ascii_case("pendingAcceptance"));
        let mut d = wait_error(&format!("{id} to become available"), e);
        if pending {
            // Terraform taints an object whose create failed; replacing a
            // pending endpoint would drop its request from the partner's
            // queue and start a new one.
            for diag in &mut d.0 {
                diag.detail.push_str(" The endpoint is kept, still waiting for the partner to accept, but Terraform marks it tainted, so the next apply would replace it with a new request. Once the partner has accepted, run `terraform untaint` on it (or set wait_for_acceptance = false to end creation at pendingAcceptance).");
            }
        }
        d
    })
}

/// Reads the endpoint as it is: one call for the endpoint, one for the
/// owned group when there is one.
async fn read(aws: &AwsClients, id: &str, prior: &State) -> Result<Option<State>, Diagnostics> {
    match describe(aws, id).await? {
        Some(e) => from_endpoint(aws, e, prior).await,
        None => Ok(None),
    }
}

async fn from_endpoint(
    aws: &AwsClients,
    e: VpcEndpoint,
    prior: &State,
) -> Result<Option<State>, Diagnostics> {
    let id = e.vpc_endpoint_id().unwrap_or_default().to_string();
    let mut owned = prior.owned_security_group_id.clone();
    let mut allow = prior.allow_from_vpc_cidr.clone();
    if let Some(sg) = &prior.owned_security_group_id {
        let groups = aws
            .coalesced("ec2:DescribeSecurityGroups")
            .get(sg.clone(), |ids| describe_groups(aws, ids))
            .await?;
        match groups.get(sg) {
            Some(g) => {
                let perms = g.ip_permissions();
                let (pairs, simple) = simple_rules(perms);
                let ports: BTreeSet<i64> = pairs.iter().map(|(p, _)| *p).collect();
                let cidrs: BTreeSet<String> = pairs.iter().map(|(_, c)| c.clone()).collect();
                // Only a full ports x CIDRs grid is what the block means.
                let grid = simple && pairs.len() == ports.len() * cidrs.len();
                allow = Some(AllowFromVpcCidr {
                    ports: ports.into_iter().collect(),
                    cidr_blocks: Some(if grid {
                        cidrs.into_iter().collect()
                    } else {
                        Vec::new()
                    }),
                });
            }
            // Deleted by hand: the next plan creates a new one.
            None => owned = None,
        }
    }
    let remote_policy = e.policy_document().map(str::to_string);
    let policy = match (&prior.policy, &remote_policy) {
        (Some(p), Some(r)) if same_json(p, r) => Some(p.clone()),
        _ => remote_policy,
    };
    let (tags, tags_all) = read_tags(
        aws,
        tag_map(e.tags()),
        prior.tags.as_ref(),
        prior.tags_all.as_ref(),
    );
    Ok(Some(State {
        id: Some(id),
        service_name: e.service_name().unwrap_or_default().to_string(),
        vpc_id: e.vpc_id().unwrap_or_default().to_string(),
        subnet_ids: sorted(e.subnet_ids().to_vec()),
        security_group_ids: Some(sorted(
            e.groups()
                .iter()
                .filter_map(|g| g.group_id().map(str::to_string))
                .collect(),
        )),
        allow_from_vpc_cidr: allow,
        private_dns_enabled: e.private_dns_enabled().or(Some(false)),
        policy,
        wait_for_acceptance: prior.wait_for_acceptance.or(Some(false)),
        tags,
        tags_all: Some(tags_all),
        timeouts: prior.timeouts.clone(),
        state: e.state().map(|s| s.as_str().to_string()),
        dns_entries: Some(
            e.dns_entries()
                .iter()
                .map(|d| DnsEntry {
                    dns_name: d.dns_name().map(str::to_string),
                    hosted_zone_id: d.hosted_zone_id().map(str::to_string),
                })
                .collect(),
        ),
        network_interface_ids: Some(sorted(e.network_interface_ids().to_vec())),
        owned_security_group_id: owned,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_dns_is_refused_without_a_name_and_warned_of_until_verified() {
        let svc = "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0";
        let with = |state: Option<DnsNameState>| {
            ServiceDetail::builder()
                .private_dns_name("api.partner.example")
                .set_private_dns_name_verification_state(state)
                .build()
        };
        let at = Some(AttributePath::attr("private_dns_enabled"));

        let none = private_dns_finding(svc, Some(&ServiceDetail::builder().build())).unwrap();
        assert!(none.is_error());
        assert_eq!(none.summary, "No private DNS name to enable");
        assert_eq!(none.path, at);

        for state in [DnsNameState::PendingVerification, DnsNameState::Failed] {
            let d = private_dns_finding(svc, Some(&with(Some(state.clone())))).unwrap();
            assert!(!d.is_error(), "{state:?}");
            assert_eq!(d.summary, "Private DNS name not verified");
            assert!(d.detail.contains(state.as_str()), "{}", d.detail);
            assert!(d.detail.contains("api.partner.example"), "{}", d.detail);
            assert_eq!(d.path, at);
        }
        assert!(private_dns_finding(svc, Some(&with(Some(DnsNameState::Verified)))).is_none());
        // Not reported: nothing to warn of.
        assert!(private_dns_finding(svc, Some(&with(None))).is_none());
        // A service that cannot be seen is reported on service_name instead.
        assert!(private_dns_finding(svc, None).is_none());
    }

    #[test]
    fn the_owned_groups_two_tags_count_only_with_the_block_and_no_name() {
        let config = |block: bool, name: bool| {
            let mut tags: std::collections::BTreeMap<String, Value> = (0..48)
                .map(|i| (format!("k{i}"), Value::string("v")))
                .collect();
            tags.insert(if name { "Name" } else { "k48" }.into(), Value::string("v"));
            let block = if block {
                Value::object([("ports", Value::List(vec![Value::int(443)]))])
            } else {
                Value::Null
            };
            Value::object([("tags", Value::Map(tags)), ("allow_from_vpc_cidr", block)])
        };
        let errors = |c: Value| {
            let mut d = Diagnostics::new();
            VpcEndpointResource.validate(&c, &mut d);
            d.0.iter().map(|x| x.summary.clone()).collect::<Vec<_>>()
        };
        assert_eq!(
            errors(config(true, false)),
            vec!["Too many tags".to_string()]
        );
        assert!(errors(config(true, true)).is_empty());
        assert!(errors(config(false, false)).is_empty());
    }

    #[test]
    fn full_access_is_one_statement_allowing_everything() {
        let full = r#"{"Version":"2008-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#;
        assert!(is_full_access(full));
        assert!(is_full_access(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["*"],"Resource":"*"}}"#
        ));
        for narrower in [
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"*","Resource":"*"}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*","Condition":{"StringEquals":{"aws:PrincipalAccount":"1"}}}]}"#,
            r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"*","NotResource":"arn:aws:s3:::x/*"}]}"#,
            r#"{"Statement":[]}"#,
            "not json",
        ] {
            assert!(!is_full_access(narrower), "{narrower}");
        }
    }

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(VpcEndpointResource.schema().lint(), Vec::<String>::new());
    }

    #[test]
    fn policies_compare_as_json() {
        assert!(same_json(
            r#"{"Statement":[{"Effect":"Allow"}]}"#,
            "{\n  \"Statement\": [ { \"Effect\": \"Allow\" } ]\n}"
        ));
        assert!(!same_json(
            r#"{"Statement":[{"Effect":"Allow"}]}"#,
            r#"{"Statement":[{"Effect":"Deny"}]}"#
        ));
    }

    #[test]
    fn only_a_full_grid_of_simple_rules_is_the_owned_shape() {
        let rule = |port: i32, cidrs: &[&str]| {
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(port)
                .to_port(port)
                .set_ip_ranges(Some(
                    cidrs
                        .iter()
                        .map(|c| IpRange::builder().cidr_ip(*c).build())
                        .collect(),
                ))
                .build()
        };
        let (pairs, simple) = simple_rules(&[rule(443, &["10.0.0.0/16", "10.1.0.0/16"])]);
        assert!(simple);
        assert_eq!(pairs.len(), 2);
        let all_traffic = IpPermission::builder().ip_protocol("-1").build();
        let (_, simple) = simple_rules(&[rule(443, &["10.0.0.0/16"]), all_traffic]);
        assert!(!simple);
    }

    /// One group beside the block may be the owned one, which only the
    /// plan knows; two never can be.
    #[test]
    fn both_ways_of_choosing_groups_conflict() {
        let cfg = Value::object([
            (
                "security_group_ids",
                Value::Set(vec![Value::string("sg-1"), Value::string("sg-2")]),
            ),
            (
                "allow_from_vpc_cidr",
                Value::object([("ports", Value::Set(vec![Value::int(443)]))]),
            ),
            ("policy", Value::string("{not json")),
        ]);
        let mut d = Diagnostics::new();
        VpcEndpointResource.validate(&cfg, &mut d);
        let paths: Vec<String> = d
            .iter()
            .map(|d| d.path.as_ref().unwrap().to_string())
            .collect();
        assert_eq!(paths, vec!["security_group_ids", "policy"]);
    }
}
