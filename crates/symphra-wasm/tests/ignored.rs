//! Modules an operator ignored stay out of directory discovery.

use symphra::state::{Availability, Change, RedbStore, StateStore};
use symphra_wasm::{LoadOptions, discover_with};

fn manifest(name: &str) -> String {
    format!("name = \"{name}\"\nversion = \"1.0.0\"\n")
}

#[test]
fn a_module_ignored_in_the_state_store_is_not_discovered() {
    let root = tempfile::tempdir().unwrap();
    for name in ["kept", "unwanted"] {
        let dir = root.path().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("module.toml"), manifest(name)).unwrap();
    }
    let store = RedbStore::open(root.path().join("state.redb")).unwrap();
    store
        .apply(&[(
            "unwanted".into(),
            Change::Availability(Availability::Ignored),
        )])
        .unwrap();

    let options = LoadOptions::default().ignore_recorded(&store).unwrap();
    let found = discover_with(root.path(), &options).unwrap();
    let names: Vec<&str> = found
        .modules
        .iter()
        .map(|m| m.manifest.name.as_str())
        .collect();
    assert_eq!(names, ["kept"]);
    assert!(
        found.skipped.iter().any(|s| s.dir.ends_with("unwanted")),
        "{:?}",
        found.skipped
    );
}
