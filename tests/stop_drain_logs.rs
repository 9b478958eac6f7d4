//! What a stop's drain of a module's queued events logs: a DEBUG line when it waited for a
//! backlog, a WARN line only when events were left at the time limit, nothing when there
//! was nothing to wait for.
//!
//! Alone in its test binary, one test: `tracing` caches whether a call site is enabled
//! process-wide, and another test hitting the same call sites with no subscriber could race
//! the scoped subscriber set here and leave it without lines.

use std::time::Duration;

use symphra::bus::{Event, QueueConfig, QueuePolicy, SubscribeOptions};
use symphra::prelude::*;

#[path = "support/log_lines.rs"]
mod log_lines;
use log_lines::Lines;

const HANDLER: Duration = Duration::from_millis(10);

/// Handles `job` slowly through a queued context subscription.
struct Worker;

impl Module for Worker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("worker")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.subscribe_async_with(
            "job",
            SubscribeOptions::new().queue(QueueConfig::new(64, QueuePolicy::Wait)),
            |_: Event| tokio::time::sleep(HANDLER),
        )?;
        Ok(())
    }
}

/// Starts a worker, queues `jobs` events for it, stops it with `stop_timeout`; gives the
/// lines logged by the stop.
async fn stop_with_backlog(lines: &Lines, jobs: u32, stop_timeout: Duration) -> String {
    let manager = ModuleManager::builder()
        .module(Worker)
        .timeout(Hook::Stop, Some(stop_timeout))
        .build()
        .expect("valid modules");
    manager.start_all().await.expect("starts");
    for n in 0..jobs {
        manager.bus().publish("job", n).await.expect("published");
    }
    lines.take();
    manager.stop_all().await.expect("stops");
    lines.take()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_drain_logs_a_backlog_it_handled_and_warns_only_of_events_left() {
    let (lines, _guard) = Lines::capture(tracing::Level::DEBUG);
    let drained = |text: &str| text.lines().any(|l| l.contains("stop: queues drained"));
    let left = |text: &str| {
        text.lines()
            .find(|l| l.contains("queued events left unhandled"))
            .map(str::to_owned)
    };

    // A backlog handled in time: one DEBUG line saying how many, no warning.
    let text = stop_with_backlog(&lines, 5, Duration::from_secs(1)).await;
    let line = text
        .lines()
        .find(|l| l.contains("stop: queues drained"))
        .unwrap_or_else(|| panic!("no drain line in:\n{text}"));
    assert!(
        line.contains("DEBUG") && line.contains("handled=5"),
        "{line}"
    );
    assert_eq!(left(&text), None, "{text}");

    // Subscribed, nothing queued: nothing to say.
    let text = stop_with_backlog(&lines, 0, Duration::from_secs(1)).await;
    assert!(!drained(&text), "{text}");
    assert_eq!(left(&text), None, "{text}");

    // Three of ten handled within 35 ms: a warning that counts the other seven.
    let text = stop_with_backlog(&lines, 10, Duration::from_millis(35)).await;
    let line = left(&text).unwrap_or_else(|| panic!("no warning in:\n{text}"));
    assert!(
        line.contains("WARN") && line.contains("waited_for=10") && line.contains("left=7"),
        "{line}"
    );
    assert!(!drained(&text), "{text}");
}
