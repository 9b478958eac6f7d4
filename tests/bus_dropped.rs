//! What a bus's queued subscribers do when the bus is dropped: handle what they hold, then
//! end, letting their handlers go.

use std::time::Duration;

use symphra::bus::{Event, EventBus, QueueConfig, QueuePolicy, SubscribeOptions};
use tokio::sync::mpsc;

/// Bounds each wait on the paused clock, so that a task that never ends fails the test
/// instead of hanging it.
const LIMIT: Duration = Duration::from_secs(5);

#[tokio::test(start_paused = true)]
async fn a_queued_subscriber_handles_what_it_holds_then_ends_with_its_bus() {
    let bus = EventBus::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    bus.subscribe_with(
        "t.a",
        SubscribeOptions::new().queue(QueueConfig::new(8, QueuePolicy::Wait)),
        move |event: &Event| {
            let _ = tx.send(event.payload::<u32>().copied());
        },
    )
    .unwrap()
    .detach();
    bus.publish("t.a", 1_u32).await.unwrap();
    bus.publish("t.a", 2_u32).await.unwrap();

    drop(bus);
    let mut handled = Vec::new();
    for _ in 0..2 {
        let next = tokio::time::timeout(LIMIT, rx.recv()).await;
        handled.push(next.ok().flatten().flatten());
    }
    assert_eq!(handled, [Some(1), Some(2)]);
    let after = tokio::time::timeout(LIMIT, rx.recv()).await;
    assert!(
        matches!(after, Ok(None)),
        "the subscriber's task ended and dropped its handler: {after:?}"
    );
}
