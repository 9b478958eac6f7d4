//! A cross-process service call's latency against plain `async-nats` request/reply, in
//! the same run: one `nats-server` (JetStream on), one `symphra-fleet-replica --serve
//! greet` process answering both `symphra.service.greet` (the services protocol, through
//! `Services::call_json`) and `bench.raw.greet` (a bare subscriber, through
//! `Client::request` and the same JSON encoding), and this process calling each in turn,
//! one call at a time, in interleaved rounds so the machine's load hits both alike.
//!
//! `cargo bench -p symphra-fleet --bench service_latency` (needs `nats-server`; see
//! `.ci/install-nats`). `-- --calls N --rounds R` sets the calls per round (default 2000)
//! and the rounds (default 5). Prints the median, the 90th and 99th percentiles, and the
//! ratio of the medians.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Cluster, Events, Replicas};
use serde::Deserialize;
use symphra_fleet::Services;

#[derive(Deserialize)]
struct Greeting {
    #[allow(dead_code)]
    replica: String,
    echo: String,
}

const TIMEOUT: Duration = Duration::from_secs(5);

fn flag(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

fn main() {
    let calls = flag("--calls", 2000);
    let rounds = flag("--rounds", 5);
    let mut events = Events::new();
    let cluster = Cluster::start(3, &mut events);
    let mut replicas = Replicas::new();
    replicas.spawn_with(&events, &cluster.urls(0), 3000, 1, &["--serve", "greet"]);
    events.wait("the replica serving greet", Duration::from_secs(60), |l| {
        l.text == "SERVING greet"
    });
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (service, raw) = runtime.block_on(async {
        let urls: Vec<String> = cluster.urls(0).split(',').map(str::to_owned).collect();
        let client = async_nats::connect(urls).await.expect("connect");
        let services = Services::new(client.clone());
        let mut service = Vec::with_capacity(calls * rounds);
        let mut raw = Vec::with_capacity(calls * rounds);
        for round in 0..=rounds {
            // Round 0 warms both paths up and is not counted.
            let keep = round > 0;
            for i in 0..calls {
                let echo = format!("call {i}");
                let start = Instant::now();
                let answer = client
                    .request(
                        "bench.raw.greet",
                        serde_json::to_vec(&echo).expect("JSON").into(),
                    )
                    .await
                    .expect("a raw answer");
                let answer: Greeting = serde_json::from_slice(&answer.payload).expect("JSON");
                let took = start.elapsed();
                assert_eq!(answer.echo, echo);
                if keep {
                    raw.push(took);
                }
                let start = Instant::now();
                let answer: Greeting = services
                    .call_json("greet", &echo, TIMEOUT)
                    .await
                    .expect("a service answer");
                let took = start.elapsed();
                assert_eq!(answer.echo, echo);
                if keep {
                    service.push(took);
                }
            }
        }
        (service, raw)
    });
    let report = |name: &str, mut samples: Vec<Duration>| {
        samples.sort_unstable();
        let median = percentile(&samples, 0.5);
        println!(
            "{name:<28} n={:<6} median {:>7.1} µs  p90 {:>7.1} µs  p99 {:>7.1} µs",
            samples.len(),
            median.as_secs_f64() * 1e6,
            percentile(&samples, 0.9).as_secs_f64() * 1e6,
            percentile(&samples, 0.99).as_secs_f64() * 1e6,
        );
        median
    };
    let raw_median = report("raw async-nats request", raw);
    let service_median = report("Services::call_json", service);
    println!(
        "service / raw median: {:.2}",
        service_median.as_secs_f64() / raw_median.as_secs_f64()
    );
    drop(replicas);
}
