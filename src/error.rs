//! The errors Symphra returns. Each says what went wrong, to which module, and what to do.

use crate::config::ConfigError;
use crate::lifecycle::{HookFailure, ModuleState, Operation};
use crate::manager::{StartError, StopError};
use crate::resolver::ResolveError;

/// Any error from the manager or a module's context.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No module by that name is registered.
    #[error("no module named {name:?} is registered; check the name, or register the module first")]
    UnknownModule {
        /// The name asked for.
        name: String,
    },
    /// The operation is not legal in the module's current state.
    #[error("cannot {operation} module {module:?} while it is {state}: {hint}")]
    IllegalTransition {
        /// The module.
        module: String,
        /// Its state.
        state: ModuleState,
        /// The operation attempted.
        operation: Operation,
        /// What to do instead.
        hint: &'static str,
    },
    /// A hook failed.
    #[error(transparent)]
    Hook(#[from] HookFailure),
    /// A configuration was rejected.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The configuration layers (files, environment) had problems; each names its layer
    /// and key.
    #[cfg(feature = "layered-config")]
    #[error(transparent)]
    Layers(#[from] crate::config::LayerErrors),
    /// The event bus refused a topic, pattern or event.
    #[error(transparent)]
    Bus(#[from] crate::bus::BusError),
    /// The state store failed.
    #[error(transparent)]
    State(Box<crate::state::StateError>),
    /// An operator disabled or ignored the module.
    #[error("module {module:?} is {availability:?} by an operator; enable it first")]
    Unavailable {
        /// The module.
        module: String,
        /// Why it may not run.
        availability: crate::state::Availability,
    },
    /// The module set has dependency problems.
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// Some modules did not start; the report says which and why.
    #[error(transparent)]
    Start(#[from] Box<StartError>),
    /// Some modules did not stop cleanly; the report says which and why.
    #[error(transparent)]
    Stop(#[from] Box<StopError>),
    /// A module asked its context for a module it did not declare as a dependency.
    #[error(
        "module {module:?} asked for {requested}, which is not one of its declared dependencies; \
         declare it in the module's metadata with .depends_on(..) or .optionally_depends_on(..)"
    )]
    UndeclaredDependency {
        /// The module that asked.
        module: String,
        /// The name or type it asked for.
        requested: String,
    },
    /// A declared optional dependency is not registered.
    #[error(
        "optional dependency {dependency:?} of module {module:?} is not registered; handle its absence: match on this error, or use `Context::try_get`, which returns `None`"
    )]
    DependencyAbsent {
        /// The module that asked.
        module: String,
        /// The dependency.
        dependency: String,
    },
    /// A declared dependency is registered under a different Rust type.
    #[error(
        "module {module:?} declares dependency {dependency:?}, but it is registered as `{actual}` and was asked for as `{requested}`; \
         ask for the registered type, or ask for a trait it is registered as providing (`.provides(..)` and `get_dyn`)"
    )]
    DependencyType {
        /// The module that asked.
        module: String,
        /// The dependency.
        dependency: String,
        /// The type asked for.
        requested: &'static str,
        /// The type registered.
        actual: &'static str,
    },
    /// A module asked for a dependency by type, and none of its declared dependencies is
    /// registered as that type.
    #[error(
        "module {module:?} asked for a dependency of type `{requested}`, but none of its declared dependencies is registered as that type ({declared}); \
         ask for the registered type, or by name for a trait it provides (`get_dyn`)"
    )]
    NoDependencyOfType {
        /// The module that asked.
        module: String,
        /// The type asked for.
        requested: &'static str,
        /// Its declared, registered dependencies and their types, in words.
        declared: String,
    },
    /// A dependency's running state was asked for, and it has none of that type.
    #[error(
        "module {module:?} asked for the running state of {dependency:?} as `{requested}`, but {dependency:?} handed over none of that type; \
         it hands its state over in `start` with `ctx.set_running(..)`, and has none before it starts or after it stops"
    )]
    NotRunningState {
        /// The module that asked.
        module: String,
        /// The dependency.
        dependency: String,
        /// The type asked for.
        requested: &'static str,
    },
    /// `.provides(..)` was called before any module was registered.
    #[error(
        "`.provides(..)` for `{interface}` comes before any module; call it right after `.module(..)`"
    )]
    ProvidesWithoutModule {
        /// The interface.
        interface: &'static str,
    },
    /// `.provides(..)` was given a cast from another type than the module registered last.
    #[error(
        "`.provides(..)` after module {module:?} casts from `{cast_from}`, but the module is a `{registered}`; \
         call it right after registering the module it casts"
    )]
    ProvidesMismatch {
        /// The module registered last.
        module: String,
        /// Its type.
        registered: &'static str,
        /// The type the cast takes.
        cast_from: &'static str,
    },
    /// A module cannot be unloaded while others depend on it.
    #[error("cannot unload module {module:?}: {dependents:?} depend on it; unload them first")]
    HasDependents {
        /// The module.
        module: String,
        /// The modules that depend on it.
        dependents: Vec<String>,
    },
    /// A hook called a lifecycle operation of its own manager, which would wait for itself.
    #[error(
        "module {module:?} called `{operation}` on the manager from inside one of its hooks, which would wait forever; \
         spawn a task for it instead"
    )]
    Reentrant {
        /// The module whose hook made the call.
        module: String,
        /// The operation called.
        operation: &'static str,
    },
}

/// A mistake in a module's metadata, found when it was built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// The name is not a valid module name.
    #[error("{name:?} is not a valid module name: {reason}")]
    InvalidName {
        /// The name given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The version is not a semantic version.
    #[error(
        "module {module:?} has version {version:?}, which is not a semantic version (MAJOR.MINOR.PATCH, for example \"1.4.0\"): {message}"
    )]
    InvalidVersion {
        /// The module.
        module: String,
        /// The version given.
        version: String,
        /// What the parser said.
        message: String,
    },
    /// A dependency could not be parsed.
    #[error(
        "module {module:?} declares dependency {spec:?}, which cannot be read: {reason}; write it as \"name\" or \"name >=1.0, <2\""
    )]
    InvalidDependency {
        /// The module.
        module: String,
        /// The dependency as written.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A health check's schedule or a watchdog period cannot be used.
    #[error("module {module:?}: {reason}; give it at least 1 ms")]
    InvalidWatch {
        /// The module.
        module: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The configuration schema is not a valid JSON Schema.
    #[error("module {module:?} has an invalid configuration schema: {reason}")]
    InvalidConfigSchema {
        /// The module.
        module: String,
        /// What the schema compiler said.
        reason: String,
    },
}

impl From<crate::state::StateError> for Error {
    fn from(error: crate::state::StateError) -> Self {
        Error::State(Box::new(error))
    }
}
