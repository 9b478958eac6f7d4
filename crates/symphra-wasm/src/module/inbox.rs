//! Events waiting for a guest, bounded in count and bytes, and the protocol that delivers
//! each exactly once without ever re-entering the guest.
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

//!
//! The queue is bounded by count and by bytes ([`InboxLimits`], from the manifest): an
//! event that does not fit is dropped (or makes room by dropping the oldest, by policy),
//! and every drop is counted ([`InboxStats`]), as are the events dropped because the guest
//! has no instance or stopped. Host memory held for a guest is thus bounded by what its
//! manifest allows.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering, fence};

use crate::manifest::{Capabilities, InboxPolicy};

/// Who receives the items of an [`Inbox`], one at a time, under the lock.
pub(crate) trait Recipient: Sync {
    /// What is queued.
    type Item: Send;
    /// What the lock guards (the instance).
    type Target: Send;

    /// Called once each time a drain takes the lock, before its run of deliveries: the
    /// deliveries of one run share one time budget.
    fn begin_run(&self, _target: &mut Self::Target) {}

    /// Delivers one item while the lock is held.
    fn deliver(
        &self,
        target: &mut Self::Target,
        item: Self::Item,
    ) -> impl Future<Output = ()> + Send;
}

/// How much may wait in an inbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InboxLimits {
    /// Items at most.
    pub(crate) items: usize,
    /// Bytes at most (as the producer counts them).
    pub(crate) bytes: u64,
    /// What a full inbox does with an arriving item.
    pub(crate) policy: InboxPolicy,
}

impl InboxLimits {
    /// No bound (for tests of the protocol).
    #[cfg(test)]
    pub(crate) const UNBOUNDED: Self = Self {
        items: usize::MAX,
        bytes: u64::MAX,
        policy: InboxPolicy::DropNewest,
    };

    /// The bound a manifest sets.
    pub(crate) fn of(caps: &Capabilities) -> Self {
        Self {
            items: caps.inbox_events,
            bytes: caps.inbox_bytes,
            policy: caps.inbox_policy,
        }
    }
}

/// What became of the events sent to a guest since the module was created: each event is
/// delivered, dropped for one of the reasons counted here, or still queued.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InboxStats {
    /// Events handed to `on-event` (whatever it returned).
    pub delivered: u64,
    /// Events dropped because the inbox was full (count or bytes, by its policy).
    pub dropped_full: u64,
    /// Events dropped because the guest had no instance (it trapped).
    pub dropped_no_instance: u64,
    /// Events dropped because the guest stopped before they were delivered.
    pub dropped_stopped: u64,
    /// Events waiting now.
    pub queued: u64,
    /// Bytes waiting now.
    pub queued_bytes: u64,
    /// The most bytes that ever waited at once.
    pub peak_bytes: u64,
}

struct Queue<T> {
    items: VecDeque<(T, u64)>,
    bytes: u64,
    limits: InboxLimits,
}

#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    dropped_full: AtomicU64,
    dropped_no_instance: AtomicU64,
    dropped_stopped: AtomicU64,
    peak_bytes: AtomicU64,
}

/// A bounded queue of items for whoever holds a lock; see the module documentation.
pub(crate) struct Inbox<T> {
    queue: Mutex<Queue<T>>,
    /// The length of `queue`, read without its lock after every hook call.
    pending: AtomicUsize,
    counters: Counters,
}

impl<T> Inbox<T> {
    /// An empty inbox bounded by `limits`.
    pub(crate) fn new(limits: InboxLimits) -> Self {
        Self {
            queue: Mutex::new(Queue {
                items: VecDeque::new(),
                bytes: 0,
                limits,
            }),
            pending: AtomicUsize::new(0),
            counters: Counters::default(),
        }
    }

    /// Bounds the inbox by `limits` from now on (a reload may change them).
    pub(crate) fn set_limits(&self, limits: InboxLimits) {
        if let Ok(mut queue) = self.queue.lock() {
            queue.limits = limits;
        }
    }

    /// Queues `item` of `bytes` bytes if it fits (by the policy, possibly dropping older
    /// items); the producer then calls [`drain`](Self::drain). Returns whether it was queued.
    pub(crate) fn push(&self, item: T, bytes: u64) -> bool {
        let queued = match self.queue.lock() {
            Ok(mut queue) => self.push_locked(&mut queue, item, bytes),
            Err(_) => false,
        };
        // Pairs with the fence in `drain_after_release`.
        fence(Ordering::SeqCst);
        queued
    }

    fn push_locked(&self, queue: &mut Queue<T>, item: T, bytes: u64) -> bool {
        let limits = queue.limits;
        let fits = |queue: &Queue<T>| {
            queue.items.len() < limits.items && queue.bytes.saturating_add(bytes) <= limits.bytes
        };
        if bytes > limits.bytes {
            self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if limits.policy == InboxPolicy::DropOldest {
            while !fits(queue) {
                let Some((_, old)) = queue.items.pop_front() else {
                    break;
                };
                queue.bytes -= old;
                self.pending.fetch_sub(1, Ordering::SeqCst);
                self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
            }
        }
        if !fits(queue) {
            self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        queue.items.push_back((item, bytes));
        queue.bytes += bytes;
        self.counters
            .peak_bytes
            .fetch_max(queue.bytes, Ordering::Relaxed);
        self.pending.fetch_add(1, Ordering::SeqCst);
        true
    }

    /// Drops every queued item (the guest stopped), counting them.
    pub(crate) fn clear(&self) {
        if let Ok(mut queue) = self.queue.lock() {
            let dropped = queue.items.len();
            self.pending.fetch_sub(dropped, Ordering::SeqCst);
            queue.items.clear();
            queue.bytes = 0;
            self.counters
                .dropped_stopped
                .fetch_add(dropped as u64, Ordering::Relaxed);
        }
    }

    /// Counts an item handed to the guest.
    pub(crate) fn count_delivered(&self) {
        self.counters.delivered.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an item dropped because there was no instance to hand it to.
    pub(crate) fn count_no_instance(&self) {
        self.counters
            .dropped_no_instance
            .fetch_add(1, Ordering::Relaxed);
    }

    /// What became of the items so far.
    pub(crate) fn stats(&self) -> InboxStats {
        let (queued, queued_bytes) = self
            .queue
            .lock()
            .map(|q| (q.items.len() as u64, q.bytes))
            .unwrap_or_default();
        let c = &self.counters;
        InboxStats {
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped_full: c.dropped_full.load(Ordering::Relaxed),
            dropped_no_instance: c.dropped_no_instance.load(Ordering::Relaxed),
            dropped_stopped: c.dropped_stopped.load(Ordering::Relaxed),
            queued,
            queued_bytes,
            peak_bytes: c.peak_bytes.load(Ordering::Relaxed),
        }
    }

    fn pop(&self) -> Option<T> {
        let mut queue = self.queue.lock().ok()?;
        let (item, bytes) = queue.items.pop_front()?;
        queue.bytes -= bytes;
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
                recipient.begin_run(&mut target);
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
