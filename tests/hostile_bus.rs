//! Issue 19, the bus's items: limits on every size (5, 6, 12) and no silent loss (16).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use symphra::bus::{
    BusError, EventBus, MAX_TOPIC_BYTES, MAX_TOPIC_TOKENS, Pattern, QueueConfig, QueuePolicy,
    SubscribeOptions, validate_topic,
};

/// The longest message a refused value may produce: a sentence and a short prefix.
const SHORT_MESSAGE: usize = 400;

#[tokio::test]
async fn item_05_route_cache_is_bounded_in_bytes_and_long_topics_are_refused() {
    let bus = EventBus::new();
    // The 256 KiB topics of the report are refused, and the error quotes a prefix only.
    let huge = format!("t.{}", "x".repeat(256 << 10));
    let error = bus.publish(&huge, ()).await.expect_err("a 256 KiB topic");
    assert!(matches!(error, BusError::TooLong { .. }), "{error:?}");
    assert!(error.to_string().len() < SHORT_MESSAGE, "{error}");
    assert_eq!(
        bus.stats().cached_topics,
        0,
        "a refused topic is not cached"
    );

    // 4,096 distinct topics of the longest allowed length, nobody listening: the cache
    // stays within its byte bound (2 MiB by default), not 4 MiB of topics.
    for i in 0..4096 {
        let topic = format!("t{i:04}.{}", "x".repeat(MAX_TOPIC_BYTES - 6));
        assert_eq!(topic.len(), MAX_TOPIC_BYTES);
        bus.publish(&topic, ())
            .await
            .expect("a topic of the maximum length");
        assert!(bus.stats().cached_bytes <= 2 << 20, "{:?}", bus.stats());
    }
    assert!(bus.stats().cached_topics > 0, "the cache is still used");

    let small = EventBus::builder().cache_bytes(64 << 10).build();
    for i in 0..1000 {
        small
            .publish(&format!("t{i}.{}", "y".repeat(500)), ())
            .await
            .expect("valid");
        assert!(small.stats().cached_bytes <= 64 << 10);
    }
}

#[tokio::test]
async fn item_06_deep_pattern_is_refused_not_a_stack_overflow() {
    let bus = EventBus::new();
    let deep = vec!["a"; 100_000].join(".");
    let error = bus.subscribe(&deep, |_| ()).expect_err("100,000 tokens");
    assert!(matches!(error, BusError::TooLong { .. }), "{error:?}");
    assert!(error.to_string().len() < SHORT_MESSAGE, "{error}");
    let error = bus.publish(&deep, ()).await.expect_err("a deep topic");
    assert!(matches!(error, BusError::TooLong { .. }), "{error:?}");
    // Short tokens pass the byte limit and meet the token limit: one past it is refused.
    let one_too_many = vec!["*"; MAX_TOPIC_TOKENS + 1].join(".");
    let error = Pattern::parse(&one_too_many).expect_err("too many tokens");
    assert!(
        matches!(error, BusError::TooManyTokens { tokens, max, .. }
            if tokens == MAX_TOPIC_TOKENS + 1 && max == MAX_TOPIC_TOKENS),
        "{error:?}"
    );

    // The deepest allowed patterns subscribe, match, and unsubscribe on a thread with a
    // small stack: no walk of the trie recurses once per token.
    let topic = vec!["a"; MAX_TOPIC_TOKENS].join(".");
    let patterns = [
        topic.clone(),
        vec!["*"; MAX_TOPIC_TOKENS].join("."),
        format!("{}.>", vec!["a"; MAX_TOPIC_TOKENS - 1].join(".")),
    ];
    let worker = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let bus = EventBus::new();
                let mut subscriptions = Vec::new();
                for pattern in &patterns {
                    subscriptions.push(bus.subscribe(pattern, |_| ()).expect("at the limit"));
                }
                let report = bus.publish(&topic, ()).await.expect("at the limit");
                assert_eq!(report.succeeded(), 3);
                drop(subscriptions);
                assert_eq!(bus.stats().subscriptions, 0);
                let report = bus.publish(&topic, ()).await.expect("at the limit");
                assert_eq!(report.matched(), 0);
            });
        })
        .expect("a thread");
    worker.join().expect("no stack overflow, no panic");
}

#[test]
fn item_12_topics_have_limits_and_odd_characters_are_named_not_echoed() {
    // 10 MB and 10,000-token topics.
    let ten_mb = "x".repeat(10 << 20);
    let error = validate_topic(&ten_mb).expect_err("10 MB");
    assert!(error.to_string().len() < SHORT_MESSAGE);
    let many = vec!["t"; 10_000].join(".");
    assert!(validate_topic(&many).is_err());
    let many = vec!["t"; MAX_TOPIC_TOKENS + 1].join(".");
    assert!(matches!(
        validate_topic(&many),
        Err(BusError::TooManyTokens { .. })
    ));

    // An invisible character makes no second topic that prints like `ab`.
    for odd in ["a\u{200b}b", "a\u{feff}b", "a\u{202e}b", "a\u{2060}b"] {
        let error = validate_topic(odd).expect_err(odd);
        let message = error.to_string();
        assert!(message.contains("invisible"), "{message}");
        assert!(!message.contains(odd), "echoed raw: {message}");
        assert!(Pattern::parse(odd).is_err(), "{odd:?} as a pattern");
    }

    // Control characters are called that, and are escaped in the message.
    for (topic, code) in [
        ("a.\0", "U+0000"),
        ("a\u{1b}[31m", "U+001B"),
        ("a\nb", "U+000A"),
    ] {
        let message = validate_topic(topic).expect_err(topic).to_string();
        assert!(message.contains("control character"), "{message}");
        assert!(message.contains(code), "{message}");
        assert!(!message.chars().any(char::is_control), "raw: {message:?}");
    }
    let message = validate_topic("a b").expect_err("space").to_string();
    assert!(message.contains("whitespace"), "{message}");

    // A long bad token is quoted by a prefix only.
    let long_bad = format!("a.{} b", "z".repeat(5000));
    let message = validate_topic(&long_bad).expect_err("space").to_string();
    assert!(message.len() < SHORT_MESSAGE, "{message}");
    let message = Pattern::parse(&long_bad).expect_err("space").to_string();
    assert!(message.len() < SHORT_MESSAGE, "{message}");

    // Non-ASCII letters stay valid.
    assert!(validate_topic("ünï.cødé").is_ok());
}

/// Emits to other topics while one async handler never returns.
const OTHER_EMITS: usize = 65_536;
/// Emits to the stalled handler's topic: more than its emit lane holds.
const STUCK_EMITS: u64 = 3_000;
const LANE: usize = 1_024;

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn item_16_a_stalled_async_handler_holds_up_only_itself_and_its_losses_are_counted() {
    let bus = EventBus::builder()
        .emit_queue_capacity(OTHER_EMITS + STUCK_EMITS as usize)
        .emit_lane_capacity(LANE)
        .build();
    let entered = Arc::new(tokio::sync::Notify::new());
    let signal = entered.clone();
    let _stuck = bus
        .subscribe_async("stuck", move |_| {
            let signal = signal.clone();
            async move {
                signal.notify_one();
                std::future::pending::<()>().await;
            }
        })
        .expect("valid");
    // Other subscribers on the other topics: a sync one, and an async one (which gets its
    // events through a lane of its own, as the stalled one does).
    let (sync_seen, async_seen) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let all_delivered = Arc::new(tokio::sync::Notify::new());
    let counter = sync_seen.clone();
    let _sync = bus
        .subscribe("other.*", move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
        })
        .expect("valid");
    let (counter, done) = (async_seen.clone(), all_delivered.clone());
    let _async = bus
        .subscribe_async("other.>", move |_| {
            let (counter, done) = (counter.clone(), done.clone());
            async move {
                if counter.fetch_add(1, Ordering::Relaxed) + 1 == OTHER_EMITS {
                    done.notify_one();
                }
            }
        })
        .expect("valid");

    bus.emit("stuck", ()).expect("accepted");
    entered.notified().await;
    for n in 0..OTHER_EMITS {
        let topic = if n % 2 == 0 {
            "other.even"
        } else {
            "other.odd"
        };
        bus.emit(topic, n).expect("accepted");
        // Interleaved with more events for the stalled handler.
        if (n as u64) < STUCK_EMITS - 1 {
            bus.emit("stuck", ()).expect("accepted");
        }
    }
    // Bounded on the paused clock: a stall fails the test at once instead of hanging.
    tokio::time::timeout(std::time::Duration::from_secs(60), all_delivered.notified())
        .await
        .expect("every emit to the other topics delivered while one handler hangs");
    // The sync subscriber runs on the emitter's task, before the event reaches the lane.
    assert_eq!(sync_seen.load(Ordering::Relaxed), OTHER_EMITS);
    assert_eq!(async_seen.load(Ordering::Relaxed), OTHER_EMITS);

    // Everything emitted was delivered or counted: the stalled handler's events wait in
    // its lane (the one it hangs on included) or were dropped when the lane was full.
    let stats = bus.stats();
    assert_eq!(
        stats.emit_accepted,
        OTHER_EMITS as u64 + STUCK_EMITS,
        "{stats:?}"
    );
    assert_eq!(stats.emit_pending, 0, "{stats:?}");
    assert_eq!(
        stats.emit_lagging + stats.queue_dropped,
        STUCK_EMITS,
        "{stats:?}"
    );
    assert!(
        (LANE as u64..=LANE as u64 + 1).contains(&stats.emit_lagging),
        "the lane holds what fits: {stats:?}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn item_16_a_publisher_looping_on_a_dropping_queue_yields() {
    let bus = EventBus::new();
    let handled = Arc::new(AtomicUsize::new(0));
    let counter = handled.clone();
    let _queued = bus
        .subscribe_with(
            "work",
            SubscribeOptions::new().queue(QueueConfig::new(4, QueuePolicy::DropNewest)),
            move |_| {
                counter.fetch_add(1, Ordering::Relaxed);
            },
        )
        .expect("valid");
    let ticks = Arc::new(AtomicUsize::new(0));
    let ticker = {
        let ticks = ticks.clone();
        tokio::spawn(async move {
            loop {
                ticks.fetch_add(1, Ordering::Relaxed);
                tokio::task::yield_now().await;
            }
        })
    };
    // The loop awaits nothing but `publish`: on a current-thread runtime the subscriber's
    // task and the ticker run only if `publish` yields.
    for _ in 0..10_000 {
        bus.publish("work", ()).await.expect("valid");
    }
    let (handled, ticks) = (
        handled.load(Ordering::Relaxed),
        ticks.load(Ordering::Relaxed),
    );
    ticker.abort();
    assert!(handled > 4, "the subscriber handled {handled} events");
    assert!(ticks > 0, "the other task never ran");
}

#[tokio::test(flavor = "current_thread")]
async fn item_16_queue_dropped_is_monotonic_when_the_subscriber_leaves() {
    let bus = EventBus::new();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let held = gate.clone();
    let queued = bus
        .subscribe_async_with(
            "work",
            SubscribeOptions::new().queue(QueueConfig::new(1, QueuePolicy::DropNewest)),
            move |_| {
                let held = held.clone();
                async move {
                    let _ = held.acquire().await;
                }
            },
        )
        .expect("valid");
    for _ in 0..10 {
        bus.publish("work", ()).await.expect("valid");
    }
    let dropped = bus.stats().queue_dropped;
    assert!(dropped >= 8, "{dropped}");
    drop(queued);
    gate.close();
    assert_eq!(
        bus.stats().queue_dropped,
        dropped,
        "still counted after it left"
    );
}
