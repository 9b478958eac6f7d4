//! A replica's reconciler: applies the fleet's decisions to its manager, through the
//! manager's operator commands, as they are written.
//!
//! Decisions arrive by two roads. A KV watch (an ordered push consumer) delivers each one
//! as it is written. But a watch whose consumer lived on a NATS server that died can stay
//! silent for long, with no error (async-nats recreates the consumer in the background,
//! with a back-off that reaches 10 s; in tests such watches stayed silent for over a
//! minute). So every resync period the reconciler also asks the stream's leader for the
//! bucket's last revision, and when the watch has not delivered it, reads this replica's
//! modules' keys from the leader, applies what is newer, and opens a new watch. A decision
//! is applied once per revision, whichever road brings it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{kv, stream::LastRawMessageErrorKind};
use futures_util::StreamExt;
use symphra::context::CancellationToken;
use symphra::{ModuleManager, ModuleState};
use tokio::sync::Notify;

use crate::desired::{Availability, Desired, Run};

/// Applies the decisions about `module` (`None`: the fleet decides nothing about it,
/// which leaves it as it is). A module this replica does not have is ignored.
///
/// The fleet wins over the replica's own state store: the commands used here (`disable`,
/// `enable`, `stop`, `start`, `configure`) record their effect in the store as an
/// operator's would, so a restart without NATS keeps the fleet's last word.
pub(crate) async fn apply(manager: &ModuleManager, module: &str, desired: &Desired) {
    let Ok(handle) = manager.module(module) else {
        tracing::debug!(%module, "a fleet decision about a module this replica does not have");
        return;
    };
    let report = |what: &str, result: Result<(), symphra::Error>| {
        if let Err(error) = result {
            tracing::warn!(%module, %error, "fleet decision: {what} failed");
        }
    };
    if desired.availability == Availability::Disabled {
        report("disable", manager.disable(module).await);
        return;
    }
    report("enable", manager.enable(module).await);
    let mut was_running = matches!(handle.state(), ModuleState::Started);
    if let Some(config) = &desired.config
        && handle.config().as_value() != config
    {
        report("configure", manager.configure(module, config.clone()));
        // A new configuration reaches a module at its install: reinstall it.
        if was_running {
            report("stop", manager.stop_for_now(module).await.map(drop));
        }
        if matches!(
            handle.state(),
            ModuleState::Installed | ModuleState::Stopped
        ) {
            report("uninstall", manager.uninstall(module).await);
        }
        was_running = false;
    }
    match desired.run {
        Some(Run::Stopped) => report("stop", manager.stop(module).await.map(drop)),
        Some(Run::Started) | None if !was_running => {
            report("start", manager.start(module).await.map(drop));
        }
        Some(Run::Started) | None => {}
    }
}

/// The header in which a KV message says it deletes or purges its key.
const KV_OPERATION: &str = "KV-Operation";

/// How many times reading the decisions at attach is tried.
const APPLY_ALL_ATTEMPTS: u32 = 12;

/// A replica's reconciler: the decisions it has applied, and where its watch is.
pub(crate) struct Reconciler {
    manager: ModuleManager,
    store: kv::Store,
    /// The revision applied last for each of this replica's modules: a decision is applied
    /// once, however many times the watch, a new watch or a resync delivers it. Only local
    /// modules are recorded, so its size is bounded by the manager's, not the bucket's.
    applied: HashMap<String, u64>,
    /// The next revision the watch should deliver.
    next: u64,
    /// Poked after each decision applied, so that the heartbeat reports it at once.
    changed: Arc<Notify>,
}

impl Reconciler {
    /// A reconciler that has applied nothing yet.
    pub(crate) fn new(manager: ModuleManager, store: kv::Store, changed: Arc<Notify>) -> Self {
        Self {
            manager,
            store,
            applied: HashMap::new(),
            next: 0,
            changed,
        }
    }

    /// Applies every decision the bucket holds about this replica's modules, read from
    /// the stream's leader. A cluster that has just formed, or is electing the stream's
    /// leader, times requests out for a few seconds: retried for about half a minute.
    pub(crate) async fn apply_all(&mut self) -> Result<(), async_nats::Error> {
        let mut delays =
            symphra::util::Retry::<async_nats::Error>::exponential(Duration::from_millis(200))
                .max_delay(Duration::from_secs(3))
                .max_attempts(APPLY_ALL_ATTEMPTS)
                .delays();
        loop {
            let error = match self.resync().await {
                Ok(_) => return Ok(()),
                Err(error) => error,
            };
            let Some(delay) = delays.next() else {
                return Err(error);
            };
            tracing::warn!(%error, ?delay, "cannot read the fleet's decisions yet; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Asks the stream's leader for the bucket's last revision; if the watch has not
    /// delivered it, reads the keys of this replica's modules from the leader, applies
    /// what is newer than what was applied, and returns `true` (the watch should be
    /// reopened from the new `next`).
    async fn resync(&mut self) -> Result<bool, async_nats::Error> {
        // A fresh answer: `kv::Store::status` returns what was read when the bucket was opened.
        let mut stream = self.store.stream.clone();
        let last = stream.info().await?.state.last_sequence;
        if last < self.next {
            return Ok(false);
        }
        for handle in self.manager.handles() {
            let key = handle.name();
            let subject = format!("{}{key}", self.store.prefix);
            // Not a direct get, which any replica of the stream answers, however far behind.
            match stream.get_last_raw_message_by_subject(&subject).await {
                Ok(message) => {
                    let put = !message
                        .headers
                        .get(KV_OPERATION)
                        .is_some_and(|operation| matches!(operation.as_str(), "DEL" | "PURGE"));
                    let value = put.then_some(&message.payload[..]);
                    self.apply_revision(key, message.sequence, value).await;
                }
                Err(error) if error.kind() == LastRawMessageErrorKind::NoMessageFound => {}
                Err(error) => return Err(error.into()),
            }
        }
        self.next = self.next.max(last + 1);
        Ok(true)
    }

    /// Applies revision `revision` of `key` (`value`: `None` for a delete, which changes
    /// nothing) unless it, or a later one, was applied already.
    async fn apply_revision(&mut self, key: &str, revision: u64, value: Option<&[u8]>) {
        if self.manager.module(key).is_err() {
            tracing::debug!(module = %key, "a fleet decision about a module this replica does not have");
            return;
        }
        if self.applied.get(key).is_some_and(|&seen| seen >= revision) {
            return;
        }
        self.applied.insert(key.to_owned(), revision);
        let Some(value) = value else { return };
        match Desired::decode(key, value) {
            Ok(desired) => {
                tracing::info!(module = %key, revision, ?desired, "fleet decision");
                apply(&self.manager, key, &desired).await;
                self.changed.notify_one();
            }
            Err(error) => tracing::warn!(%error, "fleet decision ignored"),
        }
    }

    /// Applies decisions as they are written until shutdown; every `resync` checks the
    /// watch against the stream's leader (and reopens a watch that failed or fell behind).
    pub(crate) async fn run(mut self, resync: Duration, shutdown: CancellationToken) {
        let mut check = tokio::time::interval(resync);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut updates = self.open().await;
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                entry = next_entry(&mut updates) => match entry {
                    Some(Ok(entry)) => {
                        self.next = self.next.max(entry.revision + 1);
                        let value = (entry.operation == kv::Operation::Put)
                            .then_some(&entry.value[..]);
                        self.apply_revision(&entry.key, entry.revision, value).await;
                    }
                    // Reopened at the next check, so that a watch failing at once cannot spin.
                    Some(Err(error)) => {
                        tracing::warn!(%error, "the decisions' watch failed; reopening it");
                        updates = None;
                    }
                    None => updates = None,
                },
                _ = check.tick() => {
                    match self.resync().await {
                        Ok(true) => {
                            tracing::warn!(
                                next = self.next,
                                "the decisions' watch fell behind; applied them from the bucket"
                            );
                            updates = None;
                        }
                        Ok(false) => {}
                        Err(error) => {
                            tracing::warn!(%error, "cannot check the fleet's decisions; retrying");
                        }
                    }
                    if updates.is_none() {
                        updates = self.open().await;
                    }
                }
            }
        }
    }

    /// A watch from `next`, or `None` (retried at the next check) when it cannot be opened.
    async fn open(&self) -> Option<kv::Watch> {
        match self.store.watch_all_from_revision(self.next).await {
            Ok(updates) => Some(updates),
            Err(error) => {
                tracing::warn!(%error, "cannot watch the fleet's decisions; retrying");
                None
            }
        }
    }
}

/// The next entry of `updates`; never, while there is no watch.
async fn next_entry(
    updates: &mut Option<kv::Watch>,
) -> Option<Result<kv::Entry, kv::WatcherError>> {
    match updates {
        Some(updates) => updates.next().await,
        None => std::future::pending().await,
    }
}
