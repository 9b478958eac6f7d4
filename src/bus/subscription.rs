//! Subscriptions: their options, their entries in the routing table, and the handle that
//! removes them.

use std::cmp::Reverse;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};

use super::event::Event;
use super::event_bus::BusInner;
use super::handler::Handler;
use super::queue::{QueueConfig, QueueStats, SubscriberQueue};
use super::topic::Pattern;

/// Identifies a subscription on its bus; later subscriptions have larger ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(pub(crate) u64);

impl SubscriptionId {
    /// The id as a number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SubscriptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

type Condition = Box<dyn Fn(&Event) -> bool + Send + Sync>;

/// How a subscription behaves: condition, priority, once, tag, and an optional queue.
///
/// ```
/// use symphra::bus::{QueueConfig, QueuePolicy, SubscribeOptions};
///
/// let options = SubscribeOptions::new()
///     .priority(10)
///     .once()
///     .tag("billing")
///     .condition(|event| event.payload::<u32>().is_some_and(|n| *n > 100))
///     .queue(QueueConfig::new(64, QueuePolicy::DropOldest));
/// # let _ = options;
/// ```
#[derive(Default)]
#[must_use]
pub struct SubscribeOptions {
    pub(crate) priority: i32,
    pub(crate) once: bool,
    pub(crate) tag: Option<Arc<str>>,
    pub(crate) condition: Option<Condition>,
    pub(crate) queue: Option<QueueConfig>,
}

impl SubscribeOptions {
    /// Defaults: priority 0, every event, no tag, on the publisher's task.
    pub fn new() -> Self {
        Self::default()
    }

    /// Higher priorities run first; equal priorities run in subscription order.
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// Deliver one event only, then unsubscribe.
    pub fn once(mut self) -> Self {
        self.once = true;
        self
    }

    /// A group name: [`EventBus::unsubscribe_tag`](super::EventBus::unsubscribe_tag) removes
    /// every subscription with this tag at once.
    pub fn tag(mut self, tag: impl Into<Arc<str>>) -> Self {
        self.tag = Some(tag.into());
        self
    }

    /// Deliver only the events for which `condition` holds.
    pub fn condition(mut self, condition: impl Fn(&Event) -> bool + Send + Sync + 'static) -> Self {
        self.condition = Some(Box::new(condition));
        self
    }

    /// Run the handler on its own task, fed by a bounded queue with the given policy, so that
    /// a slow handler does not hold up publishers. Needs a Tokio runtime when subscribing.
    pub fn queue(mut self, queue: QueueConfig) -> Self {
        self.queue = Some(queue);
        self
    }
}

impl fmt::Debug for SubscribeOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Taken apart whole, like in `SubEntry::new`, so a new option is shown too.
        let Self {
            priority,
            once,
            tag,
            condition,
            queue,
        } = self;
        f.debug_struct("SubscribeOptions")
            .field("priority", priority)
            .field("once", once)
            .field("tag", tag)
            .field("condition", &condition.is_some())
            .field("queue", queue)
            .finish()
    }
}

/// A subscription as the router sees it.
pub(crate) struct SubEntry {
    pub(crate) id: SubscriptionId,
    pub(crate) pattern: Pattern,
    pub(crate) priority: i32,
    pub(crate) once: bool,
    pub(crate) tag: Option<Arc<str>>,
    pub(crate) condition: Option<Condition>,
    pub(crate) handler: Handler,
    pub(crate) queue: Option<Arc<SubscriberQueue>>,
    /// For an async handler without a queue: the queue, and task, that the bus's emitter
    /// hands emitted events to, made on the first one, so that a handler that never returns
    /// holds up only itself (see `lanes`).
    pub(crate) emit_lane: OnceLock<Arc<SubscriberQueue>>,
    /// Cleared when unsubscribed; checked before each delivery, so that unsubscribing during
    /// a dispatch takes effect at once.
    pub(crate) active: AtomicBool,
    /// Set by the first delivery of a `once` subscription.
    pub(crate) fired: AtomicBool,
}

impl SubEntry {
    pub(crate) fn new(
        id: SubscriptionId,
        pattern: Pattern,
        options: SubscribeOptions,
        handler: Handler,
    ) -> Self {
        // Taken apart whole (no `..`): a new option fails to build here until it is used.
        let SubscribeOptions {
            priority,
            once,
            tag,
            condition,
            queue,
        } = options;
        Self {
            id,
            pattern,
            priority,
            once,
            tag,
            condition,
            handler,
            queue: queue.map(|q| Arc::new(SubscriberQueue::new(q))),
            emit_lane: OnceLock::new(),
            active: AtomicBool::new(true),
            fired: AtomicBool::new(false),
        }
    }

    /// Delivery order: higher priority first, then older first.
    pub(crate) fn order(&self) -> (Reverse<i32>, SubscriptionId) {
        (Reverse(self.priority), self.id)
    }

    /// Closes its queue and its emit lane, if it has them: what they hold is still handled,
    /// then their tasks end.
    pub(crate) fn close_queues(&self) {
        for queue in self.queue.iter().chain(self.emit_lane.get()) {
            queue.close();
        }
    }

    /// Inlined: the delivery loop, in another file, asks it once per subscriber.
    #[inline]
    pub(crate) fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }
}

/// The handle of a subscription. Dropping it unsubscribes.
///
/// Keep it as long as the handler should run, [`detach`](Self::detach) it to keep the
/// subscription for the bus's lifetime (or until its tag is removed), or
/// [`unsubscribe`](Self::unsubscribe) it from anywhere, including from inside a handler.
#[must_use = "dropping a Subscription unsubscribes at once; call .detach() to keep it"]
pub struct Subscription {
    entry: Arc<SubEntry>,
    bus: Weak<BusInner>,
    detached: bool,
}

impl Subscription {
    pub(crate) fn new(entry: Arc<SubEntry>, bus: Weak<BusInner>) -> Self {
        Self {
            entry,
            bus,
            detached: false,
        }
    }

    /// The subscription's id.
    pub fn id(&self) -> SubscriptionId {
        self.entry.id
    }

    /// The pattern it listens on.
    pub fn pattern(&self) -> &Pattern {
        &self.entry.pattern
    }

    /// Its tag, if any.
    pub fn tag(&self) -> Option<&str> {
        self.entry.tag.as_deref()
    }

    /// Whether it still receives events (not unsubscribed, not removed by tag, not used up
    /// by `once`).
    pub fn is_active(&self) -> bool {
        self.entry.is_active()
    }

    /// The counters of its queue, if it has one.
    pub fn queue_stats(&self) -> Option<QueueStats> {
        self.entry.queue.as_ref().map(|q| q.stats())
    }

    /// Unsubscribes now; returns whether it was still subscribed. Takes `&self`, so that a
    /// handler can end its own subscription (or another's) through a shared handle. Events
    /// already in its queue are still handled; an event being dispatched skips it if it has
    /// not reached it.
    pub fn unsubscribe(&self) -> bool {
        match self.bus.upgrade() {
            Some(bus) => bus.remove(&self.entry),
            None => self.entry.active.swap(false, Ordering::AcqRel),
        }
    }

    /// Keeps the subscription after the handle is gone: until its tag is removed with
    /// [`EventBus::unsubscribe_tag`](super::EventBus::unsubscribe_tag), a `once` delivery,
    /// or the bus is dropped.
    pub fn detach(mut self) {
        self.detached = true;
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if !self.detached {
            self.unsubscribe();
        }
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.entry.id)
            .field("pattern", &self.entry.pattern)
            .field("tag", &self.entry.tag)
            .field("active", &self.is_active())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::EventBus;

    #[test]
    fn handle_reports_its_subscription() {
        let bus = EventBus::new();
        let sub = bus
            .subscribe_with("a.>", SubscribeOptions::new().tag("m"), |_: &Event| ())
            .unwrap();
        assert_eq!(sub.pattern().as_str(), "a.>");
        assert_eq!(sub.tag(), Some("m"));
        assert!(sub.is_active());
        assert!(sub.queue_stats().is_none());
        assert!(format!("{sub:?}").contains("a.>"));
        let later = bus.subscribe("b", |_: &Event| ()).unwrap();
        assert!(later.id() > sub.id());
        assert!(sub.unsubscribe());
        assert!(!sub.unsubscribe(), "unsubscribing twice is harmless");
        assert!(!sub.is_active());
    }

    #[test]
    fn drop_unsubscribes_and_detach_keeps() {
        let bus = EventBus::new();
        drop(bus.subscribe("t", |_: &Event| ()).unwrap());
        assert!(!bus.has_subscribers("t"));
        bus.subscribe("t", |_: &Event| ()).unwrap().detach();
        assert!(bus.has_subscribers("t"));
    }

    #[test]
    fn outliving_the_bus_is_harmless() {
        let bus = EventBus::new();
        let sub = bus.subscribe("t", |_: &Event| ()).unwrap();
        drop(bus);
        assert!(sub.unsubscribe());
    }

    #[test]
    fn options_debug_shows_settings() {
        let text = format!(
            "{:?}",
            SubscribeOptions::new()
                .priority(4)
                .once()
                .condition(|_| true)
        );
        assert!(
            text.contains("priority: 4") && text.contains("once: true"),
            "{text}"
        );
    }
}
