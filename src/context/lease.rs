//! A lease: the right, granted by whatever coordinates the replicas of an application, to
//! run a [singleton](crate::ModuleMetadata::singleton) module for a while.

use std::fmt;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The lease a singleton module runs under, read with
/// [`Context::lease`](crate::Context::lease).
///
/// Its [`token`](Self::token) is a fencing token: it grows with every new holder, so a
/// resource that remembers the highest token it has seen can refuse a write from a former
/// holder that was paused, lost its lease and woke up still believing it held it. Pass the
/// token with every write to anything outside the process.
///
/// The coordinator keeps the lease current by [extending](Self::extend_until) its local
/// deadline after each renewal; past the deadline, or once [revoked](Self::revoke), the
/// lease is no longer current and [`lost`](Self::lost) fires. Cheap to clone; clones
/// share one state.
#[derive(Clone)]
pub struct Lease {
    token: u64,
    state: Arc<LeaseState>,
}

struct LeaseState {
    valid_until: Mutex<Instant>,
    lost: CancellationToken,
}

impl Lease {
    /// A lease with fencing token `token`, current until `valid_until`.
    pub fn new(token: u64, valid_until: Instant) -> Self {
        Self {
            token,
            state: Arc::new(LeaseState {
                valid_until: Mutex::new(valid_until),
                lost: CancellationToken::new(),
            }),
        }
    }

    /// The fencing token: the same for the whole tenure of one holder, greater for every
    /// later holder.
    pub fn token(&self) -> u64 {
        self.token
    }

    /// Whether the lease is still held: not revoked, and its local deadline not passed.
    /// Check it right before a write; the token guards the write itself.
    pub fn is_current(&self) -> bool {
        !self.state.lost.is_cancelled() && Instant::now() < *self.state.valid_until.lock()
    }

    /// The local deadline: the lease is given up at this instant unless extended first.
    pub fn valid_until(&self) -> Instant {
        *self.state.valid_until.lock()
    }

    /// Moves the local deadline to `valid_until` (never earlier than it was); the
    /// coordinator calls it after each renewal.
    pub fn extend_until(&self, valid_until: Instant) {
        let mut current = self.state.valid_until.lock();
        if valid_until > *current {
            *current = valid_until;
        }
    }

    /// Ends the lease: it is no longer current, and [`lost`](Self::lost) fires.
    pub fn revoke(&self) {
        self.state.lost.cancel();
    }

    /// Fires when the lease is revoked. A module's task can select on it to stop writing
    /// at once, before the manager stops the module.
    pub fn lost(&self) -> tokio_util::sync::WaitForCancellationFuture<'_> {
        self.state.lost.cancelled()
    }
}

impl fmt::Debug for Lease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lease")
            .field("token", &self.token)
            .field("current", &self.is_current())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn is_current_until_its_deadline_or_revocation() {
        let lease = Lease::new(7, Instant::now() + Duration::from_secs(5));
        assert_eq!(lease.token(), 7);
        assert!(lease.is_current());
        tokio::time::advance(Duration::from_secs(4)).await;
        lease.extend_until(Instant::now() + Duration::from_secs(5));
        lease.extend_until(Instant::now()); // never moves back
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(lease.is_current(), "extended");
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(!lease.is_current(), "past its deadline");

        let other = Lease::new(8, Instant::now() + Duration::from_secs(5));
        let clone = other.clone();
        other.revoke();
        assert!(!clone.is_current());
        clone.lost().await; // fires at once
    }
}
