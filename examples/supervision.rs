//! Supervision: a flaky module whose owned task fails twice, restarted by its restart
//! policy, and a dependent that follows it down and back up.
//!
//! `queue` runs a task (`ctx.spawn`) that returns an error shortly after its first two
//! starts. Each time, the manager marks `queue` failed, stops `reports` (it requires
//! `queue`) and then `queue`, waits out the backoff (50 ms, then 100 ms: jitter is off so
//! the waits are exact), and starts `queue` and `reports` again, in dependency order. The
//! third run holds. The application subscribes to `module.failed` and `module.restarted`
//! and prints them; `run_until` runs it all, and a shutdown request sent once the second
//! restart has held for a while ends the run, so the example ends by itself.
//!
//! Run: `cargo run --example supervision`

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use futures_util::stream;
use symphra::bus::Event;
use symphra::manager::{ModuleEvent, RESTARTED, RestartEvent};
use symphra::prelude::*;
use symphra::signal::Signal;
use symphra::supervision::{Restart, RestartPolicy};
use tokio::sync::Notify;

/// How many of `queue`'s runs fail.
const FAILING_RUNS: u32 = 2;

/// How long the run that holds is watched before the example asks to shut down.
const HOLDS_FOR: Duration = Duration::from_millis(100);

/// Consumes a (simulated) broker connection that drops on its first runs.
struct Queue {
    runs: Arc<AtomicU32>,
}

impl Module for Queue {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("queue").restart(
            RestartPolicy::new(Restart::OnFailure)
                // 50 ms before the first restart, 100 ms before the second…
                .backoff(Duration::from_millis(50), Duration::from_secs(1))
                // …exactly: jitter spreads replicas' restarts, but would blur the demo.
                .jitter(false)
                // A third failure within a minute would be one too many: it stays down.
                .intensity(FAILING_RUNS, Duration::from_secs(60)),
        )
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        println!("  queue: start (run {run})");
        ctx.spawn("consume", move |shutdown| async move {
            if run <= FAILING_RUNS {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(20)) => {}
                }
                // Returning an error fails the module while it runs.
                return Err(format!("broker connection lost (run {run})").into());
            }
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        println!("  queue: stop");
        Ok(())
    }
}

/// Requires `queue`: stopped before it when it fails, started after it again.
struct Reports;

impl Module for Reports {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reports").depends_on("queue")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        println!("  reports: start");
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        println!("  reports: stop");
        Ok(())
    }
}

#[tokio::main]
async fn main() -> Result<ExitCode, symphra::Error> {
    let runs = Arc::new(AtomicU32::new(0));
    let manager = ModuleManager::builder()
        .module(Queue {
            runs: Arc::clone(&runs),
        })
        .module(Reports)
        .build()?;

    let _failed = manager.bus().subscribe("module.failed", |event: &Event| {
        if let Some(failed) = event.payload::<ModuleEvent>() {
            let error = failed.error.as_deref().unwrap_or("?");
            println!("module.failed: {} ({error})", failed.module);
        }
    })?;
    // Told when the last failing run has been restarted: from then on the module holds.
    let restarted_for_good = Arc::new(Notify::new());
    let done = Arc::clone(&restarted_for_good);
    let _restarted = manager.bus().subscribe(RESTARTED, move |event: &Event| {
        if let Some(restart) = event.payload::<RestartEvent>() {
            println!(
                "module.restarted: {} (attempt {}, after {} ms)",
                restart.module, restart.attempt, restart.wait_ms
            );
            if restart.attempt == FAILING_RUNS {
                // A stored permit if the waiter below is not waiting yet.
                done.notify_one();
            }
        }
    })?;

    // The shutdown requests: one, as an operator's Ctrl-C would be, once the demo is over.
    let shutdown = Box::pin(stream::once(async move {
        restarted_for_good.notified().await;
        tokio::time::sleep(HOLDS_FOR).await;
        println!("queue held for {HOLDS_FOR:?}: shutting down");
        Signal::Interrupt
    }));

    println!("running...");
    let outcome = manager.run_until(shutdown).await;
    if let Some(stop) = &outcome.stop {
        println!("{stop}");
    }
    println!(
        "run ended: {:?}; queue ran {} times; exit code {}",
        outcome.ended,
        runs.load(Ordering::SeqCst),
        outcome.exit_code()
    );
    Ok(ExitCode::from(outcome.exit_code()))
}
