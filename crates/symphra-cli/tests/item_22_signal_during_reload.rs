//! Issue 22, with the real binary: a signal during a `run --watch` reload lets the reload
//! end before the modules stop, so the code stopped is the one the reload left running,
//! and a reload that ended badly then makes the exit code 1.
//!
//! The new code's `start` waits at a gate (a folder in the module's data folder) that the
//! test opens once the binary says it waits for the reload; every other wait is on what the
//! binary prints or on the live page's event stream.

mod common;

use std::path::PathBuf;

use common::{Guest, Running, Snapshots, gated_guest, starts_once_guest, symphra, write_module};

/// What a run ended with: its exit code, every line it printed, and `db`'s data folder.
struct Ended {
    code: Option<i32>,
    lines: Vec<String>,
    data: PathBuf,
    _root: tempfile::TempDir,
}

impl Ended {
    /// The index of the first line starting with `prefix`.
    fn at(&self, prefix: &str) -> usize {
        self.lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix:?} in:\n{}", self.lines.join("\n")))
    }
}

/// Runs `db` (`old`, with a data folder) with `--watch`, reloads it to `new` (a gated
/// guest whose gate is `gate`), sends SIGTERM while the new code's start waits at the
/// gate, opens the gate once the binary says it waits for the reload, and runs to the end.
fn signal_during_reload(old: &[u8], new: &[u8]) -> Ended {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let manifest =
        "name = \"db\"\nversion = \"1.0.0\"\n[capabilities]\ndata = true\nhook-timeout = \"10m\"\n";
    let folder = write_module(root.path(), "db", manifest, old);
    // Made at load for a guest that uses WASI; made here for one that does not.
    let data = root.path().join(".symphra/data/db");
    std::fs::create_dir_all(&data).unwrap();
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
    std::fs::create_dir(data.join("gate")).unwrap();

    // One rename, so that the watcher sees one change.
    let staged = root.path().join(".staged.wasm");
    std::fs::write(&staged, new).unwrap();
    std::fs::rename(&staged, folder.join("module.wasm")).unwrap();
    snapshots.wait_for("db", "starting");

    running.send("-TERM");
    running.wait_for("ending the watch: a reload under way finishes first");
    std::fs::remove_dir(data.join("gate")).unwrap();
    let (code, lines) = running.finish();
    Ended {
        code,
        lines,
        data,
        _root: root,
    }
}

#[test]
fn item_22_a_signal_during_a_reload_lets_it_end_and_the_new_code_is_what_stops() {
    let ended = signal_during_reload(
        &Guest::new().component(),
        &gated_guest("gate", None, "stopped-by-new-code"),
    );
    let all = ended.lines.join("\n");
    assert_eq!(ended.code, Some(0), "{all}");
    // The reload ended after the signal and before the stop, which stopped everything.
    let reloaded = ended.at("reloaded db: 1.0.0 -> 1.0.0");
    assert!(ended.at("received SIGTERM, stopping") < ended.at("ending the watch"));
    assert!(ended.at("ending the watch") < reloaded, "{all}");
    assert!(reloaded < ended.at("stop: 1 ok, 0 failed"), "{all}");
    assert!(
        ended.data.join("stopped-by-new-code").is_dir(),
        "the new code stopped: {all}"
    );
}

#[test]
fn item_22_a_reload_that_ends_badly_after_the_signal_makes_the_exit_code_1() {
    // The new code fails to start, and the old code, which starts only once, cannot come
    // back: the reload's line says so, and the run fails.
    let ended = signal_during_reload(
        &starts_once_guest("started"),
        &gated_guest("gate", Some("new code cannot start"), "unused"),
    );
    let all = ended.lines.join("\n");
    assert_eq!(ended.code, Some(1), "{all}");
    let failed = ended.at("reload of db failed (");
    assert!(ended.at("ending the watch") < failed, "{all}");
    assert!(
        ended.lines[failed].contains("new code cannot start")
            && ended.lines[failed].contains("the old code could not be restarted"),
        "{all}"
    );
    // The stop itself went cleanly: the exit code is the reload's.
    assert!(
        failed < ended.at("stop: 0 ok, 0 failed, 0 skipped, 1 not running"),
        "{all}"
    );
}
