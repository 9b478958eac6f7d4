//! `EventBus::prepare` and `forward_on`: a kept route follows every subscription change,
//! and an event it does not fit (another topic, another bus) goes the general way.

use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::json;
use symphra::bus::{BusError, Event, EventBus, HistoryQuery, PreparedTopic, SubscribeOptions};

type Heard = Arc<Mutex<Vec<(&'static str, String)>>>;

fn record(heard: &Heard, name: &'static str) -> impl Fn(&Event) + Send + Sync + 'static {
    let heard = heard.clone();
    move |event| {
        heard
            .lock()
            .map(|mut heard| heard.push((name, event.topic().to_owned())))
            .ok();
    }
}

fn take(heard: &Heard) -> Vec<(&'static str, String)> {
    std::mem::take(&mut *heard.lock().unwrap())
}

#[tokio::test]
async fn a_prepared_topic_follows_subscribes_and_unsubscribes() {
    let bus = EventBus::builder().history(8).build();
    let heard = Heard::default();
    let first = bus.subscribe("in.x", record(&heard, "first")).unwrap();
    let mut prepared = bus.prepare("in.x").unwrap();
    assert_eq!(prepared.topic(), "in.x");
    assert_eq!(
        format!("{prepared:?}"),
        r#"PreparedTopic { topic: "in.x", subscribers: 1 }"#
    );
    let time = UNIX_EPOCH + Duration::from_secs(7);
    let send = |prepared: &PreparedTopic, n: u32| {
        let event = prepared.json_event(json!(n), time);
        assert_eq!((event.topic(), event.time()), ("in.x", time));
        assert_eq!(event.json_value(), Some(&json!(n)));
        event
    };

    let event = send(&prepared, 1);
    bus.forward_on(&mut prepared, event).await;
    assert_eq!(take(&heard), [("first", "in.x".to_owned())]);

    // A wildcard and an exact subscription added after the route was kept.
    let _wild = bus
        .subscribe_with(
            "in.*",
            SubscribeOptions::new().priority(5),
            record(&heard, "wild"),
        )
        .unwrap();
    let event = send(&prepared, 2);
    bus.forward_on(&mut prepared, event).await;
    assert_eq!(
        take(&heard),
        [("wild", "in.x".to_owned()), ("first", "in.x".to_owned())]
    );

    first.unsubscribe();
    let event = send(&prepared, 3);
    bus.forward_on(&mut prepared, event).await;
    assert_eq!(take(&heard), [("wild", "in.x".to_owned())]);

    let stats = bus.stats();
    assert_eq!((stats.published, stats.delivered), (3, 4));
    assert_eq!(bus.history(&HistoryQuery::new()).len(), 3);
}

#[tokio::test]
async fn an_event_the_prepared_topic_does_not_fit_goes_the_general_way() {
    let bus = EventBus::new();
    let other_bus = EventBus::new();
    let heard = Heard::default();
    let _x = bus.subscribe("in.x", record(&heard, "x")).unwrap();
    let _y = bus.subscribe("in.y", record(&heard, "y")).unwrap();
    let _other = other_bus
        .subscribe("in.x", record(&heard, "other"))
        .unwrap();
    let mut prepared = bus.prepare("in.x").unwrap();

    // Another topic on the same bus: its own route.
    bus.forward_on(&mut prepared, Event::new("in.y", ()).unwrap())
        .await;
    assert_eq!(take(&heard), [("y", "in.y".to_owned())]);
    // The same topic on another bus: that bus's route, not the kept one.
    other_bus
        .forward_on(&mut prepared, Event::new("in.x", ()).unwrap())
        .await;
    assert_eq!(take(&heard), [("other", "in.x".to_owned())]);
    assert_eq!(other_bus.stats().published, 1);
    assert_eq!(bus.stats().published, 1);
}

#[test]
fn an_invalid_topic_is_not_prepared() {
    let bus = EventBus::new();
    assert!(matches!(
        bus.prepare("in.*"),
        Err(BusError::InvalidTopic { .. })
    ));
    assert!(bus.prepare("").is_err());
}
