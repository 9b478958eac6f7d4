//! Supervision: what happens when a module fails while it runs.
//!
//! A module's [`RestartPolicy`] says whether it is started again after a failure, how
//! often (restart intensity: at most N restarts within a window), and how long to wait
//! between attempts (exponential backoff with jitter, reset once the module has stayed up
//! for a stable period). The manager's [`Escalation`] says what happens when a module
//! gives up.
//!
//! Where they are applied: a module gets its policy from
//! [`ModuleMetadata::restart`](crate::module::ModuleMetadata::restart), the manager its
//! escalation from [`ModuleManagerBuilder::escalation`](crate::ModuleManagerBuilder::escalation).
//! When a module fails while running, the manager's supervision stops its required
//! dependents and then the module, and then applies the policy: it waits out the backoff
//! on tokio's clock and starts the module and those dependents again, in dependency order,
//! publishing [`module.restarted`](crate::manager::RESTARTED) for each restart; a restart
//! whose start fails counts as another failure. Once the restarts are used up the module
//! stays stopped, [`stopped_because`](crate::manager::ModuleHandle::stopped_because) says
//! why, and with [`Escalation::Shutdown`] [`ModuleManager::escalated`](crate::ModuleManager::escalated)
//! resolves. A module that an operator starts or stops while supervision waits is left to
//! the operator. [`ModuleManager::supervision_idle`](crate::ModuleManager::supervision_idle)
//! waits for restarts too.
//!
//! ```
//! use std::time::Duration;
//! use symphra::supervision::{Restart, RestartPolicy};
//!
//! let policy = RestartPolicy::new(Restart::OnFailure)
//!     .intensity(5, Duration::from_secs(60)) // at most 5 restarts a minute
//!     .backoff(Duration::from_millis(100), Duration::from_secs(10))
//!     .stable_after(Duration::from_secs(30));
//! assert_eq!(policy.restart(), Restart::OnFailure);
//! ```
//!
//! A module that keeps failing, under [`Escalation::Shutdown`]: restarted once, then it
//! gives up and [`run_until`](crate::ModuleManager::run_until) stops everything and
//! reports it (the same program is in the guide, "Restart policies and escalation").
//!
//! ```
//! use std::time::Duration;
//! use symphra::manager::RunEnd;
//! use symphra::prelude::*;
//! use symphra::signal::Signal;
//! use symphra::supervision::{Escalation, Restart, RestartPolicy};
//!
//! struct Db;
//!
//! impl Module for Db {
//!     fn metadata(&self) -> ModuleMetadata {
//!         ModuleMetadata::new("db").restart(
//!             RestartPolicy::new(Restart::OnFailure)
//!                 .intensity(1, Duration::from_secs(60))
//!                 .backoff(Duration::from_millis(10), Duration::from_secs(1))
//!                 .jitter(false),
//!         )
//!     }
//!
//!     async fn start(&self, ctx: &Context) -> HookResult {
//!         // Ends before the module stops: a failure while running, every time.
//!         ctx.spawn("pool", |_shutdown| async { Err("connection refused".into()) })?;
//!         Ok(())
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), symphra::Error> {
//! let manager = ModuleManager::builder()
//!     .module(Db)
//!     .escalation(Escalation::Shutdown)
//!     .build()?;
//! // No shutdown request ever comes: only the escalation ends the run.
//! let outcome = manager.run_until(futures_util::stream::pending::<Signal>()).await;
//! assert_eq!(outcome.ended, RunEnd::Escalation { module: Some("db".into()) });
//! assert_eq!(outcome.exit_code(), 1);
//! # Ok(())
//! # }
//! ```

mod policy;
mod restarts;

pub use policy::{Escalation, Restart, RestartPolicy};
pub(crate) use restarts::{Decision, Restarts};
