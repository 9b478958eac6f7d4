//! Issue 22: a manager killed in the middle of an operation. The child process is the real
//! `symphra run` (the library's manager, with a redb state store), SIGKILLed while a
//! module's `start` runs, or while a module's `stop` runs. Afterwards the state store opens
//! cleanly and holds what the last completed operation recorded, nothing half-written; the
//! next run restores it (an operator's stop still holds) and starts the rest.
//!
//! The kill is timed by events: the live page's stream says when the hook runs.

mod common;

use std::path::Path;

use common::{Guest, Running, Snapshots, manifest, output, symphra, write_module};
use symphra::state::{Availability, ModuleRecord, RedbStore, StateStore};

/// A hook body that never returns (the guest yields to the runtime at each epoch tick).
const SPIN: &str = "(loop $spin (br $spin)) (return (i32.const 0))";

/// Writes module `name` with a 10-minute hook limit, and `hook` spinning when given.
fn module(root: &Path, name: &str, spinning: Option<&'static str>) {
    let manifest = format!(
        "{}[capabilities]\nhook-timeout = \"10m\"\n",
        manifest(name, &[])
    );
    let guest = match spinning {
        Some(hook) => Guest::new().hook(hook, SPIN),
        None => Guest::new(),
    };
    write_module(root, name, &manifest, &guest.component());
}

/// `symphra run DIR` with room for hooks that wait, and the operator's endpoint.
fn run(dir: &Path, cache: &Path) -> Running {
    Running::start(symphra(
        &[
            "run",
            dir.to_str().unwrap(),
            "--hook-timeout",
            "10m",
            "--shutdown-timeout",
            "10m",
            "--ops",
            "127.0.0.1:0",
        ],
        cache,
    ))
}

/// Every record of the state store `run` keeps under `dir` (which must open cleanly).
fn records(dir: &Path) -> std::collections::BTreeMap<String, ModuleRecord> {
    let store = RedbStore::open(dir.join(".symphra").join("state.redb")).unwrap();
    store.all().unwrap()
}

#[test]
fn a_manager_killed_mid_start_leaves_the_store_as_the_last_operation_wrote_it() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    for name in ["web", "slow", "held"] {
        module(dir.path(), name, None);
    }
    // A first run that completes: every module's start is recorded.
    let (code, lines) = common::run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    // An operator's stop of a stopped application.
    let stopped = output(
        &["stop", dir.path().to_str().unwrap(), "held"],
        cache.path(),
    );
    assert_eq!(stopped.status.code(), Some(0));
    let before = records(dir.path());
    assert!(before["held"].held_stopped);
    assert_eq!(before["slow"].started_version.as_deref(), Some("1.0.0"));

    // The second run: slow's start never returns; kill the process while it runs.
    module(dir.path(), "slow", Some("start"));
    let mut running = run(dir.path(), cache.path());
    let mut snapshots = Snapshots::open(&running.ops_address());
    snapshots.wait_for("slow", "starting");
    running.kill();

    // Nothing half-written, nothing lost of what was committed: the records are those the
    // first run and the operator's stop wrote (the killed start had not ended, and a
    // start's records are written when it ends).
    assert_eq!(records(dir.path()), before);

    // The next run, with good code, restores the operator's stop and starts the rest.
    module(dir.path(), "slow", None);
    let (code, lines) = common::run_until_sigint(dir.path(), cache.path());
    let all = lines.join("\n");
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("start: 2 ok, 0 failed, 1 skipped"), "{all}");
    assert!(
        all.contains("held                     skipped: stopped by an operator"),
        "{all}"
    );
    let after = records(dir.path());
    assert!(after["held"].held_stopped);
    assert!(!after["slow"].held_stopped);
}

#[test]
fn a_manager_killed_mid_stop_holds_nothing_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    module(dir.path(), "plain", None);
    module(dir.path(), "sticky", Some("stop"));

    let mut running = run(dir.path(), cache.path());
    let mut snapshots = Snapshots::open(&running.ops_address());
    running.wait_for("running;");

    // SIGTERM: everything stops; sticky's stop never returns; kill the process meanwhile.
    running.send("-TERM");
    snapshots.wait_for("sticky", "stopping");
    running.kill();

    // A shutdown is no operator's stop: the records are those the start wrote.
    let records = records(dir.path());
    for name in ["plain", "sticky"] {
        let record = &records[name];
        assert_eq!(record.started_version.as_deref(), Some("1.0.0"), "{name}");
        assert_eq!(record.availability, Availability::Enabled, "{name}");
        assert!(!record.held_stopped, "{name}");
        assert_eq!(record.last_failure, None, "{name}");
        assert!(record.config.is_some(), "{name}");
    }
    module(dir.path(), "sticky", None);
    let (code, lines) = common::run_until_sigint(dir.path(), cache.path());
    let all = lines.join("\n");
    assert_eq!(code, Some(0), "{all}");
    assert!(all.contains("start: 2 ok, 0 failed, 0 skipped"), "{all}");
}
