//! A guest's `on-event` failing is counted and published as `module.event_failed`, and the
//! module keeps running.

mod common;

use std::sync::{Arc, Mutex};

use common::{Guest, host};
use symphra::prelude::*;
use symphra_wasm::{EVENT_FAILED, Manifest, WasmModule};

/// A guest that subscribes to `job.*` and fails every event whose payload is not `{}`.
fn picky_guest() -> Vec<u8> {
    let mut g = Guest::new();
    let sub = g.subscribe("job.*");
    let fail = g.fail("cannot handle this job");
    // Parameters of on-event: topic pointer, topic length, payload pointer, payload length.
    let on_event = format!("(if (i32.ne (local.get 3) (i32.const 2)) (then {fail}))");
    g.hook("start", sub).hook("on-event", on_event).component()
}

#[tokio::test]
async fn failed_on_event_is_counted_and_published() {
    let manifest = Manifest::parse(
        "name = \"picky\"\nversion = \"1.0.0\"\n[capabilities]\nsubscribe = [\"job.*\"]\n",
        "test/module.toml",
    )
    .unwrap();
    let module: WasmModule = host()
        .load_bytes("test/module.wasm".as_ref(), &picky_guest(), manifest)
        .unwrap();
    let manager = ModuleManager::builder()
        .module(module.clone())
        .build()
        .unwrap();
    let failures = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&failures);
    let _sub = manager
        .bus()
        .subscribe(EVENT_FAILED, move |e: &symphra::bus::Event| {
            sink.lock().unwrap().push(e.to_json().unwrap());
        })
        .unwrap();
    manager.start_all().await.unwrap();

    let bus = manager.bus();
    let job = |payload| symphra::bus::Event::json("job.run", payload).unwrap();
    bus.publish_event(job(serde_json::json!({}))).await;
    bus.publish_event(job(serde_json::json!({ "n": 1 }))).await;
    bus.publish_event(job(serde_json::json!({}))).await;

    assert_eq!(module.event_failures(), 1);
    assert_eq!(
        *failures.lock().unwrap(),
        [serde_json::json!({
            "module": "picky",
            "topic": "job.run",
            "error": "cannot handle this job",
        })]
    );
    // An error returned by on-event leaves the module running.
    assert_eq!(
        manager.module("picky").unwrap().state(),
        ModuleState::Started
    );
    manager.stop_all().await.unwrap();
}
