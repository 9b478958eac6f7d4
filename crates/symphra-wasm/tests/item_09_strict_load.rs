//! Issue 19, item 9: `load_from_directory` is strict by default: a folder whose manifest
//! has a syntax error fails the load with that error, instead of a warning and a missing
//! module later. The lenient mode must be asked for.

mod common;

use common::{Guest, host, write_module};
use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, LoadError, LoadOptions};

#[test]
fn item_09_load_from_directory_is_strict_unless_asked() {
    let root = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    write_module(
        root.path(),
        "good",
        "name = \"good\"\nversion = \"1.0.0\"\n",
        &wasm,
    );
    write_module(
        root.path(),
        "broken",
        "name = \"broken\"\nversion = \"1.0.0\n",
        &wasm,
    );
    let strict = LoadOptions::default().host(host());
    let error = ModuleManager::builder()
        .load_from_directory_with(root.path(), &strict)
        .map(|_| ())
        .unwrap_err();
    match &error {
        LoadError::Rejected { rejected, .. } => {
            assert_eq!(rejected.len(), 1);
            assert!(rejected[0].dir.ends_with("broken"));
        }
        other => panic!("{other}"),
    }
    let message = error.to_string();
    assert!(message.contains("broken/module.toml:2"), "{message}");
    assert!(message.contains("lenient"), "{message}");

    // The one-liner the docs show first is strict too.
    assert!(
        ModuleManager::builder()
            .load_from_directory(root.path())
            .is_err()
    );

    let (builder, report) = ModuleManager::builder()
        .load_from_directory_with(root.path(), &strict.lenient())
        .unwrap();
    assert_eq!(report.loaded.len(), 1);
    assert_eq!(report.rejected.len(), 1);
    assert!(builder.build().is_ok());
}
