//! Request/reply across the bridge: an imported message that came with a reply subject can be
//! answered, and a module can send a request to NATS and wait for its answer.
//!
//! The bus's [`Event`] has no place for a reply subject (the core stays as it is): the bridge
//! keeps the reply subjects of the requests it imported, by event id, in a bounded table
//! ([`BridgeConfig::max_pending_requests`](crate::BridgeConfig::max_pending_requests)); the
//! oldest unanswered one is forgotten (and counted) when it is full.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::{Client, RequestErrorKind, Subject};
use serde_json::Value;
use symphra::bus::{Event, validate_topic};

use crate::connection::Shared;
use crate::stats::bump;

/// The reply subjects of imported requests not answered yet, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PendingRequests {
    inner: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    by_id: HashMap<u64, Subject>,
    order: VecDeque<u64>,
}

impl PendingRequests {
    /// Remembers that event `id` came with `reply`; returns whether an older one was forgotten
    /// to make room.
    pub(crate) fn insert(&self, id: u64, reply: Subject, capacity: usize) -> bool {
        let mut pending = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let mut forgot = false;
        while pending.by_id.len() >= capacity.max(1) {
            let Some(oldest) = pending.order.pop_front() else {
                break;
            };
            // Ids already answered are still in `order`; only a live one counts as forgotten.
            forgot |= pending.by_id.remove(&oldest).is_some();
        }
        // Answered ids leave `order` lazily: keep it from growing past twice the table.
        if pending.order.len() >= 2 * capacity.max(1) {
            let Pending { by_id, order } = &mut *pending;
            order.retain(|id| by_id.contains_key(id));
        }
        pending.by_id.insert(id, reply);
        pending.order.push_back(id);
        forgot
    }

    /// The reply subject of event `id`, taken: a request is answered once.
    fn take(&self, id: u64) -> Option<Subject> {
        let mut pending = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        pending.by_id.remove(&id)
    }
}

/// Why a reply was not sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// The event is not an imported request waiting for its answer.
    #[error(
        "event {id} on `{topic}` is not a request waiting for an answer: it came without a \
         reply subject, was answered already, or was forgotten because more than \
         `max_pending_requests` requests waited"
    )]
    NotARequest {
        /// The event's id.
        id: u64,
        /// The event's topic.
        topic: String,
    },
    /// The NATS client refused to send the reply.
    #[error("could not send the reply to `{topic}`: {source}; check the connection to NATS")]
    Publish {
        /// The request's topic.
        topic: String,
        /// What the client said.
        #[source]
        source: async_nats::PublishError,
    },
}

/// Why a request got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The topic is not a valid bus topic.
    #[error("cannot send a request on `{topic}`: {source}")]
    InvalidTopic {
        /// The topic as given.
        topic: String,
        /// What the bus said about it.
        #[source]
        source: symphra::bus::BusError,
    },
    /// Nobody listens on the subject: the server said so at once.
    #[error(
        "no responders for a request on `{topic}`: nothing subscribes to its subject; start the \
         service, or check the subject prefix"
    )]
    NoResponders {
        /// The request's topic.
        topic: String,
    },
    /// A responder was there but did not answer in time.
    #[error(
        "no answer to a request on `{topic}` within {waited:?}; the responder is slow or lost it"
    )]
    Timeout {
        /// The request's topic.
        topic: String,
        /// How long it waited.
        waited: Duration,
    },
    /// The answer is not JSON.
    #[error("the answer to a request on `{topic}` is not JSON: {source}")]
    InvalidAnswer {
        /// The request's topic.
        topic: String,
        /// What the parser said.
        #[source]
        source: serde_json::Error,
    },
    /// The client failed otherwise (e.g. the connection is closed).
    #[error("a request on `{topic}` failed: {source}; check the connection to NATS")]
    Client {
        /// The request's topic.
        topic: String,
        /// What the client said.
        #[source]
        source: async_nats::RequestError,
    },
}

/// Answers imported requests and sends requests to NATS; cheap to clone, so a module can
/// keep one. Get it from [`NatsBridge::requests`](crate::NatsBridge::requests).
#[derive(Clone)]
pub struct Requests {
    pub(crate) client: Client,
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for Requests {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Requests")
            .field("origin", &self.shared.origin)
            .finish_non_exhaustive()
    }
}

impl Requests {
    /// Whether `event` is an imported request still waiting for its answer.
    pub fn is_request(&self, event: &Event) -> bool {
        let pending = &self.shared.pending_requests;
        let inner = pending.inner.lock().unwrap_or_else(PoisonError::into_inner);
        inner.by_id.contains_key(&event.id().get())
    }

    /// Answers the imported request `request` with `answer` (as JSON, without metadata: the
    /// asker may be any NATS client). A request is answered once.
    ///
    /// # Errors
    /// [`ReplyError::NotARequest`] if `request` is not waiting for an answer;
    /// [`ReplyError::Publish`] if the client refuses to send.
    pub async fn reply(&self, request: &Event, answer: &Value) -> Result<(), ReplyError> {
        let id = request.id().get();
        let Some(subject) = self.shared.pending_requests.take(id) else {
            return Err(ReplyError::NotARequest {
                id,
                topic: request.topic().to_owned(),
            });
        };
        let body = serde_json::to_vec(answer).unwrap_or_else(|_| b"null".to_vec());
        self.client
            .publish(subject, body.into())
            .await
            .map_err(|source| ReplyError::Publish {
                topic: request.topic().to_owned(),
                source,
            })?;
        bump(&self.shared.counters.replies_sent);
        Ok(())
    }

    /// Sends `payload` (as JSON) on `topic`'s subject and waits at most `timeout` for one
    /// answer, which must be JSON (an empty answer is `null`).
    ///
    /// # Errors
    /// [`RequestError::NoResponders`] if nothing subscribes to the subject,
    /// [`RequestError::Timeout`] if no answer came in time, [`RequestError::InvalidAnswer`]
    /// if it is not JSON, [`RequestError::InvalidTopic`] or [`RequestError::Client`].
    pub async fn request(
        &self,
        topic: &str,
        payload: &Value,
        timeout: Duration,
    ) -> Result<Value, RequestError> {
        validate_topic(topic).map_err(|source| RequestError::InvalidTopic {
            topic: topic.chars().take(64).collect(),
            source,
        })?;
        let subject = self.shared.prefix.subject_for_topic(topic);
        let body = serde_json::to_vec(payload).unwrap_or_else(|_| b"null".to_vec());
        let request = async_nats::Request::new()
            .payload(body.into())
            .timeout(Some(timeout));
        let answer =
            self.client
                .send_request(subject, request)
                .await
                .map_err(|source| match source.kind() {
                    RequestErrorKind::NoResponders => RequestError::NoResponders {
                        topic: topic.to_owned(),
                    },
                    RequestErrorKind::TimedOut => RequestError::Timeout {
                        topic: topic.to_owned(),
                        waited: timeout,
                    },
                    _ => RequestError::Client {
                        topic: topic.to_owned(),
                        source,
                    },
                })?;
        if answer.payload.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(&answer.payload).map_err(|source| RequestError::InvalidAnswer {
            topic: topic.to_owned(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_forgets_the_oldest_unanswered_request() {
        let pending = PendingRequests::default();
        assert!(!pending.insert(1, Subject::from("r1"), 2));
        assert!(!pending.insert(2, Subject::from("r2"), 2));
        assert_eq!(pending.take(2).as_deref(), Some("r2"));
        assert!(!pending.insert(3, Subject::from("r3"), 2));
        assert!(pending.insert(4, Subject::from("r4"), 2), "1 is forgotten");
        assert_eq!(pending.take(1), None);
        assert_eq!(pending.take(3).as_deref(), Some("r3"));
        assert_eq!(pending.take(3), None, "answered once");
        for id in 5..100 {
            pending.insert(id, Subject::from("r"), 2);
        }
        let inner = pending.inner.lock().unwrap();
        assert!(
            inner.by_id.len() <= 2 && inner.order.len() <= 4,
            "{inner:?}"
        );
    }
}
