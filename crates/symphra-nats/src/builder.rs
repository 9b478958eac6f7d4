//! The builder of a bridge: the server, the patterns, the limits.

use std::time::Duration;

use symphra::bus::EventBus;

use crate::bridge::NatsBridge;
use crate::config::{BridgeConfig, ImportConfig};
use crate::error::BridgeError;

/// Builds a [`NatsBridge`]: the server, the patterns, the limits. Start with
/// [`NatsBridge::builder`] or [`NatsBridge::from_config`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `.connect(&bus)` is awaited"]
pub struct NatsBridgeBuilder {
    config: BridgeConfig,
}

impl NatsBridge {
    /// A builder for a bridge to the server at `url` (e.g. `nats://127.0.0.1:4222`).
    pub fn builder(url: impl Into<String>) -> NatsBridgeBuilder {
        NatsBridgeBuilder {
            config: BridgeConfig {
                url: url.into(),
                ..BridgeConfig::default()
            },
        }
    }

    /// A builder starting from a configuration, e.g. read from a file.
    pub fn from_config(config: BridgeConfig) -> NatsBridgeBuilder {
        NatsBridgeBuilder { config }
    }
}

impl NatsBridgeBuilder {
    /// Exports local events matching `pattern` (e.g. `user.*`, or `*` for every event).
    pub fn export(mut self, pattern: impl Into<String>) -> Self {
        self.config.export.push(pattern.into());
        self
    }

    /// Imports NATS messages whose subject matches `pattern`, delivered to every bridge that
    /// imports it.
    pub fn import(mut self, pattern: impl Into<String>) -> Self {
        self.config.import.push(ImportConfig::new(pattern));
        self
    }

    /// Imports `pattern` in queue group `group`: the bridges in one group share the
    /// messages, each delivered to exactly one of them.
    pub fn import_queue(mut self, pattern: impl Into<String>, group: impl Into<String>) -> Self {
        self.config.import.push(ImportConfig::queue(pattern, group));
        self
    }

    /// Puts `prefix.` in front of every subject, to keep applications apart on one server.
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.subject_prefix = Some(prefix.into());
        self
    }

    /// Names the bridge (in the server's connection list and in its origin).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// How many exported events may wait to be sent; see [`BridgeConfig::export_buffer`].
    pub fn export_buffer(mut self, events: usize) -> Self {
        self.config.export_buffer = events;
        self
    }

    /// How many received messages may wait per import; see [`BridgeConfig::import_buffer`].
    pub fn import_buffer(mut self, messages: usize) -> Self {
        self.config.import_buffer = messages;
        self
    }

    /// The largest payload sent or accepted, in bytes; see [`BridgeConfig::max_payload`].
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config.max_payload = bytes;
        self
    }

    /// The longest wait between reconnection attempts.
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.config.max_reconnect_delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Whether to reach the server through the loopback relay that skips malformed
    /// messages; see [`BridgeConfig::relay`].
    pub fn relay(mut self, on: bool) -> Self {
        self.config.relay = on;
        self
    }

    /// How far a sender's event time may be from this machine's clock and still be believed;
    /// see [`BridgeConfig::max_clock_skew_ms`].
    pub fn max_clock_skew(mut self, skew: Duration) -> Self {
        self.config.max_clock_skew_ms = u64::try_from(skew.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// Whether exported events carry their origin, id, time and source in a header; see
    /// [`BridgeConfig::metadata`] (off by default).
    pub fn metadata(mut self, on: bool) -> Self {
        self.config.metadata = on;
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &BridgeConfig {
        &self.config
    }

    /// Connects to the server, subscribes the imports there and the exports on `bus`, and
    /// returns the running bridge. When it returns, the server knows the imports: messages
    /// published from then on are received.
    ///
    /// # Errors
    /// [`BridgeError::InvalidPattern`], [`BridgeError::InvalidPrefix`],
    /// [`BridgeError::InvalidQueueGroup`] or [`BridgeError::NothingToBridge`] for a wrong
    /// configuration; [`BridgeError::Connect`] if the server cannot be reached;
    /// [`BridgeError::Subscribe`] or [`BridgeError::Flush`] if it refuses the imports;
    /// [`BridgeError::Bus`] if called outside a Tokio runtime.
    pub async fn connect(self, bus: &EventBus) -> Result<NatsBridge, BridgeError> {
        NatsBridge::connect(self.config, bus).await
    }
}
