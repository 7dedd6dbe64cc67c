pub mod endpoint_service;
pub mod vendor;
