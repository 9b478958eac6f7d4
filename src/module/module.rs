//! The `Module` trait: a unit of an application with an async lifecycle.

use std::future::Future;

use crate::config::Config;
use crate::context::Context;
use crate::health::Health;
use crate::lifecycle::HookResult;
use crate::module::ModuleMetadata;

/// A unit of an application — a database pool, a cache, an HTTP API — driven through an
/// async lifecycle by a [`ModuleManager`](crate::ModuleManager).
///
/// Every hook has a default that does nothing, so a module implements only what it needs,
/// with plain `async fn` bodies. Hooks take `&self`: the manager shares the module (its
/// dependents can hold it through [`Context::get`]). What `start` builds is handed to the
/// manager with [`Context::set_running`] and read back in `stop` and by dependents; other
/// state set in a hook lives in `OnceLock`s or atomics.
///
/// ```
/// use std::sync::OnceLock;
/// use symphra::prelude::*;
///
/// #[derive(Default)]
/// struct Greeter {
///     greeting: OnceLock<String>,
/// }
///
/// impl Module for Greeter {
///     fn metadata(&self) -> ModuleMetadata {
///         ModuleMetadata::new("greeter").version("1.0.0")
///     }
///
///     async fn install(&self, _ctx: &Context, config: Config) -> HookResult {
///         let greeting = config.get::<String>("greeting")?.unwrap_or_else(|| "hello".into());
///         let _ = self.greeting.set(greeting);
///         Ok(())
///     }
///
///     async fn start(&self, ctx: &Context) -> HookResult {
///         println!("{} from {}", self.greeting.get().ok_or("not installed")?, ctx.name());
///         Ok(())
///     }
/// }
/// ```
///
/// Hooks must not block the thread: use async I/O, or implement
/// [`SyncModule`](crate::SyncModule) instead, whose hooks run on tokio's blocking pool.
pub trait Module: Send + Sync + 'static {
    /// Describes the module: name, version, dependencies, configuration schema. Called once,
    /// when the module is registered.
    fn metadata(&self) -> ModuleMetadata;

    /// One-time initialisation, before configuration is known.
    fn bootstrap(&self, _ctx: &Context) -> impl Future<Output = HookResult> + Send {
        async { Ok(()) }
    }

    /// Receives the configuration, already validated against the module's schema.
    fn install(&self, _ctx: &Context, _config: Config) -> impl Future<Output = HookResult> + Send {
        async { Ok(()) }
    }

    /// Starts serving. Runs after every dependency has started.
    fn start(&self, _ctx: &Context) -> impl Future<Output = HookResult> + Send {
        async { Ok(()) }
    }

    /// Stops serving. Runs after every dependent has stopped.
    fn stop(&self, _ctx: &Context) -> impl Future<Output = HookResult> + Send {
        async { Ok(()) }
    }

    /// Releases what `install` set up.
    fn uninstall(&self, _ctx: &Context) -> impl Future<Output = HookResult> + Send {
        async { Ok(()) }
    }

    /// Refreshes the module while it runs (for example re-reads its configuration).
    fn reload(&self, _ctx: &Context) -> impl Future<Output = HookResult> + Send {
        async { Ok(()) }
    }

    /// Says how the module is doing. Runs only if the metadata declares a
    /// [`health_check`](crate::ModuleMetadata::health_check), on that schedule, on a task
    /// of the manager while the module is started — never when someone asks; the answer is
    /// cached (see [`crate::health`]). A check that does not answer within its timeout is
    /// unhealthy. The default says healthy.
    fn health(&self, _ctx: &Context) -> impl Future<Output = Health> + Send {
        async { Health::Healthy }
    }
}
