//! The JSON forms of cty types and values: type JSON (inside dynamic values
//! and schemas), `DynamicValue.json` and `RawState.json` (state upgrades).
//!
//! Value decoding follows go-cty's JSON rules, with the leniency state
//! upgrades need: an object attribute missing from the JSON is null (older
//! state predates newer attributes), while an attribute the type lacks is an
//! error. Numbers keep their exact decimal text (serde_json is built with
//! `arbitrary_precision`). Errors name the path, never the value.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::value::{CodecError, CodecPath, Number, Type, Value, MAX_DEPTH};

impl Type {
    /// The type as cty writes it: `"string"`, `["list","string"]`,
    /// `["object",{"a":"number"}]`, `["tuple",["bool"]]`, `"dynamic"`.
    pub fn to_json(&self) -> Json {
        match self {
            Type::String => Json::from("string"),
            Type::Number => Json::from("number"),
            Type::Bool => Json::from("bool"),
            Type::Dynamic => Json::from("dynamic"),
            Type::List(t) => Json::Array(vec![Json::from("list"), t.to_json()]),
            Type::Set(t) => Json::Array(vec![Json::from("set"), t.to_json()]),
            Type::Map(t) => Json::Array(vec![Json::from("map"), t.to_json()]),
            Type::Object(attrs) => {
                // serde_json's map is sorted (no preserve_order), as cty's is.
                let attrs = attrs
                    .iter()
                    .map(|(k, t)| (k.clone(), t.to_json()))
                    .collect();
                Json::Array(vec![Json::from("object"), Json::Object(attrs)])
            }
            Type::Tuple(types) => Json::Array(vec![
                Json::from("tuple"),
                Json::Array(types.iter().map(Type::to_json).collect()),
            ]),
        }
    }

    /// `to_json` serialized to compact bytes (what a msgpack dynamic value
    /// carries).
    pub fn to_json_bytes(&self) -> Vec<u8> {
        // Serializing a serde_json::Value to a Vec cannot fail.
        serde_json::to_vec(&self.to_json()).unwrap_or_default()
    }

    /// Parses cty type JSON. An object's optional third element (the list of
    /// optional attributes) is accepted and ignored.
    pub fn from_json(v: &Json) -> Result<Type, CodecError> {
        type_from_json(v, 0)
    }
}

fn type_from_json(v: &Json, depth: usize) -> Result<Type, CodecError> {
    if depth > MAX_DEPTH {
        return Err(CodecError::new(format!(
            "type JSON nests deeper than {MAX_DEPTH} levels"
        )));
    }
    let bad = |what: &str| CodecError::new(format!("invalid type JSON: {what}"));
    match v {
        Json::String(s) => match s.as_str() {
            "string" => Ok(Type::String),
            "number" => Ok(Type::Number),
            "bool" => Ok(Type::Bool),
            "dynamic" => Ok(Type::Dynamic),
            other => Err(bad(&format!("unsupported primitive type {other:?}"))),
        },
        Json::Array(items) => {
            let kind = items
                .first()
                .and_then(Json::as_str)
                .ok_or_else(|| bad("a compound type must start with its kind"))?;
            let arg = items
                .get(1)
                .ok_or_else(|| bad(&format!("{kind} needs an argument")))?;
            let max_len = if kind == "object" { 3 } else { 2 };
            if items.len() > max_len {
                return Err(bad(&format!("too many elements for {kind}")));
            }
            match kind {
                "list" => Ok(Type::list(type_from_json(arg, depth + 1)?)),
                "set" => Ok(Type::set(type_from_json(arg, depth + 1)?)),
                "map" => Ok(Type::map(type_from_json(arg, depth + 1)?)),
                "object" => {
                    let attrs = arg
                        .as_object()
                        .ok_or_else(|| bad("object attributes must be a JSON object"))?;
                    if let Some(optional) = items.get(2) {
                        if !optional
                            .as_array()
                            .is_some_and(|a| a.iter().all(Json::is_string))
                        {
                            return Err(bad("optional attributes must be a list of names"));
                        }
                    }
                    let mut out = BTreeMap::new();
                    for (name, t) in attrs {
                        out.insert(name.clone(), type_from_json(t, depth + 1)?);
                    }
                    Ok(Type::Object(out))
                }
                "tuple" => {
                    let types = arg
                        .as_array()
                        .ok_or_else(|| bad("tuple element types must be a JSON array"))?;
                    types
                        .iter()
                        .map(|t| type_from_json(t, depth + 1))
                        .collect::<Result<_, _>>()
                        .map(Type::Tuple)
                }
                other => Err(bad(&format!("unsupported type kind {other:?}"))),
            }
        }
        _ => Err(bad("a type must be a string or an array")),
    }
}

/// Decodes JSON bytes (DynamicValue.json, RawState.json) as type `ty`.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    // serde_json's parser has its own recursion limit (128), so hostile
    // nesting fails here rather than overflowing the stack. Its messages
    // give a position, not content.
    let json: Json =
        serde_json::from_slice(bytes).map_err(|e| CodecError::new(format!("invalid JSON: {e}")))?;
    from_json(&json, ty)
}

/// Converts parsed JSON to a value of type `ty`.
pub fn from_json(json: &Json, ty: &Type) -> Result<Value, CodecError> {
    let mut path = CodecPath::new();
    value_from_json(json, ty, &mut path, 0)
}

fn json_kind(j: &Json) -> &'static str {
    match j {
        Json::Null => "null",
        Json::Bool(_) => "bool",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

fn value_from_json(
    json: &Json,
    ty: &Type,
    path: &mut CodecPath,
    depth: usize,
) -> Result<Value, CodecError> {
    if depth > MAX_DEPTH {
        return Err(path.error(format!("value nests deeper than {MAX_DEPTH} levels")));
    }
    if json.is_null() {
        return Ok(Value::Null);
    }
    let wrong = |path: &CodecPath| {
        path.error(format!(
            "expected {}, got {}",
            ty.friendly_name(),
            json_kind(json)
        ))
    };
    match ty {
        // Like go-cty, primitives convert between each other where the text
        // allows: a JSON number or bool is a fine string, "12" a fine number.
        Type::String => match json {
            Json::String(s) => Ok(Value::String(s.clone())),
            Json::Number(n) => Ok(Value::String(n.to_string())),
            Json::Bool(b) => Ok(Value::String(b.to_string())),
            _ => Err(wrong(path)),
        },
        Type::Number => {
            let text = match json {
                Json::Number(n) => n.to_string(),
                Json::String(s) => s.clone(),
                _ => return Err(wrong(path)),
            };
            Number::parse(&text).map(Value::Number).ok_or_else(|| {
                path.error(format!(
                    "{} does not hold a decimal number",
                    json_kind(json)
                ))
            })
        }
        Type::Bool => match json {
            Json::Bool(b) => Ok(Value::Bool(*b)),
            Json::String(s) if s == "true" => Ok(Value::Bool(true)),
            Json::String(s) if s == "false" => Ok(Value::Bool(false)),
            _ => Err(wrong(path)),
        },
        Type::List(elem) | Type::Set(elem) => {
            let items = json.as_array().ok_or_else(|| wrong(path))?;
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                path.push_index(i);
                out.push(value_from_json(item, elem, path, depth + 1)?);
                path.pop();
            }
            Ok(match ty {
                Type::Set(_) => Value::Set(out),
                _ => Value::List(out),
            })
        }
        Type::Tuple(types) => {
            let items = json.as_array().ok_or_else(|| wrong(path))?;
            if items.len() != types.len() {
                return Err(path.error(format!(
                    "expected a tuple of {} elements, got {}",
                    types.len(),
                    items.len()
                )));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(types).enumerate() {
                path.push_index(i);
                out.push(value_from_json(item, t, path, depth + 1)?);
                path.pop();
            }
            Ok(Value::Tuple(out))
        }
        Type::Map(elem) => {
            let items = json.as_object().ok_or_else(|| wrong(path))?;
            let mut out = BTreeMap::new();
            for (k, v) in items {
                path.push_key(k);
                out.insert(k.clone(), value_from_json(v, elem, path, depth + 1)?);
                path.pop();
            }
            Ok(Value::Map(out))
        }
        Type::Object(attrs) => {
            let items = json.as_object().ok_or_else(|| wrong(path))?;
            if let Some(extra) = items.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(path.error(format!("unsupported attribute {extra:?}")));
            }
            let mut out = BTreeMap::new();
            for (name, attr_ty) in attrs {
                let v = match items.get(name) {
                    Some(j) => {
                        path.push_attr(name);
                        let v = value_from_json(j, attr_ty, path, depth + 1)?;
                        path.pop();
                        v
                    }
                    // Older state may predate this attribute.
                    None => Value::Null,
                };
                out.insert(name.clone(), v);
            }
            Ok(Value::Object(out))
        }
        Type::Dynamic => {
            let items = json.as_object().ok_or_else(|| {
                path.error(format!(
                    "expected a dynamic value {{\"value\":...,\"type\":...}}, got {}",
                    json_kind(json)
                ))
            })?;
            if let Some(extra) = items.keys().find(|k| *k != "value" && *k != "type") {
                return Err(path.error(format!("unexpected key {extra:?} in a dynamic value")));
            }
            let type_json = items
                .get("type")
                .ok_or_else(|| path.error("dynamic value lacks \"type\""))?;
            let value_json = items
                .get("value")
                .ok_or_else(|| path.error("dynamic value lacks \"value\""))?;
            let concrete = Type::from_json(type_json).map_err(|e| path.error(e.message))?;
            let v = value_from_json(value_json, &concrete, path, depth + 1)?;
            Ok(Value::Dynamic(Box::new(concrete), Box::new(v)))
        }
    }
}

/// The JSON form of a value. Unknown has no JSON form and becomes null (JSON
/// only carries wholly known values); a dynamic value becomes
/// `{"value": ..., "type": ...}`.
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null | Value::Unknown => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        // Canonical number text is always valid JSON number syntax; the
        // fallback cannot happen but must not panic.
        Value::Number(n) => n
            .as_str()
            .parse::<serde_json::Number>()
            .map(Json::Number)
            .unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) | Value::Set(items) | Value::Tuple(items) => {
            Json::Array(items.iter().map(to_json).collect())
        }
        Value::Map(items) | Value::Object(items) => {
            Json::Object(items.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
        Value::Dynamic(t, v) => {
            let mut m = serde_json::Map::new();
            m.insert("value".into(), to_json(v));
            m.insert("type".into(), t.to_json());
            Json::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn type_json_round_trips() {
        let ty = Type::object([
            ("a", Type::String),
            ("b", Type::list(Type::Number)),
            ("c", Type::set(Type::Bool)),
            ("d", Type::map(Type::Dynamic)),
            ("e", Type::Tuple(vec![Type::String, Type::Number])),
        ]);
        let want = json!(["object", {
            "a": "string",
            "b": ["list", "number"],
            "c": ["set", "bool"],
            "d": ["map", "dynamic"],
            "e": ["tuple", ["string", "number"]],
        }]);
        assert_eq!(ty.to_json(), want);
        assert_eq!(Type::from_json(&want).unwrap(), ty);
        assert_eq!(
            String::from_utf8(Type::list(Type::String).to_json_bytes()).unwrap(),
            r#"["list","string"]"#
        );
    }

    #[test]
    fn type_json_optional_attributes_are_ignored() {
        let j = json!(["object", {"a": "string"}, ["a"]]);
        assert_eq!(
            Type::from_json(&j).unwrap(),
            Type::object([("a", Type::String)])
        );
        for bad in [
            json!("str"),
            json!(["list"]),
            json!(["list", "string", "x"]),
            json!(["object", ["a"]]),
            json!(["object", {}, "a"]),
            json!(["capsule", "x"]),
            json!(5),
        ] {
            assert!(Type::from_json(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn state_json_with_missing_and_extra_attributes() {
        let ty = Type::object([("id", Type::String), ("tags", Type::map(Type::String))]);
        let v = decode(br#"{"id":"x"}"#, &ty).unwrap();
        assert_eq!(
            v,
            Value::object([("id", Value::string("x")), ("tags", Value::Null)])
        );
        let err = decode(br#"{"id":"x","gone":1}"#, &ty).unwrap_err();
        assert!(
            err.message.contains("unsupported attribute \"gone\""),
            "{err}"
        );
        assert_eq!(decode(b"null", &ty).unwrap(), Value::Null);
        let err = decode(br#"{"tags":{"k":[1]}}"#, &ty).unwrap_err();
        assert_eq!(err.message, "at .tags[\"k\"]: expected string, got array");
    }

    #[test]
    fn numbers_are_exact() {
        let big = "123456789012345678901234567890.000000000000000000001";
        let v = decode(big.as_bytes(), &Type::Number).unwrap();
        assert_eq!(v, Value::Number(Number::parse(big).unwrap()));
        assert_eq!(
            to_json(&v).to_string(),
            "123456789012345678901234567890.000000000000000000001"
        );
        assert_eq!(decode(b"1e3", &Type::Number).unwrap(), Value::int(1000));
        assert_eq!(decode(br#""42""#, &Type::Number).unwrap(), Value::int(42));
        assert!(decode(br#""forty""#, &Type::Number).is_err());
    }

    #[test]
    fn dynamic_values() {
        let v = decode(
            br#"{"value":["a"],"type":["list","string"]}"#,
            &Type::Dynamic,
        )
        .unwrap();
        let want = Value::Dynamic(
            Box::new(Type::list(Type::String)),
            Box::new(Value::string_list(["a"])),
        );
        assert_eq!(v, want);
        assert_eq!(from_json(&to_json(&want), &Type::Dynamic).unwrap(), want);
        assert!(decode(br#"{"value":1}"#, &Type::Dynamic).is_err());
        assert!(decode(br#"{"value":1,"type":"number","x":1}"#, &Type::Dynamic).is_err());
        assert!(decode(br#"1"#, &Type::Dynamic).is_err());
    }

    #[test]
    fn unknown_becomes_null() {
        let v = Value::object([("a", Value::Unknown)]);
        assert_eq!(to_json(&v), json!({"a": null}));
    }

    #[test]
    fn malformed_json_is_an_error() {
        let deep = "[".repeat(100_000);
        assert!(decode(deep.as_bytes(), &Type::list(Type::String)).is_err());
        assert!(decode(b"", &Type::String).is_err());
        assert!(decode(b"{", &Type::Dynamic).is_err());
        assert!(decode(br#"{"a":1}"#, &Type::list(Type::String)).is_err());
    }
}
