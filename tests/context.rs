//! What a hook can reach through its context, and blocking modules beside async ones.

use futures_util::FutureExt as _;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use symphra::Error;
use symphra::prelude::*;

#[derive(Default)]
struct Database {
    queries: AtomicU32,
}

impl Database {
    fn query(&self) -> u32 {
        self.queries.fetch_add(1, Ordering::SeqCst) + 1
    }
}

impl Module for Database {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("database").version("1.4.0")
    }
}

struct Cache;

impl Module for Cache {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("cache")
    }
}

/// Records what its start hook could reach.
#[derive(Default)]
struct Users {
    seen: Mutex<Vec<String>>,
}

impl Users {
    fn note(&self, line: String) {
        self.seen.lock().unwrap().push(line);
    }
}

impl Module for Users {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("users")
            .depends_on("database >=1")
            .optionally_depends_on("mailer")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let db = ctx.get::<Database>()?;
        self.note(format!("query {}", db.query()));
        self.note(format!("name {}", ctx.name()));
        match ctx.get::<Cache>() {
            Err(error @ Error::UndeclaredDependency { .. }) => self.note(format!("cache: {error}")),
            other => self.note(format!("cache unexpectedly: {:?}", other.map(|_| ()))),
        }
        self.note(format!(
            "mailer present: {}",
            ctx.try_get::<Cache>().is_some()
        ));
        match ctx.get_named::<Cache>("database") {
            Err(error @ Error::DependencyType { .. }) => self.note(format!("typed: {error}")),
            other => self.note(format!("typed unexpectedly: {:?}", other.map(|_| ()))),
        }
        match ctx.get_named::<Database>("mailer") {
            Err(error @ Error::DependencyAbsent { .. }) => self.note(format!("absent: {error}")),
            other => self.note(format!("absent unexpectedly: {:?}", other.map(|_| ()))),
        }
        // Lifecycle operations from inside a hook would wait for themselves.
        match ctx.manager().stop_all().await {
            Err(error @ Error::Reentrant { .. }) => self.note(format!("reentrant: {error}")),
            other => self.note(format!("reentrant unexpectedly: {:?}", other.map(|_| ()))),
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_hook_reaches_declared_dependencies_by_type_and_nothing_else() {
    let manager = ModuleManager::builder()
        .module(Users::default())
        .module(Database::default())
        .module(Cache)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let users = manager.get::<Users>().unwrap();
    let seen = users.seen.lock().unwrap().clone();
    assert_eq!(seen[0], "query 1");
    assert_eq!(seen[1], "name users");
    assert!(
        seen[2].starts_with("cache: module \"users\" asked for a module of type"),
        "{}",
        seen[2]
    );
    assert!(seen[2].contains("declare it"), "{}", seen[2]);
    assert_eq!(seen[3], "mailer present: false");
    assert!(
        seen[4].contains("registered as `context::Database` and was asked for as `context::Cache`"),
        "{}",
        seen[4]
    );
    assert!(
        seen[5].starts_with("absent: optional dependency \"mailer\""),
        "{}",
        seen[5]
    );
    // The hint names a method that exists.
    assert!(seen[5].contains("`Context::try_get`"), "{}", seen[5]);
    assert!(
        seen[6].starts_with("reentrant: module \"users\" called `stop_all`"),
        "{}",
        seen[6]
    );
    // The shared instance is the registered one.
    assert_eq!(manager.get::<Database>().unwrap().query(), 2);
}

/// Blocks its thread until the async module's start sends a message.
struct Blocking {
    receiver: Mutex<mpsc::Receiver<()>>,
}

impl SyncModule for Blocking {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("blocking")
    }

    fn start(&self, _ctx: &Context) -> HookResult {
        let receiver = self.receiver.lock().map_err(|_| "poisoned")?;
        receiver
            .recv_timeout(Duration::from_secs(10))
            .map_err(|e| format!("never heard from the async module: {e}"))?;
        Ok(())
    }
}

struct Sender {
    sender: mpsc::Sender<()>,
}

impl Module for Sender {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("sender")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        tokio::task::yield_now().await;
        self.sender.send(()).map_err(|e| e.to_string())?;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocking_hook_does_not_stall_async_modules_on_a_single_thread() {
    // On a one-thread runtime, a blocking hook run on the executor would keep the async
    // module from ever sending: the start would time out instead.
    let (sender, receiver) = mpsc::channel();
    let manager = ModuleManager::builder()
        .sync_module(Blocking {
            receiver: Mutex::new(receiver),
        })
        .module(Sender { sender })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    assert_eq!(
        manager.module("blocking").unwrap().state(),
        ModuleState::Started
    );
}

struct PanickingSync;

impl SyncModule for PanickingSync {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("panicky")
    }
    fn install(&self, _ctx: &Context, _config: Config) -> HookResult {
        panic!("sync boom")
    }
}

#[tokio::test]
async fn a_panicking_blocking_hook_is_reported_like_any_other() {
    let manager = ModuleManager::builder()
        .sync_module(PanickingSync)
        .build()
        .unwrap();
    let error = manager.start_all().await.unwrap_err();
    assert!(
        error.to_string().contains("it panicked: sync boom"),
        "{error}"
    );
    let handle = manager.module("panicky").unwrap();
    assert_eq!(handle.state(), ModuleState::Failed);
    assert_eq!(handle.failure().unwrap().hook(), Hook::Install);
}

#[tokio::test]
async fn handles_expose_name_version_metadata_and_the_module() {
    let manager = ModuleManager::builder()
        .module(Database::default())
        .build()
        .unwrap();
    let handle = manager.module("database").unwrap();
    assert_eq!(handle.name(), "database");
    assert_eq!(handle.version().to_string(), "1.4.0");
    assert_eq!(handle.metadata().name(), "database");
    assert!(handle.downcast::<Database>().is_some());
    assert!(handle.downcast::<Cache>().is_none());
    let db: Arc<Database> = handle.downcast().unwrap();
    assert_eq!(db.query(), 1);
}

#[tokio::test]
async fn a_handle_debugs_as_its_name_version_state_and_skip() {
    let manager = ModuleManager::builder()
        .module(Database::default())
        .build()
        .unwrap();
    let handle = manager.module("database").unwrap();
    assert_eq!(
        format!("{handle:?}"),
        r#"ModuleHandle { name: "database", version: "1.4.0", state: Registered, skipped: None }"#
    );
}

/// Publishes what it read from its typed dependency.
struct Greeter;

impl Module for Greeter {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("greeter")
            .depends_on("database ^1.4")
            .depends_on("cache")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let queries = ctx.get::<Database>()?.query();
        ctx.publish("greeter.ready", queries).await?;
        Ok(())
    }
}

#[tokio::test]
async fn the_harness_gives_a_module_its_typed_dependency_and_stands_in_for_the_rest() {
    use symphra::testing::Harness;
    let harness = Harness::builder(Greeter)
        .dependency(Database::default())
        .build()
        .unwrap();
    harness.start().await.unwrap();
    let ready = harness
        .events()
        .wait_for(|e| e.topic() == "greeter.ready", Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(ready.payload::<u32>(), Some(&1));
    // "cache" was not given: a stand-in was registered and started under that name.
    assert_eq!(harness.calls().modules_calling(Hook::Start), ["cache"]);
    assert_eq!(harness.manager().get::<Database>().unwrap().query(), 2);
}

/// Starts and stops a manager of its own from its start hook: a nested application.
#[derive(Default)]
struct Supervisor {
    seen: Mutex<Vec<String>>,
}

impl Module for Supervisor {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("supervisor")
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        let nested = ModuleManager::builder().module(Cache).build()?;
        let started = nested.start_all().await?;
        let stopped = nested.stop_all().await?;
        self.seen.lock().unwrap().push(format!(
            "nested: {} started, {} stopped",
            started.counts().0,
            stopped.counts().0
        ));
        Ok(())
    }
}

#[tokio::test]
async fn a_hook_may_drive_another_manager() {
    let manager = ModuleManager::builder()
        .module(Supervisor::default())
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let supervisor = manager.get::<Supervisor>().unwrap();
    assert_eq!(
        *supervisor.seen.lock().unwrap(),
        ["nested: 1 started, 1 stopped"]
    );
}

#[tokio::test]
async fn a_lifecycle_handler_calling_its_own_manager_is_refused() {
    let manager = ModuleManager::builder().module(Cache).build().unwrap();
    let (tx, rx) = mpsc::channel();
    let handle = manager.clone();
    let subscription = manager
        .bus()
        .subscribe_async("module.started", move |_event| {
            let (manager, tx) = (handle.clone(), tx.clone());
            async move {
                let refused = manager.stop_all().await.err().map(|e| e.to_string());
                tx.send(refused).unwrap();
            }
        })
        .unwrap();
    manager.start_all().await.unwrap();
    drop(subscription);
    let refused = rx.try_recv().unwrap().expect("stop_all was refused");
    assert!(
        refused.starts_with("module \"cache\" called `stop_all`"),
        "{refused}"
    );
    // Outside the handler the same call goes through.
    manager.stop_all().await.unwrap();
}

struct QuietSync;

impl SyncModule for QuietSync {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("quiet")
    }
}

#[test]
fn a_blocking_hook_cancelled_by_a_shutting_down_runtime_fails_with_an_error_not_a_panic() {
    let first = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let manager = first
        .block_on(async { ModuleManager::builder().sync_module(QuietSync).build() })
        .unwrap();
    // The runtime shuts down: a blocking hook spawned on it now is cancelled before it runs.
    let handle = first.handle().clone();
    first.shutdown_background();
    let started = {
        let _inside = handle.enter();
        manager
            .start_all()
            .now_or_never()
            .expect("the start finishes at its first poll")
    };
    let error = started.unwrap_err().to_string();
    assert!(error.contains("cancelled"), "{error}");
    assert!(!error.contains("panicked"), "{error}");
    assert_eq!(
        manager.module("quiet").unwrap().state(),
        ModuleState::Failed
    );
}
