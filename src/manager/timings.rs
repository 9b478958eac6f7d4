//! When each hook ran: read from the processor's timestamp counter, or from tokio's clock.
//!
//! A start and stop of 10,000 modules takes 40,000 readings, one at the end of each hook.
//! Through the system clock each reading waits for the memory accesses before it to finish,
//! and together they took a fifth of the whole start and stop on the reference machine.
//! The timestamp counter ([`quanta`]) is read without that wait; its readings are kept raw
//! and turned into durations only when a report is read.
//!
//! The counter must first be calibrated against the system clock, which takes a millisecond
//! or two. That runs once per process, on a thread of its own, started by the first
//! operation; operations that start before it is done read tokio's clock.
//!
//! Under tokio's paused test clock, time moves only when tests or timers move it, and a
//! report must say so: a hook that waited 10 ms of test time took 10 ms, a hook that did not
//! wait took none. An operation that starts while the clock is paused reads tokio's clock.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

use crate::lifecycle::Hook;

/// A reading of a [`Clock`]: raw counter ticks, or nanoseconds of tokio time.
pub(crate) type Tick = u64;

/// The timestamp counter, once calibrated.
static COUNTER: OnceLock<quanta::Clock> = OnceLock::new();

/// The calibrated counter, if it is ready; else starts its calibration (once), in the
/// background.
fn calibrated_counter() -> Option<&'static quanta::Clock> {
    static CALIBRATION: Once = Once::new();
    if let Some(counter) = COUNTER.get() {
        return Some(counter);
    }
    CALIBRATION.call_once(|| {
        let calibrate = || {
            COUNTER.get_or_init(quanta::Clock::new);
        };
        // Without a thread, timings stay on tokio's clock.
        if let Err(error) = std::thread::Builder::new()
            .name("symphra-clock".into())
            .spawn(calibrate)
        {
            tracing::debug!(%error, "cannot calibrate the timestamp counter; hook timings use the system clock");
        }
    });
    None
}

/// Where an operation reads its hook timings.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Clock {
    /// The timestamp counter, calibrated.
    Counter(&'static quanta::Clock),
    /// Tokio's clock (paused, or while the counter is being calibrated): nanoseconds since
    /// the operation began.
    Tokio(Instant),
}

impl Clock {
    /// The clock of an operation that began at `origin` (on tokio's clock).
    pub(crate) fn for_operation(origin: Instant) -> Self {
        if tokio_clock_is_paused() {
            return Clock::Tokio(origin);
        }
        match calibrated_counter() {
            Some(counter) => Clock::Counter(counter),
            None => Clock::Tokio(origin),
        }
    }

    /// Reads the clock.
    #[inline]
    pub(crate) fn now(self) -> Tick {
        match self {
            Clock::Counter(counter) => counter.raw(),
            Clock::Tokio(origin) => nanos(origin.elapsed()),
        }
    }

    /// The time from reading `start` to reading `end`; zero if `end` is not after `start`.
    pub(crate) fn between(self, start: Tick, end: Tick) -> Duration {
        match self {
            Clock::Counter(counter) => counter.delta(start, end),
            Clock::Tokio(_) => nanos_between(start, end),
        }
    }
}

/// The time between two readings of tokio's clock, in nanoseconds.
fn nanos_between(start: Tick, end: Tick) -> Duration {
    Duration::from_nanos(end.saturating_sub(start))
}

/// An operation's deadline, on tokio's clock for waiting hooks, and as time since the
/// operation began for the check before each hook, which then costs no clock reading.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadline {
    pub(crate) at: Instant,
    after: Duration,
}

impl Deadline {
    /// `at`, for an operation that began at `origin`.
    pub(crate) fn new(origin: Instant, at: Instant) -> Self {
        Self {
            at,
            after: at.saturating_duration_since(origin),
        }
    }

    /// Whether it has passed at `now`, in an operation that began at `origin` (both read
    /// from `clock`).
    pub(crate) fn passed(&self, clock: Clock, origin: Tick, now: Tick) -> bool {
        clock.between(origin, now) >= self.after
    }
}

/// Whether tokio's clock stands still: it does not move while real time passes.
fn tokio_clock_is_paused() -> bool {
    let before = Instant::now();
    let real = std::time::Instant::now();
    while std::time::Instant::now() == real {
        std::hint::spin_loop();
    }
    Instant::now() == before
}

fn nanos(duration: Duration) -> Tick {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// The timings of the hooks one operation ran on one module: at most three (`bootstrap`,
/// `install`, `start`), run back to back. Kept inline and raw — one reading per hook,
/// durations worked out only when asked — so that a report of many modules costs no
/// allocation and little memory per module.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timings {
    /// Whether the readings are counter ticks (else nanoseconds of tokio time).
    counted: bool,
    /// When the operation began.
    origin: Tick,
    /// `marks[k]` is when hook `k` began; `marks[k + 1]` when it ended.
    marks: [Tick; 4],
    hooks: [Hook; 3],
    len: u8,
}

impl Timings {
    /// No hooks yet: the operation began at `origin`, the first hook begins at `at`; both
    /// read from `clock`.
    pub(crate) fn new(clock: Clock, origin: Tick, at: Tick) -> Self {
        Self {
            counted: matches!(clock, Clock::Counter(_)),
            origin,
            marks: [at; 4],
            hooks: [Hook::Bootstrap; 3],
            len: 0,
        }
    }

    /// Records that `hook` ended at `at` (it began when the previous one ended); a fourth
    /// hook is dropped, as no operation runs more than three.
    pub(crate) fn push(&mut self, hook: Hook, at: Tick) {
        let k = usize::from(self.len);
        if k < self.hooks.len() {
            self.hooks[k] = hook;
            self.marks[k + 1] = at;
            self.len += 1;
        }
    }

    /// Each hook with when it began, from the start of the operation, and how long it ran.
    pub(crate) fn list(&self) -> Vec<(Hook, Duration, Duration)> {
        (0..usize::from(self.len))
            .map(|k| {
                (
                    self.hooks[k],
                    self.between(self.origin, self.marks[k]),
                    self.between(self.marks[k], self.marks[k + 1]),
                )
            })
            .collect()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// When the last hook ended (when the first began, if none ran).
    pub(crate) fn end(&self) -> Tick {
        self.marks[usize::from(self.len)]
    }

    /// From when the first hook began to when the last ended.
    pub(crate) fn busy(&self) -> Duration {
        self.between(self.marks[0], self.end())
    }

    fn between(&self, start: Tick, end: Tick) -> Duration {
        if !self.counted {
            return nanos_between(start, end);
        }
        // Counted readings exist only once the counter is calibrated.
        COUNTER
            .get()
            .map_or(Duration::ZERO, |counter| counter.delta(start, end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MICRO: Duration = Duration::from_micros(1);

    /// The calibrated counter, waiting for its calibration.
    fn counter() -> Clock {
        Clock::Counter(COUNTER.get_or_init(quanta::Clock::new))
    }

    /// The first counter reading at least a microsecond after `t`.
    fn after(t: Tick) -> Tick {
        loop {
            let tick = counter().now();
            if counter().between(t, tick) >= MICRO {
                return tick;
            }
        }
    }

    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) <= Duration::from_nanos(2)
    }

    #[test]
    fn hooks_follow_one_another_from_the_first_reading() {
        let origin = counter().now();
        let began = after(origin);
        let mut timings = Timings::new(counter(), origin, began);
        assert!(timings.is_empty());
        timings.push(Hook::Install, after(began));
        let ended = after(timings.end());
        timings.push(Hook::Start, ended);
        assert_eq!(timings.end(), ended);

        let list = timings.list();
        assert_eq!(list.len(), 2);
        let (hook, began_at, took) = list[0];
        assert_eq!(hook, Hook::Install);
        assert!(began_at >= MICRO && took >= MICRO, "{began_at:?} {took:?}");
        let (hook, next_began_at, next_took) = list[1];
        assert_eq!(hook, Hook::Start);
        assert!(close(next_began_at, began_at + took), "{list:?}");
        assert!(close(timings.busy(), took + next_took), "{list:?}");
    }

    #[test]
    fn a_fourth_hook_is_dropped() {
        let t = counter().now();
        let mut timings = Timings::new(counter(), t, t);
        for hook in [Hook::Bootstrap, Hook::Install, Hook::Start, Hook::Stop] {
            timings.push(hook, counter().now());
        }
        let hooks: Vec<Hook> = timings.list().into_iter().map(|(hook, ..)| hook).collect();
        assert_eq!(hooks, [Hook::Bootstrap, Hook::Install, Hook::Start]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_is_read_in_test_time() {
        let origin = Instant::now();
        let clock = Clock::for_operation(origin);
        assert!(matches!(clock, Clock::Tokio(_)));
        let began = clock.now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut timings = Timings::new(clock, began, began);
        timings.push(Hook::Start, clock.now());
        assert_eq!(timings.busy(), Duration::from_millis(10));
    }

    #[tokio::test]
    async fn a_running_clock_reads_the_counter_once_it_is_calibrated() {
        let _ = counter();
        assert!(matches!(
            Clock::for_operation(Instant::now()),
            Clock::Counter(_)
        ));
    }
}
