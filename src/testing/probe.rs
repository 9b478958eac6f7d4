//! A configurable module for tests: records its hook calls, and fails, panics, hangs or
//! waits on demand (fault injection).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::config::Config;
use crate::context::Context;
use crate::lifecycle::{Hook, HookResult};
use crate::module::{Module, ModuleMetadata};

/// What a hook of a [`Probe`] does besides recording the call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Return this error.
    Error(String),
    /// Panic with this message.
    Panic(String),
    /// Never return.
    Hang,
}

/// A module whose hooks record each call in a [`CallLog`] and, per hook, wait, fail, panic
/// or hang — to test how an application reacts. Waits use tokio's clock, so they take no
/// real time under `start_paused`.
///
/// ```
/// use std::time::Duration;
/// use symphra::prelude::*;
/// use symphra::testing::{CallLog, Fault, Probe};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)] async fn main() {
/// let log = CallLog::default();
/// let manager = ModuleManager::builder()
///     .module(Probe::new("database", &log).delay(Hook::Start, Duration::from_millis(10)))
///     .module(Probe::new("users", &log).depends_on("database").fault(Hook::Start, Fault::Error("no table".into())))
///     .build()
///     .unwrap();
/// let error = manager.start_all().await.unwrap_err();
/// assert!(error.to_string().contains("no table"));
/// assert_eq!(log.modules_calling(Hook::Start), ["database", "users"]);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Probe {
    metadata: ModuleMetadata,
    delays: HashMap<Hook, Duration>,
    faults: HashMap<Hook, Fault>,
    log: CallLog,
}

impl Probe {
    /// A module called `name` that records into `log` and otherwise does nothing.
    pub fn new(name: &str, log: &CallLog) -> Self {
        Self::with_metadata(ModuleMetadata::new(name), log)
    }

    /// A probe with the given metadata.
    pub fn with_metadata(metadata: ModuleMetadata, log: &CallLog) -> Self {
        Self {
            metadata,
            delays: HashMap::new(),
            faults: HashMap::new(),
            log: log.clone(),
        }
    }

    /// Adds a required dependency (see [`ModuleMetadata::depends_on`]).
    pub fn depends_on(mut self, spec: &str) -> Self {
        self.metadata = self.metadata.depends_on(spec);
        self
    }

    /// Adds an optional dependency.
    pub fn optionally_depends_on(mut self, spec: &str) -> Self {
        self.metadata = self.metadata.optionally_depends_on(spec);
        self
    }

    /// Changes the metadata (version, schema, ...).
    pub fn metadata_with(mut self, change: impl FnOnce(ModuleMetadata) -> ModuleMetadata) -> Self {
        self.metadata = change(self.metadata);
        self
    }

    /// Makes `hook` wait `delay` (on tokio's clock) before it returns.
    pub fn delay(mut self, hook: Hook, delay: Duration) -> Self {
        self.delays.insert(hook, delay);
        self
    }

    /// Makes `hook` fail, panic or hang (after its delay, if any).
    pub fn fault(mut self, hook: Hook, fault: Fault) -> Self {
        self.faults.insert(hook, fault);
        self
    }

    async fn run(&self, hook: Hook, config: Option<Config>) -> HookResult {
        self.log.record(self.metadata.name(), hook, config);
        if let Some(&delay) = self.delays.get(&hook) {
            tokio::time::sleep(delay).await;
        }
        match self.faults.get(&hook) {
            None => Ok(()),
            Some(Fault::Error(message)) => Err(message.clone().into()),
            Some(Fault::Panic(message)) => panic!("{message}"),
            Some(Fault::Hang) => std::future::pending().await,
        }
    }
}

impl Module for Probe {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }
    async fn bootstrap(&self, _ctx: &Context) -> HookResult {
        self.run(Hook::Bootstrap, None).await
    }
    async fn install(&self, _ctx: &Context, config: Config) -> HookResult {
        self.run(Hook::Install, Some(config)).await
    }
    async fn start(&self, _ctx: &Context) -> HookResult {
        self.run(Hook::Start, None).await
    }
    async fn stop(&self, _ctx: &Context) -> HookResult {
        self.run(Hook::Stop, None).await
    }
    async fn uninstall(&self, _ctx: &Context) -> HookResult {
        self.run(Hook::Uninstall, None).await
    }
    async fn reload(&self, _ctx: &Context) -> HookResult {
        self.run(Hook::Reload, None).await
    }
}

/// One recorded hook call.
#[derive(Clone, Debug)]
pub struct Call {
    /// The module.
    pub module: String,
    /// The hook.
    pub hook: Hook,
    /// When the hook was entered (tokio's clock).
    pub at: Instant,
    /// The configuration, for `install`.
    pub config: Option<Config>,
}

/// A shared, ordered record of hook calls. Clones share one record.
#[derive(Clone, Debug, Default)]
pub struct CallLog {
    calls: Arc<Mutex<Vec<Call>>>,
}

impl CallLog {
    fn record(&self, module: &str, hook: Hook, config: Option<Config>) {
        self.lock().push(Call {
            module: module.to_owned(),
            hook,
            at: Instant::now(),
            config,
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every call so far, in order.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().clone()
    }

    /// The modules that entered `hook`, in order.
    pub fn modules_calling(&self, hook: Hook) -> Vec<String> {
        self.lock()
            .iter()
            .filter(|call| call.hook == hook)
            .map(|call| call.module.clone())
            .collect()
    }

    /// The hooks `module` entered, in order.
    pub fn hooks_of(&self, module: &str) -> Vec<Hook> {
        self.lock()
            .iter()
            .filter(|call| call.module == module)
            .map(|call| call.hook)
            .collect()
    }

    /// Forgets every call.
    pub fn clear(&self) {
        self.lock().clear();
    }
}
