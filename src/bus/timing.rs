//! The clock of delivery reports.

use std::time::{Duration, SystemTime};

/// When a delivery started, on the wall clock: the clock events are stamped with, so that
/// [`EventBus::publish`](super::EventBus::publish) can start at its event's creation time
/// without another clock read. A step of the system clock during a delivery can distort the
/// elapsed time, never make it negative.
///
/// A delivery is timed only when its report is handed to someone: the deliveries take an
/// `Option<Start>`, `None` when the report is dropped (emitted events, failure notices,
/// [`EventBus::forward`](super::EventBus::forward)), which saves both clock reads.
#[derive(Clone, Copy)]
pub(super) struct Start(SystemTime);

impl Start {
    pub(super) fn now() -> Self {
        Self(SystemTime::now())
    }

    /// Starts at the creation time of an event stamped at the start of the delivery.
    pub(super) fn at(time: SystemTime) -> Self {
        Self(time)
    }

    pub(super) fn elapsed(self) -> Duration {
        self.0.elapsed().unwrap_or_default()
    }

    /// The end of a delivery that began here and took `elapsed`, without reading the clock:
    /// deliveries timed back to back (a batch's) take one reading each, one's end being the
    /// next one's start.
    pub(super) fn after(self, elapsed: Duration) -> Self {
        self.0.checked_add(elapsed).map_or(self, Self)
    }

    /// The time from `earlier` to this start, without reading the clock.
    pub(super) fn since(self, earlier: Start) -> Duration {
        self.0.duration_since(earlier.0).unwrap_or_default()
    }
}
