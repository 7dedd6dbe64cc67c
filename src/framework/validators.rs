//! Attribute validators: checks run at `terraform validate` and plan time on
//! every known, non-null value, each reporting on the attribute at fault;
//! and the check that a required argument did not come out null.

use super::diag::{AttributePath, Diagnostics};
use super::schema::{Block, Mode, Nesting};
use super::value::Value;
use regex::Regex;
use std::sync::OnceLock;

pub trait Validator: Send + Sync {
    /// A short phrase for documentation: "one of `a`, `b`".
    fn describe(&self) -> String;
    /// Called only with known, non-null values.
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics);
    /// A problem in the validator itself (a pattern that does not
    /// compile); the schema lint reports it, so unit tests catch it.
    fn defect(&self) -> Option<String> {
        None
    }
}

/// Runs every attribute's validators over a configuration value.
pub fn validate_block(block: &Block, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let Value::Object(attrs) = value else {
        return;
    };
    for a in &block.attributes {
        let Some(v) = attrs.get(&a.name) else {
            continue;
        };
        if v.is_null() && a.mode == Mode::Required {
            // Terraform checks only that a required argument is written,
            // not that it has a value.
            missing_required(&a.name, path, diags);
        }
        if v.is_null() || !v.is_fully_known() {
            continue;
        }
        let p = path.then_attr(&a.name);
        reject_null_elements(v, &p, diags);
        for validator in &a.validators {
            validator.check(v, &p, diags);
        }
    }
    for b in &block.blocks {
        let Some(v) = attrs.get(&b.name) else {
            continue;
        };
        let p = path.then_attr(&b.name);
        match (b.nesting, v) {
            (Nesting::Single | Nesting::Group, obj) => validate_block(&b.block, obj, &p, diags),
            (Nesting::List | Nesting::Set, Value::List(items) | Value::Set(items)) => {
                let in_set = matches!(v, Value::Set(_));
                for (i, item) in items.iter().enumerate() {
                    validate_block(&b.block, item, &p.then_element(in_set, i), diags);
                }
            }
            _ => {}
        }
    }
}

/// A required argument whose expression came out null: reported at plan,
/// when Terraform validates again with the values it then knows, instead of
/// failing the apply.
fn missing_required(name: &str, path: &AttributePath, diags: &mut Diagnostics) {
    diags.error_at(
        path.then_attr(name),
        format!("No value for required argument {name}"),
        format!("{name} is required, but its value is null. A null usually comes from a reference to something that has no value (a fact the vendor catalog does not publish for this vendor or region, say): set it explicitly."),
    );
}

/// A warning on each deprecated attribute the configuration sets, with its
/// deprecation message. Terraform warns of these in resources but not in
/// provider blocks, so the provider's configuration is checked here.
pub fn warn_deprecated(
    block: &Block,
    value: &Value,
    path: &AttributePath,
    diags: &mut Diagnostics,
) {
    for a in &block.attributes {
        let (Some(message), Some(v)) = (&a.deprecation, value.get(&a.name)) else {
            continue;
        };
        if v.is_set() == Some(true) {
            diags.warning_at(
                path.then_attr(&a.name),
                "Argument is deprecated",
                message.as_str(),
            );
        }
    }
    for b in &block.blocks {
        if let (Nesting::Single | Nesting::Group, Some(v)) = (b.nesting, value.get(&b.name)) {
            warn_deprecated(&b.block, v, &path.then_attr(&b.name), diags);
        }
    }
}

/// No attribute holds a null inside a list, set or map: state could not
/// record it, and a resource would read `[null]` as an empty list. Such a
/// null comes from a reference to something that has no value, so it is
/// reported at plan time, before anything is changed: on a list's element
/// or a map's key, on a set itself (see `then_element`).
fn reject_null_elements(value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
    let nulls: Vec<AttributePath> = match value {
        Value::List(items) | Value::Set(items) => items
            .iter()
            .enumerate()
            .filter(|(_, item)| item.is_null())
            .map(|(i, _)| path.then_element(matches!(value, Value::Set(_)), i))
            // A set holds one null at most, and its path is the set's.
            .collect(),
        Value::Map(entries) => entries
            .iter()
            .filter(|(_, item)| item.is_null())
            .map(|(key, _)| path.then_key(key))
            .collect(),
        _ => return,
    };
    let name = last_name(path);
    for at in nulls {
        diags.error_at(
            at,
            format!("Null element in {name}"),
            format!(
                "Every element of {name} needs a value, but one is null. A null here usually comes from a reference to an attribute that has no value (a fact the source does not publish for this region, say): set the value explicitly."
            ),
        );
    }
}

/// A string that must match a pattern; `what` names the expected form for
/// the message ("a 12-digit AWS account ID").
pub struct Pattern {
    source: String,
    // Compiled on first use: schemas are built when the plugin starts,
    // and compiling every resource's patterns there cost start-up time.
    re: OnceLock<Result<Regex, String>>,
    what: String,
    length: Option<(usize, usize)>,
}

impl Pattern {
    /// Also bounds the length; cheaper than a `{m,n}` repetition, which
    /// makes the compiled regex grow with n.
    pub fn length(mut self, min: usize, max: usize) -> Pattern {
        self.length = Some((min, max));
        self
    }

    /// Whether a string has this shape (for IDs parsed outside a schema,
    /// such as an import ID).
    pub fn matches(&self, s: &str) -> bool {
        let len_ok = self
            .length
            .is_none_or(|(min, max)| (min..=max).contains(&s.chars().count()));
        // A pattern that does not compile is a defect the schema lint
        // reports; it refuses nothing rather than everything.
        len_ok && self.regex().as_ref().map_or(true, |re| re.is_match(s))
    }

    fn regex(&self) -> &Result<Regex, String> {
        self.re
            .get_or_init(|| Regex::new(&self.source).map_err(|e| e.to_string()))
    }
}

pub fn pattern(re: &str, what: &str) -> Pattern {
    Pattern {
        source: re.to_string(),
        re: OnceLock::new(),
        what: what.to_string(),
        length: None,
    }
}

impl Validator for Pattern {
    fn describe(&self) -> String {
        format!("must be {}", self.what)
    }
    fn defect(&self) -> Option<String> {
        self.regex()
            .as_ref()
            .err()
            .map(|e| format!("pattern {:?} does not compile: {e}", self.source))
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.matches(s) {
                diags.error_at(
                    path.clone(),
                    format!("Invalid {}", last_name(path)),
                    format!("{:?} is not valid: the value must be {}.", s, self.what),
                );
            }
        }
    }
}

pub struct OneOf(Vec<String>);

pub fn one_of<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> OneOf {
    OneOf(items.into_iter().map(Into::into).collect())
}

impl Validator for OneOf {
    fn describe(&self) -> String {
        let quoted: Vec<String> = self.0.iter().map(|s| format!("`{s}`")).collect();
        format!("one of {}", quoted.join(", "))
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            if !self.0.iter().any(|x| x == s) {
                diags.error_at(
                    path.clone(),
                    format!("Invalid {}", last_name(path)),
                    format!("{:?} is not supported; expected {}.", s, self.describe()),
                );
            }
        }
    }
}

pub struct IntBetween(pub i64, pub i64);

pub fn int_between(min: i64, max: i64) -> IntBetween {
    IntBetween(min, max)
}

impl Validator for IntBetween {
    fn describe(&self) -> String {
        format!("a whole number from {} to {}", self.0, self.1)
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(n) = value.as_number() {
            let ok = n.as_i64().is_some_and(|i| i >= self.0 && i <= self.1);
            if !ok {
                // Numbers arrive in canonical decimal form: a fraction
                // shows as a point.
                let fault = if n.as_str().contains('.') {
                    "is not a whole number"
                } else {
                    "is out of range"
                };
                diags.error_at(
                    path.clone(),
                    format!("Invalid {}", last_name(path)),
                    format!("{n} {fault}: the value must be {}.", self.describe()),
                );
            }
        }
    }
}

pub struct LengthBetween(pub usize, pub usize);

pub fn length_between(min: usize, max: usize) -> LengthBetween {
    LengthBetween(min, max)
}

impl Validator for LengthBetween {
    fn describe(&self) -> String {
        format!("between {} and {} characters long", self.0, self.1)
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(s) = value.as_str() {
            let n = s.chars().count();
            if n < self.0 || n > self.1 {
                diags.error_at(
                    path.clone(),
                    format!("Invalid {}", last_name(path)),
                    format!(
                        "The value is {n} characters long; it must be {}.",
                        self.describe()
                    ),
                );
            }
        }
    }
}

/// Applies a validator to each element of a list or set, pointing at a
/// list's element at fault, or at a set (whose messages name the value).
pub struct Each(Box<dyn Validator>);

pub fn each(v: impl Validator + 'static) -> Each {
    Each(Box::new(v))
}

impl Validator for Each {
    fn describe(&self) -> String {
        format!("each element {}", self.0.describe())
    }
    fn defect(&self) -> Option<String> {
        self.0.defect()
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if let Some(items) = value.elements() {
            let in_set = matches!(value, Value::Set(_));
            for (i, item) in items.iter().enumerate() {
                if !item.is_null() && item.is_fully_known() {
                    self.0.check(item, &path.then_element(in_set, i), diags);
                }
            }
        }
    }
}

/// A non-empty list or set.
pub struct NotEmpty;

impl Validator for NotEmpty {
    fn describe(&self) -> String {
        "must not be empty".into()
    }
    fn check(&self, value: &Value, path: &AttributePath, diags: &mut Diagnostics) {
        if value.elements().is_some_and(<[Value]>::is_empty) || value.as_str() == Some("") {
            diags.error_at(
                path.clone(),
                format!("Empty {}", last_name(path)),
                format!("{} must not be empty.", last_name(path)),
            );
        }
    }
}

fn last_name(path: &AttributePath) -> String {
    use super::diag::PathStep;
    path.0
        .iter()
        .rev()
        .find_map(|s| match s {
            PathStep::Attribute(n) => Some(n.clone()),
            _ => None,
        })
        .unwrap_or_else(|| "value".into())
}

/// URLs of endpoints and hosts a configuration may override.
pub fn http_url() -> Pattern {
    pattern(
        r"^https?://[^\s/?#]+(:\d+)?(/[^\s]*)?$",
        "an http:// or https:// URL",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_that_does_not_compile_is_a_defect_not_a_refusal() {
        let bad = pattern("([a-z]", "anything");
        assert!(bad.defect().unwrap().contains("does not compile"));
        let mut d = Diagnostics::new();
        bad.check(&Value::string("x"), &AttributePath::attr("a"), &mut d);
        assert!(d.is_empty());
        assert!(each(bad).defect().is_some());
        assert!(pattern("^[a-z]+$", "letters").defect().is_none());
    }

    fn run(v: &dyn Validator, value: Value) -> Diagnostics {
        let mut d = Diagnostics::new();
        v.check(&value, &AttributePath::attr("x"), &mut d);
        d
    }

    fn twelve_digits() -> Pattern {
        pattern(r"^[0-9]{12}$", "12 digits")
    }

    #[test]
    fn a_null_inside_a_collection_is_refused_on_the_element() {
        use crate::framework::schema::{Attribute, Block};
        use crate::framework::value::Type;
        let block = Block::new()
            .attribute(Attribute::optional("vpc_ids", Type::set(Type::String)))
            .attribute(Attribute::optional("tags", Type::map(Type::String)));
        let config = Value::object([
            (
                "vpc_ids",
                Value::Set(vec![Value::string("vpc-1"), Value::Null]),
            ),
            (
                "tags",
                Value::Map([("team".to_string(), Value::Null)].into_iter().collect()),
            ),
        ]);
        let mut d = Diagnostics::new();
        validate_block(&block, &config, &AttributePath::root(), &mut d);
        let paths: Vec<_> = d.0.iter().map(|x| x.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                // A set's elements have no position Terraform can match.
                Some(AttributePath::attr("vpc_ids")),
                Some(AttributePath::attr("tags").then_key("team")),
            ]
        );
        assert!(d.0[0].summary.contains("Null element in vpc_ids"));

        let fine = Value::object([
            ("vpc_ids", Value::Set(vec![Value::string("vpc-1")])),
            ("tags", Value::Null),
        ]);
        let mut d = Diagnostics::new();
        validate_block(&block, &fine, &AttributePath::root(), &mut d);
        assert!(d.is_empty());
    }

    #[test]
    fn a_required_argument_that_comes_out_null_is_refused_on_it() {
        use crate::framework::schema::{Attribute, Block, NestedBlock};
        use crate::framework::value::Type;
        let block = Block::new()
            .attribute(Attribute::required("grantee_account", Type::String))
            .attribute(Attribute::optional("note", Type::String))
            .block(NestedBlock::list(
                "rule",
                Block::new().attribute(Attribute::required("port", Type::Number)),
            ));
        let config = |account: Value, port: Value| {
            Value::object([
                ("grantee_account", account),
                ("note", Value::Null),
                ("rule", Value::List(vec![Value::object([("port", port)])])),
            ])
        };
        let mut d = Diagnostics::new();
        validate_block(
            &block,
            &config(Value::Null, Value::Null),
            &AttributePath::root(),
            &mut d,
        );
        let paths: Vec<_> = d.0.iter().map(|x| x.path.clone()).collect();
        assert_eq!(
            paths,
            vec![
                Some(AttributePath::attr("grantee_account")),
                Some(AttributePath::attr("rule").then_index(0).then_attr("port")),
            ]
        );
        assert_eq!(
            d.0[0].summary,
            "No value for required argument grantee_account"
        );
        assert!(d.has_errors());

        // Known values, and values not known until apply, pass.
        for account in [Value::string("123456789012"), Value::Unknown] {
            let mut d = Diagnostics::new();
            validate_block(
                &block,
                &config(
                    account,
                    Value::Number(crate::framework::value::Number::from_i64(443)),
                ),
                &AttributePath::root(),
                &mut d,
            );
            assert!(d.is_empty(), "{d}");
        }
    }

    #[test]
    fn deprecated_attributes_set_are_warned_of_where_they_stand() {
        use crate::framework::schema::{Attribute, Block, NestedBlock};
        use crate::framework::value::Type;
        let block = Block::new().block(NestedBlock::single(
            "endpoints",
            Block::new()
                .attribute(Attribute::optional("old", Type::String).deprecated("Remove it."))
                .attribute(Attribute::optional("new", Type::String)),
        ));
        let config = |old: Value| {
            Value::object([(
                "endpoints",
                Value::object([("old", old), ("new", Value::string("x"))]),
            )])
        };
        let mut d = Diagnostics::new();
        warn_deprecated(
            &block,
            &config(Value::string("u")),
            &AttributePath::root(),
            &mut d,
        );
        assert_eq!(d.0.len(), 1);
        assert!(!d.has_errors());
        assert_eq!(d.0[0].detail, "Remove it.");
        assert_eq!(
            d.0[0].path,
            Some(AttributePath::attr("endpoints").then_attr("old"))
        );
        let mut d = Diagnostics::new();
        warn_deprecated(&block, &config(Value::Null), &AttributePath::root(), &mut d);
        assert!(d.is_empty());
    }

    #[test]
    fn patterns_accept_and_refuse() {
        assert!(run(&twelve_digits(), Value::string("185497759670")).is_empty());
        let d = run(&twelve_digits(), Value::string("18549775967"));
        assert!(d.has_errors());
        assert_eq!(d.0[0].path, Some(AttributePath::attr("x")));
        assert!(d.0[0].detail.contains("must be 12 digits"), "{:?}", d.0[0]);
        let bounded = pattern("^[a-z]+$", "letters").length(2, 3);
        assert!(run(&bounded, Value::string("abc")).is_empty());
        assert!(run(&bounded, Value::string("abcd")).has_errors());
        assert!(run(&http_url(), Value::string("http://127.0.0.1:5000")).is_empty());
        assert!(run(&http_url(), Value::string("ftp://x")).has_errors());
    }

    #[test]
    fn each_points_at_the_element() {
        let d = run(
            &each(twelve_digits()),
            Value::List(vec![Value::string("123456789012"), Value::string("nope")]),
        );
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "x[1]");
    }

    #[test]
    fn each_in_a_set_points_at_the_set_and_names_the_value() {
        // Terraform sends [80, 443, 70000] for `[443, 70000, 80]` as written:
        // index 2 would underline 80.
        let ports = Value::Set(vec![Value::int(80), Value::int(443), Value::int(70000)]);
        let d = run(&each(int_between(1, 65535)), ports);
        assert_eq!(d.0.len(), 1);
        assert_eq!(d.0[0].path.as_ref().unwrap().to_string(), "x");
        assert!(
            d.0[0].detail.starts_with("70000 is out of range"),
            "{:?}",
            d.0[0]
        );
    }

    #[test]
    fn ranges() {
        assert!(run(&int_between(0, 1440), Value::int(1440)).is_empty());
        let over = run(&int_between(0, 1440), Value::int(1441));
        assert!(
            over.0[0].detail.starts_with("1441 is out of range"),
            "{:?}",
            over.0[0]
        );
        let half = Value::Number(crate::framework::value::Number::parse("1.5").unwrap());
        let fraction = run(&int_between(0, 1440), half);
        assert!(
            fraction.0[0]
                .detail
                .starts_with("1.5 is not a whole number"),
            "{:?}",
            fraction.0[0]
        );
        assert!(run(&one_of(["a", "b"]), Value::string("c")).has_errors());
        assert!(run(&length_between(2, 4), Value::string("abcde")).has_errors());
    }
}
