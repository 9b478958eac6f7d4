//! Issue 19, item 8 (first half), with the real binary: `symphra run --watch` reloads `db`
//! (which `api` needs) to new code whose `start` never returns; the process is killed
//! (SIGKILL) or asked to stop (SIGTERM, then SIGTERM again to cut the reload short) while
//! that start runs. Nothing was recorded as an operator's stop, so a restart with good
//! code runs `db` and `api`.
//!
//! Every wait is driven by what the binary says: its stdout, and the live page's event
//! stream (`/events` of `--ops`), which sends a snapshot on each state change.

mod common;

use std::path::Path;

use common::{Guest, Running, Snapshots, manifest, output, symphra, text, write_module};

/// Modules `db` and `api` (which needs `db`), with room for a long hook: the manifests ask
/// for 10 minutes, and `run` is given as much.
fn application() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    for (name, deps) in [("db", &[][..]), ("api", &["db"][..])] {
        let manifest = format!(
            "{}[capabilities]\nhook-timeout = \"10m\"\n",
            manifest(name, deps)
        );
        write_module(root.path(), name, &manifest, &wasm);
    }
    root
}

/// Replaces `db`'s component in one step (a rename), so that the watcher sees one change.
fn replace_db_component(dir: &Path, wasm: &[u8]) {
    let staged = dir.join(".staged.wasm");
    std::fs::write(&staged, wasm).unwrap();
    std::fs::rename(&staged, dir.join("db").join("module.wasm")).unwrap();
}

/// Runs the application with `--watch`, reloads `db` to a `start` that never returns, and
/// returns the running binary once that start runs.
fn reload_into_a_start_that_blocks(dir: &Path, cache: &Path) -> Running {
    let mut running = Running::start(symphra(
        &[
            "run",
            dir.to_str().unwrap(),
            "--watch",
            "--hook-timeout",
            "10m",
            "--ops",
            "127.0.0.1:0",
        ],
        cache,
    ));
    let address = running.ops_address();
    running.wait_for("watching the module folders");
    running.wait_for("running;");
    let mut snapshots = Snapshots::open(&address);
    snapshots.wait_for("db", "started");

    let blocking = Guest::new().hook("start", "(loop $spin (br $spin)) (return (i32.const 0))");
    replace_db_component(dir, &blocking.component());
    // The reload stops db (api first), installs the new code, and starts it; snapshots of
    // changes close together are merged, so only the state that lasts is waited for.
    snapshots.wait_for("db", "starting");
    running
}

/// What a later run with good code does: every line it printed.
fn restart_with_good_code(dir: &Path, cache: &Path) -> String {
    replace_db_component(dir, &Guest::new().component());
    let listed = text(&output(&["list", dir.to_str().unwrap()], cache));
    assert!(!listed.contains("held stopped"), "{listed}");
    let (code, lines) = common::run_until_sigint(dir, cache);
    let all = lines.join("\n");
    assert_eq!(code, Some(0), "{all}");
    all
}

#[test]
fn item_08_sigkill_during_a_reload_holds_nothing_stopped() {
    let dir = application();
    let cache = tempfile::tempdir().unwrap();
    let running = reload_into_a_start_that_blocks(dir.path(), cache.path());
    running.kill();

    let all = restart_with_good_code(dir.path(), cache.path());
    assert!(all.contains("start: 2 ok, 0 failed, 0 skipped"), "{all}");
}

#[test]
fn item_08_sigterm_during_a_reload_holds_nothing_stopped() {
    let dir = application();
    let cache = tempfile::tempdir().unwrap();
    let mut running = reload_into_a_start_that_blocks(dir.path(), cache.path());
    // The first signal waits for the reload (here for 10 minutes); the second cuts it
    // short. The process then stops at once: the stop leaves db, whose start the
    // interrupted reload left in progress, and says so; that db did not stop is a failure
    // (exit 1).
    running.send("-TERM");
    running.wait_for("ending the watch: a reload under way finishes first");
    let (code, lines) = running.signal("-TERM");
    let all = lines.join("\n");
    assert_eq!(code, Some(1), "{all}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("received SIGTERM again: a reload under way is cut short")),
        "{all}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("  db ")
            && l.ends_with(
                "skipped: another operation on it is in progress; wait for it to finish"
            )),
        "{all}"
    );

    let all = restart_with_good_code(dir.path(), cache.path());
    assert!(all.contains("start: 2 ok, 0 failed, 0 skipped"), "{all}");
}
