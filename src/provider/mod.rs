//! The privatelink provider: its block, the data it builds at Configure, and
//! the list of resources and data sources it serves.

pub mod attribution;
pub mod aws;
pub mod call_log;
pub mod coalesce;
pub mod config;
pub mod docs;
pub mod permissions;
pub mod proxy;
pub mod shapes;
pub mod snowflake;
pub mod stop_retries;

use crate::framework::resource::{DataSource, Provider, Resource, StopSignal};
use crate::framework::{AttributePath, Diagnostics, Schema, Value};
use crate::{data_sources, resources};
use async_trait::async_trait;
use config::ProviderConfig;
use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const TYPE_NAME: &str = "privatelink";

/// What every resource and data source receives.
pub struct ProviderData {
    pub config: ProviderConfig,
    /// Built on first use, once per Configure: a configuration that only
    /// reads the vendor catalog needs no AWS credentials at all.
    aws: tokio::sync::OnceCell<aws::AwsClients>,
    /// Built on first use too: only Snowflake resources need the key.
    snowflake: tokio::sync::OnceCell<snowflake::SnowflakeClient>,
    /// Answers looked up moments ago, by key (see `recent`).
    recent: Mutex<HashMap<String, RecentAnswer>>,
    /// Raised when Terraform asks the provider to stop.
    pub stop: StopSignal,
}

/// An answer kept by `recent`, with when it was fetched.
type RecentAnswer = (Instant, Arc<dyn Any + Send + Sync>);

/// How long a prerequisite checked while planning counts as checked when
/// the same process applies: Terraform plans each resource again right
/// before applying it, in the process that applies it.
pub const JUST_CHECKED: Duration = Duration::from_secs(30);

impl ProviderData {
    pub fn new(config: ProviderConfig, stop: StopSignal) -> ProviderData {
        ProviderData {
            config,
            aws: tokio::sync::OnceCell::new(),
            snowflake: tokio::sync::OnceCell::new(),
            recent: Mutex::new(HashMap::new()),
            stop,
        }
    }

    /// `fetch`'s answer for `key`, reused while it is younger than
    /// `max_age`; failures are not kept, so the next caller asks again.
    /// For lookups several RPCs of one process repeat (a prerequisite
    /// checked at plan and again at apply); never for reads that detect
    /// drift, which must see what is there now.
    pub async fn recent<T, F, Fut>(
        &self,
        key: &str,
        max_age: Duration,
        fetch: F,
    ) -> Result<Arc<T>, Diagnostics>
    where
        T: Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Diagnostics>>,
    {
        let kept = {
            let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent
                .get(key)
                .filter(|(at, _)| at.elapsed() < max_age)
                .and_then(|(_, v)| Arc::clone(v).downcast::<T>().ok())
        };
        if let Some(v) = kept {
            return Ok(v);
        }
        let v = Arc::new(fetch().await?);
        let shared: Arc<dyn Any + Send + Sync> = v.clone();
        self.recent
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key.to_string(), (Instant::now(), shared));
        Ok(v)
    }

    /// The shared AWS clients, built (and the credentials checked) on first
    /// use.
    pub async fn aws(&self) -> Result<&aws::AwsClients, Diagnostics> {
        let pending = self.config.pending_for_aws();
        if !pending.is_empty() {
            return Err(not_known_yet(&pending, "AWS"));
        }
        self.aws
            .get_or_try_init(|| aws::AwsClients::new(&self.config, &self.stop))
            .await
    }

    /// The Snowflake client of this provider instance (one per alias),
    /// built on first use; an error when the provider has no `snowflake`
    /// block.
    pub async fn snowflake(&self) -> Result<&snowflake::SnowflakeClient, Diagnostics> {
        let pending = self.config.pending_for_snowflake();
        if !pending.is_empty() {
            return Err(not_known_yet(&pending, "Snowflake"));
        }
        let Some(cfg) = &self.config.snowflake else {
            return Err(no_snowflake_block());
        };
        self.snowflake
            .get_or_try_init(|| async { snowflake::SnowflakeClient::new(cfg) })
            .await
    }

    /// Whether the provider has a `snowflake` block, so that a plan can
    /// say what every Snowflake call would (`no_snowflake_block`).
    pub fn has_snowflake(&self) -> bool {
        // Settings not known until apply leave the block out of the
        // configuration read so far.
        self.config.snowflake.is_some() || !self.config.pending_for_snowflake().is_empty()
    }

    /// The provider's region, or an error on `at` asking for one.
    pub async fn region_or_error(&self, at: AttributePath) -> Result<String, Diagnostics> {
        if self.config.pending.iter().any(|p| p == "region") {
            let mut d = not_known_yet(&["region"], "AWS");
            d.0[0].path = Some(at);
            return Err(d);
        }
        if let Some(region) = &self.config.region {
            return Ok(region.clone());
        }
        // The AWS profile's region, as the AWS clients would use it; read
        // from the files alone, so the catalog still needs no credentials.
        let mut from_profile = aws_config::profile::ProfileFileRegionProvider::builder();
        if let Some(p) = &self.config.profile {
            from_profile = from_profile.profile_name(p);
        }
        use aws_config::meta::region::ProvideRegion as _;
        if let Some(region) = from_profile.build().region().await {
            return Ok(region.to_string());
        }
        let mut d = Diagnostics::new();
        d.error_at(
            at,
            "No region",
            "Set region here, region in the provider block, AWS_REGION, or a region in your AWS profile.",
        );
        Err(d)
    }
}

/// Settings of the provider block that come from values known only after
/// apply stop what needs them while planning, with this.
fn not_known_yet(settings: &[&str], service: &str) -> Diagnostics {
    let list = settings
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ");
    crate::framework::Diagnostic::error(
        "Provider configuration not known until apply",
        format!(
            "The provider block's {list} depends on values known only after apply, so this cannot reach {service} while planning. Set it from values known at plan time (variables, locals, data sources), or apply what it depends on first (`terraform apply -target=...`)."
        ),
    )
    .into()
}

/// The Snowflake key is read (and decrypted) at Configure, so that a wrong
/// passphrase or a key of the wrong kind is named on the provider block, not
/// on whichever resource first needs Snowflake.
fn check_snowflake_key(auth: &config::SnowflakeAuth) -> Result<(), Diagnostics> {
    let config::SnowflakeAuth::KeyPair {
        private_key_pem,
        passphrase,
    } = auth
    else {
        return Ok(());
    };
    let detail = match snowflake::load_private_key(
        private_key_pem.expose(),
        passphrase.as_ref().map(config::Secret::expose),
    ) {
        Ok(_) => return Ok(()),
        Err(detail) => detail,
    };
    let at = AttributePath::attr("snowflake");
    let at = if detail.contains("passphrase") {
        at.then_attr("private_key_passphrase")
    } else {
        at
    };
    Err(crate::framework::Diagnostic::error(
        "Invalid Snowflake private key",
        format!("The key in the snowflake block cannot be used: {detail}."),
    )
    .at(at)
    .into())
}

#[derive(Default)]
pub struct PrivatelinkProvider;

#[async_trait]
impl Provider for PrivatelinkProvider {
    type Data = ProviderData;

    fn type_name(&self) -> &'static str {
        TYPE_NAME
    }

    fn schema(&self) -> Schema {
        config::schema()
    }

    fn resources(&self) -> Vec<Arc<dyn Resource<ProviderData>>> {
        vec![
            Arc::new(resources::endpoint_service::EndpointService),
            Arc::new(resources::endpoint_connection_accepter::EndpointConnectionAccepter),
            Arc::new(resources::vpc_endpoint::VpcEndpointResource),
            Arc::new(resources::redshift_endpoint_grant::RedshiftEndpointGrant),
            Arc::new(resources::snowflake_endpoint_pin::SnowflakeEndpointPin),
            Arc::new(resources::s3_storage_integration::S3StorageIntegration),
        ]
    }

    fn data_sources(&self) -> Vec<Arc<dyn DataSource<ProviderData>>> {
        vec![
            Arc::new(data_sources::vendor::VendorDataSource),
            Arc::new(data_sources::endpoint_service::EndpointServiceDataSource),
            Arc::new(data_sources::snowflake_config::SnowflakeConfigDataSource),
            Arc::new(
                data_sources::snowflake_endpoint_registrations::SnowflakeEndpointRegistrations,
            ),
        ]
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        config::check_block(config, diags);
    }

    async fn configure(
        &self,
        _terraform_version: &str,
        config: &Value,
        stop: StopSignal,
    ) -> Result<ProviderData, Diagnostics> {
        let config = config::resolve(config, &|k| std::env::var(k).ok())?;
        // Files only, no call: a profile no file defines is named on the
        // provider block now, not on whichever resource first needs AWS.
        for (setting, profile) in [
            ("profile", &config.profile),
            ("federation_profile", &config.federation_profile),
        ] {
            if let Some(name) = profile {
                aws::check_profile(name, AttributePath::attr(setting)).await?;
            }
        }
        if let Some(sf) = &config.snowflake {
            check_snowflake_key(&sf.auth)?;
        }
        let data = ProviderData::new(config, stop);
        if data.config.names_the_account() && data.config.pending_for_aws().is_empty() {
            data.aws().await?;
        }
        Ok(data)
    }
}

/// What any Snowflake use says when the provider has no `snowflake` block.
pub fn no_snowflake_block() -> Diagnostics {
    crate::framework::Diagnostic::error(
        "No Snowflake account configured",
        "privatelink_snowflake_* resources and data sources need a `snowflake { ... }` block in this provider's configuration (its attributes may come from the SNOWFLAKE_* environment variables). Use one provider alias per Snowflake account.",
    )
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every schema the provider serves is well formed, its validators'
    /// patterns included (they compile lazily, so only this catches a bad
    /// one before a user does).
    #[test]
    fn every_schema_lints_clean() {
        let p = PrivatelinkProvider;
        let mut problems = p.schema().lint();
        for r in p.resources() {
            problems.extend(
                r.schema()
                    .lint()
                    .into_iter()
                    .map(|e| format!("{}: {e}", r.type_name())),
            );
        }
        for d in p.data_sources() {
            problems.extend(
                d.schema()
                    .lint()
                    .into_iter()
                    .map(|e| format!("{}: {e}", d.type_name())),
            );
        }
        assert_eq!(problems, Vec::<String>::new());
    }

    fn data() -> ProviderData {
        ProviderData::new(
            config::resolve(&Value::Null, &|_| None).expect("an empty provider block resolves"),
            StopSignal::never(),
        )
    }

    #[test]
    fn a_snowflake_block_known_only_after_apply_counts_as_configured() {
        let resolved = |block: Value| {
            ProviderData::new(
                config::resolve(&block, &|_| None).expect("resolves"),
                StopSignal::never(),
            )
        };
        assert!(!data().has_snowflake(), "no block");
        let pending = resolved(Value::object([(
            "snowflake",
            Value::object([
                ("account", Value::Unknown),
                ("user", Value::string("TERRAFORM")),
            ]),
        )]));
        assert!(pending.has_snowflake(), "a pin's plan must not fail on it");
        let whole_block_pending = resolved(Value::object([("snowflake", Value::Unknown)]));
        assert!(whole_block_pending.has_snowflake());
    }

    #[tokio::test]
    async fn recent_answers_are_reused_until_they_age() {
        let data = data();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let fetch = || async {
            Ok::<_, Diagnostics>(calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
        };
        let a = data
            .recent("k", Duration::from_secs(60), fetch)
            .await
            .unwrap();
        let b = data
            .recent("k", Duration::from_secs(60), fetch)
            .await
            .unwrap();
        assert_eq!((*a, *b), (0, 0), "the second call reuses the first answer");
        let c = data.recent("k", Duration::ZERO, fetch).await.unwrap();
        assert_eq!(*c, 1, "an answer older than max_age is fetched again");
        let other = data
            .recent("other", Duration::from_secs(60), fetch)
            .await
            .unwrap();
        assert_eq!(*other, 2, "keys do not share answers");
    }

    #[tokio::test]
    async fn recent_failures_are_not_kept() {
        let data = data();
        let failed = data
            .recent::<u32, _, _>("k", Duration::from_secs(60), || async {
                Err(crate::framework::Diagnostic::error("boom", "").into())
            })
            .await;
        assert!(failed.is_err());
        let ok = data
            .recent("k", Duration::from_secs(60), || async {
                Ok::<u32, Diagnostics>(7)
            })
            .await
            .unwrap();
        assert_eq!(*ok, 7);
    }
}
