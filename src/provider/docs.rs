//! The provider's documentation pages, generated from its schemas.

use super::{permissions, PrivatelinkProvider, TYPE_NAME};
use crate::framework::docs::{self, Kind, Page};
use crate::framework::resource::Provider;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Renders `docs/` from the schemas and `examples/` under `repo_root`.
pub fn render(repo_root: &Path) -> Result<BTreeMap<PathBuf, String>, String> {
    let provider = PrivatelinkProvider;
    let provider_schema = provider.schema();
    let resources: Vec<_> = provider
        .resources()
        .iter()
        .map(|r| (r.type_name(), r.schema()))
        .collect();
    let data_sources: Vec<_> = provider
        .data_sources()
        .iter()
        .map(|d| (d.type_name(), d.schema()))
        .collect();
    let resource_permissions = |name: &str| {
        permissions::of_resource(name).ok_or_else(|| format!("{name} declares no permissions"))
    };
    let data_source_permissions = |name: &str| {
        permissions::of_data_source(name).ok_or_else(|| format!("{name} declares no permissions"))
    };
    let mut all = Vec::new();
    for (name, _) in &resources {
        all.push(resource_permissions(name)?);
    }
    for (name, _) in &data_sources {
        all.push(data_source_permissions(name)?);
    }
    let mut pages = vec![Page {
        kind: Kind::Provider,
        type_name: TYPE_NAME,
        schema: &provider_schema,
        sections: vec![permissions::provider_section(&all)],
    }];
    for (name, schema) in &resources {
        pages.push(Page {
            kind: Kind::Resource,
            type_name: name,
            schema,
            sections: vec![permissions::section(resource_permissions(name)?, false)],
        });
    }
    for (name, schema) in &data_sources {
        pages.push(Page {
            kind: Kind::DataSource,
            type_name: name,
            schema,
            sections: vec![permissions::section(data_source_permissions(name)?, true)],
        });
    }
    let mut out = docs::render(
        TYPE_NAME,
        "PrivateLink",
        &pages,
        &repo_root.join("examples"),
    )?;
    out.extend(docs::render_guides(&repo_root.join("examples"))?);
    Ok(out)
}

/// Writes the pages under `repo_root/docs`, removing generated pages that no
/// longer have a type behind them.
pub fn write(repo_root: &Path) -> Result<usize, String> {
    let pages = render(repo_root)?;
    let docs_dir = repo_root.join("docs");
    for sub in ["resources", "data-sources"] {
        if let Ok(entries) = std::fs::read_dir(docs_dir.join(sub)) {
            for e in entries.flatten() {
                let rel = PathBuf::from(sub).join(e.file_name());
                if !pages.contains_key(&rel) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
    }
    for (rel, text) in &pages {
        let path = docs_dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(pages.len())
}
