//! Lifecycle events along routes of sync handlers are delivered on the spot by a loop of
//! their own (`BusInner::publish_inline`); with an async subscriber on the route they go
//! the general way. Both must treat every kind of sync subscription alike: `once`, a
//! condition that holds or not, a condition that panics, a handler that fails; and count
//! alike in the bus's counters.

use std::sync::{Arc, Mutex};

use symphra::bus::{Event, EventBus, HANDLER_FAILED, SubscribeOptions};
use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::testing::{CallLog, Probe};

/// What the sync subscribers saw, in order, as `who topic module` lines.
type Log = Arc<Mutex<Vec<String>>>;

fn line(who: &str, event: &Event) -> String {
    let module = event
        .payload::<ModuleEvent>()
        .map_or("-", |change| &*change.module);
    format!("{who} {} {module}", event.topic())
}

/// Subscribes one sync handler of each kind on `module.*`, all logging into `log`, and one
/// on failure notices.
fn subscribe_all(bus: &EventBus, log: &Log) {
    let sink = Arc::clone(log);
    bus.subscribe("module.*", move |event: &Event| {
        sink.lock().unwrap().push(line("all", event));
    })
    .unwrap()
    .detach();
    let sink = Arc::clone(log);
    bus.subscribe_with(
        "module.*",
        SubscribeOptions::new().once(),
        move |event: &Event| {
            sink.lock().unwrap().push(line("once", event));
        },
    )
    .unwrap()
    .detach();
    let sink = Arc::clone(log);
    let started_only = SubscribeOptions::new().condition(|e| e.topic() == "module.started");
    bus.subscribe_with("module.*", started_only, move |event: &Event| {
        sink.lock().unwrap().push(line("started-only", event));
    })
    .unwrap()
    .detach();
    let sink = Arc::clone(log);
    let panicky = SubscribeOptions::new().condition(|e| {
        assert_ne!(e.topic(), "module.stopping", "condition refuses");
        true
    });
    bus.subscribe_with("module.*", panicky, move |event: &Event| {
        sink.lock().unwrap().push(line("panicky", event));
    })
    .unwrap()
    .detach();
    bus.subscribe("module.*", |event: &Event| {
        if event.topic() == "module.installed" {
            Err("no room")
        } else {
            Ok(())
        }
    })
    .unwrap()
    .detach();
    let sink = Arc::clone(log);
    bus.subscribe(HANDLER_FAILED, move |event: &Event| {
        let failure = event.to_json().unwrap();
        sink.lock().unwrap().push(format!(
            "failure {} {} {}",
            failure["topic"], failure["pattern"], failure["panicked"]
        ));
    })
    .unwrap()
    .detach();
}

/// Starts and stops `a <- b` with the sync subscribers, and with `also_async` an async
/// subscriber on `module.*` too, which sends every event the general way. Returns the log
/// and the bus's counters' growth: published, delivered (less the async subscriber's
/// deliveries), unconsumed, handler failures; and the subscriptions left (less the async
/// one), which a used `once` subscription is not among.
async fn run(also_async: bool) -> (Vec<String>, [u64; 5]) {
    let calls = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("a", &calls))
        .module(Probe::new("b", &calls).depends_on("a"))
        .build()
        .unwrap();
    let bus = manager.bus();
    let log = Log::default();
    subscribe_all(bus, &log);
    let async_deliveries = Arc::new(std::sync::atomic::AtomicU64::new(0));
    if also_async {
        let count = Arc::clone(&async_deliveries);
        bus.subscribe_async("module.*", move |_event: Event| {
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async {}
        })
        .unwrap()
        .detach();
    }
    let before = bus.stats();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    let after = bus.stats();
    let async_deliveries = async_deliveries.load(std::sync::atomic::Ordering::Relaxed);
    let log = std::mem::take(&mut *log.lock().unwrap());
    let counters = [
        after.published - before.published,
        after.delivered - before.delivered - async_deliveries,
        after.unconsumed - before.unconsumed,
        after.handler_failures - before.handler_failures,
        (after.subscriptions - usize::from(also_async)) as u64,
    ];
    (log, counters)
}

#[tokio::test]
async fn on_the_spot_delivery_treats_every_subscription_as_the_general_path_does() {
    let (inline, inline_counters) = run(false).await;
    let (general, general_counters) = run(true).await;
    assert_eq!(inline, general);
    assert_eq!(inline_counters, general_counters);

    // What the subscriptions did, so that both paths cannot agree on doing nothing.
    let count = |prefix: &str| inline.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("once "), 1, "{inline:#?}");
    assert_eq!(inline[1], "once module.loaded a");
    assert_eq!(count("started-only module.started"), 2);
    assert_eq!(count("started-only "), 2);
    // The panicking condition fails each `module.stopping` delivery, once per module.
    assert_eq!(
        count("failure \"module.stopping\" \"module.*\" true"),
        2,
        "{inline:#?}"
    );
    assert_eq!(count("failure \"module.installed\" \"module.*\" false"), 2);
    assert_eq!(count("panicky module.stopping"), 0);
    // Two modules, 13 lifecycle events each, each published once (failure notices are
    // not counted as published).
    assert_eq!(inline_counters[0], 2 * 13, "{inline_counters:?}");
    assert_eq!(inline_counters[3], 4);
    assert_eq!(
        inline_counters[4], 5,
        "six subscriptions, the `once` one used"
    );
}
