//! The serde bridge between `Value` and the typed state structs resources
//! work with. Both directions go through JSON, so the same exactness rules
//! hold (numbers keep their decimal text).

use serde::de::DeserializeOwned;
use serde::Serialize;

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use super::diag::{Diagnostic, Diagnostics};
use super::json;
use super::schema::Schema;
use super::value::{CodecError, Type, Value};

/// Reads a typed struct from a value. Unknown reads as null, so `Option`
/// fields take it as `None`.
pub fn from_value<T: DeserializeOwned>(v: &Value) -> Result<T, CodecError> {
    serde_json::from_value(json::to_json(v))
        .map_err(|e| CodecError::new(format!("cannot read state: {}", redact(&e.to_string()))))
}

/// Writes a typed struct as a value of the schema type `ty`. `None` becomes
/// null; a field the schema lacks is an error.
pub fn to_value<T: Serialize>(t: &T, ty: &Type) -> Result<Value, CodecError> {
    let j = serde_json::to_value(t)
        .map_err(|e| CodecError::new(format!("cannot write state: {}", redact(&e.to_string()))))?;
    json::from_json(&j, ty)
}

/// Writes typed state as a value of the type of `schema`, the schema of
/// `owner` (a resource or data source); a state that does not fit its own
/// schema is a provider bug, reported as one. The type is derived once per
/// process and owner type: `schema()` builds every attribute, description
/// and validator anew, far more work than writing one state, which calls do
/// several times. Keyed by the owner's Rust type, not its Terraform name: a
/// resource and a data source may share a name with different schemas.
pub fn state_value<T: Serialize, O: 'static>(
    t: &T,
    _owner: &O,
    schema: impl FnOnce() -> Schema,
) -> Result<Value, Diagnostics> {
    static TYPES: LazyLock<Mutex<HashMap<TypeId, Arc<Type>>>> = LazyLock::new(Default::default);
    let ty = {
        let mut types = TYPES.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(
            types
                .entry(TypeId::of::<O>())
                .or_insert_with(|| Arc::new(schema().value_type())),
        )
    };
    to_value(t, &ty).map_err(|e| Diagnostic::error("Internal error", e.to_string()).into())
}

/// serde's "invalid type/value" messages quote the offending value
/// (`invalid type: string "hunter2", expected i64`); values may be
/// sensitive, so keep only what kind it was.
fn redact(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix) {
            let (unexpected, expected) = match rest.find(", expected ") {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            // "string \"x\"", "integer `5`", "floating point `1.5`": the
            // kind is everything before the first quote or backtick.
            let kind = unexpected
                .split(['"', '`'])
                .next()
                .unwrap_or_default()
                .trim_end();
            return format!("{prefix}{kind}{expected}");
        }
    }
    message.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framework::value::Number;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Endpoint {
        host: String,
        port: i64,
    }

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct State {
        id: Option<String>,
        subnets: Vec<String>,
        tags: BTreeMap<String, String>,
        count: i64,
        enabled: bool,
        endpoint: Option<Endpoint>,
    }

    fn schema() -> Type {
        Type::object([
            ("id", Type::String),
            ("subnets", Type::list(Type::String)),
            ("tags", Type::map(Type::String)),
            ("count", Type::Number),
            ("enabled", Type::Bool),
            (
                "endpoint",
                Type::object([("host", Type::String), ("port", Type::Number)]),
            ),
        ])
    }

    fn sample() -> State {
        State {
            id: None,
            subnets: vec!["subnet-1".into(), "subnet-2".into()],
            tags: [("env".to_string(), "prod".to_string())].into(),
            count: i64::MIN,
            enabled: true,
            endpoint: Some(Endpoint {
                host: "vpce.example".into(),
                port: 443,
            }),
        }
    }

    #[test]
    fn round_trip_through_value() {
        let v = to_value(&sample(), &schema()).unwrap();
        assert_eq!(v.get("id"), Some(&Value::Null));
        assert_eq!(
            v.get("count"),
            Some(&Value::Number(Number::from_i64(i64::MIN)))
        );
        assert_eq!(
            v.get("endpoint").and_then(|e| e.get("port")),
            Some(&Value::int(443))
        );
        let back: State = from_value(&v).unwrap();
        assert_eq!(back, sample());
    }

    #[test]
    fn unknown_reads_as_none() {
        let mut v = to_value(&sample(), &schema()).unwrap();
        v.set_attr("id", Value::Unknown);
        v.set_attr("endpoint", Value::Unknown);
        let back: State = from_value(&v).unwrap();
        assert_eq!(back.id, None);
        assert_eq!(back.endpoint, None);
    }

    #[test]
    fn schema_mismatches_are_errors() {
        let narrow = Type::object([("id", Type::String)]);
        let err = to_value(&sample(), &narrow).unwrap_err();
        assert!(err.message.contains("unsupported attribute"), "{err}");

        // A secret-looking string where a number is expected: the message
        // says what kind it was, not what it said.
        let mut v = to_value(&sample(), &schema()).unwrap();
        v.set_attr("count", Value::string("hunter2"));
        let err = from_value::<State>(&v).unwrap_err();
        assert!(!err.message.contains("hunter2"), "{err}");
        assert!(
            err.message.contains("invalid type: string, expected i64"),
            "{err}"
        );
    }

    #[test]
    fn fractional_numbers_do_not_fit_integers() {
        let mut v = to_value(&sample(), &schema()).unwrap();
        v.set_attr("count", Value::Number(Number::parse("1.5").unwrap()));
        assert!(from_value::<State>(&v).is_err());
    }

    #[test]
    fn state_values_of_owners_sharing_a_name_keep_their_own_schema_types() {
        use crate::framework::schema::{Attribute, Block};
        // Like the resource and the data source `privatelink_endpoint_service`.
        struct AsResource;
        struct AsDataSource;
        #[derive(Serialize)]
        struct Id {
            id: String,
        }
        let narrow =
            || Schema::new(Block::new().attribute(Attribute::computed("id", Type::String)));
        let wide = || {
            Schema::new(
                Block::new()
                    .attribute(Attribute::computed("id", Type::String))
                    .attribute(Attribute::optional("name", Type::String)),
            )
        };
        let id = Id { id: "x".into() };
        let r = state_value(&id, &AsResource, narrow).unwrap();
        let d = state_value(&id, &AsDataSource, wide).unwrap();
        assert_eq!(r.get("name"), None, "{r:?}");
        assert_eq!(d.get("name"), Some(&Value::Null), "{d:?}");
        // Cached: a second write does not build the schema again.
        let again = state_value(&id, &AsDataSource, || -> Schema { unreachable!() }).unwrap();
        assert_eq!(again, d);
    }
}
