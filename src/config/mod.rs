//! Module configuration: a JSON value checked against the module's JSON Schema.

mod schema;

pub use schema::{ConfigSchema, Violation};

use std::fmt;
use std::sync::{Arc, LazyLock};

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

/// A module's configuration: a JSON value, cheap to clone.
///
/// Modules read it whole as a typed value with [`Config::parse`] or field by field with
/// [`Config::get`].
///
/// ```
/// use symphra::Config;
///
/// #[derive(serde::Deserialize)]
/// struct Pool { url: String, size: u32 }
///
/// let config = Config::new(serde_json::json!({ "url": "sqlite::memory:", "size": 4 }));
/// let pool: Pool = config.parse()?;
/// assert_eq!(pool.size, 4);
/// assert_eq!(config.get::<String>("url")?.as_deref(), Some("sqlite::memory:"));
/// # Ok::<(), symphra::ConfigError>(())
/// ```
#[derive(Clone, PartialEq)]
pub struct Config(Arc<Value>);

/// The empty configuration, shared: most modules have none, and cloning it allocates nothing.
static EMPTY: LazyLock<Config> = LazyLock::new(|| Config::new(Value::Object(Map::new())));

impl Default for Config {
    /// The empty configuration, `{}`.
    fn default() -> Self {
        EMPTY.clone()
    }
}

impl Config {
    /// The shared empty configuration, borrowed.
    pub(crate) fn empty() -> &'static Config {
        &EMPTY
    }

    /// Wraps a JSON value.
    pub fn new(value: Value) -> Self {
        Self(Arc::new(value))
    }

    /// The configuration a module is installed with: the application's `configured` value
    /// laid over the module's `default` (top-level keys of `configured` win when both are
    /// objects), else whichever is given; `None` when neither is.
    ///
    /// ```
    /// use serde_json::json;
    /// use symphra::Config;
    ///
    /// let default = json!({ "size": 4, "url": "sqlite::memory:" });
    /// let configured = json!({ "size": 8 });
    /// let effective = Config::effective(Some(&default), Some(configured)).unwrap();
    /// assert_eq!(effective.as_value(), &json!({ "size": 8, "url": "sqlite::memory:" }));
    /// ```
    pub fn effective(default: Option<&Value>, configured: Option<Value>) -> Option<Config> {
        match (default, configured) {
            (Some(Value::Object(defaults)), Some(Value::Object(overrides))) => {
                let mut merged = defaults.clone();
                merged.extend(overrides);
                Some(Config::new(Value::Object(merged)))
            }
            (_, Some(configured)) => Some(Config::new(configured)),
            (Some(default), None) => Some(Config::new(default.clone())),
            (None, None) => None,
        }
    }

    /// The configuration as JSON.
    pub fn as_value(&self) -> &Value {
        &self.0
    }

    /// Reads the whole configuration as a `T`.
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        T::deserialize(&*self.0).map_err(|error| ConfigError::Type {
            field: String::new(),
            message: error.to_string(),
        })
    }

    /// Reads the top-level field `key` as a `T`; `Ok(None)` when the field is absent.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ConfigError> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => T::deserialize(value)
                .map(Some)
                .map_err(|error| ConfigError::Type {
                    field: key.to_owned(),
                    message: error.to_string(),
                }),
        }
    }
}

impl From<Value> for Config {
    fn from(value: Value) -> Self {
        Self::new(value)
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Config({})", self.0)
    }
}

/// A configuration value that cannot be read as the type asked for.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A field does not have the type the module asked for.
    #[error("configuration field {field:?} cannot be read: {message}")]
    Type {
        /// The field (empty for the whole configuration).
        field: String,
        /// What serde said.
        message: String,
    },
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn typed_access_reports_the_field() {
        let config = Config::new(json!({"size": "big"}));
        let error = config.get::<u32>("size").unwrap_err();
        assert!(error.to_string().contains("\"size\""), "{error}");
        assert_eq!(config.get::<u32>("absent").unwrap(), None);
    }
}
