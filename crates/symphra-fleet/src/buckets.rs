//! The fleet's key-value buckets: their names, settings, and opening them.

use std::time::Duration;

use async_nats::jetstream::{self, kv, stream, stream::StorageType};

use symphra::util::Retry;

use crate::FleetError;

/// Leases of singleton modules: key = module name, value = [`Holder`](crate::Holder).
/// Its age limit is the lease TTL.
pub const LEASES: &str = "symphra-leases";
/// Operator decisions: key = module name, value = [`Desired`](crate::Desired).
pub const DESIRED: &str = "symphra-desired";
/// Replicas' heartbeats: key = replica id, value = [`ReplicaState`](crate::ReplicaState).
pub const REPLICAS: &str = "symphra-replicas";

/// Opens `bucket`, creating it with `config` if it does not exist yet. Replicas starting
/// together race to create it; the server accepts the same settings twice.
///
/// The bucket's stream is created here rather than with `create_key_value`, which first
/// asks for the account's information, and async-nats 0.51 cannot read nats-server 2.9's
/// answer. The stream's settings are those of a key-value bucket.
pub(crate) async fn open(
    js: &jetstream::Context,
    config: kv::Config,
) -> Result<kv::Store, FleetError> {
    let bucket = config.bucket.clone();
    let replicas = config.num_replicas;
    let failed = |source: async_nats::Error| FleetError::Bucket {
        bucket: bucket.clone(),
        replicas,
        source,
    };
    let stream = stream_config(config);
    // A cluster that has just formed, or is electing a leader, times requests out for a
    // few seconds: retried, for about half a minute.
    Retry::exponential(Duration::from_millis(200))
        .max_delay(Duration::from_secs(3))
        .max_attempts(OPEN_ATTEMPTS)
        .notify(|attempt, error: &async_nats::Error, next| {
            tracing::warn!(%error, attempt, ?next, "cannot open a fleet bucket yet; retrying");
        })
        .run(|| async {
            js.get_or_create_stream(stream.clone()).await?;
            Ok(js.get_key_value(&bucket).await?)
        })
        .await
        .map_err(failed)
}

/// How many times opening a bucket is tried.
const OPEN_ATTEMPTS: u32 = 12;

/// The stream behind a key-value bucket of `config`.
fn stream_config(config: kv::Config) -> stream::Config {
    stream::Config {
        name: format!("KV_{}", config.bucket),
        description: Some(config.description),
        subjects: vec![format!("$KV.{}.>", config.bucket)],
        max_messages_per_subject: config.history.max(1),
        max_age: config.max_age,
        max_message_size: config.max_value_size,
        storage: config.storage,
        num_replicas: config.num_replicas.max(1),
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        discard: stream::DiscardPolicy::New,
        ..Default::default()
    }
}

/// The leases bucket: one revision per key, forgotten `ttl` after it was written.
pub(crate) fn leases(ttl: Duration, replicas: usize) -> kv::Config {
    kv::Config {
        bucket: LEASES.to_owned(),
        description: "Symphra singleton leases".to_owned(),
        history: 1,
        max_age: ttl,
        // A lease is worth nothing after a restart of every server: it is held in memory.
        storage: StorageType::Memory,
        num_replicas: replicas,
        max_value_size: 1024,
        ..Default::default()
    }
}
/// The desired-state bucket: operator decisions, kept on disk, with some history.
pub(crate) fn desired(replicas: usize) -> kv::Config {
    kv::Config {
        bucket: DESIRED.to_owned(),
        description: "Symphra operator decisions for the fleet".to_owned(),
        history: 5,
        storage: StorageType::File,
        num_replicas: replicas,
        max_value_size: 64 * 1024,
        ..Default::default()
    }
}

/// The heartbeat bucket: a replica's entry disappears `ttl` after its last heartbeat.
pub(crate) fn replicas(ttl: Duration, replicas: usize) -> kv::Config {
    kv::Config {
        bucket: REPLICAS.to_owned(),
        description: "Symphra replicas' actual state".to_owned(),
        history: 1,
        max_age: ttl,
        storage: StorageType::Memory,
        num_replicas: replicas,
        max_value_size: 256 * 1024,
        ..Default::default()
    }
}
