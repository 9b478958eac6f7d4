//! Running one module's hooks: state transitions, configuration checks, timeouts, panics.
//!
//! Every job's future is boxed and moved, so its size matters: [`drive`] and `run_chain`
//! are plain functions returning an `async` block, because an `async fn` keeps its
//! arguments twice in its future (as arguments, then as locals).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::Poll;

use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::Config;
use crate::context::Context;
use crate::lifecycle::{
    BoxError, FailureCause, Hook, HookChain, HookFailure, ModuleState, SharedError,
};
use crate::manager::clock::Tick;
use crate::manager::driver::{BoxFuture, CallHook};
use crate::manager::entry::Entry;
use crate::manager::events;
use crate::manager::polls::{self, Polled, TimedPolls};
use crate::manager::reentry::Mark;
use crate::manager::signals::TickKind;
use crate::manager::tasks;
use crate::manager::timings::Timings;
use crate::manager::watch;
use crate::util::{Quiet, poll_once};

/// A chain of hooks to run on one module.
pub(crate) struct Job {
    /// The module's context, given back in [`Run::ctx`] for the next job.
    pub(crate) ctx: Context,
    pub(crate) chain: HookChain,
    /// When the job began: a fresh clock reading, or the end of a job that ran just before
    /// without anything waiting in between.
    pub(crate) began: Tick,
}

/// What running a job did.
pub(crate) struct Run {
    pub(crate) hooks: Timings,
    pub(crate) result: Result<(), HookFailure>,
    /// The job's context, to be reused.
    pub(crate) ctx: Context,
}

/// Runs the job's hooks one after another, stopping at the first failure.
///
/// The whole chain runs marked as inside the module's hook, so that a hook (or an event
/// handler it triggers) calling back into the manager is refused instead of waiting for
/// itself.
pub(crate) fn drive<C: CallHook>(caller: C, job: Job) -> impl Future<Output = Run> + Send {
    let Job { ctx, chain, began } = job;
    let mark = Mark::new(ctx.inner(), ctx.id());
    mark.on(run_chain(caller, ctx, chain, began))
}

/// A job that cannot run: its first hook is reported failed with `why`, and the module's
/// state is left alone.
pub(crate) fn refuse(job: Job, why: String) -> Run {
    let name = Arc::clone(&job.ctx.entry().name);
    let hook = job
        .chain
        .hooks()
        .first()
        .copied()
        .unwrap_or(Hook::Bootstrap);
    let cause = FailureCause::Error(SharedError::from(BoxError::from(why)));
    let hooks = job.ctx.operation().clock.timings(job.began);
    Run {
        hooks,
        result: Err(HookFailure::new(name, hook, cause)),
        ctx: job.ctx,
    }
}

/// Runs the hooks of `chain`. One flat loop rather than a future per hook: the
/// synchronous steps around a hook are plain functions, and only the hook itself, and the
/// publishing of its events when anyone listens, are awaited.
#[expect(
    clippy::manual_async_fn,
    reason = "see the module docs: the future's size"
)]
fn run_chain<C: CallHook>(
    caller: C,
    ctx: Context,
    chain: HookChain,
    mut began: Tick,
) -> impl Future<Output = Run> + Send {
    async move {
        let caller = &caller;
        let clock = ctx.operation().clock;
        let mut hooks = clock.timings(began);
        let mut result = Ok(());
        let entry = ctx.entry();
        let tick_kind = TickKind::of(clock.clock());
        // One clock read per hook: each hook ends when the next begins.
        for &hook in chain.hooks() {
            // A reading at the end of the hook's poll, when nothing was awaited after it:
            // then it is also when the next hook begins.
            let mut ended: Option<Tick> = None;
            let outcome = 'hook: {
                if clock.deadline_passed(began) {
                    break 'hook Err(FailureCause::DeadlinePassed);
                }
                let to_install = match prepare(entry, hook) {
                    Ok(to_install) => to_install,
                    Err(cause) => break 'hook Err(cause),
                };
                // Owned tasks: a stop signals them before its hook runs, so that they
                // drain while the hook closes what they use. One load for most modules.
                let attention = if matches!(hook, Hook::Start | Hook::Stop) {
                    entry.attention()
                } else {
                    0
                };
                if attention != 0 {
                    tasks::before_hook(entry, hook, attention);
                    if attention & tasks::WATCHED != 0 {
                        watch::before_hook(entry, hook);
                    }
                }
                // The hook's poll is timed from here, or from after whatever is awaited
                // before it: a slow event handler is not the hook's blocking.
                let mut poll_from = began;
                if let Some((old, new)) = entry.begin(hook)
                    && let Some(publish) = events::announce(&ctx, hook, old, new, None)
                {
                    publish.await;
                    poll_from = clock.now();
                }
                // Queued handlers of the module's subscriptions finish their backlog
                // before its stop hook closes what they use. One load for modules that
                // never subscribed; boxed, since only the others wait here.
                if hook == Hook::Stop && entry.subscribed.load(Ordering::Acquire) {
                    let timeout = ctx.inner().options.timeout(hook);
                    let (limit, _) = clock.hook_limit(began, timeout);
                    let scope = ctx.operation();
                    Box::pin(scope.losses.drain(&ctx.inner().bus, entry, limit)).await;
                    poll_from = clock.now();
                }
                let returned = {
                    // Hooks other than `install` do not read their configuration argument.
                    let config = to_install.as_ref().unwrap_or(Config::empty());
                    let span =
                        tracing::info_span!("hook", module = %entry.name, hook = hook.as_str());
                    let call = caller.call(hook, &ctx, config);
                    let mut guarded = pin!(
                        AssertUnwindSafe(Quiet::new(call))
                            .catch_unwind()
                            .instrument(span)
                    );
                    let polled = poll_once(&mut guarded).await;
                    let now = clock.now();
                    if clock.blocked(poll_from, now) {
                        polls::blocked_hook(&ctx, hook, poll_from, now);
                    }
                    match polled {
                        Poll::Ready(returned) => {
                            ended = Some(now);
                            Ok(returned)
                        }
                        Poll::Pending => wait_boxed(guarded, &ctx, hook, began).await,
                    }
                };
                // After the stop hook, the tasks are joined within the hook's own limit,
                // and those still running then are aborted. Boxed: only modules with
                // tasks wait here.
                let aborted = if hook == Hook::Stop && attention & tasks::TASKS != 0 {
                    let timeout = ctx.inner().options.timeout(hook);
                    let (limit, _) = clock.hook_limit(began, timeout);
                    ended = None;
                    Box::pin(tasks::join(entry, limit)).await
                } else {
                    None
                };
                let returned = match returned {
                    Ok(returned) => returned,
                    Err(cause) => break 'hook Err(cause),
                };
                match returned {
                    Ok(Ok(())) => {}
                    Ok(Err(error)) => {
                        break 'hook Err(FailureCause::Error(SharedError::from(error)));
                    }
                    Err(panic) => break 'hook Err(FailureCause::from_panic(panic)),
                }
                if let Some(cause) = aborted {
                    break 'hook Err(cause);
                }
                match succeed(&ctx, hook, to_install, attention) {
                    Ok(Some(publish)) => {
                        ended = None;
                        publish.await;
                    }
                    Ok(None) => {}
                    Err(cause) => break 'hook Err(cause),
                }
                Ok(())
            };
            let end = ended.unwrap_or_else(|| clock.now());
            entry.hook_ticks.record(hook, tick_kind, began, end);
            // What `start` handed over lives until the stop hook has run, or the start
            // failed. One load for modules that hand nothing over.
            if (hook == Hook::Stop || (hook == Hook::Start && outcome.is_err()))
                && entry.has_running()
            {
                entry.clear_running();
            }
            began = end;
            hooks.push(hook, began);
            if let Err(cause) = outcome {
                let (failure, publish) = failed(&ctx, hook, cause);
                if let Some(publish) = publish {
                    publish.await;
                }
                after_failure(entry, &ctx, hook);
                result = Err(failure);
                break;
            }
        }
        Run { hooks, result, ctx }
    }
}

/// `hook` failed with `cause`: the failure, recorded, and the publishing of the change
/// when anyone listens. Out of line, as rare: it keeps the chain's loop small.
#[cold]
#[inline(never)]
fn failed(
    ctx: &Context,
    hook: Hook,
    cause: FailureCause,
) -> (HookFailure, Option<BoxFuture<'static, ()>>) {
    let entry = ctx.entry();
    let failure = HookFailure::new(Arc::clone(&entry.name), hook, cause);
    tracing::warn!(module = %entry.name, hook = hook.as_str(), error = %failure.cause(), "hook failed");
    let previous = entry.fail(hook, failure.clone());
    ctx.inner().record_failure(entry, &failure);
    let publish = events::announce(ctx, hook, previous, ModuleState::Failed, Some(&failure));
    (failure, publish)
}

/// After a failure of `hook` was published: a failed start or stop loses its
/// subscriptions, and a failed start its tasks.
#[cold]
#[inline(never)]
fn after_failure(entry: &Entry, ctx: &Context, hook: Hook) {
    if matches!(hook, Hook::Start | Hook::Stop) {
        ctx.inner().drop_subscriptions(entry);
    }
    if hook == Hook::Start && entry.has_tasks() {
        tasks::abandon(entry);
    }
}

/// Before `hook` runs: for `install`, the configuration to install (`None` for the empty
/// one), validated against the module's schema.
fn prepare(entry: &Entry, hook: Hook) -> Result<Option<Config>, FailureCause> {
    if hook != Hook::Install {
        return Ok(None);
    }
    let config = entry.config_to_install();
    if let Some(schema) = entry.schema() {
        schema
            .check(config.as_ref().unwrap_or(Config::empty()).as_value())
            .map_err(FailureCause::InvalidConfig)?;
    }
    Ok(config)
}

/// After `hook` returned `Ok`: the new state, recorded, and the publishing of the change
/// when anyone listens. A start whose tasks failed before it returned fails with that.
fn succeed(
    ctx: &Context,
    hook: Hook,
    installed: Option<Config>,
    attention: u8,
) -> Result<Option<BoxFuture<'static, ()>>, FailureCause> {
    let entry = ctx.entry();
    if hook == Hook::Install {
        entry.set_installed_config(installed);
    }
    let (old, new) = if hook == Hook::Start && entry.has_tasks() {
        tasks::start_succeeded(entry)?
    } else {
        entry.succeed(hook)
    };
    ctx.inner().record_success(entry, hook);
    if hook == Hook::Stop {
        ctx.inner().drop_subscriptions(entry);
    }
    if hook == Hook::Start {
        // The attention read before the hook: the bit is set for good at registration.
        if attention & tasks::WATCHED == 0 {
            // Ready means started: `module.ready` goes with the change's events.
            return Ok(events::announce_started(ctx, old, new));
        }
        let announced = events::announce(ctx, hook, old, new, None);
        watch::started(ctx);
        return Ok(events::announce_ready(ctx, announced));
    }
    let announced = events::announce(ctx, hook, old, new, None);
    Ok(announced)
}

/// Waits for `hook` of the module of `ctx`, which began at `began` and did not finish at
/// its first poll: within its time limit, cancelled with the operation, each later poll
/// timed. Out of line and boxed whole: the timer, the timing and the cancellation are
/// large, and only hooks that wait need them.
#[inline(never)]
fn wait_boxed<'a, F: Future + Send + 'a>(
    guarded: F,
    ctx: &'a Context,
    hook: Hook,
    began: Tick,
) -> BoxFuture<'a, Result<F::Output, FailureCause>> {
    let clock = ctx.operation().clock;
    let timeout = ctx.inner().options.timeout(hook);
    let (limit, began_at) = clock.hook_limit(began, timeout);
    let cancel = ctx.operation().cancel.as_ref();
    let timed = TimedPolls::new(guarded, ctx.clone(), Polled::Hook(hook), clock.clock());
    Box::pin(wait(timed, limit, began_at, cancel))
}

/// Waits for a hook that began at `began` and did not finish at once, up to `limit`, or
/// until `cancel` is cancelled (the hook is then dropped: abandoned, like one that ran out
/// of time).
async fn wait<F: Future>(
    hook: F,
    limit: Option<Instant>,
    began: Instant,
    cancel: Option<&CancellationToken>,
) -> Result<F::Output, FailureCause> {
    let limited = async move {
        match limit {
            Some(limit) => tokio::time::timeout_at(limit, hook)
                .await
                .map_err(|_| FailureCause::TimedOut(limit.saturating_duration_since(began))),
            None => Ok(hook.await),
        }
    };
    match cancel {
        // `biased`: a hook that finished is not reported cancelled.
        Some(cancel) => {
            tokio::select! {
                biased;
                returned = limited => returned,
                () = cancel.cancelled() => Err(FailureCause::Cancelled),
            }
        }
        None => limited.await,
    }
}
