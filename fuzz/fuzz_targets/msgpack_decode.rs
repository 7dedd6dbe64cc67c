//! Feeds arbitrary bytes to the value decoders. The first byte picks the
//! expected type from a fixed set; the rest is the input. Any panic, stack
//! overflow or runaway allocation is a bug: decoders must only return Err.
#![no_main]

use libfuzzer_sys::fuzz_target;
use privatelink::framework::{json, msgpack, Type};

fn types() -> Vec<Type> {
    vec![
        Type::String,
        Type::Number,
        Type::Bool,
        Type::Dynamic,
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Dynamic),
        Type::Tuple(vec![Type::Bool, Type::Dynamic]),
        Type::object([
            ("id", Type::String),
            ("tags", Type::map(Type::String)),
            ("ports", Type::list(Type::Number)),
            ("extra", Type::Dynamic),
        ]),
        Type::list(Type::object([
            ("name", Type::String),
            ("nested", Type::set(Type::list(Type::Dynamic))),
        ])),
    ]
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let types = types();
    let ty = &types[usize::from(selector) % types.len()];
    if let Ok(v) = msgpack::decode(rest, ty) {
        // Whatever decodes must encode again.
        let bytes = msgpack::encode(&v, ty).expect("a decoded value re-encodes");
        assert_eq!(msgpack::decode(&bytes, ty).as_ref(), Ok(&v));
    }
    let _ = json::decode(rest, ty);
});
