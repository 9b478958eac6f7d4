//! Readiness, health checks and watchdogs: what an operator, a load balancer or a process
//! supervisor asks of a running application.
//!
//! Every module has three signals:
//!
//! - **started**: its hooks finished (`bootstrap`, `install`, `start`) and it has not stopped
//!   since (its state is [`Started`](crate::ModuleState::Started));
//! - **ready**: it serves. By default a module is ready when its `start` returns; a module
//!   that declares [`ModuleMetadata::signals_readiness`](crate::ModuleMetadata::signals_readiness)
//!   is ready only once it calls [`Context::ready`](crate::Context::ready) (systemd's
//!   `Type=notify`). A module whose last health check said
//!   [`Unhealthy`](Health::Unhealthy) is not ready. Its *effective* readiness also needs
//!   every module it requires to be effectively ready, transitively; optional dependencies
//!   never make it unready;
//! - **health**: the cached answer of its optional [`health`](crate::Module::health) hook,
//!   run on the schedule its [`HealthCheck`] gives, on a task of the manager — never when
//!   someone asks. Asking [`ModuleManager::health`](crate::ModuleManager::health) a
//!   thousand times runs no check at all.
//!
//! A module may also declare a [watchdog](crate::ModuleMetadata::watchdog): it must then
//! call [`Context::heartbeat`](crate::Context::heartbeat) within every period. A missed
//! heartbeat, and a health check that stays unhealthy past its
//! [threshold](HealthCheck::unhealthy_after), are failures while running: the module fails
//! like one whose task failed, and its [restart policy](crate::supervision) applies.
//!
//! [`ModuleManager::health`](crate::ModuleManager::health) returns all of it in one
//! serializable [`HealthSnapshot`]; [`ModuleManager::metrics`](crate::ModuleManager::metrics)
//! the counters ([`MetricsSnapshot`]). Changes are published on the manager's bus:
//! [`READY`] when a module becomes ready, [`HEALTH_CHANGED`] when its health changes level,
//! both with a [`HealthEvent`].
//!
//! Modules that declare none of this cost what they always did: no task, no timer.

mod check;
mod metrics;
mod snapshot;

use std::sync::Arc;

use serde::Serialize;

pub use crate::manager::{HEALTH_CHANGED, READY};
pub use check::{HealthCheck, MIN_PERIOD};

pub use metrics::{HookDuration, MetricsSnapshot, ModuleMetrics, RestartCounts};
pub use snapshot::{HealthSnapshot, ModuleHealth};

/// The most characters of a reason kept (a health check's, a failure's); longer ones are
/// cut, so that a check cannot fill memory or an operator's page with one answer.
pub const MAX_REASON_CHARS: usize = 512;

/// What a health check says (the .NET levels: healthy > degraded > unhealthy).
///
/// Its JSON form: `{"status": "healthy"}`, `{"status": "degraded", "reason": "…"}`,
/// `{"status": "unhealthy", "reason": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Health {
    /// Everything works.
    Healthy,
    /// It serves, with less than it should (a replica down, a cache cold): reported, but
    /// neither readiness nor liveness changes.
    Degraded {
        /// What is wrong, for an operator.
        reason: String,
    },
    /// It cannot serve: the module is not ready, and staying unhealthy past its check's
    /// threshold fails it.
    Unhealthy {
        /// What is wrong, for an operator.
        reason: String,
    },
}

impl Health {
    /// Degraded, saying why.
    pub fn degraded(reason: impl Into<String>) -> Self {
        Health::Degraded {
            reason: reason.into(),
        }
    }

    /// Unhealthy, saying why.
    pub fn unhealthy(reason: impl Into<String>) -> Self {
        Health::Unhealthy {
            reason: reason.into(),
        }
    }

    /// Whether it is [`Unhealthy`](Health::Unhealthy).
    pub fn is_unhealthy(&self) -> bool {
        matches!(self, Health::Unhealthy { .. })
    }

    /// The level's name: `"healthy"`, `"degraded"` or `"unhealthy"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Health::Healthy => "healthy",
            Health::Degraded { .. } => "degraded",
            Health::Unhealthy { .. } => "unhealthy",
        }
    }

    /// The reason, if it has one.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Health::Healthy => None,
            Health::Degraded { reason } | Health::Unhealthy { reason } => Some(reason),
        }
    }

    /// The same level with its reason cut to [`MAX_REASON_CHARS`].
    pub(crate) fn bounded(self) -> Self {
        match self {
            Health::Healthy => Health::Healthy,
            Health::Degraded { reason } => Health::Degraded {
                reason: bound_reason(reason),
            },
            Health::Unhealthy { reason } => Health::Unhealthy {
                reason: bound_reason(reason),
            },
        }
    }

    /// Whether `self` and `other` are the same level, whatever their reasons.
    pub(crate) fn same_level(&self, other: &Health) -> bool {
        std::mem::discriminant(self) == std::mem::discriminant(other)
    }
}

impl std::fmt::Display for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.reason() {
            Some(reason) => write!(f, "{}: {reason}", self.as_str()),
            None => f.write_str(self.as_str()),
        }
    }
}

/// `reason`, cut to [`MAX_REASON_CHARS`] characters (with `…` when cut).
pub(crate) fn bound_reason(mut reason: String) -> String {
    if let Some((cut, _)) = reason.char_indices().nth(MAX_REASON_CHARS) {
        reason.truncate(cut);
        reason.push('…');
    }
    reason
}

/// The payload of [`READY`] and [`HEALTH_CHANGED`]: the module's own signals after the
/// change.
///
/// Its JSON form: `{"module": "db", "ready": true, "health": {"status": "healthy"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HealthEvent {
    /// The module.
    pub module: Arc<str>,
    /// Its own readiness (not looking at its dependencies).
    pub ready: bool,
    /// Its last health check's answer; `None` when it has no check or none has run yet.
    pub health: Option<Health>,
}

/// Why the manager failed a running module for its health or its watchdog: the cause of
/// its failure ([`ModuleHandle::failure`](crate::manager::ModuleHandle::failure)).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WatchFailure {
    /// Its health check answered unhealthy, check after check, for the threshold.
    #[error("it stayed unhealthy for {unhealthy_for:?} (its threshold); last: {reason}")]
    Unhealthy {
        /// How long it had been unhealthy.
        unhealthy_for: std::time::Duration,
        /// The last check's reason.
        reason: String,
    },
    /// It did not call `Context::heartbeat` within its watchdog's period.
    #[error(
        "it missed its watchdog: no heartbeat for {period:?}; call Context::heartbeat from the loop that does its work"
    )]
    MissedHeartbeat {
        /// The watchdog's period.
        period: std::time::Duration,
    },
}

/// Why a module failed while running, as counted by its restarts
/// ([`RestartCounts`]) and named in metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailureKind {
    /// One of its tasks failed, or it called [`Context::fail`](crate::Context::fail).
    Error,
    /// Its health check stayed unhealthy past the threshold.
    Health,
    /// It missed its watchdog's heartbeat.
    Watchdog,
}

impl FailureKind {
    /// Every kind, in the order of their indices.
    pub const ALL: [FailureKind; 3] = [
        FailureKind::Error,
        FailureKind::Health,
        FailureKind::Watchdog,
    ];

    /// The kind's name, as a metric label: `"error"`, `"health"`, `"watchdog"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FailureKind::Error => "error",
            FailureKind::Health => "health",
            FailureKind::Watchdog => "watchdog",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_serializes_with_a_status_tag() {
        let json = |health: &Health| serde_json::to_string(health).unwrap_or_default();
        assert_eq!(json(&Health::Healthy), r#"{"status":"healthy"}"#);
        assert_eq!(
            json(&Health::degraded("replica down")),
            r#"{"status":"degraded","reason":"replica down"}"#
        );
        assert_eq!(
            json(&Health::unhealthy("no database")),
            r#"{"status":"unhealthy","reason":"no database"}"#
        );
    }

    #[test]
    fn long_reasons_are_cut() {
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        let bounded = Health::unhealthy(long).bounded();
        let reason = bounded.reason().unwrap_or_default();
        assert_eq!(reason.chars().count(), MAX_REASON_CHARS + 1);
        assert!(reason.ends_with('…'));
        assert_eq!(
            Health::degraded("short").bounded(),
            Health::degraded("short")
        );
    }
}
