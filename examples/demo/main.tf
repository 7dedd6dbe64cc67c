# The demo module: connect Sigma to a data estate the way Sigma's runbooks
# describe, in one module. Publish a database's Network Load Balancer over
# PrivateLink and accept Sigma's endpoint connection once Sigma has created
# it; grant Sigma's VPC access to a Redshift cluster; set up the storage
# integration on an exports bucket (placeholder trust first, Sigma's IAM
# user and external ID once Sigma shows them). Everything a platform team
# would otherwise copy out of the runbooks comes from the provider's catalog.

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

variable "sigma_endpoint_id" {
  description = "The VPC endpoint ID Sigma sends back after connecting; empty until then."
  type        = string
  default     = ""
}

provider "privatelink" {
  region = var.region
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
