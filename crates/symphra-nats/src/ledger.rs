//! What the bridge has handed to the NATS client and what the server has confirmed.
//!
//! NATS core has no acknowledgements: an event handed to the client is confirmed once a round
//! trip sent after it comes back (the server has then read everything before it). When the
//! connection is lost, the events handed over since the last confirmation may or may not have
//! reached the server: they are written off as *unconfirmed*. So every exported event is, at
//! any moment, exactly one of exported (confirmed), in flight, or unconfirmed.

use std::sync::Mutex;
use std::sync::PoisonError;
use std::sync::atomic::{AtomicU64, Ordering};

/// The counts of one bridge's export side.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Events handed to the client, ever.
    handed: AtomicU64,
    settled: Mutex<Settled>,
}

#[derive(Debug, Default)]
struct Settled {
    confirmed: u64,
    unconfirmed: u64,
    /// Connections lost so far: a round trip begun on an earlier connection confirms nothing.
    epoch: u64,
}

/// A round trip begun: how many events were handed over when it started, on which connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket {
    handed: u64,
    epoch: u64,
}

/// The ledger's counts at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) confirmed: u64,
    pub(crate) in_flight: u64,
    pub(crate) unconfirmed: u64,
}

impl Ledger {
    /// One more event is in the client's hands.
    #[inline]
    pub(crate) fn handed(&self) {
        self.handed.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether events wait for a confirmation.
    pub(crate) fn has_in_flight(&self) -> bool {
        self.counts().in_flight > 0
    }

    /// To be called just before a round trip is sent.
    pub(crate) fn begin(&self) -> Ticket {
        let settled = self.lock();
        Ticket {
            handed: self.handed.load(Ordering::Acquire),
            epoch: settled.epoch,
        }
    }

    /// The round trip of `ticket` came back: what was handed over before it is confirmed,
    /// unless the connection was lost meanwhile (then it was written off already).
    pub(crate) fn confirm(&self, ticket: Ticket) {
        let mut settled = self.lock();
        let done = settled.confirmed + settled.unconfirmed;
        if settled.epoch == ticket.epoch && ticket.handed > done {
            settled.confirmed += ticket.handed - done;
        }
    }

    /// The connection is lost: what is in flight is written off; returns how many.
    pub(crate) fn connection_lost(&self) -> u64 {
        let mut settled = self.lock();
        let lost = self.handed.load(Ordering::Acquire) - settled.confirmed - settled.unconfirmed;
        settled.unconfirmed += lost;
        settled.epoch += 1;
        lost
    }

    pub(crate) fn counts(&self) -> Counts {
        let settled = self.lock();
        let handed = self.handed.load(Ordering::Acquire);
        Counts {
            confirmed: settled.confirmed,
            in_flight: handed - settled.confirmed - settled.unconfirmed,
            unconfirmed: settled.unconfirmed,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Settled> {
        self.settled.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(l: &Ledger) -> (u64, u64, u64) {
        let c = l.counts();
        (c.confirmed, c.in_flight, c.unconfirmed)
    }

    #[test]
    fn a_round_trip_confirms_what_was_handed_before_it() {
        let ledger = Ledger::default();
        (0..3).for_each(|_| ledger.handed());
        let ticket = ledger.begin();
        ledger.handed();
        assert_eq!(counts(&ledger), (0, 4, 0));
        ledger.confirm(ticket);
        assert_eq!(counts(&ledger), (3, 1, 0));
        ledger.confirm(ticket); // twice changes nothing
        assert_eq!(counts(&ledger), (3, 1, 0));
    }

    #[test]
    fn a_lost_connection_writes_off_what_is_in_flight() {
        let ledger = Ledger::default();
        (0..5).for_each(|_| ledger.handed());
        let stale = ledger.begin();
        assert_eq!(ledger.connection_lost(), 5);
        ledger.handed();
        ledger.confirm(stale); // begun on the lost connection: confirms nothing
        assert_eq!(counts(&ledger), (0, 1, 5));
        let fresh = ledger.begin();
        ledger.confirm(fresh);
        assert_eq!(counts(&ledger), (1, 0, 5));
        assert!(!ledger.has_in_flight());
    }
}
