//! Real components (WAT encoded with wit-component) run as Symphra modules.

mod common;

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use common::{Guest, encode, host, write_module};
use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, LoadError, LoadOptions, Manifest, WasmModule};

async fn start_report(manager: &ModuleManager) -> symphra::manager::Report {
    match manager.start_all().await {
        Ok(report) => report,
        Err(symphra::Error::Start(error)) => error.into_report(),
        Err(other) => panic!("start_all: {other}"),
    }
}

fn load(manifest: &str, wasm: &[u8]) -> WasmModule {
    let manifest = Manifest::parse(manifest, "test/module.toml").expect("manifest");
    host()
        .load_bytes("test/module.wasm".as_ref(), wasm, manifest)
        .expect("load")
}

/// A guest that logs, subscribes to `ping.*` at start, answers each event on `pong.reply`
/// with the same payload, and announces `guest.started` / `guest.stopped`.
fn echo_guest() -> Vec<u8> {
    let mut g = Guest::new();
    let boot = g.log("bootstrapped");
    let sub = g.subscribe("ping.*");
    let started = g.publish("guest.started", r#"{"ok":true}"#);
    let stopped = g.publish("guest.stopped", "{}");
    let (reply, reply_len) = g.string("pong.reply");
    let on_event = format!(
        "(call $publish (i32.const {reply}) (i32.const {reply_len}) (local.get 2) (local.get 3) (i32.const 64))
         (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))"
    );
    g.hook("bootstrap", boot)
        .hook("start", format!("{sub}\n{started}"))
        .hook("on-event", on_event)
        .hook("stop", stopped)
        .component()
}

const ECHO_MANIFEST: &str = r#"
name = "echo"
version = "0.3.0"
[dependencies]
clock = ">=1"
[capabilities]
publish = ["guest.>", "pong.*"]
subscribe = ["ping.>"]
hook-timeout = "2s"
"#;

/// A native module that records what it receives and pings the guest when it starts.
#[derive(Default)]
struct Clock {
    seen: Arc<Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Module for Clock {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("clock").version("1.2.0")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let seen = Arc::clone(&self.seen);
        ctx.subscribe(">", move |event: &symphra::bus::Event| {
            if !event.topic().starts_with("module.") {
                let value = event.to_json().unwrap_or_default();
                seen.lock().unwrap().push((event.topic().to_owned(), value));
            }
        })?;
        Ok(())
    }
}

/// A native module that depends on the guest and pings it when it starts.
struct Pinger;

impl Module for Pinger {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("pinger").depends_on("echo ^0.3")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.bus()
            .publish_event(symphra::bus::Event::json(
                "ping.now",
                serde_json::json!({ "n": 7 }),
            )?)
            .await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lifecycle_and_events_with_native_modules_both_ways() {
    let clock = Clock::default();
    let seen = Arc::clone(&clock.seen);
    let manager = ModuleManager::builder()
        .module(clock)
        .module(load(ECHO_MANIFEST, &echo_guest()))
        .module(Pinger)
        .build()
        .expect("build");

    let report = manager.start_all().await.expect("start");
    assert!(report.is_success(), "{report:?}");
    for name in ["clock", "echo", "pinger"] {
        assert_eq!(
            manager.module(name).unwrap().state(),
            ModuleState::Started,
            "{name}"
        );
    }
    // echo depends on clock (native), pinger on echo: the order proves the graph.
    let topics: Vec<String> = seen
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| t.clone())
        .collect();
    assert_eq!(
        topics,
        ["guest.started", "ping.now", "pong.reply"],
        "{topics:?}"
    );
    assert_eq!(
        seen.lock().unwrap()[2].1,
        serde_json::json!({ "n": 7 }),
        "the guest echoes the payload"
    );

    manager.stop_all().await.expect("stop");
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Stopped
    );
    // clock stops after echo (its dependent), so it saw guest.stopped.
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|(t, _)| t == "guest.stopped")
    );
}

#[tokio::test]
async fn publish_outside_grants_fails_and_delivers_nothing() {
    let mut g = Guest::new();
    let body = g.publish("admin.shutdown", "{}");
    let wasm = g.hook("start", body).component();
    let manifest = r#"
name = "sneaky"
version = "1.0.0"
[capabilities]
publish = ["sneaky.>"]
"#;
    let manager = ModuleManager::builder()
        .module(load(manifest, &wasm))
        .build()
        .unwrap();
    let delivered = Arc::new(Mutex::new(0));
    let count = Arc::clone(&delivered);
    let _sub = manager
        .bus()
        .subscribe("admin.>", move |_: &symphra::bus::Event| {
            *count.lock().unwrap() += 1;
        })
        .unwrap();
    let report = start_report(&manager).await;
    assert!(!report.is_success());
    let handle = manager.module("sneaky").unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
    let failure = handle.failure().unwrap().to_string();
    assert!(
        failure.contains("may not publish on `admin.shutdown`"),
        "{failure}"
    );
    assert_eq!(*delivered.lock().unwrap(), 0);
}

#[tokio::test]
async fn subscribe_outside_grants_fails() {
    let mut g = Guest::new();
    let body = g.subscribe("ping.>");
    let wasm = g.hook("start", body).component();
    let manifest = r#"
name = "nosy"
version = "1.0.0"
[capabilities]
subscribe = ["ping.public"]
"#;
    let manager = ModuleManager::builder()
        .module(load(manifest, &wasm))
        .build()
        .unwrap();
    let _ = manager.start_all().await;
    let handle = manager.module("nosy").unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
    let failure = handle.failure().unwrap().to_string();
    assert!(
        failure.contains("may not subscribe to `ping.>`"),
        "{failure}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn infinite_loop_is_interrupted_and_others_keep_running() {
    let wasm = Guest::new()
        .hook("start", "(loop $forever (br $forever))")
        .component();
    let manifest = r#"
name = "spinner"
version = "1.0.0"
[capabilities]
hook-timeout = "300ms"
"#;
    let manager = ModuleManager::builder()
        .module(Clock::default())
        .module(load(manifest, &wasm))
        .module(load(ECHO_MANIFEST, &echo_guest()))
        .build()
        .unwrap();
    // The limit is enforced on the wall clock (epoch ticks), which a test cannot pause:
    // the failure's cause says which limit ended the hook, never how long the run took.
    let report = start_report(&manager).await;
    let spinner = manager.module("spinner").unwrap();
    assert_eq!(spinner.state(), ModuleState::Failed, "{report:?}");
    let failure = spinner.failure().unwrap().to_string();
    assert!(failure.contains("time limit of 300ms"), "{failure}");
    assert_eq!(
        manager.module("clock").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
}

#[tokio::test]
async fn infinite_loop_yields_on_a_single_thread() {
    // The guest yields to the runtime every epoch tick: another task on this one thread is
    // polled again and again while the guest loops. No timer races the limit: before the
    // call nothing awaited yields, so every poll of the other task after its first
    // happened during the guest's call.
    let wasm = Guest::new()
        .hook("start", "(loop $forever (br $forever))")
        .component();
    let manifest =
        "name = \"spin1\"\nversion = \"1.0.0\"\n[capabilities]\nhook-timeout = \"400ms\"\n";
    let module = load(manifest, &wasm);
    module.instantiate().await.unwrap();
    let polls = Arc::new(AtomicU32::new(0));
    let counter = Arc::clone(&polls);
    let other = tokio::spawn(async move {
        loop {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
        }
    });
    assert_eq!(polls.load(Ordering::SeqCst), 0, "not polled yet");
    let error = module.call_hook(symphra::Hook::Start).await.unwrap_err();
    let during = polls.load(Ordering::SeqCst);
    other.abort();
    assert!(error.to_string().contains("time limit"), "{error}");
    assert!(
        during >= 2,
        "the other task ran while the guest looped ({during} polls)"
    );
}

#[tokio::test]
async fn growing_memory_past_the_limit_fails_cleanly() {
    let mut g = Guest::new();
    let fail = g.fail("out of memory");
    let grow = format!("(if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then {fail}))");
    let wasm = g.hook("start", grow).component();
    let manifest = r#"
name = "hungry"
version = "1.0.0"
[capabilities]
memory-limit = "1 MiB"
"#;
    let manager = ModuleManager::builder()
        .module(Clock::default())
        .module(load(manifest, &wasm))
        .build()
        .unwrap();
    let _ = manager.start_all().await;
    let hungry = manager.module("hungry").unwrap();
    assert_eq!(hungry.state(), ModuleState::Failed);
    let failure = hungry.failure().unwrap().to_string();
    assert!(failure.contains("out of memory"), "{failure}");
    assert!(failure.contains("limit 1048576 bytes"), "{failure}");
    assert_eq!(
        manager.module("clock").unwrap().state(),
        ModuleState::Started
    );

    // A guest that traps after the refusal is reported as over its limit.
    let wasm = Guest::new()
        .hook(
            "start",
            "(if (i32.eq (memory.grow (i32.const 64)) (i32.const -1)) (then unreachable))",
        )
        .component();
    let module = load(manifest, &wasm);
    module.instantiate().await.unwrap();
    let error = module
        .call_hook(symphra::Hook::Start)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("over its limit of 1048576 bytes"), "{error}");
}

#[tokio::test]
async fn guest_error_leaves_module_failed_with_its_message() {
    let mut g = Guest::new();
    let fail = g.fail("database unreachable");
    let wasm = g.hook("install", fail).component();
    let manager = ModuleManager::builder()
        .module(load("name = \"broken\"\nversion = \"1.0.0\"\n", &wasm))
        .build()
        .unwrap();
    let _ = manager.start_all().await;
    let handle = manager.module("broken").unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
    assert!(
        handle
            .failure()
            .unwrap()
            .to_string()
            .contains("database unreachable")
    );
}

const OTHER_WIT: &str = r#"
package other:thing@0.1.0;
world other {
    export run: func();
}
"#;

const NEXT_WIT: &str = r#"
package symphra:module@0.3.0;
interface guest {
    start: func() -> result<_, string>;
}
world module {
    export guest;
}
"#;

#[tokio::test]
async fn directory_loads_good_modules_and_rejects_bad_ones() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path();
    write_module(dir, "a-echo", ECHO_MANIFEST, &echo_guest());
    write_module(
        dir,
        "b-corrupt",
        "name = \"corrupt\"\nversion = \"1.0.0\"\n",
        b"\0asm\x0d\0\x01\0garbage",
    );
    write_module(
        dir,
        "c-bad-field",
        "name = \"badfield\"\nversion = \"1.0.0\"\n[capabilities]\nhook-timeout = \"forever\"\n",
        &echo_guest(),
    );
    let other = encode(
        "(module (func (export \"run\")))",
        std::path::Path::new(OTHER_WIT),
        "other",
    );
    write_module(
        dir,
        "d-other-world",
        "name = \"other\"\nversion = \"1.0.0\"\n",
        &other,
    );
    let next = encode(
        "(module (memory (export \"memory\") 1) (func (export \"symphra:module/guest@0.3.0#start\") (result i32) (i32.const 0)))",
        std::path::Path::new(NEXT_WIT),
        "module",
    );
    write_module(
        dir,
        "e-next",
        "name = \"next\"\nversion = \"1.0.0\"\n",
        &next,
    );
    write_module(dir, "f-ignored", "this is not toml", b"");
    std::fs::create_dir_all(dir.join("g-no-manifest")).unwrap();
    write_module(
        dir,
        "h-excluded",
        "name = \"excluded\"\nversion = \"1.0.0\"\n",
        b"",
    );

    let discovery = symphra_wasm::discover(dir).unwrap();
    assert_eq!(discovery.modules.len(), 5, "{discovery:?}");
    assert_eq!(discovery.rejected.len(), 2, "bad field + broken toml");

    let options = LoadOptions::default()
        .host(host())
        .lenient()
        .ignore("f-*")
        .exclude("excluded");
    let (builder, report) = ModuleManager::builder()
        .module(Clock::default())
        .load_from_directory_with(dir, &options)
        .unwrap();
    println!("{report}");
    let loaded: Vec<&str> = report.loaded.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(loaded, ["echo"]);
    let why = |folder: &str| {
        report
            .rejected
            .iter()
            .find(|r| r.dir.ends_with(folder))
            .map(|r| r.error.to_string())
            .unwrap_or_else(|| panic!("{folder} not rejected:\n{report}"))
    };
    let corrupt = why("b-corrupt");
    assert!(
        corrupt.contains("module.wasm is not a valid WebAssembly component"),
        "{corrupt}"
    );
    let bad_field = why("c-bad-field");
    assert!(
        bad_field.contains("module.toml:4:")
            && bad_field.contains("field `capabilities.hook-timeout`"),
        "{bad_field}"
    );
    let other = why("d-other-world");
    assert!(other.contains("do not match the WIT world"), "{other}");
    let next = why("e-next");
    assert!(
        next.contains("symphra:module@0.3.0") && next.contains("0.1.0 and 0.2.0"),
        "{next}"
    );
    assert!(matches!(
        report
            .rejected
            .iter()
            .find(|r| r.dir.ends_with("b-corrupt"))
            .unwrap()
            .error,
        LoadError::Compile { .. }
    ));
    assert_eq!(report.skipped.len(), 3, "{report}");

    let manager = builder.build().unwrap();
    let start = manager.start_all().await.unwrap();
    assert!(start.is_success());
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
}

#[tokio::test]
async fn a_guest_built_for_a_later_patch_version_runs() {
    let dir = tempfile::tempdir().unwrap();
    let wit = std::fs::read_to_string(common::wit_dir().join("module.wit"))
        .unwrap()
        .replace("symphra:module@0.1.0", "symphra:module@0.1.5");
    std::fs::write(dir.path().join("module.wit"), wit).unwrap();
    let mut g = Guest::new();
    let body = g.publish("patch.started", "{}");
    let wat = g.hook("start", body).wat().replace("@0.1.0", "@0.1.5");
    let wasm = encode(&wat, dir.path(), "module");
    let manifest =
        "name = \"patch\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"patch.>\"]\n";
    let manager = ModuleManager::builder()
        .module(load(manifest, &wasm))
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(0));
    let count = Arc::clone(&seen);
    let _sub = manager
        .bus()
        .subscribe("patch.started", move |_: &symphra::bus::Event| {
            *count.lock().unwrap() += 1;
        })
        .unwrap();
    let report = start_report(&manager).await;
    assert!(report.is_success(), "{report:?}");
    assert_eq!(*seen.lock().unwrap(), 1);
}
