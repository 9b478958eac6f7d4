//! Where hook timings are read: the processor's timestamp counter, or tokio's clock.
//!
//! A start and stop of 10,000 modules takes 40,000 readings, one at the end of each hook.
//! Through the system clock each reading waits for the memory accesses before it to finish,
//! and together they took a fifth of the whole start and stop. The timestamp counter
//! ([`quanta`]) is read without that wait; its readings are kept raw and turned into
//! durations only when a report is read.
//!
//! The counter must first be calibrated against the system clock, which takes a millisecond
//! or two. The first lifecycle operation of the process starts that calibration on a
//! short-lived thread of its own, `symphra-clock`, so that no operation waits for it;
//! operations that begin before it is done read tokio's clock. If the thread cannot be
//! started, every operation reads tokio's clock.
//!
//! Under tokio's paused test clock, time moves only when tests or timers move it, and a
//! report must say so: a hook that waited 10 ms of test time took 10 ms, a hook that did not
//! wait took none. A manager whose first operation runs on a paused clock reads tokio's
//! clock for good.

use std::sync::{Once, OnceLock};
use std::time::Duration;

use tokio::time::Instant;

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
        if let Err(error) = std::thread::Builder::new()
            .name("symphra-clock".into())
            .spawn(calibrate)
        {
            tracing::debug!(%error, "cannot calibrate the timestamp counter; hook timings use tokio's clock");
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
    /// The clock of an operation that began at `origin` (on tokio's clock), on a manager
    /// whose tokio clock is `paused` or not.
    pub(crate) fn for_operation(origin: Instant, paused: bool) -> Self {
        if paused {
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

    /// Whether its readings are counter ticks (else nanoseconds of tokio time).
    pub(crate) fn is_counter(self) -> bool {
        matches!(self, Clock::Counter(_))
    }

    /// How many ticks of this clock `duration` is, saturating: for comparing two readings
    /// with a limit without turning each difference into a duration.
    pub(crate) fn ticks(self, duration: Duration) -> Tick {
        let nanos = duration.as_nanos();
        match self {
            Clock::Counter(counter) => {
                // The counter's rate, from a span long enough to be exact to a tick.
                let span: u64 = 1 << 32;
                let span_nanos = u128::from(counter.delta_as_nanos(0, span)).max(1);
                u64::try_from(nanos.saturating_mul(u128::from(span)) / span_nanos)
                    .unwrap_or(u64::MAX)
            }
            Clock::Tokio(_) => u64::try_from(nanos).unwrap_or(u64::MAX),
        }
    }

    /// The time from reading `start` to reading `end`; zero if `end` is not after `start`.
    pub(crate) fn between(self, start: Tick, end: Tick) -> Duration {
        between(self.is_counter(), start, end)
    }
}

/// The time between two readings, counter ticks if `counted`, else nanoseconds.
pub(crate) fn between(counted: bool, start: Tick, end: Tick) -> Duration {
    if !counted {
        return Duration::from_nanos(end.saturating_sub(start));
    }
    // Counted readings exist only once the counter is calibrated.
    COUNTER
        .get()
        .map_or(Duration::ZERO, |counter| counter.delta(start, end))
}

/// Whether tokio's clock stands still: it does not move while real time passes. Asked once
/// per manager: it waits for the system clock to move, a few tens of nanoseconds.
pub(crate) fn tokio_clock_is_paused() -> bool {
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// The calibrated counter, waiting for its calibration.
    pub(crate) fn counter() -> Clock {
        Clock::Counter(COUNTER.get_or_init(quanta::Clock::new))
    }

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_is_read_in_test_time() {
        assert!(tokio_clock_is_paused());
        let clock = Clock::for_operation(Instant::now(), true);
        let began = clock.now();
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(clock.between(began, clock.now()), Duration::from_millis(10));
    }

    #[test]
    fn a_limit_in_ticks_converts_back_to_itself() {
        let limit = Duration::from_millis(50);
        let counter = counter();
        let ticks = counter.ticks(limit);
        let back = counter.between(0, ticks);
        assert!(back.abs_diff(limit) < Duration::from_micros(1), "{back:?}");
        let tokio = Clock::Tokio(Instant::now());
        assert_eq!(tokio.ticks(limit), 50_000_000);
        assert_eq!(tokio.ticks(Duration::MAX), u64::MAX);
    }

    #[tokio::test]
    async fn a_manager_on_a_running_clock_knows_it_is_not_paused() {
        let manager = crate::ModuleManager::builder().build().unwrap();
        assert!(!manager.inner.clock_paused());
    }

    #[tokio::test(start_paused = true)]
    async fn a_manager_on_a_paused_clock_knows_it_is() {
        let manager = crate::ModuleManager::builder().build().unwrap();
        assert!(manager.inner.clock_paused());
    }

    #[test]
    fn the_counter_is_calibrated_once_for_the_process_and_then_shared() {
        // Calibrating takes milliseconds and the counter lives for the process: every
        // operation must get the one calibrated on the background thread.
        if let (Some(first), Some(second)) = (calibrated_counter(), calibrated_counter()) {
            assert!(std::ptr::eq(first, second), "calibrated once, not per call");
        }
        let shared = COUNTER.wait();
        let later = calibrated_counter().expect("calibrated by now");
        assert!(std::ptr::eq(later, shared), "the process's one counter");
    }

    #[tokio::test]
    async fn a_running_clock_reads_the_counter_once_it_is_calibrated() {
        assert!(!tokio_clock_is_paused());
        let _ = counter();
        assert!(Clock::for_operation(Instant::now(), false).is_counter());
    }
}
