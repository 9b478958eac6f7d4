//! The subscription table: who listens on what, and the routes looked up from it.
//!
//! Every change to the table patches the route cache under the registry's write lock, and
//! every cache fill matches under its read lock, so a cached route is never older than the
//! table.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::cache::Route;
use super::error::BusError;
use super::event_bus::BusInner;
use super::subscription::{SubEntry, SubscriptionId};
use super::topic::validate_topic;
use super::trie::Trie;

/// The subscriptions of a bus, by pattern, by tag, and (for shutdown) those with a queue or
/// an emit lane.
#[derive(Default)]
pub(super) struct Registry {
    pub(super) trie: Trie<Arc<SubEntry>>,
    pub(super) tags: HashMap<Arc<str>, Vec<Arc<SubEntry>>>,
    pub(super) queued: HashMap<SubscriptionId, Arc<SubEntry>>,
}

/// The result of looking a topic up.
pub(super) enum Lookup {
    /// Nobody listens and no history is kept: no event needs to be built.
    Nobody,
    Route(Arc<Route>),
}

impl BusInner {
    /// Adds a subscription to the table and to the cached routes it concerns.
    pub(super) fn insert(&self, entry: &Arc<SubEntry>) {
        // Evicted routes are dropped after the locks are released, as in `fill`.
        let _evicted = {
            let mut registry = self.registry.write();
            registry.trie.insert(&entry.pattern, entry.clone());
            if let Some(tag) = &entry.tag {
                registry
                    .tags
                    .entry(tag.clone())
                    .or_default()
                    .push(entry.clone());
            }
            if entry.queue.is_some() {
                registry.queued.insert(entry.id, entry.clone());
            }
            // Under the registry lock, so that a concurrent cache fill cannot miss it.
            let evicted = self.cache.write().update(entry, true);
            self.changes.fetch_add(1, Ordering::Release);
            evicted
        };
    }

    /// Removes a subscription; returns whether it was still subscribed.
    pub(crate) fn remove(&self, entry: &Arc<SubEntry>) -> bool {
        if !entry.active.swap(false, Ordering::AcqRel) {
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
            self.changes.fetch_add(1, Ordering::Release);
            evicted
        };
        entry.close_queues();
        tracing::trace!(subscription = %entry.id, pattern = %entry.pattern, "unsubscribed");
        true
    }

    /// Removes every subscription tagged `tag`; returns how many were still subscribed.
    pub(super) fn remove_tag(&self, tag: &str) -> usize {
        let entries = self.registry.write().tags.remove(tag).unwrap_or_default();
        entries.iter().filter(|e| self.remove(e)).count()
    }

    /// The route of a topic, validating it unless it is cached; `Lookup::Nobody`, with no
    /// reference count taken, when no event needs to be built.
    #[inline]
    pub(super) fn lookup(&self, topic: &str) -> Result<Lookup, BusError> {
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
    pub(super) fn route_valid(&self, topic: &str) -> Arc<Route> {
        if let Some(route) = self.cache.read().peek(topic) {
            return route.clone();
        }
        self.fill(topic.into())
    }

    /// Matches a topic against the table and caches the route.
    #[cold]
    pub(super) fn fill(&self, topic: Arc<str>) -> Arc<Route> {
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
            // Routes evicted here may hold the last handle of a handler that unsubscribes
            // when dropped, which takes the registry lock: drop them after releasing it.
            drop(registry);
            drop(evicted);
        }
        route
    }
}
