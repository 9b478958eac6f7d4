//! The bridge's error type.

/// What went wrong while building, connecting or flushing a [`NatsBridge`](crate::NatsBridge).
///
/// Every message says what was wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BridgeError {
    /// An export or import pattern is not a valid bus pattern.
    #[error("invalid {direction} pattern: {source}")]
    InvalidPattern {
        /// `export` or `import`.
        direction: &'static str,
        /// What the bus said about the pattern.
        #[source]
        source: symphra::bus::BusError,
    },

    /// The subject prefix is not a plain NATS subject.
    #[error(
        "invalid subject prefix `{prefix}`: {reason}; a prefix is dot-separated non-empty \
         tokens without whitespace or wildcards, e.g. `myapp` or `myapp.prod`"
    )]
    InvalidPrefix {
        /// The prefix as given.
        prefix: String,
        /// Why it is rejected.
        reason: &'static str,
    },

    /// A queue group name is not valid.
    #[error(
        "invalid queue group `{group}` for import `{pattern}`: a queue group is a non-empty name \
         without whitespace, e.g. `workers`"
    )]
    InvalidQueueGroup {
        /// The import pattern.
        pattern: String,
        /// The group as given.
        group: String,
    },

    /// The bridge has neither exports nor imports.
    #[error(
        "the bridge has nothing to do: give it at least one pattern with `.export(..)` or \
         `.import(..)` (or `export`/`import` in the configuration)"
    )]
    NothingToBridge,

    /// The first connection to the NATS server failed.
    #[error(
        "could not connect to NATS at `{url}`: {source}; check that a server runs there (for \
         a local one: `nats-server -a 127.0.0.1 -p 4222`) and that the URL is right"
    )]
    Connect {
        /// The URL as given.
        url: String,
        /// What the client said.
        #[source]
        source: async_nats::ConnectError,
    },

    /// The relay between the client and the server could not listen on loopback.
    #[error(
        "could not start the bridge's relay to `{url}` on 127.0.0.1: {source}; check that \
         loopback TCP ports can be opened, or turn the relay off (`relay = false`)"
    )]
    Relay {
        /// The URL as given.
        url: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },

    /// Subscribing to a NATS subject failed.
    #[error(
        "could not subscribe to NATS subject `{subject}`: {source}; check the server's logs and permissions"
    )]
    Subscribe {
        /// The subject.
        subject: String,
        /// What the client said.
        #[source]
        source: async_nats::SubscribeError,
    },

    /// The local bus refused a subscription (e.g. no Tokio runtime).
    #[error("could not subscribe the bridge to the local bus: {0}")]
    Bus(#[from] symphra::bus::BusError),

    /// A flush did not complete.
    #[error("flushing the bridge failed: {reason}; check that the NATS server is reachable")]
    Flush {
        /// What failed.
        reason: String,
    },

    /// The bridge's tasks have stopped (it was shut down, or the runtime is ending).
    #[error("the bridge has stopped; build a new one with `NatsBridge::builder(..)`")]
    Stopped,

    /// A wait ran out of time.
    #[error(
        "timed out after {waited:?} waiting for {what}; check that the NATS server is running \
         and reachable"
    )]
    Timeout {
        /// What was awaited.
        what: &'static str,
        /// How long.
        waited: std::time::Duration,
    },
}
