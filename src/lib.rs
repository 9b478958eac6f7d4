//! Symphra: a module runtime for async Rust applications.
//!
//! An application is built from modules — a database pool, a cache, an HTTP API, a
//! worker. Symphra resolves their dependencies (with semver requirements), drives each
//! through an async lifecycle (`bootstrap → install(config) → start → stop → uninstall`),
//! starts independent modules concurrently under a limit and stops them in reverse order,
//! and isolates failures: a module that errors, panics or hangs is reported, the modules
//! that need it are skipped, and everything else runs.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use symphra::prelude::*;
//!
//! #[derive(Default)]
//! struct Database {
//!     rows: Mutex<Vec<String>>,
//! }
//!
//! impl Module for Database {
//!     fn metadata(&self) -> ModuleMetadata {
//!         ModuleMetadata::new("database").version("1.4.0")
//!     }
//!     async fn start(&self, _ctx: &Context) -> HookResult {
//!         self.rows.lock().map_err(|_| "poisoned")?.push("admin".into());
//!         Ok(())
//!     }
//! }
//!
//! struct Users;
//!
//! impl Module for Users {
//!     fn metadata(&self) -> ModuleMetadata {
//!         ModuleMetadata::new("users").depends_on("database >=1.0, <2")
//!     }
//!     async fn start(&self, ctx: &Context) -> HookResult {
//!         let db: Arc<Database> = ctx.get::<Database>()?; // a declared dependency, typed
//!         let count = db.rows.lock().map_err(|_| "poisoned")?.len();
//!         println!("users: {count} account(s)");
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), symphra::Error> {
//! let manager = ModuleManager::builder()
//!     .module(Users)
//!     .module(Database::default())
//!     .max_concurrency(8)
//!     .build()?;
//!
//! let report = manager.start_all().await?; // database, then users
//! assert_eq!(report.modules()[0].name(), "database");
//! assert_eq!(manager.module("users")?.state(), ModuleState::Started);
//!
//! manager.stop_all().await?; // users, then database
//! # Ok(())
//! # }
//! ```
//!
//! # Where things are
//!
//! - [`module`]: the [`Module`] and [`SyncModule`] traits and [`ModuleMetadata`].
//! - [`resolver`]: validating a module set and ordering it.
//! - [`lifecycle`]: hooks, states and failures.
//! - [`ModuleManager`]: registering modules and running them; reports in [`manager`].
//! - [`Context`]: what a hook can reach.
//! - [`health`]: readiness, health checks, watchdogs, blocking detection, metrics.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod bus;
pub mod config;
pub mod context;
pub mod error;
pub mod health;
pub mod lifecycle;
pub mod manager;
pub mod module;
mod prefetch;
pub mod resolver;
pub mod signal;
pub mod state;
pub mod supervision;
#[cfg(unix)]
pub mod systemd;
#[cfg(feature = "testing")]
pub mod testing;
pub mod util;

pub use config::{Config, ConfigError};
pub use context::Context;
pub use error::Error;
pub use lifecycle::{BoxError, Hook, HookFailure, HookResult, ModuleState};
pub use manager::{ModuleManager, ModuleManagerBuilder, ScopeExit};
pub use module::{Module, ModuleMetadata, SyncModule};

/// The guide's Rust snippets, compiled and run as doc-tests (`cargo test --doc`) so that
/// they keep up with the API. Boilerplate a reader does not need (a `main`, a module defined
/// in an earlier section) is on `# ` lines, which rustdoc compiles and the reader skips.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
pub struct GuideSnippets;

/// `Result` with Symphra's [`Error`] as the default error type:
/// `fn main() -> symphra::Result<()>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The names most applications need: `use symphra::prelude::*;`.
///
/// Besides the types, it brings [`StreamExt`](futures_util::StreamExt)'s methods into scope
/// (unnamed, so that it clashes with no other `StreamExt`): `manager.modules().next()`.
pub mod prelude {
    pub use crate::bus::{Event, EventBus};
    pub use crate::config::Config;
    pub use crate::context::Context;
    pub use crate::lifecycle::{BoxError, Hook, HookFailure, HookResult, ModuleState};
    pub use crate::manager::{
        ModuleHandle, ModuleManager, ModuleReport, Outcome, Report, RunOutcome, ScopeExit,
        SkipReason,
    };
    pub use crate::module::{Module, ModuleMetadata, SyncModule};
    pub use futures_util::StreamExt as _;
}
