//! The manager: registers modules and drives them through their lifecycle.

mod builder;
pub(crate) mod clock;
pub(crate) mod driver;
pub(crate) mod entry;
mod events;
pub(crate) mod graph;
mod handle;
pub(crate) mod interface;
mod leases;
mod losses;
mod notify;
pub(crate) mod operation;
mod options;
mod persistence;
pub(crate) mod polls;
mod probes;
mod reentry;
mod report;
mod report_data;
mod restart;
mod run;
pub(crate) mod runner;
mod scheduler;
mod scope;
pub(crate) mod signals;
mod spare_events;
mod supervisor;
mod task_error;
pub(crate) mod tasks;
pub(crate) mod timings;
pub(crate) mod watch;

use std::any::Any;
use std::fmt;
use std::sync::{Arc, OnceLock, RwLock};

use futures_util::Stream;
use serde_json::Value;
use tokio::sync::MutexGuard;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub use builder::ModuleManagerBuilder;
pub use events::{FAILED, HEALTH_CHANGED, ModuleEvent, READY, STATE_CHANGED};
pub use handle::ModuleHandle;
pub use options::{DEFAULT_BLOCKING_THRESHOLD, DEFAULT_HOOK_TIMEOUT, DEFAULT_SHUTDOWN_TIMEOUT};
pub use report::{HookTiming, ModuleReport, Outcome, Report, SkipReason, StartError, StopError};
pub use report_data::{HookTimingData, ModuleData, OutcomeData, ReportData, RunOutcomeData};
pub use restart::{RESTARTED, RestartEvent};
pub use run::{RunEnd, RunOutcome};
pub use scope::ScopeExit;
pub use task_error::{SpawnError, TaskError};

use crate::bus::EventBus;
use crate::context::Context;
use crate::error::Error;
use crate::lifecycle::{Hook, HookFailure, Operation, Plan};
use crate::resolver::{Resolution, ResolveError};
use entry::Entry;
use graph::Graph;
use operation::{OperationClock, OperationScope};
use options::Options;
use reentry::Mark;
use runner::Job;
use scheduler::Schedule;

/// Registers modules, resolves their dependencies, and drives them through their lifecycle.
///
/// Cheap to clone: clones share one set of modules. Lifecycle operations on one manager run
/// one at a time (a second call waits for the first); inside an operation, independent
/// modules run their hooks concurrently.
///
/// See the [crate documentation](crate) for a complete example.
#[derive(Clone)]
pub struct ModuleManager {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    graph: RwLock<Arc<Graph>>,
    pub(crate) bus: EventBus,
    pub(crate) listeners: events::Listeners,
    pub(crate) persistence: Option<persistence::Persistence>,
    pub(crate) options: Options,
    /// Serialises lifecycle operations.
    operations: tokio::sync::Mutex<()>,
    /// Whether tokio's clock is paused, asked at the first operation.
    clock_paused: OnceLock<bool>,
    /// Failures of running modules not yet dealt with.
    supervision: supervisor::Supervision,
    /// Polls longer than the blocking threshold, of every module's hooks and tasks.
    pub(crate) blocked_polls: std::sync::atomic::AtomicU64,
    /// Whether anyone listens to `module.ready` and `module.health_changed`.
    pub(crate) signal_listeners: watch::SignalListeners,
}

impl ModuleManager {
    /// Starts building a manager.
    pub fn builder() -> ModuleManagerBuilder {
        ModuleManagerBuilder::default()
    }

    pub(crate) fn from_inner(inner: Arc<Inner>) -> Self {
        Self { inner }
    }

    fn graph(&self) -> Arc<Graph> {
        Arc::clone(&self.inner.graph.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn entry(&self, name: &str) -> Result<Arc<Entry>, Error> {
        let graph = self.graph();
        Ok(Arc::clone(&graph.entries[graph.find(name)?]))
    }

    /// Waits for the operation lock; refuses a call from inside one of this manager's hooks,
    /// which would wait for itself.
    async fn lock(&self, operation: &'static str) -> Result<MutexGuard<'_, ()>, Error> {
        if let Some(mark) = Mark::current(&self.inner) {
            let module = self
                .graph()
                .entries
                .get(mark.module)
                .map_or_else(|| "?".to_owned(), |entry| entry.name.to_string());
            return Err(Error::Reentrant { module, operation });
        }
        Ok(self.inner.operations.lock().await)
    }

    /// The event bus the modules share; lifecycle events are published on it.
    pub fn bus(&self) -> &EventBus {
        &self.inner.bus
    }

    /// Checks the registered set again and reports every dependency problem at once.
    pub async fn validate_dependencies(&self) -> Result<(), ResolveError> {
        self.resolve_dependencies().await.map(|_| ())
    }

    /// Resolves the registered set: start order and start waves.
    pub async fn resolve_dependencies(&self) -> Result<Resolution, ResolveError> {
        let graph = self.graph();
        crate::resolver::resolve(graph.entries.iter().map(|entry| &entry.metadata))
    }

    /// Handles on every module, in start order, as a stream. It is `Unpin`, so it needs no
    /// pinning, and the prelude brings `StreamExt`'s methods into scope; for a plain loop,
    /// [`handles`](Self::handles) gives the same handles as a `Vec`.
    ///
    /// ```
    /// use symphra::prelude::*;
    ///
    /// struct Cache;
    /// impl Module for Cache {
    ///     fn metadata(&self) -> ModuleMetadata {
    ///         ModuleMetadata::new("cache")
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let manager = ModuleManager::builder().module(Cache).build()?;
    /// let mut modules = manager.modules();
    /// while let Some(handle) = modules.next().await {
    ///     assert_eq!(handle.name(), "cache");
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub fn modules(&self) -> impl Stream<Item = ModuleHandle> + Send + Unpin + 'static {
        futures_util::stream::iter(self.handles())
    }

    /// Handles on every module, in start order.
    pub fn handles(&self) -> Vec<ModuleHandle> {
        let graph = self.graph();
        graph
            .resolution
            .order_indices()
            .iter()
            .map(|&i| ModuleHandle::new(Arc::clone(&graph.entries[i])))
            .collect()
    }

    /// The module called `name`.
    pub fn module(&self, name: &str) -> Result<ModuleHandle, Error> {
        let graph = self.graph();
        let id = graph.find(name)?;
        Ok(ModuleHandle::new(Arc::clone(&graph.entries[id])))
    }

    /// The first registered module of type `T`.
    pub fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.graph()
            .entries
            .iter()
            .find_map(|entry| Arc::clone(&entry.object.instance).downcast::<T>().ok())
    }

    /// Sets the configuration that `name` receives at its next `install`.
    pub fn configure(&self, name: &str, config: Value) -> Result<(), Error> {
        let graph = self.graph();
        graph.entries[graph.find(name)?].set_configured(config);
        Ok(())
    }

    /// Runs `bootstrap` on `name` (`Registered → Loaded`).
    pub async fn load(&self, name: &str) -> Result<(), Error> {
        self.single(name, Operation::Load).await
    }

    /// Validates the configuration of `name` against its schema and runs `install`
    /// (`Loaded → Installed`).
    pub async fn install(&self, name: &str) -> Result<(), Error> {
        self.single(name, Operation::Install).await
    }

    /// Runs `uninstall` on `name` (`Installed`/`Stopped` → `Loaded`).
    pub async fn uninstall(&self, name: &str) -> Result<(), Error> {
        self.single(name, Operation::Uninstall).await
    }

    /// Runs `reload` on a started module.
    pub async fn reload(&self, name: &str) -> Result<(), Error> {
        self.single(name, Operation::Reload).await
    }

    async fn single(&self, name: &str, operation: Operation) -> Result<(), Error> {
        let _guard = self.lock(operation.as_str()).await?;
        let graph = self.graph();
        let id = graph.find(name)?;
        let entry = &graph.entries[id];
        let cell = entry.cell();
        let plan = cell
            .plan(operation)
            .map_err(|hint| Error::IllegalTransition {
                module: name.to_owned(),
                state: cell.state,
                operation,
                hint,
            })?;
        let Plan::Run(chain) = plan else {
            return Ok(());
        };
        let clock = OperationClock::begin(
            self.inner.clock_paused(),
            None,
            self.inner.options.blocking_threshold,
        );
        let scope = OperationScope {
            inner: Arc::clone(&self.inner),
            graph: Arc::clone(&graph),
            clock,
            losses: losses::Losses::begin(&self.inner.bus),
            cancel: None,
            blocked_polls: Default::default(),
        };
        let job = Job {
            ctx: Context::new(Arc::new(scope), id),
            chain,
            began: clock.origin(),
        };
        let run = entry.object.drive(job).await;
        self.inner.flush_state().await?;
        run.result.map_err(Error::Hook)
    }

    /// Starts `name` and, first, every dependency it needs, running whatever of
    /// `bootstrap`, `install` and `start` each has not run yet.
    ///
    /// An operator's start: a module held stopped by [`stop`](Self::stop) is released. A
    /// disabled or ignored module is refused ([`Error::Unavailable`]).
    pub async fn start(&self, name: &str) -> Result<Report, Error> {
        let _guard = self.lock("start").await?;
        let graph = self.graph();
        let id = graph.find(name)?;
        let entry = &graph.entries[id];
        let availability = entry.availability();
        if availability != crate::state::Availability::Enabled {
            return Err(Error::Unavailable {
                module: name.to_owned(),
                availability,
            });
        }
        self.hold_stopped(entry, false);
        let targets = graph.with_dependencies(id);
        let report = self.schedule(&graph, Some(&targets)).start(false).await;
        self.inner.flush_state().await?;
        into_start_result(report)
    }

    /// Stops `name` and, first, every module that depends on it.
    ///
    /// An operator's stop: `start_all` leaves the module down (also after a restart, with a
    /// state store) until it is started by name.
    pub async fn stop(&self, name: &str) -> Result<Report, Error> {
        self.stop_module(name, true).await
    }

    /// Stops `name` and, first, every module that depends on it, for a while: a reload or
    /// a tool that starts it again. Not an operator's stop, so nothing holds it down: a
    /// process killed before the module is started again starts it with the others at its
    /// next `start_all`.
    pub async fn stop_for_now(&self, name: &str) -> Result<Report, Error> {
        self.stop_module(name, false).await
    }

    /// Stops `name` and its dependents; `hold` records an operator's stop.
    pub(crate) async fn stop_module(&self, name: &str, hold: bool) -> Result<Report, Error> {
        let _guard = self.lock("stop").await?;
        let graph = self.graph();
        let id = graph.find(name)?;
        if hold {
            self.hold_stopped(&graph.entries[id], true);
        }
        let targets = graph.with_dependents(id);
        let deadline =
            crate::util::deadline_after(Instant::now(), self.inner.options.shutdown_timeout);
        let report = self.schedule(&graph, Some(&targets)).stop(deadline).await;
        self.inner.flush_state().await?;
        into_stop_result(report)
    }

    /// Starts every module, each as soon as its dependencies have started, at most
    /// `max_concurrency` at once (see [`ModuleManagerBuilder::max_concurrency`]).
    ///
    /// A module whose hook fails is `Failed`; the modules that require it are skipped;
    /// independent modules still start. The error holds the full report.
    pub async fn start_all(&self) -> Result<Report, Error> {
        self.start_all_concurrent(self.inner.options.max_concurrency)
            .await
    }

    /// [`start_all`](Self::start_all) with a concurrency limit for this call.
    pub async fn start_all_concurrent(&self, max_concurrency: usize) -> Result<Report, Error> {
        self.start_all_with(max_concurrency, None).await
    }

    /// [`start_all`](Self::start_all), cancelled when `cancel` is: then no further module
    /// is launched, and hooks that are waiting end
    /// [`FailureCause::Cancelled`](crate::lifecycle::FailureCause::Cancelled) — their
    /// modules are `Failed`, not left `Starting`. Hooks that complete without waiting are
    /// not interrupted. Modules that started stay started: stop them with
    /// [`stop_all`](Self::stop_all). [`run_until`](Self::run_until) does all this on a
    /// shutdown signal.
    pub async fn start_all_until(&self, cancel: &CancellationToken) -> Result<Report, Error> {
        self.start_all_with(self.inner.options.max_concurrency, Some(cancel))
            .await
    }

    async fn start_all_with(
        &self,
        max_concurrency: usize,
        cancel: Option<&CancellationToken>,
    ) -> Result<Report, Error> {
        let _guard = self.lock("start_all").await?;
        let graph = self.graph();
        let report = Schedule {
            limit: max_concurrency.max(1),
            cancel,
            ..self.schedule(&graph, None)
        }
        .start(self.inner.options.fail_fast)
        .await;
        self.inner.flush_state().await?;
        into_start_result(report)
    }

    /// Stops every started module, dependents first, within the shutdown deadline (see
    /// [`ModuleManagerBuilder::shutdown_timeout`]). A stop hook that fails or runs out of
    /// time is abandoned and reported; the rest still stop.
    pub async fn stop_all(&self) -> Result<Report, Error> {
        let _guard = self.lock("stop_all").await?;
        // Pending restarts see it and leave their modules down.
        self.inner
            .supervision
            .stop_alls
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        let graph = self.graph();
        let deadline =
            crate::util::deadline_after(Instant::now(), self.inner.options.shutdown_timeout);
        let report = self.schedule(&graph, None).stop(deadline).await;
        self.inner.flush_state().await?;
        into_stop_result(report)
    }

    /// Removes `name` from the manager. It must be `Registered` or `Loaded`, and no other
    /// module may depend on it.
    pub async fn unload(&self, name: &str) -> Result<(), Error> {
        let _guard = self.lock("unload").await?;
        let graph = self.graph();
        let id = graph.find(name)?;
        let entry = &graph.entries[id];
        let cell = entry.cell();
        cell.plan(Operation::Unload)
            .map_err(|hint| Error::IllegalTransition {
                module: name.to_owned(),
                state: cell.state,
                operation: Operation::Unload,
                hint,
            })?;
        let dependents: Vec<String> = graph
            .resolution
            .declared_dependents_of(id)
            .map(|d| graph.entries[d].name.to_string())
            .collect();
        if !dependents.is_empty() {
            return Err(Error::HasDependents {
                module: name.to_owned(),
                dependents,
            });
        }
        let remaining: Vec<Arc<Entry>> = graph
            .entries
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != id)
            .map(|(_, entry)| Arc::clone(entry))
            .collect();
        let next = Graph::new(remaining)?;
        *self.inner.graph.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(next);
        tracing::debug!(module = name, "unloaded");
        Ok(())
    }

    fn schedule<'g>(&'g self, graph: &'g Arc<Graph>, targets: Option<&'g [bool]>) -> Schedule<'g> {
        Schedule {
            inner: &self.inner,
            graph,
            targets,
            limit: self.inner.options.max_concurrency,
            cancel: None,
        }
    }
}

fn into_start_result(report: Report) -> Result<Report, Error> {
    if report.is_success() {
        Ok(report)
    } else {
        Err(Error::Start(Box::new(StartError::new(report))))
    }
}

fn into_stop_result(report: Report) -> Result<Report, Error> {
    if report.is_success() {
        Ok(report)
    } else {
        Err(Error::Stop(Box::new(StopError::new(report))))
    }
}

impl Inner {
    /// Notes that `hook` of `entry` succeeded: a start ends an operator's hold, and the
    /// state store hears of both.
    pub(crate) fn record_success(&self, entry: &Entry, hook: Hook) {
        let released = hook == Hook::Start && entry.release_hold();
        if let Some(persistence) = &self.persistence {
            persistence.record_success(entry, hook, released);
        }
    }

    /// Notes a failure, for the state store.
    pub(crate) fn record_failure(&self, entry: &Entry, failure: &HookFailure) {
        if let Some(persistence) = &self.persistence {
            persistence.record_failure(entry, failure);
        }
    }

    /// Writes what the last operation recorded to the state store, if there is one.
    pub(crate) async fn flush_state(&self) -> Result<(), Error> {
        match &self.persistence {
            Some(persistence) => persistence.flush().await,
            None => Ok(()),
        }
    }

    /// Whether tokio's clock is paused (a test's clock): then hook timings are read in test
    /// time. Asked once per manager.
    pub(crate) fn clock_paused(&self) -> bool {
        *self.clock_paused.get_or_init(clock::tokio_clock_is_paused)
    }

    /// Removes the bus subscriptions `entry` made through its context.
    pub(crate) fn drop_subscriptions(&self, entry: &Entry) {
        if entry.take_subscribed() {
            let removed = self.bus.unsubscribe_tag(&entry.subscription_tag());
            tracing::debug!(module = %entry.name, removed, "subscriptions removed");
        }
    }
}

impl fmt::Debug for ModuleManager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleManager")
            .field("modules", &self.graph().entries.len())
            .field("options", &self.inner.options)
            .finish()
    }
}
