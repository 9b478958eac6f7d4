//! The route cache: for recently published topics, the subscribers in delivery order.
//!
//! Bounded in routes and in bytes: when either bound would be passed it is emptied before a
//! new topic goes in, so it never grows with the number of distinct topics (subscribed or
//! not), nor with their length. It stays exact across (un)subscribes:
//! an exact pattern patches the one cached route it concerns; a wildcard pattern bumps the
//! cache's generation, an O(1) step that makes every older route stale, to be matched again
//! when its topic is next published. So subscribing costs the same with a full cache.

use std::collections::HashMap;
use std::sync::Arc;

use super::handler::Handler;
use super::subscription::SubEntry;
use super::trie::Trie;

/// The subscribers of one topic, in delivery order.
pub(crate) struct Route {
    pub(crate) topic: Arc<str>,
    /// A `Vec`, not a boxed slice: shrinking it would cost a reallocation per match.
    pub(crate) subs: Vec<Arc<SubEntry>>,
    /// Every subscriber is a sync handler run on the publisher's task: the delivery loop
    /// then needs no await and checks for none (see `dispatch.rs`).
    pub(crate) inline_sync: bool,
    /// The cache generation this route was matched in.
    generation: u64,
}

impl Route {
    /// Matches `topic` (assumed valid) against the trie, for cache `generation`.
    pub(crate) fn build(topic: Arc<str>, trie: &Trie<Arc<SubEntry>>, generation: u64) -> Self {
        let mut subs = Vec::new();
        trie.collect(&topic, &mut subs);
        subs.sort_unstable_by_key(|s| s.order());
        Self::new(topic, subs, generation)
    }

    /// What this route holds on the heap, with the cache's entry for it: what the cache's
    /// byte bound counts.
    fn weight(&self) -> usize {
        const ENTRY: usize =
            size_of::<Route>() + size_of::<(Arc<str>, Arc<Route>)>() + 2 * size_of::<[usize; 2]>(); // the two `Arc` headers
        ENTRY + self.topic.len() + self.subs.capacity() * size_of::<Arc<SubEntry>>()
    }

    fn new(topic: Arc<str>, subs: Vec<Arc<SubEntry>>, generation: u64) -> Self {
        let inline_sync = subs
            .iter()
            .all(|s| s.queue.is_none() && matches!(s.handler, Handler::Sync(_)));
        Self {
            topic,
            subs,
            inline_sync,
            generation,
        }
    }

    fn with(&self, entry: &Arc<SubEntry>) -> Self {
        let at = self.subs.partition_point(|s| s.order() < entry.order());
        let mut subs = Vec::with_capacity(self.subs.len() + 1);
        subs.extend_from_slice(&self.subs[..at]);
        subs.push(entry.clone());
        subs.extend_from_slice(&self.subs[at..]);
        Self::new(self.topic.clone(), subs, self.generation)
    }

    fn without(&self, entry: &SubEntry) -> Self {
        let subs = self
            .subs
            .iter()
            .filter(|s| s.id != entry.id)
            .cloned()
            .collect();
        Self::new(self.topic.clone(), subs, self.generation)
    }
}

type Map = HashMap<Arc<str>, Arc<Route>, foldhash::fast::RandomState>;

pub(crate) struct RouteCache {
    routes: Map,
    capacity: usize,
    /// The sum of the cached routes' [`Route::weight`].
    bytes: usize,
    max_bytes: usize,
    generation: u64,
}

impl RouteCache {
    /// A cache of at most `capacity` routes weighing at most `max_bytes` together.
    pub(crate) fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            routes: HashMap::default(),
            capacity,
            bytes: 0,
            max_bytes,
            generation: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.routes.len()
    }

    /// What the cached routes weigh, in bytes (see [`Route::weight`]).
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The generation new routes must be built for.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Whether routes are cached at all.
    pub(crate) fn is_enabled(&self) -> bool {
        self.capacity > 0
    }

    /// The cached route of `topic`, unless there is none or it is stale.
    #[inline]
    pub(crate) fn peek(&self, topic: &str) -> Option<&Arc<Route>> {
        self.routes
            .get(topic)
            .filter(|r| r.generation == self.generation)
    }

    /// Caches `route` unless it is stale; returns what it displaced, for the caller to drop
    /// after releasing its locks.
    pub(crate) fn insert(&mut self, route: Arc<Route>) -> Evicted {
        let mut evicted = Evicted::default();
        let weight = route.weight();
        if self.capacity == 0 || route.generation != self.generation || weight > self.max_bytes {
            return evicted;
        }
        let replaced = self.routes.get(&route.topic).map_or(0, |old| old.weight());
        let full = self.routes.len() >= self.capacity && replaced == 0;
        if full || self.bytes - replaced + weight > self.max_bytes {
            // Emptying is O(1) amortized over the inserts that refill it.
            evicted.all = Some(std::mem::take(&mut self.routes));
            self.bytes = 0;
        }
        self.bytes += weight;
        evicted.one = self.routes.insert(route.topic.clone(), route);
        if let Some(old) = &evicted.one {
            self.bytes -= old.weight();
        }
        evicted
    }

    /// Keeps the cache exact after `entry` was added to or removed from the trie; returns what
    /// it displaced, for the caller to drop after releasing its locks.
    pub(crate) fn update(&mut self, entry: &Arc<SubEntry>, added: bool) -> Evicted {
        let mut evicted = Evicted::default();
        if !entry.pattern.is_exact() {
            self.generation += 1;
        } else if let Some(route) = self.routes.get_mut(entry.pattern.as_str()) {
            let patched = Arc::new(if added {
                route.with(entry)
            } else {
                route.without(entry)
            });
            // A patch changes the weight by a few handles; the byte bound is checked again at
            // the next insert.
            self.bytes = self.bytes - route.weight() + patched.weight();
            evicted.one = Some(std::mem::replace(route, patched));
        }
        evicted
    }
}

/// Routes taken out of the cache. Dropping a route may drop the last reference to a
/// subscription, and with it a handler closure whose captures may call back into the bus
/// (say, a `Subscription` that unsubscribes on drop): so it must happen with no lock held.
#[derive(Default)]
#[must_use = "drop it after releasing the bus's locks"]
pub(crate) struct Evicted {
    one: Option<Arc<Route>>,
    all: Option<Map>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::handler::Handler;
    use crate::bus::subscription::{SubscribeOptions, SubscriptionId};
    use crate::bus::topic::Pattern;

    fn entry(id: u64, pattern: &str, priority: i32) -> Arc<SubEntry> {
        Arc::new(SubEntry::new(
            SubscriptionId(id),
            Pattern::parse(pattern).unwrap(),
            SubscribeOptions::new().priority(priority),
            Handler::sync(|_: &crate::bus::Event| ()),
        ))
    }

    fn ids(route: &Route) -> Vec<u64> {
        route.subs.iter().map(|s| s.id.0).collect()
    }

    #[test]
    fn routes_are_ordered_by_priority_then_age() {
        let mut trie = Trie::default();
        for (id, prio) in [(1, 0), (2, 5), (3, 0), (4, 5), (5, -1)] {
            let e = entry(id, "a.*", prio);
            trie.insert(&e.pattern.clone(), e);
        }
        let route = Route::build("a.b".into(), &trie, 0);
        assert_eq!(ids(&route), vec![2, 4, 1, 3, 5]);
    }

    #[test]
    fn cached_routes_stay_exact() {
        let mut trie = Trie::default();
        let mut cache = RouteCache::new(8, usize::MAX);
        let fill = |cache: &mut RouteCache, trie: &Trie<Arc<SubEntry>>, topic: &str| {
            let route = Arc::new(Route::build(topic.into(), trie, cache.generation()));
            let _ = cache.insert(route);
        };
        for topic in ["a.b", "a.c", "x.y"] {
            fill(&mut cache, &trie, topic);
        }
        // An exact pattern patches its one route; the others stay fresh.
        let exact = entry(2, "a.b", 9);
        trie.insert(&exact.pattern.clone(), exact.clone());
        let _ = cache.update(&exact, true);
        assert_eq!(ids(cache.peek("a.b").unwrap()), vec![2]);
        assert!(cache.peek("a.c").unwrap().subs.is_empty());
        // A wildcard makes every cached route stale until it is matched again.
        let wild = entry(1, "a.*", 0);
        trie.insert(&wild.pattern.clone(), wild.clone());
        let _ = cache.update(&wild, true);
        assert!(cache.peek("a.b").is_none() && cache.peek("x.y").is_none());
        fill(&mut cache, &trie, "a.b");
        assert_eq!(ids(cache.peek("a.b").unwrap()), vec![2, 1]);
        // A route matched before a change is not cached after it.
        let old = Arc::new(Route::build("a.c".into(), &trie, cache.generation()));
        trie.remove(&wild.pattern, |e| e.id == wild.id);
        let _ = cache.update(&wild, false);
        let _ = cache.insert(old);
        assert!(cache.peek("a.c").is_none());
        fill(&mut cache, &trie, "a.b");
        assert_eq!(ids(cache.peek("a.b").unwrap()), vec![2]);
        trie.remove(&exact.pattern, |e| e.id == exact.id);
        let _ = cache.update(&exact, false);
        assert!(
            cache.peek("a.b").unwrap().subs.is_empty(),
            "patched in place"
        );
    }

    #[test]
    fn cache_is_bounded() {
        let trie = Trie::default();
        let mut cache = RouteCache::new(4, usize::MAX);
        for i in 0..100 {
            let _ = cache.insert(Arc::new(Route::build(format!("t.{i}").into(), &trie, 0)));
            assert!(cache.len() <= 4);
        }
        assert!(cache.peek("t.99").is_some());
        let mut none = RouteCache::new(0, usize::MAX);
        let _ = none.insert(Arc::new(Route::build("t".into(), &trie, 0)));
        assert_eq!(none.len(), 0);
    }

    #[test]
    fn cache_is_bounded_in_bytes() {
        let trie = Trie::default();
        let long = |i: usize| -> Arc<str> { format!("{i:04}.{}", "x".repeat(1000)).into() };
        let one = Route::build(long(0), &trie, 0).weight();
        let mut cache = RouteCache::new(1000, 10 * one);
        for i in 0..100 {
            let _ = cache.insert(Arc::new(Route::build(long(i), &trie, 0)));
            assert!(
                cache.bytes() <= 10 * one,
                "{} bytes after {i}",
                cache.bytes()
            );
            assert!(cache.len() <= 10);
        }
        assert!(cache.peek(&long(99)).is_some());
        // Re-inserting a cached topic replaces its weight rather than adding to it.
        let _ = cache.insert(Arc::new(Route::build(long(99), &trie, 0)));
        let expected: usize = cache.routes.values().map(|r| r.weight()).sum();
        assert_eq!(cache.bytes(), expected);
        // A route heavier than the whole bound is not cached at all.
        let mut tiny = RouteCache::new(1000, one - 1);
        let _ = tiny.insert(Arc::new(Route::build(long(1), &trie, 0)));
        assert_eq!((tiny.len(), tiny.bytes()), (0, 0));
    }

    #[test]
    fn a_routes_weight_is_its_entry_its_map_slot_both_arc_headers_its_topic_and_handles() {
        let trie = Trie::default();
        let route = Route::build("t.abc".into(), &trie, 0);
        // An `Arc` header is two counters.
        let bookkeeping =
            size_of::<Route>() + size_of::<(Arc<str>, Arc<Route>)>() + 2 * 2 * size_of::<usize>();
        assert_eq!(route.weight(), bookkeeping + "t.abc".len());
        let heard = route.with(&entry(1, "t.abc", 0));
        assert!(heard.subs.capacity() >= 1);
        assert_eq!(
            heard.weight(),
            bookkeeping + "t.abc".len() + heard.subs.capacity() * size_of::<Arc<SubEntry>>()
        );
    }
}
