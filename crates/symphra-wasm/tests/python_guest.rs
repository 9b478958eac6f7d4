//! The Python guest of examples/modules/py-echo, built with componentize-py.
//!
//! An 18 MB component whose compilation takes seconds in release and minutes in a debug
//! build, so the test runs only when `SYMPHRA_TEST_PYTHON=1` (and componentize-py is
//! installed); the compiled component is cached in the temporary folder.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, HostConfig, LoadOptions, WasmHost};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_answers_requests() {
    if std::env::var_os("SYMPHRA_TEST_PYTHON").is_none() {
        eprintln!("skipped: set SYMPHRA_TEST_PYTHON=1 (needs componentize-py 0.25.1)");
        return;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules/py-echo");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("py-echo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source.join("module.toml"), dir.join("module.toml")).unwrap();
    let status = Command::new("bash")
        .arg(source.join("build.sh"))
        .arg(dir.join("module.wasm"))
        .status()
        .expect("run build.sh");
    assert!(
        status.success(),
        "build.sh failed (is componentize-py installed?)"
    );

    let host = WasmHost::new(
        HostConfig::default().cache_dir(std::env::temp_dir().join("symphra-wasm-test-cache")),
    )
    .unwrap();
    let (builder, report) = ModuleManager::builder()
        .load_from_directory_with(root.path(), &LoadOptions::default().host(host))
        .unwrap();
    assert_eq!(report.loaded.len(), 1, "{report}");
    let manager = builder
        .config("py-echo", serde_json::json!({ "prefix": "py" }))
        .build()
        .unwrap();
    let replies = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&replies);
    let _sub = manager
        .bus()
        .subscribe("echo.reply", move |e: &symphra::bus::Event| {
            sink.lock().unwrap().push(e.to_json().unwrap());
        })
        .unwrap();
    manager.start_all().await.unwrap();
    manager
        .bus()
        .publish_event(
            symphra::bus::Event::json("echo.request", serde_json::json!({ "n": 1 })).unwrap(),
        )
        .await;
    assert_eq!(
        *replies.lock().unwrap(),
        [serde_json::json!({ "prefix": "py", "request": { "n": 1 } })]
    );
    manager.stop_all().await.unwrap();
}
