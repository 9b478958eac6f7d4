//! Running code with the modules started, and always stopping them afterwards.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::pin;

use futures_util::FutureExt;

use crate::error::Error;
use crate::manager::ModuleManager;
use crate::signal::{Signal, Signals};

/// How a scoped run ended.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
pub enum ScopeExit<T> {
    /// The body finished with this value.
    Completed(T),
    /// A shutdown signal arrived first; the body was dropped.
    Interrupted(Signal),
}

impl ModuleManager {
    /// Starts every module, runs `body`, and stops every module — whether `body` returns,
    /// panics, or SIGINT/SIGTERM arrives first — within the shutdown deadline.
    ///
    /// When `start_all` fails, what did start is stopped and the start error is returned.
    /// When `body` panics, the modules are stopped and the panic resumes. When stopping
    /// fails, the stop error is returned (and `body`'s value is dropped).
    ///
    /// ```
    /// # use symphra::prelude::*;
    /// # struct Cache;
    /// # impl Module for Cache { fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("cache") } }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), symphra::Error> {
    /// let manager = ModuleManager::builder().module(Cache).build()?;
    /// let exit = manager
    ///     .scope(async {
    ///         // serve requests...
    ///         42
    ///     })
    ///     .await?;
    /// assert_eq!(exit, ScopeExit::Completed(42));
    /// assert_eq!(manager.module("cache")?.state(), ModuleState::Stopped);
    /// # Ok(()) }
    /// ```
    pub async fn scope<F: Future>(&self, body: F) -> Result<ScopeExit<F::Output>, Error> {
        // Listen before the first hook runs: a signal during the start then cancels it and
        // stops what started, instead of killing the process.
        let mut signals = Signals::listen();
        self.scope_until(async move { signals.next().await }, body)
            .await
    }

    /// Like [`scope`](Self::scope), but ends early when `shutdown` completes instead of on
    /// a signal — for tests, or for applications with their own shutdown trigger.
    ///
    /// `shutdown` is watched from the start on: completing during the start cancels it
    /// (see [`run_until`](Self::run_until)), stops what started, and returns
    /// [`ScopeExit::Interrupted`] without running `body`.
    pub async fn scope_until<S, F>(
        &self,
        shutdown: S,
        body: F,
    ) -> Result<ScopeExit<F::Output>, Error>
    where
        S: Future<Output = Signal>,
        F: Future,
    {
        let mut shutdown = pin!(shutdown);
        let (started, interrupted) = self.start_watching(&mut shutdown).await;
        if let Some(signal) = interrupted {
            tracing::info!(%signal, "shutdown signal received during the start; stopping modules");
            return self
                .stop_all()
                .await
                .map(|_| ScopeExit::Interrupted(signal));
        }
        if let Err(start) = started {
            // Stop whatever did start; the start error is the one worth reporting.
            if let Err(stop) = self.stop_all().await {
                tracing::warn!(error = %stop, "stopping after a failed start did not complete");
            }
            return Err(start);
        }
        let ended = tokio::select! {
            outcome = AssertUnwindSafe(body).catch_unwind() => outcome.map(ScopeExit::Completed),
            signal = &mut shutdown => Ok(ScopeExit::Interrupted(signal)),
        };
        if let Ok(ScopeExit::Interrupted(signal)) = &ended {
            tracing::info!(%signal, "shutdown signal received; stopping modules");
        }
        let stopped = self.stop_all().await;
        match ended {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(exit) => stopped.map(|_| exit),
        }
    }
}
