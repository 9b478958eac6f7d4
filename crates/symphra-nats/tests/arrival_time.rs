//! The arrival time of imported events: the messages an import finds waiting in the client
//! are taken together, up to 32, and stamped with one clock reading, which is between their
//! sending and their delivery.

mod common;

use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use common::{NatsServer, Recorder, WAIT};
use symphra::bus::{Event, EventBus};
use symphra_nats::NatsBridge;

/// How many waiting messages an import takes at once (`import::READY_AT_ONCE`).
const AT_ONCE: usize = 32;
const MESSAGES: u64 = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_messages_share_one_arrival_time_between_their_sending_and_their_delivery() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let _bridge = NatsBridge::builder(server.url())
        .import("in.*")
        .import("mark.*")
        .connect(&bus)
        .await
        .unwrap();
    // The first message's handler holds the import until the others wait in the client.
    let gate = Arc::new(tokio::sync::Notify::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (held, record) = (gate.clone(), seen.clone());
    let _sub = bus
        .subscribe_async("in.*", move |event: Event| {
            let (held, record) = (held.clone(), record.clone());
            async move {
                let n = event.json_value().and_then(|n| n.as_u64());
                if n == Some(0) {
                    held.notified().await;
                }
                let delivered = SystemTime::now();
                record.lock().unwrap().push((n, event.time(), delivered));
            }
        })
        .unwrap();
    let (marks, _marks) = Recorder::on(&bus, "mark.*");

    let sent = SystemTime::now();
    let plain = async_nats::connect(server.url()).await.unwrap();
    for n in 0..MESSAGES {
        plain.publish("in.x", n.to_string().into()).await.unwrap();
    }
    // The client hands messages to its subscriptions in the order they came: once the
    // mark, sent last, is on the bus, every `in.x` message is in the client.
    plain.publish("mark.x", "1".into()).await.unwrap();
    plain.flush().await.unwrap();
    marks.wait_for(1).await;
    gate.notify_one();
    let all = common::eventually(WAIT, || seen.lock().unwrap().len() == MESSAGES as usize).await;
    assert!(all, "{} of {MESSAGES} arrived", seen.lock().unwrap().len());

    let seen = seen.lock().unwrap();
    let order: Vec<Option<u64>> = seen.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(order, (0..MESSAGES).map(Some).collect::<Vec<_>>());
    for (n, time, delivered) in seen.iter() {
        assert!(
            sent <= *time && time <= delivered,
            "message {n:?}: sent {sent:?}, stamped {time:?}, delivered {delivered:?}"
        );
    }
    assert!(
        seen.windows(2).all(|pair| pair[0].1 <= pair[1].1),
        "stamps follow the order of arrival"
    );
    // The held message was taken with whatever had arrived with it, at most `AT_ONCE`;
    // once it is released, everything else waits in the client, and goes in groups of
    // `AT_ONCE`, the last one smaller.
    let runs: Vec<usize> = seen.chunk_by(|a, b| a.1 == b.1).map(<[_]>::len).collect();
    assert!(
        runs.len() > 2 && runs[1] == AT_ONCE,
        "groups of one time: {runs:?}"
    );
    assert!(runs.iter().all(|run| *run <= AT_ONCE), "{runs:?}");
}
