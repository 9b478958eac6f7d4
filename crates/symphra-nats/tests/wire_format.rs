//! What other clients see of an exported event, and what the bridge makes of messages in the
//! format every bridge sent before metadata became optional (a `Symphra-Event` header on
//! each message), against a real `nats-server`.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use common::{NatsServer, Recorder, WAIT};
use futures_util::StreamExt;
use serde_json::{Value, json};
use symphra::bus::{Event, EventBus};
use symphra_nats::{NatsBridge, wire::EVENT_HEADER};

/// The next message of `messages`, within [`WAIT`].
async fn next(messages: &mut async_nats::Subscriber) -> async_nats::Message {
    tokio::time::timeout(WAIT, messages.next())
        .await
        .expect("a message within the wait")
        .expect("the subscription is open")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_client_reads_the_payload_as_json_with_or_without_metadata() {
    let server = NatsServer::start();
    let plain = async_nats::connect(server.url()).await.unwrap();
    let mut messages = plain.subscribe("shop.order.*").await.unwrap();
    plain.flush().await.unwrap();
    let payload = json!({"id": 7, "items": ["a", "b"], "total": 12.5});

    for metadata in [false, true] {
        let bus = EventBus::new();
        let bridge = NatsBridge::builder(server.url())
            .subject_prefix("shop")
            .export("order.*")
            .metadata(metadata)
            .connect(&bus)
            .await
            .unwrap();
        let event = Event::json("order.created", payload.clone())
            .unwrap()
            .with_source("orders");
        bus.publish_event(event).await;
        bridge.flush().await.unwrap();

        let message = next(&mut messages).await;
        assert_eq!(message.subject.as_str(), "shop.order.created");
        // The body is the payload's JSON and nothing else, whatever the metadata setting.
        let body: Value = serde_json::from_slice(&message.payload).unwrap();
        assert_eq!(body, payload, "metadata {metadata}");
        let header = message
            .headers
            .as_ref()
            .and_then(|h| h.get(EVENT_HEADER))
            .map(|v| v.as_str().to_owned());
        match (metadata, header) {
            (false, None) => assert!(message.headers.is_none(), "no header block at all"),
            (true, Some(value)) => {
                assert!(
                    value.starts_with(&format!("{} ", bridge.origin())),
                    "{value}"
                );
                assert!(value.ends_with(" orders"), "{value}");
            }
            (metadata, header) => panic!("metadata {metadata} but header {header:?}"),
        }
        assert_eq!(bridge.stats().exported, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_header_less_event_arrives_as_a_plain_clients_would() {
    let server = NatsServer::start();
    let (a, b) = (EventBus::new(), EventBus::new());
    let sender = NatsBridge::builder(server.url())
        .export("note.*")
        .connect(&a)
        .await
        .unwrap();
    let receiver = NatsBridge::builder(server.url())
        .import("note.*")
        .connect(&b)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&b, "note.*");
    let sent = Event::json("note.x", json!([1, 2]))
        .unwrap()
        .with_source("writer")
        .with_time(SystemTime::now() - Duration::from_secs(60));
    let before = SystemTime::now();
    a.publish_event(sent).await;
    sender.flush().await.unwrap();
    seen.wait_for(1).await;
    let got = &seen.events()[0];
    assert_eq!(got.json_value(), Some(&json!([1, 2])));
    // Without the header: the origin of any plain client, no source, the arrival time.
    assert_eq!(got.origin(), Some("nats"));
    assert_eq!(got.source(), None);
    assert!(got.time() >= before, "{:?} is the arrival time", got.time());
    assert_eq!(receiver.stats().imported, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn old_format_messages_are_accepted_with_their_metadata() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("legacy.*")
        .connect(&bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&bus, "legacy.*");
    // What a bridge of the previous release sends for every event: origin, id, time, source.
    let time = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
    let now = SystemTime::now();
    let recent = now - Duration::from_secs(1);
    let nanos = recent.duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let old = async_nats::connect(server.url()).await.unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(
        EVENT_HEADER,
        format!("billing/42/1-0000abcd 7 {nanos} invoices").as_str(),
    );
    old.publish_with_headers("legacy.paid", headers, "{\"n\":1}".into())
        .await
        .unwrap();
    // And one whose time is far from ours: accepted, its time not believed.
    let mut stale = HeaderMap::new();
    let old_nanos = time.duration_since(UNIX_EPOCH).unwrap().as_nanos();
    stale.insert(
        EVENT_HEADER,
        format!("billing/42/1-0000abcd 8 {old_nanos}").as_str(),
    );
    old.publish_with_headers("legacy.paid", stale, "{\"n\":2}".into())
        .await
        .unwrap();
    old.flush().await.unwrap();
    seen.wait_for(2).await;

    let events = seen.events();
    assert_eq!(events[0].origin(), Some("billing/42/1-0000abcd"));
    assert_eq!(events[0].source(), Some("invoices"));
    let believed = events[0].time().duration_since(UNIX_EPOCH).unwrap();
    assert_eq!(believed.as_nanos(), nanos);
    assert_eq!(events[1].origin(), Some("billing/42/1-0000abcd"));
    assert!(events[1].time() >= now, "the arrival time, not 2023's");
    let stats = bridge.stats();
    assert_eq!(
        (stats.imported, stats.clock_skew_clamped),
        (2, 1),
        "{stats:?}"
    );
}
