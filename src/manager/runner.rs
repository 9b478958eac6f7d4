//! Running one module's hooks: state transitions, configuration checks, timeouts, panics.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use tokio::time::Instant;
use tracing::Instrument;

use crate::config::Config;
use crate::context::Context;
use crate::lifecycle::{FailureCause, Hook, HookFailure, SharedError};
use crate::manager::entry::Entry;
use crate::manager::graph::Graph;
use crate::manager::{HookTiming, Inner};

tokio::task_local! {
    /// The module whose hook the current task is running, to refuse re-entrant calls.
    pub(crate) static IN_HOOK: Arc<str>;
}

/// What running a module's hook chain did.
pub(crate) struct Run {
    pub(crate) hooks: Vec<HookTiming>,
    pub(crate) result: Result<(), HookFailure>,
}

/// Runs `hooks` of module `id` one after another, stopping at the first failure.
///
/// `origin` is the start of the whole operation (timings are relative to it); no hook runs
/// past `deadline`.
pub(crate) async fn drive(
    inner: Arc<Inner>,
    graph: Arc<Graph>,
    id: usize,
    hooks: impl IntoIterator<Item = Hook>,
    origin: Instant,
    deadline: Option<Instant>,
) -> Run {
    let entry = Arc::clone(&graph.entries[id]);
    let ctx = Context::new(inner, graph, id);
    let mut run = Run {
        hooks: Vec::with_capacity(3),
        result: Ok(()),
    };
    for hook in hooks {
        let began = Instant::now();
        let outcome = run_hook(&ctx, &entry, hook, deadline).await;
        run.hooks.push(HookTiming {
            hook,
            began: began.saturating_duration_since(origin),
            duration: began.elapsed(),
        });
        if let Err(cause) = outcome {
            let failure = HookFailure::new(Arc::clone(&entry.name), hook, cause);
            let previous = entry.state().fail(hook, failure.clone());
            ctx.inner().announce_failure(&entry, previous, &failure);
            run.result = Err(failure);
            break;
        }
    }
    run
}

async fn run_hook(
    ctx: &Context,
    entry: &Entry,
    hook: Hook,
    deadline: Option<Instant>,
) -> Result<(), FailureCause> {
    let config = if hook == Hook::Install {
        let value = entry.config_to_install();
        if let Some(schema) = entry.metadata.schema() {
            schema.check(&value).map_err(FailureCause::InvalidConfig)?;
        }
        Config::new(value)
    } else {
        Config::default()
    };

    let limit = match (ctx.inner().options.timeout(hook), deadline) {
        (limit, None) => limit,
        (limit, Some(deadline)) => {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(FailureCause::DeadlinePassed);
            }
            Some(limit.map_or(left, |limit| limit.min(left)))
        }
    };

    let transient = entry.state().begin(hook);
    if let Some((old, new)) = transient {
        ctx.inner().announce(entry, old, new);
    }

    let span = tracing::info_span!("hook", module = %entry.name, hook = hook.as_str());
    let call = entry.object.driver.call(hook, ctx, &config);
    let guarded = IN_HOOK.scope(
        Arc::clone(&entry.name),
        AssertUnwindSafe(call).catch_unwind(),
    );
    let result = match limit {
        Some(limit) => match tokio::time::timeout(limit, guarded).instrument(span).await {
            Ok(result) => result,
            Err(_) => return Err(FailureCause::TimedOut(limit)),
        },
        None => guarded.instrument(span).await,
    };
    match result {
        Ok(Ok(())) => {
            if hook == Hook::Install {
                entry.set_installed_config(config);
            }
            let (old, new) = entry.state().succeed(hook);
            ctx.inner().announce(entry, old, new);
            Ok(())
        }
        Ok(Err(error)) => Err(FailureCause::Error(SharedError::from(error))),
        Err(panic) => Err(FailureCause::from_panic(panic)),
    }
}
