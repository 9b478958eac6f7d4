//! WebAssembly component modules for [Symphra](symphra): a folder per module with a
//! `module.toml` manifest and a component implementing the WIT world
//! `symphra:module/module@0.2.0` or `@0.1.0` (`wit/` at the repository root), run by
//! wasmtime next to native modules.
//!
//! ```no_run
//! use symphra::prelude::*;
//! use symphra_wasm::DirectoryExt;
//!
//! struct Clock;
//! impl Module for Clock {
//!     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("clock").version("1.0.0") }
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let manager = ModuleManager::builder()
//!     .module(Clock)
//!     .load_from_directory("./modules")?
//!     .build()?;
//! manager.start_all().await;
//! # Ok(()) }
//! ```
//!
//! A component module is an ordinary [`symphra::Module`] ([`WasmModule`]): it is in the
//! dependency graph, may depend on native modules and be depended on, and runs the
//! lifecycle hooks. It is sandboxed by its manifest ([`Capabilities`]):
//!
//! - **bus**: it publishes and subscribes only within the granted topic patterns; anything
//!   else fails with an error returned to the guest and nothing is delivered;
//! - **time**: every hook call is interrupted at `hook-timeout` (epoch interruption; the
//!   guest yields to the async runtime every [`EPOCH_TICK`] meanwhile), leaving the module
//!   `Failed`;
//! - **memory**: linear memory cannot grow past `memory-limit`;
//! - **WASI**: linked only when the component imports it, with only the granted environment
//!   variables and directories, and no network.
//!
//! Loading: [`discover`] reads manifests without compiling; [`DirectoryExt`] loads and
//! registers, returning a [`LoadReport`] of what loaded and what was rejected and why.
//! Compiled components are cached on disk ([`CompileCache`]).
//!
//! Hot reload: [`WasmModule::reload`] replaces a module's code while the application runs
//! (stopping and restarting its dependents, restoring the old code if the new one fails);
//! [`Watcher`] does it when the module's files change, and [`Watcher::stop`] lets a reload
//! under way end before the application stops its modules.
#![deny(missing_docs)]
// One `unsafe` block, allowed where it is: loading compiled code from the cache.
#![deny(unsafe_code)]
#![warn(unreachable_pub, missing_debug_implementations)]

/// The world of `symphra:module@0.1.0` (`wit/module.wit`).
mod bindings {
    wasmtime::component::bindgen!({
        path: "../../wit/module.wit",
        world: "module",
        imports: { default: async },
        exports: { default: async },
    });
}

/// The world of `symphra:module@0.2.0` (`wit/0.2/module.wit`), with its optional `health`
/// export (looked up by its own indices, so a component without it loads too).
mod bindings_v2 {
    wasmtime::component::bindgen!({
        path: "../../wit/0.2/module.wit",
        world: "module-with-health",
        imports: { default: async },
        exports: { default: async },
    });
}

mod cache;
mod discover;
mod error;
mod grants;
mod host;
mod manifest;
mod module;
mod reload;

pub use cache::{CacheOutcome, CompileCache};
pub use discover::{
    DirectoryExt, DiscoveredModule, Discovery, IGNORE_FILE, LoadOptions, LoadReport, Loaded,
    Rejected, Skipped, discover, discover_with, load_directory,
};
pub use error::{HookError, HostError, LoadError};
pub use grants::{
    DirSource, GrantError, MAX_GRANTS_BYTES, ModuleGrant, OperatorDir, OperatorGrants, ResolvedDir,
};
pub use host::{EPOCH_TICK, HostConfig, WIT_VERSION, WIT_VERSIONS, WasmHost};
pub use manifest::{
    Capabilities, DATA_GUEST_PATH, DEFAULT_COMPONENT, DEFAULT_HOOK_TIMEOUT, DEFAULT_INBOX_BYTES,
    DEFAULT_INBOX_EVENTS, DEFAULT_MEMORY_LIMIT, DirGrant, HealthSettings, InboxPolicy,
    MANIFEST_FILE, MAX_DESCRIPTION_BYTES, MAX_ENV_NAME_BYTES, MAX_HEALTH_PERIOD, MAX_HOOK_TIMEOUT,
    MAX_INBOX_BYTES, MAX_INBOX_EVENTS, MAX_LIST_ENTRIES, MAX_MANIFEST_BYTES, MAX_PATH_BYTES,
    MIN_HEALTH_PERIOD, Manifest, ManifestError, ManifestErrorKind, RESERVED_TOPIC_ROOTS, Readiness,
    describe_restart, is_reserved_topic,
};
pub use module::{EVENT_FAILED, InboxStats, WasmModule};
pub use reload::{
    RELOAD_DEBOUNCE, ReloadError, ReloadOutcome, ReloadReport, Watcher, WatcherFailed,
};
