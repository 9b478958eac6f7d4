//! The event bus's own tests: reports, ordering, once, failures, emit, history and queues.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{
    BusError, Event, EventBus, HANDLER_FAILED, HandlerFailure, HistoryQuery, QueueConfig,
    QueuePolicy, SubscribeOptions,
};
use crate::lifecycle::BoxError;

type Log = Arc<Mutex<Vec<String>>>;

fn log_to(log: &Log, name: &'static str) -> impl Fn(&Event) + Send + Sync + 'static {
    let log = log.clone();
    move |_| log.lock().push(name.to_owned())
}

fn opts() -> SubscribeOptions {
    SubscribeOptions::new()
}

#[tokio::test]
async fn report_counts_matches_and_skips() {
    let bus = EventBus::new();
    let _a = bus.subscribe("a.b", |_: &Event| ()).unwrap();
    let _b = bus.subscribe("a.*", |_: &Event| ()).unwrap();
    let _c = bus
        .subscribe_with(
            "a.>",
            opts().condition(|e| e.payload::<u8>() == Some(&1)),
            |_: &Event| (),
        )
        .unwrap();
    let _d = bus.subscribe("x.y", |_: &Event| ()).unwrap();
    let report = bus.publish("a.b", 2_u8).await.unwrap();
    assert_eq!(
        (report.matched(), report.succeeded(), report.skipped()),
        (2, 2, 1)
    );
    assert!(report.is_success() && report.event_id().is_some());
    let report = bus.publish("a.b", 1_u8).await.unwrap();
    assert_eq!((report.matched(), report.skipped()), (3, 0));
    assert!(bus.publish("a..b", 1_u8).await.is_err());
}

#[tokio::test]
async fn elapsed_covers_the_handlers() {
    let bus = EventBus::new();
    // A lower bound that always holds: a thread sleeps at least as long as asked.
    let _slow = bus
        .subscribe("slow", |_: &Event| {
            std::thread::sleep(Duration::from_millis(2))
        })
        .unwrap();
    let report = bus.publish("slow", ()).await.unwrap();
    assert!(
        report.elapsed() >= Duration::from_millis(2),
        "{:?}",
        report.elapsed()
    );
    let report = bus.publish_event(Event::new("slow", ()).unwrap()).await;
    assert!(
        report.elapsed() >= Duration::from_millis(2),
        "{:?}",
        report.elapsed()
    );
}

#[tokio::test]
async fn dropping_a_handler_that_owns_a_subscription_does_not_deadlock() {
    let bus = EventBus::new();
    let owned = bus.subscribe("a.b", |_: &Event| ()).unwrap();
    let owner = bus
        .subscribe("a.*", move |_: &Event| {
            let _keep = &owned;
        })
        .unwrap();
    bus.publish("a.b", ()).await.unwrap(); // caches a route holding both
    drop(owner); // the stale cached route now holds the owner's last reference
    // Refilling evicts that route: the owner's closure, and `owned` with it, is dropped,
    // which unsubscribes `owned`, which takes the locks the refill held.
    assert!(bus.has_subscribers("a.b"));
    assert!(!bus.has_subscribers("a.b"));
    assert_eq!(bus.stats().subscriptions, 0);
}

#[tokio::test]
async fn priority_then_subscription_order() {
    let bus = EventBus::new();
    let log = Log::default();
    let _s = [
        bus.subscribe_with("t", opts().priority(0), log_to(&log, "p0-first"))
            .unwrap(),
        bus.subscribe_with("*", opts().priority(5), log_to(&log, "p5"))
            .unwrap(),
        bus.subscribe_with("t", opts().priority(0), log_to(&log, "p0-second"))
            .unwrap(),
        bus.subscribe_with("t", opts().priority(-3), log_to(&log, "p-3"))
            .unwrap(),
        bus.subscribe_with("t", opts().priority(9), log_to(&log, "p9"))
            .unwrap(),
    ];
    bus.publish("t", ()).await.unwrap();
    assert_eq!(*log.lock(), ["p9", "p5", "p0-first", "p0-second", "p-3"]);
}

#[tokio::test]
async fn has_subscribers_follows_subscriptions() {
    let bus = EventBus::new();
    assert!(!bus.has_subscribers("user.created"));
    let wild = bus.subscribe("user.*", |_: &Event| ()).unwrap();
    assert!(bus.has_subscribers("user.created"));
    assert!(!bus.has_subscribers("user"));
    let exact = bus.subscribe("user", |_: &Event| ()).unwrap();
    assert!(bus.has_subscribers("user"));
    drop(wild);
    assert!(
        !bus.has_subscribers("user.created"),
        "cached route was patched"
    );
    assert!(bus.has_subscribers("user"));
    assert!(exact.unsubscribe());
    assert!(!bus.has_subscribers("user"));
    assert!(!bus.has_subscribers("not valid"));
    assert_eq!(bus.stats().subscriptions, 0);
}

#[tokio::test]
async fn unsubscribe_detach_and_tags() {
    let bus = EventBus::new();
    let kept = bus
        .subscribe_with("t", opts().tag("mod-a"), |_: &Event| ())
        .unwrap();
    bus.subscribe_with("t.>", opts().tag("mod-a"), |_: &Event| ())
        .unwrap()
        .detach();
    bus.subscribe_with("t", opts().tag("mod-b"), |_: &Event| ())
        .unwrap()
        .detach();
    assert_eq!(bus.stats().subscriptions, 3);
    assert_eq!(bus.unsubscribe_tag("mod-a"), 2);
    assert!(!kept.is_active());
    assert!(!kept.unsubscribe(), "already removed by its tag");
    assert_eq!(bus.unsubscribe_tag("mod-a"), 0);
    assert_eq!(bus.publish("t", ()).await.unwrap().matched(), 1);
    assert_eq!(bus.unsubscribe_tag("mod-b"), 1);
    assert!(!bus.has_subscribers("t"));
}

#[tokio::test]
async fn once_is_delivered_once_sync_and_async() {
    let bus = EventBus::new();
    let log = Log::default();
    let s1 = bus
        .subscribe_with("t", opts().once(), log_to(&log, "sync"))
        .unwrap();
    let l = log.clone();
    let s2 = bus
        .subscribe_async_with("t", opts().once().priority(1), move |_| {
            let l = l.clone();
            async move {
                tokio::task::yield_now().await;
                l.lock().push("async".into());
            }
        })
        .unwrap();
    for _ in 0..3 {
        bus.publish("t", ()).await.unwrap();
    }
    assert_eq!(*log.lock(), ["async", "sync"]);
    assert!(!s1.is_active() && !s2.is_active());
    assert!(!bus.has_subscribers("t"));
}

#[tokio::test]
async fn failures_are_isolated_reported_and_announced_once() {
    let bus = EventBus::new();
    let log = Log::default();
    let _bad = bus
        .subscribe_with("t", opts().priority(2), |_: &Event| Err::<(), _>("broken"))
        .unwrap();
    let _panics = bus
        .subscribe_with(
            "t",
            opts().priority(1),
            |_: &Event| -> Result<(), BoxError> { panic!("handler bug") },
        )
        .unwrap();
    let _good = bus.subscribe("t", log_to(&log, "good")).unwrap();
    let notices = Arc::new(Mutex::new(Vec::new()));
    let n = notices.clone();
    let _watch = bus
        .subscribe(HANDLER_FAILED, move |e: &Event| {
            let f = e.payload::<HandlerFailure>().map(|f| f.error.is_panic());
            n.lock().push((f, e.to_json().is_ok()));
            // A failing failure handler must not cause another notice.
            Err::<(), _>("watcher fails too")
        })
        .unwrap();
    let report = bus.publish("t", ()).await.unwrap();
    assert_eq!(
        (report.matched(), report.succeeded(), report.failed()),
        (3, 1, 2)
    );
    assert_eq!(report.failures()[0].error.to_string(), "broken");
    assert!(report.failures()[1].error.is_panic());
    assert_eq!(*log.lock(), ["good"]);
    assert_eq!(*notices.lock(), [(Some(false), true), (Some(true), true)]);
    assert_eq!(
        bus.stats().handler_failures,
        4,
        "2 handlers + 2 failing notices"
    );
}

#[tokio::test]
async fn condition_panic_is_a_failure() {
    let bus = EventBus::new();
    let _s = bus
        .subscribe_with(
            "t",
            opts().condition(|_| panic!("bad condition")),
            |_: &Event| (),
        )
        .unwrap();
    let report = bus.publish("t", ()).await.unwrap();
    assert_eq!((report.matched(), report.failed()), (0, 1));
    assert!(report.failures()[0].error.is_panic());
}

#[tokio::test]
async fn emit_delivers_in_order() {
    let bus = EventBus::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let _s = bus
        .subscribe("n", move |e: &Event| {
            let _ = tx.send(*e.payload::<u32>().unwrap_or(&0));
        })
        .unwrap();
    for i in 0..100_u32 {
        bus.emit("n", i).unwrap();
    }
    bus.emit("nobody.listens", 0_u32).unwrap();
    for i in 0..100_u32 {
        assert_eq!(rx.recv().await, Some(i));
    }
    assert!(bus.emit("a.*", 0_u32).is_err());
}

#[test]
fn emit_without_runtime_says_so() {
    let bus = EventBus::new();
    let _s = bus.subscribe("t", |_: &Event| ()).unwrap();
    let err = bus.emit("t", ()).unwrap_err();
    assert!(matches!(err, BusError::NoRuntime { .. }), "{err}");
    let queued = bus.subscribe_with(
        "t",
        opts().queue(QueueConfig::new(1, QueuePolicy::Wait)),
        |_: &Event| (),
    );
    assert!(matches!(queued, Err(BusError::NoRuntime { .. })));
}

#[tokio::test]
async fn emit_queue_is_bounded() {
    let bus = EventBus::builder().emit_queue_capacity(2).build();
    let _s = bus.subscribe("t", |_: &Event| ()).unwrap();
    bus.emit("t", 1).unwrap();
    bus.emit("t", 2).unwrap();
    let err = bus.emit("t", 3).unwrap_err();
    assert!(
        matches!(err, BusError::EmitQueueFull { capacity: 2, .. }),
        "{err}"
    );
    assert_eq!(bus.stats().emit_rejected, 1);
}

#[tokio::test]
async fn history_and_batch() {
    let bus = EventBus::builder().history(3).build();
    let events = ["a.1", "b.1", "a.2", "a.3"].map(|t| Event::new(t, ()).unwrap());
    let report = bus.publish_batch(events).await;
    assert_eq!(report.reports().len(), 4);
    assert_eq!(report.matched(), 0);
    let recent: Vec<_> = bus
        .recent(10)
        .iter()
        .map(|e| e.topic().to_owned())
        .collect();
    assert_eq!(recent, ["b.1", "a.2", "a.3"]);
    let q = HistoryQuery::new().pattern("a.*").unwrap();
    assert_eq!(bus.history(&q).len(), 2);
    assert!(EventBus::new().recent(5).is_empty());
}

#[tokio::test]
async fn queued_subscriber_runs_off_the_publisher_task() {
    let bus = EventBus::new();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let sub = bus
        .subscribe_async_with(
            "t",
            opts().queue(QueueConfig::new(8, QueuePolicy::Wait)),
            move |e: Event| {
                let tx = tx.clone();
                async move {
                    let _ = tx.send(*e.payload::<u32>().unwrap_or(&0));
                }
            },
        )
        .unwrap();
    let report = bus.publish("t", 7_u32).await.unwrap();
    assert_eq!(
        (report.matched(), report.queued(), report.succeeded()),
        (1, 1, 0)
    );
    assert_eq!(rx.recv().await, Some(7));
    assert_eq!(sub.queue_stats().map(|s| s.taken), Some(1));
}

#[tokio::test(start_paused = true)]
async fn events_nobody_receives_are_counted() {
    let bus = EventBus::new();
    assert_eq!(bus.unconsumed(), 0);

    // Nothing matches: publish and emit.
    bus.publish("user.created", 1_u32).await.unwrap();
    bus.emit("user.created", 2_u32).unwrap();
    assert_eq!(bus.unconsumed(), 2);

    // Received, or examined and turned down by a condition: not counted.
    let sub = bus.subscribe("user.created", |_: &Event| ()).unwrap();
    let _picky = bus
        .subscribe_with("user.*", opts().condition(|_| false), |_: &Event| ())
        .unwrap();
    bus.publish("user.created", 3_u32).await.unwrap();
    bus.publish("user.deleted", 4_u32).await.unwrap();
    assert_eq!(bus.unconsumed(), 2);

    // Emitted while someone listened, delivered after they left: counted at delivery.
    bus.emit("user.created", 5_u32).unwrap();
    drop(sub);
    drop(_picky);
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(bus.unconsumed(), 3);

    // A `once` subscription used up.
    bus.subscribe_with("job.done", opts().once(), |_: &Event| ())
        .unwrap()
        .detach();
    bus.publish("job.done", ()).await.unwrap();
    bus.publish("job.done", ()).await.unwrap();
    assert_eq!(bus.unconsumed(), 4);
    assert_eq!(bus.stats().unconsumed, 4);

    // Invalid topics are errors, not losses.
    assert!(bus.publish("a..b", ()).await.is_err());
    assert_eq!(bus.unconsumed(), 4);
}

#[tokio::test]
async fn with_history_an_event_nobody_receives_is_recorded_and_counted() {
    let bus = EventBus::builder().history(8).build();
    let report = bus.publish("user.created", 1_u32).await.unwrap();
    assert_eq!(report.matched(), 0);
    assert_eq!(bus.recent(8).len(), 1);
    assert_eq!(bus.unconsumed(), 1);
}

#[tokio::test]
async fn published_and_delivered_are_counted() {
    let bus = EventBus::new();
    bus.publish("user.created", 1_u32).await.unwrap(); // nobody listens
    let _one = bus.subscribe("user.*", |_: &Event| ()).unwrap();
    let _two = bus.subscribe("user.created", |_: &Event| ()).unwrap();
    bus.publish("user.created", 2_u32).await.unwrap(); // two deliveries
    bus.publish("user.deleted", 3_u32).await.unwrap(); // one
    let stats = bus.stats();
    assert_eq!((stats.published, stats.delivered), (3, 3));
    assert_eq!(stats.unconsumed, 1);
}
