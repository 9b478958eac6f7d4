//! `symphra run`: start everything, run until a shutdown signal, stop everything.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::pin;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use symphra::ModuleState;
use symphra::bus::{Event, Subscription};
use symphra::manager::{
    FAILED, HEALTH_CHANGED, ModuleEvent, ModuleManager, READY, RESTARTED, Report, RestartEvent,
};
use symphra::signal::{Signal, Signals};
use symphra::state::RedbStore;
use symphra::supervision::Escalation;
use symphra::systemd::{Notification, Notifier};
use symphra::util::parse_duration;
use symphra_ops::Ops;
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
    /// fail to load or start leave the old code running. A signal during a reload lets it
    /// finish (its hooks' time limits bound the wait) before the modules stop; a second
    /// signal cuts it short.
    #[arg(long)]
    pub watch: bool,
    /// What happens when a module has used up the restarts of its `[restart]` policy:
    /// `keep-running` leaves it down and the rest running; `shutdown` stops everything and
    /// exits 1, so that an outer supervisor (systemd, Kubernetes) restarts the process.
    #[arg(long, value_enum, value_name = "WHAT", default_value_t = EscalationArg::KeepRunning)]
    pub escalation: EscalationArg,
    /// The operator's grants (TOML): host folders and environment variables each module
    /// may use beyond its own folder, and whether a `--watch` reload may widen its grants.
    /// See docs/security.md.
    #[arg(long, value_name = "FILE")]
    pub grants: Option<PathBuf>,
    /// The manager's time limit for every hook (default 60s): a module's own
    /// `hook-timeout` applies within it, so raise this for a manifest that asks for more.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub hook_timeout: Option<Duration>,
    /// Run even when DIR holds no module folder. Without it an empty DIR is refused (exit
    /// 1), as it is most likely the wrong folder.
    #[arg(long)]
    pub allow_empty: bool,
    /// Serve the operator's endpoint on ADDR (default 127.0.0.1:9464): /livez, /readyz,
    /// /startupz, /metrics (Prometheus), a live page at /, and the control routes that
    /// `symphra stop|start DIR MODULE --ops ADDR` use (obeyed from this machine only).
    /// Loopback addresses only, unless --ops-allow-remote.
    #[arg(long, value_name = "ADDR", num_args = 0..=1, default_missing_value = DEFAULT_OPS_ADDRESS)]
    pub ops: Option<SocketAddr>,
    /// Allow --ops on an address other than loopback: the endpoint has no authentication.
    #[arg(long, requires = "ops")]
    pub ops_allow_remote: bool,
}

/// Where `--ops` serves when no address is given.
pub(crate) const DEFAULT_OPS_ADDRESS: &str = "127.0.0.1:9464";

/// The values of `--escalation` ([`Escalation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EscalationArg {
    /// The module stays down, the rest keeps running.
    KeepRunning,
    /// Everything stops and `run` exits 1.
    Shutdown,
}

impl From<EscalationArg> for Escalation {
    fn from(arg: EscalationArg) -> Self {
        match arg {
            EscalationArg::KeepRunning => Escalation::KeepRunning,
            EscalationArg::Shutdown => Escalation::Shutdown,
        }
    }
}

/// Runs `run`: exit code 0 when every module started (or a signal cancelled the start) and
/// stopped cleanly; 1 otherwise; 130 (SIGINT) or 143 (SIGTERM) when a second signal ended
/// the stop at once.
///
/// Under systemd (`NOTIFY_SOCKET` set) it notifies the service manager as `run_until`
/// does: `STATUS=`, `READY=1` once every module is ready, `STOPPING=1`, and `WATCHDOG=1` at
/// half of `WATCHDOG_USEC` for as long as it runs.
pub(crate) fn run(args: &RunArgs) -> Result<ExitCode, CliError> {
    session::block_on(async {
        // Listen for signals before anything starts, so that an early one is not lost.
        let shutdown = Signals::listen();
        let Some(notifier) = Notifier::from_env() else {
            return run_async(args, shutdown, None).await;
        };
        tokio::select! {
            biased;
            code = run_async(args, shutdown, Some(&notifier)) => code,
            never = notifier.keep_alive() => match never {},
        }
    })
}

async fn run_async(
    args: &RunArgs,
    mut shutdown: Signals,
    notifier: Option<&Notifier>,
) -> Result<ExitCode, CliError> {
    // Before anything is written under DIR: a mistyped folder is an error (exit 2), with
    // nothing created, and a folder without modules is refused unless asked for.
    let discovery = session::discover(&args.dir)?;
    if discovery.modules.is_empty() && discovery.rejected.is_empty() && !args.allow_empty {
        eprintln!(
            "warning: {} holds no module folder (a folder with a module.toml); nothing to run. \
             Check the path, or pass --allow-empty to run anyway",
            args.dir.display()
        );
        return Ok(session::exit_code(false));
    }
    let configs = module_configs::read_file(args.config.as_deref())?;
    let grants = crate::grants::read(args.grants.as_deref(), &args.dir, args.state.as_deref())?;
    let host = crate::grants::host(grants)?;
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
    let mut options = LoadOptions::default().host(host);
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
    if let Some(limit) = args.hook_timeout {
        builder = builder.hook_timeout(limit);
    }
    builder = builder
        .shutdown_timeout(args.shutdown_timeout)
        .escalation(args.escalation.into());
    if let Some(store) = store {
        builder = builder.state_store(store);
    }
    let Some(manager) = session::build(builder, &configs, &loaded.metadata()) else {
        return Ok(session::exit_code(false));
    };
    let ops = match args.ops {
        Some(address) => {
            let server = Ops::new(manager.clone())
                .title(args.dir.display().to_string())
                .allow_remote(args.ops_allow_remote)
                .control(true)
                .serve(address)
                .await?;
            out!("operator's endpoint: http://{}/", server.local_addr());
            Some(server)
        }
        None => None,
    };
    let mut readiness = notifier.map(|_| readiness_changes(&manager)).transpose()?;
    if let Some(notifier) = notifier {
        notifier.send_or_log(&[Notification::Status(&format!(
            "starting {} modules",
            manager.handles().len()
        ))]);
    }
    let live = args.progress.is_live();
    let order: Vec<String> = manager
        .handles()
        .iter()
        .map(|handle| handle.name().to_owned())
        .collect();

    // From before the start: a module can fail while running as soon as it started.
    let _supervision = print_supervision(&manager)?;
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
    if let Some(ops) = &ops {
        ops.show_start(&report);
    }
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
    // Why the run ends: a signal, or the module whose escalation stops everything.
    let ended = match early {
        Some(signal) => Ok(signal),
        None => {
            out!("running; send SIGINT or SIGTERM to stop");
            // READY=1 once every module is ready (under systemd only).
            let mut ready_sent = notifier.is_none();
            loop {
                if !ready_sent
                    && let Some(notifier) = notifier
                    && manager.health().is_ready()
                {
                    let status = format!("{} modules running", order.len());
                    notifier.send_or_log(&[Notification::Ready, Notification::Status(&status)]);
                    ready_sent = true;
                }
                tokio::select! {
                    Some(()) = next_change(&mut readiness), if !ready_sent => {}
                    signal = shutdown.next() => break Ok(signal),
                    // Resolves only with `--escalation shutdown`.
                    module = manager.escalated() => break Err(module),
                    report = watch::next(&mut watcher) => {
                        let (line, ok) = watch::describe(&report);
                        failed |= !ok;
                        out!("{line}");
                    }
                }
            }
        }
    };
    match ended {
        Ok(signal) => out!("received {signal}, stopping"),
        Err(module) => {
            failed = true;
            out!("escalation: {module} used up its restarts, stopping everything");
        }
    }
    if let Some(watcher) = watcher {
        failed |= !watch::stop(watcher, &mut shutdown).await;
    }
    if let Some(notifier) = notifier {
        notifier.send_or_log(&[Notification::Stopping, Notification::Status("stopping")]);
    }
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
    if let Some(ops) = ops {
        ops.shutdown().await?;
    }
    Ok(session::exit_code(!failed))
}

/// A message on each `module.ready` and `module.health_changed` of `manager`, for as long as
/// the subscriptions live.
fn readiness_changes(
    manager: &ModuleManager,
) -> Result<(tokio::sync::mpsc::UnboundedReceiver<()>, [Subscription; 2]), CliError> {
    let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
    let bus_error = |error: symphra::bus::BusError| CliError::Bus(error.to_string());
    let subscribe = |topic: &str| {
        let sender = sender.clone();
        manager
            .bus()
            .subscribe(topic, move |_: &Event| {
                let _ = sender.send(());
            })
            .map_err(bus_error)
    };
    Ok((receiver, [subscribe(READY)?, subscribe(HEALTH_CHANGED)?]))
}

/// The next readiness change, or never without a watch.
async fn next_change(
    readiness: &mut Option<(tokio::sync::mpsc::UnboundedReceiver<()>, [Subscription; 2])>,
) -> Option<()> {
    match readiness {
        Some((receiver, _)) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// Prints a line when a module fails while running (`fragile failed while running: ...`)
/// and when supervision restarts one (`fragile restarted (attempt 1, after 100 ms)`), for
/// as long as the subscriptions live. A failed start is left to the start report.
fn print_supervision(manager: &ModuleManager) -> Result<[Subscription; 2], CliError> {
    let bus = manager.bus();
    let bus_error = |error: symphra::bus::BusError| CliError::Bus(error.to_string());
    let failed = bus
        .subscribe(FAILED, |event: &Event| {
            if let Some(change) = event.payload::<ModuleEvent>()
                && change.from == ModuleState::Started
            {
                let error = change.error.as_deref().unwrap_or("no reason given");
                // One line: a trap's message carries a multi-line wasm backtrace.
                let error = error.split_whitespace().collect::<Vec<_>>().join(" ");
                out!("{} failed while running: {error}", change.module);
            }
        })
        .map_err(bus_error)?;
    let restarted = bus
        .subscribe(RESTARTED, |event: &Event| {
            if let Some(restart) = event.payload::<RestartEvent>() {
                out!(
                    "{} restarted (attempt {}, after {} ms)",
                    restart.module,
                    restart.attempt,
                    restart.wait_ms
                );
            }
        })
        .map_err(bus_error)?;
    Ok([failed, restarted])
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
    fn escalation() {
        let parse = |args: &[&str]| {
            Command::try_parse_from([&["run", "DIR"], args].concat())
                .map(|command| Escalation::from(command.run.escalation))
        };
        assert_eq!(parse(&[]).ok(), Some(Escalation::KeepRunning));
        assert_eq!(
            parse(&["--escalation", "shutdown"]).ok(),
            Some(Escalation::Shutdown)
        );
        assert_eq!(
            parse(&["--escalation", "keep-running"]).ok(),
            Some(Escalation::KeepRunning)
        );
        assert!(parse(&["--escalation", "panic"]).is_err());
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
