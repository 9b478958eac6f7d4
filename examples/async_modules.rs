//! Async Modules: a module whose `start` and `stop` hooks await.
//!
//! Run with `cargo run --example async_modules` (add `RUST_LOG=symphra=debug` for the
//! library's log lines). Takes about 150 ms.

use std::time::{Duration, Instant};

use symphra::prelude::*;
use tracing_subscriber::EnvFilter;

/// The seed's `AsyncModule`: `start` and `stop` are plain `async fn`s.
struct AsyncExample;

impl Module for AsyncExample {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("async_example").version("1.0.0")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        tokio::time::sleep(Duration::from_millis(100)).await; // e.g. open a connection
        println!("{}: async module started", ctx.name());
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        tokio::time::sleep(Duration::from_millis(50)).await; // e.g. flush and close
        println!("{}: async module stopped", ctx.name());
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    let manager = ModuleManager::builder().module(AsyncExample).build()?;
    let handle = manager.module("async_example")?;
    println!("state before start: {}", handle.state());

    let began = Instant::now();
    let report = manager.start_all().await?;
    println!(
        "state after start: {} ({:?})",
        handle.state(),
        began.elapsed()
    );
    println!("{report}");

    let report = manager.stop_all().await?;
    println!("state after stop: {}", handle.state());
    println!("{report}");
    Ok(())
}
