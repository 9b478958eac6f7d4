//! What a module says about itself: name, version, dependencies, configuration schema.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use semver::Version;
use serde_json::Value;

use crate::config::ConfigSchema;
use crate::health::HealthCheck;
use crate::module::{Dependency, MetadataError, validate_name};
use crate::supervision::RestartPolicy;

/// A module's description of itself, built with a fluent builder.
///
/// Mistakes (an invalid name, version or dependency) do not panic and are not lost: they are
/// recorded and reported all at once when the module is registered with a manager, or by
/// [`ModuleMetadata::validate`].
///
/// ```
/// use symphra::module::ModuleMetadata;
///
/// let meta = ModuleMetadata::new("users")
///     .version("2.1.0")
///     .description("User accounts")
///     .depends_on("database >=1.0, <2")
///     .optionally_depends_on("cache")
///     .config_schema(serde_json::json!({
///         "type": "object",
///         "properties": { "page_size": { "type": "integer", "minimum": 1 } }
///     }));
/// assert!(meta.validate().is_ok());
/// assert_eq!(meta.dependencies().len(), 2);
/// assert_eq!(meta.get_version().to_string(), "2.1.0");
/// ```
#[derive(Clone)]
pub struct ModuleMetadata {
    dependencies: Vec<Dependency>,
    /// Modules this one stops before (and starts after), without depending on them; empty,
    /// and so unallocated, for almost every module.
    stops_before: Vec<String>,
    problems: Vec<MetadataError>,
    version: Version,
    name: String,
    description: Option<String>,
    config_schema: Option<ConfigSchema>,
    default_config: Option<Value>,
    /// Boxed: most modules keep the default (never restarted) and the metadata stays small.
    restart: Option<Box<RestartPolicy>>,
    /// Boxed for the same reason: most modules declare no readiness signal, health check
    /// or watchdog.
    watch: Option<Box<WatchSettings>>,
    /// Where the module comes from (its Rust type, or its folder), for messages that must
    /// tell two registrations apart.
    origin: Option<Cow<'static, str>>,
    /// Whether the module runs on one replica of a fleet at a time.
    singleton: bool,
}

/// What a module declared about readiness, health and its watchdog.
#[derive(Clone, Debug, Default)]
struct WatchSettings {
    signals_readiness: bool,
    health_check: Option<HealthCheck>,
    watchdog: Option<Duration>,
}

impl ModuleMetadata {
    /// Starts the metadata of a module called `name`, at version `0.1.0`.
    ///
    /// A name is lowercase letters, digits, `_` and `-` (see [`validate_name`]).
    pub fn new(name: impl Into<String>) -> Self {
        let name = name.into();
        let problems = validate_name(&name).err().into_iter().collect();
        Self {
            name,
            version: Version::new(0, 1, 0),
            description: None,
            dependencies: Vec::new(),
            stops_before: Vec::new(),
            config_schema: None,
            default_config: None,
            restart: None,
            watch: None,
            origin: None,
            singleton: false,
            problems,
        }
    }

    /// Sets the semantic version, written `MAJOR.MINOR.PATCH` (for example `"1.4.0"`).
    pub fn version(mut self, version: &str) -> Self {
        match Version::parse(version.trim()) {
            Ok(parsed) => self.version = parsed,
            Err(error) => self.problems.push(MetadataError::InvalidVersion {
                module: self.name.clone(),
                version: version.to_owned(),
                message: error.to_string(),
            }),
        }
        self
    }

    /// Says where the module comes from: its folder, a plugin's file, or (what the manager
    /// sets when nothing else was) its Rust type's name. Messages that must tell two
    /// registrations apart, such as a duplicate name, quote it.
    pub fn origin(mut self, origin: impl Into<Cow<'static, str>>) -> Self {
        self.origin = Some(origin.into());
        self
    }

    /// Where the module comes from, if said; see [`origin`](Self::origin).
    pub fn get_origin(&self) -> Option<&str> {
        self.origin.as_deref()
    }

    /// Sets a one-line description for listings.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Declares a required dependency, written as a name with an optional semver
    /// requirement: `"database"`, `"database >=1.0, <2"`, `"cache ^0.3"`.
    ///
    /// The dependency starts before this module and stops after it; this module cannot
    /// start without it.
    pub fn depends_on(self, spec: &str) -> Self {
        self.dependency(spec, false)
    }

    /// Declares an optional dependency, written like [`depends_on`](Self::depends_on).
    ///
    /// When present it starts first; when absent, or when it fails, this module starts
    /// anyway.
    pub fn optionally_depends_on(self, spec: &str) -> Self {
        self.dependency(spec, true)
    }

    /// Declares that this module stops before the module called `name`, and so starts after
    /// it, without depending on it: systemd's `Before=`/`After=` without `Requires=`.
    ///
    /// For modules coupled only through the event bus. If `api` publishes `user.created` and
    /// `worker` consumes it, `api.stops_before("worker")` keeps the worker running (and
    /// draining its queue) until the api, which publishes, has stopped; and starts the worker
    /// first, so nothing the api publishes at start is missed.
    ///
    /// Unlike [`depends_on`](Self::depends_on) this grants no access: `ctx.get` still refuses
    /// `name`. `name` need not be registered: the ordering applies only when both modules are
    /// present, and starting or stopping one alone does not pull in the other. A failure of
    /// either does not skip the other. Orderings that close a circle (with each other or with
    /// dependencies) are reported by the resolver like dependency cycles.
    ///
    /// ```
    /// use symphra::module::ModuleMetadata;
    /// use symphra::resolver::resolve;
    ///
    /// let modules = [
    ///     ModuleMetadata::new("api").stops_before("worker"),
    ///     ModuleMetadata::new("worker"),
    ///     // Absent: ignored, not an error.
    ///     ModuleMetadata::new("mailer").stops_before("sms"),
    /// ];
    /// let resolution = resolve(&modules)?;
    /// assert_eq!(resolution.order().collect::<Vec<_>>(), ["worker", "mailer", "api"]);
    /// // Stopping goes in reverse: the api first, the worker last.
    /// assert_eq!(resolution.order().rev().next(), Some("api"));
    /// # Ok::<(), symphra::resolver::ResolveError>(())
    /// ```
    pub fn stops_before(mut self, name: &str) -> Self {
        let name = name.trim();
        // A name that cannot be a module's would be silently ignored as absent: report it.
        match validate_name(name) {
            Ok(()) => self.stops_before.push(name.to_owned()),
            Err(error) => self.problems.push(error),
        }
        self
    }

    fn dependency(mut self, spec: &str, optional: bool) -> Self {
        match Dependency::parse(spec, optional) {
            Ok(dependency) => self.dependencies.push(dependency),
            Err(reason) => self.problems.push(MetadataError::InvalidDependency {
                module: self.name.clone(),
                spec: spec.to_owned(),
                reason,
            }),
        }
        self
    }

    /// Sets the JSON Schema that the module's configuration must satisfy before `install`
    /// runs.
    pub fn config_schema(mut self, schema: Value) -> Self {
        match ConfigSchema::compile(schema) {
            Ok(schema) => self.config_schema = Some(schema),
            Err(reason) => self.problems.push(MetadataError::InvalidConfigSchema {
                module: self.name.clone(),
                reason,
            }),
        }
        self
    }

    /// Declares the module's configuration type: its JSON Schema is generated from `T`
    /// (with `schemars`), so that the struct is written once, and the configuration is
    /// checked against it before `install`. Read it in a hook with
    /// [`Context::config_as`](crate::Context::config_as).
    ///
    /// ```
    /// use symphra::prelude::*;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Pool {
    ///     url: String,
    ///     #[serde(default)]
    ///     size: u32,
    /// }
    ///
    /// let meta = ModuleMetadata::new("db").config_type::<Pool>();
    /// let schema = meta.get_config_schema().expect("generated");
    /// assert!(schema.check(&serde_json::json!({ "url": "x", "size": 2 })).is_ok());
    /// assert!(schema.check(&serde_json::json!({ "size": "big" })).is_err());
    /// ```
    #[cfg(feature = "json-schema")]
    pub fn config_type<T: schemars::JsonSchema>(self) -> Self {
        let schema = schemars::schema_for!(T);
        self.config_schema(schema.to_value())
    }

    /// Sets the configuration used when the application gives none for this module.
    pub fn default_config(mut self, config: Value) -> Self {
        self.default_config = Some(config);
        self
    }

    /// Sets how the module is restarted when it fails while running (see
    /// [`supervision`](crate::supervision)). Without a policy it is never restarted: it
    /// stays stopped, with [`stopped_because`](crate::manager::ModuleHandle::stopped_because)
    /// saying why, until an operator starts it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphra::module::ModuleMetadata;
    /// use symphra::supervision::{Restart, RestartPolicy};
    ///
    /// let meta = ModuleMetadata::new("db").restart(
    ///     RestartPolicy::new(Restart::OnFailure)
    ///         .intensity(3, Duration::from_secs(60))
    ///         .backoff(Duration::from_millis(100), Duration::from_secs(5)),
    /// );
    /// assert_eq!(meta.get_restart().map(|p| p.restart()), Some(Restart::OnFailure));
    /// assert!(ModuleMetadata::new("cache").get_restart().is_none());
    /// ```
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = Some(Box::new(policy));
        self
    }

    /// Declares that the module signals readiness itself (systemd's `Type=notify`): it is
    /// [ready](crate::health) only once it calls [`Context::ready`](crate::Context::ready),
    /// not as soon as its `start` returns.
    pub fn signals_readiness(mut self) -> Self {
        self.watch_settings().signals_readiness = true;
        self
    }

    /// Gives the module a health check on this schedule: the manager then runs its
    /// [`health`](crate::Module::health) hook while it is started (see [`crate::health`]).
    /// An interval or timeout under 1 ms is reported as a problem.
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphra::health::HealthCheck;
    /// use symphra::module::ModuleMetadata;
    ///
    /// let meta = ModuleMetadata::new("db")
    ///     .health_check(HealthCheck::every(Duration::from_secs(10)))
    ///     .watchdog(Duration::from_secs(30));
    /// assert_eq!(meta.get_watchdog(), Some(Duration::from_secs(30)));
    /// assert!(ModuleMetadata::new("db").health_check(HealthCheck::every(Duration::ZERO)).validate().is_err());
    /// ```
    pub fn health_check(mut self, check: HealthCheck) -> Self {
        if let Some(reason) = check.problem() {
            self.problems.push(MetadataError::InvalidWatch {
                module: self.name.clone(),
                reason,
            });
        }
        self.watch_settings().health_check = Some(check);
        self
    }

    /// Gives the module a watchdog: it must call [`Context::heartbeat`](crate::Context::heartbeat)
    /// at least once per `period` while it is started, or it fails while running and its
    /// restart policy applies (systemd's `WatchdogSec=`). The period counts from the end of
    /// `start`. A period under 1 ms is reported as a problem.
    pub fn watchdog(mut self, period: Duration) -> Self {
        if period < crate::health::MIN_PERIOD {
            self.problems.push(MetadataError::InvalidWatch {
                module: self.name.clone(),
                reason: "the watchdog period is shorter than 1 ms",
            });
        }
        self.watch_settings().watchdog = Some(period);
        self
    }

    /// Declares the module a singleton: where several replicas of the application run
    /// under a coordinator (`symphra-fleet`), it runs on one of them at a time, the one
    /// holding its lease ([`Context::lease`](crate::Context::lease)), and the modules that
    /// require it run there too. Without a coordinator it runs like any module.
    pub fn singleton(mut self) -> Self {
        self.singleton = true;
        self
    }

    /// Whether the module is a [singleton](Self::singleton).
    pub fn is_singleton(&self) -> bool {
        self.singleton
    }

    fn watch_settings(&mut self) -> &mut WatchSettings {
        self.watch.get_or_insert_with(Box::default)
    }

    /// Whether the module [signals readiness](Self::signals_readiness) itself.
    pub fn get_signals_readiness(&self) -> bool {
        self.watch
            .as_ref()
            .is_some_and(|watch| watch.signals_readiness)
    }

    /// The health check's schedule, if one was set.
    pub fn get_health_check(&self) -> Option<&HealthCheck> {
        self.watch
            .as_ref()
            .and_then(|watch| watch.health_check.as_ref())
    }

    /// The watchdog period, if one was set.
    pub fn get_watchdog(&self) -> Option<Duration> {
        self.watch.as_ref().and_then(|watch| watch.watchdog)
    }

    /// The restart policy, if one was set; `None` means [`Restart::Never`](crate::supervision::Restart::Never).
    pub fn get_restart(&self) -> Option<&RestartPolicy> {
        self.restart.as_deref()
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The module's version (`0.1.0` unless set). Getters of what a builder method sets
    /// are named after it with `get_`, as in `std::process::Command`.
    pub fn get_version(&self) -> &Version {
        &self.version
    }

    /// The description, if one was set.
    pub fn get_description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// Required and optional dependencies, in declaration order.
    pub fn dependencies(&self) -> &[Dependency] {
        &self.dependencies
    }

    /// The modules this one [stops before](Self::stops_before), in declaration order.
    pub fn stops_before_names(&self) -> &[String] {
        &self.stops_before
    }

    /// The compiled configuration schema, if one was set.
    pub fn get_config_schema(&self) -> Option<&ConfigSchema> {
        self.config_schema.as_ref()
    }

    /// The default configuration, if one was set.
    pub fn get_default_config(&self) -> Option<&Value> {
        self.default_config.as_ref()
    }

    /// Every mistake recorded while building this metadata.
    pub fn problems(&self) -> &[MetadataError] {
        &self.problems
    }

    /// Returns the first recorded mistake, if any.
    pub fn validate(&self) -> Result<(), MetadataError> {
        match self.problems.first() {
            Some(problem) => Err(problem.clone()),
            None => Ok(()),
        }
    }
}

impl fmt::Debug for ModuleMetadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleMetadata")
            .field("name", &self.name)
            .field("version", &self.version.to_string())
            .field("description", &self.description)
            .field("dependencies", &self.dependencies)
            .field("stops_before", &self.stops_before)
            .field("has_config_schema", &self.config_schema.is_some())
            .field("restart", &self.restart)
            .field("watch", &self.watch)
            .field("problems", &self.problems)
            .field("origin", &self.origin)
            .field("singleton", &self.singleton)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_to_version_0_1_0_without_dependencies() {
        let meta = ModuleMetadata::new("cache");
        assert_eq!(meta.get_version(), &Version::new(0, 1, 0));
        assert!(meta.dependencies().is_empty());
        assert!(meta.validate().is_ok());
    }

    #[test]
    fn records_every_mistake_instead_of_panicking() {
        let meta = ModuleMetadata::new("Bad Name")
            .version("1.0")
            .depends_on("database >=one")
            .depends_on("")
            .config_schema(serde_json::json!({"type": 12}));
        let kinds: Vec<String> = meta.problems().iter().map(|p| p.to_string()).collect();
        assert_eq!(kinds.len(), 5, "{kinds:#?}");
        assert!(kinds[0].contains("\"Bad Name\""));
        assert!(kinds[1].contains("\"1.0\"") && kinds[1].contains("MAJOR.MINOR.PATCH"));
        assert!(kinds[2].contains(">=one"));
        assert!(kinds[3].contains("empty"));
        assert!(kinds[4].contains("schema"));
        assert!(meta.validate().is_err());
    }

    #[test]
    fn records_orderings_and_reports_an_invalid_name() {
        let meta = ModuleMetadata::new("api")
            .stops_before(" worker ")
            .stops_before("audit");
        assert_eq!(meta.stops_before_names(), ["worker", "audit"]);
        assert!(
            meta.dependencies().is_empty(),
            "an ordering is not a dependency"
        );
        assert!(meta.validate().is_ok());
        assert!(format!("{meta:?}").contains("worker"));

        let bad = ModuleMetadata::new("api").stops_before("Worker");
        assert!(bad.stops_before_names().is_empty());
        assert!(matches!(
            bad.problems(),
            [MetadataError::InvalidName { name, .. }] if name == "Worker"
        ));
    }
}
