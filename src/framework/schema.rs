//! Schemas: what a provider, resource or data source accepts and returns,
//! with the planning rules and validators attached to each attribute.

use super::validators::Validator;
use super::value::{Type, Value};
use crate::proto::tfplugin5 as pb;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    /// Optional in configuration; the provider fills it when left out.
    OptionalComputed,
    /// Set only by the provider.
    Computed,
}

#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: Type,
    pub mode: Mode,
    pub sensitive: bool,
    pub description: String,
    pub deprecation: Option<String>,
    pub validators: Vec<Arc<dyn Validator>>,
    /// Changing this attribute replaces the object.
    pub requires_replace: bool,
    /// When the plan would otherwise leave this computed attribute unknown,
    /// keep the prior value: it does not change on update.
    pub use_state_for_unknown: bool,
    /// Only how the provider acts (a wait, what destroy does) depends on
    /// it, never the remote object: see `Block::only_provider_side_differs`.
    pub provider_only: bool,
    /// The value planned when configuration leaves the attribute out.
    pub default: Option<Value>,
    /// Environment variables consulted, in order, when configuration leaves
    /// the attribute out (provider configuration only; documented).
    pub env: Vec<&'static str>,
}

impl Attribute {
    fn new(name: &str, ty: Type, mode: Mode) -> Attribute {
        Attribute {
            name: name.to_string(),
            ty,
            mode,
            sensitive: false,
            description: String::new(),
            deprecation: None,
            validators: Vec::new(),
            requires_replace: false,
            use_state_for_unknown: false,
            provider_only: false,
            default: None,
            env: Vec::new(),
        }
    }
    pub fn required(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::Required)
    }
    pub fn optional(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::Optional)
    }
    pub fn optional_computed(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::OptionalComputed)
    }
    pub fn computed(name: &str, ty: Type) -> Attribute {
        Attribute::new(name, ty, Mode::Computed)
    }

    pub fn description(mut self, text: &str) -> Attribute {
        self.description = text.to_string();
        self
    }
    pub fn sensitive(mut self) -> Attribute {
        self.sensitive = true;
        self
    }
    pub fn deprecated(mut self, message: &str) -> Attribute {
        self.deprecation = Some(message.to_string());
        self
    }
    pub fn validate(mut self, v: impl Validator + 'static) -> Attribute {
        self.validators.push(Arc::new(v));
        self
    }
    pub fn requires_replace(mut self) -> Attribute {
        self.requires_replace = true;
        self
    }
    pub fn use_state_for_unknown(mut self) -> Attribute {
        self.use_state_for_unknown = true;
        self
    }
    pub fn provider_only(mut self) -> Attribute {
        self.provider_only = true;
        self
    }
    /// A default makes the attribute optional+computed: Terraform must be
    /// told the provider may set it.
    pub fn default(mut self, value: Value) -> Attribute {
        self.default = Some(value);
        if self.mode == Mode::Optional {
            self.mode = Mode::OptionalComputed;
        }
        self
    }
    pub fn env(mut self, vars: &[&'static str]) -> Attribute {
        self.env = vars.to_vec();
        self
    }

    pub fn is_computed(&self) -> bool {
        matches!(self.mode, Mode::Computed | Mode::OptionalComputed)
    }

    /// The description as documented: text, default, environment fallbacks,
    /// deprecation.
    pub fn full_description(&self) -> String {
        let mut text = self.description.clone();
        if let Some(d) = &self.default {
            text.push_str(&format!(" Defaults to `{}`.", render_default(d)));
        }
        if self.requires_replace {
            text.push_str(" Changing it replaces the resource.");
        }
        if !self.env.is_empty() {
            let vars: Vec<String> = self.env.iter().map(|v| format!("`{v}`")).collect();
            text.push_str(&format!(
                " Can also be set with the {} environment variable{}.",
                vars.join(" or "),
                if vars.len() > 1 { "s" } else { "" }
            ));
        }
        if let Some(d) = &self.deprecation {
            text.push_str(&format!(" **Deprecated**: {d}"));
        }
        text.trim().to_string()
    }

    fn to_proto(&self) -> pb::schema::Attribute {
        pb::schema::Attribute {
            name: self.name.clone(),
            r#type: self.ty.to_json_bytes(),
            description: self.full_description(),
            required: self.mode == Mode::Required,
            optional: matches!(self.mode, Mode::Optional | Mode::OptionalComputed),
            computed: self.is_computed(),
            sensitive: self.sensitive,
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecation.is_some(),
            write_only: false,
        }
    }
}

fn render_default(v: &Value) -> String {
    match v {
        Value::String(s) => format!("\"{s}\""),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::List(items) | Value::Set(items) => {
            let parts: Vec<String> = items.iter().map(render_default).collect();
            format!("[{}]", parts.join(", "))
        }
        _ => "null".into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block; the value is an object or null.
    Single,
    List,
    Set,
    /// Always present as an object, even when the block is absent.
    Group,
}

#[derive(Clone)]
pub struct NestedBlock {
    pub name: String,
    pub nesting: Nesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
    /// Replacing the object when anything in the block changes.
    pub requires_replace: bool,
    /// As `Attribute::provider_only`, for the whole block (`timeouts`).
    pub provider_only: bool,
}

impl NestedBlock {
    pub fn single(name: &str, block: Block) -> NestedBlock {
        NestedBlock {
            name: name.to_string(),
            nesting: Nesting::Single,
            block,
            min_items: 0,
            max_items: 0,
            requires_replace: false,
            provider_only: false,
        }
    }
    pub fn list(name: &str, block: Block) -> NestedBlock {
        NestedBlock {
            nesting: Nesting::List,
            ..NestedBlock::single(name, block)
        }
    }
    pub fn set(name: &str, block: Block) -> NestedBlock {
        NestedBlock {
            nesting: Nesting::Set,
            ..NestedBlock::single(name, block)
        }
    }
    pub fn max_items(mut self, n: i64) -> NestedBlock {
        self.max_items = n;
        self
    }
    pub fn requires_replace(mut self) -> NestedBlock {
        self.requires_replace = true;
        self
    }
    pub fn provider_only(mut self) -> NestedBlock {
        self.provider_only = true;
        self
    }

    pub fn value_type(&self) -> Type {
        let obj = self.block.value_type();
        match self.nesting {
            Nesting::Single | Nesting::Group => obj,
            Nesting::List => Type::list(obj),
            Nesting::Set => Type::set(obj),
        }
    }

    fn to_proto(&self) -> pb::schema::NestedBlock {
        use pb::schema::nested_block::NestingMode;
        pb::schema::NestedBlock {
            type_name: self.name.clone(),
            block: Some(self.block.to_proto(0)),
            nesting: match self.nesting {
                Nesting::Single => NestingMode::Single,
                Nesting::List => NestingMode::List,
                Nesting::Set => NestingMode::Set,
                Nesting::Group => NestingMode::Group,
            } as i32,
            min_items: self.min_items,
            max_items: self.max_items,
        }
    }
}

#[derive(Clone, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub description: String,
    pub deprecation: Option<String>,
}

impl Block {
    pub fn new() -> Block {
        Block::default()
    }
    /// `value` (an object of this block) with its provider-only attributes
    /// and blocks null: what it says of the remote object alone.
    pub fn remote_part(&self, value: &Value) -> Value {
        let mut remote = value.clone();
        if let Value::Object(fields) = &mut remote {
            let provider_only = self
                .attributes
                .iter()
                .filter(|a| a.provider_only)
                .map(|a| a.name.as_str())
                .chain(
                    self.blocks
                        .iter()
                        .filter(|b| b.provider_only)
                        .map(|b| b.name.as_str()),
                );
            for name in provider_only {
                if let Some(v) = fields.get_mut(name) {
                    *v = Value::Null;
                }
            }
        }
        remote
    }

    /// True when `prior` and `planned` (objects of this block) differ, and
    /// only in provider-only attributes and blocks: the remote object is
    /// not changed, so an update applies to state alone and the computed
    /// values stay as they are.
    pub fn only_provider_side_differs(&self, prior: &Value, planned: &Value) -> bool {
        let (Value::Object(prior), Value::Object(planned)) = (prior, planned) else {
            return false;
        };
        let provider_only = |name: &str| {
            self.attributes
                .iter()
                .any(|a| a.name == name && a.provider_only)
                || self
                    .blocks
                    .iter()
                    .any(|b| b.name == name && b.provider_only)
        };
        let mut differs = false;
        for (name, value) in planned {
            let same = prior.get(name).is_some_and(|p| p.semantically_equal(value));
            if !same {
                if !provider_only(name) {
                    return false;
                }
                differs = true;
            }
        }
        differs
    }
    pub fn description(mut self, text: &str) -> Block {
        self.description = text.to_string();
        self
    }
    pub fn attribute(mut self, a: Attribute) -> Block {
        self.attributes.push(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Block {
        self.blocks.push(b);
        self
    }

    pub fn attribute_named(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
    pub fn block_named(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.name == name)
    }

    /// The object type of this block's values, as the codecs need it.
    pub fn value_type(&self) -> Type {
        let mut attrs: BTreeMap<String, Type> = self
            .attributes
            .iter()
            .map(|a| (a.name.clone(), a.ty.clone()))
            .collect();
        for b in &self.blocks {
            attrs.insert(b.name.clone(), b.value_type());
        }
        Type::Object(attrs)
    }

    fn to_proto(&self, version: i64) -> pb::schema::Block {
        let mut attributes: Vec<_> = self.attributes.iter().map(Attribute::to_proto).collect();
        attributes.sort_by(|a, b| a.name.cmp(&b.name));
        let mut block_types: Vec<_> = self.blocks.iter().map(NestedBlock::to_proto).collect();
        block_types.sort_by(|a, b| a.type_name.cmp(&b.type_name));
        pb::schema::Block {
            version,
            attributes,
            block_types,
            description: self.description.clone(),
            description_kind: pb::StringKind::Markdown as i32,
            deprecated: self.deprecation.is_some(),
        }
    }
}

#[derive(Clone, Default)]
pub struct Schema {
    /// Bumped whenever stored state needs upgrading; the resource's
    /// `upgrade_state` receives the version that wrote the state.
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(block: Block) -> Schema {
        Schema { version: 0, block }
    }
    pub fn version(mut self, v: i64) -> Schema {
        self.version = v;
        self
    }
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
    pub fn to_proto(&self) -> pb::Schema {
        pb::Schema {
            version: self.version,
            block: Some(self.block.to_proto(self.version)),
        }
    }

    /// Problems Terraform would refuse the schema for, found in our own tests
    /// rather than by a user's `terraform init`.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        lint_block(&self.block, "", &mut problems);
        problems
    }
}

fn lint_block(block: &Block, prefix: &str, problems: &mut Vec<String>) {
    let valid_name = |n: &str| {
        !n.is_empty()
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    let mut seen = std::collections::BTreeSet::new();
    for a in &block.attributes {
        let name = format!("{prefix}{}", a.name);
        if !valid_name(&a.name) {
            problems.push(format!("{name}: invalid name"));
        }
        if !seen.insert(a.name.clone()) {
            problems.push(format!("{name}: declared twice"));
        }
        if a.description.trim().is_empty() {
            problems.push(format!("{name}: no description"));
        }
        if a.default.is_some() && a.mode != Mode::OptionalComputed {
            problems.push(format!("{name}: a default needs optional+computed"));
        }
        for v in &a.validators {
            if let Some(defect) = v.defect() {
                problems.push(format!("{name}: {defect}"));
            }
        }
        if a.requires_replace && a.mode == Mode::Computed {
            problems.push(format!(
                "{name}: computed-only attributes cannot force replacement"
            ));
        }
    }
    for b in &block.blocks {
        let name = format!("{prefix}{}", b.name);
        if !valid_name(&b.name) || !seen.insert(b.name.clone()) {
            problems.push(format!("{name}: invalid or duplicate block name"));
        }
        if b.nesting == Nesting::Single && !(b.min_items == b.max_items && b.min_items <= 1) {
            problems.push(format!("{name}: single blocks take min=max=0 or 1"));
        }
        if b.block.description.trim().is_empty() {
            problems.push(format!("{name}: no description"));
        }
        lint_block(&b.block, &format!("{name}."), problems);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the schema knows goes into the description Terraform and the
    /// generated docs show, so the docs cannot leave it out.
    #[test]
    fn the_description_says_the_default_the_variables_and_replacement() {
        let a = Attribute::optional("name", Type::String)
            .description("The name.")
            .default(Value::string("x"))
            .requires_replace();
        assert_eq!(
            a.full_description(),
            "The name. Defaults to `\"x\"`. Changing it replaces the resource."
        );
        let plain = Attribute::optional("other", Type::String).description("Other.");
        assert_eq!(plain.full_description(), "Other.");
    }
}
