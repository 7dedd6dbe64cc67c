terraform {
  # The oldest Terraform the provider supports. Nothing here needs more:
  # no optional() object attributes, no preconditions, and each validation
  # refers to its own variable only.
  required_version = ">= 1.0"

  required_providers {
    privatelink = {
      source = "privatelink/privatelink"
    }
  }
}
