# Once Sigma has created its endpoint to your service, it tells you the
# endpoint ID; accept that connection (and only that one).
variable "sigma_vpc_endpoint_id" {
  type        = string
  description = "The VPC endpoint ID Sigma sent after installing the connection."
}

resource "privatelink_endpoint_connection_accepter" "sigma" {
  service_id      = privatelink_endpoint_service.warehouse.id
  vpc_endpoint_id = var.sigma_vpc_endpoint_id

  timeouts {
    create = "30m" # Sigma may take a while to create its endpoint
  }
}
