//! `module.toml`: what a module folder declares about itself and what it is granted.

mod position;
mod restart;
mod size;

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use symphra::ModuleMetadata;
use symphra::bus::Pattern;
use symphra::supervision::RestartPolicy;
use symphra::util::parse_duration;
use toml::Spanned;

use self::position::{key_at, line_column};
use self::restart::RawRestart;
pub use self::restart::describe_restart;
use self::size::{ByteSize, parse_bytes};

/// The file name of a manifest inside a module folder.
pub const MANIFEST_FILE: &str = "module.toml";

/// The component file used when the manifest names none.
pub const DEFAULT_COMPONENT: &str = "module.wasm";

/// The hook time limit when the manifest sets none: 10 s.
///
/// Shorter than the manager's ([`symphra::manager::DEFAULT_HOOK_TIMEOUT`], 60 s) on
/// purpose: it bounds how long a guest *runs* (epoch interruption), not how long a hook is
/// waited for. A guest has no network, so its hooks compute rather than wait on a server,
/// and 10 s of running is a stuck guest. It also bounds every `on-event` delivery, which
/// the manager does not time and which the module's other events and hooks wait for. The
/// manager's limit still applies to every hook on top.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The memory limit when the manifest sets none: 64 MiB.
pub const DEFAULT_MEMORY_LIMIT: u64 = 64 * 1024 * 1024;

/// A parsed and checked `module.toml`.
///
/// ```
/// use symphra_wasm::Manifest;
///
/// let manifest = Manifest::parse(
///     r#"
///     name = "echo"
///     version = "1.2.0"
///     description = "Answers pings"
///
///     [dependencies]
///     clock = ">=1, <2"
///
///     [config]
///     default = { greeting = "hi" }
///     schema = { type = "object", properties = { greeting = { type = "string" } } }
///
///     [capabilities]
///     publish = ["echo.>"]
///     subscribe = ["ping.*"]
///     memory-limit = "16 MiB"
///     hook-timeout = "2s"
///     "#,
///     "modules/echo/module.toml",
/// )?;
/// assert_eq!(manifest.name, "echo");
/// assert_eq!(manifest.capabilities.memory_limit, 16 * 1024 * 1024);
/// assert!(manifest.capabilities.may_publish("echo.pong"));
/// assert!(!manifest.capabilities.may_publish("admin.shutdown"));
/// # Ok::<(), symphra_wasm::ManifestError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The module's name (lowercase letters, digits, `_`, `-`).
    pub name: String,
    /// The module's semantic version.
    pub version: semver::Version,
    /// A one-line description.
    pub description: Option<String>,
    /// The component file, relative to the module folder (`module.wasm` unless set).
    pub component: PathBuf,
    /// Required dependencies: name and version requirement (`*` for any).
    pub dependencies: BTreeMap<String, semver::VersionReq>,
    /// Optional dependencies: name and version requirement.
    pub optional_dependencies: BTreeMap<String, semver::VersionReq>,
    /// The JSON Schema the configuration must satisfy.
    pub config_schema: Option<Value>,
    /// The configuration used when the application gives none.
    pub default_config: Option<Value>,
    /// What the module may do.
    pub capabilities: Capabilities,
    /// How the module is restarted after it fails while running (the `[restart]` table);
    /// `None`: never.
    pub restart: Option<RestartPolicy>,
    /// The manifest file it was read from.
    pub path: PathBuf,
}

/// What a module is granted. Everything not listed is denied.
#[derive(Debug, Clone)]
pub struct Capabilities {
    /// Topic patterns the module may publish on.
    pub publish: Vec<Pattern>,
    /// Topic patterns the module may subscribe within.
    pub subscribe: Vec<Pattern>,
    /// Environment variables (names) the module may read through WASI.
    pub env: Vec<String>,
    /// Directories the module may open through WASI.
    pub dirs: Vec<DirGrant>,
    /// Maximum linear memory of the module, in bytes.
    pub memory_limit: u64,
    /// Time limit of every hook call (and every event delivery).
    pub hook_timeout: Duration,
    /// Whether the module's stdout and stderr go to the host's (through WASI).
    pub stdio: bool,
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            publish: Vec::new(),
            subscribe: Vec::new(),
            env: Vec::new(),
            dirs: Vec::new(),
            memory_limit: DEFAULT_MEMORY_LIMIT,
            hook_timeout: DEFAULT_HOOK_TIMEOUT,
            stdio: false,
        }
    }
}

impl Capabilities {
    /// Whether publishing on `topic` is granted.
    pub fn may_publish(&self, topic: &str) -> bool {
        self.publish.iter().any(|granted| granted.matches(topic))
    }

    /// Whether subscribing to `pattern` is granted: every topic it can match must be
    /// matched by one granted pattern ([`Pattern::covers`]). A pattern that does not parse
    /// is not granted.
    pub fn may_subscribe(&self, pattern: &str) -> bool {
        let Ok(asked) = Pattern::parse(pattern) else {
            return false;
        };
        self.subscribe.iter().any(|granted| granted.covers(&asked))
    }
}

/// A directory a module may open through WASI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirGrant {
    /// The directory on the host (relative paths are relative to the module folder).
    pub host: PathBuf,
    /// The path the guest sees.
    pub guest: String,
    /// Whether the guest may create, write and delete files in it.
    pub write: bool,
}

/// A manifest that could not be read or is invalid: the file, where, which field, and why.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ManifestError {
    /// The manifest file.
    pub path: PathBuf,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// The field at fault (`capabilities.memory-limit`), when known.
    pub field: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Spanned<String>,
    version: Spanned<String>,
    description: Option<String>,
    component: Option<String>,
    #[serde(default)]
    dependencies: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Spanned<String>>,
    config: Option<RawConfig>,
    #[serde(default)]
    capabilities: Option<RawCapabilities>,
    restart: Option<Spanned<RawRestart>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    schema: Option<Spanned<toml::Value>>,
    default: Option<toml::Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawCapabilities {
    #[serde(default)]
    publish: Vec<Spanned<String>>,
    #[serde(default)]
    subscribe: Vec<Spanned<String>>,
    #[serde(default)]
    env: Vec<String>,
    #[serde(default)]
    dirs: Vec<RawDir>,
    memory_limit: Option<Spanned<ByteSize>>,
    hook_timeout: Option<Spanned<String>>,
    #[serde(default)]
    stdio: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDir {
    host: String,
    guest: Option<String>,
    #[serde(default)]
    write: bool,
}

impl Manifest {
    /// Reads and checks `dir/module.toml`.
    pub fn from_dir(dir: &Path) -> Result<Self, ManifestError> {
        Self::from_file(&dir.join(MANIFEST_FILE))
    }

    /// Reads and checks a manifest file.
    pub fn from_file(path: &Path) -> Result<Self, ManifestError> {
        let text = std::fs::read_to_string(path).map_err(|error| ManifestError {
            path: path.to_owned(),
            line: None,
            column: None,
            field: None,
            message: format!("cannot read the manifest: {error}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks manifest text; `path` names the file in errors.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        let here = |span: Range<usize>, field: &str, message: String| {
            let (line, column) = line_column(text, span.start);
            ManifestError {
                path: path.to_owned(),
                line: Some(line),
                column: Some(column),
                field: Some(field.to_owned()),
                message,
            }
        };
        let raw: RawManifest = toml::from_str(text).map_err(|error| {
            let (line, column, field) = match error.span() {
                Some(span) => {
                    let (line, column) = line_column(text, span.start);
                    (Some(line), Some(column), key_at(text, span.start))
                }
                None => (None, None, None),
            };
            ManifestError {
                path: path.to_owned(),
                line,
                column,
                field,
                message: error.message().trim().to_owned(),
            }
        })?;

        if let Err(error) = symphra::module::validate_name(raw.name.get_ref()) {
            return Err(here(raw.name.span(), "name", error.to_string()));
        }
        let version = semver::Version::parse(raw.version.get_ref().trim()).map_err(|error| {
            here(
                raw.version.span(),
                "version",
                format!(
                    "{:?} is not a semantic version ({error}); write MAJOR.MINOR.PATCH, e.g. \"1.0.0\"",
                    raw.version.get_ref()
                ),
            )
        })?;

        let requirements = |table: &BTreeMap<String, Spanned<String>>, section: &str| {
            let mut out = BTreeMap::new();
            for (name, req) in table {
                let field = format!("{section}.{name}");
                if let Err(error) = symphra::module::validate_name(name) {
                    return Err(here(req.span(), &field, error.to_string()));
                }
                let parsed = semver::VersionReq::parse(req.get_ref().trim()).map_err(|error| {
                    here(
                        req.span(),
                        &field,
                        format!(
                            "{:?} is not a version requirement ({error}); write e.g. \">=1.0, <2\" or \"*\"",
                            req.get_ref()
                        ),
                    )
                })?;
                out.insert(name.clone(), parsed);
            }
            Ok(out)
        };
        let dependencies = requirements(&raw.dependencies, "dependencies")?;
        let optional_dependencies =
            requirements(&raw.optional_dependencies, "optional-dependencies")?;

        let (config_schema, default_config) = match raw.config {
            None => (None, None),
            Some(config) => {
                let schema = match config.schema {
                    None => None,
                    Some(schema) => {
                        let span = schema.span();
                        let value = toml_to_json(schema.into_inner());
                        if let Err(reason) = symphra::config::ConfigSchema::compile(value.clone()) {
                            return Err(here(
                                span,
                                "config.schema",
                                format!("not a valid JSON Schema: {reason}"),
                            ));
                        }
                        Some(value)
                    }
                };
                (schema, config.default.map(toml_to_json))
            }
        };

        let capabilities = match raw.capabilities {
            None => Capabilities::default(),
            Some(raw) => {
                let patterns = |list: Vec<Spanned<String>>, field: &str| {
                    list.into_iter()
                        .map(|p| {
                            Pattern::parse(p.get_ref()).map_err(|error| {
                                here(p.span(), field, format!("not a topic pattern: {error}"))
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                };
                let defaults = Capabilities::default();
                let memory_limit = match raw.memory_limit {
                    None => defaults.memory_limit,
                    Some(limit) => {
                        let span = limit.span();
                        match limit.into_inner() {
                            ByteSize::Bytes(bytes) => bytes,
                            ByteSize::Text(text) => parse_bytes(&text).map_err(|message| {
                                here(span, "capabilities.memory-limit", message)
                            })?,
                        }
                    }
                };
                let hook_timeout = match raw.hook_timeout {
                    None => defaults.hook_timeout,
                    Some(timeout) => hook_timeout(timeout.get_ref())
                        .map_err(|m| here(timeout.span(), "capabilities.hook-timeout", m))?,
                };
                // Every field named, without `..`: a new capability fails to build here
                // until the manifest sets it.
                Capabilities {
                    publish: patterns(raw.publish, "capabilities.publish")?,
                    subscribe: patterns(raw.subscribe, "capabilities.subscribe")?,
                    env: raw.env,
                    stdio: raw.stdio,
                    dirs: raw
                        .dirs
                        .into_iter()
                        .map(|d| DirGrant {
                            guest: d.guest.unwrap_or_else(|| d.host.clone()),
                            host: PathBuf::from(d.host),
                            write: d.write,
                        })
                        .collect(),
                    memory_limit,
                    hook_timeout,
                }
            }
        };

        let restart = match raw.restart {
            None => None,
            Some(table) => {
                let span = table.span();
                let policy =
                    table
                        .into_inner()
                        .policy(span)
                        .map_err(|(span, field, message)| {
                            here(span, &format!("restart.{field}"), message)
                        })?;
                Some(policy)
            }
        };

        Ok(Self {
            name: raw.name.into_inner(),
            version,
            description: raw.description,
            component: PathBuf::from(raw.component.unwrap_or_else(|| DEFAULT_COMPONENT.into())),
            dependencies,
            optional_dependencies,
            config_schema,
            default_config,
            capabilities,
            restart,
            path: path.to_owned(),
        })
    }

    /// The metadata the module registers with a manager.
    pub fn metadata(&self) -> ModuleMetadata {
        let mut meta = ModuleMetadata::new(self.name.clone()).version(&self.version.to_string());
        // Its folder tells it apart from another module of the same name.
        let folder = self.path.parent().unwrap_or(&self.path);
        meta = meta.origin(folder.display().to_string());
        if let Some(description) = &self.description {
            meta = meta.description(description.clone());
        }
        for (name, req) in &self.dependencies {
            meta = meta.depends_on(&format!("{name} {req}"));
        }
        for (name, req) in &self.optional_dependencies {
            meta = meta.optionally_depends_on(&format!("{name} {req}"));
        }
        if let Some(schema) = &self.config_schema {
            meta = meta.config_schema(schema.clone());
        }
        if let Some(config) = &self.default_config {
            meta = meta.default_config(config.clone());
        }
        if let Some(policy) = &self.restart {
            meta = meta.restart(policy.clone());
        }
        meta
    }
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => {
            Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

/// A hook time limit: a duration in the core's grammar
/// ([`symphra::util::parse_duration`]), and not zero.
fn hook_timeout(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text).map_err(|error| error.to_string())?;
    if duration.is_zero() {
        return Err(format!("{text:?} is zero; a hook needs some time to run"));
    }
    Ok(duration)
}

#[cfg(test)]
mod tests;
