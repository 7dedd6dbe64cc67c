//! Compiles the wire contract in `proto/` with protox (a pure-Rust protobuf
//! compiler), so a fresh machine needs no system `protoc`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/tfplugin5.proto",
        "proto/grpc_controller.proto",
        "proto/grpc_stdio.proto",
    ];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .generate_default_stubs(true)
        .compile_fds(descriptors)?;

    // Terraform starts the provider for every command, so start-up counts.
    // As a position-independent executable the loader had to patch ~54,000
    // pointers (1.3 MB of relocations read, 0.8 MB of pages copied) before
    // main; linked at a fixed address there are none. Go providers are built
    // the same way on Linux.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
    Ok(())
}
