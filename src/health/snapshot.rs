//! The state of every module in one place: what the probes answer from.

use std::sync::Arc;

use serde::Serialize;

use crate::health::Health;
use crate::lifecycle::ModuleState;

/// Every module's signals at one moment, from
/// [`ModuleManager::health`](crate::ModuleManager::health): read from memory, no check
/// runs to make it.
///
/// The three probe answers ([`is_live`](Self::is_live), [`is_ready`](Self::is_ready),
/// [`is_started`](Self::is_started)) consider only the modules that are meant to run
/// ([`ModuleHealth::expected`]): a disabled or ignored module, or one an operator stopped,
/// does not make the application unready.
#[derive(Clone, Debug, Serialize)]
pub struct HealthSnapshot {
    /// One entry per module, in start order.
    pub modules: Vec<ModuleHealth>,
}

/// One module's signals in a [`HealthSnapshot`].
#[derive(Clone, Debug, Serialize)]
pub struct ModuleHealth {
    /// The module's name.
    pub name: Arc<str>,
    /// Its lifecycle state.
    pub state: ModuleState,
    /// Whether it is meant to run: enabled, and not held stopped by an operator.
    pub expected: bool,
    /// Whether its hooks finished and it has not stopped since (its state is
    /// [`Started`](ModuleState::Started)).
    pub started: bool,
    /// Its effective readiness: it is started, ready by its own account (at once, or once
    /// it called [`Context::ready`](crate::Context::ready) if it
    /// [signals readiness](crate::ModuleMetadata::signals_readiness)), not
    /// [`Unhealthy`](Health::Unhealthy), and every module it requires is effectively ready,
    /// transitively. Optional dependencies are not looked at.
    pub ready: bool,
    /// Its last health check's answer; `None` when it has no check, or none has run since
    /// it started.
    pub health: Option<Health>,
    /// How many times supervision restarted it.
    pub restarts: u64,
    /// Its last failure, kept after it recovers (at most
    /// [`MAX_REASON_CHARS`](crate::health::MAX_REASON_CHARS) characters).
    pub last_failure: Option<String>,
    /// How many polls of its hooks and tasks took longer than the manager's
    /// [threshold](crate::ModuleManagerBuilder::blocking_threshold).
    pub blocked_polls: u64,
}

impl HealthSnapshot {
    /// Liveness (Kubernetes' `livenessProbe`, Spring's `LivenessState.CORRECT`): no
    /// expected module is [`Failed`](ModuleState::Failed) (a failure not yet dealt with by
    /// supervision, or a stop that failed) and none reports [`Unhealthy`](Health::Unhealthy).
    ///
    /// Each module is judged by itself: a module stopped because a dependency failed is
    /// stopped, not failed, and dependencies are never looked at. A module that is merely
    /// not ready yet is live.
    pub fn is_live(&self) -> bool {
        self.expected().all(|module| {
            module.state != ModuleState::Failed
                && !module.health.as_ref().is_some_and(Health::is_unhealthy)
        })
    }

    /// Readiness (Kubernetes' `readinessProbe`, Spring's `ACCEPTING_TRAFFIC`): every
    /// expected module is effectively [ready](ModuleHealth::ready).
    pub fn is_ready(&self) -> bool {
        self.expected().all(|module| module.ready)
    }

    /// Startup (Kubernetes' `startupProbe`): every expected module is
    /// [started](ModuleHealth::started). Readiness and liveness mean little before it.
    pub fn is_started(&self) -> bool {
        self.expected().all(|module| module.started)
    }

    /// The entry of the module called `name`.
    pub fn module(&self, name: &str) -> Option<&ModuleHealth> {
        self.modules.iter().find(|module| &*module.name == name)
    }

    fn expected(&self) -> impl Iterator<Item = &ModuleHealth> {
        self.modules.iter().filter(|module| module.expected)
    }
}
