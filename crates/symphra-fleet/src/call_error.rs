//! What can go wrong when a module calls a service, and how a handler says it failed.

use std::time::Duration;

/// Why a service call failed.
///
/// Every message names the service and says what to do; values from the other side are
/// quoted only as a short prefix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// Nobody serves this name: not this process, and no responder on NATS.
    #[error(
        "no replica serves {service:?}: is a module exposing it running anywhere in the \
         fleet, and is this process connected to the same NATS?"
    )]
    NoResponders {
        /// The service's name.
        service: String,
    },
    /// A responder took the request but did not answer in time.
    #[error(
        "service {service:?} did not answer within {after:?}; it may be overloaded or stuck \
         (its replicas' `$SRV.STATS` show their load); retry with a longer timeout"
    )]
    Timeout {
        /// The service's name.
        service: String,
        /// The call's timeout.
        after: Duration,
    },
    /// The handler ran and failed; its error travelled back with the answer.
    #[error("service {service:?} failed with code {code}: {message}")]
    Remote {
        /// The service's name.
        service: String,
        /// The handler's code (HTTP-like: 400 for a bad request, 500 for a failure).
        code: u16,
        /// The handler's message (a short prefix of it).
        message: String,
    },
    /// The request cannot be sent: an invalid service name, a payload over the limit, or a
    /// value that does not encode.
    #[error("invalid request to service {service:?}: {reason}")]
    InvalidRequest {
        /// The service's name (a short prefix of it).
        service: String,
        /// Why.
        reason: String,
    },
    /// The answer is not what the caller can use: over the size limit, or not the
    /// expected JSON, or an error header that does not parse.
    #[error(
        "invalid answer from service {service:?}: {reason}; are caller and service the same version?"
    )]
    InvalidAnswer {
        /// The service's name.
        service: String,
        /// Why, with a short prefix of the answer.
        reason: String,
    },
    /// NATS failed to carry the request (disconnected, closed client).
    #[error("cannot reach service {service:?} through NATS: {source}; is the connection up?")]
    Transport {
        /// The service's name.
        service: String,
        /// Why.
        #[source]
        source: async_nats::Error,
    },
}

/// Why a service could not be exposed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExposeError {
    /// The name cannot be a service's: 1 to 64 ASCII letters, digits, `-` or `_`.
    #[error(
        "invalid service name {0:?}: use 1 to 64 ASCII letters, digits, `-` or `_` (it is a \
         NATS subject token and a services-protocol name)"
    )]
    Name(String),
    /// This process already exposes a service of that name.
    #[error("service {0:?} is already exposed by this process; withdraw it first")]
    Duplicate(String),
    /// NATS refused the service's subscriptions.
    #[error("cannot expose service {service:?} on NATS: {source}; is the connection up?")]
    Nats {
        /// The service's name.
        service: String,
        /// Why.
        #[source]
        source: async_nats::Error,
    },
}

/// A handler's failure, sent back to the caller as [`CallError::Remote`] through the
/// services protocol's `Nats-Service-Error` and `Nats-Service-Error-Code` headers.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("code {code}: {message}")]
pub struct ServiceFailure {
    /// HTTP-like: 400 for a bad request, 500 for a failure of the handler.
    pub code: u16,
    /// What went wrong (cut to a short prefix on the wire).
    pub message: String,
}

impl ServiceFailure {
    /// A failure of the handler (code 500).
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: 500,
            message: message.into(),
        }
    }

    /// A request the handler refuses (code 400).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: 400,
            message: message.into(),
        }
    }
}

/// At most this many characters of a value from elsewhere go into a message.
pub(crate) const QUOTED_CHARS: usize = 120;

/// A short prefix of `bytes`, lossily decoded, for messages.
pub(crate) fn quoted_bytes(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(QUOTED_CHARS * 4)];
    String::from_utf8_lossy(head)
        .chars()
        .take(QUOTED_CHARS)
        .collect()
}
