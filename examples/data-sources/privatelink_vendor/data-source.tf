# Sigma's facts for the region of your warehouse.
data "privatelink_vendor" "sigma" {
  name   = "sigma"
  region = "eu-west-2"
}

# The principal to allow on your endpoint service, and the VPC to grant
# Redshift-managed VPC endpoint access to, without pasting either by hand.
output "sigma_principal_arn" {
  value = data.privatelink_vendor.sigma.principal_arn
}

output "sigma_redshift_grant" {
  value = {
    account = data.privatelink_vendor.sigma.aws_account_id
    vpc_id  = data.privatelink_vendor.sigma.redshift_vpc_id
  }
}
