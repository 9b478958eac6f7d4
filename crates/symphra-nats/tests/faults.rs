//! Issue 21, item 4 (the smaller faults) and item 5 (issue 19, item 17: what the bridge cannot
//! confirm when the server dies), against a real `nats-server`.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::HeaderMap;
use common::{NatsServer, Recorder, WAIT, eventually};
use serde_json::{Value, json};
use symphra::bus::{Event, EventBus};
use symphra_nats::{ConnectionState, NatsBridge};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_bridge_has_not_reconnected() {
    let server = NatsServer::start();
    for _ in 0..20 {
        let bus = EventBus::new();
        let bridge = NatsBridge::builder(server.url())
            .export("x.*")
            .connect(&bus)
            .await
            .unwrap();
        // A round trip: the client's own `Connected` event has been handled by now.
        bridge.flush().await.unwrap();
        let stats = bridge.stats();
        assert_eq!((stats.disconnects, stats.reconnects), (0, 0), "{stats:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_size_check_counts_the_header_at_the_servers_limit() {
    const LIMIT: usize = 4096;
    let server = NatsServer::with_config(&format!("max_payload: {LIMIT}\n"));
    // With the metadata header (about 70 bytes) the cut falls that much below the server's
    // limit; without it, at the limit exactly.
    let with_header = largest_sent(&server, LIMIT, true).await;
    assert!(
        (LIMIT - 100..LIMIT - 50).contains(&with_header),
        "{with_header}"
    );
    assert_eq!(largest_sent(&server, LIMIT, false).await, LIMIT);
}

/// Exports bodies from well under to well over `limit` (the server's `max_payload`), one
/// byte apart, checks that exactly the smallest ones arrive and the rest are counted as not
/// exportable (none refused by the client), and returns the largest body that arrived.
async fn largest_sent(server: &NatsServer, limit: usize, metadata: bool) -> usize {
    let (out_bus, in_bus) = (EventBus::new(), EventBus::new());
    // The bridge's own limit is larger: the server's is the one that holds.
    let exporter = NatsBridge::builder(server.url())
        .export("big.*")
        .metadata(metadata)
        .connect(&out_bus)
        .await
        .unwrap();
    let importer = NatsBridge::builder(server.url())
        .import("big.*")
        .connect(&in_bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&in_bus, "big.*");
    let lens = (limit - 200)..(limit + 10);
    for len in lens.clone() {
        let event = Event::json("big.x", json!("x".repeat(len - 2))).unwrap();
        out_bus.publish_event(event).await;
    }
    exporter.flush().await.unwrap();
    let stats = exporter.stats();
    let total = lens.len() as u64;
    assert_eq!(
        stats.publish_errors, 0,
        "the client refused none: {stats:?}"
    );
    assert_eq!(stats.exported + stats.not_exportable, total, "{stats:?}");
    assert!(stats.exported > 0 && stats.not_exportable > 0, "{stats:?}");
    let fits = |e: &Event| e.json_value().and_then(Value::as_str).map_or(0, str::len) + 2;
    seen.wait_for(stats.exported as usize).await;
    importer.flush().await.unwrap();
    let received: Vec<usize> = seen.events().iter().map(fits).collect();
    // Exactly the smallest ones went, up to the boundary: the largest sent plus one was refused.
    let expected: Vec<usize> = lens.clone().take(stats.exported as usize).collect();
    assert_eq!(received, expected);
    received.last().copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payload_policies_and_header_case() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("in.*")
        .connect(&bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&bus, "in.*");
    let plain = async_nats::connect(server.url()).await.unwrap();
    for body in [
        "",
        "  \n",
        "{\"x\": NaN}",
        "[Infinity]",
        "not json",
        "{\"ok\": 1}",
    ] {
        plain.publish("in.p", body.into()).await.unwrap();
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut headers = HeaderMap::new();
    headers.insert(
        "symphra-event",
        format!("elsewhere/1 5 {now} desk").as_str(),
    );
    plain
        .publish_with_headers("in.h", headers, "1".into())
        .await
        .unwrap();
    plain.flush().await.unwrap();
    seen.wait_for(4).await;
    bridge.flush().await.unwrap();
    let events = seen.events();
    let values: Vec<_> = events.iter().map(|e| e.json_value().cloned()).collect();
    assert_eq!(
        values,
        [
            Some(Value::Null),
            Some(Value::Null),
            Some(json!({"ok": 1})),
            Some(json!(1))
        ]
    );
    let header = &events[3];
    assert_eq!(
        (header.origin(), header.source()),
        (Some("elsewhere/1"), Some("desk"))
    );
    let stats = bridge.stats();
    assert_eq!(
        (
            stats.imported,
            stats.empty_payloads,
            stats.non_finite_json,
            stats.invalid_json
        ),
        (4, 2, 2, 1),
        "{stats:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_far_from_our_clock_are_not_believed() {
    let server = NatsServer::start();
    let bus = EventBus::new();
    let bridge = NatsBridge::builder(server.url())
        .import("t.*")
        .max_clock_skew(Duration::from_secs(60))
        .connect(&bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&bus, "t.*");
    let plain = async_nats::connect(server.url()).await.unwrap();
    let now = SystemTime::now();
    let nanos = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let close = now - Duration::from_secs(30);
    for time in [
        nanos(UNIX_EPOCH + Duration::from_secs(1)),
        u128::from(u64::MAX), // the year 2554
        nanos(now + Duration::from_secs(3600)),
        nanos(close),
    ] {
        let mut headers = HeaderMap::new();
        headers.insert("Symphra-Event", format!("them/1 1 {time}").as_str());
        plain
            .publish_with_headers("t.x", headers, "0".into())
            .await
            .unwrap();
    }
    plain.flush().await.unwrap();
    seen.wait_for(4).await;
    let received = SystemTime::now();
    let times: Vec<SystemTime> = seen.events().iter().map(Event::time).collect();
    for time in &times[..3] {
        assert!(
            *time >= now && *time <= received,
            "clamped to its arrival: {time:?}"
        );
    }
    assert_eq!(times[3], close, "a time within the skew is kept");
    assert_eq!(bridge.stats().clock_skew_clamped, 3);
}

/// Issue 19, item 17: the server is killed while events stream out; every event sent is
/// exactly one of exported (confirmed), unconfirmed, or dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_server_every_event_is_accounted_for() {
    let mut server = NatsServer::start();
    let (out_bus, in_bus) = (EventBus::new(), EventBus::new());
    let exporter = NatsBridge::builder(server.url())
        .export("s.*")
        .export_buffer(300)
        .max_reconnect_delay(Duration::from_millis(20))
        .connect(&out_bus)
        .await
        .unwrap();
    let importer = NatsBridge::builder(server.url())
        .import("s.*")
        .connect(&in_bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&in_bus, "s.*");

    const N: u64 = 20_000;
    let publisher = {
        let bus = out_bus.clone();
        tokio::spawn(async move {
            for n in 0..N {
                bus.publish_event(Event::json("s.x", json!({ "n": n })).unwrap())
                    .await;
                if n % 64 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };
    // Mid-stream: once some events went through, the server dies.
    assert!(
        eventually(WAIT, || seen.len() >= 2_000).await,
        "{:?}",
        exporter.stats()
    );
    server.kill();
    exporter
        .wait_for_state(ConnectionState::Disconnected, WAIT)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, publisher)
        .await
        .unwrap()
        .unwrap();
    server.restart();
    exporter
        .wait_for_state(ConnectionState::Connected, WAIT)
        .await
        .unwrap();
    tokio::time::timeout(WAIT, exporter.flush())
        .await
        .unwrap()
        .unwrap();

    let s = exporter.stats();
    eprintln!("{s:?}; received before the kill: {}", seen.len());
    assert_eq!(s.in_flight, 0, "{s:?}");
    assert_eq!(
        s.exported
            + s.unconfirmed
            + s.dropped_while_disconnected
            + s.not_exportable
            + s.publish_errors,
        N,
        "{s:?}"
    );
    assert_eq!((s.disconnects, s.reconnects), (1, 1), "{s:?}");
    // Nothing arrived that the exporter does not count as sent.
    assert!(seen.len() as u64 <= s.exported + s.unconfirmed, "{s:?}");
    drop(importer);
}
