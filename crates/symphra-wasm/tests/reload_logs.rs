//! Issue 22: what a reload's rollback tells the operator's log. A rollback that brings
//! everything back says only that the new code failed; one that leaves something down says
//! at error level that the rollback did not go cleanly, and why.

mod common;
#[path = "../../../tests/support/log_lines.rs"]
mod log_lines;

use std::sync::Mutex;

use common::{Guest, host, write_module};
use log_lines::Lines;
use symphra::prelude::*;
use symphra_wasm::{LoadOptions, ReloadOutcome, load_directory};

/// Starts `echo` (whose `start` fails when `fail`) and publishes nothing.
fn guest(fail: bool) -> Vec<u8> {
    let mut g = Guest::new();
    let body = if fail {
        g.fail("new code cannot start")
    } else {
        String::new()
    };
    g.hook("start", body).component()
}

const MANIFEST: &str = "name = \"echo\"\nversion = \"1.0.0\"\n";

/// A native dependent of `echo` that starts `starts_left` times, then fails.
struct Dependent {
    starts_left: Mutex<u32>,
}

impl Module for Dependent {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("dependent").depends_on("echo")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        let mut left = self.starts_left.lock().unwrap();
        if *left == 0 {
            return Err("no start left".into());
        }
        *left -= 1;
        Ok(())
    }
}

/// Reloads `echo` with code that cannot start, beside a dependent that can start
/// `starts_left` times; returns whether the rollback restored everything, and the log.
async fn failed_reload(starts_left: u32) -> (bool, String) {
    let root = tempfile::tempdir().unwrap();
    let dir = write_module(root.path(), "echo", MANIFEST, &guest(false));
    let (modules, report) =
        load_directory(root.path(), &LoadOptions::default().host(host())).unwrap();
    assert_eq!(report.loaded.len(), 1, "{report}");
    let echo = modules[0].clone();
    let manager = ModuleManager::builder()
        .module(echo.clone())
        .module(Dependent {
            starts_left: Mutex::new(starts_left),
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    std::fs::write(dir.join("module.wasm"), guest(true)).unwrap();

    let (logged, guard) = Lines::capture(tracing::Level::INFO);
    let report = echo.reload(&manager).await.unwrap();
    drop(guard);
    let restored = match report.outcome {
        ReloadOutcome::RolledBack {
            restored,
            rollback_errors,
            ..
        } => {
            assert_eq!(restored, rollback_errors.is_empty(), "{rollback_errors:?}");
            restored
        }
        other => panic!("{other:?}"),
    };
    (restored, logged.take())
}

#[tokio::test]
async fn a_clean_rollback_logs_no_error() {
    // The dependent starts at first and again after the rollback.
    let (restored, log) = failed_reload(2).await;
    assert!(restored);
    assert!(
        log.contains("the new code failed; restoring the old code"),
        "{log}"
    );
    assert!(!log.contains("ERROR"), "{log}");
    assert!(!log.contains("the rollback did not go cleanly"), "{log}");
}

#[tokio::test]
async fn a_rollback_that_leaves_a_module_down_logs_an_error_with_why() {
    // The dependent starts once only: the rollback cannot bring it back.
    let (restored, log) = failed_reload(1).await;
    assert!(!restored);
    let line = log
        .lines()
        .find(|l| l.contains("the rollback did not go cleanly"))
        .unwrap_or_else(|| panic!("no rollback error in {log}"));
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("no start left"), "{line}");
}
