//! Reports as data: a serialized report reads back as the same data, and a skipped
//! module's handle says why it was skipped (the summary log line: `tests/summary_log.rs`).

use std::sync::Arc;
use std::time::Duration;

use symphra::manager::{OutcomeData, ReportData};
use symphra::prelude::*;
use symphra::testing::{CallLog, Probe};

struct Db;
impl Module for Db {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("db")
    }
    async fn start(&self, _ctx: &Context) -> HookResult {
        Err("connection refused".into())
    }
}

struct Api;
impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api").depends_on("db")
    }
}

struct Cache;
impl Module for Cache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_serialized_report_round_trips_and_names_outcomes() {
    let manager = ModuleManager::builder()
        .module(Db)
        .module(Api)
        .module(Cache)
        .build()
        .expect("valid modules");
    let Err(symphra::Error::Start(error)) = manager.start_all().await else {
        panic!("db fails to start");
    };
    let report = error.report();
    let json = serde_json::to_string(report).expect("a report serializes");
    let read: ReportData = serde_json::from_str(&json).expect("and reads back");
    assert_eq!(read, report.to_data());

    let value: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(value["operation"], "start");
    assert_eq!(value["success"], false);
    let db = &read.modules[read
        .modules
        .iter()
        .position(|m| m.name == "db")
        .expect("db")];
    assert!(
        matches!(&db.outcome, OutcomeData::Failed { hook, cause } if hook == "start" && cause.contains("connection refused")),
        "{:?}",
        db.outcome
    );
    let api = read.modules.iter().find(|m| m.name == "api").expect("api");
    assert_eq!(
        api.outcome,
        OutcomeData::Skipped {
            reason: "dependency_failed".into(),
            because_of: Some("db".into()),
            message: "its dependency \"db\" did not start".into(),
        }
    );
    assert!(
        read.modules
            .iter()
            .any(|m| m.name == "cache" && m.outcome == OutcomeData::Done)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_skipped_module_says_so_until_it_runs() {
    let manager = ModuleManager::builder()
        .module(Db)
        .module(Api)
        .build()
        .expect("valid modules");
    assert!(manager.start_all().await.is_err());
    let api = manager.module("api").expect("registered");
    assert_eq!(api.state(), ModuleState::Registered);
    assert_eq!(
        api.skipped(),
        Some(SkipReason::DependencyFailed {
            failed: Arc::from("db")
        })
    );
    assert_eq!(manager.module("db").expect("registered").skipped(), None);

    // A stop that finds it not running did something else to it: the skip is forgotten.
    manager.stop_all().await.expect("nothing to stop");
    assert_eq!(api.skipped(), None);
}

#[tokio::test(start_paused = true)]
async fn times_are_in_microseconds_of_the_operation() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(
            Probe::new("slow", &log)
                .delay(Hook::Install, Duration::from_millis(1))
                .delay(Hook::Start, Duration::from_millis(2)),
        )
        .build()
        .expect("valid modules");
    let data = manager.start_all().await.expect("starts").to_data();
    assert_eq!(data.elapsed_us, 3_000);
    let timings: Vec<(&str, u64, u64)> = data.modules[0]
        .hooks
        .iter()
        .map(|hook| (hook.hook.as_str(), hook.began_us, hook.duration_us))
        .collect();
    assert_eq!(
        timings,
        [
            ("bootstrap", 0, 0),
            ("install", 0, 1_000),
            ("start", 1_000, 2_000)
        ]
    );
}
