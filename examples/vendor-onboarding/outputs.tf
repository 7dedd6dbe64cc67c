output "vendor_handoff" {
  description = "Everything the vendor's forms ask for, ready to paste. privatelink: service_name, availability_zone_ids and region of the endpoint service; null when endpoint_service_enabled is false. redshift: cluster_identifier, region, account (the cluster owner's) and availability_zone_ids of the cluster; null without redshift_cluster_identifier. storage_integration: role_arn and bucket_path; null without bucket. snowflake: service_name (privatelink-vpce-id), account_url (privatelink-account-url) and account_name (privatelink-account-name, what Sigma's Account field takes) of your Snowflake account; null unless snowflake_handoff_enabled or snowflake_enabled."
  value = {
    vendor              = data.privatelink_vendor.this.display_name
    privatelink         = one(privatelink_endpoint_service.this[*].vendor_handoff)
    redshift            = one(privatelink_redshift_endpoint_grant.vendor[*].vendor_handoff)
    storage_integration = one(privatelink_s3_storage_integration.vendor[*].vendor_handoff)
    snowflake = length(data.privatelink_snowflake_config.snowflake) == 0 ? null : {
      service_name = data.privatelink_snowflake_config.snowflake[0].endpoint_service_name
      account_url  = data.privatelink_snowflake_config.snowflake[0].account_url
      account_name = data.privatelink_snowflake_config.snowflake[0].account_name
    }
  }
}

output "endpoint_service_id" {
  description = "The endpoint service's ID (vpce-svc-...); null when endpoint_service_enabled is false."
  value       = one(privatelink_endpoint_service.this[*].id)
}

output "vendor_connection" {
  description = "The vendor's endpoint connection once accepted: state (available) and owner (the vendor's account); null while vendor_endpoint_id is empty, or when endpoint_service_enabled is false."
  value = length(privatelink_endpoint_connection_accepter.vendor) == 0 ? null : {
    vpc_endpoint_id = privatelink_endpoint_connection_accepter.vendor[0].vpc_endpoint_id
    state           = privatelink_endpoint_connection_accepter.vendor[0].state
    owner           = privatelink_endpoint_connection_accepter.vendor[0].vpc_endpoint_owner
  }
}

output "storage_integration_trust_phase" {
  description = "placeholder until vendor_iam_user_arn and external_id are set, vendor after; null without bucket."
  value       = one(privatelink_s3_storage_integration.vendor[*].trust_phase)
}

output "snowflake" {
  description = "The Snowflake endpoint and its pin, and the host names to CNAME to the endpoint in a private hosted zone for privatelink.snowflakecomputing.com; null unless snowflake_enabled."
  value = var.snowflake_enabled ? {
    endpoint_id       = privatelink_vpc_endpoint.snowflake[0].id
    endpoint_state    = privatelink_vpc_endpoint.snowflake[0].state
    endpoint_dns_name = privatelink_vpc_endpoint.snowflake[0].dns_entries[0].dns_name
    dns_names         = data.privatelink_snowflake_config.snowflake[0].dns_names
    pin               = privatelink_snowflake_endpoint_pin.snowflake[0].id
    registered_at     = privatelink_snowflake_endpoint_pin.snowflake[0].registered_at
    enforced_at       = privatelink_snowflake_endpoint_pin.snowflake[0].enforced_at
  } : null
}
