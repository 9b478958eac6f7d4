//! Bounded queues for subscribers that run off the publisher's task, and their policies.

use std::collections::VecDeque;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

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

/// The events of a queue and, under the same lock, how far their handling has gone.
///
/// Events leave the queue from its front only, taken by the subscriber's task or dropped for
/// a newer one, and the task handles one at a time: so the events handled or dropped so far
/// are always the first ones accepted, and one count says which are done.
struct Items {
    events: VecDeque<Event>,
    /// Events that entered the queue since it was made.
    accepted: u64,
    /// Events that left its front, taken or dropped.
    departed: u64,
    /// Events whose handling is over (handled, or dropped): always the first `settled`
    /// accepted. Lags `departed` while the task handles one.
    settled: u64,
    /// Whether the task holds a taken event it has not finished handling.
    busy: bool,
}

impl Items {
    /// Marks every departed event done, unless the task still handles one: that one, and
    /// any dropped after it, are done when it finishes.
    fn settle_departed(&mut self) {
        if !self.busy {
            self.settled = self.departed;
        }
    }
}

pub(crate) struct SubscriberQueue {
    items: Mutex<Items>,
    config: QueueConfig,
    /// Free slots, for [`QueuePolicy::Wait`] only.
    room: Option<Semaphore>,
    ready: Notify,
    closed: AtomicBool,
    taken: AtomicU64,
    dropped: AtomicU64,
    /// Wakes [`settle`](Self::settle) callers when `settled` grows.
    settled_changed: Notify,
    /// How many [`settle`](Self::settle) calls wait: with none, the subscriber's task skips
    /// the notification, and with it a lock inside `Notify`, for each event.
    drainers: AtomicUsize,
}

impl SubscriberQueue {
    pub(crate) fn new(config: QueueConfig) -> Self {
        Self {
            items: Mutex::new(Items {
                events: VecDeque::with_capacity(config.capacity.min(1024)),
                accepted: 0,
                departed: 0,
                settled: 0,
                busy: false,
            }),
            config,
            room: (config.policy == QueuePolicy::Wait).then(|| Semaphore::new(config.capacity)),
            ready: Notify::new(),
            closed: AtomicBool::new(false),
            taken: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            settled_changed: Notify::new(),
            drainers: AtomicUsize::new(0),
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
                    let mut items = self.items.lock();
                    items.events.push_back(event);
                    items.accepted += 1;
                    Pushed::Queued
                }
                Err(_closed) => return Pushed::Closed,
            },
            None => {
                // A drop policy never waits for room, so a publisher looping on a full queue
                // would never yield: spend a unit of the task's cooperative budget, which
                // yields to the scheduler once the budget is used up.
                tokio::task::coop::consume_budget().await;
                let mut items = self.items.lock();
                if items.events.len() < self.config.capacity {
                    items.events.push_back(event);
                    items.accepted += 1;
                    Pushed::Queued
                } else if self.config.policy == QueuePolicy::DropOldest {
                    let oldest = items.events.pop_front();
                    items.events.push_back(event);
                    items.accepted += 1;
                    items.departed += 1;
                    items.settle_departed();
                    drop(items); // a payload's drop runs unlocked
                    drop(oldest);
                    self.wake_drainers();
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

    /// The next event, waiting for one; `None` once closed and drained. The caller reports
    /// the end of its handling with [`handled`](Self::handled).
    pub(crate) async fn pop(&self) -> Option<Event> {
        loop {
            // Take the notification before looking, so a push in between is not missed.
            let ready = self.ready.notified();
            let next = {
                let mut items = self.items.lock();
                let next = items.events.pop_front();
                if next.is_some() {
                    items.departed += 1;
                    items.busy = true;
                }
                next
            };
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

    /// The subscriber's task finished handling the event it last took.
    pub(crate) fn handled(&self) {
        {
            let mut items = self.items.lock();
            items.busy = false;
            items.settle_departed();
        }
        self.wake_drainers();
    }

    /// Wakes the drainers, if any, after `settled` grew.
    fn wake_drainers(&self) {
        // A drainer registers before it reads `settled` under the items lock, and this runs
        // after the update under that lock: either it sees the new count, or this sees it.
        if self.drainers.load(Ordering::SeqCst) > 0 {
            self.settled_changed.notify_waiters();
        }
    }

    /// How many events were accepted so far, and how many of them are done.
    pub(crate) fn progress(&self) -> (u64, u64) {
        let items = self.items.lock();
        (items.accepted, items.settled)
    }

    /// Waits until the first `target` events accepted are done: handled, or dropped for
    /// newer ones. Events accepted later are not waited for.
    pub(crate) async fn settle(&self, target: u64) {
        let _drainer = Drainer::register(&self.drainers);
        loop {
            // Listen before looking, so that an update in between is not missed.
            let mut changed = pin!(self.settled_changed.notified());
            changed.as_mut().enable();
            if self.items.lock().settled >= target {
                return;
            }
            changed.await;
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
            len: self.items.lock().events.len(),
            capacity: self.config.capacity,
            taken: self.taken.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
        }
    }
}

/// One waiting [`SubscriberQueue::settle`] call, counted for as long as it lives, however
/// it ends (a drain's deadline drops it).
struct Drainer<'a>(&'a AtomicUsize);

impl<'a> Drainer<'a> {
    fn register(drainers: &'a AtomicUsize) -> Self {
        drainers.fetch_add(1, Ordering::SeqCst);
        Self(drainers)
    }
}

impl Drop for Drainer<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::Future;
    use std::sync::Arc;
    use std::task::Poll;
    use std::time::Duration;

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

    #[tokio::test(start_paused = true)]
    async fn an_event_that_replaces_the_oldest_is_accepted_and_waited_for() {
        let q = SubscriberQueue::new(QueueConfig::new(1, QueuePolicy::DropOldest));
        q.push(ev(1)).await;
        let first = q.pop().await;
        assert_eq!(first.and_then(|e| e.payload::<u32>().copied()), Some(1));
        assert_eq!(q.push(ev(2)).await, Pushed::Queued);
        assert_eq!(q.push(ev(3)).await, Pushed::ReplacedOldest);
        q.handled();
        // 1 handled and 2 dropped are done; 3, accepted last, is not.
        assert_eq!(q.progress(), (3, 2));
        let early = tokio::time::timeout(Duration::from_secs(1), q.settle(3)).await;
        assert!(
            early.is_err(),
            "a settle must wait for the event that replaced the oldest"
        );
        let last = q.pop().await;
        assert_eq!(last.and_then(|e| e.payload::<u32>().copied()), Some(3));
        q.handled();
        assert_eq!(q.progress(), (3, 3));
        q.settle(3).await;
    }

    #[tokio::test(start_paused = true)]
    async fn a_settle_is_counted_as_a_drainer_only_while_it_waits() {
        let q = SubscriberQueue::new(QueueConfig::new(4, QueuePolicy::Wait));
        q.push(ev(1)).await;
        // Given up at its deadline while the event is still queued.
        let given_up = tokio::time::timeout(Duration::from_secs(1), q.settle(1)).await;
        assert!(given_up.is_err());
        assert_eq!(q.drainers.load(Ordering::SeqCst), 0);
        let mut settling = pin!(q.settle(1));
        let first = std::future::poll_fn(|cx| Poll::Ready(settling.as_mut().poll(cx))).await;
        assert!(first.is_pending());
        assert_eq!(
            q.drainers.load(Ordering::SeqCst),
            1,
            "a waiting settle is counted"
        );
        let _ = q.pop().await;
        q.handled();
        settling.await;
        assert_eq!(
            q.drainers.load(Ordering::SeqCst),
            0,
            "a finished settle is not"
        );
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
