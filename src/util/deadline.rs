//! Deadlines from durations that may be huge: `now + Duration::MAX` overflows and panics,
//! so every place that turns a configured duration into an instant goes through
//! [`deadline_after`], which saturates at a far instant instead.

use std::time::Duration;

use tokio::time::Instant;

/// The furthest a deadline is placed: about thirty years, which no operation outlives and
/// which every platform's monotonic clock can represent (tokio uses the same bound).
pub const FAR_FUTURE: Duration = Duration::from_secs(86_400 * 365 * 30);

/// The instant `limit` after `start`, or [`FAR_FUTURE`] after it when `limit` is longer:
/// a limit too large to represent means "no practical limit", never a panic.
///
/// ```
/// use std::time::Duration;
/// use symphra::util::{FAR_FUTURE, deadline_after};
/// use tokio::time::Instant;
///
/// let now = Instant::now();
/// assert_eq!(deadline_after(now, Duration::from_secs(5)), now + Duration::from_secs(5));
/// assert_eq!(deadline_after(now, Duration::MAX), now + FAR_FUTURE);
/// ```
#[must_use]
pub fn deadline_after(start: Instant, limit: Duration) -> Instant {
    start + limit.min(FAR_FUTURE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_up_to_the_far_future_is_kept_exactly() {
        let now = Instant::now();
        assert_eq!(deadline_after(now, Duration::ZERO), now);
        assert_eq!(deadline_after(now, FAR_FUTURE), now + FAR_FUTURE);
        let just_over = FAR_FUTURE + Duration::from_nanos(1);
        assert_eq!(deadline_after(now, just_over), now + FAR_FUTURE);
    }

    #[test]
    fn a_huge_limit_saturates_instead_of_panicking() {
        let now = Instant::now();
        assert_eq!(deadline_after(now, Duration::MAX), now + FAR_FUTURE);
        assert_eq!(
            deadline_after(now, Duration::from_secs(u64::MAX / 2)),
            now + FAR_FUTURE
        );
    }
}
