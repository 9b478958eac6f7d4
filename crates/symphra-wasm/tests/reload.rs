//! Hot reload: new code replaces old while the application runs; failures roll back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Guest, assert_clean_rollback, host, write_module};
use symphra::prelude::*;
use symphra_wasm::{LoadOptions, ReloadOutcome, Watcher, load_directory};

/// Announces `guest.started` with `{"v": version}` when it starts; `start` fails when
/// `fail` is set.
fn guest(version: u32, fail: bool) -> Vec<u8> {
    let mut g = Guest::new();
    let body = if fail {
        g.fail("new code cannot start")
    } else {
        g.publish("guest.started", &format!("{{\"v\":{version}}}"))
    };
    g.hook("start", body).component()
}

fn manifest(version: &str) -> String {
    format!("name = \"echo\"\nversion = \"{version}\"\n[capabilities]\npublish = [\"guest.>\"]\n")
}

/// Replaces `file` in `dir` with `bytes` in one rename, so that the watcher sees the file
/// change once and never half written.
fn replace(dir: &std::path::Path, file: &str, bytes: impl AsRef<[u8]>) {
    let staged = dir.join(format!(".{file}.new"));
    std::fs::write(&staged, bytes).unwrap();
    std::fs::rename(&staged, dir.join(file)).unwrap();
}

#[derive(Default)]
struct Watch {
    starts: Arc<Mutex<u32>>,
}

/// A native module that depends on the guest: it must be stopped and started around a
/// reload.
impl Module for Watch {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("watch").depends_on("echo")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        *self.starts.lock().unwrap() += 1;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_reloads_and_rolls_back() {
    let root = tempfile::tempdir().unwrap();
    let dir = write_module(root.path(), "echo", &manifest("1.0.0"), &guest(1, false));
    let (modules, report) =
        load_directory(root.path(), &LoadOptions::default().host(host())).unwrap();
    assert_eq!(report.loaded.len(), 1, "{report}");
    let watch = Watch::default();
    let starts = Arc::clone(&watch.starts);
    let manager = ModuleManager::builder()
        .module(modules[0].clone())
        .module(watch)
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let _sub = manager
        .bus()
        .subscribe("guest.started", move |e: &symphra::bus::Event| {
            sink.lock().unwrap().push(e.to_json().unwrap());
        })
        .unwrap();
    let versions = |seen: &Mutex<Vec<serde_json::Value>>| -> Vec<u64> {
        seen.lock()
            .unwrap()
            .iter()
            .map(|v| v["v"].as_u64().unwrap())
            .collect()
    };
    manager.start_all().await.unwrap();
    assert_eq!(versions(&seen), [1]);
    let mut watcher = Watcher::new(manager.clone(), modules).unwrap();
    // Its Debug names it and shows nothing of the modules' internals.
    assert_eq!(format!("{watcher:?}"), "Watcher { .. }");
    let next = async |w: &mut Watcher| {
        tokio::time::timeout(Duration::from_secs(10), w.next_report())
            .await
            .expect("a reload report within 10 s")
            .expect("watcher running")
    };

    // New code and version: the dependent is stopped and started again.
    // Code and manifest change in one rename: the new component is written under a name
    // nobody watches yet, and the new manifest that names it replaces the old one at once.
    std::fs::write(dir.join("module-2.wasm"), guest(2, false)).unwrap();
    replace(
        &dir,
        "module.toml",
        format!("component = \"module-2.wasm\"\n{}", manifest("1.1.0")),
    );
    let report = next(&mut watcher).await;
    assert!(
        matches!(&report.outcome, ReloadOutcome::Reloaded { from, to }
            if from.to_string() == "1.0.0" && to.to_string() == "1.1.0"),
        "{report:?}"
    );
    assert_eq!(report.stopped.len(), 2, "{report:?}");
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(
        manager.module("watch").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(*starts.lock().unwrap(), 2);
    assert_eq!(versions(&seen), [1, 2], "the new code runs");

    // A corrupt component: rejected, the running code is untouched.
    replace(&dir, "module-2.wasm", b"\0asm garbage");
    let report = next(&mut watcher).await;
    match &report.outcome {
        ReloadOutcome::Rejected(error) => {
            assert!(
                error
                    .to_string()
                    .contains("not a valid WebAssembly component")
            )
        }
        other => panic!("{other:?}"),
    }
    assert!(report.stopped.is_empty());
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(*starts.lock().unwrap(), 2);
    assert_eq!(versions(&seen), [1, 2]);

    // New code that fails to start: the old code (v2) is restored and runs.
    replace(&dir, "module-2.wasm", guest(3, true));
    let report = next(&mut watcher).await;
    assert_clean_rollback(&report.outcome, "new code cannot start");
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(
        manager.module("watch").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(versions(&seen), [1, 2, 2], "the old code runs again");
    assert_eq!(*starts.lock().unwrap(), 3);
}

/// A native dependent of `echo` whose starts after the first fail: a rollback cannot bring
/// it back.
#[derive(Default)]
struct StartsOnce {
    starts: Arc<Mutex<u32>>,
}

impl Module for StartsOnce {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("once").depends_on("echo")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        let mut starts = self.starts.lock().unwrap();
        *starts += 1;
        if *starts > 1 {
            return Err("starts only once".into());
        }
        Ok(())
    }
}

/// `echo` (from `root`) and a dependent, started.
async fn started_with(
    root: &std::path::Path,
    dependent: impl Module,
) -> (ModuleManager, symphra_wasm::WasmModule) {
    let (modules, report) = load_directory(root, &LoadOptions::default().host(host())).unwrap();
    assert_eq!(report.loaded.len(), 1, "{report}");
    let echo = modules[0].clone();
    let manager = ModuleManager::builder()
        .module(echo.clone())
        .module(dependent)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    (manager, echo)
}

#[tokio::test]
async fn a_reload_that_changes_the_name_or_the_dependencies_is_refused_untouched() {
    let root = tempfile::tempdir().unwrap();
    let dir = write_module(root.path(), "echo", &manifest("1.0.0"), &guest(1, false));
    let watch = Watch::default();
    let starts = Arc::clone(&watch.starts);
    let (manager, echo) = started_with(root.path(), watch).await;

    for (changed, field) in [
        (
            manifest("1.1.0").replace("name = \"echo\"", "name = \"other\""),
            "name",
        ),
        (
            format!("{}[dependencies]\nwatch = \"*\"\n", manifest("1.1.0")),
            "dependencies",
        ),
    ] {
        std::fs::write(dir.join("module.toml"), &changed).unwrap();
        let report = echo.reload(&manager).await.unwrap();
        match &report.outcome {
            ReloadOutcome::Rejected(error) => {
                let error = error.to_string();
                assert!(error.contains(field), "{field}: {error}");
                assert!(error.contains("restart it to apply this"), "{error}");
            }
            other => panic!("{field}: {other:?}"),
        }
        assert!(report.stopped.is_empty(), "{report:?}");
        assert_eq!(
            manager.module("echo").unwrap().state(),
            ModuleState::Started
        );
        assert_eq!(*starts.lock().unwrap(), 1, "nothing was restarted");
    }

    // The manager's readiness, health schedule and watchdog were set from the `[health]`
    // table: a reload may not change it either (here to a 0.2 guest that could honour it).
    std::fs::write(dir.join("module.wasm"), common::v2::component(true)).unwrap();
    std::fs::write(
        dir.join("module.toml"),
        format!("{}[health]\nready = \"signal\"\n", manifest("1.1.0")),
    )
    .unwrap();
    let report = echo.reload(&manager).await.unwrap();
    match &report.outcome {
        ReloadOutcome::Rejected(error) => {
            let error = error.to_string();
            assert!(error.contains("field `health`"), "{error}");
            assert!(error.contains("restart it to apply this"), "{error}");
        }
        other => panic!("health: {other:?}"),
    }
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
}

#[tokio::test]
async fn a_rollback_that_cannot_bring_the_old_code_back_says_why() {
    let root = tempfile::tempdir().unwrap();
    let dir = write_module(root.path(), "echo", &manifest("1.0.0"), &guest(1, false));
    let (manager, echo) = started_with(root.path(), StartsOnce::default()).await;

    std::fs::write(dir.join("module.wasm"), guest(2, true)).unwrap();
    let report = echo.reload(&manager).await.unwrap();
    match &report.outcome {
        ReloadOutcome::RolledBack {
            error,
            restored,
            rollback_errors,
        } => {
            assert!(error.contains("new code cannot start"), "{error}");
            assert!(!restored, "the dependent cannot start again");
            assert_eq!(rollback_errors.len(), 1, "{rollback_errors:?}");
            assert!(
                rollback_errors[0].starts_with("bringing the old code back:")
                    && rollback_errors[0].contains("starts only once"),
                "{rollback_errors:?}"
            );
        }
        other => panic!("{other:?}"),
    }
    // The old code itself runs again; only the dependent stayed down.
    assert_eq!(
        manager.module("echo").unwrap().state(),
        ModuleState::Started
    );
    assert_eq!(manager.module("once").unwrap().state(), ModuleState::Failed);
}
