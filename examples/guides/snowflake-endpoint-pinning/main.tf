terraform {
  required_providers {
    privatelink = {
      source = "privatelink/privatelink"
    }
  }
}

variable "vpc_id" {
  description = "The VPC your Snowflake clients run in."
  type        = string
}

variable "subnet_ids" {
  description = "One private subnet per Availability Zone for the endpoint."
  type        = list(string)
}

# One provider per Snowflake account. The key comes from
# SNOWFLAKE_PRIVATE_KEY_PATH (and SNOWFLAKE_PRIVATE_KEY_PASSPHRASE) so it
# stays out of the code; the role defaults to ACCOUNTADMIN, which pinning
# needs.
provider "privatelink" {
  region = "us-east-1"

  # Needed when Terraform runs as a role (SSO, CI role, assume_role):
  # a profile with IAM user keys that mints the pin tokens.
  # federation_profile = "snowflake-pin"

  snowflake {
    account = "myorg-analytics"
    user    = "TERRAFORM"
  }
}

provider "privatelink" {
  alias  = "reporting"
  region = "us-east-1"

  snowflake {
    account = "myorg-reporting"
    user    = "TERRAFORM"
  }
}

# 1. What Snowflake says to connect to.
data "privatelink_snowflake_config" "analytics" {}

# 2. Your interface endpoint to Snowflake's endpoint service. Snowflake's
#    service has no private DNS name of its own: you create the records
#    (see dns_names below). Port 80 carries OCSP.
resource "privatelink_vpc_endpoint" "snowflake" {
  service_name = data.privatelink_snowflake_config.analytics.endpoint_service_name
  vpc_id       = var.vpc_id
  subnet_ids   = var.subnet_ids

  allow_from_vpc_cidr {
    ports = [443, 80]
  }

  tags = {
    Name = "snowflake"
  }
}

# 3. Pin the endpoint to each account. The first pin fixes the enforcement
#    time (its registration plus delay_minutes); the others inherit it, so
#    order them after the first and give the delay room for all of them.
resource "privatelink_snowflake_endpoint_pin" "analytics" {
  vpc_endpoint_id = privatelink_vpc_endpoint.snowflake.id
  delay_minutes   = 60
}

resource "privatelink_snowflake_endpoint_pin" "reporting" {
  provider        = privatelink.reporting
  vpc_endpoint_id = privatelink_vpc_endpoint.snowflake.id
  depends_on      = [privatelink_snowflake_endpoint_pin.analytics]
}

output "snowflake_dns_names" {
  description = "CNAME each of these to the endpoint's DNS name."
  value       = data.privatelink_snowflake_config.analytics.dns_names
}

output "endpoint_dns_name" {
  value = privatelink_vpc_endpoint.snowflake.dns_entries[0].dns_name
}

output "pins_enforced_at" {
  value = {
    analytics = privatelink_snowflake_endpoint_pin.analytics.enforced_at
    reporting = privatelink_snowflake_endpoint_pin.reporting.enforced_at
  }
}
