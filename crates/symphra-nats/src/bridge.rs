//! The bridge's handle: how it is connected, what it reports, how it is flushed and closed.

use std::sync::Arc;
use std::time::Duration;

use async_nats::Client;
use symphra::bus::{EventBus, Subscription};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::config::BridgeConfig;
use crate::connection::{self, ConnectionState, Shared, round_trip};
use crate::error::BridgeError;
use crate::export::{self, Exports, Outgoing};
use crate::import;
use crate::request::Requests;
use crate::stats::BridgeStats;

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

impl NatsBridge {
    /// Validates `config`, connects, subscribes the imports (and waits until the server has
    /// seen them), then subscribes the exports on `bus`.
    pub(crate) async fn connect(config: BridgeConfig, bus: &EventBus) -> Result<Self, BridgeError> {
        let validated = config.validate()?;
        let connection::Opened {
            shared,
            client,
            relay,
        } = connection::open(&config, validated.prefix).await?;
        let mut tasks = import::start(&validated.imports, bus, &client, &shared).await?;
        tasks.extend(relay);
        // The server has seen the subscriptions once it answers a round trip.
        round_trip(&client)
            .await
            .map_err(|reason| BridgeError::Flush { reason })?;
        let Exports {
            out,
            subscriptions,
            tasks: export_tasks,
        } = export::start(
            &validated.exports,
            config.export_buffer,
            bus,
            &client,
            &shared,
        )?;
        tasks.extend(export_tasks);
        tracing::info!(
            origin = %shared.origin,
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

    /// This bridge's name on the wire (first in the `Symphra-Event` header, when it sends
    /// [metadata](crate::BridgeConfig::metadata)), unique per bridge and
    /// process; imported events carry the sender's as their [`Event::origin`].
    ///
    /// [`Event::origin`]: symphra::bus::Event::origin
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

    /// Answers imported requests and sends requests to NATS; see [`Requests`].
    pub fn requests(&self) -> Requests {
        Requests {
            client: self.client.clone(),
            shared: self.shared.clone(),
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
