//! The manager's settings.

use std::time::Duration;

use crate::lifecycle::Hook;
use crate::supervision::Escalation;

/// How the manager runs hooks. Set through [`ModuleManagerBuilder`](crate::ModuleManagerBuilder).
#[derive(Clone, Debug)]
pub(crate) struct Options {
    /// At most this many hooks run at once in `start_all` and `stop_all`.
    pub(crate) max_concurrency: usize,
    /// The time limit of each hook, indexed by `Hook as usize`; `None` for no limit.
    pub(crate) timeouts: [Option<Duration>; Hook::ALL.len()],
    /// The time `stop_all` may take as a whole.
    pub(crate) shutdown_timeout: Duration,
    /// Whether `start_all` stops everything it started when a module fails.
    pub(crate) fail_fast: bool,
    /// What happens when a module has used up its restarts.
    pub(crate) escalation: Escalation,
    /// A poll longer than this blocked the runtime.
    pub(crate) blocking_threshold: Duration,
}

/// A poll of a hook or task longer than this is reported as blocking, unless configured
/// otherwise ([`ModuleManagerBuilder::blocking_threshold`](crate::ModuleManagerBuilder::blocking_threshold)).
pub const DEFAULT_BLOCKING_THRESHOLD: Duration = Duration::from_millis(50);

/// The time limit of every hook unless configured otherwise.
pub const DEFAULT_HOOK_TIMEOUT: Duration = Duration::from_secs(60);

/// The time `stop_all` may take unless configured otherwise.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

impl Default for Options {
    fn default() -> Self {
        Self {
            max_concurrency: usize::MAX,
            timeouts: [Some(DEFAULT_HOOK_TIMEOUT); Hook::ALL.len()],
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            fail_fast: false,
            escalation: Escalation::KeepRunning,
            blocking_threshold: DEFAULT_BLOCKING_THRESHOLD,
        }
    }
}

impl Options {
    pub(crate) fn timeout(&self, hook: Hook) -> Option<Duration> {
        self.timeouts[hook as usize]
    }
}
