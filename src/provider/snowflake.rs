//! The Snowflake SQL API v2 client behind the provider's `snowflake {}`
//! block: one statement per request (`POST /api/v2/statements`), with the
//! protocol's own safety nets used as documented:
//! - every statement carries a `requestId`; resubmissions after a lost
//!   answer, a 429 or a 5xx add `retry=true`, so Snowflake answers with the
//!   first execution instead of running the statement twice;
//! - a 202 (still running) is polled at its `statementStatusUrl` until it
//!   finishes, and canceled when the caller's timeout passes or Terraform
//!   asks the provider to stop;
//! - `SYSTEM$` functions answer one text cell holding JSON, parsed again.
//!
//! Authentication is a key-pair JWT (RS256, with a short expiry; one RSA
//! signature costs about a millisecond of CPU, so a JWT is reused for up to
//! a minute and never sent with less than four minutes left) or a programmatic access / OAuth token. Neither the key, the
//! token, a JWT nor a statement's bind values ever reach an error, a log
//! line or a `Debug` rendering: errors carry Snowflake's code and message
//! and what the statement was for.

use super::coalesce::Coalesce;
use super::config::{Secret, SnowflakeAuth, SnowflakeConfig};
use crate::framework::{Diagnostic, Diagnostics};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SecureRandom;
use aws_lc_rs::signature::{RsaKeyPair, RSA_PKCS1_SHA256};
use base64::Engine as _;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Bytes;
use serde_json::Value as Json;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Snowflake refuses JWTs valid for more than an hour; a few minutes is
/// plenty for one request and limits what a leaked token could do.
const JWT_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// How long a signed JWT is reused: requests within this window of its
/// `iat` send the same token, which then has at least
/// `JWT_LIFETIME - JWT_REUSE` of validity left.
const JWT_REUSE: Duration = Duration::from_secs(60);
/// One HTTP exchange; a statement's own wait is bounded separately.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Our answers are one row; anything far larger is not Snowflake.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;
const USER_AGENT: &str = concat!("terraform-provider-privatelink/", env!("CARGO_PKG_VERSION"));

type Connector = hyper_rustls::HttpsConnector<super::proxy::ProxyConnector>;
type HttpClient = hyper_util::client::legacy::Client<Connector, Full<Bytes>>;

enum Auth {
    KeyPair {
        key: RsaKeyPair,
        /// `SHA256:<base64 of the SHA-256 of the public key's DER>`, what
        /// `DESCRIBE USER` shows as RSA_PUBLIC_KEY_FP.
        fingerprint: String,
    },
    Token(Secret),
}

/// A client for one Snowflake account, built once per provider instance.
pub struct SnowflakeClient {
    base_url: String,
    /// As configured, for messages.
    pub account: String,
    /// The account part of the JWT claims: upper case, without region.
    jwt_account: String,
    pub user: String,
    pub role: String,
    auth: Auth,
    /// The last JWT signed and its `iat` (seconds since the epoch), reused
    /// for `JWT_REUSE`. Never printed (the `Debug` impl leaves it out).
    jwt_cache: std::sync::Mutex<Option<(u64, String)>>,
    http: HttpClient,
    /// CURRENT_ACCOUNT() (the locator), asked once.
    locator: tokio::sync::OnceCell<String>,
    /// The account's `privatelink-vpce-id`, asked once.
    endpoint_service: tokio::sync::OnceCell<Option<String>>,
    /// One registration list answers every pin that asked while the last
    /// one was being fetched.
    registrations: Coalesce<(), Vec<Registration>, SnowflakeError>,
    /// First backoff step, doubled per retry; Snowflake's Retry-After wins
    /// when it sends one.
    backoff: Duration,
    /// Submissions of one statement after 429/5xx/transport failures, the
    /// first included.
    max_attempts: u32,
}

impl fmt::Debug for SnowflakeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnowflakeClient")
            .field("base_url", &self.base_url)
            .field("account", &self.account)
            .field("user", &self.user)
            .field("role", &self.role)
            .field(
                "auth",
                &match &self.auth {
                    Auth::KeyPair { fingerprint, .. } => format!("key pair {fingerprint}"),
                    Auth::Token(_) => "token <redacted>".to_string(),
                },
            )
            .finish()
    }
}

/// A bind value: Snowflake types `TEXT` or `FIXED`. Values are sent in the
/// request body, never spliced into SQL (and never logged).
pub struct Bind {
    kind: &'static str,
    value: String,
}

impl Bind {
    pub fn text(value: impl Into<String>) -> Bind {
        Bind {
            kind: "TEXT",
            value: value.into(),
        }
    }
    pub fn fixed(value: i64) -> Bind {
        Bind {
            kind: "FIXED",
            value: value.to_string(),
        }
    }
}

impl fmt::Debug for Bind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Bind({}, <redacted>)", self.kind)
    }
}

/// One statement and what it is for ("register vpce-... with Snowflake"),
/// the purpose being what errors name.
pub struct Statement<'a> {
    pub purpose: &'a str,
    pub sql: &'a str,
    pub binds: Vec<Bind>,
    /// How long the statement may take, polling included; it is canceled
    /// afterwards.
    pub timeout: Duration,
}

/// A finished statement's result.
#[derive(Debug, Clone)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// `createdOn`: when Snowflake created the statement (ms since epoch).
    pub created_on_ms: Option<i64>,
    pub statement_handle: Option<String>,
}

impl ResultSet {
    /// The first cell, as SYSTEM$ functions answer.
    pub fn first_cell(&self) -> Option<&str> {
        self.rows.first()?.first()?.as_deref()
    }
}

/// One entry of SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// The AWS account of the endpoint.
    pub consumer_endpoint_id: String,
    #[serde(default)]
    pub consumer_endpoint_type: Option<String>,
    /// The VPC endpoint ID.
    pub pinned_consumer_endpoint_id: String,
    #[serde(default)]
    pub provider_service_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnowflakeError {
    /// The statement ran and failed (HTTP 422).
    Statement {
        purpose: String,
        code: String,
        sql_state: String,
        message: String,
        /// Snowflake's statement handle, the query ID its support asks for.
        query_id: String,
    },
    /// Authentication or authorization refused (401/403).
    Auth {
        purpose: String,
        status: u16,
        code: String,
        message: String,
    },
    /// Any other HTTP answer we cannot use, after retries.
    Http {
        purpose: String,
        status: u16,
        code: String,
        message: String,
    },
    /// Snowflake could not be reached.
    Transport {
        purpose: String,
        detail: String,
    },
    TimedOut {
        purpose: String,
        after: Duration,
        canceled: bool,
    },
    Stopped {
        purpose: String,
        canceled: bool,
    },
    /// An answer that is not the documented shape.
    Protocol {
        purpose: String,
        detail: String,
    },
}

impl SnowflakeError {
    pub fn code(&self) -> Option<&str> {
        match self {
            SnowflakeError::Statement { code, .. }
            | SnowflakeError::Auth { code, .. }
            | SnowflakeError::Http { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn message(&self) -> Option<&str> {
        match self {
            SnowflakeError::Statement { message, .. }
            | SnowflakeError::Auth { message, .. }
            | SnowflakeError::Http { message, .. } => Some(message),
            _ => None,
        }
    }
}

impl SnowflakeClient {
    /// Parses the key (decrypting it if needed) and builds the HTTP client.
    /// Nothing is sent to Snowflake yet.
    pub fn new(cfg: &SnowflakeConfig) -> Result<SnowflakeClient, Diagnostics> {
        let auth = match &cfg.auth {
            SnowflakeAuth::Token(t) => Auth::Token(t.clone()),
            SnowflakeAuth::KeyPair {
                private_key_pem,
                passphrase,
            } => {
                let key = load_private_key(
                    private_key_pem.expose(),
                    passphrase.as_ref().map(Secret::expose),
                )
                // No attribute path: this runs inside a resource's call,
                // whose paths name the resource's attributes, not the
                // provider block's.
                .map_err(|detail| {
                    Diagnostics::from(Diagnostic::error(
                        "Invalid Snowflake private key in the provider's snowflake block",
                        detail,
                    ))
                })?;
                let fingerprint = public_key_fingerprint(&key).map_err(|detail| {
                    Diagnostics::from(Diagnostic::error("Invalid Snowflake private key", detail))
                })?;
                Auth::KeyPair { key, fingerprint }
            }
        };
        let base_url = match &cfg.host {
            Some(h) => h.trim_end_matches('/').to_string(),
            None => default_url(&cfg.account),
        };
        Ok(SnowflakeClient {
            base_url,
            account: cfg.account.clone(),
            jwt_account: jwt_account(&cfg.account),
            user: cfg.user.to_uppercase(),
            role: cfg.role.clone(),
            auth,
            jwt_cache: std::sync::Mutex::new(None),
            http: http_client(),
            locator: tokio::sync::OnceCell::new(),
            endpoint_service: tokio::sync::OnceCell::new(),
            registrations: Coalesce::default(),
            backoff: Duration::from_millis(250),
            max_attempts: cfg.max_attempts.max(1),
        })
    }

    /// The public key fingerprint the JWTs name, when key-pair auth is used.
    pub fn key_fingerprint(&self) -> Option<&str> {
        match &self.auth {
            Auth::KeyPair { fingerprint, .. } => Some(fingerprint),
            Auth::Token(_) => None,
        }
    }

    /// The account locator (`CURRENT_ACCOUNT()`), which pin IDs use because
    /// it is what Snowflake reports whatever identifier was configured.
    pub async fn account_locator<S: Future<Output = ()>>(
        &self,
        stopped: S,
    ) -> Result<&str, SnowflakeError> {
        self.locator
            .get_or_try_init(|| async {
                let rs = self
                    .execute(
                        &Statement {
                            purpose: "read the account locator",
                            sql: "SELECT CURRENT_ACCOUNT()",
                            binds: vec![],
                            timeout: Duration::from_secs(120),
                        },
                        stopped,
                    )
                    .await?;
                rs.first_cell()
                    .map(str::to_string)
                    .ok_or_else(|| SnowflakeError::Protocol {
                        purpose: "read the account locator".into(),
                        detail: "CURRENT_ACCOUNT() returned no value".into(),
                    })
            })
            .await
            .map(String::as_str)
    }

    /// Snowflake's endpoint service for this account (`privatelink-vpce-id`
    /// of SYSTEM$GET_PRIVATELINK_CONFIG), read once: it is fixed for the
    /// account's deployment. None when the account reports none.
    pub async fn endpoint_service_name<S: Future<Output = ()>>(
        &self,
        timeout: Duration,
        stopped: S,
    ) -> Result<Option<&str>, SnowflakeError> {
        self.endpoint_service
            .get_or_try_init(|| async {
                let cfg = self.privatelink_config(timeout, stopped).await?;
                Ok(cfg
                    .get("privatelink-vpce-id")
                    .and_then(Json::as_str)
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string))
            })
            .await
            .map(Option::as_deref)
    }

    /// `SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS()`: the account's pins,
    /// as listed by a call made after this one asked (shared with the pins
    /// that asked meanwhile).
    pub async fn endpoint_registrations<S: Future<Output = ()>>(
        &self,
        timeout: Duration,
        stopped: S,
    ) -> Result<Arc<Vec<Registration>>, SnowflakeError> {
        self.registrations
            .get((), |_| self.list_registrations(timeout, stopped))
            .await
    }

    async fn list_registrations<S: Future<Output = ()>>(
        &self,
        timeout: Duration,
        stopped: S,
    ) -> Result<Vec<Registration>, SnowflakeError> {
        let purpose = "list the account's private endpoint registrations";
        let json = self
            .system_json(
                &Statement {
                    purpose,
                    sql: "SELECT SYSTEM$GET_PRIVATELINK_ENDPOINT_REGISTRATIONS()",
                    binds: vec![],
                    timeout,
                },
                stopped,
            )
            .await?;
        serde_json::from_value(json).map_err(|e| SnowflakeError::Protocol {
            purpose: purpose.into(),
            detail: format!("the registrations are not the documented list ({e})"),
        })
    }

    /// `SYSTEM$GET_PRIVATELINK_CONFIG()`: the account's PrivateLink facts.
    pub async fn privatelink_config<S: Future<Output = ()>>(
        &self,
        timeout: Duration,
        stopped: S,
    ) -> Result<serde_json::Map<String, Json>, SnowflakeError> {
        let purpose = "read the account's PrivateLink configuration";
        match self
            .system_json(
                &Statement {
                    purpose,
                    sql: "SELECT SYSTEM$GET_PRIVATELINK_CONFIG()",
                    binds: vec![],
                    timeout,
                },
                stopped,
            )
            .await?
        {
            Json::Object(m) => Ok(m),
            _ => Err(SnowflakeError::Protocol {
                purpose: purpose.into(),
                detail: "the configuration is not a JSON object".into(),
            }),
        }
    }

    /// Runs a `SYSTEM$` function whose text answer is JSON, and parses it.
    pub async fn system_json<S: Future<Output = ()>>(
        &self,
        stmt: &Statement<'_>,
        stopped: S,
    ) -> Result<Json, SnowflakeError> {
        let rs = self.execute(stmt, stopped).await?;
        let text = rs.first_cell().ok_or_else(|| SnowflakeError::Protocol {
            purpose: stmt.purpose.into(),
            detail: "the function returned no value".into(),
        })?;
        serde_json::from_str(text).map_err(|e| SnowflakeError::Protocol {
            purpose: stmt.purpose.into(),
            detail: format!("the function's answer is not JSON ({e})"),
        })
    }

    /// Submits a statement and waits for its result.
    pub async fn execute<S: Future<Output = ()>>(
        &self,
        stmt: &Statement<'_>,
        stopped: S,
    ) -> Result<ResultSet, SnowflakeError> {
        tokio::pin!(stopped);
        let deadline = Instant::now() + stmt.timeout;
        let purpose = stmt.purpose;
        let request_id = new_request_id();
        let body = self.body(stmt);
        let mut attempt = 0u32;
        let (status, payload) = loop {
            attempt += 1;
            let retry = if attempt > 1 { "&retry=true" } else { "" };
            let url = format!(
                "{}/api/v2/statements?requestId={request_id}{retry}",
                self.base_url
            );
            tracing::debug!(
                purpose,
                request_id = %request_id,
                attempt,
                "submitting Snowflake statement"
            );
            let outcome = tokio::select! {
                r = self.send(hyper::Method::POST, &url, Some(body.clone()), purpose) => r,
                _ = &mut stopped => return Err(SnowflakeError::Stopped { purpose: purpose.into(), canceled: false }),
            };
            let wait = match outcome {
                Ok((status, retry_after, payload)) => {
                    tracing::debug!(purpose, request_id = %request_id, status, "Snowflake answered");
                    if !is_retryable(status) {
                        break (status, payload);
                    }
                    if attempt >= self.max_attempts {
                        return Err(http_error(purpose, status, &payload));
                    }
                    retry_after.unwrap_or_else(|| self.backoff_for(attempt))
                }
                Err(e) => {
                    // The statement may or may not have run: resubmitting
                    // with retry=true is exactly what requestId is for.
                    if attempt >= self.max_attempts {
                        return Err(e);
                    }
                    tracing::debug!(purpose, request_id = %request_id, "Snowflake unreachable; retrying");
                    self.backoff_for(attempt)
                }
            };
            let now = Instant::now();
            if now + wait >= deadline {
                return Err(SnowflakeError::TimedOut {
                    purpose: purpose.into(),
                    after: stmt.timeout,
                    canceled: false,
                });
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = &mut stopped => return Err(SnowflakeError::Stopped { purpose: purpose.into(), canceled: false }),
            }
        };
        match status {
            200 => parse_result(purpose, &payload),
            202 => self.wait(stmt, &payload, deadline, &mut stopped).await,
            _ => Err(http_error(purpose, status, &payload)),
        }
    }

    /// Polls a running statement until it finishes; cancels it when the
    /// deadline passes or Terraform asks to stop.
    async fn wait<S: Future<Output = ()>>(
        &self,
        stmt: &Statement<'_>,
        accepted: &Json,
        deadline: Instant,
        stopped: &mut std::pin::Pin<&mut S>,
    ) -> Result<ResultSet, SnowflakeError> {
        let purpose = stmt.purpose;
        let handle = accepted
            .get("statementHandle")
            .and_then(Json::as_str)
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
            .ok_or_else(|| SnowflakeError::Protocol {
                purpose: purpose.into(),
                detail: "a 202 answer without a statement handle".into(),
            })?
            .to_string();
        // Only a path on the same host: the bearer token must never go to a
        // host the configuration did not name.
        let status_path = accepted
            .get("statementStatusUrl")
            .and_then(Json::as_str)
            .filter(|u| u.starts_with("/api/v2/statements/"))
            .map(str::to_string)
            .unwrap_or_else(|| format!("/api/v2/statements/{handle}"));
        let status_url = format!("{}{status_path}", self.base_url);
        let mut delay = Duration::from_millis(200);
        loop {
            let now = Instant::now();
            if now >= deadline {
                let canceled = self.cancel(&handle, purpose).await;
                return Err(SnowflakeError::TimedOut {
                    purpose: purpose.into(),
                    after: stmt.timeout,
                    canceled,
                });
            }
            let sleep = delay.min(deadline - now);
            tokio::select! {
                _ = tokio::time::sleep(sleep) => {}
                _ = stopped.as_mut() => {
                    let canceled = self.cancel(&handle, purpose).await;
                    return Err(SnowflakeError::Stopped { purpose: purpose.into(), canceled });
                }
            }
            delay = (delay * 2).min(Duration::from_secs(5));
            tracing::debug!(purpose, statement_handle = %handle, "polling Snowflake statement");
            match self
                .send(hyper::Method::GET, &status_url, None, purpose)
                .await
            {
                Ok((200, _, payload)) => return parse_result(purpose, &payload),
                Ok((202, _, _)) => {}
                Ok((status, retry_after, _)) if is_retryable(status) => {
                    if let Some(r) = retry_after {
                        delay = r;
                    }
                }
                Ok((status, _, payload)) => return Err(http_error(purpose, status, &payload)),
                // A lost poll is harmless: poll again.
                Err(_) => {}
            }
        }
    }

    /// Best-effort cancel; true when Snowflake confirmed it.
    async fn cancel(&self, handle: &str, purpose: &str) -> bool {
        let url = format!("{}/api/v2/statements/{handle}/cancel", self.base_url);
        tracing::debug!(purpose, statement_handle = %handle, "canceling Snowflake statement");
        matches!(
            self.send(
                hyper::Method::POST,
                &url,
                Some(Bytes::from_static(b"{}")),
                purpose
            )
            .await,
            Ok((200, _, _))
        )
    }

    fn backoff_for(&self, attempt: u32) -> Duration {
        let base = self.backoff * 2u32.saturating_pow(attempt.saturating_sub(1).min(6));
        base.min(Duration::from_secs(16)) + jitter(self.backoff)
    }

    fn body(&self, stmt: &Statement<'_>) -> Bytes {
        let mut bindings = serde_json::Map::new();
        for (i, b) in stmt.binds.iter().enumerate() {
            bindings.insert(
                (i + 1).to_string(),
                serde_json::json!({"type": b.kind, "value": b.value}),
            );
        }
        let mut body = serde_json::json!({
            "statement": stmt.sql,
            "timeout": stmt.timeout.as_secs().max(1),
            "role": self.role,
        });
        if !bindings.is_empty() {
            body["bindings"] = Json::Object(bindings);
        }
        Bytes::from(body.to_string())
    }

    /// One HTTP exchange: (status, Retry-After, JSON body or null).
    async fn send(
        &self,
        method: hyper::Method,
        url: &str,
        body: Option<Bytes>,
        purpose: &str,
    ) -> Result<(u16, Option<Duration>, Json), SnowflakeError> {
        let transport = |detail: String| SnowflakeError::Transport {
            purpose: purpose.into(),
            detail,
        };
        let mut req = hyper::Request::builder()
            .method(method)
            .uri(url)
            .header(hyper::header::ACCEPT, "application/json")
            .header(hyper::header::USER_AGENT, USER_AGENT);
        // Marked sensitive so HTTP libraries never print it.
        let bearer = |token: &str| {
            hyper::header::HeaderValue::from_str(&format!("Bearer {token}")).map(|mut v| {
                v.set_sensitive(true);
                v
            })
        };
        match &self.auth {
            Auth::KeyPair { key, fingerprint } => {
                let jwt = self
                    .jwt(key, fingerprint)
                    .map_err(|d| SnowflakeError::Protocol {
                        purpose: purpose.into(),
                        detail: d,
                    })?;
                let value =
                    bearer(&jwt).map_err(|_| transport("the JWT is not a valid header".into()))?;
                req = req
                    .header(hyper::header::AUTHORIZATION, value)
                    .header("X-Snowflake-Authorization-Token-Type", "KEYPAIR_JWT");
            }
            // Documented: without the type header Snowflake tells a
            // programmatic access token from an OAuth token itself.
            Auth::Token(t) => {
                let value = bearer(t.expose()).map_err(|_| {
                    transport("the Snowflake token has characters a header cannot carry".into())
                })?;
                req = req.header(hyper::header::AUTHORIZATION, value);
            }
        }
        let has_body = body.is_some();
        if has_body {
            req = req.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        let req = req
            .body(Full::new(body.unwrap_or_default()))
            .map_err(|e| transport(format!("invalid request to {}: {e}", self.base_url)))?;
        // One bound for the answer's head and body alike: a proxy that
        // stalls after the headers must not hang a poll past it.
        let deadline = tokio::time::Instant::now() + REQUEST_TIMEOUT;
        let resp = match tokio::time::timeout_at(deadline, self.http.request(req)).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return Err(transport(format!("{}: {}", self.base_url, error_chain(&e)))),
            Err(_) => {
                return Err(transport(format!(
                    "{} did not answer within {}s",
                    self.base_url,
                    REQUEST_TIMEOUT.as_secs()
                )))
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get(hyper::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(60)));
        let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES).collect();
        let bytes = match tokio::time::timeout_at(deadline, body).await {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(e)) => {
                return Err(transport(format!(
                    "reading the answer from {} failed: {e}",
                    self.base_url
                )))
            }
            Err(_) => {
                return Err(transport(format!(
                    "{} did not finish its answer within {}s",
                    self.base_url,
                    REQUEST_TIMEOUT.as_secs()
                )))
            }
        };
        let payload = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
        Ok((status, retry_after, payload))
    }

    /// A JWT for the next request: the last one signed while it is less
    /// than `JWT_REUSE` old (a clock that went back signs a new one), else
    /// a fresh one.
    fn jwt(&self, key: &RsaKeyPair, fingerprint: &str) -> Result<String, String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_err(|_| "the system clock is before 1970".to_string())?
            .as_secs();
        let mut cache = self.jwt_cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((iat, token)) = cache.as_ref() {
            if *iat <= now && now < iat + JWT_REUSE.as_secs() {
                return Ok(token.clone());
            }
        }
        let token = self.sign_jwt_at(key, fingerprint, now)?;
        *cache = Some((now, token.clone()));
        Ok(token)
    }

    fn sign_jwt_at(&self, key: &RsaKeyPair, fingerprint: &str, now: u64) -> Result<String, String> {
        let qualified = format!("{}.{}", self.jwt_account, self.user);
        let claims = serde_json::json!({
            "iss": format!("{qualified}.{fingerprint}"),
            "sub": qualified,
            "iat": now,
            "exp": now + JWT_LIFETIME.as_secs(),
        });
        sign_jwt(key, &claims)
    }
}

/// `ORGNAME.ACCOUNT_NAME`, as Snowsight copies an account identifier, in
/// the `ORGNAME-ACCOUNT_NAME` form URLs and JWTs take. A locator's region
/// (`xy12345.us-east-2.aws`, `xy12345.eu-west-1`) always has a hyphen; an
/// account name never does.
fn org_account(account: &str) -> std::borrow::Cow<'_, str> {
    match account.split_once('.') {
        Some((org, name)) if !name.contains(['.', '-']) && !org.is_empty() && !name.is_empty() => {
            format!("{org}-{name}").into()
        }
        _ => account.into(),
    }
}

/// `https://<account>.snowflakecomputing.com`; underscores become hyphens
/// since they are not valid in host names (Snowflake accepts both forms).
fn default_url(account: &str) -> String {
    format!(
        "https://{}.snowflakecomputing.com",
        org_account(account).to_lowercase().replace('_', "-")
    )
}

/// The account as JWT claims name it: upper case, and for a locator with a
/// region (`xy12345.us-east-2.aws`) only the locator.
pub fn jwt_account(account: &str) -> String {
    let account = org_account(account);
    account.split('.').next().unwrap_or(&account).to_uppercase()
}

fn http_client() -> HttpClient {
    use hyper_rustls::ConfigBuilderExt as _;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports the default TLS versions");
    // A machine without a CA bundle can still reach an http:// emulator;
    // https then fails with a certificate error naming the host.
    let tls = match builder.clone().with_native_roots() {
        Ok(b) => b.with_no_client_auth(),
        Err(_) => builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
    };
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(super::proxy::ProxyConnector::from_env());
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(https)
}

/// 429 and 503/504 as documented, and 500/502 too: a resubmission carries
/// the same requestId with retry=true, so Snowflake does not run again a
/// statement that succeeded, and a transient server fault must not fail an
/// apply.
fn is_retryable(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

fn jitter(scale: Duration) -> Duration {
    let mut b = [0u8; 2];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut b);
    scale.mul_f64(f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX))
}

/// A UUID v4 from the system's secure random source.
fn new_request_id() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::SystemRandom::new().fill(&mut b).is_err() {
        // Uniqueness is all requestId needs; the clock is a fine fallback.
        let n = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        b = n.to_le_bytes();
    }
    uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn field(payload: &Json, name: &str) -> String {
    match payload.get(name) {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn http_error(purpose: &str, status: u16, payload: &Json) -> SnowflakeError {
    let code = field(payload, "code");
    let message = field(payload, "message");
    match status {
        422 => SnowflakeError::Statement {
            purpose: purpose.into(),
            code,
            sql_state: field(payload, "sqlState"),
            message,
            query_id: field(payload, "statementHandle"),
        },
        401 | 403 => SnowflakeError::Auth {
            purpose: purpose.into(),
            status,
            code,
            message,
        },
        _ => SnowflakeError::Http {
            purpose: purpose.into(),
            status,
            code,
            message,
        },
    }
}

fn parse_result(purpose: &str, payload: &Json) -> Result<ResultSet, SnowflakeError> {
    let protocol = |detail: &str| SnowflakeError::Protocol {
        purpose: purpose.into(),
        detail: detail.into(),
    };
    let columns = payload
        .pointer("/resultSetMetaData/rowType")
        .and_then(Json::as_array)
        .map(|cols| {
            cols.iter()
                .map(|c| {
                    c.get("name")
                        .and_then(Json::as_str)
                        .unwrap_or_default()
                        .to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    let rows = payload
        .get("data")
        .and_then(Json::as_array)
        .ok_or_else(|| protocol("the answer has no data"))?
        .iter()
        .map(|row| {
            row.as_array()
                .map(|cells| {
                    cells
                        .iter()
                        .map(|c| match c {
                            Json::Null => None,
                            Json::String(s) => Some(s.clone()),
                            other => Some(other.to_string()),
                        })
                        .collect()
                })
                .ok_or_else(|| protocol("a row of the answer is not a list"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ResultSet {
        columns,
        rows,
        created_on_ms: payload.get("createdOn").and_then(Json::as_i64),
        statement_handle: payload
            .get("statementHandle")
            .and_then(Json::as_str)
            .map(str::to_string),
    })
}

/// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), encrypted PKCS#8
/// (`ENCRYPTED PRIVATE KEY`, PBES2 as `openssl pkcs8 -topk8 -v2 des3` or
/// `-v2 aes256` writes it), or PKCS#1 (`RSA PRIVATE KEY`). Errors never
/// quote the key.
pub fn load_private_key(pem: &str, passphrase: Option<&str>) -> Result<RsaKeyPair, String> {
    let (label, der) = der::pem::decode_vec(pem.trim().as_bytes()).map_err(|e| {
        format!("the key is not valid PEM ({e}); expected a PKCS#8 key as `openssl pkcs8 -topk8` writes it")
    })?;
    let key = match label {
        "PRIVATE KEY" => RsaKeyPair::from_pkcs8(&der),
        "RSA PRIVATE KEY" => RsaKeyPair::from_der(&der),
        "ENCRYPTED PRIVATE KEY" => {
            let Some(pass) = passphrase else {
                return Err("the key is encrypted: set private_key_passphrase".into());
            };
            let plain = decrypt_pkcs8(&der, pass)?;
            // A wrong passphrase can decrypt to garbage with valid padding.
            return RsaKeyPair::from_pkcs8(&plain).map_err(|_| {
                "the key could not be decrypted to an RSA key: check private_key_passphrase".to_string()
            });
        }
        other => {
            return Err(format!(
                "a PEM block labelled {other:?} is not a private key; expected PRIVATE KEY or ENCRYPTED PRIVATE KEY"
            ))
        }
    };
    key.map_err(|e| {
        format!("the key is not an RSA private key Snowflake accepts (2048 bits or more): {e}")
    })
}

fn decrypt_pkcs8(der_bytes: &[u8], passphrase: &str) -> Result<Vec<u8>, String> {
    use der::{Decode as _, Reader as _};
    let bad = |e: der::Error| format!("the encrypted key is malformed ({e})");
    let mut reader = der::SliceReader::new(der_bytes).map_err(bad)?;
    let (scheme, data) = reader
        .sequence(|r| {
            let scheme = pkcs5::EncryptionScheme::decode(r)?;
            let data = <&der::asn1::OctetStringRef>::decode(r)?;
            Ok::<_, der::Error>((scheme, data.as_bytes().to_vec()))
        })
        .map_err(bad)?;
    scheme.decrypt(passphrase, &data).map_err(|e| match e {
        pkcs5::Error::DecryptFailed => {
            "the key could not be decrypted: check private_key_passphrase".to_string()
        }
        other => format!("the key's encryption is not supported ({other}); re-encrypt it with `openssl pkcs8 -topk8 -v2 aes256`"),
    })
}

/// `SHA256:<base64>` of the public key's SubjectPublicKeyInfo DER, as
/// Snowflake computes RSA_PUBLIC_KEY_FP.
pub fn public_key_fingerprint(key: &RsaKeyPair) -> Result<String, String> {
    use aws_lc_rs::signature::KeyPair as _;
    let spki = key
        .public_key()
        .as_der()
        .map_err(|_| "cannot encode the public key".to_string())?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki.as_ref());
    Ok(format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD.encode(digest.as_ref())
    ))
}

/// A compact RS256 JWT of `claims`.
pub fn sign_jwt(key: &RsaKeyPair, claims: &Json) -> Result<String, String> {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
    let payload = b64.encode(claims.to_string());
    let signing_input = format!("{header}.{payload}");
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut sig,
    )
    .map_err(|_| "signing the JWT failed".to_string())?;
    Ok(format!("{signing_input}.{}", b64.encode(sig)))
}

/// A Snowflake failure as a diagnostic: what the statement was for, and
/// Snowflake's code and message, with a hint for the usual causes.
pub fn diagnostic(err: &SnowflakeError, client: Option<&SnowflakeClient>) -> Diagnostic {
    let who = client
        .map(|c| format!(" (account {}, user {}, role {})", c.account, c.user, c.role))
        .unwrap_or_default();
    match err {
        SnowflakeError::Statement {
            purpose,
            code,
            sql_state,
            message,
            query_id,
        } => {
            let mut detail = format!("Snowflake error {code} (SQL state {sql_state}): {message}");
            if !query_id.is_empty() {
                detail.push_str(&format!(" (query ID {query_id})"));
            }
            if code == "003001" || sql_state == "42501" {
                detail.push_str(&format!(
                    "\n\nPrivateLink system functions need the ACCOUNTADMIN role{who}. Set role = \"ACCOUNTADMIN\" in the provider's snowflake block (the default) and grant it to the user."
                ));
            } else if code == "390189" {
                detail.push_str(&format!(
                    "\n\nThe role is not granted to the user{who}. Role names are case-sensitive in the SQL API: an unquoted role is stored in upper case."
                ));
            }
            Diagnostic::error(format!("Snowflake failed to {purpose}"), detail)
        }
        SnowflakeError::Auth {
            purpose,
            status,
            code,
            message,
        } => {
            let mut detail = format!("Snowflake refused the credentials (HTTP {status}, error {code}): {message}");
            match client.map(|c| (&c.auth, c)) {
                Some((Auth::KeyPair { fingerprint, .. }, c)) => detail.push_str(&format!(
                    "\n\nKey-pair authentication as {}.{}: check that the user's RSA_PUBLIC_KEY (or RSA_PUBLIC_KEY_2) matches the configured private key, whose public key fingerprint is {fingerprint} (DESCRIBE USER shows RSA_PUBLIC_KEY_FP), and that account and user name the right account.",
                    c.jwt_account, c.user
                )),
                Some((Auth::Token(_), _)) => detail.push_str(
                    "\n\nToken authentication: the programmatic access token or OAuth token is invalid, expired or not for this account.",
                ),
                None => {}
            }
            Diagnostic::error(format!("Snowflake authentication failed while trying to {purpose}"), detail)
        }
        SnowflakeError::Http {
            purpose,
            status,
            code,
            message,
        } => Diagnostic::error(
            format!("Snowflake failed to {purpose}"),
            if code.is_empty() && message.is_empty() {
                format!("Snowflake answered HTTP {status}.")
            } else {
                format!("Snowflake answered HTTP {status}, error {code}: {message}")
            },
        ),
        SnowflakeError::Transport { purpose, detail } => Diagnostic::error(
            format!("Cannot reach Snowflake to {purpose}"),
            format!("{detail}. Check snowflake.account or snowflake.host, the network path, and the proxy settings (HTTPS_PROXY, NO_PROXY)."),
        ),
        SnowflakeError::TimedOut {
            purpose,
            after,
            canceled,
        } => Diagnostic::error(
            format!("Timed out waiting for Snowflake to {purpose}"),
            format!(
                "The statement did not finish within {}s{}. Raise the timeout in the `timeouts` block if the account is busy.",
                after.as_secs(),
                if *canceled { "; it was canceled" } else { "" }
            ),
        ),
        SnowflakeError::Stopped { purpose, canceled } => Diagnostic::error(
            format!("Stopped while waiting for Snowflake to {purpose}"),
            format!(
                "Terraform asked the provider to stop{}; run apply again to finish.",
                if *canceled { " and the statement was canceled" } else { "" }
            ),
        ),
        SnowflakeError::Protocol { purpose, detail } => Diagnostic::error(
            format!("Unexpected answer from Snowflake while trying to {purpose}"),
            format!("{detail}."),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A throwaway test key, encrypted the way Snowflake's key-pair guide
    /// says (`openssl genrsa 2048 | openssl pkcs8 -topk8 -v2 des3`),
    /// passphrase "test-passphrase". DES3_FINGERPRINT is what
    /// `openssl pkey -pubout -outform DER | openssl dgst -sha256 -binary | base64` printed.
    const DES3_KEY: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----
MIIFHDBOBgkqhkiG9w0BBQ0wQTApBgkqhkiG9w0BBQwwHAQIbwLS7CZvqqYCAggA
MAwGCCqGSIb3DQIJBQAwFAYIKoZIhvcNAwcECIgI1Cv417ehBIIEyIWDkUXrX2es
JXmDtrVF0c5l6pqJvj9nWLsRoZuL/HKRgs/xl/PypgSVM9ICKDKFnIG6KWoA3MGJ
O0h6VV0Eewm+cur0ZFjLPpfS8aHI46oE5C1XTtMKo2obGIVPUjU5jp+HfzRgObDp
AB0TvkFLmttbMcj1XgjX4/DmVHlYctyaYWQ39FhJ/w0uAQvkwa4IR6Smryep0Rzs
xmMRkhXqAHz5HabdVv233WN3ytZw5wcJONWUZdZedeXPhShErgdO+xnJNxgb6vVT
miPgIgdeAvH1+gob3QFkfe1US9eE7NyQuHMF4ccPpiCaHBuMxoyRXRiDf57CKh8H
rDL/yrFNi8Os1FI4U3dTIL5pZhnsndyZ54lLPjwt1Z1JAxo7XbRZRVxFUJ/3FL28
t4n4PMJGIREwoVKccfrZsL32ZDRJcgtram24VqQ+ATyKndVC0bGHAs+ragUyfWqf
Eq2kNV0C6JrrrQwtFUhY7xtZrgQc8ZvJocug0acBqWVG4B/F/mUUnnCR3She/Uro
F+SBwL5ADGqQnNDFFvKAHH5PLe7L35EnEq8PjeViLzaHiPhyEjxZf7Hx4mddtMkq
JzoXg/2SqcHAqOLQH/eB2oRCFdsoAoklrNs8FkJeHA2eGoMs/OTv5sweAlR7nOgl
RcidhR4EBZQcnwH+OJXHvnT0XwoN1i9RwPWYf/XB1VtrnEgBKXbEIyMerZ08HboO
+gG5hij/bs42SrrB7imcS0rtaGa2HhvIZRujZ/dTRP5NkR0lLz5jJ828XIggJCz/
RbP4dq6Wuf4weHOvowGcUVltLWjN9ufoRsocHlIPZ7i/KUmkK5Y3D3TkjjBdCbgU
OlFigIc7M/YZ7pOA+0jMfPxf39a+/nhBKfOz8/vZlD6/7p/unbO7rZdml1sHicPQ
Q6TGfAe2Yfh1WRw7VS0eyg/1PP9MJ7APDos/W8ewrpP78TVvHAL7ge6r8TUnoReR
cNOd7qXTXLs3nAKRiKokZTcS+TWhc8wuXG4K6fAFsbGqn1uPXGmlotOTZXlf+UBk
+V1AAzWSgqcW+WALOB8sasrxq7P60T0sqrl0NQoBm5fnamKqzRWRYkENC43e+2E+
UBHjiJjzqmk4Cq8JYLAETmWa2zh+Pzp0tlLhaiMP50UuPPsySLu/gv0XBJVeWMp2
r4vrKn5/TRC06+aGWl84RQWdS7/o65iaUgC7QJYFTHGy8D8qcI7Ow+zIiNgDebrN
xvIjk1zwclnRgFGMTDN8PiQ0CLxrzcIrt/fls3ab7jrEA8orGvXt1x8fmZMfnO4U
7OgBDDJ4M3YVJS6ejwi+oqcH3JwIA/b4PrCdcUD9AWOVlNytrrHlsHB2TSOG3Be2
jc84r4Uo1NkUdXiMgahZ3RrS4r8LVau3Ogzv3RPOhcUEwZ2blFiJusxKsRuVwq58
JMlTEQGFCPp1POGnEBVFwNm9t17fHGCrD5jLYoGTQg/cuMlM2SyGxFmv3eXy/Mmi
gy+qikWWlUnGiJ8qdqG5CZh7BBQPQgCfUBqn25UmPPPBi1BSC1LtI24TkeaXRIqh
keAMR/K0+idXUOa7Q79cqPR8jDJpRpjpLfrdDxChzMsVK358RaSesL8ftVG2QYy1
XGn5X8rvUlvS7jmeKXw1nQ==
-----END ENCRYPTED PRIVATE KEY-----";
    const DES3_FINGERPRINT: &str = "A6ydbHuLvlBFB3kMhMAxgYLUw6TCAapzTRpK48IrE0k=";

    #[test]
    fn des3_encrypted_pkcs8_decrypts_to_the_right_key() {
        let key = load_private_key(DES3_KEY, Some("test-passphrase")).unwrap();
        assert_eq!(
            public_key_fingerprint(&key).unwrap(),
            format!("SHA256:{}", DES3_FINGERPRINT.trim())
        );
    }

    /// Key files saved on Windows end their lines in CRLF.
    #[test]
    fn keys_with_crlf_line_ends_load() {
        let crlf = DES3_KEY.replace('\n', "\r\n");
        let key = load_private_key(&crlf, Some("test-passphrase")).unwrap();
        assert_eq!(
            public_key_fingerprint(&key).unwrap(),
            format!("SHA256:{}", DES3_FINGERPRINT.trim())
        );
    }

    #[test]
    fn key_errors_never_quote_the_key() {
        let wrong = load_private_key(DES3_KEY, Some("wrong")).unwrap_err();
        assert!(wrong.contains("private_key_passphrase"), "{wrong}");
        let missing = load_private_key(DES3_KEY, None).unwrap_err();
        assert!(missing.contains("encrypted"), "{missing}");
        let body_line = DES3_KEY.lines().nth(1).unwrap();
        for e in [&wrong, &missing] {
            assert!(!e.contains(body_line), "{e}");
        }
        let garbage = load_private_key(
            "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----",
            None,
        )
        .unwrap_err();
        assert!(!garbage.contains("not base64!"), "{garbage}");
    }

    /// A client whose JWTs can be inspected; it never reaches a server.
    fn offline_client(account: &str) -> SnowflakeClient {
        SnowflakeClient {
            base_url: "http://127.0.0.1:1".into(),
            account: account.into(),
            jwt_account: jwt_account(account),
            user: "TERRAFORM".into(),
            role: "ACCOUNTADMIN".into(),
            auth: Auth::Token(Secret::new("unused".into())),
            jwt_cache: std::sync::Mutex::new(None),
            http: http_client(),
            locator: tokio::sync::OnceCell::new(),
            endpoint_service: tokio::sync::OnceCell::new(),
            registrations: Coalesce::default(),
            backoff: Duration::from_millis(1),
            max_attempts: 8,
        }
    }

    #[test]
    fn jwt_has_snowflake_claims_and_verifies() {
        use aws_lc_rs::signature::{KeyPair as _, UnparsedPublicKey, RSA_PKCS1_2048_8192_SHA256};
        let key = load_private_key(DES3_KEY, Some("test-passphrase")).unwrap();
        let fp = public_key_fingerprint(&key).unwrap();
        let client = offline_client("myorg-acct_1");
        let token = client.jwt(&key, &fp).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let claims: Json = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        assert_eq!(claims["sub"], "MYORG-ACCT_1.TERRAFORM");
        assert_eq!(claims["iss"], format!("MYORG-ACCT_1.TERRAFORM.{fp}"));
        let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
        assert_eq!(lifetime, JWT_LIFETIME.as_secs());
        let public = UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, key.public_key().as_ref());
        public
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &b64.decode(parts[2]).unwrap(),
            )
            .expect("signature verifies");
        assert!(!format!("{client:?}").contains("unused"));
    }

    #[test]
    fn jwt_is_reused_within_the_window_then_signed_again() {
        let key = load_private_key(DES3_KEY, Some("test-passphrase")).unwrap();
        let fp = public_key_fingerprint(&key).unwrap();
        let client = offline_client("acct");
        let first = client.jwt(&key, &fp).unwrap();
        assert_eq!(client.jwt(&key, &fp).unwrap(), first);
        // Older than the reuse window (or from a clock that went back): a
        // new token with its own iat.
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        for iat in [now - JWT_REUSE.as_secs(), now + 3600] {
            *client.jwt_cache.lock().unwrap() = Some((iat, "stale".into()));
            let fresh = client.jwt(&key, &fp).unwrap();
            assert_ne!(fresh, "stale");
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let claims: Json =
                serde_json::from_slice(&b64.decode(fresh.split('.').nth(1).unwrap()).unwrap())
                    .unwrap();
            assert!(claims["iat"].as_u64().unwrap() >= now);
        }
        assert!(!format!("{client:?}").contains("stale"));
    }

    #[test]
    fn accounts_and_urls() {
        assert_eq!(jwt_account("xy12345.us-east-2.aws"), "XY12345");
        assert_eq!(jwt_account("myorg-myaccount"), "MYORG-MYACCOUNT");
        assert_eq!(jwt_account("xy12345.eu-west-1"), "XY12345");
        assert_eq!(jwt_account("MyOrg.My_Account"), "MYORG-MY_ACCOUNT");
        assert_eq!(
            default_url("MyOrg.My_Account"),
            "https://myorg-my-account.snowflakecomputing.com"
        );
        assert_eq!(
            default_url("xy12345.us-east-2.aws"),
            "https://xy12345.us-east-2.aws.snowflakecomputing.com"
        );
        assert_eq!(
            default_url("MyOrg-My_Account"),
            "https://myorg-my-account.snowflakecomputing.com"
        );
    }

    #[test]
    fn request_ids_are_v4_uuids() {
        let a = new_request_id();
        let u = uuid::Uuid::parse_str(&a).unwrap();
        assert_eq!(u.get_version_num(), 4);
        assert_ne!(a, new_request_id());
    }

    #[test]
    fn results_and_errors_parse() {
        let ok = serde_json::json!({
            "code": "090001", "statementHandle": "h-1", "createdOn": 1700000000123i64,
            "resultSetMetaData": {"rowType": [{"name": "X"}]},
            "data": [["[{\"a\":1}]"]]
        });
        let rs = parse_result("test", &ok).unwrap();
        assert_eq!(rs.columns, vec!["X"]);
        assert_eq!(rs.first_cell(), Some("[{\"a\":1}]"));
        assert_eq!(rs.created_on_ms, Some(1700000000123));
        let err = http_error(
            "register",
            422,
            &serde_json::json!({"code": "003001", "sqlState": "42501", "message": "Insufficient privileges"}),
        );
        let d = diagnostic(&err, None);
        assert!(d.summary.contains("register"), "{}", d.summary);
        assert!(
            d.detail.contains("003001") && d.detail.contains("ACCOUNTADMIN"),
            "{}",
            d.detail
        );
    }
}
