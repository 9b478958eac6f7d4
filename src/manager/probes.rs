//! [`ModuleManager::health`] and [`ModuleManager::metrics`]: every module's signals and
//! counters, read from memory.

use std::sync::atomic::Ordering;

use crate::health::{HealthSnapshot, MetricsSnapshot, ModuleHealth, ModuleMetrics, bound_reason};
use crate::lifecycle::ModuleState;
use crate::manager::ModuleManager;
use crate::state::Availability;

impl ModuleManager {
    /// Every module's state, readiness and health, in start order: what `/livez`,
    /// `/readyz` and `/startupz` answer from (see [`HealthSnapshot`] and
    /// [`crate::health`]).
    ///
    /// Read from memory, without waiting for a running operation: no health check runs
    /// because of it, however often it is called. Effective readiness is computed along
    /// required dependencies, in start order, so each module's is known before its
    /// dependents'.
    pub fn health(&self) -> HealthSnapshot {
        let graph = self.graph();
        let mut effective = vec![false; graph.entries.len()];
        let mut modules = Vec::with_capacity(graph.entries.len());
        for &i in graph.resolution.order_indices() {
            let entry = &graph.entries[i];
            let state = entry.current_state();
            let health = entry.watch.as_ref().and_then(|watch| watch.health());
            let own = entry.own_ready() && !health.as_ref().is_some_and(|h| h.is_unhealthy());
            let ready = own
                && graph
                    .resolution
                    .dependencies_of(i)
                    .iter()
                    .all(|edge| edge.optional || effective[edge.target]);
            effective[i] = ready;
            modules.push(ModuleHealth {
                name: entry.name.clone(),
                state,
                expected: entry.availability() == Availability::Enabled
                    && !entry.held_stopped.load(Ordering::Acquire),
                started: state == ModuleState::Started,
                ready,
                health,
                restarts: entry.signals.restarts().total(),
                last_failure: entry
                    .failure()
                    .map(|failure| bound_reason(failure.to_string())),
                blocked_polls: entry.signals.blocked_polls(),
            });
        }
        HealthSnapshot { modules }
    }

    /// The manager's counters, in start order: restarts by reason, blocked polls, health
    /// checks, the last duration of each hook (see [`MetricsSnapshot`]). Each is a plain
    /// atomic read when asked.
    pub fn metrics(&self) -> MetricsSnapshot {
        let graph = self.graph();
        let modules = graph
            .resolution
            .order_indices()
            .iter()
            .map(|&i| {
                let entry = &graph.entries[i];
                let (health_checks, health_check_failures) =
                    entry.watch.as_ref().map_or((0, 0), |watch| watch.checks());
                ModuleMetrics {
                    name: entry.name.clone(),
                    restarts: entry.signals.restarts(),
                    blocked_polls: entry.signals.blocked_polls(),
                    health_checks,
                    health_check_failures,
                    hook_durations: entry.hook_ticks.durations(),
                }
            })
            .collect();
        MetricsSnapshot {
            modules,
            blocked_polls: self.inner.blocked_polls.load(Ordering::Relaxed),
        }
    }
}
