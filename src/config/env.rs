//! The environment layer: `PREFIX__MODULE__KEY[__SUBKEY…]=value` sets `KEY` in the
//! configuration of `MODULE`. Module names match without regard to case, `_` standing for
//! `-` too (most shells cannot put `-` in a variable's name), so two modules whose names
//! differ only there (`my-mod`, `my_mod`) make a variable that names them ambiguous.
//! Values are converted by the type the module's schema gives the key.

use serde_json::Value;

use crate::config::LayerError;
use crate::config::schema_type::{self, Expected};

/// The most `__`-separated segments after the prefix a variable may have.
pub const MAX_ENV_SEGMENTS: usize = 16;
/// The longest value a variable may give, in bytes.
pub const MAX_ENV_VALUE_LEN: usize = 64 * 1024;

/// One variable that sets one key of one module.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct EnvSetting {
    /// The variable's name, for messages and provenance.
    pub(crate) variable: String,
    /// The module it sets.
    pub(crate) module: String,
    /// The key's path in the module's configuration, as the schema spells it.
    pub(crate) path: Vec<String>,
    /// The value, converted.
    pub(crate) value: Value,
}

/// What the environment held for the modules.
#[derive(Debug, Default)]
pub(crate) struct EnvLayer {
    pub(crate) settings: Vec<EnvSetting>,
    /// Variables with the prefix whose module is none of the modules.
    pub(crate) unmatched: Vec<String>,
    /// Variables with the prefix but no key, or whose name or value is not UTF-8.
    pub(crate) ignored: Vec<String>,
}

/// A module as the environment layer needs it: its name and its schema.
pub(crate) struct Target<'a> {
    pub(crate) name: &'a str,
    pub(crate) schema: Option<&'a Value>,
}

/// How a name is spelt in a variable: lowercase, `-` as `_`.
fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// Reads the variables of `vars` that start with `prefix__` as settings of `modules`.
pub(crate) fn read(
    prefix: &str,
    vars: &[(String, String)],
    modules: &[Target<'_>],
    errors: &mut Vec<LayerError>,
) -> EnvLayer {
    let lead = format!("{prefix}__");
    let mut layer = EnvLayer::default();
    for (name, value) in vars {
        let Some(rest) = name.strip_prefix(&lead) else {
            continue;
        };
        let segments: Vec<&str> = rest.split("__").collect();
        if segments.len() < 2
            || segments.len() > MAX_ENV_SEGMENTS + 1
            || segments.iter().any(|s| s.is_empty())
        {
            layer.ignored.push(name.clone());
            continue;
        }
        let wanted = normalise(segments[0]);
        let matching: Vec<&Target<'_>> = modules
            .iter()
            .filter(|m| normalise(m.name) == wanted)
            .collect();
        let module = match matching.as_slice() {
            [] => {
                layer.unmatched.push(name.clone());
                continue;
            }
            [one] => *one,
            [first, second, ..] => {
                errors.push(LayerError::AmbiguousVariable {
                    variable: name.clone(),
                    first: first.name.to_owned(),
                    second: second.name.to_owned(),
                });
                continue;
            }
        };
        if value.len() > MAX_ENV_VALUE_LEN {
            errors.push(LayerError::Variable {
                variable: name.clone(),
                key: segments[1..].join("."),
                message: format!("its value is longer than {MAX_ENV_VALUE_LEN} bytes"),
            });
            continue;
        }
        let (path, expected) = schema_type::lookup(module.schema, &segments[1..]);
        match convert(value, expected) {
            Ok(value) => layer.settings.push(EnvSetting {
                variable: name.clone(),
                module: module.name.to_owned(),
                path,
                value,
            }),
            Err(message) => errors.push(LayerError::Variable {
                variable: name.clone(),
                key: path.join("."),
                message,
            }),
        }
    }
    // The environment's order is arbitrary: sorted, the same input gives the same result.
    layer.settings.sort_by(|a, b| a.variable.cmp(&b.variable));
    layer.unmatched.sort();
    layer.ignored.sort();
    layer
}

/// At most this many characters of a bad value are quoted in a message.
const QUOTED: usize = 32;

fn quote(value: &str) -> String {
    let mut quoted: String = value.chars().take(QUOTED).collect();
    if quoted.len() < value.len() {
        quoted.push('…');
    }
    format!("{quoted:?}")
}

/// `text` as the type the schema wants; without a type, JSON when it is JSON, else a
/// string.
fn convert(text: &str, expected: Expected) -> Result<Value, String> {
    let trimmed = text.trim();
    let wrong = |what: &str| format!("wants {what}, got {}", quote(text));
    match expected {
        Expected::String => Ok(Value::String(text.to_owned())),
        Expected::Integer => {
            if let Ok(n) = trimmed.parse::<i64>() {
                Ok(Value::from(n))
            } else if let Ok(n) = trimmed.parse::<u64>() {
                Ok(Value::from(n))
            } else {
                Err(wrong("an integer"))
            }
        }
        Expected::Number => trimmed
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| wrong("a number")),
        Expected::Boolean => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("true or false")),
        },
        Expected::Array => match serde_json::from_str::<Value>(trimmed) {
            Ok(value @ Value::Array(_)) => Ok(value),
            _ => Err(wrong("a JSON array")),
        },
        Expected::Object => match serde_json::from_str::<Value>(trimmed) {
            Ok(value @ Value::Object(_)) => Ok(value),
            _ => Err(wrong("a JSON object")),
        },
        Expected::Unknown => {
            Ok(serde_json::from_str(trimmed).unwrap_or_else(|_| Value::String(text.to_owned())))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn values_follow_the_schema_type() {
        let schema = json!({
            "type": "object",
            "properties": {
                "port": { "type": "integer" },
                "name": { "type": "string" },
                "pool": { "type": "object", "properties": { "size": { "type": ["integer", "null"] } } }
            }
        });
        let modules = [Target {
            name: "web",
            schema: Some(&schema),
        }];
        let mut errors = Vec::new();
        let layer = read(
            "APP",
            &vars(&[
                ("APP__WEB__PORT", "8080"),
                ("APP__WEB__NAME", "123"),
                ("APP__WEB__POOL__SIZE", "4"),
                ("APP__WEB", "no key"),
                ("OTHER", "1"),
            ]),
            &modules,
            &mut errors,
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(layer.ignored, ["APP__WEB"]);
        let values: Vec<(&[String], &Value)> = layer
            .settings
            .iter()
            .map(|s| (s.path.as_slice(), &s.value))
            .collect();
        assert!(values.contains(&(&["port".to_owned()][..], &json!(8080))));
        assert!(values.contains(&(&["name".to_owned()][..], &json!("123"))));
        assert!(values.contains(&(&["pool".to_owned(), "size".to_owned()][..], &json!(4))));
    }

    #[test]
    fn a_bad_value_names_variable_and_key_and_quotes_a_prefix() {
        let schema = json!({ "properties": { "port": { "type": "integer" } } });
        let modules = [Target {
            name: "web",
            schema: Some(&schema),
        }];
        let mut errors = Vec::new();
        let long = "x".repeat(500);
        read(
            "APP",
            &vars(&[("APP__WEB__PORT", &long)]),
            &modules,
            &mut errors,
        );
        let text = errors[0].to_string();
        assert!(
            text.contains("APP__WEB__PORT") && text.contains("port"),
            "{text}"
        );
        assert!(text.contains("an integer") && text.len() < 200, "{text}");
    }

    #[test]
    fn names_differing_only_in_dash_and_underscore_are_ambiguous() {
        let modules = [
            Target {
                name: "my-mod",
                schema: None,
            },
            Target {
                name: "my_mod",
                schema: None,
            },
        ];
        let mut errors = Vec::new();
        let layer = read(
            "SYMPHRA",
            &vars(&[("SYMPHRA__MY_MOD__PORT", "1")]),
            &modules,
            &mut errors,
        );
        assert!(layer.settings.is_empty());
        let text = errors[0].to_string();
        assert!(text.contains("my-mod") && text.contains("my_mod"), "{text}");
    }
}
