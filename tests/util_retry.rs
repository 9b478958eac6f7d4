//! `symphra::util::Retry` on tokio's paused clock: attempt counts, exact gaps
//! between attempts, the predicate, the callback and the returned error.

use std::time::Duration;

use symphra::util::{Retry, TimeoutExt};
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, PartialEq)]
enum OpError {
    /// Worth retrying; carries the attempt number so tests can tell errors apart.
    Transient(u32),
    Fatal(u32),
}

impl OpError {
    fn is_transient(&self) -> bool {
        matches!(self, OpError::Transient(_))
    }
}

/// The gaps between consecutive attempt start times.
fn gaps(starts: &[Instant]) -> Vec<Duration> {
    starts.windows(2).map(|w| w[1] - w[0]).collect()
}

#[tokio::test(start_paused = true)]
async fn fixed_delay_runs_max_attempts_with_exact_gaps_and_returns_last_error() {
    let mut starts = Vec::new();
    let result: Result<(), OpError> = Retry::fixed(100 * MS)
        .max_attempts(4)
        .run(|| {
            starts.push(Instant::now());
            let attempt = u32::try_from(starts.len()).unwrap_or(u32::MAX);
            async move { Err(OpError::Transient(attempt)) }
        })
        .await;

    assert_eq!(
        result,
        Err(OpError::Transient(4)),
        "the last attempt's error"
    );
    assert_eq!(gaps(&starts), [100 * MS; 3]);
}

#[tokio::test(start_paused = true)]
async fn default_is_three_attempts() {
    let mut attempts = 0;
    let result: Result<(), ()> = Retry::fixed(Duration::from_secs(1))
        .run(|| {
            attempts += 1;
            async { Err(()) }
        })
        .await;
    assert_eq!(result, Err(()));
    assert_eq!(attempts, symphra::util::DEFAULT_MAX_ATTEMPTS);
}

#[tokio::test(start_paused = true)]
async fn exponential_delay_doubles_up_to_the_cap() {
    let mut starts = Vec::new();
    let began = Instant::now();
    let result: Result<(), OpError> = Retry::exponential(100 * MS)
        .max_delay(300 * MS)
        .max_attempts(6)
        .run(|| {
            starts.push(Instant::now());
            async { Err(OpError::Transient(0)) }
        })
        .await;

    assert!(result.is_err());
    assert_eq!(
        starts.first(),
        Some(&began),
        "the first attempt does not wait"
    );
    assert_eq!(
        gaps(&starts),
        [100 * MS, 200 * MS, 300 * MS, 300 * MS, 300 * MS]
    );
}

#[tokio::test(start_paused = true)]
async fn exponential_with_custom_factor() {
    let mut starts = Vec::new();
    let _: Result<(), ()> = Retry::exponential(100 * MS)
        .factor(3.0)
        .max_attempts(4)
        .run(|| {
            starts.push(Instant::now());
            async { Err(()) }
        })
        .await;
    assert_eq!(gaps(&starts), [100 * MS, 300 * MS, 900 * MS]);
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_waits_exactly_the_documented_delays_within_bounds() {
    let policy = Retry::<()>::exponential(100 * MS)
        .max_delay(400 * MS)
        .max_attempts(8)
        .jitter_seed(42);
    let expected: Vec<Duration> = policy.delays().collect();
    let scheduled = [100, 200, 400, 400, 400, 400, 400].map(|ms| ms * MS);

    let mut starts = Vec::new();
    let mut notified = Vec::new();
    let result = policy
        .notify(|_, _, delay| notified.push(delay))
        .run(|| {
            starts.push(Instant::now());
            async { Err::<(), ()>(()) }
        })
        .await;

    assert_eq!(result, Err(()));
    assert_eq!(
        notified, expected,
        "the callback reports the jittered waits"
    );
    for ((gap, wait), base) in gaps(&starts).into_iter().zip(&expected).zip(scheduled) {
        assert!(
            base <= *wait && *wait <= 2 * base,
            "{wait:?} not in [{base:?}, 2×]"
        );
        // Tokio's timer has millisecond resolution: a sub-millisecond wait is rounded up.
        assert!(
            *wait <= gap && gap < *wait + MS,
            "slept {gap:?} for a {wait:?} wait"
        );
    }
    assert!(
        expected.iter().zip(scheduled).any(|(w, b)| *w != b),
        "jitter changed at least one wait"
    );
}

#[tokio::test(start_paused = true)]
async fn unseeded_jitter_stays_within_bounds() {
    let mut notified = Vec::new();
    let _: Result<(), ()> = Retry::fixed(50 * MS)
        .jitter()
        .max_attempts(20)
        .notify(|_, _, delay| notified.push(delay))
        .run(|| async { Err(()) })
        .await;
    assert_eq!(notified.len(), 19);
    assert!(
        notified.iter().all(|d| 50 * MS <= *d && *d <= 100 * MS),
        "{notified:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn non_retryable_error_returns_after_one_attempt_without_waiting() {
    let began = Instant::now();
    let mut attempts = 0;
    let mut notified = 0;
    let result: Result<(), OpError> = Retry::fixed(Duration::from_secs(1))
        .max_attempts(5)
        .when(OpError::is_transient)
        .notify(|_, _, _| notified += 1)
        .run(|| {
            attempts += 1;
            async { Err(OpError::Fatal(1)) }
        })
        .await;

    assert_eq!(result, Err(OpError::Fatal(1)));
    assert_eq!(attempts, 1);
    assert_eq!(notified, 0);
    assert_eq!(Instant::now(), began, "no delay before giving up");
}

#[tokio::test(start_paused = true)]
async fn predicate_stops_at_the_first_non_retryable_error() {
    let mut attempts = 0;
    let result: Result<(), OpError> = Retry::fixed(10 * MS)
        .max_attempts(10)
        .when(|e: &OpError| e.is_transient())
        .run(|| {
            attempts += 1;
            let error = if attempts < 3 {
                OpError::Transient(attempts)
            } else {
                OpError::Fatal(attempts)
            };
            async move { Err(error) }
        })
        .await;
    assert_eq!(result, Err(OpError::Fatal(3)));
    assert_eq!(attempts, 3);
}

#[tokio::test(start_paused = true)]
async fn notify_is_called_once_per_retry_with_attempt_error_and_delay() {
    let mut calls: Vec<(u32, OpError, Duration)> = Vec::new();
    let mut attempts = 0;
    let result = Retry::exponential(100 * MS)
        .max_attempts(4)
        .notify(|attempt, error: &OpError, next| calls.push((attempt, error.clone(), next)))
        .run(|| {
            attempts += 1;
            let error = OpError::Transient(attempts);
            async move { Err::<(), _>(error) }
        })
        .await;

    assert_eq!(result, Err(OpError::Transient(4)));
    assert_eq!(
        calls,
        [
            (1, OpError::Transient(1), 100 * MS),
            (2, OpError::Transient(2), 200 * MS),
            (3, OpError::Transient(3), 400 * MS),
        ],
        "no call for the final error"
    );
}

#[tokio::test(start_paused = true)]
async fn success_stops_retrying_and_returns_the_value() {
    let began = Instant::now();
    let mut attempts = 0;
    let result = Retry::fixed(100 * MS)
        .max_attempts(5)
        .run(|| {
            attempts += 1;
            let outcome = if attempts < 3 {
                Err(OpError::Transient(attempts))
            } else {
                Ok(attempts * 10)
            };
            async move { outcome }
        })
        .await;
    assert_eq!(result, Ok(30));
    assert_eq!(attempts, 3);
    assert_eq!(Instant::now() - began, 200 * MS);
}

#[tokio::test(start_paused = true)]
async fn one_attempt_means_no_retry() {
    for max in [0, 1] {
        let mut attempts = 0;
        let _: Result<(), ()> = Retry::fixed(MS)
            .max_attempts(max)
            .run(|| {
                attempts += 1;
                async { Err(()) }
            })
            .await;
        assert_eq!(attempts, 1, "max_attempts({max})");
    }
}

#[tokio::test(start_paused = true)]
async fn runs_on_a_spawned_task() {
    // The retry future is `Send` when the operation and callbacks are.
    let handle = tokio::spawn(
        Retry::fixed(10 * MS)
            .when(|e: &String| !e.is_empty())
            .notify(|attempt, e: &String, _| tracing::info!(attempt, e, "retrying"))
            .run(|| async { Err::<(), String>("down".to_owned()) }),
    );
    assert_eq!(handle.await.ok(), Some(Err("down".to_owned())));
}

#[tokio::test(start_paused = true)]
async fn per_attempt_timeout_composes_with_retry() {
    let mut attempts = 0;
    let began = Instant::now();
    let result = Retry::fixed(100 * MS)
        .max_attempts(3)
        .run(|| {
            attempts += 1;
            // The first two attempts hang; the third answers at once.
            let hang = if attempts < 3 {
                Duration::from_secs(10)
            } else {
                Duration::ZERO
            };
            async move {
                tokio::time::sleep(hang).await;
                "ok"
            }
            .timeout("slow call", 50 * MS)
        })
        .await;
    assert_eq!(result, Ok("ok"));
    assert_eq!(Instant::now() - began, 2 * (50 * MS + 100 * MS));
}
