//! The manager publishes every lifecycle transition on the bus, and a module's
//! subscriptions end when it stops.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use symphra::bus::Event;
use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::testing::{CallLog, EventRecorder, Fault, Probe};

type Seen = Arc<Mutex<Vec<(String, ModuleEvent)>>>;

fn record(manager: &ModuleManager, pattern: &str) -> Seen {
    let seen: Seen = Arc::default();
    let sink = Arc::clone(&seen);
    manager
        .bus()
        .subscribe(pattern, move |event: &Event| {
            let payload = event
                .payload::<ModuleEvent>()
                .expect("a ModuleEvent payload")
                .clone();
            sink.lock()
                .unwrap()
                .push((event.topic().to_owned(), payload));
        })
        .unwrap()
        .detach();
    seen
}

fn topics(seen: &Seen, module: &str) -> Vec<String> {
    seen.lock()
        .unwrap()
        .iter()
        .filter(|(_, event)| &*event.module == module)
        .map(|(topic, _)| topic.clone())
        .collect()
}

#[tokio::test]
async fn every_transition_is_published_with_old_and_new_state() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let specific = record(&manager, "module.*");
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    manager.uninstall("cache").await.unwrap();
    assert_eq!(
        topics(&specific, "cache"),
        [
            "module.loaded",
            "module.installed",
            "module.starting",
            "module.started",
            "module.stopping",
            "module.stopped",
            "module.uninstalled",
            // `module.*` matches `module.state_changed` too: one per transition.
        ]
        .iter()
        .flat_map(|topic| [topic.to_string(), "module.state_changed".to_string()])
        .collect::<Vec<_>>()
    );
    let changes: Vec<(ModuleState, ModuleState)> = specific
        .lock()
        .unwrap()
        .iter()
        .filter(|(topic, _)| topic == "module.state_changed")
        .map(|(_, event)| (event.from, event.to))
        .collect();
    assert_eq!(changes[0], (ModuleState::Registered, ModuleState::Loaded));
    assert_eq!(changes[3], (ModuleState::Starting, ModuleState::Started));
    assert_eq!(changes[6], (ModuleState::Stopped, ModuleState::Loaded));
}

#[tokio::test]
async fn a_failure_is_published_with_its_error_and_has_a_json_form() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log).fault(Hook::Start, Fault::Error("disk full".into())))
        .build()
        .unwrap();
    let json = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&json);
    manager
        .bus()
        .subscribe("module.failed", move |event: &Event| {
            sink.lock().unwrap().push(event.to_json().unwrap());
        })
        .unwrap()
        .detach();
    assert!(manager.start_all().await.is_err());
    let json = json.lock().unwrap().clone();
    assert_eq!(
        json,
        [serde_json::json!({
            "module": "database", "from": "starting", "to": "failed", "hook": "start", "error": "disk full"
        })]
    );
}

#[tokio::test]
async fn nothing_is_published_when_nobody_listens() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    // The bus counts every published event that reached nobody: a lifecycle event built
    // and published without a listener would show here.
    let before = manager.bus().unconsumed();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    manager.uninstall("cache").await.unwrap();
    assert_eq!(manager.bus().unconsumed(), before);
    assert_eq!(log.hooks_of("cache").len(), 5, "the hooks did run");
}

#[tokio::test]
async fn only_the_topics_someone_listens_to_are_published() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let started = record(&manager, "module.started");
    let before = manager.bus().unconsumed();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    assert_eq!(topics(&started, "cache"), ["module.started"]);
    let delivered = started.lock().unwrap()[0].1.clone();
    assert_eq!(delivered.from, ModuleState::Starting);
    assert_eq!(delivered.to, ModuleState::Started);
    assert_eq!(delivered.hook, Hook::Start);
    assert_eq!(delivered.error, None);
    assert_eq!(
        manager.bus().unconsumed(),
        before,
        "no other lifecycle topic was published"
    );
}

#[tokio::test]
async fn a_start_heard_on_exactly_its_three_topics_publishes_all_three() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    // The start of a module without a watch publishes its change and `module.ready` in
    // one pass; listening to exactly those topics, and to nothing else, must hear them all.
    let heard = ["module.started", "module.state_changed", "module.ready"]
        .map(|topic| EventRecorder::new(manager.bus(), topic).unwrap());
    manager.start_all().await.unwrap();
    let topics: Vec<Vec<String>> = heard.iter().map(EventRecorder::topics).collect();
    assert_eq!(
        topics,
        [
            vec!["module.started".to_owned()],
            // Loaded, installed, starting, started.
            vec!["module.state_changed".to_owned(); 4],
            vec!["module.ready".to_owned()],
        ]
    );
}

/// Counts `orders.*` events while it runs.
#[derive(Default)]
struct Auditor {
    seen: Arc<AtomicU32>,
}

impl Module for Auditor {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("auditor")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let seen = Arc::clone(&self.seen);
        ctx.subscribe("orders.*", move |_: &Event| {
            seen.fetch_add(1, Ordering::SeqCst);
        })?;
        let report = ctx.publish("audit.ready", ()).await?;
        assert_eq!(report.matched(), 0);
        Ok(())
    }
}

#[tokio::test]
async fn a_modules_subscriptions_are_gone_after_it_stops() {
    let auditor = Auditor::default();
    let seen = Arc::clone(&auditor.seen);
    let manager = ModuleManager::builder().module(auditor).build().unwrap();
    manager.start_all().await.unwrap();
    manager
        .bus()
        .publish("orders.created", 1_u32)
        .await
        .unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    manager.stop_all().await.unwrap();
    let report = manager
        .bus()
        .publish("orders.created", 2_u32)
        .await
        .unwrap();
    assert_eq!(report.matched(), 0);
    assert_eq!(seen.load(Ordering::SeqCst), 1);

    // Started again, it subscribes again.
    manager.start_all().await.unwrap();
    manager.bus().publish("orders.paid", 3_u32).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_lifecycle_handler_cannot_deadlock_the_manager() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .build()
        .unwrap();
    let errors = Arc::new(Mutex::new(Vec::new()));
    let (handle, sink) = (manager.clone(), Arc::clone(&errors));
    manager
        .bus()
        .subscribe_async("module.started", move |_event: Event| {
            let (manager, sink) = (handle.clone(), Arc::clone(&sink));
            async move {
                let error = manager.stop_all().await.unwrap_err();
                sink.lock().unwrap().push(error.to_string());
            }
        })
        .unwrap()
        .detach();
    manager.start_all().await.unwrap();
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].contains("from inside one of its hooks"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn a_subscription_made_after_events_went_unheard_is_heard() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("early", &log))
        .module(Probe::new("late", &log))
        .build()
        .unwrap();
    // Nobody listens yet: the manager remembers that...
    manager.start("early").await.unwrap();
    // ...until the subscriptions change.
    let recorder = EventRecorder::new(manager.bus(), "module.started").unwrap();
    manager.start("late").await.unwrap();
    let events = recorder
        .wait_for_count(1, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        events[0].payload::<ModuleEvent>().map(|e| &*e.module),
        Some("late")
    );
    assert_eq!(
        recorder.events().len(),
        1,
        "early's start went unheard, as it happened before"
    );
}
