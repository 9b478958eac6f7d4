//! Shutdown signals: SIGINT (Ctrl-C) and, on Unix, SIGTERM.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

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

/// Listens for SIGINT and SIGTERM from the moment it is made: a signal that arrives
/// between [`listen`](Self::listen) and [`next`](Self::next) is not lost, and each further
/// signal is delivered too, so a second Ctrl-C can be told from the first.
///
/// Make it before the first hook runs: until a process listens, SIGINT and SIGTERM end it
/// at once, and modules that had started are never stopped.
///
/// ```no_run
/// use symphra::signal::Signals;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut signals = Signals::listen(); // before anything starts
/// // ... start the modules ...
/// let first = signals.next().await;
/// println!("received {first}, stopping; send it again to exit at once");
/// # }
/// ```
pub struct Signals {
    #[cfg(unix)]
    streams: Option<(tokio::signal::unix::Signal, tokio::signal::unix::Signal)>,
    /// The pending wait for Ctrl-C, made at the first poll.
    #[cfg(not(unix))]
    ctrl_c: Option<Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>>,
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals").finish_non_exhaustive()
    }
}

impl Signals {
    /// Installs the handlers now. Must be called inside a tokio runtime. If they cannot be
    /// installed, logs why; [`next`](Self::next) then never completes (the process keeps the
    /// default signal behaviour).
    pub fn listen() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let streams = match (
                signal(SignalKind::interrupt()),
                signal(SignalKind::terminate()),
            ) {
                (Ok(interrupt), Ok(terminate)) => Some((interrupt, terminate)),
                (Err(error), _) | (_, Err(error)) => {
                    tracing::warn!(%error, "cannot listen for SIGINT and SIGTERM");
                    None
                }
            };
            Self { streams }
        }
        #[cfg(not(unix))]
        Self { ctrl_c: None }
    }

    /// The next signal.
    pub async fn next(&mut self) -> Signal {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.streams {
            return tokio::select! {
                Some(()) = interrupt.recv() => Signal::Interrupt,
                Some(()) = terminate.recv() => Signal::Terminate,
                else => std::future::pending().await,
            };
        }
        #[cfg(not(unix))]
        if tokio::signal::ctrl_c().await.is_ok() {
            return Signal::Interrupt;
        }
        std::future::pending().await
    }
}

/// Every signal, as it arrives: what [`ModuleManager::run_until`](crate::ModuleManager::run_until)
/// takes. The stream never ends (if the handlers could not be installed, it never yields).
impl Stream for Signals {
    type Item = Signal;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        #[cfg(unix)]
        if let Some((interrupt, terminate)) = &mut self.get_mut().streams {
            // A closed stream (it cannot close while `self` holds it) yields nothing more.
            if let Poll::Ready(Some(())) = interrupt.poll_recv(cx) {
                return Poll::Ready(Some(Signal::Interrupt));
            }
            if let Poll::Ready(Some(())) = terminate.poll_recv(cx) {
                return Poll::Ready(Some(Signal::Terminate));
            }
        }
        #[cfg(not(unix))]
        {
            let this = self.get_mut();
            let ctrl_c = this
                .ctrl_c
                .get_or_insert_with(|| Box::pin(tokio::signal::ctrl_c()));
            if let Poll::Ready(result) = ctrl_c.as_mut().poll(cx) {
                this.ctrl_c = None;
                if result.is_ok() {
                    return Poll::Ready(Some(Signal::Interrupt));
                }
            }
        }
        Poll::Pending
    }
}

/// Completes when SIGINT or SIGTERM arrives; listens from its first poll. To listen from an
/// earlier point, or for more than one signal, use [`Signals`].
pub async fn shutdown_signal() -> Signal {
    Signals::listen().next().await
}
