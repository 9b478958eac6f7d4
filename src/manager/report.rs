//! What an operation over many modules did to each of them.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::lifecycle::{Hook, HookFailure, Operation};
use crate::manager::timings::Timings;

/// The result of starting or stopping a set of modules: one entry per module, in start
/// order (stop reports: stop order), with its outcome and hook timings.
#[derive(Clone, Debug)]
pub struct Report {
    pub(crate) operation: Operation,
    pub(crate) modules: Vec<ModuleReport>,
    pub(crate) elapsed: Duration,
    pub(crate) rollback: Option<Box<Report>>,
    /// For a stop: the events the bus could not deliver while it ran (see
    /// [`Report::lost_events`]); 0 for a start.
    pub(crate) lost_events: u64,
    /// Polls of the operation's hooks longer than the blocking threshold.
    pub(crate) blocked_polls: u64,
    /// The start wave of every module of the resolution the report was made on, by module
    /// index (as `ModuleReport::index`). Shared with the resolution: one reference count
    /// per report, and [`Report::waves`] groups the modules only when asked.
    pub(crate) start_waves: Arc<[u32]>,
}

impl Report {
    /// Whether it was a start or a stop.
    pub fn operation(&self) -> Operation {
        self.operation
    }

    /// Every module the operation concerned.
    pub fn modules(&self) -> &[ModuleReport] {
        &self.modules
    }

    /// The entry of one module, by name.
    pub fn module(&self, name: &str) -> Option<&ModuleReport> {
        self.modules.iter().find(|m| m.name() == name)
    }

    /// Time from the start of the operation to its end.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// Whether every module ended where the operation meant it to.
    pub fn is_success(&self) -> bool {
        self.modules.iter().all(|m| m.outcome.is_success())
    }

    /// The modules that did not end where the operation meant them to.
    pub fn problems(&self) -> impl Iterator<Item = &ModuleReport> {
        self.modules.iter().filter(|m| !m.outcome.is_success())
    }

    /// The failure of the first module of the report whose hook failed, in report order.
    fn first_failure(&self) -> Option<&HookFailure> {
        self.modules.iter().find_map(|m| match &m.outcome {
            Outcome::Failed(failure) => Some(failure),
            _ => None,
        })
    }

    /// With fail-fast on, the stop of the modules this start had started, in reverse order.
    pub fn rollback(&self) -> Option<&Report> {
        self.rollback.as_deref()
    }

    /// Counts of modules per outcome: (done or unchanged, failed, skipped).
    ///
    /// Modules a stop found not running are in none of the three: a stop did nothing to
    /// them, so they are not "ok"; see [`not_running`](Self::not_running).
    pub fn counts(&self) -> (usize, usize, usize) {
        self.modules
            .iter()
            .fold((0, 0, 0), |(ok, failed, skipped), m| match m.outcome {
                Outcome::Done | Outcome::Unchanged => (ok + 1, failed, skipped),
                Outcome::Failed(_) => (ok, failed + 1, skipped),
                Outcome::Skipped(_) => (ok, failed, skipped + 1),
                Outcome::NotRunning => (ok, failed, skipped),
            })
    }

    /// How many modules a stop found not running ([`Outcome::NotRunning`]); always 0 for
    /// a start.
    pub fn not_running(&self) -> usize {
        self.modules
            .iter()
            .filter(|m| matches!(m.outcome, Outcome::NotRunning))
            .count()
    }

    /// How many events the bus could not deliver while this stop ran: events published
    /// during the stop that reached no subscriber (their subscribers had stopped, or there
    /// never were any), plus events still in a stopping module's queues when the drain
    /// before its `stop` hook reached the hook's time limit or the stop's deadline. Always 0
    /// for a start (its rollback, a stop, has its own count).
    ///
    /// Counted from the whole bus: events published by anyone during the stop, to topics no
    /// module listens to, count too.
    pub fn lost_events(&self) -> u64 {
        self.lost_events
    }

    /// How many polls of this operation's hooks took longer than the manager's
    /// [blocking threshold](crate::ModuleManagerBuilder::blocking_threshold): each blocked
    /// the async runtime's thread (a `std::thread::sleep`, blocking I/O, heavy work in an
    /// async hook). Each is also logged at WARN with the module, the hook and the duration.
    pub fn blocked_polls(&self) -> u64 {
        self.blocked_polls
    }

    /// The modules of this report grouped in waves, in the order the operation went
    /// through them: for a start, the resolution's start waves (wave 0 has no
    /// dependencies); for a stop, the same waves in reverse (dependents first). Only the
    /// modules the report covers are listed, and waves left empty by that are left out.
    /// Within a wave, registration order.
    ///
    /// The scheduler does not go wave by wave (a module starts or stops as soon as the
    /// modules it waits for are done); waves say which modules could go together.
    pub fn waves(&self) -> Vec<Vec<&str>> {
        // Grouped now rather than as the report is built: large reports are built on the
        // hot path of every start and stop, and their waves are rarely asked for.
        let mut members: Vec<(u32, u32, usize)> = self
            .modules
            .iter()
            .enumerate()
            .map(|(position, m)| {
                // Every index is in the resolution the waves come from; a missing one
                // would only misplace a name in this view, so it is not worth a panic.
                let wave = self.start_waves.get(m.index as usize).copied().unwrap_or(0);
                (wave, m.index, position)
            })
            .collect();
        members.sort_unstable();
        let mut waves: Vec<Vec<&str>> = Vec::new();
        let mut current = None;
        for (wave, _, position) in members {
            let name = self.modules[position].name();
            match waves.last_mut() {
                Some(last) if current == Some(wave) => last.push(name),
                _ => waves.push(vec![name]),
            }
            current = Some(wave);
        }
        if self.operation == Operation::Stop {
            waves.reverse();
        }
        waves
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (ok, failed, skipped) = self.counts();
        write!(
            f,
            "{}: {ok} ok, {failed} failed, {skipped} skipped",
            self.operation
        )?;
        if self.operation == Operation::Stop {
            write!(f, ", {} not running", self.not_running())?;
        }
        write!(f, " in {:?}", self.elapsed)?;
        // Only when something was lost: the usual report reads as it always did.
        if self.lost_events > 0 {
            write!(f, "\n  lost: {} events nobody consumed", self.lost_events)?;
        }
        if self.blocked_polls > 0 {
            write!(
                f,
                "\n  blocked: {} polls longer than the blocking threshold",
                self.blocked_polls
            )?;
        }
        if !self.modules.is_empty() {
            f.write_str("\n  waves:")?;
            for wave in self.waves() {
                write!(f, " [{}]", wave.join(", "))?;
            }
        }
        for module in &self.modules {
            write!(f, "\n  {module}")?;
        }
        Ok(())
    }
}

/// One module's part in a [`Report`].
#[derive(Clone)]
pub struct ModuleReport {
    /// Every module's name, shared by all entries of a report: one reference count on a
    /// shared line per entry, rather than one on each module's own name.
    pub(crate) names: Arc<[Arc<str>]>,
    /// This module's index in `names`.
    pub(crate) index: u32,
    pub(crate) outcome: Outcome,
    pub(crate) hooks: Timings,
}

impl ModuleReport {
    /// The module's name.
    pub fn name(&self) -> &str {
        self.names.get(self.index as usize).map_or("", |name| name)
    }

    /// What happened to it.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Each hook that ran, with when it started and how long it took.
    pub fn hooks(&self) -> Vec<HookTiming> {
        self.hooks
            .list()
            .into_iter()
            .map(|(hook, began, duration)| HookTiming {
                hook,
                began,
                duration,
            })
            .collect()
    }

    /// Total time spent in this module's hooks.
    pub fn busy(&self) -> Duration {
        self.hooks.busy()
    }
}

impl fmt::Debug for ModuleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleReport")
            .field("name", &self.name())
            .field("outcome", &self.outcome)
            .field("hooks", &self.hooks)
            .finish()
    }
}

impl fmt::Display for ModuleReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<24} {}", self.name(), self.outcome)?;
        if !self.hooks.is_empty() {
            write!(f, " ({:?})", self.busy())?;
        }
        Ok(())
    }
}

/// When a hook ran, relative to the start of the operation, and for how long.
///
/// Measured with the processor's timestamp counter (real time, cheap to read), or, when the
/// operation ran under tokio's paused test clock, in test time: then a hook that slept
/// 10 ms of test time shows 10 ms, and one that never waited shows none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HookTiming {
    /// The hook.
    pub hook: Hook,
    /// When it began, counted from the start of the operation.
    pub began: Duration,
    /// How long it ran (until it returned, failed, or was abandoned).
    pub duration: Duration,
}

/// What an operation did to one module.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Outcome {
    /// The module was started (or stopped) by this operation.
    Done,
    /// The module already was where the operation would take it. Only a start reports
    /// this (the module was already started); a stop reports [`Outcome::NotRunning`].
    Unchanged,
    /// A stop found the module not running (never started, already stopped, or failed),
    /// so there was nothing to stop.
    NotRunning,
    /// A hook failed; the module is `Failed`.
    Failed(HookFailure),
    /// The module was left alone.
    Skipped(SkipReason),
}

impl Outcome {
    /// Whether the module ended where the operation meant it to.
    pub fn is_success(&self) -> bool {
        matches!(
            self,
            Outcome::Done
                | Outcome::Unchanged
                | Outcome::NotRunning
                | Outcome::Skipped(
                    SkipReason::Disabled
                        | SkipReason::Ignored
                        | SkipReason::HeldStopped
                        | SkipReason::NoLease
                )
        )
    }

    /// The outcome of a module that `operation` found already where it would take it: a
    /// stop that finds a module not running did nothing to it, which is not "ok".
    pub(crate) fn unchanged(operation: Operation) -> Self {
        match operation {
            Operation::Stop => Outcome::NotRunning,
            _ => Outcome::Unchanged,
        }
    }

    /// Whether the module is where a start leaves it running (done or already started).
    pub(crate) fn is_running(&self) -> bool {
        matches!(self, Outcome::Done | Outcome::Unchanged)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Done => f.write_str("done"),
            Outcome::Unchanged => f.write_str("unchanged"),
            Outcome::NotRunning => f.write_str("not running"),
            Outcome::Failed(failure) => {
                write!(f, "FAILED in {}: {}", failure.hook(), failure.cause())
            }
            Outcome::Skipped(reason) => write!(f, "skipped: {reason}"),
        }
    }
}

/// Why a module was left alone.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SkipReason {
    /// A required dependency did not start (it failed, or was itself skipped), directly
    /// or further down; `failed` names the module where it began.
    DependencyFailed {
        /// The module whose failure caused the skip.
        failed: Arc<str>,
    },
    /// Fail-fast stopped the operation after another module failed.
    Aborted {
        /// The module whose failure stopped the operation.
        failed: Arc<str>,
    },
    /// The operation was cancelled (a shutdown signal arrived during a start) before the
    /// module's turn came.
    Cancelled,
    /// An operator disabled the module.
    Disabled,
    /// An operator set the module to be ignored.
    Ignored,
    /// An operator stopped the module; it stays down until started by name.
    HeldStopped,
    /// A [singleton](crate::ModuleMetadata::singleton) under a coordinator, without a
    /// current lease: it runs on the replica that holds the lease. Modules that require it
    /// are skipped for the same reason: they run where it runs.
    NoLease,
    /// The module is in a state from which the operation cannot proceed.
    Illegal {
        /// Why.
        hint: &'static str,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::DependencyFailed { failed } => {
                write!(f, "its dependency {failed:?} did not start")
            }
            SkipReason::Disabled => f.write_str("disabled by an operator; enable it to start it"),
            SkipReason::Ignored => f.write_str("ignored by an operator; enable it to start it"),
            SkipReason::HeldStopped => {
                f.write_str("stopped by an operator; start it by name to bring it back")
            }
            SkipReason::Aborted { failed } => {
                write!(
                    f,
                    "the operation was aborted after {failed:?} failed (fail-fast)"
                )
            }
            SkipReason::NoLease => {
                f.write_str("a singleton (or requires one) whose lease another replica holds")
            }
            SkipReason::Illegal { hint } => f.write_str(hint),
            SkipReason::Cancelled => f.write_str("the start was cancelled by shutdown first"),
        }
    }
}

/// A start in which some modules did not start. Holds the whole report.
///
/// Its [`source`](StdError::source) is the first hook failure of the report, so that a
/// walk of the sources reaches the error a hook returned; the report has all of them.
#[derive(Clone, Debug)]
pub struct StartError {
    report: Report,
}

/// A stop in which some modules did not stop cleanly. Holds the whole report.
///
/// Its [`source`](StdError::source) is the first hook failure of the report, so that a
/// walk of the sources reaches the error a hook returned; the report has all of them.
#[derive(Clone, Debug)]
pub struct StopError {
    report: Report,
}

/// The accessors and error impls shared by [`StartError`] and [`StopError`].
macro_rules! report_error {
    ($error:ident, $verb:literal) => {
        impl fmt::Display for $error {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&summary(&self.report, $verb))
            }
        }

        impl StdError for $error {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                self.report.first_failure().map(|failure| failure as _)
            }
        }

        impl $error {
            pub(crate) fn new(report: Report) -> Self {
                Self { report }
            }

            /// The full report.
            pub fn report(&self) -> &Report {
                &self.report
            }

            /// Takes the full report.
            pub fn into_report(self) -> Report {
                self.report
            }
        }
    };
}

report_error!(StartError, "start");
report_error!(StopError, "stop");

fn summary(report: &Report, verb: &str) -> String {
    let problems: Vec<String> = report
        .problems()
        .map(|m| format!("{:?} {}", m.name(), m.outcome()))
        .collect();
    format!(
        "{} of {} modules did not {verb}: {}",
        problems.len(),
        report.modules.len(),
        problems.join("; ")
    )
}
