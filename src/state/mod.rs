//! State that survives restarts: which modules are disabled, ignored or held stopped by an
//! operator, the configuration each was last installed with, the version that last
//! started, and the last failure.
//!
//! [`StateStore`] is the interface; [`RedbStore`] (feature `redb`, on by default) the
//! embedded default, a single file
//! written with [redb](https://docs.rs/redb) — copy-on-write B-trees with checksums, so a
//! crash at any point leaves the last committed transaction intact, and every
//! [`apply`](StateStore::apply) that returned is on disk.
//!
//! ```
//! use symphra::state::{Availability, Change, RedbStore, StateStore};
//!
//! let dir = tempfile::tempdir()?;
//! let store = RedbStore::open(dir.path().join("state.redb"))?;
//! store.apply(&[("cache".into(), Change::Availability(Availability::Disabled))])?;
//! assert_eq!(store.get("cache")?.unwrap().availability, Availability::Disabled);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod record;
#[cfg(feature = "redb")]
mod redb_store;
#[cfg(feature = "redb")]
mod sealed;

use std::collections::BTreeMap;

pub use error::StateError;
pub use record::{Availability, Change, FailureRecord, ModuleRecord};
#[cfg(feature = "redb")]
pub use redb_store::{FORMAT_VERSION, RedbStore};

/// Where module records are kept. Implementations must make each [`apply`](Self::apply)
/// atomic (all of its changes or none) and durable when it returns, and must be safe to
/// call from several threads at once.
pub trait StateStore: Send + Sync + 'static {
    /// The record of `module`, if any.
    fn get(&self, module: &str) -> Result<Option<ModuleRecord>, StateError>;

    /// Every record, by module name.
    fn all(&self) -> Result<BTreeMap<String, ModuleRecord>, StateError>;

    /// Applies `changes` in order, in one atomic, durable transaction.
    fn apply(&self, changes: &[(String, Change)]) -> Result<(), StateError>;
}
