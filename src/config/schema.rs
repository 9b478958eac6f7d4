//! A module's configuration schema: JSON Schema, checked with the `jsonschema` crate when
//! the `json-schema` feature is on (the default). Without it a module that declares a schema
//! is refused with a clear reason, rather than run unchecked.

use std::fmt;
use std::sync::Arc;

use serde_json::Value;

/// A compiled JSON Schema for a module's configuration.
#[derive(Clone)]
pub struct ConfigSchema {
    source: Arc<Value>,
    #[cfg(feature = "json-schema")]
    validator: Arc<jsonschema::Validator>,
}

impl ConfigSchema {
    /// Compiles `schema`; the error says why it is not a valid JSON Schema.
    #[cfg(feature = "json-schema")]
    pub fn compile(schema: Value) -> Result<Self, String> {
        let validator = jsonschema::validator_for(&schema).map_err(|error| error.to_string())?;
        Ok(Self {
            source: Arc::new(schema),
            validator: Arc::new(validator),
        })
    }

    /// Refuses `schema`: this build checks no schemas.
    #[cfg(not(feature = "json-schema"))]
    pub fn compile(schema: Value) -> Result<Self, String> {
        let _ = schema;
        Err("configuration schemas need symphra's `json-schema` feature, which this build leaves out".to_owned())
    }

    /// The schema as written.
    pub fn as_value(&self) -> &Value {
        &self.source
    }

    /// Checks `config`, listing every rule it breaks.
    #[cfg(feature = "json-schema")]
    pub fn check(&self, config: &Value) -> Result<(), Vec<Violation>> {
        let violations: Vec<Violation> = self
            .validator
            .iter_errors(config)
            .map(|error| Violation {
                field: error.instance_path().to_string(),
                rule: error.to_string(),
            })
            .collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

/// Without the feature no schema compiles, so there is never one to check.
#[cfg(not(feature = "json-schema"))]
impl ConfigSchema {
    /// Checks `config`: there is nothing to check against.
    pub fn check(&self, config: &Value) -> Result<(), Vec<Violation>> {
        let _ = config;
        Ok(())
    }
}

impl fmt::Debug for ConfigSchema {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConfigSchema({})", self.source)
    }
}

/// One rule of the schema that a configuration breaks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Where in the configuration, as a JSON Pointer (`/pool/size`); empty for the root.
    pub field: String,
    /// The rule broken, in words (`-1 is less than the minimum of 1`).
    pub rule: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let field = if self.field.is_empty() {
            "(the whole configuration)"
        } else {
            &self.field
        };
        write!(f, "{field}: {}", self.rule)
    }
}

#[cfg(all(test, feature = "json-schema"))]
mod tests {
    use serde_json::json;

    use super::*;

    fn schema() -> ConfigSchema {
        ConfigSchema::compile(json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": { "type": "string" },
                "size": { "type": "integer", "minimum": 1 }
            }
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_config_passes() {
        assert!(schema().check(&json!({"url": "x", "size": 3})).is_ok());
    }

    #[test]
    fn every_violation_names_its_field_and_rule() {
        let violations = schema().check(&json!({"size": 0})).unwrap_err();
        assert_eq!(violations.len(), 2, "{violations:?}");
        let text: Vec<String> = violations.iter().map(ToString::to_string).collect();
        assert!(
            text.iter()
                .any(|t| t.contains("/size") && t.contains("minimum")),
            "{text:?}"
        );
        assert!(
            text.iter()
                .any(|t| t.contains("whole") && t.contains("url")),
            "{text:?}"
        );
    }

    #[test]
    fn an_invalid_schema_is_refused() {
        assert!(ConfigSchema::compile(json!({"type": "no-such-type"})).is_err());
    }
}
