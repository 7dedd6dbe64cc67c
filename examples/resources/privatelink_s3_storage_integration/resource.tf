# Sigma's external storage integration with your own bucket, in two phases.
#
# Phase 1: apply without the vendor's ARN and external ID. The role trusts
# your own account with the placeholder external ID "0000", and
# vendor_handoff holds what to enter in Sigma (Administration > Account >
# General Settings > Storage Integration): the role ARN and the bucket path.
#
# Phase 2: Sigma then shows an AWS IAM user ARN and an external ID. Set them
# below and apply again: the role's trust is updated in place.
resource "privatelink_s3_storage_integration" "sigma" {
  bucket    = "acme-analytics-exports" # must already exist
  prefix    = "sigma/exports"          # no leading or trailing slash
  role_name = "sigma-storage-integration"
  vendor    = "sigma" # CORS origin https://app.sigmacomputing.com

  # Phase 2: uncomment with the values Sigma shows.
  # vendor_iam_user_arn = "arn:aws:iam::185497759670:user/abcd-s-v2st1234"
  # external_id         = "SIGMA_ab12cd34_SFCRole=3_abcdefghijklmnop="

  # Optional: deny the integration's role (only it, and only under the
  # prefix) object access from anywhere but Sigma's cluster IPs and yours.
  allowed_source_cidrs = ["203.0.113.0/24", "198.51.100.17/32"]

  # The CORS rule takes the runbook's settings. To override any of them,
  # add a cors block, e.g. cors { max_age_seconds = 600 }.

  tags = {
    Team = "data-platform"
  }
}

# Phase 1 output: paste these into Sigma's "Add storage integration" form.
output "sigma_storage_integration" {
  value = privatelink_s3_storage_integration.sigma.vendor_handoff
}
