//! Deferring handlers (`EventBus::subscribe_deferring_with`): run in place with the event
//! borrowed, awaited only when they return a future; in priority order among the others;
//! their errors and panics, in place or in the future, reported as any handler's.

use std::sync::{Arc, Mutex};

use symphra::bus::{Event, EventBus, QueueConfig, QueuePolicy, SubscribeOptions};
use symphra::lifecycle::BoxError;

type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, entry: impl Into<String>) {
    log.lock().map(|mut log| log.push(entry.into())).ok();
}

fn take(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// Moves what `log` gets into `heard` until it holds `count` entries, letting the bus's
/// tasks (the emitter, the lanes, the queues) run in between; bounded, so that a lost or
/// held event fails the test rather than hangs it.
async fn hear_until(log: &Log, heard: &mut Vec<String>, count: usize) {
    for _ in 0..10_000 {
        if heard.len() >= count {
            return;
        }
        tokio::task::yield_now().await;
        heard.extend(take(log));
    }
}

/// A deferring handler that finishes in place for `now`, waits (one yield) for `later`,
/// and fails or panics, in place or after waiting, for the other payloads.
fn deferring(log: &Log) -> impl Fn(&Event) -> Option<futures_fut::Wait> + Send + Sync + 'static {
    let log = log.clone();
    move |event: &Event| {
        let what = event.payload::<&'static str>().copied().unwrap_or("?");
        match what {
            "now" => {
                push(&log, "deferring now");
                None
            }
            "fails now" => Some(futures_fut::ready(Err("refused in place".into()))),
            "panics now" => panic!("panicked in place"),
            _ => {
                let log = log.clone();
                Some(Box::pin(async move {
                    tokio::task::yield_now().await;
                    match what {
                        "fails later" => Err::<(), BoxError>("refused later".into()),
                        "panics later" => panic!("panicked later"),
                        _ => {
                            push(&log, "deferring later");
                            Ok(())
                        }
                    }
                }))
            }
        }
    }
}

/// The future type of the handler above, boxed so that both arms have one type.
mod futures_fut {
    use std::future::Future;
    use std::pin::Pin;

    use symphra::lifecycle::BoxError;

    pub type Wait = Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>>;

    pub fn ready(result: Result<(), BoxError>) -> Wait {
        Box::pin(std::future::ready(result))
    }
}

#[tokio::test]
async fn a_deferring_handler_runs_in_order_and_is_awaited_only_when_it_waits() {
    let bus = EventBus::new();
    let log = Log::default();
    let first = log.clone();
    let _first = bus
        .subscribe_with(
            "job.*",
            SubscribeOptions::new().priority(9),
            move |_: &Event| {
                push(&first, "first");
            },
        )
        .unwrap();
    let _deferring = bus
        .subscribe_deferring_with(
            "job.*",
            SubscribeOptions::new().priority(5),
            deferring(&log),
        )
        .unwrap();
    let last = log.clone();
    let _last = bus
        .subscribe("job.*", move |_: &Event| push(&last, "last"))
        .unwrap();

    for what in ["now", "later"] {
        let report = bus.publish("job.x", what).await.unwrap();
        assert_eq!((report.matched(), report.succeeded()), (3, 3), "{what}");
        assert_eq!(
            take(&log),
            ["first", &format!("deferring {what}"), "last"],
            "the publisher awaited the deferred part before going on"
        );
    }
}

#[tokio::test]
async fn a_deferring_handlers_errors_and_panics_are_failures_in_place_or_later() {
    let bus = EventBus::new();
    let log = Log::default();
    let _deferring = bus
        .subscribe_deferring_with("job.*", SubscribeOptions::new(), deferring(&log))
        .unwrap();
    for (what, panicked, message) in [
        ("fails now", false, "refused in place"),
        ("panics now", true, "panicked in place"),
        ("fails later", false, "refused later"),
        ("panics later", true, "panicked later"),
    ] {
        let report = bus.publish("job.x", what).await.unwrap();
        assert_eq!((report.matched(), report.failed()), (1, 1), "{what}");
        let error = &report.failures()[0].error;
        assert_eq!(error.is_panic(), panicked, "{what}");
        assert!(error.to_string().contains(message), "{what}: {error}");
    }
    assert_eq!(bus.stats().handler_failures, 4);
}

#[tokio::test]
async fn emitted_and_queued_events_reach_a_deferring_handler() {
    let bus = EventBus::new();
    let log = Log::default();
    let _lane = bus
        .subscribe_deferring_with("lane.*", SubscribeOptions::new(), deferring(&log))
        .unwrap();
    let _queued = bus
        .subscribe_deferring_with(
            "queued.*",
            SubscribeOptions::new().queue(QueueConfig::new(16, QueuePolicy::Wait)),
            deferring(&log),
        )
        .unwrap();
    bus.emit("lane.x", "now").unwrap();
    bus.emit("lane.x", "later").unwrap();
    bus.publish("queued.x", "later").await.unwrap();
    let mut heard = Vec::new();
    hear_until(&log, &mut heard, 3).await;
    heard.sort();
    assert_eq!(
        heard,
        ["deferring later", "deferring later", "deferring now"]
    );
}

/// Emitted events reach a deferring handler through its lane: one that waits holds up
/// neither the emitter nor the other subscribers, which hear later events meanwhile.
#[tokio::test]
async fn a_waiting_deferring_handler_holds_up_no_other_subscriber_of_emitted_events() {
    let bus = EventBus::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let log = Log::default();
    let (waiting, deferring_log) = (gate.clone(), log.clone());
    let _deferring = bus
        .subscribe_deferring_with(
            "tick.*",
            SubscribeOptions::new().priority(9),
            move |event: &Event| {
                let n = event.payload::<u32>().copied().unwrap_or(0);
                let (gate, log) = (waiting.clone(), deferring_log.clone());
                Some(async move {
                    let _permit = gate.acquire().await;
                    push(&log, format!("deferring {n}"));
                })
            },
        )
        .unwrap();
    let sync_log = log.clone();
    let _sync = bus
        .subscribe("tick.*", move |event: &Event| {
            let n = event.payload::<u32>().copied().unwrap_or(0);
            push(&sync_log, format!("sync {n}"));
        })
        .unwrap();

    bus.emit("tick.x", 1_u32).unwrap();
    bus.emit("tick.x", 2_u32).unwrap();
    let mut heard = Vec::new();
    hear_until(&log, &mut heard, 2).await;
    assert_eq!(
        heard,
        ["sync 1", "sync 2"],
        "heard while the deferring one waits"
    );

    gate.add_permits(2);
    hear_until(&log, &mut heard, 4).await;
    assert_eq!(heard[2..], ["deferring 1", "deferring 2"]);
}
