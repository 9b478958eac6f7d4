//! The host functions a guest imports, in both WIT versions: `config` hands the guest its
//! module's configuration as JSON text, `log` writes the guest's line with the module's
//! name, and a log message longer than 8 KiB is cut there and says how long it was.

mod common;
#[path = "../../../tests/support/log_lines.rs"]
mod log_lines;

use std::sync::{Arc, Mutex};

use common::{Guest, encode, host, wit_dir};
use log_lines::Lines;
use serde_json::{Value, json};
use symphra::Hook;
use symphra::bus::Event;
use symphra::prelude::*;
use symphra_wasm::{Manifest, WasmModule};

/// The longest log message a guest gets through whole (`MAX_LOG_BYTES` in the host).
const MAX_LOG_BYTES: usize = 8 * 1024;

fn load(name: &str, capabilities: &str, wasm: &[u8]) -> WasmModule {
    let manifest = Manifest::parse(
        &format!("name = \"{name}\"\nversion = \"1.0.0\"\n[capabilities]\n{capabilities}\n"),
        format!("{name}/module.toml"),
    )
    .unwrap();
    host()
        .load_bytes(format!("{name}/module.wasm").as_ref(), wasm, manifest)
        .unwrap()
}

/// A 0.1 guest that, at start, asks the host for its configuration and publishes the text
/// it got as the payload of `conf.seen` (the host's error, if any, fails the start).
fn config_echo_v1() -> Vec<u8> {
    let mut g = Guest::new();
    let (topic, topic_len) = g.string("conf.seen");
    // `config` writes the string's pointer and length at 96 (free in `Guest`'s layout).
    let start = format!(
        "(call $config (i32.const 96))
         (call $publish (i32.const {topic}) (i32.const {topic_len})
           (i32.load (i32.const 96)) (i32.load (i32.const 100)) (i32.const 64))
         (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))"
    );
    g.hook("start", start).component()
}

/// A 0.2 guest that logs `hello from 0.2` at info level at bootstrap, and at start
/// publishes its configuration on `conf.seen` as [`config_echo_v1`] does.
///
/// Memory: 64..76 the return area of `publish`, 96..104 that of `config`, 1024.. string
/// constants, 4096.. the heap of `cabi_realloc`.
fn config_echo_v2() -> Vec<u8> {
    let hook = |name: &str, params: &str| {
        format!(
            "(func (export \"symphra:module/guest@0.2.0#{name}\") {params} (result i32) (i32.const 0))\n"
        )
    };
    let mut hooks = String::new();
    for name in ["stop", "uninstall", "reload"] {
        hooks.push_str(&hook(name, ""));
    }
    hooks.push_str(&hook("install", "(param i32 i32)"));
    hooks.push_str(&hook("on-event", "(param i32 i32 i32 i32 i32 i32 i32)"));
    let wat = format!(
        r#"(module
  (import "symphra:module/host@0.2.0" "log" (func $log (param i32 i32 i32)))
  (import "symphra:module/host@0.2.0" "publish" (func $publish (param i32 i32 i32 i32 i32)))
  (import "symphra:module/host@0.2.0" "config" (func $config (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (global.set $heap (i32.add (local.get $ptr) (local.get 3)))
    (local.get $ptr))
  (func (export "symphra:module/guest@0.2.0#bootstrap") (result i32)
    (call $log (i32.const 2) (i32.const 1024) (i32.const 14))
    (i32.const 0))
  (func (export "symphra:module/guest@0.2.0#start") (result i32)
    (call $config (i32.const 96))
    (call $publish (i32.const 1040) (i32.const 9)
      (i32.load (i32.const 96)) (i32.load (i32.const 100)) (i32.const 64))
    (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))
    (i32.const 0))
  {hooks}
  (data (i32.const 1024) "hello from 0.2")
  (data (i32.const 1040) "conf.seen")
)"#
    );
    encode(&wat, &wit_dir().join("0.2"), "module")
}

/// Runs `module` under a manager that configures it with `config`, and returns the
/// payloads it published on `conf.seen`.
async fn published_config(module: WasmModule, config: Value) -> Vec<Value> {
    let name = module.name().to_owned();
    let manager = ModuleManager::builder()
        .module(module)
        .config(name, config)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let _subscription = manager
        .bus()
        .subscribe("conf.seen", move |e: &Event| {
            sink.lock().unwrap().push(e.to_json().unwrap());
        })
        .unwrap();
    let report = manager.start_all().await.unwrap();
    assert!(report.is_success(), "{report}");
    manager.stop_all().await.unwrap();
    seen.lock().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_1_guest_reads_its_configuration_as_json() {
    let config = json!({ "capacity": 3, "names": ["a", "b"] });
    let module = load("conf1", "publish = [\"conf.seen\"]", &config_echo_v1());
    assert_eq!(module.wit_version(), "0.1");
    assert_eq!(published_config(module, config.clone()).await, [config]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_0_2_guest_reads_its_configuration_as_json() {
    let config = json!({ "capacity": 5 });
    let module = load("conf2", "publish = [\"conf.seen\"]", &config_echo_v2());
    assert_eq!(module.wit_version(), "0.2");
    assert_eq!(published_config(module, config.clone()).await, [config]);
}

#[tokio::test]
async fn a_0_2_guest_logs_a_line_with_its_module_name() {
    let module = load("talker", "", &config_echo_v2());
    let (logged, _guard) = Lines::capture(tracing::Level::INFO);
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Bootstrap).await.unwrap();

    let lines: Vec<String> = logged.take().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("INFO"), "{lines:?}");
    assert!(lines[0].contains("hello from 0.2"), "{lines:?}");
    assert!(lines[0].contains("talker"), "{lines:?}");
}

#[tokio::test]
async fn a_log_message_is_cut_at_8_kib_and_says_how_long_it_was() {
    let whole = "w".repeat(MAX_LOG_BYTES);
    let long = "x".repeat(MAX_LOG_BYTES + 808);
    let mut g = Guest::new();
    let log_whole = g.log(&whole);
    let log_long = g.log(&long);
    // Only logs: the string constants may reach into the (unused) allocator's heap.
    let wasm = g
        .hook("bootstrap", format!("{log_whole}\n{log_long}"))
        .component();
    let module = load("verbose", "", &wasm);
    let (logged, _guard) = Lines::capture(tracing::Level::INFO);
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Bootstrap).await.unwrap();

    let lines: Vec<String> = logged.take().lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2, "one line a message");
    assert!(
        lines[0].contains(&whole),
        "a message of 8 KiB is kept whole"
    );
    assert!(!lines[0].contains("bytes in all"), "{}", &lines[0][..80]);
    let kept = format!("{}… ({} bytes in all)", &long[..MAX_LOG_BYTES], long.len());
    assert!(lines[1].contains(&kept), "cut at 8 KiB, with the length");
    assert!(
        !lines[1].contains(&long[..MAX_LOG_BYTES + 1]),
        "not a byte more"
    );
}
