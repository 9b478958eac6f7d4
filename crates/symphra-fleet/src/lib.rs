//! Runs a Symphra application as a fleet of processes — replicas on one or several hosts —
//! coordinated through NATS JetStream.
//!
//! A replica: a singleton module that runs on one replica of the fleet at a time, and
//! writes only while its lease is current. Start the same program several times against
//! one NATS cluster (it needs a server with JetStream, so it is not run as a doc-test).
//!
//! ```no_run
//! use symphra::prelude::*;
//! use symphra_fleet::{Fleet, FleetOptions};
//!
//! struct Scheduler;
//!
//! impl Module for Scheduler {
//!     fn metadata(&self) -> ModuleMetadata {
//!         ModuleMetadata::new("scheduler").singleton()
//!     }
//!
//!     async fn start(&self, ctx: &Context) -> HookResult {
//!         // The lease's revision fences every write: a replica that lost it stops.
//!         if let Some(lease) = ctx.lease() {
//!             tracing::info!(token = lease.token(), "this replica schedules");
//!         }
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let manager = ModuleManager::builder().module(Scheduler).build()?;
//!     let client = async_nats::connect("nats://127.0.0.1:4222").await?;
//!     let mut fleet = Fleet::join(client, FleetOptions::default()).await?;
//!     fleet.attach(&manager).await?; // before the first start
//!     manager.start_all().await?;
//!     tokio::signal::ctrl_c().await?;
//!     manager.stop_all().await?;
//!     fleet.leave().await; // hands the lease back at once
//!     Ok(())
//! }
//! ```
//!
//! - **Singleton modules** ([`ModuleMetadata::singleton`](symphra::ModuleMetadata::singleton))
//!   run on one replica at a time: replicas campaign for a lease in a key-value bucket
//!   whose age limit is the lease's TTL; the holder renews it with compare-and-swap and
//!   gives it up locally — stopping the module — before the server can expire it; the
//!   module reads the lease's revision as a fencing token with
//!   [`Context::lease`](symphra::Context::lease).
//! - **Fleet-wide desired state**: an operator's decisions (enable, disable, start, stop,
//!   configuration) are written once, with compare-and-swap, to a bucket that every
//!   replica's reconciler watches and applies through its manager's operator commands;
//!   each replica publishes its actual state with a heartbeat ([`FleetStatus`]).
//! - **Services across processes** ([`Services`]): a module exposes a request/reply
//!   service on the NATS services protocol, in a queue group so replicas share the load;
//!   a module in any process calls it with a timeout and typed errors ([`CallError`]);
//!   calls to a service of the same process stay in it.
//!
//! `docs/fleet.md` describes the topology, the buckets, every timing bound and each
//! failure.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

pub mod buckets;
mod call_error;
mod campaign;
pub mod desired;
mod error;
mod fleet;
mod heartbeat;
mod reconcile;
pub mod services;
mod singletons;
mod status;
mod timing;

pub use call_error::{CallError, ExposeError, ServiceFailure};
pub use desired::{Availability, Decision, Desired, Run};
pub use error::FleetError;
pub use fleet::{Fleet, FleetOptions, Holder, decide};
pub use heartbeat::{ModuleStatus, ReplicaState};
pub use services::{Exposed, Services};
pub use status::FleetStatus;
pub use timing::{LeaseTiming, MIN_TTL};
