# A VPC endpoint is imported by its endpoint ID. A security group the
# provider created for allow_from_vpc_cidr is recognised by its tag; one made
# by hand (as the runbooks do) stays in security_group_ids, since
# allow_from_vpc_cidr would make a group of its own, admitting every CIDR of
# the VPC, and detach it.
terraform import privatelink_vpc_endpoint.partner vpce-0123456789abcdef0
