//! What a batch report says about the time its publishes took. (A single report's is
//! checked by the unit test `elapsed_covers_the_handlers`.)

use std::time::{Duration, SystemTime};

use symphra::bus::{Event, EventBus};

/// How long the handler below holds the publisher, on the wall clock reports use.
const HELD: Duration = Duration::from_millis(2);

/// Returns once the wall clock has moved `HELD` past `from`, the moment the handler was
/// called: the batch, begun before that, must cover that much per event. A bounded wait on
/// the clock the report reads, not a sleep whose length is hoped for.
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

/// Each report of a batch counts its own event, from the end of the one before: a failure
/// notice announced between two events (its handler holds the publisher `HELD`) is in the
/// batch's time and in neither report's.
#[tokio::test]
async fn each_report_of_a_batch_counts_its_event_and_not_the_announcing_of_failures() {
    let bus = EventBus::new();
    let _fails = bus
        .subscribe("t.fails", |_: &Event| Err::<(), _>("refused"))
        .unwrap();
    let _slow = bus
        .subscribe("t.slow", |_: &Event| hold_past(SystemTime::now()))
        .unwrap();
    let _notices = bus
        .subscribe(symphra::bus::HANDLER_FAILED, |_: &Event| {
            hold_past(SystemTime::now())
        })
        .unwrap();
    let events = ["t.fails", "t.slow"].map(|topic| Event::new(topic, ()).unwrap());
    let batch = bus.publish_batch(events).await;
    let [failed, slow] = batch.reports() else {
        panic!("two reports: {batch:?}");
    };
    assert_eq!((failed.failed(), slow.succeeded()), (1, 1));
    assert!(slow.elapsed() >= HELD, "{:?}", slow.elapsed());
    let reported = failed.elapsed() + slow.elapsed();
    assert!(
        batch.elapsed() >= reported + HELD,
        "the notice's {HELD:?} is the batch's alone: batch {:?}, reports {failed:?} {slow:?}",
        batch.elapsed()
    );
}
