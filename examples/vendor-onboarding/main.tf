# Onboard one SaaS analytics vendor onto a data estate over AWS PrivateLink,
# the way the vendor's runbooks describe it, with the vendor's published
# facts from the provider's catalog instead of pasted IDs:
#
#   - optionally, an endpoint service on your Network Load Balancer that
#     allows the vendor's principal, and the acceptance of the vendor's
#     connection once the vendor has made it (vendor_endpoint_id);
#   - optionally, a grant of the vendor's VPC on a Redshift cluster;
#   - optionally, an S3 storage integration on a bucket, in two phases;
#   - optionally, the other direction: an interface endpoint to the Snowflake
#     account of the provider configuration, pinned to that account.
#
# Everything the vendor's forms ask for comes out as one vendor_handoff
# object. The module has no provider block: the caller's privatelink
# provider (or the one passed in `providers`) sets the AWS account and
# region, and the Snowflake account.

data "privatelink_vendor" "this" {
  name = var.vendor
}

locals {
  prefix    = var.bucket_prefix == "" ? var.vendor : var.bucket_prefix
  role_name = var.storage_role_name == "" ? "${var.vendor}-storage-integration" : var.storage_role_name
}

# --- PrivateLink: publish the NLB to the vendor, accept its connection ------

# Switched by a flag rather than by nlb_arn, which is often an ARN known
# only after apply. Off: a Redshift RA3 cluster the vendor reaches through
# a Redshift-managed endpoint, say, needs no service.
resource "privatelink_endpoint_service" "this" {
  count = var.endpoint_service_enabled ? 1 : 0

  network_load_balancer_arns = [var.nlb_arn]
  # The vendor's principal from the catalog, or vendor_principal_arn where
  # the catalog has none (coalesce fails the plan when both are missing).
  allowed_principals = concat(
    [coalesce(var.vendor_principal_arn, data.privatelink_vendor.this.principal_arn)],
    var.additional_principal_arns,
  )
  acceptance_required = true
  # The vendor's connection is rejected on destroy rather than blocking it.
  force_destroy = true

  tags = merge(var.tags, { Name = "${var.vendor}-privatelink" })
}

# The vendor connects with the service name in vendor_handoff; its endpoint
# then shows, pending acceptance, among the service's endpoint connections.
# Only the one whose ID is given is accepted.
resource "privatelink_endpoint_connection_accepter" "vendor" {
  count = var.endpoint_service_enabled && var.vendor_endpoint_id != "" ? 1 : 0

  service_id      = privatelink_endpoint_service.this[0].id
  vpc_endpoint_id = var.vendor_endpoint_id

  # A new vendor_endpoint_id is accepted before the old connection is
  # rejected, so the vendor is never without one.
  lifecycle {
    create_before_destroy = true
  }
}

# --- Redshift: let the vendor's VPC create a managed endpoint ---------------

resource "privatelink_redshift_endpoint_grant" "vendor" {
  count = var.redshift_cluster_identifier == "" ? 0 : 1

  cluster_identifier = var.redshift_cluster_identifier
  # The catalog's account and the VPC its runbook names for this region, or
  # the ones the vendor hands out (Segment's Edge account and VPC; Sigma's
  # support for a region outside its table). Never all of the account's
  # VPCs: where neither gives a VPC, the plan stops on vpc_ids.
  grantee_account = var.redshift_grantee_account != "" ? var.redshift_grantee_account : data.privatelink_vendor.this.aws_account_id
  vpc_ids = concat(
    [var.redshift_vpc_id != "" ? var.redshift_vpc_id : data.privatelink_vendor.this.redshift_vpc_id],
    var.redshift_additional_vpc_ids,
  )
  force_revoke    = var.redshift_force_revoke
}

# --- S3: the vendor's storage integration with your bucket ------------------

resource "privatelink_s3_storage_integration" "vendor" {
  count = var.bucket == "" ? 0 : 1

  bucket    = var.bucket
  prefix    = local.prefix
  role_name = local.role_name
  vendor    = data.privatelink_vendor.this.name

  # Phase one: the role trusts this account with a placeholder external ID
  # until the vendor shows its IAM user and external ID (phase two).
  vendor_iam_user_arn  = var.vendor_iam_user_arn == "" ? null : var.vendor_iam_user_arn
  external_id          = var.external_id == "" ? null : var.external_id
  allowed_source_cidrs = length(var.allowed_source_cidrs) == 0 ? null : var.allowed_source_cidrs

  dynamic "cors" {
    for_each = length(var.cors_allowed_origins) == 0 ? [] : [var.cors_allowed_origins]
    content {
      allowed_origins = cors.value
    }
  }

  tags = var.tags
}

# --- Snowflake: a pinned consumer endpoint to Snowflake's service ------------

# What the Snowflake account of the provider configuration says to connect
# to: its endpoint service, and the host names to resolve to the endpoint.
# The vendor's form asks for the same facts.
data "privatelink_snowflake_config" "snowflake" {
  count = var.snowflake_enabled || var.snowflake_handoff_enabled ? 1 : 0
}

# Port 80 carries OCSP.
resource "privatelink_vpc_endpoint" "snowflake" {
  count = var.snowflake_enabled ? 1 : 0

  service_name = data.privatelink_snowflake_config.snowflake[0].endpoint_service_name
  vpc_id       = var.snowflake_vpc_id
  subnet_ids   = var.snowflake_subnet_ids

  allow_from_vpc_cidr {
    ports = [443, 80]
  }

  tags = merge(var.tags, { Name = "snowflake" })
}

# Referencing the endpoint's ID orders destroy: the pin is unregistered
# before the endpoint is deleted, since an endpoint deleted while pinned
# leaves Snowflake traffic on the public internet until it is unregistered.
resource "privatelink_snowflake_endpoint_pin" "snowflake" {
  count = var.snowflake_enabled ? 1 : 0

  vpc_endpoint_id = privatelink_vpc_endpoint.snowflake[0].id
  delay_minutes   = var.snowflake_pin_delay_minutes
}
