//! Supervision: a flaky module whose owned task fails twice, and a dependent that follows
//! it down and back up.
//!
//! `queue` runs a task (`ctx.spawn`) that returns an error shortly after its first two
//! starts: the manager marks `queue` failed, stops `reports` (it requires `queue`), then
//! `queue` itself. The application waits for that with `supervision_idle`, reads why each
//! module stopped, and starts everything again. The third run holds; the example stops it
//! and ends by itself.
//!
//! Run: `cargo run --example supervision`

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use symphra::Error;
use symphra::prelude::*;

/// How many of `queue`'s runs fail.
const FAILING_RUNS: u32 = 2;

/// Consumes a (simulated) broker connection that drops on its first runs.
struct Queue {
    runs: Arc<AtomicU32>,
}

impl Module for Queue {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("queue")
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
async fn main() -> Result<(), Error> {
    // ------------------------------------------------------------------------------------
    // RESTART POLICY SPOT. Once `ModuleMetadata::restart` is on this branch, `queue`'s
    // metadata says
    //
    //     ModuleMetadata::new("queue")
    //         .restart(RestartPolicy::new(Restart::OnFailure) /* backoff, max restarts */)
    //
    // and the manager restarts `queue` and then `reports` itself: the loop below, which
    // restarts them by hand with `start_all`, reduces to waiting and stopping.
    // ------------------------------------------------------------------------------------
    let runs = Arc::new(AtomicU32::new(0));
    let manager = ModuleManager::builder()
        .module(Queue {
            runs: Arc::clone(&runs),
        })
        .module(Reports)
        .build()?;

    println!("starting...");
    manager.start_all().await?;
    for _ in 0..=FAILING_RUNS {
        // Long enough for a failing run to fail; then wait until supervision has stopped
        // what the failure brought down.
        tokio::time::sleep(Duration::from_millis(50)).await;
        manager.supervision_idle().await?;
        let queue = manager.module("queue")?;
        // Supervision leaves the failed module stopped, with the reason until it restarts.
        if queue.stopped_because().is_none() {
            println!("queue is {}: it holds", queue.state());
            break;
        }
        for name in ["queue", "reports"] {
            let module = manager.module(name)?;
            let why = module.stopped_because().unwrap_or_default();
            println!("{name} is {}: {why}", module.state());
        }
        println!("restarting...");
        let report = manager.start_all().await?;
        println!("{report}");
    }

    println!("stopping...");
    let report = manager.stop_all().await?;
    println!("{report}");
    println!("queue ran {} times", runs.load(Ordering::SeqCst));
    Ok(())
}
