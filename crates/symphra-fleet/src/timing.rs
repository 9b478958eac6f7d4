//! The lease timings, and the rules that make them safe.

use std::time::Duration;

use crate::FleetError;

/// How long a lease lasts and when it is renewed and given up.
///
/// - `ttl`: the lease bucket's age limit (its `max_age`): the server forgets a lease not
///   renewed for this long, and another replica may then take it.
/// - `renew_every`: the holder renews this often (and a waiting replica retries its
///   campaign this often); `ttl / 4` by default.
/// - `give_up_after`: the holder gives the lease up locally — revokes it and stops the
///   module — when no renewal *sent* in the last `give_up_after` succeeded; `ttl / 2` by
///   default. The server dates a renewal when it receives it, after it was sent, so the
///   server's lease lasts at least `ttl - give_up_after` past the local deadline: the
///   module's stop must fit in that time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseTiming {
    ttl: Duration,
    renew_every: Duration,
    give_up_after: Duration,
}

/// The shortest lease the fleet accepts: the server expires messages on a timer of its
/// own, and shorter leases would mostly measure it.
pub const MIN_TTL: Duration = Duration::from_secs(1);

impl LeaseTiming {
    /// Leases of `ttl`, renewed every quarter of it and given up locally after half of it.
    pub fn new(ttl: Duration) -> Result<Self, FleetError> {
        Self::with(ttl, ttl / 4, ttl / 2)
    }

    /// Leases with every timing chosen. Refused unless
    /// `renew_every < give_up_after < ttl` and `ttl >=` [`MIN_TTL`], and unless at least two
    /// renewals fit before the give-up (one lost renewal must not give the lease up).
    pub fn with(
        ttl: Duration,
        renew_every: Duration,
        give_up_after: Duration,
    ) -> Result<Self, FleetError> {
        if ttl < MIN_TTL {
            return Err(FleetError::Timing("the lease TTL is shorter than 1 s"));
        }
        if give_up_after >= ttl {
            return Err(FleetError::Timing(
                "the holder must give the lease up before the TTL ends, to stop its module in time",
            ));
        }
        if renew_every.is_zero() || renew_every.saturating_mul(2) > give_up_after {
            return Err(FleetError::Timing(
                "at least two renewals must fit before the holder gives up",
            ));
        }
        Ok(Self {
            ttl,
            renew_every,
            give_up_after,
        })
    }

    /// The bucket's age limit.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How often the holder renews, and a waiting replica campaigns.
    pub fn renew_every(&self) -> Duration {
        self.renew_every
    }

    /// How long after a renewal was sent the holder gives up if none succeeded since.
    pub fn give_up_after(&self) -> Duration {
        self.give_up_after
    }

    /// The time a holder has, after giving up, to stop its module before the server's
    /// lease can expire and another replica start it: `ttl - give_up_after`.
    pub fn stop_budget(&self) -> Duration {
        self.ttl - self.give_up_after
    }

    /// The bound on a takeover after the holder dies: its lease expires at most `ttl`
    /// after its last renewal, and a waiting replica campaigns every `renew_every`. The
    /// server's expiry timer and the module's start come on top.
    pub fn takeover_bound(&self) -> Duration {
        self.ttl + self.renew_every
    }
}

impl Default for LeaseTiming {
    /// Ten-second leases.
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            renew_every: Duration::from_millis(2500),
            give_up_after: Duration::from_secs(5),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_keep_the_rules_and_bad_timings_are_refused() {
        let timing = LeaseTiming::new(Duration::from_secs(10)).unwrap();
        assert_eq!(timing, LeaseTiming::default());
        assert_eq!(timing.stop_budget(), Duration::from_secs(5));
        assert_eq!(timing.takeover_bound(), Duration::from_millis(12_500));
        let s = Duration::from_secs;
        assert!(LeaseTiming::new(Duration::from_millis(500)).is_err());
        assert!(
            LeaseTiming::with(s(4), s(1), s(4)).is_err(),
            "give up at the TTL"
        );
        assert!(
            LeaseTiming::with(s(4), s(2), s(3)).is_err(),
            "one renewal per give-up"
        );
        assert!(LeaseTiming::with(s(4), Duration::ZERO, s(3)).is_err());
        assert!(LeaseTiming::with(s(4), s(1), s(2)).is_ok());
    }
}
