//! Code generated at build time from `proto/` (see build.rs).

#[allow(clippy::all, clippy::pedantic)]
pub mod tfplugin5 {
    tonic::include_proto!("tfplugin5");
}

#[allow(clippy::all, clippy::pedantic)]
pub mod plugin {
    tonic::include_proto!("plugin");
}
