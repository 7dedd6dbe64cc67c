# Publish a database behind a Network Load Balancer to Sigma over PrivateLink.
data "privatelink_vendor" "sigma" {
  name = "sigma"
}

resource "privatelink_endpoint_service" "warehouse" {
  network_load_balancer_arns = [aws_lb.warehouse.arn]
  allowed_principals         = [data.privatelink_vendor.sigma.principal_arn]
  acceptance_required        = true

  tags = {
    Name = "warehouse-for-sigma"
  }
}

# What Sigma's runbook asks you to send: service name, AZ IDs, region.
output "send_to_sigma" {
  value = privatelink_endpoint_service.warehouse.vendor_handoff
}
