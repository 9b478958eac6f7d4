//! The bridge's configuration, as a plain struct that `serde` can read from a file.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use symphra::bus::Pattern;

use crate::error::BridgeError;
use crate::subject::Prefix;

/// One import: a bus pattern whose NATS subject the bridge subscribes to, optionally in a
/// queue group.
///
/// In a configuration file an import is either a pattern (`"user.*"`) or a table
/// (`{ pattern = "jobs.*", queue_group = "workers" }`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "ImportRepr")]
pub struct ImportConfig {
    /// The bus pattern, e.g. `user.*`; `*` alone imports every subject (under the prefix).
    pub pattern: String,
    /// The NATS queue group to join, if any. Bridges in the same group share the messages:
    /// each is delivered to one of them. Without a group, every bridge gets every message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_group: Option<String>,
}

impl ImportConfig {
    /// An import of `pattern` delivered to every bridge that imports it (fan-out).
    pub fn new(pattern: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            queue_group: None,
        }
    }

    /// An import of `pattern` shared by the bridges in queue group `group`.
    pub fn queue(pattern: impl Into<String>, group: impl Into<String>) -> Self {
        Self {
            pattern: pattern.into(),
            queue_group: Some(group.into()),
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImportRepr {
    Pattern(String),
    Table {
        pattern: String,
        #[serde(default)]
        queue_group: Option<String>,
    },
}

impl From<ImportRepr> for ImportConfig {
    fn from(repr: ImportRepr) -> Self {
        match repr {
            ImportRepr::Pattern(pattern) => Self::new(pattern),
            ImportRepr::Table {
                pattern,
                queue_group,
            } => Self {
                pattern,
                queue_group,
            },
        }
    }
}

/// Everything a [`NatsBridge`](crate::NatsBridge) is built from; every field has a default.
///
/// ```
/// use symphra_nats::BridgeConfig;
///
/// let config: BridgeConfig = serde_json::from_str(r#"{
///     "url": "nats://127.0.0.1:4222",
///     "subject_prefix": "shop",
///     "export": ["order.*"],
///     "import": ["payment.>", { "pattern": "jobs.*", "queue_group": "workers" }]
/// }"#)?;
/// assert_eq!(config.import[1].queue_group.as_deref(), Some("workers"));
/// assert_eq!(config.export_buffer, BridgeConfig::default().export_buffer);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BridgeConfig {
    /// The NATS server, e.g. `nats://127.0.0.1:4222` (several may be separated by commas).
    pub url: String,
    /// A name for this bridge, shown in the server's connection list and in the origin of
    /// what it exports. Defaults to `symphra`.
    pub name: Option<String>,
    /// Put in front of every subject (`prefix.topic`), to keep applications that share a
    /// server apart.
    pub subject_prefix: Option<String>,
    /// Bus patterns whose local events are sent to NATS.
    pub export: Vec<String>,
    /// NATS subjects (as bus patterns) whose messages are published on the local bus.
    pub import: Vec<ImportConfig>,
    /// How many exported events may wait to be sent. While the server is away, events are
    /// held here (counted as buffered) and, once it is full, dropped (counted as dropped):
    /// this is the bound on the bridge's memory. While connected, events skip it and go
    /// straight to the NATS client (the local publisher waits while the client's own queue
    /// is full), unless events held here are still being sent: then they queue behind
    /// those, and a full buffer makes the local publisher wait.
    pub export_buffer: usize,
    /// How many received messages may wait for the local bus, per import. Beyond that the
    /// NATS client drops messages for that import (counted as slow-consumer drops) rather
    /// than stall the connection.
    pub import_buffer: usize,
    /// The largest payload, in bytes, that the bridge sends or accepts; larger ones are
    /// counted and skipped.
    pub max_payload: usize,
    /// The longest wait between two reconnection attempts, in milliseconds. Attempts start
    /// at 10 ms and double up to this.
    pub max_reconnect_delay_ms: u64,
    /// Whether the client reaches the server through the bridge's loopback relay, which skips
    /// (and counts) messages the NATS client cannot parse: without it, one message on a
    /// subject that is not UTF-8, or with a header name containing a space, makes the client
    /// drop the connection and lose what is in flight while it reconnects. Only `nats://`
    /// URLs are relayed, and a server that requires TLS is relayed unfiltered. On by default.
    pub relay: bool,
    /// How far, in milliseconds, a sender's event time may be from this machine's clock and
    /// still be believed; an imported event with a time further away keeps its arrival time
    /// instead (counted as `clock_skew_clamped`).
    pub max_clock_skew_ms: u64,
    /// How many imported requests (messages with a reply subject) may wait for their answer;
    /// beyond that the oldest is forgotten (counted as `requests_forgotten`) and can no
    /// longer be answered.
    pub max_pending_requests: usize,
    /// Whether exported events carry their metadata (this bridge's origin, the event's id,
    /// time and source) in a `Symphra-Event` header. Off by default: a header costs the NATS
    /// client about as much per message as everything else the bridge does (see
    /// `docs/dev/nats-bridge-cost.md`), and loops are prevented without it. When off, a
    /// receiving bridge sees the event as any plain client's: origin `nats`, no source, the
    /// arrival time. Received headers are read whatever this says.
    pub metadata: bool,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        Self {
            url: "nats://127.0.0.1:4222".to_owned(),
            name: None,
            subject_prefix: None,
            export: Vec::new(),
            import: Vec::new(),
            export_buffer: 65_536,
            import_buffer: 65_536,
            max_payload: 1024 * 1024,
            max_reconnect_delay_ms: 2_000,
            relay: true,
            max_clock_skew_ms: 5 * 60 * 1000,
            max_pending_requests: 4096,
            metadata: false,
        }
    }
}

impl BridgeConfig {
    pub(crate) fn max_reconnect_delay(&self) -> Duration {
        Duration::from_millis(self.max_reconnect_delay_ms.max(1))
    }

    /// Checks everything that can be checked without a server, so that a wrong configuration
    /// fails before anything connects: the patterns (exports first, in order), the queue
    /// groups, that there is something to bridge, and the prefix.
    pub(crate) fn validate(&self) -> Result<Validated, BridgeError> {
        let parse = |direction, pattern: &str| {
            Pattern::parse(pattern)
                .map_err(|source| BridgeError::InvalidPattern { direction, source })
        };
        let exports = self
            .export
            .iter()
            .map(|p| parse("export", p))
            .collect::<Result<Vec<_>, _>>()?;
        let imports = self
            .import
            .iter()
            .map(|i| {
                if let Some(group) = &i.queue_group
                    && (group.is_empty() || group.chars().any(char::is_whitespace))
                {
                    return Err(BridgeError::InvalidQueueGroup {
                        pattern: i.pattern.clone(),
                        group: group.clone(),
                    });
                }
                Ok((parse("import", &i.pattern)?, i.queue_group.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if exports.is_empty() && imports.is_empty() {
            return Err(BridgeError::NothingToBridge);
        }
        let prefix = Prefix::new(self.subject_prefix.as_deref())?;
        Ok(Validated {
            exports,
            imports,
            prefix,
        })
    }
}

/// A [`BridgeConfig`] found valid: its patterns parsed and its prefix checked.
#[derive(Debug)]
pub(crate) struct Validated {
    /// The export patterns, in the configuration's order.
    pub(crate) exports: Vec<Pattern>,
    /// The import patterns, each with its queue group if it has one.
    pub(crate) imports: Vec<(Pattern, Option<String>)>,
    /// The subject prefix.
    pub(crate) prefix: Prefix,
}

#[cfg(test)]
mod tests;
