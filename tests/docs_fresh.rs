//! `docs/` is generated from the schema: this fails when it is stale.
//! Regenerate with `make docs` (this test with UPDATE_DOCS=1).

use std::path::Path;

#[test]
fn docs_match_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    if std::env::var_os("UPDATE_DOCS").is_some() {
        privatelink::provider::docs::write(root).expect("write docs");
    }
    let pages = privatelink::provider::docs::render(root).expect("render docs");
    assert!(pages.contains_key(Path::new("index.md")));
    assert!(pages.contains_key(Path::new("data-sources/vendor.md")));
    for (rel, want) in &pages {
        let path = root.join("docs").join(rel);
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == *want,
            "{} is stale or missing: run `make docs` and commit the result",
            path.display()
        );
    }
    for sub in ["resources", "data-sources", "guides"] {
        if let Ok(entries) = std::fs::read_dir(root.join("docs").join(sub)) {
            for e in entries.flatten() {
                let rel = Path::new(sub).join(e.file_name());
                assert!(
                    pages.contains_key(&rel) || sub == "guides",
                    "docs/{} documents nothing the provider serves",
                    rel.display()
                );
            }
        }
    }
}
