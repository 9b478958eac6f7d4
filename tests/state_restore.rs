//! The manager remembers operators' decisions, configurations, versions and failures in
//! its state store. On the next start of the application it restores the decisions and the
//! configurations; versions and failures stay on record, read through the store.

use serde_json::json;
use symphra::Error;
use symphra::manager::{Outcome, SkipReason};
use symphra::prelude::*;
use symphra::state::{Availability, RedbStore};
use symphra::testing::{CallLog, Fault, Probe};

fn app(log: &CallLog, path: &std::path::Path, failing: bool) -> ModuleManager {
    let flaky = Probe::new("flaky", log);
    let flaky = if failing {
        flaky.fault(Hook::Start, Fault::Error("disk full".into()))
    } else {
        flaky
    };
    ModuleManager::builder()
        .module(Probe::new("database", log).metadata_with(|m| m.version("1.4.0")))
        .module(Probe::new("users", log).depends_on("database"))
        .module(Probe::new("cache", log))
        .module(Probe::new("mailer", log))
        .module(flaky)
        .state_store(RedbStore::open(path).unwrap())
        .build()
        .unwrap()
}

fn skipped(report: &symphra::manager::Report, name: &str) -> SkipReason {
    match report.module(name).unwrap().outcome() {
        Outcome::Skipped(reason) => reason.clone(),
        other => panic!("{name}: {other:?}"),
    }
}

#[tokio::test]
async fn a_restart_restores_decisions_and_configurations_and_keeps_the_rest_on_record() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    {
        let log = CallLog::default();
        let manager = app(&log, &path, true);
        manager.configure("cache", json!({ "size": 64 })).unwrap();
        assert!(manager.start_all().await.is_err(), "flaky fails");
        manager.disable("database").await.unwrap();
        manager.stop("mailer").await.unwrap();
        manager.stop_all().await.unwrap();
        let store = manager.state_store().unwrap();
        let flaky = store.get("flaky").unwrap().unwrap();
        let failure = flaky.last_failure.unwrap();
        assert_eq!(
            (failure.hook.as_str(), failure.cause.as_str()),
            ("start", "disk full")
        );
        assert!(failure.at_unix_ms > 1_700_000_000_000);
        assert_eq!(
            store
                .get("database")
                .unwrap()
                .unwrap()
                .started_version
                .as_deref(),
            Some("1.4.0")
        );
    }

    // The application starts again, with the same modules and no configuration for cache.
    let log = CallLog::default();
    let manager = app(&log, &path, false);
    let report = manager.start_all().await.unwrap_err();
    let Error::Start(report) = report else {
        panic!()
    };
    let report = report.report();
    assert_eq!(skipped(report, "database"), SkipReason::Disabled);
    assert_eq!(
        skipped(report, "users"),
        SkipReason::DependencyFailed {
            failed: "database".into()
        }
    );
    assert_eq!(skipped(report, "mailer"), SkipReason::HeldStopped);
    assert!(matches!(
        report.module("flaky").unwrap().outcome(),
        Outcome::Done
    ));
    assert_eq!(
        manager.module("cache").unwrap().config().as_value(),
        &json!({ "size": 64 })
    );
    assert!(log.hooks_of("database").is_empty() && log.hooks_of("mailer").is_empty());
    // Not restored into the manager, but still on record: the version database last
    // started with, and flaky's failure (its successful start now recorded no new one).
    let store = manager.state_store().unwrap();
    let database = store.get("database").unwrap().unwrap();
    assert_eq!(database.started_version.as_deref(), Some("1.4.0"));
    let flaky = store.get("flaky").unwrap().unwrap();
    assert_eq!(
        flaky.last_failure.map(|f| f.cause),
        Some("disk full".to_owned())
    );

    // An operator brings them back.
    assert!(matches!(
        manager.start("database").await.unwrap_err(),
        Error::Unavailable {
            availability: Availability::Disabled,
            ..
        }
    ));
    manager.enable("database").await.unwrap();
    manager.start("mailer").await.unwrap();
    manager.start_all().await.unwrap();
    for name in ["database", "users", "mailer"] {
        assert_eq!(
            manager.module(name).unwrap().state(),
            ModuleState::Started,
            "{name}"
        );
    }
    let store = manager.state_store().unwrap();
    assert_eq!(
        store.get("database").unwrap().unwrap().availability,
        Availability::Enabled
    );
    assert!(!store.get("mailer").unwrap().unwrap().held_stopped);
}

#[tokio::test]
async fn disabling_a_running_module_stops_it_and_its_dependents_without_holding_them() {
    let dir = tempfile::tempdir().unwrap();
    let log = CallLog::default();
    let manager = app(&log, &dir.path().join("state.redb"), false);
    manager.start_all().await.unwrap();
    manager.disable("database").await.unwrap();
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
    assert_eq!(
        manager.module("users").unwrap().state(),
        ModuleState::Stopped
    );
    manager.enable("database").await.unwrap();
    manager.start_all().await.unwrap();
    assert_eq!(
        manager.module("database").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(
        manager.module("users").unwrap().state(),
        ModuleState::Started
    );
}

#[tokio::test]
async fn an_application_config_overrides_the_recorded_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    {
        let log = CallLog::default();
        let manager = app(&log, &path, false);
        manager.configure("cache", json!({ "size": 64 })).unwrap();
        manager.start_all().await.unwrap();
    }
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .config("cache", json!({ "size": 8 }))
        .state_store(RedbStore::open(&path).unwrap())
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    assert_eq!(
        manager.module("cache").unwrap().config().as_value(),
        &json!({ "size": 8 })
    );
}

#[tokio::test]
async fn starting_a_module_by_name_starts_a_held_dependency_and_releases_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = CallLog::default();
    let manager = app(&log, &dir.path().join("state.redb"), false);
    manager.start_all().await.unwrap();
    manager.stop("database").await.unwrap(); // held, and users stopped with it
    let report = manager.start_all().await.unwrap_err();
    let Error::Start(report) = report else {
        panic!()
    };
    assert_eq!(
        skipped(report.report(), "database"),
        SkipReason::HeldStopped
    );
    manager.start("users").await.unwrap(); // needs the database: it starts, and is released
    assert_eq!(
        manager.module("database").unwrap().state(),
        ModuleState::Started
    );
    assert!(
        !manager
            .state_store()
            .unwrap()
            .get("database")
            .unwrap()
            .unwrap()
            .held_stopped
    );
    manager.stop_all().await.unwrap();
    manager.start_all().await.unwrap();
}
