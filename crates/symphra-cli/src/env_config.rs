//! Configuration from the environment: `SYMPHRA__<MODULE>__<KEY>=<value>` sets `KEY` in the
//! configuration of `MODULE`, over the `--config` file. Further `__<KEY>` segments reach into
//! nested tables. Names are matched without regard to case, `_` standing for `-` too (an
//! environment variable cannot hold `-` in most shells). The value is read as JSON when it
//! is JSON (`8080`, `true`, `["a"]`), else taken as a string.

use std::collections::BTreeMap;
use std::ffi::OsString;

use serde_json::{Map, Value};

/// What every override's variable name starts with.
pub(crate) const PREFIX: &str = "SYMPHRA__";

/// One key of one module's configuration, set from the environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Override {
    /// The variable, for messages.
    pub variable: String,
    /// The module's name as written in the variable, lowercased.
    module: String,
    /// The key, lowercased; more than one for a nested table.
    path: Vec<String>,
    /// The value.
    value: Value,
}

/// The overrides among `vars` (the process's environment, in `run` and `check`). A variable
/// with the prefix but no key, or not in UTF-8, is reported in `ignored`.
pub(crate) fn overrides(
    vars: impl IntoIterator<Item = (OsString, OsString)>,
) -> (Vec<Override>, Vec<String>) {
    let mut found = Vec::new();
    let mut ignored = Vec::new();
    for (name, value) in vars {
        let Some(name) = name.to_str() else {
            continue;
        };
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let segments: Vec<String> = rest.split("__").map(str::to_ascii_lowercase).collect();
        let (Some(value), true) = (
            value.to_str(),
            segments.len() >= 2 && segments.iter().all(|s| !s.is_empty()),
        ) else {
            ignored.push(name.to_owned());
            continue;
        };
        let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
        found.push(Override {
            variable: name.to_owned(),
            module: segments[0].clone(),
            path: segments[1..].to_vec(),
            value,
        });
    }
    // The environment's order is arbitrary: sort, so that the same input always gives the
    // same result.
    found.sort_by(|a, b| a.variable.cmp(&b.variable));
    (found, ignored)
}

/// How a module name is written in a variable: lowercase, `-` as `_`.
fn normalise(name: &str) -> String {
    name.to_ascii_lowercase().replace('-', "_")
}

/// Lays `overrides` over `configs` (module name to configuration), for the modules in
/// `names`; returns the variables that name no module.
pub(crate) fn apply(
    configs: &mut BTreeMap<String, Value>,
    names: &[&str],
    overrides: &[Override],
) -> Vec<String> {
    let mut unmatched = Vec::new();
    for o in overrides {
        let Some(name) = names.iter().find(|n| normalise(n) == normalise(&o.module)) else {
            unmatched.push(o.variable.clone());
            continue;
        };
        let mut at = configs
            .entry((*name).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        let (last, parents) = o.path.split_last().unwrap_or((&o.module, &[]));
        for key in parents {
            at = table(at)
                .entry(key.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
        table(at).insert(last.clone(), o.value.clone());
    }
    unmatched
}

/// `value` as a table: anything else is replaced by an empty one (an override reaching
/// into a key that held a plain value replaces it).
fn table(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = Value::Object(Map::new());
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(list: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        list.iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect()
    }

    #[test]
    fn values_are_json_or_strings_and_keys_nest() {
        let (found, ignored) = overrides(vars(&[
            ("SYMPHRA__WEB__PORT", "8080"),
            ("SYMPHRA__WEB__HOST", "example.org"),
            ("SYMPHRA__CONFIG_SERVICE__POOL__SIZE", "4"),
            ("SYMPHRA__WEB", "no key"),
            ("PATH", "/bin"),
        ]));
        assert_eq!(ignored, ["SYMPHRA__WEB"]);
        let mut configs = BTreeMap::from([("web".to_owned(), json!({"port": 80, "tls": true}))]);
        let unmatched = apply(&mut configs, &["web", "config-service"], &found);
        assert!(unmatched.is_empty());
        assert_eq!(
            configs["web"],
            json!({"port": 8080, "host": "example.org", "tls": true})
        );
        assert_eq!(configs["config-service"], json!({"pool": {"size": 4}}));
    }

    #[test]
    fn a_variable_naming_no_module_is_returned() {
        let (found, _) = overrides(vars(&[("SYMPHRA__NOBODY__X", "1")]));
        let mut configs = BTreeMap::new();
        assert_eq!(
            apply(&mut configs, &["web"], &found),
            ["SYMPHRA__NOBODY__X"]
        );
        assert!(configs.is_empty());
    }
}
