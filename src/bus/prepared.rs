//! Publishing on topics known in advance, such as the manager's lifecycle topics.
//!
//! Each topic is a constant, and its route is kept until the bus's subscriptions change,
//! so a publish takes no topic validation, no topic allocation or reference count, and
//! no cache lookup. An event whose route holds only sync handlers is delivered on the spot,
//! without a future; the rest goes through the general path. Watching 10,000 modules start and stop cost 7 times the
//! silent run when each event went through [`EventBus::publish_event`] (`benches/watched.rs`).

use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use parking_lot::RwLock;

use super::cache::Route;
use super::dispatch::Tally;
use super::event::Event;
use super::event_bus::EventBus;
use super::report::HandlerFailure;
use super::topic::validate_topic;

/// A fixed set of at most 32 valid topics, each with a bit in the answer of
/// [`heard`](Self::heard), and their routes as of the bus's last subscription change.
pub(crate) struct TopicSet<const N: usize> {
    topics: [&'static str; N],
    /// The [`EventBus::subscription_changes`] that `heard` and `routes` were taken at.
    stamp: AtomicU64,
    /// Bit `i` is set when topic `i` has subscribers.
    heard: AtomicU32,
    /// Written only by `refresh`, which holds the write lock while it reads the stamp, so
    /// a later refresh never stores an older snapshot. Behind an `Arc`, so that a publisher
    /// takes every route with one reference count.
    routes: RwLock<Arc<TopicRoutes>>,
    /// Tells this set's routes from another's in [`LAST_ROUTES`].
    id: u64,
}

thread_local! {
    /// The routes this thread published along last. While they are current, taking them
    /// again costs no atomic operation: no lock, no reference count.
    ///
    /// They keep their subscriptions' handlers alive until this thread takes other routes
    /// or ends, as a stale entry of the bus's route cache does.
    static LAST_ROUTES: Cell<Option<Arc<TopicRoutes>>> = const { Cell::new(None) };
}

impl<const N: usize> TopicSet<N> {
    /// Interns `topics`, each of which must be a valid topic (they are constants).
    pub(crate) fn new(topics: [&'static str; N]) -> Self {
        const { assert!(N <= u32::BITS as usize, "one bit per topic") };
        debug_assert!(topics.iter().all(|topic| validate_topic(topic).is_ok()));
        static NEXT_ID: AtomicU64 = AtomicU64::new(0);
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Self {
            topics,
            stamp: AtomicU64::new(u64::MAX),
            heard: AtomicU32::new(0),
            routes: RwLock::new(Arc::new(TopicRoutes {
                set: id,
                stamp: u64::MAX,
                routes: Box::new([]),
            })),
            id,
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
        let mut fresh = Vec::with_capacity(N);
        for (at, &topic) in self.topics.iter().enumerate() {
            let route = bus.inner.route_valid(topic);
            fresh.push(if route.subs.is_empty() {
                None
            } else {
                heard |= 1 << at;
                Some((topic, route))
            });
        }
        let fresh = TopicRoutes {
            set: self.id,
            stamp: changes,
            routes: fresh.into_boxed_slice(),
        };
        let old = std::mem::replace(&mut *routes, Arc::new(fresh));
        self.heard.store(heard, Ordering::Release);
        self.stamp.store(changes, Ordering::Release);
        drop(routes);
        // The old routes may hold the last handle of a handler whose drop calls back into
        // the bus: dropped with no lock held.
        drop(old);
        heard
    }

    /// The routes of every topic, as of the last [`heard`](Self::heard) or later: those
    /// this thread published along last if they are still current, else the set's. Give
    /// them back with [`TopicRoutes::keep`] when done, for the next call to find.
    #[inline]
    pub(crate) fn routes(&self) -> Arc<TopicRoutes> {
        let stamp = self.stamp.load(Ordering::Acquire);
        match LAST_ROUTES.take() {
            Some(last) if last.set == self.id && last.stamp == stamp => last,
            _ => self.current(),
        }
    }

    #[cold]
    #[inline(never)]
    fn current(&self) -> Arc<TopicRoutes> {
        Arc::clone(&self.routes.read())
    }
}

/// The routes of the topics of a [`TopicSet`] at one moment, by index: `None` for a topic
/// nobody listened to. They stay valid to deliver along, as subscriptions that end
/// meanwhile are skipped on delivery.
pub(crate) struct TopicRoutes {
    /// The [`TopicSet::id`] of the set they belong to.
    set: u64,
    /// The set's stamp when they were taken.
    stamp: u64,
    routes: Box<[Option<Named>]>,
}

/// A topic of a set and its route.
type Named = (&'static str, Arc<Route>);

/// What is left of a delivery that [`TopicRoutes::deliver_now`] could not finish on the
/// spot; hand it to [`TopicRoutes::finish`].
#[must_use = "finish it: the event may not have been delivered"]
pub(crate) struct Unfinished(Option<Vec<HandlerFailure>>);

impl TopicRoutes {
    /// Keeps these routes for this thread's next [`TopicSet::routes`].
    #[inline]
    pub(crate) fn keep(self: Arc<Self>) {
        LAST_ROUTES.set(Some(self));
    }

    /// The topic at `at`, if anyone listened to it.
    #[inline]
    pub(crate) fn topic(&self, at: usize) -> Option<&'static str> {
        self.routes.get(at)?.as_ref().map(|(topic, _)| *topic)
    }

    fn route(&self, at: usize) -> Option<&Arc<Route>> {
        self.routes.get(at)?.as_ref().map(|(_, route)| route)
    }

    /// Delivers `event`, published on the topic at `at`, on the spot when every subscriber
    /// is a sync handler, as [`EventBus::publish_event`] would, without its report. `Some`
    /// when something has to be awaited: the whole delivery if a subscriber needs awaiting,
    /// or announcing the failures of handlers that failed.
    ///
    /// What it delivers is added to `tally`, for the caller to count.
    #[inline]
    pub(crate) fn deliver_now(
        &self,
        at: usize,
        bus: &EventBus,
        event: &Event,
        tally: &mut Tally,
    ) -> Option<Unfinished> {
        let route = self.route(at)?;
        if !route.inline_sync {
            return Some(Unfinished(None));
        }
        let failures = bus.inner.publish_inline(event, route, tally);
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
            // The report is dropped: not timed.
            bus.inner.publish_routed(event, route, None).await;
        }
    }
}
