# The demo module: what a platform team would otherwise copy out of each
# vendor's runbook, read from the provider's catalog instead.

terraform {
  required_providers {
    privatelink = {
      source = "privatelink/privatelink"
    }
  }
}

variable "region" {
  description = "AWS region of the data platform."
  type        = string
  default     = "us-east-1"
}

provider "privatelink" {
  region                      = var.region
  skip_credentials_validation = true
}

data "privatelink_vendor" "sigma" {
  name = "sigma"
}

data "privatelink_vendor" "segment" {
  name = "segment"
}

output "sigma" {
  description = "What Sigma's runbook asks you to configure, for this region."
  value = {
    allowed_principal    = data.privatelink_vendor.sigma.principal_arn
    redshift_grantee     = data.privatelink_vendor.sigma.aws_account_id
    redshift_vpc_id      = data.privatelink_vendor.sigma.redshift_vpc_id
    databricks_endpoint  = data.privatelink_vendor.sigma.databricks_workspace_endpoint_id
    storage_cors_origin  = data.privatelink_vendor.sigma.app_origin
    host_suffix          = data.privatelink_vendor.sigma.privatelink_host_suffix
  }
}

output "segment" {
  description = "Segment's published PrivateLink facts for this region."
  value = {
    eligible_regions = data.privatelink_vendor.segment.supported_regions
    edge_cidr        = data.privatelink_vendor.segment.edge_cidr
    max_endpoints    = data.privatelink_vendor.segment.max_vpc_endpoints
  }
}
