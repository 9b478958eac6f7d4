//! Lifecycle events reach subscribers the same way whichever path delivers them: on the
//! spot along routes of sync handlers (the fast path), or the general way when a route
//! holds an async handler, or after a handler failed and its failure had to be announced.
//! Same topics, payloads, JSON forms, sources and order, through a start with a failure and
//! a stop with a failure.

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use symphra::bus::{Event, HANDLER_FAILED};
use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, Probe};

/// What a subscriber saw of one event.
#[derive(Debug, PartialEq)]
struct Seen {
    topic: String,
    source: Option<String>,
    payload: Option<ModuleEvent>,
    json: Option<serde_json::Value>,
    /// The event's id, as its rank among the ids recorded in the run.
    id_rank: usize,
    time: SystemTime,
}

/// Who else listens besides the recorder, which decides the path events take.
#[derive(Clone, Copy, Debug)]
enum Listeners {
    /// Sync handlers only: every event takes the fast path.
    Sync,
    /// An async handler on `module.*`: every event takes the general path.
    AsyncOnAll,
    /// An async handler on `module.state_changed` only: a change's first event takes the
    /// fast path, its second the general one.
    AsyncOnStateChanged,
}

/// Starts and stops `a <- b <- c`, where `c` fails to start and `b` fails to stop, with a
/// recorder of every topic and `listeners`; with `failing`, a sync handler on `module.*`
/// also fails on every `module.started`. Returns what the recorder saw, in order.
async fn run(listeners: Listeners, failing: bool) -> Vec<Seen> {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("a", &log))
        .module(
            Probe::new("b", &log)
                .depends_on("a")
                .fault(Hook::Stop, Fault::Error("socket busy".into())),
        )
        .module(
            Probe::new("c", &log)
                .depends_on("b")
                .fault(Hook::Start, Fault::Error("disk full".into())),
        )
        .build()
        .unwrap();
    let bus = manager.bus();

    let recorded: Arc<Mutex<Vec<Event>>> = Arc::default();
    let sink = Arc::clone(&recorded);
    bus.subscribe(">", move |event: &Event| {
        sink.lock().unwrap().push(event.clone());
    })
    .unwrap()
    .detach();
    if failing {
        bus.subscribe("module.*", |event: &Event| {
            if event.topic() == "module.started" {
                Err("refused")
            } else {
                Ok(())
            }
        })
        .unwrap()
        .detach();
    }
    let async_pattern = match listeners {
        Listeners::Sync => None,
        Listeners::AsyncOnAll => Some("module.*"),
        Listeners::AsyncOnStateChanged => Some("module.state_changed"),
    };
    if let Some(pattern) = async_pattern {
        bus.subscribe_async(pattern, |_event: Event| async {})
            .unwrap()
            .detach();
    }

    assert!(manager.start_all().await.is_err(), "c fails to start");
    assert!(manager.stop_all().await.is_err(), "b fails to stop");

    let events = recorded.lock().unwrap().clone();
    let mut ids: Vec<u64> = events.iter().map(|event| event.id().get()).collect();
    ids.sort_unstable();
    let rank = |id: u64| ids.binary_search(&id).unwrap();
    events
        .iter()
        .map(|event| {
            let mut json = event.to_json().ok();
            // A failure notice names the event that failed by id: by its rank here too.
            if let Some(failed) = json.as_mut().and_then(|json| json.get_mut("event_id")) {
                *failed = rank(failed.as_u64().unwrap()).into();
            }
            Seen {
                topic: event.topic().to_owned(),
                source: event.source().map(str::to_owned),
                payload: event.payload::<ModuleEvent>().cloned(),
                json,
                id_rank: rank(event.id().get()),
                time: event.time(),
            }
        })
        .collect()
}

/// What is compared of one event: all of [`Seen`] but its time, and whether it shares
/// the time of the event before it.
type Compared<'a> = (
    &'a str,
    Option<&'a str>,
    Option<&'a ModuleEvent>,
    Option<&'a serde_json::Value>,
    usize,
    bool,
);

/// Times differ from run to run: keep only which events share one (a change's pair).
fn without_times(seen: &[Seen]) -> Vec<Compared<'_>> {
    seen.iter()
        .enumerate()
        .map(|(at, event)| {
            let same_time_as_previous = at > 0 && seen[at - 1].time == event.time;
            (
                event.topic.as_str(),
                event.source.as_deref(),
                event.payload.as_ref(),
                event.json.as_ref(),
                event.id_rank,
                same_time_as_previous,
            )
        })
        .collect()
}

fn topics(seen: &[Seen]) -> Vec<&str> {
    seen.iter().map(|event| event.topic.as_str()).collect()
}

#[tokio::test]
async fn the_fast_path_delivers_what_the_general_path_does() {
    let fast = run(Listeners::Sync, false).await;
    let general = run(Listeners::AsyncOnAll, false).await;
    let mixed = run(Listeners::AsyncOnStateChanged, false).await;
    assert_eq!(without_times(&fast), without_times(&general));
    assert_eq!(without_times(&fast), without_times(&mixed));

    // The contract: each change on its own topic, then on `module.state_changed`.
    let per_change = |module: &str| -> Vec<String> {
        fast.iter()
            .filter(|event| event.payload.as_ref().is_some_and(|p| &*p.module == module))
            .map(|event| event.topic.clone())
            .collect()
    };
    let pairs = |topics: &[&str]| -> Vec<String> {
        topics
            .iter()
            .flat_map(|topic| [topic.to_string(), "module.state_changed".to_owned()])
            .collect()
    };
    assert_eq!(
        per_change("c"),
        pairs(&[
            "module.loaded",
            "module.installed",
            "module.starting",
            "module.failed"
        ])
    );
    assert_eq!(
        per_change("b"),
        pairs(&[
            "module.loaded",
            "module.installed",
            "module.starting",
            "module.started",
            "module.stopping",
            "module.failed",
        ])
    );
    let failed = fast
        .iter()
        .find(|event| event.topic == "module.failed")
        .unwrap();
    assert_eq!(
        failed.json,
        Some(serde_json::json!({
            "module": "c", "from": "starting", "to": "failed", "hook": "start", "error": "disk full"
        }))
    );
    assert_eq!(failed.source.as_deref(), Some("c"));
    // Both events of a change share its time and payload: each `module.state_changed`
    // follows its change's own topic (other topics, such as `module.ready`, come between
    // changes). Ids follow the order of delivery.
    let changes = fast
        .iter()
        .enumerate()
        .filter(|(_, event)| event.topic == "module.state_changed");
    assert_eq!(
        changes.clone().count(),
        16,
        "a and b change six times, c four"
    );
    assert!(changes.into_iter().all(|(at, event)| {
        at > 0 && fast[at - 1].time == event.time && fast[at - 1].payload == event.payload
    }));
    assert!(
        fast.iter()
            .enumerate()
            .all(|(at, event)| event.id_rank == at)
    );

    // `module.ready` (its own fast path): once per successful start, right after the
    // start's two events, from the module, with its JSON form.
    let seen = topics(&fast);
    let ready: Vec<usize> = (0..seen.len())
        .filter(|&at| seen[at] == "module.ready")
        .collect();
    assert_eq!(ready.len(), 2, "a and b start: {seen:?}");
    for (at, module) in ready.into_iter().zip(["a", "b"]) {
        assert_eq!(seen[at - 2..at], ["module.started", "module.state_changed"]);
        assert_eq!(fast[at].source.as_deref(), Some(module));
        assert_eq!(
            fast[at].json,
            Some(serde_json::json!({"module": module, "ready": true, "health": null}))
        );
    }
}

#[tokio::test]
async fn a_failing_handler_is_announced_between_a_changes_events_on_every_path() {
    let fast = run(Listeners::Sync, true).await;
    let general = run(Listeners::AsyncOnAll, true).await;
    let mixed = run(Listeners::AsyncOnStateChanged, true).await;
    assert_eq!(without_times(&fast), without_times(&general));
    assert_eq!(without_times(&fast), without_times(&mixed));

    // Each `module.started` is followed by the notice of the handler that refused it, and
    // only then by the change's `module.state_changed`.
    let seen = topics(&fast);
    let started: Vec<usize> = (0..seen.len())
        .filter(|&at| seen[at] == "module.started")
        .collect();
    assert_eq!(started.len(), 2, "a and b start: {seen:?}");
    for at in started {
        assert_eq!(
            seen[at..at + 3],
            ["module.started", HANDLER_FAILED, "module.state_changed"]
        );
    }
}

/// The bus's counters (`/metrics` reads them) count lifecycle events alike on each path:
/// one publish per event, one delivery per subscriber that got it.
#[tokio::test]
async fn the_bus_counts_lifecycle_events_on_every_path() {
    for asynchronous in [false, true] {
        let log = CallLog::default();
        let manager = ModuleManager::builder()
            .module(Probe::new("a", &log))
            .module(Probe::new("b", &log).depends_on("a"))
            .build()
            .unwrap();
        let bus = manager.bus();
        let seen = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = Arc::clone(&seen);
        let count = move || counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _subscription = if asynchronous {
            bus.subscribe_async("module.*", move |_event: Event| {
                count();
                async {}
            })
        } else {
            bus.subscribe("module.*", move |_event: &Event| {
                count();
            })
        }
        .unwrap();
        let before = bus.stats();
        manager.start_all().await.unwrap();
        manager.stop_all().await.unwrap();
        let after = bus.stats();
        let seen = seen.load(std::sync::atomic::Ordering::Relaxed);
        // Two modules, each: loaded, installed, starting, started, stopping, stopped (each
        // also on `module.state_changed`), and `module.ready`.
        assert_eq!(seen, 2 * (6 * 2 + 1), "asynchronous: {asynchronous}");
        assert_eq!(after.published - before.published, seen, "{after:?}");
        assert_eq!(after.delivered - before.delivered, seen, "{after:?}");
    }
}
