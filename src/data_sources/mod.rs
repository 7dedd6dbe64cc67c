pub mod endpoint_service;
pub mod snowflake_config;
pub mod snowflake_endpoint_registrations;
pub mod vendor;
