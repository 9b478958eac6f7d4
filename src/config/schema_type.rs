//! What type a JSON Schema gives a key: enough of JSON Schema to convert an environment
//! variable's text (`properties`, `additionalProperties`, local `$ref`s, `anyOf`/`oneOf`
//! with `null`, as `schemars` writes `Option`s and nested structs).

use serde_json::Value;

/// The type a key's value should have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expected {
    String,
    Integer,
    Number,
    Boolean,
    Array,
    Object,
    /// No schema, or one this reader does not follow.
    Unknown,
}

/// Hops through `$ref`s, `anyOf` and `oneOf` per key: enough for any schema `schemars`
/// writes, and a bound for a schema whose references go round in a circle.
const MAX_HOPS: usize = 16;

/// The key path `segments` (as written in a variable, any case) spelt as `schema` spells
/// its properties, and the type the schema gives it.
pub(crate) fn lookup(schema: Option<&Value>, segments: &[&str]) -> (Vec<String>, Expected) {
    let lowered = |s: &&str| s.to_ascii_lowercase();
    let Some(root) = schema else {
        return (segments.iter().map(lowered).collect(), Expected::Unknown);
    };
    let mut path = Vec::with_capacity(segments.len());
    let mut at = Some(root);
    for segment in segments {
        let object = at.and_then(|node| {
            resolve(root, node, |n| {
                n.get("properties").is_some() || n.get("additionalProperties").is_some()
            })
        });
        let found = object.and_then(|node| {
            node.get("properties")
                .and_then(Value::as_object)
                .and_then(|properties| {
                    properties
                        .iter()
                        .find(|(name, _)| same_key(name, segment))
                        .map(|(name, sub)| (name.clone(), sub))
                })
        });
        match found {
            Some((name, sub)) => {
                path.push(name);
                at = Some(sub);
            }
            None => {
                path.push(segment.to_ascii_lowercase());
                at = object
                    .and_then(|node| node.get("additionalProperties"))
                    .filter(|sub| sub.is_object());
            }
        }
    }
    let expected = at
        .and_then(|node| resolve(root, node, |n| type_of(n) != Expected::Unknown))
        .map_or(Expected::Unknown, type_of);
    (path, expected)
}

/// Whether a property called `name` is what a variable's `segment` says.
fn same_key(name: &str, segment: &str) -> bool {
    name.len() == segment.len()
        && name
            .bytes()
            .zip(segment.bytes())
            .all(|(a, b)| a.eq_ignore_ascii_case(&b) || (a == b'-' && b == b'_'))
}

/// Follows `$ref`, `anyOf` and `oneOf` from `node` to the first schema that `wanted`
/// accepts (the non-null branch of an `Option`).
fn resolve<'a>(
    root: &'a Value,
    node: &'a Value,
    wanted: impl Fn(&Value) -> bool,
) -> Option<&'a Value> {
    let mut stack = vec![node];
    let mut hops = 0;
    while let Some(node) = stack.pop() {
        if wanted(node) {
            return Some(node);
        }
        hops += 1;
        if hops > MAX_HOPS {
            return None;
        }
        if let Some(target) = node.get("$ref").and_then(Value::as_str) {
            if let Some(pointer) = target.strip_prefix('#') {
                stack.extend(root.pointer(pointer));
            }
            continue;
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if let Some(branches) = node.get(key).and_then(Value::as_array) {
                stack.extend(branches.iter().rev());
            }
        }
    }
    None
}

fn type_of(node: &Value) -> Expected {
    let named = |name: &str| match name {
        "string" => Expected::String,
        "integer" => Expected::Integer,
        "number" => Expected::Number,
        "boolean" => Expected::Boolean,
        "array" => Expected::Array,
        "object" => Expected::Object,
        _ => Expected::Unknown,
    };
    match node.get("type") {
        Some(Value::String(name)) => named(name),
        // `["integer", "null"]`: the first type that is not null.
        Some(Value::Array(names)) => names
            .iter()
            .filter_map(Value::as_str)
            .map(named)
            .find(|t| *t != Expected::Unknown)
            .unwrap_or(Expected::Unknown),
        _ => Expected::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn follows_refs_and_options_and_spells_keys_as_the_schema() {
        let schema = json!({
            "type": "object",
            "properties": { "pool": { "anyOf": [ { "$ref": "#/$defs/Pool" }, { "type": "null" } ] } },
            "$defs": { "Pool": { "type": "object", "properties": { "maxConnections": { "type": "integer" } } } }
        });
        let (path, expected) = lookup(Some(&schema), &["POOL", "MAXCONNECTIONS"]);
        assert_eq!(path, ["pool", "maxConnections"]);
        assert_eq!(expected, Expected::Integer);
    }

    #[test]
    fn a_circle_of_refs_ends() {
        let schema = json!({ "$ref": "#/$defs/A", "$defs": { "A": { "$ref": "#/$defs/A" } } });
        assert_eq!(lookup(Some(&schema), &["x"]).1, Expected::Unknown);
    }
}
