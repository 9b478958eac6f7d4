//! A publisher waiting for room in a full queue when its subscription ends: the event is
//! not counted as delivered to that subscriber, in the report or in the bus's counters.

use std::sync::Arc;

use symphra::bus::{Event, EventBus, QueueConfig, QueuePolicy, SubscribeOptions};
use tokio::sync::{Semaphore, mpsc};

#[tokio::test]
async fn an_event_waiting_for_room_when_the_subscription_ends_is_not_counted_as_matched() {
    let bus = EventBus::new();
    let gate = Arc::new(Semaphore::new(0));
    let (started_tx, mut started) = mpsc::unbounded_channel();
    let handler_gate = Arc::clone(&gate);
    let sub = bus
        .subscribe_async_with(
            "work",
            SubscribeOptions::new().queue(QueueConfig::new(1, QueuePolicy::Wait)),
            move |_: Event| {
                let (gate, started_tx) = (Arc::clone(&handler_gate), started_tx.clone());
                async move {
                    let _ = started_tx.send(());
                    // Holds the event until the test ends: the queue behind it stays full.
                    let _ = gate.acquire().await;
                }
            },
        )
        .unwrap();

    // The handler takes the first event and holds it; the second fills the queue of one.
    assert_eq!(bus.publish("work", 1_u32).await.unwrap().queued(), 1);
    started.recv().await.unwrap();
    assert_eq!(bus.publish("work", 2_u32).await.unwrap().queued(), 1);

    let publisher = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish("work", 3_u32).await }
    });
    // On this single-threaded runtime each yield runs the publisher until it waits.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(!publisher.is_finished(), "the publisher waits for room");
    assert!(sub.unsubscribe());

    let report = publisher.await.unwrap().unwrap();
    assert_eq!(
        (report.matched(), report.queued(), report.dropped()),
        (0, 0, 0),
        "{report:?}"
    );
    assert_eq!(bus.stats().delivered, 2, "only the two queued events");
    assert_eq!(bus.stats().published, 3);
}
