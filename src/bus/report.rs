//! Delivery reports: what happened when an event was published.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde::ser::SerializeStruct;

use super::event_id::EventId;
use super::subscription::SubscriptionId;
use crate::lifecycle::BoxError;

/// Why a handler failed.
#[derive(Debug, Clone)]
pub enum HandlerError {
    /// The handler returned an error.
    Failed(Arc<dyn std::error::Error + Send + Sync + 'static>),
    /// The handler (or its condition) panicked; the panic message.
    Panicked(String),
}

impl HandlerError {
    pub(crate) fn failed(error: BoxError) -> Self {
        Self::Failed(Arc::from(error))
    }

    /// Whether the handler panicked (rather than returned an error).
    pub fn is_panic(&self) -> bool {
        matches!(self, Self::Panicked(_))
    }
}

impl fmt::Display for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Failed(error) => fmt::Display::fmt(error, f),
            Self::Panicked(message) => write!(f, "handler panicked: {message}"),
        }
    }
}

impl std::error::Error for HandlerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Failed(error) => Some(&**error),
            Self::Panicked(_) => None,
        }
    }
}

/// One handler's failure. This is also the payload of the `bus.handler_failed` event.
#[derive(Debug, Clone)]
pub struct HandlerFailure {
    /// The subscription whose handler failed.
    pub subscription: SubscriptionId,
    /// The subscription's pattern.
    pub pattern: Arc<str>,
    /// The topic of the event it was handling.
    pub topic: Arc<str>,
    /// The id of the event it was handling.
    pub event_id: EventId,
    /// What went wrong.
    pub error: HandlerError,
}

impl fmt::Display for HandlerFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "subscription {} (`{}`) failed on event {} `{}`: {}",
            self.subscription, self.pattern, self.event_id, self.topic, self.error
        )
    }
}

impl Serialize for HandlerFailure {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("HandlerFailure", 6)?;
        s.serialize_field("subscription", &self.subscription.get())?;
        s.serialize_field("pattern", &*self.pattern)?;
        s.serialize_field("topic", &*self.topic)?;
        s.serialize_field("event_id", &self.event_id)?;
        s.serialize_field("error", &self.error.to_string())?;
        s.serialize_field("panicked", &self.error.is_panic())?;
        s.end()
    }
}

/// What happened to one published event.
///
/// Every count is a method, as on [`BatchReport`].
#[derive(Debug, Clone)]
pub struct DeliveryReport {
    pub(super) event_id: Option<EventId>,
    pub(super) matched: usize,
    pub(super) succeeded: usize,
    pub(super) failures: Vec<HandlerFailure>,
    pub(super) skipped: usize,
    pub(super) queued: usize,
    pub(super) dropped: usize,
    pub(super) elapsed: Duration,
}

impl DeliveryReport {
    pub(crate) fn empty(event_id: Option<EventId>) -> Self {
        Self {
            event_id,
            matched: 0,
            succeeded: 0,
            failures: Vec::new(),
            skipped: 0,
            queued: 0,
            dropped: 0,
            elapsed: Duration::ZERO,
        }
    }

    /// The event's id; `None` when nobody listened and no history is kept, so no event was
    /// built.
    pub fn event_id(&self) -> Option<EventId> {
        self.event_id
    }

    /// Handlers the event was given to (pattern matched, condition held, not already used up).
    pub fn matched(&self) -> usize {
        self.matched
    }

    /// Handlers on the publisher's task that returned `Ok`.
    pub fn succeeded(&self) -> usize {
        self.succeeded
    }

    /// Number of handlers that failed.
    pub fn failed(&self) -> usize {
        self.failures.len()
    }

    /// Handlers that returned an error or panicked, with their errors, in delivery order.
    pub fn failures(&self) -> &[HandlerFailure] {
        &self.failures
    }

    /// Subscriptions whose pattern matched but whose condition did not hold.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Events handed to queued (off-task) subscribers.
    pub fn queued(&self) -> usize {
        self.queued
    }

    /// Events a full subscriber queue dropped (this event, or an older one it replaced).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Time spent publishing, handlers included, on the wall clock (`SystemTime`, the clock
    /// events are stamped with). For [`EventBus::publish`](super::EventBus::publish) it runs
    /// from the event's creation time, which saves a clock read per publish. A step of the
    /// system clock during the publish can distort it, never make it negative.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether no handler failed and nothing was dropped.
    pub fn is_success(&self) -> bool {
        self.failures.is_empty() && self.dropped == 0
    }
}

/// What happened to a batch of events.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    pub(super) reports: Vec<DeliveryReport>,
    pub(super) elapsed: Duration,
}

impl BatchReport {
    /// One report per event, in order.
    pub fn reports(&self) -> &[DeliveryReport] {
        &self.reports
    }

    /// Time spent on the whole batch, on the wall clock like its reports'
    /// [`elapsed`](DeliveryReport::elapsed).
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Total handler calls across the batch.
    pub fn matched(&self) -> usize {
        self.reports.iter().map(DeliveryReport::matched).sum()
    }

    /// Total successful handler calls across the batch.
    pub fn succeeded(&self) -> usize {
        self.reports.iter().map(DeliveryReport::succeeded).sum()
    }

    /// Total failed handler calls across the batch.
    pub fn failed(&self) -> usize {
        self.reports.iter().map(DeliveryReport::failed).sum()
    }

    /// Whether every event was delivered without failure or drop.
    pub fn is_success(&self) -> bool {
        self.reports.iter().all(DeliveryReport::is_success)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(panicked: bool) -> HandlerFailure {
        HandlerFailure {
            subscription: SubscriptionId(3),
            pattern: "user.*".into(),
            topic: "user.created".into(),
            event_id: crate::bus::Event::new("t", ()).unwrap().id(),
            error: if panicked {
                HandlerError::Panicked("oops".into())
            } else {
                HandlerError::failed("disk full".into())
            },
        }
    }

    #[test]
    fn batch_sums_its_reports() {
        let mut ok = DeliveryReport::empty(None);
        ok.matched = 2;
        ok.succeeded = 2;
        let mut bad = DeliveryReport::empty(None);
        bad.matched = 3;
        bad.succeeded = 1;
        bad.failures = vec![failure(false), failure(true)];
        let batch = BatchReport {
            reports: vec![ok.clone(), bad],
            elapsed: Duration::ZERO,
        };
        assert_eq!(
            (batch.matched(), batch.succeeded(), batch.failed()),
            (5, 3, 2)
        );
        assert!(!batch.is_success());
        assert!(ok.is_success());
        let mut dropped = ok;
        dropped.dropped = 1;
        assert!(!dropped.is_success());
    }

    #[test]
    fn failures_describe_themselves() {
        let f = failure(false);
        let text = f.to_string();
        assert!(text.contains("#3") && text.contains("user.*") && text.contains("disk full"));
        assert!(std::error::Error::source(&f.error).is_some());
        let json = serde_json::to_value(failure(true)).unwrap();
        assert_eq!(json["panicked"], true);
        assert_eq!(json["error"], "handler panicked: oops");
        assert_eq!(json["topic"], "user.created");
    }
}
