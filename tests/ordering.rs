//! Orderings without dependency (`ModuleMetadata::stops_before`) through the manager: they
//! order starts and stops, and a failure across one skips nothing.

use symphra::Error;
use symphra::manager::Outcome;
use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, Probe};

/// The api publishes what the worker consumes: the api stops before the worker.
fn app(log: &CallLog, worker: Probe) -> ModuleManager {
    ModuleManager::builder()
        .module(Probe::new("api", log).metadata_with(|m| m.stops_before("worker")))
        .module(worker)
        .module(Probe::new("mail", log).metadata_with(|m| m.stops_before("absent")))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn the_ordered_module_starts_first_and_stops_last() {
    let log = CallLog::default();
    let manager = app(&log, Probe::new("worker", &log));
    manager.start_all().await.unwrap();
    let started = log.modules_calling(Hook::Start);
    let position = |name: &str| started.iter().position(|m| m == name).unwrap();
    assert!(position("worker") < position("api"), "{started:?}");

    manager.stop_all().await.unwrap();
    let stopped = log.modules_calling(Hook::Stop);
    let position = |name: &str| stopped.iter().position(|m| m == name).unwrap();
    assert!(position("api") < position("worker"), "{stopped:?}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_module_does_not_skip_the_module_ordered_after_it() {
    let log = CallLog::default();
    let worker = Probe::new("worker", &log).fault(Hook::Start, Fault::Error("no broker".into()));
    let manager = app(&log, worker);
    let report = match manager.start_all().await {
        Err(Error::Start(error)) => error.into_report(),
        other => panic!("expected a start error, got {other:?}"),
    };
    assert!(matches!(
        report.module("worker").unwrap().outcome(),
        Outcome::Failed(_)
    ));
    assert!(matches!(
        report.module("api").unwrap().outcome(),
        Outcome::Done
    ));
    assert_eq!(manager.module("api").unwrap().state(), ModuleState::Started);
    let started = log.modules_calling(Hook::Start);
    let position = |name: &str| started.iter().position(|m| m == name).unwrap();
    assert!(
        position("worker") < position("api"),
        "the api still waited for the worker"
    );
}

/// An ordering grants no access: the ordered module is not a dependency.
#[tokio::test(start_paused = true)]
async fn an_ordering_gives_no_access_to_the_other_module() {
    struct Api;
    impl Module for Api {
        fn metadata(&self) -> ModuleMetadata {
            ModuleMetadata::new("api").stops_before("worker")
        }
        async fn start(&self, ctx: &Context) -> HookResult {
            assert!(ctx.try_get::<Worker>().is_none());
            assert!(ctx.get_named::<Worker>("worker").is_err());
            Ok(())
        }
    }
    struct Worker;
    impl Module for Worker {
        fn metadata(&self) -> ModuleMetadata {
            ModuleMetadata::new("worker")
        }
    }
    let manager = ModuleManager::builder()
        .module(Api)
        .module(Worker)
        .build()
        .unwrap();
    let report = manager.start_all().await.unwrap();
    assert!(report.is_success());
    // Stopping the worker by name leaves the api running: it only orders itself after it.
    manager.stop("worker").await.unwrap();
    assert_eq!(manager.module("api").unwrap().state(), ModuleState::Started);
}
