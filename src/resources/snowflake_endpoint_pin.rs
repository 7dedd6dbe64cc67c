//! Resource `privatelink_snowflake_endpoint_pin`: pins a VPC endpoint to the
//! provider's Snowflake account (SYSTEM$REGISTER_PRIVATELINK_ENDPOINT), so
//! traffic through that endpoint may only reach this account.
//!
//! Snowflake wants proof that the caller owns the endpoint: a token from
//! `sts:GetFederationToken` scoped to `ec2:DescribeVpcEndpoints`. Create and
//! delete mint one (the shortest duration AWS allows), pass it as a bind
//! value and drop it: it is never stored, logged or shown. AWS refuses
//! GetFederationToken to role sessions, so that case is detected up front
//! and explained (`federation_profile`).
//!
//! Snowflake has no update, and the delay matters only when it registers:
//! a new delay is recorded in place (with a warning), since registering
//! again would unpin the endpoint for a moment and restart enforcement. Its
//! registration list has no times, so `registered_at` and `enforced_at` come
//! from the registering call and stay as recorded (null after import, and
//! after create adopts a registration an interrupted apply made for the
//! same AWS account).

use super::{held_by_the_replacement, hold, invalid_state};
use crate::framework::operation::Operation;
use crate::framework::plan::PlanContext;
use crate::framework::resource::{ApplyResult, Ctx, ReadResult, Resource};
use crate::framework::timeouts::{self, Timeouts};
use crate::framework::validators::int_between;
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::attribution::Attribution;
use crate::provider::aws::{error_code, error_text, CallerIdentity};
use crate::provider::call_log::CallLog;
use crate::provider::coalesce::Coalesce;
use crate::provider::config::Secret;
use crate::provider::permissions::Permissions;
use crate::provider::shapes::{aws_account_id, vpc_endpoint_id};
use crate::provider::snowflake::{self, Bind, Registration, SnowflakeClient, Statement};
use crate::provider::stop_retries::NoRetriesAfterStop;
use crate::provider::{ProviderData, JUST_CHECKED};
use async_trait::async_trait;
use aws_credential_types::provider::ProvideCredentials as _;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// The AWS actions each operation may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[
    // A new pin's endpoint is checked while planning, when its ID is known (with the minting credentials, when the plan has them).
    (Operation::Plan, &["ec2:DescribeVpcEndpoints"]),
    (
        Operation::Create,
        &["ec2:DescribeVpcEndpoints", "sts:GetFederationToken"],
    ),
    // Snowflake checks the endpoint's owner with the token on unregister
    // too, and the token can do only what the credentials that mint it may.
    (
        Operation::Delete,
        &["ec2:DescribeVpcEndpoints", "sts:GetFederationToken"],
    ),
];

pub struct SnowflakeEndpointPin;

const CREATE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
const READ_TIMEOUT: Duration = Duration::from_secs(2 * 60);
/// GetFederationToken's minimum: the token only has to outlive one call.
const TOKEN_SECONDS: i32 = 900;
/// How long one token serves the pins of a process: about ten of its
/// fifteen minutes are left when it is last handed out. Minting one per pin
/// would spend an STS call each (GetFederationToken is throttled per
/// account).
const TOKEN_REUSE: Duration = Duration::from_secs(5 * 60);
/// The policy Snowflake documents: the token can describe endpoints and
/// nothing else (DescribeVpcEndpoints has no resource-level permissions).
const TOKEN_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeVpcEndpoints"],"Resource":["*"]}]}"#;
const FEDERATED_USER: &str = "snowflake";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    id: Option<String>,
    vpc_endpoint_id: String,
    aws_account_id: Option<String>,
    delay_minutes: Option<i64>,
    federation_profile: Option<String>,
    registered_at: Option<String>,
    enforced_at: Option<String>,
    provider_service_endpoint: Option<String>,
    timeouts: Option<Timeouts>,
}

#[async_trait]
impl Resource<ProviderData> for SnowflakeEndpointPin {
    fn type_name(&self) -> &'static str {
        "privatelink_snowflake_endpoint_pin"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new()
                .description("Pins a VPC endpoint to the provider's Snowflake account (SYSTEM$REGISTER_PRIVATELINK_ENDPOINT): Snowflake then lets traffic from that endpoint reach only the accounts that pinned it. The provider checks (while planning when the endpoint's ID is known then, else before registering) that the endpoint exists in the AWS account and connects to the account's Snowflake endpoint service (`privatelink-vpce-id`: a pin on an endpoint to any other service restricts nothing, since Snowflake traffic never passes through it, and leaves the real endpoint unpinned), mints the scoped `sts:GetFederationToken` token Snowflake asks for (allowed only `ec2:DescribeVpcEndpoints`, valid 15 minutes; the pins of one Terraform run share it for at most 5) and never stores or logs it. Pin the same endpoint in several Snowflake accounts with one provider alias per account: enforcement starts at the first account's registration plus its delay, and later pins inherit that time. Destroy unregisters the endpoint. **Destroy the pin before the endpoint**: an endpoint deleted while still pinned leaves Snowflake traffic on the public internet until it is unregistered; referencing the endpoint's ID (as in the example) makes Terraform order it so. An endpoint this Snowflake account already pins for the same AWS account (an apply that was interrupted after Snowflake registered it) is adopted with a warning rather than registered twice; pinned for another AWS account, it is an error that says to import it.")
                .attribute(
                    Attribute::computed("id", Type::String)
                        .description("`ACCOUNT_LOCATOR:VPC_ENDPOINT_ID`, the Snowflake account (as CURRENT_ACCOUNT() reports it) and the endpoint.")
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::required("vpc_endpoint_id", Type::String)
                        .description("ID of your interface VPC endpoint to Snowflake's endpoint service (`vpce-...`), e.g. the endpoint created for `data.privatelink_snowflake_config.x.endpoint_service_name`. An endpoint to any other service is refused before anything is registered.")
                        .requires_replace()
                        .validate(vpc_endpoint_id()),
                )
                .attribute(
                    Attribute::optional_computed("aws_account_id", Type::String)
                        .description("The AWS account that owns the endpoint (12 digits). Defaults to the account of the credentials that mint the token (sts:GetCallerIdentity); the endpoint must belong to it.")
                        .requires_replace()
                        .use_state_for_unknown()
                        .validate(aws_account_id()),
                )
                .attribute(
                    Attribute::optional("delay_minutes", Type::Number)
                        .description("Minutes before Snowflake enforces the pin, 0 to 1440, so every account can pin the endpoint before traffic from it is refused elsewhere. It counts from the endpoint's first registration in any account, and only registering uses it: a new value on a registered pin is recorded in place, with a warning, and changes nothing in Snowflake (`enforced_at` stays). Registering again would unpin the endpoint for a moment and start enforcement over; `terraform apply -replace` does that when it is wanted (not under `create_before_destroy`, whose replacement keeps the registration as it is). Null after import, since Snowflake does not report it.")
                        .default(Value::int(60))
                        .validate(int_between(0, 1440)),
                )
                .attribute(
                    Attribute::optional("federation_profile", Type::String)
                        .description("Named profile with long-term IAM user credentials (allowed `sts:GetFederationToken` and `ec2:DescribeVpcEndpoints` in the endpoint's account) that mints the token. Needed when the provider runs as a role: AWS refuses GetFederationToken to role sessions. Overrides the provider's `federation_profile`.")
                        .provider_only(),
                )
                .attribute(
                    Attribute::computed("registered_at", Type::String)
                        .description("When Snowflake registered the pin (RFC 3339, from the statement's creation time). Null after import.")
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::computed("enforced_at", Type::String)
                        .description("When Snowflake starts enforcing the pin (RFC 3339), as it answered the registration: the endpoint's first registration in any account plus that call's delay, or the registration time when that has passed. Null after import, or when Snowflake's answer names no time, or one without its time zone (the first account's local time).")
                        .use_state_for_unknown(),
                )
                .attribute(
                    Attribute::computed("provider_service_endpoint", Type::String)
                        .description("Snowflake's endpoint service the pin is for (`vpce-svc-...`).")
                        .use_state_for_unknown(),
                )
                .block(timeouts::block(CREATE_TIMEOUT, None, DELETE_TIMEOUT)),
        )
    }

    async fn modify_plan(&self, ctx: Option<&Ctx<ProviderData>>, plan: &mut PlanContext) {
        if plan.planned.is_null() {
            return;
        }
        if plan.is_create() {
            if let Some(ctx) = ctx {
                // Known now; the apply would fail on it.
                if !ctx.data.has_snowflake() {
                    let mut d = crate::provider::no_snowflake_block();
                    if let Some(first) = d.0.first_mut() {
                        first.detail.push_str(" Until then, this pin stops every plan of this configuration, a destroy's included: add the block, or take the pin out of the configuration.");
                    }
                    plan.diagnostics.extend(d);
                    return;
                }
                match assumed_role_cannot_mint(ctx, &plan.config) {
                    Some(d) => plan.diagnostics.push(d),
                    None => plan
                        .diagnostics
                        .extend(plan_minting(ctx, &plan.config).await),
                }
            }
            return;
        }
        // An imported pin has no delay on record (Snowflake does not report
        // it): keep it null when the configuration leaves it out, and
        // record a configured one.
        let recorded_only = |plan: &mut PlanContext, enforcement: &str| {
            plan.diagnostics.push(
                Diagnostic::warning(
                    "The new delay changes nothing in Snowflake",
                    format!("Snowflake uses delay_minutes only when it registers the pin, and this pin is registered: the new value is recorded, and enforcement stays {enforcement}. Registering again would unpin the endpoint for a moment and start enforcement over; if that is wanted, apply with -replace on this pin (without create_before_destroy, whose replacement keeps the registration as it is)."),
                )
                .at(AttributePath::attr("delay_minutes")),
            );
        };
        if plan.prior.get("delay_minutes").is_some_and(Value::is_null) {
            if plan.config.get("delay_minutes").is_none_or(Value::is_null) {
                plan.set("delay_minutes", Value::Null);
            } else if plan.requires_replace.is_empty() {
                recorded_only(
                    plan,
                    "as it was registered (Snowflake does not report a registration's delay)",
                );
            }
        } else if plan.changed("delay_minutes") && plan.requires_replace.is_empty() {
            recorded_only(plan, "as enforced_at says");
        }
    }

    async fn create(
        &self,
        ctx: &Ctx<ProviderData>,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let plan: State = match typed::from_value(planned) {
            Ok(s) => s,
            Err(e) => return ApplyResult::failed(None, invalid_state(e)),
        };
        let registered = match register(ctx, &plan).await {
            Ok(r) => r,
            Err(d) => return ApplyResult::failed(None, d),
        };
        let mut state = State {
            id: Some(registered.id.clone()),
            aws_account_id: Some(registered.account.clone()),
            registered_at: registered.registered_at.clone(),
            enforced_at: registered.enforced_at.clone(),
            ..plan.clone()
        };
        // The pin exists from here on: failures keep it in state.
        hold(&held_key(&registered.id));
        let listed = async {
            let sf = ctx.data.snowflake().await?;
            find(sf, ctx, &plan.vpc_endpoint_id, READ_TIMEOUT).await
        }
        .await;
        match listed {
            Ok(Some(r)) => {
                state.provider_service_endpoint = r.provider_service_endpoint;
                let mut result: ApplyResult = to_value(&state, self).into();
                if registered.adopted {
                    result.diagnostics.push(adopted_warning(&plan, &registered));
                }
                result
            }
            Ok(None) => ApplyResult::failed(
                to_value(&state, self).ok(),
                Diagnostic::error(
                    "The pin is not listed",
                    format!(
                        "Snowflake accepted the registration of {} but SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS does not list it.",
                        plan.vpc_endpoint_id
                    ),
                ),
            ),
            Err(d) => ApplyResult::failed(to_value(&state, self).ok(), d),
        }
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
    ) -> Result<ReadResult, Diagnostics> {
        let prior: State = typed::from_value(state).map_err(invalid_state)?;
        let sf = ctx.data.snowflake().await?;
        let Some(r) = find(sf, ctx, &prior.vpc_endpoint_id, READ_TIMEOUT).await? else {
            return Ok(None.into());
        };
        let locator = locator(sf, ctx).await?;
        Ok(Some(to_value(
            &State {
                id: Some(pin_id(&locator, &prior.vpc_endpoint_id)),
                aws_account_id: Some(r.consumer_endpoint_id),
                provider_service_endpoint: r.provider_service_endpoint,
                ..prior
            },
            self,
        )?)
        .into())
    }

    async fn update(
        &self,
        _ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        // Only what Snowflake never sees changes in place: the profile, the
        // timeouts, and the delay (recorded, not sent).
        let result = (|| {
            let old: State = typed::from_value(prior).map_err(invalid_state)?;
            let new: State = typed::from_value(planned).map_err(invalid_state)?;
            to_value(
                &State {
                    federation_profile: new.federation_profile,
                    timeouts: new.timeouts,
                    delay_minutes: new.delay_minutes,
                    ..old
                },
                self,
            )
        })();
        result.into()
    }

    async fn delete(&self, ctx: &Ctx<ProviderData>, prior: &Value) -> Result<(), Diagnostics> {
        let state: State = typed::from_value(prior).map_err(invalid_state)?;
        let sf = ctx.data.snowflake().await?;
        let vpce = state.vpc_endpoint_id.as_str();
        if state
            .id
            .as_deref()
            .is_some_and(|id| held_by_the_replacement(&held_key(id)))
        {
            return Ok(());
        }
        let timeout = Timeouts::get(&state.timeouts, "delete", DELETE_TIMEOUT);
        let Some(current) = find(sf, ctx, vpce, timeout).await? else {
            return Ok(());
        };
        // Snowflake checks the token against the account it registered.
        let account = current.consumer_endpoint_id;
        let profile = profile_of(ctx, state.federation_profile.as_deref());
        let minter = Minter::shared(ctx, profile).await?;
        let token = minter.token(ctx, &account).await?;
        let purpose = format!("unregister {vpce}");
        sf.execute(
            &Statement {
                purpose: &purpose,
                sql: "SELECT SYSTEM$UNREGISTER_PRIVATELINK_ENDPOINT(?, ?, ?)",
                binds: vec![
                    Bind::text(vpce),
                    Bind::text(&account),
                    Bind::text(token.expose()),
                ],
                timeout,
            },
            ctx.stopped(),
        )
        .await
        .map_err(|e| Diagnostics::from(snowflake::diagnostic(&e, Some(sf))))?;
        drop(token);
        if find(sf, ctx, vpce, timeout).await?.is_some() {
            return Err(Diagnostic::error(
                "The pin is still listed",
                format!("Snowflake accepted the unregistration of {vpce} but still lists it."),
            )
            .into());
        }
        Ok(())
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let (given_locator, vpce) = match id.split_once(':') {
            Some((l, v)) => (Some(l), v),
            None => (None, id),
        };
        if !vpc_endpoint_id().matches(vpce) {
            return Err(Diagnostic::error(
                "Invalid import ID",
                format!("{id:?} is not a VPC endpoint ID (vpce-...), optionally prefixed by the account locator or the configured account and a colon."),
            )
            .into());
        }
        let sf = ctx.data.snowflake().await?;
        let locator = locator(sf, ctx).await?;
        if let Some(l) = given_locator {
            if l.is_empty() {
                return Err(Diagnostic::error(
                    "Invalid import ID",
                    format!("{id:?} has an empty account locator: use {vpce} or {locator}:{vpce}."),
                )
                .into());
            }
            // The account as the provider block names it is as good as
            // its locator: both are this provider's account.
            let named = l.eq_ignore_ascii_case(&locator) || l.eq_ignore_ascii_case(&sf.account);
            if !named {
                return Err(Diagnostic::error(
                    "Import ID names another Snowflake account",
                    format!("{id:?} starts with {l:?}, but this provider's Snowflake account is {} (locator {locator}): pin IDs start with the account locator, as in {locator}:{vpce}. If {l} is another account, import through the provider alias for that account.", sf.account),
                )
                .into());
            }
        }
        let Some(r) = find(sf, ctx, vpce, READ_TIMEOUT).await? else {
            return Err(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("{vpce} is not pinned to Snowflake account {locator}."),
            )
            .into());
        };
        to_value(
            &State {
                id: Some(pin_id(&locator, vpce)),
                vpc_endpoint_id: vpce.to_string(),
                aws_account_id: Some(r.consumer_endpoint_id),
                provider_service_endpoint: r.provider_service_endpoint,
                ..State::default()
            },
            self,
        )
    }
}

fn to_value(s: &State, r: &SnowflakeEndpointPin) -> Result<Value, Diagnostics> {
    typed::state_value(s, r, || r.schema())
}

fn pin_id(locator: &str, vpce: &str) -> String {
    format!("{locator}:{vpce}")
}

async fn locator(sf: &SnowflakeClient, ctx: &Ctx<ProviderData>) -> Result<String, Diagnostics> {
    sf.account_locator(ctx.stopped())
        .await
        .map(str::to_string)
        .map_err(|e| snowflake::diagnostic(&e, Some(sf)).into())
}

/// The account's registration of `vpce`, if any.
async fn find(
    sf: &SnowflakeClient,
    ctx: &Ctx<ProviderData>,
    vpce: &str,
    timeout: Duration,
) -> Result<Option<Registration>, Diagnostics> {
    let all = sf
        .endpoint_registrations(timeout, ctx.stopped())
        .await
        .map_err(|e| Diagnostics::from(snowflake::diagnostic(&e, Some(sf))))?;
    Ok(all
        .iter()
        .find(|r| r.pinned_consumer_endpoint_id == vpce)
        .cloned())
}

/// The resource's profile, else the provider's: (name, set on the resource).
fn profile_of<'a>(
    ctx: &'a Ctx<ProviderData>,
    resource: Option<&'a str>,
) -> Option<(&'a str, bool)> {
    resource.map(|p| (p, true)).or_else(|| {
        ctx.data
            .config
            .federation_profile
            .as_deref()
            .map(|p| (p, false))
    })
}

struct Registered {
    id: String,
    account: String,
    /// None for a registration adopted rather than made: Snowflake's list
    /// has no times.
    registered_at: Option<String>,
    enforced_at: Option<String>,
    /// Found registered already, so its delay is not known.
    adopted: bool,
}

async fn register(ctx: &Ctx<ProviderData>, plan: &State) -> Result<Registered, Diagnostics> {
    let sf = ctx.data.snowflake().await?;
    let vpce = plan.vpc_endpoint_id.as_str();
    let timeout = Timeouts::get(&plan.timeouts, "create", CREATE_TIMEOUT);
    let minter = Minter::shared(ctx, profile_of(ctx, plan.federation_profile.as_deref())).await?;
    let account = account_for(&minter, plan.aws_account_id.as_deref())?;
    let endpoint_service = checked_endpoint(ctx, &minter, vpce, &account).await?;
    let locator = locator(sf, ctx).await?;
    check_service(
        sf,
        ctx,
        vpce,
        endpoint_service.as_deref(),
        &locator,
        timeout,
    )
    .await?;
    if let Some(existing) = find(sf, ctx, vpce, timeout).await? {
        // Registered for this AWS account already: an earlier apply whose
        // answer never arrived (the provider killed mid-call) made it, so
        // it is adopted rather than registered twice (which Snowflake
        // refuses). Registered for another account, it is not ours.
        if existing.consumer_endpoint_id == account {
            tracing::debug!(
                vpce,
                "the endpoint is already pinned; adopting the registration"
            );
            return Ok(Registered {
                id: pin_id(&locator, vpce),
                account,
                registered_at: None,
                enforced_at: None,
                adopted: true,
            });
        }
        return Err(Diagnostic::error(
            "The endpoint is already pinned",
            format!("{vpce} is already pinned to Snowflake account {locator} for AWS account {}. Import it: terraform import <address> {vpce}", existing.consumer_endpoint_id),
        )
        .at(AttributePath::attr("vpc_endpoint_id"))
        .into());
    }
    let token = minter.token(ctx, &account).await?;
    let purpose = format!("register {vpce}");
    let delay = plan.delay_minutes.unwrap_or(60);
    let result = sf
        .execute(
            &Statement {
                purpose: &purpose,
                sql: "SELECT SYSTEM$REGISTER_PRIVATELINK_ENDPOINT(?, ?, ?, ?)",
                binds: vec![
                    Bind::text(vpce),
                    Bind::text(&account),
                    Bind::text(token.expose()),
                    Bind::fixed(delay),
                ],
                timeout,
            },
            ctx.stopped(),
        )
        .await;
    drop(token);
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            let failed = Diagnostics::from(snowflake::diagnostic(&e, Some(sf)));
            // A resubmission after a lost answer may run the statement again
            // when the first run had not finished (Snowflake promises only
            // not to rerun one that succeeded), and the rerun fails as
            // already registered: the registration there is ours.
            return match find(sf, ctx, vpce, timeout).await {
                Ok(Some(existing)) if existing.consumer_endpoint_id == account => Ok(Registered {
                    id: pin_id(&locator, vpce),
                    account,
                    registered_at: None,
                    enforced_at: None,
                    adopted: true,
                }),
                _ => Err(failed),
            };
        }
    };
    let registered_at = result
        .created_on_ms
        .and_then(|ms| rfc3339(ms.div_euclid(1000)))
        .or_else(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()?;
            rfc3339(i64::try_from(now.as_secs()).ok()?)
        })
        .unwrap_or_default();
    let answer = result.first_cell().unwrap_or_default();
    tracing::debug!(vpce, answer, "Snowflake registered the endpoint");
    Ok(Registered {
        id: pin_id(&locator, vpce),
        account,
        enforced_at: enforcement_time(answer, &registered_at),
        registered_at: Some(registered_at),
        adopted: false,
    })
}

/// A pin restricts where traffic through the pinned endpoint may go. An
/// endpoint to any other service carries no Snowflake traffic, so pinning it
/// would restrict nothing and leave the real endpoint unpinned: almost
/// certainly the wrong ID, so it is refused before anything is registered.
async fn check_service(
    sf: &SnowflakeClient,
    ctx: &Ctx<ProviderData>,
    vpce: &str,
    endpoint_service: Option<&str>,
    locator: &str,
    timeout: Duration,
) -> Result<(), Diagnostics> {
    let expected = sf
        .endpoint_service_name(timeout, ctx.stopped())
        .await
        .map_err(|e| Diagnostics::from(snowflake::diagnostic(&e, Some(sf))))?;
    match (expected, endpoint_service) {
        (Some(expected), Some(actual)) if !actual.eq_ignore_ascii_case(expected) => Err(Diagnostic::error(
            "The endpoint does not connect to Snowflake",
            format!(
                "{vpce} is an endpoint to {actual}, but Snowflake account {locator} is served by {expected} (privatelink-vpce-id of SYSTEM$GET_PRIVATELINK_CONFIG). Snowflake traffic never passes through this endpoint, so a pin on it would restrict nothing and leave your endpoint to Snowflake unpinned. Pin the interface endpoint whose service_name is {expected} (data.privatelink_snowflake_config's endpoint_service_name)."
            ),
        )
        .at(AttributePath::attr("vpc_endpoint_id"))
        .into()),
        _ => Ok(()),
    }
}

/// What `hold` and `held_by_the_replacement` know a pin by (its ID names the
/// Snowflake account and the endpoint).
fn held_key(id: &str) -> String {
    format!("pin:{id}")
}

/// Adopting is right after an interrupted apply, but the same pin in two
/// configurations would have either one's destroy unpin it for both; and
/// Snowflake does not say which delay the registration was made with.
fn adopted_warning(plan: &State, registered: &Registered) -> Diagnostic {
    Diagnostic::warning(
        "Adopted an existing pin",
        format!(
            "{} was already pinned to this Snowflake account for AWS account {}, so the registration was adopted, not made again: an earlier apply was interrupted after Snowflake registered it, a create_before_destroy replacement of this pin (`-replace`, a taint) took it over from the instance it replaces, which then leaves it registered, or another configuration manages this pin. In the last case remove it from one of them (destroying either unpins it for both). Snowflake does not report a registration's delay, so delay_minutes and enforced_at are as configured and unknown, not confirmed.",
            plan.vpc_endpoint_id, registered.account
        ),
    )
}

fn rfc3339(secs: i64) -> Option<String> {
    let t = time::OffsetDateTime::from_unix_timestamp(secs).ok()?;
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// The enforcement time named in the register call's answer: a timestamp
/// after "enforce", or the registration time for "immediately".
fn enforcement_time(message: &str, registered_at: &str) -> Option<String> {
    let lower = message.to_ascii_lowercase();
    let at = lower.find("enforce")?;
    let rest = &message[at..];
    // Compiled once per process: compiling costs far more than matching.
    static TIMESTAMP: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:\.\d+)? ?(Z|UTC|GMT|[+-]\d{2}:?\d{2})?",
        )
        .ok()
    });
    let re = TIMESTAMP.as_ref()?;
    // Snowflake quotes the first account's local time: a time with no zone
    // names no instant, and is left unknown rather than taken as UTC.
    let timestamp = re.captures(rest).map(|c| {
        let zone = c.get(3).map(|z| match z.as_str() {
            "Z" | "UTC" | "GMT" => "Z".to_string(),
            offset => {
                let digits = offset.replace(':', "");
                format!("{}:{}", &digits[..3], &digits[3..])
            }
        });
        let start = c.get(0).map_or(0, |m| m.start());
        (start, zone.map(|z| format!("{}T{}{z}", &c[1], &c[2])))
    });
    let immediately = rest.to_ascii_lowercase().find("immediately");
    // Whichever comes first names this registration's enforcement; a later
    // timestamp is the first registration's time, quoted for reference.
    match (timestamp, immediately) {
        (Some((at, _)), Some(i)) if i < at => Some(registered_at.to_string()),
        (Some((_, t)), _) => t,
        (None, Some(_)) => Some(registered_at.to_string()),
        (None, None) => None,
    }
}

/// The AWS side of a pin: credentials that may call GetFederationToken, and
/// the account they act in.
struct Minter {
    sts: aws_sdk_sts::Client,
    ec2: aws_sdk_ec2::Client,
    region: String,
    account: String,
    arn: String,
    /// Pins registering or unregistering at once wait for one mint (the
    /// token names no endpoint).
    minting: Coalesce<(), Secret, Diagnostics>,
}

impl Minter {
    /// The minter of `profile` (or of the provider's own credentials),
    /// built once per process: each pin would otherwise load the profile,
    /// build its clients and ask STS who it is again.
    async fn shared(
        ctx: &Ctx<ProviderData>,
        profile: Option<(&str, bool)>,
    ) -> Result<std::sync::Arc<Minter>, Diagnostics> {
        let key = format!("federation-minter:{}", profile.map_or("", |(name, _)| name));
        ctx.data
            .recent(&key, Duration::from_secs(3600), || {
                Minter::new(ctx, profile)
            })
            .await
    }

    /// Clients for `profile` (or the provider's own), checked to hold
    /// long-term credentials, since GetFederationToken refuses the others.
    async fn new(
        ctx: &Ctx<ProviderData>,
        profile: Option<(&str, bool)>,
    ) -> Result<Minter, Diagnostics> {
        let aws = ctx.data.aws().await?;
        let at = |on_resource: bool| {
            if on_resource {
                AttributePath::attr("federation_profile")
            } else {
                AttributePath::root()
            }
        };
        let (sts, ec2, sdk, path) = match profile {
            None => (
                aws.sts.clone(),
                aws.ec2.clone(),
                aws.sdk_config().clone(),
                AttributePath::root(),
            ),
            Some((name, on_resource)) => {
                // The profile's own credentials: the default chain would
                // take AWS_ACCESS_KEY_ID and friends first, i.e. the very
                // temporary credentials the profile is there to replace.
                // The provider block's was checked at Configure.
                if on_resource {
                    crate::provider::aws::check_profile(name, at(true)).await?;
                }
                let credentials = crate::provider::aws::profile_credentials(
                    name,
                    Some(aws_config::Region::new(aws.region.clone())),
                );
                let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
                    .retry_config(crate::provider::aws::retry_config(
                        ctx.data.config.max_attempts,
                    ))
                    .timeout_config(crate::provider::aws::timeout_config());
                if let Some(app) = crate::provider::aws::app_name() {
                    loader = loader.app_name(app);
                }
                let sdk = loader
                    .profile_name(name)
                    .credentials_provider(credentials)
                    .region(aws_config::Region::new(aws.region.clone()))
                    .load()
                    .await;
                let endpoint = |service: &str| {
                    ctx.data
                        .config
                        .endpoints
                        .iter()
                        .find(|(s, _)| s == service)
                        .map(|(_, u)| u.clone())
                };
                let call_log = CallLog;
                let no_retries_after_stop = NoRetriesAfterStop(ctx.data.stop.clone());
                let mut s = aws_sdk_sts::config::Builder::from(&sdk)
                    .interceptor(call_log)
                    .interceptor(Attribution)
                    .retry_classifier(no_retries_after_stop.clone());
                if let Some(u) = endpoint("sts") {
                    s = s.endpoint_url(u);
                }
                let mut e = aws_sdk_ec2::config::Builder::from(&sdk)
                    .interceptor(call_log)
                    .interceptor(Attribution)
                    .retry_classifier(no_retries_after_stop);
                if let Some(u) = endpoint("ec2") {
                    e = e.endpoint_url(u);
                }
                (
                    aws_sdk_sts::Client::from_conf(s.build()),
                    aws_sdk_ec2::Client::from_conf(e.build()),
                    sdk,
                    at(on_resource),
                )
            }
        };
        let who = match profile {
            Some((name, _)) => format!("the credentials of profile {name:?}"),
            None => "the provider's AWS credentials".to_string(),
        };
        let creds = match sdk.credentials_provider() {
            Some(p) => p.provide_credentials().await.map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error(
                        "Cannot load the credentials that mint the Snowflake token",
                        format!("Loading {who} failed: {e}."),
                    )
                    .at(path.clone()),
                )
            })?,
            None => {
                return Err(Diagnostic::error(
                    "No AWS credentials to mint the Snowflake token",
                    format!("Nothing was found for {who}."),
                )
                .at(path)
                .into())
            }
        };
        let has_session = creds.session_token().is_some();
        drop(creds);
        let identity = if profile.is_none() {
            // The provider's own credentials: errors belong to the
            // provider block, where they already point.
            aws.caller_identity().await?.clone()
        } else {
            let out = sts.get_caller_identity().send().await.map_err(|e| {
                Diagnostics::from(
                    Diagnostic::error(
                        "Cannot identify the credentials that mint the Snowflake token",
                        format!(
                            "sts:GetCallerIdentity with {who} failed: {}.",
                            error_text(&e)
                        ),
                    )
                    .at(path.clone()),
                )
            })?;
            CallerIdentity {
                account: out.account.unwrap_or_default(),
                arn: out.arn.unwrap_or_default(),
            }
        };
        let CallerIdentity { account, arn } = identity;
        if has_session || arn.contains(":assumed-role/") || arn.contains(":federated-user/") {
            return Err(session_error(&who, &arn, &account, path).into());
        }
        Ok(Minter {
            sts,
            ec2,
            region: aws.region.clone(),
            account,
            arn,
            minting: Coalesce::default(),
        })
    }

    /// The endpoint must exist, be usable and belong to `account`; answers
    /// the service it connects to.
    async fn check_endpoint(
        &self,
        vpce: &str,
        account: &str,
    ) -> Result<Option<String>, Diagnostics> {
        let at = AttributePath::attr("vpc_endpoint_id");
        let missing = || {
            Diagnostics::from(
                Diagnostic::error(
                    "VPC endpoint not found",
                    format!(
                        "{vpce} does not exist in AWS account {account}, region {}. Pin the interface endpoint you created to Snowflake's endpoint service, in the account whose credentials mint the token.",
                        self.region
                    ),
                )
                .at(at.clone()),
            )
        };
        let out = match self
            .ec2
            .describe_vpc_endpoints()
            .vpc_endpoint_ids(vpce)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if error_code(&e).is_some_and(|c| c.contains("NotFound")) => {
                return Err(missing())
            }
            Err(e) => {
                return Err(Diagnostic::error(
                    "Cannot check the VPC endpoint",
                    format!("ec2:DescribeVpcEndpoints failed: {}. The minting credentials need this permission (so does the token Snowflake uses).", error_text(&e)),
                )
                .at(at)
                .into())
            }
        };
        let Some(ep) = out
            .vpc_endpoints()
            .iter()
            .find(|e| e.vpc_endpoint_id() == Some(vpce))
        else {
            return Err(missing());
        };
        let state = ep
            .state()
            .map(|s| s.as_str().to_ascii_lowercase())
            .unwrap_or_default();
        if matches!(
            state.as_str(),
            "deleting" | "deleted" | "failed" | "rejected" | "expired"
        ) {
            return Err(Diagnostic::error(
                "VPC endpoint not usable",
                format!("{vpce} is {state}; pin a live endpoint."),
            )
            .at(at)
            .into());
        }
        if let Some(owner) = ep.owner_id().filter(|o| *o != account) {
            return Err(Diagnostic::error(
                "VPC endpoint belongs to another account",
                format!("{vpce} is owned by AWS account {owner}, not {account}."),
            )
            .at(at)
            .into());
        }
        Ok(ep.service_name().map(str::to_string))
    }

    /// A federated token for `account`, as the JSON Snowflake takes (the
    /// shape `aws sts get-federation-token` prints).
    async fn token(
        &self,
        ctx: &Ctx<ProviderData>,
        account: &str,
    ) -> Result<Arc<Secret>, Diagnostics> {
        if account != self.account {
            return Err(Diagnostic::error(
                "The token would belong to another AWS account",
                format!(
                    "The endpoint is registered for AWS account {account}, but the credentials that mint the token act in {}. Set federation_profile to a profile in account {account}.",
                    self.account
                ),
            )
            .into());
        }
        // Kept in memory only, never in state or logs (`Secret` prints
        // redacted), and reused for TOKEN_REUSE.
        let token = ctx
            .data
            .recent(
                &format!("federation-token:{}", self.arn),
                TOKEN_REUSE,
                || self.minting.get((), |_| self.mint(account)),
            )
            .await?;
        Ok(Arc::clone(&token))
    }

    async fn mint(&self, account: &str) -> Result<Secret, Diagnostics> {
        tracing::debug!(
            account,
            "minting a federation token (sts:GetFederationToken) for Snowflake"
        );
        let out = self
            .sts
            .get_federation_token()
            .name(FEDERATED_USER)
            .policy(TOKEN_POLICY)
            .duration_seconds(TOKEN_SECONDS)
            .send()
            .await
            .map_err(|e| {
                let text = error_text(&e);
                if text.contains("session credentials") || text.contains("temporary") {
                    Diagnostics::from(session_error(
                        "the minting credentials",
                        &self.arn,
                        &self.account,
                        AttributePath::root(),
                    ))
                } else {
                    Diagnostics::from(Diagnostic::error(
                        "Cannot mint the token Snowflake needs",
                        format!("sts:GetFederationToken failed: {text}."),
                    ))
                }
            })?;
        let (Some(c), Some(user)) = (out.credentials(), out.federated_user()) else {
            return Err(Diagnostic::error(
                "Cannot mint the token Snowflake needs",
                "sts:GetFederationToken returned no credentials.",
            )
            .into());
        };
        let expiration =
            time::OffsetDateTime::from_unix_timestamp(c.expiration().secs()).map_err(|_| {
                Diagnostics::from(Diagnostic::error(
                    "Cannot mint the token Snowflake needs",
                    "sts:GetFederationToken returned an invalid expiration.",
                ))
            })?;
        // Deprecated in the SDK, but the token JSON Snowflake documents (the
        // CLI's output) still carries it.
        #[allow(deprecated)]
        let packed_policy_size = out.packed_policy_size();
        let json = serde_json::json!({
            "Credentials": {
                "AccessKeyId": c.access_key_id(),
                "SecretAccessKey": c.secret_access_key(),
                "SessionToken": c.session_token(),
                "Expiration": format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}+00:00",
                    expiration.year(),
                    u8::from(expiration.month()),
                    expiration.day(),
                    expiration.hour(),
                    expiration.minute(),
                    expiration.second()
                ),
            },
            "FederatedUser": {
                "FederatedUserId": user.federated_user_id(),
                "Arn": user.arn(),
            },
            "PackedPolicySize": packed_policy_size,
        });
        Ok(Secret::new(json.to_string()))
    }
}

/// The provider's `assume_role` makes its credentials a role session, which
/// AWS never lets call GetFederationToken: said at plan, before this run
/// makes anything (the endpoint the pin names, say), unless a
/// federation_profile mints instead.
fn assumed_role_cannot_mint(ctx: &Ctx<ProviderData>, config: &Value) -> Option<Diagnostic> {
    let profile_given = config
        .get("federation_profile")
        .is_some_and(|v| !v.is_null());
    if profile_given || ctx.data.config.federation_profile.is_some() {
        return None;
    }
    let role = ctx.data.config.assume_role.as_ref()?;
    let account = role.role_arn.split(':').nth(4).unwrap_or_default();
    Some(session_error(
        "the provider's AWS credentials (its assume_role)",
        &role.role_arn,
        account,
        AttributePath::attr("federation_profile"),
    ))
}

/// The endpoint's AWS account: `configured` (aws_account_id) when set, which
/// must be the minting credentials' own, else theirs.
fn account_for(minter: &Minter, configured: Option<&str>) -> Result<String, Diagnostics> {
    match configured {
        Some(a) if a != minter.account => Err(Diagnostic::error(
            "The token would belong to another AWS account",
            format!(
                "The credentials that mint the token act in account {} ({}), but aws_account_id is {a}: Snowflake only accepts a token from the endpoint's own account. Use a federation_profile in account {a}.",
                minter.account, minter.arn
            ),
        )
        .at(AttributePath::attr("aws_account_id"))
        .into()),
        Some(a) => Ok(a.to_string()),
        None => Ok(minter.account.clone()),
    }
}

/// `Minter::check_endpoint`, whose answer a create takes from the plan
/// just before it: Terraform plans a pin again right before applying it,
/// in the process that applies it.
async fn checked_endpoint(
    ctx: &Ctx<ProviderData>,
    minter: &Minter,
    vpce: &str,
    account: &str,
) -> Result<Option<String>, Diagnostics> {
    let key = format!("pin-endpoint:{account}:{vpce}");
    let service = ctx
        .data
        .recent(&key, JUST_CHECKED, || minter.check_endpoint(vpce, account))
        .await?;
    Ok((*service).clone())
}

/// While planning a new pin, what its apply would find out about the
/// credentials that mint the token, from the values known so far and when
/// they can be had here: an `aws_account_id` they do not act in, an
/// endpoint not in their account or not to the Snowflake account's endpoint
/// service. With the endpoint not known yet, a `federation_profile`
/// in another account than the provider's is a warning: an endpoint this
/// configuration makes with the provider lands in the provider's account,
/// and the pin would fail only after it is made.
async fn plan_minting(ctx: &Ctx<ProviderData>, config: &Value) -> Diagnostics {
    let set = |name: &str| config.get(name).filter(|v| !v.is_null());
    let unknown = |name: &str| set(name).is_some_and(Value::is_unknown);
    if !ctx.data.config.pending_for_aws().is_empty()
        || unknown("federation_profile")
        || unknown("aws_account_id")
    {
        return Diagnostics::new();
    }
    let profile = profile_of(ctx, set("federation_profile").and_then(Value::as_str));
    // A plan may run where the minting credentials are not (a read-only
    // role in CI, the profile only on the machine that applies): what is
    // wrong with them is said by the apply, as before.
    let Ok(minter) = Minter::shared(ctx, profile).await else {
        return Diagnostics::new();
    };
    let configured = set("aws_account_id").and_then(Value::as_str);
    let account = match account_for(&minter, configured) {
        Ok(a) => a,
        Err(d) => return d,
    };
    if let Some(vpce) = set("vpc_endpoint_id").and_then(Value::as_str) {
        let service = match checked_endpoint(ctx, &minter, vpce, &account).await {
            Ok(service) => service,
            Err(d) => return d,
        };
        if !ctx.data.config.pending_for_snowflake().is_empty() {
            return Diagnostics::new();
        }
        let checked = async {
            let sf = ctx.data.snowflake().await?;
            let locator = locator(sf, ctx).await?;
            check_service(sf, ctx, vpce, service.as_deref(), &locator, READ_TIMEOUT).await
        };
        return checked.await.err().unwrap_or_default();
    }
    let (Some((name, on_resource)), None) = (profile, configured) else {
        return Diagnostics::new();
    };
    // The provider's identity is known by now unless its check is skipped.
    let Ok(aws) = ctx.data.aws().await else {
        return Diagnostics::new();
    };
    let Ok(provider) = aws.caller_identity().await else {
        return Diagnostics::new();
    };
    if provider.account == minter.account {
        return Diagnostics::new();
    }
    Diagnostic::warning(
        "The token is minted in another AWS account than the provider's",
        format!(
            "federation_profile {name:?} acts in account {} ({}), and the provider's credentials act in {}. Snowflake pins an endpoint only for a token from the endpoint's own account, so an endpoint this configuration makes with this provider (in {}) would be refused after it is made. Use a federation_profile in account {}, or set aws_account_id = \"{}\" if the endpoint is in that account.",
            minter.account, minter.arn, provider.account, provider.account, provider.account, minter.account
        ),
    )
    .at(if on_resource {
        AttributePath::attr("federation_profile")
    } else {
        AttributePath::root()
    })
    .into()
}

/// `who` at the start of a sentence.
fn capitalized(who: &str) -> String {
    let mut chars = who.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn session_error(who: &str, arn: &str, account: &str, path: AttributePath) -> Diagnostic {
    Diagnostic::error(
        "Role credentials cannot mint the Snowflake pin token",
        format!(
            "Snowflake needs a token from sts:GetFederationToken, which AWS refuses to role sessions and other temporary credentials (assume_role, SSO, instance and container roles). {} act as {arn}. Set federation_profile on this resource or in the provider block to a shared-config profile with long-term IAM user credentials in account {account}, allowed sts:GetFederationToken and ec2:DescribeVpcEndpoints, or run Terraform with such static IAM user credentials.",
            capitalized(who)
        ),
    )
    .at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(SnowflakeEndpointPin.schema().lint(), Vec::<String>::new());
    }

    #[test]
    fn enforcement_times_keep_their_zone_and_none_is_guessed() {
        let at = "2024-12-10T10:00:00Z";
        let said = |when: &str| {
            enforcement_time(
                &format!("Private endpoint vpce-1 registered. The registration will be enforced at {when}."),
                at,
            )
        };
        assert_eq!(
            said("2024-12-10 03:00:00 -0800").as_deref(),
            Some("2024-12-10T03:00:00-08:00")
        );
        assert_eq!(
            said("2024-12-10T16:30:00+05:30").as_deref(),
            Some("2024-12-10T16:30:00+05:30")
        );
        assert_eq!(
            said("2024-12-10 11:00:00.000 Z").as_deref(),
            Some("2024-12-10T11:00:00Z")
        );
        assert_eq!(
            said("2024-12-10 11:00:00 GMT").as_deref(),
            Some("2024-12-10T11:00:00Z")
        );
        // The account's local time, zone unnamed: no instant to state.
        assert_eq!(said("2024-12-10 03:00:00"), None);
    }

    #[test]
    fn enforcement_times_from_the_answer() {
        let at = "2024-12-10T10:00:00Z";
        assert_eq!(
            enforcement_time(
                "Private endpoint vpce-1 registered. The registration will be enforced at 2024-12-10 11:00:00 UTC. When the same private endpoint is pinned to multiple accounts, enforcement is based on the earliest registration (2024-12-10 10:00:00 UTC plus 60 minutes).",
                at
            )
            .as_deref(),
            Some("2024-12-10T11:00:00Z")
        );
        assert_eq!(
            enforcement_time(
                "Private endpoint vpce-1 registered. The registration will be enforced immediately. When the same private endpoint is pinned to multiple accounts, enforcement is based on the earliest registration (2024-12-10 09:00:00 UTC plus 60 minutes).",
                at
            )
            .as_deref(),
            Some(at)
        );
        assert_eq!(
            enforcement_time("Statement executed successfully.", at),
            None
        );
    }

    #[test]
    fn rfc3339_times() {
        assert_eq!(rfc3339(0).as_deref(), Some("1970-01-01T00:00:00Z"));
        assert_eq!(rfc3339(1733824820).as_deref(), Some("2024-12-10T10:00:20Z"));
    }
}
