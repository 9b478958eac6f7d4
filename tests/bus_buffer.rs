//! What an event buffer holds, and what becomes of it when the buffer is dropped.

use std::time::Duration;

use symphra::bus::{BufferConfig, Event, EventBus};
use tokio::sync::mpsc;

/// Bounds a wait for a delivery on the paused clock, so that a lost event fails the test
/// instead of hanging it.
const DELIVERY_LIMIT: Duration = Duration::from_secs(5);

#[tokio::test(start_paused = true)]
async fn a_dropped_buffer_emits_the_events_it_still_holds() {
    let bus = EventBus::new();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _sub = bus
        .subscribe("metric.>", move |event: &Event| {
            let _ = tx.send(event.payload::<u32>().copied());
        })
        .unwrap();
    let buffer = bus.buffer(BufferConfig::new(10)).unwrap();
    assert!(buffer.is_empty());
    buffer.publish("metric.a", 1_u32).await.unwrap();
    buffer.publish("metric.b", 2_u32).await.unwrap();
    assert!(!buffer.is_empty());
    assert_eq!(buffer.len(), 2);
    assert!(rx.try_recv().is_err(), "held, not delivered");

    drop(buffer);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let next = tokio::time::timeout(DELIVERY_LIMIT, rx.recv()).await;
        seen.push(next.ok().flatten().flatten());
    }
    assert_eq!(seen, [Some(1), Some(2)]);
}

#[tokio::test(start_paused = true)]
async fn a_buffer_holds_until_it_reaches_its_size_and_flushes_exactly_then() {
    let bus = EventBus::new();
    let buffer = bus.buffer(BufferConfig::new(2)).unwrap();
    assert!(
        buffer
            .push(Event::new("t.a", 1_u8).unwrap())
            .await
            .is_none()
    );
    assert_eq!(buffer.len(), 1);
    let report = buffer.push(Event::new("t.a", 2_u8).unwrap()).await;
    assert_eq!(report.map(|r| r.reports().len()), Some(2));
    assert!(buffer.is_empty());
    assert_eq!(
        buffer.flush().await.reports().len(),
        0,
        "nothing left to flush"
    );
}
