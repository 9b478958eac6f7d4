//! Failure while running: the failed module's required dependents stop first, in reverse
//! dependency order, then the module itself; optional dependents keep running and hear of
//! it on the bus. On tokio's paused clock, waiting on `supervision_idle`, never sleeping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::testing::EventRecorder;
use tokio::sync::Notify;

type Log = Arc<Mutex<Vec<String>>>;

/// A service: records its stop hook; with a trigger, runs a task that fails when
/// triggered; keeps its context, so that a test can call `fail` on it.
struct Svc {
    metadata: ModuleMetadata,
    log: Log,
    trigger: Option<Arc<Notify>>,
    ctx: Mutex<Option<Context>>,
}

impl Svc {
    fn new(metadata: ModuleMetadata, log: &Log) -> Self {
        Self {
            metadata,
            log: Arc::clone(log),
            trigger: None,
            ctx: Mutex::new(None),
        }
    }

    fn failing_on(mut self, trigger: &Arc<Notify>) -> Self {
        self.trigger = Some(Arc::clone(trigger));
        self
    }
}

impl Module for Svc {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        *self.ctx.lock().unwrap() = Some(ctx.clone());
        if let Some(trigger) = &self.trigger {
            let trigger = Arc::clone(trigger);
            ctx.spawn("pool", |shutdown| async move {
                tokio::select! {
                    _ = shutdown.cancelled() => Ok(()),
                    _ = trigger.notified() => Err("connection lost".into()),
                }
            })?;
        }
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        self.log.lock().unwrap().push(ctx.name().to_owned());
        Ok(())
    }
}

struct App {
    manager: ModuleManager,
    log: Log,
    trigger: Arc<Notify>,
}

/// `db` (fails when triggered) ← `api` ← `web` (required), and `metrics`, which uses `db`
/// optionally.
fn app() -> App {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(Svc::new(ModuleMetadata::new("db"), &log).failing_on(&trigger))
        .module(Svc::new(ModuleMetadata::new("api").depends_on("db"), &log))
        .module(Svc::new(ModuleMetadata::new("web").depends_on("api"), &log))
        .module(Svc::new(
            ModuleMetadata::new("metrics").optionally_depends_on("db"),
            &log,
        ))
        .build()
        .unwrap();
    App {
        manager,
        log,
        trigger,
    }
}

/// Waits until `count` failures were published, then until supervision settled.
async fn settle(manager: &ModuleManager, failed: &EventRecorder, count: usize) {
    failed
        .wait_for_count(count, Duration::from_secs(1))
        .await
        .unwrap();
    manager.supervision_idle().await.unwrap();
}

fn state(manager: &ModuleManager, name: &str) -> ModuleState {
    manager.module(name).unwrap().state()
}

fn because(manager: &ModuleManager, name: &str) -> Option<String> {
    manager.module(name).unwrap().stopped_because()
}

#[tokio::test(start_paused = true)]
async fn a_failure_stops_required_dependents_in_reverse_order_then_the_module() {
    let App {
        manager,
        log,
        trigger,
    } = app();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    settle(&manager, &failed, 1).await;

    // Dependents first, dependents of dependents before them; the failed module's own
    // stop hook last, so that it releases what it holds.
    assert_eq!(*log.lock().unwrap(), ["web", "api", "db"]);
    for name in ["web", "api", "db"] {
        assert_eq!(state(&manager, name), ModuleState::Stopped, "{name}");
    }
    assert_eq!(state(&manager, "metrics"), ModuleState::Started);
    assert_eq!(
        because(&manager, "api").as_deref(),
        Some("dependency \"db\" failed")
    );
    assert_eq!(
        because(&manager, "web").as_deref(),
        Some("dependency \"db\" failed")
    );
    let reason = because(&manager, "db").unwrap();
    assert!(reason.contains("connection lost"), "{reason}");
    assert_eq!(because(&manager, "metrics"), None);

    // Optional dependents hear of it on the bus.
    let events = failed.events();
    assert_eq!(events.len(), 1);
    let event = events[0].payload::<ModuleEvent>().unwrap();
    assert_eq!(&*event.module, "db");
    assert_eq!(
        (event.from, event.to),
        (ModuleState::Started, ModuleState::Failed)
    );
    assert!(event.error.as_deref().unwrap().contains("connection lost"));
    let failure = manager.module("db").unwrap().failure().unwrap();
    assert!(failure.to_string().contains("task \"pool\""), "{failure}");
}

#[tokio::test(start_paused = true)]
async fn after_supervision_everything_starts_again_with_fresh_tasks() {
    let App {
        manager,
        log,
        trigger,
    } = app();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    settle(&manager, &failed, 1).await;

    let report = manager.start_all().await.unwrap();
    assert_eq!(report.counts(), (4, 0, 0));
    for name in ["db", "api", "web", "metrics"] {
        assert_eq!(state(&manager, name), ModuleState::Started, "{name}");
        assert_eq!(because(&manager, name), None, "{name}: reason forgotten");
    }
    // The new run has its own task, which fails and is supervised the same way.
    log.lock().unwrap().clear();
    trigger.notify_one();
    settle(&manager, &failed, 2).await;
    assert_eq!(*log.lock().unwrap(), ["web", "api", "db"]);
    // And an orderly stop of the rest works as before.
    manager.stop_all().await.unwrap();
    assert_eq!(state(&manager, "metrics"), ModuleState::Stopped);
}

#[tokio::test(start_paused = true)]
async fn a_module_without_tasks_can_fail_itself_explicitly() {
    let App { manager, log, .. } = app();
    manager.start_all().await.unwrap();
    let api = manager.module("api").unwrap().downcast::<Svc>().unwrap();
    let ctx = api.ctx.lock().unwrap().clone().unwrap();
    ctx.fail("schema mismatch");
    assert_eq!(state(&manager, "api"), ModuleState::Failed, "at once");
    manager.supervision_idle().await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["web", "api"]);
    assert_eq!(state(&manager, "db"), ModuleState::Started);
    assert_eq!(
        because(&manager, "web").as_deref(),
        Some("dependency \"api\" failed")
    );
    // Once stopped, a further failure is ignored.
    ctx.fail("again");
    manager.supervision_idle().await.unwrap();
    assert_eq!(state(&manager, "api"), ModuleState::Stopped);
}

#[tokio::test(start_paused = true)]
async fn an_operator_stop_before_supervision_leaves_it_nothing_to_do() {
    let App {
        manager,
        log,
        trigger,
    } = app();
    // Supervision is held at its first step, publishing `module.failed`, until released.
    let release = Arc::new(Notify::new());
    let held = Arc::clone(&release);
    manager
        .bus()
        .subscribe_async("module.failed", move |_| {
            let held = Arc::clone(&held);
            async move { held.notified().await }
        })
        .unwrap()
        .detach();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    tokio::task::yield_now().await;
    assert_eq!(state(&manager, "db"), ModuleState::Failed);
    // Stopping everything now, while supervision may still be pending, stops each module
    // exactly once.
    manager.stop_all().await.unwrap();
    release.notify_one();
    manager.supervision_idle().await.unwrap();
    assert_eq!(because(&manager, "api"), None, "supervision did nothing");
    assert_eq!(
        because(&manager, "db"),
        None,
        "nor recorded a reason for db"
    );
    let mut stopped = log.lock().unwrap().clone();
    stopped.sort();
    assert_eq!(stopped, ["api", "db", "metrics", "web"]);
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn supervision_of_an_earlier_run_leaves_the_failure_of_the_next_one_to_its_own() {
    let App { manager, .. } = app();
    // Each supervision is held at its first step, publishing `module.failed`, until released.
    let release = Arc::new(Notify::new());
    let held = Arc::clone(&release);
    manager
        .bus()
        .subscribe_async("module.failed", move |_| {
            let held = Arc::clone(&held);
            async move { held.notified().await }
        })
        .unwrap()
        .detach();
    let ctx_of_db = |manager: &ModuleManager| {
        let db = manager.module("db").unwrap().downcast::<Svc>().unwrap();
        db.ctx.lock().unwrap().clone().unwrap()
    };
    manager.start_all().await.unwrap();
    ctx_of_db(&manager).fail("first run lost its disk");
    // While the first supervision is held, an operator stops and starts db, and its second
    // run fails too.
    manager.stop("db").await.unwrap();
    manager.start("db").await.unwrap();
    ctx_of_db(&manager).fail("second run lost its disk");
    assert_eq!(state(&manager, "db"), ModuleState::Failed);
    // The first supervision goes on, finds its run gone, and does nothing; the paused clock
    // moves only once every task is idle, so it has settled when the sleep ends.
    release.notify_one();
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert_eq!(state(&manager, "db"), ModuleState::Failed);
    release.notify_one();
    manager.supervision_idle().await.unwrap();
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    let reason = because(&manager, "db").unwrap();
    assert!(reason.contains("second run"), "{reason}");
}
