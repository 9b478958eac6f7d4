//! Publishing on topics known in advance, such as the manager's lifecycle topics.
//!
//! Each topic is interned once, and its route is kept until the bus's subscriptions change,
//! so a publish takes no topic validation, no topic allocation and no cache lookup. An event
//! whose route holds only sync handlers is delivered on the spot, without a future; the rest
//! goes through the general path. Watching 10,000 modules start and stop cost 7 times the
//! silent run when each event went through [`EventBus::publish_event`] (`benches/watched.rs`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::RwLock;

use super::cache::Route;
use super::dispatch::Start;
use super::event::Event;
use super::event_bus::EventBus;
use super::report::HandlerFailure;
use super::topic::validate_topic;

/// A fixed set of at most 32 valid topics, each with a bit in the answer of
/// [`heard`](Self::heard), and their routes as of the bus's last subscription change.
pub(crate) struct TopicSet<const N: usize> {
    topics: [Arc<str>; N],
    /// The [`EventBus::subscription_changes`] that `heard` and `routes` were taken at.
    stamp: AtomicU64,
    /// Bit `i` is set when topic `i` has subscribers.
    heard: AtomicU32,
    /// Written only by `refresh`, which holds the write lock while it reads the stamp, so
    /// a later refresh never stores an older snapshot. Behind an `Arc`, so that a publisher
    /// takes every route with one reference count.
    routes: RwLock<Arc<TopicRoutes<N>>>,
}

impl<const N: usize> TopicSet<N> {
    /// Interns `topics`, each of which must be a valid topic (they are constants).
    pub(crate) fn new(topics: [&'static str; N]) -> Self {
        const { assert!(N <= u32::BITS as usize, "one bit per topic") };
        debug_assert!(topics.iter().all(|topic| validate_topic(topic).is_ok()));
        Self {
            topics: topics.map(Arc::from),
            stamp: AtomicU64::new(u64::MAX),
            heard: AtomicU32::new(0),
            routes: RwLock::new(Arc::new(TopicRoutes(std::array::from_fn(|_| None)))),
        }
    }

    /// The topics someone listens to on `bus`, bit `i` for topic `i`. Two atomic loads
    /// unless the subscriptions changed since the last call.
    #[inline]
    pub(crate) fn heard(&self, bus: &EventBus) -> u32 {
        if self.stamp.load(Ordering::Acquire) == bus.subscription_changes() {
            return self.heard.load(Ordering::Acquire);
        }
        self.refresh(bus)
    }

    /// Looks every topic up again (a cached lookup each, once per subscription change).
    #[cold]
    #[inline(never)]
    fn refresh(&self, bus: &EventBus) -> u32 {
        let mut routes = self.routes.write();
        // Read under the lock: refreshes take turns, each at least as new as the last.
        let changes = bus.subscription_changes();
        if self.stamp.load(Ordering::Acquire) == changes {
            return self.heard.load(Ordering::Acquire);
        }
        let mut heard = 0;
        let fresh = std::array::from_fn(|at| {
            let route = bus.inner.route_valid(&self.topics[at]);
            if route.subs.is_empty() {
                return None;
            }
            heard |= 1 << at;
            Some(route)
        });
        let old = std::mem::replace(&mut *routes, Arc::new(TopicRoutes(fresh)));
        self.heard.store(heard, Ordering::Release);
        self.stamp.store(changes, Ordering::Release);
        drop(routes);
        // The old routes may hold the last handle of a handler whose drop calls back into
        // the bus: dropped with no lock held.
        drop(old);
        heard
    }

    /// The routes of every topic, as of the last [`heard`](Self::heard) or later.
    #[inline]
    pub(crate) fn routes(&self) -> Arc<TopicRoutes<N>> {
        Arc::clone(&self.routes.read())
    }
}

/// The routes of the topics of a [`TopicSet`] at one moment, by index: `None` for a topic
/// nobody listened to. They stay valid to deliver along, as subscriptions that end
/// meanwhile are skipped on delivery.
pub(crate) struct TopicRoutes<const N: usize>([Option<Arc<Route>>; N]);

/// What is left of a delivery that [`TopicRoutes::deliver_now`] could not finish on the
/// spot; hand it to [`TopicRoutes::finish`].
#[must_use = "finish it: the event may not have been delivered"]
pub(crate) struct Unfinished(Option<Vec<HandlerFailure>>);

impl<const N: usize> TopicRoutes<N> {
    /// The topic at `at`, interned (cloning it takes a reference count), if anyone
    /// listened to it.
    #[inline]
    pub(crate) fn topic(&self, at: usize) -> Option<&Arc<str>> {
        self.route(at).map(|route| &route.topic)
    }

    fn route(&self, at: usize) -> Option<&Arc<Route>> {
        self.0.get(at).and_then(Option::as_ref)
    }

    /// Delivers `event`, published on the topic at `at`, on the spot when every subscriber
    /// is a sync handler, as [`EventBus::publish_event`] would, without its report. `Some`
    /// when something has to be awaited: the whole delivery if a subscriber needs awaiting,
    /// or announcing the failures of handlers that failed.
    #[inline]
    pub(crate) fn deliver_now(
        &self,
        at: usize,
        bus: &EventBus,
        event: &Event,
    ) -> Option<Unfinished> {
        let route = self.route(at)?;
        if !route.inline_sync {
            return Some(Unfinished(None));
        }
        let failures = bus.inner.publish_inline(event, route);
        if failures.is_empty() {
            None
        } else {
            Some(Unfinished(Some(failures)))
        }
    }

    /// Finishes what [`deliver_now`](Self::deliver_now) left of the delivery of `event`.
    pub(crate) async fn finish(
        &self,
        at: usize,
        bus: &EventBus,
        event: &Event,
        unfinished: Unfinished,
    ) {
        match unfinished.0 {
            Some(failures) => bus.inner.announce(event, &failures).await,
            None => self.deliver(at, bus, event).await,
        }
    }

    /// Delivers `event`, published on the topic at `at`, the general way, as
    /// [`EventBus::publish_event`] does.
    pub(crate) async fn deliver(&self, at: usize, bus: &EventBus, event: &Event) {
        if let Some(route) = self.route(at) {
            let start = Start::at(event.time());
            bus.inner.publish_routed(event, route, start).await;
        }
    }
}
