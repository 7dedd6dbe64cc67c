data "privatelink_snowflake_endpoint_registrations" "pins" {}

# Every VPC endpoint pinned to the account, including pins made by hand.
output "pinned_endpoints" {
  value = data.privatelink_snowflake_endpoint_registrations.pins.vpc_endpoint_ids
}
