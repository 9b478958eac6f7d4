//! A scoped run always stops what it started.

use std::time::Duration;

use symphra::Error;
use symphra::prelude::*;
use symphra::signal::Signal;
use symphra::testing::{CallLog, Fault, Probe};

fn manager(log: &CallLog) -> ModuleManager {
    ModuleManager::builder()
        .module(Probe::new("database", log))
        .module(Probe::new("users", log).depends_on("database"))
        .build()
        .unwrap()
}

fn never() -> impl Future<Output = Signal> {
    std::future::pending()
}

#[tokio::test]
async fn a_completed_body_returns_its_value_after_everything_stopped() {
    let log = CallLog::default();
    let manager = manager(&log);
    let handle = manager.clone();
    let exit = manager
        .scope_until(
            never(),
            async move { handle.module("users").unwrap().state() },
        )
        .await
        .unwrap();
    assert_eq!(exit, ScopeExit::Completed(ModuleState::Started));
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_signal_interrupts_the_body_and_stops_everything() {
    let log = CallLog::default();
    let manager = manager(&log);
    let shutdown = async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Signal::Terminate
    };
    let exit = manager
        .scope_until(shutdown, std::future::pending::<()>())
        .await
        .unwrap();
    assert_eq!(exit, ScopeExit::Interrupted(Signal::Terminate));
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
}

#[tokio::test]
async fn a_panicking_body_still_stops_everything_then_the_panic_resumes() {
    let log = CallLog::default();
    let manager = manager(&log);
    let inner = manager.clone();
    let outcome = tokio::spawn(async move {
        inner
            .scope_until(never(), async { panic!("body exploded") })
            .await
    })
    .await;
    let panic = outcome.unwrap_err();
    assert!(panic.is_panic());
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
    assert_eq!(
        manager.module("database").unwrap().state(),
        ModuleState::Stopped
    );
}

#[tokio::test]
async fn an_erroring_body_is_returned_after_everything_stopped() {
    let log = CallLog::default();
    let manager = manager(&log);
    let exit = manager
        .scope_until(never(), async { Err::<(), &str>("request failed") })
        .await
        .unwrap();
    assert_eq!(exit, ScopeExit::Completed(Err("request failed")));
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
}

#[tokio::test]
async fn a_failed_start_stops_what_did_start_and_never_runs_the_body() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log))
        .module(Probe::new("broken", &log).fault(Hook::Start, Fault::Error("nope".into())))
        .build()
        .unwrap();
    let ran = std::sync::atomic::AtomicBool::new(false);
    let error = manager
        .scope_until(never(), async {
            ran.store(true, std::sync::atomic::Ordering::SeqCst)
        })
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Start(_)), "{error}");
    assert!(!ran.load(std::sync::atomic::Ordering::SeqCst));
    assert_eq!(log.modules_calling(Hook::Stop), ["database"]);
}
