//! Issue 21, item 2: request/reply across the bridge, with the `async-nats` client on the
//! other side, against a real `nats-server`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{NatsServer, WAIT};
use futures_util::StreamExt;
use serde_json::json;
use symphra::bus::EventBus;
use symphra_nats::{NatsBridge, ReplyError, RequestError};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_answers_a_request_from_a_nats_client() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("svc.*")
        .connect(&bus)
        .await
        .unwrap();
    let requests = bridge.requests();
    let second_reply = Arc::new(Mutex::new(None));
    let seen_second = second_reply.clone();
    let _module = bus
        .subscribe_async("svc.*", move |event| {
            let requests = requests.clone();
            let seen_second = seen_second.clone();
            async move {
                assert!(requests.is_request(&event));
                let asked = event.json_value().cloned().unwrap_or_default();
                requests
                    .reply(&event, &json!({ "echo": asked, "topic": event.topic() }))
                    .await
                    .unwrap();
                // A request is answered once.
                assert!(!requests.is_request(&event));
                let again = requests.reply(&event, &json!("again")).await;
                *seen_second.lock().unwrap() = Some(again);
            }
        })
        .unwrap();

    let plain = async_nats::connect(server.url()).await.unwrap();
    let answer = tokio::time::timeout(WAIT, plain.request("svc.echo", r#"{"x":1}"#.into()))
        .await
        .unwrap()
        .unwrap();
    let answer: serde_json::Value = serde_json::from_slice(&answer.payload).unwrap();
    assert_eq!(answer, json!({ "echo": {"x": 1}, "topic": "svc.echo" }));
    let ok = common::eventually(WAIT, || second_reply.lock().unwrap().is_some()).await;
    assert!(ok);
    assert!(matches!(
        second_reply.lock().unwrap().take(),
        Some(Err(ReplyError::NotARequest { .. }))
    ));
    let stats = bridge.stats();
    assert_eq!(
        (stats.imported, stats.requests_received, stats.replies_sent),
        (1, 1, 1),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_module_asks_nats_and_each_failure_has_its_type() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .subject_prefix("app")
        .export("unused.*")
        .connect(&bus)
        .await
        .unwrap();
    let plain = async_nats::connect(server.url()).await.unwrap();
    let mut adder = plain.subscribe("app.calc.add").await.unwrap();
    let mut silent = plain.subscribe("app.slow.x").await.unwrap();
    let mut garbled = plain.subscribe("app.bad.x").await.unwrap();
    // A round trip (answered "no responders" after everything before it): the server has
    // the subscriptions.
    let round_trip = plain.request(plain.new_inbox(), "".into()).await;
    assert!(round_trip.is_err());
    let answering = plain.clone();
    tokio::spawn(async move {
        while let Some(message) = adder.next().await {
            let terms: Vec<i64> = serde_json::from_slice(&message.payload).unwrap();
            let sum = terms.iter().sum::<i64>().to_string();
            answering
                .publish(message.reply.unwrap(), sum.into())
                .await
                .unwrap();
        }
    });
    let answering = plain.clone();
    tokio::spawn(async move {
        while let Some(message) = garbled.next().await {
            answering
                .publish(message.reply.unwrap(), "not json".into())
                .await
                .unwrap();
        }
    });
    let (heard_tx, heard_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        // Receives the request and never answers.
        let first = silent.next().await;
        let _ = heard_tx.send(first.is_some());
        std::future::pending::<()>().await;
    });

    let requests = bridge.requests();
    let sum = requests
        .request("calc.add", &json!([1, 2, 39]), WAIT)
        .await
        .unwrap();
    assert_eq!(sum, json!(42));

    let none = requests.request("nobody.home", &json!(null), WAIT).await;
    assert!(
        matches!(&none, Err(RequestError::NoResponders { topic }) if topic == "nobody.home"),
        "{none:?}"
    );
    let slow = requests
        .request("slow.x", &json!(1), Duration::from_millis(200))
        .await;
    assert!(
        matches!(&slow, Err(RequestError::Timeout { waited, .. }) if *waited == Duration::from_millis(200)),
        "{slow:?}"
    );
    assert!(
        heard_rx.await.unwrap(),
        "the silent responder had the request"
    );
    let bad = requests.request("bad.x", &json!(1), WAIT).await;
    assert!(
        matches!(bad, Err(RequestError::InvalidAnswer { .. })),
        "{bad:?}"
    );
    let invalid = requests.request("no..topic", &json!(1), WAIT).await;
    assert!(
        matches!(invalid, Err(RequestError::InvalidTopic { .. })),
        "{invalid:?}"
    );
}
