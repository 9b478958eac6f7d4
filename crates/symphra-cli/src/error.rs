//! The CLI's own errors: usage and I/O problems (exit code 2).

use std::net::SocketAddr;
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
    /// `start` or `stop` was given a name that is no module of the directory (or of the
    /// running application).
    #[error("no module named \"{name}\" in {dir}; {near}", dir = dir.display())]
    UnknownModule {
        /// A short prefix of the name given.
        name: String,
        /// The modules directory.
        dir: PathBuf,
        /// The nearest names, or where to find them.
        near: String,
    },
    /// `start` or `stop` found the state store locked: the application runs.
    #[error(
        "the state store {path} is in use by a running process (a `symphra run` of {dir}?): \
         {action} the module there with `symphra {action} {dir} {module} --ops ADDR` (the address of its \
         `run --ops`, default 127.0.0.1:9464), or stop that process first",
        path = path.display(),
        dir = dir.display()
    )]
    StateInUse {
        /// The state file.
        path: PathBuf,
        /// The modules directory.
        dir: PathBuf,
        /// The module.
        module: String,
        /// `start` or `stop`.
        action: &'static str,
    },
    /// The running application's endpoint could not be reached.
    #[error(
        "cannot reach the operator's endpoint at {address}: {source}; is `symphra run --ops {address}` running?"
    )]
    OpsUnreachable {
        /// The address given.
        address: SocketAddr,
        /// What the client said.
        #[source]
        source: reqwest::Error,
    },
    /// The endpoint answered something that is not a control answer.
    #[error(
        "the answer of {address} (HTTP {status}) is not the operator's endpoint's: {body:?}; is ADDR the address of `symphra run --ops`?"
    )]
    OpsAnswer {
        /// The address given.
        address: SocketAddr,
        /// The HTTP status.
        status: u16,
        /// A short prefix of the body.
        body: String,
    },
    /// The endpoint refused the request.
    #[error("the operator's endpoint at {address} refused (HTTP {status}): {message}")]
    OpsRefused {
        /// The address given.
        address: SocketAddr,
        /// The HTTP status.
        status: u16,
        /// Its reason.
        message: String,
    },
}

impl CliError {
    /// The process's exit code for this error: 3 when the state store is locked by a
    /// running process (retry through its endpoint), 2 for every other usage or I/O error.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::StateInUse { .. } => 3,
            _ => 2,
        }
    }
}
