//! `module.toml`: what a module folder declares about itself and what it is granted.

mod capabilities;
mod error;
mod health;
mod limits;
mod position;
mod raw_capabilities;
mod restart;
mod size;

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;
use symphra::ModuleMetadata;
use symphra::supervision::RestartPolicy;
use symphra::util::parse_duration;
use toml::Spanned;

use self::position::{key_at, line_column};
use self::raw_capabilities::{RawCapabilities, capabilities};
use self::restart::RawRestart;
pub use self::restart::describe_restart;

pub use self::capabilities::{
    Capabilities, DATA_GUEST_PATH, DEFAULT_HOOK_TIMEOUT, DEFAULT_INBOX_BYTES, DEFAULT_INBOX_EVENTS,
    DEFAULT_MEMORY_LIMIT, DirGrant, InboxPolicy, MAX_INBOX_BYTES, MAX_INBOX_EVENTS,
    RESERVED_TOPIC_ROOTS, is_reserved_topic,
};
pub use self::error::{ManifestError, ManifestErrorKind};
use self::health::RawHealth;
pub use self::health::{HealthSettings, MAX_HEALTH_PERIOD, MIN_HEALTH_PERIOD, Readiness};
pub(crate) use self::limits::quote;
pub use self::limits::{
    MAX_DESCRIPTION_BYTES, MAX_ENV_NAME_BYTES, MAX_HOOK_TIMEOUT, MAX_LIST_ENTRIES,
    MAX_MANIFEST_BYTES, MAX_PATH_BYTES,
};
use self::limits::{check_inside, check_list, check_text};

/// The file name of a manifest inside a module folder.
pub const MANIFEST_FILE: &str = "module.toml";

/// The component file used when the manifest names none.
pub const DEFAULT_COMPONENT: &str = "module.wasm";

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
    /// Readiness, health check and watchdog (the `[health]` table).
    pub health: HealthSettings,
    /// `singleton = true`: the module runs on one replica of a fleet at a time
    /// ([`ModuleMetadata::singleton`]).
    pub singleton: bool,
    /// The manifest file it was read from.
    pub path: PathBuf,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    name: Spanned<String>,
    version: Spanned<String>,
    description: Option<Spanned<String>>,
    component: Option<Spanned<String>>,
    #[serde(default)]
    dependencies: BTreeMap<String, Spanned<String>>,
    #[serde(default, rename = "optional-dependencies")]
    optional_dependencies: BTreeMap<String, Spanned<String>>,
    config: Option<RawConfig>,
    #[serde(default)]
    capabilities: Option<RawCapabilities>,
    restart: Option<Spanned<RawRestart>>,
    health: Option<RawHealth>,
    #[serde(default)]
    singleton: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    schema: Option<Spanned<toml::Value>>,
    default: Option<toml::Value>,
}

/// A problem at a place in the text: its span, field, kind and message.
pub(super) type Located = (Range<usize>, String, ManifestErrorKind, String);

/// Puts a span and a field on a kind and message.
pub(super) fn at<T>(
    result: Result<T, (ManifestErrorKind, String)>,
    span: Range<usize>,
    field: &str,
) -> Result<T, Located> {
    result.map_err(|(kind, message)| (span, field.to_owned(), kind, message))
}

/// A toml error message, kept short and with control characters escaped: toml quotes the
/// offending value, which may be long or hold anything.
pub(crate) fn sanitize(message: &str) -> String {
    const MAX_CHARS: usize = 240;
    let short: String = message.trim().chars().take(MAX_CHARS).collect();
    let mut out: String = short
        .chars()
        .flat_map(|c| {
            if c == '\n' || !c.is_control() {
                vec![c]
            } else {
                c.escape_debug().collect()
            }
        })
        .collect();
    if message.trim().chars().count() > MAX_CHARS {
        out.push('…');
    }
    out
}

impl Manifest {
    /// Reads and checks `dir/module.toml`.
    pub fn from_dir(dir: &Path) -> Result<Self, ManifestError> {
        Self::from_file(&dir.join(MANIFEST_FILE))
    }

    /// Reads and checks a manifest file (at most [`MAX_MANIFEST_BYTES`]).
    pub fn from_file(path: &Path) -> Result<Self, ManifestError> {
        use std::io::Read as _;
        let unreadable = |error: std::io::Error| {
            ManifestError::new(
                path,
                ManifestErrorKind::Read,
                None,
                format!("cannot read the manifest: {error}"),
            )
        };
        let file = std::fs::File::open(path).map_err(unreadable)?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
        if bytes.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(too_large_file(path));
        }
        let text = String::from_utf8(bytes).map_err(|error| {
            ManifestError::new(
                path,
                ManifestErrorKind::Read,
                None,
                format!(
                    "the manifest is not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                    error.utf8_error().valid_up_to()
                ),
            )
        })?;
        Self::parse(&text, path)
    }

    /// Parses and checks manifest text; `path` names the file in errors.
    pub fn parse(text: &str, path: impl AsRef<Path>) -> Result<Self, ManifestError> {
        let path = path.as_ref();
        if text.len() as u64 > MAX_MANIFEST_BYTES {
            return Err(too_large_file(path));
        }
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
                field: field.map(|f| sanitize(&f)),
                kind: ManifestErrorKind::Syntax,
                message: sanitize(error.message()),
            }
        })?;
        Self::check(raw, path).map_err(|(span, field, kind, message)| {
            let (line, column) = line_column(text, span.start);
            ManifestError {
                path: path.to_owned(),
                line: Some(line),
                column: Some(column),
                field: Some(field),
                kind,
                message,
            }
        })
    }

    /// Checks the values of a manifest that has the right shape.
    fn check(raw: RawManifest, path: &Path) -> Result<Self, Located> {
        let invalid = |span: Range<usize>, field: &str, message: String| {
            (span, field.to_owned(), ManifestErrorKind::Invalid, message)
        };
        let name = raw.name.get_ref();
        at(
            check_text(name, symphra::module::MAX_NAME_LEN),
            raw.name.span(),
            "name",
        )?;
        if let Err(error) = symphra::module::validate_name(name) {
            let message = match error {
                symphra::module::MetadataError::InvalidName { reason, .. } => {
                    format!("{} is not a valid module name: {reason}", quote(name))
                }
                other => sanitize(&other.to_string()),
            };
            return Err(invalid(raw.name.span(), "name", message));
        }
        let version_text = raw.version.get_ref();
        at(check_text(version_text, 256), raw.version.span(), "version")?;
        let version = semver::Version::parse(version_text.trim()).map_err(|error| {
            invalid(
                raw.version.span(),
                "version",
                format!(
                    "{} is not a semantic version ({error}); write MAJOR.MINOR.PATCH, e.g. \"1.0.0\"",
                    quote(version_text)
                ),
            )
        })?;
        if let Some(description) = &raw.description {
            at(
                check_text(description.get_ref(), MAX_DESCRIPTION_BYTES),
                description.span(),
                "description",
            )?;
        }
        let component = match &raw.component {
            None => PathBuf::from(DEFAULT_COMPONENT),
            Some(component) => {
                at(
                    check_inside(component.get_ref()),
                    component.span(),
                    "component",
                )?;
                PathBuf::from(component.get_ref())
            }
        };

        let requirements = |table: &BTreeMap<String, Spanned<String>>, section: &str| {
            let mut out = BTreeMap::new();
            if let Some(first) = table.values().next() {
                let list: Vec<_> = table.keys().collect();
                at(check_list(&list), first.span(), section)?;
            }
            for (name, req) in table {
                let field = format!("{section}.{}", sanitize(name));
                at(
                    check_text(name, symphra::module::MAX_NAME_LEN),
                    req.span(),
                    &field,
                )?;
                if symphra::module::validate_name(name).is_err() {
                    return Err(invalid(
                        req.span(),
                        &field,
                        format!("{} is not a valid module name", quote(name)),
                    ));
                }
                at(check_text(req.get_ref(), 256), req.span(), &field)?;
                let parsed = semver::VersionReq::parse(req.get_ref().trim()).map_err(|error| {
                    invalid(
                        req.span(),
                        &field,
                        format!(
                            "{} is not a version requirement ({error}); write e.g. \">=1.0, <2\" or \"*\"",
                            quote(req.get_ref())
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
                            return Err(invalid(
                                span,
                                "config.schema",
                                format!(
                                    "not a valid JSON Schema: {}",
                                    sanitize(&reason.to_string())
                                ),
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
            Some(raw) => capabilities(raw)?,
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
                            invalid(span, &format!("restart.{field}"), message)
                        })?;
                Some(policy)
            }
        };

        let health = match raw.health {
            None => HealthSettings::default(),
            Some(table) => table.settings()?,
        };

        Ok(Self {
            name: raw.name.into_inner(),
            version,
            description: raw.description.map(Spanned::into_inner),
            component,
            dependencies,
            optional_dependencies,
            config_schema,
            default_config,
            capabilities,
            restart,
            health,
            singleton: raw.singleton,
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
        if self.health.ready == Readiness::Signal {
            meta = meta.signals_readiness();
        }
        if let Some(check) = &self.health.check {
            meta = meta.health_check(check.clone());
        }
        if let Some(period) = self.health.watchdog {
            meta = meta.watchdog(period);
        }
        if self.singleton {
            meta = meta.singleton();
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
/// ([`symphra::util::parse_duration`]), not zero and at most [`MAX_HOOK_TIMEOUT`].
fn hook_timeout(text: &str) -> Result<Duration, (ManifestErrorKind, String)> {
    check_text(text, 64)?;
    let duration = parse_duration(text)
        .map_err(|error| (ManifestErrorKind::Invalid, sanitize(&error.to_string())))?;
    if duration.is_zero() {
        return Err((
            ManifestErrorKind::Invalid,
            format!("{} is zero; a hook needs some time to run", quote(text)),
        ));
    }
    if duration > MAX_HOOK_TIMEOUT {
        return Err((
            ManifestErrorKind::TooLarge,
            format!(
                "{} is over the limit of {MAX_HOOK_TIMEOUT:?}; a guest that computes longer is stuck",
                quote(text)
            ),
        ));
    }
    Ok(duration)
}

/// The error of a manifest file over [`MAX_MANIFEST_BYTES`].
fn too_large_file(path: &Path) -> ManifestError {
    ManifestError::new(
        path,
        ManifestErrorKind::TooLarge,
        None,
        format!(
            "the manifest is larger than {MAX_MANIFEST_BYTES} bytes; a manifest is a short file"
        ),
    )
}

#[cfg(test)]
mod tests;
