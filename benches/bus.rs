//! Event bus benchmarks, each beside two floors measured in the same run:
//! `direct` (build the same event, call the same boxed handler) and `broadcast`
//! (`tokio::sync::broadcast` with the same receivers, each filtering by topic as a bus built on
//! it would have to).
//!
//! Run: `cargo bench --bench bus -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use symphra::bus::{Event, EventBus, Pattern, Subscription};
use tokio::runtime::Runtime;
use tokio::sync::broadcast;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Boxed = Arc<dyn Fn(&Event) -> Result<(), BoxError> + Send + Sync>;

fn runtime() -> Runtime {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build a Tokio runtime: {e}"),
    }
}

fn handler(counter: Arc<AtomicU64>) -> Boxed {
    Arc::new(move |event: &Event| {
        black_box(event.payload::<u64>());
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })
}

fn subscribe(bus: &EventBus, pattern: &str, h: &Boxed) -> Subscription {
    let h = h.clone();
    match bus.subscribe(pattern, move |e: &Event| h(e)) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    }
}

/// `direct` floor: build the event, call each boxed handler.
fn direct(c: &mut Criterion, group: &str, topic: &str, handlers: &[Boxed]) {
    c.benchmark_group(group).bench_function("direct", |b| {
        b.iter(|| {
            let event = Event::new(black_box(topic), 1_u64).unwrap_or_else(|e| panic!("{e}"));
            for h in handlers {
                let _ = black_box(h(&event));
            }
        })
    });
}

/// `broadcast` floor: one channel, `receivers` receivers, each checks its pattern and calls
/// the handler on a match.
fn broadcast_floor(
    c: &mut Criterion,
    group: &str,
    topic: &str,
    patterns: &[Pattern],
    h: &Boxed,
    samples: usize,
) {
    let (tx, _) = broadcast::channel::<Event>(16);
    let mut receivers: Vec<_> = patterns
        .iter()
        .map(|p| (p.clone(), tx.subscribe()))
        .collect();
    let mut g = c.benchmark_group(group);
    g.sample_size(samples);
    g.bench_function("broadcast", |b| {
        b.iter(|| {
            let event = Event::new(black_box(topic), 1_u64).unwrap_or_else(|e| panic!("{e}"));
            let _ = tx.send(event);
            for (pattern, rx) in &mut receivers {
                if let Ok(event) = rx.try_recv()
                    && pattern.matches(event.topic())
                {
                    let _ = black_box(h(&event));
                }
            }
        })
    });
}

fn symphra_publish(c: &mut Criterion, rt: &Runtime, group: &str, bus: &EventBus, topic: &str) {
    c.benchmark_group(group).bench_function("symphra", |b| {
        b.to_async(rt).iter(|| async {
            let report = bus.publish(black_box(topic), 1_u64).await;
            black_box(report.map(|r| r.matched()).unwrap_or(0))
        })
    });
}

fn exact_one(c: &mut Criterion) {
    let rt = runtime();
    let h = handler(Arc::default());
    let bus = EventBus::new();
    let _s = subscribe(&bus, "bench.exact", &h);
    symphra_publish(c, &rt, "exact_one_sync", &bus, "bench.exact");
    direct(c, "exact_one_sync", "bench.exact", std::slice::from_ref(&h));
    let patterns = [Pattern::parse("bench.exact").unwrap_or_else(|e| panic!("{e}"))];
    broadcast_floor(c, "exact_one_sync", "bench.exact", &patterns, &h, 100);

    // The manager's case: nobody listens.
    c.benchmark_group("no_subscriber")
        .bench_function("symphra_publish", |b| {
            b.to_async(&rt).iter(|| async {
                black_box(
                    bus.publish(black_box("module.started"), 1_u64)
                        .await
                        .is_ok(),
                )
            })
        })
        .bench_function("symphra_has_subscribers", |b| {
            b.iter(|| black_box(bus.has_subscribers(black_box("module.started"))))
        });
}

fn one_of_10000(c: &mut Criterion) {
    let rt = runtime();
    let h = handler(Arc::default());
    let bus = EventBus::new();
    let patterns: Vec<String> = (0..10_000).map(|i| format!("svc{i}.event")).collect();
    let _subs: Vec<_> = patterns.iter().map(|p| subscribe(&bus, p, &h)).collect();
    symphra_publish(c, &rt, "one_of_10000", &bus, "svc4242.event");
    direct(c, "one_of_10000", "svc4242.event", std::slice::from_ref(&h));
    let parsed: Vec<Pattern> = patterns
        .iter()
        .map(|p| Pattern::parse(p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    broadcast_floor(c, "one_of_10000", "svc4242.event", &parsed, &h, 10);
}

fn uncached_100000_wildcards(c: &mut Criterion) {
    let rt = runtime();
    let h = handler(Arc::default());
    // No route cache: every publish walks the trie.
    let bus = EventBus::builder().cache_capacity(0).build();
    let patterns: Vec<String> = (0..100_000)
        .map(|i| match i % 3 {
            0 => format!("svc{i}.*.done"),
            1 => format!("svc{i}.>"),
            _ => format!("*.svc{i}.state"),
        })
        .collect();
    let _subs: Vec<_> = patterns.iter().map(|p| subscribe(&bus, p, &h)).collect();
    let topic = "svc42.x.done";
    symphra_publish(c, &rt, "uncached_100000_wildcards", &bus, topic);
    c.benchmark_group("uncached_100000_wildcards")
        .bench_function("symphra_has_subscribers", |b| {
            b.iter(|| black_box(bus.has_subscribers(black_box(topic))))
        });
    direct(
        c,
        "uncached_100000_wildcards",
        topic,
        std::slice::from_ref(&h),
    );
    let parsed: Vec<Pattern> = patterns
        .iter()
        .map(|p| Pattern::parse(p).unwrap_or_else(|e| panic!("{e}")))
        .collect();
    broadcast_floor(c, "uncached_100000_wildcards", topic, &parsed, &h, 10);
}

fn fan_out(c: &mut Criterion) {
    let rt = runtime();
    for n in [1_usize, 100] {
        let group = format!("fan_out_{n}");
        let handlers: Vec<Boxed> = (0..n).map(|_| handler(Arc::default())).collect();
        let bus = EventBus::new();
        let _subs: Vec<_> = handlers
            .iter()
            .map(|h| subscribe(&bus, "fan.out", h))
            .collect();
        symphra_publish(c, &rt, &group, &bus, "fan.out");
        direct(c, &group, "fan.out", &handlers);
        let patterns = vec![Pattern::parse("fan.out").unwrap_or_else(|e| panic!("{e}")); n];
        broadcast_floor(c, &group, "fan.out", &patterns, &handlers[0], 100);
    }
}

/// Fire and forget, two ways, each beside a floor that does the same work:
/// `symphra_emit` times the calls only (delivery awaited between chunks, untimed), like
/// `broadcast_send`, which times the sends and drains its channel untimed;
/// `symphra_emit_delivered` times the calls and the delivery to the handler, like `direct`,
/// which builds each event and calls the handler.
fn fire_and_forget(c: &mut Criterion) {
    const CHUNK: u64 = 4096;
    let rt = runtime();
    let delivered = Arc::new(AtomicU64::new(0));
    let h = handler(delivered.clone());
    let bus = EventBus::new();
    let _s = subscribe(&bus, "bench.emit", &h);
    let mut g = c.benchmark_group("fire_and_forget");
    g.bench_function("symphra_emit", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let bus = bus.clone();
            let delivered = delivered.clone();
            async move {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    let target = delivered.load(Ordering::Relaxed) + n;
                    let start = Instant::now();
                    for _ in 0..n {
                        let _ = black_box(bus.emit(black_box("bench.emit"), 1_u64));
                    }
                    timed += start.elapsed();
                    while delivered.load(Ordering::Relaxed) < target {
                        tokio::task::yield_now().await;
                    }
                    left -= n;
                }
                timed
            }
        })
    });
    g.bench_function("symphra_emit_delivered", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let bus = bus.clone();
            let delivered = delivered.clone();
            async move {
                let mut timed = Duration::ZERO;
                let mut left = iters;
                while left > 0 {
                    let n = left.min(CHUNK);
                    let target = delivered.load(Ordering::Relaxed) + n;
                    let start = Instant::now();
                    for _ in 0..n {
                        let _ = black_box(bus.emit(black_box("bench.emit"), 1_u64));
                    }
                    while delivered.load(Ordering::Relaxed) < target {
                        tokio::task::yield_now().await;
                    }
                    timed += start.elapsed();
                    left -= n;
                }
                timed
            }
        })
    });
    g.bench_function("direct", |b| {
        b.iter(|| {
            let event =
                Event::new(black_box("bench.emit"), 1_u64).unwrap_or_else(|e| panic!("{e}"));
            let _ = black_box(h(&event));
        })
    });
    g.bench_function("broadcast_send", |b| {
        let (tx, mut rx) = broadcast::channel::<Event>(CHUNK as usize);
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let n = left.min(CHUNK);
                let start = Instant::now();
                for _ in 0..n {
                    let event = Event::new(black_box("bench.emit"), 1_u64)
                        .unwrap_or_else(|e| panic!("{e}"));
                    let _ = black_box(tx.send(event));
                }
                timed += start.elapsed();
                while let Ok(event) = rx.try_recv() {
                    let _ = h(&event);
                }
                left -= n;
            }
            timed
        })
    });
}

criterion_group!(
    benches,
    exact_one,
    one_of_10000,
    uncached_100000_wildcards,
    fan_out,
    fire_and_forget
);
criterion_main!(benches);
