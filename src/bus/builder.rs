//! Configuring a bus ([`EventBusBuilder`]) and reading its counters ([`BusStats`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::RwLock;

use super::cache::RouteCache;
use super::event_bus::{BusInner, EventBus};
use super::history::History;
use super::registry::Registry;

const DEFAULT_CACHE_CAPACITY: usize = 4096;
/// 2 MiB: some 10,000 routes of short topics, or 1,700 of the longest (1 KiB).
const DEFAULT_CACHE_BYTES: usize = 2 << 20;
const DEFAULT_EMIT_QUEUE_CAPACITY: usize = 65_536;
const DEFAULT_EMIT_LANE_CAPACITY: usize = 1024;

/// Configures an [`EventBus`]; see [`EventBus::builder`].
#[derive(Debug, Clone)]
#[must_use]
pub struct EventBusBuilder {
    history_capacity: usize,
    cache_capacity: usize,
    cache_bytes: usize,
    emit_queue_capacity: usize,
    emit_lane_capacity: usize,
}

impl Default for EventBusBuilder {
    fn default() -> Self {
        Self {
            history_capacity: 0,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            cache_bytes: DEFAULT_CACHE_BYTES,
            emit_queue_capacity: DEFAULT_EMIT_QUEUE_CAPACITY,
            emit_lane_capacity: DEFAULT_EMIT_LANE_CAPACITY,
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

    /// How many bytes the cached routes may hold together: their topics, their lists of
    /// subscribers and the cache's bookkeeping (default 2 MiB). Topics are at most
    /// [`MAX_TOPIC_BYTES`](super::MAX_TOPIC_BYTES) long, so a publisher of many distinct
    /// topics holds at most this much in the cache.
    pub fn cache_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// How many fire-and-forget events may wait for delivery (default 65,536, at least 1);
    /// beyond that [`EventBus::emit`] returns [`BusError::EmitQueueFull`](super::BusError::EmitQueueFull).
    pub fn emit_queue_capacity(mut self, capacity: usize) -> Self {
        self.emit_queue_capacity = capacity.max(1);
        self
    }

    /// How many emitted events may wait for each async handler (default 1,024, at least 1).
    ///
    /// The bus's emitter does not await async handlers: it hands each emitted event to the
    /// handler's own bounded queue and task, so that a handler that never returns holds up
    /// no one else. When that queue is full, the handler misses the newest events, counted
    /// in [`BusStats::queue_dropped`]. Sync handlers run on the emitter's task; subscribers
    /// with a [queue](super::SubscribeOptions::queue) get emitted events in that queue.
    pub fn emit_lane_capacity(mut self, capacity: usize) -> Self {
        self.emit_lane_capacity = capacity.max(1);
        self
    }

    /// Builds the bus.
    pub fn build(self) -> EventBus {
        EventBus {
            inner: Arc::new(BusInner {
                registry: RwLock::new(Registry::default()),
                cache: RwLock::new(RouteCache::new(self.cache_capacity, self.cache_bytes)),
                next_id: AtomicU64::new(1),
                history: (self.history_capacity > 0).then(|| History::new(self.history_capacity)),
                emitter: OnceLock::new(),
                emit_queue_capacity: self.emit_queue_capacity,
                handler_failures: AtomicU64::new(0),
                queue_dropped: AtomicU64::new(0),
                emit_accepted: AtomicU64::new(0),
                emit_delivered: AtomicU64::new(0),
                emit_rejected: AtomicU64::new(0),
                emit_lane_capacity: self.emit_lane_capacity,
                emit_lane_accepted: AtomicU64::new(0),
                emit_lane_handled: AtomicU64::new(0),
                unconsumed: AtomicU64::new(0),
                published: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
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
    /// What the cached routes hold now, in bytes; at most
    /// [`EventBusBuilder::cache_bytes`].
    pub cached_bytes: usize,
    /// Handler calls that returned an error or panicked, since the bus was built.
    pub handler_failures: u64,
    /// Events dropped by full subscriber queues, since the bus was built (also those of
    /// subscriptions that have gone since).
    pub queue_dropped: u64,
    /// Fire-and-forget events accepted by [`EventBus::emit`](super::EventBus::emit), since
    /// the bus was built.
    pub emit_accepted: u64,
    /// Emitted events accepted and not delivered yet: waiting for the bus's emitter, which
    /// delivers them one at a time, in order. Async handlers do not hold it up (see
    /// `emit_lagging`); a full [`QueuePolicy::Wait`](super::QueuePolicy::Wait) queue does.
    pub emit_pending: u64,
    /// Emitted events handed to async handlers and not handled yet: waiting in their emit
    /// lanes ([`EventBusBuilder::emit_lane_capacity`]), or being handled. A number that
    /// keeps growing means a stalled handler; what a full lane refuses is in `queue_dropped`.
    pub emit_lagging: u64,
    /// Fire-and-forget events rejected because the emit queue was full.
    pub emit_rejected: u64,
    /// Published events that reached no subscriber; see [`EventBus::unconsumed`], which
    /// reads this one counter without the locks that `stats` takes.
    pub unconsumed: u64,
    /// Events published since the bus was built, whether or not anyone listened.
    pub published: u64,
    /// Deliveries since the bus was built: an event handed to a handler or offered to a
    /// subscriber's queue counts once per subscriber (what a full queue drops is in
    /// `queue_dropped`).
    pub delivered: u64,
}

impl BusInner {
    /// The counters now; see [`EventBus::stats`].
    pub(super) fn stats(&self) -> BusStats {
        // Delivered first: read the other way round, an event delivered in between would be
        // counted as delivered but not as accepted.
        let emit_delivered = self.emit_delivered.load(Ordering::Acquire);
        let emit_accepted = self.emit_accepted.load(Ordering::Acquire);
        // Handled first, for the same reason.
        let lane_handled = self.emit_lane_handled.load(Ordering::Acquire);
        let lane_accepted = self.emit_lane_accepted.load(Ordering::Acquire);
        let registry = self.registry.read();
        let cache = self.cache.read();
        BusStats {
            subscriptions: registry.trie.len(),
            cached_topics: cache.len(),
            cached_bytes: cache.bytes(),
            handler_failures: self.handler_failures.load(Ordering::Relaxed),
            queue_dropped: self.queue_dropped.load(Ordering::Relaxed),
            emit_accepted,
            emit_pending: emit_accepted.saturating_sub(emit_delivered),
            emit_lagging: lane_accepted.saturating_sub(lane_handled),
            emit_rejected: self.emit_rejected.load(Ordering::Relaxed),
            unconsumed: self.unconsumed.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
        }
    }
}
