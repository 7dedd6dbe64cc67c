//! The provider binary. Terraform starts it and talks to it over gRPC; run
//! by hand it explains that, and `docs` regenerates the registry docs.

use privatelink::framework::server::FrameworkServer;
use privatelink::provider::PrivatelinkProvider;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("docs") {
        return write_docs(args.get(1).map(String::as_str).unwrap_or("."));
    }
    privatelink::logging::init();
    // Go providers take both spellings (Go's flag package does).
    let debug = args.iter().any(|a| a == "--debug" || a == "-debug");
    if !debug {
        privatelink::plugin::handshake::require_magic_cookie();
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(privatelink::plugin::serve(
        || FrameworkServer::new(PrivatelinkProvider),
        debug,
    ));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `terraform-provider-privatelink docs [REPO_ROOT]`: writes docs/ from the
/// schema and examples/.
fn write_docs(root: &str) -> ExitCode {
    match privatelink::provider::docs::write(std::path::Path::new(root)) {
        Ok(n) => {
            println!("wrote {n} pages under {root}/docs");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}
