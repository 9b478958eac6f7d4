//! Running an application: start everything, run until a shutdown request, stop
//! everything — what every `main` does, with the signals handled at each step.

use std::future::Future;
use std::pin::pin;

use futures_util::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::error::Error;
use crate::lifecycle::ModuleState;
use crate::manager::ModuleManager;
use crate::manager::report::Report;
use crate::signal::Signal;
#[cfg(unix)]
use crate::systemd::Notifier;

use super::notify;

/// Why [`ModuleManager::run_until`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RunEnd {
    /// A shutdown request arrived (during the start or while running); everything was
    /// stopped.
    Signal(Signal),
    /// A module gave up under
    /// [`Escalation::Shutdown`](crate::supervision::Escalation::Shutdown); everything was
    /// stopped.
    Escalation {
        /// The module that gave up, when the escalation named it.
        module: Option<String>,
    },
    /// The start failed (a module failed, or the state store could not be written);
    /// what had started was stopped.
    StartFailed,
    /// A second shutdown request arrived while stopping: `run_until` returned at once, abandoning the hooks still running.
    Forced {
        /// The request that forced the return.
        signal: Signal,
        /// The modules whose hooks were abandoned: those still `Starting` or `Stopping`.
        abandoned: Vec<String>,
    },
}

/// What [`ModuleManager::run_until`] did.
#[derive(Debug)]
#[non_exhaustive]
pub struct RunOutcome {
    /// The start's report; `None` when the start ended without one (see `error`).
    pub start: Option<Report>,
    /// The stop's report; `None` when the stop was forced or ended without one.
    pub stop: Option<Report>,
    /// Why the run ended.
    pub ended: RunEnd,
    /// An error that came without a report (the state store could not be written), from
    /// the start or the stop.
    pub error: Option<Error>,
}

impl RunOutcome {
    /// Whether everything started, ran and stopped as it should: a shutdown request ended
    /// the run, and the start (unless the request cancelled it), the stop and the state
    /// store all succeeded.
    pub fn is_success(&self) -> bool {
        let cancelled = matches!(self.ended, RunEnd::Signal(_));
        let started = self
            .start
            .as_ref()
            .is_some_and(|start| cancelled || start.is_success());
        let stopped = self.stop.as_ref().is_some_and(Report::is_success);
        cancelled && started && stopped && self.error.is_none()
    }

    /// The process exit code this outcome calls for:
    ///
    /// - `0`: ended by a signal, and everything started (or the signal cancelled the start)
    ///   and stopped cleanly;
    /// - `1`: a module failed to start or stop, a module gave up (escalation), or the state
    ///   store failed;
    /// - `128 + n`, the shells' convention for a death by signal `n`: a second signal forced
    ///   the return, abandoning hooks — `130` after SIGINT, `143` after SIGTERM.
    pub fn exit_code(&self) -> u8 {
        match &self.ended {
            RunEnd::Forced { signal, .. } => match signal {
                Signal::Interrupt => 130,
                Signal::Terminate => 143,
            },
            _ if self.is_success() => 0,
            _ => 1,
        }
    }
}

impl ModuleManager {
    /// Starts every module, runs until a shutdown request, and stops every module, in
    /// reverse dependency order — what an application's `main` does.
    ///
    /// `shutdown` yields shutdown requests: pass [`Signals`](crate::signal::Signals), made
    /// with [`Signals::listen`](crate::signal::Signals::listen) before anything else, so
    /// that a signal during the start is seen (until a process listens, SIGINT and SIGTERM
    /// kill it, and modules that had started are never stopped). Tests pass any stream of
    /// [`Signal`]s. When the stream ends, no further request is waited for.
    ///
    /// - A first request during the start cancels it: hooks that are waiting end
    ///   [`Cancelled`](crate::lifecycle::FailureCause::Cancelled) (their modules `Failed`),
    ///   modules not launched yet are not run, and those that had started are stopped.
    /// - A first request while running stops everything.
    /// - A second request while stopping returns at once: [`RunEnd::Forced`] names the
    ///   modules whose hooks were abandoned.
    /// - A module giving up under
    ///   [`Escalation::Shutdown`](crate::supervision::Escalation::Shutdown) stops
    ///   everything: [`RunEnd::Escalation`].
    ///
    /// ```no_run
    /// use symphra::prelude::*;
    /// use symphra::signal::Signals;
    /// # struct Cache;
    /// # impl Module for Cache { fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("cache") } }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<std::process::ExitCode, symphra::Error> {
    /// let signals = Signals::listen(); // first: before any hook runs
    /// let manager = ModuleManager::builder().module(Cache).build()?;
    /// let outcome = manager.run_until(signals).await;
    /// println!("{:?}", outcome.ended);
    /// Ok(std::process::ExitCode::from(outcome.exit_code()))
    /// # }
    /// ```
    ///
    /// Under systemd (`NOTIFY_SOCKET` set), it also notifies the service manager: see
    /// [`run_until_notifying`](Self::run_until_notifying).
    pub async fn run_until<S>(&self, shutdown: S) -> RunOutcome
    where
        S: Stream<Item = Signal> + Unpin,
    {
        #[cfg(unix)]
        {
            self.run_until_notifying(shutdown, Notifier::from_env())
                .await
        }
        #[cfg(not(unix))]
        {
            self.run_notifying(shutdown, &notify::Silent).await
        }
    }

    /// [`run_until`](Self::run_until), notifying `notifier` (when given) the way systemd's
    /// `Type=notify` units expect: `STATUS=` as the run moves on, `READY=1` (with a status)
    /// once every module started, `STOPPING=1` before stopping, and `WATCHDOG=1` at half
    /// of the notifier's watchdog period for as long as the run lasts. A failed start sends
    /// no `READY=1`.
    #[cfg(unix)]
    pub async fn run_until_notifying<S>(
        &self,
        shutdown: S,
        notifier: Option<Notifier>,
    ) -> RunOutcome
    where
        S: Stream<Item = Signal> + Unpin,
    {
        let Some(notifier) = notifier else {
            return self.run_notifying(shutdown, &notify::Silent).await;
        };
        let run = pin!(self.run_notifying(shutdown, &notifier));
        tokio::select! {
            biased;
            outcome = run => outcome,
            never = notifier.keep_alive() => match never {},
        }
    }

    /// The run, telling `notify` how it goes.
    async fn run_notifying<S>(&self, shutdown: S, notify: &dyn notify::Notify) -> RunOutcome
    where
        S: Stream<Item = Signal> + Unpin,
    {
        let mut shutdown = shutdown.fuse();
        let readiness = notify::Readiness::watch(self, notify);
        notify.status(&notify::starting(self));
        let escalated = self.inner.supervision.escalated.clone();
        let mut error = None;

        let first = async {
            tokio::select! {
                Some(signal) = shutdown.next() => RunEnd::Signal(signal),
                () = escalated.cancelled() => self.escalation(),
            }
        };
        let (started, interrupted) = self.start_watching(first).await;
        let start = keep_report(started, &mut error);
        let ended = match interrupted {
            Some(ended) => ended,
            None if start.as_ref().is_none_or(|start| !start.is_success()) => RunEnd::StartFailed,
            None => {
                tracing::info!("all modules started; running until a shutdown request");
                // READY=1 once every module is ready: at once, or when the last module
                // that signals its readiness does.
                let mut ready_sent = notify.is_silent();
                loop {
                    if !ready_sent && self.health().is_ready() {
                        notify.ready(&notify::summary(self));
                        ready_sent = true;
                    }
                    tokio::select! {
                        Some(signal) = shutdown.next() => break RunEnd::Signal(signal),
                        () = escalated.cancelled() => break self.escalation(),
                        () = readiness.changed(), if !ready_sent => {}
                    }
                }
            }
        };
        match &ended {
            RunEnd::Signal(signal) => tracing::info!(%signal, "shutdown requested; stopping"),
            RunEnd::Escalation { module } => {
                tracing::error!(?module, "a module gave up; stopping everything");
            }
            _ => tracing::warn!("the start failed; stopping what started"),
        }
        notify.stopping(&ended);

        let mut stopping = pin!(self.stop_all());
        let stopped = tokio::select! {
            stopped = &mut stopping => stopped,
            Some(signal) = shutdown.next() => {
                let abandoned = self.abandoned();
                tracing::warn!(%signal, ?abandoned, "second shutdown request: abandoning the stop");
                return RunOutcome {
                    start,
                    stop: None,
                    ended: RunEnd::Forced { signal, abandoned },
                    error,
                };
            }
        };
        let stop = keep_report(stopped, &mut error);
        RunOutcome {
            start,
            stop,
            ended,
            error,
        }
    }

    /// Starts every module while watching `interrupt`: if it completes first, the start
    /// is cancelled (see [`run_until`](Self::run_until)) and its value returned beside the
    /// start's result. The start always runs to its end, which a cancellation makes quick.
    pub(crate) async fn start_watching<T>(
        &self,
        interrupt: impl Future<Output = T>,
    ) -> (Result<crate::manager::Report, Error>, Option<T>) {
        let cancel = CancellationToken::new();
        let mut start = pin!(self.start_all_until(&cancel));
        tokio::select! {
            started = &mut start => (started, None),
            value = interrupt => {
                tracing::info!("shutdown requested during the start; cancelling it");
                cancel.cancel();
                (start.await, Some(value))
            }
        }
    }

    /// Raises the escalation (for the test kit).
    #[cfg(feature = "testing")]
    pub(crate) fn escalate(&self, module: &str) {
        self.inner.supervision.escalate(module);
    }

    /// Why the escalation token was cancelled.
    fn escalation(&self) -> RunEnd {
        RunEnd::Escalation {
            module: self.inner.supervision.escalated_by(),
        }
    }

    /// The modules whose hooks are running: those `Starting` or `Stopping`.
    fn abandoned(&self) -> Vec<String> {
        self.handles()
            .iter()
            .filter(|handle| {
                matches!(
                    handle.state(),
                    ModuleState::Starting | ModuleState::Stopping
                )
            })
            .map(|handle| handle.name().to_owned())
            .collect()
    }
}

/// The report of an operation's result; an error without one is kept in `error` (the
/// first such error).
fn keep_report(result: Result<Report, Error>, error: &mut Option<Error>) -> Option<Report> {
    match result {
        Ok(report) => Some(report),
        Err(Error::Start(failed)) => Some(failed.into_report()),
        Err(Error::Stop(failed)) => Some(failed.into_report()),
        Err(other) => {
            tracing::error!(error = %other, "lifecycle operation failed");
            error.get_or_insert(other);
            None
        }
    }
}
