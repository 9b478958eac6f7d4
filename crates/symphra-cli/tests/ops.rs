//! `symphra run --ops ADDR` serves the operator's endpoint, and under systemd
//! (`NOTIFY_SOCKET`) the run notifies a real Unix datagram socket bound here, in order.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

use common::{Running, modules, output, symphra};

/// `GET path` over HTTP/1.1 on a plain TCP stream: the status code and the body.
fn get(address: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not HTTP: {response}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// The next datagram on `socket`, as text (bounded wait).
fn next(socket: &UnixDatagram) -> String {
    let mut buffer = vec![0; 4096];
    let len = socket.recv(&mut buffer).unwrap();
    String::from_utf8(buffer[..len].to_vec()).unwrap()
}

/// The next datagram that is not `WATCHDOG=1`, and how many of those came before it.
fn next_milestone(socket: &UnixDatagram) -> (String, usize) {
    let mut watchdogs = 0;
    loop {
        let text = next(socket);
        if text == "WATCHDOG=1" {
            watchdogs += 1;
        } else {
            return (text, watchdogs);
        }
    }
}

#[test]
fn run_serves_the_endpoint_and_notifies_systemd_in_order() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let sockets = tempfile::tempdir().unwrap();
    let path = sockets.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();

    let mut command = symphra(
        &[
            "run",
            dir.path().to_str().unwrap(),
            "--no-state",
            "--progress",
            "plain",
            "--ops",
            "127.0.0.1:0",
        ],
        cache.path(),
    );
    command
        .env("NOTIFY_SOCKET", &path)
        .env("WATCHDOG_USEC", "2000000");
    let mut running = Running::start(command);
    let line = running.wait_for("operator's endpoint: http://");
    let address = line
        .trim_start_matches("operator's endpoint: http://")
        .trim_end_matches('/')
        .to_owned();

    let (first, _) = next_milestone(&socket);
    assert_eq!(first, "STATUS=starting 2 modules");
    let (ready, _) = next_milestone(&socket);
    assert_eq!(ready, "READY=1\nSTATUS=2 modules running");
    running.wait_for("running;");

    assert_eq!(get(&address, "/readyz"), (200, "readyz ok\n".to_owned()));
    let (status, metrics) = get(&address, "/metrics");
    assert_eq!(status, 200);
    assert!(
        metrics.contains("symphra_module_ready{module=\"api\"} 1"),
        "{metrics}"
    );
    let (status, page) = get(&address, "/");
    assert_eq!(status, 200);
    assert!(page.contains("EventSource"), "{page}");
    let (status, graph) = get(&address, "/graph.svg");
    assert_eq!(status, 200);
    assert!(graph.contains("data-name=\"api\""), "{graph}");
    let (_, timeline) = get(&address, "/timeline.svg");
    assert!(timeline.contains("class=\"hook\""), "{timeline}");

    let (code, lines) = running.signal("-TERM");
    let (stopping, _) = next_milestone(&socket);
    assert_eq!(stopping, "STOPPING=1\nSTATUS=stopping");
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
}

#[test]
fn run_refuses_a_remote_ops_address_unless_allowed() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let refused = output(
        &[
            "run",
            dir.path().to_str().unwrap(),
            "--no-state",
            "--ops",
            "0.0.0.0:0",
        ],
        cache.path(),
    );
    assert_eq!(refused.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("not a loopback address"), "{stderr}");
}
