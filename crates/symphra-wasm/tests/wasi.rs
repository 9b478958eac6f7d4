//! A component that imports WASI sees only what its manifest grants.

mod common;

use std::sync::{Arc, Mutex};

use symphra::prelude::*;
use symphra_wasm::{HostConfig, Manifest, ModuleGrant, OperatorGrants, WasmHost};

const ENV_WIT: &str = r#"
package wasi:cli@0.2.0;

interface environment {
    get-environment: func() -> list<tuple<string, string>>;
}
"#;

const WORLD_WIT: &str = r#"
package symphra:module@0.1.0;

world module-with-env {
    include module;
    import wasi:cli/environment@0.2.0;
}
"#;

/// At start the guest reads its environment; with exactly one variable it publishes
/// `env.seen` with the value as a JSON string, else it fails.
fn env_guest() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        common::wit_dir().join("module.wit"),
        dir.path().join("module.wit"),
    )
    .unwrap();
    std::fs::write(dir.path().join("test.wit"), WORLD_WIT).unwrap();
    std::fs::create_dir_all(dir.path().join("deps/wasi-cli")).unwrap();
    std::fs::write(dir.path().join("deps/wasi-cli/environment.wit"), ENV_WIT).unwrap();

    let mut g = common::Guest::new();
    let fail = g.fail("the guest sees other than exactly one environment variable");
    let (topic, topic_len) = g.string("env.seen");
    let start = format!(
        r#"(local $list i32) (local $vptr i32) (local $vlen i32)
        (call $getenv (i32.const 96))
        (if (i32.ne (i32.load (i32.const 100)) (i32.const 1)) (then {fail}))
        (local.set $list (i32.load (i32.const 96)))
        (local.set $vptr (i32.load offset=8 (local.get $list)))
        (local.set $vlen (i32.load offset=12 (local.get $list)))
        (i32.store8 (i32.const 8192) (i32.const 34))
        (memory.copy (i32.const 8193) (local.get $vptr) (local.get $vlen))
        (i32.store8 (i32.add (i32.const 8193) (local.get $vlen)) (i32.const 34))
        (call $publish (i32.const {topic}) (i32.const {topic_len}) (i32.const 8192)
            (i32.add (local.get $vlen) (i32.const 2)) (i32.const 64))
        (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))"#
    );
    let wat = g.hook("start", start).wat().replacen(
        "(module",
        "(module\n  (import \"wasi:cli/environment@0.2.0\" \"get-environment\" (func $getenv (param i32)))",
        1,
    );
    common::encode(&wat, dir.path(), "module-with-env")
}

#[tokio::test]
async fn wasi_guest_sees_only_granted_environment() {
    let Some((var, value)) = ["HOME", "USER", "PATH"]
        .iter()
        .find_map(|v| std::env::var(v).ok().map(|x| (*v, x)))
        .filter(|(_, x)| !x.contains(['"', '\\']))
    else {
        // `.ci/test` sets PATH plainly; CI must never skip this.
        assert!(
            std::env::var_os("SYMPHRA_REQUIRE_WASI_ENV").is_none(),
            "no plain HOME, USER or PATH in the environment, and SYMPHRA_REQUIRE_WASI_ENV is set"
        );
        eprintln!("skipped: no plain HOME, USER or PATH in the environment");
        return;
    };
    let manifest = format!(
        "name = \"env\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"env.seen\"]\nenv = [\"{var}\"]\n"
    );
    // The operator grants the variable (the manifest only asks for it).
    let grants = OperatorGrants::none().grant(
        "env",
        ModuleGrant {
            env: vec![var.to_owned()],
            ..ModuleGrant::default()
        },
    );
    let host = WasmHost::new(HostConfig::default().pooling(false).grants(grants)).unwrap();
    let module = host
        .load_bytes(
            "env/module.wasm".as_ref(),
            &env_guest(),
            Manifest::parse(&manifest, "env/module.toml").unwrap(),
        )
        .unwrap();
    assert!(module.uses_wasi());
    let manager = ModuleManager::builder().module(module).build().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let _sub = manager
        .bus()
        .subscribe("env.seen", move |e: &symphra::bus::Event| {
            sink.lock().unwrap().push(e.to_json().unwrap());
        })
        .unwrap();
    let report = manager.start_all().await;
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(*seen.lock().unwrap(), [serde_json::json!(value)]);
}
