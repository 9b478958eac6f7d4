//! What the manager keeps per module for readiness, health, watchdogs and metrics.
//!
//! Three parts, by how often they are touched:
//!
//! - [`HookTicks`]: the last duration of each hook, one plain store per hook on the
//!   lifecycle path, raw (the clock's own ticks), turned into durations only when asked;
//! - [`Signals`]: counters that change rarely (restarts, blocked polls);
//! - [`Watch`]: only for a module that declared a readiness signal, a health check or a
//!   watchdog; boxed, so that the others pay a null pointer for it.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::time::Instant;

use crate::health::{FailureKind, Health, HealthCheck, HookDuration, RestartCounts};
use crate::lifecycle::Hook;
use crate::manager::clock::{self, Clock, Tick};
use crate::module::ModuleMetadata;

/// A stored duration is set: 0 means the hook never ran.
const RAN: u64 = 1 << 62;
/// A stored duration is in counter ticks (else nanoseconds of tokio time).
const COUNTED: u64 = 1 << 63;

/// What kind of ticks a clock's readings are, as the flags a stored duration carries:
/// worked out once per job, so that storing a duration is a subtraction and a store.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TickKind(u64);

impl TickKind {
    pub(crate) fn of(clock: Clock) -> Self {
        Self(if clock.is_counter() {
            RAN | COUNTED
        } else {
            RAN
        })
    }
}

/// The last duration of each hook of one module, indexed by `Hook as usize`.
#[derive(Debug, Default)]
pub(crate) struct HookTicks([AtomicU64; Hook::ALL.len()]);

impl HookTicks {
    /// `hook` ran from `began` to `ended`, readings of a clock of `kind`.
    #[inline]
    pub(crate) fn record(&self, hook: Hook, kind: TickKind, began: Tick, ended: Tick) {
        let took = ended.saturating_sub(began).min(RAN - 1);
        self.0[hook as usize].store(took | kind.0, Ordering::Relaxed);
    }

    /// The hooks that ran, with their last durations.
    pub(crate) fn durations(&self) -> Vec<HookDuration> {
        Hook::ALL
            .into_iter()
            .filter_map(|hook| {
                let stored = self.0[hook as usize].load(Ordering::Relaxed);
                (stored & RAN != 0).then(|| {
                    let took = clock::between(stored & COUNTED != 0, 0, stored & (RAN - 1));
                    HookDuration {
                        hook,
                        seconds: took.as_secs_f64(),
                    }
                })
            })
            .collect()
    }
}

/// Counters of one module that change rarely.
#[derive(Debug, Default)]
pub(crate) struct Signals {
    blocked_polls: AtomicU64,
    /// Restarts by [`FailureKind`] index.
    restarts: [AtomicU64; FailureKind::ALL.len()],
    /// What failed the module last, as a [`FailureKind`] index: set by the watcher before
    /// it fails the module, read and reset when supervision restarts it.
    failure_kind: AtomicU8,
}

impl Signals {
    /// A poll of one of the module's hooks or tasks blocked.
    pub(crate) fn count_blocked_poll(&self) {
        self.blocked_polls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn blocked_polls(&self) -> u64 {
        self.blocked_polls.load(Ordering::Relaxed)
    }

    /// The module is about to fail for `kind`.
    pub(crate) fn failing(&self, kind: FailureKind) {
        self.failure_kind.store(kind as u8, Ordering::Release);
    }

    /// Supervision restarted the module: counted under what failed it last.
    pub(crate) fn count_restart(&self) {
        let kind = self
            .failure_kind
            .swap(FailureKind::Error as u8, Ordering::AcqRel);
        let slot = self
            .restarts
            .get(usize::from(kind))
            .unwrap_or(&self.restarts[FailureKind::Error as usize]);
        slot.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn restarts(&self) -> RestartCounts {
        let count = |kind: FailureKind| self.restarts[kind as usize].load(Ordering::Relaxed);
        RestartCounts {
            error: count(FailureKind::Error),
            health: count(FailureKind::Health),
            watchdog: count(FailureKind::Watchdog),
        }
    }
}

/// What a module declared about readiness, health and its watchdog, and their live state.
#[derive(Debug)]
pub(crate) struct Watch {
    /// It calls `Context::ready` itself.
    pub(crate) signals_readiness: bool,
    pub(crate) check: Option<HealthCheck>,
    pub(crate) watchdog: Option<Duration>,
    /// Ready by its own account (for a module that signals readiness).
    ready: AtomicBool,
    /// The last check's answer since the module started.
    health: Mutex<Option<Health>>,
    checks: AtomicU64,
    check_failures: AtomicU64,
    /// Heartbeats are kept as nanoseconds since this.
    origin: Instant,
    last_beat: AtomicU64,
}

impl Watch {
    /// The watch of a module described by `metadata`, if it declared anything.
    pub(crate) fn of(metadata: &ModuleMetadata) -> Option<Box<Self>> {
        let signals_readiness = metadata.get_signals_readiness();
        let check = metadata.get_health_check().cloned();
        let watchdog = metadata.get_watchdog();
        if !signals_readiness && check.is_none() && watchdog.is_none() {
            return None;
        }
        Some(Box::new(Self {
            signals_readiness,
            check,
            watchdog,
            ready: AtomicBool::new(false),
            health: Mutex::new(None),
            checks: AtomicU64::new(0),
            check_failures: AtomicU64::new(0),
            origin: Instant::now(),
            last_beat: AtomicU64::new(0),
        }))
    }

    /// Whether a task must watch the module while it runs.
    pub(crate) fn needs_watcher(&self) -> bool {
        self.check.is_some() || self.watchdog.is_some()
    }

    /// The module is starting: not ready, no health, a fresh heartbeat.
    pub(crate) fn reset(&self) {
        self.ready.store(false, Ordering::Release);
        *self.health.lock() = None;
        self.beat();
    }

    /// Marks the module ready by its own account; whether it was not before.
    pub(crate) fn set_ready(&self) -> bool {
        !self.ready.swap(true, Ordering::AcqRel)
    }

    /// Ready by its own account (always, for a module that does not signal readiness).
    pub(crate) fn own_ready(&self) -> bool {
        !self.signals_readiness || self.ready.load(Ordering::Acquire)
    }

    pub(crate) fn health(&self) -> Option<Health> {
        self.health.lock().clone()
    }

    /// Caches a check's answer; returns the previous answer.
    pub(crate) fn record_check(&self, health: Health) -> Option<Health> {
        self.checks.fetch_add(1, Ordering::Relaxed);
        if health.is_unhealthy() {
            self.check_failures.fetch_add(1, Ordering::Relaxed);
        }
        self.health.lock().replace(health)
    }

    /// Forgets the health (the module stopped).
    pub(crate) fn clear_health(&self) {
        *self.health.lock() = None;
    }

    pub(crate) fn checks(&self) -> (u64, u64) {
        (
            self.checks.load(Ordering::Relaxed),
            self.check_failures.load(Ordering::Relaxed),
        )
    }

    /// A heartbeat, now.
    pub(crate) fn beat(&self) {
        let since = Instant::now().saturating_duration_since(self.origin);
        let nanos = u64::try_from(since.as_nanos()).unwrap_or(u64::MAX);
        self.last_beat.fetch_max(nanos, Ordering::AcqRel);
    }

    /// When the last heartbeat was.
    pub(crate) fn last_beat(&self) -> Instant {
        self.origin + Duration::from_nanos(self.last_beat.load(Ordering::Acquire))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::clock::tests::counter;

    fn seconds(ticks: &HookTicks, hook: Hook) -> Option<f64> {
        let durations = ticks.durations().into_iter();
        durations
            .filter(|d| d.hook == hook)
            .map(|d| d.seconds)
            .next()
    }

    #[test]
    fn durations_are_read_in_the_kind_of_ticks_they_were_stored_in() {
        let ticks = HookTicks::default();
        let tokio = TickKind::of(Clock::Tokio(Instant::now()));
        ticks.record(Hook::Stop, tokio, 1_000, 2_001_000);
        let counter = counter();
        let fifty_ms = counter.ticks(Duration::from_millis(50));
        ticks.record(Hook::Start, TickKind::of(counter), 7, 7 + fifty_ms);
        assert_eq!(seconds(&ticks, Hook::Stop), Some(0.002));
        let start = seconds(&ticks, Hook::Start).unwrap_or_default();
        assert!((start - 0.05).abs() < 1e-6, "{start}");
        assert_eq!(seconds(&ticks, Hook::Install), None, "never ran");
    }

    #[test]
    fn a_duration_too_long_to_store_is_kept_as_the_longest_there_is() {
        let ticks = HookTicks::default();
        let tokio = TickKind::of(Clock::Tokio(Instant::now()));
        ticks.record(Hook::Start, tokio, 0, u64::MAX);
        let longest = Duration::from_nanos(RAN - 1).as_secs_f64(); // about 146 years
        assert_eq!(seconds(&ticks, Hook::Start), Some(longest));
        // An end read before the start is a hook that took no time.
        ticks.record(Hook::Start, tokio, 5, 3);
        assert_eq!(seconds(&ticks, Hook::Start), Some(0.0));
    }
}
