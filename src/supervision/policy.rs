//! Restart policies and escalation.

use std::time::Duration;

/// When a module that failed while running is started again (Erlang/OTP's child types,
/// systemd's `Restart=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Restart {
    /// Never: the module stays `Failed` (OTP `temporary`). The default, so that nothing
    /// restarts unless the application asked for it.
    #[default]
    Never,
    /// After a failure: an error or panic of one of its tasks, a long-running task that
    /// ended, or an explicit `Context::fail` (OTP `transient`).
    OnFailure,
    /// After a failure, and also when all of its tasks ended without one while it was
    /// started (OTP `permanent`).
    ///
    /// For now the manager applies it like [`OnFailure`](Self::OnFailure): a module whose
    /// tasks all ended cleanly keeps running (it is not seen as having ended), and a
    /// long-running task that ends early is already a failure.
    Always,
}

/// What the manager does when a module has used up its restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Escalation {
    /// The module stays down (stopped, or `Failed` if its stop failed), its dependents stay
    /// stopped, the rest keeps running.
    #[default]
    KeepRunning,
    /// Everything is stopped in reverse order and the run reports failure, so that an
    /// outer supervisor (systemd, Kubernetes) restarts the process. Supervision raises
    /// [`ModuleManager::escalated`](crate::ModuleManager::escalated); `run_until` does the
    /// stopping. Only modules whose policy restarts them escalate: one that is never
    /// restarted (OTP `temporary`) just stays down.
    Shutdown,
}

/// How a module is restarted after it fails while running.
///
/// Defaults: [`Restart::Never`]; at most 3 restarts within 60 s; waits from 100 ms,
/// doubling, to at most 30 s, each with up to as much again of random jitter; the count
/// resets once the module has stayed up for 60 s.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartPolicy {
    restart: Restart,
    max_restarts: u32,
    within: Duration,
    backoff_base: Duration,
    backoff_cap: Duration,
    jitter: bool,
    stable_after: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self::new(Restart::Never)
    }
}

impl RestartPolicy {
    /// A policy that restarts per `restart`, with the defaults above.
    pub fn new(restart: Restart) -> Self {
        Self {
            restart,
            max_restarts: 3,
            within: Duration::from_secs(60),
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(30),
            jitter: true,
            stable_after: Duration::from_secs(60),
        }
    }

    /// Restart intensity: at most `max_restarts` restarts within any `within`; one more
    /// failure and the module gives up.
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// The wait before the first restart (`base`), doubling after each, at most `cap`.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap.max(base);
        self
    }

    /// Whether each wait gets up to as much again of random jitter (on by default), so
    /// that replicas failing together do not restart together.
    pub fn jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// How long a restarted module must stay up for its backoff and restart count to
    /// start over.
    pub fn stable_after(mut self, stable_after: Duration) -> Self {
        self.stable_after = stable_after;
        self
    }

    /// When the module is restarted.
    pub fn restart(&self) -> Restart {
        self.restart
    }

    /// The restart intensity: at most this many restarts within the window.
    pub fn max_restarts(&self) -> u32 {
        self.max_restarts
    }

    /// The window of the restart intensity.
    pub fn within(&self) -> Duration {
        self.within
    }

    /// The first and the longest wait between restarts.
    pub fn backoff_range(&self) -> (Duration, Duration) {
        (self.backoff_base, self.backoff_cap)
    }

    /// Whether waits get random jitter.
    pub fn has_jitter(&self) -> bool {
        self.jitter
    }

    /// See [`stable_after`](Self::stable_after).
    pub fn stable_period(&self) -> Duration {
        self.stable_after
    }
}
