//! Import: NATS messages to the local bus, one task per import.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_nats::{Client, Message, Subscriber};
use futures_util::{FutureExt, StreamExt};
use serde_json::Value;
use symphra::bus::{Event, EventBus, Pattern, PreparedTopic};
use tokio::task::JoinHandle;

use crate::connection::Shared;
use crate::error::BridgeError;
use crate::payload;
use crate::stats::bump;
use crate::wire::{self, FOREIGN_ORIGIN, Interned};

/// Subscribes to the subject of each import (in its queue group, if any) and starts the task
/// that publishes its messages on `bus`; returns those tasks.
///
/// # Errors
/// [`BridgeError::Subscribe`] if the client refuses a subscription.
pub(crate) async fn start(
    imports: &[(Pattern, Option<String>)],
    bus: &EventBus,
    client: &Client,
    shared: &Arc<Shared>,
) -> Result<Vec<JoinHandle<()>>, BridgeError> {
    // One more for the export task, which joins them.
    let mut tasks = Vec::with_capacity(imports.len() + 1);
    for (pattern, group) in imports {
        let subject = shared.prefix.subject_for_pattern(pattern);
        let subscribed = match group {
            Some(group) => client.queue_subscribe(subject.clone(), group.clone()).await,
            None => client.subscribe(subject.clone()).await,
        };
        let subscriber = subscribed.map_err(|source| BridgeError::Subscribe { subject, source })?;
        tasks.push(tokio::spawn(run_import(
            subscriber,
            bus.clone(),
            shared.clone(),
        )));
    }
    Ok(tasks)
}

/// At most how many messages already waiting in the client are taken at once and stamped
/// with one arrival time: enough to spread a clock read over a burst, few enough that the
/// last one's time is not much older than its publish (handlers run as each is published).
const READY_AT_ONCE: usize = 32;

/// Publishes one import's messages on the local bus.
///
/// Whatever the client holds when a message arrives is taken with it (up to
/// [`READY_AT_ONCE`]) and stamped with one clock reading: every one of them had arrived by
/// then, so it is their arrival time, read once instead of once each.
async fn run_import(mut subscriber: Subscriber, bus: EventBus, shared: Arc<Shared>) {
    let mut seen = Seen::default();
    let mut ready = Vec::with_capacity(READY_AT_ONCE);
    while let Some(message) = subscriber.next().await {
        ready.push(message);
        while ready.len() < READY_AT_ONCE
            && let Some(Some(message)) = subscriber.next().now_or_never()
        {
            ready.push(message);
        }
        let arrived = SystemTime::now();
        for message in ready.drain(..) {
            if let Some(event) = receive(&bus, &shared, &message, &mut seen, arrived) {
                bump(&shared.counters.imported);
                // The report would be dropped: not timed. The event is on the topic of the
                // last subject, whose route `seen` keeps.
                match &mut seen.subject {
                    Some((_, topic)) => bus.forward_on(topic, event).await,
                    None => bus.forward(event).await,
                }
            }
        }
    }
}

/// What an import remembers from one message to the next, so that a stream of messages
/// with the same subject, origin and source checks and allocates them once.
#[derive(Default)]
struct Seen {
    origins: Interned,
    sources: Interned,
    /// The last subject found to be a valid topic, and that topic prepared on the bus:
    /// the next events share it, and are delivered along its kept route.
    subject: Option<(async_nats::Subject, PreparedTopic)>,
}

/// The event for a message that had arrived by `arrived`, or `None` (counted and logged)
/// if it is skipped.
fn receive(
    bus: &EventBus,
    shared: &Shared,
    message: &Message,
    seen: &mut Seen,
    arrived: SystemTime,
) -> Option<Event> {
    let c = &shared.counters;
    let subject = message.subject.as_str();
    if message.payload.len() > shared.max_payload {
        bump(&c.oversized);
        tracing::warn!(
            subject,
            len = message.payload.len(),
            max_payload = shared.max_payload,
            "skipped a NATS message larger than `max_payload`"
        );
        return None;
    }
    let meta = wire::decode_headers(message.headers.as_ref());
    if meta.origin == Some(&*shared.origin) {
        bump(&c.own_ignored);
        return None;
    }
    let on_topic = match &seen.subject {
        Some((last, on_topic)) if *last == message.subject => on_topic,
        _ => {
            let checked = shared
                .prefix
                .topic_for_subject(subject)
                .and_then(|topic| bus.prepare(topic));
            match checked {
                Ok(on_topic) => &seen.subject.insert((message.subject.clone(), on_topic)).1,
                Err(error) => {
                    bump(&c.invalid_subject);
                    tracing::warn!(subject, %error, "skipped a NATS message whose subject is not a bus topic");
                    return None;
                }
            }
        }
    };
    let value: Value = match serde_json::from_slice(&message.payload) {
        Ok(value) => value,
        // Policy: no payload (a bare signal, as `nats pub subject ""` sends) is JSON `null`.
        Err(_) if message.payload.iter().all(u8::is_ascii_whitespace) => {
            bump(&c.empty_payloads);
            Value::Null
        }
        Err(error) if payload::has_non_finite_number(&message.payload, &error) => {
            bump(&c.non_finite_json);
            tracing::warn!(
                subject,
                %error,
                "skipped a NATS message whose payload has NaN or Infinity, which JSON has not \
                 (from Python, send with `json.dumps(.., allow_nan=False)` or replace them)"
            );
            return None;
        }
        Err(error) => {
            bump(&c.invalid_json);
            tracing::warn!(
                subject,
                %error,
                "skipped a NATS message whose payload is not valid JSON"
            );
            return None;
        }
    };
    let event = on_topic.json_event(value, arrived);
    // A sender that does not say who it is (the default, no header) is `nats`, a constant:
    // no reference count to take and drop per event.
    let mut event = match meta.origin {
        Some(origin) => event.with_origin(seen.origins.get(origin)),
        None => event.with_constant_origin(FOREIGN_ORIGIN),
    };
    if let Some(source) = meta.source {
        event = event.with_source(seen.sources.get(source));
    }
    if let Some(time) = meta.time {
        // A sender's clock is believed only within `max_clock_skew` of ours: a time of 1970 or
        // of 2554 in a header is a forgery or a broken clock, and the event keeps its arrival
        // time instead.
        if within(time, arrived, shared.max_clock_skew) {
            event = event.with_time(time);
        } else {
            bump(&c.clock_skew_clamped);
            tracing::debug!(
                subject,
                ?time,
                "a sender's time is far from ours: using the arrival time"
            );
        }
    }
    if let Some(reply) = &message.reply {
        bump(&c.requests_received);
        let forgot = shared.pending_requests.insert(
            event.id().get(),
            reply.clone(),
            shared.max_pending_requests,
        );
        if forgot {
            bump(&c.requests_forgotten);
        }
    }
    Some(event)
}

/// Whether `time` is within `skew` of `now`, either way.
fn within(time: SystemTime, now: SystemTime, skew: Duration) -> bool {
    match time.duration_since(now) {
        Ok(ahead) => ahead <= skew,
        Err(behind) => behind.duration() <= skew,
    }
}
