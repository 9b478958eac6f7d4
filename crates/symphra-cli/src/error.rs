//! The CLI's own errors: usage and I/O problems (exit code 2).

use std::path::PathBuf;

/// A problem that stops a command before it can report on the modules.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The modules directory could not be read, or the host could not be created.
    #[error(transparent)]
    Load(#[from] symphra_wasm::LoadError),
    /// The operator's grants file could not be read.
    #[error(transparent)]
    Grants(#[from] symphra_wasm::GrantError),
    /// The WebAssembly host could not be created.
    #[error(transparent)]
    Host(#[from] symphra_wasm::HostError),
    /// The state store could not be opened or read.
    #[error("state store: {0}")]
    State(#[from] symphra::state::StateError),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The configuration file is not valid TOML, or not one table per module.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A fleet command failed: NATS, its buckets, or a decision.
    #[error("fleet: {0}")]
    Fleet(#[from] symphra_fleet::FleetError),
    /// `fleet config` was given a configuration that is not a JSON value.
    #[error("fleet config: {0}")]
    FleetConfig(String),
    /// The manager refused to build or run.
    #[error(transparent)]
    Manager(#[from] symphra::Error),
    /// The async runtime could not be created.
    #[error("cannot create the runtime: {0}")]
    Runtime(std::io::Error),
    /// `new` was given a name that is not a valid module name.
    #[error(
        "{name:?} is not a valid module name: {message} (use 1 to 64 lowercase letters, digits, '_' or '-', starting with a letter or digit)"
    )]
    Name {
        /// The name given.
        name: String,
        /// What is wrong with it.
        message: String,
    },
    /// `new` would write into a folder that already exists.
    #[error(
        "{path} already exists; nothing was written (choose another name, or --dir for another parent folder)"
    )]
    Exists {
        /// The folder.
        path: PathBuf,
    },
    /// `run --watch` could not watch the module folders.
    #[error("cannot watch the module folders: {0}")]
    Watch(#[from] symphra_wasm::ReloadError),
    /// The event bus refused a subscription.
    #[error("event bus: {0}")]
    Bus(String),
    /// The operator's endpoint (`--ops`) could not be served.
    #[error(transparent)]
    Ops(#[from] symphra_ops::OpsError),
}
