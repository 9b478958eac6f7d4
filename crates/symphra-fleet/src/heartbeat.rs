//! A replica's actual state, published with a heartbeat to the replicas bucket, whose age
//! limit drops a replica that stopped beating.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv;
use serde::{Deserialize, Serialize};
use symphra::ModuleManager;
use symphra::context::CancellationToken;
use tokio::sync::Notify;

/// One module as a replica reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModuleStatus {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its state (`started`, `stopped`, `registered`, …).
    pub state: String,
    /// Whether it is a singleton.
    #[serde(default)]
    pub singleton: bool,
    /// The token of the lease it holds here, if it is a singleton holding one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<u64>,
    /// Why the last operation skipped it, if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What a replica publishes with each heartbeat.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaState {
    /// The replica's id.
    pub replica: String,
    /// Its host.
    pub host: String,
    /// Its process id.
    pub pid: u32,
    /// When this state was published, in milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// Its modules.
    pub modules: Vec<ModuleStatus>,
}

impl ReplicaState {
    /// The state of `manager`'s modules now.
    pub(crate) fn of(replica: &str, manager: &ModuleManager) -> Self {
        let modules = manager
            .handles()
            .into_iter()
            .map(|handle| {
                let lease = handle.lease().filter(|lease| lease.is_current());
                ModuleStatus {
                    name: handle.name().to_owned(),
                    version: handle.version().to_string(),
                    state: handle.state().to_string(),
                    singleton: handle.metadata().is_singleton(),
                    lease: lease.map(|lease| lease.token()),
                    skipped: handle.skipped().map(|reason| reason.to_string()),
                }
            })
            .collect();
        Self {
            replica: replica.to_owned(),
            host: host_name(),
            pid: std::process::id(),
            at_unix_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |since| {
                    u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
                }),
            modules,
        }
    }
}

/// Publishes the replica's state every `period`, and at once when `changed` is poked,
/// until shutdown; then deletes it, so that status stops listing the replica.
pub(crate) async fn beat(
    manager: ModuleManager,
    store: kv::Store,
    replica: String,
    period: Duration,
    changed: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        let state = ReplicaState::of(&replica, &manager);
        match serde_json::to_vec(&state) {
            Ok(value) => {
                if let Err(error) = store.put(&replica, value.into()).await {
                    tracing::warn!(%error, "heartbeat not published");
                }
            }
            Err(error) => tracing::error!(%error, "heartbeat not encoded"),
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(period) => {}
            () = changed.notified() => {}
        }
    }
    let _ = tokio::time::timeout(period, store.delete(&replica)).await;
}

/// The host's name, from the environment or `/etc/hostname`; `localhost` when neither
/// says. Cut to 64 characters.
pub(crate) fn host_name() -> String {
    let name = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .unwrap_or_default();
    let name: String = name
        .trim()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(64)
        .collect();
    if name.is_empty() {
        "localhost".to_owned()
    } else {
        name
    }
}
