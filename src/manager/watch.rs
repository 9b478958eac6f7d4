//! Watching a running module: its readiness signal, its health checks, its watchdog.
//!
//! A module that declared a health check or a watchdog gets one task of the manager while
//! it is started: an owned task of the module (see [`tasks`]), spawned when its `start`
//! succeeds, signalled and joined when it stops like any other. It runs the checks on
//! their schedule and caches the answers, and watches the heartbeats. When the module
//! stays unhealthy past the threshold or misses a heartbeat, the task fails the module
//! through [`tasks::fail`], exactly as a failing task would: supervision stops it and its
//! restart policy applies. Modules that declared neither get no task and no timer.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::bus::{Event, EventBus};
use crate::context::Context;
use crate::health::{FailureKind, Health, HealthCheck, HealthEvent, WatchFailure, bound_reason};
use crate::lifecycle::{BoxError, Hook, HookResult};
use crate::manager::Inner;
use crate::manager::entry::Entry;
use crate::manager::events::{HEALTH_CHANGED, READY};
use crate::manager::signals::Watch;
use crate::manager::tasks::{self, TaskKind};

/// Whether anyone listens to [`READY`] and [`HEALTH_CHANGED`], kept until the bus's
/// subscriptions change: a start publishes `module.ready` for every module, and mostly
/// nobody listens, so the common answer costs two atomic loads.
pub(crate) struct SignalListeners {
    stamp: AtomicU64,
    /// Bit 0: [`READY`]; bit 1: [`HEALTH_CHANGED`].
    heard: AtomicU32,
}

const HEARS_READY: u32 = 1;
const HEARS_HEALTH: u32 = 2;

impl Default for SignalListeners {
    fn default() -> Self {
        Self {
            stamp: AtomicU64::new(u64::MAX),
            heard: AtomicU32::new(0),
        }
    }
}

impl SignalListeners {
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
        let mut heard = 0;
        if bus.has_subscribers(READY) {
            heard |= HEARS_READY;
        }
        if bus.has_subscribers(HEALTH_CHANGED) {
            heard |= HEARS_HEALTH;
        }
        self.heard.store(heard, Ordering::Release);
        self.stamp.store(changes, Ordering::Release);
        heard
    }
}

/// `Context::ready`: marks a module that signals readiness ready, and says so on the bus.
pub(crate) fn ready(ctx: &Context) {
    let entry = ctx.entry();
    let Some(watch) = entry.watch.as_ref().filter(|watch| watch.signals_readiness) else {
        return;
    };
    if watch.set_ready() {
        tracing::info!(module = %entry.name, "ready");
        if entry.own_ready() {
            publish_soon(ctx.inner(), entry, READY);
        }
    }
}

/// The publishing of `topic` about `entry`, if anyone listens.
pub(crate) fn event(inner: &Inner, entry: &Entry, topic: &'static str) -> Option<Event> {
    let wanted = if topic == READY {
        HEARS_READY
    } else {
        HEARS_HEALTH
    };
    if inner.signal_listeners.heard(&inner.bus) & wanted == 0 {
        return None;
    }
    match Event::serializable(topic, health_event(entry)) {
        Ok(event) => Some(event.with_source(Arc::clone(&entry.name))),
        Err(error) => {
            tracing::error!(%error, topic, "cannot build a health event");
            None
        }
    }
}

/// Publishes `topic` about `entry` on a task of its own, if anyone listens: for callers
/// that cannot wait (`Context::ready` is not async).
fn publish_soon(inner: &Inner, entry: &Entry, topic: &'static str) {
    let Some(event) = event(inner, entry, topic) else {
        return;
    };
    let bus = inner.bus.clone();
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => {
            runtime.spawn(async move {
                bus.forward(event).await;
            });
        }
        Err(error) => {
            tracing::warn!(module = %entry.name, topic, %error, "cannot publish: no tokio runtime");
        }
    }
}

/// Before `hook` of a watched module: a start forgets the last run's readiness and health;
/// a stop forgets the health, which described a module that is going away.
pub(crate) fn before_hook(entry: &Entry, hook: Hook) {
    let Some(watch) = &entry.watch else {
        return;
    };
    match hook {
        Hook::Start => watch.reset(),
        Hook::Stop => watch.clear_health(),
        _ => {}
    }
}

/// The payload of [`READY`] and [`HEALTH_CHANGED`] about `entry`, as of now.
pub(crate) fn health_event(entry: &Entry) -> HealthEvent {
    HealthEvent {
        module: Arc::clone(&entry.name),
        ready: entry.own_ready(),
        health: entry.watch.as_ref().and_then(|watch| watch.health()),
    }
}

/// The `start` of a watched module succeeded: if it has a health check or a watchdog, its
/// watcher is spawned as an owned task.
#[inline(never)]
pub(crate) fn started(ctx: &Context) {
    let entry = ctx.entry();
    if !entry
        .watch
        .as_ref()
        .is_some_and(|watch| watch.needs_watcher())
    {
        return;
    }
    if let Some(watch) = &entry.watch {
        // The watchdog's first period counts from here, however long `start` took.
        watch.beat();
    }
    let watcher = ctx.clone();
    if let Err(error) = tasks::spawn(ctx, WATCHER, TaskKind::Finite, move |shutdown| {
        watch_module(watcher, shutdown)
    }) {
        tracing::error!(module = %entry.name, %error, "cannot watch the module's health and heartbeats");
    }
}

/// The name of the watcher among the module's tasks.
const WATCHER: &str = "symphra-watch";

/// Watches the module of `ctx` until `shutdown`: runs its checks, watches its heartbeats,
/// and fails it when it stays unhealthy or misses one.
async fn watch_module(ctx: Context, shutdown: CancellationToken) -> HookResult {
    let entry = ctx.entry();
    let Some(watch) = entry.watch.as_deref() else {
        return Ok(());
    };
    let checks = async {
        match &watch.check {
            Some(check) => run_checks(&ctx, watch, check, &shutdown).await,
            None => std::future::pending().await,
        }
    };
    let watchdog = async {
        match watch.watchdog {
            Some(period) => run_watchdog(watch, period).await,
            None => std::future::pending().await,
        }
    };
    let (kind, failure) = tokio::select! {
        biased;
        () = shutdown.cancelled() => return Ok(()),
        failure = checks => (FailureKind::Health, failure),
        failure = watchdog => (FailureKind::Watchdog, failure),
    };
    tracing::error!(module = %entry.name, error = %failure, "failing the module");
    entry.signals.failing(kind);
    tasks::fail(&ctx, BoxError::from(failure));
    Ok(())
}

/// Runs the health check on its schedule until the module has been unhealthy for the
/// threshold; returns that failure.
async fn run_checks(
    ctx: &Context,
    watch: &Watch,
    check: &HealthCheck,
    shutdown: &CancellationToken,
) -> WatchFailure {
    let entry = ctx.entry();
    let threshold = check.get_unhealthy_after();
    let mut next = Instant::now() + check.get_start_delay();
    let mut unhealthy_since: Option<Instant> = None;
    loop {
        tokio::time::sleep_until(next).await;
        let began = Instant::now();
        let health = run_check(ctx, check.get_timeout()).await;
        let now = Instant::now();
        if shutdown.is_cancelled() {
            // The module is stopping: its health is forgotten, not overwritten.
            return std::future::pending().await;
        }
        let previous = watch.record_check(health.clone());
        if !previous
            .as_ref()
            .is_some_and(|previous| previous.same_level(&health))
        {
            tracing::info!(module = %entry.name, health = %health, "health changed");
            if let Some(event) = event(ctx.inner(), entry, HEALTH_CHANGED) {
                ctx.inner().bus.forward(event).await;
            }
        }
        match health {
            Health::Unhealthy { reason } => {
                let since = *unhealthy_since.get_or_insert(now);
                let unhealthy_for = now.saturating_duration_since(since);
                if unhealthy_for >= threshold {
                    return WatchFailure::Unhealthy {
                        unhealthy_for,
                        reason,
                    };
                }
            }
            Health::Healthy | Health::Degraded { .. } => unhealthy_since = None,
        }
        // On schedule, from when each check began; a check slower than the interval is
        // followed by the next at once.
        next = (began + check.interval()).max(Instant::now());
    }
}

/// One run of the module's `health` hook, within `timeout`; a panic or a time-out is
/// unhealthy.
async fn run_check(ctx: &Context, timeout: Duration) -> Health {
    let check = AssertUnwindSafe(ctx.entry().object.check(ctx.clone())).catch_unwind();
    match tokio::time::timeout(timeout, check).await {
        Ok(Ok(health)) => health.bounded(),
        Ok(Err(panic)) => Health::unhealthy(bound_reason(format!(
            "the health check panicked: {}",
            crate::util::panic_message(panic)
        ))),
        Err(_) => Health::unhealthy(format!(
            "the health check did not answer within {timeout:?}"
        )),
    }
}

/// Waits until a heartbeat is missed; returns that failure.
async fn run_watchdog(watch: &Watch, period: Duration) -> WatchFailure {
    loop {
        let due = watch.last_beat() + period;
        if Instant::now() >= due {
            return WatchFailure::MissedHeartbeat { period };
        }
        tokio::time::sleep_until(due).await;
    }
}
