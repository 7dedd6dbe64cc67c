//! The vendor catalog: what each vendor publishes about its side of a private
//! connection, so nobody pastes account IDs and VPC IDs by hand.
//!
//! Every fact here is taken from the vendor's own public runbook, named in
//! `source_documents`. Where a runbook says a value is handed out privately
//! (Segment's account and principal come from your CSM), the catalog says
//! `None` rather than guess.

/// Where a vendor offers PrivateLink connections.
pub enum Regions {
    /// Every AWS commercial region with PrivateLink (Sigma: "all Amazon
    /// regions with PrivateLink support"): those listed, and one opened
    /// since, by its commercial-partition shape, so a new region needs no
    /// new release.
    AllCommercial,
    Only(&'static [&'static str]),
}

pub struct Vendor {
    pub name: &'static str,
    pub display_name: &'static str,
    pub source_documents: &'static [&'static str],
    pub aws_account_id: Option<&'static str>,
    /// The principal to allow on an endpoint service.
    pub principal_arn: Option<&'static str>,
    /// An older principal the vendor still honours but no longer recommends.
    pub legacy_principal_arn: Option<&'static str>,
    /// The browser origin the vendor's app calls storage from (CORS).
    pub app_origin: Option<&'static str>,
    pub regions: Regions,
    /// Per region: the VPC to grant Redshift managed-endpoint access to.
    pub redshift_vpcs: &'static [(&'static str, &'static str)],
    /// Per region: the vendor's VPC endpoint to register with a Databricks
    /// workspace (WORKSPACE_ACCESS).
    pub databricks_endpoints: &'static [(&'static str, &'static str)],
    /// Source range of the vendor's PrivateLink traffic, for NLB inbound rules.
    pub edge_cidr: Option<&'static str>,
    /// Suffix of the host names the vendor's connections use over PrivateLink.
    pub privatelink_host_suffix: Option<&'static str>,
    pub max_vpc_endpoints: Option<i64>,
    pub monthly_transfer_limit_gb: Option<i64>,
}

/// AWS commercial regions (as of 2026), for vendors that serve them all.
pub const AWS_COMMERCIAL_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];

pub const VENDORS: &[Vendor] = &[
    Vendor {
        name: "sigma",
        display_name: "Sigma Computing",
        source_documents: &[
            "Sigma documentation (help.sigmacomputing.com): AWS PrivateLink connections",
            "Sigma documentation (help.sigmacomputing.com): Configure an external storage integration with Amazon S3",
        ],
        aws_account_id: Some("185497759670"),
        principal_arn: Some("arn:aws:iam::185497759670:role/cdktf-operator"),
        legacy_principal_arn: Some("arn:aws:iam::185497759670:role/root"),
        app_origin: Some("https://app.sigmacomputing.com"),
        regions: Regions::AllCommercial,
        redshift_vpcs: &[
            ("us-east-1", "vpc-03e998398a2b8d7d4"),
            ("us-east-2", "vpc-0eb5c451f6d93b9b0"),
            ("us-west-1", "vpc-0b98df9ea218bbae3"),
            ("us-west-2", "vpc-0ebc060057f91792c"),
            ("ap-southeast-2", "vpc-0173a781cad403b87"),
            ("ap-northeast-1", "vpc-01d69d4176bf329d4"),
            ("eu-central-1", "vpc-03967ee832f14c234"),
            ("eu-west-1", "vpc-0ef690315d8c934e9"),
            ("eu-west-2", "vpc-0d89ee0ccf9f3eeb7"),
        ],
        databricks_endpoints: &[
            ("us-east-2", "vpce-01e5bcfb542cc064b"),
            ("us-east-1", "vpce-01e5ee810ad38e87a"),
            ("us-west-2", "vpce-0f7f1c9eb781e5ee0"),
            ("ap-southeast-2", "vpce-0ea8cc8aaac99003c"),
            ("eu-central-1", "vpce-042d25a7829e28994"),
            ("eu-west-1", "vpce-089a8efa3ea799d03"),
            ("eu-west-2", "vpce-0e2cc626d12fd41a5"),
            ("ap-northeast-1", "vpce-05a3ec6e4605fdd94"),
        ],
        edge_cidr: None,
        privatelink_host_suffix: Some(".privatelink.sigma.internal"),
        max_vpc_endpoints: None,
        monthly_transfer_limit_gb: None,
    },
    Vendor {
        name: "segment",
        display_name: "Segment",
        source_documents: &[
            "Segment documentation (segment.com/docs): Amazon Web Services PrivateLink",
        ],
        // Segment shares its Edge account and principal through your CSM;
        // its runbook publishes neither.
        aws_account_id: None,
        principal_arn: None,
        legacy_principal_arn: None,
        app_origin: None,
        regions: Regions::Only(&["us-east-1", "us-east-2", "us-west-2", "eu-west-1"]),
        redshift_vpcs: &[],
        databricks_endpoints: &[],
        edge_cidr: Some("10.0.0.0/8"),
        privatelink_host_suffix: None,
        max_vpc_endpoints: Some(2),
        monthly_transfer_limit_gb: Some(300),
    },
];

impl Vendor {
    pub fn supported_regions(&self) -> Vec<&'static str> {
        let mut regions: Vec<&'static str> = match self.regions {
            Regions::AllCommercial => AWS_COMMERCIAL_REGIONS.to_vec(),
            Regions::Only(list) => list.to_vec(),
        };
        regions.sort_unstable();
        regions
    }
    pub fn serves(&self, region: &str) -> bool {
        match self.regions {
            Regions::AllCommercial => {
                AWS_COMMERCIAL_REGIONS.contains(&region) || commercial_region_shape(region)
            }
            Regions::Only(list) => list.contains(&region),
        }
    }
    pub fn redshift_vpc_id(&self, region: &str) -> Option<&'static str> {
        lookup(self.redshift_vpcs, region)
    }
    pub fn databricks_endpoint_id(&self, region: &str) -> Option<&'static str> {
        lookup(self.databricks_endpoints, region)
    }
    pub fn redshift_regions(&self) -> Vec<&'static str> {
        sorted_keys(self.redshift_vpcs)
    }
    pub fn databricks_regions(&self) -> Vec<&'static str> {
        sorted_keys(self.databricks_endpoints)
    }
}

fn lookup(table: &[(&'static str, &'static str)], region: &str) -> Option<&'static str> {
    table.iter().find(|(r, _)| *r == region).map(|(_, v)| *v)
}

fn sorted_keys(table: &[(&'static str, &'static str)]) -> Vec<&'static str> {
    let mut keys: Vec<_> = table.iter().map(|(r, _)| *r).collect();
    keys.sort_unstable();
    keys
}

pub fn vendor(name: &str) -> Option<&'static Vendor> {
    VENDORS.iter().find(|v| v.name == name)
}

pub fn vendor_names() -> Vec<&'static str> {
    VENDORS.iter().map(|v| v.name).collect()
}

/// `geo-direction-N` in lower case, as the commercial partition names
/// regions (China's `cn-` ones and GovCloud's `us-gov-` are other
/// partitions), the direction one of the compass words Region names use.
fn commercial_region_shape(region: &str) -> bool {
    const DIRECTIONS: &[&str] = &[
        "east",
        "west",
        "north",
        "south",
        "central",
        "northeast",
        "northwest",
        "southeast",
        "southwest",
    ];
    match region.split('-').collect::<Vec<_>>().as_slice() {
        [geo, direction, n] => {
            geo.len() == 2
                && geo.bytes().all(|b| b.is_ascii_lowercase())
                && *geo != "cn"
                && DIRECTIONS.contains(direction)
                && !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_commercial_takes_regions_opened_after_the_list_but_no_other_partition() {
        let sigma = vendor("sigma").unwrap();
        for served in [
            "us-east-1",
            "ap-southeast-6",
            "ap-southeast-9",
            "eu-north-3",
        ] {
            assert!(sigma.serves(served), "{served}");
        }
        for other in [
            "cn-north-1",
            "us-gov-west-1",
            "us-isob-east-1",
            "eusc-de-east-1",
            "US-EAST-1",
            "us-east",
            "eu-wset-1",
        ] {
            assert!(!sigma.serves(other), "{other}");
        }
        let segment = vendor("segment").unwrap();
        assert!(!segment.serves("ap-southeast-9"));
    }

    #[test]
    fn every_table_region_is_a_served_region() {
        for v in VENDORS {
            for (region, _) in v.redshift_vpcs.iter().chain(v.databricks_endpoints) {
                assert!(
                    v.serves(region),
                    "{} lists {region} but does not serve it",
                    v.name
                );
            }
        }
    }

    #[test]
    fn sigma_facts_match_the_runbook() {
        let sigma = vendor("sigma").unwrap();
        assert_eq!(
            sigma.redshift_vpc_id("eu-west-2"),
            Some("vpc-0d89ee0ccf9f3eeb7")
        );
        // Sigma's Databricks table has no us-west-1 entry: workspaces there
        // are not supported.
        assert_eq!(sigma.databricks_endpoint_id("us-west-1"), None);
        assert_eq!(sigma.redshift_regions().len(), 9);
        assert_eq!(sigma.databricks_regions().len(), 8);
        let segment = vendor("segment").unwrap();
        assert!(!segment.serves("eu-west-2"));
        assert!(vendor("acme").is_none());
    }
}
