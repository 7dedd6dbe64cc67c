//! The provider binary: Terraform starts it and talks to it over gRPC.

use std::process::ExitCode;

use privatelink::proto::tfplugin5::{
    get_provider_schema, provider_server::Provider, schema, Schema,
};

/// Stand-in until the real provider is wired in: an empty provider schema.
struct Placeholder;

#[tonic::async_trait]
impl Provider for Placeholder {
    async fn get_schema(
        &self,
        _request: tonic::Request<get_provider_schema::Request>,
    ) -> Result<tonic::Response<get_provider_schema::Response>, tonic::Status> {
        Ok(tonic::Response::new(get_provider_schema::Response {
            provider: Some(Schema {
                version: 0,
                block: Some(schema::Block::default()),
            }),
            ..Default::default()
        }))
    }
}

fn main() -> ExitCode {
    privatelink::logging::init();
    let debug = std::env::args().skip(1).any(|a| a == "--debug");
    if !debug {
        privatelink::plugin::handshake::require_magic_cookie();
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("starting the async runtime");
    let result = runtime.block_on(privatelink::plugin::serve(Placeholder, debug));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
