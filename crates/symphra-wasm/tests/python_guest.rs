//! The Python guest of examples/modules/py-echo, built with componentize-py.
//!
//! Skipped (with a message) when componentize-py is missing, unless
//! `SYMPHRA_REQUIRE_PYTHON_GUEST` is set; `.ci/install-wasm-toolchain` installs it. The
//! component is 18 MB: wasmtime's code generator is optimized even in test builds (see the
//! root Cargo.toml) so it compiles in seconds, and the compiled code is cached in the
//! temporary folder for later runs. componentize-py's output differs from build to build,
//! so the built component is kept too (keyed by its sources), or the compile cache would
//! never hit.

mod common;

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, HostConfig, LoadOptions, WasmHost};

/// Whether componentize-py can be run; fails the test when it is required and missing.
fn have_componentize_py() -> bool {
    let found = Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("SYMPHRA_REQUIRE_PYTHON_GUEST").is_none(),
            "componentize-py missing; run .ci/install-wasm-toolchain"
        );
        eprintln!("skipped: componentize-py missing (run .ci/install-wasm-toolchain)");
    }
    found
}

/// The component built from the guest's sources, built once per version of them.
fn built_component(source: &Path) -> PathBuf {
    let mut key = std::collections::hash_map::DefaultHasher::new();
    for file in [
        source.join("app.py"),
        source.join("build.sh"),
        source.join("../../../wit/module.wit"),
    ] {
        std::fs::read(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
            .hash(&mut key);
    }
    let out = std::env::temp_dir().join(format!("symphra-py-echo-{:016x}.wasm", key.finish()));
    if out.is_file() {
        return out;
    }
    let partial = out.with_extension(format!("tmp{}", std::process::id()));
    let status = Command::new("bash")
        .arg(source.join("build.sh"))
        .arg(&partial)
        .status()
        .expect("run build.sh");
    assert!(
        status.success(),
        "build.sh failed (is componentize-py installed?)"
    );
    std::fs::rename(&partial, &out).expect("keep the built component");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_guest_answers_requests() {
    if !have_componentize_py() {
        return;
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules/py-echo");
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("py-echo");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(source.join("module.toml"), dir.join("module.toml")).unwrap();
    std::fs::copy(built_component(&source), dir.join("module.wasm")).unwrap();

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
