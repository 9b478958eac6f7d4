//! Owned tasks and supervision, measured.
//!
//! ```sh
//! cargo bench --bench tasks             # N = 10,000 tasks, 15 runs each
//! cargo bench --bench tasks -- --quick  # N = 1,000, 5 runs (CI smoke)
//! ```
//!
//! (a) N tasks spawned through `ctx.spawn` in a module's `start` and joined by its stop
//!     (start_all + stop_all), against N bare `tokio::spawn` of the same work (wait for a
//!     cancellation token) cancelled and joined by hand. Goal: at most 2×.
//! (b) From a module's task failing to that module and its 10 dependents started again
//!     (`supervision_idle`, then `start_all`: no restart policy, so no backoff), with no-op
//!     hooks. Goal: under 1 ms.
//!
//! Both on a current-thread runtime, so that the two sides of (a) share one scheduler and
//! the machine's other load moves the figures less. Medians of the runs.

use std::sync::Arc;
use std::time::{Duration, Instant};

use symphra::Error;
use symphra::context::CancellationToken;
use symphra::prelude::*;
use tokio::sync::Notify;

/// Spawns `n` owned tasks that wait for the module's stop.
struct Spawner {
    n: usize,
}

impl Module for Spawner {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("spawner")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        for _ in 0..self.n {
            ctx.spawn("work", |shutdown| async move {
                shutdown.cancelled().await;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// With a trigger: a task that fails when triggered. Without: a no-op module.
struct Node {
    metadata: ModuleMetadata,
    trigger: Option<Arc<Notify>>,
}

impl Module for Node {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        if let Some(trigger) = &self.trigger {
            let trigger = Arc::clone(trigger);
            ctx.spawn("fails", |shutdown| async move {
                tokio::select! {
                    () = shutdown.cancelled() => Ok(()),
                    () = trigger.notified() => Err("triggered".into()),
                }
            })?;
        }
        Ok(())
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// One run of (a) through the manager.
async fn owned(n: usize) -> Result<Duration, Error> {
    let manager = ModuleManager::builder().module(Spawner { n }).build()?;
    let began = Instant::now();
    manager.start_all().await?;
    manager.stop_all().await?;
    Ok(began.elapsed())
}

/// One run of (a) by hand.
async fn bare(n: usize) -> Duration {
    let began = Instant::now();
    let shutdown = CancellationToken::new();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                Ok::<(), Error>(())
            })
        })
        .collect();
    shutdown.cancel();
    for task in tasks {
        if let Err(error) = task.await {
            eprintln!("a bare task failed: {error}");
        }
    }
    began.elapsed()
}

/// One run of (b): fail the root's task, wait for supervision, start all again.
async fn recovery(
    manager: &ModuleManager,
    trigger: &Notify,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let began = Instant::now();
    trigger.notify_one();
    // The failing task must run before supervision has anything to do.
    loop {
        manager.supervision_idle().await?;
        if manager.module("root")?.stopped_because().is_some() {
            break;
        }
        tokio::task::yield_now().await;
    }
    let report = manager.start_all().await?;
    let elapsed = began.elapsed();
    if report.counts().0 != 11 {
        return Err(format!("not everything started again:\n{report}").into());
    }
    Ok(elapsed)
}

async fn run(quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let (n, runs) = if quick { (1_000, 5) } else { (10_000, 15) };

    // Warm both paths once (allocator, runtime's task slabs).
    owned(n).await?;
    bare(n).await;
    let mut with_ctx = Vec::with_capacity(runs);
    let mut with_tokio = Vec::with_capacity(runs);
    for _ in 0..runs {
        with_ctx.push(owned(n).await?);
        with_tokio.push(bare(n).await);
    }
    let (with_ctx, with_tokio) = (median(with_ctx), median(with_tokio));
    println!(
        "(a) {n} tasks spawned and joined: ctx.spawn {with_ctx:?}, tokio::spawn {with_tokio:?}, ratio {:.2}x (goal <= 2x)",
        with_ctx.as_secs_f64() / with_tokio.as_secs_f64().max(f64::MIN_POSITIVE)
    );

    let trigger = Arc::new(Notify::new());
    let mut builder = ModuleManager::builder().module(Node {
        metadata: ModuleMetadata::new("root"),
        trigger: Some(Arc::clone(&trigger)),
    });
    for i in 0..10 {
        builder = builder.module(Node {
            metadata: ModuleMetadata::new(format!("dependent-{i}")).depends_on("root"),
            trigger: None,
        });
    }
    let manager = builder.build()?;
    manager.start_all().await?;
    recovery(&manager, &trigger).await?; // warm
    let mut samples = Vec::with_capacity(runs * 4);
    for _ in 0..runs * 4 {
        samples.push(recovery(&manager, &trigger).await?);
    }
    manager.stop_all().await?;
    println!(
        "(b) failure to root + 10 dependents started again: {:?} beyond the backoff (none: manual restart) (goal < 1ms)",
        median(samples)
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(quick))?;
    Ok(())
}
