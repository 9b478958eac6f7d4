//! What can go wrong starting or stopping the operator's endpoint.

use std::net::SocketAddr;

/// Why the endpoint could not be served.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpsError {
    /// The address is not a loopback address and remote access was not allowed.
    #[error(
        "refusing to serve the operator's endpoint on {address}, which is not a loopback address: \
         the endpoint has no authentication; bind 127.0.0.1 or [::1], or allow remote access explicitly \
         (Ops::allow_remote, `symphra run --ops-allow-remote`)"
    )]
    NotLoopback {
        /// The address asked for.
        address: SocketAddr,
    },
    /// The address could not be bound.
    #[error("cannot listen on {address} for the operator's endpoint: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the operator's endpoint failed: {0}")]
    Serve(#[source] std::io::Error),
    /// The server's task panicked or was aborted.
    #[error("the operator's endpoint's task ended abnormally: {0}")]
    Task(#[source] tokio::task::JoinError),
    /// A subscription to the manager's bus (for the live page) was refused.
    #[error("cannot watch the manager's bus for the live page: {0}")]
    Bus(#[source] symphra::bus::BusError),
}
