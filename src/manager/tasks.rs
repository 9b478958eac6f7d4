//! Tasks a module spawns and the manager owns (see [`Context::spawn`]).
//!
//! The tasks of one run of a module (from its `start` to its `stop`) share a [`TaskRun`]:
//! one shutdown token and the tasks' join handles. A module that never spawns a task never
//! has one, and its start and stop pay only a load of [`Entry::attention`].
//!
//! A task that fails while the module runs fails the module at once, in the task that saw
//! it: the state turns `Failed` under the entry's task lock, and supervision (see
//! [`supervisor`](super::supervisor)) is handed the rest. Everything that changes the
//! phase of a run — a spawn, a task's failure, the end of `start`, the signal at `stop` —
//! takes that lock, so a failure cannot slip in between the checks of a start or a stop.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures_util::FutureExt;
use parking_lot::Mutex;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::context::Context;
use crate::lifecycle::{BoxError, FailureCause, Hook, HookFailure, HookResult, ModuleState};
use crate::manager::clock::Clock;
use crate::manager::entry::Entry;
use crate::manager::polls::{Polled, TimedPolls};
use crate::manager::supervisor;
use crate::manager::task_error::{SpawnError, TaskError};
use crate::supervision::{Decision, Restart, Restarts};

/// [`Entry::attention`]: the module has a task run (its stop must signal and join it, its
/// start must go through the task lock).
pub(crate) const TASKS: u8 = 1;
/// [`Entry::attention`]: the module keeps a reason why supervision stopped it, to be
/// forgotten when it starts again.
pub(crate) const REASON: u8 = 2;
/// [`Entry::attention`]: the module has restart bookkeeping, begun at its first failure
/// under a policy that restarts it; its starts are noted there (for the stable period).
pub(crate) const RESTARTS: u8 = 4;
/// [`Entry::attention`]: the module declared a readiness signal, a health check or a
/// watchdog (it has a [`Watch`](super::signals::Watch)); set for good when registered.
pub(crate) const WATCHED: u8 = 8;

/// How a task's end is judged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TaskKind {
    /// Serves until its shutdown signal: ending at all before it fails the module.
    LongRunning,
    /// Finite work: only an error or a panic fails the module.
    Finite,
}

/// The task state of one module: its current run, and why supervision last stopped it.
#[derive(Default)]
pub(crate) struct TaskSlot(Mutex<Slot>);

#[derive(Default)]
struct Slot {
    /// Boxed: most modules never have one, and the entry stays small.
    run: Option<Box<TaskRun>>,
    /// Counts runs, so that a late failure or supervision recognises its own run.
    runs: u64,
    reason: Option<Arc<str>>,
    /// The restarts so far; only for a module with a restarting policy that has failed.
    restarts: Option<Box<Restarts>>,
}

/// The owned tasks of one run of a module.
struct TaskRun {
    generation: u64,
    /// Fires when the module begins to stop; a fresh one per run.
    token: CancellationToken,
    phase: Phase,
    tasks: Vec<OwnedTask>,
    /// A failure seen while `start` still ran: the start fails with it.
    early: Option<FailureCause>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Starting,
    Running,
    /// Failed while running; supervision will stop it.
    Failed,
    Stopping,
}

struct OwnedTask {
    name: Arc<str>,
    handle: JoinHandle<()>,
}

impl std::fmt::Debug for TaskSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let slot = self.0.lock();
        f.debug_struct("TaskSlot")
            .field("tasks", &slot.run.as_ref().map_or(0, |run| run.tasks.len()))
            .field("reason", &slot.reason)
            .finish()
    }
}

impl Slot {
    /// The current run, begun now if the module is starting or running and has none.
    fn run_for(&mut self, entry: &Entry) -> Result<&mut TaskRun, ModuleState> {
        let state = entry.current_state();
        if self.run.is_none() {
            let phase = match state {
                ModuleState::Starting => Phase::Starting,
                ModuleState::Started => Phase::Running,
                other => return Err(other),
            };
            self.runs += 1;
            self.run = Some(Box::new(TaskRun {
                generation: self.runs,
                token: CancellationToken::new(),
                phase,
                tasks: Vec::new(),
                early: None,
            }));
            entry.attention.fetch_or(TASKS, Ordering::AcqRel);
        }
        match self.run.as_deref_mut() {
            Some(run) if matches!(run.phase, Phase::Starting | Phase::Running) => Ok(run),
            _ => Err(state),
        }
    }

    /// Takes the run out; the module's stop or failed start then owns it.
    fn take_run(&mut self, entry: &Entry) -> Option<Box<TaskRun>> {
        entry.attention.fetch_and(!TASKS, Ordering::AcqRel);
        self.run.take()
    }
}

/// Spawns `make`'s future as an owned task of the module of `ctx`.
pub(crate) fn spawn<F, Fut>(
    ctx: &Context,
    name: &str,
    kind: TaskKind,
    make: F,
) -> Result<(), SpawnError>
where
    F: FnOnce(CancellationToken) -> Fut,
    Fut: Future<Output = HookResult> + Send + 'static,
{
    let entry = ctx.entry();
    let task: Arc<str> = Arc::from(name);
    let runtime =
        tokio::runtime::Handle::try_current().map_err(|source| SpawnError::NoRuntime {
            module: Arc::clone(&entry.name),
            task: Arc::clone(&task),
            source,
        })?;
    let refuse = |state| SpawnError::NotRunning {
        module: Arc::clone(&entry.name),
        task: Arc::clone(&task),
        state,
    };
    let (token, generation) = {
        let mut slot = entry.tasks.0.lock();
        let run = slot.run_for(entry).map_err(refuse)?;
        (run.token.clone(), run.generation)
    };
    // The module's closure runs outside the lock: it may spawn tasks itself.
    let future = make(token.clone());
    // Each poll timed, for blocking detection.
    let clock = Clock::for_operation(Instant::now(), ctx.inner().clock_paused());
    let future = TimedPolls::new(future, ctx.clone(), Polled::Task(Arc::clone(&task)), clock);
    let span = tracing::info_span!(parent: None, "task", module = %entry.name, task = %task);
    let watcher = ctx.clone();
    let watched_name = Arc::clone(&task);
    let watched = async move {
        // Caught and reported as the task's failure: the panic hook stays silent.
        let ended = AssertUnwindSafe(crate::util::Quiet::new(future))
            .catch_unwind()
            .await;
        ended_task(&watcher, generation, watched_name, kind, &token, ended);
    }
    .instrument(span);
    let mut slot = entry.tasks.0.lock();
    // The run may have ended while the closure ran (the module stopped): then the task is
    // not started at all.
    let run = slot
        .run
        .as_deref_mut()
        .filter(|run| run.generation == generation && run.phase != Phase::Stopping)
        .ok_or_else(|| refuse(entry.current_state()))?;
    // Finished tasks are let go now and then, so that a module spawning many finite tasks
    // does not collect their handles.
    if run.tasks.len() >= 16 && run.tasks.len().is_power_of_two() {
        run.tasks.retain(|owned| !owned.handle.is_finished());
    }
    run.tasks.push(OwnedTask {
        name: task,
        handle: runtime.spawn(watched),
    });
    Ok(())
}

/// A task of run `generation` ended with `ended`: judges it, and fails the module if it
/// must.
fn ended_task(
    ctx: &Context,
    generation: u64,
    task: Arc<str>,
    kind: TaskKind,
    token: &CancellationToken,
    ended: Result<HookResult, Box<dyn std::any::Any + Send>>,
) {
    let error = match ended {
        Ok(Ok(())) if kind == TaskKind::Finite || token.is_cancelled() => {
            tracing::debug!("task ended");
            return;
        }
        Ok(Ok(())) => TaskError::EndedEarly { task },
        Ok(Err(error)) => TaskError::Failed { task, error },
        Err(panic) => TaskError::Panicked {
            task,
            message: crate::util::panic_message(panic),
        },
    };
    if token.is_cancelled() {
        // The module is stopping: what its tasks do while draining is theirs to report.
        tracing::warn!(error = %error, "task failed after its shutdown signal");
        return;
    }
    let cause = FailureCause::Error(BoxError::from(error).into());
    fail_run(ctx, Some(generation), cause);
}

/// Fails the module of `ctx` with `error`, as [`Context::fail`] does.
pub(crate) fn fail(ctx: &Context, error: BoxError) {
    fail_run(ctx, None, FailureCause::Error(error.into()));
}

/// Fails run `generation` of the module (`None`: the current one): at once, here, under
/// the task lock. A failure while `start` runs is kept for the runner, which fails the
/// start with it; one after the module failed or began to stop is only logged.
fn fail_run(ctx: &Context, generation: Option<u64>, cause: FailureCause) {
    let entry = ctx.entry();
    let mut slot = entry.tasks.0.lock();
    // A task's failure concerns its own run only; `Context::fail` the current one, begun
    // now if the module never spawned a task.
    let run = match generation {
        Some(generation) => slot
            .run
            .as_deref_mut()
            .filter(|run| run.generation == generation),
        None => slot.run_for(entry).ok(),
    };
    let Some(run) = run else {
        drop(slot);
        tracing::warn!(module = %entry.name, error = %cause, "failure ignored: the module is not running");
        return;
    };
    match run.phase {
        Phase::Starting => {
            if run.early.is_none() {
                run.early = Some(cause);
            }
        }
        Phase::Running => {
            run.phase = Phase::Failed;
            let generation = run.generation;
            let failure = HookFailure::new(Arc::clone(&entry.name), Hook::Start, cause);
            entry.fail(Hook::Start, failure.clone());
            ctx.inner().record_failure(entry, &failure);
            drop(slot);
            tracing::error!(module = %entry.name, error = %failure.cause(), "module failed while running");
            supervisor::supervise(ctx.clone(), failure, generation);
        }
        Phase::Failed | Phase::Stopping => {
            drop(slot);
            tracing::warn!(module = %entry.name, error = %cause, "failure ignored: the module already failed or is stopping");
        }
    }
}

/// Before `hook` (`start` or `stop`) begins on a module that needs attention: a start
/// forgets why supervision stopped the module; a stop signals its tasks.
pub(crate) fn before_hook(entry: &Entry, hook: Hook, attention: u8) {
    let mut slot = entry.tasks.0.lock();
    if hook == Hook::Start && attention & REASON != 0 {
        slot.reason = None;
        entry.attention.fetch_and(!REASON, Ordering::AcqRel);
    }
    if hook == Hook::Start
        && attention & RESTARTS != 0
        && let Some(restarts) = slot.restarts.as_deref_mut()
    {
        // Whoever starts it (supervision or an operator), it is up from now.
        restarts.started(Instant::now());
    }
    if hook == Hook::Stop
        && let Some(run) = slot.run.as_deref_mut()
    {
        run.phase = Phase::Stopping;
        run.token.cancel();
    }
}

/// `start` returned `Ok` on a module with a task run: the module is started, under the
/// task lock so that no failure is lost in between, unless a task failed meanwhile. Returns
/// (old, new) state.
pub(crate) fn start_succeeded(entry: &Entry) -> Result<(ModuleState, ModuleState), FailureCause> {
    let mut slot = entry.tasks.0.lock();
    if let Some(run) = slot.run.as_deref_mut() {
        if let Some(cause) = run.early.take() {
            return Err(cause);
        }
        run.phase = Phase::Running;
    }
    Ok(entry.succeed(Hook::Start))
}

/// `start` failed: the tasks it spawned are signalled and aborted, as the module never
/// ran.
pub(crate) fn abandon(entry: &Entry) {
    let Some(run) = entry.tasks.0.lock().take_run(entry) else {
        return;
    };
    run.token.cancel();
    for owned in &run.tasks {
        owned.handle.abort();
    }
    tracing::debug!(module = %entry.name, tasks = run.tasks.len(), "start failed: its tasks were aborted");
}

/// After the `stop` hook: waits for the module's tasks until `limit`, and aborts those
/// still running then. Returns the cause to report when some were aborted.
pub(crate) async fn join(entry: &Entry, limit: Option<Instant>) -> Option<FailureCause> {
    let run = entry.tasks.0.lock().take_run(entry)?;
    // Again: a task spawned while the hook ran got a token that was already signalled,
    // but the signal is what ends the run, so it is given once more.
    run.token.cancel();
    let mut aborted = Vec::new();
    for mut owned in run.tasks {
        let finished = match limit {
            Some(limit) => tokio::time::timeout_at(limit, &mut owned.handle)
                .await
                .is_ok(),
            None => {
                // Without a limit the stop waits as long as the task takes; a join error
                // (the task was aborted) means it ended all the same.
                let _ = (&mut owned.handle).await;
                true
            }
        };
        if !finished {
            owned.handle.abort();
            aborted.push(owned.name);
        }
    }
    if aborted.is_empty() {
        return None;
    }
    tracing::warn!(module = %entry.name, tasks = ?aborted, "tasks still running at the stop deadline were aborted");
    Some(FailureCause::TasksAborted { tasks: aborted })
}

/// Whether run `generation` of the module failed and has not been stopped since.
pub(crate) fn failed_run(entry: &Entry, generation: u64) -> bool {
    entry
        .tasks
        .0
        .lock()
        .run
        .as_deref()
        .is_some_and(|run| run.generation == generation && run.phase == Phase::Failed)
}

/// Records why supervision stops the module.
pub(crate) fn set_reason(entry: &Entry, reason: Arc<str>) {
    entry.tasks.0.lock().reason = Some(reason);
    entry.attention.fetch_or(REASON, Ordering::AcqRel);
}

/// Whether the reason supervision recorded is still `reason`: the module has not started
/// since, nor been stopped by supervision for another failure.
pub(crate) fn reason_is(entry: &Entry, reason: &Arc<str>) -> bool {
    entry
        .tasks
        .0
        .lock()
        .reason
        .as_ref()
        .is_some_and(|current| Arc::ptr_eq(current, reason))
}

/// Asks the module's restart bookkeeping about a failure at `now` (`failed`: see
/// [`Restarts::decide`]), and returns its decision with the restart's attempt number.
/// `None` for a module whose policy never restarts it: it gets no bookkeeping at all.
pub(crate) fn decide_restart(entry: &Entry, now: Instant, failed: bool) -> Option<(Decision, u32)> {
    let policy = entry
        .metadata
        .get_restart()
        .filter(|policy| policy.restart() != Restart::Never)?;
    let mut slot = entry.tasks.0.lock();
    let restarts = slot.restarts.get_or_insert_with(|| {
        entry.attention.fetch_or(RESTARTS, Ordering::AcqRel);
        Box::new(Restarts::new(policy.clone()))
    });
    let decision = restarts.decide(now, failed);
    Some((decision, restarts.attempt()))
}

/// Why supervision stopped the module, if it did and the module has not started since.
pub(crate) fn reason(entry: &Entry) -> Option<Arc<str>> {
    if entry.attention.load(Ordering::Acquire) & REASON == 0 {
        return None;
    }
    entry.tasks.0.lock().reason.clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_shows_the_task_count_and_the_reason() {
        let slot = TaskSlot::default();
        slot.0.lock().reason = Some(Arc::from("it failed: boom"));
        let text = format!("{slot:?}");
        assert_eq!(
            text,
            "TaskSlot { tasks: 0, reason: Some(\"it failed: boom\") }"
        );
    }

    /// Spawns twenty tasks that run until the stop, then a hundred finite tasks that end at
    /// once, each let finish before the next.
    struct ManyFinite;

    impl crate::Module for ManyFinite {
        fn metadata(&self) -> crate::ModuleMetadata {
            crate::ModuleMetadata::new("many")
        }

        async fn start(&self, ctx: &Context) -> crate::HookResult {
            for i in 0..20 {
                ctx.spawn(&format!("serve{i}"), |shutdown| async move {
                    shutdown.cancelled().await;
                    Ok(())
                })?;
            }
            for i in 0..100 {
                ctx.spawn_finite(&format!("t{i}"), |_| async { Ok(()) })?;
                for _ in 0..4 {
                    tokio::task::yield_now().await;
                }
            }
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn finished_tasks_are_let_go_so_a_run_keeps_few_handles() {
        let manager = crate::ModuleManager::builder()
            .module(ManyFinite)
            .build()
            .unwrap();
        manager.start_all().await.unwrap();
        let entry = manager.entry("many").unwrap();
        let kept = entry
            .tasks
            .0
            .lock()
            .run
            .as_ref()
            .map_or(0, |run| run.tasks.len());
        // The 20 running tasks, and at most the finished ones since the last letting go (at
        // each power of two from 16 on).
        assert!(
            (20..=32).contains(&kept),
            "{kept} handles kept for 20 running and 100 finished tasks"
        );
        manager.stop_all().await.unwrap();
    }
}
