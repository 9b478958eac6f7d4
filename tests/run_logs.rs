//! `run_until` logs why it stops everything: a shutdown request, with its signal, or a
//! module that gave up.
//!
//! Alone in its test binary, like `summary_log.rs`: `tracing` caches whether a call site is
//! enabled process-wide, and another test of the same binary could race the scoped
//! subscriber set here.

use std::time::Duration;

use futures_util::{StreamExt, stream};
use symphra::prelude::*;
use symphra::signal::Signal;
use symphra::supervision::{Escalation, Restart, RestartPolicy};

#[path = "support/log_lines.rs"]
mod log_lines;
use log_lines::Lines;

struct Cache;
impl Module for Cache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

/// Fails as soon as it runs, under a policy that never restarts it.
struct Doomed;
impl Module for Doomed {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("doomed")
            .restart(RestartPolicy::new(Restart::OnFailure).intensity(0, Duration::from_secs(60)))
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.spawn("work", |_| async { Err("disk gone".into()) })?;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_run_logs_why_it_stops_everything() {
    let (lines, _guard) = Lines::capture(tracing::Level::INFO);

    let manager = ModuleManager::builder().module(Cache).build().unwrap();
    let interrupt = stream::iter([Signal::Interrupt]).chain(stream::pending());
    let outcome = manager.run_until(Box::pin(interrupt)).await;
    assert!(outcome.is_success(), "{outcome:?}");
    let text = lines.take();
    let line = text
        .lines()
        .find(|l| l.contains("shutdown requested; stopping"));
    assert!(line.is_some_and(|l| l.contains("INFO")), "{text}");
    assert!(!text.contains("the start failed"), "{text}");

    let manager = ModuleManager::builder()
        .module(Doomed)
        .escalation(Escalation::Shutdown)
        .build()
        .unwrap();
    let outcome = manager.run_until(Box::pin(stream::pending())).await;
    assert_eq!(outcome.exit_code(), 1, "{outcome:?}");
    let text = lines.take();
    let line = text
        .lines()
        .find(|l| l.contains("a module gave up; stopping everything"));
    assert!(
        line.is_some_and(|l| l.contains("ERROR") && l.contains("doomed")),
        "{text}"
    );
    assert!(!text.contains("the start failed"), "{text}");
}
