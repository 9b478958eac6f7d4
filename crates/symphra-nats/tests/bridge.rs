//! The bridge against a real `nats-server` (started per test by `common::NatsServer`).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use common::{Gate, NatsServer, Recorder, WAIT, eventually, n_of, publish_n};
use serde_json::json;
use symphra::bus::{Event, EventBus};
use symphra_nats::{ConnectionState, NatsBridge};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_exchange_events_both_ways() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .name("parent")
        .export("ping.*")
        .import("pong.*")
        .metadata(true)
        .connect(&bus)
        .await
        .unwrap();
    let (pongs, _sub) = Recorder::on(&bus, "pong.*");

    let mut child = Command::new(env!("CARGO_BIN_EXE_symphra-nats-peer"))
        .arg(server.url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).map(|_| line)
    });
    let line = tokio::time::timeout(WAIT, ready)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let peer_origin = line.trim().strip_prefix("ready ").unwrap().to_owned();
    assert!(peer_origin.starts_with("peer/"), "{line}");

    const N: u64 = 500;
    for n in 0..N {
        let ping = Event::json(&format!("ping.{}", n % 7), json!({ "n": n }))
            .unwrap()
            .with_source("parent-module");
        bus.publish_event(ping).await;
    }
    pongs.wait_for(N as usize).await;

    let events = pongs.events();
    let numbers: BTreeSet<u64> = events.iter().map(n_of).collect();
    assert_eq!(numbers, (0..N).collect());
    for pong in &events {
        assert_eq!(pong.source(), Some("peer"));
        assert_eq!(pong.origin(), Some(peer_origin.as_str()));
        let v = pong.json_value().unwrap();
        assert_eq!(v["ping_source"], "parent-module");
        assert_eq!(v["ping_origin"], bridge.origin());
    }
    bridge.flush().await.unwrap(); // confirms what was exported
    let stats = bridge.stats();
    assert_eq!((stats.exported, stats.imported), (N, N));

    drop(child.stdin.take()); // the peer exits when its input closes
    let status = tokio::time::timeout(WAIT, tokio::task::spawn_blocking(move || child.wait()))
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(status.success(), "peer exited with {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wildcard_imports_and_prefixes() {
    let server = NatsServer::start();
    let (a, b, other) = (EventBus::new(), EventBus::new(), EventBus::new());
    let _sender = NatsBridge::builder(server.url())
        .export("*")
        .connect(&a)
        .await
        .unwrap();
    let _isolated = NatsBridge::builder(server.url())
        .subject_prefix("elsewhere")
        .export("*")
        .connect(&other)
        .await
        .unwrap();
    let receiver = NatsBridge::builder(server.url())
        .import("user.>")
        .import("order.*")
        .connect(&b)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&b, "*");

    for topic in ["elsewhere.user.x", "user.x"] {
        // Sent under the `elsewhere` prefix: invisible to an unprefixed bridge.
        other
            .publish_event(Event::json(topic, json!(0)).unwrap())
            .await;
    }
    for topic in [
        "user.created",
        "user.a.b",
        "order.paid",
        "order.x.y",
        "billing.sent",
        "user",
    ] {
        a.publish_event(Event::json(topic, json!(1)).unwrap()).await;
    }
    // Sentinels on both imports: NATS keeps each publisher's order per subscription.
    for topic in ["user.end", "order.end"] {
        a.publish_event(Event::json(topic, json!(2)).unwrap()).await;
    }
    seen.wait_for(5).await;
    let expected: BTreeSet<String> = [
        "user.created",
        "user.a.b",
        "order.paid",
        "user.end",
        "order.end",
    ]
    .map(String::from)
    .into();
    assert_eq!(seen.topics(), expected);
    assert_eq!(seen.len(), 5);
    assert_eq!(receiver.stats().imported, 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_never_loop_without_metadata() {
    events_never_loop(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_never_loop_with_metadata() {
    events_never_loop(true).await;
}

/// Two bridges that export and import the same pattern, and one alone, sending metadata
/// headers or not: nothing is sent back or heard twice.
async fn events_never_loop(metadata: bool) {
    let server = NatsServer::start();
    let (a, b, c) = (EventBus::new(), EventBus::new(), EventBus::new());
    let bridge = |bus: EventBus| {
        let url = server.url();
        async move {
            NatsBridge::builder(url)
                .export("chat.*")
                .import("chat.*")
                .metadata(metadata)
                .connect(&bus)
                .await
                .unwrap()
        }
    };
    let (ba, bb) = (bridge(a.clone()).await, bridge(b.clone()).await);
    let (on_a, _sa) = Recorder::on(&a, "chat.*");
    let (on_b, _sb) = Recorder::on(&b, "chat.*");

    publish_n(&a, "chat.a", 0..100).await;
    on_b.wait_for(100).await;
    ba.flush().await.unwrap();
    bb.flush().await.unwrap();
    // A round trip from b to a after everything else: anything a loop sent back is ahead.
    publish_n(&b, "chat.b", 1000..1001).await;
    bb.flush().await.unwrap();
    let ok = eventually(WAIT, || on_a.len() == 101).await;
    assert!(ok, "a saw {} events", on_a.len());

    let (sa, sb) = (ba.stats(), bb.stats());
    assert_eq!((sa.exported, sa.imported), (100, 1), "{sa:?}");
    assert_eq!((sb.exported, sb.imported), (1, 100), "{sb:?}");
    assert_eq!(on_b.len(), 101, "b's own event once, a's 100 once");
    assert!(
        on_b.events()
            .iter()
            .filter(|e| e.origin().is_some())
            .all(|e| e.topic() == "chat.a")
    );

    // A bridge that exports and imports the same pattern does not hear itself.
    let solo = NatsBridge::builder(server.url())
        .export("solo.*")
        .import("solo.*")
        .metadata(metadata)
        .connect(&c)
        .await
        .unwrap();
    let (on_c, _sc) = Recorder::on(&c, "solo.*");
    publish_n(&c, "solo.x", 0..10).await;
    solo.flush().await.unwrap();
    solo.client()
        .publish("solo.end", "{}".into())
        .await
        .unwrap();
    // The sentinel comes from the bridge's own client but without its origin header; with
    // `no_echo` it is not delivered back, so use a separate plain client instead.
    let plain = async_nats::connect(server.url()).await.unwrap();
    plain.publish("solo.end", "{}".into()).await.unwrap();
    plain.flush().await.unwrap();
    let ok = eventually(WAIT, || on_c.len() == 11).await;
    assert!(ok, "c saw {} events", on_c.len());
    let imported: Vec<_> = on_c
        .events()
        .into_iter()
        .filter(|e| e.origin().is_some())
        .collect();
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].origin(), Some("nats"));
    assert_eq!(solo.stats().exported, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_group_shares_the_work() {
    let server = NatsServer::start();
    let producer_bus = EventBus::new();
    let producer = NatsBridge::builder(server.url())
        .export("job.*")
        .export("ctl.*")
        .connect(&producer_bus)
        .await
        .unwrap();
    let mut workers = Vec::new();
    for _ in 0..3 {
        let bus = EventBus::new();
        let bridge = NatsBridge::builder(server.url())
            .import_queue("job.*", "workers")
            .import("ctl.*")
            .connect(&bus)
            .await
            .unwrap();
        let (jobs, sub) = Recorder::on(&bus, "job.*");
        let (ctl, sub2) = Recorder::on(&bus, "ctl.*");
        workers.push((bus, bridge, jobs, ctl, sub, sub2));
    }

    const N: u64 = 3000;
    publish_n(&producer_bus, "job.run", 0..N).await;
    producer.flush().await.unwrap();
    let total = || workers.iter().map(|w| w.2.len()).sum::<usize>();
    let ok = eventually(WAIT, || total() >= N as usize).await;
    assert!(ok, "workers handled {} of {N}", total());
    // A fan-out sentinel after the jobs: once every worker has it, no job is still in flight.
    publish_n(&producer_bus, "ctl.done", 0..1).await;
    let ok = eventually(WAIT, || workers.iter().all(|w| w.3.len() == 1)).await;
    assert!(ok, "sentinel not seen by all workers");

    let mut all = Vec::new();
    for (_, bridge, jobs, ..) in &workers {
        let handled = jobs.events();
        assert!(!handled.is_empty(), "a worker handled nothing");
        assert_eq!(bridge.stats().imported, handled.len() as u64 + 1);
        all.extend(handled.iter().map(n_of));
    }
    assert_eq!(all.len(), N as usize, "each job exactly once");
    all.sort_unstable();
    all.dedup();
    assert_eq!(all, (0..N).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_killed_and_restarted_mid_stream() {
    let mut server = NatsServer::start();
    // The exporter reaches the server through a gate, so that after the restart it connects
    // only once the importer has subscribed again (NATS does not keep messages for absent
    // subscribers; the test must know who is there).
    let gate = Gate::new(server.port()).await;
    let (out_bus, in_bus) = (EventBus::new(), EventBus::new());
    const BUFFER: usize = 500;
    let exporter = NatsBridge::builder(gate.url())
        .export("tick.*")
        .export_buffer(BUFFER)
        .max_reconnect_delay(Duration::from_millis(50))
        .connect(&out_bus)
        .await
        .unwrap();
    let importer = NatsBridge::builder(server.url())
        .import("tick.*")
        .max_reconnect_delay(Duration::from_millis(50))
        .connect(&in_bus)
        .await
        .unwrap();
    let (ticks, _sub) = Recorder::on(&in_bus, "tick.*");

    // Before: all delivered.
    publish_n(&out_bus, "tick.a", 0..1000).await;
    ticks.wait_for(1000).await;
    exporter.flush().await.unwrap(); // confirmed: none is in flight when the server dies

    // The server dies.
    gate.set_open(false);
    server.kill();
    exporter
        .wait_for_state(ConnectionState::Disconnected, WAIT)
        .await
        .unwrap();
    importer
        .wait_for_state(ConnectionState::Disconnected, WAIT)
        .await
        .unwrap();

    // While it is away: held up to the buffer's size, then dropped, and counted.
    const AWAY: u64 = 2000;
    publish_n(&out_bus, "tick.b", 1000..1000 + AWAY).await;
    let away = exporter.stats();
    let (buffered, dropped) = (
        away.buffered_while_disconnected,
        away.dropped_while_disconnected,
    );
    assert_eq!(buffered + dropped, AWAY, "{away:?}");
    assert!(
        buffered >= BUFFER as u64 && buffered <= BUFFER as u64 + 256,
        "{away:?}"
    );

    // It comes back: the importer first, then the exporter.
    server.restart();
    importer
        .wait_for_state(ConnectionState::Connected, WAIT)
        .await
        .unwrap();
    importer.flush().await.unwrap(); // a round trip: the server has its subscriptions again
    gate.set_open(true);
    exporter
        .wait_for_state(ConnectionState::Connected, WAIT)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, exporter.flush())
        .await
        .unwrap()
        .unwrap();

    // After: all delivered again.
    publish_n(&out_bus, "tick.c", 3000..4000).await;
    exporter.flush().await.unwrap();
    let expected = 1000 + buffered as usize + 1000;
    ticks.wait_for(expected).await;

    let received: Vec<u64> = ticks.events().iter().map(n_of).collect();
    assert_eq!(received.len(), expected, "no duplicates");
    let lost = 4000 - received.len() as u64;
    let stats = exporter.stats();
    eprintln!(
        "published 4000, delivered {}, lost {lost}; bridge: buffered {buffered}, dropped {dropped}",
        received.len()
    );
    assert_eq!(
        lost, stats.dropped_while_disconnected,
        "lost events are those the bridge says it dropped"
    );
    assert_eq!(stats.exported, expected as u64);
    assert_eq!((stats.disconnects, stats.reconnects), (1, 1), "{stats:?}");
    assert_eq!((stats.unconfirmed, stats.in_flight), (0, 0), "{stats:?}");
    assert_eq!(importer.stats().imported, expected as u64);
    // Order is kept; everything before and after the outage arrived.
    assert!(received.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(received[..1000], (0..1000).collect::<Vec<_>>());
    assert_eq!(
        received[received.len() - 1000..],
        (3000..4000).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_and_oversized_messages_are_skipped() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("in.*")
        .max_payload(1024)
        .connect(&bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&bus, "in.*");
    let plain = async_nats::connect(server.url()).await.unwrap();
    plain.publish("in.bad", "not json {".into()).await.unwrap();
    let big = serde_json::to_vec(&"x".repeat(2000)).unwrap();
    plain.publish("in.big", big.into()).await.unwrap();
    plain
        .publish("in.good", r#"{"ok":true}"#.into())
        .await
        .unwrap();
    plain.flush().await.unwrap();
    seen.wait_for(1).await;
    let events = seen.events();
    assert_eq!(events[0].topic(), "in.good");
    assert_eq!(events[0].json_value(), Some(&json!({"ok": true})));
    assert_eq!(events[0].origin(), Some("nats"));
    let stats = bridge.stats();
    assert_eq!(
        (stats.invalid_json, stats.oversized, stats.imported),
        (1, 1, 1),
        "{stats:?}"
    );
    assert_eq!(bridge.state(), ConnectionState::Connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_subscriber_does_not_stall_the_connection() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("slow.*")
        .import("fast.*")
        .import_buffer(100)
        .connect(&bus)
        .await
        .unwrap();
    let release = Arc::new(tokio::sync::Notify::new());
    let gate = release.clone();
    let _slow = bus
        .subscribe_async("slow.*", move |_| {
            let gate = gate.clone();
            async move { gate.notified().await }
        })
        .unwrap();
    let (fast, _sub) = Recorder::on(&bus, "fast.*");
    let plain = async_nats::connect(server.url()).await.unwrap();
    for _ in 0..1000 {
        plain.publish("slow.x", "1".into()).await.unwrap();
    }
    for _ in 0..100 {
        plain.publish("fast.x", "2".into()).await.unwrap();
    }
    plain.flush().await.unwrap();
    fast.wait_for(100).await;
    let ok = eventually(WAIT, || bridge.stats().slow_consumer_drops > 0).await;
    assert!(ok, "{:?}", bridge.stats());
    assert_eq!(bridge.state(), ConnectionState::Connected);
    release.notify_waiters();
}
