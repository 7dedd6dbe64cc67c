# An endpoint service is imported by its service ID.
terraform import privatelink_endpoint_service.warehouse vpce-svc-0123456789abcdef0
