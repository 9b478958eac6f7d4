//! The delivery protocol of [`Inbox`], without a guest: items are numbers, the "instance"
//! is a list recording what it received.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::{Inbox, InboxLimits, Recipient};

/// Records every item in the list the lock guards, yielding first as a guest call would.
struct Record;

impl Recipient for Record {
    type Item = u64;
    type Target = Vec<u64>;

    async fn deliver(&self, target: &mut Vec<u64>, item: u64) {
        tokio::task::yield_now().await;
        target.push(item);
    }
}

fn pending(inbox: &Inbox<u64>) -> usize {
    inbox.pending.load(Ordering::SeqCst)
}

#[tokio::test]
async fn a_free_lock_delivers_at_once() {
    let inbox = Inbox::new(InboxLimits::UNBOUNDED);
    let lock = tokio::sync::Mutex::new(Vec::new());
    inbox.push(1, 1);
    inbox.drain(&lock, &Record).await;
    assert_eq!(*lock.lock().await, [1]);
    assert_eq!(pending(&inbox), 0);
}

#[tokio::test]
async fn a_taken_lock_leaves_delivery_to_its_holder() {
    let inbox = Inbox::new(InboxLimits::UNBOUNDED);
    let lock = tokio::sync::Mutex::new(Vec::new());
    let guard = lock.lock().await;
    inbox.push(1, 1);
    inbox.push(2, 1);
    inbox.drain(&lock, &Record).await;
    assert_eq!(
        pending(&inbox),
        2,
        "a producer must not wait for the holder"
    );
    drop(guard);
    inbox.drain_after_release(&lock, &Record).await;
    assert_eq!(*lock.lock().await, [1, 2], "in the order queued");
    assert_eq!(pending(&inbox), 0);
}

#[tokio::test]
async fn clear_forgets_what_was_queued() {
    let inbox = Inbox::new(InboxLimits::UNBOUNDED);
    let lock = tokio::sync::Mutex::new(Vec::new());
    inbox.push(1, 1);
    inbox.push(2, 1);
    inbox.clear();
    assert_eq!(pending(&inbox), 0);
    inbox.drain(&lock, &Record).await;
    assert!(lock.lock().await.is_empty());
}

/// Producers on several threads push while a holder keeps taking and releasing the lock
/// (and queues items of its own while holding it, as a hook that publishes to its own
/// module does): every item is delivered exactly once and none is left queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_item_is_delivered_once_under_contention() {
    const PRODUCERS: u64 = 4;
    const ITEMS: u64 = 500;
    const HOLDS: u64 = 500;
    let inbox = Arc::new(Inbox::new(InboxLimits::UNBOUNDED));
    let lock = Arc::new(tokio::sync::Mutex::new(Vec::new()));

    let holder = {
        let (inbox, lock) = (Arc::clone(&inbox), Arc::clone(&lock));
        tokio::spawn(async move {
            for i in 0..HOLDS {
                {
                    let _guard = lock.lock().await;
                    tokio::task::yield_now().await;
                    inbox.push(PRODUCERS * ITEMS + i, 1);
                }
                inbox.drain_after_release(&lock, &Record).await;
            }
        })
    };
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (inbox, lock) = (Arc::clone(&inbox), Arc::clone(&lock));
            tokio::spawn(async move {
                for i in 0..ITEMS {
                    inbox.push(p * ITEMS + i, 1);
                    inbox.drain(&lock, &Record).await;
                    if i % 7 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    holder.await.unwrap();
    for producer in producers {
        producer.await.unwrap();
    }

    assert_eq!(
        pending(&inbox),
        0,
        "an item was left queued with nobody to deliver it"
    );
    let mut delivered = lock.lock().await.clone();
    delivered.sort_unstable();
    let expected: Vec<u64> = (0..PRODUCERS * ITEMS + HOLDS).collect();
    assert_eq!(delivered, expected, "each item exactly once");
}

/// The bound holds by count and by bytes, and each policy drops what it says, counted.
#[test]
fn the_bound_holds_and_drops_are_counted() {
    use crate::manifest::InboxPolicy;
    let limits = |policy| InboxLimits {
        items: 3,
        bytes: 10,
        policy,
    };
    let inbox = Inbox::new(limits(InboxPolicy::DropNewest));
    for i in 0..5 {
        inbox.push(i, 4);
    }
    let stats = inbox.stats();
    assert_eq!((stats.queued, stats.queued_bytes), (2, 8));
    assert_eq!(stats.dropped_full, 3);
    assert!(stats.peak_bytes <= 10);
    assert_eq!(inbox.pop(), Some(0), "the oldest are kept");
    assert!(!inbox.push(9, 11), "larger than the whole bound");

    let inbox = Inbox::new(limits(InboxPolicy::DropOldest));
    for i in 0..5 {
        inbox.push(i, 1);
    }
    assert_eq!(inbox.stats().dropped_full, 2);
    assert_eq!(inbox.pop(), Some(2), "the newest are kept");
    inbox.clear();
    assert_eq!(inbox.stats().dropped_stopped, 2);
}
