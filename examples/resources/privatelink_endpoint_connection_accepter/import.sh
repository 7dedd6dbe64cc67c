# A connection is imported as SERVICEID_ENDPOINTID.
terraform import privatelink_endpoint_connection_accepter.sigma vpce-svc-0123456789abcdef0_vpce-0fedcba9876543210
