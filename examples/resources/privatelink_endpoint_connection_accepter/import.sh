# A connection is imported as SERVICEID_ENDPOINTID. Only a live connection
# imports: remove an `import` block once it is applied, since after the
# connection is rejected the block would stop every plan.
terraform import privatelink_endpoint_connection_accepter.sigma vpce-svc-0123456789abcdef0_vpce-0fedcba9876543210
