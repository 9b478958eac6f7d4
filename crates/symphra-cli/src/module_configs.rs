//! The modules' configurations as `run`, `analyze` and `check` take them: the `--config`
//! file (one table per module) with the environment's `SYMPHRA__<MODULE>__<KEY>` overrides
//! laid over it.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::CliError;
use crate::env_config;

/// Module name to configuration.
pub(crate) type Configs = BTreeMap<String, Value>;

/// Environment variables that set nothing.
#[derive(Debug, Default)]
pub(crate) struct Unused {
    /// `SYMPHRA__<MODULE>__<KEY>` variables whose MODULE is none of the modules.
    pub unmatched: Vec<String>,
    /// Variables with the prefix but no key, or a value not in UTF-8.
    pub ignored: Vec<String>,
}

/// Reads the `--config` file, when given: one table per module. Read before the modules
/// are loaded, so that a bad file is reported at once.
pub(crate) fn read_file(path: Option<&Path>) -> Result<Configs, CliError> {
    let Some(path) = path else {
        return Ok(Configs::new());
    };
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_owned(),
        source,
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|error| CliError::Config {
        path: path.to_owned(),
        message: error.to_string(),
    })?;
    table
        .into_iter()
        .map(|(name, value)| {
            if !value.is_table() {
                return Err(CliError::Config {
                    path: path.to_owned(),
                    message: format!(
                        "`{name}` must be a table (the configuration of module {name})"
                    ),
                });
            }
            serde_json::to_value(value)
                .map(|json| (name, json))
                .map_err(|error| CliError::Config {
                    path: path.to_owned(),
                    message: error.to_string(),
                })
        })
        .collect()
}

/// Lays the process environment's overrides over `configs`, for the modules in `names`.
pub(crate) fn apply_environment(configs: &mut Configs, names: &[&str]) -> Unused {
    let (overrides, ignored) = env_config::overrides(std::env::vars_os());
    let unmatched = env_config::apply(configs, names, &overrides);
    Unused { unmatched, ignored }
}
