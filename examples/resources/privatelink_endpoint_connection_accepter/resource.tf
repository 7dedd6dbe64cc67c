# Once Sigma has created its endpoint to your service, the endpoint shows
# pending acceptance among the service's endpoint connections; accept that
# connection (and only that one).
variable "sigma_vpc_endpoint_id" {
  type        = string
  description = "The ID of Sigma's VPC endpoint, pending acceptance on the service."
}

resource "privatelink_endpoint_connection_accepter" "sigma" {
  service_id      = privatelink_endpoint_service.warehouse.id
  vpc_endpoint_id = var.sigma_vpc_endpoint_id

  timeouts {
    create = "30m" # Sigma may take a while to create its endpoint
  }
}
