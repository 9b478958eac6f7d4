//! Runs a Symphra application as a fleet of processes — replicas on one or several hosts —
//! coordinated through NATS JetStream.
//!
//! - **Singleton modules** ([`ModuleMetadata::singleton`](symphra::ModuleMetadata::singleton))
//!   run on one replica at a time: replicas campaign for a lease in a key-value bucket
//!   whose age limit is the lease's TTL; the holder renews it with compare-and-swap and
//!   gives it up locally — stopping the module — before the server can expire it; the
//!   module reads the lease's revision as a fencing token with
//!   [`Context::lease`](symphra::Context::lease).
//!
//! `docs/fleet.md` describes the topology, the buckets, every timing bound and each
//! failure.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod buckets;
mod campaign;
mod error;
mod fleet;
mod singletons;
mod timing;

pub use error::FleetError;
pub use fleet::{Fleet, FleetOptions, Holder};
pub use timing::{LeaseTiming, MIN_TTL};
