//! Restarting a module that failed while running, as its
//! [restart policy](crate::supervision::RestartPolicy) says: the last step of supervision
//! (see [`supervisor`](super::supervisor)).
//!
//! After supervision stopped the failed module and its required dependents, the module's
//! restart bookkeeping decides. To restart, supervision waits out the backoff on tokio's
//! clock, then, under the operation lock, starts the failed module and the dependents
//! stopped with it in one start, in dependency order. A restart whose start fails counts
//! as another failure and is decided on again. When the restarts are used up the module
//! stays down, and with [`Escalation::Shutdown`] the manager's escalation is raised.
//!
//! A module (or dependent) that an operator started or stopped while supervision waited is
//! left alone: its recorded reason is gone (a start clears it) or it is held stopped.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::bus::Event;
use crate::error::Error;
use crate::lifecycle::ModuleState;
use crate::manager::entry::Entry;
use crate::manager::report::{Outcome, Report};
use crate::manager::supervisor::Stopped;
use crate::manager::{ModuleManager, tasks};
use crate::supervision::{Decision, Escalation};

/// Published on the bus when supervision has restarted a module, with a [`RestartEvent`].
pub const RESTARTED: &str = "module.restarted";

/// The payload of [`RESTARTED`].
///
/// Its JSON form: `{"module": "db", "attempt": 2, "wait_ms": 200}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RestartEvent {
    /// The module that was restarted.
    pub module: Arc<str>,
    /// Which restart this was, counted since the module was last stable: 1 for the first.
    pub attempt: u32,
    /// How long supervision waited before it, in milliseconds.
    pub wait_ms: u64,
}

/// Applies the restart policy of the module that supervision has just stopped.
pub(crate) async fn apply_policy(manager: &ModuleManager, mut stopped: Stopped) {
    loop {
        let entry = Arc::clone(&stopped.failed);
        let Some((decision, attempt)) = tasks::decide_restart(&entry, Instant::now(), true) else {
            // Never restarted: it stays down, as it always did.
            return;
        };
        let wait = match decision {
            Decision::RestartAfter(wait) => wait,
            Decision::GiveUp => {
                manager.give_up(&stopped).await;
                return;
            }
        };
        let wait_ms = millis(wait);
        tracing::info!(module = %entry.name, attempt, wait_ms, "restarting the failed module after its backoff");
        tokio::time::sleep(wait).await;
        let report = match manager.restart(&stopped).await {
            Ok(Some(report)) => report,
            Ok(None) => {
                tracing::info!(module = %entry.name, "not restarted: it, a dependency or everything was started or stopped meanwhile");
                return;
            }
            Err(error) => {
                tracing::error!(module = %entry.name, %error, "supervision could not restart the module");
                return;
            }
        };
        match report
            .modules()
            .iter()
            .find(|module| module.name() == &*entry.name)
            .map(|module| module.outcome())
        {
            Some(Outcome::Done) => {
                entry.signals.count_restart();
                tracing::info!(module = %entry.name, attempt, wait_ms, restarted = report.modules().len(), "module restarted");
                publish(manager, &entry, attempt, wait_ms).await;
                return;
            }
            Some(Outcome::Failed(failure)) => {
                // The start cleared the reason; it failed again, and is decided on again.
                tracing::warn!(module = %entry.name, attempt, error = %failure.cause(), "the restart failed");
                let own: Arc<str> = Arc::from(format!("it failed: {}", failure.cause()));
                tasks::set_reason(&entry, Arc::clone(&own));
                stopped.own = own;
            }
            other => {
                tracing::warn!(module = %entry.name, outcome = ?other, "the restart did not start the module");
                return;
            }
        }
    }
}

/// Milliseconds of `wait`, saturating.
fn millis(wait: Duration) -> u64 {
    u64::try_from(wait.as_millis()).unwrap_or(u64::MAX)
}

/// Publishes [`RESTARTED`] for `entry`.
async fn publish(manager: &ModuleManager, entry: &Entry, attempt: u32, wait_ms: u64) {
    let bus = manager.bus();
    if !bus.has_subscribers(RESTARTED) {
        return;
    }
    let payload = RestartEvent {
        module: Arc::clone(&entry.name),
        attempt,
        wait_ms,
    };
    match Event::serializable(RESTARTED, payload) {
        Ok(event) => {
            bus.forward(event.with_source(Arc::clone(&entry.name)))
                .await;
        }
        Err(error) => tracing::error!(%error, "cannot build the restart event"),
    }
}

/// Whether `entry` is still down for `reason`: not started since, nor stopped by an
/// operator.
fn still_down(entry: &Entry, reason: &Arc<str>) -> bool {
    tasks::reason_is(entry, reason) && !entry.held_stopped.load(Ordering::Acquire)
}

impl ModuleManager {
    /// Starts the failed module of `stopped` and the dependents stopped with it that are
    /// still down for that reason and whose other dependencies run, in one start; `None`
    /// when the failed module itself was started or stopped by someone else meanwhile, a
    /// dependency it requires is down, or everything was stopped.
    async fn restart(&self, stopped: &Stopped) -> Result<Option<Report>, Error> {
        let _guard = self.lock("restart").await?;
        let graph = self.graph();
        // The same module, not one registered under its name since.
        let index = |entry: &Arc<Entry>| {
            graph
                .find(&entry.name)
                .ok()
                .filter(|&i| Arc::ptr_eq(&graph.entries[i], entry))
        };
        if self.inner.supervision.stop_alls.load(Ordering::Acquire) != stopped.stop_alls {
            // Everything was stopped meanwhile: the application is shutting down.
            return Ok(None);
        }
        let mut targets = vec![false; graph.entries.len()];
        // Started only with its required dependencies running (or starting with it): the
        // start of a set does not start what lies outside it.
        let ready = |i: usize, targets: &[bool]| {
            graph.resolution.dependencies_of(i).iter().all(|edge| {
                edge.optional
                    || targets[edge.target]
                    || graph.entries[edge.target].current_state() == ModuleState::Started
            })
        };
        let Some(id) = index(&stopped.failed)
            .filter(|&id| still_down(&stopped.failed, &stopped.own) && ready(id, &targets))
        else {
            return Ok(None);
        };
        targets[id] = true;
        // In start order, so that a dependent left down leaves its own dependents down.
        for dependent in &stopped.dependents {
            if let Some(i) = index(dependent).filter(|_| still_down(dependent, &stopped.because)) {
                targets[i] = ready(i, &targets);
            }
        }
        let report = self.schedule(&graph, Some(&targets)).start(false).await;
        self.inner.flush_state().await?;
        Ok(Some(report))
    }

    /// The failed module of `stopped` has used up its restarts: it stays down, saying so,
    /// and the manager escalates if it is to.
    async fn give_up(&self, stopped: &Stopped) {
        let entry = &stopped.failed;
        let (max, within) = entry
            .metadata
            .get_restart()
            .map_or((0, Duration::ZERO), |policy| {
                (policy.max_restarts(), policy.within())
            });
        match self.lock("give up").await {
            Ok(_guard) if still_down(entry, &stopped.own) => {
                let reason = format!(
                    "{}; restarts used up ({max} within {within:?})",
                    stopped.own
                );
                tasks::set_reason(entry, Arc::from(reason));
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "supervision could not record the give-up"),
        }
        tracing::warn!(module = %entry.name, max_restarts = max, ?within, "restarts used up: the module stays down");
        if self.inner.options.escalation == Escalation::Shutdown {
            tracing::error!(module = %entry.name, "restarts used up: escalating to shut down the application");
            self.inner.supervision.escalate(&entry.name);
        }
    }

    /// Resolves once a module whose policy restarts it has used up its restarts while the
    /// manager's escalation is [`Escalation::Shutdown`] (see
    /// [`ModuleManagerBuilder::escalation`](crate::ModuleManagerBuilder::escalation)); at
    /// once if that already happened. Supervision itself only raises this signal and stops
    /// nothing more: `run_until` answers it by stopping everything and reporting failure,
    /// and an application that drives the manager itself should do the same here.
    ///
    /// Gives the name of the module that gave up.
    pub async fn escalated(&self) -> String {
        self.inner.supervision.escalated.cancelled().await;
        self.inner
            .supervision
            .escalated_by()
            .unwrap_or_else(|| "a module".to_owned())
    }
}
