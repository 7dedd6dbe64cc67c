//! Resource `privatelink_s3_storage_integration`: a vendor's storage
//! integration with one of your S3 buckets, set up the way Sigma's runbook
//! lays it out (IAM policy, a role the vendor assumes, a CORS rule and an
//! optional IP allowlist), in its two phases: until the vendor has answered,
//! the role trusts your own account with a placeholder external ID; setting
//! `vendor_iam_user_arn` and `external_id` later updates that trust in place.
//!
//! The bucket's CORS configuration and policy are shared with other teams:
//! this resource owns one CORS rule (ID `privatelink-<role_name>`) and one
//! policy statement (Sid `PrivatelinkAllowlist...`), adds them beside what is
//! there, replaces only them and removes only them. Other rules are sent back
//! as S3 returned them, other statements byte for byte. Only an import takes
//! over what the vendor's runbook made by hand (its ID-less CORS rule, its
//! allowlist statement under a Sid of its own); a create never does.
//!
//! Drift: the computed `cors_rule`, `policy_document`, `assume_role_policy`
//! and `allowlist_statement` hold what AWS has; the plan computes what they
//! should hold, so an out-of-band edit of anything owned shows as a change,
//! and nothing owned by others is read into state.

use super::{
    held_by_the_replacement, hold, invalid_state, plan_tags_all, read_tags, sorted,
    tags_all_attribute, wait_error,
};
use crate::catalog;
use crate::framework::operation::Operation;
use crate::framework::plan::PlanContext;
use crate::framework::resource::{ApplyResult, Ctx, ReadResult, Resource};
use crate::framework::timeouts::{self, Timeouts, WaitError};
use crate::framework::validators::{self, each, int_between, one_of, pattern, NotEmpty, Validator};
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, NestedBlock, Schema, Type,
    Value,
};
use crate::provider::aws::{error_code, error_text, AwsClients};
use crate::provider::permissions::Permissions;
use crate::provider::{ProviderData, JUST_CHECKED};
use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::{Duration, Instant};

/// The AWS actions each operation may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[
    (
        Operation::Read,
        &[
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "s3:GetBucketCORS",
            "s3:GetBucketPolicy",
        ],
    ),
    (Operation::Plan, &["s3:ListBucket"]),
    (Operation::Create, APPLY_ACTIONS),
    (Operation::Update, APPLY_ACTIONS),
    (
        Operation::Delete,
        &[
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:DeleteRole",
            "iam:DetachRolePolicy",
            "iam:ListPolicyVersions",
            "s3:DeleteBucketPolicy",
            "s3:GetBucketCORS",
            "s3:GetBucketPolicy",
            "s3:PutBucketCORS",
            "s3:PutBucketPolicy",
        ],
    ),
    (
        Operation::Import,
        &[
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:GetRole",
            "iam:ListAttachedRolePolicies",
            "s3:GetBucketCORS",
            "s3:GetBucketPolicy",
            "s3:ListBucket",
        ],
    ),
];
/// Create and update converge the same objects, so either may call any of
/// these.
const APPLY_ACTIONS: &[&str] = &[
    "iam:AttachRolePolicy",
    "iam:CreatePolicy",
    "iam:CreatePolicyVersion",
    "iam:CreateRole",
    "iam:DeletePolicy",
    "iam:DeletePolicyVersion",
    "iam:GetPolicy",
    "iam:GetPolicyVersion",
    "iam:GetRole",
    "iam:ListAttachedRolePolicies",
    "iam:ListPolicyTags",
    "iam:ListPolicyVersions",
    "iam:ListRoleTags",
    "iam:TagPolicy",
    "iam:TagRole",
    "iam:UntagPolicy",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "s3:DeleteBucketPolicy",
    "s3:GetBucketCORS",
    "s3:GetBucketPolicy",
    "s3:PutBucketCORS",
    "s3:PutBucketPolicy",
];

pub struct S3StorageIntegration;

const CREATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const UPDATE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const DELETE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long IAM propagation errors ("Invalid principal in policy" for a
/// role or user IAM does not know yet) are retried within an operation.
const PROPAGATION_WINDOW: Duration = Duration::from_secs(2 * 60);
/// The runbook's first phase: "enter a placeholder value (for example, 0000)".
const PLACEHOLDER_EXTERNAL_ID: &str = "0000";
/// S3's limit on rules in one CORS configuration.
const CORS_RULE_LIMIT: usize = 100;
/// Tag on the role and policy marking them as this resource's, so a create
/// whose response was lost adopts them instead of failing on "already exists".
const MARKER_TAG: &str = "privatelink:s3-storage-integration";
const DEFAULT_METHODS: [&str; 3] = ["GET", "PUT", "POST"];
const DEFAULT_HEADERS: [&str; 1] = ["*"];
const DEFAULT_EXPOSE: [&str; 2] = ["Access-Control-Allow-Origin", "ETag"];
const DEFAULT_MAX_AGE: i64 = 3600;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
struct Cors {
    allowed_origins: Option<Vec<String>>,
    allowed_methods: Option<Vec<String>>,
    allowed_headers: Option<Vec<String>>,
    expose_headers: Option<Vec<String>>,
    max_age_seconds: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Handoff {
    pub role_arn: String,
    pub bucket_path: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    id: Option<String>,
    bucket: String,
    prefix: String,
    role_name: String,
    policy_name: Option<String>,
    vendor_iam_user_arn: Option<String>,
    external_id: Option<String>,
    vendor: Option<String>,
    cors: Option<Cors>,
    allowed_source_cidrs: Option<Vec<String>>,
    tags: Option<BTreeMap<String, String>>,
    tags_all: Option<BTreeMap<String, String>>,
    timeouts: Option<Timeouts>,
    role_arn: Option<String>,
    policy_arn: Option<String>,
    trust_phase: Option<String>,
    cors_rule_id: Option<String>,
    cors_rule: Option<Cors>,
    vendor_handoff: Option<Handoff>,
    policy_document: Option<String>,
    assume_role_policy: Option<String>,
    allowlist_statement: Option<String>,
}

/// A CORS rule's settings with defaults applied, as compared and sent.
#[derive(Clone, Debug, PartialEq)]
struct Rule {
    origins: Vec<String>,
    methods: Vec<String>,
    headers: Vec<String>,
    expose: Vec<String>,
    max_age: Option<i64>,
}

impl Rule {
    fn of(r: &CorsRule) -> Rule {
        Rule {
            origins: r.allowed_origins().to_vec(),
            methods: r.allowed_methods().to_vec(),
            headers: r.allowed_headers().to_vec(),
            expose: r.expose_headers().to_vec(),
            max_age: r.max_age_seconds().map(i64::from),
        }
    }
    /// The rule a `cors_rule` (as S3 held it) describes, exactly: no
    /// defaults filled in, so that a setting S3 lacks compares as missing.
    fn exact(c: &Cors) -> Option<Rule> {
        Some(Rule {
            origins: c.allowed_origins.clone()?,
            methods: c.allowed_methods.clone().unwrap_or_default(),
            headers: c.allowed_headers.clone().unwrap_or_default(),
            expose: c.expose_headers.clone().unwrap_or_default(),
            max_age: c.max_age_seconds,
        })
    }
    fn to_cors(&self) -> Cors {
        Cors {
            allowed_origins: Some(self.origins.clone()),
            allowed_methods: Some(self.methods.clone()),
            allowed_headers: Some(self.headers.clone()),
            expose_headers: Some(self.expose.clone()),
            max_age_seconds: self.max_age,
        }
    }
    fn to_sdk(&self, id: &str) -> Result<CorsRule, Diagnostics> {
        CorsRule::builder()
            .id(id)
            .set_allowed_origins(Some(self.origins.clone()))
            .set_allowed_methods(Some(self.methods.clone()))
            .set_allowed_headers((!self.headers.is_empty()).then(|| self.headers.clone()))
            .set_expose_headers((!self.expose.is_empty()).then(|| self.expose.clone()))
            .set_max_age_seconds(self.max_age.and_then(|m| i32::try_from(m).ok()))
            .build()
            .map_err(|e| Diagnostic::error("Invalid CORS rule", e.to_string()).into())
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The vendor's browser origin, from the catalog.
fn vendor_origins(vendor: Option<&str>) -> Option<Vec<String>> {
    let origin = catalog::vendor(vendor?)?.app_origin?;
    Some(vec![origin.to_string()])
}

/// The rule a `cors` block (or its absence) and `vendor` ask for; None when
/// no origin is known.
fn effective_rule(cors: Option<&Cors>, vendor: Option<&str>) -> Option<Rule> {
    let c = cors.cloned().unwrap_or_default();
    Some(Rule {
        origins: c.allowed_origins.or_else(|| vendor_origins(vendor))?,
        methods: c
            .allowed_methods
            .unwrap_or_else(|| strings(&DEFAULT_METHODS)),
        headers: c
            .allowed_headers
            .unwrap_or_else(|| strings(&DEFAULT_HEADERS)),
        expose: c.expose_headers.unwrap_or_else(|| strings(&DEFAULT_EXPOSE)),
        max_age: c.max_age_seconds.or(Some(DEFAULT_MAX_AGE)),
    })
}

fn cors_rule_type() -> Type {
    let strings = || Type::list(Type::String);
    Type::object([
        ("allowed_origins", strings()),
        ("allowed_methods", strings()),
        ("allowed_headers", strings()),
        ("expose_headers", strings()),
        ("max_age_seconds", Type::Number),
    ])
}

fn handoff_type() -> Type {
    Type::object([("role_arn", Type::String), ("bucket_path", Type::String)])
}

// ---------------------------------------------------------------------------
// Names and documents
// ---------------------------------------------------------------------------

fn default_policy_name(role_name: &str) -> String {
    format!("{role_name}-s3-access")
}

fn rule_id(role_name: &str) -> String {
    format!("privatelink-{role_name}")
}

/// The allowlist statement's Sid: letters and digits only (what IAM's
/// grammar allows everywhere), made unique per role even where dropping the
/// role name's punctuation would make two names meet.
fn statement_sid(role_name: &str) -> String {
    let plain: String = role_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect();
    if plain == role_name {
        return format!("PrivatelinkAllowlist{plain}");
    }
    format!("PrivatelinkAllowlist{plain}{:08x}", fnv1a(role_name))
}

/// FNV-1a: stable across Rust versions, unlike the std hasher.
fn fnv1a(text: &str) -> u32 {
    text.bytes().fold(0x811c9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x01000193)
    })
}

fn role_arn(partition: &str, account: &str, role_name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{role_name}")
}

fn policy_arn(partition: &str, account: &str, policy_name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy/{policy_name}")
}

/// Compact JSON with object keys sorted: the form state keeps documents in,
/// so the same document always reads the same whatever AWS's key order.
fn canonical(v: &serde_json::Value) -> String {
    fn write(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                out.push('{');
                for (i, k) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(k.clone()).to_string());
                    out.push(':');
                    write(&m[k], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(v, &mut out);
    out
}

/// The runbook's permissions policy for `bucket` and `prefix`.
fn policy_document(partition: &str, bucket: &str, prefix: &str) -> String {
    canonical(&json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Action": ["s3:ListBucket"],
                "Effect": "Allow",
                "Resource": format!("arn:{partition}:s3:::{bucket}"),
            },
            {
                "Action": ["s3:PutObject", "s3:GetObject", "s3:PutObjectTagging"],
                "Effect": "Allow",
                "Resource": format!("arn:{partition}:s3:::{bucket}/{prefix}/*"),
            }
        ]
    }))
}

/// The runbook's trust policy: sts:AssumeRole for `principal` when it
/// presents `external_id`.
fn trust_document(principal: &str, external_id: &str) -> String {
    canonical(&json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"AWS": principal},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"sts:ExternalId": external_id}}
        }]
    }))
}

/// The placeholder principal of the first phase: the account itself.
fn account_root(partition: &str, account: &str) -> String {
    format!("arn:{partition}:iam::{account}:root")
}

/// The allowlist: deny the integration's role any access to objects under
/// the prefix from outside `cidrs`. Scoped to that role and prefix, it can
/// never lock out the account's administrators or the bucket's pipeline.
fn allowlist_statement(
    sid: &str,
    role_arn: &str,
    partition: &str,
    bucket: &str,
    prefix: &str,
    cidrs: &[String],
) -> String {
    canonical(&json!({
        "Sid": sid,
        "Effect": "Deny",
        "Principal": {"AWS": role_arn},
        "Action": "s3:*",
        "Resource": format!("arn:{partition}:s3:::{bucket}/{prefix}/*"),
        "Condition": {"NotIpAddress": {"aws:SourceIp": source_ips(cidrs)}}
    }))
}

/// S3 stores a one-element condition list as a plain string and returns it
/// so: one CIDR is written that way, and read back either way, so that what
/// was written and what S3 returns compare equal instead of a diff on every
/// plan and a policy rewrite on every apply.
fn source_ips(cidrs: &[String]) -> serde_json::Value {
    match sorted(cidrs.to_vec()).as_slice() {
        [one] => json!(one),
        all => json!(all),
    }
}

/// The allowlist condition of a statement read from S3, in the form
/// `allowlist_statement` writes.
fn normalise_source_ips(statement: &mut serde_json::Value) {
    if let Some(ips) = statement.pointer_mut("/Condition/NotIpAddress/aws:SourceIp") {
        let cidrs = match &*ips {
            serde_json::Value::Array(a) => {
                a.iter().map(|x| x.as_str().map(str::to_string)).collect()
            }
            serde_json::Value::String(s) => Some(vec![s.clone()]),
            _ => None,
        };
        if let Some(cidrs) = cidrs {
            *ips = source_ips(&cidrs);
        }
    }
}

/// The (principal, external ID) of a trust policy of the runbook's shape.
fn trust_parties(doc: &serde_json::Value) -> Option<(String, String)> {
    let one = |v: &serde_json::Value| -> Option<String> {
        match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Array(a) if a.len() == 1 => a[0].as_str().map(str::to_string),
            _ => None,
        }
    };
    let statement = match doc.get("Statement")? {
        serde_json::Value::Array(a) if a.len() == 1 => &a[0],
        o @ serde_json::Value::Object(_) => o,
        _ => return None,
    };
    if statement.get("Effect")?.as_str()? != "Allow"
        || one(statement.get("Action")?)? != "sts:AssumeRole"
    {
        return None;
    }
    let principal = one(statement.get("Principal")?.get("AWS")?)?;
    let external_id = one(statement
        .get("Condition")?
        .get("StringEquals")?
        .get("sts:ExternalId")?)?;
    Some((principal, external_id))
}

/// A policy document as IAM returns it, parsed.
fn iam_document(raw: &str) -> Option<serde_json::Value> {
    let text = if raw.trim_start().starts_with('{') {
        raw.to_string()
    } else {
        // IAM returns policy documents URL-encoded (RFC 3986).
        percent_encoding::percent_decode_str(raw)
            .decode_utf8_lossy()
            .into_owned()
    };
    serde_json::from_str(&text).ok()
}

// ---------------------------------------------------------------------------
// Bucket policies, edited as text
// ---------------------------------------------------------------------------

/// Where a policy document's statements are, found by scanning the text so
/// that the statements of others can be written back byte for byte.
#[derive(Debug)]
struct Statements {
    /// The `Statement` value's span, when the key exists.
    value: Option<(usize, usize)>,
    array: bool,
    items: Vec<(usize, usize)>,
    /// Position of the document's closing brace, and whether the document
    /// has other members before it.
    close: usize,
    members: usize,
}

/// The byte range of `part`, a slice of `whole`, within `whole`: serde_json
/// hands out borrowed raw values as slices of the text it parsed.
fn span_in(whole: &str, part: &RawValue) -> Result<(usize, usize), String> {
    let len = part.get().len();
    (part.get().as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .filter(|start| start + len <= whole.len())
        .map(|start| (start, start + len))
        .ok_or_else(|| "a statement outside the policy's text".to_string())
}

fn scan_statements(text: &str) -> Result<Statements, String> {
    if !text.trim_start().starts_with('{') {
        return Err("the policy is not a JSON object".into());
    }
    let members: HashMap<String, &RawValue> =
        serde_json::from_str(text).map_err(|e| e.to_string())?;
    let statement = members.get("Statement").copied();
    let (array, items) = match statement {
        None => (false, Vec::new()),
        Some(raw) if raw.get().starts_with('[') => {
            let list: Vec<&RawValue> =
                serde_json::from_str(raw.get()).map_err(|e| e.to_string())?;
            let items = list.iter().map(|s| span_in(text, s));
            (true, items.collect::<Result<_, _>>()?)
        }
        Some(raw) if raw.get().starts_with('{') => (false, vec![span_in(text, raw)?]),
        Some(_) => return Err("Statement is neither a list nor an object".into()),
    };
    Ok(Statements {
        value: statement.map(|raw| span_in(text, raw)).transpose()?,
        array,
        items,
        // The document is an object, so its text ends with its brace.
        close: text.trim_end().len() - 1,
        members: members.len(),
    })
}

fn sid_of(statement: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(statement).ok()?;
    v.get("Sid")?.as_str().map(str::to_string)
}

/// What a shared configuration (bucket policy, CORS) needs after a merge.
#[derive(Debug, PartialEq)]
enum Change<T> {
    Keep,
    Put(T),
    /// Nothing but our own part was there: remove the whole configuration.
    Delete,
}

/// An allowlist statement's shape: what it denies, to whom and where,
/// without its Sid and ranges. None for a statement of another kind.
fn allowlist_shape(statement: &serde_json::Value) -> Option<String> {
    let mut v = statement.clone();
    v.as_object_mut()?.remove("Sid");
    *v.pointer_mut("/Condition/NotIpAddress/aws:SourceIp")? = serde_json::Value::Null;
    Some(canonical(&v))
}

/// The runbook's IP allowlist, made by hand under a Sid of its own: a
/// statement of exactly this resource's allowlist shape for `role`, bucket
/// and prefix. An import takes it over (see `owned_sids`).
fn runbook_statement(
    policy: &str,
    role: &str,
    partition: &str,
    bucket: &str,
    prefix: &str,
) -> Option<(String, Option<Vec<String>>)> {
    let ours = allowlist_statement("", role, partition, bucket, prefix, &[]);
    let shape = allowlist_shape(&serde_json::from_str(&ours).ok()?)?;
    find_statement(policy, |v| {
        v.get("Sid")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| !s.is_empty())
            && allowlist_shape(v).as_ref() == Some(&shape)
    })
}

/// The bucket policy with our statement set to `ours`, or removed when
/// `ours` is None. Ours are those whose Sid is in `sids` (see `owned_sids`).
/// Everything else keeps its exact text.
fn merge_statement(
    current: Option<&str>,
    sids: &[&str],
    ours: Option<&str>,
) -> Result<Change<String>, String> {
    let Some(original) = current else {
        return Ok(match ours {
            Some(s) => Change::Put(format!(r#"{{"Version":"2012-10-17","Statement":[{s}]}}"#)),
            None => Change::Keep,
        });
    };
    let mut text = original.to_string();
    let scan = scan_statements(&text)?;
    let is_own = |statement: &str| sid_of(statement).is_some_and(|s| sids.contains(&s.as_str()));
    let own: Vec<usize> = (0..scan.items.len())
        .filter(|&k| is_own(&text[scan.items[k].0..scan.items[k].1]))
        .collect();
    if let (Some(o), [k]) = (ours, own.as_slice()) {
        let (s, e) = scan.items[*k];
        if &text[s..e] == o {
            return Ok(Change::Keep);
        }
        text.replace_range(s..e, o);
        return Ok(Change::Put(text));
    }
    // Remove every statement of ours (normally at most one), one at a time.
    loop {
        let scan = scan_statements(&text)?;
        let Some(k) =
            (0..scan.items.len()).find(|&k| is_own(&text[scan.items[k].0..scan.items[k].1]))
        else {
            break;
        };
        let (vs, ve) = scan.value.unwrap_or((0, 0));
        if !scan.array || scan.items.len() == 1 {
            text.replace_range(vs..ve, "[]");
        } else if k > 0 {
            text.replace_range(scan.items[k - 1].1..scan.items[k].1, "");
        } else {
            text.replace_range(scan.items[0].0..scan.items[1].0, "");
        }
    }
    let scan = scan_statements(&text)?;
    match ours {
        Some(o) => {
            match (scan.value, scan.array, scan.items.last()) {
                (None, _, _) => {
                    let comma = if scan.members > 0 { "," } else { "" };
                    text.insert_str(scan.close, &format!(r#"{comma}"Statement":[{o}]"#));
                }
                (Some(_), true, Some(&(_, end))) => text.insert_str(end, &format!(",{o}")),
                (Some((start, _)), true, None) => text.insert_str(start + 1, o),
                (Some((start, end)), false, _) => {
                    let existing = text[start..end].to_string();
                    text.replace_range(start..end, &format!("[{existing},{o}]"));
                }
            }
            Ok(Change::Put(text))
        }
        None if scan.items.is_empty() => Ok(Change::Delete),
        None if text == original => Ok(Change::Keep),
        None => Ok(Change::Put(text)),
    }
}

/// The Sids of the allowlist statement this resource owns: its own, and
/// the one of a hand-made statement an import took over, until the next
/// apply gives it the resource's own.
fn owned_sids(s: &State) -> Vec<String> {
    let mut sids = vec![statement_sid(&s.role_name)];
    let taken = s.allowlist_statement.as_deref().and_then(sid_of);
    sids.extend(taken.filter(|t| *t != sids[0]));
    sids
}

/// Whether a statement's Sid is one of `sids`.
fn sid_in(sids: &[String]) -> impl Fn(&serde_json::Value) -> bool + '_ {
    |v| {
        let sid = v.get("Sid").and_then(serde_json::Value::as_str);
        sid.is_some_and(|sid| sids.iter().any(|s| s == sid))
    }
}

/// The first statement of a bucket policy that `is_ours`: its canonical
/// text and its ranges.
fn find_statement(
    policy: &str,
    is_ours: impl Fn(&serde_json::Value) -> bool,
) -> Option<(String, Option<Vec<String>>)> {
    let scan = scan_statements(policy).ok()?;
    scan.items.iter().find_map(|&(s, e)| {
        let mut v: serde_json::Value = serde_json::from_str(&policy[s..e]).ok()?;
        if !is_ours(&v) {
            return None;
        }
        normalise_source_ips(&mut v);
        let cidrs = v
            .get("Condition")
            .and_then(|c| c.get("NotIpAddress"))
            .and_then(|c| c.get("aws:SourceIp"))
            .and_then(|c| match c {
                serde_json::Value::String(s) => Some(vec![s.clone()]),
                serde_json::Value::Array(a) => a
                    .iter()
                    .map(|x| x.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>(),
                _ => None,
            })
            .map(sorted);
        Some((canonical(&v), cidrs))
    })
}

/// A rule an import took over: state holds it (`cors_rule`) without our ID
/// until an apply gives it ours. Until then it is not ours to delete: a
/// rule is not tied to a role, so it may be another integration's too.
fn adopted_rule(s: &State) -> Option<Rule> {
    match (&s.cors_rule_id, &s.cors_rule) {
        (None, Some(c)) => Rule::exact(c),
        _ => None,
    }
}

/// A rule with no ID and `wanted`'s settings: the vendor's runbook gives its
/// rule without one, so a bucket set up by hand holds it so.
fn unclaimed_rule(rules: &[CorsRule], wanted: &Rule) -> Option<usize> {
    rules
        .iter()
        .position(|r| r.id().is_none_or(str::is_empty) && Rule::of(r) == *wanted)
}

/// The CORS rules with ours (ID `id`) set to `ours`, or removed when None.
/// `adopted` is a hand-made rule an import took over: with no rule of ours
/// there, it becomes ours in its place rather than getting a twin. Other
/// rules keep their place and content.
fn merge_rules(
    mut rules: Vec<CorsRule>,
    id: &str,
    ours: Option<CorsRule>,
    adopted: Option<&Rule>,
) -> Result<Change<Vec<CorsRule>>, Diagnostics> {
    let mut own: Vec<usize> = (0..rules.len())
        .filter(|&i| rules[i].id() == Some(id))
        .collect();
    if let (Some(_), Some(adopted), true) = (&ours, adopted, own.is_empty()) {
        own.extend(unclaimed_rule(&rules, adopted));
    }
    match ours {
        Some(rule) => {
            let settled = |r: &CorsRule| r.id() == Some(id) && Rule::of(r) == Rule::of(&rule);
            if own.len() == 1 && settled(&rules[own[0]]) {
                return Ok(Change::Keep);
            }
            let foreign = rules.len() - own.len();
            if foreign + 1 > CORS_RULE_LIMIT {
                return Err(Diagnostic::error(
                    "Too many CORS rules",
                    format!(
                        "The bucket's CORS configuration already has {foreign} rules owned by others, and S3 allows at most {CORS_RULE_LIMIT}: there is no room for the integration's rule `{id}`. Remove or merge some of the other rules, then run apply again."
                    ),
                )
                .at(AttributePath::attr("bucket"))
                .into());
            }
            match own.first() {
                Some(&first) => {
                    rules[first] = rule;
                    for &i in own[1..].iter().rev() {
                        rules.remove(i);
                    }
                }
                None => rules.push(rule),
            }
            Ok(Change::Put(rules))
        }
        None if own.is_empty() => Ok(Change::Keep),
        None => {
            rules.retain(|r| r.id() != Some(id));
            Ok(if rules.is_empty() {
                Change::Delete
            } else {
                Change::Put(rules)
            })
        }
    }
}

// ---------------------------------------------------------------------------
// Validators
// ---------------------------------------------------------------------------

fn bucket_name() -> validators::Pattern {
    pattern(
        r"^[a-z0-9][a-z0-9.-]*[a-z0-9]$",
        "an S3 bucket name: 3 to 63 lowercase letters, digits, dots and hyphens",
    )
    .length(3, 63)
}

/// A key prefix as the runbook's `{{prefix}}`: no leading or trailing slash,
/// no empty segment, and none of IAM's wildcard or variable characters
/// (`*`, `?`, `$`), which would widen the policy's resource.
fn key_prefix() -> validators::Pattern {
    pattern(
        r"^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*$",
        "a folder path such as `sigma/exports`: no leading or trailing slash, no `//`, only letters, digits and `!_.'()-` between slashes",
    )
    .length(1, 1024)
}

fn iam_name(max: usize) -> validators::Pattern {
    pattern(
        r"^[A-Za-z0-9_+=,.@-]+$",
        &format!("1 to {max} letters, digits or `_+=,.@-`"),
    )
    .length(1, max)
}

fn vendor_principal() -> validators::Pattern {
    pattern(
        r"^arn:aws[a-z-]*:iam::[0-9]{12}:(root|(user|role)/[A-Za-z0-9_+=,.@/-]+)$",
        "the IAM user (or role) ARN the vendor shows, such as `arn:aws:iam::185497759670:user/abcd-s-v2st1234`",
    )
    .length(20, 2048)
}

/// A browser origin as S3's CORS matches it: scheme and host (and port),
/// at most one `*`, or `*` alone. `app.sigmacomputing.com` or a trailing
/// slash would be accepted by S3 and then never match a request.
fn cors_origin() -> validators::Pattern {
    pattern(
        r"^(\*|https?://([A-Za-z0-9.-]+|[A-Za-z0-9.-]*\*[A-Za-z0-9.-]*)(:[0-9]{1,5})?)$",
        "an origin such as `https://app.sigmacomputing.com`: scheme and host (and port), no path or trailing slash, at most one `*`",
    )
}

/// An IPv4 or IPv6 network, as the AWS provider takes CIDR blocks: a block
/// with host bits set (`10.0.0.1/8`) is refused with the network it
/// probably means.
struct Cidr;

impl Validator for Cidr {
    fn describe(&self) -> String {
        "a CIDR block such as `203.0.113.0/24`".into()
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        let Some(s) = value.as_str() else { return };
        let detail = match s.parse::<ipnet::IpNet>() {
            Err(_) => format!(
                "{s:?} is not a CIDR block: use the form `203.0.113.0/24` or `2001:db8::/32`."
            ),
            Ok(net) if net.trunc() != net => {
                format!("{s:?} has host bits set: the network is {}.", net.trunc())
            }
            Ok(_) => return,
        };
        diags.error_at(path.clone(), "Invalid allowed_source_cidrs", detail);
    }
}

// ---------------------------------------------------------------------------
// AWS errors and retries
// ---------------------------------------------------------------------------

fn code<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> &str {
    error_code(err).unwrap_or_default()
}

/// IAM (MalformedPolicyDocument) and S3 (MalformedPolicy) say "Invalid
/// principal in policy" while a new role or user propagates.
fn invalid_principal<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    code(err).starts_with("MalformedPolicy")
        && err
            .message()
            .is_some_and(|m| m.contains("Invalid principal"))
}

fn failed<E, R>(doing: &str, err: &SdkError<E, R>, at: Option<AttributePath>) -> Diagnostics
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let d = Diagnostic::error(format!("Failed to {doing}"), error_text(err));
    match at {
        Some(p) => d.at(p).into(),
        None => d.into(),
    }
}

/// What a retried step returns: done, or not yet (with why).
type Attempt<T> = Result<Result<T, String>, Diagnostics>;

/// Retries `step` while it answers "not yet", for the propagation window
/// but never past `deadline`; the final message says what kept failing.
async fn retry<T, F, Fut>(
    ctx: &Ctx<ProviderData>,
    deadline: Instant,
    waiting_for: &str,
    advice: &str,
    at: Option<AttributePath>,
    step: F,
) -> Result<T, Diagnostics>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Attempt<T>>,
{
    let window = deadline
        .saturating_duration_since(Instant::now())
        .min(PROPAGATION_WINDOW);
    let started = Instant::now();
    match timeouts::poll(window, Duration::from_millis(500), ctx.stopped(), step).await {
        Ok(t) => Ok(t),
        Err(WaitError::TimedOut { last }) => {
            let d = Diagnostic::error(
                format!("Gave up waiting for {waiting_for}"),
                format!(
                    "AWS still answered \"{}\" after {}s of retries. {advice}",
                    last.unwrap_or_else(|| "nothing".into()),
                    started.elapsed().as_secs()
                ),
            );
            Err(match at {
                Some(p) => d.at(p).into(),
                None => d.into(),
            })
        }
        Err(e) => Err(wait_error(waiting_for, e)),
    }
}

// ---------------------------------------------------------------------------
// The resource
// ---------------------------------------------------------------------------

/// What the configuration asks AWS to hold, all names resolved.
struct Want {
    policy_name: String,
    policy_arn: String,
    role_arn: String,
    policy: String,
    trust: String,
    trust_phase: &'static str,
    rule_id: String,
    /// None for a vendor with no browser app: no CORS rule.
    rule: Option<Rule>,
    statement: Option<String>,
    handoff: Handoff,
}

fn want(plan: &State, aws: &AwsClients, account: &str) -> Result<Want, Diagnostics> {
    let partition = aws.partition();
    let policy_name = plan
        .policy_name
        .clone()
        .unwrap_or_else(|| default_policy_name(&plan.role_name));
    let role = role_arn(partition, account, &plan.role_name);
    let (trust, phase) = match (&plan.vendor_iam_user_arn, &plan.external_id) {
        (Some(p), Some(e)) => (trust_document(p, e), "vendor"),
        _ => (
            trust_document(&account_root(partition, account), PLACEHOLDER_EXTERNAL_ID),
            "placeholder",
        ),
    };
    let rule = effective_rule(plan.cors.as_ref(), plan.vendor.as_deref());
    if rule.is_none() && plan.vendor.is_none() {
        return Err(no_origins().into());
    }
    let sid = statement_sid(&plan.role_name);
    Ok(Want {
        policy_arn: policy_arn(partition, account, &policy_name),
        policy_name,
        policy: policy_document(partition, &plan.bucket, &plan.prefix),
        trust,
        trust_phase: phase,
        rule_id: rule_id(&plan.role_name),
        rule,
        statement: plan
            .allowed_source_cidrs
            .as_ref()
            .map(|c| allowlist_statement(&sid, &role, partition, &plan.bucket, &plan.prefix, c)),
        handoff: Handoff {
            role_arn: role.clone(),
            bucket_path: format!("{}/{}", plan.bucket, plan.prefix),
        },
        role_arn: role,
    })
}

fn no_origins() -> Diagnostic {
    Diagnostic::error(
        "No CORS origin",
        "Set `vendor` to a catalog vendor with a browser origin (such as \"sigma\"), or list the origins in `cors { allowed_origins = [...] }`.",
    )
    .at(AttributePath::attr("vendor"))
}

/// (ARN, canonical trust policy, tags, description) of a role.
type RoleFacts = (String, String, Vec<aws_sdk_iam::types::Tag>, String);

fn role_description(plan: &State) -> String {
    iam_description(format!(
        "Assumed by the vendor for the S3 storage integration {}/{}",
        plan.bucket, plan.prefix
    ))
}

/// IAM takes at most 1000 characters of description, and a prefix may be
/// up to 1024 on its own. A cut one ends in a hash of the whole text, so
/// two long paths never share a description (it tells a role ours on
/// adoption). The path is ASCII (`key_prefix`): a byte is a character.
fn iam_description(text: String) -> String {
    const MAX: usize = 1000;
    if text.len() <= MAX {
        return text;
    }
    let hash = format!("... #{:08x}", fnv1a(&text));
    format!("{}{hash}", &text[..MAX - hash.len()])
}

/// What `hold` and `held_by_the_replacement` know an integration's role or
/// policy by (the role's name fixes the CORS rule's and the statements').
fn held_key(arn: &str) -> String {
    format!("s3-integration:{arn}")
}

/// What a delete leaves because a create_before_destroy replacement (a
/// `-replace`, a taint, a new policy_name) took it over in this run.
#[derive(Clone, Copy, Default)]
struct Kept {
    /// The role, and with it the bucket's CORS rule and statement.
    role: bool,
    policy: bool,
}

fn id_of(bucket: &str, prefix: &str, role_name: &str) -> String {
    format!("{bucket}/{prefix}/{role_name}")
}

fn iam_tags(
    tags: &Option<BTreeMap<String, String>>,
    role_name: &str,
) -> Result<Vec<aws_sdk_iam::types::Tag>, Diagnostics> {
    let mut all = tags.clone().unwrap_or_default();
    all.insert(MARKER_TAG.to_string(), marker_value(role_name));
    all.iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Diagnostic::error("Invalid tag", e.to_string()).into())
        })
        .collect()
}

fn marked(tags: &[aws_sdk_iam::types::Tag], role_name: &str) -> bool {
    tags.iter()
        .any(|t| t.key() == MARKER_TAG && t.value() == marker_value(role_name))
}

/// The role name as an IAM tag value: IAM's tag values take none of a role
/// name's characters but `,`, which becomes `:` (never in a role name, so
/// two names never share a value).
fn marker_value(role_name: &str) -> String {
    role_name.replace(',', ":")
}

fn user_tags(tags: &[aws_sdk_iam::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter(|t| t.key() != MARKER_TAG)
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

#[async_trait]
impl Resource<ProviderData> for S3StorageIntegration {
    fn type_name(&self) -> &'static str {
        "privatelink_s3_storage_integration"
    }

    fn schema(&self) -> Schema {
        let list = |name: &str, text: &str, default: &[&str]| {
            Attribute::optional(name, Type::list(Type::String))
                .description(text)
                .default(Value::string_list(default.iter().copied()))
        };
        let computed =
            |name: &str, ty: Type, text: &str| Attribute::computed(name, ty).description(text);
        Schema::new(
            Block::new()
                .description("A vendor's storage integration with one of your S3 buckets, set up the way Sigma's runbook does it. It creates an IAM policy (ListBucket on the bucket; PutObject, GetObject and PutObjectTagging under the prefix), an IAM role with that policy whose trust lets the vendor assume it with an external ID, a CORS rule for the vendor's web app and, optionally, an IP allowlist.\n\nThe flow has two phases. Apply first without `vendor_iam_user_arn` and `external_id`: the role trusts your own account with the placeholder external ID `0000` (`trust_phase = \"placeholder\"`), and `vendor_handoff` holds the role ARN and bucket path to enter in the vendor's form. Then set the IAM user ARN and external ID the vendor shows: the next apply updates the trust in place (`trust_phase = \"vendor\"`). IAM's propagation delays (\"Invalid principal in policy\") are retried for up to two minutes.\n\nThe bucket's CORS configuration and bucket policy are shared: this resource adds one CORS rule (ID `privatelink-<role_name>`) and, with `allowed_source_cidrs`, one policy statement (Sid `PrivatelinkAllowlist` and the role name's letters and digits, plus a hash of the name when it has other characters) beside what is there, changes only those, and on destroy removes only those, deleting the CORS configuration or bucket policy only when nothing else is left. Rules and statements of others are never changed, and never show in a plan. Only an import takes over an integration made by hand with the vendor's runbook: its CORS rule (no ID, exactly the vendor's settings) and its IP allowlist statement (exactly this resource's shape for the role and prefix, under a Sid of its own, whatever its ranges). The first apply then gives them this resource's ID and Sid in their place, and from then on they are this resource's: `allowed_source_cidrs` sets the statement's ranges, and destroy removes both. A create takes over nothing made by hand: it only picks up what an interrupted apply of the same integration (role name, bucket and prefix) made, and a create_before_destroy replacement (`-replace`, a taint) keeps the objects of the integration it replaces. A CORS configuration already holding S3's maximum of 100 rules is reported, not truncated. S3 replaces the whole configuration or policy on each write, so integrations on one bucket write it in turn within a Terraform run; two runs changing one bucket's CORS or policy at the same moment can still undo each other's change, which the next plan shows.\n\nThe allowlist statement denies **only the integration's role**, and only on objects under the prefix, when a request comes from outside the listed ranges: the account's administrators and the pipeline that manages the bucket are never locked out. Requests through a VPC endpoint carry no source IP and are denied for that role too.")
                .attribute(computed("id", Type::String, "`BUCKET/PREFIX/ROLE_NAME`, the import ID."))
                .attribute(
                    Attribute::required("bucket", Type::String)
                        .description("Name of the existing bucket the vendor writes to. Checked at plan time. When the bucket is created in the same configuration, reference its computed ID (`aws_s3_bucket.x.id`): the plan-time check then waits for apply instead of reporting the bucket missing.")
                        .requires_replace()
                        .validate(bucket_name()),
                )
                .attribute(
                    Attribute::required("prefix", Type::String)
                        .description("Folder path in the bucket the integration may use, e.g. `sigma/exports`; no leading or trailing slash.")
                        .validate(key_prefix()),
                )
                .attribute(
                    Attribute::required("role_name", Type::String)
                        .description("Name of the IAM role to create for the vendor.")
                        .requires_replace()
                        .validate(iam_name(64)),
                )
                .attribute(
                    Attribute::optional_computed("policy_name", Type::String)
                        .description("Name of the IAM policy to create. Defaults to `<role_name>-s3-access`.")
                        .requires_replace()
                        .validate(iam_name(128)),
                )
                .attribute(
                    Attribute::optional("vendor_iam_user_arn", Type::String)
                        .description("The AWS IAM user ARN the vendor shows once the integration is added on its side. Set together with `external_id`; until then the role trusts your own account with a placeholder.")
                        .validate(vendor_principal()),
                )
                .attribute(
                    Attribute::optional("external_id", Type::String)
                        .description("The external ID the vendor shows (Sigma calls it the AWS external role ARN). Set together with `vendor_iam_user_arn`.")
                        .validate(crate::provider::config::external_id()),
                )
                .attribute(
                    Attribute::optional("vendor", Type::String)
                        .description(&format!("Catalog vendor whose browser origin is the default of `cors.allowed_origins`: one of {}. A vendor the catalog lists no browser app for (Segment) gets no CORS rule unless a `cors` block lists origins.", catalog::vendor_names().iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")))
                        .validate(one_of(catalog::vendor_names())),
                )
                .attribute(
                    Attribute::optional("allowed_source_cidrs", Type::set(Type::String))
                        .description("Optional IP allowlist: the integration's role is denied access to objects under the prefix from anywhere else (one bucket-policy statement, scoped to that role and prefix). List every range requests signed as that role come from: the vendor's cluster IPs, and your users' office and VPN ranges, since their browsers use the vendor's signed URLs (Sigma's runbook names both). A data platform that reads the bucket with its own credentials, as Sigma's runbook also mentions, is not restricted by this statement.")
                        .validate(NotEmpty)
                        .validate(each(Cidr)),
                )
                .attribute(Attribute::optional("tags", Type::map(Type::String)).description("Tags for the IAM role and policy: at most 49 (the provider adds one of its own), in IAM's tag characters (letters, numbers, spaces and `_.:/=+-@`).").validate(crate::provider::shapes::iam_tags(1)))
                .attribute(tags_all_attribute())
                .attribute(computed("role_arn", Type::String, "ARN of the IAM role (null while it is missing)."))
                .attribute(computed("policy_arn", Type::String, "ARN of the IAM policy while it is attached to the role."))
                .attribute(computed("trust_phase", Type::String, "`placeholder` while the role trusts your own account with the placeholder external ID, `vendor` once it trusts the vendor's user."))
                .attribute(computed("cors_rule_id", Type::String, "ID of the CORS rule this resource owns, `privatelink-<role_name>` (null while it is missing, and for a vendor with no browser app, such as Segment: no rule is made without a `cors` block)."))
                .attribute(computed("cors_rule", cors_rule_type(), "The CORS rule this resource owns as S3 holds it: `allowed_origins`, `allowed_methods`, `allowed_headers`, `expose_headers`, `max_age_seconds` (null while it is missing). The plan shows it as the apply writes it, every default filled in, so a rule changed outside Terraform shows its drift here."))
                .attribute(computed("vendor_handoff", handoff_type(), "What to enter in the vendor's form: `role_arn` and `bucket_path` (`bucket/prefix`)."))
                .attribute(computed("policy_document", Type::String, "The IAM policy's document as AWS holds it (compact JSON)."))
                .attribute(computed("assume_role_policy", Type::String, "The role's trust policy as AWS holds it (compact JSON)."))
                .attribute(computed("allowlist_statement", Type::String, "The bucket-policy statement this resource owns, as S3 holds it (compact JSON); null without `allowed_source_cidrs`."))
                .block(NestedBlock::single(
                    "cors",
                    Block::new()
                        .description("The CORS rule for the vendor's web app. Without this block every setting takes its default; `cors_rule` shows the rule as S3 holds it.")
                        .attribute(
                            Attribute::optional_computed("allowed_origins", Type::list(Type::String))
                                .description("Origins allowed to call the bucket from a browser. Defaults to the `vendor`'s app origin from the catalog (`https://app.sigmacomputing.com` for Sigma).")
                                .validate(NotEmpty)
                                .validate(each(cors_origin())),
                        )
                        .attribute(
                            list("allowed_methods", "HTTP methods allowed: `GET`, `PUT`, `POST`, `DELETE`, `HEAD`.", &DEFAULT_METHODS)
                                .validate(NotEmpty)
                                .validate(each(one_of(["GET", "PUT", "POST", "DELETE", "HEAD"]))),
                        )
                        .attribute(list("allowed_headers", "Request headers allowed in a preflight request.", &DEFAULT_HEADERS))
                        .attribute(list("expose_headers", "Response headers the browser may read.", &DEFAULT_EXPOSE))
                        .attribute(
                            Attribute::optional("max_age_seconds", Type::Number)
                                .description("How long browsers may cache a preflight response, in seconds.")
                                .default(Value::int(DEFAULT_MAX_AGE))
                                .validate(int_between(0, i64::from(i32::MAX))),
                        ),
                ))
                .block(timeouts::block(CREATE_TIMEOUT, Some(UPDATE_TIMEOUT), DELETE_TIMEOUT)),
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let arn = config.get("vendor_iam_user_arn").unwrap_or(&Value::Null);
        let ext = config.get("external_id").unwrap_or(&Value::Null);
        // Unknown values are judged by the plan, once known.
        if let (Some(arn_set), Some(ext_set)) = (arn.is_set(), ext.is_set()) {
            if let Some(d) = unpaired(arn_set, ext_set) {
                diags.push(d);
            }
        }
        let vendor = config.get("vendor").unwrap_or(&Value::Null);
        let origins = config
            .get("cors")
            .and_then(|c| c.get("allowed_origins"))
            .unwrap_or(&Value::Null);
        // A catalog vendor without a browser app (Segment) needs no CORS
        // rule; a `cors` block still asks for one.
        let cors_block = config
            .get("cors")
            .is_some_and(|c| !c.is_null() && !c.is_unknown());
        if origins.is_null() && vendor.is_null() {
            diags.push(no_origins());
        } else if origins.is_null() && cors_block {
            if let Some(name) = vendor.as_str() {
                if catalog::vendor(name).is_some() && vendor_origins(Some(name)).is_none() {
                    diags.error_at(
                        AttributePath::attr("cors"),
                        "The vendor publishes no browser origin",
                        format!("The catalog has no app origin for {name:?}: list the origins in `cors {{ allowed_origins = [...] }}`, or leave the `cors` block out for no CORS rule at all."),
                    );
                }
            }
        }
    }

    async fn modify_plan(&self, ctx: Option<&Ctx<ProviderData>>, plan: &mut PlanContext) {
        plan_tags_all(
            ctx,
            plan,
            || self.schema(),
            |_| crate::provider::shapes::iam_tags(1),
        );
        let text = |v: Option<&Value>| -> Option<Option<String>> {
            match v {
                Some(Value::Unknown) => None,
                Some(Value::String(s)) => Some(Some(s.clone())),
                _ => Some(None),
            }
        };
        let bucket = text(plan.planned.get("bucket")).flatten();
        let prefix = text(plan.planned.get("prefix")).flatten();
        let role_name = text(plan.planned.get("role_name")).flatten();
        let vendor_arn = text(plan.planned.get("vendor_iam_user_arn"));
        let external = text(plan.planned.get("external_id"));
        let vendor = text(plan.planned.get("vendor"));
        if let (Some(arn), Some(ext)) = (&vendor_arn, &external) {
            if let Some(d) = unpaired(arn.is_some(), ext.is_some()) {
                plan.diagnostics.push(d);
            }
        }

        if plan.config.get("policy_name").is_none_or(Value::is_null) {
            plan.set(
                "policy_name",
                role_name
                    .as_deref()
                    .map(|r| Value::string(default_policy_name(r)))
                    .unwrap_or(Value::Unknown),
            );
        }
        let policy_name = text(plan.planned.get("policy_name")).flatten();
        let origins_configured = plan
            .config
            .get("cors")
            .and_then(|c| c.get("allowed_origins"))
            .is_some_and(|v| !v.is_null());
        if !origins_configured {
            if let Some(cors) = plan.planned.get_mut("cors") {
                let origins = match &vendor {
                    None => Value::Unknown,
                    Some(v) => vendor_origins(v.as_deref())
                        .map(Value::string_list)
                        .unwrap_or(Value::Null),
                };
                cors.set_attr("allowed_origins", origins);
            }
        }

        // The rule the apply writes, every default filled in: known once
        // the vendor and the `cors` block are; none for a vendor with no
        // browser app.
        let rule: Option<Option<Rule>> = match (&vendor, plan.planned.get("cors")) {
            (Some(v), Some(c)) if c.is_fully_known() => {
                let cors: Option<Cors> = typed::from_value(c).ok().flatten();
                Some(effective_rule(cors.as_ref(), v.as_deref()))
            }
            _ => None,
        };
        let rule_value = match &rule {
            Some(Some(r)) => {
                typed::to_value(&Some(r.to_cors()), &cors_rule_type()).unwrap_or(Value::Unknown)
            }
            Some(None) => Value::Null,
            None => Value::Unknown,
        };
        plan.set("cors_rule", rule_value);

        let cidrs: Option<Option<Vec<String>>> = match plan.planned.get("allowed_source_cidrs") {
            Some(v) if v.is_null() => Some(None),
            Some(v) if v.is_fully_known() => Some(Some(
                v.elements()
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect(),
            )),
            _ => None,
        };

        // Account-dependent values need the provider's credentials; without
        // them (provider configuration unknown) they stay unknown, or keep
        // their prior value when nothing they depend on changes.
        let mut account = None;
        let mut part = None;
        if let Some(ctx) = ctx {
            if let Ok(aws) = ctx.data.aws().await {
                part = Some(aws.partition());
                account = aws.caller_account().await.ok();
            }
        }
        let inputs_same = !plan.is_create()
            && [
                "bucket",
                "prefix",
                "role_name",
                "policy_name",
                "vendor_iam_user_arn",
                "external_id",
                "allowed_source_cidrs",
            ]
            .iter()
            .all(|n| !plan.changed(n));
        let settle = |plan: &mut PlanContext, name: &str, expected: Option<Value>| {
            let v = match expected {
                Some(v) => v,
                None if inputs_same => plan.prior.get(name).cloned().unwrap_or(Value::Unknown),
                None => Value::Unknown,
            };
            plan.set(name, v);
        };

        let id = match (&bucket, &prefix, &role_name) {
            (Some(b), Some(p), Some(r)) => Value::string(id_of(b, p, r)),
            _ => Value::Unknown,
        };
        plan.set("id", id);
        plan.set(
            "cors_rule_id",
            match (&rule, role_name.as_deref()) {
                (Some(None), _) => Value::Null,
                (Some(Some(_)), Some(r)) => Value::string(rule_id(r)),
                _ => Value::Unknown,
            },
        );
        plan.set(
            "trust_phase",
            match &vendor_arn {
                None => Value::Unknown,
                Some(Some(_)) => Value::string("vendor"),
                Some(None) => Value::string("placeholder"),
            },
        );
        let role = match (part, &account, &role_name) {
            (Some(p), Some(a), Some(r)) => Some(role_arn(p, a, r)),
            _ => None,
        };
        settle(plan, "role_arn", role.clone().map(Value::string));
        let policy = match (part, &account, &policy_name) {
            (Some(p), Some(a), Some(n)) => Some(Value::string(policy_arn(p, a, n))),
            _ => None,
        };
        settle(plan, "policy_arn", policy);
        let doc = match (part, &bucket, &prefix) {
            (Some(p), Some(b), Some(x)) => Some(Value::string(policy_document(p, b, x))),
            _ => None,
        };
        settle(plan, "policy_document", doc);
        let trust = match (&vendor_arn, &external, part, &account) {
            (Some(Some(arn)), Some(Some(ext)), _, _) => {
                Some(Value::string(trust_document(arn, ext)))
            }
            (Some(None), _, Some(p), Some(a)) => Some(Value::string(trust_document(
                &account_root(p, a),
                PLACEHOLDER_EXTERNAL_ID,
            ))),
            _ => None,
        };
        settle(plan, "assume_role_policy", trust);
        let statement = match (&cidrs, &role, part, &bucket, &prefix, &role_name) {
            (Some(None), ..) => Some(Value::Null),
            (Some(Some(c)), Some(arn), Some(p), Some(b), Some(x), Some(r)) => Some(Value::string(
                allowlist_statement(&statement_sid(r), arn, p, b, x, c),
            )),
            _ => None,
        };
        settle(plan, "allowlist_statement", statement);
        let handoff = match (&role, &bucket, &prefix) {
            (Some(arn), Some(b), Some(x)) => Some(Value::object([
                ("role_arn", Value::string(arn.clone())),
                ("bucket_path", Value::string(format!("{b}/{x}"))),
            ])),
            _ => None,
        };
        settle(plan, "vendor_handoff", handoff);

        // The bucket must exist before anything is created for it.
        let bucket_new = plan.is_create() || plan.changed("bucket");
        if let (true, Some(b), Some(ctx)) = (bucket_new, &bucket, ctx) {
            if let Ok(aws) = ctx.data.aws().await {
                if let Some(d) = checked_bucket(ctx, aws, b).await {
                    plan.diagnostics.push(d);
                }
            }
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
            Err(e) => {
                return ApplyResult::failed(None, Diagnostic::error("Invalid plan", e.to_string()))
            }
        };
        let aws = match ctx.data.aws().await {
            Ok(a) => a,
            Err(d) => return ApplyResult::failed(None, d),
        };
        if let Some(d) = checked_bucket(ctx, aws, &plan.bucket).await {
            return ApplyResult::failed(None, d);
        }
        let deadline = Instant::now() + Timeouts::get(&plan.timeouts, "create", CREATE_TIMEOUT);
        let mut have = State {
            bucket: plan.bucket.clone(),
            prefix: plan.prefix.clone(),
            role_name: plan.role_name.clone(),
            policy_name: plan.policy_name.clone(),
            timeouts: plan.timeouts.clone(),
            ..State::default()
        };
        let result = converge(aws, ctx, &mut have, &plan, deadline).await;
        if let Err(d) = &result {
            // Nothing made: no state, so that no refresh adopts objects of
            // the same names that are not this resource's.
            let made = have.role_arn.is_some()
                || have.policy_document.is_some()
                || have.policy_arn.is_some()
                || have.cors_rule_id.is_some()
                || have.allowlist_statement.is_some();
            if !made {
                return ApplyResult::failed(None, d.clone());
            }
        } else {
            for arn in [&have.role_arn, &have.policy_arn].into_iter().flatten() {
                hold(&held_key(arn));
            }
        }
        self.finish(have, result)
    }

    async fn read(
        &self,
        ctx: &Ctx<ProviderData>,
        state: &Value,
    ) -> Result<ReadResult, Diagnostics> {
        let aws = ctx.data.aws().await?;
        let prior: State = typed::from_value(state).map_err(invalid_state)?;
        let mut notes = Diagnostics::new();
        let found = read(aws, &prior, &mut notes).await?;
        let state = found.map(|s| self.to_value(&s)).transpose()?;
        Ok(ReadResult {
            state,
            warnings: notes,
        })
    }

    async fn update(
        &self,
        ctx: &Ctx<ProviderData>,
        prior: &Value,
        planned: &Value,
        _config: &Value,
    ) -> ApplyResult {
        let (mut have, plan): (State, State) =
            match (typed::from_value(prior), typed::from_value(planned)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return ApplyResult::failed(None, invalid_state(e)),
            };
        let aws = match ctx.data.aws().await {
            Ok(a) => a,
            Err(d) => return ApplyResult::failed(None, d),
        };
        let deadline = Instant::now() + Timeouts::get(&plan.timeouts, "update", UPDATE_TIMEOUT);
        let result = converge(aws, ctx, &mut have, &plan, deadline).await;
        self.finish(have, result)
    }

    async fn delete(&self, ctx: &Ctx<ProviderData>, prior: &Value) -> Result<(), Diagnostics> {
        let aws = ctx.data.aws().await?;
        let state: State = typed::from_value(prior).map_err(invalid_state)?;
        let held = |arn: &Option<String>| {
            arn.as_deref()
                .is_some_and(|a| held_by_the_replacement(&held_key(a)))
        };
        let kept = Kept {
            role: held(&state.role_arn),
            policy: held(&state.policy_arn),
        };
        let deadline = Instant::now() + Timeouts::get(&state.timeouts, "delete", DELETE_TIMEOUT);
        remove(aws, ctx, &state, kept, deadline).await
    }

    async fn import(&self, ctx: &Ctx<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        let invalid = || {
            Diagnostics::from(Diagnostic::error(
                "Invalid import ID",
                format!(
                    "{id:?} is not `BUCKET/PREFIX/ROLE_NAME` (the prefix may contain slashes)."
                ),
            ))
        };
        // The path as the S3 console copies it is the same ID.
        let path = id.strip_prefix("s3://").unwrap_or(id);
        let (bucket, rest) = path.split_once('/').ok_or_else(invalid)?;
        let (prefix, role_name) = rest.rsplit_once('/').ok_or_else(invalid)?;
        if bucket.is_empty() || prefix.is_empty() || role_name.is_empty() {
            return Err(invalid());
        }
        let aws = ctx.data.aws().await?;
        if let Some(d) = check_bucket(aws, bucket).await {
            return Err(d.into());
        }
        let policy_name = attached_policy_name(aws, role_name).await?;
        let prior = State {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            role_name: role_name.to_string(),
            policy_name: Some(policy_name.unwrap_or_else(|| default_policy_name(role_name))),
            ..State::default()
        };
        let Some(mut s) = read(aws, &prior, &mut Diagnostics::new()).await? else {
            return Err(Diagnostic::error(
                "Cannot import non-existent remote object",
                format!("Neither role {role_name}, its policy, a CORS rule `{}` on bucket {bucket} nor an allowlist statement exists.", rule_id(role_name)),
            )
            .into());
        };
        // The ID's bucket and prefix must be the ones the role's policy
        // grants: others would plan a replacement of the live role.
        if let Some(doc) = &s.policy_document {
            let objects = format!("arn:{}:s3:::{bucket}/{prefix}/*", aws.partition());
            let granted = policy_resources(doc);
            if !granted.iter().any(|r| r == &objects) {
                return Err(Diagnostic::error(
                    "Import ID does not match the role's policy",
                    format!(
                        "The policy of role {role_name} grants {}, not {objects}. Import with the bucket and prefix it grants: BUCKET/PREFIX/{role_name}.",
                        granted.join(", ")
                    ),
                )
                .into());
            }
        }
        // Made by the vendor's runbook rather than by this resource: the
        // rule has no ID and the statement another Sid. Taken over, they
        // read as this resource's, and the next apply renames them.
        if s.cors_rule_id.is_none() {
            let rules = cors_rules(aws, bucket).await?.unwrap_or_default();
            let runbook = catalog::VENDORS.iter().find_map(|v| {
                let rule = effective_rule(None, Some(v.name))?;
                unclaimed_rule(&rules, &rule).map(|_| rule)
            });
            s.cors_rule = runbook.map(|r| r.to_cors());
        }
        if s.allowlist_statement.is_none() {
            let role = role_arn(aws.partition(), &aws.caller_account().await?, role_name);
            let policy = bucket_policy(aws, bucket).await.ok().flatten();
            if let Some((text, cidrs)) = policy
                .as_deref()
                .and_then(|p| runbook_statement(p, &role, aws.partition(), bucket, prefix))
            {
                s.allowlist_statement = Some(text);
                s.allowed_source_cidrs = cidrs;
            }
        }
        // `vendor` only supplies defaults: name the catalog vendor whose
        // defaults produce the rule found, so the next plan is empty, or
        // else record the rule's settings as the `cors` block.
        if let Some(found) = effective_rule(s.cors_rule.as_ref(), None) {
            match catalog::VENDORS
                .iter()
                .find(|v| effective_rule(None, Some(v.name)).as_ref() == Some(&found))
            {
                Some(v) => s.vendor = Some(v.name.to_string()),
                None => s.cors = s.cors_rule.clone(),
            }
        }
        self.to_value(&s)
    }
}

impl S3StorageIntegration {
    fn to_value(&self, s: &State) -> Result<Value, Diagnostics> {
        typed::state_value(s, self, || self.schema())
    }

    /// The apply's answer: what exists now, with the error if a step failed,
    /// so the next apply continues from there and destroy finds everything.
    fn finish(&self, have: State, result: Result<(), Diagnostics>) -> ApplyResult {
        match (self.to_value(&have), result) {
            (Ok(v), Ok(())) => ApplyResult::ok(v),
            (Ok(v), Err(d)) => ApplyResult::failed(Some(v), d),
            (Err(e), Ok(())) => ApplyResult::failed(None, e),
            (Err(mut e), Err(d)) => {
                e.extend(d);
                ApplyResult::failed(None, e)
            }
        }
    }
}

/// `check_bucket`, unless this process found the bucket usable moments ago
/// (planning the integration it now applies).
async fn checked_bucket(
    ctx: &Ctx<ProviderData>,
    aws: &AwsClients,
    bucket: &str,
) -> Option<Diagnostic> {
    let checked = ctx
        .data
        .recent(&format!("s3-bucket:{bucket}"), JUST_CHECKED, || async {
            match check_bucket(aws, bucket).await {
                Some(d) => Err(Diagnostics::from(d)),
                None => Ok(()),
            }
        })
        .await;
    checked.err().and_then(|d| d.iter().next().cloned())
}

/// A diagnostic on `bucket` when the bucket is missing or not ours to use.
async fn check_bucket(aws: &AwsClients, bucket: &str) -> Option<Diagnostic> {
    let err = aws.s3.head_bucket().bucket(bucket).send().await.err()?;
    let status = err.raw_response().map(|r| r.status().as_u16());
    let at = AttributePath::attr("bucket");
    // S3 serves a bucket only in its own Region, and says which.
    let home = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .filter(|region| *region != aws.region);
    if let Some(home) = home {
        return Some(
            Diagnostic::error(
                "Bucket in another Region",
                format!("{bucket:?} is in {home}, and this provider works in {}: S3 answers for a bucket only in its own Region. Give this integration a provider configured for {home} (a provider alias with region = \"{home}\").", aws.region),
            )
            .at(at),
        );
    }
    Some(match status {
        Some(404) => Diagnostic::error(
            "Bucket not found",
            format!("No bucket named {bucket:?} exists (S3 answered 404 to HeadBucket). The integration needs an existing bucket: create it first, or fix the name."),
        )
        .at(at),
        Some(403) => Diagnostic::error(
            "Bucket not accessible",
            format!("S3 refused HeadBucket on {bucket:?} (403): it belongs to another account, or these credentials may not use it."),
        )
        .at(at),
        _ => Diagnostic::error("Failed to check the bucket", error_text(&err)).at(at),
    })
}

/// The customer-managed policy attached to `role_name`, preferring the
/// default name (import has no configuration to say which one).
async fn attached_policy_name(
    aws: &AwsClients,
    role_name: &str,
) -> Result<Option<String>, Diagnostics> {
    let attached = match attached_policies(aws, role_name).await {
        Ok(a) => a,
        Err(e) if code(&e) == "NoSuchEntity" => return Ok(None),
        Err(e) => return Err(failed("list the role's policies", &e, None)),
    };
    let default = default_policy_name(role_name);
    let names: Vec<String> = attached
        .iter()
        .filter(|arn| !arn.contains(":aws:policy/"))
        .filter_map(|arn| arn.rsplit('/').next().map(str::to_string))
        .collect();
    Ok(if names.contains(&default) {
        Some(default)
    } else if names.len() == 1 {
        names.into_iter().next()
    } else {
        None
    })
}

async fn attached_policies(
    aws: &AwsClients,
    role_name: &str,
) -> Result<
    Vec<String>,
    SdkError<aws_sdk_iam::operation::list_attached_role_policies::ListAttachedRolePoliciesError>,
> {
    let mut out = Vec::new();
    let mut marker = None;
    loop {
        let page = aws
            .iam
            .list_attached_role_policies()
            .role_name(role_name)
            .set_marker(marker)
            .send()
            .await?;
        out.extend(
            page.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_string)),
        );
        marker = page.marker().map(str::to_string);
        if !page.is_truncated() || marker.is_none() {
            return Ok(out);
        }
    }
}

/// The default version's document of a policy, canonical; None when the
/// policy does not exist.
async fn policy_text(
    aws: &AwsClients,
    arn: &str,
) -> Result<Option<(String, Vec<aws_sdk_iam::types::Tag>)>, Diagnostics> {
    let policy = match aws.iam.get_policy().policy_arn(arn).send().await {
        Ok(o) => o.policy,
        Err(e) if code(&e) == "NoSuchEntity" => return Ok(None),
        Err(e) => return Err(failed("read the IAM policy", &e, None)),
    };
    let Some(policy) = policy else {
        return Ok(None);
    };
    let version = policy.default_version_id().unwrap_or("v1");
    let doc = match aws
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(o) => o.policy_version.and_then(|v| v.document),
        Err(e) if code(&e) == "NoSuchEntity" => return Ok(None),
        Err(e) => return Err(failed("read the IAM policy's document", &e, None)),
    };
    let text = doc
        .as_deref()
        .and_then(iam_document)
        .map(|v| canonical(&v))
        .unwrap_or_default();
    Ok(Some((text, policy.tags.unwrap_or_default())))
}

/// The role, when it exists: ARN, canonical trust policy, tags, description.
async fn role_facts(aws: &AwsClients, role_name: &str) -> Result<Option<RoleFacts>, Diagnostics> {
    match aws.iam.get_role().role_name(role_name).send().await {
        Ok(o) => Ok(o.role.map(|r| {
            let trust = r
                .assume_role_policy_document()
                .and_then(iam_document)
                .map(|v| canonical(&v))
                .unwrap_or_default();
            (
                r.arn().to_string(),
                trust,
                r.tags().to_vec(),
                r.description().unwrap_or_default().to_string(),
            )
        })),
        Err(e) if code(&e) == "NoSuchEntity" => Ok(None),
        Err(e) => Err(failed("read the IAM role", &e, None)),
    }
}

/// The bucket's CORS rules; None when the bucket does not exist.
async fn cors_rules(aws: &AwsClients, bucket: &str) -> Result<Option<Vec<CorsRule>>, Diagnostics> {
    match aws.s3.get_bucket_cors().bucket(bucket).send().await {
        Ok(o) => Ok(Some(o.cors_rules.unwrap_or_default())),
        Err(e) if code(&e) == "NoSuchCORSConfiguration" => Ok(Some(Vec::new())),
        Err(e) if code(&e) == "NoSuchBucket" => Ok(None),
        Err(e) => Err(failed("read the bucket's CORS configuration", &e, None)),
    }
}

/// The bucket policy's text: Ok(None) when the bucket has none, Err(None)
/// when the bucket does not exist.
async fn bucket_policy(
    aws: &AwsClients,
    bucket: &str,
) -> Result<Option<String>, Option<Diagnostics>> {
    match aws.s3.get_bucket_policy().bucket(bucket).send().await {
        Ok(o) => Ok(o.policy),
        Err(e) if code(&e) == "NoSuchBucketPolicy" => Ok(None),
        Err(e) if code(&e) == "NoSuchBucket" => Err(None),
        Err(e) => Err(Some(failed("read the bucket policy", &e, None))),
    }
}

/// Everything this resource owns, as AWS holds it now. Settings AWS does
/// not store (vendor, timeouts, policy_name) come from `prior`. None when
/// nothing owned exists any more. What an apply will take over is added
/// to `notes`.
async fn read(
    aws: &AwsClients,
    prior: &State,
    notes: &mut Diagnostics,
) -> Result<Option<State>, Diagnostics> {
    let account = aws.caller_account().await?;
    let part = aws.partition();
    let mut s = prior.clone();
    let policy_name = prior
        .policy_name
        .clone()
        .unwrap_or_else(|| default_policy_name(&prior.role_name));
    s.policy_name = Some(policy_name.clone());
    s.id = Some(id_of(&prior.bucket, &prior.prefix, &prior.role_name));

    let role = role_facts(aws, &prior.role_name).await?;
    let parties = role
        .as_ref()
        .and_then(|(_, trust, ..)| serde_json::from_str(trust).ok())
        .and_then(|doc: serde_json::Value| trust_parties(&doc));
    match (&role, parties) {
        (Some(_), Some((principal, ext)))
            if principal == account_root(part, &account) && ext == PLACEHOLDER_EXTERNAL_ID =>
        {
            s.vendor_iam_user_arn = None;
            s.external_id = None;
        }
        (Some(_), Some((principal, ext))) => {
            s.vendor_iam_user_arn = Some(principal);
            s.external_id = Some(ext);
        }
        // Not the runbook's shape: `assume_role_policy` shows the drift.
        _ => {}
    }
    s.trust_phase = Some(
        if s.vendor_iam_user_arn.is_some() {
            "vendor"
        } else {
            "placeholder"
        }
        .to_string(),
    );
    s.role_arn = role.as_ref().map(|(arn, ..)| arn.clone());
    s.assume_role_policy = role.as_ref().map(|(_, trust, ..)| trust.clone());
    let arn = policy_arn(part, &account, &policy_name);
    let policy = policy_text(aws, &arn).await?;
    // One `tags_all` stands for both objects: whichever drifted from what
    // state holds shows (the role first), so that the plan puts them back.
    let held = prior
        .tags_all
        .clone()
        .or_else(|| prior.tags.clone())
        .unwrap_or_default();
    let role_tags = role.as_ref().map(|(_, _, tags, _)| tags);
    let drifted = [role_tags, policy.as_ref().map(|(_, tags)| tags)]
        .into_iter()
        .flatten()
        .map(|tags| user_tags(tags))
        .find(|tags| aws.ignore_tags.keep(tags.clone(), prior.tags.as_ref()) != held);
    if role.is_some() || policy.is_some() {
        let (tags, tags_all) = read_tags(
            aws,
            drifted.unwrap_or(held),
            prior.tags.as_ref(),
            prior.tags_all.as_ref(),
        );
        s.tags = tags;
        s.tags_all = Some(tags_all);
    }
    s.policy_document = policy.map(|(doc, _)| doc);
    s.policy_arn = match (&role, &s.policy_document) {
        (Some(_), Some(_)) => match attached_policies(aws, &prior.role_name).await {
            Ok(list) => list.contains(&arn).then_some(arn),
            Err(e) if code(&e) == "NoSuchEntity" => None,
            Err(e) => return Err(failed("list the role's policies", &e, None)),
        },
        _ => None,
    };

    let id = rule_id(&prior.role_name);
    let rules = cors_rules(aws, &prior.bucket).await?.unwrap_or_default();
    let rule = rules
        .iter()
        .find(|r| r.id() == Some(id.as_str()))
        .map(Rule::of);
    s.cors_rule_id = rule.as_ref().map(|_| id.clone());
    s.cors_rule = rule.as_ref().map(Rule::to_cors);
    // A hand-made rule an import took over stays this resource's until an
    // apply gives it our ID; nothing else without our ID ever is.
    let adopted = match (&prior.cors_rule_id, &prior.cors_rule, &rule) {
        (None, Some(c), None) => Rule::exact(c).filter(|r| unclaimed_rule(&rules, r).is_some()),
        _ => None,
    };
    if let Some(adopted) = adopted {
        s.cors_rule = Some(adopted.to_cors());
        notes.push(Diagnostic::warning("CORS rule made by hand", format!("Bucket {} has the CORS rule this integration took over at import, without an ID, as the vendor's runbook writes it. An apply gives it the ID {id} (cors_rule_id) in its place rather than adding a second rule; from then on this resource manages it, and destroying it removes it.", prior.bucket)).at(AttributePath::attr("cors_rule_id")));
    }

    let sids = owned_sids(prior);
    let policy = match bucket_policy(aws, &prior.bucket).await {
        Ok(p) => p,
        Err(None) => None,
        Err(Some(d)) => return Err(d),
    };
    match policy
        .as_deref()
        .and_then(|p| find_statement(p, sid_in(&sids)))
    {
        Some((text, cidrs)) => {
            s.allowlist_statement = Some(text);
            s.allowed_source_cidrs = cidrs;
        }
        None => {
            s.allowlist_statement = None;
            s.allowed_source_cidrs = None;
        }
    }

    if s.role_arn.is_none()
        && s.policy_document.is_none()
        && s.cors_rule_id.is_none()
        && s.allowlist_statement.is_none()
    {
        return Ok(None);
    }
    s.vendor_handoff = Some(Handoff {
        role_arn: s
            .role_arn
            .clone()
            .unwrap_or_else(|| role_arn(part, &account, &prior.role_name)),
        bucket_path: format!("{}/{}", prior.bucket, prior.prefix),
    });
    Ok(Some(s))
}

/// Brings what exists (`have`, updated after every step that succeeds) to
/// what `plan` asks for. Shared by create (from nothing) and update (from
/// the last read), so a failed apply is finished by the next one.
async fn converge(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    have: &mut State,
    plan: &State,
    deadline: Instant,
) -> Result<(), Diagnostics> {
    let account = aws.caller_account().await?;
    let want = want(plan, aws, &account)?;
    // What an existing role's description says, before `have` moves on.
    let described_as = role_description(have);
    // Pure settings first: they name things, AWS does not hold them.
    have.id = Some(id_of(&plan.bucket, &plan.prefix, &plan.role_name));
    have.bucket = plan.bucket.clone();
    have.prefix = plan.prefix.clone();
    have.role_name = plan.role_name.clone();
    have.policy_name = Some(want.policy_name.clone());
    have.timeouts = plan.timeouts.clone();
    have.vendor_handoff = Some(want.handoff.clone());
    have.trust_phase = Some(
        if have.vendor_iam_user_arn.is_some() {
            "vendor"
        } else {
            "placeholder"
        }
        .into(),
    );
    let tags = iam_tags(&plan.tags_all, &plan.role_name)?;

    // 1. The permissions policy.
    let mut policy_created = false;
    if have.policy_document.is_none() {
        let out = aws
            .iam
            .create_policy()
            .policy_name(&want.policy_name)
            .policy_document(&want.policy)
            .description(iam_description(format!(
                "S3 storage integration: {}/{}",
                plan.bucket, plan.prefix
            )))
            .set_tags(Some(tags.clone()))
            .send()
            .await;
        match out {
            Ok(_) => {
                have.policy_document = Some(want.policy.clone());
                policy_created = true;
            }
            Err(e) if code(&e) == "EntityAlreadyExists" => {
                // Ours from an apply whose answer was lost (same marker, same
                // bucket and prefix): adopt it. Another integration's with
                // the same role_name is not ours to rewrite.
                match policy_text(aws, &want.policy_arn).await? {
                    Some((doc, t)) if marked(&t, &plan.role_name) && doc == want.policy => {
                        have.policy_document = Some(doc)
                    }
                    Some((_, t)) if marked(&t, &plan.role_name) => {
                        return Err(Diagnostic::error(
                            "Role name used by another integration",
                            format!("Another privatelink_s3_storage_integration already has role_name {:?} (its policy {} grants another bucket or prefix). Two integrations would share one role and policy, and destroying either would break the other: give this one its own role_name.", plan.role_name, want.policy_name),
                        )
                        .at(AttributePath::attr("role_name"))
                        .into())
                    }
                    _ => {
                        return Err(Diagnostic::error(
                            "IAM policy already exists",
                            format!("A policy named {} exists and was not created by this resource. Choose another policy_name, or delete that policy.", want.policy_name),
                        )
                        .at(AttributePath::attr("policy_name"))
                        .into())
                    }
                }
            }
            Err(e) => return Err(failed("create the IAM policy", &e, None)),
        }
    }
    if have.policy_document.as_deref() != Some(want.policy.as_str()) {
        new_policy_version(aws, &want.policy_arn, &want.policy).await?;
        have.policy_document = Some(want.policy.clone());
    }

    // 2. The role and its trust.
    let trust_at = Some(AttributePath::attr("vendor_iam_user_arn"));
    let propagation_advice = "If the ARN is right, IAM may still be propagating a new user or role: run apply again in a few minutes. Otherwise check vendor_iam_user_arn against what the vendor shows.";
    let mut role_created = false;
    if have.role_arn.is_none() {
        let created = retry(
            ctx,
            deadline,
            "IAM to accept the role's trusted principal",
            propagation_advice,
            trust_at.clone(),
            || async {
                match aws
                    .iam
                    .create_role()
                    .role_name(&plan.role_name)
                    .assume_role_policy_document(&want.trust)
                    .description(role_description(plan))
                    .set_tags(Some(tags.clone()))
                    .send()
                    .await
                {
                    Ok(o) => Ok(Ok(Some(
                        o.role
                            .map(|r| r.arn)
                            .unwrap_or_else(|| want.role_arn.clone()),
                    ))),
                    Err(e) if invalid_principal(&e) => Ok(Err(error_text(&e))),
                    Err(e) if code(&e) == "EntityAlreadyExists" => Ok(Ok(None)),
                    Err(e) => Err(failed("create the IAM role", &e, None)),
                }
            },
        )
        .await?;
        match created {
            Some(arn) => {
                have.role_arn = Some(arn);
                have.assume_role_policy = Some(want.trust.clone());
                role_created = true;
            }
            None => {
                let refusal = match role_facts(aws, &plan.role_name).await? {
                    // Ours from an apply whose answer was lost: the marker,
                    // and the description naming this bucket and prefix.
                    Some((arn, trust, t, description))
                        if marked(&t, &plan.role_name)
                            && description == role_description(plan) =>
                    {
                        have.role_arn = Some(arn);
                        have.assume_role_policy = Some(trust);
                        None
                    }
                    Some((_, _, t, _)) if marked(&t, &plan.role_name) => Some(Diagnostic::error(
                        "Role name used by another integration",
                        format!("Another privatelink_s3_storage_integration already has role_name {:?} (for another bucket or prefix). Two integrations would share one role, and destroying either would break the other: give this one its own role_name. If the other is the integration this one replaces under create_before_destroy, it is destroyed only after this create: make this change without create_before_destroy, or give the replacement a new role_name.", plan.role_name),
                    )),
                    _ => Some(Diagnostic::error(
                        "IAM role already exists",
                        format!("A role named {} exists and was not created by this resource. Choose another role_name, or import it with `terraform import` and the ID `{}`.", plan.role_name, id_of(&plan.bucket, &plan.prefix, &plan.role_name)),
                    )),
                };
                if let Some(refusal) = refusal {
                    // Take back the policy this apply made, so that no
                    // state is left whose refresh would adopt the other
                    // role by its name, and whose destroy would delete it.
                    if policy_created {
                        delete_new_policy(aws, &want.policy_arn).await?;
                        have.policy_document = None;
                    }
                    return Err(refusal.at(AttributePath::attr("role_name")).into());
                }
            }
        }
    }
    if have.assume_role_policy.as_deref() != Some(want.trust.as_str()) {
        retry(
            ctx,
            deadline,
            "IAM to accept the role's trusted principal",
            propagation_advice,
            trust_at.clone(),
            || async {
                match aws
                    .iam
                    .update_assume_role_policy()
                    .role_name(&plan.role_name)
                    .policy_document(&want.trust)
                    .send()
                    .await
                {
                    Ok(_) => Ok(Ok(())),
                    Err(e) if invalid_principal(&e) => Ok(Err(error_text(&e))),
                    Err(e) => Err(failed(
                        "update the role's trust policy",
                        &e,
                        trust_at.clone(),
                    )),
                }
            },
        )
        .await?;
        have.assume_role_policy = Some(want.trust.clone());
    }
    // The description names the bucket and prefix (a retried create checks
    // it before adopting the role), so it follows a prefix moved in place.
    if !role_created && described_as != role_description(plan) {
        aws.iam
            .update_role()
            .role_name(&plan.role_name)
            .description(role_description(plan))
            .send()
            .await
            .map_err(|e| failed("update the role's description", &e, None))?;
    }
    have.vendor_iam_user_arn = plan.vendor_iam_user_arn.clone();
    have.external_id = plan.external_id.clone();
    have.trust_phase = Some(want.trust_phase.to_string());

    // Tags, on both IAM objects (new ones were created with them).
    if !(role_created && policy_created) {
        sync_tags(
            aws,
            &plan.role_name,
            &want.policy_arn,
            have.tags_all.as_ref().or(have.tags.as_ref()),
            plan.tags_all.as_ref(),
            role_created,
            policy_created,
        )
        .await?;
    }
    have.tags = plan.tags.clone();
    have.tags_all = plan.tags_all.clone();

    // 3. The policy on the role. A new policy or role may not be visible to
    // AttachRolePolicy for a moment: NoSuchEntity is retried.
    if have.policy_arn.as_deref() != Some(want.policy_arn.as_str()) {
        retry(
            ctx,
            deadline,
            "the new IAM policy and role to be attachable",
            "Run apply again to attach the policy.",
            None,
            || async {
                match aws
                    .iam
                    .attach_role_policy()
                    .role_name(&plan.role_name)
                    .policy_arn(&want.policy_arn)
                    .send()
                    .await
                {
                    Ok(_) => Ok(Ok(())),
                    Err(e) if code(&e) == "NoSuchEntity" => Ok(Err(error_text(&e))),
                    Err(e) => Err(failed("attach the IAM policy to the role", &e, None)),
                }
            },
        )
        .await?;
        have.policy_arn = Some(want.policy_arn.clone());
    }

    // 4. The CORS rule, merged into the bucket's configuration (or taken
    // out of it, for a vendor with no browser app).
    let have_rule = have
        .cors_rule_id
        .as_ref()
        .and(have.cors_rule.as_ref())
        .and_then(Rule::exact);
    let want_id = want.rule.as_ref().map(|_| want.rule_id.as_str());
    let adopted = adopted_rule(have);
    if want.rule.is_none() {
        // No rule for this vendor: ours goes; one an import took over is
        // left as it was made, for it never became ours.
        if have.cors_rule_id.is_some() {
            set_cors_rule(aws, ctx, deadline, &plan.bucket, &want.rule_id, None, None).await?;
        }
        have.cors_rule_id = None;
        have.cors_rule = None;
    } else if have.cors_rule_id.as_deref() != want_id || have_rule != want.rule {
        set_cors_rule(
            aws,
            ctx,
            deadline,
            &plan.bucket,
            &want.rule_id,
            want.rule.as_ref(),
            adopted.as_ref(),
        )
        .await?;
        have.cors_rule_id = want_id.map(str::to_string);
        have.cors_rule = want.rule.as_ref().map(Rule::to_cors);
    }
    have.cors = plan.cors.clone();
    have.vendor = plan.vendor.clone();

    // 5. The allowlist statement, merged into the bucket policy.
    if have.allowlist_statement != want.statement {
        set_statement(
            aws,
            ctx,
            deadline,
            &plan.bucket,
            &owned_sids(have),
            want.statement.as_deref(),
            true,
        )
        .await?;
        have.allowlist_statement = want.statement.clone();
    }
    have.allowed_source_cidrs = plan.allowed_source_cidrs.clone();
    Ok(())
}

/// Makes `document` the policy's default version, deleting the oldest
/// other version first when IAM's limit of five is reached.
async fn new_policy_version(
    aws: &AwsClients,
    arn: &str,
    document: &str,
) -> Result<(), Diagnostics> {
    for attempt in 0..2 {
        match aws
            .iam
            .create_policy_version()
            .policy_arn(arn)
            .policy_document(document)
            .set_as_default(true)
            .send()
            .await
        {
            Ok(_) => return Ok(()),
            Err(e) if code(&e) == "LimitExceeded" && attempt == 0 => {
                let versions = policy_versions(aws, arn).await?.unwrap_or_default();
                if let Some(oldest) = versions.iter().find(|(_, default)| !default) {
                    delete_policy_version(aws, arn, &oldest.0).await?;
                }
            }
            Err(e) => return Err(failed("update the IAM policy's document", &e, None)),
        }
    }
    Ok(())
}

/// The policy's versions, oldest first: (version ID, is default); None when
/// the policy does not exist.
async fn policy_versions(
    aws: &AwsClients,
    arn: &str,
) -> Result<Option<Vec<(String, bool)>>, Diagnostics> {
    let out = match aws.iam.list_policy_versions().policy_arn(arn).send().await {
        Ok(o) => o,
        Err(e) if code(&e) == "NoSuchEntity" => return Ok(None),
        Err(e) => return Err(failed("list the IAM policy's versions", &e, None)),
    };
    let mut versions: Vec<(String, bool)> = out
        .versions()
        .iter()
        .filter_map(|v| Some((v.version_id()?.to_string(), v.is_default_version())))
        .collect();
    // "v12" sorts after "v9": by number, not text.
    versions.sort_by_key(|(id, _)| {
        id.trim_start_matches('v')
            .split('.')
            .next()
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0)
    });
    Ok(Some(versions))
}

/// The Resource ARNs a policy document names.
fn policy_resources(doc: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(doc) else {
        return Vec::new();
    };
    let statements = match &doc["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        one => vec![one.clone()],
    };
    statements
        .iter()
        .flat_map(|st| match &st["Resource"] {
            serde_json::Value::String(r) => vec![r.clone()],
            serde_json::Value::Array(rs) => rs
                .iter()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect()
}

/// Deletes a policy this apply just created (one version, attached to
/// nothing).
async fn delete_new_policy(aws: &AwsClients, arn: &str) -> Result<(), Diagnostics> {
    match aws.iam.delete_policy().policy_arn(arn).send().await {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == "NoSuchEntity" => Ok(()),
        Err(e) => Err(failed("delete the IAM policy", &e, None)),
    }
}

async fn delete_policy_version(
    aws: &AwsClients,
    arn: &str,
    version: &str,
) -> Result<(), Diagnostics> {
    match aws
        .iam
        .delete_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if code(&e) == "NoSuchEntity" => Ok(()),
        Err(e) => Err(failed("delete an old version of the IAM policy", &e, None)),
    }
}

/// Brings the role's and policy's tags from `old` to `new` (the marker tag
/// is never removed). Objects just created already carry `new`.
async fn sync_tags(
    aws: &AwsClients,
    role_name: &str,
    policy_arn: &str,
    old: Option<&BTreeMap<String, String>>,
    new: Option<&BTreeMap<String, String>>,
    skip_role: bool,
    skip_policy: bool,
) -> Result<(), Diagnostics> {
    let empty = BTreeMap::new();
    let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
    if old == new {
        return Ok(());
    }
    // What each object holds now: the other may have drifted unseen.
    let removed = |held: Vec<aws_sdk_iam::types::Tag>| -> Vec<String> {
        aws.ignore_tags
            .keep(user_tags(&held), Some(new))
            .into_keys()
            .filter(|k| !new.contains_key(k))
            .collect()
    };
    let set = iam_tags(&Some(new.clone()), role_name)?;
    if !skip_role {
        let held = aws.iam.list_role_tags().role_name(role_name).send().await;
        let held = held.map_err(|e| {
            failed(
                "list the role's tags",
                &e,
                Some(AttributePath::attr("tags")),
            )
        })?;
        let removed = removed(held.tags);
        if !removed.is_empty() {
            aws.iam
                .untag_role()
                .role_name(role_name)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| {
                    failed(
                        "remove the role's tags",
                        &e,
                        Some(AttributePath::attr("tags")),
                    )
                })?;
        }
        aws.iam
            .tag_role()
            .role_name(role_name)
            .set_tags(Some(set.clone()))
            .send()
            .await
            .map_err(|e| failed("tag the role", &e, Some(AttributePath::attr("tags"))))?;
    }
    if !skip_policy {
        let held = aws
            .iam
            .list_policy_tags()
            .policy_arn(policy_arn)
            .send()
            .await;
        let held = held.map_err(|e| {
            failed(
                "list the policy's tags",
                &e,
                Some(AttributePath::attr("tags")),
            )
        })?;
        let removed = removed(held.tags);
        if !removed.is_empty() {
            aws.iam
                .untag_policy()
                .policy_arn(policy_arn)
                .set_tag_keys(Some(removed))
                .send()
                .await
                .map_err(|e| {
                    failed(
                        "remove the policy's tags",
                        &e,
                        Some(AttributePath::attr("tags")),
                    )
                })?;
        }
        aws.iam
            .tag_policy()
            .policy_arn(policy_arn)
            .set_tags(Some(set))
            .send()
            .await
            .map_err(|e| failed("tag the policy", &e, Some(AttributePath::attr("tags"))))?;
    }
    Ok(())
}

const ABORTED_ADVICE: &str = "Another change to the bucket's configuration kept S3 busy (OperationAborted). Run apply again.";

/// Sets (or with None removes) our CORS rule, re-reading the configuration
/// on every attempt so a concurrent change by others is never overwritten
/// with a stale copy. `required`: a missing bucket is an error (else, on
/// destroy, there is nothing left to remove).
/// Sets this resource's rule (ID `id`) to `ours`, or removes it when None
/// (then tolerating a bucket that is gone); `adopted` as in `merge_rules`.
async fn set_cors_rule(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    deadline: Instant,
    bucket: &str,
    id: &str,
    ours: Option<&Rule>,
    adopted: Option<&Rule>,
) -> Result<(), Diagnostics> {
    let required = ours.is_some();
    let _writing = one_writer(bucket, "cors").await;
    let ours = ours.map(|r| r.to_sdk(id)).transpose()?;
    retry(
        ctx,
        deadline,
        "S3 to accept the CORS rule",
        ABORTED_ADVICE,
        Some(AttributePath::attr("cors")),
        || async {
            let Some(rules) = cors_rules(aws, bucket).await? else {
                return if required {
                    Err(check_bucket(aws, bucket)
                        .await
                        .map(Diagnostics::from)
                        .unwrap_or_else(|| {
                            Diagnostic::error(
                                "Bucket not found",
                                format!("{bucket} no longer exists."),
                            )
                            .at(AttributePath::attr("bucket"))
                            .into()
                        }))
                } else {
                    Ok(Ok(()))
                };
            };
            let result = match merge_rules(rules, id, ours.clone(), adopted)? {
                Change::Keep => return Ok(Ok(())),
                Change::Put(rules) => {
                    let config = CorsConfiguration::builder()
                        .set_cors_rules(Some(rules))
                        .build()
                        .map_err(|e| {
                            Diagnostics::from(Diagnostic::error(
                                "Invalid CORS configuration",
                                e.to_string(),
                            ))
                        })?;
                    aws.s3
                        .put_bucket_cors()
                        .bucket(bucket)
                        .cors_configuration(config)
                        .send()
                        .await
                        .err()
                        .map(|e| (code(&e).to_string(), error_text(&e)))
                }
                Change::Delete => aws
                    .s3
                    .delete_bucket_cors()
                    .bucket(bucket)
                    .send()
                    .await
                    .err()
                    .map(|e| (code(&e).to_string(), error_text(&e))),
            };
            match result {
                None => Ok(Ok(())),
                Some((c, text)) if c == "OperationAborted" => Ok(Err(text)),
                Some((c, _)) if c == "NoSuchBucket" && !required => Ok(Ok(())),
                Some((_, text)) => Err(Diagnostic::error(
                    "Failed to update the bucket's CORS configuration",
                    text,
                )
                .at(AttributePath::attr("cors"))
                .into()),
            }
        },
    )
    .await
}

/// S3 replaces a bucket's whole CORS configuration or policy on each put:
/// integrations sharing a bucket (Terraform applies them in parallel)
/// would each write back what they read and lose the other's rule. Their
/// read-modify-writes of one document take turns, across the process.
async fn one_writer(bucket: &str, document: &str) -> tokio::sync::OwnedMutexGuard<()> {
    type Turns = std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>;
    static TURNS: std::sync::LazyLock<std::sync::Mutex<Turns>> =
        std::sync::LazyLock::new(Default::default);
    let turn = TURNS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(format!("{bucket}/{document}"))
        .or_default()
        .clone();
    turn.lock_owned().await
}

/// Sets (or with None removes) our statement in the bucket policy, text
/// level, re-reading the policy on every attempt. Retries OperationAborted
/// and, while a new role propagates, "Invalid principal in policy".
async fn set_statement(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    deadline: Instant,
    bucket: &str,
    sids: &[String],
    ours: Option<&str>,
    required: bool,
) -> Result<(), Diagnostics> {
    let _writing = one_writer(bucket, "policy").await;
    let sids: Vec<&str> = sids.iter().map(String::as_str).collect();
    let at = Some(AttributePath::attr("allowed_source_cidrs"));
    retry(ctx, deadline, "S3 to accept the allowlist statement", "S3 kept refusing the statement: if it says \"Invalid principal in policy\", the new role has not propagated yet; run apply again in a few minutes.", at.clone(), || async {
        let current = match bucket_policy(aws, bucket).await {
            Ok(p) => p,
            Err(None) if !required => return Ok(Ok(())),
            Err(None) => {
                return Err(Diagnostic::error("Bucket not found", format!("{bucket} no longer exists.")).at(AttributePath::attr("bucket")).into())
            }
            Err(Some(d)) => return Err(d),
        };
        let change = merge_statement(current.as_deref(), &sids, ours).map_err(|e| {
            Diagnostics::from(Diagnostic::error(
                "Cannot merge into the bucket policy",
                format!("The bucket's current policy could not be read as a policy document ({e}); it was left unchanged."),
            ).at(AttributePath::attr("bucket")))
        })?;
        let result = match change {
            Change::Keep => return Ok(Ok(())),
            Change::Put(text) => aws.s3.put_bucket_policy().bucket(bucket).policy(text).send().await.err().map(|e| (code(&e).to_string(), invalid_principal(&e), error_text(&e))),
            Change::Delete => aws.s3.delete_bucket_policy().bucket(bucket).send().await.err().map(|e| (code(&e).to_string(), false, error_text(&e))),
        };
        match result {
            None => Ok(Ok(())),
            Some((c, principal, text)) if c == "OperationAborted" || principal => Ok(Err(text)),
            Some((c, _, _)) if c == "NoSuchBucket" && !required => Ok(Ok(())),
            Some((_, _, text)) => Err(Diagnostic::error("Failed to update the bucket policy", text).at(AttributePath::attr("allowed_source_cidrs")).into()),
        }
    })
    .await
}

/// The bucket's CORS rule and allowlist statement this integration owns.
async fn remove_rules(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    state: &State,
    deadline: Instant,
) -> Result<(), Diagnostics> {
    set_statement(
        aws,
        ctx,
        deadline,
        &state.bucket,
        &owned_sids(state),
        None,
        false,
    )
    .await?;
    set_cors_rule(
        aws,
        ctx,
        deadline,
        &state.bucket,
        &rule_id(&state.role_name),
        None,
        None,
    )
    .await
}

/// Removes exactly what this resource added: the statement and the CORS
/// rule (by their own Sid and ID), then the policy and the role recorded in
/// state, but what `kept` says a replacement took over. Every step tolerates "already gone", so a destroy that failed
/// half-way is finished by the next one.
async fn remove(
    aws: &AwsClients,
    ctx: &Ctx<ProviderData>,
    state: &State,
    kept: Kept,
    deadline: Instant,
) -> Result<(), Diagnostics> {
    if kept.role && kept.policy {
        return Ok(());
    }
    let account = aws.caller_account().await?;
    let part = aws.partition();
    if !kept.role {
        remove_rules(aws, ctx, state, deadline).await?;
    }
    let policy_name = state
        .policy_name
        .clone()
        .unwrap_or_else(|| default_policy_name(&state.role_name));
    let arn = policy_arn(part, &account, &policy_name);
    if state.role_arn.is_some() || state.policy_arn.is_some() {
        match aws
            .iam
            .detach_role_policy()
            .role_name(&state.role_name)
            .policy_arn(&arn)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if code(&e) == "NoSuchEntity" => {}
            Err(e) => return Err(failed("detach the IAM policy from the role", &e, None)),
        }
    }
    if state.policy_document.is_some() && !kept.policy {
        // IAM deletes a policy only without its other versions.
        if let Some(versions) = policy_versions(aws, &arn).await? {
            for (v, default) in versions {
                if !default {
                    delete_policy_version(aws, &arn, &v).await?;
                }
            }
            let arn = &arn;
            retry(
                ctx,
                deadline,
                "IAM to see the policy detached",
                DETACH_ADVICE,
                None,
                || async move {
                    let answer = aws.iam.delete_policy().policy_arn(arn).send().await;
                    deleted_once_released(answer, "delete the IAM policy", None)
                },
            )
            .await?;
        }
    }
    if state.role_arn.is_some() && !kept.role {
        let role = &state.role_name;
        retry(
            ctx,
            deadline,
            "IAM to see the role's policy detached",
            DETACH_ADVICE,
            None,
            || async move {
                let answer = aws.iam.delete_role().role_name(role).send().await;
                let at = Some(AttributePath::attr("role_name"));
                deleted_once_released(answer, "delete the IAM role", at)
            },
        )
        .await?;
    }
    Ok(())
}

/// An IAM delete's answer as a retried step: deleted or already gone ends
/// it, DeleteConflict (see `DETACH_ADVICE`) is "not yet".
fn deleted_once_released<T, E, R>(
    answer: Result<T, SdkError<E, R>>,
    doing: &str,
    at: Option<AttributePath>,
) -> Attempt<()>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match answer {
        Ok(_) => Ok(Ok(())),
        Err(e) if code(&e) == "NoSuchEntity" => Ok(Ok(())),
        Err(e) if code(&e) == "DeleteConflict" => Ok(Err(error_text(&e))),
        Err(e) => Err(failed(doing, &e, at)),
    }
}

/// IAM answers DeleteConflict while a detach it accepted has not reached
/// every server; AWS's own provider retries it for two minutes too.
const DETACH_ADVICE: &str = "IAM refuses while anything is still attached. If the role has policies, inline policies or an instance profile this provider did not add, or the policy is attached elsewhere, remove those by hand; otherwise IAM has not yet seen the detach everywhere: run destroy again in a few minutes.";

/// The vendor's IAM user ARN and external ID come as a pair; the error on
/// the one set when the other is not.
fn unpaired(arn_set: bool, external_id_set: bool) -> Option<Diagnostic> {
    let (other, missing) = match (arn_set, external_id_set) {
        (true, false) => ("vendor_iam_user_arn", "external_id"),
        (false, true) => ("external_id", "vendor_iam_user_arn"),
        _ => return None,
    };
    Some(
        Diagnostic::error(
            format!("{other} without {missing}"),
            "The vendor shows both its IAM user ARN and the external ID; set both to move the role's trust to the vendor, or neither to keep the placeholder trust.",
        )
        .at(AttributePath::attr(other)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(S3StorageIntegration.schema().lint(), Vec::<String>::new());
    }

    #[test]
    fn iam_descriptions_stay_within_1000_characters() {
        let long = format!("exports/{}", "a".repeat(1016));
        let text = iam_description(format!("S3 storage integration: bucket/{long}"));
        assert_eq!(text.len(), 1000);
        assert!(text.contains("... #"));
        let other = iam_description(format!("S3 storage integration: bucket/{long}b"));
        assert_eq!(other.len(), 1000);
        assert_ne!(text, other, "paths alike up to the cut still differ");
        assert_eq!(iam_description("short".into()), "short");
    }

    #[test]
    fn marker_values_are_in_iams_tag_value_set() {
        let allowed = |c: char| c.is_alphanumeric() || " _.:/=+-@".contains(c);
        for name in ["sigma-exports", "a,b", "x+y=z,w.v@u_t-s"] {
            let value = marker_value(name);
            assert!(value.chars().all(allowed), "{value}");
        }
        assert_ne!(marker_value("a,b"), marker_value("a+b"));
    }

    fn check(v: &dyn Validator, s: &str) -> bool {
        let mut d = Diagnostics::new();
        v.check(&Value::string(s), &AttributePath::attr("x"), &mut d);
        !d.has_errors()
    }

    #[test]
    fn prefixes_and_cidrs() {
        for ok in ["sigma", "sigma/exports", "a.b/c-d/e_f", "x(1)/y'2"] {
            assert!(check(&key_prefix(), ok), "{ok}");
        }
        for bad in [
            "/sigma",
            "sigma/",
            "a//b",
            "",
            "a/*",
            "a?",
            "${aws:username}",
        ] {
            assert!(!check(&key_prefix(), bad), "{bad}");
        }
        for ok in ["203.0.113.0/24", "10.0.0.1/32", "2001:db8::/32"] {
            assert!(check(&Cidr, ok), "{ok}");
        }
        for bad in [
            "203.0.113.0",
            "203.0.113.0/33",
            "2001:db8::/129",
            "x/8",
            "10.0.0.0/+8",
            "10.0.0.1/8",
        ] {
            assert!(!check(&Cidr, bad), "{bad}");
        }
        for ok in [
            "https://app.sigmacomputing.com",
            "http://localhost:8080",
            "https://*.example.com",
            "*",
        ] {
            assert!(check(&cors_origin(), ok), "{ok}");
        }
        for bad in [
            "app.sigmacomputing.com",
            "https://x.com/",
            "https://x.com/path",
            "https://*.*.com",
            "https://",
        ] {
            assert!(!check(&cors_origin(), bad), "{bad}");
        }
        let ext = crate::provider::config::external_id();
        assert!(check(&ext, "0000"));
        assert!(check(&ext, "SIGMA_ab12:cd/ef=gh,ij.kl@mn-op+q"));
        assert!(!check(&ext, "a"));
        assert!(!check(&ext, "has space"));
        assert!(!check(&ext, &"a".repeat(1225)));
    }

    #[test]
    fn sids_are_alphanumeric_and_distinct() {
        assert_eq!(statement_sid("sigma"), "PrivatelinkAllowlistsigma");
        let a = statement_sid("sigma-s3");
        let b = statement_sid("sigmas3");
        assert_ne!(a, b);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()), "{a}");
        assert_eq!(a, statement_sid("sigma-s3"), "stable");
    }

    #[test]
    fn iam_documents_are_url_decoded_and_canonical() {
        let raw = "%7B%22Version%22%3A%20%222012-10-17%22%2C%20%22Statement%22%3A%20%5B%5D%7D";
        let doc = iam_document(raw).unwrap();
        assert_eq!(
            canonical(&doc),
            r#"{"Statement":[],"Version":"2012-10-17"}"#
        );
        let trust = trust_document("arn:aws:iam::185497759670:user/x", "ext");
        let parsed: serde_json::Value = serde_json::from_str(&trust).unwrap();
        assert_eq!(
            trust_parties(&parsed),
            Some(("arn:aws:iam::185497759670:user/x".into(), "ext".into()))
        );
    }

    const MINE: &[&str] = &["Mine"];
    const FOREIGN: &str = "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"team\",\n  \"Statement\": [\n    {\n      \"Sid\": \"TeamRead\", \"Effect\": \"Allow\",\n      \"Principal\": {\"AWS\": \"arn:aws:iam::123456789012:root\"},\n      \"Action\": \"s3:GetObject\", \"Resource\": \"arn:aws:s3:::b/p/*\", \"Note\": \"[{\\\"Sid\\\":\\\"x\\\"}]\"\n    }\n  ]\n}";

    #[test]
    fn one_allowed_cidr_reads_the_same_as_a_string_or_a_list() {
        let one = ["198.51.100.17/32".to_string()];
        let ours = allowlist_statement("Mine", "arn:aws:iam::1:role/r", "aws", "b", "p", &one);
        assert!(
            ours.contains(r#""aws:SourceIp":"198.51.100.17/32""#),
            "{ours}"
        );
        let as_list = ours.replace(
            r#""aws:SourceIp":"198.51.100.17/32""#,
            r#""aws:SourceIp":["198.51.100.17/32"]"#,
        );
        for written in [&ours, &as_list] {
            let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{written}]}}"#);
            let (found, cidrs) = find_statement(&policy, sid_in(&["Mine".to_string()])).unwrap();
            assert_eq!(found, ours);
            assert_eq!(cidrs, Some(one.to_vec()));
        }
        let two = ["198.51.100.0/24".to_string(), "192.0.2.1/32".to_string()];
        let ours = allowlist_statement("Mine", "arn:aws:iam::1:role/r", "aws", "b", "p", &two);
        assert!(
            ours.contains(r#""aws:SourceIp":["192.0.2.1/32","198.51.100.0/24"]"#),
            "{ours}"
        );
        let policy = format!(r#"{{"Statement":[{ours}]}}"#);
        assert_eq!(
            find_statement(&policy, sid_in(&["Mine".to_string()]))
                .unwrap()
                .0,
            ours
        );
    }

    #[test]
    fn statements_merge_beside_others_and_leave_them_byte_for_byte() {
        let ours = r#"{"Effect":"Deny","Sid":"Mine"}"#;
        let Change::Put(added) = merge_statement(Some(FOREIGN), MINE, Some(ours)).unwrap() else {
            panic!("expected a put")
        };
        assert!(added.contains(ours), "{added}");
        assert_eq!(
            find_statement(&added, sid_in(&["Mine".to_string()]))
                .unwrap()
                .0,
            ours
        );
        assert_eq!(
            merge_statement(Some(&added), MINE, Some(ours)).unwrap(),
            Change::Keep
        );
        let replaced = r#"{"Effect":"Deny","Sid":"Mine","X":1}"#;
        let Change::Put(updated) = merge_statement(Some(&added), MINE, Some(replaced)).unwrap()
        else {
            panic!("expected a put")
        };
        assert_eq!(updated, added.replace(ours, replaced));
        // Removing ours gives back the original text exactly.
        assert_eq!(
            merge_statement(Some(&updated), MINE, None).unwrap(),
            Change::Put(FOREIGN.to_string())
        );
        assert_eq!(
            merge_statement(Some(FOREIGN), MINE, None).unwrap(),
            Change::Keep
        );
    }

    #[test]
    fn statements_in_other_shapes() {
        let ours = r#"{"Sid":"Mine"}"#;
        // No policy: a new one; only ours: deleted.
        let Change::Put(fresh) = merge_statement(None, MINE, Some(ours)).unwrap() else {
            panic!()
        };
        assert_eq!(
            merge_statement(Some(&fresh), MINE, None).unwrap(),
            Change::Delete
        );
        // Ours first of two; a single-object Statement; an empty list.
        let two = r#"{"Statement":[{"Sid":"Mine"} , {"Sid":"Other"}]}"#;
        assert_eq!(
            merge_statement(Some(two), MINE, None).unwrap(),
            Change::Put(r#"{"Statement":[{"Sid":"Other"}]}"#.into())
        );
        let single = r#"{"Version":"2012-10-17","Statement":{"Sid":"Other"}}"#;
        assert_eq!(
            merge_statement(Some(single), MINE, Some(ours)).unwrap(),
            Change::Put(
                r#"{"Version":"2012-10-17","Statement":[{"Sid":"Other"},{"Sid":"Mine"}]}"#.into()
            )
        );
        assert_eq!(
            merge_statement(Some(r#"{"Statement": [ ]}"#), MINE, Some(ours)).unwrap(),
            Change::Put(r#"{"Statement": [{"Sid":"Mine"} ]}"#.into())
        );
        assert!(merge_statement(Some("[]"), MINE, Some(ours)).is_err());
        assert!(merge_statement(Some(r#"{"Statement":[{"Sid":"a"}"#), MINE, Some(ours)).is_err());
    }

    fn rule(id: Option<&str>, origin: &str) -> CorsRule {
        CorsRule::builder()
            .set_id(id.map(str::to_string))
            .allowed_methods("GET")
            .allowed_origins(origin)
            .build()
            .unwrap()
    }

    #[test]
    fn cors_rules_merge_in_place_and_respect_the_limit() {
        let foreign = vec![rule(Some("team"), "https://a"), rule(None, "https://b")];
        let ours = rule(Some("privatelink-r"), "https://app");
        let Change::Put(added) =
            merge_rules(foreign.clone(), "privatelink-r", Some(ours.clone()), None).unwrap()
        else {
            panic!()
        };
        assert_eq!(&added[..2], &foreign[..]);
        assert_eq!(
            merge_rules(added.clone(), "privatelink-r", Some(ours), None).unwrap(),
            Change::Keep
        );
        assert_eq!(
            merge_rules(added, "privatelink-r", None, None).unwrap(),
            Change::Put(foreign)
        );
        assert_eq!(
            merge_rules(
                vec![rule(Some("privatelink-r"), "https://app")],
                "privatelink-r",
                None,
                None
            )
            .unwrap(),
            Change::Delete
        );
        let full: Vec<CorsRule> = (0..100)
            .map(|i| rule(Some(&format!("t{i}")), "https://t"))
            .collect();
        let err = merge_rules(
            full,
            "privatelink-r",
            Some(rule(Some("privatelink-r"), "https://app")),
            None,
        )
        .unwrap_err();
        assert!(err.to_string().contains("at most 100"), "{err}");
    }

    /// A rule an import took over (no ID, as the runbook writes it) becomes
    /// ours in its place; without one adopted, an identical ID-less rule of
    /// someone else's is left alone and ours goes beside it.
    #[test]
    fn only_an_adopted_rule_is_taken_over() {
        let ours = rule(Some("privatelink-r"), "https://app");
        let hand_made = vec![
            rule(Some("team"), "https://app"),
            rule(None, "https://other"),
            rule(None, "https://app"),
        ];
        let adopted = Rule::of(&hand_made[2]);
        let Change::Put(taken) = merge_rules(
            hand_made.clone(),
            "privatelink-r",
            Some(ours.clone()),
            Some(&adopted),
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(
            taken,
            vec![hand_made[0].clone(), hand_made[1].clone(), ours.clone()]
        );
        assert_eq!(
            merge_rules(taken, "privatelink-r", Some(ours.clone()), None).unwrap(),
            Change::Keep
        );
        let Change::Put(beside) =
            merge_rules(hand_made.clone(), "privatelink-r", Some(ours.clone()), None).unwrap()
        else {
            panic!()
        };
        assert_eq!(beside.len(), 4, "{beside:?}");
        assert_eq!(&beside[..3], &hand_made[..]);
        assert_eq!(unclaimed_rule(&hand_made, &Rule::of(&ours)), Some(2));
    }

    /// The runbook's IP allowlist, written by hand under its own Sid, is
    /// found by an import and then replaced in its place through the Sid
    /// state holds; a statement of the same shape that no import took is
    /// left alone, as is one without a Sid, or for another role.
    #[test]
    fn a_hand_made_allowlist_statement_is_taken_over_only_through_import() {
        let role = "arn:aws:iam::1:role/r";
        let cidrs = |c: &str| vec![c.to_string()];
        let theirs = allowlist_statement(
            "RunbookAllowlist",
            role,
            "aws",
            "b",
            "p",
            &cidrs("203.0.113.0/24"),
        );
        let other_role = allowlist_statement(
            "Other",
            "arn:aws:iam::1:role/x",
            "aws",
            "b",
            "p",
            &cidrs("203.0.113.0/24"),
        );
        let ours = allowlist_statement("Mine", role, "aws", "b", "p", &cidrs("198.51.100.0/24"));
        let policy = format!(r#"{{"Version":"2012-10-17","Statement":[{other_role},{theirs}]}}"#);
        // Found by import, ranges and all; the one for another role is not.
        let (found, found_cidrs) = runbook_statement(&policy, role, "aws", "b", "p").unwrap();
        assert_eq!(found, theirs);
        assert_eq!(found_cidrs, Some(cidrs("203.0.113.0/24")));
        let sidless = theirs.replace(r#","Sid":"RunbookAllowlist""#, "");
        assert!(!sidless.contains("Sid"), "{sidless}");
        assert!(runbook_statement(
            &format!(r#"{{"Statement":[{sidless}]}}"#),
            role,
            "aws",
            "b",
            "p"
        )
        .is_none());
        // Not taken without the import's Sid: ours goes beside it.
        let Change::Put(beside) = merge_statement(Some(&policy), MINE, Some(&ours)).unwrap() else {
            panic!()
        };
        assert!(
            beside.contains(&theirs) && beside.contains(&ours),
            "{beside}"
        );
        // With it (owned_sids of the imported state), replaced in place...
        let state = State {
            role_name: "r".into(),
            allowlist_statement: Some(theirs.clone()),
            ..State::default()
        };
        let sids = owned_sids(&state);
        assert_eq!(
            sids,
            vec![statement_sid("r"), "RunbookAllowlist".to_string()]
        );
        let mut with_mine = sids.clone();
        with_mine.push("Mine".to_string());
        let with_mine: Vec<&str> = with_mine.iter().map(String::as_str).collect();
        let Change::Put(taken) = merge_statement(Some(&policy), &with_mine, Some(&ours)).unwrap()
        else {
            panic!()
        };
        assert_eq!(taken, policy.replace(&theirs, &ours));
        // ...or removed, leaving the other role's.
        let sids: Vec<&str> = sids.iter().map(String::as_str).collect();
        assert_eq!(
            merge_statement(Some(&policy), &sids, None).unwrap(),
            Change::Put(format!(
                r#"{{"Version":"2012-10-17","Statement":[{other_role}]}}"#
            ))
        );
    }

    #[test]
    fn vendor_pairing_and_origins_are_validated() {
        let cfg = |arn: Value, ext: Value, vendor: Value| {
            Value::object([
                ("vendor_iam_user_arn", arn),
                ("external_id", ext),
                ("vendor", vendor),
                ("cors", Value::Null),
            ])
        };
        let mut d = Diagnostics::new();
        S3StorageIntegration.validate(
            &cfg(
                Value::string("arn:aws:iam::185497759670:user/x"),
                Value::Null,
                Value::string("sigma"),
            ),
            &mut d,
        );
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(
            d.0[0].path,
            Some(AttributePath::attr("vendor_iam_user_arn"))
        );
        // Unknown until apply: it may still be null, so the plan decides.
        let mut d = Diagnostics::new();
        S3StorageIntegration.validate(
            &cfg(Value::Null, Value::Unknown, Value::string("sigma")),
            &mut d,
        );
        assert!(d.is_empty(), "{d}");
        let mut d = Diagnostics::new();
        S3StorageIntegration.validate(&cfg(Value::Null, Value::Null, Value::Null), &mut d);
        assert_eq!(d.0[0].path, Some(AttributePath::attr("vendor")), "{d}");
        // Segment has no browser app: no rule, unless a cors block asks for
        // one, which then needs its origins.
        let mut d = Diagnostics::new();
        S3StorageIntegration.validate(
            &cfg(Value::Null, Value::Null, Value::string("segment")),
            &mut d,
        );
        assert!(d.is_empty(), "{d}");
        let mut block = cfg(Value::Null, Value::Null, Value::string("segment"));
        block.set_attr("cors", Value::object([("allowed_origins", Value::Null)]));
        let mut d = Diagnostics::new();
        S3StorageIntegration.validate(&block, &mut d);
        assert_eq!(d.0.len(), 1, "{d}");
        assert_eq!(d.0[0].path, Some(AttributePath::attr("cors")), "{d}");
        let mut d = Diagnostics::new();
        S3StorageIntegration.validate(
            &cfg(Value::Null, Value::Null, Value::string("sigma")),
            &mut d,
        );
        assert!(d.is_empty(), "{d}");
    }
}
