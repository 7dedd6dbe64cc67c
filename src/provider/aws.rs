//! The AWS clients the provider builds once per Configure and shares with
//! every resource: the standard credential chain, the provider block's
//! region, profile, role and endpoints, and retries with backoff for
//! throttling and transient faults.

use super::attribution::Attribution;
use super::call_log::CallLog;
use super::coalesce::{Coalesce, Coalescers};
use super::config::{DefaultTags, IgnoreTags, ProviderConfig};
use super::stop_retries::NoRetriesAfterStop;
use crate::framework::resource::StopSignal;
use crate::framework::{AttributePath, Diagnostic, Diagnostics};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Debug)]
pub struct AwsClients {
    pub region: String,
    /// Who the credentials act as, from sts:GetCallerIdentity: asked at
    /// Configure (unless credential validation is skipped) or on first use,
    /// then never again in this process.
    identity: Arc<tokio::sync::OnceCell<CallerIdentity>>,
    /// Availability Zone names to IDs as this account maps them. The mapping
    /// never changes for an account, so each zone is looked up once.
    zone_ids: Arc<Mutex<HashMap<String, String>>>,
    /// Lookups that concurrent reads, plans and waits share (see
    /// `coalesced`).
    coalescers: Arc<Coalescers>,
    pub ec2: aws_sdk_ec2::Client,
    pub iam: aws_sdk_iam::Client,
    pub redshift: aws_sdk_redshift::Client,
    pub s3: aws_sdk_s3::Client,
    pub sts: aws_sdk_sts::Client,
    sdk: SdkConfig,
    /// The role the credentials come from, for messages.
    assumed_role: Option<String>,
    /// Attempts per call (max_retries + 1), for messages.
    max_attempts: u32,
    /// The STS endpoint configured (`endpoints.sts`, AWS_ENDPOINT_URL_STS
    /// or AWS_ENDPOINT_URL, as the SDK takes them), for messages.
    sts_url: Option<String>,
    /// Tags other systems set, which reads leave out.
    pub ignore_tags: IgnoreTags,
    pub default_tags: DefaultTags,
}

fn endpoint<'a>(config: &'a ProviderConfig, service: &str) -> Option<&'a str> {
    config
        .endpoints
        .iter()
        .find(|(s, _)| s == service)
        .map(|(_, url)| url.as_str())
}

/// Throttling (RequestLimitExceeded, Throttling...), 5xx and connection
/// faults are retried by the SDK's standard strategy; these bounds keep a
/// heavily throttled apply converging without waiting for ever.
pub fn retry_config(max_attempts: u32) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(max_attempts)
        .with_initial_backoff(Duration::from_millis(100))
        .with_max_backoff(Duration::from_secs(20))
}

/// Bounds on each attempt of an AWS call: an endpoint that takes the
/// connection and never answers (a black-holed proxy, a hung service)
/// becomes a timeout, which the retry strategy retries and then reports,
/// rather than a plan that waits for ever. AWS answers these APIs in
/// seconds.
pub fn timeout_config() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .operation_attempt_timeout(Duration::from_secs(30))
        .build()
}

/// The credentials of a named profile, ahead of anything in the
/// environment: naming a profile means "act as this", as the AWS CLI's
/// `--profile` and the Go SDK behind the AWS provider take it, while the
/// default chain would use AWS_ACCESS_KEY_ID first. Nothing is read until
/// the first call; `check_profile` says beforehand whether it exists.
/// `region` goes to the STS calls of a chained profile (`role_arn` with
/// `source_profile`, web identity...), which fail without one.
pub fn profile_credentials(name: &str, region: Option<Region>) -> SharedCredentialsProvider {
    let conf = aws_config::provider_config::ProviderConfig::without_region().with_region(region);
    SharedCredentialsProvider::new(
        aws_config::profile::ProfileFileCredentialsProvider::builder()
            .configure(&conf)
            .profile_name(name)
            .build(),
    )
}

/// The region a profile's own calls use: the configured one, else what
/// the environment and the profile say.
pub async fn profile_region(name: &str, configured: Option<&str>) -> Option<Region> {
    match configured {
        Some(r) => Some(Region::new(r.to_string())),
        None => {
            aws_config::default_provider::region::DefaultRegionChain::builder()
                .profile_name(name)
                .build()
                .region()
                .await
        }
    }
}

/// A profile no shared file defines is refused on its attribute, rather
/// than silently passed over by the credential chain.
pub async fn check_profile(name: &str, at: AttributePath) -> Result<(), Diagnostics> {
    profile_defined(name).await.map_err(|detail| {
        Diagnostics::from(Diagnostic::error("AWS profile not found", detail).at(at))
    })
}

async fn profile_defined(name: &str) -> Result<(), String> {
    use aws_runtime::env_config::file::EnvConfigFiles;
    use aws_types::os_shim_internal::{Env, Fs};
    let files = "the shared config and credentials files (AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE, or ~/.aws/config and ~/.aws/credentials)";
    let profiles =
        aws_config::profile::load(&Fs::real(), &Env::real(), &EnvConfigFiles::default(), None)
            .await
            .map_err(|e| format!("Reading {files} failed: {e}."))?;
    if profiles.get_profile(name).is_none() {
        let mut known: Vec<&str> = profiles.profiles().collect();
        known.sort_unstable();
        let there = if known.is_empty() {
            "they define no profile".to_string()
        } else {
            format!("they define {}", known.join(", "))
        };
        return Err(format!("No profile {name:?} in {files}: {there}."));
    }
    Ok(())
}

/// The ARN partition of a region, as the SDK's endpoint rules name them.
pub fn partition_of(region: &str) -> &'static str {
    const PARTITIONS: [(&str, &str); 7] = [
        ("cn-", "aws-cn"),
        ("us-gov-", "aws-us-gov"),
        ("us-isob-", "aws-iso-b"),
        ("us-isof-", "aws-iso-f"),
        ("us-iso-", "aws-iso"),
        ("eu-isoe-", "aws-iso-e"),
        ("eusc-", "aws-eusc"),
    ];
    PARTITIONS
        .iter()
        .find(|(prefix, _)| region.starts_with(prefix))
        .map_or("aws", |(_, partition)| partition)
}

/// The name every AWS call's User-Agent carries (`app/...`): CloudTrail's
/// userAgent then names the tool that made a change.
pub fn app_name() -> Option<aws_config::AppName> {
    aws_config::AppName::new("terraform-provider-privatelink").ok()
}

impl AwsClients {
    pub async fn new(
        config: &ProviderConfig,
        stop: &StopSignal,
    ) -> Result<AwsClients, Diagnostics> {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .retry_config(retry_config(config.max_attempts))
            .timeout_config(timeout_config());
        if let Some(app) = app_name() {
            loader = loader.app_name(app);
        }
        if let Some(r) = &config.region {
            loader = loader.region(Region::new(r.clone()));
        }
        if let Some(p) = &config.profile {
            // Configure checked that the profile exists.
            let region = profile_region(p, config.region.as_deref()).await;
            let credentials = profile_credentials(p, region);
            loader = loader.profile_name(p).credentials_provider(credentials);
        }
        let mut sdk = loader.load().await;
        let Some(region) = sdk.region().map(|r| r.to_string()) else {
            return Err(Diagnostic::error(
                "No AWS region",
                "Set region in the provider block, or AWS_REGION (or AWS_DEFAULT_REGION), or a region in your AWS profile.",
            )
            .at(AttributePath::attr("region"))
            .into());
        };
        if let Some(role) = &config.assume_role {
            // The role is assumed through the configured STS endpoint too.
            let mut base = sdk.to_builder();
            if let Some(url) = endpoint(config, "sts") {
                base = base.endpoint_url(url);
            }
            let mut builder = aws_config::sts::AssumeRoleProvider::builder(role.role_arn.clone())
                .session_name(role.session_name.clone())
                .configure(&base.build());
            if let Some(id) = &role.external_id {
                builder = builder.external_id(id.clone());
            }
            let provider = builder.build().await;
            sdk = sdk
                .to_builder()
                .credentials_provider(SharedCredentialsProvider::new(provider))
                .build();
        }
        let ec2 = {
            let mut b = aws_sdk_ec2::config::Builder::from(&sdk)
                .interceptor(CallLog)
                .interceptor(Attribution)
                .retry_classifier(NoRetriesAfterStop(stop.clone()));
            if let Some(url) = endpoint(config, "ec2") {
                b = b.endpoint_url(url);
            }
            aws_sdk_ec2::Client::from_conf(b.build())
        };
        let iam = {
            let mut b = aws_sdk_iam::config::Builder::from(&sdk)
                .interceptor(CallLog)
                .interceptor(Attribution)
                .retry_classifier(NoRetriesAfterStop(stop.clone()));
            if let Some(url) = endpoint(config, "iam") {
                b = b.endpoint_url(url);
            }
            aws_sdk_iam::Client::from_conf(b.build())
        };
        let redshift = {
            let mut b = aws_sdk_redshift::config::Builder::from(&sdk)
                .interceptor(CallLog)
                .interceptor(Attribution)
                .retry_classifier(NoRetriesAfterStop(stop.clone()));
            if let Some(url) = endpoint(config, "redshift") {
                b = b.endpoint_url(url);
            }
            aws_sdk_redshift::Client::from_conf(b.build())
        };
        let s3 = {
            let mut b = aws_sdk_s3::config::Builder::from(&sdk)
                .interceptor(CallLog)
                .interceptor(Attribution)
                .retry_classifier(NoRetriesAfterStop(stop.clone()));
            if let Some(url) = endpoint(config, "s3") {
                // Custom endpoints (emulators, VPC endpoints for S3) rarely
                // serve virtual-hosted bucket names.
                b = b.endpoint_url(url).force_path_style(true);
            }
            aws_sdk_s3::Client::from_conf(b.build())
        };
        let sts = {
            let mut b = aws_sdk_sts::config::Builder::from(&sdk)
                .interceptor(CallLog)
                .interceptor(Attribution)
                .retry_classifier(NoRetriesAfterStop(stop.clone()));
            if let Some(url) = endpoint(config, "sts") {
                b = b.endpoint_url(url);
            }
            aws_sdk_sts::Client::from_conf(b.build())
        };
        let clients = AwsClients {
            region,
            identity: Arc::default(),
            zone_ids: Arc::default(),
            coalescers: Arc::default(),
            ec2,
            iam,
            redshift,
            s3,
            sts,
            sdk,
            assumed_role: config.assume_role.as_ref().map(|r| r.role_arn.clone()),
            max_attempts: config.max_attempts,
            sts_url: endpoint(config, "sts")
                .map(str::to_string)
                .or_else(|| std::env::var("AWS_ENDPOINT_URL_STS").ok())
                .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok()),
            ignore_tags: config.ignore_tags.clone(),
            default_tags: config.default_tags.clone(),
        };
        if !config.skip_credentials_validation {
            let account = &clients.caller_identity().await?.account;
            check_account(config, account)?;
        }
        Ok(clients)
    }

    /// The coalescer of the lookup called `name` (by convention the API
    /// action, `ec2:DescribeVpcEndpoints`): callers that ask while one such
    /// call is in flight share the next.
    pub fn coalesced<K, T>(&self, name: &'static str) -> Arc<Coalesce<K, T, Diagnostics>>
    where
        Coalesce<K, T, Diagnostics>: Send + Sync + 'static,
    {
        self.coalescers.get(name)
    }

    /// Where STS calls go: the endpoint configured, else the Region's own.
    fn sts_endpoint(&self) -> String {
        self.sts_url
            .clone()
            .unwrap_or_else(|| format!("https://sts.{}.amazonaws.com", self.region))
    }

    /// Who the credentials act as.
    pub async fn caller_identity(&self) -> Result<&CallerIdentity, Diagnostics> {
        self.identity
            .get_or_try_init(|| async {
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    let text = error_text(&e);
                    Diagnostics::from(match failure(&e) {
                        Failure::NoCredentials => Diagnostic::error(
                            "No AWS credentials found",
                            format!(
                                "The provider could not sign sts:GetCallerIdentity: {text}.\n\nSet AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (`profile` or AWS_PROFILE), SSO, or run with an instance or container role."
                            ),
                        ),
                        Failure::CredentialsFailed => Diagnostic::error(
                            "Cannot get AWS credentials",
                            match &self.assumed_role {
                                Some(role) => format!(
                                    "Assuming {role} (assume_role) failed: {text}.\n\nCheck that the base credentials may assume it, its trust policy and external_id, and the STS endpoint (`endpoints.sts`, AWS_ENDPOINT_URL_STS)."
                                ),
                                None => format!(
                                    "The credential source failed: {text}.\n\nCheck the profile, SSO session or role it names."
                                ),
                            },
                        ),
                        Failure::Unreachable => Diagnostic::error(
                            "Cannot reach AWS STS",
                            format!(
                                "sts:GetCallerIdentity at {} failed (up to {}): {text}.\n\nCheck the network path to STS (proxy, VPC endpoint, DNS) and `endpoints.sts` (AWS_ENDPOINT_URL_STS), or set skip_credentials_validation to skip this check.",
                                self.sts_endpoint(),
                                attempts(self.max_attempts)
                            ),
                        ),
                        Failure::Answered if is_transient(&e) => Diagnostic::error(
                            "AWS STS is throttling or failing",
                            format!(
                                "sts:GetCallerIdentity failed (up to {}): {text}. The credentials were not refused: try again later, or raise max_retries.",
                                attempts(self.max_attempts)
                            ),
                        ),
                        Failure::Answered => Diagnostic::error(
                            "Invalid AWS credentials",
                            format!(
                                "sts:GetCallerIdentity failed: {text}. Check the credentials (environment, profile, SSO, instance role) or set skip_credentials_validation."
                            ),
                        ),
                    })
                })?;
                Ok(CallerIdentity {
                    account: out.account.unwrap_or_default(),
                    arn: out.arn.unwrap_or_default(),
                })
            })
            .await
    }

    /// The ARN partition of the region.
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }

    /// The account's root principal, for messages that say what to ask a
    /// partner to allow; with a placeholder if the account was not asked.
    pub fn root_principal(&self) -> String {
        let account = self.known_account().unwrap_or("<your account ID>");
        format!("arn:{}:iam::{account}:root", self.partition())
    }

    /// The account the credentials act as, if it was asked already.
    pub fn known_account(&self) -> Option<&str> {
        self.identity.get().map(|i| i.account.as_str())
    }

    /// The account the credentials act as.
    pub async fn caller_account(&self) -> Result<String, Diagnostics> {
        Ok(self.caller_identity().await?.account.clone())
    }

    /// Availability Zone names (as this account maps them) to their IDs,
    /// the `use1-az1` form that means the same zone in every account;
    /// sorted, without repeats.
    pub async fn zone_ids(&self, names: &[String]) -> Result<Vec<String>, Diagnostics> {
        let unknown: Vec<String> = {
            let known = self.zone_ids.lock().unwrap_or_else(|p| p.into_inner());
            names
                .iter()
                .filter(|n| !known.contains_key(*n))
                .cloned()
                .collect()
        };
        if !unknown.is_empty() {
            let out = self
                .ec2
                .describe_availability_zones()
                .set_zone_names(Some(unknown))
                .send()
                .await
                .map_err(|e| {
                    Diagnostics::from(Diagnostic::error(
                        "Failed to look up Availability Zone IDs",
                        error_text(&e),
                    ))
                })?;
            let mut known = self.zone_ids.lock().unwrap_or_else(|p| p.into_inner());
            for z in out.availability_zones() {
                if let (Some(name), Some(id)) = (z.zone_name(), z.zone_id()) {
                    known.insert(name.to_string(), id.to_string());
                }
            }
        }
        let known = self.zone_ids.lock().unwrap_or_else(|p| p.into_inner());
        let mut ids: Vec<String> = names.iter().filter_map(|n| known.get(n).cloned()).collect();
        ids.sort();
        ids.dedup();
        Ok(ids)
    }

    pub fn sdk_config(&self) -> &SdkConfig {
        &self.sdk
    }
}

/// Refuses credentials of an account the provider block rules out: no
/// client exists, so no call is made in it.
fn check_account(config: &ProviderConfig, account: &str) -> Result<(), Diagnostics> {
    let refused = |list: &str, why: &str| -> Result<(), Diagnostics> {
        Err(Diagnostic::error(
            format!("AWS account {account} {why}"),
            format!("The credentials belong to account {account}, which {list} rules out, so nothing was done in it. Use credentials (profile, assume_role) of an allowed account, or change {list}."),
        )
        // Checked while the provider is configured: the path is the block's.
        .at(AttributePath::attr(list))
        .into())
    };
    if let Some(allowed) = &config.allowed_account_ids {
        if !allowed.iter().any(|a| a == account) {
            return refused("allowed_account_ids", "is not allowed");
        }
    }
    if let Some(forbidden) = &config.forbidden_account_ids {
        if forbidden.iter().any(|a| a == account) {
            return refused("forbidden_account_ids", "is forbidden");
        }
    }
    Ok(())
}

/// What sts:GetCallerIdentity answers about a set of credentials.
#[derive(Clone, Debug, Default)]
pub struct CallerIdentity {
    pub account: String,
    pub arn: String,
}

/// An AWS error as a user should read it: the service's code and message,
/// or why the request never got an answer. Never the request (which may
/// carry signed headers).
pub fn error_text<E, R>(err: &aws_sdk_sts::error::SdkError<E, R>) -> String
where
    E: aws_sdk_sts::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    match err {
        SdkError::ServiceError(s) => {
            let e = s.err();
            let text = match (e.code(), e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c.to_string(),
                _ => e.to_string(),
            };
            // What AWS Support asks for first when a call fails for reasons
            // the message does not explain.
            match aws_sdk_sts::operation::RequestId::request_id(e.meta()) {
                Some(id) => format!("{text} (AWS request ID {id})"),
                None => text,
            }
        }
        SdkError::TimeoutError(_) => "the request timed out".into(),
        SdkError::DispatchFailure(d) => {
            let Some(conn) = d.as_connector_error() else {
                return "could not send the request".into();
            };
            if let Some(creds) = credentials_error(err) {
                // Its own text ("the credential provider was not enabled")
                // says less than its causes: the chain's list of what was
                // tried, or why the source that was tried failed.
                let why = match std::error::Error::source(creds) {
                    Some(source) => causes(Some(source)),
                    None => creds.to_string(),
                };
                return if no_credentials(creds) {
                    format!("no AWS credentials: {why}")
                } else {
                    format!("could not get AWS credentials: {why}")
                };
            }
            let reason = causes(std::error::Error::source(conn));
            if conn.is_timeout() {
                format!("could not reach the AWS endpoint in time: {reason}")
            } else {
                format!("could not reach the AWS endpoint: {reason}")
            }
        }
        // Its causes name what was missing from the request; a response
        // error's are left out, as they could quote what AWS sent.
        SdkError::ConstructionFailure(_) => {
            format!("{err}: {}", causes(std::error::Error::source(err)))
        }
        other => other.to_string(),
    }
}

/// Why a call failed, as far as what to tell the user depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// No credential source gave credentials: nothing was sent.
    NoCredentials,
    /// The credential source there is failed (a role that could not be
    /// assumed, an expired SSO session): nothing was sent.
    CredentialsFailed,
    /// The endpoint never answered: network, proxy, DNS or endpoint URL.
    Unreachable,
    /// AWS answered with an error.
    Answered,
}

fn failure<E, R>(err: &aws_sdk_sts::error::SdkError<E, R>) -> Failure
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_sts::error::SdkError;
    match err {
        SdkError::DispatchFailure(_) => match credentials_error(err) {
            Some(creds) if no_credentials(creds) => Failure::NoCredentials,
            Some(_) => Failure::CredentialsFailed,
            None => Failure::Unreachable,
        },
        SdkError::TimeoutError(_) => Failure::Unreachable,
        _ => Failure::Answered,
    }
}

fn attempts(n: u32) -> String {
    if n == 1 {
        "1 attempt".into()
    } else {
        format!("{n} attempts")
    }
}

/// An answer that says AWS is throttling or failing, not that the request
/// was wrong: the retry strategy retried it until attempts ran out.
fn is_transient<E>(
    err: &aws_sdk_sts::error::SdkError<E, aws_sdk_sts::config::http::HttpResponse>,
) -> bool
where
    E: aws_sdk_sts::error::ProvideErrorMetadata,
{
    let status = err.raw_response().map_or(0, |r| r.status().as_u16());
    let code = error_code(err).unwrap_or_default();
    status >= 500
        || status == 429
        || code.contains("Throttl")
        || matches!(
            code,
            "RequestLimitExceeded"
                | "TooManyRequestsException"
                | "SlowDown"
                | "ServiceUnavailable"
                | "InternalFailure"
                | "InternalError"
        )
}

/// No source gave credentials, as against a source that failed.
fn no_credentials(creds: &aws_credential_types::provider::error::CredentialsError) -> bool {
    matches!(
        creds,
        aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(_)
    )
}

/// The credential chain's failure, when that is why nothing was sent.
fn credentials_error<E, R>(
    err: &aws_sdk_sts::error::SdkError<E, R>,
) -> Option<&aws_credential_types::provider::error::CredentialsError>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_credential_types::provider::error::CredentialsError;
    let aws_sdk_sts::error::SdkError::DispatchFailure(d) = err else {
        return None;
    };
    let mut source = d.as_connector_error().and_then(std::error::Error::source);
    while let Some(e) = source {
        if let Some(missing) = e.downcast_ref::<CredentialsError>() {
            return Some(missing);
        }
        source = e.source();
    }
    None
}

/// An error's chain of causes, outermost first, without the repeats some
/// layers make by quoting their source.
fn causes(mut source: Option<&(dyn std::error::Error + 'static)>) -> String {
    let mut parts: Vec<String> = Vec::new();
    while let Some(e) = source {
        // AWS's answer (a role that could not be assumed, say) as AWS words
        // it, not as the SDK's wrappers and debug form show it.
        if let Some(meta) = e.downcast_ref::<aws_smithy_types::error::ErrorMetadata>() {
            parts.retain(|p| p != "service error" && !p.starts_with("unhandled error"));
            let answer = match (meta.code(), meta.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                (None, Some(message)) => message.to_string(),
                (None, None) => "an error with no code".to_string(),
            };
            parts.push(answer);
            break;
        }
        let text = e.to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = e.source();
    }
    if parts.is_empty() {
        "no reason given".into()
    } else {
        parts.join(": ")
    }
}

/// The AWS error code of a failed call, if the service sent one.
pub fn error_code<E, R>(err: &aws_sdk_sts::error::SdkError<E, R>) -> Option<&str>
where
    E: aws_sdk_sts::error::ProvideErrorMetadata,
{
    use aws_sdk_sts::error::ProvideErrorMetadata;
    err.code()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error whose cause is AWS's answer, as the credential providers'
    /// wrap an AssumeRole refusal.
    #[derive(Debug)]
    struct Wrapped(&'static str, aws_smithy_types::error::ErrorMetadata);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    /// Every client bounds each attempt: a hung endpoint is a timeout the
    /// retries see, not a wait without end.
    #[test]
    fn every_client_bounds_each_attempt() {
        let config = ProviderConfig {
            skip_credentials_validation: true,
            max_attempts: 2,
            ..ProviderConfig::for_region("us-east-1")
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let clients = runtime
            .block_on(AwsClients::new(&config, &StopSignal::never()))
            .unwrap();
        let bounds = |t: Option<&aws_config::timeout::TimeoutConfig>| {
            let t = t.expect("a timeout config");
            (t.connect_timeout(), t.operation_attempt_timeout())
        };
        let want = (Some(Duration::from_secs(10)), Some(Duration::from_secs(30)));
        assert_eq!(bounds(clients.ec2.config().timeout_config()), want);
        assert_eq!(bounds(clients.iam.config().timeout_config()), want);
        assert_eq!(bounds(clients.redshift.config().timeout_config()), want);
        assert_eq!(bounds(clients.s3.config().timeout_config()), want);
        assert_eq!(bounds(clients.sts.config().timeout_config()), want);
    }

    #[test]
    fn aws_answers_in_a_cause_chain_read_as_aws_words_them() {
        let refusal = aws_smithy_types::error::ErrorMetadata::builder()
            .code("AccessDenied")
            .message("User: arn:aws:iam::123456789012:user/t is not authorized to perform: sts:AssumeRole")
            .build();
        let unhandled = Wrapped("unhandled error (AccessDenied)", refusal);
        let text = causes(Some(&unhandled));
        assert_eq!(
            text,
            "AccessDenied: User: arn:aws:iam::123456789012:user/t is not authorized to perform: sts:AssumeRole"
        );
        assert!(!text.contains("Error {"), "{text}");
    }
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_sts::error::{ConnectorError, SdkError};
    use aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityError;

    type Err = SdkError<GetCallerIdentityError>;

    #[test]
    fn partitions_follow_the_region() {
        for (region, partition) in [
            ("us-east-1", "aws"),
            ("ap-southeast-6", "aws"),
            ("cn-north-1", "aws-cn"),
            ("us-gov-west-1", "aws-us-gov"),
            ("us-iso-east-1", "aws-iso"),
            ("us-isob-east-1", "aws-iso-b"),
            ("eu-isoe-west-1", "aws-iso-e"),
            ("us-isof-south-1", "aws-iso-f"),
            ("eusc-de-east-1", "aws-eusc"),
        ] {
            assert_eq!(partition_of(region), partition, "{region}");
        }
        let shape = crate::provider::shapes::aws_region();
        assert!(shape.matches("eusc-de-east-1") && shape.matches("us-gov-west-1"));
        assert!(!shape.matches("euscx-de-east-1") && !shape.matches("us-east"));
    }

    #[test]
    fn an_unreachable_endpoint_says_why_in_words() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        let err: Err = SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        assert_eq!(failure(&err), Failure::Unreachable);
        assert_eq!(
            error_text(&err),
            "could not reach the AWS endpoint: Connection refused (os error 111)"
        );
    }

    #[test]
    fn missing_credentials_are_not_a_network_fault() {
        let none = CredentialsError::not_loaded("no credentials found in chain. Attempted:\n  Environment: environment variable not set");
        let err: Err = SdkError::dispatch_failure(ConnectorError::other(Box::new(none), None));
        assert_eq!(failure(&err), Failure::NoCredentials);
        let text = error_text(&err);
        assert!(text.starts_with("no AWS credentials: "), "{text}");
        assert!(
            text.contains("Environment: environment variable not set"),
            "{text}"
        );
        assert!(!text.contains("DispatchFailure"), "no Debug dumps: {text}");
    }

    #[test]
    fn a_credential_source_that_fails_is_not_missing_credentials() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "Connection refused (os error 111)",
        );
        let assume: SdkError<GetCallerIdentityError> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(refused)));
        let failed = CredentialsError::provider_error(assume);
        let err: Err = SdkError::dispatch_failure(ConnectorError::other(Box::new(failed), None));
        assert_eq!(failure(&err), Failure::CredentialsFailed);
        let text = error_text(&err);
        assert!(
            text.starts_with("could not get AWS credentials: "),
            "{text}"
        );
        assert!(text.contains("Connection refused"), "{text}");
    }
}
