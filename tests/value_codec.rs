//! Property and wire-format tests for the value codecs: random types with
//! random values of those types must survive msgpack (and, when wholly
//! known, JSON) unchanged, and no input may make a decoder panic.

use std::collections::BTreeMap;

use privatelink::framework::{json, msgpack, Number, Type, Value};
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

/// A random type. `dynamic` says whether `Type::Dynamic` may appear.
fn arb_type(dynamic: bool) -> BoxedStrategy<Type> {
    let leaf = if dynamic {
        prop_oneof![
            Just(Type::String),
            Just(Type::Number),
            Just(Type::Bool),
            Just(Type::Dynamic),
        ]
        .boxed()
    } else {
        prop_oneof![Just(Type::String), Just(Type::Number), Just(Type::Bool)].boxed()
    };
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(Type::list),
            inner.clone().prop_map(Type::set),
            inner.clone().prop_map(Type::map),
            btree_map("[a-z_]{1,6}", inner.clone(), 0..4).prop_map(Type::Object),
            vec(inner, 0..4).prop_map(Type::Tuple),
        ]
    })
    .boxed()
}

fn parse(text: &str) -> Number {
    Number::parse(text).expect("test numbers are valid")
}

/// Numbers of every shape the wire has to carry: int64, uint64, integers
/// beyond both, fractions exact in binary (0.5) and not (0.1).
fn arb_number() -> BoxedStrategy<Number> {
    prop_oneof![
        any::<i64>().prop_map(Number::from_i64),
        any::<u64>().prop_map(Number::from_u64),
        Just(parse("9223372036854775808")),
        Just(parse("-9223372036854775809")),
        "-?[1-9][0-9]{19,40}".prop_map(|s| parse(&s)),
        (any::<i32>(), 1i32..30)
            .prop_map(|(m, k)| { Number::from_f64(f64::from(m) / 2f64.powi(k)).expect("finite") }),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| Number::from_f64(f).expect("finite")),
        "-?[0-9]{1,25}\\.[0-9]{0,25}[1-9]".prop_map(|s| parse(&s)),
        Just(parse("0.1")),
        Just(parse("0.5")),
    ]
    .boxed()
}

/// A random value of `ty`. Unknowns appear anywhere unless `known_only`;
/// `dyn_budget` bounds how often a dynamic value may nest another dynamic.
fn arb_value(ty: &Type, known_only: bool, dyn_budget: u32) -> BoxedStrategy<Value> {
    let known: BoxedStrategy<Value> = match ty {
        Type::String => "\\PC{0,12}".prop_map(Value::String).boxed(),
        Type::Number => arb_number().prop_map(Value::Number).boxed(),
        Type::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        Type::List(e) => vec(arb_value(e, known_only, dyn_budget), 0..4)
            .prop_map(Value::List)
            .boxed(),
        Type::Set(e) => vec(arb_value(e, known_only, dyn_budget), 0..4)
            .prop_map(Value::Set)
            .boxed(),
        Type::Map(e) => btree_map("\\PC{0,6}", arb_value(e, known_only, dyn_budget), 0..4)
            .prop_map(Value::Map)
            .boxed(),
        Type::Object(attrs) => attrs
            .iter()
            .map(|(k, t)| {
                let k = k.clone();
                arb_value(t, known_only, dyn_budget).prop_map(move |v| (k.clone(), v))
            })
            .collect::<Vec<_>>()
            .prop_map(|pairs| Value::Object(pairs.into_iter().collect::<BTreeMap<_, _>>()))
            .boxed(),
        Type::Tuple(types) => types
            .iter()
            .map(|t| arb_value(t, known_only, dyn_budget))
            .collect::<Vec<_>>()
            .prop_map(Value::Tuple)
            .boxed(),
        Type::Dynamic => arb_type(dyn_budget > 0)
            .prop_flat_map(move |t| {
                arb_value(&t, known_only, dyn_budget.saturating_sub(1))
                    .prop_map(move |v| Value::Dynamic(Box::new(t.clone()), Box::new(v)))
            })
            .boxed(),
    };
    if known_only {
        prop_oneof![1 => Just(Value::Null), 6 => known].boxed()
    } else {
        prop_oneof![1 => Just(Value::Null), 1 => Just(Value::Unknown), 6 => known].boxed()
    }
}

fn typed_value(known_only: bool) -> impl Strategy<Value = (Type, Value)> {
    arb_type(true).prop_flat_map(move |ty| {
        let v = arb_value(&ty, known_only, 2);
        (Just(ty), v)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn msgpack_round_trips((ty, v) in typed_value(false)) {
        let bytes = msgpack::encode(&v, &ty).expect("encodes");
        prop_assert_eq!(msgpack::decode(&bytes, &ty).expect("decodes"), v);
        // What we write is plain msgpack that another reader takes whole.
        let mut rest = bytes.as_slice();
        prop_assert!(rmpv::decode::read_value(&mut rest).is_ok());
        prop_assert!(rest.is_empty());
    }

    #[test]
    fn json_round_trips_known_values((ty, v) in typed_value(true)) {
        let j = json::to_json(&v);
        prop_assert_eq!(json::from_json(&j, &ty).expect("from_json"), v.clone());
        let bytes = serde_json::to_vec(&j).expect("serializes");
        prop_assert_eq!(json::decode(&bytes, &ty).expect("decodes"), v);
    }

    #[test]
    fn type_json_round_trips(ty in arb_type(true)) {
        prop_assert_eq!(Type::from_json(&ty.to_json()).expect("parses"), ty.clone());
        let j: serde_json::Value = serde_json::from_slice(&ty.to_json_bytes()).expect("json");
        prop_assert_eq!(Type::from_json(&j).expect("parses"), ty);
    }

    #[test]
    fn random_bytes_never_panic(ty in arb_type(true), bytes in vec(any::<u8>(), 0..96)) {
        let _ = msgpack::decode(&bytes, &ty);
        let _ = json::decode(&bytes, &ty);
    }

    #[test]
    fn mutated_encodings_never_panic(
        (ty, v) in typed_value(false),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut bytes = msgpack::encode(&v, &ty).expect("encodes");
        for (at, b) in edits {
            let i = at.index(bytes.len());
            bytes[i] = b;
        }
        let _ = msgpack::decode(&bytes, &ty);
        let truncated = &bytes[..cut.index(bytes.len() + 1)];
        let _ = msgpack::decode(truncated, &ty);
    }
}

#[test]
fn unknown_as_cty_writes_it() {
    for ty in [
        Type::String,
        Type::Number,
        Type::Dynamic,
        Type::list(Type::Bool),
    ] {
        assert_eq!(
            msgpack::decode(&[0xd4, 0x00, 0x00], &ty),
            Ok(Value::Unknown)
        );
    }
    assert_eq!(
        msgpack::encode(&Value::Unknown, &Type::Dynamic).unwrap(),
        [0xd4, 0, 0]
    );
}

#[test]
fn refined_unknown_ext_12() {
    // ext8, 6 payload bytes, type 12: {1: true, 2: "x"} (an int-keyed map of
    // refinements, which we ignore).
    let bytes = [0xc7, 0x06, 0x0c, 0x82, 0x01, 0xc3, 0x02, 0xa1, b'x'];
    assert_eq!(msgpack::decode(&bytes, &Type::String), Ok(Value::Unknown));
    // The same inside an object attribute.
    let ty = Type::object([("id", Type::String)]);
    let mut obj = vec![0x81, 0xa2, b'i', b'd'];
    obj.extend_from_slice(&bytes);
    assert_eq!(
        msgpack::decode(&obj, &ty),
        Ok(Value::object([("id", Value::Unknown)]))
    );
}

#[test]
fn nil_is_null() {
    assert_eq!(msgpack::decode(&[0xc0], &Type::Dynamic), Ok(Value::Null));
    assert_eq!(
        msgpack::decode(&[0xc0], &Type::map(Type::String)),
        Ok(Value::Null)
    );
    assert_eq!(
        msgpack::encode(&Value::Null, &Type::Number).unwrap(),
        [0xc0]
    );
}

#[test]
fn object_bytes_match_go_cty() {
    let ty = Type::object([("a", Type::String), ("b", Type::String)]);
    let v = Value::object([("a", Value::string("x")), ("b", Value::Null)]);
    let want = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc0];
    assert_eq!(msgpack::encode(&v, &ty).unwrap(), want);
    assert_eq!(msgpack::decode(&want, &ty), Ok(v));
}

#[test]
fn numbers_beyond_int64() {
    // int64 max + 1 = 2^63 is exactly a float64: go-cty's Float64() is exact
    // there, so it goes out as float64 (cb 43 e0 00...).
    let two63 = Value::Number(parse("9223372036854775808"));
    let bytes = msgpack::encode(&two63, &Type::Number).unwrap();
    assert_eq!(bytes, [0xcb, 0x43, 0xe0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(msgpack::decode(&bytes, &Type::Number), Ok(two63));

    // 2^63 + 1 is neither int64 nor float64: decimal text.
    let text = "9223372036854775809";
    let v = Value::Number(parse(text));
    let bytes = msgpack::encode(&v, &Type::Number).unwrap();
    let mut want = vec![0xa0 | text.len() as u8];
    want.extend_from_slice(text.as_bytes());
    assert_eq!(bytes, want);
    assert_eq!(msgpack::decode(&bytes, &Type::Number), Ok(v));

    // uint64 max decodes exactly.
    let bytes = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
    assert_eq!(
        msgpack::decode(&bytes, &Type::Number),
        Ok(Value::Number(Number::from_u64(u64::MAX)))
    );
}

#[test]
fn fractions_inexact_and_exact() {
    let tenth = Value::Number(parse("0.1"));
    assert_eq!(
        msgpack::encode(&tenth, &Type::Number).unwrap(),
        [0xa3, b'0', b'.', b'1']
    );
    let half = Value::Number(parse("0.5"));
    assert_eq!(
        msgpack::encode(&half, &Type::Number).unwrap(),
        [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]
    );
    // A float64 0.1 on the wire is the binary value, not 0.1.
    let bytes = [0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a];
    let v = msgpack::decode(&bytes, &Type::Number).unwrap();
    assert_ne!(v, tenth);
    assert_eq!(v, Value::Number(Number::from_f64(0.1).unwrap()));
}

#[test]
fn dynamic_wire_form() {
    let v = Value::Dynamic(
        Box::new(Type::object([("n", Type::Number)])),
        Box::new(Value::object([("n", Value::int(1))])),
    );
    let bytes = msgpack::encode(&v, &Type::Dynamic).unwrap();
    let type_json = br#"["object",{"n":"number"}]"#;
    let mut want = vec![0x92, 0xc4, type_json.len() as u8];
    want.extend_from_slice(type_json);
    want.extend_from_slice(&[0x81, 0xa1, b'n', 0x01]);
    assert_eq!(bytes, want);
    assert_eq!(msgpack::decode(&bytes, &Type::Dynamic), Ok(v.clone()));
    assert_eq!(
        json::to_json(&v),
        serde_json::json!({"value": {"n": 1}, "type": ["object", {"n": "number"}]})
    );
}
