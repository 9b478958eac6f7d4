//! Events waiting for a guest, and the protocol that delivers each exactly once without
//! ever re-entering the guest.
//!
//! A guest runs under one lock (its instance). An event arrives on a bus handler, which may
//! run while a hook holds that lock; it must not wait for the lock (the hook may be the one
//! publishing the event), so it queues the event and delivers only if the lock is free.
//! Whoever holds the lock delivers what was queued meanwhile once it lets go. The protocol:
//!
//! - a **producer** [`push`](Inbox::push)es (counting the event in `pending`), then
//!   [`drain`](Inbox::drain)s: it takes the lock only if it is free, and delivers;
//! - a **holder**, after letting go of the lock, calls
//!   [`drain_after_release`](Inbox::drain_after_release), which looks at `pending`.
//!
//! Both sides put a sequentially consistent fence between their write (the count, the
//! release of the lock) and their read (the lock, the count). So of a producer that found
//! the lock taken and the holder that released it, at least one sees the other's write:
//! either the holder sees the event, or the producer saw the lock free. An event is never
//! left queued with nobody to deliver it, and the hot path (a hook call with no events)
//! costs one fence and one atomic load.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering, fence};

/// Who receives the items of an [`Inbox`], one at a time, under the lock.
pub(crate) trait Recipient: Sync {
    /// What is queued.
    type Item: Send;
    /// What the lock guards (the instance).
    type Target: Send;

    /// Delivers one item while the lock is held.
    fn deliver(
        &self,
        target: &mut Self::Target,
        item: Self::Item,
    ) -> impl Future<Output = ()> + Send;
}

/// A queue of items for whoever holds a lock; see the module documentation.
pub(crate) struct Inbox<T> {
    queue: Mutex<VecDeque<T>>,
    /// The length of `queue`, read without its lock after every hook call.
    pending: AtomicUsize,
}

impl<T> Default for Inbox<T> {
    fn default() -> Self {
        Self {
            queue: Mutex::new(VecDeque::new()),
            pending: AtomicUsize::new(0),
        }
    }
}

impl<T> Inbox<T> {
    /// Queues `item`; the producer then calls [`drain`](Self::drain).
    pub(crate) fn push(&self, item: T) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.push_back(item);
            self.pending.fetch_add(1, Ordering::SeqCst);
        }
        // Pairs with the fence in `drain_after_release`.
        fence(Ordering::SeqCst);
    }

    /// Drops every queued item (the guest stopped).
    pub(crate) fn clear(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            self.pending.fetch_sub(queue.len(), Ordering::SeqCst);
            queue.clear();
        }
    }

    fn pop(&self) -> Option<T> {
        let mut queue = self.queue.lock().ok()?;
        let item = queue.pop_front()?;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        Some(item)
    }

    /// Whether items are queued, seen after a release of the lock (the fence pairs with the
    /// one in [`push`](Self::push)).
    fn pending_after_release(&self) -> bool {
        fence(Ordering::SeqCst);
        self.pending.load(Ordering::SeqCst) > 0
    }

    /// Delivers the queued items to `recipient` if `lock` is free; returns at once if it is
    /// taken (its holder drains after letting go).
    pub(crate) async fn drain<R>(&self, lock: &tokio::sync::Mutex<R::Target>, recipient: &R)
    where
        R: Recipient<Item = T>,
    {
        loop {
            {
                let Ok(mut target) = lock.try_lock() else {
                    return;
                };
                while let Some(item) = self.pop() {
                    recipient.deliver(&mut target, item).await;
                }
            }
            // Items queued while this held the lock, by producers that found it taken.
            if !self.pending_after_release() {
                return;
            }
        }
    }

    /// Called by a holder of `lock` right after letting go of it: delivers what was queued
    /// while it held the lock.
    pub(crate) async fn drain_after_release<R>(
        &self,
        lock: &tokio::sync::Mutex<R::Target>,
        recipient: &R,
    ) where
        R: Recipient<Item = T>,
    {
        if self.pending_after_release() {
            self.drain(lock, recipient).await;
        }
    }
}

#[cfg(test)]
mod tests;
