# Reach a partner's API privately from your VPC, under the partner's own
# DNS name (e.g. api.partner.com), admitting only your VPC on port 443.
data "privatelink_endpoint_service" "partner" {
  service_name = "com.amazonaws.vpce.us-east-1.vpce-svc-f9330539c752b7993"
}

resource "privatelink_vpc_endpoint" "partner" {
  service_name        = data.privatelink_endpoint_service.partner.service_name
  vpc_id              = aws_vpc.main.id
  subnet_ids          = [aws_subnet.private_a.id, aws_subnet.private_b.id]
  private_dns_enabled = true

  # The partner accepts connections by hand, and AWS turns private DNS on
  # only for an accepted one: the apply waits for the partner (tell them
  # the endpoint ID, shown in the console meanwhile), then turns it on.
  wait_for_acceptance = true
  timeouts {
    create = "2h"
  }

  allow_from_vpc_cidr {
    ports = [443]
  }

  tags = {
    Name = "partner-api"
  }
}

output "partner_endpoint_state" {
  value = {
    id    = privatelink_vpc_endpoint.partner.id
    state = privatelink_vpc_endpoint.partner.state
  }
}
