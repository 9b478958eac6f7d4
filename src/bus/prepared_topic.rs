//! A topic published on again and again, such as the subject a bridge imports: checked
//! once, with its route kept until the bus's subscriptions change.
//!
//! A publish through the route cache takes its read lock and a reference count on the route
//! (four atomic read-modify-writes, each of which waits for the processor's pending writes);
//! through a [`PreparedTopic`], one atomic load says whether the kept route is still current.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::SystemTime;

use serde_json::Value;

use super::cache::Route;
use super::error::BusError;
use super::event::Event;
use super::event_bus::{BusInner, EventBus};
use super::topic::validate_topic;

/// A valid topic of one bus and its route, as of the bus's last subscription change that
/// this handle has seen. Made by [`EventBus::prepare`], used by
/// [`EventBus::forward_on`].
///
/// It keeps the route's subscriptions' handlers alive until the subscriptions change and
/// it is used again, or it is dropped, as a stale entry of the bus's route cache does.
///
/// ```
/// use std::time::SystemTime;
/// use symphra::bus::EventBus;
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), symphra::bus::BusError> {
/// let bus = EventBus::new();
/// let _sub = bus.subscribe("order.paid", |event| assert!(event.json_value().is_some()))?;
/// let mut paid = bus.prepare("order.paid")?;
/// for n in 0..3 {
///     let event = paid.json_event(json!(n), SystemTime::now());
///     bus.forward_on(&mut paid, event).await;
/// }
/// assert_eq!(bus.stats().delivered, 3);
/// # Ok(())
/// # }
/// ```
pub struct PreparedTopic {
    /// The bus it was prepared on, to tell it from another (never upgraded).
    bus: Weak<BusInner>,
    route: Arc<Route>,
    /// The bus's [`EventBus::subscription_changes`] read before `route` was taken.
    stamp: u64,
}

impl std::fmt::Debug for PreparedTopic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedTopic")
            .field("topic", &self.topic())
            .field("subscribers", &self.route.subs.len())
            .finish()
    }
}

impl PreparedTopic {
    /// The topic.
    pub fn topic(&self) -> &str {
        &self.route.topic
    }

    /// A new event on this topic with a JSON payload and the creation time `time`: the topic
    /// is shared, not checked or copied; the event has its own id, no source or origin.
    #[inline]
    pub fn json_event(&self, payload: Value, time: SystemTime) -> Event {
        Event::unchecked_at(Arc::clone(&self.route.topic), payload, time)
    }

    /// The route, taken again if the bus's subscriptions changed since it was.
    #[inline]
    fn current(&mut self, inner: &BusInner) -> &Route {
        let changes = inner.changes.load(Ordering::Acquire);
        if changes != self.stamp {
            self.refresh(inner, changes);
        }
        &self.route
    }

    #[cold]
    #[inline(never)]
    fn refresh(&mut self, inner: &BusInner, changes: u64) {
        // `changes` was read before the route is taken: if another change slips in between,
        // the stamp is older than the route, and the next use takes it again.
        let fresh = inner.route_valid(&self.route.topic);
        let _old = std::mem::replace(&mut self.route, fresh);
        self.stamp = changes;
    }
}

impl EventBus {
    /// Prepares `topic` for publishing on it again and again with
    /// [`forward_on`](Self::forward_on): checked once, its route kept until the
    /// subscriptions change.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] if `topic` is invalid.
    pub fn prepare(&self, topic: &str) -> Result<PreparedTopic, BusError> {
        validate_topic(topic)?;
        let stamp = self.inner.changes.load(Ordering::Acquire);
        Ok(PreparedTopic {
            bus: Arc::downgrade(&self.inner),
            route: self.inner.route_valid(topic),
            stamp,
        })
    }

    /// [`forward`](Self::forward) along the route `prepared` keeps, when `event` is on its
    /// topic and it was prepared on this bus; otherwise exactly `forward`. The same
    /// deliveries, history, counters and failure notices, with no lock and no reference
    /// count taken for the route.
    pub async fn forward_on(&self, prepared: &mut PreparedTopic, event: Event) {
        let ours = std::ptr::eq(prepared.bus.as_ptr(), Arc::as_ptr(&self.inner))
            && event.topic() == prepared.topic();
        if !ours {
            return self.forward(event).await;
        }
        let route = prepared.current(&self.inner);
        self.inner.forward_routed(&event, route).await;
    }
}
