//! The C guest of examples/modules/greeter, built from source with clang and wasm-tools.
//!
//! Skipped (with a message) when the tools are missing, unless `SYMPHRA_REQUIRE_C_GUEST` is
//! set; `.ci/install-wasm-toolchain` installs them.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use symphra::prelude::*;
use symphra_wasm::Manifest;

fn greeter_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules/greeter")
}

/// Builds the greeter into a temporary file; `None` when the toolchain is missing.
fn build_greeter(out: &Path) -> Option<Vec<u8>> {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if !have("clang") || !have("wasm-tools") {
        assert!(
            std::env::var_os("SYMPHRA_REQUIRE_C_GUEST").is_none(),
            "clang or wasm-tools missing; run .ci/install-wasm-toolchain"
        );
        eprintln!("skipped: clang or wasm-tools missing (run .ci/install-wasm-toolchain)");
        return None;
    }
    let status = Command::new("bash")
        .arg(greeter_dir().join("build.sh"))
        .arg(out)
        .status()
        .expect("run build.sh");
    assert!(status.success(), "build.sh failed");
    Some(std::fs::read(out).expect("built component"))
}

#[tokio::test]
async fn c_guest_answers_requests_through_the_bus() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(wasm) = build_greeter(&tmp.path().join("greeter.wasm")) else {
        return;
    };
    let manifest = Manifest::from_dir(&greeter_dir()).unwrap();
    let module = common::host()
        .load_bytes(&tmp.path().join("greeter.wasm"), &wasm, manifest)
        .unwrap();
    assert!(!module.uses_wasi());
    let manager = ModuleManager::builder().module(module).build().unwrap();
    let replies = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&replies);
    let _sub = manager
        .bus()
        .subscribe("greet.reply", move |e: &symphra::bus::Event| {
            sink.lock().unwrap().push(e.to_json().unwrap());
        })
        .unwrap();
    manager.start_all().await.unwrap();
    for n in 0..3 {
        manager
            .bus()
            .publish_event(
                symphra::bus::Event::json("greet.request", serde_json::json!({ "n": n })).unwrap(),
            )
            .await;
    }
    assert_eq!(
        *replies.lock().unwrap(),
        (0..3)
            .map(|n| serde_json::json!({ "greeting": "hello", "request": { "n": n } }))
            .collect::<Vec<_>>()
    );
    manager.stop_all().await.unwrap();
    assert_eq!(
        manager.module("greeter").unwrap().state(),
        ModuleState::Stopped
    );
}
