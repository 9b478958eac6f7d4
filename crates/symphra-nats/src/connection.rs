//! The connection to the NATS server: its state, what the bridge's tasks share about it, and
//! the round trip that tells when the server has seen everything sent before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{Client, ConnectOptions};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::BridgeConfig;
use crate::error::BridgeError;
use crate::relay::{self, Upstreams};
use crate::request::PendingRequests;
use crate::stats::{Counters, bump};
use crate::subject::Prefix;

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

/// What the bridge's tasks and the client's event callback share.
pub(crate) struct Shared {
    pub(crate) origin: Arc<str>,
    pub(crate) prefix: Prefix,
    pub(crate) max_payload: usize,
    /// Whether exported events carry the metadata header ([`BridgeConfig::metadata`]).
    pub(crate) metadata: bool,
    pub(crate) max_clock_skew: Duration,
    pub(crate) max_pending_requests: usize,
    pub(crate) pending_requests: PendingRequests,
    pub(crate) counters: Counters,
    pub(crate) state: watch::Sender<ConnectionState>,
    /// Whether `state` is `Connected`, kept with it by [`set_state`](Self::set_state): read
    /// once per exported event, where the watch's read lock (two atomic read-modify-writes)
    /// costs more than this plain load.
    connected: AtomicBool,
    /// `buffered_while_disconnected` and `dropped_while_disconnected` when the connection was
    /// last lost, to state what happened while it was away.
    at_disconnect: [AtomicU64; 2],
    /// Whether the connection was lost since it was last up: only then is a `Connected` from
    /// the client a reconnection (the first one may come before or after `connect` returns).
    lost: AtomicBool,
}

impl Shared {
    /// Whether the connection is up now.
    // Asked once per exported event from `export`, another module (so possibly another
    // codegen unit): `inline` keeps it as cheap as when the two were in one file.
    #[inline]
    pub(crate) fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    /// Sets the connection state, and the flag [`is_connected`](Self::is_connected) reads
    /// under the watch's write lock, so that two writers cannot leave them disagreeing.
    pub(crate) fn set_state(&self, new: ConnectionState) {
        self.state.send_modify(|state| {
            *state = new;
            self.connected
                .store(new == ConnectionState::Connected, Ordering::Release);
        });
    }

    fn on_client_event(&self, event: async_nats::Event) {
        use async_nats::Event as E;
        let c = &self.counters;
        match event {
            E::Connected => {
                self.set_state(ConnectionState::Connected);
                if self.lost.swap(false, Ordering::AcqRel) {
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
                self.lost.store(true, Ordering::Release);
                let unconfirmed = c.ledger.connection_lost();
                self.at_disconnect[0].store(
                    c.buffered_while_disconnected.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                self.at_disconnect[1].store(
                    c.dropped_while_disconnected.load(Ordering::Relaxed),
                    Ordering::Relaxed,
                );
                self.set_state(ConnectionState::Disconnected);
                bump(&c.disconnects);
                tracing::warn!(
                    origin = %self.origin,
                    unconfirmed,
                    "lost the connection to NATS; reconnecting, holding exported events in the \
                     export buffer meanwhile; {unconfirmed} events sent since the last \
                     confirmation may be lost"
                );
            }
            E::Closed => {
                self.set_state(ConnectionState::Closed);
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
}

/// An open connection: what the bridge's tasks share, the client, and the relay's task if
/// the client reaches the server through one.
pub(crate) struct Opened {
    pub(crate) shared: Arc<Shared>,
    pub(crate) client: Client,
    pub(crate) relay: Option<JoinHandle<()>>,
}

/// Connects to the server of `config` (through the [relay](crate::relay) unless it is turned
/// off or cannot serve the URL), under a fresh origin, and returns the client with the state
/// its event callback keeps up to date.
pub(crate) async fn open(config: &BridgeConfig, prefix: Prefix) -> Result<Opened, BridgeError> {
    let name = config.name.as_deref().unwrap_or("symphra");
    let (state, _) = watch::channel(ConnectionState::Disconnected);
    let shared = Arc::new(Shared {
        origin: make_origin(name).into(),
        prefix,
        max_payload: config.max_payload,
        metadata: config.metadata,
        max_clock_skew: Duration::from_millis(config.max_clock_skew_ms),
        max_pending_requests: config.max_pending_requests,
        pending_requests: PendingRequests::default(),
        counters: Counters::default(),
        state,
        connected: AtomicBool::new(false),
        at_disconnect: Default::default(),
        lost: AtomicBool::new(false),
    });

    let relay = match config
        .relay
        .then(|| Upstreams::parse(&config.url))
        .flatten()
    {
        Some(upstreams) => {
            Some(
                relay::start(upstreams, &shared)
                    .await
                    .map_err(|source| BridgeError::Relay {
                        url: config.url.clone(),
                        source,
                    })?,
            )
        }
        None => {
            if config.relay {
                tracing::warn!(
                    url = %config.url,
                    "the bridge relays only `nats://` URLs: connecting directly, so a malformed \
                     message from the server will cost a reconnection"
                );
            }
            None
        }
    };
    let url = relay
        .as_ref()
        .map_or(config.url.as_str(), |r| r.url.as_str());

    let max_delay = config.max_reconnect_delay();
    // Weak, so that the client (which keeps the callback) does not keep the bridge alive.
    let callback_shared = Arc::downgrade(&shared);
    let mut options = ConnectOptions::new();
    // async-nats ignores credentials in the URL: `nats://user:password@host` (or `token@host`)
    // becomes the client's user and password (or token) here.
    if let Some(info) = Upstreams::parse(&config.url).and_then(|u| u.user_info) {
        options = match info.split_once(':') {
            Some((user, password)) => {
                options.user_and_password(user.to_owned(), password.to_owned())
            }
            None => options.token(info),
        };
    }
    if relay.is_some() {
        // Servers a cluster announces would be reached directly, around the relay.
        options = options.ignore_discovered_servers();
    }
    let client = options
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
        .connect(url)
        .await
        .map_err(|source| BridgeError::Connect {
            url: config.url.clone(),
            source,
        })?;
    shared.set_state(ConnectionState::Connected);
    Ok(Opened {
        shared,
        client,
        relay: relay.map(|r| r.task),
    })
}

/// A name for this bridge unique per bridge and process: the name (without spaces or control
/// characters, which the wire header cannot carry), the process id, a counter and the time's
/// nanoseconds (so that a restarted process with the same id differs too).
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

/// Waits until the server has processed everything this client sent before: `flush` only
/// empties the socket, so this sends a request nobody answers and waits for the server's
/// "no responders" reply, which comes after everything sent earlier on the connection.
pub(crate) async fn round_trip(client: &Client) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            origin: "test".into(),
            prefix: Prefix::new(None).unwrap(),
            max_payload: 1024,
            metadata: false,
            max_clock_skew: Duration::from_secs(1),
            max_pending_requests: 1,
            pending_requests: PendingRequests::default(),
            counters: Counters::default(),
            state: watch::channel(ConnectionState::Disconnected).0,
            connected: AtomicBool::new(false),
            at_disconnect: Default::default(),
            lost: AtomicBool::new(false),
        }
    }

    #[test]
    fn the_connected_flag_follows_the_state() {
        let shared = shared();
        let mut changes = shared.state.subscribe();
        for state in [
            ConnectionState::Connected,
            ConnectionState::Disconnected,
            ConnectionState::Connected,
            ConnectionState::Closed,
        ] {
            shared.set_state(state);
            assert_eq!(*changes.borrow_and_update(), state);
            assert_eq!(shared.is_connected(), state == ConnectionState::Connected);
        }
    }
}
