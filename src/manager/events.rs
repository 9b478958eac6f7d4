//! Lifecycle events: every state change is published on the bus as `module.<event>` and as
//! `module.state_changed`.

use std::sync::Arc;

use serde::Serialize;

use crate::bus::Event;
use crate::lifecycle::{Hook, HookFailure, ModuleState};
use crate::manager::Inner;
use crate::manager::entry::Entry;
use crate::manager::runner::IN_HOOK;

/// The payload of every `module.*` event.
///
/// Handlers read it as `&ModuleEvent`; across a boundary it has a JSON form:
/// `{"module": "database", "from": "starting", "to": "started", "hook": "start", "error": null}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ModuleEvent {
    /// The module whose state changed.
    pub module: Arc<str>,
    /// The state before.
    pub from: ModuleState,
    /// The state now.
    pub to: ModuleState,
    /// The hook that caused the change.
    pub hook: Hook,
    /// For `module.failed`: what went wrong.
    pub error: Option<String>,
}

/// The topic-specific event for a change caused by `hook` that led to `to`.
fn topic(hook: Hook, to: ModuleState) -> &'static str {
    match (hook, to) {
        (_, ModuleState::Failed) => "module.failed",
        (Hook::Bootstrap, _) => "module.loaded",
        (Hook::Install, _) => "module.installed",
        (Hook::Start, ModuleState::Starting) => "module.starting",
        (Hook::Start, _) => "module.started",
        (Hook::Stop, ModuleState::Stopping) => "module.stopping",
        (Hook::Stop, _) => "module.stopped",
        (Hook::Uninstall, _) => "module.uninstalled",
        (Hook::Reload, _) => "module.reloaded",
    }
}

/// Published besides the specific event for every change.
pub const STATE_CHANGED: &str = "module.state_changed";

impl Inner {
    /// Publishes a state change of `entry` caused by `hook`, and waits for the handlers.
    ///
    /// Nothing is built when nobody listens. Handlers run in the operation's task, marked
    /// as inside the module's hook, so that a handler calling a lifecycle operation of this
    /// manager is refused instead of waiting for itself.
    pub(crate) async fn announce(
        &self,
        entry: &Entry,
        hook: Hook,
        from: ModuleState,
        to: ModuleState,
        failure: Option<&HookFailure>,
    ) {
        tracing::debug!(module = %entry.name, from = from.as_str(), to = to.as_str(), "state changed");
        let specific = topic(hook, to);
        let listeners = [specific, STATE_CHANGED].map(|topic| self.bus.has_subscribers(topic));
        if listeners == [false, false] {
            return;
        }
        let payload = ModuleEvent {
            module: Arc::clone(&entry.name),
            from,
            to,
            hook,
            error: failure.map(|failure| failure.cause().to_string()),
        };
        for (topic, listening) in [specific, STATE_CHANGED].into_iter().zip(listeners) {
            if !listening {
                continue;
            }
            match Event::serializable(topic, payload.clone()) {
                Ok(event) => {
                    let event = event.with_source(Arc::clone(&entry.name));
                    IN_HOOK
                        .scope(Arc::clone(&entry.name), self.bus.publish_event(event))
                        .await;
                }
                Err(error) => tracing::error!(%error, topic, "cannot build a lifecycle event"),
            }
        }
    }
}
