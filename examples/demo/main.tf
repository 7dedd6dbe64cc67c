# The demo: connect Sigma to a data estate the way Sigma's runbooks describe,
# with the reusable module in ../vendor-onboarding; this file only configures
# the provider and feeds the module the estate's IDs. The module publishes a
# database's Network Load Balancer over PrivateLink and accepts Sigma's
# endpoint connection once Sigma has created it; grants Sigma's VPC access to
# a Redshift cluster; sets up the storage integration on an exports bucket
# (placeholder trust first, Sigma's IAM user and external ID once Sigma shows
# them). Everything a platform team would otherwise copy out of the runbooks
# comes from the provider's catalog.
#
# And the other direction: reach the Snowflake account privately from the
# analytics VPC (the flow of the Snowflake guide). Snowflake's
# SYSTEM$GET_PRIVATELINK_CONFIG names its endpoint service, an interface
# endpoint connects to it, and the endpoint is pinned to the account of the
# provider's snowflake block.

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

variable "nlb_arn" {
  description = "The Network Load Balancer in front of the warehouse."
  type        = string
}

variable "redshift_cluster_identifier" {
  description = "The RA3 cluster Sigma reads from."
  type        = string
}

variable "exports_bucket" {
  description = "The bucket Sigma writes exports to (it must exist)."
  type        = string
}

variable "sigma_iam_user_arn" {
  description = "The IAM user ARN Sigma shows in its storage integration form; empty until then."
  type        = string
  default     = ""
}

variable "sigma_external_id" {
  description = "The external ID Sigma shows beside it; empty until then."
  type        = string
  default     = ""
}

variable "analytics_vpc_id" {
  description = "The VPC the analytics clients run in; Snowflake's endpoint goes there."
  type        = string
}

variable "snowflake_subnet_ids" {
  description = "One private subnet of that VPC per Availability Zone Snowflake's endpoint service supports."
  type        = list(string)
}

variable "sigma_endpoint_id" {
  description = "The ID of Sigma's VPC endpoint, pending acceptance on the service once Sigma has connected; empty until then."
  type        = string
  default     = ""
}

provider "privatelink" {
  region = var.region

  # The Snowflake account, user and key come from SNOWFLAKE_ACCOUNT,
  # SNOWFLAKE_USER and SNOWFLAKE_PRIVATE_KEY_PATH, so the key stays out of
  # the code; the role defaults to ACCOUNTADMIN, which pinning needs.
  snowflake {}
}

# Sigma onboarded by the reusable module: every resource is in
# ../vendor-onboarding, fed from the provider's catalog.
module "sigma" {
  source = "../vendor-onboarding"

  vendor = "sigma"

  nlb_arn            = var.nlb_arn
  vendor_endpoint_id = var.sigma_endpoint_id

  redshift_cluster_identifier = var.redshift_cluster_identifier

  # Until Sigma answers, the role trusts this account with a placeholder.
  bucket              = var.exports_bucket
  bucket_prefix       = "sigma"
  storage_role_name   = "sigma-storage-integration"
  vendor_iam_user_arn = var.sigma_iam_user_arn
  external_id         = var.sigma_external_id

  # The Snowflake account is the provider's (its snowflake block above).
  snowflake_enabled    = true
  snowflake_vpc_id     = var.analytics_vpc_id
  snowflake_subnet_ids = var.snowflake_subnet_ids

  tags = {
    Team = "data-platform"
  }
}

output "vendor_handoff" {
  description = "What Sigma's runbooks ask you to send or enter in its forms."
  value       = module.sigma.vendor_handoff
}

output "sigma_connection" {
  description = "Sigma's endpoint connection, once accepted."
  value       = module.sigma.vendor_connection
}

output "snowflake" {
  description = "The Snowflake endpoint, its pin, and the names to CNAME to the endpoint in a private hosted zone for privatelink.snowflakecomputing.com."
  value       = module.sigma.snowflake
}
