//! Starting and stopping many modules along the dependency graph.
//!
//! A module is launched the moment everything it waits for is done — its dependencies for
//! a start, its dependents for a stop — not wave by wave, with at most `limit` modules
//! running hooks at once. Among ready modules a start prefers the one with the longest
//! chain of dependents above it (it unblocks the most work); a stop goes in reverse start
//! order.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::pin::pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::context::Context;
use crate::lifecycle::{Operation, Plan};
use crate::manager::Inner;
use crate::manager::graph::Graph;
use crate::manager::losses::Losses;
use crate::manager::operation::{JobStarts, OperationClock, OperationScope};
use crate::manager::report::{ModuleReport, Outcome, Report, SkipReason};
use crate::manager::runner::{Job, Run};
use crate::manager::timings::Timings;
use crate::prefetch::prefetch;
use crate::resolver::Resolution;
use crate::util::poll_once;

/// One run of the scheduler over a set of modules.
pub(crate) struct Schedule<'g> {
    pub(crate) inner: &'g Arc<Inner>,
    pub(crate) graph: &'g Arc<Graph>,
    /// The modules concerned; `None` for all. For a start the set must hold every
    /// dependency of its members, for a stop every dependent.
    pub(crate) targets: Option<&'g [bool]>,
    pub(crate) limit: usize,
    /// Cancels a start (see [`OperationScope::cancel`]); a fail-fast rollback after it is
    /// not cancelled.
    pub(crate) cancel: Option<&'g CancellationToken>,
}

impl Schedule<'_> {
    /// Starts the targets, dependencies first.
    pub(crate) async fn start(self, fail_fast: bool) -> Report {
        let report = self.run(Operation::Start, fail_fast, None).await;
        if !fail_fast || report.is_success() {
            return report;
        }
        // Fail-fast: stop, in reverse order, what this start brought up.
        let mut started = vec![false; self.graph.entries.len()];
        for module in report
            .modules
            .iter()
            .filter(|m| matches!(m.outcome, Outcome::Done))
        {
            started[module.index as usize] = true;
        }
        let deadline =
            crate::util::deadline_after(Instant::now(), self.inner.options.shutdown_timeout);
        let rollback = Schedule {
            targets: Some(&started),
            cancel: None,
            ..self
        }
        .run(Operation::Stop, false, Some(deadline))
        .await;
        Report {
            rollback: Some(Box::new(rollback)),
            ..report
        }
    }

    /// Stops the targets, dependents first, no hook running past `deadline`.
    pub(crate) async fn stop(self, deadline: Instant) -> Report {
        self.run(Operation::Stop, false, Some(deadline)).await
    }

    async fn run(
        &self,
        operation: Operation,
        fail_fast: bool,
        deadline: Option<Instant>,
    ) -> Report {
        let clock = OperationClock::begin(
            self.inner.clock_paused(),
            deadline,
            self.inner.options.blocking_threshold,
        );
        // Priorities matter only when modules wait for a slot.
        let prioritize = self.limit < self.graph.entries.len();
        let mut walk = Walk::new(
            &self.graph.resolution,
            self.targets,
            operation,
            prioritize,
            clock.timings(clock.origin()),
        );
        let scope = Arc::new(OperationScope {
            inner: Arc::clone(self.inner),
            graph: Arc::clone(self.graph),
            clock,
            losses: Losses::begin(&self.inner.bus),
            cancel: self.cancel.cloned(),
            blocked_polls: Default::default(),
        });
        // Contexts of finished jobs, for the next ones.
        let mut contexts: Vec<Context> = Vec::new();
        let mut running = FuturesUnordered::new();
        let mut aborted_by: Option<Arc<str>> = None;
        let mut starts = JobStarts::new(&clock);
        let mut launched: usize = 0;

        loop {
            while running.len() < self.limit && aborted_by.is_none() {
                // Once cancelled, nothing more is launched. One load per module, and only
                // for operations that can be cancelled.
                if self.cancel.is_some_and(CancellationToken::is_cancelled) {
                    break;
                }
                let Some(i) = walk.next_ready() else { break };
                if let Some(next) = walk.peek_ready() {
                    prefetch(&*self.graph.entries[next]);
                    prefetch(walk.entry_ref(next));
                }
                // Hooks that complete inline never make this task wait; yield now and then
                // so that a start of many modules does not hold the thread. One unit of
                // tokio's budget per few modules: with 128 units a task yields every ~1,000
                // modules, a fraction of a millisecond.
                launched += 1;
                if launched.is_multiple_of(MODULES_PER_BUDGET_UNIT) {
                    let mut budget = pin!(tokio::task::consume_budget());
                    if poll_once(&mut budget).await.is_pending() {
                        budget.await;
                        starts.waited();
                    }
                }
                let entry = &self.graph.entries[i];
                if operation == Operation::Start
                    && let Some(reason) = entry.hold(self.targets.is_none())
                {
                    walk.finish(i, Outcome::Skipped(reason), self.graph);
                    continue;
                }
                let chain = match entry.plan(operation) {
                    Ok(Plan::Run(chain)) => chain,
                    Ok(Plan::Unchanged) => {
                        walk.finish(i, Outcome::unchanged(operation), self.graph);
                        continue;
                    }
                    Err(hint) => {
                        walk.finish(
                            i,
                            Outcome::Skipped(SkipReason::Illegal { hint }),
                            self.graph,
                        );
                        continue;
                    }
                };
                let ctx = match contexts.pop() {
                    Some(mut ctx) => {
                        ctx.reassign(i);
                        ctx
                    }
                    None => Context::new(Arc::clone(&scope), i),
                };
                let job = Job {
                    ctx,
                    chain,
                    began: starts.next(&clock),
                };
                let mut run = entry.object.drive(job);
                // Most hooks finish without waiting: complete those here, and give only the
                // others a slot among the running futures.
                match poll_once(&mut run).await {
                    Poll::Ready(run) => {
                        starts.ended(run.hooks.end());
                        contexts.push(self.complete(&mut walk, i, run, fail_fast, &mut aborted_by));
                    }
                    Poll::Pending => running.push(async move { (i, run.await) }),
                }
            }
            let Some((i, run)) = running.next().await else {
                break;
            };
            starts.waited();
            contexts.push(self.complete(&mut walk, i, run, fail_fast, &mut aborted_by));
        }
        let cancelled = self.cancel.is_some_and(CancellationToken::is_cancelled);
        let mut report = walk.into_report(clock.elapsed(), aborted_by, cancelled);
        if operation == Operation::Stop {
            report.lost_events = scope.losses.total(&self.inner.bus);
        }
        report.blocked_polls = scope
            .blocked_polls
            .load(std::sync::atomic::Ordering::Relaxed);
        // Handles say which modules this operation skipped, and why, until they run again.
        for module in &report.modules {
            self.graph.entries[module.index as usize].note_outcome(&module.outcome);
        }
        report.log_summary();
        report
    }
}

impl Schedule<'_> {
    /// Records what running module `i` did; gives back the job's context.
    fn complete(
        &self,
        walk: &mut Walk<'_>,
        i: usize,
        run: Run,
        fail_fast: bool,
        aborted_by: &mut Option<Arc<str>>,
    ) -> Context {
        let Run { hooks, result, ctx } = run;
        walk.record_timings(i, hooks);
        let outcome = match result {
            Ok(()) => Outcome::Done,
            Err(failure) => {
                if fail_fast && aborted_by.is_none() {
                    *aborted_by = Some(Arc::clone(&self.graph.entries[i].name));
                }
                Outcome::Failed(failure)
            }
        };
        walk.finish(i, outcome, self.graph);
        ctx
    }
}

/// How many modules the scheduler takes from the ready queue per unit of tokio's
/// cooperative budget.
const MODULES_PER_BUDGET_UNIT: usize = 8;

/// Modules whose turn has come.
enum Ready {
    /// With a concurrency limit: the most important first.
    ByPriority(BinaryHeap<(u32, Reverse<u32>, usize)>),
    /// Without one every ready module launches at once: first come, first served.
    Any(VecDeque<usize>),
}

/// `Walk::pending` of a module that has its outcome, or that the run does not concern.
const FINISHED: u32 = u32::MAX;

/// The bookkeeping of one scheduler run.
struct Walk<'g> {
    resolution: &'g Resolution,
    operation: Operation,
    /// Per module: how many of the modules it waits for are not finished yet, or
    /// [`FINISHED`].
    pending: Vec<u32>,
    /// Per module: its entry in `report` (start order; for a stop, reverse start order).
    /// Also its priority among ready modules: a lower slot goes first.
    slot: Vec<u32>,
    ready: Ready,
    /// One entry per module concerned, filled in as modules finish. Modules never reached
    /// keep the outcome they are created with.
    report: Vec<ModuleReport>,
    /// Scratch space for [`Walk::finish`], kept to avoid an allocation per module.
    finished: Vec<usize>,
}

impl<'g> Walk<'g> {
    fn new(
        resolution: &'g Resolution,
        targets: Option<&[bool]>,
        operation: Operation,
        prioritize: bool,
        unrun: Timings,
    ) -> Self {
        let n = resolution.len();
        let targeted = |i: usize| targets.is_none_or(|targets| targets[i]);
        let starting = operation == Operation::Start;
        let mut slot = vec![FINISHED; n];
        let mut report =
            Vec::with_capacity(targets.map_or(n, |t| t.iter().filter(|&&t| t).count()));
        let order = resolution.order_indices();
        let mut place = |i: usize| {
            if targeted(i) {
                slot[i] = report.len() as u32;
                report.push(ModuleReport {
                    names: Arc::clone(resolution.names()),
                    index: i as u32,
                    outcome: Outcome::Skipped(SkipReason::Illegal {
                        hint: "it was never reached",
                    }),
                    hooks: unrun,
                });
            }
        };
        if starting {
            order.iter().for_each(|&i| place(i));
        } else {
            order.iter().rev().for_each(|&i| place(i));
        }
        let mut walk = Self {
            resolution,
            operation,
            pending: vec![FINISHED; n],
            slot,
            ready: if prioritize {
                Ready::ByPriority(BinaryHeap::new())
            } else {
                Ready::Any(VecDeque::new())
            },
            report,
            finished: Vec::new(),
        };
        for i in 0..n {
            if !targeted(i) {
                continue;
            }
            let mut count = 0;
            walk.each_awaited(i, |j| count += u32::from(targeted(j)));
            walk.pending[i] = count;
            if count == 0 {
                walk.make_ready(i);
            }
        }
        walk
    }

    fn starting(&self) -> bool {
        self.operation == Operation::Start
    }

    /// Calls `f` with each module that `i` waits for.
    fn each_awaited(&self, i: usize, mut f: impl FnMut(usize)) {
        if self.starting() {
            self.resolution
                .dependencies_of(i)
                .iter()
                .for_each(|edge| f(edge.target));
        } else {
            self.resolution.dependents_of(i).iter().for_each(|&d| f(d));
        }
    }

    #[inline]
    fn make_ready(&mut self, i: usize) {
        let (resolution, starting, slot) = (self.resolution, self.starting(), &self.slot);
        match &mut self.ready {
            Ready::ByPriority(heap) => {
                let height = if starting { resolution.height_of(i) } else { 0 };
                heap.push((height, Reverse(slot[i]), i));
            }
            Ready::Any(queue) => queue.push_back(i),
        }
    }

    /// The module [`next_ready`](Self::next_ready) would give, left in place.
    #[inline]
    fn peek_ready(&self) -> Option<usize> {
        match &self.ready {
            Ready::ByPriority(heap) => heap.peek().map(|&(_, _, i)| i),
            Ready::Any(queue) => queue.front().copied(),
        }
    }

    #[inline]
    fn next_ready(&mut self) -> Option<usize> {
        match &mut self.ready {
            Ready::ByPriority(heap) => heap.pop().map(|(_, _, i)| i),
            Ready::Any(queue) => queue.pop_front(),
        }
    }

    /// The report entry of module `i`.
    #[inline]
    fn entry_ref(&self, i: usize) -> &ModuleReport {
        &self.report[self.slot[i] as usize]
    }

    #[inline]
    fn entry(&mut self, i: usize) -> &mut ModuleReport {
        &mut self.report[self.slot[i] as usize]
    }

    fn record_timings(&mut self, i: usize, hooks: Timings) {
        self.entry(i).hooks = hooks;
    }

    /// Records `outcome` for `i` and releases what waited for it. A failed start skips the
    /// dependents that required the module (and theirs, transitively), naming it as the
    /// cause; dependents that declared it optional are released as if it had started.
    fn finish(&mut self, i: usize, outcome: Outcome, graph: &Graph) {
        let blocking = self.starting() && !outcome.is_running();
        self.entry(i).outcome = outcome;
        self.pending[i] = FINISHED;
        if !blocking {
            self.release(i);
            return;
        }
        let root = &graph.entries[i].name;
        // A singleton without its lease runs elsewhere, and so do the modules that need it.
        let cascade = match self.entry_ref(i).outcome {
            Outcome::Skipped(SkipReason::NoLease) => SkipReason::NoLease,
            _ => SkipReason::DependencyFailed {
                failed: Arc::clone(root),
            },
        };
        let mut finished = std::mem::take(&mut self.finished);
        finished.push(i);
        while let Some(done) = finished.pop() {
            for &next in self.resolution.dependents_of(done) {
                if self.pending[next] == FINISHED {
                    continue;
                }
                let required = self
                    .resolution
                    .dependencies_of(next)
                    .iter()
                    .any(|edge| edge.target == done && !edge.optional);
                if required {
                    self.entry(next).outcome = Outcome::Skipped(cascade.clone());
                    self.pending[next] = FINISHED;
                    finished.push(next);
                } else {
                    self.count_down(next);
                }
            }
        }
        self.finished = finished;
    }

    /// Releases what waited for `done`, which finished as the operation meant.
    #[inline]
    fn release(&mut self, done: usize) {
        let resolution = self.resolution;
        if self.starting() {
            for &next in resolution.dependents_of(done) {
                self.count_down(next);
            }
        } else {
            for edge in resolution.dependencies_of(done) {
                self.count_down(edge.target);
            }
        }
    }

    /// One fewer module for `next` to wait for; it is ready when none is left.
    #[inline]
    fn count_down(&mut self, next: usize) {
        let pending = &mut self.pending[next];
        if *pending == FINISHED {
            return;
        }
        *pending -= 1;
        if *pending == 0 {
            self.make_ready(next);
        }
    }

    fn into_report(
        mut self,
        elapsed: Duration,
        aborted_by: Option<Arc<str>>,
        cancelled: bool,
    ) -> Report {
        if cancelled && aborted_by.is_none() {
            for i in 0..self.pending.len() {
                if self.pending[i] != FINISHED {
                    self.entry(i).outcome = Outcome::Skipped(SkipReason::Cancelled);
                }
            }
        }
        if let Some(failed) = aborted_by {
            for i in 0..self.pending.len() {
                if self.pending[i] != FINISHED {
                    self.entry(i).outcome = Outcome::Skipped(SkipReason::Aborted {
                        failed: Arc::clone(&failed),
                    });
                }
            }
        }
        Report {
            operation: self.operation,
            modules: self.report,
            elapsed,
            rollback: None,
            lost_events: 0,
            blocked_polls: 0,
            start_waves: Arc::clone(self.resolution.wave_numbers()),
        }
    }
}
