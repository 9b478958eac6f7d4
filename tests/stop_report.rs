//! A report says what the operation did: modules a stop found not running are not "ok",
//! it says which modules went together (waves), and how long each module's hooks took.

use symphra::manager::Outcome;
use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, Probe};

/// cache and database have no dependencies, users needs database, api needs users.
fn manager(log: &CallLog) -> ModuleManager {
    ModuleManager::builder()
        .module(Probe::new("cache", log))
        .module(Probe::new("database", log))
        .module(Probe::new("users", log).depends_on("database"))
        .module(Probe::new("api", log).depends_on("users"))
        .build()
        .unwrap()
}

fn outcome(report: &symphra::manager::Report, name: &str) -> String {
    report
        .module(name)
        .map(|m| m.outcome().to_string())
        .unwrap_or_else(|| format!("{name} is not in the report"))
}

#[tokio::test]
async fn modules_that_never_started_are_not_running_not_ok() {
    let log = CallLog::default();
    let manager = manager(&log);
    manager.start("users").await.unwrap();

    let report = manager.stop_all().await.unwrap();
    assert!(matches!(
        report.module("api").map(|m| m.outcome()),
        Some(Outcome::NotRunning)
    ));
    assert!(matches!(
        report.module("cache").map(|m| m.outcome()),
        Some(Outcome::NotRunning)
    ));
    assert_eq!(outcome(&report, "api"), "not running");
    assert_eq!(outcome(&report, "users"), "done");
    assert_eq!(outcome(&report, "database"), "done");
    assert_eq!(report.counts(), (2, 0, 0), "{report}");
    assert_eq!(report.not_running(), 2);
    assert!(report.is_success());
    assert!(
        report
            .to_string()
            .starts_with("stop: 2 ok, 0 failed, 0 skipped, 2 not running in "),
        "{report}"
    );
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
}

#[tokio::test]
async fn a_second_stop_finds_nothing_running() {
    let manager = manager(&CallLog::default());
    manager.start_all().await.unwrap();
    let first = manager.stop_all().await.unwrap();
    assert_eq!((first.counts(), first.not_running()), ((4, 0, 0), 0));
    let second = manager.stop_all().await.unwrap();
    assert_eq!((second.counts(), second.not_running()), ((0, 0, 0), 4));
}

#[tokio::test]
async fn a_module_that_failed_to_start_is_not_running_at_the_stop() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .module(Probe::new("database", &log).fault(Hook::Start, Fault::Error("down".into())))
        .build()
        .unwrap();
    manager.start_all().await.unwrap_err();
    let report = manager.stop_all().await.unwrap();
    assert_eq!(outcome(&report, "database"), "not running");
    assert_eq!(outcome(&report, "cache"), "done");
}

#[tokio::test]
async fn a_start_still_reports_already_started_modules_as_unchanged_and_ok() {
    let manager = manager(&CallLog::default());
    manager.start("users").await.unwrap();
    let report = manager.start_all().await.unwrap();
    assert!(matches!(
        report.module("users").map(|m| m.outcome()),
        Some(Outcome::Unchanged)
    ));
    assert_eq!(report.counts(), (4, 0, 0));
    assert_eq!(report.not_running(), 0);
    assert!(
        report
            .to_string()
            .starts_with("start: 4 ok, 0 failed, 0 skipped in "),
        "{report}"
    );
}

#[tokio::test]
async fn a_stop_goes_through_the_start_waves_in_reverse() {
    let manager = manager(&CallLog::default());
    let started = manager.start_all().await.unwrap();
    assert_eq!(
        started.waves(),
        [vec!["cache", "database"], vec!["users"], vec!["api"]]
    );
    assert!(
        started
            .to_string()
            .contains("\n  waves: [cache, database] [users] [api]\n"),
        "{started}"
    );

    let stopped = manager.stop_all().await.unwrap();
    assert_eq!(
        stopped.waves(),
        [vec!["api"], vec!["users"], vec!["cache", "database"]]
    );
    assert!(
        stopped
            .to_string()
            .contains("\n  waves: [api] [users] [cache, database]\n"),
        "{stopped}"
    );
}

#[tokio::test]
async fn waves_hold_only_the_modules_the_report_covers() {
    let manager = manager(&CallLog::default());
    manager.start_all().await.unwrap();
    // Stopping users stops api first, and leaves cache and database alone.
    let stopped = manager.stop("users").await.unwrap();
    assert_eq!(stopped.waves(), [vec!["api"], vec!["users"]]);
    // Starting api again brings users back; database is already started.
    let started = manager.start("api").await.unwrap();
    assert_eq!(
        started.waves(),
        [vec!["database"], vec!["users"], vec!["api"]]
    );
}

#[tokio::test(start_paused = true)]
async fn a_module_line_shows_the_time_in_its_hooks_only_when_hooks_ran() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("slow", &log).delay(Hook::Start, std::time::Duration::from_millis(10)))
        .module(Probe::new("broken", &log).fault(Hook::Install, Fault::Error("no disk".into())))
        .module(Probe::new("api", &log).depends_on("broken"))
        .build()
        .unwrap();
    let report = match manager.start_all().await {
        Err(symphra::Error::Start(error)) => error.into_report(),
        other => panic!("expected a start error, got {other:?}"),
    };
    let text = report.to_string();
    let line = |name: &str| {
        text.lines()
            .find(|line| line.trim_start().starts_with(name))
            .unwrap_or_else(|| panic!("no line for {name}: {text}"))
            .to_owned()
    };
    assert!(line("slow").ends_with(" (10ms)"), "{text}");
    // Skipped: no hook ran, so no time is shown.
    assert!(!line("api").contains('('), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_clean_report_reads_in_full_with_no_loss_or_blocking_lines() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(Probe::new("api", &log).depends_on("db"))
        .build()
        .unwrap();
    let started = manager.start_all().await.unwrap();
    assert_eq!(
        started.to_string(),
        "start: 2 ok, 0 failed, 0 skipped in 0ns\n  waves: [db] [api]\n  \
         db                       done (0ns)\n  api                      done (0ns)"
    );
    let db = format!("{:?}", started.module("db").unwrap());
    assert!(
        db.starts_with(r#"ModuleReport { name: "db", outcome: Done, hooks: Timings {"#),
        "{db}"
    );

    manager.stop("api").await.unwrap();
    let stopped = manager.stop_all().await.unwrap();
    assert_eq!(
        stopped.to_string(),
        "stop: 1 ok, 0 failed, 0 skipped, 1 not running in 0ns\n  waves: [api] [db]\n  \
         api                      not running\n  db                       done (0ns)"
    );
}
