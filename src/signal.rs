//! Shutdown signals: SIGINT (Ctrl-C) and, on Unix, SIGTERM.

use std::fmt;

/// A request to shut down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT, or Ctrl-C.
    Interrupt,
    /// SIGTERM, sent by service managers and `kill`.
    Terminate,
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// Completes when SIGINT or SIGTERM arrives. If the handlers cannot be installed, logs why
/// and never completes (the process then keeps the default signal behaviour).
pub async fn shutdown_signal() -> Signal {
    let interrupt = async {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGINT");
                std::future::pending().await
            }
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut stream) => {
                stream.recv().await;
                Signal::Terminate
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<Signal>();
    tokio::select! {
        signal = interrupt => signal,
        signal = terminate => signal,
    }
}
