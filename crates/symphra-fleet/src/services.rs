//! Services across processes: a module exposes a named request/reply service on the NATS
//! services protocol, and a module anywhere in the fleet calls it with a timeout.
//!
//! Each service is an `async-nats` service (so `$SRV.PING`, `$SRV.INFO` and `$SRV.STATS`
//! answer for it) with one endpoint on `symphra.service.<name>`, subscribed in the queue
//! group of the same name: NATS hands each request to one of the replicas that expose it.
//! A call to a service this process exposes runs its handler directly, without NATS.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_nats::client::RequestErrorKind;
use async_nats::service::{self, ServiceExt};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use symphra::context::CancellationToken;
use tokio::task::JoinHandle;

use crate::call_error::{CallError, ExposeError, QUOTED_CHARS, ServiceFailure, quoted_bytes};

/// The largest request or answer a service takes, in bytes (NATS' own default limit is
/// 1 MiB per message).
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// The prefix of every service's subject and queue group.
pub const SUBJECT_PREFIX: &str = "symphra.service";

/// How many requests one replica's handler of a service runs at once; more wait in the
/// subscription's buffer.
const MAX_IN_FLIGHT: usize = 64;

/// The version each service announces in the services protocol.
const SERVICE_VERSION: &str = "0.1.0";

/// The longest service name.
const MAX_NAME_CHARS: usize = 64;

type Handler =
    Arc<dyn Fn(Bytes) -> BoxFuture<'static, Result<Bytes, ServiceFailure>> + Send + Sync>;

/// The services of one process: those it exposes (its registry, checked first by every
/// call) and the NATS client through which it calls the others.
///
/// Cheap to clone: clones share the registry. A [`Fleet`](crate::Fleet) has one
/// ([`Fleet::services`](crate::Fleet::services)).
#[derive(Clone)]
pub struct Services {
    client: async_nats::Client,
    local: Arc<Mutex<HashMap<String, Handler>>>,
}

impl fmt::Debug for Services {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.registry().keys().cloned().collect();
        f.debug_struct("Services").field("local", &names).finish()
    }
}

/// The subject (and queue group) of service `name`.
pub fn subject(name: &str) -> String {
    format!("{SUBJECT_PREFIX}.{name}")
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_NAME_CHARS
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl Services {
    /// The services of a process that talks to the fleet through `client`.
    pub fn new(client: async_nats::Client) -> Self {
        Self {
            client,
            local: Arc::default(),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, HashMap<String, Handler>> {
        self.local.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this process exposes `name` (and so calls to it stay local).
    pub fn is_local(&self, name: &str) -> bool {
        self.registry().contains_key(name)
    }

    /// Exposes service `name`, answered by `handler`, until the returned [`Exposed`] is
    /// withdrawn or dropped. A handler's [`ServiceFailure`] reaches the caller as
    /// [`CallError::Remote`].
    pub async fn expose<F, Fut>(&self, name: &str, handler: F) -> Result<Exposed, ExposeError>
    where
        F: Fn(Bytes) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Bytes, ServiceFailure>> + Send + 'static,
    {
        if !valid_name(name) {
            return Err(ExposeError::Name(crate::error::quoted(name)));
        }
        let handler: Handler = Arc::new(move |request| Box::pin(handler(request)));
        {
            let mut registry = self.registry();
            if registry.contains_key(name) {
                return Err(ExposeError::Duplicate(name.to_owned()));
            }
            registry.insert(name.to_owned(), Arc::clone(&handler));
        }
        let mut exposed = Exposed {
            name: Some(name.to_owned()),
            local: Arc::clone(&self.local),
            stop: CancellationToken::new(),
            task: None,
        };
        // From here on, dropping `exposed` takes the name out of the registry again.
        let subject = subject(name);
        let nats = |source| ExposeError::Nats {
            service: name.to_owned(),
            source,
        };
        let service = self
            .client
            .service_builder()
            .description("a Symphra module's service")
            .queue_group(&subject)
            .start(name, SERVICE_VERSION)
            .await
            .map_err(nats)?;
        let endpoint = match service.endpoint_builder().name(name).add(&subject).await {
            Ok(endpoint) => endpoint,
            Err(error) => {
                let _ = service.stop().await;
                return Err(nats(error));
            }
        };
        let stop = exposed.stop.clone();
        let task = tokio::spawn(async move {
            let serve = endpoint.for_each_concurrent(MAX_IN_FLIGHT, |request| {
                let handler = Arc::clone(&handler);
                async move { answer(request, &handler).await }
            });
            tokio::select! {
                () = stop.cancelled() => {}
                () = serve => {}
            }
            if let Err(error) = service.stop().await {
                tracing::warn!(%error, "stopping a service failed");
            }
        });
        tracing::debug!(service = name, %subject, "service exposed");
        exposed.task = Some(task);
        Ok(exposed)
    }

    /// Calls service `name` with `request`, waiting at most `timeout` for the answer: in
    /// this process when it exposes the service, else through NATS on one of the replicas
    /// that do.
    pub async fn call(
        &self,
        name: &str,
        request: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        if !valid_name(name) {
            return Err(CallError::InvalidRequest {
                service: crate::error::quoted(name),
                reason: "a service name is 1 to 64 ASCII letters, digits, `-` or `_`".into(),
            });
        }
        if request.len() > MAX_PAYLOAD {
            return Err(CallError::InvalidRequest {
                service: name.to_owned(),
                reason: format!(
                    "the request has {} bytes, over the limit of {MAX_PAYLOAD}",
                    request.len()
                ),
            });
        }
        let local = self.registry().get(name).cloned();
        let answer = match local {
            Some(handler) => call_local(name, &handler, request, timeout).await?,
            None => self.call_remote(name, request, timeout).await?,
        };
        if answer.len() > MAX_PAYLOAD {
            return Err(CallError::InvalidAnswer {
                service: name.to_owned(),
                reason: format!(
                    "the answer has {} bytes, over the limit of {MAX_PAYLOAD}",
                    answer.len()
                ),
            });
        }
        Ok(answer)
    }

    /// Calls service `name` with `request` encoded as JSON, and decodes its answer as
    /// JSON; see [`call`](Self::call).
    pub async fn call_json<Q: Serialize, A: DeserializeOwned>(
        &self,
        name: &str,
        request: &Q,
        timeout: Duration,
    ) -> Result<A, CallError> {
        let request = serde_json::to_vec(request).map_err(|error| CallError::InvalidRequest {
            service: crate::error::quoted(name),
            reason: format!("it does not encode as JSON: {error}"),
        })?;
        let answer = self.call(name, request.into(), timeout).await?;
        serde_json::from_slice(&answer).map_err(|error| CallError::InvalidAnswer {
            service: name.to_owned(),
            reason: format!(
                "it is not the expected JSON ({error}); it begins {:?}",
                quoted_bytes(&answer)
            ),
        })
    }

    async fn call_remote(
        &self,
        name: &str,
        request: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        let sent = async_nats::Request::new()
            .payload(request)
            .timeout(Some(timeout));
        let message = self
            .client
            .send_request(subject(name), sent)
            .await
            .map_err(|error| match error.kind() {
                RequestErrorKind::NoResponders => CallError::NoResponders {
                    service: name.to_owned(),
                },
                RequestErrorKind::TimedOut => CallError::Timeout {
                    service: name.to_owned(),
                    after: timeout,
                },
                _ => CallError::Transport {
                    service: name.to_owned(),
                    source: error.into(),
                },
            })?;
        let Some(headers) = message.headers.as_ref() else {
            return Ok(message.payload);
        };
        let Some(status) = headers.get(service::NATS_SERVICE_ERROR) else {
            return Ok(message.payload);
        };
        let code = headers
            .get(service::NATS_SERVICE_ERROR_CODE)
            .and_then(|code| code.as_str().parse::<u16>().ok())
            .ok_or_else(|| CallError::InvalidAnswer {
                service: name.to_owned(),
                reason: format!(
                    "an error answer without a numeric {} header",
                    service::NATS_SERVICE_ERROR_CODE
                ),
            })?;
        Err(CallError::Remote {
            service: name.to_owned(),
            code,
            message: status.as_str().chars().take(QUOTED_CHARS).collect(),
        })
    }
}

async fn call_local(
    name: &str,
    handler: &Handler,
    request: Bytes,
    timeout: Duration,
) -> Result<Bytes, CallError> {
    match tokio::time::timeout(timeout, run(handler, request)).await {
        Err(_) => Err(CallError::Timeout {
            service: name.to_owned(),
            after: timeout,
        }),
        Ok(Err(failure)) => Err(CallError::Remote {
            service: name.to_owned(),
            code: failure.code,
            message: failure.message.chars().take(QUOTED_CHARS).collect(),
        }),
        Ok(Ok(answer)) => Ok(answer),
    }
}

/// Runs `handler` on `request`; a panic becomes a failure (code 500), so that one bad
/// request neither stops the service nor unwinds into the caller.
async fn run(handler: &Handler, request: Bytes) -> Result<Bytes, ServiceFailure> {
    // Unwind safety: after a panic nothing of the handler's future is used again, and the
    // handler's own shared state is its business, as with a panicking task.
    match AssertUnwindSafe(handler(request)).catch_unwind().await {
        Ok(result) => result,
        Err(_) => {
            tracing::error!("a service's handler panicked");
            Err(ServiceFailure::internal("the service's handler panicked"))
        }
    }
}

/// Answers one request that came through NATS.
async fn answer(request: service::Request, handler: &Handler) {
    let result = if request.message.payload.len() > MAX_PAYLOAD {
        Err(ServiceFailure::bad_request(format!(
            "the request is over the limit of {MAX_PAYLOAD} bytes"
        )))
    } else {
        match run(handler, request.message.payload.clone()).await {
            Ok(answer) if answer.len() > MAX_PAYLOAD => Err(ServiceFailure::internal(format!(
                "the answer is over the limit of {MAX_PAYLOAD} bytes"
            ))),
            other => other,
        }
    };
    let result = result.map_err(|failure| service::error::Error {
        // A header value: no line breaks, a short prefix.
        status: failure
            .message
            .chars()
            .filter(|c| !c.is_control())
            .take(QUOTED_CHARS)
            .collect(),
        code: usize::from(failure.code),
    });
    if let Err(error) = request.respond(result).await {
        tracing::warn!(%error, "a service's answer could not be sent");
    }
}

/// A service this process exposes. [`withdraw`](Self::withdraw) it to stop answering;
/// dropping it does the same without waiting.
pub struct Exposed {
    name: Option<String>,
    local: Arc<Mutex<HashMap<String, Handler>>>,
    stop: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Exposed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exposed").field("name", &self.name).finish()
    }
}

impl Exposed {
    /// Stops answering: takes the service out of the registry, and out of NATS (its
    /// queue subscription and the services protocol's), waiting until it is.
    pub async fn withdraw(mut self) {
        self.unregister();
        self.stop.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn unregister(&mut self) {
        if let Some(name) = self.name.take() {
            self.local
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&name);
        }
    }
}

impl Drop for Exposed {
    fn drop(&mut self) {
        self.unregister();
        self.stop.cancel();
    }
}
