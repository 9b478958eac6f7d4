//! Restart policies: the failed module starts again after its backoff, with the dependents
//! stopped with it, until its restarts are used up; then it stays down and, if the manager
//! is to, escalates. On tokio's paused clock, so waits are exact: driven by event
//! recorders, `supervision_idle` and `Notify`, never by sleeping and hoping.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use symphra::bus::{Event, Subscription};
use symphra::manager::{ModuleEvent, RESTARTED, RestartEvent};
use symphra::prelude::*;
use symphra::supervision::{Escalation, Restart, RestartPolicy};
use symphra::testing::EventRecorder;
use tokio::sync::Notify;
use tokio::time::Instant;

const MS: Duration = Duration::from_millis(1);
const LONG: Duration = Duration::from_secs(600);

/// Hooks as they ran: (module, "start" or "stop", when).
type Log = Arc<Mutex<Vec<(String, &'static str, Instant)>>>;

/// How a service fails.
#[derive(Clone)]
enum Failing {
    Never,
    /// Its task fails as soon as it runs: the module fails each time it starts.
    AtOnce,
    /// Its task fails when notified.
    On(Arc<Notify>),
    /// As `On` the first time; every later start fails.
    ThenRefused(Arc<Notify>),
}

struct Svc {
    metadata: ModuleMetadata,
    log: Log,
    failing: Failing,
}

impl Svc {
    fn new(metadata: ModuleMetadata, log: &Log) -> Self {
        Self {
            metadata,
            log: Arc::clone(log),
            failing: Failing::Never,
        }
    }

    fn failing(mut self, failing: Failing) -> Self {
        self.failing = failing;
        self
    }

    fn record(&self, ctx: &Context, hook: &'static str) {
        let line = (ctx.name().to_owned(), hook, Instant::now());
        self.log.lock().unwrap().push(line);
    }
}

impl Module for Svc {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        self.record(ctx, "start");
        match self.failing.clone() {
            Failing::Never => {}
            Failing::AtOnce => ctx.spawn("pool", |_| async { Err("connection refused".into()) })?,
            Failing::ThenRefused(_) if times_of(&self.log, ctx.name(), "start").len() > 1 => {
                return Err("port in use".into());
            }
            Failing::On(trigger) | Failing::ThenRefused(trigger) => {
                ctx.spawn("pool", |shutdown| async move {
                    tokio::select! {
                        _ = shutdown.cancelled() => Ok(()),
                        _ = trigger.notified() => Err("connection lost".into()),
                    }
                })?
            }
        }
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        self.record(ctx, "stop");
        Ok(())
    }
}

/// Exact waits: 100, 200, 400, 400 ms…; at most `max` restarts a minute.
fn policy(max: u32) -> RestartPolicy {
    RestartPolicy::new(Restart::OnFailure)
        .intensity(max, Duration::from_secs(60))
        .backoff(100 * MS, 400 * MS)
        .jitter(false)
        .stable_after(Duration::from_secs(10))
}

/// When `module.failed` was published for `module`, each time.
fn failure_times(manager: &ModuleManager, module: &'static str) -> (Subscription, Log) {
    let times = Log::default();
    let seen = Arc::clone(&times);
    let subscription = manager
        .bus()
        .subscribe("module.failed", move |event: &Event| {
            if event.payload::<ModuleEvent>().unwrap().module.as_ref() == module {
                seen.lock()
                    .unwrap()
                    .push((module.to_owned(), "failed", Instant::now()));
            }
        })
        .unwrap();
    (subscription, times)
}

fn times_of(log: &Log, module: &str, hook: &str) -> Vec<Instant> {
    let log = log.lock().unwrap();
    let lines = log.iter().filter(|(m, h, _)| m == module && *h == hook);
    lines.map(|&(_, _, at)| at).collect()
}

fn restarts(recorder: &EventRecorder) -> Vec<(String, u32, u64)> {
    let events = recorder.events();
    let payloads = events.iter().map(|e| e.payload::<RestartEvent>().unwrap());
    payloads
        .map(|p| (p.module.to_string(), p.attempt, p.wait_ms))
        .collect()
}

fn state(manager: &ModuleManager, name: &str) -> ModuleState {
    manager.module(name).unwrap().state()
}

fn because(manager: &ModuleManager, name: &str) -> Option<String> {
    manager.module(name).unwrap().stopped_because()
}

#[tokio::test(start_paused = true)]
async fn restarts_follow_the_backoff_exactly_and_stop_at_the_intensity() {
    let log = Log::default();
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(4)), &log).failing(Failing::AtOnce),
        )
        .build()
        .unwrap();
    let (_subscription, failed_at) = failure_times(&manager, "db");
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    // The first run and 4 restarts fail; the fifth failure uses the restarts up.
    failed.wait_for_count(5, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();

    let starts = times_of(&log, "db", "start");
    let failures = times_of(&failed_at, "db", "failed");
    assert_eq!((starts.len(), failures.len()), (5, 5));
    let waits: Vec<Duration> = failures
        .iter()
        .zip(&starts[1..])
        .map(|(f, s)| *s - *f)
        .collect();
    assert_eq!(waits, [100 * MS, 200 * MS, 400 * MS, 400 * MS]);
    assert_eq!(
        restarts(&restarted),
        [1, 2, 3, 4].map(|n| ("db".to_owned(), n, [100, 200, 400, 400][n as usize - 1]))
    );

    // Given up: it stays down, saying why, and nothing more happens.
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    let reason = because(&manager, "db").unwrap();
    assert!(reason.contains("connection refused"), "{reason}");
    assert!(
        reason.contains("restarts used up (4 within 60s)"),
        "{reason}"
    );
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(times_of(&log, "db", "start").len(), 5);
    // An operator may still start it by hand.
    manager.start("db").await.unwrap();
    assert_eq!(because(&manager, "db"), None);
}

#[tokio::test(start_paused = true)]
async fn a_stable_period_resets_the_backoff() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(10)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .build()
        .unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    for count in 1..=2 {
        trigger.notify_one();
        restarted.wait_for_count(count, LONG).await.unwrap();
        manager.supervision_idle().await.unwrap();
    }
    // Up for the stable period (10 s), then it fails: the wait is the base again.
    tokio::time::sleep(Duration::from_secs(10)).await;
    trigger.notify_one();
    restarted.wait_for_count(3, LONG).await.unwrap();
    let waits: Vec<(u32, u64)> = restarts(&restarted)
        .into_iter()
        .map(|(_, a, w)| (a, w))
        .collect();
    assert_eq!(waits, [(1, 100), (2, 200), (1, 100)]);
    assert_eq!(state(&manager, "db"), ModuleState::Started);
}

#[tokio::test(start_paused = true)]
async fn dependents_start_again_in_order_and_optional_ones_never_stop() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(3)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .module(Svc::new(ModuleMetadata::new("api").depends_on("db"), &log))
        .module(Svc::new(ModuleMetadata::new("web").depends_on("api"), &log))
        .module(Svc::new(
            ModuleMetadata::new("metrics").optionally_depends_on("db"),
            &log,
        ))
        .build()
        .unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    log.lock().unwrap().clear();
    trigger.notify_one();
    restarted.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();

    let hooks: Vec<(String, &str)> = log
        .lock()
        .unwrap()
        .iter()
        .map(|(m, h, _)| (m.clone(), *h))
        .collect();
    let expected = [
        ("web", "stop"),
        ("api", "stop"),
        ("db", "stop"),
        ("db", "start"),
        ("api", "start"),
        ("web", "start"),
    ];
    assert_eq!(hooks, expected.map(|(m, h)| (m.to_owned(), h)));
    for name in ["db", "api", "web", "metrics"] {
        assert_eq!(state(&manager, name), ModuleState::Started, "{name}");
        assert_eq!(because(&manager, name), None, "{name}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_dependent_an_operator_stopped_meanwhile_stays_down() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(3)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .module(Svc::new(ModuleMetadata::new("api").depends_on("db"), &log))
        .build()
        .unwrap();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    failed.wait_for_count(1, LONG).await.unwrap();
    // While supervision waits out the backoff, an operator stops the dependent.
    manager.stop("api").await.unwrap();
    restarted.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();
    assert_eq!(state(&manager, "db"), ModuleState::Started);
    assert_eq!(state(&manager, "api"), ModuleState::Stopped);
}

#[tokio::test(start_paused = true)]
async fn used_up_restarts_escalate_when_the_manager_is_to_shut_down() {
    let log = Log::default();
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(1)), &log).failing(Failing::AtOnce),
        )
        .module(Svc::new(ModuleMetadata::new("api").depends_on("db"), &log))
        .escalation(Escalation::Shutdown)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let escalated_by = tokio::time::timeout(LONG, manager.escalated())
        .await
        .expect("escalated");
    assert_eq!(escalated_by, "db");
    manager.supervision_idle().await.unwrap();
    assert_eq!(times_of(&log, "db", "start").len(), 2, "one restart");
    assert_eq!(state(&manager, "api"), ModuleState::Stopped);
    assert_eq!(
        because(&manager, "api").as_deref(),
        Some("dependency \"db\" failed")
    );
}

#[tokio::test(start_paused = true)]
async fn without_a_policy_nothing_restarts_nor_escalates() {
    let log = Log::default();
    let manager = ModuleManager::builder()
        .module(Svc::new(ModuleMetadata::new("db"), &log).failing(Failing::AtOnce))
        .escalation(Escalation::Shutdown)
        .build()
        .unwrap();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    manager.start_all().await.unwrap();
    failed.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(times_of(&log, "db", "start").len(), 1);
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    let reason = because(&manager, "db").unwrap();
    assert!(!reason.contains("restarts"), "{reason}");
    let escalated = tokio::time::timeout(Duration::from_secs(1), manager.escalated()).await;
    assert!(escalated.is_err(), "no escalation");
}

#[tokio::test(start_paused = true)]
async fn a_restart_whose_start_fails_counts_as_another_failure() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(2)), &log)
                .failing(Failing::ThenRefused(Arc::clone(&trigger))),
        )
        .module(Svc::new(ModuleMetadata::new("api").depends_on("db"), &log))
        .build()
        .unwrap();
    let (_subscription, failed_at) = failure_times(&manager, "db");
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    // One supervision sees the first failure through to the give-up.
    failed.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();

    let starts = times_of(&log, "db", "start");
    let failures = times_of(&failed_at, "db", "failed");
    assert_eq!(starts.len(), 3, "the first start and two refused restarts");
    assert_eq!(failures.len(), 3);
    assert_eq!(starts[1] - failures[0], 100 * MS);
    assert_eq!(starts[2] - failures[1], 200 * MS);
    assert!(restarted.events().is_empty(), "nothing was restarted");
    assert_eq!(state(&manager, "db"), ModuleState::Failed);
    let reason = because(&manager, "db").unwrap();
    assert!(reason.contains("port in use"), "{reason}");
    assert!(
        reason.contains("restarts used up (2 within 60s)"),
        "{reason}"
    );
    assert_eq!(
        times_of(&log, "api", "start").len(),
        1,
        "api never restarted"
    );
    assert_eq!(
        because(&manager, "api").as_deref(),
        Some("dependency \"db\" failed")
    );
}

#[tokio::test(start_paused = true)]
async fn stopping_everything_during_the_backoff_cancels_the_restart() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(3)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .module(Svc::new(ModuleMetadata::new("cache"), &log))
        .build()
        .unwrap();
    let stopped = EventRecorder::new(manager.bus(), "module.stopped").unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    // Supervision has stopped db and now waits out its backoff: shut down.
    stopped.wait_for_count(1, LONG).await.unwrap();
    manager.stop_all().await.unwrap();
    manager.supervision_idle().await.unwrap();
    assert_eq!(times_of(&log, "db", "start").len(), 1, "not restarted");
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    assert_eq!(state(&manager, "cache"), ModuleState::Stopped);
}

/// Uses `db` optionally, and listens for failures through its own context.
struct Watcher {
    log: Log,
    /// The modules named by the `module.failed` it heard.
    heard: Arc<Mutex<Vec<String>>>,
    told: Arc<Notify>,
}

impl Module for Watcher {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("metrics").optionally_depends_on("db")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        self.log
            .lock()
            .unwrap()
            .push((ctx.name().to_owned(), "start", Instant::now()));
        let (heard, told) = (Arc::clone(&self.heard), Arc::clone(&self.told));
        ctx.subscribe("module.failed", move |event: &Event| {
            let failed = event.payload::<ModuleEvent>().unwrap();
            heard.lock().unwrap().push(failed.module.to_string());
            told.notify_one();
        })?;
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        let line = (ctx.name().to_owned(), "stop", Instant::now());
        self.log.lock().unwrap().push(line);
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn an_optional_dependent_hears_of_the_failure_and_runs_on_across_the_restart() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let heard = Arc::new(Mutex::new(Vec::new()));
    let told = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(3)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .module(Watcher {
            log: Arc::clone(&log),
            heard: Arc::clone(&heard),
            told: Arc::clone(&told),
        })
        .build()
        .unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    tokio::time::timeout(LONG, told.notified())
        .await
        .expect("metrics heard of the failure");
    restarted.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();

    assert_eq!(*heard.lock().unwrap(), ["db"]);
    // Never stopped, never started again: one start, no stop, running throughout.
    assert_eq!(times_of(&log, "metrics", "start").len(), 1);
    assert!(times_of(&log, "metrics", "stop").is_empty());
    assert_eq!(times_of(&log, "db", "start").len(), 2, "db restarted");
    assert_eq!(state(&manager, "metrics"), ModuleState::Started);
    assert_eq!(because(&manager, "metrics"), None);
    assert_eq!(state(&manager, "db"), ModuleState::Started);
}

#[tokio::test(start_paused = true)]
async fn a_module_whose_dependency_runs_on_is_restarted() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(Svc::new(ModuleMetadata::new("config"), &log))
        .module(
            Svc::new(
                ModuleMetadata::new("db")
                    .depends_on("config")
                    .restart(policy(3)),
                &log,
            )
            .failing(Failing::On(Arc::clone(&trigger))),
        )
        .build()
        .unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    restarted.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();
    assert_eq!(times_of(&log, "db", "start").len(), 2, "db restarted");
    assert_eq!(state(&manager, "db"), ModuleState::Started);
    assert_eq!(times_of(&log, "config", "start").len(), 1);
    assert!(times_of(&log, "config", "stop").is_empty(), "config ran on");
}

#[tokio::test(start_paused = true)]
async fn a_module_whose_dependency_an_operator_stopped_meanwhile_is_not_restarted() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(Svc::new(ModuleMetadata::new("config"), &log))
        .module(
            Svc::new(
                ModuleMetadata::new("db")
                    .depends_on("config")
                    .restart(policy(3)),
                &log,
            )
            .failing(Failing::On(Arc::clone(&trigger))),
        )
        .build()
        .unwrap();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    failed.wait_for_count(1, LONG).await.unwrap();
    // While supervision waits out the backoff, an operator stops what db requires.
    manager.stop("config").await.unwrap();
    manager.supervision_idle().await.unwrap();
    assert_eq!(times_of(&log, "db", "start").len(), 1, "db not restarted");
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    assert_eq!(state(&manager, "config"), ModuleState::Stopped);
    assert!(restarted.events().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_module_an_operator_started_and_stopped_for_now_meanwhile_is_not_restarted() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(3)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .build()
        .unwrap();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    failed.wait_for_count(1, LONG).await.unwrap();
    // While supervision waits out the backoff, an operator starts db, then stops it for
    // now (no hold): it is down, but no longer for the failure supervision recorded.
    manager.start("db").await.unwrap();
    manager.stop_for_now("db").await.unwrap();
    manager.supervision_idle().await.unwrap();
    assert_eq!(
        times_of(&log, "db", "start").len(),
        2,
        "no restart after the operator's"
    );
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    assert!(restarted.events().is_empty());
}

/// A dependent whose stop hook says it began, then waits until it is let through.
struct GatedStop {
    entered: Arc<Notify>,
    opened: Arc<Notify>,
}

impl Module for GatedStop {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api").depends_on("db")
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        self.entered.notify_one();
        self.opened.notified().await;
        Ok(())
    }
}

#[tokio::test(start_paused = true, flavor = "current_thread")]
async fn giving_up_leaves_alone_a_module_an_operator_stopped_meanwhile() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let (entered, opened) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let no_restarts = RestartPolicy::new(Restart::OnFailure).intensity(0, Duration::from_secs(60));
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(no_restarts), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .module(GatedStop {
            entered: Arc::clone(&entered),
            opened: Arc::clone(&opened),
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    // Supervision holds the operation lock, stopping api; the operator's stop of db waits
    // for it, and gets the lock before supervision gives up.
    tokio::time::timeout(LONG, entered.notified())
        .await
        .expect("supervision stops api");
    let operator = manager.clone();
    let stop = tokio::spawn(async move { operator.stop("db").await.map(|_| ()) });
    tokio::task::yield_now().await;
    opened.notify_one();
    stop.await.unwrap().unwrap();
    manager.supervision_idle().await.unwrap();

    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    let reason = because(&manager, "db").unwrap();
    assert!(reason.contains("connection lost"), "{reason}");
    assert!(!reason.contains("restarts used up"), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn an_operators_start_begins_the_stable_period_anew() {
    let log = Log::default();
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(
            Svc::new(ModuleMetadata::new("db").restart(policy(10)), &log)
                .failing(Failing::On(Arc::clone(&trigger))),
        )
        .build()
        .unwrap();
    let restarted = EventRecorder::new(manager.bus(), RESTARTED).unwrap();
    manager.start_all().await.unwrap();
    trigger.notify_one();
    restarted.wait_for_count(1, LONG).await.unwrap();
    manager.supervision_idle().await.unwrap();
    // Up 8 s since supervision restarted it, then an operator stops and starts it: from
    // then on it has been up 5 s, short of the stable period (10 s), though 13 s have
    // passed since the restart. Its next failure continues the backoff.
    tokio::time::sleep(Duration::from_secs(8)).await;
    manager.stop("db").await.unwrap();
    manager.start("db").await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    trigger.notify_one();
    restarted.wait_for_count(2, LONG).await.unwrap();
    let waits: Vec<(u32, u64)> = restarts(&restarted)
        .into_iter()
        .map(|(_, a, w)| (a, w))
        .collect();
    assert_eq!(waits, [(1, 100), (2, 200)]);
    assert_eq!(state(&manager, "db"), ModuleState::Started);
}
