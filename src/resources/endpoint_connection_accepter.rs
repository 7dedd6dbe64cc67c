//! Resource `privatelink_endpoint_connection_accepter`: accepts a vendor's
//! endpoint connection to your endpoint service.
//!
//! The vendor often creates its endpoint minutes (or days) after you publish
//! the service, so create waits for the connection to appear, bounded by the
//! create timeout. A connection that is already accepted (or was accepted
//! automatically) is adopted, not an error. Destroy rejects the connection.

use super::{
    any_of, aws_error, held_by_the_replacement, hold, invalid_state, unsuccessful, wait_error,
    whole_or_each, FILTER_VALUES,
};
use crate::framework::operation::Operation;
use crate::framework::plan::PlanContext;
use crate::framework::resource::{ApplyResult, Ctx, ReadResult, Resource};
use crate::framework::timeouts::{self, Timeouts};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::aws::AwsClients;
use crate::provider::permissions::Permissions;
use crate::provider::shapes::{endpoint_service_id, vpc_endpoint_id};
use crate::provider::{ProviderData, JUST_CHECKED};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::time::Duration;

/// The AWS actions each operation may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[
    (Operation::Read, &["ec2:DescribeVpcEndpointConnections"]),
    (
        Operation::Plan,
        &[
            "ec2:DescribeVpcEndpointConnections",
            "ec2:DescribeVpcEndpointServiceConfigurations",
        ],
    ),
    (
        Operation::Create,
        &[
            "ec2:AcceptVpcEndpointConnections",
            "ec2:DescribeVpcEndpointConnections",
        ],
    ),
    // Accepting a connection an import found still waiting.
    (
        Operation::Update,
        &[
            "ec2:AcceptVpcEndpointConnections",
            "ec2:DescribeVpcEndpointConnections",
        ],
    ),
    (
        Operation::Delete,
        &[
            "ec2:DescribeVpcEndpointConnections",
            "ec2:RejectVpcEndpointConnections",
        ],
    ),
    (Operation::Import, &["ec2:DescribeVpcEndpointConnections"]),
];

pub struct EndpointConnectionAccepter;

const CREATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    id: Option<String>,
    service_id: String,
    vpc_endpoint_id: String,
    state: Option<String>,
    vpc_endpoint_owner: Option<String>,
    timeouts: Option<Timeouts>,
}

/// The accepter works on a service of this account: one that is not there,
/// or is another account's, would otherwise be waited on for the whole
/// create timeout and then blamed on the vendor.
async fn own_service(aws: &AwsClients, svc: &str) -> Result<(), Diagnostics> {
    if super::endpoint_service::describe(aws, svc).await?.is_some() {
        return Ok(());
    }
    let account = aws
        .known_account()
        .map(|a| format!("account {a}, "))
        .unwrap_or_default();
    Err(Diagnostic::error(
        "Endpoint service not found",
        format!(
            "There is no endpoint service {svc} in {account}{}. The accepter accepts connections to a service these credentials own: use the ID of yours (privatelink_endpoint_service.<name>.id).",
            aws.region
        ),
    )
    .at(AttributePath::attr("service_id"))
    .into())
}

/// `own_service`, unless this process passed the same check moments ago
/// (planning the accepter it now applies).
async fn checked_own_service(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    svc: &str,
) -> Result<(), Diagnostics> {
    ctx.data
        .recent(&format!("own-service:{svc}"), JUST_CHECKED, || {
            own_service(aws, svc)
        })
        .await
        .map(|_| ())
}

/// Why a connection in a `gone` state cannot be accepted, and what to do.
fn cannot_accept(svc: &str, vpce: &str, state: &str) -> Diagnostic {
    Diagnostic::error(
        "The connection cannot be accepted",
        format!("The connection from {vpce} to {svc} is {state}; ask the endpoint's owner to create a new endpoint, and set vpc_endpoint_id to it."),
    )
}

/// What destroying (or replacing) an accepter whose connection is live
/// does, said while it is planned: it cannot be undone.
fn rejects_for_good(prior: &Value, doing: &str) -> Option<Diagnostic> {
    let state = prior.get("state").and_then(Value::as_str)?;
    let vpce = prior.get("vpc_endpoint_id").and_then(Value::as_str)?;
    (!gone(state)).then(|| {
        Diagnostic::warning(
            "The vendor's connection will be rejected for good",
            format!("{doing} this accepter rejects the connection from {vpce}, and a rejected connection cannot be accepted again: the endpoint's owner would have to create a new endpoint. That is what off-boarding the vendor means. If the resource is only being renamed or moved, a `moved` block keeps the connection; if the vendor is moving to a new endpoint, `lifecycle {{ create_before_destroy = true }}` on the accepter (the onboarding module sets it) accepts the new one before this one is rejected."),
        )
    })
}

/// States in which the connection no longer exists for our purposes.
fn gone(state: &str) -> bool {
    matches!(
        state,
        "rejected" | "deleted" | "deleting" | "failed" | "expired"
    )
}

#[async_trait]
impl Resource<ProviderData> for EndpointConnectionAccepter {
    fn type_name(&self) -> &'static str {
        "privatelink_endpoint_connection_accepter"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Accepts a vendor's VPC endpoint connection to your endpoint service. Waits for the connection to appear (the vendor may create its endpoint later), accepts it, and adopts a connection that is already accepted. An imported connection still waiting for acceptance is accepted by the next apply (within the create timeout), shown in the plan as `state` changing to `available`. Destroying it rejects the connection, and a rejected connection cannot be accepted again (the vendor must create a new endpoint): so renaming the resource or moving it into a module needs a `moved` block, and `-replace` is never a retry. A plan that destroys an accepter whose connection is live, or replaces it for a new `service_id` or `vpc_endpoint_id`, warns of it (`-replace` does not). To switch to a vendor's new endpoint without a gap, give the accepter `lifecycle { create_before_destroy = true }`: the new connection is accepted before the old one is rejected, and a `-replace` (or a taint) keeps the connection accepted: the new instance adopts it, and destroying the one it replaces leaves it.")
                .attribute(Attribute::computed("id", Type::String).description("`SERVICEID_ENDPOINTID`.").use_state_for_unknown())
                .attribute(
                    Attribute::required("service_id", Type::String)
                        .description("ID of your endpoint service, e.g. `privatelink_endpoint_service.x.id`.")
                        .requires_replace()
                        .validate(endpoint_service_id()),
                )
                .attribute(
                    Attribute::required("vpc_endpoint_id", Type::String)
                        .description("ID of the vendor's VPC endpoint, as the vendor tells you (`vpce-...`). A new ID rejects the connection of the old one, as destroying does.")
                        .requires_replace()
                        .validate(vpc_endpoint_id()),
                )
                .attribute(Attribute::computed("state", Type::String).description("The connection state, `available` once accepted."))
                .attribute(Attribute::computed("vpc_endpoint_owner", Type::String).description("The AWS account that owns the endpoint.").use_state_for_unknown())
                .block(timeouts::block(CREATE_TIMEOUT, None, DELETE_TIMEOUT)),
        )
    }

    /// A service that is not there fails the plan, on `service_id`, when its
    /// ID is known by then. A connection that can no longer be accepted is
    /// warned of on `vpc_endpoint_id`, and fails the apply: Terraform plans
    /// pending creates before a destroy too, and an error here would stop
    /// tearing down everything beside it.
    async fn modify_plan(&self, ctx: Option<&Ctx<ProviderData>>, plan: &mut PlanContext) {
        let Some(svc) = plan
            .planned
            .get("service_id")
            .and_then(Value::as_str)
            .map(str::to_string)
        else {
            return;
        };
        let svc = svc.as_str();
        if !plan.is_create() {
            if !plan.requires_replace.is_empty() {
                if let Some(d) = rejects_for_good(&plan.prior, "Replacing") {
                    plan.diagnostics
                        .push(d.at(AttributePath::attr("vpc_endpoint_id")));
                }
            } else if plan.prior.get("state").and_then(Value::as_str) == Some(PENDING) {
                // Imported (or left) waiting: accepting it is this
                // resource's whole job, so the plan shows it as a change.
                plan.set("state", Value::string(AVAILABLE));
            }
            return;
        }
        // The ID is the two known IDs: shown in the plan, not "known after
        // apply".
        if let Some(vpce) = plan.planned.get("vpc_endpoint_id").and_then(Value::as_str) {
            let id = format!("{svc}_{vpce}");
            plan.set("id", Value::string(id));
        }
        let Some(ctx) = ctx else { return };
        let Ok(aws) = ctx.data.aws().await else {
            // Apply reports credential problems with their full message.
            return;
        };
        if let Err(d) = checked_own_service(ctx, aws, svc).await {
            plan.diagnostics.extend(d);
            return;
        }
        let Some(vpce) = plan.planned.get("vpc_endpoint_id").and_then(Value::as_str) else {
            return;
        };
        // Unreadable now: apply reads it again.
        match connection(aws, svc, vpce).await {
            Ok(Some((state, _))) if gone(&state) => plan.diagnostics.push(
                cannot_accept(svc, vpce, &state)
                    .at(AttributePath::attr("vpc_endpoint_id"))
                    .as_warning("Applying this fails."),
            ),
            Ok(None) => {
                let wait = timeouts::get(&plan.planned, "create", CREATE_TIMEOUT);
                plan.diagnostics.push(
                    Diagnostic::warning(
                        "No connection request yet",
                        format!("{vpce} has not requested a connection to {svc}. Apply waits up to {} (the create timeout) for the endpoint's owner to create it; if the ID is mistyped, or the endpoint was deleted, the wait ends in an error.", timeouts::format_duration(wait)),
                    )
                    .at(AttributePath::attr("vpc_endpoint_id")),
                );
            }
            _ => {}
        }
    }

    async fn plan_destroy(&self, _ctx: Option<&Ctx<ProviderData>>, prior: &Value) -> Diagnostics {
        Diagnostics(rejects_for_good(prior, "Destroying").into_iter().collect())
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
            let (svc, vpce) = (plan.service_id.as_str(), plan.vpc_endpoint_id.as_str());
            let timeout = Timeouts::get(&plan.timeouts, "create", CREATE_TIMEOUT);
            checked_own_service(ctx, aws, svc).await?;
            let waited = timeouts::poll(timeout, Duration::from_secs(1), ctx.stopped(), || async {
                match connection(aws, svc, vpce).await? {
                    Some((state, owner)) => Ok(Ok((state, owner))),
                    None => Ok(Err("no connection yet".to_string())),
                }
            })
            .await;
            let (state, _) = match waited {
                Ok(found) => found,
                Err(e) => {
                    let timed_out = matches!(e, timeouts::WaitError::TimedOut { .. });
                    let mut d = wait_error(&format!("{vpce} to request a connection to {svc}"), e);
                    if timed_out {
                        // A mistyped endpoint ID waits the whole timeout:
                        // name the connections that did come.
                        if let Some(first) = d.0.first_mut() {
                            first.detail =
                                format!("{} {}", first.detail, waiting_instead(aws, svc).await);
                        }
                    }
                    return Err(d);
                }
            };
            let (state, owner) = accepted(ctx, aws, svc, vpce, &state, timeout).await?;
            hold(&held_key(svc, vpce));
            Ok(State {
                id: Some(format!("{svc}_{vpce}")),
                state: Some(state),
                vpc_endpoint_owner: Some(owner),
                ..plan
            })
        }
        .await;
        match result {
            Ok(s) => to_value(&s, self).into(),
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
        match connection(aws, &prior.service_id, &prior.vpc_endpoint_id).await? {
            Some((s, _)) if gone(&s) => Ok(None.into()),
            None => Ok(None.into()),
            Some((s, owner)) => Ok(Some(to_value(
                &State {
                    state: Some(s),
                    vpc_endpoint_owner: Some(owner),
                    ..prior
                },
                self,
            )?)
            .into()),
        }
    }

    /// Accepts a connection still waiting (an imported one), else records
    /// new timeouts: everything else replaces.
    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let result: Result<Value, Diagnostics> = async {
            let old: State = typed::from_value(prior).map_err(invalid_state)?;
            let new: State = typed::from_value(planned).map_err(invalid_state)?;
            let mut state = State {
                timeouts: new.timeouts,
                ..old
            };
            if state.state.as_deref() == Some(PENDING) {
                let aws = ctx.data.aws().await?;
                let (svc, vpce) = (state.service_id.as_str(), state.vpc_endpoint_id.as_str());
                let timeout = Timeouts::get(&state.timeouts, "create", CREATE_TIMEOUT);
                let now = connection(aws, svc, vpce)
                    .await?
                    .map_or_else(|| "deleted".to_string(), |(s, _)| s);
                let (s, owner) = accepted(ctx, aws, svc, vpce, &now, timeout).await?;
                state.state = Some(s);
                state.vpc_endpoint_owner = Some(owner);
            }
            to_value(&state, self)
        }
        .await;
        result.into()
    }

    async fn delete(&self, ctx: &Ctx<ProviderData>, prior: &Value) -> Result<(), Diagnostics> {
        let aws = ctx.data.aws().await?;
        let state: State = typed::from_value(prior).map_err(invalid_state)?;
        let (svc, vpce) = (state.service_id.as_str(), state.vpc_endpoint_id.as_str());
        if held_by_the_replacement(&held_key(svc, vpce)) {
            return Ok(());
        }
        match connection(aws, svc, vpce).await? {
            None => return Ok(()),
            Some((s, _)) if gone(&s) => return Ok(()),
            _ => {}
        }
        let out = aws
            .ec2
            .reject_vpc_endpoint_connections()
            .service_id(svc)
            .vpc_endpoint_ids(vpce)
            .send()
            .await
            .map_err(|e| aws_error("reject the endpoint connection", &e))?;
        unsuccessful("reject the endpoint connection", out.unsuccessful(), |_| {
            false
        })?;
        let timeout = Timeouts::get(&state.timeouts, "delete", DELETE_TIMEOUT);
        timeouts::poll(
            timeout,
            Duration::from_millis(200),
            ctx.stopped(),
            || async {
                match connection(aws, svc, vpce).await? {
                    Some((s, _)) if !gone(&s) => Ok(Err(s)),
                    _ => Ok(Ok(())),
                }
            },
        )
        .await
        .map_err(|e| wait_error(&format!("the connection from {vpce} to be rejected"), e))
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let Some((svc, vpce)) = id
            .split_once('_')
            .filter(|(s, v)| s.starts_with("vpce-svc-") && v.starts_with("vpce-"))
        else {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not SERVICEID_ENDPOINTID, e.g. vpce-svc-0123456789abcdef0_vpce-0123456789abcdef0."),
            )
            .into());
        };
        let aws = ctx.data.aws().await?;
        match connection(aws, svc, vpce).await? {
            Some((s, owner)) if !gone(&s) => to_value(
                &State {
                    id: Some(id.to_string()),
                    service_id: svc.to_string(),
                    vpc_endpoint_id: vpce.to_string(),
                    state: Some(s),
                    vpc_endpoint_owner: Some(owner),
                    timeouts: None,
                },
                self,
            ),
            _ => Err(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("{vpce} has no live connection to {svc}."),
            )
            .into()),
        }
    }
}

/// AWS's state of a connection waiting for the service owner.
const PENDING: &str = "pendingAcceptance";
/// AWS's state of an accepted connection.
const AVAILABLE: &str = "available";

/// Accepts the connection from `vpce`, found in `state`, unless it is
/// accepted already (`pending` is AWS's state just after an accept, or an
/// automatic one: adopted as it is), and waits until it is available:
/// (state, owner).
async fn accepted(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    svc: &str,
    vpce: &str,
    state: &str,
    timeout: Duration,
) -> Result<(String, String), Diagnostics> {
    match state {
        PENDING => accept(aws, svc, vpce).await?,
        s if gone(s) => return Err(cannot_accept(svc, vpce, s).into()),
        _ => {}
    }
    timeouts::poll(
        timeout,
        Duration::from_millis(500),
        ctx.stopped(),
        || async {
            match connection(aws, svc, vpce).await? {
                Some((s, o)) if s == AVAILABLE => Ok(Ok((s, o))),
                Some((s, _)) if gone(&s) => Err(Diagnostic::error(
                    "The connection was rejected",
                    format!("{vpce} is {s}."),
                )
                .into()),
                other => Ok(Err(other
                    .map(|(s, _)| s)
                    .unwrap_or_else(|| "not found".into()))),
            }
        },
    )
    .await
    .map_err(|e| {
        wait_error(
            &format!("the connection from {vpce} to become available"),
            e,
        )
    })
}

fn to_value(s: &State, r: &EndpointConnectionAccepter) -> Result<Value, Diagnostics> {
    typed::state_value(s, r, || r.schema())
}

/// The connection's (state, owner), if the service sees one from `vpce`.
/// Accepters read or waiting together share one call.
async fn connection(
    aws: &AwsClients,
    svc: &str,
    vpce: &str,
) -> Result<Option<(String, String)>, Diagnostics> {
    let key = (svc.to_string(), vpce.to_string());
    let found = aws
        .coalesced("ec2:DescribeVpcEndpointConnections")
        .get(key.clone(), |keys| async move {
            // Two filter values a key: EC2 takes 200 in one call.
            let mut all = Connections::new();
            for chunk in keys.chunks(FILTER_VALUES) {
                let each = |keys: Vec<_>| async move { list_connections(aws, &keys).await };
                all.extend(whole_or_each(chunk.to_vec(), each).await?);
            }
            Ok(all)
        })
        .await?;
    Ok(found.get(&key).cloned())
}

type Connections = HashMap<(String, String), (String, String)>;

/// Which endpoints do wait on `svc` for acceptance, as a sentence for an
/// error about one that never came.
async fn waiting_instead(aws: &AwsClients, svc: &str) -> String {
    let out = aws
        .ec2
        .describe_vpc_endpoint_connections()
        .filters(any_of("service-id", &[svc.to_string()]))
        .filters(any_of(
            "vpc-endpoint-state",
            &["pendingAcceptance".to_string()],
        ))
        .send()
        .await;
    let Ok(out) = out else {
        return String::new();
    };
    let waiting: Vec<String> = out
        .vpc_endpoint_connections()
        .iter()
        .filter_map(|c| {
            let id = c.vpc_endpoint_id()?;
            Some(format!(
                "{id} (account {})",
                c.vpc_endpoint_owner().unwrap_or("unknown")
            ))
        })
        .collect();
    if waiting.is_empty() {
        format!("No endpoint waits on {svc} for acceptance: check that the vendor has created its endpoint to this service's name. A service made anew has a new name, so an endpoint the vendor made to the old one never reaches it.")
    } else {
        format!("Waiting on {svc} for acceptance instead: {}. If one of them is the vendor's, set vpc_endpoint_id to it.", waiting.join(", "))
    }
}

/// One DescribeVpcEndpointConnections for `keys`; None when AWS answers
/// that a service is not found.
async fn list_connections(
    aws: &AwsClients,
    keys: &[(String, String)],
) -> Result<Option<Connections>, Diagnostics> {
    let distinct = |pick: fn(&(String, String)) -> &String| {
        let mut v: Vec<String> = keys.iter().map(|k| pick(k).clone()).collect();
        v.sort();
        v.dedup();
        v
    };
    let (svcs, vpces) = (distinct(|k| &k.0), distinct(|k| &k.1));
    let mut found = Connections::new();
    let mut token = None;
    loop {
        let out = aws
            .ec2
            .describe_vpc_endpoint_connections()
            .filters(any_of("service-id", &svcs))
            .filters(any_of("vpc-endpoint-id", &vpces))
            .set_next_token(token)
            .send()
            .await;
        let page = match out {
            Ok(o) => o,
            Err(e)
                if crate::provider::aws::error_code(&e).is_some_and(|c| c.contains("NotFound")) =>
            {
                return Ok(None)
            }
            Err(e) => return Err(aws_error("read the endpoint connection", &e)),
        };
        for c in page.vpc_endpoint_connections() {
            let (Some(svc), Some(vpce)) = (c.service_id(), c.vpc_endpoint_id()) else {
                continue;
            };
            let key = (svc.to_string(), vpce.to_string());
            if keys.contains(&key) {
                let state = c
                    .vpc_endpoint_state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                let owner = c.vpc_endpoint_owner().unwrap_or_default().to_string();
                found.insert(key, (state, owner));
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(Some(found));
        }
    }
}

async fn accept(aws: &AwsClients, svc: &str, vpce: &str) -> Result<(), Diagnostics> {
    let out = aws
        .ec2
        .accept_vpc_endpoint_connections()
        .service_id(svc)
        .vpc_endpoint_ids(vpce)
        .send()
        .await
        .map_err(|e| aws_error("accept the endpoint connection", &e))?;
    if out.unsuccessful().is_empty() {
        return Ok(());
    }
    // Accepted meanwhile, by a retry or a person: AWS documents no code for
    // that, so the connection's state now decides.
    if let Some((state, _)) = connection(aws, svc, vpce).await? {
        if matches!(state.as_str(), "pending" | "available") {
            return Ok(());
        }
    }
    unsuccessful("accept the endpoint connection", out.unsuccessful(), |_| {
        false
    })
}

/// What `hold` and `held_by_the_replacement` know a connection by.
fn held_key(svc: &str, vpce: &str) -> String {
    format!("accepter:{svc}_{vpce}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(
            EndpointConnectionAccepter.schema().lint(),
            Vec::<String>::new()
        );
    }
}
