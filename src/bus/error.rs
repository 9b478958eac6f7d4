//! The bus's error type.

use std::borrow::Cow;

use super::topic::escaped;

/// What went wrong in an [`EventBus`](super::EventBus) call.
///
/// Every message says what was wrong and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BusError {
    /// A published topic is not a valid topic.
    #[error(
        "invalid topic `{}`: token {position} (`{}`) {reason}; a topic is dot-separated \
         non-empty tokens without whitespace, control or invisible characters, or wildcards, \
         e.g. `user.created`",
        escaped(.topic),
        escaped(.token)
    )]
    InvalidTopic {
        /// The topic as given, cut to a short prefix.
        topic: String,
        /// The offending token, cut to a short prefix.
        token: String,
        /// 1-based position of the offending token.
        position: usize,
        /// Why the token is rejected.
        reason: Cow<'static, str>,
    },

    /// A subscription pattern is not a valid pattern.
    #[error(
        "invalid pattern `{}`: token {position} (`{}`) {reason}; a pattern is dot-separated \
         non-empty tokens without whitespace, control or invisible characters, where `*` \
         stands for one token and a final `>` for one or more, e.g. `user.*` or `user.>`",
        escaped(.pattern),
        escaped(.token)
    )]
    InvalidPattern {
        /// The pattern as given, cut to a short prefix.
        pattern: String,
        /// The offending token, cut to a short prefix.
        token: String,
        /// 1-based position of the offending token.
        position: usize,
        /// Why the token is rejected.
        reason: Cow<'static, str>,
    },

    /// A topic or pattern is longer than [`MAX_TOPIC_BYTES`](super::topic::MAX_TOPIC_BYTES).
    #[error(
        "{kind} `{}` is {bytes} bytes long, more than the limit of {max}; use a shorter \
         {kind} (put data in the payload, not the topic)",
        escaped(.prefix)
    )]
    TooLong {
        /// `topic` or `pattern`.
        kind: &'static str,
        /// The start of the value, cut to a short prefix.
        prefix: String,
        /// Its length in bytes.
        bytes: usize,
        /// The limit.
        max: usize,
    },

    /// A topic or pattern has more tokens than
    /// [`MAX_TOPIC_TOKENS`](super::topic::MAX_TOPIC_TOKENS).
    #[error(
        "{kind} `{}` has {tokens} dot-separated tokens, more than the limit of {max}; use \
         fewer, or a `>` for the rest of a pattern",
        escaped(.prefix)
    )]
    TooManyTokens {
        /// `topic` or `pattern`.
        kind: &'static str,
        /// The start of the value, cut to a short prefix.
        prefix: String,
        /// How many tokens it has.
        tokens: usize,
        /// The limit.
        max: usize,
    },

    /// The call needs a Tokio runtime and none is running on this thread.
    #[error(
        "{what} needs a Tokio runtime, and none is running on this thread; call it from inside \
         `#[tokio::main]`, a spawned task, or `Runtime::block_on`"
    )]
    NoRuntime {
        /// The operation that needed the runtime.
        what: &'static str,
    },

    /// The fire-and-forget queue is full.
    #[error(
        "event `{topic}` was not emitted: the fire-and-forget queue is full ({capacity} events \
         waiting); use `publish(..).await` for back-pressure, or raise \
         `EventBus::builder().emit_queue_capacity(..)`"
    )]
    EmitQueueFull {
        /// The topic of the rejected event.
        topic: String,
        /// The queue's capacity.
        capacity: usize,
    },

    /// The event's payload has no JSON form.
    #[error(
        "event `{topic}` has no JSON form: its payload is an in-process value; build it with \
         `Event::json` or `Event::serializable` to give it one"
    )]
    NotJson {
        /// The event's topic.
        topic: String,
    },

    /// The payload could not be converted to or from JSON.
    #[error("the payload of event `{topic}` could not be read as `{target}`: {source}")]
    Json {
        /// The event's topic.
        topic: String,
        /// The type that was asked for.
        target: &'static str,
        /// What serde said.
        #[source]
        source: serde_json::Error,
    },
}
