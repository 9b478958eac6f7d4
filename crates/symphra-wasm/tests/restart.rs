//! A trap in a guest's `on-event` fails the running module, like a failing task of a
//! native one: supervision stops it and applies the `[restart]` policy of its manifest.
//! Real time (the host's epoch ticker runs on its own clock) with a 10 ms backoff; every
//! wait is on an event or on `supervision_idle`, never a sleep.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{Guest, host};
use symphra::bus::{Event, Subscription};
use symphra::manager::{RESTARTED, RestartEvent};
use symphra::prelude::*;
use symphra_wasm::{Manifest, WasmModule};

/// A guest that subscribes to `job.*` at start, traps on `job.crash` and answers every
/// other job with `seen.job`.
fn fragile_guest() -> Vec<u8> {
    let mut g = Guest::new();
    let sub = g.subscribe("job.*");
    let seen = g.publish("seen.job", "{}");
    // Parameters of on-event: topic pointer, topic length, payload pointer, payload
    // length; of the topics used here only `job.crash` has 9 bytes.
    let on_event = format!("(if (i32.eq (local.get 1) (i32.const 9)) (then unreachable)) {seen}");
    g.hook("start", sub).hook("on-event", on_event).component()
}

/// A manager running the fragile guest with the `[restart]` table `restart`.
fn manager(restart: &str) -> ModuleManager {
    let text = format!(
        "name = \"fragile\"\nversion = \"1.0.0\"\n[capabilities]\nsubscribe = [\"job.*\"]\n\
         publish = [\"seen.*\"]\n[restart]\n{restart}"
    );
    let manifest = Manifest::parse(&text, "fragile/module.toml").unwrap();
    let module: WasmModule = host()
        .load_bytes("fragile/module.wasm".as_ref(), &fragile_guest(), manifest)
        .unwrap();
    ModuleManager::builder().module(module).build().unwrap()
}

/// Counts the events on `topic`.
fn count(manager: &ModuleManager, topic: &str) -> (Arc<AtomicUsize>, Subscription) {
    let counter = Arc::new(AtomicUsize::new(0));
    let sink = Arc::clone(&counter);
    let subscription = manager
        .bus()
        .subscribe(topic, move |_: &Event| {
            sink.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    (counter, subscription)
}

async fn publish(manager: &ModuleManager, topic: &str) {
    let event = Event::json(topic, serde_json::json!({})).unwrap();
    manager.bus().publish_event(event).await;
}

#[tokio::test]
async fn a_trap_in_on_event_fails_the_module_and_on_failure_restarts_it_anew() {
    let manager = manager("policy = \"on-failure\"\njitter = false\nbackoff = \"10ms\"\n");
    let (seen, _seen) = count(&manager, "seen.job");
    let restarts = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&restarts);
    let _restarted = manager
        .bus()
        .subscribe(RESTARTED, move |event: &Event| {
            if let Some(restart) = event.payload::<RestartEvent>() {
                sink.lock().unwrap().push(restart.clone());
            }
        })
        .unwrap();
    manager.start_all().await.unwrap();
    let fragile = manager.module("fragile").unwrap();

    publish(&manager, "job.ok").await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    // The publish waits for the delivery (run in a task of its own): the module has
    // failed when it returns, and supervision may already have stopped it.
    publish(&manager, "job.crash").await;
    assert!(
        matches!(fragile.state(), ModuleState::Failed | ModuleState::Stopped),
        "{:?}",
        fragile.state()
    );

    manager.supervision_idle().await.unwrap();
    assert_eq!(fragile.state(), ModuleState::Started);
    assert_eq!(fragile.stopped_because(), None);
    let restarts = restarts.lock().unwrap().clone();
    assert_eq!(restarts.len(), 1, "{restarts:?}");
    assert_eq!((restarts[0].attempt, restarts[0].wait_ms), (1, 10));

    // A fresh instance, subscribed again by its start: it handles the next job.
    publish(&manager, "job.ok").await;
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    manager.stop_all().await.unwrap();
}

#[tokio::test]
async fn with_policy_never_a_trapped_module_stays_down_and_says_why() {
    let manager = manager("policy = \"never\"\n");
    let (seen, _seen) = count(&manager, "seen.job");
    let (restarted, _restarted) = count(&manager, RESTARTED);
    manager.start_all().await.unwrap();
    let fragile = manager.module("fragile").unwrap();

    publish(&manager, "job.crash").await;
    assert!(
        matches!(fragile.state(), ModuleState::Failed | ModuleState::Stopped),
        "{:?}",
        fragile.state()
    );
    manager.supervision_idle().await.unwrap();

    // Stopped (its stop had no instance to run, and nothing to release), not restarted.
    assert_eq!(fragile.state(), ModuleState::Stopped);
    let why = fragile.stopped_because().unwrap_or_default();
    assert!(why.starts_with("it failed:"), "{why}");
    assert!(why.contains("trapped in `on-event`"), "{why}");
    assert_eq!(restarted.load(Ordering::SeqCst), 0);
    publish(&manager, "job.ok").await;
    assert_eq!(seen.load(Ordering::SeqCst), 0);

    // An operator's start brings it back with a fresh instance.
    manager.start("fragile").await.unwrap();
    publish(&manager, "job.ok").await;
    assert_eq!(seen.load(Ordering::SeqCst), 1);
    manager.stop_all().await.unwrap();
}
