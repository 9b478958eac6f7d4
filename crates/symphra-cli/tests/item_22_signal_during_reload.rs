//! Issue 22, with the real binary: a signal during a `run --watch` reload lets the reload
//! end before the modules stop, so the code stopped is the new one.
//!
//! The new code's `start` waits at a gate (a folder in its data folder) that the test opens
//! once the binary says it waits for the reload; every other wait is on what the binary
//! prints or on the live page's event stream.

mod common;

use common::{Guest, Running, Snapshots, gated_guest, symphra, write_module};

#[test]
fn item_22_a_signal_during_a_reload_lets_it_end_and_the_new_code_is_what_stops() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let manifest =
        "name = \"db\"\nversion = \"1.0.0\"\n[capabilities]\ndata = true\nhook-timeout = \"10m\"\n";
    let folder = write_module(root.path(), "db", manifest, &Guest::new().component());
    let mut running = Running::start(symphra(
        &[
            "run",
            root.path().to_str().unwrap(),
            "--watch",
            "--hook-timeout",
            "10m",
            "--ops",
            "127.0.0.1:0",
        ],
        cache.path(),
    ));
    let address = running.ops_address();
    running.wait_for("running;");
    let mut snapshots = Snapshots::open(&address);
    snapshots.wait_for("db", "started");
    let data = root.path().join(".symphra/data/db");
    // Made at load for a guest that uses WASI; the old code does not.
    std::fs::create_dir_all(data.join("gate")).unwrap();

    // One rename, so that the watcher sees one change.
    let staged = root.path().join(".staged.wasm");
    std::fs::write(&staged, gated_guest("gate", "stopped-by-new-code")).unwrap();
    std::fs::rename(&staged, folder.join("module.wasm")).unwrap();
    snapshots.wait_for("db", "starting");

    running.send("-TERM");
    running.wait_for("ending the watch: a reload under way finishes first");
    std::fs::remove_dir(data.join("gate")).unwrap();
    let (code, lines) = running.finish();
    let all = lines.join("\n");
    assert_eq!(code, Some(0), "{all}");
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{all}"))
    };
    // The reload ended after the signal and before the stop, which stopped everything.
    assert!(
        at("received SIGTERM, stopping") < at("ending the watch"),
        "{all}"
    );
    assert!(
        at("ending the watch") < at("reloaded db: 1.0.0 -> 1.0.0"),
        "{all}"
    );
    assert!(
        at("reloaded db: 1.0.0 -> 1.0.0") < at("stop: 1 ok, 0 failed"),
        "{all}"
    );
    assert!(
        data.join("stopped-by-new-code").is_dir(),
        "the new code stopped: {all}"
    );
}
