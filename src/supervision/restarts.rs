//! The restart bookkeeping of one module: intensity within a window, backoff, and the
//! reset after a stable period.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::supervision::{Restart, RestartPolicy};
use crate::util::Retry;

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Start the module again after this wait.
    RestartAfter(Duration),
    /// The policy does not restart it, or its restarts are used up.
    GiveUp,
}

/// The restarts of one module so far.
pub(crate) struct Restarts {
    policy: RestartPolicy,
    /// When each restart within the current window happened.
    recent: VecDeque<Instant>,
    /// The waits still to come, in order; begun anew after a stable period.
    delays: Box<dyn Iterator<Item = Duration> + Send + Sync>,
    /// When the module last started (after a restart, or first).
    up_since: Option<Instant>,
    /// Restarts since the module was last stable (or first failed): the attempt number of
    /// the latest restart.
    streak: u32,
}

impl Restarts {
    pub(crate) fn new(policy: RestartPolicy) -> Self {
        let delays = schedule(&policy);
        Self {
            policy,
            recent: VecDeque::new(),
            delays,
            up_since: None,
            streak: 0,
        }
    }

    /// The number of the restart last decided on, counted since the module was last
    /// stable: 1 for the first.
    pub(crate) fn attempt(&self) -> u32 {
        self.streak
    }

    /// The module started (or started again) at `now`.
    pub(crate) fn started(&mut self, now: Instant) {
        self.up_since = Some(now);
    }

    /// The module failed at `now` (or, if `failed` is false, ended without a failure):
    /// whether and when to start it again. A restart it decides on is counted.
    pub(crate) fn decide(&mut self, now: Instant, failed: bool) -> Decision {
        let restarts = match self.policy.restart() {
            Restart::Never => false,
            Restart::OnFailure => failed,
            Restart::Always => true,
        };
        if !restarts {
            return Decision::GiveUp;
        }
        if self.up_since.is_some_and(|since| {
            now.saturating_duration_since(since) >= self.policy.stable_period()
        }) {
            // It stayed up long enough: the backoff and the count start over.
            self.recent.clear();
            self.delays = schedule(&self.policy);
            self.streak = 0;
        }
        while self
            .recent
            .front()
            .is_some_and(|&at| now.saturating_duration_since(at) >= self.policy.within())
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= self.policy.max_restarts() as usize {
            return Decision::GiveUp;
        }
        self.recent.push_back(now);
        self.up_since = None;
        self.streak = self.streak.saturating_add(1);
        let wait = self.delays.next().unwrap_or(self.policy.backoff_range().1);
        Decision::RestartAfter(wait)
    }
}

impl std::fmt::Debug for Restarts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Restarts")
            .field("policy", &self.policy)
            .field("recent", &self.recent.len())
            .field("up_since", &self.up_since)
            .field("streak", &self.streak)
            .finish_non_exhaustive()
    }
}

/// The waits of `policy`, from the one schedule the retry utility uses.
fn schedule(policy: &RestartPolicy) -> Box<dyn Iterator<Item = Duration> + Send + Sync> {
    let (base, cap) = policy.backoff_range();
    let retry = Retry::<()>::exponential(base)
        .max_delay(cap)
        .max_attempts(u32::MAX);
    let retry = if policy.has_jitter() {
        retry.jitter()
    } else {
        retry
    };
    Box::new(retry.delays())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn exact(restart: Restart) -> RestartPolicy {
        RestartPolicy::new(restart)
            .intensity(5, Duration::from_secs(60))
            .backoff(100 * MS, 1_000 * MS)
            .jitter(false)
            .stable_after(Duration::from_secs(10))
    }

    #[test]
    fn waits_double_from_the_base_up_to_the_cap() {
        let mut restarts =
            Restarts::new(exact(Restart::OnFailure).intensity(10, Duration::from_secs(60)));
        let now = Instant::now();
        let waits: Vec<Decision> = (0..6).map(|_| restarts.decide(now, true)).collect();
        let expected = [100, 200, 400, 800, 1_000, 1_000].map(|ms| Decision::RestartAfter(ms * MS));
        assert_eq!(waits, expected);
    }

    #[test]
    fn intensity_gives_up_within_the_window_and_forgives_after_it() {
        let mut restarts =
            Restarts::new(exact(Restart::OnFailure).intensity(2, Duration::from_secs(60)));
        let t0 = Instant::now();
        assert_eq!(restarts.decide(t0, true), Decision::RestartAfter(100 * MS));
        assert_eq!(
            restarts.decide(t0 + Duration::from_secs(1), true),
            Decision::RestartAfter(200 * MS)
        );
        assert_eq!(
            restarts.decide(t0 + Duration::from_secs(2), true),
            Decision::GiveUp
        );
        // The first restart has left the window; the backoff goes on doubling.
        assert_eq!(
            restarts.decide(t0 + Duration::from_secs(60), true),
            Decision::RestartAfter(400 * MS)
        );
    }

    #[test]
    fn a_stable_period_resets_the_backoff_and_the_count() {
        let mut restarts = Restarts::new(exact(Restart::OnFailure));
        let t0 = Instant::now();
        assert_eq!(restarts.decide(t0, true), Decision::RestartAfter(100 * MS));
        restarts.started(t0);
        assert_eq!(
            restarts.decide(t0 + Duration::from_secs(1), true),
            Decision::RestartAfter(200 * MS)
        );
        restarts.started(t0 + Duration::from_secs(1));
        // Up for 10 s: stable.
        assert_eq!(
            restarts.decide(t0 + Duration::from_secs(11), true),
            Decision::RestartAfter(100 * MS)
        );
    }

    #[test]
    fn the_policy_decides_what_counts() {
        let now = Instant::now();
        assert_eq!(
            Restarts::new(exact(Restart::Never)).decide(now, true),
            Decision::GiveUp
        );
        assert_eq!(
            Restarts::new(exact(Restart::OnFailure)).decide(now, false),
            Decision::GiveUp
        );
        assert_eq!(
            Restarts::new(exact(Restart::Always)).decide(now, false),
            Decision::RestartAfter(100 * MS)
        );
    }

    #[test]
    fn jitter_stays_within_one_more_wait() {
        let policy = exact(Restart::OnFailure).jitter(true);
        let mut restarts = Restarts::new(policy);
        match restarts.decide(Instant::now(), true) {
            Decision::RestartAfter(wait) => {
                assert!((100 * MS..=200 * MS).contains(&wait), "{wait:?}")
            }
            Decision::GiveUp => panic!("gave up"),
        }
    }
}
