//! Data source `privatelink_snowflake_config`: SYSTEM$GET_PRIVATELINK_CONFIG
//! as typed attributes, so a module can create the consumer endpoint to
//! Snowflake's endpoint service and the DNS records for the account's
//! PrivateLink URLs without anyone copying values from a worksheet.

use crate::framework::resource::{Ctx, DataSource};
use crate::framework::{typed, Attribute, Block, Diagnostics, Schema, Type, Value};
use crate::provider::permissions::Permissions;
use crate::provider::snowflake;
use crate::provider::ProviderData;
use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::time::Duration;

/// The AWS actions a read may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[];

pub struct SnowflakeConfigDataSource;

const READ_TIMEOUT: Duration = Duration::from_secs(2 * 60);

#[derive(Serialize, Default)]
struct State {
    id: String,
    account_name: Option<String>,
    account_url: Option<String>,
    regionless_account_url: Option<String>,
    endpoint_service_name: Option<String>,
    ocsp_url: Option<String>,
    regionless_ocsp_url: Option<String>,
    snowsight_url: Option<String>,
    regionless_snowsight_url: Option<String>,
    internal_stage: Option<String>,
    account_principal: Option<String>,
    app_service_url: Option<String>,
    connection_urls: Vec<String>,
    connection_ocsp_urls: Vec<String>,
    dashed_urls_for_duo: Vec<String>,
    dns_names: Vec<String>,
    raw: BTreeMap<String, String>,
}

/// A key's text value; null and empty strings read as absent.
fn text(cfg: &serde_json::Map<String, Json>, keys: &[&str]) -> Option<String> {
    keys.iter().find_map(|k| match cfg.get(*k) {
        Some(Json::String(s)) if !s.is_empty() => Some(s.clone()),
        _ => None,
    })
}

/// A list Snowflake returns either as JSON text (`"[\"a\"]"`, as live
/// accounts do) or as a JSON array.
fn list(cfg: &serde_json::Map<String, Json>, key: &str) -> Vec<String> {
    let items = match cfg.get(key) {
        Some(Json::String(s)) => match serde_json::from_str::<Json>(s) {
            Ok(Json::Array(a)) => a,
            // A single URL rather than a list.
            _ if !s.trim().is_empty() => vec![Json::String(s.clone())],
            _ => vec![],
        },
        Some(Json::Array(a)) => a.clone(),
        _ => vec![],
    };
    items
        .into_iter()
        .filter_map(|v| match v {
            Json::String(s) if !s.is_empty() => Some(s),
            _ => None,
        })
        .collect()
}

impl State {
    fn of(cfg: &serde_json::Map<String, Json>) -> State {
        let mut s = State {
            account_name: text(cfg, &["privatelink-account-name"]),
            account_url: text(cfg, &["privatelink-account-url"]),
            regionless_account_url: text(cfg, &["regionless-privatelink-account-url"]),
            endpoint_service_name: text(cfg, &["privatelink-vpce-id"]),
            // Live accounts spell it with an underscore; the docs with a dash.
            ocsp_url: text(cfg, &["privatelink_ocsp-url", "privatelink-ocsp-url"]),
            regionless_ocsp_url: text(cfg, &["regionless-privatelink-ocsp-url"]),
            snowsight_url: text(cfg, &["snowsight-privatelink-url"]),
            regionless_snowsight_url: text(cfg, &["regionless-snowsight-privatelink-url"]),
            internal_stage: text(cfg, &["privatelink-internal-stage"]),
            account_principal: text(cfg, &["privatelink-account-principal"]),
            app_service_url: text(cfg, &["app-service-privatelink-url"]),
            connection_urls: list(cfg, "privatelink-connection-urls"),
            connection_ocsp_urls: list(cfg, "privatelink-connection-ocsp-urls"),
            dashed_urls_for_duo: list(cfg, "privatelink-dashed-urls-for-duo"),
            raw: cfg
                .iter()
                .map(|(k, v)| {
                    let t = match v {
                        Json::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), t)
                })
                .collect(),
            ..State::default()
        };
        s.id = s
            .account_url
            .clone()
            .or_else(|| s.account_name.clone())
            .unwrap_or_else(|| "snowflake".into());
        // The names Snowflake's DNS guidance says to point at the endpoint.
        let mut names: Vec<String> = [
            &s.account_url,
            &s.ocsp_url,
            &s.regionless_account_url,
            &s.regionless_ocsp_url,
            &s.snowsight_url,
            &s.regionless_snowsight_url,
        ]
        .into_iter()
        .flatten()
        .cloned()
        .chain(s.connection_urls.iter().cloned())
        .chain(s.connection_ocsp_urls.iter().cloned())
        .collect();
        let mut seen = std::collections::BTreeSet::new();
        names.retain(|n| seen.insert(n.clone()));
        s.dns_names = names;
        s
    }
}

#[async_trait]
impl DataSource<ProviderData> for SnowflakeConfigDataSource {
    fn type_name(&self) -> &'static str {
        "privatelink_snowflake_config"
    }

    fn schema(&self) -> Schema {
        let s = |name: &str, text: &str| Attribute::computed(name, Type::String).description(text);
        let l = |name: &str, text: &str| {
            Attribute::computed(name, Type::list(Type::String)).description(text)
        };
        Schema::new(
            Block::new()
                .description("The PrivateLink facts of the provider's Snowflake account (SYSTEM$GET_PRIVATELINK_CONFIG, which needs ACCOUNTADMIN): the endpoint service to create your interface endpoint to, and the host names to resolve to it. Attributes the account does not report are null or empty.")
                .attribute(s("id", "The PrivateLink account URL."))
                .attribute(s("account_name", "`privatelink-account-name`: the account identifier to use in clients over PrivateLink (`<locator>.<region>.privatelink`)."))
                .attribute(s("account_url", "`privatelink-account-url`: the account's PrivateLink host name."))
                .attribute(s("regionless_account_url", "`regionless-privatelink-account-url`: the organization-based PrivateLink host name."))
                .attribute(s("endpoint_service_name", "`privatelink-vpce-id`: Snowflake's endpoint service name (`com.amazonaws.vpce.<region>.vpce-svc-...`), the `service_name` of your interface endpoint."))
                .attribute(s("ocsp_url", "`privatelink_ocsp-url` (`privatelink-ocsp-url` in the docs): the OCSP cache host name."))
                .attribute(s("regionless_ocsp_url", "`regionless-privatelink-ocsp-url`."))
                .attribute(s("snowsight_url", "`snowsight-privatelink-url`: Snowsight over PrivateLink."))
                .attribute(s("regionless_snowsight_url", "`regionless-snowsight-privatelink-url`."))
                .attribute(s("internal_stage", "`privatelink-internal-stage`: the S3 host of the account's internal stage, for an S3 interface endpoint."))
                .attribute(s("account_principal", "`privatelink-account-principal`: the Snowflake principal behind the endpoint service."))
                .attribute(s("app_service_url", "`app-service-privatelink-url`: Streamlit and app host names."))
                .attribute(l("connection_urls", "`privatelink-connection-urls`: connection URLs for replication and client redirect."))
                .attribute(l("connection_ocsp_urls", "`privatelink-connection-ocsp-urls`."))
                .attribute(l("dashed_urls_for_duo", "`privatelink-dashed-urls-for-duo`: host names Duo MFA uses."))
                .attribute(l("dns_names", "Every host name above that should resolve to your endpoint (account, OCSP, regionless, Snowsight and connection URLs), deduplicated: one CNAME each in your private hosted zone."))
                .attribute(
                    Attribute::computed("raw", Type::map(Type::String))
                        .description("Every key the function returned, those with an attribute above included, as text (lists and objects as JSON): for keys this data source has no attribute for."),
                ),
        )
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, _config: &Value) -> Result<Value, Diagnostics> {
        let sf = ctx.data.snowflake().await?;
        let cfg = sf
            .privatelink_config(READ_TIMEOUT, ctx.stopped())
            .await
            .map_err(|e| Diagnostics::from(snowflake::diagnostic(&e, Some(sf))))?;
        typed::state_value(&State::of(&cfg), self, || self.schema())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_is_well_formed() {
        assert_eq!(
            SnowflakeConfigDataSource.schema().lint(),
            Vec::<String>::new()
        );
    }

    #[test]
    fn documented_and_live_shapes() {
        let cfg: serde_json::Map<String, Json> = serde_json::from_str(
            r#"{
              "privatelink-account-name": "ab12345.us-east-1.privatelink",
              "privatelink-vpce-id": "com.amazonaws.vpce.us-east-1.vpce-svc-0123456789abcdef0",
              "privatelink-account-url": "ab12345.us-east-1.privatelink.snowflakecomputing.com",
              "regionless-privatelink-account-url": "org-acct.privatelink.snowflakecomputing.com",
              "privatelink-ocsp-url": "ocsp.ab12345.us-east-1.privatelink.snowflakecomputing.com",
              "privatelink-connection-urls": "[\"org-conn.privatelink.snowflakecomputing.com\"]",
              "privatelink-connection-ocsp-urls": "[]",
              "snowsight-privatelink-url": "app.us-east-1.privatelink.snowflakecomputing.com",
              "privatelink-dashed-urls-for-duo": ["ab12345-us-east-1.privatelink.snowflakecomputing.com"]
            }"#,
        )
        .unwrap();
        let s = State::of(&cfg);
        assert_eq!(
            s.ocsp_url.as_deref(),
            Some("ocsp.ab12345.us-east-1.privatelink.snowflakecomputing.com")
        );
        assert_eq!(
            s.connection_urls,
            vec!["org-conn.privatelink.snowflakecomputing.com"]
        );
        assert!(s.connection_ocsp_urls.is_empty());
        assert_eq!(s.dashed_urls_for_duo.len(), 1);
        assert_eq!(s.dns_names.len(), 5, "{:?}", s.dns_names);
        assert_eq!(s.raw["privatelink-connection-ocsp-urls"], "[]");
        assert_eq!(s.id, "ab12345.us-east-1.privatelink.snowflakecomputing.com");
    }
}
