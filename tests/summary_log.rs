//! Each operation logs one INFO summary line.
//!
//! Alone in its test binary: `tracing` caches whether a call site is enabled process-wide,
//! and a test of the same binary hitting the manager's call sites on another thread, with
//! no subscriber, could race the scoped subscriber set here and leave it without lines.

use symphra::prelude::*;

#[path = "support/log_lines.rs"]
mod log_lines;
use log_lines::Lines;

struct Cache;
impl Module for Cache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_operation_logs_one_summary_line() {
    let (lines, _guard) = Lines::capture(tracing::Level::INFO);

    let manager = ModuleManager::builder()
        .module(Cache)
        .build()
        .expect("valid modules");
    manager.start_all().await.expect("starts");
    manager.stop_all().await.expect("stops");

    let text = lines.take();
    let summaries: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("modules ok in"))
        .collect();
    assert_eq!(summaries.len(), 2, "{text}");
    assert!(
        summaries[0].contains("INFO") && summaries[0].contains("start: 1 of 1 modules ok"),
        "{text}"
    );
    assert!(
        summaries[0].contains("ok=1") && summaries[0].contains("failed=0"),
        "{text}"
    );
    assert!(summaries[1].contains("stop: 1 of 1 modules ok"), "{text}");
}
