# Snowflake calls need the provider's snowflake block, even when all its
# settings come from SNOWFLAKE_* environment variables.
provider "privatelink" {
  snowflake {}
}

# Your interface endpoint to Snowflake's endpoint service...
data "privatelink_snowflake_config" "snowflake" {}

resource "privatelink_vpc_endpoint" "snowflake" {
  service_name = data.privatelink_snowflake_config.snowflake.endpoint_service_name
  vpc_id       = "vpc-0123456789abcdef0"
  subnet_ids   = ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"]

  allow_from_vpc_cidr {
    ports = [443, 80]
  }
}

# ...pinned to the provider's Snowflake account. Referencing the endpoint's
# ID makes Terraform destroy the pin before the endpoint: an endpoint
# deleted while still pinned sends Snowflake traffic over the public
# internet until it is unregistered.
resource "privatelink_snowflake_endpoint_pin" "analytics" {
  vpc_endpoint_id = privatelink_vpc_endpoint.snowflake.id
  delay_minutes   = 60

  # Only when the provider runs as a role: a profile with IAM user keys
  # mints the token (AWS refuses GetFederationToken to role sessions).
  # federation_profile = "snowflake-pin"
}

output "pin_enforced_at" {
  value = privatelink_snowflake_endpoint_pin.analytics.enforced_at
}
