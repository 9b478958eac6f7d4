//! A fixed number of 16-byte events through one path of `benches/bridge.rs`, timed, for
//! counting what one event costs outside the process's instructions: system calls and
//! context switches (`perf stat`), and wall-clock time in interleaved runs of two binaries.
//!
//! ```sh
//! cargo bench -p symphra-nats --bench bridge_fixed --no-run   # prints the executable's path
//! perf stat -e raw_syscalls:sys_enter,context-switches <exe> relay 1000000
//! ```
//!
//! Paths: `raw` (the `async-nats` client, no header), `relay` (the bridge, the default
//! configuration), `direct` (the bridge with `relay(false)`). The second argument is the
//! number of events (default 1,000,000); 20,000 more are sent first as a warm-up and not timed.
//! The third is the number of Tokio worker threads (default 2, as in `benches/bridge.rs`).
//! It prints one line: the path, the events, the seconds, the events per second, then the
//! CPU time per event in microseconds (from `/proc`): this process's user and system time,
//! and the user + system time of the `nats-server` it starts (a child process: `perf stat` counts its system calls too);
//! then, per 1,000 events, how often a Tokio worker went to sleep for want of work (parks)
//! and the context switches of this process's threads: the hand-overs between threads that
//! CPU time pays for and instruction counts do not show.
//! On a loaded machine the CPU times move less than the wall-clock rate: compare both.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "shared/counter.rs"]
mod counter;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::Value;
use symphra::bus::EventBus;
use symphra_nats::NatsBridge;

use counter::Counter;

const WARM_UP: u64 = 20_000;
/// How long the last events may take to arrive.
const WITHIN: Duration = Duration::from_secs(60);

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let path = args.next().unwrap_or_else(|| "relay".to_owned());
    let n: u64 = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let workers: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let server = common::NatsServer::start();
    let url = server.url();
    let value = Value::String("x".repeat(14));
    let counter = Arc::new(Counter::default());
    let metrics = runtime.metrics();
    let parks = || {
        (0..metrics.num_workers())
            .map(|w| metrics.worker_park_count(w))
            .sum::<u64>()
    };
    // What the timed part is measured against, read once the warm-up is over.
    let mark = || (cpu_ticks(), context_switches(), parks());
    let (elapsed, (cpu_before, switches_before, parks_before)) = runtime.block_on(async {
        match path.as_str() {
            "raw" => {
                // Whatever befalls a connection is printed: a lost event has a cause to show.
                let connect = |name: &'static str| {
                    async_nats::ConnectOptions::new()
                        .event_callback(move |event| async move {
                            eprintln!("raw {name} connection: {event}");
                        })
                        .connect(url.as_str())
                };
                let publisher = connect("publisher").await.expect("connect");
                let subscriber = connect("subscriber").await.expect("connect");
                let mut messages = subscriber.subscribe("raw.bench").await.expect("subscribe");
                counter::await_subscription(&subscriber).await;
                let hits = counter.clone();
                tokio::spawn(async move {
                    while let Some(message) = messages.next().await {
                        let parsed: Result<Value, _> = serde_json::from_slice(&message.payload);
                        std::hint::black_box(parsed.ok());
                        hits.hit();
                    }
                    drop(subscriber);
                });
                let publish = |_| async {
                    let body = serde_json::to_vec(&value).unwrap_or_default();
                    let _ = publisher.publish("raw.bench", body.into()).await;
                };
                warm_up_then_time(&counter, n, publish, mark).await
            }
            "relay" | "direct" => {
                let relay = path == "relay";
                let (a, b) = (EventBus::new(), EventBus::new());
                let _out = NatsBridge::builder(&url)
                    .export("bench.*")
                    .relay(relay)
                    .connect(&a)
                    .await
                    .expect("bridge");
                let _into = NatsBridge::builder(&url)
                    .import("bench.*")
                    .relay(relay)
                    .connect(&b)
                    .await
                    .expect("bridge");
                let hits = counter.clone();
                let _sub = b
                    .subscribe("bench.*", move |event| {
                        std::hint::black_box(event.json_value());
                        hits.hit();
                    })
                    .expect("subscribe");
                let publish = |_| async {
                    let _ = a.publish("bench.event", value.clone()).await;
                };
                warm_up_then_time(&counter, n, publish, mark).await
            }
            other => panic!("unknown path {other:?}: raw, relay or direct"),
        }
    });
    let cpu_after = cpu_ticks();
    let per_thousand = |count: u64| count as f64 * 1000.0 / n as f64;
    let parked = per_thousand(parks() - parks_before);
    let switched = per_thousand(context_switches() - switches_before);
    let per_event = |before: u64, after: u64| (after - before) as f64 * 1e6 / TICKS / n as f64;
    let secs = elapsed.as_secs_f64();
    println!(
        "{path} {n} {secs:.3} {:.0} {:.3} {:.3} {:.3} {parked:.1} {switched:.1}",
        n as f64 / secs,
        per_event(cpu_before.0, cpu_after.0),
        per_event(cpu_before.1, cpu_after.1),
        per_event(cpu_before.2, cpu_after.2)
    );
    drop(server);
}

/// Sends the warm-up, reads `mark`, then sends `n` events and returns how long they took to
/// arrive, with what `mark` read.
async fn warm_up_then_time<F: Future<Output = ()>, M>(
    counter: &Counter,
    n: u64,
    mut publish: impl FnMut(u64) -> F,
    mark: impl FnOnce() -> M,
) -> (Duration, M) {
    counter.send(WARM_UP, WITHIN, &mut publish).await;
    let marked = mark();
    let start = Instant::now();
    counter.send(n, WITHIN, &mut publish).await;
    (start.elapsed(), marked)
}

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// CPU ticks so far: user and system of this process (all threads), and user + system of
/// its children that are running (the `nats-server`).
fn cpu_ticks() -> (u64, u64, u64) {
    let ticks = |pid: &str| {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after the command name (which is in parentheses and may hold spaces):
        // utime and stime are the 12th and 13th.
        let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| {
            fields
                .get(i)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0)
        };
        (field(11), field(12))
    };
    let me = std::process::id().to_string();
    let children: u64 = std::fs::read_dir(format!("/proc/{me}/task"))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .map(|pid| {
            let (user, system) = ticks(&pid);
            user + system
        })
        .sum();
    let (user, system) = ticks(&me);
    (user, system, children)
}

/// Context switches so far (voluntary and not) of this process's threads, from `/proc`.
fn context_switches() -> u64 {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|line| line.contains("ctxt_switches:"))
                .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
