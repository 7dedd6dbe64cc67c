# Snowflake calls need the provider's snowflake block, even when all its
# settings come from SNOWFLAKE_* environment variables.
provider "privatelink" {
  snowflake {}
}

data "privatelink_snowflake_endpoint_registrations" "pins" {}

# Every VPC endpoint pinned to the account, including pins made by hand.
output "pinned_endpoints" {
  value = data.privatelink_snowflake_endpoint_registrations.pins.vpc_endpoint_ids
}
