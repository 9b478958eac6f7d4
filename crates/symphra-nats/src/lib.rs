//! Bridges a Symphra [`EventBus`](symphra::bus::EventBus) to [NATS](https://nats.io), so that
//! events cross processes and machines.
//!
//! ```no_run
//! use symphra::bus::{Event, EventBus};
//! use symphra_nats::NatsBridge;
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let bus = EventBus::new();
//! let bridge = NatsBridge::builder("nats://127.0.0.1:4222")
//!     .subject_prefix("shop")          // subjects are `shop.<topic>`
//!     .export("order.*")               // local `order.*` events go to NATS
//!     .import("payment.>")             // NATS `shop.payment.>` comes to the bus
//!     .import_queue("jobs.*", "workers") // shared with the other `workers`
//!     .connect(&bus)
//!     .await?;
//!
//! let _paid = bus.subscribe("payment.>", |event| {
//!     // Imported events carry the sender's metadata.
//!     println!("{} from {:?} via {:?}", event.topic(), event.source(), event.origin());
//! })?;
//!
//! // Only events with a JSON form are exported.
//! let order = Event::json("order.created", serde_json::json!({"id": 7}))?.with_source("orders");
//! bus.publish_event(order).await;
//! bridge.flush().await?;
//! println!("{:?}", bridge.stats());
//! bridge.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! # Topics and subjects
//!
//! A topic is sent on the subject of the same name (`order.created`), after the optional
//! prefix (`shop.order.created`). Export and import patterns map the same way, the bus's bare
//! `*` (every topic) becoming `>`. Received subjects that are not valid bus topics are
//! counted and skipped.
//!
//! # On the wire
//!
//! The message body is the JSON form of the payload ([`Event::to_json`]), so any NATS client
//! reads it as plain JSON; events without one are counted as not exportable and skipped. By
//! default nothing else is sent: a received event is published on the bus with
//! [`Event::origin`] `nats`, no source and its arrival time, like a plain client's. A bridge
//! built with [`metadata`](NatsBridgeBuilder::metadata) on also sends the event's origin (the
//! sending bridge), id, time and source in a NATS header (see [`wire`]), and the receiver
//! keeps them. The header is off by default because it costs the NATS client about as much per
//! message as everything else the bridge does (`docs/dev/nats-bridge-cost.md`). Received
//! headers are read whatever the setting, so bridges of either kind, and older ones that
//! always sent it, understand each other.
//!
//! # No loops
//!
//! Events that came from outside (those with an [`Event::origin`]) are never exported, so an
//! event imported by one bridge is not sent out again, even when two bridges export and
//! import the same patterns. A bridge does not receive its own messages: the connection is
//! made with NATS's `no_echo`, which needs no header; with metadata on, the origin header is
//! checked as well.
//!
//! # Fan-out and queue groups
//!
//! An [`import`](NatsBridgeBuilder::import) is delivered to every bridge that imports it. An
//! [`import_queue`](NatsBridgeBuilder::import_queue) joins a NATS queue group: the bridges in
//! the group share the messages, each one delivered to exactly one of them. This is how
//! several processes running the same module share work.
//!
//! # Faults
//!
//! - **The server goes away**: the client reconnects by itself (with delays from 10 ms up to
//!   [`max_reconnect_delay`](NatsBridgeBuilder::max_reconnect_delay)). Meanwhile exported
//!   events wait in the export buffer ([`BridgeConfig::export_buffer`] events at most: the
//!   bound on memory) and are sent after reconnection; once it is full, further events are
//!   dropped. Both are counted ([`BridgeStats::buffered_while_disconnected`],
//!   [`BridgeStats::dropped_while_disconnected`]) and stated in a log line on reconnection.
//!   NATS itself delivers at most once: messages published while a subscriber is
//!   disconnected, or in flight when a connection breaks, are not redelivered. An exported
//!   event counts as [`BridgeStats::exported`] once a round trip after it has come back; those
//!   still in flight when the connection breaks are counted as [`BridgeStats::unconfirmed`],
//!   so that every event sent is accounted for exactly.
//! - **Forged metadata**: the bridge believes the `Symphra-Event` header of whoever the NATS
//!   server lets publish on an import subject (use subject permissions; the crate's README
//!   shows a configuration), and a sender's time only within
//!   [`BridgeConfig::max_clock_skew_ms`] of its own clock.
//! - **Bad messages**: a body that is not JSON, larger than [`BridgeConfig::max_payload`], or
//!   on a subject that is not a topic is counted, logged with `tracing`, and skipped. A
//!   message the NATS client itself cannot parse (a subject that is not UTF-8, a header name
//!   with a space) would make it drop the connection; the bridge reaches the server through
//!   a loopback relay that skips and counts such messages ([`BridgeConfig::relay`]).
//! - **Slow local subscribers**: each import is read by its own task into a bounded buffer
//!   ([`BridgeConfig::import_buffer`]); when a subscriber falls that far behind, the client
//!   drops messages for that import (counted in [`BridgeStats::slow_consumer_drops`]) and the
//!   connection and other imports go on. Give slow subscribers a queue
//!   (`SubscribeOptions::queue`) so that the import task never waits for them.
//!
//! # Request/reply
//!
//! An imported message that came with a reply subject (a NATS request, e.g. `nc.request()` in
//! `nats-py`) can be answered once with [`Requests::reply`]; a module sends a request to NATS
//! with [`Requests::request`], which waits for one answer with a timeout and tells "no
//! responders" from "timed out" ([`RequestError`]). Get a [`Requests`] (cheap to clone, for
//! a module to keep) from [`NatsBridge::requests`].
//!
//! # Configuration
//!
//! [`BridgeConfig`] holds everything the builder sets and can be read with `serde` (e.g. from
//! a file), then used with [`NatsBridge::from_config`].
//!
//! [`Event::to_json`]: symphra::bus::Event::to_json
//! [`Event::origin`]: symphra::bus::Event::origin

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub, missing_debug_implementations)]

mod bridge;
mod builder;
mod config;
mod connection;
mod error;
mod export;
mod frame;
mod import;
mod ledger;
mod payload;
mod relay;
mod request;
mod stats;
mod subject;
pub mod wire;

pub use bridge::NatsBridge;
pub use builder::NatsBridgeBuilder;
pub use config::{BridgeConfig, ImportConfig};
pub use connection::ConnectionState;
pub use error::BridgeError;
pub use request::{ReplyError, RequestError, Requests};
pub use stats::BridgeStats;
