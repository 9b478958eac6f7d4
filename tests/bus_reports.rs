//! What a delivery report and a batch report say about the time a publish took.

use std::time::{Duration, SystemTime};

use symphra::bus::{Event, EventBus};

/// How long the handler below holds the publisher, on the wall clock the reports use.
const HELD: Duration = Duration::from_millis(2);

/// Returns once the wall clock has moved `HELD` past `from`, the moment the handler was
/// called: the report, begun before that, must cover that much. A bounded wait on the clock
/// the report reads, not a sleep whose length is hoped for.
fn hold_past(from: SystemTime) {
    for _ in 0..100_000_000_u64 {
        if from.elapsed().is_ok_and(|passed| passed >= HELD) {
            return;
        }
        std::hint::spin_loop();
    }
    panic!("the wall clock did not move {HELD:?}");
}

#[tokio::test]
async fn a_report_counts_the_time_its_handlers_took() {
    let bus = EventBus::new();
    let _sub = bus
        .subscribe("t.slow", |_: &Event| hold_past(SystemTime::now()))
        .unwrap();

    let report = bus.publish("t.slow", ()).await.unwrap();
    assert!(report.elapsed() >= HELD, "{:?}", report.elapsed());

    let built = Event::new("t.slow", ()).unwrap();
    let report = bus.publish_event(built).await;
    assert!(report.elapsed() >= HELD, "{:?}", report.elapsed());
}

#[tokio::test]
async fn a_batch_report_counts_the_time_of_the_whole_batch() {
    let bus = EventBus::new();
    let _sub = bus
        .subscribe("t.slow", |_: &Event| hold_past(SystemTime::now()))
        .unwrap();
    let events = [(), ()].map(|()| Event::new("t.slow", ()).unwrap());
    let batch = bus.publish_batch(events).await;
    assert_eq!(batch.reports().len(), 2);
    assert!(batch.elapsed() >= 2 * HELD, "{:?}", batch.elapsed());
}
