//! What can go wrong in a fleet.

/// An error of the fleet: talking to NATS, or a setting that cannot work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The NATS servers could not be reached.
    #[error("cannot connect to NATS: {0}; is a server listening at the URL given?")]
    Connect(#[source] async_nats::Error),
    /// A key-value bucket could not be created or opened.
    #[error(
        "cannot open the key-value bucket {bucket:?}: {source}; is JetStream enabled on the \
         NATS server, and are there enough servers for {replicas} replica(s)?"
    )]
    Bucket {
        /// The bucket's name.
        bucket: String,
        /// How many replicas the bucket was asked for.
        replicas: usize,
        /// Why.
        #[source]
        source: async_nats::Error,
    },
    /// Reading or writing a key of a bucket failed.
    #[error("cannot {action} key {key:?} of bucket {bucket:?}: {source}")]
    Key {
        /// What was attempted: `read`, `write`, `watch`, `list`.
        action: &'static str,
        /// The bucket.
        bucket: &'static str,
        /// The key (a short prefix of it).
        key: String,
        /// Why.
        #[source]
        source: async_nats::Error,
    },
    /// A compare-and-swap write found a newer revision than the one it read: someone else
    /// wrote first. Read again and retry.
    #[error("key {key:?} of bucket {bucket:?} changed while it was being written; try again")]
    Conflict {
        /// The bucket.
        bucket: &'static str,
        /// The key.
        key: String,
    },
    /// The lease timings cannot keep the guarantee they are for.
    #[error("invalid lease timing: {0}")]
    Timing(&'static str),
    /// A value read from a bucket is not what this version writes.
    #[error("key {key:?} of bucket {bucket:?} holds no valid value ({reason}); rewrite it")]
    Malformed {
        /// The bucket.
        bucket: &'static str,
        /// The key.
        key: String,
        /// Why, from the decoder.
        reason: String,
    },
    /// A module or replica name that cannot be one (and so cannot be a key).
    #[error(transparent)]
    Name(#[from] symphra::module::MetadataError),
    /// The manager refused an operation.
    #[error(transparent)]
    Manager(#[from] symphra::Error),
}

/// At most this many characters of a key are quoted in a message.
const QUOTED_KEY_CHARS: usize = 64;

/// A short prefix of `key`, for messages.
pub(crate) fn quoted(key: &str) -> String {
    key.chars().take(QUOTED_KEY_CHARS).collect()
}
