//! What the end-to-end tests of AWS-backed resources share: a workspace
//! whose provider block points at the emulator.
#![allow(dead_code)]

use std::path::PathBuf;

use super::aws::Emulator;
use super::terraform::Workspace;

pub const HEADER: &str = "terraform {\n  required_providers {\n    privatelink = { source = \"privatelink/privatelink\" }\n  }\n}\n";

/// A workspace with the provider pointed at `emu`, then `body`.
pub fn workspace(emu: &Emulator, body: &str) -> Workspace {
    copy_of(emu, &format!("{HEADER}{}\n{body}", emu.provider_block()))
}

/// Replaces `ws`'s main.tf with the provider pointed at `emu`, then `body`.
pub fn rewrite(emu: &Emulator, ws: &Workspace, body: &str) {
    ws.write(
        "main.tf",
        &format!("{HEADER}{}\n{body}", emu.provider_block()),
    );
}

/// A second workspace with exactly this main.tf, e.g. to import into.
pub fn copy_of(emu: &Emulator, main_tf: &str) -> Workspace {
    with_emulator_env(emu, Workspace::new(main_tf))
}

/// `workspace`, run by the Terraform binary `terraform`.
pub fn workspace_under(emu: &Emulator, terraform: PathBuf, body: &str) -> Workspace {
    with_emulator_env(
        emu,
        Workspace::with_terraform(
            terraform,
            &format!("{HEADER}{}\n{body}", emu.provider_block()),
        ),
    )
}

fn with_emulator_env(emu: &Emulator, mut ws: Workspace) -> Workspace {
    for (k, v) in emu.env() {
        ws.set_env(k, v);
    }
    ws.check_after_destroy(emu.documented_calls_check());
    ws
}

pub fn main_tf(ws: &Workspace) -> String {
    std::fs::read_to_string(ws.path().join("main.tf")).expect("read main.tf")
}

/// Imports `address` as `id` into a copy of `ws` and asserts that every
/// attribute (timeouts aside) matches what `ws` applied.
pub fn assert_import_matches(emu: &Emulator, ws: &Workspace, resource_type: &str, id: &str) {
    let applied = ws.resource_values(resource_type);
    let other = copy_of(emu, &main_tf(ws));
    other.init();
    let address = format!(
        "{resource_type}.{}",
        ws.state()["values"]["root_module"]["resources"]
            .as_array()
            .and_then(|rs| rs.iter().find(|r| r["type"] == resource_type))
            .map(|r| r["name"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    );
    other.ok(&["import", "-no-color", "-input=false", &address, id]);
    let imported = other.resource_values(resource_type);
    for (k, v) in applied.as_object().expect("attributes") {
        if k == "timeouts" {
            continue;
        }
        assert_eq!(&imported[k], v, "imported {k} differs");
    }
    // The copy must not destroy what `ws` owns.
    other.ok(&["state", "rm", "-no-color", &address]);
}
