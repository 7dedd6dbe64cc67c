# A VPC endpoint is imported by its endpoint ID. A security group the
# provider created for allow_from_vpc_cidr is recognised by its tag.
terraform import privatelink_vpc_endpoint.partner vpce-0123456789abcdef0
