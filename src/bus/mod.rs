//! The event bus: publish/subscribe between modules, with NATS-style topic patterns.
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use symphra::bus::{EventBus, SubscribeOptions};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), symphra::bus::BusError> {
//! let bus = EventBus::new();
//! let created = Arc::new(AtomicUsize::new(0));
//!
//! // A sync handler: runs on the publisher's task and reads the payload in place.
//! let counter = created.clone();
//! let _users = bus.subscribe("user.*", move |event| {
//!     if let Some(name) = event.payload::<String>() {
//!         assert_eq!(name, "ada");
//!         counter.fetch_add(1, Ordering::Relaxed);
//!     }
//! })?;
//!
//! // An async handler that publishes in turn.
//! let inner = bus.clone();
//! let _audit = bus.subscribe_async_with(
//!     "user.created",
//!     SubscribeOptions::new().priority(10).tag("audit"),
//!     move |event| {
//!         let bus = inner.clone();
//!         async move { bus.publish("audit.logged", event.id()).await.map(|_| ()) }
//!     },
//! )?;
//!
//! let report = bus.publish("user.created", String::from("ada")).await?;
//! assert_eq!((report.matched(), report.succeeded(), report.failed()), (2, 2, 0));
//! assert_eq!(created.load(Ordering::Relaxed), 1);
//! assert!(!bus.has_subscribers("order.created"));
//! assert_eq!(bus.unsubscribe_tag("audit"), 1);
//! # Ok(())
//! # }
//! ```
//!
//! # Topics and patterns
//!
//! A topic is dot-separated tokens, case-sensitive (`user.created`); it may not be empty, have
//! an empty token, whitespace, or a wildcard. A pattern may use `*` for exactly one token and
//! a final `>` for one or more tokens: `user.*` matches `user.created` but neither `user` nor
//! `user.a.b`; `user.>` matches `user.a.b` but not `user`. The pattern `*` alone matches every
//! topic. See [`Pattern`].
//!
//! Both are bounded: at most [`MAX_TOPIC_BYTES`] (1,024) bytes and [`MAX_TOPIC_TOKENS`]
//! (32) tokens; a token holds no whitespace, control or invisible formatting characters.
//!
//! # Handlers
//!
//! - Sync: [`EventBus::subscribe`] with `Fn(&Event) -> R`, run on the publisher's task.
//! - Async: [`EventBus::subscribe_async`] with `Fn(Event) -> impl Future<Output = R>`,
//!   awaited by the publisher.
//! - Off the publisher's task: either kind with [`SubscribeOptions::queue`], fed by a bounded
//!   queue whose [`QueuePolicy`] says what happens when it is full.
//!
//! `R` is `()` or `Result<(), E>` for any error type ([`HandlerResult`]). A handler that
//! fails or panics does not affect the others: the failure is in the [`DeliveryReport`],
//! counted in [`BusStats`], logged with `tracing`, and published once on
//! [`HANDLER_FAILED`] with a [`HandlerFailure`] payload.
//!
//! Subscriptions end when their [`Subscription`] handle is dropped or unsubscribed, when their
//! tag is removed ([`EventBus::unsubscribe_tag`]), or after one delivery with
//! [`SubscribeOptions::once`]. No lock is held while a handler runs: handlers may publish,
//! subscribe and unsubscribe. (A queued handler with [`QueuePolicy::Wait`] that publishes to
//! its own full queue waits for itself; use a drop policy for such loops.)
//!
//! # Draining
//!
//! [`EventBus::drain_tag`] waits, up to a deadline, until the queued subscriptions of a tag
//! have handled every event already in their queues: a module's queued handlers finish their
//! backlog before the module stops. [`EventBus::unconsumed`] counts the events published
//! while nobody listened.
//!
//! # Publishing
//!
//! [`EventBus::publish`] awaits the handlers and returns a [`DeliveryReport`];
//! [`EventBus::emit`] returns at once and a task of the bus delivers in order, handing each
//! async handler its events through a bounded queue of its own, so that a stalled handler
//! holds up only itself;
//! [`EventBus::publish_batch`] takes many [`Event`]s; an [`EventBuffer`] holds events and
//! flushes them on size, interval, or demand. [`EventBus::has_subscribers`] answers from the
//! route cache, so callers can skip building events nobody listens to.
//!
//! # Payloads
//!
//! In-process payloads are any `T: Send + Sync + 'static`, stored once and read as `&T` with
//! [`Event::payload`]. [`Event::json`] and [`Event::serializable`] give an event a JSON form
//! for whatever crosses a boundary, read back with [`Event::to_json`] or as a typed value with
//! [`Event::deserialize`].
//!
//! # Costs
//!
//! Routing is a token trie, so a match costs the same however many patterns do not match;
//! recently published topics keep their matched route in a bounded cache, kept exact on
//! every subscribe and unsubscribe. A publish to a cached topic with sync handlers takes one
//! read lock and no allocation beyond the event's payload; a publish nobody hears builds no
//! event at all (unless history is on). No lock is held while a handler runs. `benches/bus.rs`
//! measures these paths against a direct call and `tokio::sync::broadcast`.
//!
//! # History
//!
//! With [`EventBusBuilder::history`], the bus keeps the last N events: [`EventBus::recent`]
//! and [`EventBus::history`] with a [`HistoryQuery`] by pattern and time range.

mod buffer;
mod builder;
mod cache;
mod dispatch;
mod drain;
mod error;
mod event;
mod event_bus;
mod event_id;
mod handler;
mod history;
mod lanes;
mod prepared;
mod prepared_topic;
mod queue;
mod registry;
mod report;
mod subscription;
mod tasks;
#[cfg(test)]
mod tests;
mod timing;
mod topic;
mod trie;

pub use buffer::{BufferConfig, EventBuffer};
pub use builder::{BusStats, EventBusBuilder};
pub use dispatch::HANDLER_FAILED;
pub(crate) use dispatch::Tally;
pub use drain::DrainReport;
pub use error::BusError;
pub use event::Event;
pub use event_bus::EventBus;
pub use event_id::EventId;
pub use handler::HandlerResult;
pub use history::HistoryQuery;
pub(crate) use prepared::{TopicRoutes, TopicSet, Unfinished};
pub use prepared_topic::PreparedTopic;
pub use queue::{QueueConfig, QueuePolicy, QueueStats};
pub use report::{BatchReport, DeliveryReport, HandlerError, HandlerFailure};
pub use subscription::{SubscribeOptions, Subscription, SubscriptionId};
pub use topic::{MAX_TOPIC_BYTES, MAX_TOPIC_TOKENS, Pattern, validate_topic};
