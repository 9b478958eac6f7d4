//! Lifecycle events reach the subscribers of their own manager's bus as they are now,
//! though each thread keeps the routes it published along last for its next publish.

use std::sync::{Arc, Mutex};

use symphra::bus::Event;
use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::testing::{CallLog, Probe};

type Seen = Arc<Mutex<Vec<String>>>;

/// The modules whose `module.started` the bus of `manager` delivers.
fn record_started(manager: &ModuleManager) -> Seen {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    manager
        .bus()
        .subscribe("module.started", move |event: &Event| {
            if let Some(payload) = event.payload::<ModuleEvent>() {
                sink.lock().unwrap().push(payload.module.to_string());
            }
        })
        .unwrap()
        .detach();
    seen
}

fn seen(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().clone()
}

// One thread (the default test runtime): both managers publish from it, in turns.
#[tokio::test]
async fn two_managers_on_one_thread_each_publish_on_their_own_bus() {
    let log = CallLog::default();
    let first = ModuleManager::builder()
        .module(Probe::new("first", &log))
        .build()
        .unwrap();
    let second = ModuleManager::builder()
        .module(Probe::new("second", &log))
        .build()
        .unwrap();
    let on_first = record_started(&first);
    let on_second = record_started(&second);
    assert_eq!(
        first.bus().subscription_changes(),
        second.bus().subscription_changes(),
        "alike buses, so that only the set tells their routes apart"
    );

    for _ in 0..2 {
        first.start_all().await.unwrap();
        second.start_all().await.unwrap();
        first.stop_all().await.unwrap();
        second.stop_all().await.unwrap();
    }
    assert_eq!(seen(&on_first), ["first", "first"]);
    assert_eq!(seen(&on_second), ["second", "second"]);
}

#[tokio::test]
async fn a_subscriber_added_after_events_were_heard_hears_the_next_ones() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let early = record_started(&manager);
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();

    let late = record_started(&manager);
    manager.start_all().await.unwrap();
    assert_eq!(seen(&early), ["cache", "cache"]);
    assert_eq!(
        seen(&late),
        ["cache"],
        "it is on the routes of the next event"
    );
}
