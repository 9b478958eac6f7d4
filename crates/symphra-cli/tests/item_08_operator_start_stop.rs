//! Issue 19, item 8 (second half): `symphra stop DIR MODULE` and `symphra start DIR MODULE`
//! with the real binary, of a stopped application (the state store is edited; the next
//! `run` obeys) and of a running one (through its operator's endpoint, `--ops`).

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use common::{Running, modules, output, symphra, text};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `GET /api/health` of the endpoint at `address`: each module's state, by name.
fn states(address: &str) -> Vec<(String, String)> {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /api/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (_, body) = response.split_once("\r\n\r\n").unwrap();
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    json["modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_owned(),
                m["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// Runs the application in `dir` until it says it runs, stops it with SIGINT, and returns
/// every line it printed; its exit code must be `code`. (A module skipped because what it
/// needs is held stopped counts as not started: exit 1.)
fn run_once(dir: &Path, cache: &Path, code: i32) -> Vec<String> {
    let (exit, lines) = common::run_until_sigint(dir, cache);
    assert_eq!(exit, Some(code), "{}", lines.join("\n"));
    lines
}

#[test]
fn item_08_stop_and_start_a_module_of_a_stopped_application() {
    let dir = modules(&[("db", &[]), ("api", &["db"]), ("cron", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();

    let stopped = output(&["stop", d, "db"], cache.path());
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
    let said = text(&stopped);
    assert!(said.starts_with("db is held stopped"), "{said}");
    assert!(said.contains("nor what needs it (api)"), "{said}");

    // The next run obeys: db and what needs it stay down, the rest runs.
    let lines = run_once(dir.path(), cache.path(), 1);
    let all = lines.join("\n");
    assert!(all.contains("start: 1 ok, 0 failed, 2 skipped"), "{all}");
    assert!(
        all.contains("db                       skipped: stopped by an operator"),
        "{all}"
    );

    // Starting api releases what it needs, held or not, as a start by name does.
    let started = output(&["start", d, "api"], cache.path());
    assert_eq!(started.status.code(), Some(0), "{}", stderr(&started));
    assert!(
        text(&started).starts_with("released db:"),
        "{}",
        text(&started)
    );
    let lines = run_once(dir.path(), cache.path(), 0);
    let all = lines.join("\n");
    assert!(all.contains("start: 3 ok, 0 failed, 0 skipped"), "{all}");

    let again = output(&["start", d, "api"], cache.path());
    assert_eq!(again.status.code(), Some(0));
    assert!(text(&again).starts_with("api was not held stopped"));
}

#[test]
fn item_08_an_unknown_module_is_named_with_near_matches_and_exits_2() {
    let dir = modules(&[("database", &[]), ("api", &["database"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        &["stop", dir.path().to_str().unwrap(), "databse"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no module named \"databse\""), "{err}");
    assert!(err.contains("did you mean database?"), "{err}");
    // Nothing was written.
    assert!(!dir.path().join(".symphra").exists());
}

#[test]
fn item_08_a_running_application_is_stopped_and_started_through_its_endpoint() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut running = Running::start(symphra(&["run", d, "--ops", "127.0.0.1:0"], cache.path()));
    let address = running.ops_address();
    running.wait_for("running;");

    // Without --ops the store is locked by the running process: say so, exit 3.
    let locked = output(&["stop", d, "db"], cache.path());
    assert_eq!(locked.status.code(), Some(3), "{}", stderr(&locked));
    assert!(
        stderr(&locked).contains("--ops ADDR"),
        "{}",
        stderr(&locked)
    );

    let stopped = output(&["stop", d, "db", "--ops", &address], cache.path());
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
    assert!(
        text(&stopped).contains("db stopped, and held stopped across restarts"),
        "{}",
        text(&stopped)
    );
    assert_eq!(
        states(&address),
        pairs(&[("db", "stopped"), ("api", "stopped")])
    );

    let started = output(&["start", d, "api", "--ops", &address], cache.path());
    assert_eq!(started.status.code(), Some(0), "{}", stderr(&started));
    assert_eq!(
        states(&address),
        pairs(&[("db", "started"), ("api", "started")])
    );

    // The operator's stop outlives the process: the next run leaves db and api down.
    let stopped = output(&["stop", d, "db", "--ops", &address], cache.path());
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
    let (code, lines) = running.interrupt();
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    let listed = text(&output(&["list", d], cache.path()));
    assert!(listed.contains("Enabled, held stopped"), "{listed}");
    let lines = run_once(dir.path(), cache.path(), 1);
    assert!(
        lines
            .join("\n")
            .contains("start: 0 ok, 0 failed, 2 skipped"),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn item_08_an_endpoint_that_is_not_there_is_an_error_naming_the_address() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    // A port nobody listens on: bound, then closed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let address = format!("127.0.0.1:{port}");
    let out = output(
        &[
            "stop",
            dir.path().to_str().unwrap(),
            "db",
            "--ops",
            &address,
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "cannot reach the operator's endpoint at {address}"
        )),
        "{err}"
    );
}

#[test]
fn item_08_an_endpoint_bound_to_every_address_is_asked_on_loopback() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let mut running = Running::start(symphra(
        &["run", d, "--ops", "0.0.0.0:0", "--ops-allow-remote"],
        cache.path(),
    ));
    let address = running.ops_address();
    assert!(address.starts_with("0.0.0.0:"), "{address}");
    running.wait_for("running;");
    let stopped = output(&["stop", d, "db", "--ops", &address], cache.path());
    assert_eq!(stopped.status.code(), Some(0), "{}", stderr(&stopped));
    let port = address.trim_start_matches("0.0.0.0:");
    assert_eq!(
        states(&format!("127.0.0.1:{port}")),
        pairs(&[("db", "stopped")])
    );
    let (code, lines) = running.interrupt();
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
}
