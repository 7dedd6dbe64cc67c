# A storage integration is imported by BUCKET/PREFIX/ROLE_NAME (the prefix may
# contain slashes; the s3:// form the S3 console copies works too). The
# vendor is inferred from the CORS rule's origin. One set up by hand with the
# vendor's runbook imports too: its CORS rule (which has no ID) and an IP
# allowlist statement of the same shape as this resource's (under a Sid of
# its own) are taken over, and the first apply renames them to the
# resource's ID and Sid instead of adding a second rule and statement.
terraform import privatelink_s3_storage_integration.sigma acme-analytics-exports/sigma/exports/sigma-storage-integration
