//! Module configuration: a JSON value checked against the module's JSON Schema, typed by
//! the module ([`ModuleMetadata::config_type`](crate::ModuleMetadata::config_type)) and
//! layered by the application ([`Layers`]: defaults < files < environment).

#[cfg(feature = "layered-config")]
mod env;
#[cfg(feature = "layered-config")]
mod layers;
mod schema;
#[cfg(feature = "layered-config")]
mod schema_type;

#[cfg(feature = "layered-config")]
pub use env::{MAX_ENV_SEGMENTS, MAX_ENV_VALUE_LEN};
#[cfg(feature = "layered-config")]
pub use layers::{Layers, MAX_CONFIG_FILE_LEN, Resolved};
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
    /// laid over the module's `default`, merged deeply (tables merge key by key; any other
    /// value of `configured` wins), else whichever is given; `None` when neither is.
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
            (Some(default @ Value::Object(_)), Some(configured @ Value::Object(_))) => {
                let mut merged = default.clone();
                merge_deep(&mut merged, configured);
                Some(Config::new(merged))
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

/// Lays `over` onto `base`: tables merge key by key, any other value replaces. Walked with
/// an explicit stack, so the depth of the input decides no recursion.
fn merge_deep(base: &mut Value, over: Value) {
    let mut stack = vec![(base, over)];
    while let Some((base, over)) = stack.pop() {
        match (base, over) {
            (Value::Object(base), Value::Object(mut over)) => {
                // New keys first: the table must not change while its values are borrowed.
                let new: Vec<String> = over
                    .keys()
                    .filter(|key| !base.contains_key(*key))
                    .cloned()
                    .collect();
                for key in new {
                    if let Some(value) = over.remove(&key) {
                        base.insert(key, value);
                    }
                }
                for (key, existing) in base.iter_mut() {
                    if let Some(value) = over.remove(key) {
                        if existing.is_object() && value.is_object() {
                            stack.push((existing, value));
                        } else {
                            *existing = value;
                        }
                    }
                }
            }
            (base, over) => *base = over,
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

/// A problem with one layer of configuration, naming the layer and the key.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum LayerError {
    /// A layer could not be read.
    #[error("{layer}: {message}")]
    File {
        /// The layer (`file config.toml`).
        layer: String,
        /// What went wrong.
        message: String,
    },
    /// A layer's content did not parse or merge.
    #[error("{layer}: key {key:?}: {message}; fix the file")]
    Figment {
        /// The layer.
        layer: String,
        /// The key, dotted (`db.pool.size`); empty when unknown.
        key: String,
        /// What went wrong.
        message: String,
    },
    /// An environment variable's value does not have the type the schema gives its key.
    #[error("environment variable {variable} (key {key:?}) {message}")]
    Variable {
        /// The variable.
        variable: String,
        /// The key it sets, dotted.
        key: String,
        /// What the key wants and what it got.
        message: String,
    },
    /// An environment variable could name either of two modules.
    #[error(
        "environment variable {variable} is ambiguous: it could configure module {first:?} or module {second:?}, whose names differ only in `-` and `_`; rename one of them"
    )]
    AmbiguousVariable {
        /// The variable.
        variable: String,
        /// One module it could name.
        first: String,
        /// The other.
        second: String,
    },
    /// The merged configuration breaks the module's schema at a key.
    #[error("module {module:?}: key {key:?} from {layer}: {rule}")]
    Invalid {
        /// The module.
        module: String,
        /// The key, dotted; empty for the whole configuration.
        key: String,
        /// The layer that gave the key's value.
        layer: String,
        /// The rule it breaks.
        rule: String,
    },
}

/// Every problem the configuration layers had, at once.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct LayerErrors(pub Vec<LayerError>);

impl fmt::Display for LayerErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the configuration has {} problem(s):", self.0.len())?;
        for error in &self.0 {
            write!(f, "\n  {error}")?;
        }
        Ok(())
    }
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

    #[test]
    fn a_nested_default_merges_deeply() {
        let default = json!({ "pool": { "size": 4, "idle": 30 }, "url": "a" });
        let configured = json!({ "pool": { "size": 8 } });
        let effective = Config::effective(Some(&default), Some(configured)).unwrap();
        assert_eq!(
            effective.as_value(),
            &json!({ "pool": { "size": 8, "idle": 30 }, "url": "a" })
        );
    }
}
