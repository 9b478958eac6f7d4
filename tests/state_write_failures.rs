//! When the state store cannot be written, the manager says so and keeps the changes for its
//! next write: a failed or cancelled write never loses a batch silently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::FutureExt as _;
use parking_lot::Mutex;
use symphra::Error;
use symphra::prelude::*;
use symphra::state::{Availability, Change, ModuleRecord, StateError, StateStore};
use symphra::testing::{CallLog, Probe};

/// One written transaction.
type Batch = Vec<(String, Change)>;

/// A store in memory whose writes fail while `broken` is set, recording every batch written.
#[derive(Clone, Default)]
struct FlakyStore {
    broken: Arc<AtomicBool>,
    records: Arc<Mutex<BTreeMap<String, ModuleRecord>>>,
    batches: Arc<Mutex<Vec<Batch>>>,
}

impl StateStore for FlakyStore {
    fn get(&self, module: &str) -> Result<Option<ModuleRecord>, StateError> {
        Ok(self.records.lock().get(module).cloned())
    }

    fn all(&self) -> Result<BTreeMap<String, ModuleRecord>, StateError> {
        Ok(self.records.lock().clone())
    }

    fn apply(&self, changes: &[(String, Change)]) -> Result<(), StateError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(StateError::Storage {
                path: "flaky.redb".into(),
                source: "disk full".into(),
            });
        }
        let mut records = self.records.lock();
        for (module, change) in changes {
            records.entry(module.clone()).or_default().apply(change);
        }
        self.batches.lock().push(changes.to_vec());
        Ok(())
    }
}

fn availability(store: &FlakyStore, module: &str) -> Option<Availability> {
    store.records.lock().get(module).map(|r| r.availability)
}

#[tokio::test]
async fn a_failed_write_is_an_error_and_its_changes_are_written_by_the_next_one() {
    let store = FlakyStore::default();
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .state_store(store.clone())
        .build()
        .unwrap();

    store.broken.store(true, Ordering::SeqCst);
    let refused = manager.disable("cache").await;
    match refused {
        Err(Error::State(error)) => {
            assert!(matches!(*error, StateError::Storage { .. }), "{error}");
        }
        other => panic!("expected the store's error, got {other:?}"),
    }
    assert!(store.batches.lock().is_empty(), "nothing was written");

    // Repaired: the next operation writes the kept change first, then its own.
    store.broken.store(false, Ordering::SeqCst);
    manager.enable("cache").await.unwrap();
    let batches = store.batches.lock().clone();
    assert_eq!(batches.len(), 1);
    let written: Vec<_> = batches[0].iter().map(|(m, c)| (m.as_str(), c)).collect();
    assert_eq!(
        written,
        [
            ("cache", &Change::Availability(Availability::Disabled)),
            ("cache", &Change::Availability(Availability::Enabled)),
        ]
    );
    assert_eq!(availability(&store, "cache"), Some(Availability::Enabled));
}

#[test]
fn a_write_cancelled_by_a_shutting_down_runtime_is_an_error_and_is_retried() {
    let store = FlakyStore::default();
    let log = CallLog::default();
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let manager = first.block_on(async {
        ModuleManager::builder()
            .module(Probe::new("cache", &log))
            .state_store(store.clone())
            .build()
    });
    let manager = manager.unwrap();
    first.block_on(manager.disable("cache")).unwrap();
    assert_eq!(availability(&store, "cache"), Some(Availability::Disabled));

    // The runtime shuts down: a write spawned on it now is cancelled before it runs.
    let handle = first.handle().clone();
    first.shutdown_background();
    let cancelled = {
        let _inside = handle.enter();
        // Nothing in it waits for anything but the cancelled write: one poll ends it.
        manager
            .enable("cache")
            .now_or_never()
            .expect("the enable finishes at its first poll")
    };
    match cancelled {
        Err(Error::State(error)) => {
            assert!(
                matches!(*error, StateError::WriteCancelled { changes: 1 }),
                "{error}"
            );
        }
        other => panic!("a cancelled write must be an error, got {other:?}"),
    }
    assert_eq!(availability(&store, "cache"), Some(Availability::Disabled));

    // On a live runtime the next operation writes the kept change.
    let second = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    second.block_on(manager.start_all()).unwrap();
    assert_eq!(availability(&store, "cache"), Some(Availability::Enabled));
    second.block_on(manager.stop_all()).unwrap();
}

/// A store whose writes panic.
struct PanickingStore;

impl StateStore for PanickingStore {
    fn get(&self, _module: &str) -> Result<Option<ModuleRecord>, StateError> {
        Ok(None)
    }

    fn all(&self) -> Result<BTreeMap<String, ModuleRecord>, StateError> {
        Ok(BTreeMap::new())
    }

    fn apply(&self, _changes: &[(String, Change)]) -> Result<(), StateError> {
        panic!("the store's own bug");
    }
}

#[tokio::test]
async fn a_write_that_panics_goes_on_panicking_and_is_not_taken_for_a_cancelled_one() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .state_store(PanickingStore)
        .build()
        .unwrap();
    let panicked = std::panic::AssertUnwindSafe(manager.disable("cache"))
        .catch_unwind()
        .await;
    let payload = match panicked {
        Err(payload) => payload,
        Ok(result) => panic!("the store's panic was swallowed into {result:?}"),
    };
    assert_eq!(
        payload.downcast_ref::<&str>(),
        Some(&"the store's own bug"),
        "the store's own panic, resumed"
    );
}

#[tokio::test]
async fn an_ignored_module_stops_stays_down_and_is_recorded_as_ignored() {
    let store = FlakyStore::default();
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("cache", &log))
        .state_store(store.clone())
        .build()
        .unwrap();
    manager.start_all().await.unwrap();

    manager.ignore("cache").await.unwrap();
    assert_eq!(log.modules_calling(Hook::Stop), ["cache"]);
    assert_eq!(availability(&store, "cache"), Some(Availability::Ignored));
    manager.start_all().await.unwrap();
    let handle = manager.module("cache").unwrap();
    assert_eq!(
        handle.state(),
        ModuleState::Stopped,
        "an ignored module stays down"
    );
    assert_eq!(
        log.modules_calling(Hook::Start),
        ["cache"],
        "started once, before"
    );
}
