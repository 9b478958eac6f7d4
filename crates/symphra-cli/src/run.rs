//! `symphra run`: start everything, run until a shutdown signal, stop everything.

use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use symphra::ModuleState;
use symphra::manager::{ModuleManager, Report};
use symphra::signal::{Signal, Signals};
use symphra::state::RedbStore;
use symphra::util::parse_duration;
use symphra_wasm::{LoadOptions, Watcher};
use tokio_util::sync::CancellationToken;

use crate::CliError;
use crate::module_configs;
use crate::progress::{Progress, ProgressMode};
use crate::session;
use crate::watch;

/// The arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The modules directory.
    pub dir: PathBuf,
    /// At most this many hooks at once while starting (default: the manager's).
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<usize>,
    /// How long stopping everything may take (`500ms`, `30s`, `2m`, `1h`).
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub shutdown_timeout: Duration,
    /// The state store (redb file): availability, operator stops and configurations survive
    /// restarts. Default: `DIR/.symphra/state.redb`.
    #[arg(long, value_name = "PATH", conflicts_with = "no_state")]
    pub state: Option<PathBuf>,
    /// Keep no state between runs.
    #[arg(long)]
    pub no_state: bool,
    /// A TOML file with one table per module name, its configuration. Environment
    /// variables `SYMPHRA__<MODULE>__<KEY>=<value>` override single keys (a JSON value, or a
    /// string).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// How to show modules starting and stopping: `auto` draws a live display (on stderr)
    /// when stdout and stderr are terminals and prints one line per state change (on
    /// stdout) otherwise.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Hot reload: when a module's module.toml or component changes, load the new files and
    /// swap them in (its dependents are stopped and started around it); new files that
    /// fail to load or start leave the old code running.
    #[arg(long)]
    pub watch: bool,
}

/// Runs `run`: exit code 0 when every module started (or a signal cancelled the start) and
/// stopped cleanly; 1 otherwise; 130 (SIGINT) or 143 (SIGTERM) when a second signal ended
/// the stop at once.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode, CliError> {
    session::block_on(run_async(args))
}

async fn run_async(args: &RunArgs) -> Result<ExitCode, CliError> {
    // Listen for signals before anything starts, so that an early one is not lost.
    let mut shutdown = Signals::listen();
    let configs = module_configs::read_file(args.config.as_deref())?;
    let store = match (&args.state, args.no_state) {
        (_, true) => None,
        (Some(path), false) => Some(RedbStore::open(path)?),
        (None, false) => {
            let path = session::default_state_path(&args.dir);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|source| CliError::Io {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            Some(RedbStore::open(&path)?)
        }
    };
    let mut options = LoadOptions::default();
    if let Some(store) = &store {
        options = options.ignore_recorded(store)?;
    }
    let mut loaded = session::load(&args.dir, &options)?;
    let mut builder = loaded.builder();
    session::print_load_report(&mut loaded.report);
    let mut failed = !loaded.report.rejected.is_empty();
    if let Some(limit) = args.max_concurrency {
        builder = builder.max_concurrency(limit);
    }
    builder = builder.shutdown_timeout(args.shutdown_timeout);
    if let Some(store) = store {
        builder = builder.state_store(store);
    }
    let Some(manager) = session::build(builder, configs, &loaded.names()) else {
        return Ok(session::exit_code(false));
    };
    let live = args.progress.is_live();
    let order: Vec<String> = manager
        .handles()
        .iter()
        .map(|handle| handle.name().to_owned())
        .collect();

    let progress = Progress::begin(&manager, &order, live, "start")?;
    // A signal during the start cancels it (hooks that wait end "cancelled by shutdown")
    // and goes straight to stopping what started.
    let cancel = CancellationToken::new();
    let (report, early) = {
        let mut starting = pin!(start_until(&manager, &cancel));
        tokio::select! {
            report = &mut starting => (report?, None),
            signal = shutdown.next() => {
                cancel.cancel();
                (starting.await?, Some(signal))
            }
        }
    };
    progress.finish(&report);
    // A start cancelled on request is not a failure; what it left undone is in the report.
    failed |= early.is_none() && !report.is_success();
    out!("{report}");
    let mut watcher = if args.watch && early.is_none() {
        let watcher = Watcher::new(manager.clone(), loaded.modules)?;
        out!("watching the module folders: a changed module.toml or component reloads its module");
        Some(watcher)
    } else {
        None
    };
    let signal = match early {
        Some(signal) => signal,
        None => {
            out!("running; send SIGINT or SIGTERM to stop");
            loop {
                tokio::select! {
                    signal = shutdown.next() => break signal,
                    report = watch::next(&mut watcher) => {
                        let (line, ok) = watch::describe(&report);
                        failed |= !ok;
                        out!("{line}");
                    }
                }
            }
        }
    };
    drop(watcher);
    out!("received {signal}, stopping");
    out!("send a signal again to exit at once");
    let stop_order: Vec<String> = order.into_iter().rev().collect();
    let progress = Progress::begin(&manager, &stop_order, live, "stop")?;
    let report = tokio::select! {
        report = session::stop(&manager) => report?,
        signal = shutdown.next() => {
            drop(progress);
            let abandoned: Vec<String> = manager
                .handles()
                .iter()
                .filter(|m| matches!(m.state(), ModuleState::Starting | ModuleState::Stopping))
                .map(|m| m.name().to_owned())
                .collect();
            out!("received {signal} again, exiting now; abandoned hooks of: {}", abandoned.join(", "));
            // The shells' code for a death by that signal, as `RunOutcome::exit_code`.
            return Ok(ExitCode::from(match signal {
                Signal::Interrupt => 130,
                Signal::Terminate => 143,
            }));
        }
    };
    progress.finish(&report);
    failed |= !report.is_success();
    out!("{report}");
    Ok(session::exit_code(!failed))
}

/// Starts everything, cancelled when `cancel` is; a failed start's report is a report.
async fn start_until(
    manager: &ModuleManager,
    cancel: &CancellationToken,
) -> Result<Report, CliError> {
    match manager.start_all_until(cancel).await {
        Ok(report) => Ok(report),
        Err(symphra::Error::Start(error)) => Ok(error.into_report()),
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        run: RunArgs,
    }

    fn shutdown_timeout(text: &str) -> Result<Duration, clap::Error> {
        Command::try_parse_from(["run", "DIR", "--shutdown-timeout", text])
            .map(|command| command.run.shutdown_timeout)
    }

    #[test]
    fn durations() {
        // The core's grammar: what the manifests and the configuration accept, `h` too.
        assert_eq!(shutdown_timeout("30s").ok(), Some(Duration::from_secs(30)));
        assert_eq!(
            shutdown_timeout("250ms").ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(shutdown_timeout("2m").ok(), Some(Duration::from_secs(120)));
        assert_eq!(shutdown_timeout("5").ok(), Some(Duration::from_secs(5)));
        assert_eq!(
            shutdown_timeout("3h").ok(),
            Some(Duration::from_secs(3 * 3600))
        );
        assert!(shutdown_timeout("forever").is_err());
        let default = Command::try_parse_from(["run", "DIR"]).map(|c| c.run.shutdown_timeout);
        assert_eq!(default.ok(), Some(Duration::from_secs(30)));
    }
}
