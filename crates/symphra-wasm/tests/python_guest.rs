//! The Python guest of examples/modules/py-echo, built with componentize-py.
//!
//! Skipped (with a message) when componentize-py is missing, unless
//! `SYMPHRA_REQUIRE_PYTHON_GUEST` is set; `.ci/install-wasm-toolchain` installs it. The
//! component is 18 MB: wasmtime's code generator is optimized even in test builds (see the
//! root Cargo.toml) so it compiles in seconds, and the compiled code is cached in the
//! temporary folder for later runs, as is the built component (see `common/py_echo.rs`).

mod common;

use std::sync::{Arc, Mutex};

use common::py_echo;
use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, HostConfig, LoadOptions, WasmHost};

/// Whether componentize-py can be run; fails the test when it is required and missing.
fn have_componentize_py() -> bool {
    let found = py_echo::have_componentize_py();
    if !found {
        assert!(
            std::env::var_os("SYMPHRA_REQUIRE_PYTHON_GUEST").is_none(),
            "componentize-py missing; run .ci/install-wasm-toolchain"
        );
        eprintln!("skipped: componentize-py missing (run .ci/install-wasm-toolchain)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_answers_requests() {
    if !have_componentize_py() {
        return;
    }
    let source = py_echo::source();
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("py-echo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source.join("module.toml"), dir.join("module.toml")).unwrap();
    std::fs::copy(py_echo::built_component().unwrap(), dir.join("module.wasm")).unwrap();

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
