//! Which provider binary a bench measures: `PROVIDER_BIN`, else the release
//! build (under `CARGO_TARGET_DIR`, else `target/`), else the test build
//! Cargo made for the bench. Include with `#[path = "support/release_bin.rs"] mod ...;`.

use std::path::PathBuf;

pub fn provider_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("PROVIDER_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    let release = target.join("release/terraform-provider-privatelink");
    if release.exists() {
        return release;
    }
    PathBuf::from(env!("CARGO_BIN_EXE_terraform-provider-privatelink"))
}
