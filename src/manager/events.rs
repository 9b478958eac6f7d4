//! Lifecycle events: every state change is published on the bus as `module.<event>` and as
//! `module.state_changed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use serde::Serialize;

use crate::bus::{Event, EventBus};
use crate::context::Context;
use crate::lifecycle::{Hook, HookFailure, ModuleState};
use crate::manager::Inner;
use crate::manager::reentry::Mark;
use crate::module::BoxFuture;

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

/// Every lifecycle topic; the index of a topic is its bit in [`Listeners`].
const TOPICS: [&str; 10] = [
    "module.failed",
    "module.loaded",
    "module.installed",
    "module.starting",
    "module.started",
    "module.stopping",
    "module.stopped",
    "module.uninstalled",
    "module.reloaded",
    STATE_CHANGED,
];

/// Published besides the specific event for every change.
pub const STATE_CHANGED: &str = "module.state_changed";

/// The index in [`TOPICS`] of the specific event for a change caused by `hook` that led to
/// `to`.
fn topic(hook: Hook, to: ModuleState) -> usize {
    match (hook, to) {
        (_, ModuleState::Failed) => 0,
        (Hook::Bootstrap, _) => 1,
        (Hook::Install, _) => 2,
        (Hook::Start, ModuleState::Starting) => 3,
        (Hook::Start, _) => 4,
        (Hook::Stop, ModuleState::Stopping) => 5,
        (Hook::Stop, _) => 6,
        (Hook::Uninstall, _) => 7,
        (Hook::Reload, _) => 8,
    }
}

/// Which lifecycle topics anyone listens to, as a bit per topic of [`TOPICS`], kept until
/// the bus's subscriptions change: starting 10,000 modules raises 50,000 events, and mostly
/// nobody listens, so the common answer must cost a couple of atomic loads.
pub(crate) struct Listeners {
    stamp: AtomicU64,
    heard: AtomicU32,
}

impl Default for Listeners {
    fn default() -> Self {
        Self {
            stamp: AtomicU64::new(u64::MAX),
            heard: AtomicU32::new(0),
        }
    }
}

impl Listeners {
    /// The topics heard now. When the subscriptions changed, all topics are asked again
    /// (ten cached lookups, once per change).
    #[inline]
    fn heard(&self, bus: &EventBus) -> u32 {
        let changes = bus.subscription_changes();
        if self.stamp.load(Ordering::Acquire) == changes {
            return self.heard.load(Ordering::Acquire);
        }
        self.refresh(bus, changes)
    }

    #[inline(never)]
    fn refresh(&self, bus: &EventBus, changes: u64) -> u32 {
        let heard = TOPICS
            .iter()
            .enumerate()
            .filter(|(_, topic)| bus.has_subscribers(topic))
            .fold(0, |bits, (index, _)| bits | 1 << index);
        self.heard.store(heard, Ordering::Release);
        self.stamp.store(changes, Ordering::Release);
        heard
    }
}

/// Logs a state change at debug level: out of line, as it is rarely enabled and its call
/// site is large.
#[inline(never)]
fn log_change(ctx: &Context, from: ModuleState, to: ModuleState) {
    tracing::debug!(module = %ctx.entry().name, from = from.as_str(), to = to.as_str(), "state changed");
}

impl Inner {
    /// Logs a state change of the module of `ctx` caused by `hook`, and returns the publishing of its
    /// events when anyone listens; the caller awaits it, so handlers run before the
    /// operation moves on.
    ///
    /// Nothing is built when nobody listens, and the common path holds no large future.
    /// Handlers run in the operation's task, marked as inside the module's hook, so that a
    /// handler calling a lifecycle operation of this manager is refused instead of waiting
    /// for itself.
    #[inline]
    pub(crate) fn announce(
        &self,
        ctx: &Context,
        hook: Hook,
        from: ModuleState,
        to: ModuleState,
        failure: Option<&HookFailure>,
    ) -> Option<BoxFuture<'static, ()>> {
        if tracing::level_enabled!(tracing::Level::DEBUG) {
            log_change(ctx, from, to);
        }
        let heard = self.listeners.heard(&self.bus);
        let topics = 1 << topic(hook, to) | 1 << (TOPICS.len() - 1);
        if heard & topics == 0 {
            return None;
        }
        Some(self.publish_change(ctx, hook, from, to, failure, heard))
    }

    /// Builds the publishing of a change someone listens to: the heavier half of
    /// [`Inner::announce`], kept out of line so that the common path stays small.
    #[inline(never)]
    fn publish_change(
        &self,
        ctx: &Context,
        hook: Hook,
        from: ModuleState,
        to: ModuleState,
        failure: Option<&HookFailure>,
        heard: u32,
    ) -> BoxFuture<'static, ()> {
        let entry = ctx.entry();
        let topics = [topic(hook, to), TOPICS.len() - 1];
        let listening = topics.map(|index| heard & 1 << index != 0);
        let payload = ModuleEvent {
            module: Arc::clone(&entry.name),
            from,
            to,
            hook,
            error: failure.map(|failure| failure.cause().to_string()),
        };
        let events: Vec<Event> = topics
            .into_iter()
            .zip(listening)
            .filter(|&(_, listening)| listening)
            .filter_map(|(index, _)| match Event::serializable(TOPICS[index], payload.clone()) {
                Ok(event) => Some(event.with_source(Arc::clone(&entry.name))),
                Err(error) => {
                    tracing::error!(%error, topic = TOPICS[index], "cannot build a lifecycle event");
                    None
                }
            })
            .collect();
        let bus = self.bus.clone();
        Box::pin(Mark::new(self, ctx.id()).on(async move {
            for event in events {
                bus.publish_event(event).await;
            }
        }))
    }
}
