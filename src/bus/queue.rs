//! Bounded queues for subscribers that run off the publisher's task, and their policies.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore};

use super::event::Event;

/// What a full subscriber queue does with a new event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueuePolicy {
    /// The publisher waits for room (back-pressure). `emit` and other publishers wait too.
    Wait,
    /// The oldest queued event is dropped to make room for the new one.
    DropOldest,
    /// The new event is dropped.
    DropNewest,
}

/// A bounded queue for a subscriber whose handler runs on its own task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// How many events may wait; at least 1.
    pub capacity: usize,
    /// What happens when the queue is full.
    pub policy: QueuePolicy,
}

impl QueueConfig {
    /// A queue of `capacity` events (raised to 1 if 0) with `policy`.
    pub fn new(capacity: usize, policy: QueuePolicy) -> Self {
        Self {
            capacity: capacity.max(1),
            policy,
        }
    }
}

/// Counters of one subscriber queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct QueueStats {
    /// Events waiting now.
    pub len: usize,
    /// The queue's capacity.
    pub capacity: usize,
    /// Events taken off the queue by the subscriber's task.
    pub taken: u64,
    /// Events dropped because the queue was full.
    pub dropped: u64,
}

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// Queued, and an older event was dropped for it.
    ReplacedOldest,
    DroppedNewest,
    Closed,
}

pub(crate) struct SubscriberQueue {
    items: Mutex<VecDeque<Event>>,
    config: QueueConfig,
    /// Free slots, for [`QueuePolicy::Wait`] only.
    room: Option<Semaphore>,
    ready: Notify,
    closed: AtomicBool,
    taken: AtomicU64,
    dropped: AtomicU64,
}

impl SubscriberQueue {
    pub(crate) fn new(config: QueueConfig) -> Self {
        Self {
            items: Mutex::new(VecDeque::with_capacity(config.capacity.min(1024))),
            config,
            room: (config.policy == QueuePolicy::Wait).then(|| Semaphore::new(config.capacity)),
            ready: Notify::new(),
            closed: AtomicBool::new(false),
            taken: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
        }
    }

    pub(crate) async fn push(&self, event: Event) -> Pushed {
        if self.closed.load(Ordering::Acquire) {
            return Pushed::Closed;
        }
        let pushed = match &self.room {
            Some(room) => match room.acquire().await {
                // The slot is given back by `pop`, not by dropping the permit.
                Ok(permit) => {
                    permit.forget();
                    self.items.lock().push_back(event);
                    Pushed::Queued
                }
                Err(_closed) => return Pushed::Closed,
            },
            None => {
                let mut items = self.items.lock();
                if items.len() < self.config.capacity {
                    items.push_back(event);
                    Pushed::Queued
                } else if self.config.policy == QueuePolicy::DropOldest {
                    let oldest = items.pop_front();
                    items.push_back(event);
                    drop(items); // a payload's drop runs unlocked
                    drop(oldest);
                    Pushed::ReplacedOldest
                } else {
                    drop(items);
                    drop(event);
                    Pushed::DroppedNewest
                }
            }
        };
        match pushed {
            Pushed::Queued | Pushed::ReplacedOldest => self.ready.notify_one(),
            Pushed::DroppedNewest | Pushed::Closed => {}
        }
        if matches!(pushed, Pushed::ReplacedOldest | Pushed::DroppedNewest) {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        pushed
    }

    /// The next event, waiting for one; `None` once closed and drained.
    pub(crate) async fn pop(&self) -> Option<Event> {
        loop {
            // Take the notification before looking, so a push in between is not missed.
            let ready = self.ready.notified();
            let next = self.items.lock().pop_front();
            if let Some(event) = next {
                if let Some(room) = &self.room {
                    room.add_permits(1);
                }
                self.taken.fetch_add(1, Ordering::Relaxed);
                return Some(event);
            }
            if self.closed.load(Ordering::Acquire) {
                return None;
            }
            ready.await;
        }
    }

    /// Stops accepting events; those already queued are still handled.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Release);
        if let Some(room) = &self.room {
            room.close();
        }
        self.ready.notify_one();
    }

    pub(crate) fn stats(&self) -> QueueStats {
        QueueStats {
            len: self.items.lock().len(),
            capacity: self.config.capacity,
            taken: self.taken.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn ev(n: u32) -> Event {
        Event::new("q", n).unwrap()
    }

    async fn drain(q: &SubscriberQueue) -> Vec<u32> {
        q.close();
        let mut out = Vec::new();
        while let Some(e) = q.pop().await {
            out.push(*e.payload::<u32>().unwrap());
        }
        out
    }

    #[tokio::test]
    async fn drop_newest_keeps_the_first() {
        let q = SubscriberQueue::new(QueueConfig::new(2, QueuePolicy::DropNewest));
        assert_eq!(q.push(ev(1)).await, Pushed::Queued);
        assert_eq!(q.push(ev(2)).await, Pushed::Queued);
        assert_eq!(q.push(ev(3)).await, Pushed::DroppedNewest);
        assert_eq!(q.stats().dropped, 1);
        assert_eq!(q.stats().len, 2);
        assert_eq!(drain(&q).await, vec![1, 2]);
        assert_eq!(q.push(ev(4)).await, Pushed::Closed);
    }

    #[tokio::test]
    async fn drop_oldest_keeps_the_last() {
        let q = SubscriberQueue::new(QueueConfig::new(2, QueuePolicy::DropOldest));
        for n in 1..=5 {
            q.push(ev(n)).await;
        }
        assert_eq!(q.stats().dropped, 3);
        assert_eq!(drain(&q).await, vec![4, 5]);
    }

    #[tokio::test]
    async fn wait_blocks_until_room() {
        let q = Arc::new(SubscriberQueue::new(QueueConfig::new(1, QueuePolicy::Wait)));
        assert_eq!(q.push(ev(1)).await, Pushed::Queued);
        let pusher = tokio::spawn({
            let q = q.clone();
            async move { q.push(ev(2)).await }
        });
        tokio::task::yield_now().await;
        assert!(!pusher.is_finished(), "the second push waits for room");
        assert_eq!(
            q.pop().await.and_then(|e| e.payload::<u32>().copied()),
            Some(1)
        );
        assert_eq!(pusher.await.unwrap(), Pushed::Queued);
        assert_eq!(q.stats().dropped, 0);
        assert_eq!(drain(&q).await, vec![2]);
    }

    #[tokio::test]
    async fn close_releases_a_waiting_pusher() {
        let q = Arc::new(SubscriberQueue::new(QueueConfig::new(1, QueuePolicy::Wait)));
        q.push(ev(1)).await;
        let pusher = tokio::spawn({
            let q = q.clone();
            async move { q.push(ev(2)).await }
        });
        tokio::task::yield_now().await;
        q.close();
        assert_eq!(pusher.await.unwrap(), Pushed::Closed);
    }
}
