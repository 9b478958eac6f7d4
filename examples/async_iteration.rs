//! Async Iteration: walking the modules as a stream and calling an async method on each.
//!
//! `manager.modules()` yields a `ModuleHandle` per module, in start order. A handle
//! gives the name, version and state, and `downcast::<T>()` returns the module itself
//! as `Arc<T>` when it is a `T` — here, the workers; the database is passed over.
//!
//! Run with `cargo run --example async_iteration`. Takes about 100 ms.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use symphra::prelude::*;
use tracing_subscriber::EnvFilter;

struct Database;

impl Module for Database {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("database").version("1.4.0")
    }
}

/// A module with an async operation of its own.
struct Worker {
    name: &'static str,
    processed: AtomicUsize,
}

impl Worker {
    fn new(name: &'static str) -> Self {
        Self {
            name,
            processed: AtomicUsize::new(0),
        }
    }

    /// The seed's `perform_async_operation`.
    async fn perform(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(20)).await;
        self.processed.fetch_add(10, Ordering::Relaxed) + 10
    }
}

impl Module for Worker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new(self.name).depends_on("database ^1")
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    let manager = ModuleManager::builder()
        .module(Worker::new("mailer"))
        .module(Worker::new("indexer"))
        .module(Database)
        .module(Worker::new("thumbnailer"))
        .build()?;
    manager.start_all().await?;

    // One at a time. The stream is not `Unpin`, so pin it before calling `next`.
    let began = Instant::now();
    let mut modules = pin!(manager.modules());
    while let Some(handle) = modules.next().await {
        let Some(worker) = handle.downcast::<Worker>() else {
            println!(
                "{} {} ({}): not a worker",
                handle.name(),
                handle.version(),
                handle.state()
            );
            continue;
        };
        let total = worker.perform().await;
        println!(
            "{} ({}): processed, {total} items so far",
            handle.name(),
            handle.state()
        );
    }
    println!("sequentially: {:?}", began.elapsed());

    // All at once: the same stream, filtered to workers and driven concurrently.
    let began = Instant::now();
    manager
        .modules()
        .filter_map(|handle| async move { handle.downcast::<Worker>() })
        .for_each_concurrent(None, |worker| async move {
            let total = worker.perform().await;
            println!("{}: processed, {total} items so far", worker.name);
        })
        .await;
    println!("concurrently: {:?}", began.elapsed());

    manager.stop_all().await?;
    Ok(())
}
