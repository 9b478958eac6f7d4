//! A stop drains the queues of a module's context subscriptions before its `stop` hook,
//! and its report counts the events the bus could not deliver while it ran.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use symphra::bus::{Event, QueueConfig, QueuePolicy, SubscribeOptions};
use symphra::prelude::*;

const HANDLER: Duration = Duration::from_millis(10);

/// Handles `job` slowly through a queued context subscription; records how many it had
/// handled when its stop hook ran.
struct Worker {
    handled: Arc<AtomicU32>,
    handled_at_stop: Arc<AtomicU32>,
}

impl Module for Worker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("worker")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let handled = Arc::clone(&self.handled);
        ctx.subscribe_async_with(
            "job",
            SubscribeOptions::new().queue(QueueConfig::new(64, QueuePolicy::Wait)),
            move |_: Event| {
                let handled = Arc::clone(&handled);
                async move {
                    tokio::time::sleep(HANDLER).await;
                    handled.fetch_add(1, Ordering::SeqCst);
                }
            },
        )?;
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        self.handled_at_stop
            .store(self.handled.load(Ordering::SeqCst), Ordering::SeqCst);
        Ok(())
    }
}

/// Publishes, from its stop hook, an event nobody listens to.
struct Auditor;

impl Module for Auditor {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("auditor")
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        ctx.publish("audit.stopped", ()).await?;
        Ok(())
    }
}

fn worker() -> (Worker, Arc<AtomicU32>, Arc<AtomicU32>) {
    let handled = Arc::new(AtomicU32::new(0));
    let at_stop = Arc::new(AtomicU32::new(0));
    let worker = Worker {
        handled: Arc::clone(&handled),
        handled_at_stop: Arc::clone(&at_stop),
    };
    (worker, handled, at_stop)
}

#[tokio::test(start_paused = true)]
async fn the_backlog_is_handled_before_the_stop_hook_and_nothing_is_lost() {
    let (worker, handled, at_stop) = worker();
    let manager = ModuleManager::builder().module(worker).build().unwrap();
    manager.start_all().await.unwrap();
    for n in 0..5_u32 {
        manager.bus().publish("job", n).await.unwrap();
    }
    assert_eq!(handled.load(Ordering::SeqCst), 0, "queued, not handled yet");

    let report = manager.stop_all().await.unwrap();
    assert_eq!(at_stop.load(Ordering::SeqCst), 5);
    assert_eq!(report.lost_events(), 0);
    assert!(!report.to_string().contains("lost"), "{report}");
    // The drain is part of the stop hook's time.
    let busy = report.module("worker").map(|m| m.busy());
    assert_eq!(busy, Some(HANDLER * 5));
}

#[tokio::test(start_paused = true)]
async fn events_left_at_the_stop_hooks_limit_are_counted() {
    let (worker, _, at_stop) = worker();
    let manager = ModuleManager::builder()
        .module(worker)
        .timeout(Hook::Stop, Some(Duration::from_millis(35)))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    for n in 0..10_u32 {
        manager.bus().publish("job", n).await.unwrap();
    }
    // Three handled in 35 ms; the stop hook itself still runs, within what is left.
    let report = manager.stop_all().await.unwrap();
    assert_eq!(at_stop.load(Ordering::SeqCst), 3);
    assert_eq!(report.lost_events(), 7, "{report}");
    assert!(
        report
            .to_string()
            .contains("\n  lost: 7 events nobody consumed"),
        "{report}"
    );
}

#[tokio::test(start_paused = true)]
async fn events_nobody_consumed_during_the_stop_are_counted() {
    let manager = ModuleManager::builder().module(Auditor).build().unwrap();
    // Before the stop: not the stop's loss.
    manager.bus().publish("nobody.listens", ()).await.unwrap();
    let start = manager.start_all().await.unwrap();
    assert_eq!(start.lost_events(), 0);

    let report = manager.stop_all().await.unwrap();
    assert_eq!(report.lost_events(), 1, "{report}");
    let text = report.to_string();
    let mut lines = text.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("stop: 1 ok")));
    assert_eq!(lines.next(), Some("  lost: 1 events nobody consumed"));
}

#[tokio::test(start_paused = true)]
async fn modules_without_subscriptions_do_not_wait() {
    let manager = ModuleManager::builder().module(Auditor).build().unwrap();
    manager.start_all().await.unwrap();
    let began = tokio::time::Instant::now();
    manager.stop_all().await.unwrap();
    assert_eq!(began.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn only_a_stop_waits_for_the_backlog_a_reload_does_not() {
    let (worker, handled, _) = worker();
    let manager = ModuleManager::builder().module(worker).build().unwrap();
    manager.start_all().await.unwrap();
    for n in 0..5_u32 {
        manager.bus().publish("job", n).await.unwrap();
    }
    let began = tokio::time::Instant::now();
    manager.reload("worker").await.unwrap();
    assert_eq!(began.elapsed(), Duration::ZERO, "the reload did not wait");
    assert_eq!(
        handled.load(Ordering::SeqCst),
        0,
        "the backlog is still queued"
    );
}
