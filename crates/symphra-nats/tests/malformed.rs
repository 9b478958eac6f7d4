//! Issue 21, item 1: messages the NATS client cannot parse, sent by a raw socket client in the
//! middle of a stream, cost those messages and not the connection.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{NatsServer, RawClient, eventually};
use symphra::bus::{EventBus, Subscription};
use symphra_nats::NatsBridge;

const WAIT: Duration = Duration::from_secs(20);
const N: u64 = 1000;

type Received = Arc<Mutex<Vec<u64>>>;

/// Publishes `{"n":0}` .. on `t1.a` with a malformed subject and a malformed header in the
/// middle (and a well-formed message with a bad body), and returns once the server has
/// processed them all (the raw client's PONG is in): the bridge and what its bus received.
async fn stream_with_malformed_messages(
    relay: bool,
) -> (NatsServer, NatsBridge, Received, Subscription) {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("t1.*")
        .relay(relay)
        .max_reconnect_delay(Duration::from_millis(20))
        .connect(&bus)
        .await
        .unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    let sub = bus
        .subscribe("t1.*", move |e| {
            let n = e.json_value().and_then(|v| v["n"].as_u64()).unwrap();
            sink.lock().unwrap().push(n);
        })
        .unwrap();

    let mut raw = RawClient::connect(server.port()).await;
    for n in 0..N {
        raw.publish(b"t1.a", format!("{{\"n\":{n}}}").as_bytes())
            .await;
        if n == N / 2 {
            raw.publish(b"t1.\xff", b"{\"n\":9999}").await;
            raw.publish_with_header("t1.a", b"Bad Name: x", b"{\"n\":9998}")
                .await;
            raw.publish_with_header("t1.a", b"Symphra-Event: a b c d", b"{\"n\":9997}x")
                .await;
        }
    }
    raw.ping().await;
    (server, bridge, received, sub)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_subject_and_header_are_skipped_and_the_connection_stays() {
    let (_server, bridge, received, _sub) = stream_with_malformed_messages(true).await;
    let all_in = eventually(WAIT, || received.lock().unwrap().len() as u64 >= N).await;
    assert!(all_in, "{:?}", bridge.stats());
    let stats = bridge.stats();
    let received = received.lock().unwrap().clone();
    assert_eq!(
        received,
        (0..N).collect::<Vec<_>>(),
        "every good message, in order"
    );
    assert_eq!(stats.disconnects, 0, "{stats:?}");
    assert_eq!(stats.invalid_subject, 1, "{stats:?}");
    assert_eq!(stats.invalid_headers, 1, "{stats:?}");
    assert_eq!(
        stats.invalid_json, 1,
        "the well-formed message with a bad body: {stats:?}"
    );
    assert_eq!(stats.imported, N, "{stats:?}");
}

/// The reproduction of the upstream fault (`docs/dev/async-nats-malformed-messages.md`):
/// connected directly, the client drops the connection on the first malformed message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_relay_a_malformed_subject_costs_the_connection() {
    let (_server, bridge, _, _sub) = stream_with_malformed_messages(false).await;
    let dropped = eventually(WAIT, || bridge.stats().disconnects >= 1).await;
    let stats = bridge.stats();
    assert!(dropped, "{stats:?}");
    assert_eq!(
        stats.invalid_subject + stats.invalid_headers,
        0,
        "{stats:?}"
    );
}
