//! Export: local bus events to NATS.
//!
//! While connected and with nothing waiting in the export buffer, an event is encoded and
//! handed to the client on the publisher's task ([`Exporter::send_now`]). Otherwise it goes to
//! the export buffer, which the export task ([`run_export`]) sends once connected.

use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::Client;
use futures_util::FutureExt;
use symphra::bus::{Event, EventBus, Pattern, SubscribeOptions, Subscription};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::connection::{ConnectionState, Shared, round_trip};
use crate::error::BridgeError;
use crate::stats::bump;
use crate::wire::{EncodeError, Encoder, Outbound};

/// What goes through the export buffer to the export task.
pub(crate) enum Outgoing {
    /// An event to send.
    Event(Event),
    /// A flush: answered once everything before it is sent and the server has seen it.
    Flush(oneshot::Sender<Result<(), String>>),
}

/// The running export side: the export buffer's sender, the bus subscriptions that feed
/// it, and the export task.
pub(crate) struct Exports {
    pub(crate) out: mpsc::Sender<Outgoing>,
    pub(crate) subscriptions: Vec<Subscription>,
    /// The export task and the confirming task.
    pub(crate) tasks: [JoinHandle<()>; 2],
}

/// Starts the export task and subscribes one exporter to `patterns` on `bus`.
///
/// # Errors
/// [`BridgeError::Bus`] if the bus refuses a subscription.
pub(crate) fn start(
    patterns: &[Pattern],
    export_buffer: usize,
    bus: &EventBus,
    client: &Client,
    shared: &Arc<Shared>,
) -> Result<Exports, BridgeError> {
    let (out, receiver) = mpsc::channel(export_buffer.max(1));
    let waiting = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(run_export(
        receiver,
        client.clone(),
        shared.clone(),
        waiting.clone(),
    ));
    let confirmer = tokio::spawn(run_confirm(client.clone(), shared.clone()));
    let exporter = Arc::new(Exporter {
        out: out.clone(),
        shared: shared.clone(),
        client: client.clone(),
        encoder: Mutex::new(Encoder::new(
            shared.metadata.then_some(&*shared.origin),
            shared.prefix.clone(),
            shared.max_payload,
        )),
        waiting,
    });
    let mut subscriptions = Vec::with_capacity(patterns.len());
    for (i, pattern) in patterns.iter().enumerate() {
        // An event matching several export patterns is sent once, by the first.
        let earlier: Vec<Pattern> = patterns[..i].to_vec();
        let options = SubscribeOptions::new().condition(move |event: &Event| {
            event.origin().is_none() && !earlier.iter().any(|p| p.matches(event.topic()))
        });
        let exporter = exporter.clone();
        subscriptions.push(bus.subscribe_deferring_with(
            pattern.as_str(),
            options,
            move |event: &Event| {
                // Usually sent right here, with the event borrowed: no copy of it and no
                // future. Only an event that must wait is copied, with the exporter, into
                // a (boxed: rare, and large) wait.
                if exporter.send_now(event) {
                    return None;
                }
                let (exporter, event) = (exporter.clone(), event.clone());
                Some(async move { Box::pin(exporter.send_later(event)).await })
            },
        )?);
    }
    Ok(Exports {
        out,
        subscriptions,
        tasks: [task, confirmer],
    })
}

/// The local half of an export: runs on the publisher's task.
///
/// While connected and with nothing waiting in the export buffer, an event is encoded and
/// handed to the client right here, with no hop through the export task. Otherwise (the
/// server is away, or events are still waiting from when it was) it joins the export buffer,
/// behind those, and the export task sends it.
struct Exporter {
    out: mpsc::Sender<Outgoing>,
    shared: Arc<Shared>,
    client: Client,
    encoder: Mutex<Encoder>,
    /// Events in the export buffer not yet handed to the client.
    waiting: Arc<AtomicUsize>,
}

impl Exporter {
    /// Hands `event` to the client without waiting, if it can (or counts it as not
    /// exportable): whether it is done with it; if not, the event is for
    /// [`send_later`](Self::send_later).
    fn send_now(&self, event: &Event) -> bool {
        if !self.may_skip_the_buffer() {
            return false;
        }
        let Some(message) = self.encode(event) else {
            return true;
        };
        // Polled once: usually the client's queue has room and it is done. If not, dropping
        // it sends nothing (the client's queue is a Tokio channel, whose `send` sends
        // nothing when cancelled before it has a place), and the event waits instead.
        publish(&self.shared, &self.client, message, event.topic())
            .now_or_never()
            .is_some()
    }

    /// Sends `event` once the client's queue has room, unless the connection is lost
    /// meanwhile: then the client stops taking messages until it reconnects, and the event
    /// goes to the export buffer instead.
    async fn send_later(&self, event: Event) {
        if self.may_skip_the_buffer() {
            let Some(message) = self.encode(&event) else {
                return;
            };
            let mut publish = pin!(publish(&self.shared, &self.client, message, event.topic()));
            let mut state = self.shared.state.subscribe();
            tokio::select! {
                biased;
                () = &mut publish => return,
                _ = state.wait_for(|s| *s != ConnectionState::Connected) => {}
            }
        }
        self.queue(event).await;
    }

    /// Whether an event may go straight to the client: connected, with nothing waiting in
    /// the export buffer to go first.
    fn may_skip_the_buffer(&self) -> bool {
        self.shared.is_connected() && self.waiting.load(Ordering::Acquire) == 0
    }

    /// The message for `event`, or `None` (counted and logged) if it cannot be sent.
    fn encode(&self, event: &Event) -> Option<Outbound> {
        let mut encoder = self.encoder.lock().unwrap_or_else(PoisonError::into_inner);
        encode(&self.shared, &self.client, &mut encoder, event)
    }

    /// Puts `event` in the export buffer.
    async fn queue(&self, event: Event) {
        let connected = self.shared.is_connected();
        self.waiting.fetch_add(1, Ordering::AcqRel);
        match self.out.try_send(Outgoing::Event(event)) {
            Ok(()) => {
                if !connected {
                    bump(&self.shared.counters.buffered_while_disconnected);
                }
                return;
            }
            Err(mpsc::error::TrySendError::Full(item)) if connected => {
                // Back-pressure while connected, until the connection is lost.
                let mut state = self.shared.state.subscribe();
                tokio::select! {
                    permit = self.out.reserve() => {
                        if let Ok(permit) = permit {
                            permit.send(item);
                            return;
                        }
                    }
                    _ = state.wait_for(|s| *s != ConnectionState::Connected) => {
                        bump(&self.shared.counters.dropped_while_disconnected);
                    }
                }
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                bump(&self.shared.counters.dropped_while_disconnected);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
        self.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Sends the events of the export buffer while connected; holds them (in the channel) while
/// not.
async fn run_export(
    mut receiver: mpsc::Receiver<Outgoing>,
    client: Client,
    shared: Arc<Shared>,
    waiting: Arc<AtomicUsize>,
) {
    const BATCH: usize = 256;
    let mut encoder = Encoder::new(
        shared.metadata.then_some(&*shared.origin),
        shared.prefix.clone(),
        shared.max_payload,
    );
    let mut state = shared.state.subscribe();
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        match state
            .wait_for(|s| *s != ConnectionState::Disconnected)
            .await
            .map(|s| *s)
        {
            Ok(ConnectionState::Connected) => {}
            _ => return,
        }
        if receiver.recv_many(&mut batch, BATCH).await == 0 {
            return;
        }
        for item in batch.drain(..) {
            match item {
                Outgoing::Event(event) => {
                    if let Some(message) = encode(&shared, &client, &mut encoder, &event) {
                        publish(&shared, &client, message, event.topic()).await;
                    }
                    // Only now may new events skip the buffer: they go out after this one.
                    waiting.fetch_sub(1, Ordering::AcqRel);
                }
                Outgoing::Flush(done) => {
                    let _ = done.send(confirm(&shared, &client).await);
                }
            }
        }
    }
}

/// How often events handed to the client are confirmed with a round trip, at most.
const CONFIRM_EVERY: Duration = Duration::from_millis(20);

/// Confirms the events handed to the client, with a round trip every [`CONFIRM_EVERY`] while
/// there are some, so that a lost connection writes off only the last few (see
/// [`ledger`](crate::ledger)).
async fn run_confirm(client: Client, shared: Arc<Shared>) {
    loop {
        tokio::time::sleep(CONFIRM_EVERY).await;
        if shared.is_connected() && shared.counters.ledger.has_in_flight() {
            // A failure (the connection is lost meanwhile) confirms nothing; the loss is
            // accounted for by the disconnection.
            let _ = confirm(&shared, &client).await;
        }
    }
}

/// A round trip that confirms what was handed to the client before it.
async fn confirm(shared: &Shared, client: &Client) -> Result<(), String> {
    let ticket = shared.counters.ledger.begin();
    round_trip(client).await?;
    shared.counters.ledger.confirm(ticket);
    Ok(())
}

/// The message for a local event, or `None` (counted and logged) if it cannot be sent.
fn encode(
    shared: &Shared,
    client: &Client,
    encoder: &mut Encoder,
    event: &Event,
) -> Option<Outbound> {
    // The server's limit counts the headers too; the client refuses what exceeds it.
    match encoder.encode_within(event, client.max_payload()) {
        Ok(message) => Some(message),
        Err(EncodeError::NotJson(error)) => {
            bump(&shared.counters.not_exportable);
            tracing::warn!(topic = event.topic(), %error, "not exported: the payload has no JSON form");
            None
        }
        Err(EncodeError::TooLarge(len)) => {
            bump(&shared.counters.not_exportable);
            tracing::warn!(
                topic = event.topic(),
                len,
                max_payload = shared.max_payload,
                "not exported: the payload and its header are larger than `max_payload` (the \
                 bridge's or the server's, whichever is smaller)"
            );
            None
        }
    }
}

/// Hands a message to the client: waits while the client's own queue is full.
async fn publish(shared: &Shared, client: &Client, message: Outbound, topic: &str) {
    let Outbound {
        subject,
        headers,
        body,
    } = message;
    let published = match headers {
        Some(headers) => client.publish_with_headers(subject, headers, body).await,
        None => client.publish(subject, body).await,
    };
    match published {
        Ok(()) => shared.counters.ledger.handed(),
        Err(error) => {
            bump(&shared.counters.publish_errors);
            tracing::warn!(topic, %error, "the NATS client refused to send an event");
        }
    }
}
