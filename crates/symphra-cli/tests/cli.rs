//! Runs the real `symphra` binary on module directories built in temporary folders.

#[path = "../../symphra-wasm/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Guest, write_module};

fn manifest(name: &str, deps: &[&str]) -> String {
    let mut text = format!("name = \"{name}\"\nversion = \"1.0.0\"\n\n[dependencies]\n");
    for dep in deps {
        text.push_str(&format!("{dep} = \"*\"\n"));
    }
    text
}

/// A modules directory: each (name, dependencies) gets a folder with a do-nothing guest.
fn modules(list: &[(&str, &[&str])]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    for (name, deps) in list {
        write_module(root.path(), name, &manifest(name, deps), &wasm);
    }
    root
}

fn symphra(args: &[&str], cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_symphra"));
    command.args(args).env("XDG_CACHE_HOME", cache);
    command
}

fn output(args: &[&str], cache: &Path) -> Output {
    symphra(args, cache).output().unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_passes_on_a_good_directory() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no problems"), "{}", text(&out));

    let out = output(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["modules"].as_array().unwrap().len(), 2);
    assert!(json["problems"].as_array().unwrap().is_empty());
}

#[test]
fn check_reports_every_problem() {
    let dir = modules(&[
        ("api", &["missing"]),
        ("left", &["right"]),
        ("right", &["left"]),
    ]);
    let broken = "name = \"broken\"\nversion = \"not a version\"\n";
    write_module(dir.path(), "broken", broken, &Guest::new().component());
    let cache = tempfile::tempdir().unwrap();

    let out = output(&["check", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("problem: api:") && stdout.contains("\"missing\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("left") && stdout.contains("right"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: broken:"), "{stdout}");

    let out = output(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let modules: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["module"].as_str())
        .collect();
    for expected in ["api", "broken"] {
        assert!(modules.contains(&expected), "{json}");
    }
    assert!(
        modules.contains(&"left") || modules.contains(&"right"),
        "cycle not reported: {json}"
    );
}

#[test]
fn check_on_a_missing_directory_is_a_usage_error() {
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", "/nonexistent/symphra-modules"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn graph_dot_has_every_module_and_edge() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["db", "cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "dot"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let dot = text(&out);
    for line in [
        "\"db\";",
        "\"cache\";",
        "\"api\";",
        "\"cache\" -> \"db\";",
        "\"api\" -> \"db\";",
        "\"api\" -> \"cache\";",
    ] {
        assert!(dot.contains(line), "{line} missing from\n{dot}");
    }

    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "mermaid"],
        cache.path(),
    );
    assert!(text(&out).contains("api --> cache"), "{}", text(&out));
}

#[test]
fn list_shows_versions_and_dependencies() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["list", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out);
    assert!(stdout.contains("api 1.0.0"), "{stdout}");
    assert!(stdout.contains("dependencies: db *"), "{stdout}");
}

/// Runs `symphra run DIR`, waits for the line saying it runs, sends SIGINT, and returns
/// the exit code and every line of stdout. Each wait is bounded.
fn run_until_sigint(dir: &Path, cache: &Path) -> (Option<i32>, Vec<String>) {
    run_until_signal(dir, cache, "-INT")
}

/// [`run_until_sigint`] with another signal (`-TERM`).
fn run_until_signal(dir: &Path, cache: &Path, signal: &str) -> (Option<i32>, Vec<String>) {
    let mut child = symphra(&["run", dir.to_str().unwrap()], cache)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let ready = line.starts_with("running;");
                lines.push(line);
                if ready {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("not running within 120s:\n{}", lines.join("\n"));
            }
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Everything else, until the binary closes its stdout.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("did not stop within 120s:\n{}", lines.join("\n"));
            }
        }
    }
    (child.wait().unwrap().code(), lines)
}

#[test]
fn run_starts_then_stops_on_sigint_dependents_first() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l == "api: starting -> started"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("start: 2 ok")),
        "{lines:#?}"
    );
    let stopping = lines
        .iter()
        .position(|l| l.starts_with("received SIGINT"))
        .unwrap_or_else(|| panic!("{}", lines.join("\n")));
    let report = &lines[stopping..];
    let summary = report
        .iter()
        .position(|l| l.starts_with("stop: 2 ok"))
        .unwrap_or_else(|| panic!("{}", report.join("\n")));
    let report = &report[summary..];
    let api = report
        .iter()
        .position(|l| l.trim_start().starts_with("api "));
    let db = report
        .iter()
        .position(|l| l.trim_start().starts_with("db "));
    match (api, db) {
        (Some(api), Some(db)) => assert!(api < db, "{}", report.join("\n")),
        _ => panic!("stop report incomplete:\n{}", report.join("\n")),
    }
}

#[test]
fn run_exits_1_when_a_module_fails() {
    let dir = modules(&[("db", &[])]);
    let mut guest = Guest::new();
    let fail = guest.fail("boom");
    let guest = guest.hook("start", fail);
    write_module(
        dir.path(),
        "flaky",
        &manifest("flaky", &[]),
        &guest.component(),
    );
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(1), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("start: 1 ok, 1 failed")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn analyze_prints_blame_and_critical_chain() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["analyze", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("blame"), "{stdout}");
    let chain: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("critical chain"))
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(chain, ["api", "cache", "db"], "{stdout}");
}

#[test]
fn list_reads_the_state_store() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let state = cache.path().join("state.redb");
    drop(symphra::state::RedbStore::open(&state).unwrap());
    let out = output(
        &[
            "list",
            dir.path().to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("state:        not recorded"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_validates_configurations_against_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    let schema = "[config]\nschema = { type = \"object\", properties = { port = { type = \"integer\" } } }\n";
    let good = format!("name = \"web\"\nversion = \"1.0.0\"\n{schema}default = {{ port = 80 }}\n");
    write_module(dir.path(), "web", &good, &wasm);
    let bad = format!(
        "name = \"admin\"\nversion = \"1.0.0\"\n{schema}default = {{ port = \"eighty\" }}\n"
    );
    write_module(dir.path(), "admin", &bad, &wasm);
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();

    // The defaults: admin's is wrong.
    let out = output(&["check", path], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("problem: admin: default configuration does not match the schema: /port"),
        "{stdout}"
    );
    assert!(!stdout.contains("problem: web:"), "{stdout}");

    // A configuration file fixes admin, breaks web, and names a module that is not there.
    let config = cache.path().join("app.toml");
    std::fs::write(
        &config,
        "[admin]\nport = 8080\n[web]\nport = \"http\"\n[nobody]\nx = 1\n",
    )
    .unwrap();
    let out = output(
        &["check", path, "--config", config.to_str().unwrap()],
        cache.path(),
    );
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("problem: admin:"), "{stdout}");
    assert!(
        stdout.contains("problem: web: configuration does not match"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: nobody:"), "{stdout}");

    // A configuration file that cannot be read is a usage error.
    let out = output(
        &["check", path, "--config", "/nonexistent/app.toml"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_stops_on_sigterm() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_signal(dir.path(), cache.path(), "-TERM");
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l == "received SIGTERM, stopping"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("stop: 1 ok")),
        "{lines:#?}"
    );
}

#[test]
fn run_refuses_modules_that_cannot_be_resolved() {
    let dir = modules(&[("api", &["missing"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["run", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\"missing\""), "{stdout}");
}

#[test]
fn run_keeps_its_state_under_the_directory_and_list_reads_it() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    let state = dir.path().join(".symphra").join("state.redb");
    assert!(state.exists(), "no state file at {}", state.display());
    let store = symphra::state::RedbStore::open(&state).unwrap();
    use symphra::state::StateStore;
    assert_eq!(
        store.get("db").unwrap().unwrap().started_version.as_deref(),
        Some("1.0.0")
    );
    drop(store);
    // `list` finds the default store on its own.
    let out = output(&["list", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out).contains("not recorded"), "{}", text(&out));
}
