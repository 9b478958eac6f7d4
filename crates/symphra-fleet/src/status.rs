//! The fleet's state read in one place: every replica's heartbeat and every decision.

use std::collections::BTreeMap;

use async_nats::jetstream;
use futures_util::StreamExt;

use crate::desired::Desired;
use crate::heartbeat::ReplicaState;
use crate::{FleetError, buckets};

/// What `symphra fleet status` shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FleetStatus {
    /// Each live replica's last heartbeat, by replica id.
    pub replicas: BTreeMap<String, ReplicaState>,
    /// The operator's decisions, by module.
    pub desired: BTreeMap<String, Desired>,
}

/// At most this many keys are read from a bucket: a status is for people, and a bucket
/// holding more is not a fleet this reads sensibly.
const MAX_KEYS: usize = 10_000;

impl FleetStatus {
    /// Reads the fleet's state; buckets that do not exist yet read as empty.
    pub async fn read(jetstream: &jetstream::Context) -> Result<Self, FleetError> {
        let mut status = Self::default();
        if let Ok(store) = jetstream.get_key_value(buckets::REPLICAS).await {
            for (key, value) in read_all(&store, buckets::REPLICAS).await? {
                match serde_json::from_slice::<ReplicaState>(&value) {
                    Ok(state) => {
                        status.replicas.insert(key, state);
                    }
                    Err(error) => tracing::warn!(%error, "a malformed heartbeat is ignored"),
                }
            }
        }
        if let Ok(store) = jetstream.get_key_value(buckets::DESIRED).await {
            for (key, value) in read_all(&store, buckets::DESIRED).await? {
                let desired = Desired::decode(&key, &value)?;
                status.desired.insert(key, desired);
            }
        }
        Ok(status)
    }

    /// The status as a table: one row per replica and module, then the decisions.
    pub fn table(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{:<20} {:<16} {:>8}  {:<20} {:<10} {:<11} LEASE",
            "REPLICA", "HOST", "PID", "MODULE", "VERSION", "STATE"
        );
        for state in self.replicas.values() {
            for module in &state.modules {
                let lease = match (module.singleton, module.lease) {
                    (true, Some(token)) => format!("held (token {token})"),
                    (true, None) => "elsewhere".to_owned(),
                    (false, _) => "-".to_owned(),
                };
                let _ = writeln!(
                    out,
                    "{:<20} {:<16} {:>8}  {:<20} {:<10} {:<11} {lease}",
                    state.replica, state.host, state.pid, module.name, module.version, module.state
                );
            }
        }
        if self.replicas.is_empty() {
            out.push_str("(no replica has sent a heartbeat recently)\n");
        }
        out.push_str("\nFLEET DECISIONS\n");
        if self.desired.is_empty() {
            out.push_str("(none: every replica follows its own state)\n");
        }
        for (module, desired) in &self.desired {
            let availability = match desired.availability {
                crate::Availability::Enabled => "enabled",
                crate::Availability::Disabled => "disabled",
            };
            let run = match desired.run {
                Some(crate::Run::Started) => "started",
                Some(crate::Run::Stopped) => "stopped",
                None => "-",
            };
            let config = desired.config.as_ref().map_or_else(
                || "-".to_owned(),
                |c| {
                    let text = c.to_string();
                    text.chars().take(60).collect()
                },
            );
            let _ = writeln!(
                out,
                "{module:<20} {availability:<9} {run:<8} config: {config}"
            );
        }
        out
    }
}

/// Every key's current value in `store`, at most [`MAX_KEYS`].
///
/// The keys are the subjects the stream's leader lists (`STREAM.INFO` with a subjects
/// filter), not `kv::Store::keys`: that is an ordered consumer which, on a bucket written
/// all the time like the heartbeats', can wait for an idle moment that never comes.
async fn read_all(
    store: &jetstream::kv::Store,
    bucket: &'static str,
) -> Result<Vec<(String, bytes::Bytes)>, FleetError> {
    let failed = |action, source: async_nats::Error| FleetError::Key {
        action,
        bucket,
        key: String::new(),
        source,
    };
    let mut subjects = store
        .stream
        .info_with_subjects(format!("{}>", store.prefix))
        .await
        .map_err(|e| failed("list", e.into()))?;
    let mut keys = Vec::new();
    while let Some(subject) = subjects.next().await {
        let (subject, _) = subject.map_err(|e| failed("list", e.into()))?;
        if let Some(key) = subject.strip_prefix(&store.prefix) {
            keys.push(key.to_owned());
        }
        if keys.len() >= MAX_KEYS {
            break;
        }
    }
    let mut values = Vec::new();
    for key in keys {
        // A deleted key (its delete marker is still a subject) reads as `None`.
        if let Some(value) = store
            .get(&key)
            .await
            .map_err(|e| failed("read", e.into()))?
        {
            values.push((key, value));
        }
    }
    Ok(values)
}
