//! The operator's control routes: `POST /modules/{name}/stop` and `/start`, an operator's
//! stop (held across restarts) and start of one module of the running application.
//!
//! Only a request from the machine itself is obeyed, whatever address the server is bound
//! to: its peer must be a loopback address, its `Host` a loopback address or `localhost`
//! (a DNS-rebinding page names another host), and it must carry the header
//! [`OPERATOR_HEADER`] (a cross-site form cannot send one without a CORS preflight, which
//! the server never allows). See docs/dev/operator-control.md for why this design.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use symphra::Error;
use symphra::manager::Report;

use crate::server::Shared;

/// The header a control request must carry (any value): `symphra stop --ops` sends it.
pub const OPERATOR_HEADER: &str = "x-symphra-operator";

/// At most this many characters of a module name are quoted back.
const QUOTED_NAME_CHARS: usize = 64;

/// What an operator asks of a module.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Action {
    Start,
    Stop,
}

impl Action {
    fn as_str(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
        }
    }
}

/// `POST /modules/{name}/{start|stop}`.
pub(crate) async fn act(
    action: Action,
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    if let Err(why) = allowed(peer, &headers) {
        tracing::warn!(%peer, why, "operator's control request refused");
        return answer(
            StatusCode::FORBIDDEN,
            serde_json::json!({ "error": format!("refused: {why}") }),
        );
    }
    let quoted = short(&name);
    if shared.manager.module(&name).is_err() {
        let modules: Vec<String> = shared
            .manager
            .handles()
            .iter()
            .map(|handle| handle.name().to_owned())
            .collect();
        return answer(
            StatusCode::NOT_FOUND,
            serde_json::json!({
                "error": format!("no module named {quoted:?} runs here"),
                "modules": modules,
            }),
        );
    }
    tracing::info!(module = %quoted, action = action.as_str(), %peer, "operator's request");
    let result = match action {
        Action::Start => shared.manager.start(&name).await,
        Action::Stop => shared.manager.stop(&name).await,
    };
    let (status, ok, report): (StatusCode, bool, Option<Report>) = match result {
        Ok(report) => (StatusCode::OK, true, Some(report)),
        Err(Error::Start(failed)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(failed.into_report()),
        ),
        Err(Error::Stop(failed)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            false,
            Some(failed.into_report()),
        ),
        Err(error @ (Error::Unavailable { .. } | Error::IllegalTransition { .. })) => {
            return answer(
                StatusCode::CONFLICT,
                serde_json::json!({ "error": error.to_string() }),
            );
        }
        Err(error) => {
            return answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                serde_json::json!({ "error": error.to_string() }),
            );
        }
    };
    answer(
        status,
        serde_json::json!({
            "module": quoted,
            "action": action.as_str(),
            "ok": ok,
            "report": report.map(|report| report.to_string()),
        }),
    )
}

/// Whether a request from `peer` with `headers` comes from this machine's operator; why
/// not, otherwise.
fn allowed(peer: SocketAddr, headers: &HeaderMap) -> Result<(), &'static str> {
    if !peer.ip().to_canonical().is_loopback() {
        return Err("control requests are accepted from this machine (loopback) only");
    }
    if !headers.contains_key(OPERATOR_HEADER) {
        return Err("the x-symphra-operator header is missing");
    }
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
        .ok_or("the Host header is missing")?;
    if !loopback_host(host) {
        return Err("the Host header names no loopback address");
    }
    Ok(())
}

/// Whether `host` (a `Host` header: a name or address, with or without a port) names
/// this machine.
fn loopback_host(host: &str) -> bool {
    if let Ok(address) = host.parse::<SocketAddr>() {
        return address.ip().is_loopback();
    }
    let name = host.rsplit_once(':').map_or(host, |(name, port)| {
        if port.bytes().all(|b| b.is_ascii_digit()) {
            name
        } else {
            host
        }
    });
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// At most [`QUOTED_NAME_CHARS`] characters of `name`, control characters left out.
fn short(name: &str) -> String {
    name.chars()
        .filter(|c| !c.is_control())
        .take(QUOTED_NAME_CHARS)
        .collect()
}

fn answer(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(host: Option<&str>, operator: bool) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(host) = host {
            headers.insert(header::HOST, host.parse().unwrap());
        }
        if operator {
            headers.insert(OPERATOR_HEADER, "1".parse().unwrap());
        }
        headers
    }

    #[test]
    fn only_loopback_peers_with_the_header_and_a_loopback_host_are_allowed() {
        let local: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:5000".parse().unwrap();
        let remote: SocketAddr = "192.0.2.7:5000".parse().unwrap();
        let ok = headers(Some("127.0.0.1:9464"), true);
        assert_eq!(allowed(local, &ok), Ok(()));
        assert_eq!(allowed(mapped, &ok), Ok(()));
        assert!(allowed(remote, &ok).is_err());
        assert!(allowed(local, &headers(Some("127.0.0.1:9464"), false)).is_err());
        assert!(allowed(local, &headers(None, true)).is_err());
        assert!(allowed(local, &headers(Some("evil.example:9464"), true)).is_err());
        for host in [
            "localhost",
            "LOCALHOST:80",
            "[::1]:9464",
            "[::1]",
            "127.0.0.2",
        ] {
            assert_eq!(allowed(local, &headers(Some(host), true)), Ok(()), "{host}");
        }
        for host in ["localhost.evil.example", "10.0.0.1:9464", "[::2]:1"] {
            assert!(
                allowed(local, &headers(Some(host), true)).is_err(),
                "{host}"
            );
        }
    }

    #[test]
    fn names_are_quoted_short_and_without_control_characters() {
        assert_eq!(short("api"), "api");
        assert_eq!(short(&"x".repeat(10_000)).len(), QUOTED_NAME_CHARS);
        assert_eq!(short("a\nb\u{1b}[31m"), "ab[31m");
    }
}
