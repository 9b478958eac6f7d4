//! `symphra list`: versions, dependencies and the recorded state of the modules.

mod common;

use common::{modules, output, text};

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
