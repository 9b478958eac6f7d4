//! The test kit (feature `testing`): modules with injected faults, a call log, and layered
//! dependency graphs for tests and benchmarks.

mod dag;
mod probe;

pub use dag::LayeredDag;
pub use probe::{Call, CallLog, Fault, Probe};
