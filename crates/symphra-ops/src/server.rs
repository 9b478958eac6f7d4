//! The server: routes, its shared state, and the handle that shuts it down.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use symphra::ModuleManager;
use symphra::bus::{Event, Subscription};
use symphra::manager::Report;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, broadcast};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::control::{self, Action};
use crate::error::OpsError;
use crate::exposition::CONTENT_TYPE;
use crate::live;
use crate::metrics;
use crate::pictures;
use crate::probes::{self, Probe};
use crate::source::MetricSource;

/// At most this many live pages (server-sent event streams) at once; more are answered 503,
/// so that a flood of page loads cannot hold the server's memory.
pub const MAX_LIVE_CLIENTS: usize = 64;

/// The bus topics whose events refresh the live page: every lifecycle, readiness, health
/// and restart event.
const WATCHED: &str = "module.*";

/// Configures the operator's endpoint of a manager; [`serve`](Ops::serve) starts it.
///
/// ```no_run
/// # async fn example(manager: symphra::ModuleManager) -> Result<(), symphra_ops::OpsError> {
/// let server = symphra_ops::Ops::new(manager.clone())
///     .serve("127.0.0.1:9464".parse().expect("an address"))
///     .await?;
/// println!("probes and metrics on http://{}", server.local_addr());
/// manager.start_all().await.ok();
/// server.shutdown().await?;
/// # Ok(())
/// # }
/// ```
pub struct Ops {
    manager: ModuleManager,
    sources: Vec<Box<dyn MetricSource>>,
    allow_remote: bool,
    control: bool,
    title: String,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops")
            .field("sources", &self.sources.len())
            .field("allow_remote", &self.allow_remote)
            .field("control", &self.control)
            .field("title", &self.title)
            .finish()
    }
}

impl Ops {
    /// The endpoint of `manager`, bound to loopback addresses only.
    pub fn new(manager: ModuleManager) -> Self {
        Self {
            manager,
            sources: Vec::new(),
            allow_remote: false,
            control: false,
            title: "symphra".to_owned(),
        }
    }

    /// Allows (or not) an address other than loopback. The endpoint has no authentication:
    /// allow it only behind something that has (a private network, a proxy).
    pub fn allow_remote(mut self, allow: bool) -> Self {
        self.allow_remote = allow;
        self
    }

    /// Serves (or not; not by default) the operator's control routes, `POST
    /// /modules/{name}/stop` and `/start`: an operator's [stop](ModuleManager::stop) or
    /// [start](ModuleManager::start) of one module. They obey only requests from this
    /// machine (a loopback peer and `Host`) that carry the header
    /// [`OPERATOR_HEADER`](crate::OPERATOR_HEADER), even when [remote
    /// access](Self::allow_remote) is allowed for the rest.
    pub fn control(mut self, control: bool) -> Self {
        self.control = control;
        self
    }

    /// Adds `source`'s families to `/metrics` (a NATS bridge's counters, say).
    pub fn metric_source(mut self, source: impl MetricSource) -> Self {
        self.sources.push(Box::new(source));
        self
    }

    /// The application's name on the live page and its pictures.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = title.into();
        self
    }

    /// Binds `address` and serves on a task of the current runtime until
    /// [`OpsServer::shutdown`] (or until the handle is dropped). Port 0 picks a free port;
    /// [`OpsServer::local_addr`] says which.
    pub async fn serve(self, address: SocketAddr) -> Result<OpsServer, OpsError> {
        if !self.allow_remote && !address.ip().is_loopback() {
            return Err(OpsError::NotLoopback { address });
        }
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| OpsError::Bind { address, source })?;
        let local = listener
            .local_addr()
            .map_err(|source| OpsError::Bind { address, source })?;
        let (changes, _) = broadcast::channel(16);
        let notify = changes.clone();
        let subscription = self
            .manager
            .bus()
            .subscribe(WATCHED, move |_: &Event| {
                // No live page open is not an error.
                let _ = notify.send(());
            })
            .map_err(OpsError::Bus)?;
        let cancel = CancellationToken::new();
        let shared = Arc::new(Shared {
            manager: self.manager,
            sources: self.sources,
            title: self.title,
            changes,
            timeline: Mutex::new(None),
            live_clients: Arc::new(Semaphore::new(MAX_LIVE_CLIENTS)),
            cancel: cancel.clone(),
            _subscription: subscription,
        });
        let app = router(Arc::clone(&shared), self.control)
            .into_make_service_with_connect_info::<SocketAddr>();
        let stop = cancel.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        tracing::info!(address = %local, "operator's endpoint listening");
        Ok(OpsServer {
            address: local,
            shared,
            cancel,
            task: Some(task),
        })
    }
}

/// Serves the operator's endpoint of `manager` on `address` (a loopback address; see
/// [`Ops`] for more).
pub async fn serve(manager: ModuleManager, address: SocketAddr) -> Result<OpsServer, OpsError> {
    Ops::new(manager).serve(address).await
}

/// What every request reads.
pub(crate) struct Shared {
    pub(crate) manager: ModuleManager,
    sources: Vec<Box<dyn MetricSource>>,
    pub(crate) title: String,
    /// A message for each watched event, for the live pages.
    pub(crate) changes: broadcast::Sender<()>,
    /// The timeline of the last start shown, as an SVG document.
    timeline: Mutex<Option<String>>,
    pub(crate) live_clients: Arc<Semaphore>,
    pub(crate) cancel: CancellationToken,
    _subscription: Subscription,
}

/// A running endpoint. Dropping it stops the server too, without waiting.
#[derive(Debug)]
pub struct OpsServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("title", &self.title)
            .finish()
    }
}

impl OpsServer {
    /// The address it listens on (with the port chosen when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Shows `report`'s start on the live page's timeline (`/timeline.svg`); until a start is
    /// shown, the timeline says so.
    pub fn show_start(&self, report: &Report) {
        let picture = pictures::start_timeline(report, &format!("start of {}", self.shared.title));
        *self
            .shared
            .timeline
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(picture);
    }

    /// Stops accepting connections, ends the live pages' streams, lets requests in flight
    /// finish, and waits for the server's task.
    pub async fn shutdown(mut self) -> Result<(), OpsError> {
        self.cancel.cancel();
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(result) => result.map_err(OpsError::Serve),
            Err(error) => Err(OpsError::Task(error)),
        }
    }
}

impl Drop for OpsServer {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

fn router(shared: Arc<Shared>, control: bool) -> Router {
    let routes = Router::new()
        .route("/", get(live::page))
        .route("/events", get(live::events))
        .route("/api/health", get(live::health_json))
        .route("/graph.svg", get(graph))
        .route("/timeline.svg", get(timeline))
        .route("/livez", get(|s, uri| probe(Probe::Live, s, uri)))
        .route("/readyz", get(|s, uri| probe(Probe::Ready, s, uri)))
        .route("/startupz", get(|s, uri| probe(Probe::Startup, s, uri)))
        .route("/metrics", get(metrics_text));
    let routes = if control {
        routes
            .route(
                "/modules/{name}/stop",
                post(|s, peer, headers, name| control::act(Action::Stop, s, peer, headers, name)),
            )
            .route(
                "/modules/{name}/start",
                post(|s, peer, headers, name| control::act(Action::Start, s, peer, headers, name)),
            )
    } else {
        routes
    };
    routes.with_state(shared)
}

async fn probe(which: Probe, State(shared): State<Arc<Shared>>, uri: Uri) -> Response {
    let snapshot = shared.manager.health();
    let (passes, body) = probes::answer(which, &snapshot, probes::wants_verbose(uri.query()));
    let status = if passes {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body,
    )
        .into_response()
}

async fn metrics_text(State(shared): State<Arc<Shared>>) -> Response {
    let text = metrics::render(&shared.manager, &shared.sources);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
}

async fn graph(State(shared): State<Arc<Shared>>) -> Response {
    let picture = pictures::manager_graph(&shared.manager, &format!("modules of {}", shared.title));
    svg(picture)
}

async fn timeline(State(shared): State<Arc<Shared>>) -> Response {
    let shown = shared
        .timeline
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .clone();
    svg(shown.unwrap_or_else(|| pictures::note("no start recorded yet")))
}

fn svg(document: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        document,
    )
        .into_response()
}
