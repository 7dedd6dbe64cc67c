# The demo module: connect Sigma to a data estate the way Sigma's runbooks
# describe, in one module. Publish a database's Network Load Balancer over
# PrivateLink and accept Sigma's endpoint connection once Sigma has created
# it; grant Sigma's VPC access to a Redshift cluster; set up the storage
# integration on an exports bucket (placeholder trust first, Sigma's IAM
# user and external ID once Sigma shows them). Everything a platform team
# would otherwise copy out of the runbooks comes from the provider's catalog.
#
# And the other direction: reach the Snowflake account privately from the
# analytics VPC (the flow of the Snowflake guide). Snowflake's
# SYSTEM$GET_PRIVATELINK_CONFIG names its endpoint service, an interface
# endpoint connects to it, and the endpoint is pinned to the account.

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
  description = "The VPC endpoint ID Sigma sends back after connecting; empty until then."
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

data "privatelink_vendor" "sigma" {
  name = "sigma"
}

resource "privatelink_endpoint_service" "warehouse" {
  network_load_balancer_arns = [var.nlb_arn]
  allowed_principals         = [data.privatelink_vendor.sigma.principal_arn]
  acceptance_required        = true
  # Sigma's connection is rejected on destroy rather than blocking it.
  force_destroy = true

  tags = {
    Name = "warehouse-for-sigma"
  }
}

resource "privatelink_endpoint_connection_accepter" "sigma" {
  count           = var.sigma_endpoint_id == "" ? 0 : 1
  service_id      = privatelink_endpoint_service.warehouse.id
  vpc_endpoint_id = var.sigma_endpoint_id
}

resource "privatelink_redshift_endpoint_grant" "sigma" {
  cluster_identifier = var.redshift_cluster_identifier
  grantee_account    = data.privatelink_vendor.sigma.aws_account_id
  vpc_ids            = [data.privatelink_vendor.sigma.redshift_vpc_id]
}

resource "privatelink_s3_storage_integration" "sigma" {
  bucket    = var.exports_bucket
  prefix    = "sigma"
  role_name = "sigma-storage-integration"
  vendor    = data.privatelink_vendor.sigma.name

  # Until Sigma answers, the role trusts this account with a placeholder.
  vendor_iam_user_arn = var.sigma_iam_user_arn == "" ? null : var.sigma_iam_user_arn
  external_id         = var.sigma_external_id == "" ? null : var.sigma_external_id
}

output "send_to_sigma" {
  description = "What Sigma's runbooks ask you to send or enter in its forms."
  value = {
    privatelink         = privatelink_endpoint_service.warehouse.vendor_handoff
    redshift            = privatelink_redshift_endpoint_grant.sigma.vendor_handoff
    storage_integration = privatelink_s3_storage_integration.sigma.vendor_handoff
  }
}

output "sigma_connection" {
  description = "Sigma's endpoint connection, once accepted."
  value = var.sigma_endpoint_id == "" ? null : {
    state = privatelink_endpoint_connection_accepter.sigma[0].state
    owner = privatelink_endpoint_connection_accepter.sigma[0].vpc_endpoint_owner
  }
}

# What Snowflake says to connect to: its endpoint service and the host names
# to resolve to the endpoint.
data "privatelink_snowflake_config" "warehouse" {}

# The interface endpoint to Snowflake's endpoint service, in the analytics
# VPC. Port 80 carries OCSP.
resource "privatelink_vpc_endpoint" "snowflake" {
  service_name = data.privatelink_snowflake_config.warehouse.endpoint_service_name
  vpc_id       = var.analytics_vpc_id
  subnet_ids   = var.snowflake_subnet_ids

  allow_from_vpc_cidr {
    ports = [443, 80]
  }

  tags = {
    Name = "snowflake"
  }
}

# Pin the endpoint to the Snowflake account (the provider mints the scoped
# STS token and never stores it). Referencing the endpoint's ID orders
# destroy: the pin is unregistered before the endpoint is deleted, since an
# endpoint deleted while pinned leaves Snowflake traffic on the public
# internet until it is unregistered.
resource "privatelink_snowflake_endpoint_pin" "warehouse" {
  vpc_endpoint_id = privatelink_vpc_endpoint.snowflake.id
  delay_minutes   = 60
}

output "snowflake" {
  description = "The Snowflake endpoint, its pin, and the names to CNAME to the endpoint in a private hosted zone for privatelink.snowflakecomputing.com."
  value = {
    endpoint_id       = privatelink_vpc_endpoint.snowflake.id
    endpoint_state    = privatelink_vpc_endpoint.snowflake.state
    endpoint_dns_name = privatelink_vpc_endpoint.snowflake.dns_entries[0].dns_name
    dns_names         = data.privatelink_snowflake_config.warehouse.dns_names
    pin               = privatelink_snowflake_endpoint_pin.warehouse.id
    registered_at     = privatelink_snowflake_endpoint_pin.warehouse.registered_at
    enforced_at       = privatelink_snowflake_endpoint_pin.warehouse.enforced_at
  }
}
