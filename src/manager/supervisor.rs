//! Supervision: what the manager does after a module fails while running.
//!
//! The failure itself is recorded where it is seen (see [`tasks`](super::tasks)); the
//! rest runs in a task of its own, as an operation of the manager:
//!
//! 1. `module.failed` is published on the bus (optional dependents learn of it there);
//! 2. the operation lock is taken, like any lifecycle operation;
//! 3. the modules that require the failed one, transitively, are stopped in reverse
//!    dependency order, each keeping the reason "dependency X failed"
//!    ([`ModuleHandle::stopped_because`](crate::manager::ModuleHandle::stopped_because));
//! 4. then the failed module itself stops: its tasks are signalled and its `stop` hook
//!    runs, so that it releases what it holds. It ends `Stopped` (or `Failed`, if its stop
//!    fails), and a later `start` or `start_all` starts it again.
//!
//! 5. the module's [restart policy](crate::supervision::RestartPolicy) is applied (see
//!    [`restart`](super::restart)): after the backoff the module and the dependents stopped
//!    with it start again, or it gives up and, with
//!    [`Escalation::Shutdown`](crate::supervision::Escalation::Shutdown), escalates.
//!
//! [`ModuleManager::supervision_idle`] waits until no supervision is pending, restarts
//! included.

use std::sync::Arc;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::Instrument;

use crate::context::Context;
use crate::error::Error;
use crate::lifecycle::{Hook, HookFailure, ModuleState};
use crate::manager::entry::Entry;
use crate::manager::report::Report;
use crate::manager::{Inner, ModuleManager, events, restart, tasks};

/// The supervisions pending on one manager: begun (a module failed) and not yet settled.
#[derive(Debug)]
pub(crate) struct Supervision {
    pending: watch::Sender<usize>,
    /// Cancelled when a module has used up its restarts and the manager's escalation is
    /// [`Escalation::Shutdown`](crate::supervision::Escalation::Shutdown): whatever runs the
    /// application (`ModuleManager::run_until`) stops everything and reports failure.
    pub(crate) escalated: tokio_util::sync::CancellationToken,
    /// Counts `stop_all` calls: a restart still waiting when everything was stopped must
    /// not bring its module back.
    pub(crate) stop_alls: std::sync::atomic::AtomicU64,
    /// The module that gave up, when the escalation was raised with [`Supervision::escalate`].
    escalated_by: parking_lot::Mutex<Option<String>>,
}

impl Default for Supervision {
    fn default() -> Self {
        Self {
            pending: watch::Sender::new(0),
            escalated: tokio_util::sync::CancellationToken::new(),
            stop_alls: std::sync::atomic::AtomicU64::new(0),
            escalated_by: parking_lot::Mutex::new(None),
        }
    }
}

impl Supervision {
    /// Raises the escalation: `module` gave up, and the application is to shut down. The
    /// first module named is the one reported.
    #[cfg_attr(
        not(feature = "testing"),
        allow(dead_code, reason = "raised by restart policies, and by the test kit")
    )]
    pub(crate) fn escalate(&self, module: &str) {
        self.escalated_by
            .lock()
            .get_or_insert_with(|| module.to_owned());
        self.escalated.cancel();
    }

    /// The module named by [`escalate`](Self::escalate), if any.
    pub(crate) fn escalated_by(&self) -> Option<String> {
        self.escalated_by.lock().clone()
    }
}

/// One pending supervision; it counts as settled when dropped, also if its task panics
/// or is dropped with the runtime.
struct Pending(Arc<Inner>);

impl Pending {
    fn begin(inner: Arc<Inner>) -> Self {
        inner
            .supervision
            .pending
            .send_modify(|pending| *pending += 1);
        Self(inner)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        self.0
            .supervision
            .pending
            .send_modify(|pending| *pending = pending.saturating_sub(1));
    }
}

/// Hands the failure of run `generation` of the module of `ctx` to supervision. Counted
/// as pending at once, so that [`ModuleManager::supervision_idle`] called right after the
/// module turned `Failed` waits for it.
pub(crate) fn supervise(ctx: Context, failure: HookFailure, generation: u64) {
    let pending = Pending::begin(Arc::clone(&ctx.operation().inner));
    let runtime = match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime,
        Err(error) => {
            // `Context::fail` called from a thread outside any runtime: the module stays
            // `Failed` until an operator stops it.
            tracing::error!(module = %failure.module(), %error, "cannot supervise the failed module: no tokio runtime");
            return;
        }
    };
    let span = tracing::info_span!(parent: None, "supervise", module = %failure.module());
    runtime.spawn(
        async move {
            let _pending = pending;
            settle(ctx, failure, generation).await;
        }
        .instrument(span),
    );
}

/// What supervision stopped after a failure, and the reasons it recorded: a restart starts
/// those of them still down for that reason.
pub(crate) struct Stopped {
    /// The failed module.
    pub(crate) failed: Arc<Entry>,
    /// Its reason, "it failed: …".
    pub(crate) own: Arc<str>,
    /// The required dependents that were running, in start order.
    pub(crate) dependents: Vec<Arc<Entry>>,
    /// Their reason, "dependency … failed".
    pub(crate) because: Arc<str>,
    /// [`Supervision::stop_alls`] when they were stopped.
    pub(crate) stop_alls: u64,
}

/// Publishes the failure, stops the failed module's required dependents and the module
/// itself, then applies its restart policy.
async fn settle(ctx: Context, failure: HookFailure, generation: u64) {
    if let Some(publish) = events::announce(
        &ctx,
        Hook::Start,
        ModuleState::Started,
        ModuleState::Failed,
        Some(&failure),
    ) {
        publish.await;
    }
    let manager = ctx.manager();
    let stopped = match manager.stop_failed(&failure, generation).await {
        Ok(Some((report, stopped))) => {
            if report.is_success() {
                tracing::info!(
                    stopped = report.modules().len(),
                    "failed module and its required dependents stopped"
                );
            } else {
                tracing::warn!(%report, "failed module or its dependents did not stop cleanly");
            }
            stopped
        }
        Ok(None) => {
            tracing::debug!("the failed module was stopped or restarted meanwhile");
            return;
        }
        Err(error) => {
            tracing::error!(%error, "supervision could not stop the failed module");
            return;
        }
    };
    restart::apply_policy(&manager, stopped).await;
}

impl ModuleManager {
    /// Stops the module of `failure` and every module that requires it, if run
    /// `generation` of it is still the failed one; `None` when something else stopped or
    /// restarted it first.
    async fn stop_failed(
        &self,
        failure: &HookFailure,
        generation: u64,
    ) -> Result<Option<(Report, Stopped)>, Error> {
        let _guard = self.lock("supervise").await?;
        let graph = self.graph();
        let Ok(id) = graph.find(failure.module()) else {
            return Ok(None);
        };
        if !tasks::failed_run(&graph.entries[id], generation) {
            return Ok(None);
        }
        let targets = graph.with_required_dependents(id);
        let because: Arc<str> = Arc::from(format!("dependency {:?} failed", failure.module()));
        let mut dependents = Vec::new();
        for &i in graph.resolution.order_indices() {
            let entry = &graph.entries[i];
            if targets[i] && i != id && entry.cell().effective() == ModuleState::Started {
                tracing::warn!(module = %entry.name, dependency = failure.module(), "stopping: its dependency failed");
                tasks::set_reason(entry, Arc::clone(&because));
                dependents.push(Arc::clone(entry));
            }
        }
        let own: Arc<str> = Arc::from(format!("it failed: {}", failure.cause()));
        tasks::set_reason(&graph.entries[id], Arc::clone(&own));
        let deadline =
            crate::util::deadline_after(Instant::now(), self.inner.options.shutdown_timeout);
        let report = self.schedule(&graph, Some(&targets)).stop(deadline).await;
        self.inner.flush_state().await?;
        let stopped = Stopped {
            failed: Arc::clone(&graph.entries[id]),
            own,
            dependents,
            because,
            stop_alls: self
                .inner
                .supervision
                .stop_alls
                .load(std::sync::atomic::Ordering::Acquire),
        };
        Ok(Some((report, stopped)))
    }

    /// Waits until every failure of a running module seen so far has been dealt with: its
    /// required dependents and the module itself are stopped (see
    /// [`Context::fail`](crate::Context::fail) for what happens on a failure).
    ///
    /// A module turns `Failed` the moment one of its tasks fails; the stopping follows in
    /// a task of the manager. Tests, and whatever reacts to failures, wait here for it to
    /// settle.
    ///
    /// Refused with [`Error::Reentrant`] from inside a hook, which would wait for itself.
    /// Do not wait here from a module's own tasks either: supervision may be waiting for
    /// them to end.
    pub async fn supervision_idle(&self) -> Result<(), Error> {
        if let Some(mark) = crate::manager::reentry::Mark::current(&self.inner) {
            let module = self
                .graph()
                .entries
                .get(mark.module)
                .map_or_else(|| "?".to_owned(), |entry| entry.name.to_string());
            return Err(Error::Reentrant {
                module,
                operation: "supervision_idle",
            });
        }
        let mut pending = self.inner.supervision.pending.subscribe();
        // The sender lives in `Inner`, which `self` keeps alive: it cannot close.
        let _ = pending.wait_for(|&pending| pending == 0).await;
        Ok(())
    }
}
