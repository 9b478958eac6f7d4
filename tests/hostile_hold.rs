//! Issue 19, item 8: only an operator's stop is recorded as one. A reload's stop (or any
//! stop "for now") that a crash interrupts must not hold the module down after a restart.

use symphra::manager::{Outcome, SkipReason};
use symphra::prelude::*;
use symphra::state::RedbStore;
use symphra::testing::{CallLog, Probe};

fn app(log: &CallLog, path: &std::path::Path) -> ModuleManager {
    ModuleManager::builder()
        .module(Probe::new("database", log))
        .module(Probe::new("users", log).depends_on("database"))
        .state_store(RedbStore::open(path).expect("a store"))
        .build()
        .expect("resolves")
}

#[tokio::test]
async fn item_08_a_stop_for_now_interrupted_by_a_crash_holds_nothing_down() {
    let dir = tempfile::tempdir().expect("a folder");
    let path = dir.path().join("state.redb");
    let log = CallLog::default();
    {
        let manager = app(&log, &path);
        manager.start_all().await.expect("starts");
        // What `--watch` does before swapping code in; the process then dies before the
        // module is started again.
        manager.stop_for_now("database").await.expect("stops");
        assert_eq!(
            manager.module("users").expect("known").state(),
            ModuleState::Stopped
        );
        let store = manager.state_store().expect("a store");
        let record = store.get("database").expect("readable").expect("recorded");
        assert!(
            !record.held_stopped,
            "a reload's stop was recorded as an operator's"
        );
    }
    // The restart starts everything.
    let manager = app(&log, &path);
    let report = manager.start_all().await.expect("starts");
    for name in ["database", "users"] {
        assert!(
            matches!(
                report.module(name).expect("reported").outcome(),
                Outcome::Done
            ),
            "{name}: {:?}",
            report.module(name).map(|m| m.outcome())
        );
    }
    manager.stop_all().await.expect("stops");

    // An operator's stop still holds, across a restart.
    manager.start_all().await.expect("starts");
    manager.stop("database").await.expect("stops");
    drop(manager);
    let manager = app(&log, &path);
    let report = match manager.start_all().await {
        Err(symphra::Error::Start(error)) => error.into_report(),
        other => panic!("expected the held module to be skipped: {other:?}"),
    };
    assert!(matches!(
        report.module("database").expect("reported").outcome(),
        Outcome::Skipped(SkipReason::HeldStopped)
    ));
}
