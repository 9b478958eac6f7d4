//! Why a state store could not be opened, read or written.

use std::path::PathBuf;

use crate::lifecycle::BoxError;

/// A state store problem. Each says which file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Another process (or another store in this one) has the file open.
    #[error(
        "the state file {path} is in use by another process; stop that process, or give this one its own state file"
    )]
    Locked {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but is not a Symphra state store; it was left untouched.
    #[error(
        "{path} is not a Symphra state store ({reason}); it was left untouched: move it away or choose another path"
    )]
    NotAStore {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
    /// The file was written by a newer Symphra; it was left untouched.
    #[error(
        "the state file {path} has format version {found}, newer than this Symphra understands ({supported}); \
         it was left untouched: upgrade Symphra or use another file"
    )]
    NewerFormat {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A record could not be read.
    #[error("the record of module {module:?} in {path} cannot be read: {reason}")]
    BadRecord {
        /// The file.
        path: PathBuf,
        /// The module.
        module: String,
        /// What the decoder said.
        reason: String,
    },
    /// The file is damaged: the storage engine found it inconsistent, or failed on it. The
    /// store refuses any further use of it.
    #[error(
        "the state file {path} is damaged ({reason}); Symphra will not use it: move it away to \
         start without recorded state (availability, operator stops and configurations are \
         forgotten), or restore a backup"
    )]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What the engine said.
        reason: String,
    },
    /// The runtime cancelled a write before it ran (it was shutting down). Nothing was
    /// written; the manager keeps the changes and writes them with its next flush.
    #[error(
        "{changes} state change(s) not written: the runtime cancelled the write before it ran \
         (it is shutting down); they are kept and written by the manager's next operation"
    )]
    WriteCancelled {
        /// How many changes wait to be written.
        changes: usize,
    },
    /// The storage engine failed (I/O error, disk full).
    #[error("the state file {path} cannot be used: {source}")]
    Storage {
        /// The file.
        path: PathBuf,
        /// The engine's error, whichever engine the store uses.
        #[source]
        source: BoxError,
    },
}
