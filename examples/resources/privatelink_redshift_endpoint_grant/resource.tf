# Let Sigma create a Redshift-managed VPC endpoint to your RA3 cluster from
# the VPC its runbook names for your region.
data "privatelink_vendor" "sigma" {
  name = "sigma"
}

resource "privatelink_redshift_endpoint_grant" "sigma" {
  cluster_identifier = aws_redshift_cluster.warehouse.id
  grantee_account    = data.privatelink_vendor.sigma.aws_account_id
  # Leave vpc_ids out (or empty) to allow every VPC of the grantee account.
  vpc_ids = [data.privatelink_vendor.sigma.redshift_vpc_id]
}

# What Sigma's runbook asks you to send: cluster identifier, region, account
# and the cluster's AZ IDs.
output "send_to_sigma" {
  value = privatelink_redshift_endpoint_grant.sigma.vendor_handoff
}
