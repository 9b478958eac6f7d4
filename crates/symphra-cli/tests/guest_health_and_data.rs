//! Issue 16, item 8, and issue 19, item 1, as the `symphra` binary shows them: `list` and
//! `check` show what a module's `[health]` table declares and the data folder it is given,
//! and `check` refuses a table a 0.1 component cannot honour.

mod common;

use common::{Guest, output, run_until_sigint, text, wasi_fs_guest, write_module};

const HEALTH: &str =
    "[health]\nready = \"signal\"\ninterval = \"10s\"\ntimeout = \"2s\"\nwatchdog = \"30s\"\n";

#[test]
fn list_and_check_show_readiness_health_check_and_watchdog() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    write_module(
        root.path(),
        "m",
        &format!("name = \"m\"\nversion = \"1.0.0\"\n{HEALTH}"),
        &Guest::new().component(),
    );
    write_module(
        root.path(),
        "plain",
        "name = \"plain\"\nversion = \"1.0.0\"\n",
        &Guest::new().component(),
    );
    let dir = root.path().to_str().unwrap();

    let out = output(&["list", dir], cache.path());
    let stdout = text(&out);
    for line in [
        "ready:        when the module signals it (host.ready)",
        "health:       every 10s, timeout 2s, unhealthy after 30s",
        "watchdog:     heartbeat every 30s",
        "ready:        when start returns",
        "health:       -",
        "watchdog:     -",
    ] {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }

    // The test guest is built against 0.1, which has no host.ready: refused by `check`.
    let out = output(&["check", dir], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("(host.ready); health every 10s, timeout 2s"),
        "{stdout}"
    );
    assert!(
        stdout.contains("needs a component built against symphra:module@0.2.0"),
        "{stdout}"
    );
}

#[test]
fn list_shows_the_data_folder_symphra_gives_under_the_state_folder() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    write_module(
        root.path(),
        "m",
        "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\ndata = true\n",
        &Guest::new().component(),
    );
    let dir = root.path().to_str().unwrap();
    let out = output(&["list", dir], cache.path());
    let expected = format!(
        "{} -> /data (read-write, its data folder, made by Symphra)",
        root.path().join(".symphra/data/m").display()
    );
    assert!(text(&out).contains(&expected), "{expected}: {}", text(&out));
    // `list` only shows it: the folder is made when the module runs.
    assert!(!root.path().join(".symphra/data").exists());
}

#[test]
fn run_makes_the_data_folder_under_the_state_folder_and_the_guest_writes_there() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // At start the guest creates `made` in every folder it is given, and `../escaped`.
    write_module(
        root.path(),
        "m",
        "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"fs.>\"]\ndata = true\n",
        &wasi_fs_guest(),
    );
    let (code, lines) = run_until_sigint(root.path(), cache.path());
    assert_eq!(code, Some(0), "{lines:?}");
    let data = root.path().join(".symphra/data");
    assert!(data.join("m/made").is_dir(), "{lines:?}");
    assert!(!data.join("escaped").exists());
}
