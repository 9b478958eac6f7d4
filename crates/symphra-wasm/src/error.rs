//! Errors: creating the host, loading a module, running a hook.

use std::path::PathBuf;
use std::time::Duration;

use crate::manifest::ManifestError;

/// The host could not be created.
#[derive(Debug, thiserror::Error)]
pub enum HostError {
    /// wasmtime refused the engine configuration or the host functions.
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
    /// The compile cache folder cannot be created or written.
    #[error(
        "cannot use {path} as the compile cache: {source}; pick a writable folder or disable the cache"
    )]
    Cache {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// A module folder that cannot be loaded. Each variant names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The manifest is missing, unreadable or invalid.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A file cannot be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a valid WebAssembly component (corrupt, truncated, or a core module).
    #[error(
        "{path} is not a valid WebAssembly component: {reason}; rebuild it (a core module must be turned into a component with `wasm-tools component new`)"
    )]
    Compile {
        /// The component file.
        path: PathBuf,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The component was built against an incompatible version of the WIT package.
    #[error(
        "{path}: the component was built for WIT package {found}, but this host implements symphra:module@{host} (see wit/README.md for what is compatible); rebuild the module against wit/ of this Symphra version"
    )]
    WitVersion {
        /// The component file.
        path: PathBuf,
        /// The package and version the component names.
        found: String,
        /// The versions this host implements.
        host: String,
    },
    /// The manifest asks for what only a component of a newer WIT version can do (signal
    /// readiness, beat a watchdog, answer health checks).
    #[error(
        "{path}: the manifest's {feature} needs a component built against symphra:module@0.2.0 (which has {needs}), but this one is built against {found}; rebuild it against wit/0.2 or remove {feature} from module.toml"
    )]
    WitTooOld {
        /// The component file.
        path: PathBuf,
        /// The manifest setting (`[health] ready = "signal"`).
        feature: &'static str,
        /// What of 0.2.0 it needs (`the ready import`).
        needs: &'static str,
        /// The version the component is built against.
        found: &'static str,
    },
    /// The manifest declares what the guest must do through a host function it does not
    /// import (it would never be ready, or always miss its watchdog).
    #[error(
        "{path}: the manifest's {feature} needs the guest to call host.{function}, but the component does not import it; call it (from start, on-event or the health check) or remove {feature} from module.toml"
    )]
    MissingHostImport {
        /// The component file.
        path: PathBuf,
        /// The manifest setting.
        feature: &'static str,
        /// The host function (`ready`, `heartbeat`).
        function: &'static str,
    },
    /// The manifest declares a health check and the component does not export `health`.
    #[error(
        "{path}: the manifest declares a health check ([health] interval), but the component does not export symphra:module/health@0.2.0; export it (world module-with-health of wit/0.2) or remove the interval"
    )]
    NoHealthExport {
        /// The component file.
        path: PathBuf,
    },
    /// The component imports something the host does not provide.
    #[error(
        "{path}: the component imports what this host does not provide: {reason}; a module may import only symphra:module/host and WASI 0.2"
    )]
    Imports {
        /// The component file.
        path: PathBuf,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The component's exports do not match the `symphra:module/module` world.
    #[error(
        "{path}: the component's exports do not match the WIT world symphra:module/module: {reason}; it must export symphra:module/guest with the hooks of wit/module.wit"
    )]
    World {
        /// The component file.
        path: PathBuf,
        /// wasmtime's explanation.
        reason: String,
    },
    /// The manifest asks for more memory than the host allows.
    #[error(
        "{path}: capabilities.memory-limit is {asked} bytes but this host allows at most {max}; lower it or raise HostConfig::max_memory"
    )]
    MemoryLimitTooHigh {
        /// The manifest.
        path: PathBuf,
        /// The limit asked for.
        asked: u64,
        /// The host's maximum.
        max: u64,
    },
    /// The module directory cannot be listed.
    #[error("cannot list the module directory {path}: {source}")]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A filter pattern (of [`LoadOptions`](crate::LoadOptions) or the
    /// [`IGNORE_FILE`](crate::IGNORE_FILE)) is not a valid glob.
    #[error(
        "{origin}: {pattern:?} is not a valid pattern: {source}; write a glob such as `experimental-*`"
    )]
    Pattern {
        /// Where the pattern comes from: `LoadOptions::exclude[0]`, or the ignore file and
        /// line (`modules/.symphraignore:3`).
        origin: String,
        /// The pattern as written.
        pattern: String,
        /// Why it is invalid.
        source: globset::Error,
    },
    /// The host could not be created.
    #[error(transparent)]
    Host(#[from] HostError),
    /// Module folders could not be loaded, and the load was not lenient
    /// ([`LoadOptions::lenient`](crate::LoadOptions::lenient)).
    #[error(
        "{} module folder(s) of {dir} cannot be loaded: {}; fix them, or load leniently (LoadOptions::lenient) to pass them over",
        rejected.len(),
        rejected.iter().map(|r| r.error.to_string()).collect::<Vec<_>>().join("; ")
    )]
    Rejected {
        /// The modules directory.
        dir: PathBuf,
        /// Each folder that was not loaded, and why.
        rejected: Vec<crate::Rejected>,
    },
    /// The manifest asks for what neither its folder nor the operator grants.
    #[error(transparent)]
    Grant(#[from] crate::grants::GrantError),
}

/// A hook of a component module that failed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The guest returned `err(message)`.
    #[error("module `{module}` failed in `{hook}`: {message}{}", memory_note(*memory_refused))]
    Guest {
        /// The module.
        module: String,
        /// The hook.
        hook: &'static str,
        /// The guest's message.
        message: String,
        /// When the guest was refused memory during the call: (asked, limit) in bytes.
        memory_refused: Option<(u64, u64)>,
    },
    /// The hook ran past the manifest's `hook-timeout` and was interrupted.
    #[error(
        "module `{module}`: `{hook}` ran past its time limit of {limit:?} and was interrupted; the instance is dropped (raise capabilities.hook-timeout in module.toml if the work is legitimate)"
    )]
    Timeout {
        /// The module.
        module: String,
        /// The hook.
        hook: &'static str,
        /// The limit.
        limit: Duration,
    },
    /// The guest trapped after being refused memory beyond its limit.
    #[error(
        "module `{module}`: `{hook}` asked for {requested} bytes of memory, over its limit of {limit} bytes, and trapped ({detail}); the instance is dropped (raise capabilities.memory-limit in module.toml if needed)"
    )]
    Memory {
        /// The module.
        module: String,
        /// The hook.
        hook: &'static str,
        /// The limit in bytes.
        limit: u64,
        /// The memory size asked for, in bytes.
        requested: u64,
        /// The trap.
        detail: String,
    },
    /// The guest trapped (a bug in the module, e.g. `unreachable`).
    #[error("module `{module}` trapped in `{hook}`: {detail}; the instance is dropped")]
    Trap {
        /// The module.
        module: String,
        /// The hook.
        hook: &'static str,
        /// The trap.
        detail: String,
    },
    /// No live instance: the module was not bootstrapped, or an earlier trap dropped it.
    #[error(
        "module `{module}` has no live instance for `{hook}` (not bootstrapped, or dropped after a trap); load the module again"
    )]
    NoInstance {
        /// The module.
        module: String,
        /// The hook.
        hook: &'static str,
    },
    /// A WASI grant of the manifest cannot be honoured.
    #[error("module `{module}`: {reason}")]
    Grant {
        /// The module.
        module: String,
        /// What failed.
        reason: String,
    },
    /// The module's data folder cannot be made or used.
    #[error(transparent)]
    DataFolder(#[from] crate::grants::GrantError),
}

fn memory_note(refused: Option<(u64, u64)>) -> String {
    match refused {
        Some((asked, limit)) => {
            format!(" (it was refused memory: asked for {asked} bytes, limit {limit} bytes)")
        }
        None => String::new(),
    }
}
