//! The event bus's rules, through its public API.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::json;
use symphra::bus::{
    BufferConfig, BusError, Event, EventBus, HANDLER_FAILED, HandlerFailure, QueueConfig,
    QueuePolicy, SubscribeOptions, Subscription,
};
use tokio::sync::{Semaphore, mpsc};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How many times a test yields waiting for the bus's task before it fails: far more than
/// a delivery takes, so that a lost event fails the test instead of hanging it.
const SPINS: usize = 10_000;

fn counter(bus: &EventBus, pattern: &str) -> (Subscription, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let c = count.clone();
    let sub = bus
        .subscribe(pattern, move |_: &Event| {
            c.fetch_add(1, Ordering::SeqCst);
        })
        .unwrap();
    (sub, count)
}

#[tokio::test]
async fn every_invalid_topic_is_rejected_with_its_token() {
    let bus = EventBus::new();
    for (topic, token) in [
        ("", ""),
        ("a..b", ""),
        (".a", ""),
        ("a.", ""),
        ("a b", "a b"),
        ("a.\tb", "\tb"),
        ("user.*", "*"),
        ("user.>", ">"),
        ("*", "*"),
    ] {
        match bus.publish(topic, ()).await {
            Err(BusError::InvalidTopic { token: t, .. }) => assert_eq!(t, token, "{topic:?}"),
            other => panic!("{topic:?}: expected InvalidTopic, got {other:?}"),
        }
        assert!(bus.emit(topic, ()).is_err());
        assert!(Event::new(topic, ()).is_err());
        assert!(!bus.has_subscribers(topic));
    }
}

#[tokio::test]
async fn every_invalid_pattern_is_rejected_with_its_token() {
    let bus = EventBus::new();
    for (pattern, token) in [
        ("", ""),
        ("a..b", ""),
        ("a.", ""),
        (".>", ""),
        ("a.>.b", ">"),
        (">.a", ">"),
        ("a. b", " b"),
        ("a.b\n", "b\n"),
    ] {
        match bus.subscribe(pattern, |_: &Event| ()) {
            Err(BusError::InvalidPattern { token: t, .. }) => assert_eq!(t, token, "{pattern:?}"),
            other => panic!("{pattern:?}: expected InvalidPattern, got {other:?}"),
        }
    }
    let message = bus
        .subscribe("a.>.b", |_: &Event| ())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("a.>.b") && message.contains("last"),
        "{message}"
    );
    // `foo*` is an ordinary token, in patterns and topics.
    let (_s, n) = counter(&bus, "foo*");
    bus.publish("foo*", ()).await.unwrap();
    bus.publish("foobar", ()).await.unwrap();
    assert_eq!(n.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_seeds_star_catches_everything() {
    let bus = EventBus::new();
    let (_all, all) = counter(&bus, "*");
    for topic in ["async.event", "processing.complete", "a", "a.b.c.d"] {
        assert!(bus.has_subscribers(topic));
        bus.publish(topic, ()).await.unwrap();
    }
    assert_eq!(all.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn star_and_rest_wildcards() {
    let bus = EventBus::new();
    let (_one, one) = counter(&bus, "user.*");
    let (_rest, rest) = counter(&bus, "user.>");
    let (_mid, mid) = counter(&bus, "*.created");
    for topic in ["user", "user.a", "user.a.b", "users.a", "user.created"] {
        bus.publish(topic, ()).await.unwrap();
    }
    assert_eq!(
        one.load(Ordering::SeqCst),
        2,
        "user.a and user.created only"
    );
    assert_eq!(
        rest.load(Ordering::SeqCst),
        3,
        "user.a, user.a.b, user.created"
    );
    assert_eq!(mid.load(Ordering::SeqCst), 1);
    // The answers match the deliveries above: `user.>` needs at least one more token.
    assert!(
        !bus.has_subscribers("user"),
        "no pattern matches a bare user"
    );
    assert!(bus.has_subscribers("user.a"));
    assert!(bus.has_subscribers("user.a.b"));
    assert!(bus.has_subscribers("order.created"));
    assert!(!bus.has_subscribers("users.a"));
    assert!(!bus.has_subscribers("User.a"), "topics are case-sensitive");
}

#[tokio::test]
async fn a_panicking_handler_is_isolated() {
    let bus = EventBus::new();
    let (_before, before) = counter(&bus, "job.run");
    let _bad = bus
        .subscribe_async("job.run", |_: Event| async {
            tokio::task::yield_now().await;
            if true {
                panic!("worker exploded");
            }
        })
        .unwrap();
    let (_after, after) = counter(&bus, "job.run");
    let (failed_tx, mut failed_rx) = mpsc::unbounded_channel();
    let _watch = bus
        .subscribe(HANDLER_FAILED, move |e: &Event| {
            let f = e.payload::<HandlerFailure>().cloned();
            let _ = failed_tx.send(f);
        })
        .unwrap();

    let report = bus.publish("job.run", ()).await.unwrap();
    assert_eq!(
        (report.matched(), report.succeeded(), report.failed()),
        (3, 2, 1)
    );
    assert!(
        report.failures()[0]
            .error
            .to_string()
            .contains("worker exploded")
    );
    assert_eq!(before.load(Ordering::SeqCst), 1);
    assert_eq!(after.load(Ordering::SeqCst), 1);
    let failure = failed_rx.recv().await.flatten().unwrap();
    assert_eq!(&*failure.topic, "job.run");
    assert!(failure.error.is_panic());
    assert!(failed_rx.try_recv().is_err(), "announced once");
    assert_eq!(bus.stats().handler_failures, 1);
    // The bus still works.
    assert_eq!(bus.publish("job.run", ()).await.unwrap().succeeded(), 2);
}

#[tokio::test]
async fn a_handler_can_publish_without_deadlock() {
    let bus = EventBus::new();
    let (_done, done) = counter(&bus, "processing.complete");
    let inner = bus.clone();
    let _sync = bus
        .subscribe("ping", move |_: &Event| {
            // Subscribing and checking routes from inside a handler takes the locks.
            assert!(inner.has_subscribers("processing.complete"));
            inner.emit("processing.complete", 1_u8)
        })
        .unwrap();
    let inner = bus.clone();
    let _async = bus
        .subscribe_async("async.event", move |event: Event| {
            let bus = inner.clone();
            async move {
                let id = *event.payload::<u32>().unwrap_or(&0);
                let report = bus.publish("processing.complete", id).await?;
                assert_eq!(report.matched(), 1);
                let nested = bus.subscribe("late.topic", |_: &Event| ())?;
                nested.unsubscribe();
                Ok::<(), BusError>(())
            }
        })
        .unwrap();
    let report = tokio::time::timeout(Duration::from_secs(5), bus.publish("async.event", 7_u32))
        .await
        .expect("no deadlock")
        .unwrap();
    assert_eq!(report.succeeded(), 1);
    assert_eq!(done.load(Ordering::SeqCst), 1);
    bus.publish("ping", ()).await.unwrap();
    // The emitted event is delivered by the bus's task; bounded, so a lost event fails.
    for _ in 0..SPINS {
        if done.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(done.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unsubscribing_during_dispatch_is_safe() {
    let bus = EventBus::new();
    let later: Arc<Mutex<Option<Subscription>>> = Arc::default();
    let l = later.clone();
    let _first = bus
        .subscribe_with(
            "t",
            SubscribeOptions::new().priority(1),
            move |_: &Event| {
                // Cancels the next handler mid-dispatch, and itself is dropped too.
                if let Some(sub) = l.lock().take() {
                    assert!(sub.unsubscribe());
                }
            },
        )
        .unwrap();
    let (second, second_count) = counter(&bus, "t");
    *later.lock() = Some(second);
    let (_third, third) = counter(&bus, "t");

    let report = bus.publish("t", ()).await.unwrap();
    assert_eq!(
        report.matched(),
        2,
        "the cancelled handler is skipped in the same dispatch"
    );
    assert_eq!(second_count.load(Ordering::SeqCst), 0);
    assert_eq!(third.load(Ordering::SeqCst), 1);

    // A handler that cancels itself.
    let own: Arc<Mutex<Option<Subscription>>> = Arc::default();
    let o = own.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    *own.lock() = Some(
        bus.subscribe("self", move |_: &Event| {
            c.fetch_add(1, Ordering::SeqCst);
            if let Some(sub) = o.lock().as_ref() {
                sub.unsubscribe();
            }
        })
        .unwrap(),
    );
    bus.publish("self", ()).await.unwrap();
    bus.publish("self", ()).await.unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn once_with_priorities() {
    let bus = EventBus::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut subs = Vec::new();
    for (name, priority, once) in [
        ("low", -1, false),
        ("high-once", 10, true),
        ("mid", 5, false),
    ] {
        let order = order.clone();
        subs.push(
            bus.subscribe_async_with(
                "tick",
                {
                    let o = SubscribeOptions::new().priority(priority);
                    if once { o.once() } else { o }
                },
                move |_: Event| {
                    let order = order.clone();
                    async move {
                        tokio::task::yield_now().await;
                        order.lock().push(name);
                    }
                },
            )
            .unwrap(),
        );
    }
    let first = bus.publish("tick", ()).await.unwrap();
    let second = bus.publish("tick", ()).await.unwrap();
    assert_eq!((first.matched(), second.matched()), (3, 2));
    assert_eq!(*order.lock(), ["high-once", "mid", "low", "mid", "low"]);
    assert!(!subs[1].is_active());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_publishers_deliver_exactly_once() {
    const PUBLISHERS: u32 = 1_000;
    const EACH: u32 = 10;
    let bus = EventBus::new();
    type Seen = Arc<Mutex<HashMap<(u32, u32), usize>>>;
    let record = |seen: &Seen| {
        let seen = seen.clone();
        move |e: &Event| {
            if let Some(key) = e.payload::<(u32, u32)>() {
                *seen.lock().entry(*key).or_default() += 1;
            }
        }
    };
    let (wild, exact, all, queued): (Seen, Seen, Seen, Seen) = Default::default();
    let _w = bus.subscribe("load.*", record(&wild)).unwrap();
    let _e = bus.subscribe("load.3", record(&exact)).unwrap();
    let all_record = record(&all);
    let _a = bus
        .subscribe_async("*", move |e: Event| {
            all_record(&e);
            async { tokio::task::yield_now().await }
        })
        .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let queued_record = record(&queued);
    let _q = bus
        .subscribe_with(
            "load.>",
            SubscribeOptions::new().queue(QueueConfig::new(16, QueuePolicy::Wait)),
            move |e: &Event| {
                queued_record(e);
                let _ = tx.send(());
            },
        )
        .unwrap();

    // Subscriptions come and go on the same topics while the publishers run.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let churn = tokio::spawn({
        let (bus, stop) = (bus.clone(), stop.clone());
        async move {
            let mut rounds = 0_u32;
            while !stop.load(Ordering::SeqCst) {
                let pattern = ["load.*", "load.3", ">", "load.>"][rounds as usize % 4];
                let sub = bus.subscribe(pattern, |_: &Event| ())?;
                tokio::task::yield_now().await;
                drop(sub);
                rounds += 1;
            }
            Ok::<u32, BusError>(rounds)
        }
    });
    let tasks: Vec<_> = (0..PUBLISHERS)
        .map(|i| {
            let bus = bus.clone();
            tokio::spawn(async move {
                for j in 0..EACH {
                    let report = bus.publish(&format!("load.{}", i % 10), (i, j)).await?;
                    assert_eq!(report.failed(), 0);
                }
                Ok::<(), BusError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    stop.store(true, Ordering::SeqCst);
    assert!(churn.await.unwrap().unwrap() > 0);
    for _ in 0..PUBLISHERS * EACH {
        rx.recv().await.unwrap();
    }
    let total = (PUBLISHERS * EACH) as usize;
    for (name, seen, expected) in [
        ("wild", &wild, total),
        ("all", &all, total),
        ("queued", &queued, total),
        ("exact", &exact, total / 10),
    ] {
        let seen = seen.lock();
        assert_eq!(seen.len(), expected, "{name}: distinct events");
        assert!(seen.values().all(|&n| n == 1), "{name}: each exactly once");
    }
    assert!(exact.lock().keys().all(|(i, _)| i % 10 == 3));
}

#[test]
fn a_once_subscription_raced_by_64_publishers_is_delivered_to_exactly_one() {
    const PUBLISHERS: usize = 64;
    let bus = EventBus::new();
    // Every publisher's condition check waits at the barrier, so all 64 have passed the
    // subscription's "still active" check before any of them can claim it: only the
    // claim itself can keep the others out.
    let barrier = Arc::new(std::sync::Barrier::new(PUBLISHERS));
    let delivered = Arc::new(AtomicUsize::new(0));
    let _once = bus
        .subscribe_with(
            "race",
            SubscribeOptions::new().once().condition({
                let barrier = barrier.clone();
                move |_: &Event| {
                    barrier.wait();
                    true
                }
            }),
            {
                let delivered = delivered.clone();
                move |_: &Event| {
                    delivered.fetch_add(1, Ordering::SeqCst);
                }
            },
        )
        .unwrap();
    let publishers: Vec<_> = (0..PUBLISHERS)
        .map(|i| {
            let bus = bus.clone();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().build()?;
                Ok::<usize, BoxError>(runtime.block_on(bus.publish("race", i))?.succeeded())
            })
        })
        .collect();
    let reported: usize = publishers
        .into_iter()
        .map(|publisher| publisher.join().unwrap().unwrap())
        .sum();
    assert_eq!(delivered.load(Ordering::SeqCst), 1, "handler runs once");
    assert_eq!(reported, 1, "exactly one publisher reports the delivery");
}

/// A queued subscriber whose handler waits on `gate`, reporting each payload it handled.
fn gated(
    bus: &EventBus,
    policy: QueuePolicy,
) -> (
    Subscription,
    Arc<Semaphore>,
    mpsc::UnboundedReceiver<u32>,
    mpsc::UnboundedReceiver<()>,
) {
    let gate = Arc::new(Semaphore::new(0));
    let (started_tx, started) = mpsc::unbounded_channel();
    let (done_tx, done) = mpsc::unbounded_channel();
    let g = gate.clone();
    let sub = bus
        .subscribe_async_with(
            "work",
            SubscribeOptions::new().queue(QueueConfig::new(2, policy)),
            move |e: Event| {
                let (g, started_tx, done_tx) = (g.clone(), started_tx.clone(), done_tx.clone());
                async move {
                    let _ = started_tx.send(());
                    g.acquire()
                        .await
                        .map_err(|e| -> BoxError { e.into() })?
                        .forget();
                    let _ = done_tx.send(*e.payload::<u32>().unwrap_or(&0));
                    Ok::<(), BoxError>(())
                }
            },
        )
        .unwrap();
    (sub, gate, done, started)
}

async fn fill(bus: &EventBus, started: &mut mpsc::UnboundedReceiver<()>) {
    // 1 is taken by the handler (which then waits), 2 and 3 fill the queue of 2.
    assert_eq!(bus.publish("work", 1_u32).await.unwrap().queued(), 1);
    started.recv().await.unwrap();
    for n in [2_u32, 3] {
        assert_eq!(bus.publish("work", n).await.unwrap().queued(), 1);
    }
}

async fn collect(gate: &Semaphore, done: &mut mpsc::UnboundedReceiver<u32>, n: usize) -> Vec<u32> {
    gate.add_permits(n);
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(done.recv().await.unwrap());
    }
    out
}

#[tokio::test]
async fn full_queue_drop_newest() {
    let bus = EventBus::new();
    let (sub, gate, mut done, mut started) = gated(&bus, QueuePolicy::DropNewest);
    fill(&bus, &mut started).await;
    let report = bus.publish("work", 4_u32).await.unwrap();
    assert_eq!((report.queued(), report.dropped()), (0, 1));
    assert!(!report.is_success());
    assert_eq!(collect(&gate, &mut done, 3).await, [1, 2, 3]);
    assert_eq!(sub.queue_stats().map(|s| s.dropped), Some(1));
    assert_eq!(bus.stats().queue_dropped, 1);
}

#[tokio::test]
async fn full_queue_drop_oldest() {
    let bus = EventBus::new();
    let (sub, gate, mut done, mut started) = gated(&bus, QueuePolicy::DropOldest);
    fill(&bus, &mut started).await;
    for n in [4_u32, 5] {
        let report = bus.publish("work", n).await.unwrap();
        assert_eq!((report.queued(), report.dropped()), (1, 1));
    }
    assert_eq!(collect(&gate, &mut done, 3).await, [1, 4, 5]);
    assert_eq!(sub.queue_stats().map(|s| (s.dropped, s.len)), Some((2, 0)));
}

#[tokio::test]
async fn full_queue_wait_applies_back_pressure() {
    let bus = EventBus::new();
    let (sub, gate, mut done, mut started) = gated(&bus, QueuePolicy::Wait);
    fill(&bus, &mut started).await;
    let publisher = tokio::spawn({
        let bus = bus.clone();
        async move { bus.publish("work", 4_u32).await }
    });
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert!(
        !publisher.is_finished(),
        "the publisher waits while the queue is full"
    );
    assert_eq!(sub.queue_stats().map(|s| s.len), Some(2));
    gate.add_permits(1); // the handler finishes 1 and takes 2: room for 4
    let report = publisher.await.unwrap().unwrap();
    assert_eq!((report.queued(), report.dropped()), (1, 0));
    let mut handled = vec![done.recv().await.unwrap()];
    handled.extend(collect(&gate, &mut done, 3).await);
    assert_eq!(handled, [1, 2, 3, 4]);
    assert_eq!(sub.queue_stats().map(|s| s.dropped), Some(0));
}

#[tokio::test]
async fn memory_stays_bounded_whatever_the_rate() {
    let bus = EventBus::builder().cache_capacity(64).build();
    let (sub, _gate, _done, mut started) = gated(&bus, QueuePolicy::DropOldest);
    bus.publish("work", 0_u32).await.unwrap();
    started.recv().await.unwrap(); // the handler now holds event 0 and waits forever
    for n in 1..=10_000_u32 {
        bus.publish("work", n).await.unwrap();
        assert!(sub.queue_stats().is_some_and(|s| s.len <= 2));
    }
    assert_eq!(sub.queue_stats().map(|s| s.dropped), Some(10_000 - 2));
    // Topics nobody listens to do not accumulate in the route cache.
    for n in 0..10_000 {
        bus.publish(&format!("nobody.{n}"), ()).await.unwrap();
        assert!(bus.has_subscribers("work"));
    }
    assert!(bus.stats().cached_topics <= 64);
}

#[tokio::test(start_paused = true)]
async fn buffer_flushes_on_size_interval_and_demand() {
    let bus = EventBus::new();
    let (_s, seen) = counter(&bus, "metric.>");
    let buffer = bus
        .buffer(BufferConfig::new(3).interval(Duration::from_millis(100)))
        .unwrap();

    // Size: the third event flushes all three.
    assert!(buffer.publish("metric.a", 1).await.unwrap().is_none());
    assert!(buffer.publish("metric.b", 2).await.unwrap().is_none());
    assert_eq!(seen.load(Ordering::SeqCst), 0, "held, not delivered");
    let report = buffer.publish("metric.c", 3).await.unwrap().unwrap();
    assert_eq!((report.reports().len(), report.succeeded()), (3, 3));
    assert_eq!(seen.load(Ordering::SeqCst), 3);

    // Interval: one held event goes out at the next tick, on the paused clock.
    buffer.publish("metric.d", 4).await.unwrap();
    tokio::time::sleep(Duration::from_millis(99)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    tokio::time::sleep(Duration::from_millis(2)).await;
    assert_eq!(seen.load(Ordering::SeqCst), 4);
    assert!(buffer.is_empty());

    // Demand.
    buffer.publish("metric.e", 5).await.unwrap();
    assert_eq!(buffer.flush().await.succeeded(), 1);
    assert_eq!(seen.load(Ordering::SeqCst), 5);
    assert!(buffer.publish("bad topic", 0).await.is_err());
}

#[derive(Debug, Deserialize, PartialEq)]
struct Reading {
    sensor: String,
    value: f64,
}

#[tokio::test]
async fn payloads_in_process_and_as_json() {
    let bus = EventBus::builder().history(10).build();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let _s = bus
        .subscribe("sensor.>", move |e: &Event| -> Result<(), BusError> {
            let reading: Reading = e.deserialize()?;
            let _ = tx.send((reading, e.source().map(str::to_owned)));
            Ok(())
        })
        .unwrap();
    let event = Event::json("sensor.temp", json!({"sensor": "t1", "value": 21.5}))
        .unwrap()
        .with_source("wasm-plugin");
    bus.publish_event(event).await;
    let (reading, source) = rx.recv().await.unwrap();
    assert_eq!(
        reading,
        Reading {
            sensor: "t1".into(),
            value: 21.5
        }
    );
    assert_eq!(source.as_deref(), Some("wasm-plugin"));

    // A JSON payload of the wrong shape fails that handler, with serde's reason.
    let report = bus
        .publish_event(Event::json("sensor.bad", json!([1])).unwrap())
        .await;
    assert_eq!(report.failed(), 1);
    assert!(report.failures()[0].error.to_string().contains("Reading"));

    // An in-process payload is shared, not cloned, across handlers.
    let seen: Arc<Mutex<Vec<usize>>> = Arc::default();
    let subs: Vec<_> = (0..3)
        .map(|_| {
            let seen = seen.clone();
            bus.subscribe("blob", move |e: &Event| {
                if let Some(v) = e.payload::<Vec<u8>>() {
                    seen.lock().push(v.as_ptr() as usize);
                }
            })
            .unwrap()
        })
        .collect();
    bus.publish("blob", vec![0_u8; 1024]).await.unwrap();
    let seen = seen.lock();
    assert_eq!(seen.len(), subs.len());
    assert!(seen.windows(2).all(|w| w[0] == w[1]));

    // History exports as JSON.
    let exported = serde_json::to_value(bus.recent(10)).unwrap();
    assert_eq!(exported[0]["topic"], "sensor.temp");
    assert_eq!(exported[0]["source"], "wasm-plugin");
    assert_eq!(exported[0]["payload"]["value"], 21.5);
    let topics: Vec<_> = bus
        .recent(10)
        .iter()
        .map(|e| e.topic().to_owned())
        .collect();
    assert_eq!(
        topics,
        ["sensor.temp", "sensor.bad", HANDLER_FAILED, "blob"]
    );
    assert_eq!(exported[2]["payload"]["topic"], "sensor.bad");
    assert!(
        exported[3]["payload"].is_null(),
        "an in-process payload has no JSON form"
    );
}

#[tokio::test]
async fn emit_returns_before_delivery_and_batches_deliver_all() {
    let bus = EventBus::new();
    let (_s, seen) = counter(&bus, "fire.>");
    bus.emit("fire.one", ()).unwrap();
    bus.emit_event(Event::new("fire.two", ()).unwrap().with_source("test"))
        .unwrap();
    // This task has not yielded: the bus's task cannot have delivered yet.
    assert_eq!(seen.load(Ordering::SeqCst), 0);
    for _ in 0..SPINS {
        if seen.load(Ordering::SeqCst) == 2 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(
        seen.load(Ordering::SeqCst),
        2,
        "both emitted events delivered"
    );

    let batch = bus
        .publish_batch((0..5).map(|i| Event::new(&format!("fire.batch.{i}"), i).unwrap()))
        .await;
    assert_eq!(
        (batch.reports().len(), batch.matched(), batch.succeeded()),
        (5, 5, 5)
    );
    assert!(batch.is_success());
    assert_eq!(seen.load(Ordering::SeqCst), 7);
}
