//! Owned tasks: spawned from hooks, signalled and joined at stop, aborted at the stop
//! deadline, and failing their module when they end wrongly. On tokio's paused clock,
//! driven by what the tasks and hooks record, never by sleeping and hoping.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use symphra::context::CancellationToken;
use symphra::lifecycle::FailureCause;
use symphra::manager::{Outcome, SpawnError, TaskError};
use symphra::prelude::*;
use tokio::sync::{Notify, mpsc};

type Log = Arc<Mutex<Vec<String>>>;

fn push(log: &Log, line: impl Into<String>) {
    log.lock().unwrap().push(line.into());
}

fn lines(log: &Log) -> Vec<String> {
    log.lock().unwrap().clone()
}

/// Sets its flag when dropped: tells that an aborted task's future was dropped.
struct DropFlag(Arc<AtomicBool>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A consumer that drains its queue after its signal, until the stop hook closes it.
struct Consumer {
    log: Log,
    token: Mutex<Option<CancellationToken>>,
    queue: Mutex<Option<mpsc::Sender<u32>>>,
}

impl Module for Consumer {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("consumer")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let (tx, mut rx) = mpsc::channel(8);
        tx.send(1).await?;
        *self.queue.lock().unwrap() = Some(tx);
        let log = Arc::clone(&self.log);
        ctx.spawn("consume", |shutdown| {
            *self.token.lock().unwrap() = Some(shutdown.clone());
            async move {
                shutdown.cancelled().await;
                push(&log, "task: signalled");
                // Draining: ends when the stop hook closes the queue.
                while let Some(item) = rx.recv().await {
                    push(&log, format!("task: drained {item}"));
                }
                push(&log, "task: done");
                Ok(())
            }
        })?;
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        let signalled = self
            .token
            .lock()
            .unwrap()
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled);
        push(
            &self.log,
            format!("stop hook: signalled before = {signalled}"),
        );
        self.queue.lock().unwrap().take(); // closes the queue
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn tasks_are_signalled_then_the_stop_hook_runs_then_they_are_joined() {
    let log = Log::default();
    let manager = ModuleManager::builder()
        .module(Consumer {
            log: Arc::clone(&log),
            token: Mutex::new(None),
            queue: Mutex::new(None),
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    assert!(lines(&log).is_empty(), "the task waits for its signal");
    manager.stop_all().await.unwrap();
    assert_eq!(
        lines(&log),
        [
            "stop hook: signalled before = true",
            "task: signalled",
            "task: drained 1",
            "task: done",
        ]
    );
    assert_eq!(
        manager.module("consumer").unwrap().state(),
        ModuleState::Stopped
    );
}

/// Spawns one polite task and one that ignores its signal.
struct Stubborn {
    dropped: Arc<AtomicBool>,
}

impl Module for Stubborn {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("stubborn")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.spawn("polite", |shutdown| async move {
            shutdown.cancelled().await;
            Ok(())
        })?;
        let flag = DropFlag(Arc::clone(&self.dropped));
        ctx.spawn("deaf", |_shutdown| async move {
            let _flag = flag;
            std::future::pending::<()>().await;
            Ok(())
        })?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_ignoring_its_signal_is_aborted_at_the_stop_limit_and_named() {
    let dropped = Arc::new(AtomicBool::new(false));
    let manager = ModuleManager::builder()
        .module(Stubborn {
            dropped: Arc::clone(&dropped),
        })
        .timeout(Hook::Stop, Some(Duration::from_secs(2)))
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let began = tokio::time::Instant::now();
    let error = manager.stop_all().await.unwrap_err();
    assert_eq!(
        began.elapsed(),
        Duration::from_secs(2),
        "joined until the limit"
    );
    let symphra::Error::Stop(stop) = error else {
        panic!("a stop error: {error}");
    };
    let report = stop.report().module("stubborn").unwrap();
    let Outcome::Failed(failure) = report.outcome() else {
        panic!("failed: {report}");
    };
    assert_eq!(failure.hook(), Hook::Stop);
    match failure.cause() {
        FailureCause::TasksAborted { tasks } => assert_eq!(tasks, &[Arc::<str>::from("deaf")]),
        other => panic!("tasks aborted: {other}"),
    }
    assert_eq!(
        failure.cause().to_string(),
        "tasks still running at the stop deadline were aborted: deaf"
    );
    // A failed stop is abandoned: the module counts as stopped and can start again.
    let handle = manager.module("stubborn").unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
    tokio::task::yield_now().await;
    assert!(
        dropped.load(Ordering::SeqCst),
        "the aborted task was dropped"
    );
    manager.start_all().await.unwrap();
    assert_eq!(handle.state(), ModuleState::Started);
}

/// How the task of [`Ender`] ends once triggered.
#[derive(Clone, Copy)]
enum End {
    Ok,
    Err,
    Panic,
}

/// Spawns one task (long-running or finite) that ends as told when triggered.
struct Ender {
    finite: bool,
    end: End,
    trigger: Arc<Notify>,
}

impl Module for Ender {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("ender")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let (trigger, end) = (Arc::clone(&self.trigger), self.end);
        let task = |_shutdown| async move {
            trigger.notified().await;
            match end {
                End::Ok => Ok(()),
                End::Err => Err("connection reset".into()),
                End::Panic => panic!("boom"),
            }
        };
        if self.finite {
            ctx.spawn_finite("job", task)?;
        } else {
            ctx.spawn("job", task)?;
        }
        Ok(())
    }
}

/// Holds supervision at its first step, the publishing of `module.failed`, until the
/// returned notify is notified: the failed state can then be seen before the module is
/// stopped.
fn hold_supervision(manager: &ModuleManager) -> Arc<Notify> {
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
    release
}

/// Starts an [`Ender`], triggers its task, yields twice; the module's state then.
async fn end_task(finite: bool, end: End) -> (ModuleManager, ModuleState) {
    let trigger = Arc::new(Notify::new());
    let manager = ModuleManager::builder()
        .module(Ender {
            finite,
            end,
            trigger: Arc::clone(&trigger),
        })
        .build()
        .unwrap();
    // Never released: these tests look at the failure, not at what follows it.
    let _held = hold_supervision(&manager);
    manager.start_all().await.unwrap();
    trigger.notify_one();
    tokio::task::yield_now().await;
    tokio::task::yield_now().await;
    let state = manager.module("ender").unwrap().state();
    (manager, state)
}

#[tokio::test(start_paused = true)]
async fn a_panicking_task_fails_its_module_at_once() {
    let (manager, state) = end_task(false, End::Panic).await;
    assert_eq!(state, ModuleState::Failed);
    let failure = manager.module("ender").unwrap().failure().unwrap();
    assert_eq!(
        failure.cause().to_string(),
        "task \"job\" panicked while the module ran: boom"
    );
    let (_manager, state) = end_task(true, End::Panic).await;
    assert_eq!(state, ModuleState::Failed, "finite too");
}

#[tokio::test(start_paused = true)]
async fn an_error_or_an_early_end_of_a_long_running_task_fails_the_module() {
    let (manager, state) = end_task(false, End::Err).await;
    assert_eq!(state, ModuleState::Failed);
    let failure = manager.module("ender").unwrap().failure().unwrap();
    assert!(
        failure.cause().to_string().contains("connection reset"),
        "{failure}"
    );
    let (manager, state) = end_task(false, End::Ok).await;
    assert_eq!(state, ModuleState::Failed);
    let failure = manager.module("ender").unwrap().failure().unwrap();
    assert!(
        failure
            .cause()
            .to_string()
            .contains("ended before its shutdown signal"),
        "{failure}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_failure_names_the_task_however_it_ended() {
    for end in [End::Err, End::Ok, End::Panic] {
        let (manager, state) = end_task(false, end).await;
        assert_eq!(state, ModuleState::Failed);
        let failure = manager.module("ender").unwrap().failure().unwrap();
        let FailureCause::Error(error) = failure.cause() else {
            panic!("not a task error: {failure}");
        };
        let task_error = error
            .inner()
            .downcast_ref::<TaskError>()
            .unwrap_or_else(|| panic!("not a task error: {failure}"));
        assert_eq!(task_error.task(), "job", "{task_error}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_finite_task_fails_its_module_only_with_an_error() {
    let (_manager, state) = end_task(true, End::Ok).await;
    assert_eq!(state, ModuleState::Started);
    let (_manager, state) = end_task(true, End::Err).await;
    assert_eq!(state, ModuleState::Failed);
}

/// Spawns from a hook given by name, and records what the spawn said.
struct SpawnIn {
    hook: Hook,
    fail_start: bool,
    dropped: Arc<AtomicBool>,
    refused: Arc<Mutex<Option<String>>>,
}

impl SpawnIn {
    fn try_spawn(&self, ctx: &Context, hook: Hook) {
        if hook != self.hook {
            return;
        }
        let flag = DropFlag(Arc::clone(&self.dropped));
        let spawned = ctx.spawn("worker", |_| async move {
            let _flag = flag;
            std::future::pending::<()>().await;
            Ok(())
        });
        if let Err(error) = spawned {
            assert!(matches!(error, SpawnError::NotRunning { .. }));
            *self.refused.lock().unwrap() = Some(error.to_string());
        }
    }
}

impl Module for SpawnIn {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("spawner")
    }

    async fn install(&self, ctx: &Context, _config: Config) -> HookResult {
        self.try_spawn(ctx, Hook::Install);
        Ok(())
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        self.try_spawn(ctx, Hook::Start);
        if self.fail_start {
            return Err("no port".into());
        }
        Ok(())
    }
}

fn spawn_in(
    hook: Hook,
    fail_start: bool,
) -> (SpawnIn, Arc<AtomicBool>, Arc<Mutex<Option<String>>>) {
    let dropped = Arc::new(AtomicBool::new(false));
    let refused = Arc::new(Mutex::new(None));
    let module = SpawnIn {
        hook,
        fail_start,
        dropped: Arc::clone(&dropped),
        refused: Arc::clone(&refused),
    };
    (module, dropped, refused)
}

#[tokio::test(start_paused = true)]
async fn a_task_is_refused_before_start() {
    let (module, _, refused) = spawn_in(Hook::Install, false);
    let manager = ModuleManager::builder().module(module).build().unwrap();
    manager.start_all().await.unwrap();
    let refused = refused.lock().unwrap().clone().expect("refused");
    assert!(
        refused.contains("cannot spawn task \"worker\""),
        "{refused}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_aborts_the_tasks_it_spawned() {
    let (module, dropped, _) = spawn_in(Hook::Start, true);
    let manager = ModuleManager::builder().module(module).build().unwrap();
    assert!(manager.start_all().await.is_err());
    tokio::task::yield_now().await;
    assert!(dropped.load(Ordering::SeqCst));
}

/// A task failing while `start` still runs makes the start fail.
struct FailsEarly;

impl Module for FailsEarly {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("early")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.spawn_finite("check", |_| async { Err("bad certificate".into()) })?;
        tokio::time::sleep(Duration::from_millis(10)).await; // the task runs meanwhile
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_failing_while_start_runs_fails_the_start() {
    let manager = ModuleManager::builder().module(FailsEarly).build().unwrap();
    let error = manager.start_all().await.unwrap_err();
    assert!(error.to_string().contains("bad certificate"), "{error}");
    let handle = manager.module("early").unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
    assert_eq!(handle.failure().unwrap().hook(), Hook::Start);
    // It never ran: nothing to supervise, and it can be started again.
    manager.supervision_idle().await.unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
}

/// Blocking work on the blocking pool, ended by its signal.
struct Reader {
    log: Log,
}

impl Module for Reader {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reader")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let log = Arc::clone(&self.log);
        ctx.spawn_blocking("read", move |shutdown| {
            while !shutdown.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            push(&log, "read: stopped");
            Ok(())
        })?;
        Ok(())
    }
}

#[tokio::test]
async fn blocking_tasks_are_signalled_and_joined_too() {
    let log = Log::default();
    let manager = ModuleManager::builder()
        .module(Reader {
            log: Arc::clone(&log),
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    assert_eq!(lines(&log), ["read: stopped"]);
}

/// Adds one to its counter when dropped.
struct CountOnDrop(Arc<AtomicU32>);

impl Drop for CountOnDrop {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Runs one task until it is signalled; counts the task's ends. Its reload always fails.
struct Looper {
    ended: Arc<AtomicU32>,
    reload_fails: bool,
}

impl Module for Looper {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("looper")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        // Counts the end however the task ends: returning, or aborted before it runs.
        let guard = CountOnDrop(Arc::clone(&self.ended));
        ctx.spawn("loop", move |shutdown| async move {
            let _guard = guard;
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }

    async fn reload(&self, _ctx: &Context) -> HookResult {
        if self.reload_fails {
            return Err("the new configuration is invalid".into());
        }
        Ok(())
    }
}

fn looper(reload_fails: bool) -> (ModuleManager, Arc<AtomicU32>) {
    let ended = Arc::new(AtomicU32::new(0));
    let manager = ModuleManager::builder()
        .module(Looper {
            ended: Arc::clone(&ended),
            reload_fails,
        })
        .build()
        .unwrap();
    (manager, ended)
}

#[tokio::test(start_paused = true)]
async fn a_second_start_leaves_the_new_tasks_running() {
    let (manager, ended) = looper(true);
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    assert_eq!(ended.load(Ordering::SeqCst), 1);
    let began = tokio::time::Instant::now();
    manager.start_all().await.unwrap();
    assert_eq!(
        began.elapsed(),
        Duration::ZERO,
        "the start waited for nothing"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        ended.load(Ordering::SeqCst),
        1,
        "the second run's task still runs"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_reload_leaves_the_tasks_running() {
    let (manager, ended) = looper(true);
    manager.start_all().await.unwrap();
    assert!(manager.reload("looper").await.is_err());
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        ended.load(Ordering::SeqCst),
        0,
        "a failed reload does not end the tasks"
    );
}

#[tokio::test(start_paused = true)]
async fn a_reload_of_a_module_with_tasks_is_not_announced_as_a_start() {
    let (manager, ended) = looper(false);
    let started = symphra::testing::EventRecorder::new(manager.bus(), "module.started").unwrap();
    manager.start_all().await.unwrap();
    started
        .wait_for_count(1, Duration::from_secs(60))
        .await
        .unwrap();
    manager.reload("looper").await.unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(started.events().len(), 1, "one start, announced once");
    assert_eq!(
        manager.module("looper").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(
        ended.load(Ordering::SeqCst),
        0,
        "the reload left the task running"
    );
}

/// Runs a task from its start; its stop hook tries to spawn another and records what it
/// was told, and whether the task's closure was called.
struct SpawnAtStop {
    refused: Arc<Mutex<Option<String>>>,
    made: Arc<AtomicBool>,
}

impl Module for SpawnAtStop {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("late")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.spawn("first", |shutdown| async move {
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        let made = Arc::clone(&self.made);
        let spawned = ctx.spawn("too-late", move |_| {
            made.store(true, Ordering::SeqCst);
            async { Ok(()) }
        });
        *self.refused.lock().unwrap() = spawned.err().map(|error| error.to_string());
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn a_task_is_refused_once_the_run_is_stopping_before_its_closure_runs() {
    let refused = Arc::new(Mutex::new(None));
    let made = Arc::new(AtomicBool::new(false));
    let manager = ModuleManager::builder()
        .module(SpawnAtStop {
            refused: Arc::clone(&refused),
            made: Arc::clone(&made),
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    let refused = refused.lock().unwrap().clone().expect("refused");
    assert!(
        refused.contains("cannot spawn task \"too-late\""),
        "{refused}"
    );
    assert!(
        !made.load(Ordering::SeqCst),
        "a refused task's closure is not called"
    );
}

/// Spawns `count` tasks whose drain after the signal is longer the earlier they were spawned,
/// and counts the drains that finished.
struct Crowd {
    count: u32,
    drained: Arc<AtomicU32>,
}

impl Module for Crowd {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("crowd")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        for i in 0..self.count {
            let drained = Arc::clone(&self.drained);
            let drain = Duration::from_millis(u64::from(self.count - i));
            ctx.spawn(&format!("task-{i}"), move |shutdown| async move {
                shutdown.cancelled().await;
                tokio::time::sleep(drain).await;
                drained.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })?;
        }
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn stop_joins_every_task_of_a_module_that_spawned_many() {
    // Past 16 tasks the slot lets go of finished ones: never of one still running.
    let drained = Arc::new(AtomicU32::new(0));
    let manager = ModuleManager::builder()
        .module(Crowd {
            count: 40,
            drained: Arc::clone(&drained),
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    manager.stop_all().await.unwrap();
    assert_eq!(
        drained.load(Ordering::SeqCst),
        40,
        "every drain ended before the stop"
    );
}

/// What the closure of a task spawned from a blocking task waits for before it returns.
#[derive(Clone, Copy)]
enum ClosureWaits {
    /// Its run's shutdown signal: the run is stopping when the closure returns.
    ForTheSignal,
    /// A word from the test, sent after the module stopped and started again.
    ForTheTest,
}

/// What `spawn` said to the blocking task.
type SpawnResult = Result<(), String>;

/// A blocking task that spawns a task whose closure blocks; reports what `spawn` said.
struct SlowClosure {
    waits: ClosureWaits,
    entered: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
    go: Arc<Mutex<std::sync::mpsc::Receiver<()>>>,
    report: Mutex<Option<tokio::sync::oneshot::Sender<SpawnResult>>>,
}

impl Module for SlowClosure {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("slow-closure")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let (Some(entered), Some(report)) = (
            self.entered.lock().unwrap().take(),
            self.report.lock().unwrap().take(),
        ) else {
            // A later run: one plain task, so that the run has begun when the closure returns.
            ctx.spawn("plain", |shutdown| async move {
                shutdown.cancelled().await;
                Ok(())
            })?;
            return Ok(());
        };
        let (waits, go) = (self.waits, Arc::clone(&self.go));
        let task_ctx = ctx.clone();
        ctx.spawn_blocking("spawner", move |_shutdown| {
            let result = task_ctx.spawn("late", move |token| {
                let _ = entered.send(());
                match waits {
                    ClosureWaits::ForTheSignal => {
                        tokio::runtime::Handle::current().block_on(token.cancelled());
                    }
                    ClosureWaits::ForTheTest => {
                        let _ = go.lock().unwrap().recv();
                    }
                }
                async { Ok(()) }
            });
            let _ = report.send(result.map_err(|error| error.to_string()));
            Ok(())
        })?;
        Ok(())
    }
}

/// The manager, then: the closure has begun; the word for it to go on; what `spawn` said.
fn slow_closure(
    waits: ClosureWaits,
) -> (
    ModuleManager,
    tokio::sync::oneshot::Receiver<()>,
    std::sync::mpsc::Sender<()>,
    tokio::sync::oneshot::Receiver<SpawnResult>,
) {
    let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
    let (go_tx, go_rx) = std::sync::mpsc::channel();
    let (report_tx, report_rx) = tokio::sync::oneshot::channel();
    let manager = ModuleManager::builder()
        .module(SlowClosure {
            waits,
            entered: Mutex::new(Some(entered_tx)),
            go: Arc::new(Mutex::new(go_rx)),
            report: Mutex::new(Some(report_tx)),
        })
        // The spawner, blocked in the closure, is let go at the stop deadline.
        .shutdown_timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    (manager, entered_rx, go_tx, report_rx)
}

/// What `spawn` said, waited for with a bound.
async fn spawn_result(report: tokio::sync::oneshot::Receiver<SpawnResult>) -> SpawnResult {
    tokio::time::timeout(Duration::from_secs(60), report)
        .await
        .expect("the spawner reports within a minute")
        .expect("the spawner reports")
}

#[tokio::test]
async fn a_task_whose_run_began_to_stop_while_its_closure_ran_is_refused() {
    let (manager, entered, _go, report) = slow_closure(ClosureWaits::ForTheSignal);
    manager.start_all().await.unwrap();
    entered.await.unwrap();
    // The stop signals the run; the closure returns; its task must not start.
    manager.stop_all().await.unwrap();
    let refused = spawn_result(report)
        .await
        .expect_err("a stopping run takes no new task");
    assert!(refused.contains("cannot spawn task \"late\""), "{refused}");
}

#[tokio::test]
async fn a_task_whose_run_ended_while_its_closure_ran_is_refused_by_the_next_run() {
    let (manager, entered, go, report) = slow_closure(ClosureWaits::ForTheTest);
    manager.start_all().await.unwrap();
    entered.await.unwrap();
    // The first run stops (the blocked spawner is let go at the deadline) and a second begins.
    let _ = manager.stop_all().await;
    manager.start_all().await.unwrap();
    go.send(()).unwrap();
    let refused = spawn_result(report)
        .await
        .expect_err("a task of the first run is not started in the second");
    assert!(refused.contains("cannot spawn task \"late\""), "{refused}");
}
