//! What `run` shows while modules start and stop: a live display of each module's state
//! on a terminal, one plain line per state change otherwise. Both are driven by the
//! manager's `module.state_changed` events.

use std::collections::HashMap;
use std::io::{IsTerminal as _, Write as _};
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use symphra::ModuleManager;
use symphra::bus::{Event, Subscription};
use symphra::lifecycle::ModuleState;
use symphra::manager::{ModuleEvent, Outcome, Report, STATE_CHANGED};

use crate::CliError;

/// Above this many modules, one line per module would not fit a terminal: the live display
/// shows a single bar counting them instead.
const MAX_MODULE_LINES: usize = 30;

/// How often a busy module's spinner turns.
const TICK: Duration = Duration::from_millis(100);

/// How `run` shows progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Live on a terminal (stdout and stderr both), plain lines otherwise.
    Auto,
    /// Always the live display (on stderr).
    Live,
    /// Always plain lines (on stdout).
    Plain,
}

impl ProgressMode {
    /// Whether this mode draws the live display here and now.
    pub fn is_live(self) -> bool {
        match self {
            ProgressMode::Auto => {
                std::io::stdout().is_terminal() && std::io::stderr().is_terminal()
            }
            ProgressMode::Live => true,
            ProgressMode::Plain => false,
        }
    }
}

/// One phase (start or stop) of progress, listening to the bus while it lives.
pub(crate) struct Progress {
    view: Arc<View>,
    _subscription: Subscription,
}

enum View {
    /// `api: starting -> started` on stdout.
    Plain,
    Live(Box<Live>),
}

/// The live display of one phase.
struct Live {
    _multi: MultiProgress,
    /// One line per module, or none when there are too many modules.
    lines: HashMap<String, ProgressBar>,
    /// The count of modules done, when there is no line per module.
    total: Option<ProgressBar>,
    styles: Styles,
}

impl Progress {
    /// Shows the `phase` ("start" or "stop") of `manager`'s modules, listed in `names`, until
    /// [`Progress::finish`].
    pub(crate) fn begin(
        manager: &ModuleManager,
        names: &[String],
        live: bool,
        phase: &str,
    ) -> Result<Self, CliError> {
        let view = Arc::new(if live {
            View::Live(Box::new(Live::new(names, phase)))
        } else {
            View::Plain
        });
        let listener = Arc::clone(&view);
        let subscription = manager
            .bus()
            .subscribe(STATE_CHANGED, move |event: &Event| {
                if let Some(change) = event.payload::<ModuleEvent>() {
                    listener.changed(change);
                }
            })
            .map_err(|error| CliError::Bus(error.to_string()))?;
        Ok(Self {
            view,
            _subscription: subscription,
        })
    }

    /// Ends the phase: every module still shown as busy or waiting gets its outcome from
    /// `report`.
    pub(crate) fn finish(self, report: &Report) {
        if let View::Live(live) = &*self.view {
            live.finish(report);
            // The display leaves the cursor after its last line: at the end of a short one,
            // or waiting to wrap after a full one. A carriage return then a line feed puts
            // it at the start of the next line in both cases, where the report goes.
            let _ = std::io::stderr().write_all(b"\r\n");
        }
    }
}

impl View {
    fn changed(&self, change: &ModuleEvent) {
        match self {
            View::Plain => out!("{}: {} -> {}", change.module, change.from, change.to),
            View::Live(live) => live.changed(change),
        }
    }
}

/// The looks of a module's line in each kind of state.
struct Styles {
    waiting: ProgressStyle,
    busy: ProgressStyle,
    done: ProgressStyle,
    failed: ProgressStyle,
    skipped: ProgressStyle,
}

impl Styles {
    fn new() -> Self {
        Self {
            // wide_msg: a message longer than the terminal is cut, not wrapped (a wrapped
            // line would throw the redraw off by a line).
            waiting: style("  {prefix} {wide_msg:.dim}"),
            busy: style("{spinner:.cyan} {prefix} {wide_msg:.cyan}"),
            done: style("\u{2714} {prefix} {wide_msg:.green}"),
            failed: style("\u{2718} {prefix} {wide_msg:.red.bold}"),
            skipped: style("- {prefix} {wide_msg:.yellow}"),
        }
    }
}

/// `failed in HOOK: WHY`, without the "module `NAME` failed in `HOOK`: " the cause may
/// already begin with.
fn failed(module: &str, hook: &str, why: &str) -> String {
    let prefix = format!("module `{module}` failed in `{hook}`: ");
    let why = why.strip_prefix(&prefix).unwrap_or(why);
    format!("failed in {hook}: {why}")
}

/// A style from a template of this file; a template indicatif refused falls back to its
/// default spinner rather than failing the run.
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|error| {
        tracing::warn!(%error, template, "progress template refused");
        ProgressStyle::default_spinner()
    })
}

impl Drop for Live {
    fn drop(&mut self) {
        crate::log_writer::release();
    }
}

impl Live {
    fn new(names: &[String], phase: &str) -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let styles = Styles::new();
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let mut lines = HashMap::new();
        let mut total = None;
        if names.len() <= MAX_MODULE_LINES {
            for name in names {
                let line = multi.add(ProgressBar::new_spinner());
                line.set_style(styles.waiting.clone());
                line.set_prefix(format!("{name:<width$}"));
                line.set_message(format!("waiting to {phase}"));
                lines.insert(name.clone(), line);
            }
        } else {
            let bar = multi.add(ProgressBar::new(names.len() as u64));
            bar.set_style(style(
                "{spinner:.cyan} {prefix} [{bar:30.cyan/blue}] {pos}/{len} {wide_msg}",
            ));
            bar.set_prefix(phase.to_owned());
            bar.enable_steady_tick(TICK);
            total = Some(bar);
        }
        crate::log_writer::hold(&multi);
        Self {
            _multi: multi,
            lines,
            total,
            styles,
        }
    }

    fn changed(&self, change: &ModuleEvent) {
        let settled = matches!(
            change.to,
            ModuleState::Started | ModuleState::Stopped | ModuleState::Failed
        );
        if let Some(total) = &self.total {
            // Thousands of changes a second: the bar counts them (an atomic add) and redraws
            // at its own rate; only a failure, which is rare and must be seen, is formatted.
            if change.to == ModuleState::Failed {
                let why = change.error.as_deref().unwrap_or("unknown error");
                total.set_message(failed(&change.module, &change.hook.to_string(), why));
            }
            if settled {
                total.inc(1);
            }
            return;
        }
        let Some(line) = self.lines.get(&*change.module) else {
            return;
        };
        match change.to {
            ModuleState::Failed => {
                line.set_style(self.styles.failed.clone());
                let why = change.error.as_deref().unwrap_or("unknown error");
                line.finish_with_message(failed(&change.module, &change.hook.to_string(), why));
            }
            // A failed teardown hook moves on as if it had completed: keep the failure shown.
            ModuleState::Started | ModuleState::Stopped if line.is_finished() => {}
            ModuleState::Started | ModuleState::Stopped => {
                line.set_style(self.styles.done.clone());
                line.finish_with_message(change.to.to_string());
            }
            to => {
                if line.is_finished() {
                    return;
                }
                line.set_style(self.styles.busy.clone());
                line.set_message(to.to_string());
                line.enable_steady_tick(TICK);
            }
        }
    }

    fn finish(&self, report: &Report) {
        if let Some(total) = &self.total {
            let (ok, failed, skipped) = report.counts();
            total.finish_with_message(format!("{ok} ok, {failed} failed, {skipped} skipped"));
            return;
        }
        // Lines still open belong to modules no event settled: skipped, or unchanged.
        for module in report.modules() {
            let Some(line) = self.lines.get(module.name()) else {
                continue;
            };
            if line.is_finished() {
                continue;
            }
            let (style, message) = match module.outcome() {
                Outcome::Failed(failure) => (
                    &self.styles.failed,
                    failed(
                        module.name(),
                        &failure.hook().to_string(),
                        &failure.cause().to_string(),
                    ),
                ),
                Outcome::Skipped(reason) => (&self.styles.skipped, format!("skipped: {reason}")),
                // Nothing to do: a stop finds a module that never started.
                Outcome::NotRunning => (&self.styles.skipped, "not running".to_owned()),
                outcome => (&self.styles.done, outcome.to_string()),
            };
            line.set_style(style.clone());
            line.finish_with_message(message);
        }
        // A module the report does not name was left as it was.
        for line in self.lines.values() {
            if !line.is_finished() {
                line.set_style(self.styles.skipped.clone());
                line.finish_with_message("left alone");
            }
        }
    }
}
