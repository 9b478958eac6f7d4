//! The `SyncModule` trait: a module whose hooks block.

use crate::config::Config;
use crate::context::Context;
use crate::health::Health;
use crate::lifecycle::HookResult;
use crate::module::ModuleMetadata;

/// A module with blocking hooks, for code that does blocking I/O or heavy computation.
///
/// The manager runs each hook on tokio's blocking thread pool, so a slow hook never stalls
/// the async modules around it. Register it with
/// [`ModuleManagerBuilder::sync_module`](crate::ModuleManagerBuilder::sync_module); it takes
/// part in dependency resolution, scheduling and events exactly like an async
/// [`Module`](crate::Module).
///
/// A blocking hook cannot be interrupted: when it runs past its timeout, the module is
/// reported `Failed` and the manager moves on, but the thread finishes the hook in the
/// background.
///
/// ```
/// use symphra::prelude::*;
///
/// struct Settings;
///
/// impl SyncModule for Settings {
///     fn metadata(&self) -> ModuleMetadata {
///         ModuleMetadata::new("settings")
///     }
///
///     fn start(&self, _ctx: &Context) -> HookResult {
///         // Blocking file I/O is fine here.
///         let _ = std::fs::metadata(".");
///         Ok(())
///     }
/// }
/// ```
pub trait SyncModule: Send + Sync + 'static {
    /// Describes the module; see [`Module::metadata`](crate::Module::metadata).
    fn metadata(&self) -> ModuleMetadata;

    /// One-time initialisation, before configuration is known.
    fn bootstrap(&self, _ctx: &Context) -> HookResult {
        Ok(())
    }

    /// Receives the configuration, already validated against the module's schema.
    fn install(&self, _ctx: &Context, _config: Config) -> HookResult {
        Ok(())
    }

    /// Starts serving. Runs after every dependency has started.
    fn start(&self, _ctx: &Context) -> HookResult {
        Ok(())
    }

    /// Stops serving. Runs after every dependent has stopped.
    fn stop(&self, _ctx: &Context) -> HookResult {
        Ok(())
    }

    /// Releases what `install` set up.
    fn uninstall(&self, _ctx: &Context) -> HookResult {
        Ok(())
    }

    /// Refreshes the module while it runs.
    fn reload(&self, _ctx: &Context) -> HookResult {
        Ok(())
    }

    /// Says how the module is doing; see [`Module::health`](crate::Module::health). Runs on
    /// tokio's blocking pool; one that outlives its timeout is reported unhealthy and left
    /// to finish in the background.
    fn health(&self, _ctx: &Context) -> Health {
        Health::Healthy
    }
}
