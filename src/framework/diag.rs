//! Diagnostics: what the user sees when something is wrong, pinned to the
//! attribute at fault whenever we know it.

use crate::proto::tfplugin5 as pb;
use std::fmt;

/// One step into a value: an attribute, a map key or a list/set index.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PathStep {
    Attribute(String),
    Key(String),
    Index(i64),
}

/// Where in a configuration or state a value lives, e.g. `assume_role[0].role_arn`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributePath(pub Vec<PathStep>);

impl AttributePath {
    pub fn root() -> AttributePath {
        AttributePath(Vec::new())
    }
    pub fn attr(name: &str) -> AttributePath {
        AttributePath(vec![PathStep::Attribute(name.to_string())])
    }
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
    pub fn then_attr(&self, name: &str) -> AttributePath {
        let mut p = self.clone();
        p.0.push(PathStep::Attribute(name.to_string()));
        p
    }
    pub fn then_key(&self, key: &str) -> AttributePath {
        let mut p = self.clone();
        p.0.push(PathStep::Key(key.to_string()));
        p
    }
    /// Element `index` of a list, or of a set when `in_set`: Terraform sorts a
    /// set's elements but matches an index against the configuration as
    /// written, so it would point at the wrong element. A set element's path
    /// stops at the set, and the message names the value instead.
    pub fn then_element(&self, in_set: bool, index: usize) -> AttributePath {
        if in_set {
            self.clone()
        } else {
            self.then_index(index)
        }
    }
    pub fn then_index(&self, index: usize) -> AttributePath {
        let mut p = self.clone();
        p.0.push(PathStep::Index(index as i64));
        p
    }

    pub fn to_proto(&self) -> pb::AttributePath {
        use pb::attribute_path::step::Selector;
        pb::AttributePath {
            steps: self
                .0
                .iter()
                .map(|s| pb::attribute_path::Step {
                    selector: Some(match s {
                        PathStep::Attribute(n) => Selector::AttributeName(n.clone()),
                        PathStep::Key(k) => Selector::ElementKeyString(k.clone()),
                        PathStep::Index(i) => Selector::ElementKeyInt(*i),
                    }),
                })
                .collect(),
        }
    }
}

impl fmt::Display for AttributePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                PathStep::Attribute(n) if i == 0 => write!(f, "{n}")?,
                PathStep::Attribute(n) => write!(f, ".{n}")?,
                PathStep::Key(k) => write!(f, "[{k:?}]")?,
                PathStep::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub summary: String,
    pub detail: String,
    pub path: Option<AttributePath>,
}

impl Diagnostic {
    pub fn error(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            summary: summary.into(),
            detail: detail.into(),
            path: None,
        }
    }
    pub fn warning(summary: impl Into<String>, detail: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(summary, detail)
        }
    }
    /// Pins the diagnostic to an attribute (Terraform then underlines it).
    pub fn at(mut self, path: AttributePath) -> Diagnostic {
        self.path = (!path.is_root()).then_some(path);
        self
    }
    /// The same finding as a warning, `also` added to its detail: for what
    /// fails the apply but must not stop a plan (Terraform plans pending
    /// changes before a destroy, and an error there stops the destroy).
    pub fn as_warning(self, also: &str) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            detail: format!("{} {also}", self.detail),
            ..self
        }
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn to_proto(&self) -> pb::Diagnostic {
        pb::Diagnostic {
            severity: match self.severity {
                Severity::Error => pb::diagnostic::Severity::Error as i32,
                Severity::Warning => pb::diagnostic::Severity::Warning as i32,
            },
            summary: self.summary.clone(),
            detail: self.detail.clone(),
            attribute: self.path.as_ref().map(AttributePath::to_proto),
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(p) = &self.path {
            write!(f, "{p}: ")?;
        }
        write!(f, "{}", self.summary)?;
        if !self.detail.is_empty() {
            write!(f, ": {}", self.detail)?;
        }
        Ok(())
    }
}

/// A list of diagnostics. Handlers push into one and keep going where they
/// can, so the user sees every problem at once.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics(Vec::new())
    }
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }
    pub fn error(&mut self, summary: impl Into<String>, detail: impl Into<String>) {
        self.push(Diagnostic::error(summary, detail));
    }
    pub fn error_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::error(summary, detail).at(path));
    }
    pub fn warning_at(
        &mut self,
        path: AttributePath,
        summary: impl Into<String>,
        detail: impl Into<String>,
    ) {
        self.push(Diagnostic::warning(summary, detail).at(path));
    }
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }
    pub fn to_proto(&self) -> Vec<pb::Diagnostic> {
        self.0.iter().map(Diagnostic::to_proto).collect()
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Diagnostics {
        Diagnostics(vec![d])
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_terraform_addresses() {
        let p = AttributePath::attr("assume_role")
            .then_index(0)
            .then_attr("role_arn");
        assert_eq!(p.to_string(), "assume_role[0].role_arn");
        assert_eq!(
            AttributePath::attr("tags").then_key("Name").to_string(),
            "tags[\"Name\"]"
        );
    }

    #[test]
    fn proto_diagnostics_never_carry_invalid_severity() {
        let d = Diagnostic::warning("w", "").at(AttributePath::attr("x"));
        let pb = d.to_proto();
        assert_eq!(pb.severity, 2);
        assert_eq!(pb.attribute.unwrap().steps.len(), 1);
        assert_eq!(Diagnostic::error("e", "").to_proto().severity, 1);
    }
}
