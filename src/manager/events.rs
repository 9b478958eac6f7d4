//! Lifecycle events: every state change is published on the bus as `module.<event>` and as
//! `module.state_changed`.

use std::sync::Arc;
use std::time::SystemTime;

use serde::Serialize;

use crate::bus::{Event, EventBus, EventId, Tally, TopicRoutes, TopicSet, Unfinished};
use crate::context::Context;
use crate::health::HealthEvent;
use crate::lifecycle::{Hook, HookFailure, ModuleState};
use crate::manager::driver::BoxFuture;
use crate::manager::reentry::Mark;
use crate::manager::spare_events::{Change, SPARE_EVENT, SPARE_READY, new_event, ready_event};

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

/// Which lifecycle topics anyone listens to, and their routes, kept until the bus's
/// subscriptions change: starting 10,000 modules raises 50,000 events, and mostly nobody
/// listens, so the common answer must cost a couple of atomic loads; when someone does,
/// each event skips validating, interning and looking up its topic.
pub(crate) struct Listeners(TopicSet<{ LifecycleTopic::ALL.len() }>);

impl Default for Listeners {
    fn default() -> Self {
        Self(TopicSet::new(
            LifecycleTopic::ALL.map(LifecycleTopic::as_str),
        ))
    }
}

impl Listeners {
    /// The topics heard now, a bit each ([`LifecycleTopic::bit`]).
    #[inline]
    fn heard(&self, bus: &EventBus) -> u32 {
        self.0.heard(bus)
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
    publish_change::<false>(ctx, (hook, topic), from, to, failure)
}

/// After the successful start of a module without a [`Watch`](crate::manager::signals::Watch):
/// logs the change and returns the publishing of its events and of `module.ready`, in one
/// pass (one clock reading, one id reservation, one mark, one tally), when anyone listens.
/// Without a watch, ready means started, so nothing happens between the change and
/// `module.ready` that the ready event could wait for. When only `module.ready` is heard,
/// it is published on its own, as for a watched module.
#[inline]
pub(crate) fn announce_started(
    ctx: &Context,
    from: ModuleState,
    to: ModuleState,
) -> Option<BoxFuture<'static, ()>> {
    if tracing::level_enabled!(tracing::Level::DEBUG) {
        log_change(ctx, from, to);
    }
    let inner = ctx.inner();
    let heard = inner.listeners.heard(&inner.bus);
    let topic = LifecycleTopic::of(Hook::Start, to);
    let topics = topic.bit() | LifecycleTopic::StateChanged.bit() | LifecycleTopic::Ready.bit();
    if heard & topics == 0 {
        return None;
    }
    publish_change::<true>(ctx, (Hook::Start, topic), from, to, None)
}

/// Where a pass of [`publish_change`] stopped delivering on the spot: the event whose
/// delivery is left unfinished. What follows it is delivered the general way.
#[derive(Clone, Copy)]
enum Stopped {
    /// The change's event on its specific topic (or `module.state_changed` when nobody
    /// listens to the specific one).
    First,
    /// The change's event on `module.state_changed`.
    Second,
    /// `module.ready`.
    Ready,
}

/// Publishes a change someone listens to, and with `WITH_READY` `module.ready` right after
/// it when the module is started: the heavier half of [`announce`] and
/// [`announce_started`], kept out of line so that the common path stays small.
///
/// The events of a pass (the change's specific topic, `module.state_changed`, then
/// `module.ready`) share one clock reading, their ids are taken together, in order, before
/// any is delivered, and they are delivered under one mark and counted with one tally.
/// The change's two events share one payload and source: one event value is delivered,
/// then retargeted to the second topic; copies that handlers took keep what they saw.
/// Along routes of sync handlers, delivery happens here, under the module's mark, with no
/// future; what needs awaiting (an async or queued subscriber, or announcing a handler's
/// failure) and everything after it is left to the returned future, so the order is kept.
///
/// `topic` is the change's specific topic, as the caller found it. `WITH_READY` is a
/// constant so that the other changes, five of a module's six, compile to a pass without
/// the ready event's checks.
#[inline(never)]
fn publish_change<const WITH_READY: bool>(
    ctx: &Context,
    (hook, topic): (Hook, LifecycleTopic),
    from: ModuleState,
    to: ModuleState,
    failure: Option<&HookFailure>,
) -> Option<BoxFuture<'static, ()>> {
    let inner = ctx.inner();
    let entry = ctx.entry();
    let routes = inner.listeners.0.routes();
    // The change's topics anyone listens to, in publishing order: index and name.
    let mut heard = [topic, LifecycleTopic::StateChanged]
        .map(|topic| {
            routes
                .topic(topic as usize)
                .map(|name| (topic as usize, name))
        })
        .into_iter()
        .flatten();
    let (Some((first, first_name)), second) = (heard.next(), heard.next()) else {
        routes.keep();
        // Only `module.ready` is heard: it goes on its own.
        return if WITH_READY {
            publish_ready(ctx, None, false)
        } else {
            None
        };
    };
    let ready = if WITH_READY && entry.current_state() == ModuleState::Started {
        routes.topic(READY_AT)
    } else {
        None
    };
    // The module's name is cold (a cache miss per module, on its reference count): load it
    // now, so that the miss overlaps the clock read instead of stalling the locked
    // operations below, each of which waits for every load before it.
    std::hint::black_box(Arc::strong_count(&entry.name));
    let time = SystemTime::now();
    let changes = 1 + u64::from(second.is_some());
    let ids = EventId::reserve(changes + u64::from(ready.is_some()));
    let change = Change {
        from,
        to,
        hook,
        error: failure.map(|failure| failure.cause().to_string()),
    };
    let mut event = new_event(&entry.name, change, first_name, ids, time);
    let ready = ready.map(|name| ready_event(&entry.name, name, ids.nth(changes), time));
    let mark = Mark::new(inner, ctx.id());
    let bus = &inner.bus;
    let mut tally = Tally::default();
    let left = mark.run(|| {
        if let Some(unfinished) = routes.deliver_now(first, bus, &event, &mut tally) {
            return Some((Stopped::First, unfinished));
        }
        if let Some((at, name)) = second {
            event.retarget(name, ids.nth(1));
            if let Some(unfinished) = routes.deliver_now(at, bus, &event, &mut tally) {
                return Some((Stopped::Second, unfinished));
            }
        }
        let ready = ready.as_ref()?;
        Some((
            Stopped::Ready,
            routes.deliver_now(READY_AT, bus, ready, &mut tally)?,
        ))
    });
    tally.count(bus);
    let Some((stopped, unfinished)) = left else {
        SPARE_EVENT.set(Some(event));
        if let Some(ready) = ready {
            SPARE_READY.set(Some(ready));
        }
        routes.keep();
        return None;
    };
    let bus = bus.clone();
    Some(Box::pin(mark.on(async move {
        // The delivery that stopped is finished, those after it made the general way.
        let mut unfinished = Some(unfinished);
        if let Stopped::First = stopped {
            go_on(&routes, first, &bus, &event, unfinished.take()).await;
            if let Some((_, name)) = second {
                event.retarget(name, ids.nth(1));
            }
        }
        if let (Stopped::First | Stopped::Second, Some((at, _))) = (stopped, second) {
            go_on(&routes, at, &bus, &event, unfinished.take()).await;
        }
        if let Some(ready) = &ready {
            go_on(&routes, READY_AT, &bus, ready, unfinished.take()).await;
        }
    })))
}

/// Finishes the delivery of `event` along the route at `at` that stopped with
/// `unfinished`, or, with none, delivers it the general way.
async fn go_on(
    routes: &TopicRoutes,
    at: usize,
    bus: &EventBus,
    event: &Event,
    unfinished: Option<Unfinished>,
) {
    match unfinished {
        Some(unfinished) => routes.finish(at, bus, event, unfinished).await,
        None => routes.deliver(at, bus, event).await,
    }
}

/// The index of `module.ready` in the [`TopicSet`].
const READY_AT: usize = LifecycleTopic::Ready as usize;

/// After a successful start of a module with a [`Watch`](crate::manager::signals::Watch)
/// (readiness signal, health check or watchdog): `module.ready` when the module is ready by
/// its own account and anyone listens, published after the change's events (`announced`,
/// what of them is left to await). Two atomic loads when nobody listens. Modules without a
/// watch publish it with their change ([`announce_started`]).
#[inline]
pub(crate) fn announce_ready(
    ctx: &Context,
    announced: Option<BoxFuture<'static, ()>>,
) -> Option<BoxFuture<'static, ()>> {
    let inner = ctx.inner();
    if inner.listeners.heard(&inner.bus) & LifecycleTopic::Ready.bit() == 0 {
        return announced;
    }
    publish_ready(ctx, announced, true)
}

/// Publishes `module.ready` someone listens to, after what is left of the change's events:
/// on the spot along a route of sync handlers when nothing is left, else in the returned
/// future, as [`publish_change`] does.
#[inline(never)]
fn publish_ready(
    ctx: &Context,
    announced: Option<BoxFuture<'static, ()>>,
    watched: bool,
) -> Option<BoxFuture<'static, ()>> {
    let inner = ctx.inner();
    let entry = ctx.entry();
    // Without a watch, ready means started, and there is no health: the watch's field, on
    // a cache line the start did not touch, is not read (a miss per module otherwise).
    let payload = if watched {
        crate::manager::watch::health_event(entry)
    } else {
        HealthEvent {
            module: Arc::clone(&entry.name),
            ready: entry.current_state() == ModuleState::Started,
            health: None,
        }
    };
    if !payload.ready {
        return announced;
    }
    let routes = inner.listeners.0.routes();
    let at = LifecycleTopic::Ready as usize;
    let Some(topic) = routes.topic(at) else {
        routes.keep();
        return announced;
    };
    let event = Event::shared_serializable(
        topic,
        Arc::new(payload),
        Arc::clone(&entry.name),
        EventId::reserve(1),
        SystemTime::now(),
    );
    let mark = Mark::new(inner, ctx.id());
    let bus = inner.bus.clone();
    let unfinished = match announced {
        // The change's events come first: all of the delivery waits for them.
        Some(announced) => Err(announced),
        None => {
            let mut tally = Tally::default();
            let left = mark.run(|| routes.deliver_now(at, &bus, &event, &mut tally));
            tally.count(&bus);
            match left {
                None => {
                    routes.keep();
                    return None;
                }
                Some(unfinished) => Ok(unfinished),
            }
        }
    };
    Some(Box::pin(mark.on(async move {
        match unfinished {
            Ok(unfinished) => routes.finish(at, &bus, &event, unfinished).await,
            Err(announced) => {
                announced.await;
                routes.deliver(at, &bus, &event).await;
            }
        }
    })))
}
