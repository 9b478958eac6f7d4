//! The bus's counters (`EventBus::stats`, `unconsumed`) count every event and delivery
//! exactly, whichever path published it: `publish`, `publish_event`, a batch, `emit`, or
//! the manager's lifecycle events.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use symphra::bus::{BusStats, Event, EventBus, SubscribeOptions};
use symphra::prelude::*;
use symphra::testing::{CallLog, Probe};

/// The counters that count events, as one comparable tuple:
/// (published, delivered, unconsumed, handler_failures).
fn counts(stats: BusStats) -> (u64, u64, u64, u64) {
    (
        stats.published,
        stats.delivered,
        stats.unconsumed,
        stats.handler_failures,
    )
}

#[tokio::test]
async fn lifecycle_events_that_someone_hears_are_counted_as_published_and_delivered() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let heard = Arc::new(AtomicUsize::new(0));
    let sink = Arc::clone(&heard);
    let _started = manager
        .bus()
        .subscribe("module.started", move |_: &Event| {
            sink.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    let before = counts(manager.bus().stats());
    manager.start_all().await.unwrap();
    assert_eq!(heard.load(Ordering::SeqCst), 1);
    let after = counts(manager.bus().stats());
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (1, 1, 0),
        "one lifecycle event published, delivered once, none unconsumed"
    );
}

#[tokio::test]
async fn publishing_counts_events_deliveries_and_the_unheard() {
    let bus = EventBus::new();
    let _a = bus.subscribe("order.*", |_: &Event| {}).unwrap();
    let _b = bus.subscribe("order.created", |_: &Event| {}).unwrap();
    assert_eq!(counts(bus.stats()), (0, 0, 0, 0));

    assert_eq!(bus.publish("order.created", ()).await.unwrap().matched(), 2);
    assert_eq!(counts(bus.stats()), (1, 2, 0, 0));

    // A topic nobody subscribes to: published, delivered to none, unconsumed.
    assert_eq!(bus.publish("user.created", ()).await.unwrap().matched(), 0);
    assert_eq!(counts(bus.stats()), (2, 2, 1, 0));
    assert_eq!(bus.unconsumed(), 1);

    // The same through `publish_event`, which takes the route even when nobody listens.
    let report = bus
        .publish_event(Event::new("user.deleted", ()).unwrap())
        .await;
    assert_eq!(report.matched(), 0);
    assert_eq!(counts(bus.stats()), (3, 2, 2, 0));
}

#[tokio::test]
async fn an_event_skipped_by_a_condition_or_failed_by_a_handler_is_not_unconsumed() {
    let bus = EventBus::new();
    let _never = bus
        .subscribe_with(
            "job.skip",
            SubscribeOptions::new().condition(|_| false),
            |_: &Event| {},
        )
        .unwrap();
    let report = bus.publish("job.skip", ()).await.unwrap();
    assert_eq!((report.matched(), report.skipped()), (0, 1));
    assert_eq!(counts(bus.stats()), (1, 0, 0, 0), "skipped, not unconsumed");

    let _panics = bus
        .subscribe_with(
            "job.check",
            SubscribeOptions::new().condition(|_| panic!("the condition broke")),
            |_: &Event| {},
        )
        .unwrap();
    let report = bus.publish("job.check", ()).await.unwrap();
    assert_eq!((report.matched(), report.failed()), (0, 1));
    assert_eq!(counts(bus.stats()), (2, 0, 0, 1), "failed, not unconsumed");

    let _fails = bus
        .subscribe("job.run", |_: &Event| -> Result<(), std::io::Error> {
            Err(std::io::Error::other("disk full"))
        })
        .unwrap();
    let report = bus.publish("job.run", ()).await.unwrap();
    assert_eq!(
        (report.matched(), report.succeeded(), report.failed()),
        (1, 0, 1)
    );
    assert_eq!(counts(bus.stats()), (3, 1, 0, 2));
}

#[tokio::test]
async fn a_lifecycle_event_its_only_listener_skips_is_published_not_unconsumed() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let _skipping = manager
        .bus()
        .subscribe_with(
            "module.started",
            SubscribeOptions::new().condition(|_| false),
            |_: &Event| {},
        )
        .unwrap();
    let before = counts(manager.bus().stats());
    manager.start_all().await.unwrap();
    let after = counts(manager.bus().stats());
    assert_eq!(
        (after.0 - before.0, after.1 - before.1, after.2 - before.2),
        (1, 0, 0),
        "published once, delivered to nobody, yet heard: skipped is not unconsumed"
    );
}
