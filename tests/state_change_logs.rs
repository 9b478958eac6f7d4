//! Every state change of a module is logged at debug level, with the module and both states.
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
async fn each_state_change_is_logged_at_debug_level() {
    let (lines, _guard) = Lines::capture(tracing::Level::DEBUG);

    let manager = ModuleManager::builder()
        .module(Cache)
        .build()
        .expect("valid modules");
    manager.start_all().await.expect("starts");

    let text = lines.take();
    let changes: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("state changed"))
        .collect();
    let expected = [
        ("registered", "loaded"),
        ("loaded", "installed"),
        ("installed", "starting"),
        ("starting", "started"),
    ];
    assert_eq!(changes.len(), expected.len(), "{text}");
    for (line, (from, to)) in changes.iter().zip(expected) {
        assert!(line.contains("DEBUG"), "{line}");
        assert!(line.contains("module=cache"), "{line}");
        assert!(line.contains(&format!("from=\"{from}\"")), "{line}");
        assert!(line.contains(&format!("to=\"{to}\"")), "{line}");
    }
}
