//! The provider block: its schema, and its resolution into a configuration
//! with the environment variables users of the AWS and Snowflake providers
//! already set.

use super::shapes::{aws_account_id, aws_region, aws_tags, iam_role_arn};
use crate::framework::validators::{
    self, each, http_url, int_between, pattern, Pattern, Validator,
};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type,
    Value,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;

pub const AWS_SERVICES: &[(&str, &str)] = &[
    ("ec2", "AWS_ENDPOINT_URL_EC2"),
    ("elbv2", "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"),
    ("iam", "AWS_ENDPOINT_URL_IAM"),
    ("redshift", "AWS_ENDPOINT_URL_REDSHIFT"),
    ("s3", "AWS_ENDPOINT_URL_S3"),
    ("sts", "AWS_ENDPOINT_URL_STS"),
];

const ELBV2_UNUSED: &str =
    "The provider makes no Elastic Load Balancing calls, so this endpoint is never used; remove it.";

pub fn schema() -> Schema {
    let mut endpoints = Block::new().description(
        "Custom service endpoint URLs, for VPC interface endpoints of the AWS APIs, FIPS endpoints or a local emulator. Each falls back to the AWS SDK's standard per-service variable.",
    );
    for (service, env) in AWS_SERVICES {
        let api = match *service {
            "elbv2" => "Elastic Load Balancing v2",
            "redshift" => "Redshift",
            other => &other.to_uppercase(),
        };
        let mut attribute = Attribute::optional(service, Type::String)
            .description(&format!("Endpoint URL for the {api} API."))
            .env(&[env])
            .validate(http_url());
        if *service == "elbv2" {
            // Kept so that provider blocks naming it stay valid.
            attribute = attribute.deprecated(ELBV2_UNUSED);
        }
        endpoints = endpoints.attribute(attribute);
    }
    Schema::new(
        Block::new()
            .description("Connects SaaS analytics vendors to your AWS data estate over PrivateLink: endpoint services, Redshift cross-VPC grants, Snowflake endpoint pins and S3 storage integrations, with the vendors' published facts built in.")
            .attribute(
                Attribute::optional("region", Type::String)
                    .description("AWS region for every resource of this provider.")
                    .env(&["AWS_REGION", "AWS_DEFAULT_REGION"])
                    .validate(aws_region()),
            )
            .attribute(
                Attribute::optional("profile", Type::String)
                    .description("Named profile from the shared AWS config and credentials files. Set here, it is what the provider acts as even when `AWS_ACCESS_KEY_ID` is set (like the AWS CLI's `--profile`), and a profile neither file defines is an error. `AWS_PROFILE`, which this attribute does not read, is taken by the AWS SDK's default chain instead, after the environment's keys.")
            )
            .attribute(
                Attribute::optional("federation_profile", Type::String)
                    .description("Named profile holding long-term IAM user credentials, used only to mint the scoped `sts:GetFederationToken` token that `privatelink_snowflake_endpoint_pin` hands to Snowflake. AWS refuses GetFederationToken to role sessions (`assume_role`, SSO, instance roles), so set this when the provider itself runs as a role. Defaults to the provider's own credentials; a pin's `federation_profile` overrides it."),
            )
            .attribute(
                Attribute::optional("allowed_account_ids", Type::set(Type::String))
                    .description("AWS accounts the provider may act in. When the credentials belong to another account, every AWS call stops before it is made: a guard against applying to the wrong account. Checked with `sts:GetCallerIdentity` when the provider is configured (one error on this block, not one per resource), so not with `skip_credentials_validation`. Conflicts with `forbidden_account_ids`.")
                    .validate(each(aws_account_id())),
            )
            .attribute(
                Attribute::optional("forbidden_account_ids", Type::set(Type::String))
                    .description("AWS accounts the provider must never act in (production, say, for a sandbox configuration); checked like `allowed_account_ids`, which it conflicts with.")
                    .validate(each(aws_account_id())),
            )
            .attribute(
                Attribute::optional("max_retries", Type::Number)
                    .description(&format!("How many times an AWS call is retried when AWS throttles it, answers with a 5xx, or cannot be reached; the wait between tries grows exponentially, from 0.1 s up to 20 s. Defaults to {DEFAULT_MAX_RETRIES}, or to one less than `AWS_MAX_ATTEMPTS` when that is set. `0` fails on the first fault. Each attempt is bounded: 10 s to connect, 30 s in all. Once Terraform asks the provider to stop (Ctrl-C), none of its AWS calls is tried again. Snowflake calls have `snowflake.max_retries`."))
                    .validate(int_between(0, MAX_RETRIES_LIMIT)),
            )
            .attribute(
                Attribute::optional("skip_credentials_validation", Type::Bool)
                    .description("Skip checking the credentials with `sts:GetCallerIdentity` before the first AWS call (which also tells `allowed_account_ids` the account). Defaults to `false`."),
            )
            .block(NestedBlock::single(
                "assume_role",
                Block::new()
                    .description("An IAM role to assume before making any AWS call. Assumed when the provider is configured (unless `skip_credentials_validation`), so a role that cannot be assumed is one error on this block.")
                    .attribute(
                        Attribute::required("role_arn", Type::String)
                            .description("ARN of the role to assume.")
                            .validate(iam_role_arn()),
                    )
                    .attribute(
                        Attribute::optional("external_id", Type::String)
                            .description("External ID the role's trust policy requires.")
                            .validate(external_id()),
                    )
                    .attribute(
                        Attribute::optional("session_name", Type::String)
                            .description("Session name recorded in CloudTrail. Defaults to `terraform-provider-privatelink`.")
                            .validate(pattern(r"^[A-Za-z0-9_+=,.@-]+$", "2 to 64 letters, digits or `+=,.@_-`").length(2, 64)),
                    ),
            ))
            .block(NestedBlock::single(
                "default_tags",
                Block::new()
                    .description("Tags for every object this provider tags (endpoint services, VPC endpoints, and the S3 integration's IAM role and policy), under each resource's own `tags`: a key both set takes the resource's value. Each tagged resource shows the merged map as `tags_all`, so a change here is planned as an update of `tags_all` on every one of them. Each plan checks the merged tags against what AWS takes on the object (50 tags, the provider's own included; IAM's tag characters on the IAM role and policy).")
                    .attribute(
                        Attribute::optional("tags", Type::map(Type::String))
                            .description("Tags to apply to every tagged object.")
                            .validate(aws_tags(0)),
                    ),
            ))
            .block(NestedBlock::single(
                "ignore_tags",
                Block::new()
                    .description("Tags that systems other than Terraform (cost tooling, say) set on the objects this provider tags: endpoint services, VPC endpoints, and the S3 integration's IAM role and policy. They never show as drift, and an apply never removes them. A key also written in a resource's `tags` is managed there as usual.")
                    .attribute(
                        Attribute::optional("keys", Type::set(Type::String))
                            .description("Tag keys to ignore."),
                    )
                    .attribute(
                        Attribute::optional("key_prefixes", Type::set(Type::String))
                            .description("Tag key prefixes to ignore, e.g. `kubernetes.io/`."),
                    ),
            ))
            .block(NestedBlock::single("endpoints", endpoints))
            .block(NestedBlock::single(
                "snowflake",
                Block::new()
                    .description("Snowflake account for `privatelink_snowflake_*` resources and data sources, reached through the Snowflake SQL API with key-pair (JWT) or token authentication. Like the AWS calls, it goes through the proxy `HTTPS_PROXY` (`HTTP_PROXY` for an http `host`, or `ALL_PROXY`) names, as a CONNECT tunnel, unless `NO_PROXY` lists the host. The block must be present for Snowflake to be used, even when every attribute comes from its `SNOWFLAKE_*` environment variable: write `snowflake {}` (a configuration without it never reads those variables, so AWS-only configurations are unaffected by them). Credentials written in the block (`private_key`, `private_key_path` or `token`) win over the credential variables, which are then not read.")
                    .attribute(
                        Attribute::optional("account", Type::String)
                            .description("Account identifier, `ORGNAME-ACCOUNTNAME` (or `ORGNAME.ACCOUNTNAME`, as Snowsight copies it) or the account locator (with region where Snowflake requires it).")
                            .env(&["SNOWFLAKE_ACCOUNT"])
                            .validate(snowflake_account()),
                    )
                    .attribute(
                        Attribute::optional("user", Type::String)
                            .description("Login name of the user the provider acts as.")
                            .env(&["SNOWFLAKE_USER"]),
                    )
                    .attribute(
                        Attribute::optional("role", Type::String)
                            .description("Role for every statement. Pinning endpoints requires `ACCOUNTADMIN`. Defaults to `ACCOUNTADMIN`.")
                            .env(&["SNOWFLAKE_ROLE"]),
                    )
                    .attribute(
                        Attribute::optional("private_key", Type::String)
                            .description("PEM-encoded PKCS#8 private key for key-pair authentication (encrypted keys need `private_key_passphrase`). Conflicts with `private_key_path` and `token`. Keep it out of the configuration text (Terraform prints literal provider arguments in `terraform show -json`): read it with `file()` or set the environment variable.")
                            .env(&["SNOWFLAKE_PRIVATE_KEY"])
                            .sensitive(),
                    )
                    .attribute(
                        Attribute::optional("private_key_path", Type::String)
                            .description("Path to a PEM-encoded PKCS#8 private key file. Conflicts with `private_key` and `token`.")
                            .env(&["SNOWFLAKE_PRIVATE_KEY_PATH"]),
                    )
                    .attribute(
                        Attribute::optional("private_key_passphrase", Type::String)
                            .description("Passphrase of an encrypted private key. Keep it out of the configuration text (Terraform prints literal provider arguments in `terraform show -json`): read it with `file()` or set the environment variable.")
                            .env(&["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"])
                            .sensitive(),
                    )
                    .attribute(
                        Attribute::optional("token", Type::String)
                            .description("Programmatic access token or OAuth access token. Conflicts with `private_key` and `private_key_path`. Keep it out of the configuration text (Terraform prints literal provider arguments in `terraform show -json`): read it with `file()` or set the environment variable.")
                            .env(&["SNOWFLAKE_TOKEN"])
                            .sensitive(),
                    )
                    .attribute(
                        Attribute::optional("host", Type::String)
                            .description("Base URL of the SQL API, overriding `https://<account>.snowflakecomputing.com` (an emulator, say). Snowflake's pinning example registers endpoints over the public URL (no `privatelink` in it); keep the default for a run that manages pins unless the account's network policy admits only PrivateLink. `SNOWFLAKE_HOST` may also be a bare host name, as the Snowflake provider takes it (https is then meant).")
                            .env(&["SNOWFLAKE_HOST"])
                            .validate(http_url()),
                    )
                    .attribute(
                        Attribute::optional("max_retries", Type::Number)
                            .description(&format!("How many times a statement is submitted again (with the same request ID, so Snowflake does not run again one that succeeded) when Snowflake throttles it, answers with a 5xx, or cannot be reached; the wait doubles from 0.25 s up to 16 s unless Snowflake sends Retry-After. Defaults to {DEFAULT_SNOWFLAKE_MAX_RETRIES}, about 32 s of trying. `0` fails on the first fault. A statement's own run time is bounded by the resource's `timeouts`."))
                            .validate(int_between(0, MAX_RETRIES_LIMIT)),
                    ),
            )),
    )
}

fn snowflake_account() -> Pattern {
    pattern(
        r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        "a Snowflake account identifier such as `myorg-myaccount`",
    )
}

/// AWS's own rule for external IDs: 2 to 1224 characters of `\w+=,.@:/-`.
pub fn external_id() -> validators::Pattern {
    pattern(
        r"^[A-Za-z0-9_+=,.@:/-]+$",
        "2 to 1224 characters of letters, digits and `+=,.@:/-_`",
    )
    .length(2, 1224)
}

/// A value that must never be printed: Debug and Display redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: String) -> Secret {
        Secret(s)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

#[derive(Debug, Clone)]
pub struct AssumeRole {
    pub role_arn: String,
    pub external_id: Option<String>,
    pub session_name: String,
}

#[derive(Debug, Clone)]
pub enum SnowflakeAuth {
    KeyPair {
        private_key_pem: Secret,
        passphrase: Option<Secret>,
    },
    Token(Secret),
}

#[derive(Debug, Clone)]
pub struct SnowflakeConfig {
    pub account: String,
    pub user: String,
    pub role: String,
    pub auth: SnowflakeAuth,
    pub host: Option<String>,
    /// Submissions of one statement, the first included.
    pub max_attempts: u32,
}

/// Retries of one AWS call when `max_retries` is not set: enough for a
/// heavily throttled apply to converge, bounded so a broken endpoint fails
/// in well under a minute.
pub const DEFAULT_MAX_RETRIES: u32 = 9;
/// Resubmissions of one Snowflake statement when `snowflake.max_retries` is
/// not set: with the doubling backoff, about half a minute of trying.
pub const DEFAULT_SNOWFLAKE_MAX_RETRIES: u32 = 7;
const MAX_RETRIES_LIMIT: i64 = 100;

#[derive(Debug, Clone)]
pub struct ProviderConfig {
    pub region: Option<String>,
    pub profile: Option<String>,
    pub assume_role: Option<AssumeRole>,
    /// Service name (as in `AWS_SERVICES`) to endpoint URL.
    pub endpoints: Vec<(String, String)>,
    pub skip_credentials_validation: bool,
    /// Accounts the credentials may (or must not) belong to.
    pub allowed_account_ids: Option<Vec<String>>,
    pub forbidden_account_ids: Option<Vec<String>>,
    /// Tries of one AWS call, the first included.
    pub max_attempts: u32,
    pub snowflake: Option<SnowflakeConfig>,
    /// Profile whose (IAM user) credentials mint Snowflake pin tokens.
    pub federation_profile: Option<String>,
    pub ignore_tags: IgnoreTags,
    pub default_tags: DefaultTags,
    /// Settings (`region`, `snowflake.account`...) whose values come from
    /// other resources and are not known until apply. Terraform configures
    /// the provider with them unknown while planning; no client is built
    /// from a guess (such as the environment's region) meanwhile.
    pub pending: Vec<String>,
}

/// Whether a setting (as `unknown_settings` names it) configures the
/// Snowflake client; every other one configures the AWS clients.
fn is_snowflake_setting(setting: &str) -> bool {
    setting == "snowflake" || setting.starts_with("snowflake.")
}

impl ProviderConfig {
    /// A provider block that sets only `region`: for tools and tests that
    /// build the clients without Terraform.
    pub fn for_region(region: &str) -> ProviderConfig {
        ProviderConfig {
            region: Some(region.to_string()),
            endpoints: Vec::new(),
            skip_credentials_validation: false,
            max_attempts: DEFAULT_MAX_RETRIES + 1,
            profile: None,
            assume_role: None,
            allowed_account_ids: None,
            forbidden_account_ids: None,
            snowflake: None,
            federation_profile: None,
            ignore_tags: Default::default(),
            default_tags: Default::default(),
            pending: Vec::new(),
        }
    }

    /// The pending settings the AWS clients depend on.
    pub fn pending_for_aws(&self) -> Vec<&str> {
        // default_tags only shape what is planned (tags_all goes unknown
        // meanwhile), not the clients: reads go on.
        self.pending_where(|p| !is_snowflake_setting(p) && !p.starts_with("default_tags"))
    }

    /// Whether the block says which account to act in (a role to assume,
    /// an account guard): such a setting is checked when the provider is
    /// configured, so a wrong one is one error on the provider block rather
    /// than one on every resource of it, each after its own STS calls.
    pub fn names_the_account(&self) -> bool {
        self.assume_role.is_some()
            || self.allowed_account_ids.is_some()
            || self.forbidden_account_ids.is_some()
    }

    /// The pending settings the Snowflake client depends on.
    pub fn pending_for_snowflake(&self) -> Vec<&str> {
        self.pending_where(is_snowflake_setting)
    }

    fn pending_where(&self, wanted: impl Fn(&str) -> bool) -> Vec<&str> {
        self.pending
            .iter()
            .map(String::as_str)
            .filter(|p| wanted(p))
            .collect()
    }
}

/// `config` with the `settings` (as `unknown_settings` names them) null:
/// a set with one unknown element reads as unset, not as a type error.
fn without(config: &Value, settings: &[String]) -> Value {
    let mut known = config.clone();
    for setting in settings {
        match setting.split_once('.') {
            Some((block, name)) => {
                if let Some(inner) = known.get_mut(block) {
                    inner.set_attr(name, Value::Null);
                }
            }
            None => known.set_attr(setting, Value::Null),
        }
    }
    known
}

/// The settings of the provider block whose values are unknown: top-level
/// attributes and blocks, and the attributes of its single blocks.
fn unknown_settings(config: &Value) -> Vec<String> {
    let mut pending = Vec::new();
    let Value::Object(attrs) = config else {
        return pending;
    };
    for (name, value) in attrs {
        match value {
            Value::Unknown => pending.push(name.clone()),
            Value::Object(inner) => pending.extend(
                inner
                    .iter()
                    .filter(|(_, v)| !v.is_fully_known())
                    .map(|(k, _)| format!("{name}.{k}")),
            ),
            other if !other.is_fully_known() => pending.push(name.clone()),
            _ => {}
        }
    }
    pending
}

#[derive(Deserialize, Default)]
struct RawBlock {
    region: Option<String>,
    profile: Option<String>,
    federation_profile: Option<String>,
    skip_credentials_validation: Option<bool>,
    allowed_account_ids: Option<Vec<String>>,
    forbidden_account_ids: Option<Vec<String>>,
    max_retries: Option<i64>,
    assume_role: Option<RawAssumeRole>,
    ignore_tags: Option<IgnoreTags>,
    default_tags: Option<DefaultTags>,
    endpoints: Option<std::collections::BTreeMap<String, Option<String>>>,
    snowflake: Option<RawSnowflake>,
}

/// Tags another system sets (`ignore_tags`): left out of what a read
/// reports, so they never show as drift nor get removed.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct IgnoreTags {
    keys: Option<Vec<String>>,
    key_prefixes: Option<Vec<String>>,
}

impl IgnoreTags {
    fn ignores(&self, key: &str) -> bool {
        self.keys.iter().flatten().any(|k| k == key)
            || self
                .key_prefixes
                .iter()
                .flatten()
                .any(|p| key.starts_with(p.as_str()))
    }

    /// `found` without the ignored tags, except those `configured` names.
    pub fn keep(
        &self,
        found: BTreeMap<String, String>,
        configured: Option<&BTreeMap<String, String>>,
    ) -> BTreeMap<String, String> {
        found
            .into_iter()
            .filter(|(k, _)| !self.ignores(k) || configured.is_some_and(|c| c.contains_key(k)))
            .collect()
    }
}

/// Tags for every tagged object (`default_tags`), under each resource's own.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct DefaultTags {
    tags: Option<BTreeMap<String, String>>,
}

impl DefaultTags {
    pub fn is_empty(&self) -> bool {
        self.tags.as_ref().is_none_or(BTreeMap::is_empty)
    }

    /// The tags an object carries: these, with `own` (a resource's `tags`)
    /// over them.
    pub fn merged(&self, own: Option<&BTreeMap<String, String>>) -> BTreeMap<String, String> {
        let mut all = self.tags.clone().unwrap_or_default();
        all.extend(
            own.into_iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        all
    }

    /// The resource's own part of the tags an object carries: `all` less
    /// the keys default_tags sets, unless `configured` (the resource's
    /// `tags` so far) names them. A default key's value is the provider's
    /// to set, so a new default, or drift in one, shows in `tags_all` only.
    /// An object seen for the first time (`first_read`: imported) has no
    /// `tags` on record yet; there a default key with a value of its own is
    /// taken for the object's own tag.
    pub fn own(
        &self,
        all: &BTreeMap<String, String>,
        configured: Option<&BTreeMap<String, String>>,
        first_read: bool,
    ) -> BTreeMap<String, String> {
        let defaults = self.tags.as_ref();
        all.iter()
            .filter(|(k, v)| {
                let default = defaults.and_then(|d| d.get(*k));
                configured.is_some_and(|c| c.contains_key(*k))
                    || default.is_none()
                    || (first_read && default != Some(*v))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

#[derive(Deserialize)]
struct RawAssumeRole {
    role_arn: String,
    external_id: Option<String>,
    session_name: Option<String>,
}

#[derive(Deserialize, Default)]
struct RawSnowflake {
    account: Option<String>,
    user: Option<String>,
    role: Option<String>,
    private_key: Option<String>,
    private_key_path: Option<String>,
    private_key_passphrase: Option<String>,
    token: Option<String>,
    host: Option<String>,
    max_retries: Option<i64>,
}

/// Resolves the provider block: configuration first, then the environment.
/// Every problem is reported against the attribute it belongs to.
pub fn resolve(
    config: &Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<ProviderConfig, Diagnostics> {
    let mut diags = Diagnostics::new();
    let pending = unknown_settings(config);
    let raw: RawBlock = if config.is_null() {
        RawBlock::default()
    } else {
        typed::from_value(&without(config, &pending)).map_err(|e| {
            let mut d = Diagnostics::new();
            d.error("Invalid provider configuration", e.to_string());
            d
        })?
    };
    let named_env = |vars: &[&'static str]| {
        vars.iter()
            .find_map(|v| env(v).filter(|s| !s.is_empty()).map(|value| (*v, value)))
    };
    let from_env = |vars: &[&str]| vars.iter().find_map(|v| env(v).filter(|s| !s.is_empty()));
    let is_pending = |name: &str| pending.iter().any(|p| p == name);

    // A setting not known yet is set all the same: the environment does
    // not stand in for it. Values from the block passed the schema's
    // validators; those from the environment are checked the same way here.
    let region = if is_pending("region") {
        None
    } else {
        raw.region.or_else(|| {
            named_env(&["AWS_REGION", "AWS_DEFAULT_REGION"])
                .inspect(|(var, value)| {
                    check_env(
                        var,
                        value,
                        &aws_region(),
                        AttributePath::attr("region"),
                        &mut diags,
                    )
                })
                .map(|(_, value)| value)
        })
    };
    let mut endpoints = Vec::new();
    let configured = raw.endpoints.unwrap_or_default();
    for (service, var) in AWS_SERVICES {
        let url = configured.get(*service).cloned().flatten().or_else(|| {
            named_env(&[var])
                .inspect(|(var, value)| {
                    let at = AttributePath::attr("endpoints").then_attr(service);
                    check_env(var, value, &http_url(), at, &mut diags)
                })
                .map(|(_, value)| value)
        });
        if let Some(url) = url {
            endpoints.push((service.to_string(), url));
        }
    }
    let max_attempts = match (raw.max_retries, from_env(&["AWS_MAX_ATTEMPTS"])) {
        (Some(n), _) => u32::try_from(n.clamp(0, MAX_RETRIES_LIMIT)).unwrap_or(0) + 1,
        (None, Some(v)) => match v.trim().parse::<u32>() {
            Ok(n) if (1..=MAX_RETRIES_LIMIT as u32 + 1).contains(&n) => n,
            _ => {
                diags.error_at(
                    AttributePath::attr("max_retries"),
                    "Invalid AWS_MAX_ATTEMPTS",
                    format!(
                        "AWS_MAX_ATTEMPTS is {v:?}; it must be a whole number of tries from 1 to {}. Fix the variable, or set max_retries.",
                        MAX_RETRIES_LIMIT + 1
                    ),
                );
                1
            }
        },
        (None, None) => DEFAULT_MAX_RETRIES + 1,
    };
    let skip_credentials_validation = raw.skip_credentials_validation.unwrap_or(false);
    let listed = |name: &str| config.get(name).is_some_and(|v| !v.is_null()) || is_pending(name);
    account_list_rules(
        listed("allowed_account_ids"),
        listed("forbidden_account_ids"),
        skip_credentials_validation,
        &mut diags,
    );
    let snowflake_pending = pending.iter().any(|p| is_snowflake_setting(p));
    let snowflake = raw
        .snowflake
        .filter(|_| !snowflake_pending)
        .map(|s| resolve_snowflake(s, &from_env, &mut diags));
    if diags.has_errors() {
        return Err(diags);
    }
    Ok(ProviderConfig {
        region,
        // AWS_PROFILE is left to the SDK's chain, which puts the
        // environment's keys first; only a profile set here overrides them.
        profile: raw.profile,
        assume_role: raw.assume_role.map(|a| AssumeRole {
            role_arn: a.role_arn,
            external_id: a.external_id,
            session_name: a
                .session_name
                .unwrap_or_else(|| "terraform-provider-privatelink".into()),
        }),
        endpoints,
        skip_credentials_validation,
        allowed_account_ids: raw.allowed_account_ids,
        forbidden_account_ids: raw.forbidden_account_ids,
        max_attempts,
        snowflake: snowflake.flatten(),
        federation_profile: raw.federation_profile,
        ignore_tags: raw.ignore_tags.unwrap_or_default(),
        default_tags: raw.default_tags.unwrap_or_default(),
        pending,
    })
}

/// What the provider block says by itself, judged by `terraform validate`:
/// no environment variable, file or network is consulted, so every machine
/// gets the same answer. What the environment completes (credentials, an
/// account, a region) and values not known yet are judged at Configure.
pub fn check_block(config: &Value, diags: &mut Diagnostics) {
    let set = |v: Option<&Value>| v.and_then(Value::is_set) == Some(true);
    account_list_rules(
        set(config.get("allowed_account_ids")),
        set(config.get("forbidden_account_ids")),
        config
            .get("skip_credentials_validation")
            .and_then(Value::as_bool)
            == Some(true),
        diags,
    );
    let Some(snowflake) = config.get("snowflake").filter(|v| v.is_set() == Some(true)) else {
        return;
    };
    let given: Vec<&str> = SNOWFLAKE_CREDENTIALS
        .iter()
        .copied()
        .filter(|name| set(snowflake.get(name)))
        .collect();
    if let Some(d) = credential_conflict(&given) {
        diags.push(d);
    }
    if let Some(pem) = snowflake.get("private_key").and_then(Value::as_str) {
        if !looks_like_pem(pem) {
            diags.push(not_pem("private_key"));
        }
    }
}

/// The account lists exclude each other and need the identity check.
fn account_list_rules(allowed: bool, forbidden: bool, skip_check: bool, diags: &mut Diagnostics) {
    if allowed && forbidden {
        diags.error_at(
            AttributePath::attr("forbidden_account_ids"),
            "Conflicting account lists",
            "Set allowed_account_ids or forbidden_account_ids, not both.",
        );
    }
    if skip_check {
        for (name, listed) in [
            ("allowed_account_ids", allowed),
            ("forbidden_account_ids", forbidden),
        ] {
            if listed {
                diags.error_at(
                    AttributePath::attr(name),
                    format!("{name} needs the credentials checked"),
                    "The account is learned from sts:GetCallerIdentity, which skip_credentials_validation turns off. Remove one of the two.",
                );
            }
        }
    }
}

/// An environment variable standing in for an attribute must have the
/// attribute's shape; the error names the variable, on the attribute.
fn check_env(var: &str, value: &str, shape: &Pattern, at: AttributePath, diags: &mut Diagnostics) {
    if !shape.matches(value) {
        diags.error_at(
            at,
            format!("Invalid {var}"),
            format!(
                "{var} is {value:?}; it {}. Fix the variable, or set the attribute.",
                shape.describe()
            ),
        );
    }
}

/// Snowflake's ways to authenticate, one of which is set.
const SNOWFLAKE_CREDENTIALS: [&str; 3] = ["private_key", "private_key_path", "token"];

/// More than one way to authenticate: the error sits on the last one named.
fn credential_conflict(given: &[&str]) -> Option<Diagnostic> {
    let culprit = given.get(1..)?.last()?;
    Some(
        Diagnostic::error(
            "Conflicting Snowflake credentials",
            "Set exactly one of private_key, private_key_path and token (or their environment variables).",
        )
        .at(AttributePath::attr("snowflake").then_attr(culprit)),
    )
}

fn looks_like_pem(key: &str) -> bool {
    key.contains("-----BEGIN") && key.contains("PRIVATE KEY-----")
}

/// Never echoes the value: it may be a key pasted in the wrong place.
fn not_pem(source: &str) -> Diagnostic {
    Diagnostic::error(
        "Invalid Snowflake private key",
        "The key is not PEM-encoded: expected a block starting with -----BEGIN PRIVATE KEY----- or -----BEGIN ENCRYPTED PRIVATE KEY-----.",
    )
    .at(AttributePath::attr("snowflake").then_attr(source))
}

/// `~/...` as shells expand it: key paths are usually written that way.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

fn resolve_snowflake(
    s: RawSnowflake,
    from_env: &dyn Fn(&[&str]) -> Option<String>,
    diags: &mut Diagnostics,
) -> Option<SnowflakeConfig> {
    let at = |name: &str| AttributePath::attr("snowflake").then_attr(name);
    let account = s.account.or_else(|| {
        from_env(&["SNOWFLAKE_ACCOUNT"]).inspect(|v| {
            check_env(
                "SNOWFLAKE_ACCOUNT",
                v,
                &snowflake_account(),
                at("account"),
                diags,
            )
        })
    });
    let user = s.user.or_else(|| from_env(&["SNOWFLAKE_USER"]));
    let role = s
        .role
        .or_else(|| from_env(&["SNOWFLAKE_ROLE"]))
        .unwrap_or_else(|| "ACCOUNTADMIN".into());
    // Credentials set in the block win as a whole: SNOWFLAKE_TOKEN exported
    // for another tool does not conflict with a key path written here.
    let block_has_credentials =
        s.private_key.is_some() || s.private_key_path.is_some() || s.token.is_some();
    let env_credential = |name: &str| {
        if block_has_credentials {
            None
        } else {
            from_env(&[name])
        }
    };
    let key = s
        .private_key
        .or_else(|| env_credential("SNOWFLAKE_PRIVATE_KEY"));
    let key_path = s
        .private_key_path
        .or_else(|| env_credential("SNOWFLAKE_PRIVATE_KEY_PATH"));
    // A file read with file() ends in a newline that is no part of the
    // secret.
    let without_newline = |v: String| v.trim_end_matches(['\r', '\n']).to_string();
    let passphrase = s
        .private_key_passphrase
        .or_else(|| from_env(&["SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"]))
        .map(without_newline);
    let token = s
        .token
        .or_else(|| env_credential("SNOWFLAKE_TOKEN"))
        .map(without_newline);
    // SNOWFLAKE_HOST may be a bare host name, as the Snowflake provider
    // takes it.
    let host = s.host.or_else(|| {
        from_env(&["SNOWFLAKE_HOST"])
            .map(|v| {
                if v.contains("://") {
                    v
                } else {
                    format!("https://{v}")
                }
            })
            .inspect(|v| check_env("SNOWFLAKE_HOST", v, &http_url(), at("host"), diags))
    });

    if account.is_none() {
        diags.error_at(
            at("account"),
            "Missing Snowflake account",
            "Set snowflake.account or the SNOWFLAKE_ACCOUNT environment variable.",
        );
    }
    if user.is_none() {
        diags.error_at(
            at("user"),
            "Missing Snowflake user",
            "Set snowflake.user or the SNOWFLAKE_USER environment variable.",
        );
    }
    let given: Vec<&str> = SNOWFLAKE_CREDENTIALS
        .iter()
        .zip([key.is_some(), key_path.is_some(), token.is_some()])
        .filter_map(|(name, set)| set.then_some(*name))
        .collect();
    if let Some(d) = credential_conflict(&given) {
        diags.push(d);
        return None;
    }
    if given.is_empty() {
        diags.error_at(
            AttributePath::attr("snowflake"),
            "Missing Snowflake credentials",
            "Set one of private_key (SNOWFLAKE_PRIVATE_KEY), private_key_path (SNOWFLAKE_PRIVATE_KEY_PATH) or token (SNOWFLAKE_TOKEN).",
        );
        return None;
    }
    let auth = if let Some(token) = token {
        SnowflakeAuth::Token(Secret::new(token))
    } else {
        let pem = match (key, key_path) {
            (Some(k), _) => Some((k, "private_key")),
            (None, Some(path)) => match std::fs::read_to_string(expand_home(&path)) {
                Ok(k) => Some((k, "private_key_path")),
                Err(e) => {
                    diags.error_at(
                        at("private_key_path"),
                        "Cannot read the Snowflake private key",
                        format!("Reading {path:?} failed: {e}."),
                    );
                    None
                }
            },
            (None, None) => None,
        };
        let (pem, source) = pem?;
        if !looks_like_pem(&pem) {
            diags.push(not_pem(source));
            return None;
        }
        if pem.contains("ENCRYPTED PRIVATE KEY") && passphrase.is_none() {
            diags.error_at(
                at("private_key_passphrase"),
                "Missing private key passphrase",
                "The Snowflake private key is encrypted: set private_key_passphrase or SNOWFLAKE_PRIVATE_KEY_PASSPHRASE.",
            );
            return None;
        }
        SnowflakeAuth::KeyPair {
            private_key_pem: Secret::new(pem),
            passphrase: passphrase.map(Secret::new),
        }
    };
    let retries = s.max_retries.map_or(DEFAULT_SNOWFLAKE_MAX_RETRIES, |n| {
        u32::try_from(n.clamp(0, MAX_RETRIES_LIMIT)).unwrap_or(0)
    });
    Some(SnowflakeConfig {
        account: account?,
        user: user?,
        role,
        auth,
        host,
        max_attempts: retries + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tags_sit_under_a_resources_own_and_are_told_apart_again() {
        let map = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let defaults = DefaultTags {
            tags: Some(map(&[("team", "data"), ("env", "prod")])),
        };
        let own = map(&[("env", "dev"), ("Name", "x")]);
        let all = defaults.merged(Some(&own));
        assert_eq!(all, map(&[("team", "data"), ("env", "dev"), ("Name", "x")]));
        assert_eq!(defaults.own(&all, Some(&own), false), own);
        // Nothing configured: a key default_tags sets is the provider's,
        // whatever its value; imported, one with a value of its own is the
        // object's.
        assert_eq!(defaults.own(&all, None, false), map(&[("Name", "x")]));
        assert_eq!(
            defaults.own(&all, None, true),
            map(&[("env", "dev"), ("Name", "x")])
        );
        let newer = DefaultTags {
            tags: Some(map(&[("team", "platform"), ("env", "prod")])),
        };
        assert_eq!(newer.own(&all, Some(&own), false), own);
        // A key the resource sets to the default's value stays its own.
        let same = map(&[("team", "data")]);
        assert_eq!(
            defaults.own(&defaults.merged(Some(&same)), Some(&same), false),
            same
        );
        assert_eq!(DefaultTags::default().merged(None), BTreeMap::new());
    }

    #[test]
    fn ignored_tags_are_left_out_unless_configured() {
        let ignore = IgnoreTags {
            keys: Some(vec!["CostCenter".into()]),
            key_prefixes: Some(vec!["cost:".into()]),
        };
        let found: BTreeMap<String, String> = [
            ("CostCenter", "1"),
            ("cost:a", "2"),
            ("cost:b", "3"),
            ("Name", "n"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let configured: BTreeMap<String, String> = [("cost:b".to_string(), "3".to_string())].into();
        let kept = ignore.keep(found.clone(), Some(&configured));
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["Name", "cost:b"]);
        assert_eq!(IgnoreTags::default().keep(found.clone(), None), found);
    }
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(schema().lint(), Vec::<String>::new());
    }

    #[test]
    fn secrets_never_print() {
        let s = Secret::new("hunter2".into());
        assert_eq!(format!("{s:?}"), "<redacted>");
    }

    #[test]
    fn environment_fills_what_config_leaves_out() {
        let cfg = resolve(
            &Value::Null,
            &env_of(&[
                ("AWS_DEFAULT_REGION", "eu-west-1"),
                ("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:1"),
            ]),
        )
        .unwrap();
        assert_eq!(cfg.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            cfg.endpoints,
            vec![("ec2".to_string(), "http://127.0.0.1:1".to_string())]
        );
        assert!(cfg.snowflake.is_none());
    }

    #[test]
    fn key_paths_expand_the_home_directory() {
        let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
        if let Some(home) = home {
            assert_eq!(
                expand_home("~/.snowflake/k.p8"),
                home.join(".snowflake/k.p8")
            );
        }
        assert_eq!(
            expand_home("/etc/k.p8"),
            std::path::PathBuf::from("/etc/k.p8")
        );
        assert_eq!(
            expand_home("~other/k.p8"),
            std::path::PathBuf::from("~other/k.p8")
        );
    }

    #[test]
    fn federation_profile_is_read() {
        let cfg = resolve(
            &Value::object([("federation_profile", Value::string("pin"))]),
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(cfg.federation_profile.as_deref(), Some("pin"));
    }

    #[test]
    fn retries_come_from_max_retries_then_aws_max_attempts() {
        let default = resolve(&Value::Null, &env_of(&[])).unwrap();
        assert_eq!(default.max_attempts, DEFAULT_MAX_RETRIES + 1);
        let env = resolve(&Value::Null, &env_of(&[("AWS_MAX_ATTEMPTS", "3")])).unwrap();
        assert_eq!(env.max_attempts, 3);
        let set = resolve(
            &Value::object([("max_retries", Value::int(0))]),
            &env_of(&[("AWS_MAX_ATTEMPTS", "3")]),
        )
        .unwrap();
        assert_eq!(set.max_attempts, 1, "the attribute wins over the variable");
        let bad = resolve(&Value::Null, &env_of(&[("AWS_MAX_ATTEMPTS", "lots")])).unwrap_err();
        assert_eq!(bad.0[0].path, Some(AttributePath::attr("max_retries")));
    }

    #[test]
    fn snowflake_retries_are_their_own_and_ignore_aws_max_attempts() {
        let snowflake = |extra: Vec<(&str, Value)>| {
            let mut block = vec![
                ("account", Value::string("myorg-acct1")),
                ("user", Value::string("terraform")),
                ("token", Value::string("pat")),
            ];
            block.extend(extra);
            Value::object([("snowflake", Value::object(block))])
        };
        let default = resolve(&snowflake(vec![]), &env_of(&[("AWS_MAX_ATTEMPTS", "2")])).unwrap();
        assert_eq!(
            default.snowflake.unwrap().max_attempts,
            DEFAULT_SNOWFLAKE_MAX_RETRIES + 1
        );
        let none = resolve(
            &snowflake(vec![("max_retries", Value::int(0))]),
            &env_of(&[]),
        )
        .unwrap();
        assert_eq!(none.snowflake.unwrap().max_attempts, 1);
        assert_eq!(
            none.max_attempts,
            DEFAULT_MAX_RETRIES + 1,
            "AWS keeps its own"
        );
    }

    #[test]
    fn settings_known_only_after_apply_are_pending_not_guessed() {
        let config = Value::object([
            ("region", Value::Unknown),
            (
                "snowflake",
                Value::object([
                    ("account", Value::Unknown),
                    ("user", Value::string("TERRAFORM")),
                ]),
            ),
        ]);
        let cfg = resolve(&config, &env_of(&[("AWS_REGION", "eu-west-1")])).unwrap();
        assert_eq!(cfg.region, None, "not the environment's region");
        assert!(cfg.snowflake.is_none(), "no Missing-account error either");
        assert_eq!(cfg.pending, vec!["region", "snowflake.account"]);
        assert_eq!(cfg.pending_for_aws(), vec!["region"]);

        let partly = Value::object([(
            "allowed_account_ids",
            Value::Set(vec![Value::string("123456789012"), Value::Unknown]),
        )]);
        let cfg = resolve(&partly, &env_of(&[])).unwrap();
        assert_eq!(cfg.pending, vec!["allowed_account_ids"]);

        // Unknown default tags leave tags_all unknown, not the AWS clients.
        let tags = Value::object([("default_tags", Value::object([("tags", Value::Unknown)]))]);
        let cfg = resolve(&tags, &env_of(&[])).unwrap();
        assert_eq!(cfg.pending, vec!["default_tags.tags"]);
        assert!(cfg.pending_for_aws().is_empty());
    }

    #[test]
    fn account_lists_conflict_with_each_other_and_with_skipping_the_check() {
        let ids = || Value::Set(vec![Value::string("123456789012")]);
        let both = resolve(
            &Value::object([
                ("allowed_account_ids", ids()),
                ("forbidden_account_ids", ids()),
            ]),
            &env_of(&[]),
        )
        .unwrap_err();
        assert_eq!(
            both.0[0].path,
            Some(AttributePath::attr("forbidden_account_ids"))
        );
        let skipped = resolve(
            &Value::object([
                ("allowed_account_ids", ids()),
                ("skip_credentials_validation", Value::Bool(true)),
            ]),
            &env_of(&[]),
        )
        .unwrap_err();
        assert_eq!(
            skipped.0[0].path,
            Some(AttributePath::attr("allowed_account_ids"))
        );
    }

    #[test]
    fn bad_region_from_env_points_at_region() {
        let err = resolve(&Value::Null, &env_of(&[("AWS_REGION", "moon")])).unwrap_err();
        assert_eq!(err.0[0].path, Some(AttributePath::attr("region")));
        assert_eq!(err.0[0].summary, "Invalid AWS_REGION");
        // A region set in the block was judged by its validator already.
        let set = Value::object([("region", Value::string("moon"))]);
        assert!(resolve(&set, &env_of(&[])).is_ok());
    }

    #[test]
    fn environment_values_get_the_attributes_checks_on_the_attributes() {
        let err = resolve(
            &Value::object([(
                "snowflake",
                Value::object([("token", Value::string("pat"))]),
            )]),
            &env_of(&[
                ("AWS_ENDPOINT_URL_EC2", "not a url"),
                ("SNOWFLAKE_ACCOUNT", "https://acct.snowflakecomputing.com"),
                ("SNOWFLAKE_USER", "terraform"),
                ("SNOWFLAKE_HOST", "not a host"),
            ]),
        )
        .unwrap_err();
        let found: Vec<(String, String)> = err
            .0
            .iter()
            .map(|d| (d.summary.clone(), format!("{:?}", d.path)))
            .collect();
        let at = |p: AttributePath| format!("{:?}", Some(p));
        assert_eq!(
            found,
            vec![
                (
                    "Invalid AWS_ENDPOINT_URL_EC2".to_string(),
                    at(AttributePath::attr("endpoints").then_attr("ec2"))
                ),
                (
                    "Invalid SNOWFLAKE_ACCOUNT".to_string(),
                    at(AttributePath::attr("snowflake").then_attr("account"))
                ),
                (
                    "Invalid SNOWFLAKE_HOST".to_string(),
                    at(AttributePath::attr("snowflake").then_attr("host"))
                ),
            ]
        );
        assert!(err.0[0].detail.contains("\"not a url\""), "{:?}", err.0[0]);
    }

    #[test]
    fn block_credentials_win_and_file_newlines_and_bare_hosts_are_taken_as_meant() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("k.p8");
        std::fs::write(
            &key,
            "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let block = |pairs: Vec<(&str, Value)>| {
            let mut b = vec![
                ("account", Value::string("myorg-acct1")),
                ("user", Value::string("terraform")),
            ];
            b.extend(pairs);
            Value::object([("snowflake", Value::object(b))])
        };
        // A token exported for another Snowflake tool does not conflict
        // with the key path written in the block.
        let cfg = resolve(
            &block(vec![(
                "private_key_path",
                Value::string(key.display().to_string()),
            )]),
            &env_of(&[
                ("SNOWFLAKE_TOKEN", "pat-from-elsewhere"),
                (
                    "SNOWFLAKE_HOST",
                    "myorg-acct1.privatelink.snowflakecomputing.com",
                ),
            ]),
        )
        .unwrap()
        .snowflake
        .unwrap();
        assert!(matches!(cfg.auth, SnowflakeAuth::KeyPair { .. }));
        assert_eq!(
            cfg.host.as_deref(),
            Some("https://myorg-acct1.privatelink.snowflakecomputing.com")
        );
        // file() keeps the file's final newline; the token has none.
        let cfg = resolve(
            &block(vec![("token", Value::string("pat-123\n"))]),
            &env_of(&[]),
        )
        .unwrap()
        .snowflake
        .unwrap();
        let SnowflakeAuth::Token(token) = cfg.auth else {
            panic!("token auth")
        };
        assert_eq!(token.expose(), "pat-123");
        // With nothing in the block, the environment still gives them.
        let cfg = resolve(
            &block(vec![]),
            &env_of(&[("SNOWFLAKE_TOKEN", "pat-env\r\n")]),
        )
        .unwrap()
        .snowflake
        .unwrap();
        let SnowflakeAuth::Token(token) = cfg.auth else {
            panic!("token auth")
        };
        assert_eq!(token.expose(), "pat-env");
    }

    #[test]
    fn validate_judges_the_block_alone() {
        let check = |block: Value| {
            let mut d = Diagnostics::new();
            check_block(&block, &mut d);
            d
        };
        // Credentials and account may come from the environment at
        // Configure: nothing to say yet.
        assert!(check(Value::object([(
            "snowflake",
            Value::object(Vec::<(&str, Value)>::new())
        )]))
        .is_empty());
        let two = check(Value::object([(
            "snowflake",
            Value::object([
                ("private_key", Value::string("-----BEGIN PRIVATE KEY-----")),
                ("token", Value::string("pat")),
            ]),
        )]));
        assert_eq!(two.0.len(), 1);
        assert_eq!(
            two.0[0].path,
            Some(AttributePath::attr("snowflake").then_attr("token"))
        );
        let pasted = check(Value::object([(
            "snowflake",
            Value::object([("private_key", Value::string("MIIEvQIBADANBg"))]),
        )]));
        assert_eq!(pasted.0[0].summary, "Invalid Snowflake private key");
        assert!(!pasted.0[0].detail.contains("MIIE"));
        let unknown = check(Value::object([
            ("allowed_account_ids", Value::Unknown),
            (
                "forbidden_account_ids",
                Value::Set(vec![Value::string("123456789012")]),
            ),
        ]));
        assert!(unknown.is_empty(), "an unknown list may still be null");
    }
}
