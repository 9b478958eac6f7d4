//! The live page (`/`): every module with its state, readiness and health, kept current by
//! server-sent events (`/events`) that carry the health snapshot after each lifecycle,
//! readiness, health or restart event; and the dependency graph and start timeline.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::StreamExt;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::server::Shared;

/// The page: static markup and script; the data comes from `/events`.
const PAGE: &str = include_str!("page.html");

pub(crate) async fn page() -> Html<&'static str> {
    Html(PAGE)
}

/// The health snapshot as JSON, as each event of `/events` carries it.
pub(crate) async fn health_json(State(shared): State<Arc<Shared>>) -> Response {
    match snapshot_json(&shared) {
        Some(json) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        None => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `{"title": …, "modules": [...]}`: the page's data.
fn snapshot_json(shared: &Shared) -> Option<String> {
    let snapshot = shared.manager.health();
    let value = serde_json::json!({ "title": shared.title, "modules": snapshot.modules });
    match serde_json::to_string(&value) {
        Ok(json) => Some(json),
        Err(error) => {
            tracing::error!(%error, "cannot serialize the health snapshot");
            None
        }
    }
}

/// What a live page's stream remembers between events.
struct Feed {
    shared: Arc<Shared>,
    changes: tokio::sync::broadcast::Receiver<()>,
    first: bool,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// `/events`: a `snapshot` event at once, and another after each watched bus event (several
/// at once make one). Ends when the server shuts down. 503 beyond
/// [`MAX_LIVE_CLIENTS`](crate::MAX_LIVE_CLIENTS) streams.
pub(crate) async fn events(State(shared): State<Arc<Shared>>) -> Response {
    let Ok(permit) = Arc::clone(&shared.live_clients).try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "too many live pages open\n",
        )
            .into_response();
    };
    let feed = Feed {
        changes: shared.changes.subscribe(),
        shared: Arc::clone(&shared),
        first: true,
        _permit: permit,
    };
    let stream = futures_util::stream::unfold(feed, next_snapshot)
        .take_until(shared.cancel.clone().cancelled_owned());
    Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// The next `snapshot` event: at once the first time, then after the next change.
async fn next_snapshot(mut feed: Feed) -> Option<(Result<SseEvent, Infallible>, Feed)> {
    if !feed.first {
        match feed.changes.recv().await {
            Ok(()) | Err(RecvError::Lagged(_)) => {}
            Err(RecvError::Closed) => return None,
        }
        // Changes that came together make one snapshot.
        while !matches!(
            feed.changes.try_recv(),
            Err(TryRecvError::Empty | TryRecvError::Closed)
        ) {}
    }
    feed.first = false;
    let json = snapshot_json(&feed.shared)?;
    Some((Ok(SseEvent::default().event("snapshot").data(json)), feed))
}
