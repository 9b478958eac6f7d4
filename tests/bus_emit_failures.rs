//! A handler that fails on an emitted (fire-and-forget) event is announced on
//! `bus.handler_failed`, as for a published one: `emit` returns no report to say so.

use std::time::Duration;

use symphra::bus::{Event, EventBus, HANDLER_FAILED, HandlerFailure};
use tokio::sync::mpsc;

#[tokio::test(start_paused = true)]
async fn a_handler_failing_on_an_emitted_event_is_announced() {
    let bus = EventBus::new();
    let _failing = bus
        .subscribe("job.run", |_: &Event| -> Result<(), std::io::Error> {
            Err(std::io::Error::other("disk full"))
        })
        .unwrap();
    let (notices_tx, mut notices) = mpsc::unbounded_channel();
    let _watcher = bus
        .subscribe(HANDLER_FAILED, move |event: &Event| {
            let failure = event.payload::<HandlerFailure>().cloned();
            let _ = notices_tx.send((failure, event.source().map(str::to_owned)));
        })
        .unwrap();

    bus.emit_event(Event::new("job.run", ()).unwrap().with_source("scheduler"))
        .unwrap();
    // On the paused clock an idle runtime jumps to the deadline: a missing notice fails
    // the test at once instead of hanging it.
    let (failure, source) = tokio::time::timeout(Duration::from_secs(60), notices.recv())
        .await
        .expect("the failure is announced")
        .expect("the watcher is subscribed");
    let failure = failure.expect("the notice carries the failure");
    assert_eq!(&*failure.topic, "job.run");
    assert_eq!(failure.error.to_string(), "disk full");
    assert_eq!(
        source.as_deref(),
        Some("scheduler"),
        "the notice keeps the source"
    );
    assert_eq!(bus.stats().handler_failures, 1);
}
