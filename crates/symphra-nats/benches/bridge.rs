//! Publish → subscribe through two bridges over loopback (through the relay, connected
//! directly, and through the relay with metadata headers on), beside the raw `async-nats`
//! client serializing and parsing each payload as the bridge does, in the same run (without
//! and with a header like the bridge's), for 16-byte and 1 KB payloads.
//!
//! `cargo bench -p symphra-nats --bench bridge` (needs `nats-server`; see `.ci/install-nats`).
//! Each iteration is one event published on one side and received on the other; criterion
//! reports events per second.
//!
//! On a shared machine the rates swing with the load, so compare figures of one run. For a
//! figure that does not, count instructions: run one benchmark under
//! `valgrind --tool=callgrind` with `--bench --profile-time 2 <name>` and again with
//! `--profile-time 6`; the difference in instructions over the difference in calls to
//! `async_nats::connection::Connection::enqueue_write_op` (one per message sent) is the cost
//! of one event in this process (the server runs outside valgrind).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "shared/counter.rs"]
mod counter;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use futures_util::StreamExt;
use serde_json::Value;
use symphra::bus::EventBus;
use symphra_nats::NatsBridge;

use counter::Counter;

/// How long the last events may take to arrive.
const WITHIN: Duration = Duration::from_secs(30);

/// A JSON string whose encoding is exactly `len` bytes.
fn payload(len: usize) -> Value {
    Value::String("x".repeat(len - 2))
}

fn bench(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let server = common::NatsServer::start();
    let url = server.url();

    let mut group = c.benchmark_group("nats");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    group.warm_up_time(Duration::from_secs(1));
    group.sample_size(20);

    for size in [16_usize, 1024] {
        let value = payload(size);
        assert_eq!(serde_json::to_vec(&value).expect("json").len(), size);

        // The raw client: one connection publishes, another subscribes.
        let (publisher, counter, reader) = runtime.block_on(async {
            let publisher = async_nats::connect(&url).await.expect("connect");
            let subscriber = async_nats::connect(&url).await.expect("connect");
            let mut messages = subscriber.subscribe("raw.bench").await.expect("subscribe");
            counter::await_subscription(&subscriber).await;
            let counter = Arc::new(Counter::default());
            let hits = counter.clone();
            let reader = tokio::spawn(async move {
                while let Some(message) = messages.next().await {
                    // As the bridge does: every body is parsed.
                    let parsed: Result<Value, _> = serde_json::from_slice(&message.payload);
                    std::hint::black_box(parsed.ok());
                    hits.hit();
                }
                drop(subscriber);
            });
            (publisher, counter, reader)
        });
        group.bench_function(format!("raw_async_nats/{size}B"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (publisher, counter, value) = (&publisher, &counter, &value);
                async move {
                    let start = Instant::now();
                    counter
                        .send(iters, WITHIN, |_| async move {
                            // As the bridge does: every payload is serialized.
                            let body = serde_json::to_vec(value).unwrap_or_default();
                            let _ = publisher.publish("raw.bench", body.into()).await;
                        })
                        .await;
                    start.elapsed()
                }
            });
        });
        group.bench_function(format!("raw_async_nats_with_header/{size}B"), |b| {
            b.to_async(&runtime).iter_custom(|iters| {
                let (publisher, counter, value) = (&publisher, &counter, &value);
                async move {
                    let start = Instant::now();
                    counter
                        .send(iters, WITHIN, |i| async move {
                            // As the bridge does: a static name, one value.
                            let mut headers = async_nats::HeaderMap::new();
                            let meta = format!("bench/1/1-0 {i} 1700000000000000000");
                            headers.insert(
                                async_nats::HeaderName::from_static("Symphra-Event"),
                                async_nats::HeaderValue::from(meta),
                            );
                            let body = serde_json::to_vec(value).unwrap_or_default();
                            let _ = publisher
                                .publish_with_headers("raw.bench", headers, body.into())
                                .await;
                        })
                        .await;
                    start.elapsed()
                }
            });
        });
        reader.abort();

        // Two buses, two bridges: through the relay (the default), connected directly, and
        // through the relay with the metadata header.
        for (name, relay, metadata) in [
            ("symphra_bridge", true, false),
            ("symphra_bridge_direct", false, false),
            ("symphra_bridge_metadata", true, true),
        ] {
            let (bus, _bridges, counter, _sub) = runtime.block_on(async {
                let (a, b) = (EventBus::new(), EventBus::new());
                let out = NatsBridge::builder(&url)
                    .export("bench.*")
                    .relay(relay)
                    .metadata(metadata)
                    .connect(&a)
                    .await
                    .expect("bridge");
                let into = NatsBridge::builder(&url)
                    .import("bench.*")
                    .relay(relay)
                    .connect(&b)
                    .await
                    .expect("bridge");
                let counter = Arc::new(Counter::default());
                let hits = counter.clone();
                let sub = b
                    .subscribe("bench.*", move |event| {
                        std::hint::black_box(event.json_value());
                        hits.hit();
                    })
                    .expect("subscribe");
                (a, (out, into), counter, sub)
            });
            group.bench_function(format!("{name}/{size}B"), |b| {
                b.to_async(&runtime).iter_custom(|iters| {
                    let (bus, counter, value) = (&bus, &counter, &value);
                    async move {
                        let start = Instant::now();
                        counter
                            .send(iters, WITHIN, |_| async move {
                                // A JSON payload: the event has its JSON form.
                                let _ = bus.publish("bench.event", value.clone()).await;
                            })
                            .await;
                        start.elapsed()
                    }
                });
            });
        }
    }
    group.finish();
    drop(server);
}

criterion_group!(benches, bench);
criterion_main!(benches);
