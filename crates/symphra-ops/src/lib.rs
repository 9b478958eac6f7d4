//! The operator's endpoint of a Symphra application: probes, Prometheus metrics and a live
//! page, served over HTTP by a library call or by `symphra run --ops ADDR`.
//!
//! | Route | Answers |
//! |---|---|
//! | `/livez` | 200 while no module meant to run is failed or unhealthy, else 503 |
//! | `/readyz` | 200 once every module meant to run is ready, else 503 |
//! | `/startupz` | 200 once every module meant to run has started, else 503 |
//! | `/metrics` | the Prometheus text format (module states, readiness, health, restarts, hook durations, blocked polls, bus counters) |
//! | `POST /modules/{name}/stop`, `/start` | with [`Ops::control`] only: an operator's stop or start of one module, obeyed from this machine only |
//! | `/` | a live page: modules with state, readiness and health, the dependency graph, the start timeline |
//!
//! Add `?verbose` to a probe for a line per module. Probes answer from the manager's
//! [health snapshot](symphra::ModuleManager::health), read from memory: health checks run
//! on their own schedule, never because someone asked.
//!
//! The server binds loopback addresses only, unless told otherwise
//! ([`Ops::allow_remote`]): it has no authentication.
//!
//! Built on axum: its routing, its server-sent events and its graceful shutdown are what the
//! endpoint needs, over the hyper server the workspace's dependencies already hold.
#![deny(missing_docs)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod control;
mod error;
pub mod exposition;
mod live;
mod metrics;
pub mod pictures;
mod probes;
mod server;
mod source;

pub use control::OPERATOR_HEADER;
pub use error::OpsError;
pub use exposition::{Exposition, Kind};
pub use metrics::FAMILIES;
pub use server::{MAX_LIVE_CLIENTS, Ops, OpsServer, serve};
pub use source::MetricSource;
