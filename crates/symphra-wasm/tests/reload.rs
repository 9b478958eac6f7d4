//! Hot reload: new code replaces old while the application runs; failures roll back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Guest, host, write_module};
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
    let next = async |w: &mut Watcher| {
        tokio::time::timeout(Duration::from_secs(10), w.next_report())
            .await
            .expect("a reload report within 10 s")
            .expect("watcher running")
    };

    // New code and version: the dependent is stopped and started again.
    std::fs::write(dir.join("module.wasm"), guest(2, false)).unwrap();
    std::fs::write(dir.join("module.toml"), manifest("1.1.0")).unwrap();
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
    std::fs::write(dir.join("module.wasm"), b"\0asm garbage").unwrap();
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
    std::fs::write(dir.join("module.wasm"), guest(3, true)).unwrap();
    let report = next(&mut watcher).await;
    match &report.outcome {
        ReloadOutcome::RolledBack { error, restored } => {
            assert!(error.contains("new code cannot start"), "{error}");
            assert!(*restored);
        }
        other => panic!("{other:?}"),
    }
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
