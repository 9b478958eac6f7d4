//! Running one module's hooks: state transitions, configuration checks, timeouts, panics.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::Poll;

use futures_util::FutureExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::Config;
use crate::context::Context;
use crate::lifecycle::{FailureCause, Hook, HookChain, HookFailure, ModuleState, SharedError};
use crate::manager::Inner;
use crate::manager::entry::Entry;
use crate::manager::graph::Graph;
use crate::manager::reentry::Mark;
use crate::manager::report::Timings;
use crate::module::CallHook;

/// A chain of hooks to run on one module.
pub(crate) struct Job {
    pub(crate) inner: Arc<Inner>,
    pub(crate) graph: Arc<Graph>,
    pub(crate) id: usize,
    pub(crate) chain: HookChain,
    /// The start of the whole operation; timings are relative to it.
    pub(crate) origin: Instant,
    /// When the job began: a fresh clock reading, or the end of a job that ran just before
    /// without anything waiting in between.
    pub(crate) began: Instant,
    /// No hook runs past it.
    pub(crate) deadline: Option<Instant>,
}

/// What running a job did.
pub(crate) struct Run {
    pub(crate) hooks: Timings,
    /// When the last hook ended.
    pub(crate) ended: Instant,
    pub(crate) result: Result<(), HookFailure>,
}

/// Polls `future` once, in the calling task. Hooks that finish without waiting (the common
/// case for many modules) then cost no timer and no task of their own.
pub(crate) async fn poll_once<F: Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    poll_fn(|cx| Poll::Ready(Pin::new(&mut *future).poll(cx))).await
}

/// Runs the job's hooks one after another, stopping at the first failure.
///
/// The whole chain runs marked as inside the module's hook, so that a hook (or an event
/// handler it triggers) calling back into the manager is refused instead of waiting for
/// itself.
pub(crate) async fn drive<C: CallHook>(caller: &C, job: Job) -> Run {
    let Job {
        inner,
        graph,
        id,
        chain,
        origin,
        began,
        deadline,
    } = job;
    let mark = Mark::new(&inner, id);
    let ctx = Context::new(inner, graph, id);
    mark.on(run_chain(caller, &ctx, chain, origin, began, deadline))
        .await
}

async fn run_chain<C: CallHook>(
    caller: &C,
    ctx: &Context,
    chain: HookChain,
    origin: Instant,
    mut began: Instant,
    deadline: Option<Instant>,
) -> Run {
    let entry = ctx.entry();
    let mut run = Run {
        hooks: Timings::new(origin, began),
        ended: began,
        result: Ok(()),
    };
    // One clock read per hook: each hook ends when the next begins.
    for &hook in chain.hooks() {
        let outcome = run_hook(caller, ctx, entry, hook, began, deadline).await;
        began = Instant::now();
        run.hooks.push(hook, began);
        run.ended = began;
        if let Err(cause) = outcome {
            let failure = HookFailure::new(Arc::clone(&entry.name), hook, cause);
            tracing::warn!(module = %entry.name, hook = hook.as_str(), error = %failure.cause(), "hook failed");
            let previous = entry.fail(hook, failure.clone());
            ctx.inner().record_failure(entry, &failure);
            if let Some(publish) =
                ctx.inner()
                    .announce(ctx, hook, previous, ModuleState::Failed, Some(&failure))
            {
                publish.await;
            }
            if matches!(hook, Hook::Start | Hook::Stop) {
                ctx.inner().drop_subscriptions(entry);
            }
            run.result = Err(failure);
            break;
        }
    }
    run
}

async fn run_hook<C: CallHook>(
    caller: &C,
    ctx: &Context,
    entry: &Entry,
    hook: Hook,
    began: Instant,
    deadline: Option<Instant>,
) -> Result<(), FailureCause> {
    let installing = hook == Hook::Install;
    let to_install = if installing {
        let config = entry.config_to_install();
        if let Some(schema) = entry.metadata.schema() {
            schema
                .check(config.as_value())
                .map_err(FailureCause::InvalidConfig)?;
        }
        Some(config)
    } else {
        None
    };
    // Hooks other than `install` do not read their configuration argument.
    let config = to_install.as_ref().unwrap_or(Config::empty());

    if deadline.is_some_and(|deadline| deadline <= began) {
        return Err(FailureCause::DeadlinePassed);
    }

    let begun = entry.begin(hook);
    if let Some((old, new)) = begun
        && let Some(publish) = ctx.inner().announce(ctx, hook, old, new, None)
    {
        publish.await;
    }

    let span = tracing::info_span!("hook", module = %entry.name, hook = hook.as_str());
    let call = caller.call(hook, ctx, config);
    let guarded = AssertUnwindSafe(call).catch_unwind().instrument(span);
    let mut guarded = pin!(guarded);
    let result = match poll_once(&mut guarded).await {
        Poll::Ready(result) => result,
        // Only a hook that waits needs its time limit: its own, cut short by the
        // operation's deadline.
        Poll::Pending => match time_limit(ctx, hook, began, deadline) {
            // Boxed: the timer is large and only hooks that wait need it.
            Some(limit) => match Box::pin(tokio::time::timeout_at(limit, guarded)).await {
                Ok(result) => result,
                Err(_) => {
                    return Err(FailureCause::TimedOut(
                        limit.saturating_duration_since(began),
                    ));
                }
            },
            None => guarded.await,
        },
    };
    match result {
        Ok(Ok(())) => {
            if installing {
                entry.set_installed_config(config.clone());
            }
            let (old, new) = entry.succeed(hook);
            ctx.inner().record_success(entry, hook);
            if hook == Hook::Stop {
                ctx.inner().drop_subscriptions(entry);
            }
            if let Some(publish) = ctx.inner().announce(ctx, hook, old, new, None) {
                publish.await;
            }
            Ok(())
        }
        Ok(Err(error)) => Err(FailureCause::Error(SharedError::from(error))),
        Err(panic) => Err(FailureCause::from_panic(panic)),
    }
}

/// When a hook that began at `began` must have returned: its own limit, cut short by the
/// operation's deadline.
fn time_limit(
    ctx: &Context,
    hook: Hook,
    began: Instant,
    deadline: Option<Instant>,
) -> Option<Instant> {
    let limit = ctx.inner().options.timeout(hook).map(|limit| began + limit);
    match (limit, deadline) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}
