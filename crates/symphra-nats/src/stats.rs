//! The bridge's counters.

use std::sync::atomic::{AtomicU64, Ordering};

/// What a bridge has done since it was built; see [`NatsBridge::stats`](crate::NatsBridge::stats).
///
/// Every event that a bridge's export patterns match ends in exactly one of `exported`,
/// `dropped_while_disconnected`, `not_exportable` or `publish_errors` (or is still waiting in
/// the export buffer). Every message received ends in exactly one of `imported`,
/// `invalid_json`, `oversized`, `invalid_subject`, `invalid_headers` or `own_ignored`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BridgeStats {
    /// Local events handed to the NATS client.
    pub exported: u64,
    /// Local events accepted while the server was away, held in the export buffer and sent
    /// after reconnection (also counted in `exported` once sent).
    pub buffered_while_disconnected: u64,
    /// Local events dropped because the server was away and the export buffer was full.
    pub dropped_while_disconnected: u64,
    /// Local events not sent: their payload has no JSON form, or it is larger than
    /// `max_payload`.
    pub not_exportable: u64,
    /// Local events the NATS client refused to send.
    pub publish_errors: u64,
    /// NATS messages published on the local bus.
    pub imported: u64,
    /// NATS messages skipped because their payload is not valid JSON.
    pub invalid_json: u64,
    /// NATS messages skipped because their payload is larger than `max_payload`.
    pub oversized: u64,
    /// NATS messages skipped because their subject is not a valid bus topic (including
    /// subjects that are not UTF-8, which the relay takes out before the NATS client).
    pub invalid_subject: u64,
    /// NATS messages skipped because their headers could not be parsed (e.g. a header name
    /// with a space); the relay takes them out before they reach the NATS client.
    pub invalid_headers: u64,
    /// NATS messages skipped because this bridge sent them.
    pub own_ignored: u64,
    /// Times the NATS client reported that an import's buffer was full and it dropped a
    /// message for it (a slow local subscriber). At least this many messages were dropped.
    pub slow_consumer_drops: u64,
    /// Times the connection to the server was lost.
    pub disconnects: u64,
    /// Times it was established again after a loss.
    pub reconnects: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) exported: AtomicU64,
    pub(crate) buffered_while_disconnected: AtomicU64,
    pub(crate) dropped_while_disconnected: AtomicU64,
    pub(crate) not_exportable: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
    pub(crate) imported: AtomicU64,
    pub(crate) invalid_json: AtomicU64,
    pub(crate) oversized: AtomicU64,
    pub(crate) invalid_subject: AtomicU64,
    pub(crate) invalid_headers: AtomicU64,
    pub(crate) own_ignored: AtomicU64,
    pub(crate) slow_consumer_drops: AtomicU64,
    pub(crate) disconnects: AtomicU64,
    pub(crate) reconnects: AtomicU64,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    pub(crate) fn snapshot(&self) -> BridgeStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        BridgeStats {
            exported: get(&self.exported),
            buffered_while_disconnected: get(&self.buffered_while_disconnected),
            dropped_while_disconnected: get(&self.dropped_while_disconnected),
            not_exportable: get(&self.not_exportable),
            publish_errors: get(&self.publish_errors),
            imported: get(&self.imported),
            invalid_json: get(&self.invalid_json),
            oversized: get(&self.oversized),
            invalid_subject: get(&self.invalid_subject),
            invalid_headers: get(&self.invalid_headers),
            own_ignored: get(&self.own_ignored),
            slow_consumer_drops: get(&self.slow_consumer_drops),
            disconnects: get(&self.disconnects),
            reconnects: get(&self.reconnects),
        }
    }
}
