//! Terraform values (cty) as the framework sees them: a type, and a value that
//! is null, unknown, or known. The wire codecs live in `msgpack.rs` and
//! `json.rs`; this file holds the data model and the small helpers every
//! resource needs.

use std::collections::BTreeMap;
use std::fmt;

/// Why bytes or JSON could not become a value of the expected type (or the
/// reverse). Never panics, never carries the value itself: a sensitive value
/// must not leak into an error message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct CodecError {
    pub message: String,
}

impl CodecError {
    pub fn new(message: impl Into<String>) -> CodecError {
        CodecError {
            message: message.into(),
        }
    }
}

/// How deep values (and types) may nest before a codec gives up: deep enough
/// for any real schema, shallow enough that recursion cannot overflow the
/// stack on hostile input.
pub const MAX_DEPTH: usize = 256;

/// Where inside a value a codec is, for error messages: `.tags["x"][0]`.
/// Codecs push and pop as they descend; only an error formats it.
#[derive(Debug, Default)]
pub(crate) struct CodecPath(Vec<PathStep>);

#[derive(Debug)]
enum PathStep {
    Attr(String),
    Key(String),
    Index(usize),
}

impl CodecPath {
    pub(crate) fn new() -> CodecPath {
        CodecPath(Vec::new())
    }
    pub(crate) fn push_attr(&mut self, name: &str) {
        self.0.push(PathStep::Attr(name.to_string()));
    }
    pub(crate) fn push_key(&mut self, key: &str) {
        self.0.push(PathStep::Key(key.to_string()));
    }
    pub(crate) fn push_index(&mut self, i: usize) {
        self.0.push(PathStep::Index(i));
    }
    pub(crate) fn pop(&mut self) {
        self.0.pop();
    }
    /// An error located at the current path.
    pub(crate) fn error(&self, message: impl fmt::Display) -> CodecError {
        CodecError::new(format!("at {self}: {message}"))
    }
}

impl fmt::Display for CodecPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(root)");
        }
        for step in &self.0 {
            match step {
                PathStep::Attr(name) => write!(f, ".{name}")?,
                PathStep::Key(key) => write!(f, "[{key:?}]")?,
                PathStep::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

/// A cty type. `Dynamic` is cty's DynamicPseudoType: the concrete type travels
/// with the value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Type {
    String,
    Number,
    Bool,
    List(Box<Type>),
    Set(Box<Type>),
    Map(Box<Type>),
    Object(BTreeMap<String, Type>),
    Tuple(Vec<Type>),
    Dynamic,
}

impl Type {
    pub fn list(elem: Type) -> Type {
        Type::List(Box::new(elem))
    }
    pub fn set(elem: Type) -> Type {
        Type::Set(Box::new(elem))
    }
    pub fn map(elem: Type) -> Type {
        Type::Map(Box::new(elem))
    }
    pub fn object<I, K>(attrs: I) -> Type
    where
        I: IntoIterator<Item = (K, Type)>,
        K: Into<String>,
    {
        Type::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// The element type of a list, set or map.
    pub fn element(&self) -> Option<&Type> {
        match self {
            Type::List(t) | Type::Set(t) | Type::Map(t) => Some(t),
            _ => None,
        }
    }

    /// A short human form for messages: `list of string`, `object`.
    pub fn friendly_name(&self) -> String {
        match self {
            Type::String => "string".into(),
            Type::Number => "number".into(),
            Type::Bool => "bool".into(),
            Type::List(t) => format!("list of {}", t.friendly_name()),
            Type::Set(t) => format!("set of {}", t.friendly_name()),
            Type::Map(t) => format!("map of {}", t.friendly_name()),
            Type::Object(_) => "object".into(),
            Type::Tuple(_) => "tuple".into(),
            Type::Dynamic => "any".into(),
        }
    }
}

/// A cty number: arbitrary precision, kept as its canonical decimal text so
/// that big and fractional values survive every round trip exactly.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Number(String);

impl Number {
    /// Parses decimal text (JSON number syntax, with or without exponent).
    pub fn parse(text: &str) -> Option<Number> {
        canonical_decimal(text).map(Number)
    }
    pub fn from_i64(n: i64) -> Number {
        Number(n.to_string())
    }
    pub fn from_u64(n: u64) -> Number {
        Number(n.to_string())
    }
    /// The exact decimal value of a binary float (None for NaN and
    /// infinities, which cty numbers cannot hold). Exact, not shortest: 0.1f64
    /// is 0.1000000000000000055511151231257827..., and Terraform compares
    /// numbers exactly.
    pub fn from_f64(f: f64) -> Option<Number> {
        if !f.is_finite() {
            return None;
        }
        Number::parse(&format!("{f:.1100}"))
    }
    pub fn as_i64(&self) -> Option<i64> {
        self.0.parse().ok()
    }
    pub fn as_u64(&self) -> Option<u64> {
        self.0.parse().ok()
    }
    pub fn as_f64(&self) -> f64 {
        self.0.parse().unwrap_or(f64::NAN)
    }
    /// Some when the number is exactly an f64 (0.5 is, 0.1 is not): only
    /// then may it travel as a msgpack float.
    pub fn as_exact_f64(&self) -> Option<f64> {
        let f: f64 = self.0.parse().ok()?;
        (Number::from_f64(f).as_ref() == Some(self)).then_some(f)
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Canonical decimal form: no exponent, no leading zeros, no trailing
/// fractional zeros, no "-0". Returns None for anything that is not a number.
fn canonical_decimal(text: &str) -> Option<String> {
    let text = text.trim();
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(i) => (&rest[..i], rest[i + 1..].parse::<i64>().ok()?),
        None => (rest, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part
        .bytes()
        .chain(frac_part.bytes())
        .all(|b| b.is_ascii_digit())
    {
        return None;
    }
    // Keep the decimal-point position bounded: a malicious exponent must not
    // allocate gigabytes.
    if exponent.unsigned_abs() > 100_000 {
        return None;
    }
    let digits: String = format!("{int_part}{frac_part}");
    let point = int_part.len() as i64 + exponent;
    let (int_digits, frac_digits) = if point <= 0 {
        (
            String::new(),
            format!("{}{}", "0".repeat((-point) as usize), digits),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{}{}", digits, "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let int_digits = int_digits.trim_start_matches('0');
    let frac_digits = frac_digits.trim_end_matches('0');
    let int_digits = if int_digits.is_empty() {
        "0"
    } else {
        int_digits
    };
    let mut out = String::new();
    if negative && !(int_digits == "0" && frac_digits.is_empty()) {
        out.push('-');
    }
    out.push_str(int_digits);
    if !frac_digits.is_empty() {
        out.push('.');
        out.push_str(frac_digits);
    }
    Some(out)
}

/// A Terraform value. Collections hold their elements; objects and maps are
/// keyed by attribute name. A value at a `Type::Dynamic` position that is
/// known carries its concrete type in `Dynamic`.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Unknown,
    Bool(bool),
    Number(Number),
    String(String),
    List(Vec<Value>),
    Set(Vec<Value>),
    Map(BTreeMap<String, Value>),
    Object(BTreeMap<String, Value>),
    Tuple(Vec<Value>),
    Dynamic(Box<Type>, Box<Value>),
}

impl Value {
    pub fn string(s: impl Into<String>) -> Value {
        Value::String(s.into())
    }
    pub fn int(n: i64) -> Value {
        Value::Number(Number::from_i64(n))
    }
    pub fn object<I, K>(attrs: I) -> Value
    where
        I: IntoIterator<Item = (K, Value)>,
        K: Into<String>,
    {
        Value::Object(attrs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
    /// A list of strings, or null when `items` is None.
    pub fn string_list<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Value {
        Value::List(items.into_iter().map(|s| Value::String(s.into())).collect())
    }
    pub fn opt_string(s: Option<impl Into<String>>) -> Value {
        s.map(|s| Value::String(s.into())).unwrap_or(Value::Null)
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }
    /// Whether a configured value is set: `None` while it is unknown, as
    /// an unknown value may still turn out null. Validators that pair or
    /// exclude attributes judge only what this answers.
    pub fn is_set(&self) -> Option<bool> {
        match self {
            Value::Unknown => None,
            v => Some(!v.is_null()),
        }
    }
    /// True when neither this value nor anything inside it is unknown.
    pub fn is_fully_known(&self) -> bool {
        match self {
            Value::Unknown => false,
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => v.iter().all(Value::is_fully_known),
            Value::Map(m) | Value::Object(m) => m.values().all(Value::is_fully_known),
            Value::Dynamic(_, v) => v.is_fully_known(),
            _ => true,
        }
    }

    /// The attribute of an object (None for anything that is not an object,
    /// including null and unknown).
    pub fn get(&self, name: &str) -> Option<&Value> {
        match self {
            Value::Object(m) => m.get(name),
            Value::Dynamic(_, v) => v.get(name),
            _ => None,
        }
    }
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        match self {
            Value::Object(m) => m.get_mut(name),
            Value::Dynamic(_, v) => v.get_mut(name),
            _ => None,
        }
    }
    /// Sets an attribute of an object; does nothing to other values.
    pub fn set_attr(&mut self, name: &str, value: Value) {
        if let Value::Object(m) = self {
            m.insert(name.to_string(), value);
        }
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            Value::Dynamic(_, v) => v.as_str(),
            _ => None,
        }
    }
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Dynamic(_, v) => v.as_bool(),
            _ => None,
        }
    }
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            Value::Dynamic(_, v) => v.as_number(),
            _ => None,
        }
    }
    /// Elements of a list, set or tuple.
    pub fn elements(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) | Value::Tuple(v) => Some(v),
            Value::Dynamic(_, v) => v.elements(),
            _ => None,
        }
    }
    /// A string attribute of an object, when known and not null.
    pub fn attr_str(&self, name: &str) -> Option<&str> {
        self.get(name).and_then(Value::as_str)
    }

    /// The null value shaped like `ty`, with every attribute present: what a
    /// missing object or block becomes.
    pub fn null_of(_ty: &Type) -> Value {
        Value::Null
    }

    /// Semantic equality: sets compare as sets (order does not matter), all
    /// else structurally.
    pub fn semantically_equal(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Set(a), Value::Set(b)) => {
                a.len() == b.len()
                    && a.iter().all(|x| b.iter().any(|y| x.semantically_equal(y)))
                    && b.iter().all(|y| a.iter().any(|x| x.semantically_equal(y)))
            }
            (Value::List(a), Value::List(b)) | (Value::Tuple(a), Value::Tuple(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.semantically_equal(y))
            }
            (Value::Map(a), Value::Map(b)) | (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k).is_some_and(|y| x.semantically_equal(y)))
            }
            (Value::Dynamic(ta, a), Value::Dynamic(tb, b)) => ta == tb && a.semantically_equal(b),
            _ => self == other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_canonical() {
        for (input, want) in [
            ("1", "1"),
            ("-0", "0"),
            ("1.50", "1.5"),
            ("1e3", "1000"),
            ("1.5e-3", "0.0015"),
            ("00012.000", "12"),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567890",
            ),
            ("-2.5E+2", "-250"),
        ] {
            assert_eq!(Number::parse(input).unwrap().as_str(), want, "{input}");
        }
        for bad in ["", "abc", "1.2.3", "--1", "1e", "1e999999999"] {
            assert!(Number::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn exact_f64_detection() {
        assert_eq!(Number::parse("0.5").unwrap().as_exact_f64(), Some(0.5));
        assert_eq!(
            Number::parse("-1024.25").unwrap().as_exact_f64(),
            Some(-1024.25)
        );
        assert!(Number::parse("0.1").unwrap().as_exact_f64().is_none());
        assert!(Number::parse("123456789012345678901234567890.1")
            .unwrap()
            .as_exact_f64()
            .is_none());
    }

    #[test]
    fn sets_compare_without_order() {
        let a = Value::Set(vec![Value::string("x"), Value::string("y")]);
        let b = Value::Set(vec![Value::string("y"), Value::string("x")]);
        assert!(a.semantically_equal(&b));
        assert_ne!(a, b);
    }
}
