//! Each operation logs one INFO summary line.
//!
//! Alone in its test binary: `tracing` caches whether a call site is enabled process-wide,
//! and a test of the same binary hitting the manager's call sites on another thread, with
//! no subscriber, could race the scoped subscriber set here and leave it without lines.

use std::io::Write;
use std::sync::{Arc, Mutex};

use symphra::prelude::*;

struct Cache;
impl Module for Cache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

/// Log lines, as the fmt subscriber writes them.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("not poisoned")
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).into_owned()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn each_operation_logs_one_summary_line() {
    let lines = Lines::default();
    let writer = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let manager = ModuleManager::builder()
        .module(Cache)
        .build()
        .expect("valid modules");
    manager.start_all().await.expect("starts");
    manager.stop_all().await.expect("stops");

    let text = lines.text();
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
