//! The embedded state store: one redb file.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use redb::{
    Database, DatabaseError, ReadOnlyDatabase, ReadableDatabase, ReadableTable, StorageError,
    TableDefinition, TableError,
};

use super::sealed;
use crate::state::{Change, ModuleRecord, StateError, StateStore};
use crate::util::panic_message;

/// The format of the records this build writes. A file with a newer format is refused; an
/// older one is migrated when opened. Format 2 puts a checksum before each record.
pub const FORMAT_VERSION: u32 = 2;

/// The first format whose records carry a checksum.
const SEALED_SINCE: u32 = 2;

const META: TableDefinition<&str, u32> = TableDefinition::new("symphra_meta");
const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("symphra_modules");
const FORMAT_KEY: &str = "format";

/// A [`StateStore`] in a single redb file.
///
/// Every [`apply`](StateStore::apply) is one transaction, durable (fsynced) when it
/// returns. The file is locked while open: a second process opening it gets
/// [`StateError::Locked`] rather than a share in silent corruption.
///
/// Damage is refused, never believed: redb's checksums catch damaged pages, a checksum per
/// record catches a record damaged or edited to another valid value, and a damaged file on
/// which redb panics rather than returning an error gives [`StateError::Corrupt`] like the
/// others (the store is then unusable, and its handle is leaked rather than closed on a
/// file it cannot trust).
pub struct RedbStore {
    path: PathBuf,
    /// `None` only while being dropped.
    db: Option<Database>,
    /// Why the store is unusable: set when redb panicked on the file.
    broken: Mutex<Option<String>>,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Opens the store at `path`, creating it when there is no file. A file that is not a
    /// store, or whose format is newer than this build's, is refused and left untouched.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref().to_path_buf();
        if path.exists() {
            // Look before writing anything: the checks below only read.
            guard(&path, || check_existing(&path))?;
        } else {
            create_new(&path)?;
        }
        let db = guard(&path, || {
            Database::create(&path).map_err(|e| open_error(&path, e))
        })?;
        let store = Self {
            path,
            db: Some(db),
            broken: Mutex::new(None),
        };
        store.guarded(|db| store.migrate(db))?;
        Ok(store)
    }

    /// Runs `work` on the database; a panic of redb on a damaged file becomes
    /// [`StateError::Corrupt`], and the store refuses any use after it.
    fn guarded<R>(
        &self,
        work: impl FnOnce(&Database) -> Result<R, StateError>,
    ) -> Result<R, StateError> {
        if let Some(reason) = self.broken.lock().clone() {
            return Err(self.corrupt(reason));
        }
        let Some(db) = &self.db else {
            return Err(self.corrupt("it is being closed".into()));
        };
        // Unwind safe because a database that panicked is never used again: `broken` is
        // set before the error is returned, and checked before every use.
        match catch_unwind(AssertUnwindSafe(|| work(db))) {
            Ok(result) => result,
            Err(panic) => {
                let reason = format!("the storage engine failed on it: {}", panic_message(panic));
                *self.broken.lock() = Some(reason.clone());
                Err(self.corrupt(reason))
            }
        }
    }

    fn corrupt(&self, reason: String) -> StateError {
        StateError::Corrupt {
            path: self.path.clone(),
            reason,
        }
    }

    /// The file behind the store.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn storage(&self, source: impl Into<redb::Error>) -> StateError {
        storage_error(&self.path, source.into())
    }

    /// Brings an older (or new, empty) file to [`FORMAT_VERSION`].
    fn migrate(&self, db: &Database) -> Result<(), StateError> {
        let found = format_of(db, &self.path)?;
        match found {
            Some(FORMAT_VERSION) => return Ok(()),
            Some(found) if found > FORMAT_VERSION => {
                return Err(StateError::NewerFormat {
                    path: self.path.clone(),
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            _ => {}
        }
        // Formats 0 (no version recorded) and 1 stored the same records without a checksum:
        // each is sealed as it is.
        let txn = db.begin_write().map_err(|e| self.storage(e))?;
        {
            let mut meta = txn.open_table(META).map_err(|e| self.storage(e))?;
            meta.insert(FORMAT_KEY, FORMAT_VERSION)
                .map_err(|e| self.storage(e))?;
            let mut records = txn.open_table(RECORDS).map_err(|e| self.storage(e))?;
            if found.is_some_and(|found| found < SEALED_SINCE) || found.is_none() {
                let mut unsealed = Vec::new();
                for row in records.iter().map_err(|e| self.storage(e))? {
                    let (module, bytes) = row.map_err(|e| self.storage(e))?;
                    let module = module.value().to_owned();
                    unsealed.push((sealed::seal(&module, bytes.value()), module));
                }
                for (bytes, module) in unsealed {
                    records
                        .insert(module.as_str(), bytes.as_slice())
                        .map_err(|e| self.storage(e))?;
                }
            }
        }
        txn.commit().map_err(|e| self.storage(e))?;
        tracing::info!(path = %self.path.display(), from = ?found, to = FORMAT_VERSION, "state store migrated");
        Ok(())
    }

    fn decode(&self, module: &str, stored: &[u8]) -> Result<ModuleRecord, StateError> {
        let bad = |reason: String| StateError::BadRecord {
            path: self.path.clone(),
            module: module.to_owned(),
            reason,
        };
        let json = sealed::unseal(module, stored).map_err(|reason| bad(reason.to_owned()))?;
        serde_json::from_slice(json).map_err(|error| bad(error.to_string()))
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        let Some(db) = self.db.take() else { return };
        if self.broken.get_mut().is_some() {
            // Closing writes to the file, which redb cannot be trusted with any more.
            std::mem::forget(db);
            return;
        }
        // Closing a damaged file may panic in redb too: it is then left as after a crash.
        if catch_unwind(AssertUnwindSafe(move || drop(db))).is_err() {
            tracing::error!(path = %self.path.display(), "the state file is damaged: closing it failed");
        }
    }
}

/// Runs `work` (opening a file) with a panic of redb turned into [`StateError::Corrupt`].
fn guard<R>(path: &Path, work: impl FnOnce() -> Result<R, StateError>) -> Result<R, StateError> {
    // Unwind safe: what `work` opened is dropped by the unwinding and never used.
    catch_unwind(AssertUnwindSafe(work)).unwrap_or_else(|panic| {
        Err(StateError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("the storage engine failed on it: {}", panic_message(panic)),
        })
    })
}

/// A storage error of redb: damage found by its checksums is [`StateError::Corrupt`].
fn storage_error(path: &Path, error: redb::Error) -> StateError {
    match error {
        redb::Error::Corrupted(reason) => StateError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
        other => StateError::Storage {
            path: path.to_path_buf(),
            source: Box::new(other),
        },
    }
}

impl StateStore for RedbStore {
    fn get(&self, module: &str) -> Result<Option<ModuleRecord>, StateError> {
        self.guarded(|db| {
            let txn = db.begin_read().map_err(|e| self.storage(e))?;
            let table = txn.open_table(RECORDS).map_err(|e| self.storage(e))?;
            let value = table.get(module).map_err(|e| self.storage(e))?;
            value
                .map(|bytes| self.decode(module, bytes.value()))
                .transpose()
        })
    }

    fn all(&self) -> Result<BTreeMap<String, ModuleRecord>, StateError> {
        self.guarded(|db| self.all_in(db))
    }

    fn apply(&self, changes: &[(String, Change)]) -> Result<(), StateError> {
        if changes.is_empty() {
            return Ok(());
        }
        self.guarded(|db| self.apply_in(db, changes))
    }
}

impl RedbStore {
    fn all_in(&self, db: &Database) -> Result<BTreeMap<String, ModuleRecord>, StateError> {
        let txn = db.begin_read().map_err(|e| self.storage(e))?;
        let table = txn.open_table(RECORDS).map_err(|e| self.storage(e))?;
        let mut records = BTreeMap::new();
        for row in table.iter().map_err(|e| self.storage(e))? {
            let (module, bytes) = row.map_err(|e| self.storage(e))?;
            let module = module.value().to_owned();
            let record = self.decode(&module, bytes.value())?;
            records.insert(module, record);
        }
        Ok(records)
    }

    fn apply_in(&self, db: &Database, changes: &[(String, Change)]) -> Result<(), StateError> {
        let txn = db.begin_write().map_err(|e| self.storage(e))?;
        {
            let mut table = txn.open_table(RECORDS).map_err(|e| self.storage(e))?;
            for (module, change) in changes {
                let mut record = match table.get(module.as_str()).map_err(|e| self.storage(e))? {
                    Some(bytes) => self.decode(module, bytes.value())?,
                    None => ModuleRecord::default(),
                };
                record.apply(change);
                let bytes = serde_json::to_vec(&record).map_err(|error| StateError::BadRecord {
                    path: self.path.clone(),
                    module: module.clone(),
                    reason: error.to_string(),
                })?;
                let stored = sealed::seal(module, &bytes);
                table
                    .insert(module.as_str(), stored.as_slice())
                    .map_err(|e| self.storage(e))?;
            }
        }
        txn.commit().map_err(|e| self.storage(e))
    }
}

/// The format recorded in `db`, `None` when none is.
fn format_of(db: &impl ReadableDatabase, path: &Path) -> Result<Option<u32>, StateError> {
    let storage = |source: redb::Error| storage_error(path, source);
    let txn = db.begin_read().map_err(|e| storage(e.into()))?;
    match txn.open_table(META) {
        Ok(meta) => Ok(meta
            .get(FORMAT_KEY)
            .map_err(|e| storage(e.into()))?
            .map(|v| v.value())),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(error) => Err(storage(error.into())),
    }
}

/// Refuses, without writing, a file that is not a store, is locked, or is of a newer
/// format.
/// Makes a new, empty store at `path` as a whole: written under a temporary name beside it,
/// then linked into place. A process killed while creating the store leaves at most the
/// temporary file, never a half-written store at `path` that later opens refuse.
fn create_new(path: &Path) -> Result<(), StateError> {
    let io = |source: std::io::Error| StateError::Storage {
        path: path.to_path_buf(),
        source: Box::new(source),
    };
    let mut name = path
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(format!(".new-{}", std::process::id()));
    let temporary = path.with_file_name(name);
    // A leftover of this process id's earlier crash is no store of anyone's.
    let _ = std::fs::remove_file(&temporary);
    let created = Database::create(&temporary).map_err(|error| open_error(&temporary, error));
    let linked = created.and_then(|db| {
        drop(db);
        // A link, unlike a rename, refuses to replace a store another process made
        // meanwhile; that one is then opened instead.
        match std::fs::hard_link(&temporary, path) {
            Ok(()) => Ok(()),
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(error) => Err(io(error)),
        }
    });
    let _ = std::fs::remove_file(&temporary);
    linked
}

fn check_existing(path: &Path) -> Result<(), StateError> {
    let db = match ReadOnlyDatabase::open(path) {
        Ok(db) => db,
        // A store whose writer crashed needs a repair, which only a writable open does;
        // the format is checked after it.
        Err(DatabaseError::RepairAborted) => return Ok(()),
        Err(error) => return Err(open_error(path, error)),
    };
    match format_of(&db, path)? {
        Some(found) if found > FORMAT_VERSION => Err(StateError::NewerFormat {
            path: path.to_path_buf(),
            found,
            supported: FORMAT_VERSION,
        }),
        _ => Ok(()),
    }
}

fn open_error(path: &Path, error: DatabaseError) -> StateError {
    match error {
        DatabaseError::DatabaseAlreadyOpen | DatabaseError::LockProtocolMismatch => {
            StateError::Locked {
                path: path.to_path_buf(),
            }
        }
        DatabaseError::UpgradeRequired(version) => StateError::NotAStore {
            path: path.to_path_buf(),
            reason: format!("it uses the old redb file format {version}"),
        },
        DatabaseError::Storage(StorageError::Corrupted(reason)) => StateError::Corrupt {
            path: path.to_path_buf(),
            reason,
        },
        DatabaseError::Storage(storage) => StateError::NotAStore {
            path: path.to_path_buf(),
            reason: storage.to_string(),
        },
        other => StateError::Storage {
            path: path.to_path_buf(),
            source: Box::new(redb::Error::from(other)),
        },
    }
}
