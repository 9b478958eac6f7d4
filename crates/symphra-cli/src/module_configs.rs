//! The modules' configurations as `run`, `analyze` and `check` take them, through the
//! library's own layering (`symphra::config::Layers`): each module's default, under the
//! `--config` file (one table per module, TOML or JSON), under the environment's
//! `SYMPHRA__<MODULE>__<KEY>` variables, merged deeply, environment values converted by
//! the type the module's schema gives the key. A variable that could name two modules
//! (`my-mod` and `my_mod`) is an error naming both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use symphra::ModuleMetadata;
use symphra::config::{LayerErrors, Layers};

use crate::CliError;

/// What every environment variable that configures a module starts with (then `__`).
pub(crate) const PREFIX: &str = "SYMPHRA";

/// The `--config` file, read: module name to configuration.
#[derive(Debug, Default)]
pub(crate) struct Configs {
    /// The file, laid as a layer when the modules are known.
    pub path: Option<PathBuf>,
    /// Its tables, by module name.
    pub tables: BTreeMap<String, Value>,
}

/// Environment variables that set nothing.
#[derive(Debug, Default)]
pub(crate) struct Unused {
    /// `SYMPHRA__<MODULE>__<KEY>` variables whose MODULE is none of the modules.
    pub unmatched: Vec<String>,
    /// Variables with the prefix but no key.
    pub ignored: Vec<String>,
}

/// Reads the `--config` file, when given: one table per module. Read before the modules
/// are loaded, so that a bad file is reported at once.
pub(crate) fn read_file(path: Option<&Path>) -> Result<Configs, CliError> {
    let Some(path) = path else {
        return Ok(Configs::default());
    };
    let text = std::fs::read_to_string(path).map_err(|source| CliError::Io {
        path: path.to_owned(),
        source,
    })?;
    let bad = |message: String| CliError::Config {
        path: path.to_owned(),
        message,
    };
    let table: serde_json::Map<String, Value> = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::from_str(&text).map_err(|error| bad(error.to_string()))?
    } else {
        let table: toml::Table = toml::from_str(&text).map_err(|error| bad(error.to_string()))?;
        match serde_json::to_value(table).map_err(|error| bad(error.to_string()))? {
            Value::Object(map) => map,
            _ => return Err(bad("not a table".to_owned())),
        }
    };
    let mut tables = BTreeMap::new();
    for (name, value) in table {
        if !value.is_object() {
            return Err(bad(format!(
                "`{name}` must be a table (the configuration of module {name})"
            )));
        }
        tables.insert(name, value);
    }
    Ok(Configs {
        path: Some(path.to_owned()),
        tables,
    })
}

/// Every module's configuration from the layers — defaults, the file, the process's
/// environment — for the modules of `metas`, checked against their schemas.
pub(crate) fn layered(
    configs: &Configs,
    metas: &[ModuleMetadata],
) -> Result<(BTreeMap<String, Value>, Unused), LayerErrors> {
    layered_with(configs, metas, Layers::new(PREFIX).env())
}

fn layered_with(
    configs: &Configs,
    metas: &[ModuleMetadata],
    layers: Layers,
) -> Result<(BTreeMap<String, Value>, Unused), LayerErrors> {
    // The file sits under the environment: the layers go in order of the calls, and the
    // environment layer is always read last.
    let layers = match &configs.path {
        Some(path) => layers.file(path),
        None => layers,
    };
    let resolved = layers.resolve(metas)?;
    let unused = Unused {
        unmatched: resolved.unmatched_variables.clone(),
        ignored: resolved.ignored_variables.clone(),
    };
    Ok((resolved.configs, unused))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn layers(vars: &[(&str, &str)]) -> Layers {
        Layers::new(PREFIX).env_vars(vars.iter().copied())
    }

    #[test]
    fn the_file_and_the_environment_merge_deeply_and_values_follow_the_schema() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("app.toml");
        std::fs::write(
            &path,
            "[web]\nport = 80\ntls = true\n[web.pool]\nidle = 5\n",
        )
        .expect("written");
        let configs = read_file(Some(&path)).expect("valid");
        let web = ModuleMetadata::new("web").config_schema(json!({
            "type": "object",
            "properties": { "port": { "type": "integer" }, "host": { "type": "string" } }
        }));
        let (merged, unused) = layered_with(
            &configs,
            &[web, ModuleMetadata::new("config-service")],
            layers(&[
                ("SYMPHRA__WEB__PORT", "8080"),
                ("SYMPHRA__WEB__HOST", "1234"),
                ("SYMPHRA__WEB__POOL__SIZE", "4"),
                ("SYMPHRA__CONFIG_SERVICE__X", "1"),
                ("SYMPHRA__NOBODY__X", "1"),
                ("SYMPHRA__WEB", "no key"),
            ]),
        )
        .expect("valid");
        assert_eq!(
            merged["web"],
            json!({"port": 8080, "host": "1234", "tls": true, "pool": {"idle": 5, "size": 4}})
        );
        assert_eq!(merged["config-service"], json!({"x": 1}));
        assert_eq!(unused.unmatched, ["SYMPHRA__NOBODY__X"]);
        assert_eq!(unused.ignored, ["SYMPHRA__WEB"]);
    }

    #[test]
    fn an_override_that_could_name_two_modules_is_reported_naming_both() {
        let errors = layered_with(
            &Configs::default(),
            &[ModuleMetadata::new("my-mod"), ModuleMetadata::new("my_mod")],
            layers(&[("SYMPHRA__MY_MOD__PORT", "1")]),
        )
        .expect_err("ambiguous");
        let text = errors.to_string();
        assert!(
            text.contains("SYMPHRA__MY_MOD__PORT")
                && text.contains("\"my-mod\"")
                && text.contains("\"my_mod\""),
            "{text}"
        );
    }
}
