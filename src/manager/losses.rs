//! Events the bus could not deliver during a stop: the stop report counts them, so that an
//! application learns what a shutdown lost instead of losing it silently.
//!
//! Two kinds: events published while the stop ran that reached no subscriber (counted by
//! the bus, [`EventBus::unconsumed`]; read at both ends of the operation), and events left
//! in a stopping module's queues when its drain reached its time limit.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::time::Instant;

use crate::bus::EventBus;
use crate::manager::entry::Entry;
use crate::util::FAR_FUTURE;

/// The losses of one operation. Shared by its contexts, through the operation's scope.
#[derive(Debug)]
pub(crate) struct Losses {
    /// [`EventBus::unconsumed`] when the operation began.
    unconsumed_at_begin: u64,
    /// Events left in drained queues at their limit.
    left_in_queues: AtomicU64,
}

impl Losses {
    /// Begins counting on `bus`: one relaxed load.
    pub(crate) fn begin(bus: &EventBus) -> Self {
        Self {
            unconsumed_at_begin: bus.unconsumed(),
            left_in_queues: AtomicU64::new(0),
        }
    }

    /// The events lost since [`begin`](Self::begin).
    pub(crate) fn total(&self, bus: &EventBus) -> u64 {
        let unconsumed = bus.unconsumed().saturating_sub(self.unconsumed_at_begin);
        unconsumed + self.left_in_queues.load(Ordering::Acquire)
    }

    /// Before `entry`'s stop hook: waits, up to `limit`, until the events already accepted
    /// into the queues of the subscriptions it made through its context are handled, so
    /// that its handlers finish their backlog while what they use is still open. What is
    /// left at the limit is logged and counted. `None`: no limit.
    pub(crate) async fn drain(&self, bus: &EventBus, entry: &Entry, limit: Option<Instant>) {
        // Without a timeout or a deadline the hook itself could wait forever; so may the
        // drain. A far instant rather than a second code path without a timer.
        let limit = limit.unwrap_or_else(|| Instant::now() + FAR_FUTURE);
        let report = bus.drain_tag(&entry.subscription_tag(), limit).await;
        if report.left > 0 {
            tracing::warn!(
                module = %entry.name,
                waited_for = report.waited_for,
                left = report.left,
                "stop: queued events left unhandled at the time limit"
            );
            self.left_in_queues.fetch_add(report.left, Ordering::AcqRel);
        } else if report.waited_for > 0 {
            tracing::debug!(module = %entry.name, handled = report.waited_for, "stop: queues drained");
        }
    }
}
