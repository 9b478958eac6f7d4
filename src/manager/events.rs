//! Telling the world about state changes.

use crate::lifecycle::{HookFailure, ModuleState};
use crate::manager::Inner;
use crate::manager::entry::Entry;

impl Inner {
    /// Reports a state change of `entry`.
    pub(crate) fn announce(&self, entry: &Entry, old: ModuleState, new: ModuleState) {
        tracing::debug!(module = %entry.name, from = old.as_str(), to = new.as_str(), "state changed");
    }

    /// Reports that a hook of `entry` failed; the module was in `old` before.
    pub(crate) fn announce_failure(&self, entry: &Entry, old: ModuleState, failure: &HookFailure) {
        tracing::warn!(module = %entry.name, hook = failure.hook().as_str(), error = %failure.cause(), "hook failed");
        self.announce(entry, old, ModuleState::Failed);
    }
}
