//! What the bus's values say about themselves in logs and error messages: `Debug` and
//! `Display` name what a reader needs to find the event, subscription or bus they describe.

use std::time::{Duration, UNIX_EPOCH};

use symphra::bus::{
    BufferConfig, Event, EventBus, Pattern, QueueConfig, QueuePolicy, SubscribeOptions,
};

#[tokio::test]
async fn a_bus_shows_its_counters() {
    let bus = EventBus::new();
    let _sub = bus.subscribe("a.b", |_: &Event| {}).unwrap();
    bus.publish("a.b", ()).await.unwrap();
    let text = format!("{bus:?}");
    assert!(text.starts_with("EventBus"), "{text}");
    assert!(
        text.contains("subscriptions: 1") && text.contains("published: 1"),
        "{text}"
    );
}

#[test]
fn an_event_shows_its_id_topic_payload_type_and_source() {
    let event = Event::new("order.created", 7_u16)
        .unwrap()
        .with_source("shop")
        .with_origin("peer-3")
        .with_time(UNIX_EPOCH + Duration::from_secs(5));
    let text = format!("{event:?}");
    for wanted in [
        &format!("{:?}", event.id()),
        "order.created",
        "u16",
        "shop",
        "peer-3",
        &format!("{:?}", event.time()),
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing from {text}");
    }
    assert_eq!(event.id().to_string(), format!("#{}", event.id().get()));
    assert!(event.id().get() > 0, "ids start at 1");
}

#[test]
fn ids_are_shown_as_a_number_sign_and_their_number() {
    let bus = EventBus::new();
    let first = bus.subscribe("a", |_: &Event| {}).unwrap();
    let second = bus.subscribe("a", |_: &Event| {}).unwrap();
    assert!(second.id().get() > first.id().get(), "ids increase");
    assert_eq!(first.id().to_string(), format!("#{}", first.id().get()));
}

#[test]
fn a_subscription_shows_its_id_pattern_tag_and_whether_it_is_active() {
    let bus = EventBus::new();
    let sub = bus
        .subscribe_with(
            "user.*",
            SubscribeOptions::new().tag("accounts"),
            |_: &Event| {},
        )
        .unwrap();
    let text = format!("{sub:?}");
    for wanted in [
        &format!("{:?}", sub.id()),
        "user.*",
        "accounts",
        "active: true",
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing from {text}");
    }
    assert_eq!(sub.pattern().to_string(), "user.*");
    assert!(sub.unsubscribe());
    assert!(format!("{sub:?}").contains("active: false"));
}

#[test]
fn a_pattern_reads_back_as_the_text_it_was_parsed_from() {
    let pattern: Pattern = "order.*.paid".parse().unwrap();
    assert_eq!(pattern.to_string(), "order.*.paid");
    assert_eq!(format!("{pattern:?}"), r#"Pattern("order.*.paid")"#);
    assert!(pattern.matches("order.7.paid") && !pattern.matches("order.7"));
    assert!("order..paid".parse::<Pattern>().is_err());
}

#[tokio::test]
async fn a_buffer_shows_how_many_events_it_holds_and_its_limit() {
    let bus = EventBus::new();
    let buffer = bus.buffer(BufferConfig::new(5)).unwrap();
    buffer.publish("t.a", 1).await.unwrap();
    buffer.publish("t.a", 2).await.unwrap();
    let text = format!("{buffer:?}");
    assert!(
        text.starts_with("EventBuffer")
            && text.contains("len: 2")
            && text.contains("max_events: 5"),
        "{text}"
    );
}

#[test]
fn subscribe_options_show_every_setting() {
    let text = format!(
        "{:?}",
        SubscribeOptions::new()
            .priority(-2)
            .tag("billing")
            .condition(|_| true)
            .queue(QueueConfig::new(3, QueuePolicy::DropOldest))
    );
    for wanted in [
        "priority: -2",
        "once: false",
        "billing",
        "condition: true",
        "capacity: 3",
        "DropOldest",
    ] {
        assert!(text.contains(wanted), "{wanted:?} missing from {text}");
    }
}
