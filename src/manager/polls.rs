//! Blocking detection: each poll of a hook and of an owned task is timed, and one longer
//! than the manager's threshold is logged and counted.
//!
//! A hook that completes at its first poll (most do) is timed with the readings the runner
//! takes anyway (the end of one hook is the beginning of the next), so that timing costs
//! it a comparison. Only hooks that wait, and owned tasks, go through [`TimedPolls`],
//! which reads the clock around each poll.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;

use crate::context::Context;
use crate::lifecycle::Hook;
use crate::manager::clock::{Clock, Tick};

/// What was polled.
#[derive(Clone, Debug)]
pub(crate) enum Polled {
    /// A hook, in a lifecycle operation.
    Hook(Hook),
    /// An owned task, by name.
    Task(Arc<str>),
}

/// A poll of `what`, a hook or a task of the module of `ctx`, took `took`: logged and
/// counted for the module, the manager and (for a hook) the operation.
#[cold]
#[inline(never)]
pub(crate) fn blocked(ctx: &Context, what: &Polled, took: Duration) {
    let entry = ctx.entry();
    let inner = ctx.inner();
    entry.signals.count_blocked_poll();
    inner.blocked_polls.fetch_add(1, Ordering::Relaxed);
    let threshold = inner.options.blocking_threshold;
    let took_ms = took.as_secs_f64() * 1e3;
    match what {
        Polled::Hook(hook) => {
            ctx.operation()
                .blocked_polls
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(module = %entry.name, hook = hook.as_str(), took_ms, ?threshold, "a poll of the hook blocked the async runtime: use async I/O, or a SyncModule or spawn_blocking for blocking work");
        }
        Polled::Task(task) => {
            tracing::warn!(module = %entry.name, task = %task, took_ms, ?threshold, "a poll of the task blocked the async runtime: use async I/O, or spawn_blocking for blocking work");
        }
    }
}

/// A poll of `hook` of the module of `ctx` took from reading `from` to reading `to` of
/// the operation's clock, longer than the threshold.
#[cold]
#[inline(never)]
pub(crate) fn blocked_hook(ctx: &Context, hook: Hook, from: Tick, to: Tick) {
    let took = ctx.operation().clock.clock().between(from, to);
    blocked(ctx, &Polled::Hook(hook), took);
}

pin_project! {
    /// A future whose every poll is timed; a poll longer than the threshold is
    /// [`blocked`].
    pub(crate) struct TimedPolls<F> {
        #[pin]
        future: F,
        ctx: Context,
        what: Polled,
        clock: Clock,
        threshold: Tick,
    }
}

impl<F> TimedPolls<F> {
    /// Times the polls of `future`, `what` of the module of `ctx`, with `clock`.
    pub(crate) fn new(future: F, ctx: Context, what: Polled, clock: Clock) -> Self {
        let threshold = clock.ticks(ctx.inner().options.blocking_threshold);
        Self {
            future,
            ctx,
            what,
            clock,
            threshold,
        }
    }
}

impl<F: Future> Future for TimedPolls<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<F::Output> {
        let this = self.project();
        let began = this.clock.now();
        let polled = this.future.poll(cx);
        let ended = this.clock.now();
        if ended.saturating_sub(began) > *this.threshold {
            blocked(this.ctx, this.what, this.clock.between(began, ended));
        }
        polled
    }
}
