//! What a hook can reach: its own module's name and configuration, its declared
//! dependencies, the manager, and tasks the manager owns for the module.

use std::fmt;
use std::sync::Arc;

use crate::bus::{BusError, DeliveryReport, Event, EventBus, HandlerResult, SubscribeOptions};
use crate::config::Config;
use crate::lifecycle::{BoxError, HookResult};
use crate::manager::entry::Entry;
use crate::manager::operation::OperationScope;
use crate::manager::tasks::{self, TaskKind};
use crate::manager::{Inner, ModuleManager, SpawnError};
use crate::module::ModuleMetadata;

/// The shutdown signal an owned task receives (see [`Context::spawn`]): tokio-util's
/// token, re-exported so that modules need no dependency of their own.
pub use tokio_util::sync::CancellationToken;

mod dependencies;
mod lease;

pub use lease::Lease;

/// Given to every hook: the module's own name and configuration, typed access to the
/// modules it declared as dependencies, and the manager.
///
/// Cheap to clone; a clone can be moved into a spawned task.
///
/// # Owned tasks
///
/// What a module runs in the background — a consumer loop, a timer, a blocking reader —
/// it spawns through its context: [`spawn`](Self::spawn) for work that serves until the
/// module stops, [`spawn_finite`](Self::spawn_finite) for work that ends on its own, and
/// [`spawn_blocking`](Self::spawn_blocking) for blocking work. The manager owns these
/// tasks; each gets a [`CancellationToken`], its shutdown signal, fresh for every run of
/// the module, and runs in a tracing span named `task` carrying the module's and the
/// task's names.
///
/// When the module stops, in this order:
///
/// 1. the tasks are signalled (the token is cancelled), so they begin draining;
/// 2. the `stop` hook runs, and closes what the tasks use — which also makes them end;
/// 3. the tasks are joined, within the stop hook's time limit (or the operation's
///    shutdown deadline, whichever comes first);
/// 4. tasks still running then are aborted, and the stop is reported failed with
///    [`FailureCause::TasksAborted`](crate::lifecycle::FailureCause::TasksAborted) naming
///    them. A blocking task cannot be interrupted: it is let go and named the same way.
///
/// If `start` fails, the tasks it spawned are signalled and aborted at once.
///
/// # Failure while running
///
/// A task spawned with `spawn` that ends before its signal (`Ok`, `Err` or panic), a
/// `spawn_finite` task that returns `Err` or panics, or a call to [`fail`](Self::fail)
/// fails the module at once: it turns [`Failed`](crate::ModuleState::Failed) in the task
/// that saw it, and `module.failed` is published. (While `start` still runs, the start
/// fails instead.) Then the manager, as an operation of its own, stops the modules that
/// require it (dependents first), and the module itself: its tasks are signalled and its
/// `stop` hook runs. Modules that depend on it optionally keep running; they hear of the
/// failure through `module.failed`. Both the failed module and those stopped with it can
/// be started again; [`ModuleHandle::stopped_because`](crate::manager::ModuleHandle::stopped_because)
/// says why they stopped, and
/// [`ModuleManager::supervision_idle`](crate::ModuleManager::supervision_idle) waits for
/// all this to be done.
#[derive(Clone)]
pub struct Context {
    shared: Arc<OperationScope>,
    id: usize,
}

impl Context {
    pub(crate) fn new(shared: Arc<OperationScope>, id: usize) -> Self {
        Self { shared, id }
    }

    /// The module this context belongs to.
    pub(crate) fn entry(&self) -> &Entry {
        &self.shared.graph.entries[self.id]
    }

    /// What the contexts of this operation share.
    pub(crate) fn operation(&self) -> &OperationScope {
        &self.shared
    }

    /// The module's index in the graph.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Makes this the context of module `id` of the same operation: the scheduler reuses
    /// the context of a finished job rather than counting a new reference per module.
    pub(crate) fn reassign(&mut self, id: usize) {
        self.id = id;
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.shared.inner
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.shared.graph.entries[self.id].name
    }

    /// The module's metadata.
    pub fn metadata(&self) -> &ModuleMetadata {
        &self.shared.graph.entries[self.id].metadata
    }

    /// The configuration the module was installed with (empty before `install`).
    pub fn config(&self) -> Config {
        self.shared.graph.entries[self.id].installed_config()
    }

    /// The configuration the module was installed with, read as a `T` — the type it
    /// declared with [`ModuleMetadata::config_type`], or any type that deserializes from it.
    ///
    /// ```
    /// use symphra::prelude::*;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Greeting {
    ///     text: String,
    /// }
    ///
    /// struct Greeter;
    /// impl Module for Greeter {
    ///     fn metadata(&self) -> ModuleMetadata {
    ///         ModuleMetadata::new("greeter").config_type::<Greeting>()
    ///     }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         let greeting: Greeting = ctx.config_as()?;
    ///         assert_eq!(greeting.text, "hello");
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let manager = ModuleManager::builder()
    ///     .module(Greeter)
    ///     .config("greeter", serde_json::json!({ "text": "hello" }))
    ///     .build()?;
    /// manager.start_all().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn config_as<T: serde::de::DeserializeOwned>(&self) -> Result<T, crate::ConfigError> {
        self.config().parse()
    }

    /// The event bus the application's modules share.
    pub fn bus(&self) -> &EventBus {
        &self.shared.inner.bus
    }

    /// Publishes `payload` on `topic` with this module as the source, and waits for every
    /// matching handler.
    pub async fn publish<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        payload: T,
    ) -> Result<DeliveryReport, BusError> {
        let event = Event::new(topic, payload)?
            .with_source(Arc::clone(&self.shared.graph.entries[self.id].name));
        Ok(self.shared.inner.bus.publish_event(event).await)
    }

    /// Subscribes a handler for as long as the module runs: the subscription is removed
    /// when the module stops (or fails to start), so a stopped module never receives
    /// events. Use [`bus`](Self::bus) for a subscription that outlives the module.
    pub fn subscribe<F, R>(&self, pattern: &str, handler: F) -> Result<(), BusError>
    where
        F: Fn(&Event) -> R + Send + Sync + 'static,
        R: HandlerResult,
    {
        let options = self.module_subscription();
        self.shared
            .inner
            .bus
            .subscribe_with(pattern, options, handler)?
            .detach();
        Ok(())
    }

    /// Like [`subscribe`](Self::subscribe), with an async handler.
    pub fn subscribe_async<F, Fut>(&self, pattern: &str, handler: F) -> Result<(), BusError>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        let options = self.module_subscription();
        self.shared
            .inner
            .bus
            .subscribe_async_with(pattern, options, handler)?
            .detach();
        Ok(())
    }

    /// Like [`subscribe_async`](Self::subscribe_async), with options: a queue, so that
    /// the handler runs on its own task and publishers do not wait for it, a priority, a
    /// condition. The options' tag is replaced by the module's (`module:<name>`).
    ///
    /// The module's stop drains the queue first: events already queued when the stop
    /// begins are handled before the `stop` hook runs, within its time limit; those left
    /// at the limit are counted in the stop report ([`Report::lost_events`]).
    ///
    /// [`Report::lost_events`]: crate::manager::Report::lost_events
    pub fn subscribe_async_with<F, Fut>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<(), BusError>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        let options = self.module_tagged(options);
        self.shared
            .inner
            .bus
            .subscribe_async_with(pattern, options, handler)?
            .detach();
        Ok(())
    }

    fn module_subscription(&self) -> SubscribeOptions {
        self.module_tagged(SubscribeOptions::new())
    }

    /// `options` with the module's tag, the module marked as subscribed: its stop then
    /// drains and removes what is tagged.
    fn module_tagged(&self, options: SubscribeOptions) -> SubscribeOptions {
        let entry = &self.shared.graph.entries[self.id];
        entry
            .subscribed
            .store(true, std::sync::atomic::Ordering::Release);
        options.tag(entry.subscription_tag())
    }

    /// Spawns a task that serves until the module stops, owned by the manager.
    ///
    /// `task` receives the module's shutdown signal and returns the task's future; the
    /// future should return soon after the signal fires. Ending at all before the signal
    /// — `Ok`, `Err` or a panic — fails the module (see the [type docs](Self)); use
    /// [`spawn_finite`](Self::spawn_finite) for work that ends on its own.
    ///
    /// Refused ([`SpawnError::NotRunning`]) unless the module is starting or running:
    /// spawn from `start`, or from a task of the module.
    ///
    /// ```
    /// use std::time::Duration;
    /// use symphra::prelude::*;
    ///
    /// struct Ticker;
    ///
    /// impl Module for Ticker {
    ///     fn metadata(&self) -> ModuleMetadata {
    ///         ModuleMetadata::new("ticker")
    ///     }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         ctx.spawn("tick", |shutdown| async move {
    ///             let mut every = tokio::time::interval(Duration::from_secs(1));
    ///             loop {
    ///                 tokio::select! {
    ///                     _ = shutdown.cancelled() => return Ok(()), // the module stops
    ///                     _ = every.tick() => tracing::info!("tick"),
    ///                 }
    ///             }
    ///         })?;
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() -> Result<(), symphra::Error> {
    /// let manager = ModuleManager::builder().module(Ticker).build()?;
    /// manager.start_all().await?;
    /// tokio::time::sleep(Duration::from_secs(3)).await; // three ticks
    /// manager.stop_all().await?; // signals `tick`, runs `stop`, joins `tick`
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn<F, Fut>(&self, name: &str, task: F) -> Result<(), SpawnError>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = HookResult> + Send + 'static,
    {
        tasks::spawn(self, name, TaskKind::LongRunning, task)
    }

    /// Spawns finite work owned by the manager: like [`spawn`](Self::spawn), except that
    /// returning `Ok` is the task's normal end. An `Err` or a panic fails the module. If
    /// the module stops first, the task is signalled and joined like any other.
    pub fn spawn_finite<F, Fut>(&self, name: &str, task: F) -> Result<(), SpawnError>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = HookResult> + Send + 'static,
    {
        tasks::spawn(self, name, TaskKind::Finite, task)
    }

    /// Spawns blocking work that serves until the module stops, on tokio's blocking
    /// pool: the rules of [`spawn`](Self::spawn), with a closure that checks
    /// [`CancellationToken::is_cancelled`] now and then and returns when it is. It cannot
    /// be aborted: one still running at the stop deadline is let go (and named in the stop
    /// report).
    pub fn spawn_blocking<F>(&self, name: &str, task: F) -> Result<(), SpawnError>
    where
        F: FnOnce(CancellationToken) -> HookResult + Send + 'static,
    {
        tasks::spawn(self, name, TaskKind::LongRunning, |shutdown| async move {
            // The blocking thread enters the task's span, so its logs carry the names.
            let span = tracing::Span::current();
            match tokio::task::spawn_blocking(move || span.in_scope(|| task(shutdown))).await {
                Ok(result) => result,
                // Re-raised here, where the task's watcher reports it as a panic.
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(error) => Err(error.into()),
            }
        })
    }

    /// Fails the running module with `error`, as a failing task would: it turns `Failed`
    /// at once and is then stopped with the modules that require it (see the
    /// [type docs](Self)). Called while `start` runs, it makes the start fail. Ignored,
    /// and logged, when the module is not running or has already failed.
    pub fn fail(&self, error: impl Into<BoxError>) {
        tasks::fail(self, error.into());
    }

    /// Says that the module is ready to serve, for a module whose metadata declares
    /// [`signals_readiness`](crate::ModuleMetadata::signals_readiness) (systemd's
    /// `READY=1`). Until then it is started but not ready (see [`crate::health`]). Called
    /// while `start` runs, the module is ready as soon as `start` returns. `module.ready`
    /// is published the first time in each run; the readiness lasts until the module
    /// starts again.
    ///
    /// A module that does not signal readiness is ready when `start` returns: for it this
    /// does nothing.
    pub fn ready(&self) {
        crate::manager::watch::ready(self);
    }

    /// Tells the module's [watchdog](crate::ModuleMetadata::watchdog) that the module is
    /// alive; it must be called at least once per period while the module is started, or
    /// the module fails. Cheap (a clock reading and an atomic store): call it from the loop
    /// that does the work, so that a stuck loop misses it. An owned task calls it on a
    /// clone of the context it was spawned with. Does nothing for a module without a
    /// watchdog.
    pub fn heartbeat(&self) {
        if let Some(watch) = &self.entry().watch {
            watch.beat();
        }
    }

    /// The lease this [singleton](crate::ModuleMetadata::singleton) module runs under,
    /// when a coordinator granted one; `None` for other modules, and for a singleton
    /// running without a coordinator. Write to shared resources with its
    /// [token](Lease::token), and only while it [is current](Lease::is_current).
    pub fn lease(&self) -> Option<Lease> {
        self.entry().lease()
    }

    /// The manager running this module. Lifecycle operations called on it from inside a
    /// hook are refused with [`Error::Reentrant`](crate::Error::Reentrant); spawn a task to call them.
    pub fn manager(&self) -> ModuleManager {
        ModuleManager::from_inner(Arc::clone(&self.shared.inner))
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("module", &self.name())
            .finish_non_exhaustive()
    }
}
