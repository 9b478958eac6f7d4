//! A poll that blocks the async runtime is logged as a warning naming the module, the
//! hook or task, how long it took and the threshold.
//!
//! Alone in its test binary: `tracing` caches whether a call site is enabled process-wide,
//! and a test of the same binary hitting the manager's call sites on another thread, with
//! no subscriber, could race the scoped subscriber set here and leave it without lines.

use std::time::{Duration, Instant};

use symphra::prelude::*;

#[path = "support/log_lines.rs"]
mod log_lines;
use log_lines::Lines;

const NAP: Duration = Duration::from_millis(20);

/// Blocks its thread in `start`, and in a finite task.
struct Blocker;

impl Module for Blocker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("blocker")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        std::thread::sleep(NAP);
        ctx.spawn_finite("nap", |_| async {
            std::thread::sleep(NAP);
            Ok(())
        })?;
        Ok(())
    }
}

/// The `took_ms` field of a log line.
fn took_ms(line: &str) -> f64 {
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("took_ms="))
        .and_then(|value| value.parse().ok())
        .unwrap_or_else(|| panic!("no took_ms in {line}"))
}

// The real clock: a thread sleeping does not move a paused one.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_poll_is_logged_with_its_module_hook_or_task_and_duration() {
    let (lines, _guard) = Lines::capture(tracing::Level::WARN);

    let manager = ModuleManager::builder()
        .module(Blocker)
        .blocking_threshold(Duration::from_millis(10))
        .build()
        .expect("valid modules");
    let began = Instant::now();
    manager.start_all().await.expect("starts");
    // The stop joins the task: after it, the task's nap was logged too.
    manager.stop_all().await.expect("stops");
    let whole = began.elapsed().as_secs_f64() * 1e3;

    let text = lines.take();
    let hook: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("a poll of the hook blocked"))
        .collect();
    let task: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("a poll of the task blocked"))
        .collect();
    assert_eq!((hook.len(), task.len()), (1, 1), "{text}");
    for line in [hook[0], task[0]] {
        assert!(line.contains("WARN"), "{line}");
        assert!(line.contains("module=blocker"), "{line}");
        assert!(line.contains("threshold=10ms"), "{line}");
        // At least the nap, in milliseconds, and within the whole start and stop.
        let took = took_ms(line);
        assert!(
            took >= NAP.as_secs_f64() * 1e3 && took <= whole,
            "{took} of {whole}: {line}"
        );
    }
    assert!(hook[0].contains("hook=\"start\""), "{}", hook[0]);
    assert!(task[0].contains("task=nap"), "{}", task[0]);
}
