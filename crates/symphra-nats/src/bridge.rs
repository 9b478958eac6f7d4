//! The bridge: its builder, its handle, and the tasks that move events.

use std::pin::pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{Client, ConnectOptions, Message, Subscriber};
use futures_util::StreamExt;
use serde_json::Value;
use symphra::bus::{Event, EventBus, Pattern, SubscribeOptions, Subscription};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::{BridgeConfig, ImportConfig};
use crate::error::BridgeError;
use crate::stats::{BridgeStats, Counters, bump};
use crate::subject::Prefix;
use crate::wire::{self, EncodeError, Encoder, FOREIGN_ORIGIN, Interned, Outbound};

/// Whether a bridge is connected to its NATS server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Connected: exports are sent and imports received.
    Connected,
    /// The server is away and the client is reconnecting: exports are held in the export
    /// buffer (then dropped once it is full), nothing is received.
    Disconnected,
    /// The connection is closed for good (the bridge was closed or stopped).
    Closed,
}

/// Builds a [`NatsBridge`]: the server, the patterns, the limits. Start with
/// [`NatsBridge::builder`] or [`NatsBridge::from_config`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `.connect(&bus)` is awaited"]
pub struct NatsBridgeBuilder {
    config: BridgeConfig,
}

impl NatsBridgeBuilder {
    /// Exports local events matching `pattern` (e.g. `user.*`, or `*` for every event).
    pub fn export(mut self, pattern: impl Into<String>) -> Self {
        self.config.export.push(pattern.into());
        self
    }

    /// Imports NATS messages whose subject matches `pattern`, delivered to every bridge that
    /// imports it.
    pub fn import(mut self, pattern: impl Into<String>) -> Self {
        self.config.import.push(ImportConfig::new(pattern));
        self
    }

    /// Imports `pattern` in queue group `group`: the bridges in one group share the
    /// messages, each delivered to exactly one of them.
    pub fn import_queue(mut self, pattern: impl Into<String>, group: impl Into<String>) -> Self {
        self.config.import.push(ImportConfig::queue(pattern, group));
        self
    }

    /// Puts `prefix.` in front of every subject, to keep applications apart on one server.
    pub fn subject_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.config.subject_prefix = Some(prefix.into());
        self
    }

    /// Names the bridge (in the server's connection list and in its origin).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.config.name = Some(name.into());
        self
    }

    /// How many exported events may wait to be sent; see [`BridgeConfig::export_buffer`].
    pub fn export_buffer(mut self, events: usize) -> Self {
        self.config.export_buffer = events;
        self
    }

    /// How many received messages may wait per import; see [`BridgeConfig::import_buffer`].
    pub fn import_buffer(mut self, messages: usize) -> Self {
        self.config.import_buffer = messages;
        self
    }

    /// The largest payload sent or accepted, in bytes; see [`BridgeConfig::max_payload`].
    pub fn max_payload(mut self, bytes: usize) -> Self {
        self.config.max_payload = bytes;
        self
    }

    /// The longest wait between reconnection attempts.
    pub fn max_reconnect_delay(mut self, delay: Duration) -> Self {
        self.config.max_reconnect_delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// The configuration built so far.
    pub fn config(&self) -> &BridgeConfig {
        &self.config
    }

    /// Connects to the server, subscribes the imports there and the exports on `bus`, and
    /// returns the running bridge. When it returns, the server knows the imports: messages
    /// published from then on are received.
    ///
    /// # Errors
    /// [`BridgeError::InvalidPattern`], [`BridgeError::InvalidPrefix`],
    /// [`BridgeError::InvalidQueueGroup`] or [`BridgeError::NothingToBridge`] for a wrong
    /// configuration; [`BridgeError::Connect`] if the server cannot be reached;
    /// [`BridgeError::Subscribe`] or [`BridgeError::Flush`] if it refuses the imports;
    /// [`BridgeError::Bus`] if called outside a Tokio runtime.
    pub async fn connect(self, bus: &EventBus) -> Result<NatsBridge, BridgeError> {
        NatsBridge::connect(self.config, bus).await
    }
}

/// One connection between a local [`EventBus`] and a NATS server; see the
/// [crate documentation](crate) for what it does.
///
/// Dropping it stops it at once (events still in the export buffer are lost);
/// [`close`](Self::close) sends them first.
pub struct NatsBridge {
    shared: Arc<Shared>,
    client: Client,
    out: mpsc::Sender<Outgoing>,
    exports: Vec<Subscription>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for NatsBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsBridge")
            .field("origin", &self.shared.origin)
            .field("state", &self.state())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

enum Outgoing {
    Event(Event),
    Flush(oneshot::Sender<Result<(), String>>),
}

/// What the bridge's tasks and the client's event callback share.
struct Shared {
    origin: Arc<str>,
    prefix: Prefix,
    max_payload: usize,
    counters: Counters,
    state: watch::Sender<ConnectionState>,
    /// `buffered_while_disconnected` and `dropped_while_disconnected` when the connection was
    /// last lost, to state what happened while it was away.
    at_disconnect: [AtomicU64; 2],
}

impl Shared {
    fn is_connected(&self) -> bool {
        *self.state.borrow() == ConnectionState::Connected
    }

    fn on_client_event(&self, event: async_nats::Event) {
        use async_nats::Event as E;
        let c = &self.counters;
        match event {
            E::Connected => {
                let was = self.state.send_replace(ConnectionState::Connected);
                if was == ConnectionState::Disconnected {
                    bump(&c.reconnects);
                    let buffered = c.buffered_while_disconnected.load(Ordering::Relaxed)
                        - self.at_disconnect[0].load(Ordering::Relaxed);
                    let dropped = c.dropped_while_disconnected.load(Ordering::Relaxed)
                        - self.at_disconnect[1].load(Ordering::Relaxed);
                    tracing::info!(
                        origin = %self.origin,
                        buffered,
                        dropped,
                        "reconnected to NATS; while it was away {buffered} exported events were \
                         buffered (sent now) and {dropped} dropped (export buffer full)"
                    );
                }
            }
            E::Disconnected => {
                self.at_disconnect[0].store(
                    c.buffered_while_disconnected.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                self.at_disconnect[1].store(
                    c.dropped_while_disconnected.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                self.state.send_replace(ConnectionState::Disconnected);
                bump(&c.disconnects);
                tracing::warn!(
                    origin = %self.origin,
                    "lost the connection to NATS; reconnecting, holding exported events in the \
                     export buffer meanwhile"
                );
            }
            E::Closed => {
                self.state.send_replace(ConnectionState::Closed);
                tracing::info!(origin = %self.origin, "NATS connection closed");
            }
            E::SlowConsumer(sid) => {
                let n = c.slow_consumer_drops.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(
                        origin = %self.origin,
                        sid,
                        drops = n,
                        "a local subscriber is too slow for an import: NATS messages are being \
                         dropped; give slow subscribers a queue (`SubscribeOptions::queue`) or \
                         raise `import_buffer`"
                    );
                }
            }
            E::LameDuckMode => {
                tracing::info!(origin = %self.origin, "NATS server entered lame duck mode")
            }
            E::Draining => tracing::debug!(origin = %self.origin, "NATS connection draining"),
            E::ServerError(error) => {
                tracing::warn!(origin = %self.origin, %error, "NATS server error")
            }
            E::ClientError(error) => {
                tracing::warn!(origin = %self.origin, %error, "NATS client error")
            }
        }
    }

    /// The message for a local event, or `None` (counted and logged) if it cannot be sent.
    fn encode(&self, encoder: &mut Encoder, event: &Event) -> Option<Outbound> {
        match encoder.encode(event) {
            Ok(message) => Some(message),
            Err(EncodeError::NotJson(error)) => {
                bump(&self.counters.not_exportable);
                tracing::warn!(topic = event.topic(), %error, "not exported: the payload has no JSON form");
                None
            }
            Err(EncodeError::TooLarge(len)) => {
                bump(&self.counters.not_exportable);
                tracing::warn!(
                    topic = event.topic(),
                    len,
                    max_payload = self.max_payload,
                    "not exported: the payload is larger than `max_payload`"
                );
                None
            }
        }
    }

    /// Hands a message to the client: waits while the client's own queue is full.
    async fn publish(&self, client: &Client, message: Outbound, topic: &str) {
        let Outbound {
            subject,
            headers,
            body,
        } = message;
        match client.publish_with_headers(subject, headers, body).await {
            Ok(()) => bump(&self.counters.exported),
            Err(error) => {
                bump(&self.counters.publish_errors);
                tracing::warn!(topic, %error, "the NATS client refused to send an event");
            }
        }
    }
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
    async fn accept(&self, event: Event) {
        if self.shared.is_connected() && self.waiting.load(Ordering::Acquire) == 0 {
            let message = {
                let mut encoder = self.encoder.lock().unwrap_or_else(PoisonError::into_inner);
                self.shared.encode(&mut encoder, &event)
            };
            let Some(message) = message else { return };
            let mut publish = pin!(self.shared.publish(&self.client, message, event.topic()));
            // Usually the client has room and this is done at the first poll.
            if std::future::poll_fn(|cx| Poll::Ready(publish.as_mut().poll(cx)))
                .await
                .is_ready()
            {
                return;
            }
            // The client's queue is full: wait for it, unless the connection is lost
            // meanwhile (then the client stops taking messages until it reconnects, and the
            // event goes to the export buffer instead, not sent, as cancelling `publish`
            // before it has a place in the queue sends nothing).
            let mut state = self.shared.state.subscribe();
            tokio::select! {
                biased;
                () = &mut publish => return,
                _ = state.wait_for(|s| *s != ConnectionState::Connected) => {}
            }
        }
        self.queue(event).await;
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

fn make_origin(name: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_control() || c.is_whitespace() {
                '_'
            } else {
                c
            }
        })
        .collect();
    format!(
        "{clean}/{}/{}-{nanos:08x}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl NatsBridge {
    /// A builder for a bridge to the server at `url` (e.g. `nats://127.0.0.1:4222`).
    pub fn builder(url: impl Into<String>) -> NatsBridgeBuilder {
        NatsBridgeBuilder {
            config: BridgeConfig {
                url: url.into(),
                ..BridgeConfig::default()
            },
        }
    }

    /// A builder starting from a configuration, e.g. read from a file.
    pub fn from_config(config: BridgeConfig) -> NatsBridgeBuilder {
        NatsBridgeBuilder { config }
    }

    async fn connect(config: BridgeConfig, bus: &EventBus) -> Result<Self, BridgeError> {
        let parse = |direction, pattern: &str| {
            Pattern::parse(pattern)
                .map_err(|source| BridgeError::InvalidPattern { direction, source })
        };
        let exports = config
            .export
            .iter()
            .map(|p| parse("export", p))
            .collect::<Result<Vec<_>, _>>()?;
        let imports = config
            .import
            .iter()
            .map(|i| {
                if let Some(group) = &i.queue_group
                    && (group.is_empty() || group.chars().any(char::is_whitespace))
                {
                    return Err(BridgeError::InvalidQueueGroup {
                        pattern: i.pattern.clone(),
                        group: group.clone(),
                    });
                }
                Ok((parse("import", &i.pattern)?, i.queue_group.clone()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if exports.is_empty() && imports.is_empty() {
            return Err(BridgeError::NothingToBridge);
        }
        let prefix = Prefix::new(config.subject_prefix.as_deref())?;
        let name = config.name.as_deref().unwrap_or("symphra");
        let origin: Arc<str> = make_origin(name).into();

        let (state, _) = watch::channel(ConnectionState::Disconnected);
        let shared = Arc::new(Shared {
            origin: origin.clone(),
            prefix,
            max_payload: config.max_payload,
            counters: Counters::default(),
            state,
            at_disconnect: Default::default(),
        });

        let max_delay = config.max_reconnect_delay();
        let callback_shared = Arc::downgrade(&shared);
        let client = ConnectOptions::new()
            .name(name)
            .no_echo()
            // Subjects come from validated topics and a validated prefix.
            .skip_subject_validation(true)
            .max_reconnects(None)
            .subscription_capacity(config.import_buffer.max(1))
            .reconnect_delay_callback(move |attempts| {
                let shift = u32::try_from(attempts.min(16)).unwrap_or(16);
                Duration::from_millis(10u64 << shift).min(max_delay)
            })
            .event_callback(move |event| {
                let shared = callback_shared.upgrade();
                async move {
                    if let Some(shared) = shared {
                        shared.on_client_event(event);
                    }
                }
            })
            .connect(config.url.as_str())
            .await
            .map_err(|source| BridgeError::Connect {
                url: config.url.clone(),
                source,
            })?;
        shared.state.send_replace(ConnectionState::Connected);

        let mut tasks = Vec::new();
        for (pattern, group) in &imports {
            let subject = shared.prefix.subject_for_pattern(pattern);
            let subscribed = match group {
                Some(group) => client.queue_subscribe(subject.clone(), group.clone()).await,
                None => client.subscribe(subject.clone()).await,
            };
            let subscriber =
                subscribed.map_err(|source| BridgeError::Subscribe { subject, source })?;
            tasks.push(tokio::spawn(run_import(
                subscriber,
                bus.clone(),
                shared.clone(),
            )));
        }
        // The server has seen the subscriptions once it answers a round trip.
        round_trip(&client)
            .await
            .map_err(|reason| BridgeError::Flush { reason })?;

        let (out, receiver) = mpsc::channel(config.export_buffer.max(1));
        let waiting = Arc::new(AtomicUsize::new(0));
        tasks.push(tokio::spawn(run_export(
            receiver,
            client.clone(),
            shared.clone(),
            waiting.clone(),
        )));
        let exporter = Arc::new(Exporter {
            out: out.clone(),
            shared: shared.clone(),
            client: client.clone(),
            encoder: Mutex::new(Encoder::new(
                &shared.origin,
                shared.prefix.clone(),
                shared.max_payload,
            )),
            waiting,
        });
        let mut subscriptions = Vec::with_capacity(exports.len());
        for (i, pattern) in exports.iter().enumerate() {
            // An event matching several export patterns is sent once, by the first.
            let earlier: Vec<Pattern> = exports[..i].to_vec();
            let options = SubscribeOptions::new().condition(move |event: &Event| {
                event.origin().is_none() && !earlier.iter().any(|p| p.matches(event.topic()))
            });
            let exporter = exporter.clone();
            subscriptions.push(bus.subscribe_async_with(
                pattern.as_str(),
                options,
                move |event| {
                    let exporter = exporter.clone();
                    async move { exporter.accept(event).await }
                },
            )?);
        }
        tracing::info!(
            origin = %origin,
            url = %config.url,
            exports = ?config.export,
            imports = ?config.import,
            "bridge to NATS connected"
        );
        Ok(Self {
            shared,
            client,
            out,
            exports: subscriptions,
            tasks,
        })
    }

    /// This bridge's name on the wire (first in the `Symphra-Event` header), unique per bridge and
    /// process; imported events carry the sender's as their [`Event::origin`].
    pub fn origin(&self) -> &str {
        &self.shared.origin
    }

    /// What the bridge has done so far.
    pub fn stats(&self) -> BridgeStats {
        self.shared.counters.snapshot()
    }

    /// Whether the bridge is connected now.
    pub fn state(&self) -> ConnectionState {
        *self.shared.state.borrow()
    }

    /// A receiver that sees every change of [`state`](Self::state).
    pub fn state_changes(&self) -> watch::Receiver<ConnectionState> {
        self.shared.state.subscribe()
    }

    /// Waits until the bridge is in `state`, for at most `timeout`.
    ///
    /// # Errors
    /// [`BridgeError::Timeout`] if it is not in time.
    pub async fn wait_for_state(
        &self,
        state: ConnectionState,
        timeout: Duration,
    ) -> Result<(), BridgeError> {
        let mut changes = self.state_changes();
        match tokio::time::timeout(timeout, changes.wait_for(|s| *s == state)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(_)) => Err(BridgeError::Stopped),
            Err(_) => Err(BridgeError::Timeout {
                what: "a connection state",
                waited: timeout,
            }),
        }
    }

    /// The NATS client the bridge uses, e.g. to publish or subscribe outside the bus.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until every event exported before the call has been sent and the server has
    /// answered (a round trip), so that subscribers elsewhere can receive it. Waits for
    /// reconnection if the server is away.
    ///
    /// # Errors
    /// [`BridgeError::Flush`] if the client fails; [`BridgeError::Stopped`] if the bridge
    /// has stopped.
    pub async fn flush(&self) -> Result<(), BridgeError> {
        let (done, wait) = oneshot::channel();
        self.out
            .send(Outgoing::Flush(done))
            .await
            .map_err(|_| BridgeError::Stopped)?;
        wait.await
            .map_err(|_| BridgeError::Stopped)?
            .map_err(|reason| BridgeError::Flush { reason })
    }

    /// Stops exporting, sends what the export buffer holds, and closes the connection.
    ///
    /// # Errors
    /// As for [`flush`](Self::flush).
    pub async fn close(mut self) -> Result<(), BridgeError> {
        self.exports.clear();
        let flushed = self.flush().await;
        let drained = self.client.drain().await;
        flushed?;
        drained.map_err(|error| BridgeError::Flush {
            reason: error.to_string(),
        })
    }
}

impl Drop for NatsBridge {
    fn drop(&mut self) {
        self.exports.clear();
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Waits until the server has processed everything this client sent before: `flush` only
/// empties the socket, so this sends a request nobody answers and waits for the server's
/// "no responders" reply, which comes after everything sent earlier on the connection.
async fn round_trip(client: &Client) -> Result<(), String> {
    use async_nats::RequestErrorKind;
    client.flush().await.map_err(|e| e.to_string())?;
    match client
        .request(client.new_inbox(), bytes::Bytes::new())
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == RequestErrorKind::NoResponders => Ok(()),
        Err(error) => Err(error.to_string()),
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
    let mut encoder = Encoder::new(&shared.origin, shared.prefix.clone(), shared.max_payload);
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
                    if let Some(message) = shared.encode(&mut encoder, &event) {
                        shared.publish(&client, message, event.topic()).await;
                    }
                    // Only now may new events skip the buffer: they go out after this one.
                    waiting.fetch_sub(1, Ordering::AcqRel);
                }
                Outgoing::Flush(done) => {
                    let _ = done.send(round_trip(&client).await);
                }
            }
        }
    }
}

/// Publishes one import's messages on the local bus.
async fn run_import(mut subscriber: Subscriber, bus: EventBus, shared: Arc<Shared>) {
    let mut seen = Seen::default();
    while let Some(message) = subscriber.next().await {
        if let Some(event) = shared.receive(&message, &mut seen) {
            bump(&shared.counters.imported);
            bus.publish_event(event).await;
        }
    }
}

/// What an import remembers from one message to the next, so that a stream of messages
/// with the same subject, origin and source checks and allocates them once.
#[derive(Default)]
struct Seen {
    origins: Interned,
    sources: Interned,
    /// The last subject found to be a valid topic.
    subject: Option<async_nats::Subject>,
}

impl Shared {
    /// The event for a received message, or `None` (counted and logged) if it is skipped.
    fn receive(&self, message: &Message, seen: &mut Seen) -> Option<Event> {
        let c = &self.counters;
        let subject = message.subject.as_str();
        if message.payload.len() > self.max_payload {
            bump(&c.oversized);
            tracing::warn!(
                subject,
                len = message.payload.len(),
                max_payload = self.max_payload,
                "skipped a NATS message larger than `max_payload`"
            );
            return None;
        }
        let meta = wire::decode_headers(message.headers.as_ref());
        if meta.origin == Some(&*self.origin) {
            bump(&c.own_ignored);
            return None;
        }
        let topic = if seen.subject.as_ref() == Some(&message.subject) {
            self.prefix.strip(subject)
        } else {
            match self.prefix.topic_for_subject(subject) {
                Ok(topic) => {
                    seen.subject = Some(message.subject.clone());
                    topic
                }
                Err(error) => {
                    bump(&c.invalid_subject);
                    tracing::warn!(subject, %error, "skipped a NATS message whose subject is not a bus topic");
                    return None;
                }
            }
        };
        let value: Value = match serde_json::from_slice(&message.payload) {
            Ok(value) => value,
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
        let event = match Event::json(topic, value) {
            Ok(event) => event,
            Err(error) => {
                bump(&c.invalid_subject);
                tracing::warn!(subject, %error, "skipped a NATS message whose subject is not a bus topic");
                return None;
            }
        };
        let mut event = event.with_origin(seen.origins.get(meta.origin.unwrap_or(FOREIGN_ORIGIN)));
        if let Some(source) = meta.source {
            event = event.with_source(seen.sources.get(source));
        }
        if let Some(time) = meta.time {
            event = event.with_time(time);
        }
        Some(event)
    }
}
