//! One lifecycle operation (a start, a stop, a single hook): what its jobs share, and its
//! clock — when it began, when each job begins, its deadline and the time limits of hooks.
//!
//! All clock arithmetic of an operation lives here. Hook timings are raw readings of a
//! [`Clock`] (see [`clock`](super::clock)); time limits and deadlines are instants on
//! tokio's clock, which timers understand.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::manager::Inner;
use crate::manager::clock::{Clock, Tick};
use crate::manager::graph::Graph;
use crate::manager::losses::Losses;
use crate::manager::timings::Timings;

/// What the contexts of one operation share: the manager, the graph the operation runs on,
/// and the operation's clock. One reference count per context, and small jobs.
pub(crate) struct OperationScope {
    pub(crate) inner: Arc<Inner>,
    pub(crate) graph: Arc<Graph>,
    pub(crate) clock: OperationClock,
    /// What the bus could not deliver during the operation (reported by stops).
    pub(crate) losses: Losses,
    /// Cancels the operation: the scheduler launches nothing more, and hooks that are
    /// waiting end as [`FailureCause::Cancelled`](crate::lifecycle::FailureCause::Cancelled).
    /// `None` for operations nothing can cancel, which then pay nothing for it.
    pub(crate) cancel: Option<CancellationToken>,
    /// Polls of the operation's hooks longer than the blocking threshold.
    pub(crate) blocked_polls: std::sync::atomic::AtomicU64,
}

/// The clock of one operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OperationClock {
    /// Where hook timings are read.
    clock: Clock,
    /// The start of the operation, read from `clock`; hook timings are relative to it.
    origin: Tick,
    /// The start of the operation on tokio's clock.
    started: Instant,
    /// No hook runs past it.
    deadline: Option<Deadline>,
    /// A poll longer than this many ticks blocked the runtime.
    blocking: Tick,
}

/// An operation's deadline: on tokio's clock for hooks that wait, and as time since the
/// operation began for the check before each hook, which then costs no clock reading.
#[derive(Clone, Copy, Debug)]
struct Deadline {
    at: Instant,
    after: Duration,
}

impl OperationClock {
    /// The clock of an operation beginning now, on a manager whose tokio clock is `paused`
    /// or not, that no hook may outlast past `deadline`, whose hooks' polls block when
    /// longer than `blocking`.
    pub(crate) fn begin(paused: bool, deadline: Option<Instant>, blocking: Duration) -> Self {
        let started = Instant::now();
        let clock = Clock::for_operation(started, paused);
        Self {
            clock,
            origin: clock.now(),
            started,
            deadline: deadline.map(|at| Deadline {
                at,
                after: at.saturating_duration_since(started),
            }),
            blocking: clock.ticks(blocking),
        }
    }

    /// The clock the readings are made with.
    pub(crate) fn clock(&self) -> Clock {
        self.clock
    }

    /// Whether a poll from reading `from` to reading `to` blocked the runtime.
    #[inline]
    pub(crate) fn blocked(&self, from: Tick, to: Tick) -> bool {
        to.saturating_sub(from) > self.blocking
    }

    /// Reads the clock.
    #[inline]
    pub(crate) fn now(&self) -> Tick {
        self.clock.now()
    }

    /// When the operation began, as a reading.
    pub(crate) fn origin(&self) -> Tick {
        self.origin
    }

    /// How long the operation has run.
    pub(crate) fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// The timings of a job whose first hook begins at `began`.
    pub(crate) fn timings(&self, began: Tick) -> Timings {
        Timings::new(self.clock.is_counter(), self.origin, began)
    }

    /// Whether the deadline has passed at `now` (a reading of this clock).
    #[inline]
    pub(crate) fn deadline_passed(&self, now: Tick) -> bool {
        self.deadline
            .is_some_and(|deadline| self.clock.between(self.origin, now) >= deadline.after)
    }

    /// When a hook that began at `began` (a reading) and is waiting must have returned,
    /// given its own `timeout`: the earlier of that and the operation's deadline. `None`
    /// when neither limits it. The second item is when the hook began, on tokio's clock.
    ///
    /// The limit counts from when the hook began: a hook that never waits cannot be
    /// interrupted anyway, and one that waits is measured from its start.
    pub(crate) fn hook_limit(
        &self,
        began: Tick,
        timeout: Option<Duration>,
    ) -> (Option<Instant>, Instant) {
        let began_at = self.started + self.clock.between(self.origin, began);
        let own = timeout.map(|timeout| crate::util::deadline_after(began_at, timeout));
        let limit = match (own, self.deadline.map(|deadline| deadline.at)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        (limit, began_at)
    }
}

/// When each job of an operation begins. A job that follows one that completed inline,
/// with nothing waited for in between, begins when that one ended: that saves a clock
/// reading per module.
#[derive(Debug)]
pub(crate) struct JobStarts {
    last_end: Option<Tick>,
}

impl JobStarts {
    /// The first job begins when the operation did.
    pub(crate) fn new(clock: &OperationClock) -> Self {
        Self {
            last_end: Some(clock.origin),
        }
    }

    /// When the next job begins.
    #[inline]
    pub(crate) fn next(&mut self, clock: &OperationClock) -> Tick {
        self.last_end.take().unwrap_or_else(|| clock.now())
    }

    /// A job completed inline at `end`.
    #[inline]
    pub(crate) fn ended(&mut self, end: Tick) {
        self.last_end = Some(end);
    }

    /// The operation waited: the next job reads the clock.
    #[inline]
    pub(crate) fn waited(&mut self) {
        self.last_end = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_hook_is_limited_by_its_timeout_or_the_deadline_whichever_is_first() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let clock = OperationClock::begin(true, Some(deadline), Duration::MAX);
        tokio::time::sleep(Duration::from_secs(2)).await;
        let began = clock.now();
        let (limit, began_at) = clock.hook_limit(began, Some(Duration::from_secs(3)));
        assert_eq!(began_at, clock.started + Duration::from_secs(2));
        assert_eq!(limit, Some(began_at + Duration::from_secs(3)));
        let (limit, _) = clock.hook_limit(began, Some(Duration::from_secs(30)));
        assert_eq!(limit, Some(deadline));
        let (limit, _) = clock.hook_limit(began, None);
        assert_eq!(limit, Some(deadline));

        assert!(!clock.deadline_passed(clock.now()));
        tokio::time::sleep(Duration::from_secs(8)).await;
        assert!(clock.deadline_passed(clock.now()));
    }

    #[tokio::test(start_paused = true)]
    async fn without_a_deadline_only_the_timeout_limits() {
        let clock = OperationClock::begin(true, None, Duration::MAX);
        let (limit, began_at) = clock.hook_limit(clock.now(), None);
        assert_eq!(limit, None);
        assert_eq!(began_at, clock.started);
        tokio::time::sleep(Duration::from_secs(1_000)).await;
        assert!(!clock.deadline_passed(clock.now()));
    }

    #[tokio::test(start_paused = true)]
    async fn a_poll_blocks_only_when_longer_than_the_limit() {
        let clock = OperationClock::begin(true, None, Duration::from_millis(10));
        let limit = 10_000_000; // ticks of the paused clock are nanoseconds
        assert!(!clock.blocked(5, 5 + limit - 1));
        assert!(
            !clock.blocked(5, 5 + limit),
            "exactly the limit is no block"
        );
        assert!(clock.blocked(5, 5 + limit + 1));
        assert!(
            !clock.blocked(5 + 2 * limit, 5),
            "an end read first is none"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn an_operation_has_run_for_the_time_since_it_began() {
        let clock = OperationClock::begin(true, None, Duration::MAX);
        tokio::time::sleep(Duration::from_millis(1_500)).await;
        assert_eq!(clock.elapsed(), Duration::from_millis(1_500));
    }

    #[test]
    fn on_a_running_clock_the_origin_is_the_counter_read_when_the_operation_began() {
        let counter = crate::manager::clock::tests::counter();
        let before = counter.now();
        let clock = OperationClock::begin(false, None, Duration::MAX);
        let after = counter.now();
        assert!(clock.clock().is_counter());
        assert!(
            (before..=after).contains(&clock.origin()),
            "{before} {after}"
        );
        assert_eq!(JobStarts::new(&clock).next(&clock), clock.origin());
    }

    #[tokio::test(start_paused = true)]
    async fn after_a_wait_the_next_job_reads_the_clock() {
        let clock = OperationClock::begin(true, None, Duration::MAX);
        let mut starts = JobStarts::new(&clock);
        starts.next(&clock);
        tokio::time::sleep(Duration::from_millis(3)).await;
        starts.ended(42);
        starts.waited();
        assert_eq!(starts.next(&clock), 3_000_000);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_after_an_inline_one_begins_when_it_ended() {
        let clock = OperationClock::begin(true, None, Duration::MAX);
        let mut starts = JobStarts::new(&clock);
        assert_eq!(starts.next(&clock), clock.origin());
        starts.ended(42);
        assert_eq!(starts.next(&clock), 42);
        tokio::time::sleep(Duration::from_millis(5)).await;
        starts.waited();
        assert_eq!(starts.next(&clock), 5_000_000);
    }
}
