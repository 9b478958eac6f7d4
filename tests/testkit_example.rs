//! Testing a module with the test kit (feature `testing`): the seed's "Async Testing".
//!
//! `Reports` is an application module that depends on "database". The tests register a
//! `Probe` under that name instead of a real database: it satisfies the dependency,
//! records every hook call in a `CallLog`, and can be told to be slow, fail, panic or
//! hang. The tests run on tokio's paused clock, so delays and timeouts take no real time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde_json::json;
use symphra::lifecycle::FailureCause;
use symphra::manager::{Outcome, SkipReason};
use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, Probe};

// ---------------------------------------------------------------------------------------
// The module under test, as an application would write it.

#[derive(Default)]
struct Reports {
    interval: OnceLock<Duration>,
    running: AtomicBool,
}

impl Reports {
    fn interval(&self) -> Option<Duration> {
        self.interval.get().copied()
    }

    fn is_running(&self) -> bool {
        self.running.load(Ordering::SeqCst)
    }
}

impl Module for Reports {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reports")
            .version("1.0.0")
            .depends_on("database >=1, <2")
            .config_schema(json!({
                "type": "object",
                "properties": { "interval_ms": { "type": "integer", "minimum": 1 } }
            }))
            .default_config(json!({ "interval_ms": 1000 }))
    }

    async fn install(&self, _ctx: &Context, config: Config) -> HookResult {
        let ms: u64 = config.get("interval_ms")?.ok_or("no interval_ms")?;
        self.interval
            .set(Duration::from_millis(ms))
            .map_err(|_| "installed twice")?;
        Ok(())
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        self.running.store(true, Ordering::SeqCst);
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        self.running.store(false, Ordering::SeqCst);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Helpers.

/// A fake "database": a probe with a version that satisfies `Reports`' requirement.
fn fake_database(log: &CallLog) -> Probe {
    Probe::with_metadata(ModuleMetadata::new("database").version("1.4.0"), log)
}

/// Starts `Reports` with a database whose `start` has `fault`; returns the start error.
async fn start_with_faulty_database(
    fault: Fault,
) -> (ModuleManager, CallLog, Box<symphra::manager::StartError>) {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Reports::default())
        .module(fake_database(&log).fault(Hook::Start, fault))
        .hook_timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let error = match manager.start_all().await {
        Err(symphra::Error::Start(error)) => error,
        other => panic!("expected a start error, got {other:?}"),
    };
    (manager, log, error)
}

/// What the faulty-database tests all check: the database failed in `start`, `Reports`
/// was skipped without running a single hook.
fn assert_reports_skipped(
    manager: &ModuleManager,
    log: &CallLog,
    error: &symphra::manager::StartError,
) {
    let report = error.report();
    assert_eq!(report.counts(), (0, 1, 1), "{report}");
    assert_eq!(
        log.hooks_of("database"),
        [Hook::Bootstrap, Hook::Install, Hook::Start]
    );
    let database = manager.module("database").unwrap();
    assert_eq!(database.state(), ModuleState::Failed);
    assert_eq!(database.failure().unwrap().hook(), Hook::Start);

    let Outcome::Skipped(reason) = report.module("reports").unwrap().outcome() else {
        panic!("reports was not skipped: {report}");
    };
    assert_eq!(
        reason,
        &SkipReason::DependencyFailed {
            failed: Arc::from("database")
        }
    );
    assert!(report.module("reports").unwrap().hooks().is_empty());
    assert_eq!(
        manager.module("reports").unwrap().state(),
        ModuleState::Registered
    );
    assert!(!manager.get::<Reports>().unwrap().is_running());
}

fn database_cause(error: &symphra::manager::StartError) -> FailureCause {
    match error.report().module("database").unwrap().outcome() {
        Outcome::Failed(failure) => {
            assert_eq!(failure.hook(), Hook::Start);
            failure.cause().clone()
        }
        other => panic!("database did not fail: {other}"),
    }
}

// ---------------------------------------------------------------------------------------
// Tests.

#[tokio::test(start_paused = true)]
async fn starts_after_its_dependency_and_stops_before_it() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Reports::default())
        .module(
            fake_database(&log)
                .delay(Hook::Start, Duration::from_millis(10))
                .delay(Hook::Stop, Duration::from_millis(5)),
        )
        .config("reports", json!({ "interval_ms": 250 }))
        .config("database", json!({ "url": "sqlite::memory:" }))
        .build()
        .unwrap();
    let reports = manager.get::<Reports>().unwrap();

    let started = manager.start_all().await.unwrap();
    assert_eq!(
        manager.module("reports").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(
        manager.module("database").unwrap().state(),
        ModuleState::Started
    );
    assert!(reports.is_running());
    assert_eq!(reports.interval(), Some(Duration::from_millis(250)));

    // The fake dependency ran its setup hooks and received its configuration.
    assert_eq!(
        log.hooks_of("database"),
        [Hook::Bootstrap, Hook::Install, Hook::Start]
    );
    let install = log
        .calls()
        .into_iter()
        .find(|call| call.hook == Hook::Install)
        .unwrap();
    assert_eq!(
        install
            .config
            .unwrap()
            .get::<String>("url")
            .unwrap()
            .as_deref(),
        Some("sqlite::memory:")
    );

    // Reports started exactly when the database's 10 ms start had finished.
    let start = started
        .module("reports")
        .unwrap()
        .hooks()
        .iter()
        .find(|timing| timing.hook == Hook::Start)
        .copied()
        .unwrap();
    assert_eq!(start.began, Duration::from_millis(10));
    assert_eq!(started.elapsed(), Duration::from_millis(10));

    let stopped = manager.stop_all().await.unwrap();
    let order: Vec<&str> = stopped.modules().iter().map(|m| m.name()).collect();
    assert_eq!(order, ["reports", "database"]);
    assert!(!reports.is_running());
    assert_eq!(log.hooks_of("database").last(), Some(&Hook::Stop));
    assert_eq!(
        manager.module("reports").unwrap().state(),
        ModuleState::Stopped
    );
    assert_eq!(stopped.elapsed(), Duration::from_millis(5));
}

#[tokio::test(start_paused = true)]
async fn a_failing_dependency_skips_the_module() {
    let (manager, log, error) =
        start_with_faulty_database(Fault::Error("connection refused".into())).await;
    assert!(matches!(
        database_cause(&error),
        FailureCause::Error(e) if e.to_string() == "connection refused"
    ));
    assert_reports_skipped(&manager, &log, &error);
    assert!(error.to_string().contains("connection refused"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_dependency_skips_the_module() {
    let (manager, log, error) =
        start_with_faulty_database(Fault::Panic("index out of bounds".into())).await;
    assert!(matches!(
        database_cause(&error),
        FailureCause::Panic(message) if message.starts_with("index out of bounds (at ")
    ));
    assert_reports_skipped(&manager, &log, &error);
}

#[tokio::test(start_paused = true)]
async fn a_hanging_dependency_times_out_and_skips_the_module() {
    let began = tokio::time::Instant::now();
    let (manager, log, error) = start_with_faulty_database(Fault::Hang).await;
    // 30 s on the paused clock: the test itself takes no real time.
    assert_eq!(began.elapsed(), Duration::from_secs(30));
    assert!(matches!(
        database_cause(&error),
        FailureCause::TimedOut(limit) if limit == Duration::from_secs(30)
    ));
    assert_reports_skipped(&manager, &log, &error);
}
