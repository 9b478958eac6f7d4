//! A panicking hook is reported once, by Symphra: the process's panic hook (here a
//! counting one the application installed) is not called for it, yet still is for every
//! other panic. Its own test binary, because the panic hook is process-global.

use std::sync::atomic::{AtomicUsize, Ordering};

use symphra::lifecycle::FailureCause;
use symphra::prelude::*;

static APPLICATION_HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);

struct Panicking;

impl Module for Panicking {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("panicking")
    }
    async fn start(&self, _ctx: &Context) -> HookResult {
        panic!("boom in start");
    }
}

struct PanickingBlocking;

impl SyncModule for PanickingBlocking {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("blocking")
    }
    fn start(&self, _ctx: &Context) -> HookResult {
        panic!("boom on a blocking thread");
    }
}

fn panic_text(report: &Report, name: &str) -> String {
    match report.module(name).map(ModuleReport::outcome) {
        Some(Outcome::Failed(failure)) => match failure.cause() {
            FailureCause::Panic(text) => text.clone(),
            other => panic!("{name} failed otherwise: {other}"),
        },
        other => panic!("{name} did not fail: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caught_hook_panic_is_reported_once_and_other_panics_reach_the_previous_hook() {
    std::panic::set_hook(Box::new(|_| {
        APPLICATION_HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));
    let manager = ModuleManager::builder()
        .module(Panicking)
        .sync_module(PanickingBlocking)
        .build()
        .expect("the modules are valid");
    let Err(symphra::Error::Start(error)) = manager.start_all().await else {
        panic!("the start should fail");
    };
    let report = error.report();
    assert_eq!(
        APPLICATION_HOOK_CALLS.load(Ordering::SeqCst),
        0,
        "caught hook panics must not reach the panic hook"
    );
    let async_text = panic_text(report, "panicking");
    assert!(async_text.starts_with("boom in start (at "), "{async_text}");
    assert!(async_text.contains("panic_report.rs"), "{async_text}");
    let blocking_text = panic_text(report, "blocking");
    assert!(
        blocking_text.starts_with("boom on a blocking thread (at ")
            && blocking_text.contains("panic_report.rs"),
        "{blocking_text}"
    );

    // Any other panic, on any thread, still reaches the application's hook.
    let other = std::thread::spawn(|| panic!("not Symphra's")).join();
    assert!(other.is_err());
    assert_eq!(APPLICATION_HOOK_CALLS.load(Ordering::SeqCst), 1);
}
