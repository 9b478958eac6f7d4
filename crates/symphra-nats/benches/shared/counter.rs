//! Counts the events a bench receives, sends them paced so that none is dropped, and waits
//! until a subscription is in place before anything is sent: shared by `benches/bridge.rs`
//! and `benches/bridge_fixed.rs` (included with `#[path]`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// At most this many events in flight: the receiving side's buffers (64 Ki messages) never
/// overflow, so nothing is dropped and every run measures delivered events.
const WINDOW: u64 = 16_384;

/// Counts received events and wakes the sender once its target is reached.
#[derive(Default)]
pub(crate) struct Counter {
    count: AtomicU64,
    target: AtomicU64,
    reached: Notify,
    progress: Notify,
}

impl Counter {
    /// One event arrived.
    pub(crate) fn hit(&self) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        if n == self.target.load(Ordering::Relaxed) {
            self.reached.notify_one();
        }
        if n.is_multiple_of(1024) {
            self.progress.notify_one();
        }
    }

    /// Waits while more than [`WINDOW`] events are in flight.
    async fn pace(&self, sent: u64) {
        while sent.saturating_sub(self.count.load(Ordering::Relaxed)) > WINDOW {
            self.progress.notified().await;
        }
    }

    /// Sends `n` events, the `i`th with `publish(i)`, paced, and waits until they have all
    /// arrived; panics, naming how many did, if they have not within `within`.
    pub(crate) async fn send<F: Future<Output = ()>>(
        &self,
        n: u64,
        within: Duration,
        mut publish: impl FnMut(u64) -> F,
    ) {
        let base = self.count.load(Ordering::Relaxed);
        self.target.store(base + n, Ordering::Relaxed);
        let reached = self.reached.notified();
        tokio::pin!(reached);
        reached.as_mut().enable();
        for i in 0..n {
            if i.is_multiple_of(1024) {
                self.pace(base + i).await;
            }
            publish(i).await;
        }
        if self.count.load(Ordering::Relaxed) < base + n
            && tokio::time::timeout(within, reached).await.is_err()
        {
            panic!(
                "only {} of {n} events arrived within {within:?}: events were dropped",
                self.count.load(Ordering::Relaxed) - base,
            );
        }
    }
}

/// Returns once the server has `subscriber`'s subscriptions, so that no event published
/// afterwards on another connection finds nobody. `flush` is not enough: it only empties the
/// socket (a run then lacked up to 2,048 events, one batch of the publisher's). A request
/// nobody answers comes back ("no responders") only once the server has processed everything
/// sent before it, the subscriptions included.
pub(crate) async fn await_subscription(subscriber: &async_nats::Client) {
    let probe = subscriber
        .request(subscriber.new_inbox(), bytes::Bytes::new())
        .await;
    assert!(
        matches!(&probe, Err(e) if e.kind() == async_nats::RequestErrorKind::NoResponders),
        "the round trip after subscribing: {probe:?}"
    );
}
