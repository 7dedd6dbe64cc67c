//! Managed resources, one file each.

pub mod endpoint_connection_accepter;
pub mod endpoint_service;
pub mod redshift_endpoint_grant;
pub mod s3_storage_integration;
pub mod snowflake_endpoint_pin;
pub mod vpc_endpoint;

use crate::framework::timeouts::WaitError;
use crate::framework::{Diagnostic, Diagnostics};
use crate::provider::aws::{error_code, error_text, AwsClients};
use aws_sdk_ec2::types::ServiceDetail;
use std::collections::HashMap;

/// Values per EC2 filter in one call of a coalesced lookup. EC2 takes 200
/// values in one call across all its filters, and a lookup filtering on two
/// keys (the accepter's) sends two per key: keep this at 100 or less. A
/// round is rarely larger than Terraform's parallelism anyway.
pub const FILTER_VALUES: usize = 100;

/// The Region a partner service's name carries:
/// `com.amazonaws.vpce.<region>.vpce-svc-...`.
pub fn service_region(service: &str) -> Option<&str> {
    service
        .strip_prefix("com.amazonaws.vpce.")
        .and_then(|rest| rest.split('.').next())
        .filter(|r| !r.is_empty())
}

/// Why this account cannot see `service`: another Region's, by its name,
/// or not shared with the account.
pub fn service_not_visible(aws: &AwsClients, service: &str) -> String {
    match service_region(service).filter(|r| *r != aws.region) {
        Some(other) => format!("{service} is a service in {other}, and this provider works in {}: endpoints are made, and services read, only in the provider's Region. Use a provider configured for {other}.", aws.region),
        None => format!("{service} does not exist in {} or is not shared with your account. Check the name with the partner, and ask them to allow your account's principal ({}).", aws.region, aws.root_principal()),
    }
}

/// An EC2 filter matching any of `values`.
pub fn any_of(name: &str, values: &[String]) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name(name)
        .set_values(Some(values.to_vec()))
        .build()
}

/// The items an EC2 Describe call finds through an ID filter, by ID: `page`
/// makes one call for a chunk of `ids` from a NextToken and answers the
/// items and the next token; the chunks are paged to the end.
pub async fn described_by_id<T, F, Fut>(
    ids: &[String],
    id_of: fn(&T) -> Option<&str>,
    mut page: F,
) -> Result<HashMap<String, T>, Diagnostics>
where
    F: FnMut(Vec<String>, Option<String>) -> Fut,
    Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), Diagnostics>>,
{
    let mut found = HashMap::new();
    for chunk in ids.chunks(FILTER_VALUES) {
        let mut token = None;
        loop {
            let (items, next) = page(chunk.to_vec(), token).await?;
            for item in items {
                if let Some(id) = id_of(&item) {
                    found.insert(id.to_string(), item);
                }
            }
            token = next;
            if token.is_none() {
                break;
            }
        }
    }
    Ok(found)
}

/// `call` for all of `keys` at once or, when AWS answers that one of them is
/// not found (`None`), for each alone: one missing object must not hide the
/// others from the callers that share the call.
pub async fn whole_or_each<K, A, B, F, Fut>(
    keys: Vec<K>,
    call: F,
) -> Result<HashMap<A, B>, Diagnostics>
where
    K: Clone,
    A: Eq + std::hash::Hash,
    F: Fn(Vec<K>) -> Fut,
    Fut: std::future::Future<Output = Result<Option<HashMap<A, B>>, Diagnostics>>,
{
    if let Some(all) = call(keys.clone()).await? {
        return Ok(all);
    }
    let mut found = HashMap::new();
    if keys.len() > 1 {
        for key in keys {
            found.extend(call(vec![key]).await?.unwrap_or_default());
        }
    }
    Ok(found)
}

/// The partner or AWS service called `name` as this account sees it, None
/// when it cannot see one. Plans and data sources looking services up
/// together share one DescribeVpcEndpointServices.
pub async fn endpoint_service_detail(
    aws: &AwsClients,
    name: &str,
) -> Result<Option<ServiceDetail>, Diagnostics> {
    let found = aws
        .coalesced("ec2:DescribeVpcEndpointServices")
        .get(name.to_string(), |names| {
            whole_or_each(
                names,
                |names| async move { service_details(aws, &names).await },
            )
        })
        .await?;
    Ok(found.get(name).cloned())
}

/// One DescribeVpcEndpointServices by name (paged); None when a name is
/// not a service this account can see.
async fn service_details(
    aws: &AwsClients,
    names: &[String],
) -> Result<Option<HashMap<String, ServiceDetail>>, Diagnostics> {
    let mut found = HashMap::new();
    let mut token = None;
    loop {
        let page = match aws
            .ec2
            .describe_vpc_endpoint_services()
            .set_service_names(Some(names.to_vec()))
            .set_next_token(token)
            .send()
            .await
        {
            Ok(p) => p,
            Err(e) if error_code(&e).is_some_and(|c| c.starts_with("InvalidServiceName")) => {
                return Ok(None)
            }
            Err(e) => return Err(aws_error("look up the endpoint service", &e)),
        };
        for d in page.service_details() {
            if let Some(n) = d.service_name().filter(|n| names.iter().any(|x| x == n)) {
                // AWS services such as S3 list a Gateway and an Interface
                // entry under one name; interface endpoints are what this
                // provider makes, so that entry is the one kept.
                if replaces(found.get(n), d) {
                    found.insert(n.to_string(), d.clone());
                }
            }
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            return Ok(Some(found));
        }
    }
}

fn replaces(kept: Option<&ServiceDetail>, candidate: &ServiceDetail) -> bool {
    kept.is_none_or(|kept| !is_interface(kept) || is_interface(candidate))
}

fn is_interface(d: &ServiceDetail) -> bool {
    d.service_type()
        .iter()
        .any(|t| t.service_type().is_some_and(|t| t.as_str() == "Interface"))
}

/// A failed AWS call as a diagnostic: what we were doing, AWS's code and
/// message.
pub fn aws_error<E, R>(doing: &str, err: &aws_sdk_ec2::error::SdkError<E, R>) -> Diagnostics
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    Diagnostic::error(format!("Failed to {doing}"), error_text(err)).into()
}

/// A wait that ended badly, as a diagnostic naming what we waited for.
pub fn wait_error(waiting_for: &str, err: WaitError<Diagnostics>) -> Diagnostics {
    match err {
        WaitError::Failed(d) => d,
        WaitError::Stopped => {
            let creating = crate::framework::operation::current()
                .is_some_and(|c| c.operation == crate::framework::operation::Operation::Create);
            // Terraform taints what a failed create leaves in state, and the
            // next apply would replace it rather than finish it.
            let then = if creating {
                "Terraform asked the provider to stop before the creation finished. If Terraform now shows the object as tainted, it is kept, and the next apply would replace it (for a VPC endpoint, with a new connection request): to keep it instead, run `terraform untaint` on it before applying again. Otherwise the next apply picks up what was made."
            } else {
                "Terraform asked the provider to stop; run the same command again to finish."
            };
            Diagnostic::error(format!("Stopped while waiting for {waiting_for}"), then).into()
        }
        WaitError::TimedOut { last } => Diagnostic::error(
            format!("Timed out waiting for {waiting_for}"),
            format!(
                "The last state seen was {}. Raise the timeout in the `timeouts` block if this is expected.",
                last.unwrap_or_else(|| "unknown".into())
            ),
        )
        .into(),
    }
}

/// EC2's batch calls (accept, reject, delete) answer 200 and list the items
/// that failed: the first failure becomes an error unless `tolerated` says
/// its code means "already done".
pub fn unsuccessful(
    doing: &str,
    items: &[aws_sdk_ec2::types::UnsuccessfulItem],
    tolerated: impl Fn(&str) -> bool,
) -> Result<(), Diagnostics> {
    let Some(err) = items
        .iter()
        .filter_map(|i| i.error())
        .find(|e| !tolerated(e.code().unwrap_or_default()))
    else {
        return Ok(());
    };
    Err(Diagnostic::error(
        format!("Failed to {doing}"),
        format!(
            "{}: {}",
            err.code().unwrap_or_default(),
            err.message().unwrap_or_default()
        ),
    )
    .into())
}

/// State that does not decode into a resource's typed struct.
pub fn invalid_state(e: crate::framework::CodecError) -> Diagnostics {
    Diagnostic::error("Invalid state", e.to_string()).into()
}

/// What to add and what to remove to go from `old` to `new`: updates touch
/// only the difference.
pub fn diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<String>) {
    let add = new.iter().filter(|x| !old.contains(x)).cloned().collect();
    let remove = old.iter().filter(|x| !new.contains(x)).cloned().collect();
    (add, remove)
}

/// Sorted and deduplicated: sets compare equal whatever order AWS returns.
pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

/// The `attempt`th ClientToken of a planned configuration (AWS allows 64
/// ASCII characters). The same plan re-applied after a lost response sends
/// token 0 again and gets the object created the first time, never a second
/// one. AWS keeps a token's answer after its object is deleted, though: when
/// the plan is applied again after a destroy (or token 0 went with other
/// arguments), the create moves on to the next token (`CREATE_TOKENS`).
pub fn client_token(planned: &crate::framework::Value, attempt: u32) -> String {
    // SHA-256, not std's hasher: tokens must not change with the compiler
    // that built the provider.
    let text = format!(
        "privatelink#{attempt}#{}",
        crate::framework::json::to_json(planned)
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    let hex: String = digest.as_ref()[..30]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("tf-{hex}")
}

/// How many tokens of one plan a create tries before giving up: each one
/// AWS spent on an object since deleted costs one more call.
pub const CREATE_TOKENS: u32 = 32;

/// Every token of a plan spent: the same configuration was created and
/// destroyed `CREATE_TOKENS` times within AWS's idempotency window.
pub fn tokens_spent(what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Cannot create the {what}"),
        format!("AWS answered each of this configuration's {CREATE_TOKENS} idempotency tokens with an object since deleted. Change anything in the configuration (a tag will do) to get new tokens."),
    )
    .into()
}

/// The tag a create sets on its object once the object is its instance's
/// for good. Tokens repeat across runs for equal plans, so AWS may answer a
/// token with an object another instance holds: a sibling added later with
/// equal arguments, or the object a create_before_destroy replacement
/// replaces. An object with this tag is never one a lost answer made, so
/// the create moves on to its next token. Left out of `tags`.
pub const CLAIM_TAG: &str = "privatelink:claimed";

/// Whether an object's tags show that an instance holds it.
pub fn is_claimed(tags: &[aws_sdk_ec2::types::Tag]) -> bool {
    tags.iter().any(|t| t.key() == Some(CLAIM_TAG))
}

/// Marks a created object as held (`CLAIM_TAG`). Done last, once nothing of
/// the create can fail: an apply killed before it leaves the object
/// unclaimed, for the next apply's create to adopt. A failure here only
/// weakens that protection, so it is logged rather than failing the apply.
pub async fn claim(ec2: &aws_sdk_ec2::Client, id: &str) {
    let tag = aws_sdk_ec2::types::Tag::builder()
        .key(CLAIM_TAG)
        .value("true")
        .build();
    if let Err(e) = ec2.create_tags().resources(id).tags(tag).send().await {
        tracing::warn!(id, error = %error_text(&e), "claim tag not set");
    }
}

/// What a describe shows of an object a create just answered.
pub enum Seen {
    Live,
    /// Live, but another instance holds it (`CLAIM_TAG`).
    Claimed,
    /// In a deleted (or deleting) state: its token was spent before.
    Deleted,
    /// Not found: deleted long enough ago to be gone, or (EC2 being
    /// eventually consistent) created too recently to be listed yet.
    NotFound,
}

/// How long an object a create answered may stay unlisted before its token
/// counts as spent on a deleted one: (an object made before the call, one
/// the answer shows made by it). Deciding sooner could take a new object,
/// not listed yet, for a deleted one and create a second; EC2 is eventually
/// consistent, and AWS's own provider gives a new object five minutes to
/// become readable.
pub const LISTED_WITHIN: (std::time::Duration, std::time::Duration) = (
    std::time::Duration::from_secs(10),
    std::time::Duration::from_secs(5 * 60),
);

/// What a create answered: the object's ID, and whether the answer shows
/// the object made by this call (its creation time), rather than one a
/// token made before, which may since have been deleted.
pub struct Created {
    pub id: String,
    pub made_now: bool,
    /// How long before the call AWS made the object, when its answer says:
    /// one made `LISTED_WITHIN`'s first or longer before and not listed
    /// now is deleted, with no wait.
    pub made_before: Option<std::time::Duration>,
}

/// How a create's token fared.
pub enum Answer {
    /// AWS answered with an object: new, or the one the token made before.
    Made(Created),
    /// The token was spent with other arguments
    /// (IdempotentParameterMismatch).
    Spent,
    /// AWS refused because something the object holds alone (an endpoint
    /// service's load balancer) is held: by another object, or by one an
    /// earlier token made that is not listed yet.
    Held(Diagnostics),
}

/// Whether a creation time AWS answered falls within this call, begun at
/// `started`; a few seconds' leeway for the two clocks (a clock behind
/// AWS's only shortens the wait back to `LISTED_WITHIN`'s first).
pub fn made_since(
    created: Option<&aws_smithy_types::DateTime>,
    started: std::time::SystemTime,
) -> bool {
    let leeway = std::time::Duration::from_secs(10);
    let since = started
        .checked_sub(leeway)
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    created.is_some_and(|c| c.secs() >= since)
}

/// IDs creates in this process have taken as theirs. Instances with one
/// plan (`count`, `for_each` over equal arguments) send the same tokens,
/// and AWS answers the second with the first's object: an ID taken already
/// moves that create on to its next token, so each gets its own object.
static TAKEN: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// Takes `id` for one create; false when another create has it.
fn take(id: &str) -> bool {
    TAKEN
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.to_string())
}

/// Marks the remote object `key` names (a type's prefix and the object's
/// identity) as one a create of this process made or adopted, for deletes
/// to leave (`taken_by_a_create`). For what has no ID of its own to pass
/// through `create_with_tokens`: a connection, a pin, a grant, an
/// integration's role and rules.
pub fn hold(key: &str) {
    take(key);
}

/// Whether a create of this process took `id` (or `hold` a key) as its
/// object. Terraform deletes in one run what it made in that run only for
/// the deposed object of a create_before_destroy replacement, and runs that
/// delete after the create; with an unchanged configuration, the
/// replacement adopted the same remote object, so deleting it would delete
/// what the new instance holds. (A delete and a create at two addresses,
/// as a rename without a `moved` block makes, run side by side: this check
/// narrows, not closes, that race.)
fn taken_by_a_create(id: &str) -> bool {
    TAKEN.lock().unwrap_or_else(|p| p.into_inner()).contains(id)
}

/// Whether a delete must leave the object `key` names because a create of
/// this process holds it (a create_before_destroy replacement took it over:
/// a `-replace`, a taint, equal arguments); the log says so.
pub fn held_by_the_replacement(key: &str) -> bool {
    let held = taken_by_a_create(key);
    if held {
        tracing::warn!(key, "the replacement holds this object; it is kept");
    }
    held
}

/// IDs of objects deletes in this process have deleted. A replacement
/// deletes the old object, then creates with the tokens that made it (the
/// plan is the same), and AWS answers with the deleted object: known
/// deleted here, it is passed over at once, not after `LISTED_WITHIN`.
static DELETED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashSet<String>>> =
    std::sync::LazyLock::new(Default::default);

/// Records that a delete of this process deleted `id`, or found it already
/// gone.
pub fn deleted_here(id: &str) {
    DELETED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id.to_string());
}

fn was_deleted_here(id: &str) -> bool {
    DELETED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .contains(id)
}

/// Whether a create may pass over an object it does not find at once.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Unlisted {
    /// Wait `LISTED_WITHIN` for it: it may be new and not listed yet, and
    /// the next token would make a second object.
    Wait,
    /// Try the next token at once: the object holds something alone (an
    /// endpoint service its load balancer), so while it lives the next
    /// create is refused (`Answer::Held`), and only then is it waited for.
    PassOver,
}

/// Creates an object with the plan's tokens in turn, made from `planned`:
/// callers pass the planned value's remote part (`Block::remote_part`), so
/// that a timeout raised after a lost answer, as the timeout's error
/// advises, still finds the object that answer made. `create` sends one
/// token and says how AWS answered (`Answer`). An object `look` shows
/// deleted, or does not find within its window (see `LISTED_WITHIN` and
/// `Unlisted`), is one since deleted, so the next token is tried. The
/// first live object (new, or the one a lost answer made) that no other
/// create of this process has taken is the result. `stopped` (Terraform
/// asking the provider to stop) ends the waiting.
pub async fn create_with_tokens<C, CF, L, LF, S>(
    planned: &crate::framework::Value,
    what: &str,
    mut create: C,
    mut look: L,
    windows: (std::time::Duration, std::time::Duration),
    unlisted: Unlisted,
    stopped: S,
) -> Result<String, Diagnostics>
where
    C: FnMut(String) -> CF,
    CF: std::future::Future<Output = Result<Answer, Diagnostics>>,
    L: FnMut(String) -> LF,
    LF: std::future::Future<Output = Result<Seen, Diagnostics>>,
    S: std::future::Future<Output = ()>,
{
    tokio::pin!(stopped);
    // The last object passed over unlisted, and until when it may be.
    let mut passed_over: Option<(String, std::time::Instant)> = None;
    for attempt in 0..CREATE_TOKENS {
        let created = match create(client_token(planned, attempt)).await? {
            Answer::Made(created) => created,
            Answer::Spent => continue,
            Answer::Held(refusal) => {
                // What holds it may be the object passed over, live but
                // not listed yet: it is waited for as any other would be.
                let Some((id, until)) = passed_over.take() else {
                    return Err(refusal);
                };
                return match listed(&mut look, &id, until, what, &mut stopped).await? {
                    Some(id) => Ok(id),
                    None => Err(refusal),
                };
            }
        };
        let until = std::time::Instant::now() + unlisted_window(&created, windows);
        let made_now = created.made_now;
        let id = created.id;
        let deadline = match unlisted {
            Unlisted::Wait => until,
            Unlisted::PassOver => std::time::Instant::now(),
        };
        match listed(&mut look, &id, deadline, what, &mut stopped).await {
            Ok(Some(id)) => return Ok(id),
            Ok(None) if unlisted == Unlisted::PassOver => passed_over = Some((id, until)),
            Ok(None) => {}
            // The look failed (AWS throttling through every attempt, or
            // Terraform asking to stop), but the answer shows the object
            // made by this call: it is kept as this create's, so that state
            // records it, rather than dropped for the next apply to find by
            // its token, which a changed configuration would not send.
            Err(_) if made_now && take(&id) => return Ok(id),
            Err(d) => return Err(d),
        }
    }
    Err(tokens_spent(what))
}

/// How long the object `created` names may stay unlisted before it counts
/// as deleted (`LISTED_WITHIN`).
fn unlisted_window(
    created: &Created,
    (listed_within, new_listed_within): (std::time::Duration, std::time::Duration),
) -> std::time::Duration {
    match created.made_before {
        _ if created.made_now => new_listed_within,
        // Made longer before than a new object may take to be listed (a
        // clock ahead of AWS's, or a re-run soon after a crash, stays
        // within it): not found now, it is deleted.
        Some(before) if before >= new_listed_within => std::time::Duration::ZERO,
        _ => listed_within,
    }
}

/// Looks for `id` until `until`: the ID when it is live and no other create
/// of this process took it; None when it is deleted, someone else's, or
/// still unlisted at `until` (it is looked for once in any case).
async fn listed<L, LF, S>(
    look: &mut L,
    id: &str,
    until: std::time::Instant,
    what: &str,
    stopped: &mut std::pin::Pin<&mut S>,
) -> Result<Option<String>, Diagnostics>
where
    L: FnMut(String) -> LF,
    LF: std::future::Future<Output = Result<Seen, Diagnostics>>,
    S: std::future::Future<Output = ()>,
{
    loop {
        match look(id.to_string()).await? {
            Seen::Live if take(id) => return Ok(Some(id.to_string())),
            Seen::Live | Seen::Claimed | Seen::Deleted => return Ok(None),
            Seen::NotFound if was_deleted_here(id) || std::time::Instant::now() >= until => {
                return Ok(None)
            }
            Seen::NotFound => tokio::select! {
                () = tokio::time::sleep(std::time::Duration::from_millis(500)) => {}
                () = stopped.as_mut() => {
                    return Err(wait_error(&format!("the new {what} {id} to be listed"), WaitError::Stopped));
                }
            },
        }
    }
}

/// A create that answered no ID.
pub fn no_id(what: &str) -> Diagnostics {
    Diagnostic::error(
        format!("Failed to create the {what}"),
        "AWS returned no ID.",
    )
    .into()
}

/// Tags as EC2 wants them.
pub fn ec2_tags(tags: &std::collections::BTreeMap<String, String>) -> Vec<aws_sdk_ec2::types::Tag> {
    tags.iter()
        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// Tags EC2 returned, as a map, without the provider's own `CLAIM_TAG`.
pub fn tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> std::collections::BTreeMap<String, String> {
    tags.iter()
        .filter(|t| t.key() != Some(CLAIM_TAG))
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Whether an AWS error's code says the object is gone.
pub fn is_not_found<E, R>(err: &aws_sdk_ec2::error::SdkError<E, R>) -> bool
where
    E: aws_sdk_ec2::error::ProvideErrorMetadata,
{
    crate::provider::aws::error_code(err).is_some_and(|c| c.contains("NotFound"))
}

/// The `tags_all` attribute of a tagged resource, in its schema.
pub fn tags_all_attribute() -> crate::framework::Attribute {
    crate::framework::Attribute::computed(
        "tags_all",
        crate::framework::Type::map(crate::framework::Type::String),
    )
    .description("The tags the object carries: the provider's `default_tags` with `tags` over them (tags `ignore_tags` names left out).")
}

/// Plans `tags_all`: the provider's default_tags with the planned `tags`
/// over them; unknown while either is not known yet. A change to it alone
/// (default_tags changed) is an update like any other: `schema` gives the
/// computed attributes that then go unknown, as the apply reads them afresh.
/// `limits` gives what AWS takes on the object for a merged map, as the
/// resource's `tags` are validated: default tags are only known here, and
/// an apply would fail on too many of them or on characters IAM refuses.
pub fn plan_tags_all(
    ctx: Option<&crate::framework::resource::Ctx<crate::provider::ProviderData>>,
    plan: &mut crate::framework::plan::PlanContext,
    schema: impl FnOnce() -> crate::framework::Schema,
    limits: impl FnOnce(&std::collections::BTreeMap<String, String>) -> crate::provider::shapes::Tags,
) {
    use crate::framework::Value;
    if plan.planned.is_null() {
        return;
    }
    let tags = plan.planned.get("tags").cloned().unwrap_or(Value::Null);
    let config = ctx.map(|c| &c.data.config);
    let defaults = config.filter(|c| !c.pending.iter().any(|p| p.starts_with("default_tags")));
    let own: Option<std::collections::BTreeMap<String, String>> =
        crate::framework::typed::from_value(&tags).ok().flatten();
    let all = match defaults {
        Some(config) if tags.is_fully_known() => {
            let all = config.default_tags.merged(own.as_ref());
            let all = config.ignore_tags.keep(all, own.as_ref());
            let limits = limits(&all);
            let merged = Value::Map(
                all.into_iter()
                    .map(|(k, v)| (k, Value::string(v)))
                    .collect(),
            );
            // Only what would be sent: an object imported with tags AWS
            // took (and no claim tag) plans on while they stay as they are.
            let sends = plan.is_create()
                || plan
                    .prior
                    .get("tags_all")
                    .is_none_or(|prior| !prior.semantically_equal(&merged));
            if !config.default_tags.is_empty() && sends {
                check_merged_tags(&merged, &limits, &mut plan.diagnostics);
            }
            merged
        }
        _ => Value::Unknown,
    };
    let prior = plan.prior.get("tags_all");
    if !plan.is_create()
        && !plan.any_change()
        && prior.is_some_and(|p| !p.is_null() && !p.semantically_equal(&all))
    {
        plan.mark_update(&schema().block);
    }
    plan.set("tags_all", all);
}

/// The errors AWS would give on the merged tags, told as the default
/// tags' doing: the resource's own `tags` passed validation alone.
fn check_merged_tags(
    merged: &crate::framework::Value,
    limits: &crate::provider::shapes::Tags,
    diagnostics: &mut Diagnostics,
) {
    use crate::framework::validators::Validator;
    let mut found = Diagnostics::default();
    limits.check(
        merged,
        &crate::framework::AttributePath::attr("tags"),
        &mut found,
    );
    for d in found.0 {
        diagnostics.push(Diagnostic {
            summary: format!("{} with the provider's default_tags", d.summary),
            detail: format!(
                "The provider's default_tags go on this object beside its own tags (tags_all holds both). {}",
                d.detail
            ),
            ..d
        });
    }
}

/// What a read of a tagged object records: (`tags`, `tags_all`) from the
/// tags it `found`, given what state held (`tags_all` is none until the
/// object's first read). Tags `ignore_tags` names are left out unless
/// configured; how default tags are told from the resource's own is
/// `DefaultTags::own`.
pub fn read_tags(
    aws: &AwsClients,
    found: std::collections::BTreeMap<String, String>,
    prior_tags: Option<&std::collections::BTreeMap<String, String>>,
    prior_tags_all: Option<&std::collections::BTreeMap<String, String>>,
) -> (
    Option<std::collections::BTreeMap<String, String>>,
    std::collections::BTreeMap<String, String>,
) {
    let all = aws.ignore_tags.keep(found, prior_tags);
    let own = aws
        .default_tags
        .own(&all, prior_tags, prior_tags_all.is_none());
    let tags = if own.is_empty() && prior_tags.is_none() {
        None
    } else {
        Some(own)
    };
    (tags, all)
}

/// Sets an EC2 object's tags to `new`, touching only the keys that differ
/// and never removing one the provider's ignore_tags names (state from
/// before it was set may still hold such a key).
pub async fn update_tags(
    aws: &crate::provider::aws::AwsClients,
    id: &str,
    old: Option<&std::collections::BTreeMap<String, String>>,
    new: Option<&std::collections::BTreeMap<String, String>>,
) -> Result<(), Diagnostics> {
    let ec2 = &aws.ec2;
    let empty = std::collections::BTreeMap::new();
    let old = old.unwrap_or(&empty);
    let new = new.unwrap_or(&empty);
    let removable = aws.ignore_tags.keep(old.clone(), Some(new));
    let removed: Vec<aws_sdk_ec2::types::Tag> = removable
        .keys()
        .filter(|k| !new.contains_key(*k))
        .map(|k| aws_sdk_ec2::types::Tag::builder().key(k).build())
        .collect();
    let changed: std::collections::BTreeMap<String, String> = new
        .iter()
        .filter(|(k, v)| old.get(*k) != Some(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !removed.is_empty() {
        ec2.delete_tags()
            .resources(id)
            .set_tags(Some(removed))
            .send()
            .await
            .map_err(|e| aws_error("remove tags", &e))?;
    }
    if !changed.is_empty() {
        ec2.create_tags()
            .resources(id)
            .set_tags(Some(ec2_tags(&changed)))
            .send()
            .await
            .map_err(|e| aws_error("set tags", &e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    #[test]
    fn tokens_come_from_what_aws_is_asked_for_not_from_how_the_provider_waits() {
        use crate::framework::resource::Resource;
        let block = crate::resources::vpc_endpoint::VpcEndpointResource
            .schema()
            .block;
        let plan = |subnet: &str, wait: bool, create: &str| {
            let timeouts = crate::framework::Value::object([(
                "create",
                crate::framework::Value::string(create),
            )]);
            block.remote_part(&crate::framework::Value::object([
                ("subnet_ids", crate::framework::Value::string(subnet)),
                ("wait_for_acceptance", crate::framework::Value::Bool(wait)),
                ("timeouts", timeouts),
            ]))
        };
        let token = |v: &crate::framework::Value| client_token(v, 0);
        assert_eq!(
            token(&plan("subnet-1", false, "10m")),
            token(&plan("subnet-1", true, "2h"))
        );
        assert_ne!(
            token(&plan("subnet-1", false, "10m")),
            token(&plan("subnet-2", false, "10m"))
        );
    }

    #[test]
    fn client_tokens_are_stable_per_plan_and_attempt_and_fit_aws() {
        let plan =
            crate::framework::Value::object([("vpc_id", crate::framework::Value::string("vpc-1"))]);
        let other =
            crate::framework::Value::object([("vpc_id", crate::framework::Value::string("vpc-2"))]);
        assert_eq!(client_token(&plan, 0), client_token(&plan, 0));
        assert_ne!(client_token(&plan, 0), client_token(&plan, 1));
        assert_ne!(client_token(&plan, 0), client_token(&other, 0));
        let t = client_token(&plan, CREATE_TOKENS - 1);
        assert!(t.len() <= 64 && t.is_ascii(), "{t}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tokens_spent_on_other_arguments_or_deleted_objects_move_on_to_the_next() {
        let plan =
            crate::framework::Value::object([("vpc_id", crate::framework::Value::string("vpc-1"))]);
        let sent = Mutex::new(Vec::new());
        let create = |token: String| {
            let mut sent = sent.lock().unwrap();
            sent.push(token);
            let answer = match sent.len() {
                1 => Answer::Spent,      // IdempotentParameterMismatch
                2 => made("old", false), // a deleted object's ID
                _ => made("new", true),
            };
            async move { Ok(answer) }
        };
        let look = |id: String| async move {
            Ok(if id == "old" {
                Seen::Deleted
            } else {
                Seen::Live
            })
        };
        let id = created(&plan, create, look, LISTED_WITHIN).await;
        assert_eq!(id, "new");
        let sent = sent.into_inner().unwrap();
        let expected: Vec<String> = (0..3).map(|n| client_token(&plan, n)).collect();
        assert_eq!(sent, expected);
    }

    /// A replacement's create after its delete: AWS answers the tokens'
    /// first with the object this process deleted, no longer listed; it is
    /// looked for once and passed over, where an object not yet listed is
    /// looked for every half second through its listing window.
    #[tokio::test(flavor = "current_thread")]
    async fn an_object_deleted_by_this_process_is_passed_over_without_a_wait() {
        let plan = crate::framework::Value::object([(
            "vpc_id",
            crate::framework::Value::string("vpc-replaced"),
        )]);
        deleted_here("deleted-by-the-replacement");
        let answers = Mutex::new(vec!["deleted-by-the-replacement", "its-successor"].into_iter());
        let create = |_token: String| {
            let id = answers.lock().unwrap().next().unwrap();
            async move { Ok(made(id, false)) }
        };
        let looks = Mutex::new(HashMap::new());
        let look =
            |id: String| counted_looks(&looks, |id| (id == "its-successor").then_some(1), id);
        let id = created(&plan, create, look, LISTED_WITHIN).await;
        assert_eq!(id, "its-successor");
        assert_eq!(looks.into_inner().unwrap()["deleted-by-the-replacement"], 1);
    }

    /// A look that fails after the create answered: an object the answer
    /// shows made by this call is kept (state records it); one a token made
    /// before is not taken on trust, and the failure is the answer.
    #[tokio::test(flavor = "current_thread")]
    async fn a_failed_look_keeps_only_an_object_made_by_this_call() {
        for (made_now, id) in [(true, "made-by-this-call"), (false, "made-before")] {
            let plan =
                crate::framework::Value::object([("name", crate::framework::Value::string(id))]);
            let create = |_token: String| async move { Ok(made(id, made_now)) };
            let look = |_id: String| async {
                Err::<Seen, _>(Diagnostics::from(crate::framework::Diagnostic::error(
                    "Throttled",
                    "RequestLimitExceeded",
                )))
            };
            let out = create_with_tokens(
                &plan,
                "thing",
                create,
                look,
                LISTED_WITHIN,
                Unlisted::Wait,
                std::future::pending(),
            )
            .await;
            match (made_now, out) {
                (true, Ok(kept)) => assert_eq!(kept, id),
                (false, Err(d)) => assert_eq!(d.0[0].summary, "Throttled"),
                (_, other) => panic!(
                    "made_now {made_now}: {:?}",
                    other.map_err(|d| d.0[0].summary.clone())
                ),
            }
        }
    }

    /// `create_with_tokens` for a "thing" that waits for unlisted objects,
    /// never stopped; its ID.
    async fn created<C, CF, L, LF>(
        plan: &crate::framework::Value,
        create: C,
        look: L,
        windows: (Duration, Duration),
    ) -> String
    where
        C: FnMut(String) -> CF,
        CF: std::future::Future<Output = Result<Answer, Diagnostics>>,
        L: FnMut(String) -> LF,
        LF: std::future::Future<Output = Result<Seen, Diagnostics>>,
    {
        create_with_tokens(
            plan,
            "thing",
            create,
            look,
            windows,
            Unlisted::Wait,
            std::future::pending(),
        )
        .await
        .unwrap()
    }

    fn made(id: &str, made_now: bool) -> Answer {
        Answer::Made(Created {
            id: id.to_string(),
            made_now,
            made_before: None,
        })
    }

    /// Counts each ID's looks; `live_from` says from which look on (1 is
    /// the first) an ID is listed, None for never.
    fn counted_looks(
        looks: &Mutex<HashMap<String, usize>>,
        live_from: impl Fn(&str) -> Option<usize>,
        id: String,
    ) -> impl std::future::Future<Output = Result<Seen, Diagnostics>> {
        let mut looks = looks.lock().unwrap();
        let n = looks.entry(id.clone()).or_default();
        *n += 1;
        let seen = match live_from(&id) {
            Some(from) if *n >= from => Seen::Live,
            _ => Seen::NotFound,
        };
        async move { Ok(seen) }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unlisted_object_made_long_before_the_call_is_deleted_without_a_wait() {
        let plan =
            crate::framework::Value::object([("name", crate::framework::Value::string("old"))]);
        let answers =
            Mutex::new(vec!["made-ten-minutes-ago", "fresh-after-an-old-one"].into_iter());
        let create = |_token: String| {
            let id = answers.lock().unwrap().next().unwrap();
            let made_before = (id != "fresh-after-an-old-one").then(|| Duration::from_secs(600));
            async move {
                Ok(Answer::Made(Created {
                    id: id.to_string(),
                    made_now: id == "fresh-after-an-old-one",
                    made_before,
                }))
            }
        };
        let looks = Mutex::new(HashMap::new());
        let look = |id: String| {
            counted_looks(
                &looks,
                |id| (id == "fresh-after-an-old-one").then_some(1),
                id,
            )
        };
        let id = created(
            &plan,
            create,
            look,
            (Duration::from_secs(30), Duration::from_secs(30)),
        )
        .await;
        assert_eq!(id, "fresh-after-an-old-one");
        assert_eq!(
            looks.lock().unwrap()["made-ten-minutes-ago"],
            1,
            "looked for once, not waited on"
        );
    }

    /// An object that holds something alone: an unlisted one is passed
    /// over at once, and waited for only when the next create finds what
    /// it holds held.
    async fn created_passing_over<C, CF, L, LF>(
        plan: &crate::framework::Value,
        create: C,
        look: L,
    ) -> Result<String, Diagnostics>
    where
        C: FnMut(String) -> CF,
        CF: std::future::Future<Output = Result<Answer, Diagnostics>>,
        L: FnMut(String) -> LF,
        LF: std::future::Future<Output = Result<Seen, Diagnostics>>,
    {
        let windows = (Duration::from_secs(30), Duration::from_secs(30));
        create_with_tokens(
            plan,
            "thing",
            create,
            look,
            windows,
            Unlisted::PassOver,
            std::future::pending(),
        )
        .await
    }

    fn held() -> Answer {
        Answer::Held(Diagnostic::error("Held", "the load balancer is in use").into())
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_deleted_object_that_held_something_alone_is_passed_over_at_once() {
        let plan =
            crate::framework::Value::object([("name", crate::framework::Value::string("pass"))]);
        let answers = Mutex::new(vec!["deleted-service", "new-service"].into_iter());
        let create = |_token: String| {
            let id = answers.lock().unwrap().next().unwrap();
            async move { Ok(made(id, false)) }
        };
        let looks = Mutex::new(HashMap::new());
        let look = |id: String| counted_looks(&looks, |id| (id == "new-service").then_some(1), id);
        let id = created_passing_over(&plan, create, look).await.unwrap();
        assert_eq!(id, "new-service");
        assert_eq!(looks.lock().unwrap()["deleted-service"], 1, "not waited on");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_unlisted_new_object_is_waited_for_when_the_next_create_finds_it_held() {
        let plan =
            crate::framework::Value::object([("name", crate::framework::Value::string("lag"))]);
        let sent = Mutex::new(0);
        let create = |_token: String| {
            let mut sent = sent.lock().unwrap();
            *sent += 1;
            let answer = if *sent == 1 {
                made("lagging-service", true)
            } else {
                held()
            };
            async move { Ok(answer) }
        };
        let looks = Mutex::new(HashMap::new());
        // Listed from the third look on.
        let look = |id: String| counted_looks(&looks, |_| Some(3), id);
        let id = created_passing_over(&plan, create, look).await.unwrap();
        assert_eq!(id, "lagging-service");
        assert_eq!(
            *sent.lock().unwrap(),
            2,
            "one object; the second create was refused"
        );

        // Held with nothing passed over: another object holds it.
        let create = |_token: String| async { Ok(held()) };
        let look = |_id: String| async { Ok(Seen::Live) };
        let refused = created_passing_over(&plan, create, look).await.unwrap_err();
        assert_eq!(refused.0[0].summary, "Held");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn an_object_made_now_gets_longer_to_be_listed_than_an_older_one() {
        let plan =
            crate::framework::Value::object([("name", crate::framework::Value::string("lag"))]);
        let windows = (Duration::from_millis(100), Duration::from_secs(30));
        // Listed only from the third look on (about a second later).
        let looks = Mutex::new(HashMap::<String, usize>::new());
        let look = |id: String| {
            let mut looks = looks.lock().unwrap();
            let n = looks.entry(id).or_default();
            *n += 1;
            let seen = if *n >= 3 { Seen::Live } else { Seen::NotFound };
            async move { Ok(seen) }
        };
        // Made by the call: waited for, not created twice.
        let sent = Mutex::new(0);
        let create = |_token: String| {
            *sent.lock().unwrap() += 1;
            async { Ok(made("lagging-new-object", true)) }
        };
        let id = created(&plan, create, look, windows).await;
        assert_eq!(id, "lagging-new-object");
        assert_eq!(*sent.lock().unwrap(), 1, "one create, no second object");

        // Older than the call, and unlisted past the short window: a token
        // spent on a deleted object, so the next token is sent.
        let answers = Mutex::new(vec!["deleted-long-ago", "fresh"].into_iter());
        let create = |_token: String| {
            let id = answers.lock().unwrap().next().unwrap();
            async move { Ok(made(id, id == "fresh")) }
        };
        let look = |id: String| async move {
            Ok(if id == "deleted-long-ago" {
                Seen::NotFound
            } else {
                Seen::Live
            })
        };
        let id = created(&plan, create, look, windows).await;
        assert_eq!(id, "fresh");
    }

    #[test]
    fn a_partner_services_region_is_read_from_its_name() {
        assert_eq!(
            service_region("com.amazonaws.vpce.us-west-2.vpce-svc-0123456789abcdef0"),
            Some("us-west-2")
        );
        assert_eq!(service_region("com.amazonaws.us-east-1.s3"), None);
    }

    #[test]
    fn made_now_is_read_from_the_creation_time() {
        let now = std::time::SystemTime::now();
        let at =
            |secs_ago: u64| aws_smithy_types::DateTime::from(now - Duration::from_secs(secs_ago));
        assert!(made_since(Some(&at(0)), now));
        assert!(made_since(Some(&at(5)), now), "within the clocks' leeway");
        assert!(!made_since(Some(&at(30)), now));
        assert!(!made_since(Some(&at(3600)), now));
        assert!(!made_since(None, now));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn equal_plans_get_an_object_each() {
        let plan =
            crate::framework::Value::object([("name", crate::framework::Value::string("twin"))]);
        // AWS answers a token with the object it first made for it.
        let objects = Mutex::new(HashMap::<String, String>::new());
        let create = |token: String| {
            let mut objects = objects.lock().unwrap();
            let n = objects.len();
            let id = objects
                .entry(token)
                .or_insert_with(|| format!("twin-object-{n}"))
                .clone();
            async move { Ok(made(&id, true)) }
        };
        let look = |_id: String| async { Ok(Seen::Live) };
        let first = created(&plan, create, look, LISTED_WITHIN).await;
        let second = created(&plan, create, look, LISTED_WITHIN).await;
        assert_eq!(first, "twin-object-0");
        assert_eq!(second, "twin-object-1", "not the first instance's object");
    }

    #[test]
    fn the_interface_entry_of_a_name_is_the_one_kept() {
        use aws_sdk_ec2::types::{ServiceType, ServiceTypeDetail};
        let of = |t: ServiceType| {
            ServiceDetail::builder()
                .service_name("com.amazonaws.us-east-1.s3")
                .service_type(ServiceTypeDetail::builder().service_type(t).build())
                .build()
        };
        let (gateway, interface) = (of(ServiceType::Gateway), of(ServiceType::Interface));
        assert!(is_interface(&interface));
        assert!(!is_interface(&gateway));
        assert!(replaces(None, &gateway));
        assert!(replaces(Some(&gateway), &interface));
        assert!(!replaces(Some(&interface), &gateway));
    }

    #[tokio::test]
    async fn one_missing_key_is_asked_alone_and_hides_no_other() {
        let calls = Mutex::new(Vec::new());
        // Answers like an EC2 call by ID: any unknown ID fails the call.
        let call = |keys: Vec<&'static str>| {
            calls.lock().unwrap().push(keys.clone());
            async move {
                if keys.contains(&"gone") {
                    return Ok(None);
                }
                Ok(Some(keys.into_iter().map(|k| (k, k.len())).collect()))
            }
        };
        let found = whole_or_each(vec!["a", "gone", "ccc"], call).await.unwrap();
        assert_eq!(found, HashMap::from([("a", 1), ("ccc", 3)]));
        assert_eq!(
            *calls.lock().unwrap(),
            vec![
                vec!["a", "gone", "ccc"],
                vec!["a"],
                vec!["gone"],
                vec!["ccc"]
            ]
        );

        calls.lock().unwrap().clear();
        let found = whole_or_each(vec!["a", "bb"], call).await.unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(calls.lock().unwrap().len(), 1, "all found: one call");

        calls.lock().unwrap().clear();
        let found = whole_or_each(vec!["gone"], call).await.unwrap();
        assert!(found.is_empty());
        assert_eq!(
            calls.lock().unwrap().len(),
            1,
            "a single key is not asked twice"
        );
    }
}
