//! What the state store remembers about one module.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Whether a module may run at all. Set by an operator; survives restarts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Availability {
    /// The module starts with the others.
    #[default]
    Enabled,
    /// The module stays down until enabled again.
    Disabled,
    /// The module is left out entirely (directory discovery skips it too).
    Ignored,
}

/// The last failure of a module.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// When it failed, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// The hook that failed.
    pub hook: String,
    /// Why, in words.
    pub cause: String,
}

impl FailureRecord {
    /// A failure of `hook` that happened now.
    pub fn now(hook: impl Into<String>, cause: impl Into<String>) -> Self {
        let at_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            });
        Self {
            at_unix_ms,
            hook: hook.into(),
            cause: cause.into(),
        }
    }
}

/// Everything recorded about one module.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModuleRecord {
    /// Whether it may run.
    pub availability: Availability,
    /// Whether an operator stopped it: it then stays stopped across restarts until an
    /// operator starts it.
    pub held_stopped: bool,
    /// The configuration it was last installed with.
    pub config: Option<Value>,
    /// The version that last started.
    pub started_version: Option<String>,
    /// The last failure.
    pub last_failure: Option<FailureRecord>,
}

/// One change to a module's record.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// Sets whether the module may run.
    Availability(Availability),
    /// Sets or clears the operator's stop.
    HeldStopped(bool),
    /// Records the configuration it was installed with.
    Installed(Value),
    /// Records the version that started.
    Started(String),
    /// Records a failure.
    Failed(FailureRecord),
}

impl ModuleRecord {
    /// Applies `change`.
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Availability(availability) => self.availability = *availability,
            Change::HeldStopped(held) => self.held_stopped = *held,
            Change::Installed(config) => self.config = Some(config.clone()),
            Change::Started(version) => self.started_version = Some(version.clone()),
            Change::Failed(failure) => self.last_failure = Some(failure.clone()),
        }
    }
}
