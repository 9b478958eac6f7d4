//! Retrying fallible async operations: the [`Retry`] builder.
//!
//! The retry loop itself is [`backon`]'s; this module supplies the delay schedule
//! (computed in whole nanoseconds so configured delays are exact), counts attempts for
//! the [`notify`](Retry::notify) callback and sleeps with [`tokio::time::sleep`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use backon::Retryable;

/// How many attempts a [`Retry`] makes unless told otherwise (the first try plus two
/// retries), matching `async_retry(max_attempts=3)`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// A retry policy for a fallible async operation, built step by step and run with
/// [`run`](Retry::run).
///
/// - **Attempts**: [`max_attempts`](Retry::max_attempts) counts every call of the
///   operation, the first included (default [`DEFAULT_MAX_ATTEMPTS`]).
/// - **Delays**: [`fixed`](Retry::fixed) waits the same time before every retry;
///   [`exponential`](Retry::exponential) multiplies the wait by
///   [`factor`](Retry::factor) (default 2) after each retry, up to
///   [`max_delay`](Retry::max_delay).
/// - **Jitter**: [`jitter`](Retry::jitter) adds a random extra wait of between zero and
///   the scheduled delay, so each wait lies in `[delay, 2 × delay]`; the cap applies
///   to the scheduled delay before jitter. [`jitter_seed`](Retry::jitter_seed) makes
///   the sequence reproducible.
/// - **Which errors**: [`when`](Retry::when) chooses the errors worth retrying; any
///   other error is returned at once. By default every error is retried.
/// - **Observing**: [`notify`](Retry::notify) is called before each wait with the
///   number of the attempt that failed, its error and the wait before the next one.
///
/// # What `run` returns
///
/// The operation's own result type, `Result<T, E>`: the first `Ok`, or else the error
/// of the last attempt made (the one that ran out of attempts, or the first error
/// [`when`](Retry::when) declined). Returning `E` unchanged keeps `?` and existing
/// error conversions working; the attempt count is reported to
/// [`notify`](Retry::notify) and logged with `tracing` at debug level.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use symphra::util::Retry;
///
/// #[derive(Debug, PartialEq)]
/// enum FetchError { Unavailable, NotFound }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut calls = 0;
/// let result = Retry::fixed(Duration::from_secs(1))
///     .max_attempts(3)
///     .when(|e: &FetchError| *e == FetchError::Unavailable)
///     .notify(|attempt, e: &FetchError, next| {
///         println!("attempt {attempt} failed with {e:?}; retrying in {next:?}");
///     })
///     .run(|| {
///         calls += 1;
///         let outcome = if calls < 3 { Err(FetchError::Unavailable) } else { Ok("users") };
///         async move { outcome }
///     })
///     .await;
/// assert_eq!(result, Ok("users"));
/// # }
/// ```
#[must_use = "a retry policy does nothing until `run` is called and awaited"]
pub struct Retry<E, W = fn(&E) -> bool, N = fn(u32, &E, Duration)> {
    schedule: Schedule,
    max_attempts: u32,
    when: W,
    notify: N,
    // Ties `E` to the struct for the default `W` and `N` without storing an `E`.
    _error: std::marker::PhantomData<fn(&E)>,
}

impl<E> Retry<E> {
    /// Retries after the same `delay` every time.
    pub fn fixed(delay: Duration) -> Self {
        Self::with_schedule(Schedule {
            initial: delay,
            factor: 1.0,
            max_delay: None,
            jitter: Jitter::Off,
        })
    }

    /// Retries after `initial`, then doubles the wait after every retry (see
    /// [`factor`](Retry::factor) and [`max_delay`](Retry::max_delay)).
    pub fn exponential(initial: Duration) -> Self {
        Self::with_schedule(Schedule {
            initial,
            factor: 2.0,
            max_delay: None,
            jitter: Jitter::Off,
        })
    }

    fn with_schedule(schedule: Schedule) -> Self {
        Self {
            schedule,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            when: |_| true,
            notify: |_, _, _| {},
            _error: std::marker::PhantomData,
        }
    }
}

impl<E, W, N> Retry<E, W, N> {
    /// Calls the operation at most `attempts` times in all, the first call included.
    ///
    /// `0` is treated as `1`: the operation always runs at least once.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Multiplies the delay by `factor` after each retry.
    ///
    /// [`exponential`](Retry::exponential) starts at 2 and [`fixed`](Retry::fixed) at 1.
    /// Factors below 1 and NaN are treated as 1 (a fixed delay), so delays never shrink.
    pub fn factor(mut self, factor: f64) -> Self {
        // `f64::max` returns the non-NaN operand, so NaN becomes 1.
        self.schedule.factor = factor.max(1.0);
        self
    }

    /// Caps the scheduled delay at `max_delay` (before jitter is added).
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.schedule.max_delay = Some(max_delay);
        self
    }

    /// Adds a random extra wait of between zero and the scheduled delay to each wait.
    ///
    /// Every wait then lies in `[delay, 2 × delay]`, where `delay` is the scheduled
    /// (capped) delay. Spreads out retries from many callers that failed together.
    pub fn jitter(mut self) -> Self {
        if matches!(self.schedule.jitter, Jitter::Off) {
            self.schedule.jitter = Jitter::Random;
        }
        self
    }

    /// Enables [`jitter`](Retry::jitter) with a fixed seed, so the same policy always
    /// produces the same waits (for tests and reproducible runs).
    pub fn jitter_seed(mut self, seed: u64) -> Self {
        self.schedule.jitter = Jitter::Seeded(seed);
        self
    }

    /// Retries only errors for which `predicate` returns `true`; any other error is
    /// returned immediately.
    pub fn when<W2>(self, predicate: W2) -> Retry<E, W2, N>
    where
        W2: FnMut(&E) -> bool,
    {
        Retry {
            schedule: self.schedule,
            max_attempts: self.max_attempts,
            when: predicate,
            notify: self.notify,
            _error: std::marker::PhantomData,
        }
    }

    /// Calls `callback(attempt, error, next_delay)` before each retry's wait.
    ///
    /// `attempt` is the 1-based number of the attempt that just failed with `error`,
    /// and `next_delay` the wait (jitter included) before attempt `attempt + 1`. It is
    /// not called for the final error, which [`run`](Retry::run) returns instead.
    pub fn notify<N2>(self, callback: N2) -> Retry<E, W, N2>
    where
        N2: FnMut(u32, &E, Duration),
    {
        Retry {
            schedule: self.schedule,
            max_attempts: self.max_attempts,
            when: self.when,
            notify: callback,
            _error: std::marker::PhantomData,
        }
    }

    /// The waits this policy schedules between attempts, in order (one fewer than
    /// the maximum number of attempts). With random jitter each call gives new waits.
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<E, W, N> {
        self.schedule.clone().delays(self.max_attempts)
    }

    /// Runs `operation` until it succeeds, returns an error the policy does not
    /// retry, or has been tried [`max_attempts`](Retry::max_attempts) times.
    ///
    /// `operation` is called once per attempt and must return a fresh future each
    /// time. Waits use [`tokio::time::sleep`], so they follow a paused test clock.
    /// See [the type docs](Retry#what-run-returns) for the result.
    pub async fn run<T, Fut, Op>(self, operation: Op) -> Result<T, E>
    where
        Op: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        W: FnMut(&E) -> bool,
        N: FnMut(u32, &E, Duration),
    {
        let mut notify = self.notify;
        // backon's callback has no attempt number; count failures here instead.
        let mut failed: u32 = 0;
        let result = operation
            .retry(self.schedule.delays(self.max_attempts))
            .sleep(tokio::time::sleep)
            .when(self.when)
            .notify(|error: &E, next_delay: Duration| {
                failed += 1;
                tracing::debug!(attempt = failed, ?next_delay, "attempt failed; retrying");
                notify(failed, error, next_delay);
            })
            .await;
        if result.is_err() {
            tracing::debug!(attempts = failed + 1, "giving up; returning the last error");
        }
        result
    }
}

impl<E, W: Clone, N: Clone> Clone for Retry<E, W, N> {
    fn clone(&self) -> Self {
        Self {
            schedule: self.schedule.clone(),
            max_attempts: self.max_attempts,
            when: self.when.clone(),
            notify: self.notify.clone(),
            _error: std::marker::PhantomData,
        }
    }
}

impl<E, W, N> fmt::Debug for Retry<E, W, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Retry")
            .field("schedule", &self.schedule)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy)]
enum Jitter {
    Off,
    Random,
    Seeded(u64),
}

/// The delay schedule. Our own rather than backon's builders because those compute
/// in `f32`, which turns e.g. 100 ms × 2 into 200.000003 ms.
#[derive(Debug, Clone)]
struct Schedule {
    initial: Duration,
    factor: f64,
    max_delay: Option<Duration>,
    jitter: Jitter,
}

impl Schedule {
    fn delays(self, max_attempts: u32) -> Delays {
        let rng = match self.jitter {
            Jitter::Off => None,
            Jitter::Random => Some(fastrand::Rng::new()),
            Jitter::Seeded(seed) => Some(fastrand::Rng::with_seed(seed)),
        };
        Delays {
            next: self.initial,
            factor: self.factor,
            max_delay: self.max_delay,
            remaining: max_attempts.saturating_sub(1),
            rng,
        }
    }
}

/// The waits between attempts; a [`backon::Backoff`] (any `Iterator<Item = Duration>`).
#[derive(Debug)]
struct Delays {
    next: Duration,
    factor: f64,
    max_delay: Option<Duration>,
    remaining: u32,
    rng: Option<fastrand::Rng>,
}

impl Iterator for Delays {
    type Item = Duration;

    fn next(&mut self) -> Option<Duration> {
        self.remaining = self.remaining.checked_sub(1)?;
        let scheduled = match self.max_delay {
            Some(cap) => self.next.min(cap),
            None => self.next,
        };
        // f64 keeps millisecond-scale products exact to the nanosecond; overflow saturates.
        self.next = Duration::try_from_secs_f64(scheduled.as_secs_f64() * self.factor)
            .unwrap_or(Duration::MAX);
        let wait = match &mut self.rng {
            None => scheduled,
            Some(rng) => {
                // Integer nanoseconds so the bound `[scheduled, 2 × scheduled]` is exact.
                let max_extra = u64::try_from(scheduled.as_nanos()).unwrap_or(u64::MAX);
                scheduled.saturating_add(Duration::from_nanos(rng.u64(0..=max_extra)))
            }
        };
        Some(wait)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::try_from(self.remaining).unwrap_or(usize::MAX);
        (n, Some(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn fixed_schedule_has_one_delay_per_retry() {
        let delays: Vec<_> = Retry::<()>::fixed(100 * MS)
            .max_attempts(4)
            .delays()
            .collect();
        assert_eq!(delays, [100 * MS; 3]);
    }

    #[test]
    fn exponential_schedule_is_exact_and_capped() {
        let delays: Vec<_> = Retry::<()>::exponential(100 * MS)
            .max_delay(500 * MS)
            .max_attempts(6)
            .delays()
            .collect();
        assert_eq!(delays, [100 * MS, 200 * MS, 400 * MS, 500 * MS, 500 * MS]);
    }

    #[test]
    fn zero_attempts_means_one_and_no_delays() {
        assert_eq!(Retry::<()>::fixed(MS).max_attempts(0).delays().count(), 0);
    }

    #[test]
    fn factor_below_one_or_nan_is_fixed() {
        for factor in [0.5, f64::NAN] {
            let delays: Vec<_> = Retry::<()>::exponential(10 * MS)
                .factor(factor)
                .delays()
                .collect();
            assert_eq!(delays, [10 * MS, 10 * MS], "factor {factor}");
        }
    }

    #[test]
    fn seeded_jitter_is_reproducible_and_bounded() {
        let policy = Retry::<()>::exponential(100 * MS)
            .max_delay(400 * MS)
            .max_attempts(50)
            .jitter_seed(7);
        let first: Vec<_> = policy.delays().collect();
        assert_eq!(first, policy.delays().collect::<Vec<_>>());
        let scheduled = Retry::<()>::exponential(100 * MS)
            .max_delay(400 * MS)
            .max_attempts(50);
        for (wait, base) in first.iter().zip(scheduled.delays()) {
            assert!(
                base <= *wait && *wait <= 2 * base,
                "{wait:?} outside [{base:?}, {:?}]",
                2 * base
            );
        }
        // Once capped the scheduled delay is constant, so differences come from jitter.
        assert!(first[3..].windows(2).any(|w| w[0] != w[1]));
    }

    #[test]
    fn huge_delays_saturate_instead_of_panicking() {
        let delays: Vec<_> = Retry::<()>::exponential(Duration::MAX)
            .max_attempts(3)
            .jitter_seed(1)
            .delays()
            .collect();
        assert_eq!(delays, [Duration::MAX; 2]);
    }
}
