//! Time limits too large to add to an instant (`Duration::MAX`) mean "no practical limit":
//! the manager saturates them instead of panicking on `Instant + Duration` overflow.

use std::time::Duration;

use symphra::prelude::*;
use symphra::testing::{CallLog, Probe};

#[tokio::test(start_paused = true)]
async fn a_maximal_hook_and_shutdown_timeout_start_and_stop_normally() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log))
        .module(
            Probe::new("api", &log)
                .depends_on("database")
                .delay(Hook::Start, Duration::from_secs(1)),
        )
        .hook_timeout(Duration::MAX)
        .shutdown_timeout(Duration::MAX)
        .build()
        .unwrap();

    let started = manager.start_all().await.unwrap();
    assert!(started.is_success());
    assert_eq!(log.modules_calling(Hook::Start), ["database", "api"]);

    let stopped = manager.stop_all().await.unwrap();
    assert!(stopped.is_success());
    assert_eq!(log.modules_calling(Hook::Stop), ["api", "database"]);
}

#[tokio::test(start_paused = true)]
async fn a_maximal_shutdown_timeout_stops_one_module_and_its_dependents() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log).delay(Hook::Stop, Duration::from_secs(2)))
        .module(Probe::new("api", &log).depends_on("database"))
        .shutdown_timeout(Duration::MAX)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();

    let report = manager.stop("database").await.unwrap();
    assert!(report.is_success());
    assert_eq!(log.modules_calling(Hook::Stop), ["api", "database"]);
}

#[tokio::test(start_paused = true)]
async fn a_maximal_hook_timeout_still_lets_the_operation_deadline_win() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("slow", &log).delay(Hook::Stop, Duration::from_secs(3600)))
        .hook_timeout(Duration::MAX)
        .shutdown_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();

    let began = tokio::time::Instant::now();
    let outcome = manager.stop_all().await;
    assert!(
        outcome.is_err(),
        "a stop past its deadline fails: {outcome:?}"
    );
    assert_eq!(began.elapsed(), Duration::from_secs(5));
}
