//! `symphra fleet` against a real `nats-server` with JetStream: decisions are written and
//! shown by `status`; bad input and an unreachable server are usage errors (exit 2).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

struct Server {
    child: Child,
    url: String,
    _store: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn nats_server() -> Server {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let store = tempfile::tempdir().expect("a temporary folder");
    let binary = [
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
        "/usr/local/bin/nats-server",
    ]
    .into_iter()
    .find(|path| std::path::Path::new(path).is_file())
    .unwrap_or("nats-server");
    let mut child = Command::new(binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nats-server (install it with `bash .ci/install-nats`)");
    let deadline = Instant::now() + Duration::from_secs(10);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while TcpStream::connect_timeout(&addr, Duration::from_millis(100)).is_err() {
        assert!(Instant::now() < deadline, "nats-server did not listen");
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "nats-server exited"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Server {
        child,
        url: format!("nats://127.0.0.1:{port}"),
        _store: store,
    }
}

fn fleet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_symphra"))
        .arg("fleet")
        .args(args)
        .output()
        .expect("run symphra")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn decisions_are_written_and_shown() {
    let server = nats_server();
    let url = server.url.as_str();
    let disabled = fleet(&["disable", "web", "--nats", url]);
    assert!(disabled.status.success(), "{}", text(&disabled));
    assert!(
        text(&disabled).contains(r#"web: {"availability":"disabled"}"#),
        "{}",
        text(&disabled)
    );

    let configured = fleet(&["config", "web", r#"{"port": 8080}"#, "--nats", url]);
    assert!(configured.status.success(), "{}", text(&configured));

    let status = fleet(&["status", "--nats", url]);
    assert!(status.status.success(), "{}", text(&status));
    let table = text(&status);
    assert!(table.contains("REPLICA"), "{table}");
    assert!(table.contains("no replica has sent a heartbeat"), "{table}");
    let decision = table
        .lines()
        .find(|l| l.starts_with("web "))
        .unwrap_or_default();
    assert!(
        decision.contains("disabled") && decision.contains(r#"{"port":8080}"#),
        "{table}"
    );

    let bad_json = fleet(&["config", "web", "{port", "--nats", url]);
    assert_eq!(bad_json.status.code(), Some(2), "{}", text(&bad_json));
    assert!(text(&bad_json).contains("not JSON"), "{}", text(&bad_json));

    let bad_name = fleet(&["stop", "Web Server", "--nats", url]);
    assert_eq!(bad_name.status.code(), Some(2), "{}", text(&bad_name));
}

#[test]
fn an_unreachable_server_is_a_usage_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let output = fleet(&["status", "--nats", &format!("nats://127.0.0.1:{port}")]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        text(&output).contains("cannot connect to NATS"),
        "{}",
        text(&output)
    );
}
