//! Performance Considerations and two Best Practices:
//!
//! 1. Async vs sync: 1,000 items that each wait 1 ms on I/O, processed one after
//!    another, then concurrently with `join_all` under a `Semaphore` of 50 permits
//!    ("Concurrency Limiting": never more than 50 in flight).
//! 2. Avoid blocking operations: a blocking read inside an `async fn` stalls every task
//!    on the thread; `spawn_blocking` or `tokio::fs` keeps the runtime free. A ticker
//!    task counts how often it ran during each variant.
//!
//! Run with `cargo run --example performance`. Takes about 2 s, nearly all of it the sequential pass (tokio's timer rounds
//! each 1 ms sleep up to the next millisecond tick).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::sync::Semaphore;
use tracing_subscriber::EnvFilter;

const ITEMS: usize = 1_000;
const LIMIT: usize = 50;

/// One unit of work: 1 ms of I/O latency.
async fn process(item: usize) -> usize {
    tokio::time::sleep(Duration::from_millis(1)).await;
    item * 2
}

/// Runs `work` while a task on the same runtime ticks every 5 ms; returns how often it
/// ticked. On a single-threaded runtime, no ticks means `work` blocked the thread.
async fn ticks_during<F: Future>(work: F) -> (F::Output, usize) {
    let ticks = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&ticks);
    let ticker = tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_millis(5));
        loop {
            interval.tick().await;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    });
    tokio::task::yield_now().await; // let the ticker start
    let before = ticks.load(Ordering::Relaxed);
    let output = work.await;
    let after = ticks.load(Ordering::Relaxed);
    ticker.abort();
    (output, after - before)
}

/// Reads the file and waits 50 ms on a "slow disk" — all of it blocking.
fn slow_blocking_read(path: &std::path::Path) -> std::io::Result<usize> {
    let bytes = std::fs::read(path)?;
    std::thread::sleep(Duration::from_millis(50));
    Ok(bytes.len())
}

// One thread: blocking it is visible.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    println!("== {ITEMS} items, 1 ms of I/O each");
    let began = Instant::now();
    let mut sequential = 0;
    for item in 0..ITEMS {
        sequential += process(item).await;
    }
    let sequential_time = began.elapsed();
    println!("sequential:                     {sequential_time:?}");

    let semaphore = Arc::new(Semaphore::new(LIMIT));
    let in_flight = AtomicUsize::new(0);
    let peak = AtomicUsize::new(0);
    let began = Instant::now();
    let results = join_all((0..ITEMS).map(|item| {
        let semaphore = &semaphore;
        let (in_flight, peak) = (&in_flight, &peak);
        async move {
            let _permit = semaphore.acquire().await?;
            let now = in_flight.fetch_add(1, Ordering::Relaxed) + 1;
            peak.fetch_max(now, Ordering::Relaxed);
            let output = process(item).await;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            Ok::<_, tokio::sync::AcquireError>(output)
        }
    }))
    .await;
    let concurrent: usize = results.into_iter().sum::<Result<usize, _>>()?;
    let concurrent_time = began.elapsed();
    println!(
        "concurrent, at most {LIMIT} at once: {concurrent_time:?} ({:.0}x faster, peak {} in flight)",
        sequential_time.as_secs_f64() / concurrent_time.as_secs_f64(),
        peak.load(Ordering::Relaxed)
    );
    if sequential != concurrent {
        return Err("the two passes disagree".into());
    }

    println!("\n== avoid blocking operations (a ticker runs every 5 ms on the same thread)");
    let path = std::env::temp_dir().join(format!("symphra-perf-{}.bin", std::process::id()));
    tokio::fs::write(&path, vec![7u8; 1 << 20]).await?;

    // Not recommended: blocking I/O directly in async code.
    let (read, ticks) = ticks_during(async { slow_blocking_read(&path) }).await;
    println!(
        "std::fs in async fn:       {} bytes, ticker ran {ticks} times (blocked)",
        read?
    );

    // Recommended: move the blocking work to the blocking pool...
    let blocking_path = path.clone();
    let (read, ticks) = ticks_during(tokio::task::spawn_blocking(move || {
        slow_blocking_read(&blocking_path)
    }))
    .await;
    println!(
        "std::fs in spawn_blocking: {} bytes, ticker ran {ticks} times",
        read??
    );

    // ...or use async file I/O (tokio::fs runs on the blocking pool internally).
    let (read, _) = ticks_during(tokio::fs::read(&path)).await;
    println!(
        "tokio::fs::read:           {} bytes, without blocking the runtime",
        read?.len()
    );

    tokio::fs::remove_file(&path).await?;
    Ok(())
}
