//! Folders a guest opens through WASI, with a real guest that tries to create a folder in
//! each of its preopened folders and one beside it (`../escaped`):
//!
//! - issue 22: a read-only grant refuses the write, a read-write grant takes it;
//! - issue 19, item 1: a module that asks for a data folder gets `<data root>/<module>`,
//!   made by Symphra, writable at `/data`, and nothing outside it.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use symphra::prelude::*;
use symphra_wasm::{GrantError, HostConfig, LoadError, Manifest, OperatorGrants, WasmHost};

fn host_with(grants: OperatorGrants) -> WasmHost {
    WasmHost::new(HostConfig::default().pooling(false).grants(grants)).expect("host")
}

/// Starts the module `m` of `folder` with `capabilities` on `host`; returns the outcomes
/// the guest published, `(topic, guest path)`, sorted, or why the start failed.
async fn run(
    host: &WasmHost,
    folder: &Path,
    capabilities: &str,
) -> Result<Vec<(String, Value)>, String> {
    let text = format!(
        "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"fs.>\"]\n{capabilities}\n"
    );
    let manifest = Manifest::parse(&text, folder.join("module.toml")).unwrap();
    let module = host
        .load_bytes(
            &folder.join("module.wasm"),
            &common::wasi_fs::component(),
            manifest,
        )
        .map_err(|e| e.to_string())?;
    assert!(module.uses_wasi());
    let manager = ModuleManager::builder().module(module).build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let _sub = manager
        .bus()
        .subscribe("fs.>", move |e: &symphra::bus::Event| {
            sink.lock()
                .unwrap()
                .push((e.topic().to_owned(), e.to_json().unwrap()));
        })
        .unwrap();
    let started = manager.start_all().await;
    let _ = manager.stop_all().await;
    started.map_err(|e| e.to_string())?;
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_by(|a, b| (&a.0, a.1.to_string()).cmp(&(&b.0, b.1.to_string())));
    Ok(seen)
}

fn outcome(topic: &str, path: &str) -> (String, Value) {
    (topic.to_owned(), json!(path))
}

#[tokio::test]
async fn issue_22_a_read_only_grant_refuses_writes_and_a_read_write_one_takes_them() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("m");
    std::fs::create_dir_all(folder.join("ro")).unwrap();
    std::fs::create_dir_all(folder.join("rw")).unwrap();
    let seen = run(
        &host_with(OperatorGrants::none()),
        &folder,
        "dirs = [{ host = \"ro\", guest = \"/ro\" }, { host = \"rw\", guest = \"/rw\", write = true }]",
    )
    .await
    .unwrap();
    assert_eq!(
        seen,
        [
            outcome("fs.escape.denied", "/ro"),
            outcome("fs.escape.denied", "/rw"),
            outcome("fs.made.denied", "/ro"),
            outcome("fs.made.ok", "/rw"),
        ]
    );
    assert!(folder.join("rw/made").is_dir());
    assert!(!folder.join("ro/made").exists());
    assert!(!folder.join("escaped").exists());
}

#[tokio::test]
async fn item_01_a_module_gets_its_own_data_folder_and_nothing_outside_it() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("modules/m");
    std::fs::create_dir_all(&folder).unwrap();
    let data_root = root.path().join("state/data");
    let host = host_with(OperatorGrants::none().data_root(&data_root));
    let seen = run(&host, &folder, "data = true").await.unwrap();
    assert_eq!(
        seen,
        [
            outcome("fs.escape.denied", "/data"),
            outcome("fs.made.ok", "/data")
        ]
    );
    assert!(
        data_root.join("m/made").is_dir(),
        "made by the guest in its folder"
    );
    assert!(!data_root.join("escaped").exists());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(data_root.join("m"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "private to the user: {mode:o}");
    }
    // Kept between runs: the second run finds `made` already there.
    let seen = run(&host, &folder, "data = true").await.unwrap();
    assert!(
        seen.contains(&outcome("fs.made.denied", "/data")),
        "{seen:?}"
    );

    // A symlink where the data folder should be is refused, not followed.
    #[cfg(unix)]
    {
        let elsewhere = root.path().join("elsewhere");
        std::fs::create_dir_all(&elsewhere).unwrap();
        std::fs::remove_dir_all(data_root.join("m")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, data_root.join("m")).unwrap();
        let error = run(&host, &folder, "data = true").await.unwrap_err();
        assert!(error.contains("symlink"), "{error}");
        assert!(!elsewhere.join("made").exists());
    }
}

#[tokio::test]
async fn item_01_without_a_data_root_a_data_folder_is_refused_at_load() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("m");
    std::fs::create_dir_all(&folder).unwrap();
    let manifest = Manifest::parse(
        "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\ndata = true\n",
        folder.join("module.toml"),
    )
    .unwrap();
    let error = host_with(OperatorGrants::none())
        .load_bytes(
            &folder.join("module.wasm"),
            &common::wasi_fs::component(),
            manifest,
        )
        .unwrap_err();
    assert!(
        matches!(error, LoadError::Grant(GrantError::NoDataRoot { .. })),
        "{error}"
    );
    // And the guest path is the data folder's alone.
    let clash = Manifest::parse(
        "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\ndirs = [{ host = \"x\", guest = \"/data\" }]\ndata = true\n",
        "m/module.toml",
    )
    .unwrap_err();
    assert_eq!(clash.field.as_deref(), Some("capabilities.data"), "{clash}");
}
