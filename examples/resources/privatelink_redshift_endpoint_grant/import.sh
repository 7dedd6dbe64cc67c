# A grant is imported by CLUSTER:ACCOUNT, the cluster identifier and the grantee's account ID.
terraform import privatelink_redshift_endpoint_grant.sigma analytics:185497759670
