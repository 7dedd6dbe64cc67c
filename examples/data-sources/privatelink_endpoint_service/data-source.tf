# Check a partner's service before connecting: which Availability Zone IDs
# it serves (your endpoint's subnets must be in them) and whether the
# partner must accept the connection.
data "privatelink_endpoint_service" "partner" {
  service_name = "com.amazonaws.vpce.us-east-1.vpce-svc-f9330539c752b7993"
}

output "partner_zones" {
  value = data.privatelink_endpoint_service.partner.availability_zone_ids
}

output "partner_accepts_manually" {
  value = data.privatelink_endpoint_service.partner.acceptance_required
}
