//! The test kit (feature `testing`): a harness that runs one module with stand-in
//! dependencies, an event recorder to wait on, modules with injected faults, a call log,
//! and layered dependency graphs for tests and benchmarks.

mod dag;
mod harness;
mod probe;
mod recorder;

pub use dag::LayeredDag;
pub use harness::{Harness, HarnessBuilder};
pub use probe::{Call, CallLog, Fault, Probe};
pub use recorder::EventRecorder;

/// Raises `manager`'s escalation as a restart policy does when `module` has used up its
/// restarts under [`Escalation::Shutdown`](crate::supervision::Escalation::Shutdown):
/// [`ModuleManager::run_until`](crate::ModuleManager::run_until) then stops everything.
pub fn escalate(manager: &crate::ModuleManager, module: &str) {
    manager.escalate(module);
}
