# A pin is imported by its VPC endpoint ID, in the Snowflake account of the
# provider (alias) the resource uses; ACCOUNT_LOCATOR:VPCE_ID (or the account
# as the provider block names it, ORGNAME-ACCOUNTNAME:VPCE_ID) works too.
terraform import privatelink_snowflake_endpoint_pin.analytics vpce-0123456789abcdef0
