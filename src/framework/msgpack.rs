//! cty's msgpack encoding of values, as Terraform core (go-cty) reads and
//! writes it in `DynamicValue.msgpack`.
//!
//! The decoder walks the bytes with the expected type in hand, so it never
//! needs a generic msgpack tree: every length prefix is checked against the
//! bytes that remain before anything is read or allocated, nesting is capped
//! at [`MAX_DEPTH`], and every failure is an `Err` naming the path, never the
//! value (values may be sensitive).

use std::collections::BTreeMap;

use rmp::Marker;

use super::value::{CodecError, CodecPath, Number, Type, Value, MAX_DEPTH};

/// The bytes cty writes for an unknown value: fixext1, type 0, payload 0.
const UNKNOWN: [u8; 3] = [0xd4, 0x00, 0x00];

/// Decodes one msgpack value of type `ty`. Trailing bytes are an error.
pub fn decode(bytes: &[u8], ty: &Type) -> Result<Value, CodecError> {
    let mut reader = Reader { buf: bytes, pos: 0 };
    let mut path = CodecPath::new();
    let value = reader.value(ty, &mut path, 0)?;
    if reader.pos != bytes.len() {
        return Err(CodecError::new(format!(
            "{} trailing bytes after the msgpack value",
            bytes.len() - reader.pos
        )));
    }
    Ok(value)
}

/// Encodes `value` as type `ty`, the way go-cty does.
pub fn encode(value: &Value, ty: &Type) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let mut path = CodecPath::new();
    write_value(&mut out, value, ty, &mut path, 0)?;
    Ok(out)
}

// ---------------------------------------------------------------------------
// Decoding

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// What a marker is, for "expected X, got Y" messages.
fn marker_kind(m: Marker) -> &'static str {
    match m {
        Marker::Null => "nil",
        Marker::True | Marker::False => "bool",
        Marker::FixPos(_)
        | Marker::FixNeg(_)
        | Marker::U8
        | Marker::U16
        | Marker::U32
        | Marker::U64
        | Marker::I8
        | Marker::I16
        | Marker::I32
        | Marker::I64 => "integer",
        Marker::F32 | Marker::F64 => "float",
        Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "string",
        Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "binary",
        Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "array",
        Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "map",
        Marker::FixExt1
        | Marker::FixExt2
        | Marker::FixExt4
        | Marker::FixExt8
        | Marker::FixExt16
        | Marker::Ext8
        | Marker::Ext16
        | Marker::Ext32 => "extension",
        Marker::Reserved => "reserved byte 0xc1",
    }
}

fn is_ext(m: Marker) -> bool {
    marker_kind(m) == "extension"
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    fn take(&mut self, n: usize, path: &CodecPath) -> Result<&'a [u8], CodecError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&end| end <= self.buf.len())
            .ok_or_else(|| path.error("unexpected end of msgpack input"))?;
        let slice = self.buf.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(slice)
    }

    fn take_array<const N: usize>(&mut self, path: &CodecPath) -> Result<[u8; N], CodecError> {
        let bytes = self.take(N, path)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    fn peek_marker(&self, path: &CodecPath) -> Result<Marker, CodecError> {
        self.buf
            .get(self.pos)
            .map(|&b| Marker::from_u8(b))
            .ok_or_else(|| path.error("unexpected end of msgpack input"))
    }

    fn next_marker(&mut self, path: &CodecPath) -> Result<Marker, CodecError> {
        let m = self.peek_marker(path)?;
        self.pos += 1;
        Ok(m)
    }

    fn read_u8(&mut self, path: &CodecPath) -> Result<u8, CodecError> {
        Ok(self.take_array::<1>(path)?[0])
    }
    fn read_u16(&mut self, path: &CodecPath) -> Result<u16, CodecError> {
        Ok(u16::from_be_bytes(self.take_array(path)?))
    }
    fn read_u32(&mut self, path: &CodecPath) -> Result<u32, CodecError> {
        Ok(u32::from_be_bytes(self.take_array(path)?))
    }
    fn read_u64(&mut self, path: &CodecPath) -> Result<u64, CodecError> {
        Ok(u64::from_be_bytes(self.take_array(path)?))
    }

    /// Skips an extension value whose marker has already been consumed.
    fn skip_ext(&mut self, m: Marker, path: &CodecPath) -> Result<(), CodecError> {
        let len = match m {
            Marker::FixExt1 => 1,
            Marker::FixExt2 => 2,
            Marker::FixExt4 => 4,
            Marker::FixExt8 => 8,
            Marker::FixExt16 => 16,
            Marker::Ext8 => usize::from(self.read_u8(path)?),
            Marker::Ext16 => usize::from(self.read_u16(path)?),
            Marker::Ext32 => self.read_u32(path)? as usize,
            _ => return Err(path.error("expected an extension")),
        };
        // One byte of extension type, then the payload (ignored: a refined
        // unknown's refinements are hints we do not need).
        self.take(1 + len, path)?;
        Ok(())
    }

    /// The length of a str or bin whose marker has been consumed, or None
    /// when the marker is neither.
    fn bytes_len(&mut self, m: Marker, path: &CodecPath) -> Result<Option<usize>, CodecError> {
        Ok(Some(match m {
            Marker::FixStr(n) => usize::from(n),
            Marker::Str8 | Marker::Bin8 => usize::from(self.read_u8(path)?),
            Marker::Str16 | Marker::Bin16 => usize::from(self.read_u16(path)?),
            Marker::Str32 | Marker::Bin32 => self.read_u32(path)? as usize,
            _ => return Ok(None),
        }))
    }

    /// A str (or bin, which some encoders use for text) as raw bytes.
    fn read_bytes(&mut self, what: &str, path: &CodecPath) -> Result<&'a [u8], CodecError> {
        let m = self.next_marker(path)?;
        match self.bytes_len(m, path)? {
            Some(n) => self.take(n, path),
            None => Err(path.error(format!("expected {what}, got {}", marker_kind(m)))),
        }
    }

    fn read_string(&mut self, what: &str, path: &CodecPath) -> Result<String, CodecError> {
        let bytes = self.read_bytes(what, path)?;
        std::str::from_utf8(bytes)
            .map(str::to_string)
            .map_err(|_| path.error(format!("{what} is not valid UTF-8")))
    }

    /// `what` names the expected value for the error message; it is only
    /// called on error, since naming a type allocates.
    fn read_array_len(
        &mut self,
        what: &dyn Fn() -> String,
        path: &CodecPath,
    ) -> Result<usize, CodecError> {
        let m = self.next_marker(path)?;
        let n = match m {
            Marker::FixArray(n) => usize::from(n),
            Marker::Array16 => usize::from(self.read_u16(path)?),
            Marker::Array32 => self.read_u32(path)? as usize,
            _ => return Err(path.error(format!("expected {}, got {}", what(), marker_kind(m)))),
        };
        // Every element takes at least one byte: a longer claim is a lie, and
        // refusing it early keeps allocations bounded by the input size.
        if n > self.remaining() {
            return Err(path.error("array length exceeds the remaining input"));
        }
        Ok(n)
    }

    /// `what` as for `read_array_len`.
    fn read_map_len(
        &mut self,
        what: &dyn Fn() -> String,
        path: &CodecPath,
    ) -> Result<usize, CodecError> {
        let m = self.next_marker(path)?;
        let n = match m {
            Marker::FixMap(n) => usize::from(n),
            Marker::Map16 => usize::from(self.read_u16(path)?),
            Marker::Map32 => self.read_u32(path)? as usize,
            _ => return Err(path.error(format!("expected {}, got {}", what(), marker_kind(m)))),
        };
        // Each entry is at least two bytes (key and value).
        if n > self.remaining() / 2 {
            return Err(path.error("map length exceeds the remaining input"));
        }
        Ok(n)
    }

    fn read_number(&mut self, path: &CodecPath) -> Result<Number, CodecError> {
        let m = self.peek_marker(path)?;
        let n = match m {
            Marker::FixPos(n) => {
                self.pos += 1;
                Number::from_u64(u64::from(n))
            }
            Marker::FixNeg(n) => {
                self.pos += 1;
                Number::from_i64(i64::from(n))
            }
            Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                self.pos += 1;
                Number::from_u64(match m {
                    Marker::U8 => u64::from(self.read_u8(path)?),
                    Marker::U16 => u64::from(self.read_u16(path)?),
                    Marker::U32 => u64::from(self.read_u32(path)?),
                    _ => self.read_u64(path)?,
                })
            }
            Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => {
                self.pos += 1;
                // Two's complement reinterpretation of the big-endian bytes.
                Number::from_i64(match m {
                    Marker::I8 => i64::from(self.read_u8(path)? as i8),
                    Marker::I16 => i64::from(self.read_u16(path)? as i16),
                    Marker::I32 => i64::from(self.read_u32(path)? as i32),
                    _ => self.read_u64(path)? as i64,
                })
            }
            Marker::F32 | Marker::F64 => {
                self.pos += 1;
                let f = if m == Marker::F32 {
                    f64::from(f32::from_bits(self.read_u32(path)?))
                } else {
                    f64::from_bits(self.read_u64(path)?)
                };
                Number::from_f64(f)
                    .ok_or_else(|| path.error("number is not finite (NaN or infinity)"))?
            }
            _ => {
                // go-cty falls back to decimal text for numbers that are
                // neither int64 nor exact float64.
                let text = self.read_bytes("number", path)?;
                std::str::from_utf8(text)
                    .ok()
                    .and_then(Number::parse)
                    .ok_or_else(|| path.error("string does not hold a decimal number"))?
            }
        };
        Ok(n)
    }

    fn value(
        &mut self,
        ty: &Type,
        path: &mut CodecPath,
        depth: usize,
    ) -> Result<Value, CodecError> {
        if depth > MAX_DEPTH {
            return Err(path.error(format!("value nests deeper than {MAX_DEPTH} levels")));
        }
        let m = self.peek_marker(path)?;
        // cty's order: any extension is an unknown (of any type, including
        // dynamic), then nil is null, then the type decides.
        if is_ext(m) {
            self.pos += 1;
            self.skip_ext(m, path)?;
            return Ok(Value::Unknown);
        }
        if m == Marker::Null {
            self.pos += 1;
            return Ok(Value::Null);
        }
        match ty {
            Type::String => Ok(Value::String(self.read_string("string", path)?)),
            Type::Number => Ok(Value::Number(self.read_number(path)?)),
            Type::Bool => match self.next_marker(path)? {
                Marker::True => Ok(Value::Bool(true)),
                Marker::False => Ok(Value::Bool(false)),
                other => Err(path.error(format!("expected bool, got {}", marker_kind(other)))),
            },
            Type::List(elem) | Type::Set(elem) => {
                let n = self.read_array_len(&|| ty.friendly_name(), path)?;
                let mut items = Vec::with_capacity(n);
                for i in 0..n {
                    path.push_index(i);
                    items.push(self.value(elem, path, depth + 1)?);
                    path.pop();
                }
                Ok(match ty {
                    Type::Set(_) => Value::Set(items),
                    _ => Value::List(items),
                })
            }
            Type::Tuple(types) => {
                let n = self.read_array_len(&|| "tuple".into(), path)?;
                if n != types.len() {
                    return Err(path.error(format!(
                        "expected a tuple of {} elements, got {n}",
                        types.len()
                    )));
                }
                let mut items = Vec::with_capacity(n);
                for (i, t) in types.iter().enumerate() {
                    path.push_index(i);
                    items.push(self.value(t, path, depth + 1)?);
                    path.pop();
                }
                Ok(Value::Tuple(items))
            }
            Type::Map(elem) => {
                let n = self.read_map_len(&|| ty.friendly_name(), path)?;
                let mut items = BTreeMap::new();
                for _ in 0..n {
                    let key = self.read_string("map key", path)?;
                    path.push_key(&key);
                    let v = self.value(elem, path, depth + 1)?;
                    path.pop();
                    if items.insert(key, v).is_some() {
                        return Err(path.error("duplicate map key"));
                    }
                }
                Ok(Value::Map(items))
            }
            Type::Object(attrs) => {
                let n = self.read_map_len(&|| "object".into(), path)?;
                let mut items = BTreeMap::new();
                for _ in 0..n {
                    let key = self.read_string("attribute name", path)?;
                    let Some(attr_ty) = attrs.get(&key) else {
                        return Err(path.error(format!("unsupported attribute {key:?}")));
                    };
                    path.push_attr(&key);
                    let v = self.value(attr_ty, path, depth + 1)?;
                    path.pop();
                    if items.contains_key(&key) {
                        return Err(path.error(format!("duplicate attribute {key:?}")));
                    }
                    items.insert(key, v);
                }
                if let Some(missing) = attrs.keys().find(|k| !items.contains_key(*k)) {
                    return Err(path.error(format!("missing attribute {missing:?}")));
                }
                Ok(Value::Object(items))
            }
            Type::Dynamic => {
                let n = self.read_array_len(&|| "dynamic value [type, value]".into(), path)?;
                if n != 2 {
                    return Err(path.error(format!(
                        "dynamic value must be a 2-element array, got {n} elements"
                    )));
                }
                let type_json = self.read_bytes("type JSON", path)?;
                let concrete = parse_type_json(type_json).map_err(|e| path.error(e.message))?;
                let v = self.value(&concrete, path, depth + 1)?;
                Ok(Value::Dynamic(Box::new(concrete), Box::new(v)))
            }
        }
    }
}

fn parse_type_json(bytes: &[u8]) -> Result<Type, CodecError> {
    let json: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| CodecError::new(format!("invalid type JSON: {e}")))?;
    Type::from_json(&json)
}

// ---------------------------------------------------------------------------
// Encoding

fn write_failed() -> CodecError {
    CodecError::new("msgpack write failed")
}

fn len_u32(n: usize, path: &CodecPath) -> Result<u32, CodecError> {
    u32::try_from(n).map_err(|_| path.error("too many elements for msgpack"))
}

fn mismatch(value: &Value, ty: &Type, path: &CodecPath) -> CodecError {
    path.error(format!(
        "cannot encode {} as {}",
        value_kind(value),
        ty.friendly_name()
    ))
}

/// What a value is, for messages (never its content).
fn value_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Unknown => "unknown",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::List(_) => "a list",
        Value::Set(_) => "a set",
        Value::Map(_) => "a map",
        Value::Object(_) => "an object",
        Value::Tuple(_) => "a tuple",
        Value::Dynamic(..) => "a dynamic value",
    }
}

/// The type of a known value when it can be told from the value alone: a
/// primitive, or a collection whose elements all agree. Empty collections,
/// nulls and unknowns inside say nothing about their type, so those are None.
pub fn infer_type(v: &Value) -> Option<Type> {
    fn same_elem<'a>(items: impl Iterator<Item = &'a Value>) -> Option<Type> {
        let mut found: Option<Type> = None;
        for item in items {
            let t = infer_type(item)?;
            match &found {
                Some(prev) if *prev != t => return None,
                Some(_) => {}
                None => found = Some(t),
            }
        }
        found
    }
    match v {
        Value::Bool(_) => Some(Type::Bool),
        Value::Number(_) => Some(Type::Number),
        Value::String(_) => Some(Type::String),
        Value::List(items) => same_elem(items.iter()).map(Type::list),
        Value::Set(items) => same_elem(items.iter()).map(Type::set),
        Value::Map(items) => same_elem(items.values()).map(Type::map),
        Value::Tuple(items) => items
            .iter()
            .map(infer_type)
            .collect::<Option<_>>()
            .map(Type::Tuple),
        Value::Object(attrs) => attrs
            .iter()
            .map(|(k, v)| infer_type(v).map(|t| (k.clone(), t)))
            .collect::<Option<_>>()
            .map(Type::Object),
        Value::Null | Value::Unknown | Value::Dynamic(..) => None,
    }
}

fn write_number(out: &mut Vec<u8>, n: &Number) -> Result<(), CodecError> {
    if let Some(i) = n.as_i64() {
        rmp::encode::write_sint(out, i).map_err(|_| write_failed())?;
    } else if let Some(f) = n.as_exact_f64() {
        rmp::encode::write_f64(out, f).map_err(|_| write_failed())?;
    } else {
        // Neither int64 nor exact float64: decimal text, as go-cty does.
        rmp::encode::write_str(out, n.as_str()).map_err(|_| write_failed())?;
    }
    Ok(())
}

fn write_value(
    out: &mut Vec<u8>,
    value: &Value,
    ty: &Type,
    path: &mut CodecPath,
    depth: usize,
) -> Result<(), CodecError> {
    if depth > MAX_DEPTH {
        return Err(path.error(format!("value nests deeper than {MAX_DEPTH} levels")));
    }
    match value {
        Value::Unknown => {
            out.extend_from_slice(&UNKNOWN);
            return Ok(());
        }
        Value::Null => {
            rmp::encode::write_nil(out).map_err(|_| write_failed())?;
            return Ok(());
        }
        _ => {}
    }
    if *ty == Type::Dynamic {
        let (concrete, inner) = match value {
            Value::Dynamic(t, v) => ((**t).clone(), &**v),
            other => match infer_type(other) {
                Some(t) => (t, other),
                None => {
                    return Err(path.error(format!(
                    "{} at a dynamic position has no unambiguous type: wrap it in Value::Dynamic",
                    value_kind(other)
                )))
                }
            },
        };
        rmp::encode::write_array_len(out, 2).map_err(|_| write_failed())?;
        let json = concrete.to_json_bytes();
        rmp::encode::write_bin(out, &json).map_err(|_| write_failed())?;
        return write_value(out, inner, &concrete, path, depth + 1);
    }
    match (value, ty) {
        // A dynamic wrapper whose type is exactly the expected one is just
        // that value.
        (Value::Dynamic(t, v), _) if **t == *ty => write_value(out, v, ty, path, depth),
        (Value::Bool(b), Type::Bool) => {
            rmp::encode::write_bool(out, *b).map_err(|_| write_failed())
        }
        (Value::Number(n), Type::Number) => write_number(out, n),
        (Value::String(s), Type::String) => {
            rmp::encode::write_str(out, s).map_err(|_| write_failed())
        }
        (Value::List(items), Type::List(elem)) | (Value::Set(items), Type::Set(elem)) => {
            rmp::encode::write_array_len(out, len_u32(items.len(), path)?)
                .map_err(|_| write_failed())?;
            for (i, item) in items.iter().enumerate() {
                path.push_index(i);
                write_value(out, item, elem, path, depth + 1)?;
                path.pop();
            }
            Ok(())
        }
        (Value::Tuple(items), Type::Tuple(types)) => {
            if items.len() != types.len() {
                return Err(path.error(format!(
                    "tuple has {} elements, its type has {}",
                    items.len(),
                    types.len()
                )));
            }
            rmp::encode::write_array_len(out, len_u32(items.len(), path)?)
                .map_err(|_| write_failed())?;
            for (i, (item, t)) in items.iter().zip(types).enumerate() {
                path.push_index(i);
                write_value(out, item, t, path, depth + 1)?;
                path.pop();
            }
            Ok(())
        }
        (Value::Map(items), Type::Map(elem)) => {
            rmp::encode::write_map_len(out, len_u32(items.len(), path)?)
                .map_err(|_| write_failed())?;
            for (k, v) in items {
                rmp::encode::write_str(out, k).map_err(|_| write_failed())?;
                path.push_key(k);
                write_value(out, v, elem, path, depth + 1)?;
                path.pop();
            }
            Ok(())
        }
        (Value::Object(items), Type::Object(attrs)) => {
            // Silently dropping an attribute the schema lacks would hide a
            // bug in the resource, so it is an error.
            if let Some(extra) = items.keys().find(|k| !attrs.contains_key(*k)) {
                return Err(path.error(format!("object has attribute {extra:?} not in its type")));
            }
            rmp::encode::write_map_len(out, len_u32(attrs.len(), path)?)
                .map_err(|_| write_failed())?;
            for (name, attr_ty) in attrs {
                rmp::encode::write_str(out, name).map_err(|_| write_failed())?;
                path.push_attr(name);
                write_value(
                    out,
                    items.get(name).unwrap_or(&Value::Null),
                    attr_ty,
                    path,
                    depth + 1,
                )?;
                path.pop();
            }
            Ok(())
        }
        _ => Err(mismatch(value, ty, path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn num(text: &str) -> Value {
        Value::Number(Number::parse(text).unwrap())
    }

    #[test]
    fn unknowns_are_any_extension() {
        for ty in [Type::String, Type::Dynamic, Type::list(Type::Number)] {
            assert_eq!(decode(&[0xd4, 0, 0], &ty).unwrap(), Value::Unknown);
            // Refined unknown: ext8, length 3, type 12, payload {1: true}.
            assert_eq!(
                decode(&[0xc7, 3, 12, 0x81, 0x01, 0xc3], &ty).unwrap(),
                Value::Unknown
            );
            assert_eq!(
                decode(&[0xd5, 12, 0x80, 0xc0], &ty).unwrap(),
                Value::Unknown
            );
        }
        assert_eq!(encode(&Value::Unknown, &Type::String).unwrap(), UNKNOWN);
    }

    #[test]
    fn null_and_primitives() {
        assert_eq!(decode(&[0xc0], &Type::String).unwrap(), Value::Null);
        assert_eq!(decode(&[0xc0], &Type::Dynamic).unwrap(), Value::Null);
        assert_eq!(decode(&[0xc3], &Type::Bool).unwrap(), Value::Bool(true));
        assert_eq!(
            decode(&[0xa1, b'x'], &Type::String).unwrap(),
            Value::string("x")
        );
        // bin holding text is accepted as a string.
        assert_eq!(
            decode(&[0xc4, 1, b'x'], &Type::String).unwrap(),
            Value::string("x")
        );
        assert_eq!(
            encode(&Value::string("x"), &Type::String).unwrap(),
            [0xa1, b'x']
        );
    }

    #[test]
    fn numbers_every_width() {
        let cases: &[(&[u8], &str)] = &[
            (&[0x05], "5"),
            (&[0xff], "-1"),
            (&[0xcc, 0xff], "255"),
            (&[0xcd, 0x01, 0x00], "256"),
            (&[0xce, 0, 1, 0, 0], "65536"),
            (
                &[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "18446744073709551615",
            ),
            (&[0xd0, 0x80], "-128"),
            (&[0xd1, 0xff, 0x00], "-256"),
            (&[0xd2, 0xff, 0xff, 0xff, 0xff], "-1"),
            (&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0], "-9223372036854775808"),
            (&[0xca, 0x3f, 0x00, 0x00, 0x00], "0.5"),
            (&[0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0], "0.5"),
            (&[0xa3, b'0', b'.', b'1'], "0.1"),
        ];
        for (bytes, want) in cases {
            assert_eq!(
                decode(bytes, &Type::Number).unwrap(),
                num(want),
                "{bytes:02x?}"
            );
        }
        // NaN is not a number cty can hold.
        assert!(decode(&[0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0], &Type::Number).is_err());
        assert!(decode(&[0xa3, b'a', b'b', b'c'], &Type::Number).is_err());
    }

    #[test]
    fn number_encoding_matches_go_cty() {
        assert_eq!(encode(&num("1"), &Type::Number).unwrap(), [0x01]);
        assert_eq!(encode(&num("-1"), &Type::Number).unwrap(), [0xff]);
        assert_eq!(
            encode(&num("0.5"), &Type::Number).unwrap(),
            [0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0]
        );
        let mut want = vec![0xa3];
        want.extend_from_slice(b"0.1");
        assert_eq!(encode(&num("0.1"), &Type::Number).unwrap(), want);
        // int64 max + 1 is 2^63, exactly a float64, so go-cty (and we) write
        // a float64; one more is not, and travels as decimal text.
        assert_eq!(
            encode(&num("9223372036854775808"), &Type::Number).unwrap(),
            [0xcb, 0x43, 0xe0, 0, 0, 0, 0, 0, 0]
        );
        let big = "9223372036854775809";
        let mut want = vec![0xb3];
        want.extend_from_slice(big.as_bytes());
        assert_eq!(encode(&num(big), &Type::Number).unwrap(), want);
        assert_eq!(decode(&want, &Type::Number).unwrap(), num(big));
    }

    #[test]
    fn objects_need_every_attribute_once() {
        let ty = Type::object([("a", Type::String), ("b", Type::String)]);
        let bytes = [0x82, 0xa1, b'a', 0xa1, b'x', 0xa1, b'b', 0xc0];
        let v = Value::object([("a", Value::string("x")), ("b", Value::Null)]);
        assert_eq!(decode(&bytes, &ty).unwrap(), v);
        assert_eq!(encode(&v, &ty).unwrap(), bytes);
        // A missing attribute in the value is written as nil.
        assert_eq!(
            encode(&Value::object([("a", Value::string("x"))]), &ty).unwrap(),
            bytes
        );

        let err = decode(&[0x81, 0xa1, b'a', 0xa1, b'x'], &ty).unwrap_err();
        assert!(err.message.contains("missing attribute \"b\""), "{err}");
        let err = decode(
            &[0x83, 0xa1, b'a', 0xc0, 0xa1, b'b', 0xc0, 0xa1, b'c', 0xc0],
            &ty,
        )
        .unwrap_err();
        assert!(err.message.contains("unsupported attribute \"c\""), "{err}");
        let err = decode(&[0x82, 0xa1, b'a', 0xc0, 0xa1, b'a', 0xc0], &ty).unwrap_err();
        assert!(err.message.contains("duplicate attribute \"a\""), "{err}");
        let extra = Value::object([("z", Value::Null)]);
        assert!(encode(&extra, &ty).is_err());
    }

    #[test]
    fn errors_name_the_path_not_the_value() {
        let ty = Type::object([("tags", Type::map(Type::String))]);
        // {"tags": {"x": [1]}}
        let bytes = [
            0x81, 0xa4, b't', b'a', b'g', b's', 0x81, 0xa1, b'x', 0x91, 0x01,
        ];
        let err = decode(&bytes, &ty).unwrap_err();
        assert_eq!(err.message, "at .tags[\"x\"]: expected string, got array");
        let secret = Value::object([(
            "tags",
            Value::Map([("x".to_string(), Value::Bool(true))].into()),
        )]);
        let err = encode(&secret, &ty).unwrap_err();
        assert_eq!(
            err.message,
            "at .tags[\"x\"]: cannot encode a bool as string"
        );
    }

    #[test]
    fn dynamic_values() {
        let v = Value::Dynamic(
            Box::new(Type::list(Type::String)),
            Box::new(Value::string_list(["a"])),
        );
        let bytes = encode(&v, &Type::Dynamic).unwrap();
        let mut want = vec![0x92, 0xc4, 17];
        want.extend_from_slice(br#"["list","string"]"#);
        want.extend_from_slice(&[0x91, 0xa1, b'a']);
        assert_eq!(bytes, want);
        assert_eq!(decode(&bytes, &Type::Dynamic).unwrap(), v);
        // The type JSON may also come as str.
        want[1] = 0xd9;
        assert_eq!(decode(&want, &Type::Dynamic).unwrap(), v);
        // Plain primitives infer their type; empty collections cannot.
        let bytes = encode(&Value::string("x"), &Type::Dynamic).unwrap();
        assert_eq!(
            decode(&bytes, &Type::Dynamic).unwrap(),
            Value::Dynamic(Box::new(Type::String), Box::new(Value::string("x")))
        );
        let err = encode(&Value::List(vec![]), &Type::Dynamic).unwrap_err();
        assert!(err.message.contains("no unambiguous type"), "{err}");
        assert!(decode(&[0x91, 0xc0], &Type::Dynamic).is_err());
        assert!(decode(&[0x92, 0xa3, b'f', b'o', b'o', 0xc0], &Type::Dynamic).is_err());
    }

    #[test]
    fn hostile_input_is_an_error() {
        let ty = Type::list(Type::String);
        // Truncated, wrong type, huge claimed lengths, reserved byte.
        for bytes in [
            &[][..],
            &[0x92, 0xa1],
            &[0xdd, 0xff, 0xff, 0xff, 0xff],
            &[0x91, 0xdb, 0xff, 0xff, 0xff, 0xff],
            &[0x91, 0xc1],
            &[0x90, 0x00],
            &[0xc7, 0xff],
            &[0xc9, 0xff, 0xff, 0xff, 0xff, 0x01],
        ] {
            assert!(decode(bytes, &ty).is_err(), "{bytes:02x?}");
        }
        assert!(decode(&[0xdf, 0xff, 0xff, 0xff, 0xff], &Type::map(Type::String)).is_err());
        // Invalid UTF-8.
        assert!(decode(&[0xa1, 0xff], &Type::String).is_err());
    }

    #[test]
    fn depth_bombs_are_refused() {
        // Dynamic values nest types inside values: [ "dynamic", [ "dynamic", ...
        let mut bytes = Vec::new();
        for _ in 0..100_000 {
            bytes.extend_from_slice(&[0x92, 0xa9]);
            bytes.extend_from_slice(b"\"dynamic\"");
        }
        bytes.push(0xc0);
        let err = decode(&bytes, &Type::Dynamic).unwrap_err();
        assert!(err.message.contains("deeper than 256"), "{err}");

        // A deeply nested list type with a matching deep array.
        let mut ty = Type::String;
        for _ in 0..300 {
            ty = Type::list(ty);
        }
        let bytes = vec![0x91; 300];
        assert!(decode(&bytes, &ty).is_err());
    }
}
