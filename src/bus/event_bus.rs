//! The event bus: subscribe, publish, emit, batch, and the dispatch loop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant, SystemTime};

use parking_lot::RwLock;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::buffer::{BufferConfig, EventBuffer};
use super::cache::{Route, RouteCache};
use super::error::BusError;
use super::event::Event;
use super::handler::{Handler, HandlerResult};
use super::history::{History, HistoryQuery};
use super::queue::Pushed;
use super::report::{BatchReport, DeliveryReport, HandlerError, HandlerFailure};
use super::subscription::{SubEntry, SubscribeOptions, Subscription, SubscriptionId};
use super::topic::{Pattern, validate_topic};
use super::trie::Trie;
use crate::util::panic_message;

/// The topic on which handler failures are published, once each.
pub const HANDLER_FAILED: &str = "bus.handler_failed";

const DEFAULT_CACHE_CAPACITY: usize = 4096;
const DEFAULT_EMIT_QUEUE_CAPACITY: usize = 65_536;

/// Configures an [`EventBus`]; see [`EventBus::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EventBusBuilder {
    history_capacity: usize,
    cache_capacity: usize,
    emit_queue_capacity: usize,
}

impl Default for EventBusBuilder {
    fn default() -> Self {
        Self {
            history_capacity: 0,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            emit_queue_capacity: DEFAULT_EMIT_QUEUE_CAPACITY,
        }
    }
}

impl EventBusBuilder {
    /// Keep the last `capacity` published events for [`EventBus::recent`] and
    /// [`EventBus::history`]. Default 0: no history, and publishing to a topic nobody listens
    /// to does not even build the event.
    pub fn history(mut self, capacity: usize) -> Self {
        self.history_capacity = capacity;
        self
    }

    /// How many topics' routes to cache (default 4096; 0 disables the cache).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// How many fire-and-forget events may wait for delivery (default 65,536, at least 1);
    /// beyond that [`EventBus::emit`] returns [`BusError::EmitQueueFull`].
    pub fn emit_queue_capacity(mut self, capacity: usize) -> Self {
        self.emit_queue_capacity = capacity.max(1);
        self
    }

    /// Builds the bus.
    pub fn build(self) -> EventBus {
        EventBus {
            inner: Arc::new(BusInner {
                registry: RwLock::new(Registry::default()),
                cache: RwLock::new(RouteCache::new(self.cache_capacity)),
                next_id: AtomicU64::new(1),
                history: (self.history_capacity > 0).then(|| History::new(self.history_capacity)),
                emitter: OnceLock::new(),
                emit_queue_capacity: self.emit_queue_capacity,
                handler_failures: AtomicU64::new(0),
                emit_rejected: AtomicU64::new(0),
                changes: AtomicU64::new(0),
            }),
        }
    }
}

/// Counters of a bus; see [`EventBus::stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BusStats {
    /// Subscriptions now active.
    pub subscriptions: usize,
    /// Topics whose routes are cached now.
    pub cached_topics: usize,
    /// Handler calls that returned an error or panicked, since the bus was built.
    pub handler_failures: u64,
    /// Events dropped by full subscriber queues.
    pub queue_dropped: u64,
    /// Fire-and-forget events rejected because the emit queue was full.
    pub emit_rejected: u64,
}

#[derive(Default)]
struct Registry {
    trie: Trie<Arc<SubEntry>>,
    tags: HashMap<Arc<str>, Vec<Arc<SubEntry>>>,
    queued: HashMap<SubscriptionId, Arc<SubEntry>>,
}

pub(crate) struct BusInner {
    registry: RwLock<Registry>,
    cache: RwLock<RouteCache>,
    next_id: AtomicU64,
    history: Option<History>,
    emitter: OnceLock<mpsc::Sender<Event>>,
    emit_queue_capacity: usize,
    handler_failures: AtomicU64,
    emit_rejected: AtomicU64,
    /// Bumped on every subscribe and unsubscribe; see [`EventBus::subscription_changes`].
    changes: AtomicU64,
}

/// An in-process publish/subscribe bus with NATS-style topic patterns.
///
/// Cheap to clone: clones share one bus. See the [module documentation](super) for an
/// overview and an example.
#[derive(Clone)]
pub struct EventBus {
    inner: Arc<BusInner>,
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
        let _evicted = {
            let mut registry = self.inner.registry.write();
            registry.trie.insert(&entry.pattern, entry.clone());
            if let Some(tag) = &entry.tag {
                registry
                    .tags
                    .entry(tag.clone())
                    .or_default()
                    .push(entry.clone());
            }
            if entry.queue.is_some() {
                registry.queued.insert(id, entry.clone());
            }
            // Under the registry lock, so that a concurrent cache fill cannot miss it.
            let evicted = self.inner.cache.write().update(&entry, true);
            self.inner.changes.fetch_add(1, Ordering::Release);
            evicted
        };
        if let Some(runtime) = runtime {
            runtime.spawn(run_queue(entry.clone(), Arc::downgrade(&self.inner)));
        }
        tracing::trace!(subscription = %id, pattern = %entry.pattern, "subscribed");
        Ok(Subscription::new(entry, Arc::downgrade(&self.inner)))
    }

    /// Removes every subscription tagged `tag`; returns how many.
    pub fn unsubscribe_tag(&self, tag: &str) -> usize {
        let entries = self
            .inner
            .registry
            .write()
            .tags
            .remove(tag)
            .unwrap_or_default();
        entries.iter().filter(|e| self.inner.remove(e)).count()
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
    /// counted, logged, and published on [`HANDLER_FAILED`].
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`] if `topic` is invalid.
    pub async fn publish<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        payload: T,
    ) -> Result<DeliveryReport, BusError> {
        let route = match self.inner.lookup(topic)? {
            Lookup::Nobody => return Ok(DeliveryReport::empty(None)),
            Lookup::Route(route) => route,
        };
        let event = Event::unchecked(route.topic.clone(), payload);
        // The event was just stamped: its time is the start, which saves a clock read.
        let start = Start::Wall(event.time());
        Ok(self.inner.publish_routed(&event, &route, start).await)
    }

    /// Publishes a built event (with its source, JSON form, ...) and awaits every handler.
    pub async fn publish_event(&self, event: Event) -> DeliveryReport {
        let route = self.inner.route_valid(event.topic_arc());
        self.inner
            .publish_routed(&event, &route, Start::now())
            .await
    }

    /// Publishes many events, one after another, and awaits every handler.
    pub async fn publish_batch(&self, events: impl IntoIterator<Item = Event>) -> BatchReport {
        let start = Instant::now();
        let events = events.into_iter();
        let mut reports = Vec::with_capacity(events.size_hint().0);
        for event in events {
            reports.push(self.publish_event(event).await);
        }
        BatchReport {
            reports,
            elapsed: start.elapsed(),
        }
    }

    /// Fire and forget: queues `payload` on `topic` for delivery by the bus's own task and
    /// returns at once. Emitted events are delivered in emission order.
    ///
    /// # Errors
    /// [`BusError::InvalidTopic`]; [`BusError::NoRuntime`] if no Tokio runtime is running;
    /// [`BusError::EmitQueueFull`] if the bus is that far behind.
    pub fn emit<T: Send + Sync + 'static>(&self, topic: &str, payload: T) -> Result<(), BusError> {
        match self.inner.lookup(topic)? {
            Lookup::Nobody => Ok(()),
            Lookup::Route(route) => self.emit_event(Event::unchecked(route.topic.clone(), payload)),
        }
    }

    /// Fire and forget for a built event; see [`emit`](Self::emit).
    ///
    /// # Errors
    /// As for [`emit`](Self::emit).
    pub fn emit_event(&self, event: Event) -> Result<(), BusError> {
        let sender = self.emitter()?;
        match sender.try_send(event) {
            Ok(()) => Ok(()),
            Err(mpsc::error::TrySendError::Full(event)) => {
                self.inner.emit_rejected.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(topic = event.topic(), "emit queue full; event rejected");
                Err(BusError::EmitQueueFull {
                    topic: event.topic().to_owned(),
                    capacity: self.inner.emit_queue_capacity,
                })
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(BusError::NoRuntime {
                what: "EventBus::emit (the runtime that delivered emitted events has shut down)",
            }),
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
        let registry = self.inner.registry.read();
        BusStats {
            subscriptions: registry.trie.len(),
            cached_topics: self.inner.cache.read().len(),
            handler_failures: self.inner.handler_failures.load(Ordering::Relaxed),
            queue_dropped: registry
                .queued
                .values()
                .filter_map(|e| e.queue.as_ref())
                .map(|q| q.stats().dropped)
                .sum(),
            emit_rejected: self.inner.emit_rejected.load(Ordering::Relaxed),
        }
    }
}

/// When a publish started, for [`DeliveryReport::elapsed`].
#[derive(Clone, Copy)]
enum Start {
    Monotonic(Instant),
    /// The creation time of an event stamped at the start of the publish. Wall-clock, so a
    /// clock step during the publish can distort (never panic) the elapsed time.
    Wall(SystemTime),
}

impl Start {
    fn now() -> Self {
        Self::Monotonic(Instant::now())
    }

    fn elapsed(self) -> Duration {
        match self {
            Self::Monotonic(start) => start.elapsed(),
            Self::Wall(start) => start.elapsed().unwrap_or_default(),
        }
    }
}

/// The result of looking a topic up.
enum Lookup {
    /// Nobody listens and no history is kept: no event needs to be built.
    Nobody,
    Route(Arc<Route>),
}

/// Whether a subscriber takes this event.
enum Admit {
    Yes,
    No,
    ConditionFalse,
    ConditionPanicked(String),
}

impl BusInner {
    /// The route of a topic, validating it unless it is cached; `Lookup::Nobody`, with no
    /// reference count taken, when no event needs to be built.
    #[inline]
    fn lookup(&self, topic: &str) -> Result<Lookup, BusError> {
        let wanted = |route: &Arc<Route>| {
            if route.subs.is_empty() && self.history.is_none() {
                Lookup::Nobody
            } else {
                Lookup::Route(route.clone())
            }
        };
        if let Some(found) = self.cache.read().peek(topic).map(wanted) {
            return Ok(found);
        }
        validate_topic(topic)?;
        Ok(wanted(&self.fill(topic.into())))
    }

    /// The route of a topic known to be valid.
    fn route_valid(&self, topic: &Arc<str>) -> Arc<Route> {
        if let Some(route) = self.cache.read().peek(topic) {
            return route.clone();
        }
        self.fill(topic.clone())
    }

    #[cold]
    fn fill(&self, topic: Arc<str>) -> Arc<Route> {
        // The registry lock is held until the route is cached, so no (un)subscribe can slip in
        // between matching and caching.
        let registry = self.registry.read();
        let (generation, caching) = {
            let cache = self.cache.read();
            (cache.generation(), cache.is_enabled())
        };
        let route = Arc::new(Route::build(topic, &registry.trie, generation));
        if caching {
            let evicted = self.cache.write().insert(route.clone());
            drop(registry);
            drop(evicted);
        }
        route
    }

    /// Removes a subscription; returns whether it was still subscribed.
    pub(crate) fn remove(&self, entry: &Arc<SubEntry>) -> bool {
        if !entry
            .active
            .swap(false, std::sync::atomic::Ordering::AcqRel)
        {
            return false;
        }
        let _evicted = {
            let mut registry = self.registry.write();
            registry.trie.remove(&entry.pattern, |e| e.id == entry.id);
            if let Some(tag) = &entry.tag
                && let Some(tagged) = registry.tags.get_mut(tag)
            {
                tagged.retain(|e| e.id != entry.id);
                if tagged.is_empty() {
                    registry.tags.remove(tag);
                }
            }
            registry.queued.remove(&entry.id);
            let evicted = self.cache.write().update(entry, false);
            self.changes
                .fetch_add(1, std::sync::atomic::Ordering::Release);
            evicted
        };
        if let Some(queue) = &entry.queue {
            queue.close();
        }
        tracing::trace!(subscription = %entry.id, pattern = %entry.pattern, "unsubscribed");
        true
    }

    async fn publish_routed(&self, event: &Event, route: &Route, start: Start) -> DeliveryReport {
        if let Some(history) = &self.history {
            history.record(event);
        }
        let report = if route.inline_sync {
            self.dispatch_sync(event, route, start)
        } else {
            self.dispatch(event, route, start).await
        };
        if !report.failures.is_empty() {
            self.announce(event, &report.failures).await;
        }
        report
    }

    #[inline]
    fn admit(entry: &SubEntry, event: &Event) -> Admit {
        if !entry.is_active() {
            return Admit::No;
        }
        if let Some(condition) = &entry.condition {
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| condition(event))) {
                Ok(true) => {}
                Ok(false) => return Admit::ConditionFalse,
                Err(panic) => return Admit::ConditionPanicked(panic_message(panic)),
            }
        }
        // The first publisher to claim a `once` subscription is the only one to deliver.
        if entry.once && entry.fired.swap(true, Ordering::AcqRel) {
            return Admit::No;
        }
        Admit::Yes
    }

    /// [`dispatch`](Self::dispatch) for routes of sync handlers on the publisher's task only:
    /// no future, no queue.
    fn dispatch_sync(&self, event: &Event, route: &Route, start: Start) -> DeliveryReport {
        let mut report = DeliveryReport::empty(Some(event.id()));
        for entry in route.subs.iter() {
            let Handler::Sync(handler) = &entry.handler else {
                continue; // not in an inline-sync route
            };
            let result = match Self::admit(entry, event) {
                Admit::Yes => {
                    report.matched += 1;
                    Handler::call_sync(handler, event)
                }
                Admit::No => continue,
                Admit::ConditionFalse => {
                    report.skipped += 1;
                    continue;
                }
                Admit::ConditionPanicked(message) => {
                    let failure = self.failure(entry, event, HandlerError::Panicked(message));
                    report.failures.push(failure);
                    continue;
                }
            };
            if entry.once {
                self.remove(entry);
            }
            match result {
                Ok(()) => report.succeeded += 1,
                Err(error) => report.failures.push(self.failure(entry, event, error)),
            }
        }
        report.elapsed = start.elapsed();
        report
    }

    /// Delivers `event` to the subscribers of `route`, in order. Holds no lock while a
    /// handler runs, so handlers may publish, subscribe and unsubscribe.
    async fn dispatch(&self, event: &Event, route: &Route, start: Start) -> DeliveryReport {
        let mut report = DeliveryReport::empty(Some(event.id()));
        if route.subs.is_empty() {
            return report;
        }
        for entry in route.subs.iter() {
            let result = match Self::admit(entry, event) {
                Admit::Yes => {
                    report.matched += 1;
                    if let Some(queue) = &entry.queue {
                        match queue.push(event.clone()).await {
                            Pushed::Queued => report.queued += 1,
                            Pushed::ReplacedOldest => {
                                report.queued += 1;
                                report.dropped += 1;
                            }
                            Pushed::DroppedNewest => report.dropped += 1,
                            Pushed::Closed => report.matched -= 1,
                        }
                        Ok(())
                    } else {
                        match &entry.handler {
                            Handler::Sync(f) => Handler::call_sync(f, event),
                            Handler::Async(_) => entry.handler.call(event).await,
                        }
                    }
                }
                Admit::No => continue,
                Admit::ConditionFalse => {
                    report.skipped += 1;
                    continue;
                }
                Admit::ConditionPanicked(message) => {
                    let failure = self.failure(entry, event, HandlerError::Panicked(message));
                    report.failures.push(failure);
                    continue;
                }
            };
            if entry.once {
                self.remove(entry);
            }
            match result {
                Ok(()) if entry.queue.is_none() => report.succeeded += 1,
                Ok(()) => {}
                Err(error) => report.failures.push(self.failure(entry, event, error)),
            }
        }
        report.elapsed = start.elapsed();
        report
    }

    /// Counts and logs a failure.
    #[cold]
    fn failure(&self, entry: &SubEntry, event: &Event, error: HandlerError) -> HandlerFailure {
        self.handler_failures.fetch_add(1, Ordering::Relaxed);
        let failure = HandlerFailure {
            subscription: entry.id,
            pattern: entry.pattern.as_str().into(),
            topic: event.topic_arc().clone(),
            event_id: event.id(),
            error,
        };
        tracing::warn!(
            subscription = %failure.subscription,
            pattern = %failure.pattern,
            topic = %failure.topic,
            event = %failure.event_id,
            error = %failure.error,
            "event handler failed"
        );
        failure
    }

    /// Publishes each failure once on [`HANDLER_FAILED`]. Failures of those handlers are
    /// counted and logged only, so a failing failure handler cannot loop.
    #[cold]
    async fn announce(&self, event: &Event, failures: &[HandlerFailure]) {
        if event.topic() == HANDLER_FAILED {
            return;
        }
        let topic: Arc<str> = HANDLER_FAILED.into();
        for failure in failures {
            let route = self.route_valid(&topic);
            if route.subs.is_empty() && self.history.is_none() {
                return;
            }
            let mut notice = Event::unchecked(topic.clone(), failure.clone())
                .serializable_as::<HandlerFailure>();
            if let Some(source) = event.source() {
                notice = notice.with_source(source);
            }
            if let Some(history) = &self.history {
                history.record(&notice);
            }
            // `dispatch`, not `publish_routed`: this is where the recursion stops.
            self.dispatch(&notice, &route, Start::now()).await;
        }
    }
}

impl Drop for BusInner {
    fn drop(&mut self) {
        // Let queued subscribers finish what they hold and stop.
        for entry in self.registry.get_mut().queued.values() {
            if let Some(queue) = &entry.queue {
                queue.close();
            }
        }
    }
}

/// Feeds one queued subscriber, on its own task, until it is unsubscribed and drained.
async fn run_queue(entry: Arc<SubEntry>, bus: Weak<BusInner>) {
    let Some(queue) = entry.queue.clone() else {
        return;
    };
    while let Some(event) = queue.pop().await {
        if let Err(error) = entry.handler.call(&event).await {
            match bus.upgrade() {
                Some(bus) => {
                    let failure = bus.failure(&entry, &event, error);
                    bus.announce(&event, std::slice::from_ref(&failure)).await;
                }
                None => tracing::warn!(
                    subscription = %entry.id,
                    topic = event.topic(),
                    error = %error,
                    "event handler failed after its bus was dropped"
                ),
            }
        }
    }
}

/// Delivers emitted events in order, until the bus is dropped.
async fn run_emitter(bus: Weak<BusInner>, mut events: mpsc::Receiver<Event>) {
    while let Some(event) = events.recv().await {
        let Some(bus) = bus.upgrade() else { break };
        let route = bus.route_valid(event.topic_arc());
        bus.publish_routed(&event, &route, Start::now()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::{QueueConfig, QueuePolicy};
    use crate::lifecycle::BoxError;
    use parking_lot::Mutex;

    type Log = Arc<Mutex<Vec<String>>>;

    fn log_to(log: &Log, name: &'static str) -> impl Fn(&Event) + Send + Sync + 'static {
        let log = log.clone();
        move |_| log.lock().push(name.to_owned())
    }

    fn opts() -> SubscribeOptions {
        SubscribeOptions::new()
    }

    #[tokio::test]
    async fn report_counts_matches_and_skips() {
        let bus = EventBus::new();
        let _a = bus.subscribe("a.b", |_: &Event| ()).unwrap();
        let _b = bus.subscribe("a.*", |_: &Event| ()).unwrap();
        let _c = bus
            .subscribe_with(
                "a.>",
                opts().condition(|e| e.payload::<u8>() == Some(&1)),
                |_: &Event| (),
            )
            .unwrap();
        let _d = bus.subscribe("x.y", |_: &Event| ()).unwrap();
        let report = bus.publish("a.b", 2_u8).await.unwrap();
        assert_eq!(
            (report.matched, report.succeeded, report.skipped),
            (2, 2, 1)
        );
        assert!(report.is_success() && report.event_id.is_some());
        let report = bus.publish("a.b", 1_u8).await.unwrap();
        assert_eq!(report.matched, 3);
        assert!(bus.publish("a..b", 1_u8).await.is_err());
    }

    #[tokio::test]
    async fn elapsed_covers_the_handlers() {
        let bus = EventBus::new();
        // A lower bound that always holds: a thread sleeps at least as long as asked.
        let _slow = bus
            .subscribe("slow", |_: &Event| {
                std::thread::sleep(Duration::from_millis(2))
            })
            .unwrap();
        let report = bus.publish("slow", ()).await.unwrap();
        assert!(
            report.elapsed >= Duration::from_millis(2),
            "{:?}",
            report.elapsed
        );
        let report = bus.publish_event(Event::new("slow", ()).unwrap()).await;
        assert!(
            report.elapsed >= Duration::from_millis(2),
            "{:?}",
            report.elapsed
        );
    }

    #[tokio::test]
    async fn dropping_a_handler_that_owns_a_subscription_does_not_deadlock() {
        let bus = EventBus::new();
        let owned = bus.subscribe("a.b", |_: &Event| ()).unwrap();
        let owner = bus
            .subscribe("a.*", move |_: &Event| {
                let _keep = &owned;
            })
            .unwrap();
        bus.publish("a.b", ()).await.unwrap(); // caches a route holding both
        drop(owner); // the stale cached route now holds the owner's last reference
        // Refilling evicts that route: the owner's closure, and `owned` with it, is dropped,
        // which unsubscribes `owned`, which takes the locks the refill held.
        assert!(bus.has_subscribers("a.b"));
        assert!(!bus.has_subscribers("a.b"));
        assert_eq!(bus.stats().subscriptions, 0);
    }

    #[tokio::test]
    async fn priority_then_subscription_order() {
        let bus = EventBus::new();
        let log = Log::default();
        let _s = [
            bus.subscribe_with("t", opts().priority(0), log_to(&log, "p0-first"))
                .unwrap(),
            bus.subscribe_with("*", opts().priority(5), log_to(&log, "p5"))
                .unwrap(),
            bus.subscribe_with("t", opts().priority(0), log_to(&log, "p0-second"))
                .unwrap(),
            bus.subscribe_with("t", opts().priority(-3), log_to(&log, "p-3"))
                .unwrap(),
            bus.subscribe_with("t", opts().priority(9), log_to(&log, "p9"))
                .unwrap(),
        ];
        bus.publish("t", ()).await.unwrap();
        assert_eq!(*log.lock(), ["p9", "p5", "p0-first", "p0-second", "p-3"]);
    }

    #[tokio::test]
    async fn has_subscribers_follows_subscriptions() {
        let bus = EventBus::new();
        assert!(!bus.has_subscribers("user.created"));
        let wild = bus.subscribe("user.*", |_: &Event| ()).unwrap();
        assert!(bus.has_subscribers("user.created"));
        assert!(!bus.has_subscribers("user"));
        let exact = bus.subscribe("user", |_: &Event| ()).unwrap();
        assert!(bus.has_subscribers("user"));
        drop(wild);
        assert!(
            !bus.has_subscribers("user.created"),
            "cached route was patched"
        );
        assert!(bus.has_subscribers("user"));
        assert!(exact.unsubscribe());
        assert!(!bus.has_subscribers("user"));
        assert!(!bus.has_subscribers("not valid"));
        assert_eq!(bus.stats().subscriptions, 0);
    }

    #[tokio::test]
    async fn cancel_detach_and_tags() {
        let bus = EventBus::new();
        let kept = bus
            .subscribe_with("t", opts().tag("mod-a"), |_: &Event| ())
            .unwrap();
        bus.subscribe_with("t.>", opts().tag("mod-a"), |_: &Event| ())
            .unwrap()
            .detach();
        bus.subscribe_with("t", opts().tag("mod-b"), |_: &Event| ())
            .unwrap()
            .detach();
        assert_eq!(bus.stats().subscriptions, 3);
        assert_eq!(bus.unsubscribe_tag("mod-a"), 2);
        assert!(!kept.is_active());
        assert!(!kept.cancel(), "already removed by its tag");
        assert_eq!(bus.unsubscribe_tag("mod-a"), 0);
        assert_eq!(bus.publish("t", ()).await.unwrap().matched, 1);
        assert_eq!(bus.unsubscribe_tag("mod-b"), 1);
        assert!(!bus.has_subscribers("t"));
    }

    #[tokio::test]
    async fn once_is_delivered_once_sync_and_async() {
        let bus = EventBus::new();
        let log = Log::default();
        let s1 = bus
            .subscribe_with("t", opts().once(), log_to(&log, "sync"))
            .unwrap();
        let l = log.clone();
        let s2 = bus
            .subscribe_async_with("t", opts().once().priority(1), move |_| {
                let l = l.clone();
                async move {
                    tokio::task::yield_now().await;
                    l.lock().push("async".into());
                }
            })
            .unwrap();
        for _ in 0..3 {
            bus.publish("t", ()).await.unwrap();
        }
        assert_eq!(*log.lock(), ["async", "sync"]);
        assert!(!s1.is_active() && !s2.is_active());
        assert!(!bus.has_subscribers("t"));
    }

    #[tokio::test]
    async fn failures_are_isolated_reported_and_announced_once() {
        let bus = EventBus::new();
        let log = Log::default();
        let _bad = bus
            .subscribe_with("t", opts().priority(2), |_: &Event| Err::<(), _>("broken"))
            .unwrap();
        let _panics = bus
            .subscribe_with(
                "t",
                opts().priority(1),
                |_: &Event| -> Result<(), BoxError> { panic!("handler bug") },
            )
            .unwrap();
        let _good = bus.subscribe("t", log_to(&log, "good")).unwrap();
        let notices = Arc::new(Mutex::new(Vec::new()));
        let n = notices.clone();
        let _watch = bus
            .subscribe(HANDLER_FAILED, move |e: &Event| {
                let f = e.payload::<HandlerFailure>().map(|f| f.error.is_panic());
                n.lock().push((f, e.to_json().is_ok()));
                // A failing failure handler must not cause another notice.
                Err::<(), _>("watcher fails too")
            })
            .unwrap();
        let report = bus.publish("t", ()).await.unwrap();
        assert_eq!(
            (report.matched, report.succeeded, report.failed()),
            (3, 1, 2)
        );
        assert_eq!(report.failures[0].error.to_string(), "broken");
        assert!(report.failures[1].error.is_panic());
        assert_eq!(*log.lock(), ["good"]);
        assert_eq!(*notices.lock(), [(Some(false), true), (Some(true), true)]);
        assert_eq!(
            bus.stats().handler_failures,
            4,
            "2 handlers + 2 failing notices"
        );
    }

    #[tokio::test]
    async fn condition_panic_is_a_failure() {
        let bus = EventBus::new();
        let _s = bus
            .subscribe_with(
                "t",
                opts().condition(|_| panic!("bad condition")),
                |_: &Event| (),
            )
            .unwrap();
        let report = bus.publish("t", ()).await.unwrap();
        assert_eq!((report.matched, report.failed()), (0, 1));
        assert!(report.failures[0].error.is_panic());
    }

    #[tokio::test]
    async fn emit_delivers_in_order() {
        let bus = EventBus::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let _s = bus
            .subscribe("n", move |e: &Event| {
                let _ = tx.send(*e.payload::<u32>().unwrap_or(&0));
            })
            .unwrap();
        for i in 0..100_u32 {
            bus.emit("n", i).unwrap();
        }
        bus.emit("nobody.listens", 0_u32).unwrap();
        for i in 0..100_u32 {
            assert_eq!(rx.recv().await, Some(i));
        }
        assert!(bus.emit("a.*", 0_u32).is_err());
    }

    #[test]
    fn emit_without_runtime_says_so() {
        let bus = EventBus::new();
        let _s = bus.subscribe("t", |_: &Event| ()).unwrap();
        let err = bus.emit("t", ()).unwrap_err();
        assert!(matches!(err, BusError::NoRuntime { .. }), "{err}");
        let queued = bus.subscribe_with(
            "t",
            opts().queue(QueueConfig::new(1, QueuePolicy::Wait)),
            |_: &Event| (),
        );
        assert!(matches!(queued, Err(BusError::NoRuntime { .. })));
    }

    #[tokio::test]
    async fn emit_queue_is_bounded() {
        let bus = EventBus::builder().emit_queue_capacity(2).build();
        let _s = bus.subscribe("t", |_: &Event| ()).unwrap();
        bus.emit("t", 1).unwrap();
        bus.emit("t", 2).unwrap();
        let err = bus.emit("t", 3).unwrap_err();
        assert!(
            matches!(err, BusError::EmitQueueFull { capacity: 2, .. }),
            "{err}"
        );
        assert_eq!(bus.stats().emit_rejected, 1);
    }

    #[tokio::test]
    async fn history_and_batch() {
        let bus = EventBus::builder().history(3).build();
        let events = ["a.1", "b.1", "a.2", "a.3"].map(|t| Event::new(t, ()).unwrap());
        let report = bus.publish_batch(events).await;
        assert_eq!(report.reports.len(), 4);
        assert_eq!(report.matched(), 0);
        let recent: Vec<_> = bus
            .recent(10)
            .iter()
            .map(|e| e.topic().to_owned())
            .collect();
        assert_eq!(recent, ["b.1", "a.2", "a.3"]);
        let q = HistoryQuery::new().pattern("a.*").unwrap();
        assert_eq!(bus.history(&q).len(), 2);
        assert!(EventBus::new().recent(5).is_empty());
    }

    #[tokio::test]
    async fn queued_subscriber_runs_off_the_publisher_task() {
        let bus = EventBus::new();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sub = bus
            .subscribe_async_with(
                "t",
                opts().queue(QueueConfig::new(8, QueuePolicy::Wait)),
                move |e: Event| {
                    let tx = tx.clone();
                    async move {
                        let _ = tx.send(*e.payload::<u32>().unwrap_or(&0));
                    }
                },
            )
            .unwrap();
        let report = bus.publish("t", 7_u32).await.unwrap();
        assert_eq!((report.matched, report.queued, report.succeeded), (1, 1, 0));
        assert_eq!(rx.recv().await, Some(7));
        assert_eq!(sub.queue_stats().map(|s| s.taken), Some(1));
    }
}
