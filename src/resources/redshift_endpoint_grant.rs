//! Resource `privatelink_redshift_endpoint_grant`: lets another AWS account
//! (a vendor's) create Redshift-managed VPC endpoints to one of your
//! clusters, from all of its VPCs or from the ones listed.
//!
//! Redshift accepts such a grant only for RA3 clusters with relocation on and
//! a port in 5431-5455 or 8191-8215. The plan checks these with one
//! DescribeClusters when the cluster can be read, and apply checks them again,
//! so an ineligible cluster is reported on `cluster_identifier` before
//! anything changes. VPC changes authorize the added VPCs and revoke only the
//! removed ones; destroy refuses while the grantee still has endpoints unless
//! `force_revoke` lets Redshift delete them, and waits until the grant is gone.
//! `vendor_handoff` holds what the vendor's runbook asks you to send.

use super::{aws_error, held_by_the_replacement, hold, invalid_state, sorted, wait_error};
use crate::framework::operation::Operation;
use crate::framework::plan::PlanContext;
use crate::framework::resource::{ApplyResult, Ctx, ReadResult, Resource};
use crate::framework::timeouts::{self, Timeouts};
use crate::framework::validators::{each, pattern};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::aws::{error_code, AwsClients};
use crate::provider::permissions::Permissions;
use crate::provider::shapes::{aws_account_id, vpc_id};
use crate::provider::{ProviderData, JUST_CHECKED};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// The AWS actions each operation may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[
    (
        Operation::Read,
        &[
            "ec2:DescribeAvailabilityZones",
            "redshift:DescribeClusters",
            "redshift:DescribeEndpointAuthorization",
        ],
    ),
    (
        Operation::Plan,
        &[
            "redshift:DescribeClusters",
            "redshift:DescribeEndpointAuthorization",
        ],
    ),
    (
        Operation::Create,
        &[
            "ec2:DescribeAvailabilityZones",
            "redshift:AuthorizeEndpointAccess",
            "redshift:DescribeClusters",
            "redshift:DescribeEndpointAuthorization",
        ],
    ),
    (
        Operation::Update,
        &[
            "ec2:DescribeAvailabilityZones",
            "redshift:AuthorizeEndpointAccess",
            "redshift:DescribeClusters",
            "redshift:DescribeEndpointAuthorization",
            "redshift:RevokeEndpointAccess",
        ],
    ),
    (
        Operation::Delete,
        &[
            "redshift:DescribeEndpointAuthorization",
            "redshift:RevokeEndpointAccess",
        ],
    ),
    (
        Operation::Import,
        &[
            "ec2:DescribeAvailabilityZones",
            "redshift:DescribeClusters",
            "redshift:DescribeEndpointAuthorization",
        ],
    ),
];

pub struct RedshiftEndpointGrant;

const CREATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

/// Ports a cluster with relocation may use (Redshift's relocation docs).
const PORT_RANGES: [(i32, i32); 2] = [(5431, 5455), (8191, 8215)];

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Handoff {
    pub cluster_identifier: String,
    pub region: String,
    pub account: String,
    pub availability_zone_ids: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    id: Option<String>,
    cluster_identifier: String,
    grantee_account: String,
    vpc_ids: Option<Vec<String>>,
    force_revoke: Option<bool>,
    timeouts: Option<Timeouts>,
    status: Option<String>,
    grantor: Option<String>,
    allowed_all_vpcs: Option<bool>,
    endpoint_count: Option<i64>,
    authorize_time: Option<String>,
    cluster_status: Option<String>,
    vendor_handoff: Option<Handoff>,
}

/// An endpoint authorization as AWS reports it, whichever call returned it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Grant {
    grantor: String,
    grantee: String,
    cluster_identifier: String,
    authorize_time: Option<String>,
    cluster_status: Option<String>,
    status: String,
    allowed_all_vpcs: bool,
    allowed_vpcs: Vec<String>,
    endpoint_count: i64,
}

fn time_text(t: Option<&aws_smithy_types::DateTime>) -> Option<String> {
    t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
}

impl From<&aws_sdk_redshift::types::EndpointAuthorization> for Grant {
    fn from(a: &aws_sdk_redshift::types::EndpointAuthorization) -> Grant {
        Grant {
            grantor: a.grantor().unwrap_or_default().to_string(),
            grantee: a.grantee().unwrap_or_default().to_string(),
            cluster_identifier: a.cluster_identifier().unwrap_or_default().to_string(),
            authorize_time: time_text(a.authorize_time()),
            cluster_status: a.cluster_status().map(str::to_string),
            status: a
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            allowed_all_vpcs: a.allowed_all_vpcs().unwrap_or(false),
            allowed_vpcs: sorted(a.allowed_vpcs().to_vec()),
            endpoint_count: i64::from(a.endpoint_count().unwrap_or(0)),
        }
    }
}

impl From<&aws_sdk_redshift::operation::authorize_endpoint_access::AuthorizeEndpointAccessOutput>
    for Grant
{
    fn from(
        a: &aws_sdk_redshift::operation::authorize_endpoint_access::AuthorizeEndpointAccessOutput,
    ) -> Grant {
        Grant {
            grantor: a.grantor().unwrap_or_default().to_string(),
            grantee: a.grantee().unwrap_or_default().to_string(),
            cluster_identifier: a.cluster_identifier().unwrap_or_default().to_string(),
            authorize_time: time_text(a.authorize_time()),
            cluster_status: a.cluster_status().map(str::to_string),
            status: a
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            allowed_all_vpcs: a.allowed_all_vpcs().unwrap_or(false),
            allowed_vpcs: sorted(a.allowed_vpcs().to_vec()),
            endpoint_count: i64::from(a.endpoint_count().unwrap_or(0)),
        }
    }
}

/// What the prerequisite checks and the hand-off need of a cluster.
#[derive(Clone, Debug, Default, PartialEq)]
struct ClusterFacts {
    node_type: Option<String>,
    relocation: Option<String>,
    port: Option<i32>,
    /// The cluster's AZ names (a Multi-AZ cluster's secondary too).
    zones: Vec<String>,
}

impl From<&aws_sdk_redshift::types::Cluster> for ClusterFacts {
    fn from(c: &aws_sdk_redshift::types::Cluster) -> ClusterFacts {
        let zones = c
            .availability_zone()
            .into_iter()
            .chain(c.multi_az_secondary().and_then(|s| s.availability_zone()))
            .filter(|z| !z.is_empty())
            .map(str::to_string)
            .collect();
        ClusterFacts {
            node_type: c.node_type().map(str::to_string),
            relocation: c.availability_zone_relocation_status().map(str::to_string),
            port: c.endpoint().and_then(|e| e.port()),
            zones: sorted(zones),
        }
    }
}

fn handoff_type() -> Type {
    Type::object([
        ("cluster_identifier", Type::String),
        ("region", Type::String),
        ("account", Type::String),
        ("availability_zone_ids", Type::list(Type::String)),
    ])
}

fn cluster_path() -> AttributePath {
    AttributePath::attr("cluster_identifier")
}

#[async_trait]
impl Resource<ProviderData> for RedshiftEndpointGrant {
    fn type_name(&self) -> &'static str {
        "privatelink_redshift_endpoint_grant"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Grants another AWS account (a vendor's) access to a Redshift cluster through Redshift-managed VPC endpoints, from all of its VPCs or only the ones listed. The cluster must be RA3, have relocation turned on and listen on a port within 5431-5455 or 8191-8215: the plan checks this when it can read the cluster, and apply checks it again. `vendor_handoff` holds what the vendor's runbook asks you to send: cluster identifier, region, account and the cluster's AZ IDs.")
                .attribute(Attribute::computed("id", Type::String).description("`CLUSTER:ACCOUNT`, the form `terraform import` takes.").use_state_for_unknown())
                .attribute(
                    Attribute::required("cluster_identifier", Type::String)
                        .description("The cluster to grant access to, in the provider's account and region. When the cluster is created in the same configuration, reference its computed ID (`aws_redshift_cluster.x.id`): the plan-time check then waits for apply instead of reporting the cluster missing.")
                        .requires_replace()
                        .validate(
                            pattern(r"^[a-z](-?[a-z0-9])*$", "a Redshift cluster identifier: lowercase letters, digits and single hyphens, starting with a letter")
                                .length(1, 63),
                        ),
                )
                .attribute(
                    Attribute::required("grantee_account", Type::String)
                        .description("The AWS account to grant access to, e.g. `data.privatelink_vendor.sigma.aws_account_id`.")
                        .requires_replace()
                        .validate(aws_account_id()),
                )
                .attribute(
                    Attribute::optional("vpc_ids", Type::set(Type::String))
                        .description("The grantee's VPCs that may create endpoints to the cluster, e.g. `[data.privatelink_vendor.sigma.redshift_vpc_id]`. **Empty (the default) allows all VPCs of the grantee account.** Adding or removing VPCs changes the grant in place: only the added VPCs are authorized and only the removed ones revoked. Switching between all VPCs and a list replaces the grant, since Redshift cannot narrow or widen an all-VPCs grant in place.")
                        .default(Value::Set(Vec::new()))
                        .validate(each(vpc_id())),
                )
                .attribute(
                    Attribute::optional("force_revoke", Type::Bool)
                        .description("When revoking (destroy, or removing a VPC), also delete the grantee's Redshift-managed endpoints that use the grant. When false, destroy fails while the grantee still has endpoints, naming how many and whose (under Terraform 1.3 and later while the destroy is planned, before anything else is destroyed), and so does a plan that replaces it for a new cluster, grantee or VPC mode; set it to true and apply before destroying to remove them with the grant.")
                        .default(Value::Bool(false))
                        .provider_only(),
                )
                .attribute(Attribute::computed("status", Type::String).description("The grant's status: `Authorized` (a grant being revoked reads as gone)."))
                .attribute(Attribute::computed("grantor", Type::String).description("The account that owns the cluster.").use_state_for_unknown())
                .attribute(Attribute::computed("allowed_all_vpcs", Type::Bool).description("Whether every VPC of the grantee account may create endpoints (`vpc_ids` is empty)."))
                .attribute(Attribute::computed("endpoint_count", Type::Number).description("How many Redshift-managed endpoints the grantee has created with the grant."))
                .attribute(Attribute::computed("authorize_time", Type::String).description("When the grant was made (UTC, RFC 3339).").use_state_for_unknown())
                .attribute(Attribute::computed("cluster_status", Type::String).description("The cluster's status, e.g. `available`."))
                .attribute(
                    Attribute::computed("vendor_handoff", handoff_type())
                        .description("What to send the vendor, ready to paste: `cluster_identifier`, `region`, `account` (the cluster owner's) and `availability_zone_ids` (the cluster's AZ IDs, the `use1-az1` form)."),
                )
                .block(timeouts::block(CREATE_TIMEOUT, None, DELETE_TIMEOUT)),
        )
    }

    async fn modify_plan(&self, ctx: Option<&Ctx<ProviderData>>, plan: &mut PlanContext) {
        let planned_vpcs = known_strings(plan.planned.get("vpc_ids"));
        if let Some(vpcs) = &planned_vpcs {
            plan.set("allowed_all_vpcs", Value::Bool(vpcs.is_empty()));
        }
        if plan.is_create() {
            let cluster = plan.planned.attr_str("cluster_identifier");
            let account = plan.planned.attr_str("grantee_account");
            if let (Some(c), Some(a)) = (cluster, account) {
                let id = Value::string(format!("{c}:{a}"));
                plan.set("id", id);
            }
        } else {
            let prior_vpcs = known_strings(plan.prior.get("vpc_ids")).unwrap_or_default();
            if let Some(vpcs) = &planned_vpcs {
                // Redshift neither narrows an all-VPCs grant to a list nor
                // widens a list to all VPCs in place.
                if vpcs.is_empty() != prior_vpcs.is_empty() {
                    plan.require_replace(AttributePath::attr("vpc_ids"));
                }
            }
            if plan.requires_replace.is_empty() {
                // The hand-off depends on the cluster only, not on VPCs.
                if let Some(prior) = plan.prior.get("vendor_handoff").cloned() {
                    plan.set("vendor_handoff", prior);
                }
                if let Some(d) = removal_may_fail(plan, &prior_vpcs, planned_vpcs.as_deref()) {
                    plan.diagnostics.push(d);
                }
            } else {
                // A replacement revokes the grant as a destroy does.
                let blocked = revoke_blocked(ctx, &plan.prior).await;
                plan.diagnostics.extend(blocked);
            }
        }

        // Only a plan that grants something needs an eligible cluster. A
        // replacement is planned again as a create, which checks: checking
        // here too would cost a second DescribeClusters.
        let grants_more = if plan.is_create() {
            true
        } else {
            let prior_vpcs = known_strings(plan.prior.get("vpc_ids")).unwrap_or_default();
            plan.requires_replace.is_empty()
                && planned_vpcs
                    .as_ref()
                    .is_some_and(|v| v.iter().any(|x| !prior_vpcs.contains(x)))
        };
        if !grants_more {
            return;
        }
        let Some(cluster) = plan
            .planned
            .attr_str("cluster_identifier")
            .map(str::to_string)
        else {
            // Unknown until apply, which checks.
            return;
        };
        let Some(ctx) = ctx else { return };
        let Ok(aws) = ctx.data.aws().await else {
            // Apply reports credential problems with their full message.
            return;
        };
        match recent_cluster(ctx, aws, &cluster).await {
            Ok(Some(c)) if plan.is_create() => {
                plan.diagnostics.extend(check_prerequisites(&cluster, &c))
            }
            // Only warned of for a grant that exists: Terraform plans pending
            // changes before a destroy too, which must not be stopped by what
            // stops only granting more. Apply refuses the new VPCs.
            Ok(Some(c)) => {
                for d in check_prerequisites(&cluster, &c).0 {
                    plan.diagnostics.push(d.as_warning("Until then, applying the VPCs added to this grant fails; the grant as it is stays, and can be destroyed."));
                }
            }
            Ok(None) => plan.diagnostics.push(cluster_missing(aws, &cluster)),
            Err(d) => plan.diagnostics.push(
                Diagnostic::warning(
                    "Cluster prerequisites not checked at plan time",
                    format!(
                        "Reading cluster {cluster} failed, so its eligibility (RA3, relocation, port) is checked before apply instead. {}",
                        d.iter().map(|d| d.detail.clone()).collect::<Vec<_>>().join(" ")
                    ),
                )
                .at(cluster_path()),
            ),
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let result: Result<State, Diagnostics> = async {
            let aws = ctx.data.aws().await?;
            let plan: State = typed::from_value(planned).map_err(invalid_state)?;
            let cluster_id = plan.cluster_identifier.clone();
            // Again before apply: the cluster may have changed since the plan,
            // or was unknown then. (The plan this process made moments ago,
            // right before this apply, counts.)
            let Some(cluster) = recent_cluster(ctx, aws, &cluster_id).await? else {
                return Err(cluster_missing(aws, &cluster_id).into());
            };
            let problems = check_prerequisites(&cluster_id, &cluster);
            if problems.has_errors() {
                return Err(problems);
            }
            // Looked up before authorizing, so that nothing can fail once the
            // grant exists.
            let zone_ids = aws.zone_ids(&cluster.zones).await?;
            let vpcs = sorted(plan.vpc_ids.clone().unwrap_or_default());
            let timeout = Timeouts::get(&plan.timeouts, "create", CREATE_TIMEOUT);
            let grant = authorize_new(aws, ctx, &plan, &vpcs, timeout).await?;
            hold(&held_key(&cluster_id, &plan.grantee_account));
            Ok(to_state(&grant, &plan, &aws.region, zone_ids))
        }
        .await;
        // Nothing exists when create fails: authorizing is its last step.
        match result.and_then(|s| self.to_value(&s)) {
            Ok(v) => ApplyResult::ok(v),
            Err(d) => ApplyResult::failed(None, d),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
    ) -> Result<ReadResult, Diagnostics> {
        let aws = ctx.data.aws().await?;
        let prior: State = typed::from_value(state).map_err(invalid_state)?;
        if let Some(found) = read(aws, &prior).await? {
            return Ok(Some(self.to_value(&found)?).into());
        }
        // The grant went with its cluster: the plan's create will fail on
        // cluster_identifier, so say what happened first.
        let gone = ReadResult::from(None);
        Ok(
            match describe_cluster(aws, &prior.cluster_identifier).await {
                Ok(None) => gone.warn(cluster_deleted(aws, &prior.cluster_identifier)),
                _ => gone,
            },
        )
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let aws = match ctx.data.aws().await {
            Ok(a) => a,
            Err(d) => return ApplyResult::failed(None, d),
        };
        let (old, new): (State, State) =
            match (typed::from_value(prior), typed::from_value(planned)) {
                (Ok(o), Ok(n)) => (o, n),
                (Err(e), _) | (_, Err(e)) => return ApplyResult::failed(None, invalid_state(e)),
            };
        let old_vpcs = old.vpc_ids.clone().unwrap_or_default();
        let new_vpcs = new.vpc_ids.clone().unwrap_or_default();
        let add: Vec<String> = sorted(
            new_vpcs
                .iter()
                .filter(|v| !old_vpcs.contains(v))
                .cloned()
                .collect(),
        );
        let remove: Vec<String> = sorted(
            old_vpcs
                .iter()
                .filter(|v| !new_vpcs.contains(v))
                .cloned()
                .collect(),
        );
        // The cluster as checked, reused by the read below.
        let mut checked: Option<ClusterFacts> = None;
        let changed: Result<(), Diagnostics> = async {
            // Authorize first: revoking the last listed VPC before adding
            // the new ones would revoke the whole grant.
            if !add.is_empty() {
                let Some(cluster) = describe_cluster(aws, &new.cluster_identifier).await? else {
                    return Err(cluster_missing(aws, &new.cluster_identifier).into());
                };
                let problems = check_prerequisites(&new.cluster_identifier, &cluster);
                if problems.has_errors() {
                    return Err(problems);
                }
                checked = Some(cluster);
                authorize_more(aws, &new, &add).await?;
            }
            if !remove.is_empty() {
                revoke_vpcs(aws, &new, &remove).await?;
            }
            Ok(())
        }
        .await;
        // Whatever happened, state records what AWS now has.
        let current = read_with(aws, &new, checked).await;
        let current = current.and_then(|s| s.map(|s| self.to_value(&s)).transpose());
        match (changed, current) {
            (Ok(()), Ok(Some(v))) => ApplyResult::ok(v),
            (Ok(()), Ok(None)) => ApplyResult::failed(
                None,
                Diagnostic::error(
                    "The Redshift endpoint grant disappeared",
                    format!(
                        "The grant of cluster {} to account {} is no longer found.",
                        new.cluster_identifier, new.grantee_account
                    ),
                ),
            ),
            (Err(d), Ok(Some(v))) => ApplyResult::failed(Some(v), d),
            (Err(d), _) | (Ok(()), Err(d)) => ApplyResult::failed(None, d),
        }
    }

    /// A grant whose revoke would cut off the grantee's endpoints stops the
    /// destroy while it is planned (`revoke_blocked`).
    async fn plan_destroy(&self, ctx: Option<&Ctx<ProviderData>>, prior: &Value) -> Diagnostics {
        revoke_blocked(ctx, prior).await
    }

    async fn delete(&self, ctx: &Ctx<ProviderData>, prior: &Value) -> Result<(), Diagnostics> {
        let aws = ctx.data.aws().await?;
        let state: State = typed::from_value(prior).map_err(invalid_state)?;
        let (cluster, account) = (&state.cluster_identifier, &state.grantee_account);
        if held_by_the_replacement(&held_key(cluster, account)) {
            return Ok(());
        }
        let force = state.force_revoke == Some(true);
        // Described first, although Redshift refuses some such revokes
        // itself: its documentation does not promise to refuse them all, and
        // a vendor's live endpoints must never lose access unless forced.
        let Some(grant) = describe_grant(aws, cluster, account).await? else {
            return Ok(());
        };
        if revoke_refused(&grant, force) {
            return Err(endpoints_remain(&grant, None));
        }
        if grant.status != "Revoking" {
            let out = aws
                .redshift
                .revoke_endpoint_access()
                .cluster_identifier(cluster)
                .account(account)
                .force(force)
                .send()
                .await;
            if let Err(e) = out {
                match error_code(&e).unwrap_or_default() {
                    "EndpointAuthorizationNotFound" | "ClusterNotFound" => return Ok(()),
                    // Already being revoked: wait below.
                    "InvalidAuthorizationState" => {}
                    // The grantee created an endpoint since the describe.
                    "InvalidEndpointState" => {
                        let grant = describe_grant(aws, cluster, account).await?;
                        return Err(endpoints_remain(
                            &grant.unwrap_or(grant_fallback(&state)),
                            None,
                        ));
                    }
                    _ => return Err(aws_error("revoke the Redshift endpoint grant", &e)),
                }
            }
        }
        let timeout = Timeouts::get(&state.timeouts, "delete", DELETE_TIMEOUT);
        timeouts::poll(
            timeout,
            Duration::from_millis(200),
            ctx.stopped(),
            || async {
                match describe_grant(aws, cluster, account).await? {
                    None => Ok(Ok(())),
                    Some(g) => Ok(Err(g.status)),
                }
            },
        )
        .await
        .map_err(|e| {
            wait_error(
                &format!("the grant of {cluster} to {account} to be revoked"),
                e,
            )
        })
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let Some((cluster, account)) = parse_id(id) else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not `CLUSTER:ACCOUNT`, e.g. `analytics:185497759670` (a cluster identifier and a 12-digit AWS account ID)."),
            )
            .into());
        };
        // Redshift stores identifiers in lower case and matches them without
        // regard to case, as the configuration's lower-case rule reflects.
        let cluster = cluster.to_ascii_lowercase();
        let cluster = cluster.as_str();
        let aws = ctx.data.aws().await?;
        let defaults = State {
            id: Some(format!("{cluster}:{account}")),
            cluster_identifier: cluster.to_string(),
            grantee_account: account.to_string(),
            ..State::default()
        };
        if let Some(s) = read(aws, &defaults).await? {
            return self.to_value(&s);
        }
        let detail = if describe_cluster(aws, cluster).await?.is_none() {
            format!(
                "There is no cluster {cluster} in {} for these credentials.",
                aws.region
            )
        } else {
            format!(
                "Cluster {cluster} in {} has no endpoint grant to account {account}.",
                aws.region
            )
        };
        Err(Diagnostic::error("Cannot import non-existent remote object", detail).into())
    }
}

impl RedshiftEndpointGrant {
    fn to_value(&self, s: &State) -> Result<Value, Diagnostics> {
        typed::state_value(s, self, || self.schema())
    }
}

/// The strings of a fully known set or list; None while unknown.
fn known_strings(v: Option<&Value>) -> Option<Vec<String>> {
    let v = v?;
    if v.is_null() {
        return Some(Vec::new());
    }
    if !v.is_fully_known() {
        return None;
    }
    Some(
        v.elements()?
            .iter()
            .filter_map(|e| e.as_str().map(str::to_string))
            .collect(),
    )
}

/// `CLUSTER:ACCOUNT` into its parts, when the account is 12 digits.
fn parse_id(id: &str) -> Option<(&str, &str)> {
    let (cluster, account) = id.split_once(':')?;
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    (!cluster.is_empty() && account_ok).then_some((cluster, account))
}

/// Each unmet prerequisite as an error on `cluster_identifier`, naming it,
/// the value found and the fix.
fn check_prerequisites(cluster: &str, c: &ClusterFacts) -> Diagnostics {
    let mut d = Diagnostics::new();
    let node_type = c.node_type.as_deref().unwrap_or("unknown");
    if !node_type.starts_with("ra3.") {
        d.error_at(
            cluster_path(),
            "RA3 node type required",
            format!(
                "Redshift-managed VPC endpoints work only with RA3 clusters, and cluster {cluster} has node type {node_type}. Resize it to an RA3 node type (for example ra3.xlplus, with an elastic or classic resize), or publish it through privatelink_endpoint_service behind a Network Load Balancer instead."
            ),
        );
    }
    let relocation = c.relocation.as_deref().unwrap_or("disabled");
    if relocation != "enabled" {
        let fix = if relocation == "pending_enabling" {
            "Relocation is being turned on: wait until the cluster reports it enabled, then plan again.".to_string()
        } else {
            format!("Turn it on with `aws redshift modify-cluster --cluster-identifier {cluster} --availability-zone-relocation` (or availability_zone_relocation_enabled = true on aws_redshift_cluster).")
        };
        d.error_at(
            cluster_path(),
            "Cluster relocation required",
            format!(
                "Redshift-managed VPC endpoints need cluster relocation, which keeps the endpoint stable when the cluster moves to another Availability Zone; cluster {cluster} has relocation status {relocation}. {fix}"
            ),
        );
    }
    if let Some(port) = c.port {
        if !PORT_RANGES
            .iter()
            .any(|(lo, hi)| (*lo..=*hi).contains(&port))
        {
            d.error_at(
                cluster_path(),
                "Cluster port outside 5431-5455 and 8191-8215",
                format!(
                    "A cluster with relocation must listen on a port within 5431-5455 or 8191-8215, and cluster {cluster} listens on {port}. Change the port, for example with `aws redshift modify-cluster --cluster-identifier {cluster} --port 5439`, and update the clients that connect to it."
                ),
            );
        }
    }
    d
}

fn cluster_missing(aws: &AwsClients, cluster: &str) -> Diagnostic {
    let account = aws
        .known_account()
        .map(|a| format!(" of account {a}"))
        .unwrap_or_default();
    Diagnostic::error(
        "Redshift cluster not found",
        format!(
            "No cluster {cluster} exists in {}{account}. Check the identifier and the provider's region; if the cluster is created in this configuration, reference its computed ID (aws_redshift_cluster.x.id) so the check waits for apply. {DELETED_CLUSTER_WAY_OUT}",
            aws.region
        ),
    )
    .at(cluster_path())
}

/// A plan that fails on a missing cluster also stops `terraform destroy`,
/// which plans the configuration first.
const DELETED_CLUSTER_WAY_OUT: &str = "If the cluster was deleted, remove this grant from the configuration or point it at the cluster that replaces it; until then `terraform destroy -refresh=false` destroys the rest.";

fn cluster_deleted(aws: &AwsClients, cluster: &str) -> Diagnostic {
    Diagnostic::warning(
        "Redshift cluster deleted outside Terraform",
        format!("Cluster {cluster} no longer exists in {}, and its endpoint grants went with it, so this grant is dropped from state.", aws.region),
    )
    .at(cluster_path())
}

/// Destroy (or a VPC's removal) refused because the grantee has endpoints.
/// Whether revoking `grant` would cut off the grantee's live endpoints
/// without `force`: destroy refuses then, when planned and when applied.
fn revoke_refused(grant: &Grant, force: bool) -> bool {
    grant.status != "Revoking" && grant.endpoint_count > 0 && !force
}

/// VPCs removed from a grant whose grantee has endpoints: applying fails if
/// one of them is in a removed VPC, which Redshift does not tell. A warning,
/// from the refreshed state: an error would also stop a destroy.
fn removal_may_fail(
    plan: &PlanContext,
    prior: &[String],
    planned: Option<&[String]>,
) -> Option<Diagnostic> {
    let planned = planned?;
    let removed: Vec<&String> = prior.iter().filter(|v| !planned.contains(v)).collect();
    let endpoints = plan
        .prior
        .get("endpoint_count")
        .and_then(Value::as_number)
        .and_then(|n| n.as_i64())
        .unwrap_or(0);
    let forced = plan.planned.get("force_revoke").and_then(Value::as_bool) == Some(true);
    (!removed.is_empty() && endpoints > 0 && !forced).then(|| {
        let removed: Vec<&str> = removed.iter().map(|v| v.as_str()).collect();
        Diagnostic::warning(
            "The grantee has Redshift-managed endpoints",
            format!("The grantee has {endpoints} Redshift-managed VPC endpoint{} to this cluster, and Redshift does not say in which VPCs. If one is in {}, removing it fails at apply. Ask the grantee's owner to delete it first, or set force_revoke = true so that the revoke deletes it.", if endpoints == 1 { "" } else { "s" }, removed.join(", ")),
        )
        .at(AttributePath::attr("vpc_ids"))
    })
}

/// The refusal a revoke of the grant in `prior` would meet, known while
/// planning: the grantee's endpoints, unless force_revoke was applied. A
/// plan that destroys or replaces the grant stops on it, before Terraform
/// changes what it orders first (an accepter's rejection cannot be undone).
async fn revoke_blocked(ctx: Option<&Ctx<ProviderData>>, prior: &Value) -> Diagnostics {
    let Ok(state) = typed::from_value::<State>(prior) else {
        return Diagnostics::new();
    };
    if state.force_revoke == Some(true) {
        return Diagnostics::new();
    }
    let Some(ctx) = ctx else {
        return Diagnostics::new();
    };
    let Ok(aws) = ctx.data.aws().await else {
        return Diagnostics::new();
    };
    // Unreadable now: the delete reads it again and decides there.
    match describe_grant(aws, &state.cluster_identifier, &state.grantee_account).await {
        Ok(Some(grant)) if revoke_refused(&grant, false) => endpoints_remain(&grant, None),
        _ => Diagnostics::new(),
    }
}

fn endpoints_remain(grant: &Grant, vpcs: Option<&[String]>) -> Diagnostics {
    // Redshift tells the grantor how many endpoints there are, not where.
    let through = match vpcs {
        Some(v) => format!("in VPCs {}", v.join(", ")),
        None if grant.allowed_all_vpcs => "(its grant covers all its VPCs)".to_string(),
        None => format!("(its grant covers VPCs {})", grant.allowed_vpcs.join(", ")),
    };
    let count = if vpcs.is_some() {
        "Redshift-managed VPC endpoints".to_string()
    } else {
        format!(
            "{} Redshift-managed VPC endpoint{}",
            grant.endpoint_count,
            if grant.endpoint_count == 1 { "" } else { "s" }
        )
    };
    Diagnostic::error(
        "The grantee still has Redshift-managed endpoints",
        format!(
            "Account {} has {count} to cluster {} {through}; revoking would cut them off. Ask the account's owner to delete them (in that account, `aws redshift describe-endpoint-access --cluster-identifier {} --resource-owner {}` lists them), or set force_revoke = true and apply, so that revoking deletes them too. Apply it while the grant is still in the configuration: a grant removed from it is destroyed with the force_revoke last applied. If this configuration also manages those endpoints, destroy them first (`-target`).",
            grant.grantee, grant.cluster_identifier, grant.cluster_identifier, grant.grantor
        ),
    )
    .into()
}

fn grant_fallback(s: &State) -> Grant {
    Grant {
        grantor: s.grantor.clone().unwrap_or_default(),
        grantee: s.grantee_account.clone(),
        cluster_identifier: s.cluster_identifier.clone(),
        allowed_all_vpcs: s.vpc_ids.as_ref().is_none_or(Vec::is_empty),
        allowed_vpcs: s.vpc_ids.clone().unwrap_or_default(),
        endpoint_count: s.endpoint_count.unwrap_or(0),
        ..Grant::default()
    }
}

/// `describe_cluster`, unless this process described the cluster moments
/// ago (planning the grant it now applies, or a sibling grant).
async fn recent_cluster(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    cluster: &str,
) -> Result<Option<ClusterFacts>, Diagnostics> {
    let facts = ctx
        .data
        .recent(&format!("redshift-cluster:{cluster}"), JUST_CHECKED, || {
            describe_cluster(aws, cluster)
        })
        .await?;
    Ok((*facts).clone())
}

/// The cluster's facts, None when it does not exist. Concurrent reads of
/// the same cluster (its grants refreshed together) share one call.
async fn describe_cluster(
    aws: &AwsClients,
    cluster: &str,
) -> Result<Option<ClusterFacts>, Diagnostics> {
    let clusters = aws
        .coalesced("redshift:DescribeClusters")
        .get(cluster.to_string(), |ids| async move {
            let each = ids.iter().map(|id| describe_one_cluster(aws, id));
            let found = futures_util::future::try_join_all(each).await?;
            Ok(ids.into_iter().zip(found).collect::<HashMap<_, _>>())
        })
        .await?;
    Ok(clusters.get(cluster).cloned().flatten())
}

async fn describe_one_cluster(
    aws: &AwsClients,
    cluster: &str,
) -> Result<Option<ClusterFacts>, Diagnostics> {
    match aws
        .redshift
        .describe_clusters()
        .cluster_identifier(cluster)
        .send()
        .await
    {
        Ok(o) => Ok(o
            .clusters()
            .iter()
            .find(|c| c.cluster_identifier() == Some(cluster))
            .map(ClusterFacts::from)),
        Err(e) if error_code(&e) == Some("ClusterNotFound") => Ok(None),
        Err(e) => Err(aws_error("read the Redshift cluster", &e)),
    }
}

/// The grant of `cluster` to `account`, from the grantor's view; None when
/// there is none or the cluster is gone. Grants read or waited on at the
/// same time share a round with one call per cluster: the one grant asked
/// for, or the cluster's whole list when the round asks for several.
async fn describe_grant(
    aws: &AwsClients,
    cluster: &str,
    account: &str,
) -> Result<Option<Grant>, Diagnostics> {
    let key = (cluster.to_string(), account.to_string());
    let grants = aws
        .coalesced("redshift:DescribeEndpointAuthorization")
        .get(key.clone(), |keys| async move {
            let mut by_cluster: HashMap<String, Vec<String>> = HashMap::new();
            for (c, a) in keys {
                let accounts = by_cluster.entry(c).or_default();
                if !accounts.contains(&a) {
                    accounts.push(a);
                }
            }
            let each = by_cluster.iter().map(|(c, accounts)| async move {
                let only = (accounts.len() == 1).then(|| accounts[0].as_str());
                let found = list_grants(aws, c, only).await?;
                Ok::<_, Diagnostics>(accounts.iter().map(move |a| {
                    let grant = found.as_ref().and_then(|f| f.get(a).cloned());
                    ((c.clone(), a.clone()), grant)
                }))
            });
            let found = futures_util::future::try_join_all(each).await?;
            Ok(found.into_iter().flatten().collect::<HashMap<_, _>>())
        })
        .await?;
    Ok(grants.get(&key).cloned().flatten())
}

/// The grants of `cluster` by grantee account, all of them or only
/// `account`'s; None when the cluster is gone.
async fn list_grants(
    aws: &AwsClients,
    cluster: &str,
    account: Option<&str>,
) -> Result<Option<HashMap<String, Grant>>, Diagnostics> {
    let mut grants = HashMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = match aws
            .redshift
            .describe_endpoint_authorization()
            .cluster_identifier(cluster)
            .set_account(account.map(str::to_string))
            .set_marker(marker)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if error_code(&e) == Some("ClusterNotFound") => return Ok(None),
            Err(e) => return Err(aws_error("read the Redshift endpoint grant", &e)),
        };
        for a in page.endpoint_authorization_list() {
            if let (Some(cluster_id), Some(grantee)) = (a.cluster_identifier(), a.grantee()) {
                if cluster_id == cluster && account.is_none_or(|only| only == grantee) {
                    grants.insert(grantee.to_string(), Grant::from(a));
                }
            }
        }
        marker = page.marker().map(str::to_string);
        if marker.is_none() {
            return Ok(Some(grants));
        }
    }
}

/// What `hold` and `held_by_the_replacement` know a grant by: Redshift holds
/// one per cluster and grantee account. (Terraform starts a provider
/// process per provider configuration, so one process sees one account and
/// Region.)
fn held_key(cluster: &str, grantee: &str) -> String {
    format!("grant:{cluster}:{grantee}")
}

/// Makes the grant. A grant still being revoked (a replacement, or a revoke
/// made elsewhere) blocks a new one until it is gone, so that is waited out.
async fn authorize_new(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    plan: &State,
    vpcs: &[String],
    timeout: Duration,
) -> Result<Grant, Diagnostics> {
    let (cluster, account) = (&plan.cluster_identifier, &plan.grantee_account);
    let send = || {
        aws.redshift
            .authorize_endpoint_access()
            .cluster_identifier(cluster)
            .account(account)
            .set_vpc_ids((!vpcs.is_empty()).then(|| vpcs.to_vec()))
            .send()
    };
    let first = send().await;
    let out = match first {
        Err(e) if error_code(&e) == Some("InvalidAuthorizationState") => {
            timeouts::poll(
                timeout,
                Duration::from_millis(200),
                ctx.stopped(),
                || async {
                    match describe_grant(aws, cluster, account).await? {
                        // Granted again meanwhile: the retry reports it.
                        None => Ok(Ok(())),
                        Some(g) if g.status == "Authorized" => Ok(Ok(())),
                        Some(g) => Ok(Err(g.status)),
                    }
                },
            )
            .await
            .map_err(|e| {
                wait_error(
                    &format!("the earlier grant of {cluster} to {account} to be revoked"),
                    e,
                )
            })?;
            send().await
        }
        other => other,
    };
    match out {
        Ok(o) => Ok(Grant::from(&o)),
        // Redshift has no ClientToken: an apply whose answer was lost (the
        // provider killed, the connection cut) left exactly this grant.
        // One with the planned VPCs is what create would make, so it is
        // adopted; any other is somebody else's and stays an error.
        Err(e) if error_code(&e) == Some("EndpointAuthorizationAlreadyExists") => {
            match describe_grant(aws, cluster, account).await? {
                Some(g) if g.status == "Authorized" && same_vpcs(&g, vpcs) => Ok(g),
                _ => Err(authorize_error(&e, plan)),
            }
        }
        Err(e) => Err(authorize_error(&e, plan)),
    }
}

/// Whether a grant allows exactly `vpcs` (none listed: all of the account's).
fn same_vpcs(g: &Grant, vpcs: &[String]) -> bool {
    if vpcs.is_empty() {
        g.allowed_all_vpcs
    } else {
        !g.allowed_all_vpcs && sorted(g.allowed_vpcs.clone()) == sorted(vpcs.to_vec())
    }
}

fn authorize_error<E, R>(e: &aws_sdk_redshift::error::SdkError<E, R>, plan: &State) -> Diagnostics
where
    E: aws_sdk_redshift::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match error_code(e).unwrap_or_default() {
        "EndpointAuthorizationAlreadyExists" => Diagnostic::error(
            "The grant already exists",
            format!(
                "Account {} already has access to cluster {}. If it is the grant this resource replaces under create_before_destroy, it is revoked only after this create, and Redshift holds one grant per cluster and account: make this change without create_before_destroy. Otherwise import it to manage it here: terraform import <address> {}:{}",
                plan.grantee_account, plan.cluster_identifier, plan.cluster_identifier, plan.grantee_account
            ),
        )
        .into(),
        // The cluster's own faults belong on the attribute that names it.
        "ClusterNotFound" | "UnsupportedOperation" | "InvalidClusterState" => {
            let mut d = aws_error("grant access to the Redshift cluster", e);
            for x in &mut d.0 {
                x.path = Some(cluster_path());
            }
            d
        }
        _ => aws_error("grant access to the Redshift cluster", e),
    }
}

/// Adds VPCs to an existing grant.
async fn authorize_more(aws: &AwsClients, s: &State, add: &[String]) -> Result<(), Diagnostics> {
    match aws
        .redshift
        .authorize_endpoint_access()
        .cluster_identifier(&s.cluster_identifier)
        .account(&s.grantee_account)
        .set_vpc_ids(Some(add.to_vec()))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        // Every VPC was already there (added elsewhere): nothing to do.
        Err(e) if error_code(&e) == Some("EndpointAuthorizationAlreadyExists") => Ok(()),
        Err(e) => Err(authorize_error(&e, s)),
    }
}

/// Revokes only the given VPCs, deleting their endpoints when force_revoke.
async fn revoke_vpcs(aws: &AwsClients, s: &State, remove: &[String]) -> Result<(), Diagnostics> {
    let out = aws
        .redshift
        .revoke_endpoint_access()
        .cluster_identifier(&s.cluster_identifier)
        .account(&s.grantee_account)
        .set_vpc_ids(Some(remove.to_vec()))
        .force(s.force_revoke == Some(true))
        .send()
        .await;
    match out {
        Ok(_) => Ok(()),
        Err(e) => match error_code(&e).unwrap_or_default() {
            // Revoked elsewhere already.
            "EndpointAuthorizationNotFound" => Ok(()),
            "InvalidEndpointState" => Err(endpoints_remain(&grant_fallback(s), Some(remove))),
            _ => Err(aws_error(
                "revoke VPCs from the Redshift endpoint grant",
                &e,
            )),
        },
    }
}

/// The grant as it is, keeping what AWS does not store (force_revoke,
/// timeouts) from `prior`. A grant being revoked reads as gone. Three calls:
/// the grant, the cluster (for its AZs) and the AZ IDs.
async fn read(aws: &AwsClients, prior: &State) -> Result<Option<State>, Diagnostics> {
    read_with(aws, prior, None).await
}

/// `read`, reusing the cluster when the caller has just described it.
async fn read_with(
    aws: &AwsClients,
    prior: &State,
    cluster: Option<ClusterFacts>,
) -> Result<Option<State>, Diagnostics> {
    let Some(grant) =
        describe_grant(aws, &prior.cluster_identifier, &prior.grantee_account).await?
    else {
        return Ok(None);
    };
    if grant.status == "Revoking" {
        return Ok(None);
    }
    let cluster = match cluster {
        Some(c) => c,
        None => match describe_cluster(aws, &prior.cluster_identifier).await? {
            Some(c) => c,
            None => return Ok(None),
        },
    };
    let zone_ids = aws.zone_ids(&cluster.zones).await?;
    Ok(Some(to_state(&grant, prior, &aws.region, zone_ids)))
}

fn to_state(grant: &Grant, prior: &State, region: &str, zone_ids: Vec<String>) -> State {
    // The identifiers as configured: AWS answers the same ones, and keeping
    // them avoids a spurious diff should it ever differ in case.
    let cluster = prior.cluster_identifier.clone();
    let account = prior.grantee_account.clone();
    State {
        id: Some(format!("{cluster}:{account}")),
        vpc_ids: Some(if grant.allowed_all_vpcs {
            Vec::new()
        } else {
            grant.allowed_vpcs.clone()
        }),
        force_revoke: prior.force_revoke.or(Some(false)),
        timeouts: prior.timeouts.clone(),
        status: Some(grant.status.clone()),
        grantor: Some(grant.grantor.clone()),
        allowed_all_vpcs: Some(grant.allowed_all_vpcs),
        endpoint_count: Some(grant.endpoint_count),
        authorize_time: grant.authorize_time.clone(),
        cluster_status: grant.cluster_status.clone(),
        vendor_handoff: Some(Handoff {
            cluster_identifier: cluster.clone(),
            region: region.to_string(),
            account: grant.grantor.clone(),
            availability_zone_ids: zone_ids,
        }),
        cluster_identifier: cluster,
        grantee_account: account,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(RedshiftEndpointGrant.schema().lint(), Vec::<String>::new());
    }

    fn facts(node: &str, relocation: &str, port: i32) -> ClusterFacts {
        ClusterFacts {
            node_type: Some(node.into()),
            relocation: Some(relocation.into()),
            port: Some(port),
            zones: vec!["us-east-1a".into()],
        }
    }

    fn summaries(d: &Diagnostics) -> Vec<String> {
        d.iter().map(|d| d.summary.clone()).collect()
    }

    #[test]
    fn an_eligible_cluster_passes() {
        for port in [5431, 5439, 5455, 8191, 8215] {
            let d = check_prerequisites("c", &facts("ra3.xlplus", "enabled", port));
            assert!(d.is_empty(), "{port}: {d}");
        }
    }

    #[test]
    fn each_prerequisite_names_the_value_and_the_fix_on_the_attribute() {
        let d = check_prerequisites("c", &facts("dc2.large", "enabled", 5439));
        assert_eq!(summaries(&d), ["RA3 node type required"]);
        assert!(d.0[0].detail.contains("dc2.large") && d.0[0].detail.contains("Resize"));
        assert_eq!(d.0[0].path, Some(cluster_path()));

        let d = check_prerequisites("c", &facts("ra3.4xlarge", "disabled", 5439));
        assert_eq!(summaries(&d), ["Cluster relocation required"]);
        assert!(d.0[0].detail.contains("disabled"));
        assert!(d.0[0].detail.contains("--availability-zone-relocation"));

        for port in [5430, 5456, 8190, 8216, 9000] {
            let d = check_prerequisites("c", &facts("ra3.xlplus", "enabled", port));
            assert_eq!(
                summaries(&d),
                ["Cluster port outside 5431-5455 and 8191-8215"]
            );
            assert!(d.0[0].detail.contains(&port.to_string()));
        }

        // Every failure at once, so one plan shows all there is to fix.
        let d = check_prerequisites("c", &facts("dc2.large", "disabled", 9000));
        assert_eq!(d.0.len(), 3);
        assert!(d.iter().all(|x| x.path == Some(cluster_path())));
    }

    #[test]
    fn import_ids() {
        assert_eq!(
            parse_id("analytics:185497759670"),
            Some(("analytics", "185497759670"))
        );
        assert_eq!(parse_id("analytics"), None);
        assert_eq!(parse_id(":185497759670"), None);
        assert_eq!(parse_id("analytics:18549775967"), None);
        assert_eq!(parse_id("analytics:18549775967x"), None);
    }

    #[test]
    fn identifiers_are_validated() {
        let check = |attr: &str, v: &str| {
            let schema = RedshiftEndpointGrant.schema();
            let a = schema.block.attribute_named(attr).unwrap();
            let mut d = Diagnostics::new();
            for x in &a.validators {
                x.check(&Value::string(v), &AttributePath::attr(attr), &mut d);
            }
            d.has_errors()
        };
        assert!(!check("cluster_identifier", "analytics-prod-1"));
        assert!(check("cluster_identifier", "Analytics"));
        assert!(check("cluster_identifier", "a--b"));
        assert!(check("cluster_identifier", "1abc"));
        assert!(check("cluster_identifier", "abc-"));
        assert!(!check("grantee_account", "185497759670"));
        assert!(check("grantee_account", "18549775967"));
    }

    #[test]
    fn state_follows_the_grant() {
        let prior = State {
            cluster_identifier: "c".into(),
            grantee_account: "185497759670".into(),
            force_revoke: Some(true),
            ..State::default()
        };
        let grant = Grant {
            grantor: "123456789012".into(),
            grantee: "185497759670".into(),
            cluster_identifier: "c".into(),
            status: "Authorized".into(),
            allowed_all_vpcs: true,
            endpoint_count: 2,
            ..Grant::default()
        };
        let s = to_state(&grant, &prior, "us-east-1", vec!["use1-az1".into()]);
        assert_eq!(s.id.as_deref(), Some("c:185497759670"));
        assert_eq!(s.vpc_ids, Some(vec![]));
        assert_eq!(s.force_revoke, Some(true));
        assert_eq!(s.endpoint_count, Some(2));
        let h = s.vendor_handoff.clone().unwrap();
        assert_eq!(h.account, "123456789012");
        assert_eq!(h.availability_zone_ids, vec!["use1-az1".to_string()]);
        assert!(RedshiftEndpointGrant.to_value(&s).is_ok());
    }
}
