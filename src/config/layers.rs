//! Layered configuration, shared by applications and the `symphra` command: each module's
//! defaults, under files (TOML or JSON, one table per module), under the environment
//! (`PREFIX__MODULE__KEY`), merged deeply by `figment`, which also remembers which layer
//! gave each key so that every error can name it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use figment::providers::{Format, Json, Toml};
use figment::value::{Dict, Map, Value as FigmentValue};
use figment::{Figment, Metadata, Profile, Provider};
use serde_json::Value;

use crate::config::env::{self, Target};
use crate::config::{LayerError, LayerErrors};
use crate::module::ModuleMetadata;

/// The largest configuration file read, in bytes.
pub const MAX_CONFIG_FILE_LEN: u64 = 16 * 1024 * 1024;

/// Where configuration comes from, lowest first: each module's default (its metadata's
/// [`default_config`](ModuleMetadata::default_config)), then files in the order given,
/// then the environment. A later layer's value wins key by key, tables merging deeply.
///
/// ```
/// use serde_json::json;
/// use symphra::config::Layers;
/// use symphra::ModuleMetadata;
///
/// let db = ModuleMetadata::new("db")
///     .config_schema(json!({
///         "type": "object",
///         "properties": {
///             "url": { "type": "string" },
///             "pool": { "type": "object", "properties": { "size": { "type": "integer" } } }
///         }
///     }))
///     .default_config(json!({ "url": "sqlite::memory:", "pool": { "size": 4, "idle": 30 } }));
/// let layers = Layers::new("APP")
///     .toml("[db.pool]\nidle = 60\n")
///     .env_vars([("APP__DB__POOL__SIZE", "8")]);
/// let resolved = layers.resolve([&db])?;
/// assert_eq!(
///     resolved.configs["db"],
///     json!({ "url": "sqlite::memory:", "pool": { "size": 8, "idle": 60 } })
/// );
/// # Ok::<(), symphra::config::LayerErrors>(())
/// ```
#[derive(Clone, Debug)]
pub struct Layers {
    prefix: String,
    files: Vec<Source>,
    env: Option<Vec<(String, String)>>,
}

#[derive(Clone, Debug)]
enum Source {
    File { path: PathBuf, required: bool },
    Toml(String),
    Json(String),
}

/// Every module's configuration, as the layers gave it.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Resolved {
    /// Module name to configuration, for every module some layer configured.
    pub configs: BTreeMap<String, Value>,
    /// `PREFIX__MODULE__…` variables whose MODULE is none of the modules.
    pub unmatched_variables: Vec<String>,
    /// Variables with the prefix but no key (`PREFIX__MODULE`), or too many segments.
    pub ignored_variables: Vec<String>,
}

impl Layers {
    /// Layers whose environment variables start with `prefix__` (`"APP"` reads
    /// `APP__DB__URL`). No file and no environment yet.
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
            files: Vec::new(),
            env: None,
        }
    }

    /// Adds a file that must exist, TOML unless its name ends in `.json`; one table per
    /// module.
    pub fn file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(Source::File {
            path: path.into(),
            required: true,
        });
        self
    }

    /// Adds a file that is skipped when it does not exist.
    pub fn optional_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.files.push(Source::File {
            path: path.into(),
            required: false,
        });
        self
    }

    /// Adds TOML text as a file layer (for tests and embedded defaults).
    pub fn toml(mut self, text: impl Into<String>) -> Self {
        self.files.push(Source::Toml(text.into()));
        self
    }

    /// Adds JSON text as a file layer.
    pub fn json(mut self, text: impl Into<String>) -> Self {
        self.files.push(Source::Json(text.into()));
        self
    }

    /// Reads the environment layer from the process's environment (variables whose name
    /// or value is not UTF-8 are left out), now.
    pub fn env(self) -> Self {
        let vars = std::env::vars_os()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)))
            .collect();
        Self {
            env: Some(vars),
            ..self
        }
    }

    /// Uses `vars` as the environment layer.
    pub fn env_vars<K: Into<String>, V: Into<String>>(
        self,
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let vars = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        Self {
            env: Some(vars),
            ..self
        }
    }

    /// Every module's configuration: the layers merged, each module's checked against its
    /// schema. Every problem is reported, each naming its layer and key.
    pub fn resolve<'a>(
        &self,
        modules: impl IntoIterator<Item = &'a ModuleMetadata>,
    ) -> Result<Resolved, LayerErrors> {
        let modules: Vec<&ModuleMetadata> = modules.into_iter().collect();
        let mut errors = Vec::new();
        let mut figment = Figment::new();
        for module in &modules {
            if let Some(default) = module.get_default_config() {
                let layer = format!("the defaults of module {:?}", module.name());
                match nested(&[module.name()], default) {
                    Ok(data) => figment = figment.merge(Layer::new(layer, data)),
                    Err(message) => errors.push(LayerError::File { layer, message }),
                }
            }
        }
        for source in &self.files {
            // Parsed one by one, so that a syntax error names its file.
            let (layer, parsed) = match source {
                Source::File { path, required } => match checked_file(path, *required) {
                    Ok(true) if is_json(path) => (
                        format!("JSON file {}", path.display()),
                        Json::file_exact(path).data(),
                    ),
                    Ok(true) => (
                        format!("TOML file {}", path.display()),
                        Toml::file_exact(path).data(),
                    ),
                    Ok(false) => continue,
                    Err(error) => {
                        errors.push(error);
                        continue;
                    }
                },
                Source::Toml(text) => ("TOML text".to_owned(), Toml::string(text).data()),
                Source::Json(text) => ("JSON text".to_owned(), Json::string(text).data()),
            };
            match parsed {
                Ok(mut profiles) => {
                    let data = profiles.remove(&Profile::Default).unwrap_or_default();
                    figment = figment.merge(Layer::new(layer, data));
                }
                Err(error) => errors.push(LayerError::File {
                    layer,
                    message: first_line(&error.kind.to_string()),
                }),
            }
        }
        let schemas: Vec<Option<Value>> = modules
            .iter()
            .map(|m| m.get_config_schema().map(|s| s.as_value().clone()))
            .collect();
        let targets: Vec<Target<'_>> = modules
            .iter()
            .zip(&schemas)
            .map(|(m, schema)| Target {
                name: m.name(),
                schema: schema.as_ref(),
            })
            .collect();
        let environment = env::read(
            &self.prefix,
            self.env.as_deref().unwrap_or_default(),
            &targets,
            &mut errors,
        );
        for setting in &environment.settings {
            let mut path: Vec<&str> = vec![&setting.module];
            path.extend(setting.path.iter().map(String::as_str));
            let layer = format!("environment variable {}", setting.variable);
            match nested(&path, &setting.value) {
                Ok(data) => figment = figment.merge(Layer::new(layer, data)),
                Err(message) => errors.push(LayerError::File { layer, message }),
            }
        }
        // Reading every layer once reports a file that does not parse.
        if let Err(error) = figment.data() {
            errors.extend(error.into_iter().map(|e| from_figment(&e)));
            return Err(LayerErrors(errors));
        }
        let mut configs = BTreeMap::new();
        for (module, schema) in modules.iter().zip(&schemas) {
            let name = module.name();
            let value = match figment.find_value(name) {
                Ok(value) => value,
                Err(_) => continue, // no layer configures this module
            };
            let value: Value = match value.deserialize() {
                Ok(value) => value,
                Err(error) => {
                    errors.push(from_figment(&error));
                    continue;
                }
            };
            if !value.is_object() {
                errors.push(LayerError::Invalid {
                    module: name.to_owned(),
                    key: String::new(),
                    layer: layer_of(&figment, name),
                    rule: "the configuration of a module must be a table".to_owned(),
                });
                continue;
            }
            if let (Some(_), Some(compiled)) = (schema, module.get_config_schema())
                && let Err(violations) = compiled.check(&value)
            {
                for violation in violations {
                    let key = violation.field.trim_start_matches('/').replace('/', ".");
                    let full = if key.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{name}.{key}")
                    };
                    errors.push(LayerError::Invalid {
                        module: name.to_owned(),
                        key,
                        layer: layer_of(&figment, &full),
                        rule: violation.rule,
                    });
                }
                continue;
            }
            configs.insert(name.to_owned(), value);
        }
        if !errors.is_empty() {
            return Err(LayerErrors(errors));
        }
        Ok(Resolved {
            configs,
            unmatched_variables: environment.unmatched,
            ignored_variables: environment.ignored,
        })
    }
}

/// The first line of a parser's message, at most 200 characters: the rest quotes the file.
fn first_line(message: &str) -> String {
    message
        .lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(200)
        .collect()
}

fn is_json(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
}

/// Whether `path` is there to read (within the size limit); an error names it.
fn checked_file(path: &Path, required: bool) -> Result<bool, LayerError> {
    let layer = format!("file {}", path.display());
    match std::fs::metadata(path) {
        Ok(meta) if meta.len() > MAX_CONFIG_FILE_LEN => Err(LayerError::File {
            layer,
            message: format!("it is larger than {MAX_CONFIG_FILE_LEN} bytes"),
        }),
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound && !required => Ok(false),
        Err(error) => Err(LayerError::File {
            layer,
            message: format!("cannot be read: {error}"),
        }),
    }
}

/// The layer that gave `key` (dotted), in words.
fn layer_of(figment: &Figment, key: &str) -> String {
    // A key a schema wants but no layer gave has no layer; name its table's.
    let mut key = key;
    loop {
        if let Some(metadata) = figment.find_metadata(key) {
            return describe(metadata);
        }
        match key.rsplit_once('.') {
            Some((parent, _)) => key = parent,
            None => return "no layer (the key is missing)".to_owned(),
        }
    }
}

fn describe(metadata: &Metadata) -> String {
    match &metadata.source {
        Some(source) => format!("{} {source}", metadata.name),
        None => metadata.name.to_string(),
    }
}

fn from_figment(error: &figment::Error) -> LayerError {
    LayerError::Figment {
        layer: error
            .metadata
            .as_ref()
            .map_or_else(|| "an unknown layer".to_owned(), describe),
        key: error.path.join("."),
        message: error.kind.to_string(),
    }
}

/// `value` under the keys `path`, as figment data.
fn nested(path: &[&str], value: &Value) -> Result<Dict, String> {
    let mut value = FigmentValue::serialize(value).map_err(|e| e.to_string())?;
    for key in path.iter().skip(1).rev() {
        let mut dict = Dict::new();
        dict.insert((*key).to_owned(), value);
        value = FigmentValue::from(dict);
    }
    let mut top = Dict::new();
    top.insert(path.first().copied().unwrap_or_default().to_owned(), value);
    Ok(top)
}

/// One layer of data with a name, so that figment can say where a key came from.
struct Layer {
    name: String,
    data: Dict,
}

impl Layer {
    fn new(name: String, data: Dict) -> Self {
        Self { name, data }
    }
}

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.name.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Map::from([(Profile::Default, self.data.clone())]))
    }
}
