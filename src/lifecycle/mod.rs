//! The lifecycle: hooks, states, legal operations, and failures.

mod failure;
mod hook;
mod state;

pub use failure::{BoxError, FailureCause, HookFailure, HookResult, SharedError};
pub use hook::Hook;
pub(crate) use state::{HookChain, Plan, StateCell};
pub use state::{ModuleState, Operation};
