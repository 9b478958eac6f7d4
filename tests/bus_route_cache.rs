//! What the route cache counts against its byte bound (`BusStats::cached_bytes`,
//! `EventBusBuilder::cache_bytes`): each cached topic's text and its subscribers' handles.

use std::sync::Arc;

use parking_lot::Mutex;
use symphra::bus::{Event, EventBus, SubscribeOptions, Subscription};

/// The bytes a fresh bus's cache holds after one publish on `topic`, with `subscribers`
/// subscribers of it.
async fn cached_bytes_of(topic: &str, subscribers: usize) -> usize {
    let bus = EventBus::new();
    let _subs: Vec<Subscription> = (0..subscribers)
        .map(|_| bus.subscribe(topic, |_: &Event| {}).unwrap())
        .collect();
    bus.publish(topic, ()).await.unwrap();
    let stats = bus.stats();
    assert_eq!(stats.cached_topics, 1, "{stats:?}");
    stats.cached_bytes
}

#[tokio::test]
async fn a_cached_topic_counts_its_length_byte_for_byte() {
    let short = cached_bytes_of("t.a", 0).await;
    let longer = cached_bytes_of("t.a0123456789", 0).await;
    assert!(
        short > "t.a".len(),
        "the route's bookkeeping counts too: {short}"
    );
    assert_eq!(
        longer - short,
        10,
        "ten more bytes of topic: {short} -> {longer}"
    );
}

#[tokio::test]
async fn each_subscriber_of_a_cached_topic_counts_at_least_its_handle() {
    let alone = cached_bytes_of("t.a", 0).await;
    let heard = cached_bytes_of("t.a", 4).await;
    assert!(
        heard >= alone + 4 * size_of::<usize>(),
        "four subscribers' handles: {alone} -> {heard}"
    );
}

#[tokio::test]
async fn a_bus_without_a_cache_caches_nothing_and_still_delivers() {
    let bus = EventBus::builder().cache_capacity(0).build();
    let _sub = bus.subscribe("t.a", |_: &Event| {}).unwrap();
    for _ in 0..3 {
        assert_eq!(bus.publish("t.a", ()).await.unwrap().matched(), 1);
    }
    assert!(bus.has_subscribers("t.a"));
    let stats = bus.stats();
    assert_eq!(
        (stats.cached_topics, stats.cached_bytes),
        (0, 0),
        "{stats:?}"
    );
}

#[tokio::test]
async fn a_subscriber_added_to_a_cached_topic_takes_its_place_by_priority_then_age() {
    let bus = EventBus::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let subscribe = |name: &'static str, priority: i32| {
        let order = Arc::clone(&order);
        bus.subscribe_with(
            "t.a",
            SubscribeOptions::new().priority(priority),
            move |_: &Event| order.lock().push(name),
        )
        .unwrap()
    };
    let _low = subscribe("low", 0);
    let _high = subscribe("high", 10);
    bus.publish("t.a", ()).await.unwrap(); // the route of `t.a` is cached now
    // Exact patterns patch the cached route in place: each must land in its order.
    let _mid = subscribe("mid", 5);
    let _top = subscribe("top", 20);
    let _low_later = subscribe("low-later", 0);
    let _bottom = subscribe("bottom", -1);
    assert_eq!(bus.stats().cached_topics, 1);
    order.lock().clear();
    bus.publish("t.a", ()).await.unwrap();
    assert_eq!(
        *order.lock(),
        ["top", "high", "mid", "low", "low-later", "bottom"]
    );
}

#[tokio::test]
async fn routes_that_fill_the_byte_bound_exactly_are_all_cached() {
    let one = cached_bytes_of("t.a", 0).await;
    // A bound of exactly one route's weight caches it.
    let tight = EventBus::builder().cache_bytes(one).build();
    tight.publish("t.a", ()).await.unwrap();
    assert_eq!(tight.stats().cached_topics, 1, "{:?}", tight.stats());
    // A bound of exactly two routes' weight caches both (topics of the same length).
    let two = EventBus::builder().cache_bytes(2 * one).build();
    two.publish("t.a", ()).await.unwrap();
    two.publish("t.b", ()).await.unwrap();
    let stats = two.stats();
    assert_eq!(
        (stats.cached_topics, stats.cached_bytes),
        (2, 2 * one),
        "{stats:?}"
    );
    // One byte less, and the second empties the cache before it goes in.
    let short = EventBus::builder().cache_bytes(2 * one - 1).build();
    short.publish("t.a", ()).await.unwrap();
    short.publish("t.b", ()).await.unwrap();
    let stats = short.stats();
    assert_eq!(
        (stats.cached_topics, stats.cached_bytes),
        (1, one),
        "{stats:?}"
    );
}

#[tokio::test]
async fn a_stale_route_matched_again_replaces_its_own_weight() {
    let one = cached_bytes_of("t.a", 0).await;
    let bus = EventBus::builder().cache_bytes(2 * one).build();
    bus.publish("t.a", ()).await.unwrap();
    bus.publish("t.b", ()).await.unwrap();
    // A wildcard subscription makes every cached route stale; `t.a` is matched again and
    // takes the place of its old route, which it weighs the same as: nothing is evicted.
    let _wild = bus.subscribe("x.*", |_: &Event| {}).unwrap();
    bus.publish("t.a", ()).await.unwrap();
    let stats = bus.stats();
    assert_eq!(
        (stats.cached_topics, stats.cached_bytes),
        (2, 2 * one),
        "{stats:?}"
    );
}

#[tokio::test]
async fn subscribing_to_a_cached_topic_patches_its_weight_rather_than_adding_it_again() {
    let bus = EventBus::new();
    bus.publish("t.a", ()).await.unwrap();
    let alone = bus.stats().cached_bytes;
    let sub = bus.subscribe("t.a", |_: &Event| {}).unwrap();
    let heard = bus.stats();
    assert_eq!(heard.cached_topics, 1, "patched in place: {heard:?}");
    assert!(
        heard.cached_bytes > alone && heard.cached_bytes < 2 * alone,
        "one handle more, not the route twice: {alone} -> {}",
        heard.cached_bytes
    );
    assert!(sub.unsubscribe());
    let after = bus.stats().cached_bytes;
    assert!(
        after >= alone && after <= heard.cached_bytes,
        "the handle is gone again: {after}"
    );
}
