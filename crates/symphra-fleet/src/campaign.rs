//! One singleton's campaign: win its lease in the leases bucket with `create`, keep it with
//! compare-and-swap renewals, give it up before the server can expire it.

use bytes::Bytes;
use futures_util::StreamExt;
use symphra::context::{CancellationToken, Lease};
use tokio::sync::watch;
use tokio::time::{Instant, sleep, sleep_until, timeout};

use async_nats::jetstream::kv::{self, Operation, UpdateErrorKind};

use crate::LeaseTiming;

/// Campaigns for, holds and gives up the lease on one key; tells the rest of the fleet
/// what it holds through `holding`.
pub(crate) struct Campaign {
    pub(crate) store: kv::Store,
    /// The key: the module's name.
    pub(crate) key: String,
    /// What the holder writes as the value: who it is.
    pub(crate) holder: Bytes,
    pub(crate) timing: LeaseTiming,
    /// The lease held now, or `None`.
    pub(crate) holding: watch::Sender<Option<Lease>>,
    pub(crate) shutdown: CancellationToken,
}

/// How a tenure ended.
enum Ended {
    /// The process is shutting down: the lease is handed back.
    Shutdown,
    /// Someone else holds the key now: a renewal found a newer revision.
    Taken,
    /// No renewal succeeded in time: the lease is given up locally.
    GaveUp,
}

impl Campaign {
    /// Campaigns until shutdown.
    pub(crate) async fn run(self) {
        let mut watcher = None;
        while !self.shutdown.is_cancelled() {
            let sent = Instant::now();
            let created = timeout(
                self.timing.renew_every(),
                self.store.create(&self.key, self.holder.clone()),
            )
            .await;
            match created {
                Ok(Ok(revision)) => self.hold(revision, sent).await,
                Ok(Err(error)) if error.kind() == kv::CreateErrorKind::AlreadyExists => {
                    self.wait_turn(&mut watcher).await;
                }
                Ok(Err(error)) => {
                    tracing::warn!(module = %self.key, %error, "lease campaign failed; retrying");
                    self.pause().await;
                }
                // The create may have reached the server: then the key is ours without our
                // knowing, and nobody runs the module until it expires. Safe, and rare.
                Err(_) => {
                    tracing::warn!(module = %self.key, "lease campaign timed out; retrying");
                }
            }
        }
    }

    /// Holds the lease won at `token` (the create's revision, sent at `sent`) until it
    /// ends; then hands it back or gives it up.
    async fn hold(&self, token: u64, sent: Instant) {
        let lease = Lease::new(token, sent + self.timing.give_up_after());
        tracing::info!(module = %self.key, token, "lease won");
        self.holding.send_replace(Some(lease.clone()));
        let (ended, revision) = self.renew(&lease, token, sent).await;
        lease.revoke();
        self.holding.send_replace(None);
        match ended {
            Ended::Taken => {
                tracing::warn!(module = %self.key, token, "lease taken by another replica")
            }
            Ended::GaveUp => {
                tracing::warn!(module = %self.key, token, "lease given up: no renewal in time");
            }
            Ended::Shutdown => tracing::info!(module = %self.key, token, "lease handed back"),
        }
        if !matches!(ended, Ended::Taken) {
            // Lets a waiting replica campaign at once, if the key is still ours (the
            // expected revision makes sure); otherwise the server's expiry does it.
            let handed = timeout(
                self.timing.renew_every(),
                self.store.delete_expect_revision(&self.key, Some(revision)),
            )
            .await;
            if let Ok(Err(error)) = handed {
                tracing::debug!(module = %self.key, %error, "lease not handed back");
            }
        }
    }

    /// Renews every `renew_every` with compare-and-swap on the last revision; returns why
    /// it stopped, and the last revision written.
    async fn renew(&self, lease: &Lease, mut revision: u64, mut sent: Instant) -> (Ended, u64) {
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return (Ended::Shutdown, revision),
                () = sleep_until(lease.valid_until()) => return (Ended::GaveUp, revision),
                () = sleep_until(sent + self.timing.renew_every()) => {}
            }
            sent = Instant::now();
            let updated = tokio::select! {
                biased;
                () = sleep_until(lease.valid_until()) => return (Ended::GaveUp, revision),
                updated = self.store.update(&self.key, self.holder.clone(), revision) => updated,
            };
            match updated {
                Ok(next) => {
                    revision = next;
                    // Sent before the local deadline, dated by the server after it was sent:
                    // the server's lease lasts at least `ttl` past `sent`.
                    lease.extend_until(sent + self.timing.give_up_after());
                }
                Err(error) if error.kind() == UpdateErrorKind::WrongLastRevision => {
                    return (Ended::Taken, revision);
                }
                Err(error) => {
                    tracing::warn!(module = %self.key, %error, "lease renewal failed; retrying");
                }
            }
        }
    }

    /// Waits for the key to be deleted (a holder handing it back), or one renewal period
    /// (the server expires keys without telling watchers), or shutdown.
    async fn wait_turn(&self, watcher: &mut Option<kv::Watch>) {
        if watcher.is_none() {
            *watcher = self.store.watch(&self.key).await.ok();
        }
        let Some(watch) = watcher.as_mut() else {
            return self.pause().await;
        };
        let period = sleep(self.timing.renew_every());
        tokio::pin!(period);
        loop {
            tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return,
                () = &mut period => return,
                event = watch.next() => match event {
                    Some(Ok(entry)) if entry.operation != Operation::Put => return,
                    Some(Ok(_)) => {}
                    // A broken watch: poll instead, and open a new one next time.
                    Some(Err(_)) | None => {
                        *watcher = None;
                        return period.await;
                    }
                },
            }
        }
    }

    /// One renewal period, or less on shutdown.
    async fn pause(&self) {
        tokio::select! {
            () = self.shutdown.cancelled() => {}
            () = sleep(self.timing.renew_every()) => {}
        }
    }
}
