//! Data source `privatelink_vendor`: a vendor's published PrivateLink facts
//! for one region, from the catalog in `catalog.rs`.

use crate::catalog::{self, Vendor};
use crate::framework::resource::{Ctx, DataSource};
use crate::framework::validators::one_of;
use crate::framework::{
    typed, Attribute, AttributePath, Block, Diagnostic, Diagnostics, Schema, Type, Value,
};
use crate::provider::permissions::Permissions;
use crate::provider::shapes::aws_region;
use crate::provider::ProviderData;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The AWS actions a read may call: the docs' Permissions section.
pub const PERMISSIONS: Permissions = &[];

pub struct VendorDataSource;

#[derive(Deserialize)]
struct Config {
    name: String,
    region: Option<String>,
}

#[derive(Serialize)]
struct State {
    id: String,
    name: String,
    region: String,
    display_name: String,
    aws_account_id: Option<String>,
    principal_arn: Option<String>,
    legacy_principal_arn: Option<String>,
    redshift_vpc_id: Option<String>,
    databricks_workspace_endpoint_id: Option<String>,
    app_origin: Option<String>,
    supported_regions: Vec<String>,
    redshift_regions: Vec<String>,
    databricks_regions: Vec<String>,
    edge_cidr: Option<String>,
    privatelink_host_suffix: Option<String>,
    max_vpc_endpoints: Option<i64>,
    monthly_transfer_limit_gb: Option<i64>,
    source_documents: Vec<String>,
}

fn strings(v: Vec<&str>) -> Vec<String> {
    v.into_iter().map(String::from).collect()
}

impl State {
    fn of(v: &Vendor, region: &str) -> State {
        State {
            id: format!("{}/{}", v.name, region),
            name: v.name.into(),
            region: region.into(),
            display_name: v.display_name.into(),
            aws_account_id: v.aws_account_id.map(Into::into),
            principal_arn: v.principal_arn.map(Into::into),
            legacy_principal_arn: v.legacy_principal_arn.map(Into::into),
            redshift_vpc_id: v.redshift_vpc_id(region).map(Into::into),
            databricks_workspace_endpoint_id: v.databricks_endpoint_id(region).map(Into::into),
            app_origin: v.app_origin.map(Into::into),
            supported_regions: strings(v.supported_regions()),
            redshift_regions: strings(v.redshift_regions()),
            databricks_regions: strings(v.databricks_regions()),
            edge_cidr: v.edge_cidr.map(Into::into),
            privatelink_host_suffix: v.privatelink_host_suffix.map(Into::into),
            max_vpc_endpoints: v.max_vpc_endpoints,
            monthly_transfer_limit_gb: v.monthly_transfer_limit_gb,
            source_documents: strings(v.source_documents.to_vec()),
        }
    }
}

fn region_error(v: &Vendor, region: &str) -> Diagnostic {
    Diagnostic::error(
        format!("{} does not serve {region}", v.display_name),
        format!(
            "{} offers PrivateLink connections in: {}.",
            v.display_name,
            v.supported_regions().join(", ")
        ),
    )
    .at(AttributePath::attr("region"))
}

#[async_trait]
impl DataSource<ProviderData> for VendorDataSource {
    fn type_name(&self) -> &'static str {
        "privatelink_vendor"
    }

    fn schema(&self) -> Schema {
        let s = |name: &str, text: &str| Attribute::computed(name, Type::String).description(text);
        let l = |name: &str, text: &str| {
            Attribute::computed(name, Type::list(Type::String)).description(text)
        };
        let n = |name: &str, text: &str| Attribute::computed(name, Type::Number).description(text);
        Schema::new(
            Block::new()
                .description("A SaaS vendor's published PrivateLink facts for one AWS region: the account and principal to allow, the VPC to grant Redshift access to, the endpoint to register with Databricks, the origin for CORS. Attributes the vendor does not publish are null (Segment, for example, hands out its account through your CSM).")
                .attribute(
                    Attribute::required("name", Type::String)
                        .description(&format!("Vendor name: one of {}.", catalog::vendor_names().iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")))
                        .validate(one_of(catalog::vendor_names())),
                )
                .attribute(
                    Attribute::optional_computed("region", Type::String)
                        .description("AWS region of your data platform. Defaults to the provider's region.")
                        .validate(aws_region()),
                )
                .attribute(s("id", "`NAME/REGION`."))
                .attribute(s("display_name", "The vendor's name as it writes it."))
                .attribute(s("aws_account_id", "The vendor's AWS account ID."))
                .attribute(s("principal_arn", "The principal to allow on your VPC endpoint service (`allowed_principals`)."))
                .attribute(s("legacy_principal_arn", "An older principal the vendor still honours but no longer recommends."))
                .attribute(s("redshift_vpc_id", "The vendor VPC to authorize for Redshift-managed VPC endpoints in this region; null where the vendor publishes none."))
                .attribute(s("databricks_workspace_endpoint_id", "The vendor's VPC endpoint to register with your Databricks workspace in this region (WORKSPACE_ACCESS); null where the vendor publishes none."))
                .attribute(s("app_origin", "The origin the vendor's web app uses, for the CORS rule on your bucket."))
                .attribute(l("supported_regions", "Regions where the vendor offers PrivateLink connections. For a vendor that serves every commercial region (Sigma), the regions known when this provider was released; a region opened since is served too."))
                .attribute(l("redshift_regions", "Regions with a published Redshift grantee VPC."))
                .attribute(l("databricks_regions", "Regions with a published Databricks workspace endpoint."))
                .attribute(s("edge_cidr", "Source range of the vendor's PrivateLink traffic, for NLB inbound rules."))
                .attribute(s("privatelink_host_suffix", "Suffix of the host names the vendor's connections use over PrivateLink."))
                .attribute(n("max_vpc_endpoints", "Most VPC endpoints the vendor connects per customer, where it sets a limit."))
                .attribute(n("monthly_transfer_limit_gb", "Monthly PrivateLink data transfer limit in GB, where the vendor sets one."))
                .attribute(l("source_documents", "The vendor documents these facts come from.")),
        )
    }

    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        let (Some(name), Some(region)) = (config.attr_str("name"), config.attr_str("region"))
        else {
            return;
        };
        if let Some(v) = catalog::vendor(name) {
            // A region of the wrong shape has its own error already.
            if aws_region().matches(region) && !v.serves(region) {
                diags.push(region_error(v, region));
            }
        }
    }

    async fn read(&self, ctx: &Ctx<ProviderData>, config: &Value) -> Result<Value, Diagnostics> {
        let cfg: Config = typed::from_value(config).map_err(|e| {
            Diagnostics::from(Diagnostic::error("Invalid configuration", e.to_string()))
        })?;
        let Some(vendor) = catalog::vendor(&cfg.name) else {
            return Err(Diagnostic::error(
                format!("Unknown vendor {:?}", cfg.name),
                format!("The catalog knows: {}.", catalog::vendor_names().join(", ")),
            )
            .at(AttributePath::attr("name"))
            .into());
        };
        let region = match cfg.region {
            Some(r) => r,
            None => {
                ctx.data
                    .region_or_error(AttributePath::attr("region"))
                    .await?
            }
        };
        if !vendor.serves(&region) {
            return Err(region_error(vendor, &region).into());
        }
        let state = State::of(vendor, &region);
        typed::state_value(&state, self, || self.schema())
    }
}
