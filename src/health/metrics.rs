//! Counters for an operator's metrics: read from atomics when asked.

use std::sync::Arc;

use serde::Serialize;

use crate::health::FailureKind;
use crate::lifecycle::Hook;

/// The manager's counters, from [`ModuleManager::metrics`](crate::ModuleManager::metrics).
///
/// Every figure is read from a plain atomic when asked: keeping them takes no lock on the
/// lifecycle path, and asking takes none either. Counters only grow (for the life of the
/// manager); durations are the last ones seen.
#[derive(Clone, Debug, Serialize)]
pub struct MetricsSnapshot {
    /// One entry per module, in start order.
    pub modules: Vec<ModuleMetrics>,
    /// Polls of hooks and owned tasks, of every module, that took longer than the
    /// [threshold](crate::ModuleManagerBuilder::blocking_threshold).
    pub blocked_polls: u64,
}

/// One module's counters in a [`MetricsSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct ModuleMetrics {
    /// The module's name.
    pub name: Arc<str>,
    /// Restarts by supervision, by what failed the module.
    pub restarts: RestartCounts,
    /// Polls of its hooks and owned tasks longer than the threshold.
    pub blocked_polls: u64,
    /// Health checks run.
    pub health_checks: u64,
    /// Health checks that answered [`Unhealthy`](crate::health::Health::Unhealthy) or
    /// timed out.
    pub health_check_failures: u64,
    /// How long each hook took the last time it ran; hooks that never ran are left out.
    pub hook_durations: Vec<HookDuration>,
}

/// How often a module was restarted, by [`FailureKind`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RestartCounts {
    /// After a task's failure or [`Context::fail`](crate::Context::fail).
    pub error: u64,
    /// After its health check stayed unhealthy.
    pub health: u64,
    /// After a missed heartbeat.
    pub watchdog: u64,
}

impl RestartCounts {
    /// Every restart, whatever the reason.
    pub fn total(&self) -> u64 {
        self.error
            .saturating_add(self.health)
            .saturating_add(self.watchdog)
    }

    /// The count for each kind, in [`FailureKind::ALL`] order.
    pub fn by_kind(&self) -> [(FailureKind, u64); 3] {
        [
            (FailureKind::Error, self.error),
            (FailureKind::Health, self.health),
            (FailureKind::Watchdog, self.watchdog),
        ]
    }
}

/// How long one hook took the last time it ran.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HookDuration {
    /// The hook.
    pub hook: Hook,
    /// Its duration, in seconds.
    pub seconds: f64,
}
