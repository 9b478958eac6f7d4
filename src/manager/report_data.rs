//! Reports as data: what [`Report`] and [`RunOutcome`] serialize to, and the one INFO line
//! each operation logs.
//!
//! A report holds live values (the error a hook returned, shared names), so it serializes
//! through a plain mirror, [`ReportData`], which also deserializes: a program that reads
//! reports back (from JSON logs, say) gets the same data it would have read from the
//! report itself.

use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::manager::report::{ModuleReport, Outcome, Report, SkipReason};
use crate::manager::run::{RunEnd, RunOutcome};

/// A [`Report`] as plain data: what `serde` writes for a report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportData {
    /// `"start"` or `"stop"`.
    pub operation: String,
    /// Whether every module ended where the operation meant it to.
    pub success: bool,
    /// Time from the start of the operation to its end, in microseconds.
    pub elapsed_us: u64,
    /// Events the bus could not deliver during a stop (see [`Report::lost_events`]).
    pub lost_events: u64,
    /// One entry per module, in the report's order.
    pub modules: Vec<ModuleData>,
    /// The fail-fast rollback, if one ran.
    pub rollback: Option<Box<ReportData>>,
}

/// One module's part in a [`ReportData`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleData {
    /// The module's name.
    pub name: String,
    /// What happened to it.
    pub outcome: OutcomeData,
    /// The hooks that ran.
    pub hooks: Vec<HookTimingData>,
}

/// When a hook ran, relative to the start of the operation, and for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HookTimingData {
    /// The hook's name (`"start"`).
    pub hook: String,
    /// When it began, in microseconds from the start of the operation.
    pub began_us: u64,
    /// How long it ran, in microseconds.
    pub duration_us: u64,
}

/// An [`Outcome`] as data, tagged by `outcome`: `{"outcome": "failed", "hook": "start",
/// "cause": "…"}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutcomeData {
    /// Started (or stopped) by the operation.
    Done,
    /// Already where the operation would take it.
    Unchanged,
    /// A stop found it not running.
    NotRunning,
    /// A hook failed.
    Failed {
        /// The hook that failed.
        hook: String,
        /// Why, in words.
        cause: String,
    },
    /// Left alone.
    Skipped {
        /// Why, as a kind: `dependency_failed`, `aborted`, `cancelled`, `disabled`,
        /// `ignored`, `held_stopped`, `no_lease` or `illegal`.
        reason: String,
        /// The module whose failure caused it (for `dependency_failed` and `aborted`).
        because_of: Option<String>,
        /// Why, in words.
        message: String,
    },
}

/// What [`RunOutcome`] serializes to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOutcomeData {
    /// Why the run ended, in words.
    pub ended: String,
    /// The exit code the outcome calls for.
    pub exit_code: u8,
    /// Whether everything started, ran and stopped as it should.
    pub success: bool,
    /// The start's report.
    pub start: Option<ReportData>,
    /// The stop's report.
    pub stop: Option<ReportData>,
    /// An error that came without a report, in words.
    pub error: Option<String>,
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

impl From<&Report> for ReportData {
    fn from(report: &Report) -> Self {
        Self {
            operation: report.operation().as_str().to_owned(),
            success: report.is_success(),
            elapsed_us: micros(report.elapsed()),
            lost_events: report.lost_events(),
            modules: report.modules().iter().map(ModuleData::from).collect(),
            rollback: report.rollback().map(|r| Box::new(ReportData::from(r))),
        }
    }
}

impl From<&ModuleReport> for ModuleData {
    fn from(module: &ModuleReport) -> Self {
        Self {
            name: module.name().to_owned(),
            outcome: OutcomeData::from(module.outcome()),
            hooks: module
                .hooks()
                .into_iter()
                .map(|timing| HookTimingData {
                    hook: timing.hook.as_str().to_owned(),
                    began_us: micros(timing.began),
                    duration_us: micros(timing.duration),
                })
                .collect(),
        }
    }
}

impl From<&Outcome> for OutcomeData {
    fn from(outcome: &Outcome) -> Self {
        match outcome {
            Outcome::Done => OutcomeData::Done,
            Outcome::Unchanged => OutcomeData::Unchanged,
            Outcome::NotRunning => OutcomeData::NotRunning,
            Outcome::Failed(failure) => OutcomeData::Failed {
                hook: failure.hook().as_str().to_owned(),
                cause: failure.cause().to_string(),
            },
            Outcome::Skipped(reason) => OutcomeData::Skipped {
                reason: skip_kind(reason).to_owned(),
                because_of: match reason {
                    SkipReason::DependencyFailed { failed } | SkipReason::Aborted { failed } => {
                        Some(failed.to_string())
                    }
                    _ => None,
                },
                message: reason.to_string(),
            },
        }
    }
}

fn skip_kind(reason: &SkipReason) -> &'static str {
    match reason {
        SkipReason::DependencyFailed { .. } => "dependency_failed",
        SkipReason::Aborted { .. } => "aborted",
        SkipReason::Cancelled => "cancelled",
        SkipReason::Disabled => "disabled",
        SkipReason::Ignored => "ignored",
        SkipReason::HeldStopped => "held_stopped",
        SkipReason::NoLease => "no_lease",
        SkipReason::Illegal { .. } => "illegal",
    }
}

impl From<&RunOutcome> for RunOutcomeData {
    fn from(outcome: &RunOutcome) -> Self {
        let ended = match &outcome.ended {
            RunEnd::Signal(signal) => format!("signal {signal:?}"),
            RunEnd::Escalation { module: Some(name) } => format!("escalation by {name:?}"),
            RunEnd::Escalation { module: None } => "escalation".to_owned(),
            RunEnd::StartFailed => "start failed".to_owned(),
            RunEnd::Forced { signal, .. } => format!("forced by a second {signal:?}"),
        };
        Self {
            ended,
            exit_code: outcome.exit_code(),
            success: outcome.is_success(),
            start: outcome.start.as_ref().map(ReportData::from),
            stop: outcome.stop.as_ref().map(ReportData::from),
            error: outcome.error.as_ref().map(ToString::to_string),
        }
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ReportData::from(self).serialize(serializer)
    }
}

impl Serialize for RunOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RunOutcomeData::from(self).serialize(serializer)
    }
}

impl Report {
    /// The report as plain data (what it serializes to).
    pub fn to_data(&self) -> ReportData {
        ReportData::from(self)
    }

    /// Logs the one INFO line that sums up the operation (WARN when it did not succeed):
    /// counts per outcome, time, and the modules with problems, as fields for JSON logs.
    pub(crate) fn log_summary(&self) {
        let (ok, failed, skipped) = self.counts();
        let operation = self.operation().as_str();
        let elapsed_us = micros(self.elapsed());
        let modules = self.modules().len();
        if self.is_success() {
            tracing::info!(
                operation,
                modules,
                ok,
                failed,
                skipped,
                not_running = self.not_running(),
                lost_events = self.lost_events(),
                elapsed_us,
                "{operation}: {ok} of {modules} modules ok in {:?}",
                self.elapsed()
            );
        } else {
            let problems: Vec<&str> = self.problems().map(ModuleReport::name).collect();
            tracing::warn!(
                operation,
                modules,
                ok,
                failed,
                skipped,
                not_running = self.not_running(),
                lost_events = self.lost_events(),
                elapsed_us,
                problems = ?problems,
                "{operation}: {failed} failed, {skipped} skipped of {modules} modules in {:?}",
                self.elapsed()
            );
        }
    }
}
