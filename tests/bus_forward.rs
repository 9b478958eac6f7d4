//! `EventBus::forward`: a publish whose report nobody reads does what `publish_event` does
//! (deliveries, history, counters, failure notices), untimed.

use std::sync::{Arc, Mutex};

use symphra::bus::{Event, EventBus, HANDLER_FAILED, HandlerFailure, HistoryQuery};

#[tokio::test]
async fn forward_delivers_records_counts_and_announces_as_publish_event_does() {
    let bus = EventBus::builder().history(16).build();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let record = |name: &'static str| {
        let heard = heard.clone();
        move |event: &Event| {
            heard
                .lock()
                .map(|mut heard| heard.push((name, event.topic().to_owned())))
                .ok();
        }
    };
    let _ok = bus.subscribe("order.*", record("ok")).unwrap();
    let _fails = bus
        .subscribe("order.paid", |_: &Event| Err::<(), _>("no stock"))
        .unwrap();
    let notices = Arc::new(Mutex::new(Vec::new()));
    let kept = notices.clone();
    let _notices = bus
        .subscribe(HANDLER_FAILED, move |event: &Event| {
            let failure = event.payload::<HandlerFailure>().cloned();
            kept.lock().map(|mut kept| kept.extend(failure)).ok();
        })
        .unwrap();

    let paid = Event::new("order.paid", 3_u32).unwrap().with_source("shop");
    let id = paid.id();
    bus.forward(paid).await;
    bus.forward(Event::new("nobody.listens", ()).unwrap()).await;

    assert_eq!(
        *heard.lock().unwrap(),
        [("ok", "order.paid".to_owned())],
        "delivered to the handlers that match"
    );
    let notices = notices.lock().unwrap();
    assert_eq!(notices.len(), 1, "the failure is announced: {notices:?}");
    assert_eq!(notices[0].event_id, id);
    let stats = bus.stats();
    // The two forwarded events (failure notices are not counted as published), and the
    // deliveries of the first: both handlers.
    assert_eq!(
        (stats.published, stats.delivered, stats.handler_failures),
        (2, 2, 1)
    );
    assert_eq!(bus.unconsumed(), 1, "the event nobody listened to");
    let recorded: Vec<String> = bus
        .history(&HistoryQuery::new())
        .iter()
        .map(|event| event.topic().to_owned())
        .collect();
    assert_eq!(recorded, ["order.paid", HANDLER_FAILED, "nobody.listens"]);
}

/// A route with an async handler is not delivered on the spot: awaited the general way,
/// with the same counts.
#[tokio::test]
async fn forward_awaits_async_handlers_and_counts_them() {
    let bus = EventBus::new();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let kept = heard.clone();
    let _async = bus
        .subscribe_async("order.*", move |event: Event| {
            let kept = kept.clone();
            async move {
                tokio::task::yield_now().await;
                kept.lock().map(|mut kept| kept.push(event.id())).ok();
                Err::<(), _>("refused")
            }
        })
        .unwrap();
    let event = Event::new("order.paid", ()).unwrap();
    let id = event.id();
    bus.forward(event).await;
    assert_eq!(
        *heard.lock().unwrap(),
        [id],
        "awaited before forward returned"
    );
    let stats = bus.stats();
    assert_eq!(
        (stats.published, stats.delivered, stats.handler_failures),
        (1, 1, 1)
    );
}
