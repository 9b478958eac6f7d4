//! The event bus's public face: subscribe, publish, emit, batch, history and stats.
//!
//! The work is done elsewhere: [`registry`](super::registry) keeps the subscriptions and
//! their routes, [`dispatch`](super::dispatch) delivers, [`tasks`](super::tasks) runs in the
//! background, and [`builder`](super::builder) configures.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::buffer::{BufferConfig, EventBuffer};
use super::builder::{BusStats, EventBusBuilder};
use super::cache::RouteCache;
use super::error::BusError;
use super::event::Event;
use super::handler::{Handler, HandlerResult};
use super::history::{History, HistoryQuery};
use super::registry::{Lookup, Registry};
use super::report::{BatchReport, DeliveryReport};
use super::subscription::{SubEntry, SubscribeOptions, Subscription, SubscriptionId};
use super::tasks::{run_emitter, run_queue};
use super::timing::Start;
use super::topic::{Pattern, validate_topic};

/// The shared state of a bus, behind every clone of its [`EventBus`].
pub(crate) struct BusInner {
    pub(super) registry: RwLock<Registry>,
    pub(super) cache: RwLock<RouteCache>,
    pub(super) next_id: AtomicU64,
    pub(super) history: Option<History>,
    pub(super) emitter: OnceLock<mpsc::Sender<Event>>,
    pub(super) emit_queue_capacity: usize,
    pub(super) handler_failures: AtomicU64,
    /// Events dropped by full subscriber queues, counted as they are dropped: a queue's own
    /// count leaves with it.
    pub(super) queue_dropped: AtomicU64,
    /// Fire-and-forget events accepted into the emit queue, and those whose delivery ended
    /// (handed to async handlers' emit lanes included): the difference is every emitted
    /// event the emitter has not delivered yet.
    pub(super) emit_accepted: AtomicU64,
    pub(super) emit_delivered: AtomicU64,
    pub(super) emit_rejected: AtomicU64,
    /// The capacity of each async subscriber's emit lane (see `lanes`).
    pub(super) emit_lane_capacity: usize,
    /// Emitted events taken into emit lanes, and those handled from them: the difference is
    /// [`BusStats::emit_lagging`].
    pub(super) emit_lane_accepted: AtomicU64,
    pub(super) emit_lane_handled: AtomicU64,
    /// Published events that reached no subscriber; see [`EventBus::unconsumed`].
    pub(super) unconsumed: AtomicU64,
    /// Events published (routed or not), for [`BusStats::published`].
    pub(super) published: AtomicU64,
    /// Deliveries to subscribers (handler calls and queue pushes), for
    /// [`BusStats::delivered`].
    pub(super) delivered: AtomicU64,
    /// Bumped on every subscribe and unsubscribe; see [`EventBus::subscription_changes`].
    pub(super) changes: AtomicU64,
}

/// An in-process publish/subscribe bus with NATS-style topic patterns.
///
/// Cheap to clone: clones share one bus. See the [module documentation](super) for an
/// overview and an example.
#[derive(Clone)]
pub struct EventBus {
    pub(super) inner: Arc<BusInner>,
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("stats", &self.stats())
            .finish()
    }
}

impl EventBus {
    /// A bus with default settings (no history, a 4096-topic route cache).
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// A builder for a bus with history, another cache size, or another emit queue size.
    pub fn builder() -> EventBusBuilder {
        EventBusBuilder::default()
    }

    /// Subscribes a sync handler, which runs on the publisher's task.
    ///
    /// The handler is `Fn(&Event) -> R` where `R` is `()` or `Result<(), E>`.
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`] if `pattern` is invalid.
    pub fn subscribe<F, R>(&self, pattern: &str, handler: F) -> Result<Subscription, BusError>
    where
        F: Fn(&Event) -> R + Send + Sync + 'static,
        R: HandlerResult,
    {
        self.subscribe_with(pattern, SubscribeOptions::new(), handler)
    }

    /// Subscribes a sync handler with options (condition, priority, once, tag, queue).
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`] if `pattern` is invalid; [`BusError::NoRuntime`] if the
    /// options ask for a queue and no Tokio runtime is running.
    pub fn subscribe_with<F, R>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription, BusError>
    where
        F: Fn(&Event) -> R + Send + Sync + 'static,
        R: HandlerResult,
    {
        self.add(pattern, options, Handler::sync(handler))
    }

    /// Subscribes an async handler: `Fn(Event) -> impl Future<Output = R>`, where `R` is
    /// `()` or `Result<(), E>`. `publish` awaits it; with a [queue](SubscribeOptions::queue)
    /// it runs on its own task instead.
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`] if `pattern` is invalid.
    pub fn subscribe_async<F, Fut>(
        &self,
        pattern: &str,
        handler: F,
    ) -> Result<Subscription, BusError>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        self.subscribe_async_with(pattern, SubscribeOptions::new(), handler)
    }

    /// Subscribes an async handler with options (condition, priority, once, tag, queue).
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`] if `pattern` is invalid; [`BusError::NoRuntime`] if the
    /// options ask for a queue and no Tokio runtime is running.
    pub fn subscribe_async_with<F, Fut>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription, BusError>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        self.add(pattern, options, Handler::asynchronous(handler))
    }

    /// Subscribes a handler that runs on the publisher's task like a sync one, with the
    /// event borrowed, and returns a future only when it has to wait: `None` when it is
    /// done, `Some(future)` for the publisher to await as it awaits an async handler. It is
    /// delivered as an async handler is (awaited by `publish`, through its own lane for
    /// emitted events, on its own task with a [queue](SubscribeOptions::queue)), but when it
    /// does not wait it costs no copy of the event and no boxed future: for a handler that
    /// usually finishes at once, such as one that hands events to a client's queue.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use symphra::bus::{EventBus, SubscribeOptions};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), symphra::bus::BusError> {
    /// let bus = EventBus::new();
    /// let (at_once, later) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    /// let (now, waited) = (at_once.clone(), later.clone());
    /// let _sub = bus.subscribe_deferring_with("job.*", SubscribeOptions::new(), move |event| {
    ///     if event.payload::<u32>().is_some_and(|size| *size < 10) {
    ///         now.fetch_add(1, Ordering::Relaxed);
    ///         return None;
    ///     }
    ///     let waited = waited.clone();
    ///     Some(async move {
    ///         tokio::task::yield_now().await;
    ///         waited.fetch_add(1, Ordering::Relaxed);
    ///     })
    /// })?;
    /// bus.publish("job.small", 3_u32).await?;
    /// let report = bus.publish("job.large", 300_u32).await?;
    /// assert_eq!(report.succeeded(), 1);
    /// assert_eq!((at_once.load(Ordering::Relaxed), later.load(Ordering::Relaxed)), (1, 1));
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`] if `pattern` is invalid; [`BusError::NoRuntime`] if the
    /// options ask for a queue and no Tokio runtime is running.
    pub fn subscribe_deferring_with<F, Fut>(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: F,
    ) -> Result<Subscription, BusError>
    where
        F: Fn(&Event) -> Option<Fut> + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        self.add(pattern, options, Handler::deferring(handler))
    }

    fn add(
        &self,
        pattern: &str,
        options: SubscribeOptions,
        handler: Handler,
    ) -> Result<Subscription, BusError> {
        let pattern = Pattern::parse(pattern)?;
        let runtime = match options.queue {
            Some(_) => Some(Handle::try_current().map_err(|_| BusError::NoRuntime {
                what: "a queued subscription",
            })?),
            None => None,
        };
        let id = SubscriptionId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let entry = Arc::new(SubEntry::new(id, pattern, options, handler));
        self.inner.insert(&entry);
        if let Some(runtime) = runtime {
            runtime.spawn(run_queue(entry.clone(), Arc::downgrade(&self.inner)));
        }
        tracing::trace!(subscription = %id, pattern = %entry.pattern, "subscribed");
        Ok(Subscription::new(entry, Arc::downgrade(&self.inner)))
    }

    /// Removes every subscription tagged `tag`; returns how many.
    pub fn unsubscribe_tag(&self, tag: &str) -> usize {
        self.inner.remove_tag(tag)
    }

    /// A counter that changes whenever a subscription is added or removed. A caller that
    /// asks [`has_subscribers`](Self::has_subscribers) about the same topics again and again
    /// can keep the answers until this changes: one atomic load instead of a lookup.
    pub fn subscription_changes(&self) -> u64 {
        self.inner.changes.load(Ordering::Acquire)
    }

    /// Whether an event on `topic` would reach any subscriber (cached). `false` for an
    /// invalid topic. Use it to skip building events nobody listens to.
    #[inline]
    pub fn has_subscribers(&self, topic: &str) -> bool {
        if let Some(has) = self
            .inner
            .cache
            .read()
            .peek(topic)
            .map(|r| !r.subs.is_empty())
        {
            return has;
        }
        validate_topic(topic).is_ok() && !self.inner.fill(topic.into()).subs.is_empty()
    }

    /// Publishes `payload` on `topic` and awaits every matching handler on this task.
    ///
    /// Handlers run in priority order; queued subscribers get the event in their queue.
    /// A failing or panicking handler does not stop the others: its failure is in the report,
    /// counted, logged, and published on [`HANDLER_FAILED`](super::HANDLER_FAILED).
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] if `topic` is invalid.
    pub async fn publish<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        payload: T,
    ) -> Result<DeliveryReport, BusError> {
        let route = match self.inner.lookup(topic)? {
            Lookup::Nobody => {
                self.inner.count_to_nobody();
                return Ok(DeliveryReport::empty(None));
            }
            Lookup::Route(route) => route,
        };
        let event = Event::unchecked(route.topic.clone(), payload);
        // The event was just stamped: its time is the start, which saves a clock read.
        let start = Start::at(event.time());
        Ok(self.inner.publish_routed(&event, &route, Some(start)).await)
    }

    /// Publishes a built event (with its source, JSON form, ...) and awaits every handler.
    pub async fn publish_event(&self, event: Event) -> DeliveryReport {
        let route = self.inner.route_valid(event.topic());
        self.inner
            .publish_routed(&event, &route, Some(Start::now()))
            .await
    }

    /// Publishes a built event as [`publish_event`](Self::publish_event) does, for a caller
    /// that does not read the report (a bridge passing on what it receives, say): the same
    /// deliveries, history, counters, logs and failure notices, but no report, and so no
    /// timing of the publish, which saves two clock reads.
    ///
    /// ```
    /// use symphra::bus::{Event, EventBus};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), symphra::bus::BusError> {
    /// let bus = EventBus::new();
    /// let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    /// let _sub = bus.subscribe("order.paid", move |event| sender.send(event.id()))?;
    /// let event = Event::new("order.paid", 12_u32)?;
    /// let id = event.id();
    /// bus.forward(event).await;
    /// assert_eq!(received.try_recv().ok(), Some(id));
    /// assert_eq!(bus.stats().published, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub async fn forward(&self, event: Event) {
        let route = self.inner.route_valid(event.topic());
        self.inner.forward_routed(&event, &route).await;
    }

    /// Publishes many events, one after another, and awaits every handler.
    ///
    /// Each report's [`elapsed`](DeliveryReport::elapsed) runs from the end of the event
    /// before it (or the start of the batch) to the end of its own delivery: one clock
    /// reading per event, and the reports' times add up to the batch's, less the time of
    /// announcing failures.
    pub async fn publish_batch(&self, events: impl IntoIterator<Item = Event>) -> BatchReport {
        let began = Start::now();
        let mut start = began;
        let events = events.into_iter();
        let mut reports = Vec::with_capacity(events.size_hint().0);
        for event in events {
            let route = self.inner.route_valid(event.topic());
            let report = self.inner.publish_routed(&event, &route, Some(start)).await;
            // The next event starts where this one's delivery ended, unless failures were
            // announced since: that time is no event's.
            start = if report.failures.is_empty() {
                start.after(report.elapsed)
            } else {
                Start::now()
            };
            reports.push(report);
        }
        BatchReport {
            reports,
            elapsed: start.since(began),
        }
    }

    /// Fire and forget: queues `payload` on `topic` for delivery by the bus's own task and
    /// returns at once. Emitted events are delivered in emission order.
    ///
    /// That task runs sync handlers itself, and hands each async handler the event through
    /// the handler's own bounded queue and task (see
    /// [`EventBusBuilder::emit_lane_capacity`]): an async handler that never returns holds
    /// up only the events meant for it, and once its queue is full those are dropped and
    /// counted ([`BusStats::queue_dropped`]); every subscriber still sees emitted events in
    /// emission order.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`]; [`BusError::NoRuntime`] if no Tokio runtime is running;
    /// [`BusError::EmitQueueFull`] if the bus is that far behind.
    pub fn emit<T: Send + Sync + 'static>(&self, topic: &str, payload: T) -> Result<(), BusError> {
        match self.inner.lookup(topic)? {
            Lookup::Nobody => {
                self.inner.count_to_nobody();
                Ok(())
            }
            Lookup::Route(route) => self.emit_event(Event::unchecked(route.topic.clone(), payload)),
        }
    }

    /// Fire and forget for a built event; see [`emit`](Self::emit).
    ///
    /// # Errors
    /// As for [`emit`](Self::emit).
    pub fn emit_event(&self, event: Event) -> Result<(), BusError> {
        let sender = self.emitter()?;
        // Counted before it is sent, so that delivered never passes accepted.
        self.inner.emit_accepted.fetch_add(1, Ordering::Relaxed);
        match sender.try_send(event) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(event)) => {
                self.inner.emit_accepted.fetch_sub(1, Ordering::Relaxed);
                self.inner.emit_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(topic = event.topic(), "emit queue full; event rejected");
                Err(BusError::EmitQueueFull {
                    topic: event.topic().to_owned(),
                    capacity: self.inner.emit_queue_capacity,
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.inner.emit_accepted.fetch_sub(1, Ordering::Relaxed);
                Err(BusError::NoRuntime {
                    what: "EventBus::emit (the runtime that delivered emitted events has shut down)",
                })
            }
        }
    }

    fn emitter(&self) -> Result<&mpsc::Sender<Event>, BusError> {
        if let Some(sender) = self.inner.emitter.get() {
            return Ok(sender);
        }
        let runtime = Handle::try_current().map_err(|_| BusError::NoRuntime {
            what: "EventBus::emit",
        })?;
        Ok(self.inner.emitter.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(self.inner.emit_queue_capacity);
            runtime.spawn(run_emitter(Arc::downgrade(&self.inner), receiver));
            sender
        }))
    }

    /// A buffer that holds events and publishes them in batches: when it holds
    /// `config.max_events`, every `config.interval`, and on [`EventBuffer::flush`].
    ///
    /// # Errors
    /// [`BusError::NoRuntime`] if an interval is set and no Tokio runtime is running.
    pub fn buffer(&self, config: BufferConfig) -> Result<EventBuffer, BusError> {
        EventBuffer::new(self.clone(), config)
    }

    /// The last `n` recorded events, oldest first (empty without history).
    pub fn recent(&self, n: usize) -> Vec<Event> {
        self.inner
            .history
            .as_ref()
            .map_or_else(Vec::new, |h| h.recent(n))
    }

    /// The recorded events that match `query`, oldest first (empty without history).
    pub fn history(&self, query: &HistoryQuery) -> Vec<Event> {
        self.inner
            .history
            .as_ref()
            .map_or_else(Vec::new, |h| h.query(query))
    }

    /// Whether this bus records history.
    pub fn records_history(&self) -> bool {
        self.inner.history.is_some()
    }

    /// The bus's counters.
    pub fn stats(&self) -> BusStats {
        self.inner.stats()
    }

    /// How many published events reached no subscriber, since the bus was built: nothing
    /// matched their topic, or every subscription that matched had gone (unsubscribed, used
    /// up by `once`, its queue closed) by the time the event reached it. One atomic load, so
    /// it may be read often; as [`BusStats::unconsumed`].
    ///
    /// Events that a subscriber's condition turned down were examined and are not counted,
    /// nor are the bus's own [`HANDLER_FAILED`](super::HANDLER_FAILED) notices. Read it
    /// before and after an operation for the events lost during it, such as a shutdown:
    ///
    /// ```
    /// use symphra::bus::EventBus;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), symphra::bus::BusError> {
    /// let bus = EventBus::new();
    /// let before = bus.unconsumed();
    /// bus.publish("user.created", 7_u32).await?; // nobody listens
    /// assert_eq!(bus.unconsumed() - before, 1);
    /// # Ok(())
    /// # }
    /// ```
    pub fn unconsumed(&self) -> u64 {
        self.inner.unconsumed.load(Ordering::Relaxed)
    }
}
