//! The bridge's counters.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::ledger::Ledger;

/// What a bridge has done since it was built; see [`NatsBridge::stats`](crate::NatsBridge::stats).
///
/// Every event that a bridge's export patterns match is in exactly one of `exported`,
/// `in_flight`, `unconfirmed`, `dropped_while_disconnected`, `not_exportable` or
/// `publish_errors` (or still waits in the export buffer): after a
/// [`flush`](crate::NatsBridge::flush), `in_flight` is 0 and the others add up to every event
/// sent. Every message received ends in exactly one of `imported`,
/// `invalid_json`, `non_finite_json`, `oversized`, `invalid_subject`, `invalid_headers` or `own_ignored`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BridgeStats {
    /// Local events handed to the NATS client and confirmed: a round trip sent after them
    /// came back, so the server has them.
    pub exported: u64,
    /// Local events handed to the NATS client and not confirmed yet (the bridge confirms
    /// every few milliseconds, and on [`flush`](crate::NatsBridge::flush)).
    pub in_flight: u64,
    /// Local events handed to the NATS client when the connection was lost before they were
    /// confirmed: they may or may not have reached the server (NATS core does not say).
    pub unconfirmed: u64,
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
    /// NATS messages skipped because their payload has `NaN` or `Infinity` (Python's
    /// `json.dumps` writes them unless `allow_nan=False`): JSON has no such numbers, and the
    /// bridge does not guess one.
    pub non_finite_json: u64,
    /// NATS messages with an empty payload (or only whitespace), imported as JSON `null`
    /// (also counted in `imported`).
    pub empty_payloads: u64,
    /// NATS messages skipped because their payload is larger than `max_payload`.
    pub oversized: u64,
    /// NATS messages skipped because their subject is not a valid bus topic (including
    /// subjects that are not UTF-8, which the relay takes out before the NATS client).
    pub invalid_subject: u64,
    /// NATS messages skipped because their headers could not be parsed (e.g. a header name
    /// with a space); the relay takes them out before they reach the NATS client.
    pub invalid_headers: u64,
    /// Imported events whose sender's time was further than `max_clock_skew_ms` from this
    /// machine's clock: they keep their arrival time (also counted in `imported`).
    pub clock_skew_clamped: u64,
    /// Imported messages that came with a reply subject (requests), also counted in
    /// `imported`.
    pub requests_received: u64,
    /// Answers sent to imported requests.
    pub replies_sent: u64,
    /// Imported requests forgotten unanswered because `max_pending_requests` newer ones waited.
    pub requests_forgotten: u64,
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
    pub(crate) ledger: Ledger,
    pub(crate) buffered_while_disconnected: AtomicU64,
    pub(crate) dropped_while_disconnected: AtomicU64,
    pub(crate) not_exportable: AtomicU64,
    pub(crate) publish_errors: AtomicU64,
    pub(crate) imported: AtomicU64,
    pub(crate) invalid_json: AtomicU64,
    pub(crate) non_finite_json: AtomicU64,
    pub(crate) empty_payloads: AtomicU64,
    pub(crate) oversized: AtomicU64,
    pub(crate) invalid_subject: AtomicU64,
    pub(crate) invalid_headers: AtomicU64,
    pub(crate) clock_skew_clamped: AtomicU64,
    pub(crate) requests_received: AtomicU64,
    pub(crate) replies_sent: AtomicU64,
    pub(crate) requests_forgotten: AtomicU64,
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
        let ledger = self.ledger.counts();
        BridgeStats {
            exported: ledger.confirmed,
            in_flight: ledger.in_flight,
            unconfirmed: ledger.unconfirmed,
            buffered_while_disconnected: get(&self.buffered_while_disconnected),
            dropped_while_disconnected: get(&self.dropped_while_disconnected),
            not_exportable: get(&self.not_exportable),
            publish_errors: get(&self.publish_errors),
            imported: get(&self.imported),
            invalid_json: get(&self.invalid_json),
            non_finite_json: get(&self.non_finite_json),
            empty_payloads: get(&self.empty_payloads),
            oversized: get(&self.oversized),
            invalid_subject: get(&self.invalid_subject),
            invalid_headers: get(&self.invalid_headers),
            clock_skew_clamped: get(&self.clock_skew_clamped),
            requests_received: get(&self.requests_received),
            replies_sent: get(&self.replies_sent),
            requests_forgotten: get(&self.requests_forgotten),
            own_ignored: get(&self.own_ignored),
            slow_consumer_drops: get(&self.slow_consumer_drops),
            disconnects: get(&self.disconnects),
            reconnects: get(&self.reconnects),
        }
    }
}
