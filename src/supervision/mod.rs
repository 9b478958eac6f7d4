//! Supervision: what happens when a module fails while it runs.
//!
//! A module's [`RestartPolicy`] says whether it is started again after a failure, how
//! often (restart intensity: at most N restarts within a window), and how long to wait
//! between attempts (exponential backoff with jitter, reset once the module has stayed up
//! for a stable period). The manager's [`Escalation`] says what happens when a module
//! gives up.
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
