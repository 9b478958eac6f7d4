//! Lifecycle events: every state change is published on the bus as `module.<event>` and as
//! `module.state_changed`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use serde::Serialize;

use crate::bus::{Event, EventBus};
use crate::context::Context;
use crate::lifecycle::{Hook, HookFailure, ModuleState};
use crate::manager::driver::BoxFuture;
use crate::manager::reentry::Mark;

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

/// Published besides the specific event for every change.
pub const STATE_CHANGED: &str = LifecycleTopic::StateChanged.as_str();

/// Published when a module fails: in a hook, or while it runs.
pub const FAILED: &str = LifecycleTopic::Failed.as_str();

/// Published when a module becomes ready, with a [`HealthEvent`](crate::health::HealthEvent).
pub const READY: &str = LifecycleTopic::Ready.as_str();

/// Published when a module's health changes level, with a [`HealthEvent`](crate::health::HealthEvent).
pub const HEALTH_CHANGED: &str = LifecycleTopic::HealthChanged.as_str();

/// Declares the lifecycle topics from one list: the enum, `ALL` and the topic strings, so
/// that a new topic cannot be left out of the listener bits.
macro_rules! lifecycle_topics {
    ($($topic:ident => $name:literal,)*) => {
        /// A lifecycle topic; its discriminant is its bit in [`Listeners`].
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        enum LifecycleTopic {
            $($topic,)*
        }

        impl LifecycleTopic {
            /// Every topic, in discriminant order.
            const ALL: [Self; [$(Self::$topic),*].len()] = [$(Self::$topic),*];

            const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$topic => $name,)*
                }
            }
        }
    };
}

lifecycle_topics! {
    Failed => "module.failed",
    Loaded => "module.loaded",
    Installed => "module.installed",
    Starting => "module.starting",
    Started => "module.started",
    Stopping => "module.stopping",
    Stopped => "module.stopped",
    Uninstalled => "module.uninstalled",
    Reloaded => "module.reloaded",
    StateChanged => "module.state_changed",
    Ready => "module.ready",
    HealthChanged => "module.health_changed",
}

// Each topic is a bit of a `u32`.
const _: () = assert!(LifecycleTopic::ALL.len() <= u32::BITS as usize);

impl LifecycleTopic {
    /// The specific topic of a change caused by `hook` that led to `to`.
    fn of(hook: Hook, to: ModuleState) -> Self {
        match (hook, to) {
            (_, ModuleState::Failed) => Self::Failed,
            (Hook::Bootstrap, _) => Self::Loaded,
            (Hook::Install, _) => Self::Installed,
            (Hook::Start, ModuleState::Starting) => Self::Starting,
            (Hook::Start, _) => Self::Started,
            (Hook::Stop, ModuleState::Stopping) => Self::Stopping,
            (Hook::Stop, _) => Self::Stopped,
            (Hook::Uninstall, _) => Self::Uninstalled,
            (Hook::Reload, _) => Self::Reloaded,
        }
    }

    /// The topic's bit in [`Listeners`].
    const fn bit(self) -> u32 {
        1 << self as u32
    }
}

/// Which lifecycle topics anyone listens to, as a bit per [`LifecycleTopic`], kept until
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
    /// (a cached lookup per topic, once per change).
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
        let heard = LifecycleTopic::ALL
            .into_iter()
            .filter(|topic| bus.has_subscribers(topic.as_str()))
            .fold(0, |bits, topic| bits | topic.bit());
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
    ctx: &Context,
    hook: Hook,
    from: ModuleState,
    to: ModuleState,
    failure: Option<&HookFailure>,
) -> Option<BoxFuture<'static, ()>> {
    if tracing::level_enabled!(tracing::Level::DEBUG) {
        log_change(ctx, from, to);
    }
    let inner = ctx.inner();
    let heard = inner.listeners.heard(&inner.bus);
    let topic = LifecycleTopic::of(hook, to);
    if heard & (topic.bit() | LifecycleTopic::StateChanged.bit()) == 0 {
        return None;
    }
    Some(publish_change(ctx, hook, from, to, failure, heard))
}

/// Builds the publishing of a change someone listens to: the heavier half of
/// [`announce`], kept out of line so that the common path stays small.
#[inline(never)]
fn publish_change(
    ctx: &Context,
    hook: Hook,
    from: ModuleState,
    to: ModuleState,
    failure: Option<&HookFailure>,
    heard: u32,
) -> BoxFuture<'static, ()> {
    let entry = ctx.entry();
    let topics = [LifecycleTopic::of(hook, to), LifecycleTopic::StateChanged];
    let payload = ModuleEvent {
        module: Arc::clone(&entry.name),
        from,
        to,
        hook,
        error: failure.map(|failure| failure.cause().to_string()),
    };
    let events: Vec<Event> = topics
            .into_iter()
            .filter(|topic| heard & topic.bit() != 0)
            .filter_map(|topic| match Event::serializable(topic.as_str(), payload.clone()) {
                Ok(event) => Some(event.with_source(Arc::clone(&entry.name))),
                Err(error) => {
                    tracing::error!(%error, topic = topic.as_str(), "cannot build a lifecycle event");
                    None
                }
            })
            .collect();
    let bus = ctx.inner().bus.clone();
    Box::pin(Mark::new(ctx.inner(), ctx.id()).on(async move {
        for event in events {
            bus.publish_event(event).await;
        }
    }))
}
