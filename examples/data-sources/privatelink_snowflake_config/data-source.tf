# Snowflake calls need the provider's snowflake block, even when all its
# settings come from SNOWFLAKE_* environment variables.
provider "privatelink" {
  snowflake {}
}

data "privatelink_snowflake_config" "snowflake" {}

# The endpoint service to create your interface endpoint to...
output "snowflake_endpoint_service" {
  value = data.privatelink_snowflake_config.snowflake.endpoint_service_name
}

# ...and the names to point at it (CNAMEs in a private hosted zone for
# privatelink.snowflakecomputing.com).
output "snowflake_dns_names" {
  value = data.privatelink_snowflake_config.snowflake.dns_names
}
