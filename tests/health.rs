//! Readiness, health checks, watchdogs and blocking detection (issue 16, items 1-5).
//!
//! On tokio's paused clock, so schedules are exact: time moves only when every task waits,
//! and assertions follow events (`supervision_idle`, recorders, counts), never the wall
//! clock. The blocking tests alone run on the real clock, since `std::thread::sleep`
//! does not move a paused one; they assert on the manager's poll measurement, not on time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use symphra::health::{HEALTH_CHANGED, Health, HealthCheck, HealthEvent, READY};
use symphra::manager::Outcome;
use symphra::prelude::*;
use symphra::supervision::{Restart, RestartPolicy};
use symphra::testing::EventRecorder;

const SEC: Duration = Duration::from_secs(1);

fn restarting() -> RestartPolicy {
    RestartPolicy::new(Restart::OnFailure)
        .backoff(Duration::from_millis(100), Duration::from_millis(100))
        .jitter(false)
}

/// Signals readiness itself, `after` its start, from an owned task.
struct Slow {
    name: &'static str,
    after: Duration,
}

impl Module for Slow {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new(self.name).signals_readiness()
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let after = self.after;
        let handle = ctx.clone();
        ctx.spawn("warm-up", move |shutdown| async move {
            tokio::time::sleep(after).await;
            handle.ready();
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }
}

/// A module that does nothing, with the metadata given.
struct Plain(ModuleMetadata);

impl Module for Plain {
    fn metadata(&self) -> ModuleMetadata {
        self.0.clone()
    }
}

fn ready_of(manager: &ModuleManager, name: &str) -> bool {
    let snapshot = manager.health();
    snapshot.module(name).map(|m| m.ready).unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn readiness_follows_required_dependencies_and_not_optional_ones() {
    let manager = ModuleManager::builder()
        .module(Slow {
            name: "db",
            after: 5 * SEC,
        })
        .module(Plain(ModuleMetadata::new("api").depends_on("db")))
        .module(Plain(ModuleMetadata::new("gateway").depends_on("api")))
        .module(Plain(
            ModuleMetadata::new("reports").optionally_depends_on("db"),
        ))
        .build()
        .unwrap();
    let ready = EventRecorder::new(manager.bus(), READY).unwrap();
    manager.start_all().await.unwrap();

    let snapshot = manager.health();
    assert!(snapshot.is_started(), "every hook finished");
    assert!(snapshot.is_live());
    assert!(!snapshot.is_ready(), "db has not said it is ready");
    let db = snapshot.module("db").unwrap();
    assert!(db.started && !db.ready);
    assert!(!ready_of(&manager, "api"), "api requires db");
    assert!(
        !ready_of(&manager, "gateway"),
        "gateway requires api, transitively db"
    );
    assert!(
        ready_of(&manager, "reports"),
        "an optional dependency never makes it unready"
    );

    tokio::time::sleep(5 * SEC).await;
    tokio::task::yield_now().await;
    let snapshot = manager.health();
    assert!(snapshot.is_ready(), "{snapshot:#?}");
    assert!(ready_of(&manager, "gateway"));

    let announced: Vec<(String, bool)> = ready
        .events()
        .iter()
        .map(|event| {
            let payload = event.payload::<HealthEvent>().unwrap();
            (payload.module.to_string(), payload.ready)
        })
        .collect();
    assert!(
        announced.contains(&("db".to_owned(), true)),
        "{announced:?}"
    );
    assert!(
        announced.contains(&("api".to_owned(), true)),
        "{announced:?}"
    );
    assert_eq!(
        announced.iter().filter(|(m, _)| m == "db").count(),
        1,
        "db announced once, when it said so, not when it started: {announced:?}"
    );

    manager.stop_all().await.unwrap();
    let snapshot = manager.health();
    assert!(!snapshot.is_ready() && !snapshot.is_started());
    assert!(snapshot.is_live(), "stopped is not broken");
}

#[tokio::test(start_paused = true)]
async fn a_module_started_again_is_unready_until_it_says_so_again() {
    let manager = ModuleManager::builder()
        .module(Slow {
            name: "db",
            after: 5 * SEC,
        })
        .build()
        .unwrap();
    let ready = EventRecorder::new(manager.bus(), READY).unwrap();
    manager.start_all().await.unwrap();
    ready.wait_for_count(1, 10 * SEC).await.unwrap();
    assert!(ready_of(&manager, "db"));
    manager.stop("db").await.unwrap();
    let seen = ready.events().len();
    manager.start("db").await.unwrap();
    assert!(
        !ready_of(&manager, "db"),
        "not ready until it says so again"
    );
    ready.wait_for_count(seen + 1, 10 * SEC).await.unwrap();
    let last = ready.events().last().cloned().unwrap();
    assert!(last.payload::<HealthEvent>().unwrap().ready);
    assert!(ready_of(&manager, "db"));
}

/// Counts its health checks; answers what `answer` says, after `takes`.
struct Checked {
    metadata: ModuleMetadata,
    checks: Arc<AtomicU32>,
    takes: Duration,
    answer: fn(u32) -> Health,
}

impl Checked {
    fn new(metadata: ModuleMetadata, answer: fn(u32) -> Health) -> Self {
        Self {
            metadata,
            checks: Arc::default(),
            takes: Duration::ZERO,
            answer,
        }
    }
}

impl Module for Checked {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }
    async fn health(&self, _ctx: &Context) -> Health {
        let run = self.checks.fetch_add(1, Ordering::SeqCst);
        if !self.takes.is_zero() {
            tokio::time::sleep(self.takes).await;
        }
        (self.answer)(run)
    }
}

#[tokio::test(start_paused = true)]
async fn a_check_runs_once_per_interval_however_often_health_is_asked() {
    let module = Checked::new(
        ModuleMetadata::new("db").health_check(HealthCheck::every(10 * SEC)),
        |_| Health::Healthy,
    );
    let checks = Arc::clone(&module.checks);
    let manager = ModuleManager::builder().module(module).build().unwrap();
    manager.start_all().await.unwrap();
    assert_eq!(
        manager.health().module("db").unwrap().health,
        None,
        "not yet run"
    );

    for _ in 0..35 {
        for _ in 0..1_000 {
            assert!(manager.health().is_live());
        }
        tokio::time::sleep(SEC).await;
    }
    // At 0, 10, 20 and 30 s: 35,000 questions ran no check.
    assert_eq!(checks.load(Ordering::SeqCst), 4);
    let snapshot = manager.health();
    assert_eq!(snapshot.module("db").unwrap().health, Some(Health::Healthy));
    let metrics = manager.metrics();
    assert_eq!(metrics.modules[0].health_checks, 4);
    assert_eq!(metrics.modules[0].health_check_failures, 0);

    manager.stop_all().await.unwrap();
    tokio::time::sleep(60 * SEC).await;
    assert_eq!(checks.load(Ordering::SeqCst), 4, "no check once it stopped");
    assert_eq!(manager.health().module("db").unwrap().health, None);
}

#[tokio::test(start_paused = true)]
async fn the_first_check_waits_for_the_start_delay() {
    let module = Checked::new(
        ModuleMetadata::new("db").health_check(HealthCheck::every(10 * SEC).start_delay(30 * SEC)),
        |_| Health::degraded("replica down"),
    );
    let checks = Arc::clone(&module.checks);
    let manager = ModuleManager::builder().module(module).build().unwrap();
    let changes = EventRecorder::new(manager.bus(), HEALTH_CHANGED).unwrap();
    manager.start_all().await.unwrap();
    tokio::time::sleep(29 * SEC).await;
    assert_eq!(checks.load(Ordering::SeqCst), 0);
    tokio::time::sleep(2 * SEC).await;
    assert_eq!(checks.load(Ordering::SeqCst), 1);
    let snapshot = manager.health();
    let db = snapshot.module("db").unwrap();
    assert_eq!(db.health, Some(Health::degraded("replica down")));
    assert!(
        db.ready && snapshot.is_live(),
        "degraded is still ready and live"
    );
    let events = changes.events();
    assert_eq!(events.len(), 1);
    let payload = events[0].payload::<HealthEvent>().unwrap();
    assert_eq!(payload.health, Some(Health::degraded("replica down")));
    tokio::time::sleep(20 * SEC).await;
    assert_eq!(
        changes.events().len(),
        1,
        "the same level again is no change"
    );
}

#[tokio::test(start_paused = true)]
async fn a_check_that_times_out_is_unhealthy() {
    let mut module = Checked::new(
        ModuleMetadata::new("db").health_check(
            HealthCheck::every(10 * SEC)
                .timeout(SEC)
                .unhealthy_after(Duration::from_secs(3600)),
        ),
        |_| Health::Healthy,
    );
    module.takes = 5 * SEC;
    let manager = ModuleManager::builder()
        .module(module)
        .module(Plain(ModuleMetadata::new("api").depends_on("db")))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    tokio::time::sleep(2 * SEC).await;
    let snapshot = manager.health();
    let db = snapshot.module("db").unwrap();
    match &db.health {
        Some(Health::Unhealthy { reason }) => {
            assert!(reason.contains("did not answer within 1s"), "{reason}")
        }
        other => panic!("expected unhealthy, got {other:?}"),
    }
    assert!(!db.ready, "unhealthy is not ready");
    assert!(
        !snapshot.module("api").unwrap().ready,
        "nor is what requires it"
    );
    assert!(!snapshot.is_live());
    assert_eq!(
        snapshot.module("api").unwrap().health,
        None,
        "api has no check"
    );
    assert_eq!(manager.metrics().modules[0].health_check_failures, 1);
}

#[tokio::test(start_paused = true)]
async fn unhealthy_past_the_threshold_fails_the_module_and_its_restart_policy_applies() {
    // Unhealthy on its first three checks, healthy from then on.
    let module = Checked::new(
        ModuleMetadata::new("db")
            .health_check(HealthCheck::every(10 * SEC).unhealthy_after(20 * SEC))
            .restart(restarting()),
        |run| {
            if run < 3 {
                Health::unhealthy("no connection")
            } else {
                Health::Healthy
            }
        },
    );
    let checks = Arc::clone(&module.checks);
    let manager = ModuleManager::builder()
        .module(module)
        .module(Plain(ModuleMetadata::new("api").depends_on("db")))
        .build()
        .unwrap();
    let restarted = EventRecorder::new(manager.bus(), "module.restarted").unwrap();
    manager.start_all().await.unwrap();
    // Unhealthy at 0 and 10 s: still below the threshold.
    tokio::time::sleep(15 * SEC).await;
    assert_eq!(manager.module("db").unwrap().state(), ModuleState::Started);
    // At 20 s it has been unhealthy for 20 s: it fails, api is stopped with it, and both
    // start again after the backoff.
    tokio::time::sleep(6 * SEC).await;
    manager.supervision_idle().await.unwrap();
    assert_eq!(restarted.events().len(), 1);
    assert_eq!(
        checks.load(Ordering::SeqCst),
        4,
        "three, and one at the restart"
    );
    let snapshot = manager.health();
    let db = snapshot.module("db").unwrap();
    assert_eq!(db.state, ModuleState::Started);
    assert_eq!(db.restarts, 1);
    assert_eq!(
        db.health,
        Some(Health::Healthy),
        "the check runs again from the restart"
    );
    let failure = db.last_failure.as_deref().unwrap_or_default();
    assert!(
        failure.contains("unhealthy for 20s") && failure.contains("no connection"),
        "{failure}"
    );
    assert!(snapshot.is_ready(), "{snapshot:#?}");
    let metrics = manager.metrics();
    assert_eq!(metrics.modules[0].restarts.health, 1);
    assert_eq!(metrics.modules[0].restarts.total(), 1);
}

/// Heartbeats every 300 ms from an owned task, `beats` times in its first run (then
/// stops, as if stuck), for ever in later runs.
struct Beating {
    beats: u32,
    runs: Arc<AtomicU32>,
}

impl Module for Beating {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("worker")
            .watchdog(SEC)
            .restart(restarting())
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let first = self.runs.fetch_add(1, Ordering::SeqCst) == 0;
        let beats = if first { self.beats } else { u32::MAX };
        let handle = ctx.clone();
        ctx.spawn("loop", move |shutdown| async move {
            let mut beat = 0;
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(300)) => {}
                }
                if beat < beats {
                    handle.heartbeat();
                    beat += 1;
                }
            }
        })?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn heartbeats_within_the_period_keep_a_module_running() {
    let module = Beating {
        beats: u32::MAX,
        runs: Arc::default(),
    };
    let manager = ModuleManager::builder().module(module).build().unwrap();
    manager.start_all().await.unwrap();
    tokio::time::sleep(60 * SEC).await;
    manager.supervision_idle().await.unwrap();
    let snapshot = manager.health();
    assert_eq!(snapshot.modules[0].state, ModuleState::Started);
    assert_eq!(snapshot.modules[0].restarts, 0);
    assert!(snapshot.is_live() && snapshot.is_ready());
}

#[tokio::test(start_paused = true)]
async fn a_missed_heartbeat_fails_the_module_and_its_restart_policy_applies() {
    let runs = Arc::new(AtomicU32::new(0));
    let module = Beating {
        beats: 3,
        runs: Arc::clone(&runs),
    };
    let manager = ModuleManager::builder().module(module).build().unwrap();
    let failed = EventRecorder::new(manager.bus(), "module.failed").unwrap();
    manager.start_all().await.unwrap();
    // Beats at 0.3, 0.6 and 0.9 s; none after: the watchdog fires at 1.9 s.
    tokio::time::sleep(Duration::from_millis(1_800)).await;
    assert!(failed.events().is_empty());
    tokio::time::sleep(Duration::from_millis(200)).await;
    manager.supervision_idle().await.unwrap();
    assert_eq!(failed.events().len(), 1);
    assert_eq!(runs.load(Ordering::SeqCst), 2, "restarted once");
    let snapshot = manager.health();
    let worker = &snapshot.modules[0];
    assert_eq!(worker.state, ModuleState::Started);
    let failure = worker.last_failure.as_deref().unwrap_or_default();
    assert!(failure.contains("missed its watchdog"), "{failure}");
    assert_eq!(manager.metrics().modules[0].restarts.watchdog, 1);
    // The restarted run beats for ever.
    tokio::time::sleep(30 * SEC).await;
    manager.supervision_idle().await.unwrap();
    assert_eq!(runs.load(Ordering::SeqCst), 2);
}

#[test]
fn periods_under_a_millisecond_are_refused() {
    let metadata = ModuleMetadata::new("db").watchdog(Duration::ZERO);
    let error = ModuleManager::builder().module(Plain(metadata)).build();
    let message = error.map(|_| ()).unwrap_err().to_string();
    assert!(message.contains("watchdog period"), "{message}");
    let metadata =
        ModuleMetadata::new("db").health_check(HealthCheck::every(SEC).timeout(Duration::ZERO));
    assert!(
        ModuleManager::builder()
            .module(Plain(metadata))
            .build()
            .is_err()
    );
}

/// Blocks its thread (`std::thread::sleep`) or waits (`tokio::time::sleep`) in `start`,
/// and in an owned task.
struct Sleeper {
    name: &'static str,
    blocking: bool,
}

impl Module for Sleeper {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new(self.name)
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let blocking = self.blocking;
        nap(blocking).await;
        ctx.spawn_finite("nap", move |_| async move {
            nap(blocking).await;
            Ok(())
        })?;
        Ok(())
    }
}

async fn nap(blocking: bool) {
    let nap = Duration::from_millis(200);
    if blocking {
        std::thread::sleep(nap);
    } else {
        tokio::time::sleep(nap).await;
    }
}

// The real clock: a thread sleeping does not move a paused one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocking_poll_is_reported_and_a_waiting_one_is_not() {
    let manager = ModuleManager::builder()
        .module(Sleeper {
            name: "blocker",
            blocking: true,
        })
        .module(Sleeper {
            name: "sleeper",
            blocking: false,
        })
        .build()
        .unwrap();
    let report = manager.start_all().await.unwrap();
    assert_eq!(
        report.blocked_polls(),
        1,
        "the blocking start hook: {report}"
    );
    assert!(report.to_string().contains("blocked: 1 poll"), "{report}");
    // The stop joins both tasks: after it, each has run its nap.
    manager.stop_all().await.unwrap();
    let metrics = manager.metrics();
    let of = |name: &str| {
        metrics
            .modules
            .iter()
            .find(|m| &*m.name == name)
            .map(|m| m.blocked_polls)
    };
    assert_eq!(of("blocker"), Some(2), "its start hook and its task");
    assert_eq!(of("sleeper"), Some(0), "waiting is not blocking");
    assert_eq!(metrics.blocked_polls, 2);
    assert_eq!(manager.health().module("blocker").unwrap().blocked_polls, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocking_threshold_is_the_builders() {
    let manager = ModuleManager::builder()
        .module(Sleeper {
            name: "blocker",
            blocking: true,
        })
        .blocking_threshold(Duration::from_secs(5))
        .build()
        .unwrap();
    let report = manager.start_all().await.unwrap();
    // Its 200 ms of blocking did happen, under a threshold of 5 s.
    assert!(
        matches!(
            report.module("blocker").map(|module| module.outcome()),
            Some(Outcome::Done)
        ),
        "{report}"
    );
    assert_eq!(report.blocked_polls(), 0);
}

#[tokio::test(start_paused = true)]
async fn metrics_keep_the_last_duration_of_each_hook() {
    struct Waits;
    impl Module for Waits {
        fn metadata(&self) -> ModuleMetadata {
            ModuleMetadata::new("waits")
        }
        async fn start(&self, _ctx: &Context) -> HookResult {
            tokio::time::sleep(3 * SEC).await;
            Ok(())
        }
        async fn stop(&self, _ctx: &Context) -> HookResult {
            tokio::time::sleep(SEC).await;
            Ok(())
        }
    }
    let manager = ModuleManager::builder().module(Waits).build().unwrap();
    assert!(manager.metrics().modules[0].hook_durations.is_empty());
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    let metrics = manager.metrics();
    let seconds = |hook: Hook| {
        metrics.modules[0]
            .hook_durations
            .iter()
            .find(|d| d.hook == hook)
            .map(|d| d.seconds)
    };
    assert_eq!(seconds(Hook::Start), Some(3.0));
    assert_eq!(seconds(Hook::Stop), Some(1.0));
    assert_eq!(seconds(Hook::Bootstrap), Some(0.0));
    assert_eq!(seconds(Hook::Reload), None, "never ran");
    let json = serde_json::to_value(&metrics).unwrap();
    assert_eq!(json["modules"][0]["restarts"]["health"], 0);
    let json = serde_json::to_value(manager.health()).unwrap();
    assert_eq!(json["modules"][0]["state"], "stopped");
}

/// Takes 5 s to start, then heartbeats every 300 ms from its task.
struct SlowToStart;

impl Module for SlowToStart {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("slow").watchdog(SEC)
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        tokio::time::sleep(5 * SEC).await;
        let handle = ctx.clone();
        ctx.spawn("loop", move |shutdown| async move {
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => return Ok(()),
                    () = tokio::time::sleep(Duration::from_millis(300)) => handle.heartbeat(),
                }
            }
        })?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn the_first_watchdog_period_counts_from_the_end_of_start() {
    let manager = ModuleManager::builder()
        .module(SlowToStart)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    tokio::time::sleep(10 * SEC).await;
    manager.supervision_idle().await.unwrap();
    let snapshot = manager.health();
    assert_eq!(snapshot.modules[0].state, ModuleState::Started);
    assert_eq!(snapshot.modules[0].last_failure, None);
}

/// A blocking module's check runs on the blocking pool.
struct SyncChecked;

impl SyncModule for SyncChecked {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("files").health_check(HealthCheck::every(SEC))
    }
    fn health(&self, _ctx: &Context) -> Health {
        Health::unhealthy("disk full")
    }
}

#[tokio::test(start_paused = true)]
async fn a_sync_module_has_a_health_check_too() {
    let manager = ModuleManager::builder()
        .sync_module(SyncChecked)
        .build()
        .unwrap();
    let changes = EventRecorder::new(manager.bus(), HEALTH_CHANGED).unwrap();
    manager.start_all().await.unwrap();
    while changes.events().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let snapshot = manager.health();
    assert_eq!(
        snapshot.modules[0].health,
        Some(Health::unhealthy("disk full"))
    );
    assert!(!snapshot.is_ready() && !snapshot.is_live());
}

#[tokio::test(start_paused = true)]
async fn probes_leave_out_modules_an_operator_disabled_or_stopped() {
    let manager = ModuleManager::builder()
        .module(Plain(ModuleMetadata::new("api")))
        .module(Plain(ModuleMetadata::new("batch")))
        .module(Plain(ModuleMetadata::new("legacy")))
        .build()
        .unwrap();
    manager.disable("legacy").await.unwrap();
    manager.start_all().await.unwrap();
    let snapshot = manager.health();
    assert!(!snapshot.module("legacy").unwrap().expected);
    assert!(snapshot.is_started() && snapshot.is_ready() && snapshot.is_live());

    manager.stop("batch").await.unwrap();
    let snapshot = manager.health();
    let batch = snapshot.module("batch").unwrap();
    assert!(!batch.expected && !batch.ready);
    assert!(snapshot.is_ready(), "an operator's stop is not unreadiness");

    manager.enable("legacy").await.unwrap();
    assert!(
        !manager.health().is_ready(),
        "enabled and not started: unready"
    );
}

/// Its task moves the paused clock by `first` in one poll, then by `second` in the next.
struct ClockMover {
    first: Duration,
    second: Duration,
}

impl Module for ClockMover {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("mover")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let (first, second) = (self.first, self.second);
        ctx.spawn_finite("mover", move |_| async move {
            // `advance` moves the clock, then yields: each is one poll of the task.
            tokio::time::advance(first).await;
            tokio::time::advance(second).await;
            Ok(())
        })?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_poll_as_long_as_the_threshold_is_not_blocking_and_a_longer_one_is() {
    let threshold = Duration::from_millis(10);
    let manager = ModuleManager::builder()
        .module(ClockMover {
            first: threshold,
            second: threshold + Duration::from_nanos(1),
        })
        .blocking_threshold(threshold)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    // The stop joins the task: after it, both polls were timed.
    manager.stop_all().await.unwrap();
    assert_eq!(manager.metrics().blocked_polls, 1);
}
