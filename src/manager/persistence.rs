//! The manager's side of the state store: what it records, what it restores, and the
//! operator's decisions (disable, enable, ignore, hold stopped).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crate::error::Error;
use crate::lifecycle::{Hook, HookFailure};
use crate::manager::ModuleManager;
use crate::manager::entry::Entry;
use crate::state::{Availability, Change, FailureRecord, StateError, StateStore};

/// A state store and the changes not yet written to it.
pub(crate) struct Persistence {
    pub(crate) store: Arc<dyn StateStore>,
    /// Changes recorded during an operation, written in one transaction when it ends.
    pending: Mutex<Vec<(String, Change)>>,
}

impl Persistence {
    pub(crate) fn new(store: Arc<dyn StateStore>) -> Self {
        Self {
            store,
            pending: Mutex::new(Vec::new()),
        }
    }

    /// Notes `change` of `module`, for the next flush.
    fn record(&self, module: &str, change: Change) {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((module.to_owned(), change));
    }

    /// Notes that `hook` of `entry` succeeded; `released` when that ended an operator's
    /// hold.
    pub(crate) fn record_success(&self, entry: &Entry, hook: Hook, released: bool) {
        if released {
            self.record(&entry.name, Change::HeldStopped(false));
        }
        match hook {
            Hook::Install => self.record(
                &entry.name,
                Change::Installed(entry.installed_config().as_value().clone()),
            ),
            Hook::Start => self.record(
                &entry.name,
                Change::Started(entry.metadata.get_version().to_string()),
            ),
            // Nothing to remember; every hook is named so that a new one is decided on.
            Hook::Bootstrap | Hook::Stop | Hook::Uninstall | Hook::Reload => {}
        }
    }

    /// Notes a failure.
    pub(crate) fn record_failure(&self, entry: &Entry, failure: &HookFailure) {
        let record = FailureRecord::now(failure.hook().as_str(), failure.cause().to_string());
        self.record(&entry.name, Change::Failed(record));
    }

    /// Writes what the last operation recorded, in one durable transaction, off the async
    /// threads. On failure — a store error, or a write the runtime cancelled before it ran —
    /// the changes are kept for the next attempt and the error returned.
    pub(crate) async fn flush(&self) -> Result<(), Error> {
        let batch = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        if batch.is_empty() {
            return Ok(());
        }
        // Shared with the write so that a write cancelled before it ran hands its batch back.
        let slot = Arc::new(Mutex::new(Some(batch)));
        let store = Arc::clone(&self.store);
        let taken = Arc::clone(&slot);
        let joined = tokio::task::spawn_blocking(move || {
            let batch = taken.lock().unwrap_or_else(|p| p.into_inner()).take()?;
            Some((store.apply(&batch), batch))
        })
        .await;
        let (written, batch) = match joined {
            Ok(Some(done)) => done,
            Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
            // Cancelled (the runtime is shutting down) before the write ran: nothing was
            // written, and saying `Ok` would lose the batch silently.
            Ok(None) | Err(_) => {
                let batch = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
                let changes = batch.as_ref().map_or(0, Vec::len);
                tracing::error!(
                    changes,
                    "state not written: the write was cancelled; it will be retried"
                );
                self.keep(batch.unwrap_or_default());
                return Err(StateError::WriteCancelled { changes }.into());
            }
        };
        if let Err(error) = written {
            tracing::error!(%error, changes = batch.len(), "state not written; it will be retried");
            self.keep(batch);
            return Err(error.into());
        }
        Ok(())
    }

    /// Puts a batch that was not written back in front of the changes noted since.
    fn keep(&self, batch: Vec<(String, Change)>) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let newer = std::mem::replace(&mut *pending, batch);
        pending.extend(newer);
    }
}

impl ModuleManager {
    /// Keeps `name` from starting, now and — with a state store — after restarts; stops it
    /// (and its dependents) first when it runs.
    pub async fn disable(&self, name: &str) -> Result<(), Error> {
        self.set_availability(name, Availability::Disabled).await
    }

    /// Leaves `name` out entirely, like [`disable`](Self::disable); directory discovery
    /// skips ignored modules too.
    pub async fn ignore(&self, name: &str) -> Result<(), Error> {
        self.set_availability(name, Availability::Ignored).await
    }

    /// Lets a disabled or ignored module start again (it is not started here).
    pub async fn enable(&self, name: &str) -> Result<(), Error> {
        self.set_availability(name, Availability::Enabled).await
    }

    async fn set_availability(&self, name: &str, availability: Availability) -> Result<(), Error> {
        let entry = self.entry(name)?;
        if availability != Availability::Enabled {
            self.stop_module(name, false).await?;
        }
        entry.set_availability(availability);
        if let Some(persistence) = &self.inner.persistence {
            persistence.record(name, Change::Availability(availability));
        }
        self.inner.flush_state().await
    }

    /// The state store, when the manager was built with one.
    pub fn state_store(&self) -> Option<&Arc<dyn StateStore>> {
        self.inner.persistence.as_ref().map(|p| &p.store)
    }

    /// Records that an operator stopped (`true`) or started (`false`) `entry`.
    pub(crate) fn hold_stopped(&self, entry: &Entry, held: bool) {
        if entry.held_stopped.swap(held, Ordering::AcqRel) != held
            && let Some(persistence) = &self.inner.persistence
        {
            persistence.record(&entry.name, Change::HeldStopped(held));
        }
    }
}
