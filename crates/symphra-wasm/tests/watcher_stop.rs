//! Issue 22: `Watcher::stop` lets a reload under way end (the new code running, or the old
//! one put back) and starts no other, so the modules stopped next are settled; dropping the
//! watcher instead cuts that reload short.
//!
//! A reload is held in the middle by a native dependent of the reloaded guest whose start
//! waits at a gate the test opens: every wait is on an event, bounded only against a hang.

mod common;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Guest, assert_clean_rollback, host, write_module};
use symphra::prelude::*;
use symphra_wasm::{LoadOptions, ReloadOutcome, ReloadReport, Watcher, load_directory};
use tokio::sync::{Semaphore, mpsc};

/// A guest `name` that publishes `{"v": version}` on `<name>.started` when it starts (or
/// fails to start, when `fail`) and on `<name>.stopped` when it stops.
fn guest(name: &str, version: u32, fail: bool) -> Vec<u8> {
    let mut g = Guest::new();
    let payload = format!("{{\"v\":{version}}}");
    let start = if fail {
        g.fail("new code cannot start")
    } else {
        g.publish(&format!("{name}.started"), &payload)
    };
    let stop = g.publish(&format!("{name}.stopped"), &payload);
    g.hook("start", start).hook("stop", stop).component()
}

fn manifest(name: &str) -> String {
    format!("name = \"{name}\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"{name}.>\"]\n")
}

/// Replaces `dir`'s component in one rename, so that the watcher sees one whole change.
fn replace_component(dir: &Path, wasm: &[u8]) {
    let staged = dir.join(".module.wasm.new");
    std::fs::write(&staged, wasm).unwrap();
    std::fs::rename(&staged, dir.join("module.wasm")).unwrap();
}

/// Sends, when a start held at the gate ends, whether it passed the gate (false: its
/// future was dropped there, the reload cut short).
struct HeldStart {
    passed: bool,
    ended: mpsc::UnboundedSender<bool>,
}

impl Drop for HeldStart {
    fn drop(&mut self) {
        let _ = self.ended.send(self.passed);
    }
}

/// A native module that needs `a`: its first start returns at once; every later one (a
/// reload's, or a rollback's) says so on `entered` and waits until the test opens the gate.
struct Gate {
    starts: AtomicU32,
    entered: mpsc::UnboundedSender<()>,
    open: Arc<Semaphore>,
    ended: mpsc::UnboundedSender<bool>,
}

impl Module for Gate {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("gate").depends_on("a")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        if self.starts.fetch_add(1, Ordering::SeqCst) == 0 {
            return Ok(());
        }
        let mut held = HeldStart {
            passed: false,
            ended: self.ended.clone(),
        };
        let _ = self.entered.send(());
        self.open
            .acquire()
            .await
            .map_err(|_| "gate closed")?
            .forget();
        held.passed = true;
        Ok(())
    }
}

/// Guests `a` and `b` from folders, and `gate` (needing `a`), started and watched.
struct App {
    _root: tempfile::TempDir,
    a: PathBuf,
    b: PathBuf,
    manager: ModuleManager,
    watcher: Option<Watcher>,
    entered: mpsc::UnboundedReceiver<()>,
    open: Arc<Semaphore>,
    ended: mpsc::UnboundedReceiver<bool>,
    /// Every `<guest>.started` and `<guest>.stopped`, as (topic, version).
    seen: Arc<Mutex<Vec<(String, u64)>>>,
    _subscription: symphra::bus::Subscription,
}

async fn app() -> App {
    let root = tempfile::tempdir().unwrap();
    let a = write_module(root.path(), "a", &manifest("a"), &guest("a", 1, false));
    let b = write_module(root.path(), "b", &manifest("b"), &guest("b", 1, false));
    let (modules, report) =
        load_directory(root.path(), &LoadOptions::default().host(host())).unwrap();
    assert_eq!(report.loaded.len(), 2, "{report}");
    let (entered_tx, entered) = mpsc::unbounded_channel();
    let (ended_tx, ended) = mpsc::unbounded_channel();
    let open = Arc::new(Semaphore::new(0));
    let mut builder = ModuleManager::builder();
    for module in &modules {
        builder = builder.module(module.clone());
    }
    let manager = builder
        .module(Gate {
            starts: AtomicU32::new(0),
            entered: entered_tx,
            open: Arc::clone(&open),
            ended: ended_tx,
        })
        .build()
        .unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&seen);
    let subscription = manager
        .bus()
        .subscribe(">", move |e: &symphra::bus::Event| {
            if let Some(version) = e.to_json().ok().and_then(|v| v["v"].as_u64()) {
                sink.lock().unwrap().push((e.topic().to_string(), version));
            }
        })
        .unwrap();
    manager.start_all().await.unwrap();
    let watcher = Watcher::new(manager.clone(), modules).unwrap();
    App {
        _root: root,
        a,
        b,
        manager,
        watcher: Some(watcher),
        entered,
        open,
        ended,
        seen,
        _subscription: subscription,
    }
}

impl App {
    /// The versions seen on `topic`, in order.
    fn versions(&self, topic: &str) -> Vec<u64> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(t, _)| t == topic)
            .map(|(_, v)| *v)
            .collect()
    }

    fn state(&self, module: &str) -> ModuleState {
        self.manager.module(module).unwrap().state()
    }
}

/// `future`'s output; a hang fails the test instead of stalling the run.
async fn bounded<T>(what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .unwrap_or_else(|_| panic!("{what}: not within 30 s"))
}

/// Asks `app`'s watcher to stop while the reload is held at the gate, checks that the stop
/// waits, then opens the gate and returns what the stop returned.
async fn stop_while_held(app: &mut App) -> Vec<ReloadReport> {
    let watcher = app.watcher.take().unwrap();
    let mut stopping = Box::pin(watcher.stop());
    // One poll: the stop is asked for, and cannot be over while the reload is held.
    tokio::select! {
        biased;
        ended = &mut stopping => panic!("the stop returned during the reload: {ended:?}"),
        () = std::future::ready(()) => {}
    }
    app.open.add_permits(1);
    let reports = bounded("the stop", stopping).await.unwrap();
    assert_eq!(
        bounded("the held start's end", app.ended.recv()).await,
        Some(true),
        "the held start ran to its end"
    );
    reports
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_reload_returns_after_it_and_the_new_code_is_what_stops() {
    let mut app = app().await;
    // One burst changes both folders: `a`'s reload comes first and is held; `b`'s must
    // not start once the stop is asked for. (`a` is written first, so that if the burst
    // splits in two, `b`'s change still arrives while `a`'s reload is held.)
    let (new_a, new_b) = (guest("a", 2, false), guest("b", 2, false));
    replace_component(&app.a, &new_a);
    replace_component(&app.b, &new_b);
    bounded("the reload at the gate", app.entered.recv()).await;

    let reports = stop_while_held(&mut app).await;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].module, "a");
    assert!(
        matches!(reports[0].outcome, ReloadOutcome::Reloaded { .. }),
        "{reports:?}"
    );
    // Settled when the stop returned: the new code of `a` runs, `b` was not reloaded.
    assert_eq!(app.state("a"), ModuleState::Started);
    assert_eq!(app.state("gate"), ModuleState::Started);
    assert_eq!(app.versions("a.started"), [1, 2]);
    assert_eq!(app.versions("b.started"), [1]);
    assert_eq!(app.versions("b.stopped"), Vec::<u64>::new());

    app.manager.stop_all().await.unwrap();
    assert_eq!(app.versions("a.stopped"), [1, 2], "the new code stopped");
    assert_eq!(app.versions("b.stopped"), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_during_a_rollback_returns_after_it_and_the_old_code_is_what_stops() {
    let mut app = app().await;
    replace_component(&app.a, &guest("a", 2, true));
    // The new code fails to start; the rollback brings the old code back and holds at
    // the gate starting `gate` again.
    bounded("the rollback at the gate", app.entered.recv()).await;

    let reports = stop_while_held(&mut app).await;
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_clean_rollback(&reports[0].outcome, "new code cannot start");
    assert_eq!(app.state("a"), ModuleState::Started);
    assert_eq!(app.state("gate"), ModuleState::Started);
    assert_eq!(app.versions("a.started"), [1, 1], "the old code runs again");

    app.manager.stop_all().await.unwrap();
    assert_eq!(app.versions("a.stopped"), [1, 1], "the old code stopped");
}

#[tokio::test(start_paused = true)]
async fn a_stop_with_no_reload_under_way_returns_at_once() {
    let app = app().await;
    let before = tokio::time::Instant::now();
    // On the paused clock a stop that waited for any timer would move the clock, and one
    // that never returned would run into the bound at once.
    let reports = tokio::time::timeout(Duration::from_secs(3600), app.watcher.unwrap().stop())
        .await
        .expect("the stop returns")
        .unwrap();
    assert!(reports.is_empty(), "{reports:?}");
    assert_eq!(
        tokio::time::Instant::now(),
        before,
        "no timer was waited for"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_watcher_without_stop_cuts_the_reload_under_way_short() {
    let mut app = app().await;
    replace_component(&app.a, &guest("a", 2, false));
    bounded("the reload at the gate", app.entered.recv()).await;

    drop(app.watcher.take());
    // The gate stays shut: the held start ends only because the reload was cancelled.
    assert_eq!(
        bounded("the held start's end", app.ended.recv()).await,
        Some(false),
        "the held start was dropped at the gate"
    );
}
