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
