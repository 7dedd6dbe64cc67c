//! Registry documentation generated from the schema, so the docs cannot
//! drift from what the provider accepts. The layout follows the Terraform
//! registry's: `index.md`, `resources/<name>.md`, `data-sources/<name>.md`,
//! each with front matter, the example from `examples/`, the schema and, for
//! resources, the import command; and `guides/<name>.md` from templates in
//! `examples/guides/`.

use super::schema::{Attribute, Block, Mode, NestedBlock, Nesting, Schema};
use super::value::Type;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Provider,
    Resource,
    DataSource,
}

pub struct Page<'a> {
    pub kind: Kind,
    /// Full type name (`privatelink_vendor`), or the provider name.
    pub type_name: &'a str,
    pub schema: &'a Schema,
    /// Sections the provider adds after the generated ones.
    pub sections: Vec<Section>,
}

/// A section of a page: a `## heading` and its markdown.
pub struct Section {
    pub heading: String,
    pub body: String,
}

/// Renders every page; returns paths relative to the docs folder. Examples
/// are read from `examples_dir` (registry layout); a missing example is an
/// error, so every page shows one.
pub fn render(
    provider_name: &str,
    display_name: &str,
    pages: &[Page<'_>],
    examples_dir: &Path,
) -> Result<BTreeMap<PathBuf, String>, String> {
    let mut out = BTreeMap::new();
    for page in pages {
        let short = page
            .type_name
            .strip_prefix(&format!("{provider_name}_"))
            .unwrap_or(page.type_name);
        let (path, example_file, title, kind_word) = match page.kind {
            Kind::Provider => (
                PathBuf::from("index.md"),
                examples_dir.join("provider/provider.tf"),
                format!("Provider: {display_name}"),
                "Provider",
            ),
            Kind::Resource => (
                PathBuf::from(format!("resources/{short}.md")),
                examples_dir.join(format!("resources/{}/resource.tf", page.type_name)),
                format!(
                    "{} Resource - terraform-provider-{provider_name}",
                    page.type_name
                ),
                "Resource",
            ),
            Kind::DataSource => (
                PathBuf::from(format!("data-sources/{short}.md")),
                examples_dir.join(format!("data-sources/{}/data-source.tf", page.type_name)),
                format!(
                    "{} Data Source - terraform-provider-{provider_name}",
                    page.type_name
                ),
                "Data Source",
            ),
        };
        let example = std::fs::read_to_string(&example_file)
            .map_err(|e| format!("{}: {e}", example_file.display()))?;
        let description = page.schema.block.description.trim();
        let mut md = String::new();
        md.push_str("---\n");
        md.push_str(&format!("page_title: {:?}\n", title));
        md.push_str("subcategory: \"\"\n");
        md.push_str(&format!(
            "description: |-\n  {}\n",
            first_sentence(description)
        ));
        md.push_str("---\n\n");
        md.push_str(
            "<!-- Generated from the provider's schema by `make docs`; do not edit. -->\n\n",
        );
        let heading = if page.kind == Kind::Provider {
            format!("{display_name} Provider")
        } else {
            format!("{} ({kind_word})", page.type_name)
        };
        md.push_str(&format!("# {heading}\n\n{description}\n\n"));
        md.push_str("## Example Usage\n\n```terraform\n");
        md.push_str(example.trim_end());
        md.push_str("\n```\n\n");
        md.push_str("## Schema\n\n");
        render_block(&page.schema.block, None, &mut md);
        if page.kind == Kind::Resource {
            let import = examples_dir.join(format!("resources/{}/import.sh", page.type_name));
            if let Ok(cmd) = std::fs::read_to_string(&import) {
                md.push_str(
                    "## Import\n\nImport is supported using the following syntax:\n\n```shell\n",
                );
                md.push_str(cmd.trim_end());
                md.push_str("\n```\n");
                // Never read back from the remote object, so an import
                // cannot know them.
                let steering: Vec<String> = page
                    .schema
                    .block
                    .attributes
                    .iter()
                    .filter(|a| a.provider_only && a.default.is_some())
                    .map(|a| format!("`{}`", a.name))
                    .collect();
                if !steering.is_empty() {
                    let (its, it, steers, them) = if steering.len() == 1 {
                        ("its default", "it", "steers", "it")
                    } else {
                        ("their defaults", "they", "steer", "them")
                    };
                    md.push_str(&format!(
                        "\nImport sets {} to {its}, since {it} only {steers} what the provider does and nothing remote stores {them}: the first plan after an import updates {them} in place if the configuration says otherwise.\n",
                        steering.join(", "),
                    ));
                }
                if page
                    .schema
                    .block
                    .blocks
                    .iter()
                    .any(|b| b.name == "timeouts")
                {
                    let likewise = if steering.is_empty() { "" } else { "likewise " };
                    md.push_str(&format!("\nA `timeouts` block in the configuration is {likewise}recorded by the first plan after an import, as an in-place update that changes nothing remote.\n"));
                }
            }
        }
        for section in &page.sections {
            md.push_str(&format!(
                "\n## {}\n\n{}\n",
                section.heading,
                section.body.trim_end()
            ));
        }
        out.insert(path, md.trim_end().to_string() + "\n");
    }
    Ok(out)
}

/// Guides: each `examples_dir/guides/<name>.md` becomes `guides/<name>.md`.
/// The source carries its own front matter; a line `{{tffile "PATH"}}`
/// (PATH relative to `examples_dir`) becomes that file in a Terraform code
/// block, so a guide's configuration is a real file tests can check.
pub fn render_guides(examples_dir: &Path) -> Result<BTreeMap<PathBuf, String>, String> {
    let mut out = BTreeMap::new();
    let dir = examples_dir.join("guides");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(out);
    };
    let mut sources: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
        .collect();
    sources.sort();
    for src in sources {
        let text = std::fs::read_to_string(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let (front, body) = text
            .strip_prefix("---\n")
            .and_then(|rest| rest.split_once("\n---\n"))
            .ok_or_else(|| format!("{}: a guide starts with front matter (---)", src.display()))?;
        let mut md = format!(
            "---\n{front}\n---\n\n<!-- Generated from {} by `make docs`; do not edit. -->\n",
            src.strip_prefix(examples_dir.parent().unwrap_or(examples_dir))
                .unwrap_or(&src)
                .display()
        );
        for line in body.lines() {
            match line
                .trim()
                .strip_prefix("{{tffile \"")
                .and_then(|l| l.strip_suffix("\"}}"))
            {
                Some(rel) => {
                    let path = examples_dir.join(rel);
                    let code = std::fs::read_to_string(&path)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                    md.push_str("```terraform\n");
                    md.push_str(code.trim_end());
                    md.push_str("\n```\n");
                }
                None => {
                    md.push_str(line);
                    md.push('\n');
                }
            }
        }
        let name = src.file_name().unwrap_or_default();
        out.insert(
            PathBuf::from("guides").join(name),
            md.trim_end().to_string() + "\n",
        );
    }
    Ok(out)
}

/// The first sentence, on one line: it goes into the front matter's
/// one-line description, so it ends at a paragraph or line break too.
fn first_sentence(text: &str) -> String {
    let paragraph = text.split('\n').next().unwrap_or(text);
    let s = paragraph
        .split(". ")
        .next()
        .unwrap_or(paragraph)
        .trim()
        .trim_end_matches('.');
    format!("{s}.")
}

fn type_label(ty: &Type) -> String {
    match ty {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::List(t) => format!("List of {}", type_label(t)),
        Type::Set(t) => format!("Set of {}", type_label(t)),
        Type::Map(t) => format!("Map of {}", type_label(t)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
        Type::Dynamic => "Dynamic".into(),
    }
}

fn anchor(prefix: &str, path: &str) -> String {
    format!("nested{prefix}--{}", path.replace('.', "--"))
}

fn render_block(block: &Block, path: Option<&str>, md: &mut String) {
    let mut nested: Vec<(String, &NestedBlock)> = Vec::new();
    let mut objects: Vec<(String, &Attribute)> = Vec::new();
    let groups = [
        ("Required", Mode::Required),
        ("Optional", Mode::Optional),
        ("Read-Only", Mode::Computed),
    ];
    for (title, mode) in groups {
        let mut lines: Vec<String> = Vec::new();
        let mut attrs: Vec<&Attribute> = block
            .attributes
            .iter()
            .filter(|a| match mode {
                Mode::Optional => matches!(a.mode, Mode::Optional | Mode::OptionalComputed),
                m => a.mode == m,
            })
            .collect();
        attrs.sort_by(|a, b| a.name.cmp(&b.name));
        for a in attrs {
            let full = path.map_or(a.name.clone(), |p| format!("{p}.{}", a.name));
            let mut label = type_label(&a.ty);
            if a.sensitive {
                label.push_str(", Sensitive");
            }
            if a.deprecation.is_some() {
                label.push_str(", Deprecated");
            }
            let mut line = format!("- `{}` ({label}) {}", a.name, a.full_description());
            if matches!(a.ty, Type::Object(_)) {
                line.push_str(&format!(
                    " (see [below for nested schema](#{}))",
                    anchor("att", &full)
                ));
                objects.push((full, a));
            }
            lines.push(line.trim_end().to_string());
        }
        if mode == Mode::Optional {
            let mut blocks: Vec<&NestedBlock> = block.blocks.iter().collect();
            blocks.sort_by(|a, b| a.name.cmp(&b.name));
            for b in blocks {
                let full = path.map_or(b.name.clone(), |p| format!("{p}.{}", b.name));
                let kind = match b.nesting {
                    Nesting::Single | Nesting::Group => "Block".to_string(),
                    Nesting::List => "Block List".into(),
                    Nesting::Set => "Block Set".into(),
                };
                let max = if b.max_items > 0 {
                    format!(", Max: {}", b.max_items)
                } else {
                    String::new()
                };
                lines.push(format!(
                    "- `{}` ({kind}{max}) {} (see [below for nested schema](#{}))",
                    b.name,
                    b.block.description.trim(),
                    anchor("block", &full)
                ));
                nested.push((full, b));
            }
        }
        if !lines.is_empty() {
            md.push_str(&format!("### {title}\n\n{}\n\n", lines.join("\n")));
        }
    }
    for (full, b) in nested {
        md.push_str(&format!(
            "<a id=\"{}\"></a>\n### Nested Schema for `{full}`\n\n",
            anchor("block", &full)
        ));
        render_block(&b.block, Some(&full), md);
    }
    for (full, a) in objects {
        md.push_str(&format!(
            "<a id=\"{}\"></a>\n### Nested Schema for `{full}`\n\nRead-Only:\n\n",
            anchor("att", &full)
        ));
        if let Type::Object(attrs) = &a.ty {
            for (name, ty) in attrs {
                md.push_str(&format!("- `{name}` ({})\n", type_label(ty)));
            }
        }
        md.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_sentence_stops_at_a_line_break() {
        assert_eq!(first_sentence("One thing. Another."), "One thing.");
        assert_eq!(
            first_sentence("One thing\n\nMore text. Here."),
            "One thing."
        );
    }

    #[test]
    fn guides_keep_front_matter_and_inline_terraform_files() {
        let dir = tempfile::tempdir().unwrap();
        let examples = dir.path().join("examples");
        std::fs::create_dir_all(examples.join("guides/flow")).unwrap();
        std::fs::write(
            examples.join("guides/flow/main.tf"),
            "resource \"x\" \"y\" {}\n",
        )
        .unwrap();
        std::fs::write(
            examples.join("guides/flow.md"),
            "---\npage_title: \"Flow\"\nsubcategory: \"Guides\"\n---\n\n# Flow\n\n  {{tffile \"guides/flow/main.tf\"}}\n\nDone.\n",
        )
        .unwrap();
        std::fs::write(examples.join("guides/notes.txt"), "not a guide").unwrap();
        let pages = render_guides(&examples).unwrap();
        assert_eq!(pages.len(), 1);
        let page = &pages[Path::new("guides/flow.md")];
        assert!(page.starts_with("---\npage_title: \"Flow\"\nsubcategory: \"Guides\"\n---\n"));
        assert!(
            page.contains("```terraform\nresource \"x\" \"y\" {}\n```\n\nDone.\n"),
            "{page}"
        );

        std::fs::write(examples.join("guides/bad.md"), "# No front matter\n").unwrap();
        assert!(render_guides(&examples)
            .unwrap_err()
            .contains("front matter"));
        std::fs::write(
            examples.join("guides/bad.md"),
            "---\npage_title: \"Bad\"\n---\n{{tffile \"guides/missing.tf\"}}\n",
        )
        .unwrap();
        assert!(render_guides(&examples).unwrap_err().contains("missing.tf"));
    }
}
