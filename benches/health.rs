//! What asking for the application's health costs: `ModuleManager::health()` and
//! `metrics()` read from memory, so a flood of probe requests is a flood of reads, never of
//! health checks.
//!
//! ```sh
//! cargo bench --bench health             # N = 1,000 modules, 100 of them with a check
//! cargo bench --bench health -- --quick  # N = 100 (CI smoke)
//! ```
//!
//! Starts N no-op modules in a layered DAG, every tenth with a health check every second
//! (its hook counts its runs), then asks `health()` (and, separately, `metrics()`) in a
//! loop for about a second each, on the manager's own runtime, with the checks' task
//! running beside the loop. Prints the calls per second and the checks that ran meanwhile:
//! about one per checked module per second, however many calls.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use symphra::health::{Health, HealthCheck};
use symphra::prelude::*;
use symphra::testing::LayeredDag;

struct Service {
    metadata: ModuleMetadata,
    checks: Arc<AtomicU64>,
}

impl Module for Service {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }
    async fn health(&self, _ctx: &Context) -> Health {
        self.checks.fetch_add(1, Ordering::Relaxed);
        Health::Healthy
    }
}

/// Calls `ask` for about `span`, yielding to the runtime every 1,000 calls so that the
/// checks run; returns the calls per second.
async fn rate(span: Duration, mut ask: impl FnMut() -> bool) -> f64 {
    let began = Instant::now();
    let mut calls: u64 = 0;
    while began.elapsed() < span {
        for _ in 0..1_000 {
            assert!(ask());
        }
        calls += 1_000;
        tokio::task::yield_now().await;
    }
    calls as f64 / began.elapsed().as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let n = if quick { 100 } else { 1_000 };
    let span = if quick {
        Duration::from_millis(200)
    } else {
        Duration::from_secs(1)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dag = LayeredDag::generate(n, 100, 42);
    let checks = Arc::new(AtomicU64::new(0));
    let mut builder = ModuleManager::builder();
    for (i, (name, deps)) in dag.modules().enumerate() {
        let mut metadata = deps
            .iter()
            .fold(ModuleMetadata::new(name), |m, dep| m.depends_on(dep));
        if i % 10 == 0 {
            metadata = metadata.health_check(HealthCheck::every(Duration::from_secs(1)));
        }
        builder = builder.module(Service {
            metadata,
            checks: Arc::clone(&checks),
        });
    }
    let manager = builder.build()?;
    runtime.block_on(async {
        manager.start_all().await?;
        let before = checks.load(Ordering::Relaxed);
        let health = rate(span, || manager.health().is_ready()).await;
        let during = checks.load(Ordering::Relaxed) - before;
        let metrics = rate(span, || !manager.metrics().modules.is_empty()).await;
        println!(
            "N = {n} ({} with a check every 1 s), {:.1} s each:",
            n.div_ceil(10),
            span.as_secs_f64()
        );
        println!(
            "  health():  {health:>10.0} calls/s ({:.1} µs each); checks run meanwhile: {during}",
            1e6 / health
        );
        println!(
            "  metrics(): {metrics:>10.0} calls/s ({:.1} µs each)",
            1e6 / metrics
        );
        manager.stop_all().await?;
        Ok::<(), symphra::Error>(())
    })?;
    Ok(())
}
