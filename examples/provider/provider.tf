terraform {
  required_providers {
    privatelink = {
      source = "privatelink/privatelink"
    }
  }
}

# Credentials come from the standard AWS chain (environment, shared profile,
# SSO, instance or container role); region and endpoints fall back to the
# usual AWS_* variables.
provider "privatelink" {
  region = "us-east-1"

  # Optional: refuse to act with credentials of any other account.
  # allowed_account_ids = ["123456789012"]

  # Optional: tags for everything this provider tags, under each resource's
  # own `tags` (each shows the merged map as `tags_all`).
  # default_tags {
  #   tags = { team = "data-platform" }
  # }

  # Optional: tags that other systems (cost tooling, say) set on what this
  # provider tags; they never show as drift and are never removed.
  # ignore_tags {
  #   keys         = ["CostCenter"]
  #   key_prefixes = ["cost:"]
  # }

  # Optional: act through a role in the data account.
  # assume_role {
  #   role_arn = "arn:aws:iam::123456789012:role/platform-privatelink"
  # }

  # Optional: the Snowflake account whose endpoints you pin. The block is
  # needed even when SNOWFLAKE_* environment variables give every value
  # (then write `snowflake {}`).
  # snowflake {
  #   account          = "myorg-myaccount"
  #   user             = "TERRAFORM"
  #   private_key_path = "~/.snowflake/terraform_key.p8"
  # }
}
