//! A module without a watch publishes `module.ready` in one pass with its start's change
//! (`module.started`, `module.state_changed`); a module with a watch (here a watchdog)
//! still publishes it after the change, once its watcher is set up. Both deliver the same
//! events: topics, sources, payloads, JSON forms and order, whichever subscribers listen,
//! also when a handler fails on `module.started`, and whether or not handlers keep copies
//! (when none does, the runtime rewrites its last events for the next ones). The one
//! difference, documented: the one-pass `module.ready` shares its change's time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use symphra::bus::{Event, HANDLER_FAILED};
use symphra::health::HealthEvent;
use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, Probe};

/// What the recorder saw of one event.
#[derive(Debug, PartialEq)]
struct Seen {
    topic: String,
    source: Option<String>,
    change: Option<ModuleEvent>,
    ready: Option<HealthEvent>,
    json: Option<serde_json::Value>,
    /// The event's id, as its rank among the ids recorded in the run.
    id_rank: usize,
}

/// Who listens besides the recorder, which decides the path each event takes.
#[derive(Clone, Copy, Debug)]
enum Others {
    /// Nobody: sync delivery on the spot.
    Nobody,
    /// An async handler on `module.*`: every lifecycle event goes the general way.
    AsyncOnAll,
    /// An async handler on `module.ready` only: the change on the spot, ready the general way.
    AsyncOnReady,
    /// An async handler on `module.state_changed`: the pass is left half-way.
    AsyncOnStateChanged,
}

/// One run: starts and stops `a <- b <- c`, where `c` fails to start and `b` fails to stop,
/// with a sync recorder on `pattern` (which keeps a copy of each event with
/// `keeps_copies`) and `others`; every module has a watchdog when `watched`; with
/// `failing`, a sync handler on `module.*` fails on every `module.started`. Returns what
/// the recorder saw, in order, and each event's time.
async fn run(
    pattern: &str,
    others: Others,
    (watched, failing, keeps_copies): (bool, bool, bool),
) -> (Vec<Seen>, Vec<SystemTime>) {
    let log = CallLog::default();
    let module = |name: &str| {
        let probe = Probe::new(name, &log);
        if watched {
            // Long enough never to fire: only its presence matters.
            probe.metadata_with(|m| m.watchdog(Duration::from_secs(3600)))
        } else {
            probe
        }
    };
    let manager = ModuleManager::builder()
        .module(module("a"))
        .module(
            module("b")
                .depends_on("a")
                .fault(Hook::Stop, Fault::Error("socket busy".into())),
        )
        .module(
            module("c")
                .depends_on("b")
                .fault(Hook::Start, Fault::Error("disk full".into())),
        )
        .build()
        .unwrap();
    let bus = manager.bus();
    // What was read of each event while it was delivered, and with `keeps_copies` the
    // events themselves: a kept event cannot be rewritten for the next one.
    let recorded: Arc<Mutex<Vec<Raw>>> = Arc::default();
    let copies: Arc<Mutex<Vec<Event>>> = Arc::default();
    let (sink, copy_sink) = (Arc::clone(&recorded), Arc::clone(&copies));
    bus.subscribe(pattern, move |event: &Event| {
        sink.lock().unwrap().push(Raw::of(event));
        if keeps_copies {
            copy_sink.lock().unwrap().push(event.clone());
        }
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
    let async_pattern = match others {
        Others::Nobody => None,
        Others::AsyncOnAll => Some("module.*"),
        Others::AsyncOnReady => Some("module.ready"),
        Others::AsyncOnStateChanged => Some("module.state_changed"),
    };
    if let Some(pattern) = async_pattern {
        bus.subscribe_async(pattern, |_event: Event| async {})
            .unwrap()
            .detach();
    }

    assert!(manager.start_all().await.is_err(), "c fails to start");
    assert!(manager.stop_all().await.is_err(), "b fails to stop");

    let events = std::mem::take(&mut *recorded.lock().unwrap());
    let mut ids: Vec<u64> = events.iter().map(|event| event.id).collect();
    ids.sort_unstable();
    let rank = |id: u64| ids.binary_search(&id).unwrap();
    let times = events.iter().map(|event| event.time).collect();
    let seen = events
        .into_iter()
        .map(|event| {
            let Raw { mut seen, id, .. } = event;
            // A failure notice names the event that failed by id: by its rank here too.
            if let Some(failed) = seen.json.as_mut().and_then(|json| json.get_mut("event_id")) {
                *failed = rank(failed.as_u64().unwrap()).into();
            }
            seen.id_rank = rank(id);
            seen
        })
        .collect();
    (seen, times)
}

/// An event as read during its delivery, with its raw id and time.
struct Raw {
    seen: Seen,
    id: u64,
    time: SystemTime,
}

impl Raw {
    fn of(event: &Event) -> Self {
        Self {
            seen: Seen {
                topic: event.topic().to_owned(),
                source: event.source().map(str::to_owned),
                change: event.payload::<ModuleEvent>().cloned(),
                ready: event.payload::<HealthEvent>().cloned(),
                json: event.to_json().ok(),
                id_rank: 0,
            },
            id: event.id().get(),
            time: event.time(),
        }
    }
}

fn topics(seen: &[Seen]) -> Vec<&str> {
    seen.iter().map(|event| event.topic.as_str()).collect()
}

#[tokio::test]
async fn one_pass_ready_delivers_what_the_two_pass_path_does() {
    let all = [
        Others::Nobody,
        Others::AsyncOnAll,
        Others::AsyncOnReady,
        Others::AsyncOnStateChanged,
    ];
    for pattern in ["module.*", ">", "module.ready", "module.started"] {
        for others in all {
            for (failing, keeps_copies) in
                [(false, true), (true, true), (false, false), (true, false)]
            {
                let flags = (failing, keeps_copies);
                let (one_pass, _) = run(pattern, others, (false, failing, keeps_copies)).await;
                let (two_pass, _) = run(pattern, others, (true, failing, keeps_copies)).await;
                assert_eq!(one_pass, two_pass, "{pattern}, {others:?}, {flags:?}");
            }
        }
    }
}

#[tokio::test]
async fn ready_follows_its_start_with_the_changes_time() {
    let (seen, times) = run(">", Others::Nobody, (false, false, false)).await;
    let names = topics(&seen);
    let ready: Vec<usize> = (0..names.len())
        .filter(|&at| names[at] == "module.ready")
        .collect();
    assert_eq!(ready.len(), 2, "a and b start: {names:?}");
    for (at, module) in ready.into_iter().zip(["a", "b"]) {
        assert_eq!(
            names[at - 2..at],
            ["module.started", "module.state_changed"]
        );
        assert_eq!(seen[at].source.as_deref(), Some(module));
        assert_eq!(
            seen[at].json,
            Some(serde_json::json!({"module": module, "ready": true, "health": null}))
        );
        assert_eq!(times[at], times[at - 1], "one clock reading per pass");
        assert_eq!(times[at - 1], times[at - 2]);
    }
    // Ids follow the order of delivery.
    assert!(
        seen.iter()
            .enumerate()
            .all(|(at, event)| event.id_rank == at)
    );

    // A handler failing on `module.started` is announced before the rest of the pass.
    let (seen, _) = run(">", Others::Nobody, (false, true, true)).await;
    let names = topics(&seen);
    let started: Vec<usize> = (0..names.len())
        .filter(|&at| names[at] == "module.started")
        .collect();
    assert_eq!(started.len(), 2, "a and b start: {names:?}");
    for at in started {
        assert_eq!(
            names[at..at + 4],
            [
                "module.started",
                HANDLER_FAILED,
                "module.state_changed",
                "module.ready"
            ]
        );
    }
}
