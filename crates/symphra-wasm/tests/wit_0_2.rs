//! `symphra:module@0.2.0`: a guest that signals readiness, beats a watchdog, answers health
//! checks and is told each event's source; 0.1 guests keep loading next to it (here the
//! `kicker`; the C guest of `c_guest.rs` is built against 0.1 too). Issue 16, item 8, and
//! issue 19, item 13.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Guest, host, v2};
use serde_json::json;
use symphra::bus::Event;
use symphra::health::Health;
use symphra::prelude::*;
use symphra_wasm::{EVENT_FAILED, LoadError, Manifest, WasmModule};

const PROBE: &str = r#"
name = "probe"
version = "1.0.0"
[capabilities]
publish = ["seen", "*.started"]
subscribe = ["cmd.*"]
[health]
ready = "signal"
interval = "1s"
watchdog = "5s"
"#;

/// The events published on a pattern, in order.
struct EventRecorder {
    events: Arc<Mutex<Vec<Event>>>,
    _subscription: symphra::bus::Subscription,
}

impl EventRecorder {
    fn new(bus: &symphra::bus::EventBus, pattern: &str) -> Result<Self, symphra::bus::BusError> {
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&events);
        let subscription = bus.subscribe(pattern, move |e: &Event| {
            sink.lock().unwrap().push(e.clone());
        })?;
        Ok(Self {
            events,
            _subscription: subscription,
        })
    }

    fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

fn probe(manifest: &str, health: bool) -> Result<WasmModule, LoadError> {
    let manifest = Manifest::parse(manifest, "probe/module.toml")?;
    host().load_bytes(
        "probe/module.wasm".as_ref(),
        &v2::component(health),
        manifest,
    )
}

async fn send(manager: &ModuleManager, topic: &str) {
    manager
        .bus()
        .publish_event(Event::json(topic, json!({})).unwrap())
        .await;
}

fn health_of(manager: &ModuleManager) -> (bool, Option<Health>) {
    let snapshot = manager.health();
    let probe = snapshot.module("probe").unwrap();
    (probe.ready, probe.health.clone())
}

#[tokio::test(start_paused = true)]
async fn a_0_2_guest_signals_ready_and_answers_health_checks_on_schedule() {
    let module = probe(PROBE, true).unwrap();
    assert_eq!(module.wit_version(), "0.2");
    assert!(module.exports_health());
    let manager = ModuleManager::builder().module(module).build().unwrap();
    manager.start_all().await.unwrap();
    assert!(!health_of(&manager).0, "not ready before the guest says so");

    send(&manager, "cmd.ready").await;
    assert!(
        health_of(&manager).0,
        "ready once the guest called host.ready"
    );

    // The first check runs at once (no start delay), the next after each interval.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    assert_eq!(health_of(&manager).1, Some(Health::Healthy));

    send(&manager, "cmd.degrade").await;
    send(&manager, "cmd.heartbeat").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ready, health) = health_of(&manager);
    assert_eq!(health, Some(Health::degraded("cache cold")));
    assert!(ready, "degraded still serves");

    send(&manager, "cmd.unhealthy").await;
    send(&manager, "cmd.heartbeat").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ready, health) = health_of(&manager);
    assert_eq!(health, Some(Health::unhealthy("backend down")));
    assert!(!ready, "unhealthy is not ready");
    manager.stop_all().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_0_2_guest_that_stops_beating_fails_by_its_watchdog() {
    let manager = ModuleManager::builder()
        .module(probe(PROBE, true).unwrap())
        .build()
        .unwrap();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    manager.start_all().await.unwrap();
    // Beats at 3 s and 6 s, within the 5 s period; then none: the watchdog fires at 11 s.
    for _ in 0..2 {
        tokio::time::sleep(Duration::from_secs(3)).await;
        send(&manager, "cmd.heartbeat").await;
    }
    tokio::time::sleep(Duration::from_millis(4_800)).await;
    assert!(
        failed.events().is_empty(),
        "beats within the period keep it running"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    manager.supervision_idle().await.unwrap();
    assert_eq!(failed.events().len(), 1);
    let snapshot = manager.health();
    let failure = snapshot.module("probe").unwrap().last_failure.clone();
    assert!(
        failure.as_deref().unwrap_or_default().contains("watchdog"),
        "{failure:?}"
    );
}

#[tokio::test]
async fn item_13_on_event_receives_the_source_of_the_event() {
    // A 0.1 guest publishes at start; the 0.2 guest is told who did.
    let mut kicker = Guest::new();
    let kick = kicker.publish("cmd.who", "{}");
    let kicker = kicker.hook("start", kick).component();
    let kicker_manifest = Manifest::parse(
        "name = \"kicker\"\nversion = \"1.0.0\"\n[dependencies]\nprobe = \"*\"\n[capabilities]\npublish = [\"cmd.who\"]\n",
        "kicker/module.toml",
    )
    .unwrap();
    let kicker = host()
        .load_bytes("kicker/module.wasm".as_ref(), &kicker, kicker_manifest)
        .unwrap();
    assert_eq!(kicker.wit_version(), "0.1");
    let manager = ModuleManager::builder()
        .module(probe(PROBE.replace("ready = \"signal\"", "").as_str(), true).unwrap())
        .module(kicker)
        .build()
        .unwrap();
    let seen = EventRecorder::new(manager.bus(), "seen").unwrap();
    manager.start_all().await.unwrap();
    // And an event the application publishes itself has no source.
    send(&manager, "cmd.who").await;
    let sources: Vec<serde_json::Value> =
        seen.events().iter().map(|e| e.to_json().unwrap()).collect();
    assert_eq!(sources, vec![json!("kicker"), json!(null)]);
    assert_eq!(seen.events()[0].source(), Some("probe"));
    manager.stop_all().await.unwrap();
}

#[tokio::test]
async fn item_13_a_guest_forging_module_started_is_refused_at_run_time() {
    // `*.started` is granted (a pattern, not a reserved root, so the manifest passes);
    // the host still refuses `module.started`.
    let module = probe(PROBE, true).unwrap();
    let manager = ModuleManager::builder()
        .module(module.clone())
        .build()
        .unwrap();
    let started = EventRecorder::new(manager.bus(), "module.started").unwrap();
    let failures = EventRecorder::new(manager.bus(), EVENT_FAILED).unwrap();
    manager.start_all().await.unwrap();
    let genuine = started.events().len();
    assert_eq!(genuine, 1, "the runtime's own module.started for probe");
    send(&manager, "cmd.forge").await;
    assert_eq!(
        started.events().len(),
        genuine,
        "the forged event never reached the bus"
    );
    assert_eq!(module.event_failures(), 1);
    let failure = failures.events()[0].to_json().unwrap();
    let error = failure["error"].as_str().unwrap();
    assert!(
        error.contains("reserved for the runtime") && error.contains("module.started"),
        "{error}"
    );
    manager.stop_all().await.unwrap();
}

#[test]
fn item_13_a_manifest_granting_publish_on_runtime_topics_is_refused() {
    for topic in ["module.started", "module.>", "bus.handler_failed"] {
        let text = format!(
            "name = \"forger\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"{topic}\"]\n"
        );
        let error = Manifest::parse(&text, "forger/module.toml").unwrap_err();
        assert_eq!(
            error.kind,
            symphra_wasm::ManifestErrorKind::Reserved,
            "{error}"
        );
    }
}

#[test]
fn what_the_health_table_declares_needs_a_0_2_component() {
    // A 0.1 component cannot call ready or heartbeat, nor export health.
    let v1 = Guest::new().component();
    for (table, feature) in [
        ("ready = \"signal\"", "ready"),
        ("watchdog = \"5s\"", "watchdog"),
        ("interval = \"5s\"", "interval"),
    ] {
        let text = format!("name = \"old\"\nversion = \"1.0.0\"\n[health]\n{table}\n");
        let manifest = Manifest::parse(&text, "old/module.toml").unwrap();
        let error = host()
            .load_bytes("old/module.wasm".as_ref(), &v1, manifest)
            .unwrap_err();
        assert!(matches!(error, LoadError::WitTooOld { .. }), "{error}");
        assert!(error.to_string().contains(feature), "{error}");
    }
    // A 0.2 component without the health export: fine without a check, refused with one.
    let plain = PROBE.replace("interval = \"1s\"\n", "");
    assert!(!probe(&plain, false).unwrap().exports_health());
    let error = probe(PROBE, false).unwrap_err();
    assert!(matches!(error, LoadError::NoHealthExport { .. }), "{error}");

    // A 0.2 component that never imports host.ready would never be ready; one that never
    // imports host.heartbeat would always miss its watchdog.
    for (table, function) in [
        ("ready = \"signal\"", "ready"),
        ("watchdog = \"5s\"", "heartbeat"),
    ] {
        let text = format!("name = \"silent\"\nversion = \"1.0.0\"\n[health]\n{table}\n");
        let manifest = Manifest::parse(&text, "silent/module.toml").unwrap();
        let error = host()
            .load_bytes("silent/module.wasm".as_ref(), &v2::silent(), manifest)
            .unwrap_err();
        assert!(
            matches!(error, LoadError::MissingHostImport { function: f, .. } if f == function),
            "{error}"
        );
    }
    let manifest = Manifest::parse(
        "name = \"silent\"\nversion = \"1.0.0\"\n",
        "silent/module.toml",
    )
    .unwrap();
    let silent = host()
        .load_bytes("silent/module.wasm".as_ref(), &v2::silent(), manifest)
        .unwrap();
    assert_eq!(silent.wit_version(), "0.2");
}
