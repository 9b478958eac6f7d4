//! Issue 19, the CLI's items: `run` refuses a mistyped or empty folder (7), a symlinked
//! module folder is followed or reported (10), and the manager's hook limit can be raised
//! (11).

mod common;

use common::{Guest, Running, output, run_until, symphra, text, write_module};

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn item_07_run_on_a_missing_folder_exits_2_and_creates_nothing() {
    let parent = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let missing = parent.path().join("nonexistent").join("dir");
    let out = output(&["run", missing.to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).starts_with("error:"), "{}", stderr(&out));
    assert!(
        !parent.path().join("nonexistent").exists(),
        "run created the folder it was given"
    );
}

#[test]
fn item_07_run_on_an_empty_folder_warns_and_exits_1_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let out = output(&["run", path], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no module folder"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("--allow-empty"), "{}", stderr(&out));
    assert!(
        !dir.path().join(".symphra").exists(),
        "a refused run wrote its state"
    );

    // Asked for, it runs nothing until told to stop, and exits 0.
    let (code, lines) = run_until(
        symphra(&["run", path, "--allow-empty"], cache.path()),
        "-INT",
    );
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
}

#[cfg(unix)]
#[test]
fn item_10_a_symlinked_module_folder_is_followed_inside_and_reported_outside() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    let manifest = |name: &str| format!("name = \"{name}\"\nversion = \"1.0.0\"\n");
    // Inside: a hidden store of versions and a link to the current one.
    let store = dir.path().join(".versions");
    std::fs::create_dir(&store).unwrap();
    write_module(&store, "inside-v2", &manifest("inside"), &wasm);
    std::os::unix::fs::symlink(store.join("inside-v2"), dir.path().join("inside")).unwrap();
    let path = dir.path().to_str().unwrap();

    let out = output(&["list", path], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out), stderr(&out));
    assert!(text(&out).contains("inside"), "{}", text(&out));

    // Outside: reported as a problem, not passed over.
    write_module(elsewhere.path(), "outside", &manifest("outside"), &wasm);
    std::os::unix::fs::symlink(elsewhere.path().join("outside"), dir.path().join("outside"))
        .unwrap();
    let out = output(&["check", path], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", stderr(&out));
    assert!(stdout.contains("symbolic link"), "{stdout}");
    assert!(stdout.contains("outside"), "{stdout}");

    // A dangling link is reported too.
    std::fs::remove_file(dir.path().join("outside")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("gone"), dir.path().join("dangling")).unwrap();
    let out = output(&["check", path], cache.path());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("leads nowhere"), "{}", text(&out));
}

#[test]
fn item_11_run_can_raise_or_lower_the_managers_hook_time_limit() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // A start that never ends, in a module whose own limit (5 minutes) is above the
    // manager's: the option's limit ends it.
    let wasm = Guest::new()
        .hook("start", "(loop $forever (br $forever))")
        .component();
    let manifest = "name = \"spin\"\nversion = \"1.0.0\"\n[capabilities]\nhook-timeout = \"5m\"\n";
    write_module(dir.path(), "spin", manifest, &wasm);
    let path = dir.path().to_str().unwrap();
    let mut running = Running::start(symphra(
        &["run", path, "--hook-timeout", "1s", "--no-state"],
        cache.path(),
    ));
    running.wait_for("running;");
    let (code, lines) = running.signal("-INT");
    let all = lines.join("\n");
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("within 1s"), "{all}");

    let out = output(&["run", path, "--hook-timeout", "forever"], cache.path());
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
