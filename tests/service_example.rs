//! `examples/service.rs` end to end, as a user runs it: the built example is started with
//! its TOML file and environment overrides, answers real HTTP requests, its worker handles
//! the event the API published, and SIGTERM stops it cleanly with exit status 0.
//!
//! Every wait is for a line the service prints (or for its end of output), bounded so
//! that a hung service fails the test instead of hanging it.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::Duration;

/// Far more than the service needs; reached only when it hangs.
const BOUND: Duration = Duration::from_secs(60);

/// Builds the example (a no-op when `cargo test` has built it already), once for all the
/// tests of this file, and returns its path.
fn built_example() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(build_example).clone()
}

fn build_example() -> PathBuf {
    // This test is target/<profile>/deps/service_example-<hash>; examples are beside deps,
    // built with the same profile (`debug` is the folder of the dev and test profiles).
    let test = std::env::current_exe().expect("the test's own path");
    let folder = test
        .parent()
        .and_then(|deps| deps.parent())
        .expect("in target/<profile>/deps");
    let profile = match folder.file_name().and_then(|name| name.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let status = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "-p", "symphra", "--example", "service"])
        .args(["--profile", profile])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the example failed: {status}");
    folder.join("examples").join("service")
}

/// The service's stdout, line by line, from a thread: `None` once it closed its output.
fn lines_of(child: &mut Child) -> Receiver<Option<String>> {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(Some(line)).is_err() {
                return;
            }
        }
        let _ = send.send(None);
    });
    receive
}

/// Waits for the first line starting with `prefix`, and returns it.
fn wait_for(lines: &Receiver<Option<String>>, prefix: &str) -> String {
    loop {
        match lines.recv_timeout(BOUND) {
            Ok(Some(line)) if line.starts_with(prefix) => return line,
            Ok(Some(_)) => {}
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                panic!("the service ended its output before printing {prefix:?}")
            }
            Err(RecvTimeoutError::Timeout) => panic!("no {prefix:?} line within {BOUND:?}"),
        }
    }
}

/// One HTTP/1.1 request over a new connection: the status line and the body.
fn request(address: &str, method: &str, path: &str, body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(address).expect("the service accepts connections");
    stream
        .set_read_timeout(Some(BOUND))
        .expect("a timeout can be set");
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .expect("the request is sent");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("the answer is read");
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_service_serves_greets_and_stops_cleanly_on_sigterm() {
    let data = tempfile::tempdir().expect("a temporary folder");
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/service/service.toml");
    let mut service = Command::new(built_example())
        .arg(config)
        // The file gives every key; the environment overrides some, converted by type.
        .env("SERVICE__API__LISTEN", "127.0.0.1:0")
        .env("SERVICE__DB__PATH", data.path().join("users.db"))
        .env("SERVICE__DB__BUSY_TIMEOUT_MS", "500")
        .env("SERVICE__WORKER__GREETING", "Hello")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let lines = lines_of(&mut service);

    let ready = wait_for(&lines, "ready: http://");
    let address = ready.trim_start_matches("ready: http://").to_owned();

    let (status, body) = request(&address, "POST", "/users", r#"{"name":"ada"}"#);
    assert_eq!(status, "HTTP/1.1 201 Created", "{body}");
    assert_eq!(body, r#"{"id":1,"name":"ada","greeting":null}"#);

    // The worker took the API's event off its queue and wrote to the database.
    wait_for(&lines, "worker: greeted user 1");
    let (status, body) = request(&address, "GET", "/users/1", "");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert_eq!(body, r#"{"id":1,"name":"ada","greeting":"Hello, ada!"}"#);

    let (status, _) = request(&address, "GET", "/users/2", "");
    assert_eq!(status, "HTTP/1.1 404 Not Found");

    let killed = Command::new("kill")
        .args(["-TERM", &service.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    wait_for(&lines, "stopped");
    // End of output: the process is exiting; its status is the test's last word.
    assert_eq!(
        lines.recv_timeout(BOUND),
        Ok(None),
        "nothing after \"stopped\""
    );
    let exit = service.wait().expect("the service's exit status");
    assert!(exit.success(), "the service ended with {exit}");
}

#[test]
fn a_bad_setting_stops_the_service_before_it_starts_naming_the_variable_and_key() {
    let config = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/service/service.toml");
    let mut service = Command::new(built_example())
        .arg(config)
        .env("SERVICE__DB__BUSY_TIMEOUT_MS", "soon")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let lines = lines_of(&mut service);
    loop {
        match lines.recv_timeout(BOUND) {
            Ok(Some(line)) => assert!(!line.starts_with("ready"), "it started: {line}"),
            Ok(None) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => panic!("still running after {BOUND:?}"),
        }
    }
    let exit = service.wait().expect("the service's exit status");
    let mut errors = String::new();
    let mut stderr = service.stderr.take().expect("stderr is piped");
    stderr.read_to_string(&mut errors).expect("stderr is read");
    assert_eq!(exit.code(), Some(1), "{errors}");
    assert!(
        errors.contains("environment variable SERVICE__DB__BUSY_TIMEOUT_MS")
            && errors.contains("\"busy_timeout_ms\"")
            && errors.contains("wants an integer, got \"soon\""),
        "the error names the layer, the key and what it wants: {errors}"
    );
}
