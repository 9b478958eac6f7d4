//! `run --watch`: hot reload of the module folders while the modules run, one line per
//! reload.

use symphra::signal::Signals;
use symphra_wasm::{ReloadOutcome, ReloadReport, Watcher};

/// The next reload of `watcher`; never, when there is no watcher (or it stopped).
pub(crate) async fn next(watcher: &mut Option<Watcher>) -> ReloadReport {
    if let Some(watching) = watcher {
        if let Some(report) = watching.next_report().await {
            return report;
        }
        *watcher = None;
    }
    std::future::pending().await
}

/// Ends the watch before the modules stop: a reload under way runs to its end (its hooks'
/// time limits bound the wait), unless a signal comes first and cuts it short. Prints a
/// line per reload that ended unread; returns whether everything runs as it should.
pub(crate) async fn stop(watcher: Watcher, shutdown: &mut Signals) -> bool {
    out!(
        "ending the watch: a reload under way finishes first; send a signal again to cut it short"
    );
    tokio::select! {
        ended = watcher.stop() => {
            let (reports, problem) = match ended {
                Ok(reports) => (reports, None),
                Err(failed) => {
                    let problem = failed.to_string();
                    (failed.reports, Some(problem))
                }
            };
            let mut ok = true;
            for report in &reports {
                let (line, fine) = describe(report);
                ok &= fine;
                out!("{line}");
            }
            if let Some(problem) = problem {
                out!("{problem}");
                return false;
            }
            ok
        }
        // Dropping the watcher's stop cancels the reload at its next await.
        signal = shutdown.next() => {
            out!("received {signal} again: a reload under way is cut short, and its module may be left down");
            false
        }
    }
}

/// One line on `report`, and whether everything runs as it should afterwards.
pub(crate) fn describe(report: &ReloadReport) -> (String, bool) {
    let module = &report.module;
    let others: Vec<&str> = report
        .stopped
        .iter()
        .map(String::as_str)
        .filter(|name| name != module)
        .collect();
    let restarted = if others.is_empty() {
        String::new()
    } else {
        format!(" (restarted: {})", others.join(", "))
    };
    match &report.outcome {
        ReloadOutcome::Reloaded { from, to } => (
            format!("reloaded {module}: {from} -> {to}{restarted}"),
            true,
        ),
        ReloadOutcome::Rejected(error) => (
            format!("reload of {module} rejected, the old code still runs: {error}"),
            true,
        ),
        ReloadOutcome::RolledBack {
            error,
            restored,
            rollback_errors,
        } => {
            let state = if *restored {
                "the old code runs again"
            } else {
                "and the old code could not be restarted"
            };
            let problems = if rollback_errors.is_empty() {
                String::new()
            } else {
                format!(" (rollback: {})", rollback_errors.join("; "))
            };
            (
                format!("reload of {module} failed ({error}); {state}{problems}"),
                *restored,
            )
        }
    }
}
