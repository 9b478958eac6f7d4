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

mod policy;
mod restarts;

pub use policy::{Escalation, Restart, RestartPolicy};
pub(crate) use restarts::{Decision, Restarts};
