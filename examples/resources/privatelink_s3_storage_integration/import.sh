# A storage integration is imported by BUCKET/PREFIX/ROLE_NAME (the prefix may
# contain slashes). The vendor is inferred from the CORS rule's origin.
terraform import privatelink_s3_storage_integration.sigma acme-analytics-exports/sigma/exports/sigma-storage-integration
