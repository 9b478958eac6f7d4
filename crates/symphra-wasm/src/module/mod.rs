//! A component as a `symphra::Module`: one store per module, hooks bounded in time and
//! memory, bus access limited to the manifest's grants.
//!
//! - [`store`]: the sandbox (the store, its limits, WASI);
//! - [`imports`]: the host functions the guest calls;
//! - [`inbox`]: events waiting for the guest, and how they are delivered;
//! - [`wit`]: the WIT version check at load;
//! - [`adapter`]: the `symphra::Module` implementation, one forward for every hook.

mod adapter;
mod declarations;
mod guest;
mod health;
mod imports;
mod inbox;
mod store;
mod wit;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use symphra::bus::Event;
use symphra::{Context, Hook};
use wasmtime::component::Component;

use self::guest::{EventView, Pre};
pub use self::inbox::InboxStats;
use self::inbox::{Inbox, InboxLimits, Recipient};
pub(crate) use self::store::State;
use self::store::{Live, arm, classify};
use self::wit::WitLevel;
use crate::error::{HookError, LoadError};
use crate::grants::ResolvedDir;
use crate::host::WasmHost;
use crate::manifest::{Capabilities, Manifest};

/// Published on the bus when a guest's `on-event` returns an error or traps; the payload is
/// `{"module": ..., "topic": ..., "error": ...}`.
pub const EVENT_FAILED: &str = "module.event_failed";

/// An event waiting for the guest, with the context to run `on-event` in.
pub(crate) struct Delivery {
    topic: String,
    payload: String,
    /// The module that published it, if one did.
    source: Option<Arc<str>>,
    ctx: Context,
}

/// A loaded version of a module's code: what a reload replaces.
pub(crate) struct Code {
    pre: Pre,
    /// The WIT version the component is built against.
    level: WitLevel,
    manifest: Arc<Manifest>,
    caps: Arc<Capabilities>,
    /// The folders the guest may open, resolved when loaded.
    dirs: Vec<ResolvedDir>,
    /// Whether the component imports WASI (then WASI is built from the grants).
    uses_wasi: bool,
}

/// The state shared by a module's hooks and its event subscriptions.
pub(crate) struct Shared {
    name: Arc<str>,
    pub(crate) host: WasmHost,
    /// The module folder, when loaded from one (needed to reload).
    pub(crate) dir: Option<PathBuf>,
    code: RwLock<Arc<Code>>,
    /// The instance; whoever holds this lock is the only one running the guest.
    live: tokio::sync::Mutex<Option<Live>>,
    inbox: Inbox<Delivery>,
    event_failures: AtomicU64,
    /// Why `on-event` last trapped (and the instance was dropped), for the hook whose
    /// delivery run it happened in.
    event_trap: std::sync::Mutex<Option<String>>,
}

/// A module implemented by a WebAssembly component: register it with
/// [`ModuleManagerBuilder::module`](symphra::ModuleManagerBuilder::module) like any other.
///
/// The component is instantiated in its own store at `bootstrap`; every hook call is
/// bounded by the manifest's `hook-timeout` (epoch interruption) and `memory-limit`. Events
/// on subscribed patterns are queued and delivered when the module is not running a hook.
/// A trap (time, memory, or a guest bug) drops the instance; one in `on-event` also fails
/// the running module (see [`Context::fail`]). Without an instance, `stop` has nothing to
/// run and succeeds, and `start` and `install` instantiate the component anew (a restart
/// runs `bootstrap`, `install` with the module's configuration, then `start`).
#[derive(Clone)]
pub struct WasmModule {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for WasmModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WasmModule")
            .field("name", &self.shared.name)
            .field("manifest", &self.shared.code().manifest.path)
            .finish_non_exhaustive()
    }
}

impl WasmModule {
    pub(crate) fn new(
        host: WasmHost,
        path: &Path,
        component: Component,
        manifest: Manifest,
        dirs: Vec<ResolvedDir>,
    ) -> Result<Self, LoadError> {
        let engine = host.engine();
        let ty = component.component_type();
        let imports = ty.imports(engine).map(|(name, _)| name);
        let level = wit::check_wit_version(
            path,
            imports.chain(ty.exports(engine).map(|(name, _)| name)),
        )?;
        let uses_wasi = ty
            .imports(engine)
            .any(|(name, _)| name.starts_with("wasi:"));
        let linker = if uses_wasi {
            &host.inner.with_wasi
        } else {
            &host.inner.plain
        };
        let instance_pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Imports {
                path: path.to_owned(),
                reason: format!("{e:#}"),
            })?;
        let pre = Pre::new(path, level, instance_pre)?;
        declarations::check(path, &manifest, level, &pre, engine, &ty)?;
        tracing::debug!(module = manifest.name, path = %path.display(), uses_wasi, "component loaded");
        Ok(Self {
            shared: Arc::new(Shared {
                name: manifest.name.as_str().into(),
                host: host.clone(),
                dir: None,
                inbox: Inbox::new(InboxLimits::of(&manifest.capabilities)),
                code: RwLock::new(Arc::new(Code {
                    pre,
                    level,
                    caps: Arc::new(manifest.capabilities.clone()),
                    manifest: Arc::new(manifest),
                    dirs,
                    uses_wasi,
                })),
                live: tokio::sync::Mutex::new(None),
                event_failures: AtomicU64::new(0),
                event_trap: std::sync::Mutex::new(None),
            }),
        })
    }

    /// The manifest of the code currently loaded.
    pub fn manifest(&self) -> Arc<Manifest> {
        Arc::clone(&self.shared.code().manifest)
    }

    /// The folders the guest may open, as resolved when the code was loaded.
    pub fn granted_dirs(&self) -> Vec<ResolvedDir> {
        self.shared.code().dirs.clone()
    }

    /// Whether the component imports WASI (and so gets the WASI grants of its manifest).
    pub fn uses_wasi(&self) -> bool {
        self.shared.code().uses_wasi
    }

    /// The version of the WIT package the component is built against: `"0.1"` or `"0.2"`.
    pub fn wit_version(&self) -> &'static str {
        self.shared.code().level.as_str()
    }

    /// Whether the component exports the `health` check (WIT 0.2).
    pub fn exports_health(&self) -> bool {
        self.shared.code().pre.has_health()
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// The folder the module was loaded from (`None` when loaded from bytes).
    pub fn dir(&self) -> Option<&Path> {
        self.shared.dir.as_deref()
    }

    pub(crate) fn with_dir(mut self, dir: &Path) -> Self {
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.dir = Some(dir.to_owned());
        }
        self
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Instantiates the component in a fresh store, ready for hook calls.
    ///
    /// Done by `bootstrap`; public for benchmarks and tests, not part of the supported API.
    #[doc(hidden)]
    pub async fn instantiate(&self) -> Result<(), HookError> {
        let mut live = self.shared.live.lock().await;
        *live = Some(self.shared.instantiate(None).await?);
        Ok(())
    }

    /// Calls one hook export directly, outside a manager: there is no context, so the
    /// guest's `publish`, `subscribe` and `config` calls fail or see nothing. `install`
    /// receives `{}`. Needs [`instantiate`](Self::instantiate) first.
    ///
    /// Public for benchmarks and tests, not part of the supported API.
    #[doc(hidden)]
    pub async fn call_hook(&self, hook: Hook) -> Result<(), HookError> {
        self.shared.call(hook, "{}", None).await
    }

    /// How many events the guest's `on-event` failed to handle (returned an error or
    /// trapped) since the module was created; each is also published as
    /// [`EVENT_FAILED`].
    pub fn event_failures(&self) -> u64 {
        self.shared.event_failures.load(Ordering::Relaxed)
    }

    /// What became of the events sent to the guest: delivered, dropped (inbox full, no
    /// instance, stopped), or queued; and the most bytes ever queued, which the manifest's
    /// `inbox-bytes` bounds.
    pub fn inbox_stats(&self) -> InboxStats {
        self.shared.inbox.stats()
    }
}

impl Shared {
    pub(crate) fn code(&self) -> Arc<Code> {
        match self.code.read() {
            Ok(code) => Arc::clone(&code),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the code (a reload) and drops the instance; returns the old code.
    pub(crate) async fn swap_code(&self, code: Arc<Code>) -> Arc<Code> {
        let mut live = self.live.lock().await;
        *live = None;
        self.inbox.set_limits(InboxLimits::of(&code.caps));
        let mut slot = match self.code.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *slot, code)
    }

    /// A fresh instance of the current code.
    async fn instantiate(self: &Arc<Self>, ctx: Option<Context>) -> Result<Live, HookError> {
        let code = self.code();
        store::instantiate(&self.host, &self.name, &code, Arc::downgrade(self), ctx).await
    }

    /// Runs one hook export with the time limit armed; a trap drops the instance. Then
    /// delivers the events queued meanwhile.
    async fn call(
        self: &Arc<Self>,
        hook: Hook,
        config: &str,
        ctx: Option<&Context>,
    ) -> Result<(), HookError> {
        let name = hook.as_str();
        let result = {
            let mut guard = self.live.lock().await;
            let Some(live) = guard.as_mut() else {
                return Err(HookError::NoInstance {
                    module: self.name.to_string(),
                    hook: name,
                });
            };
            let Live { store, exports } = live;
            if let Some(ctx) = ctx {
                store.data_mut().ctx = Some(ctx.clone());
            }
            arm(store);
            let outcome = exports.invoke(store, hook, config).await;
            // Not kept between calls: a context holds the manager, which holds this module.
            store.data_mut().ctx = None;
            match outcome {
                Ok(Ok(())) => Ok(()),
                Ok(Err(message)) => Err(HookError::Guest {
                    module: self.name.to_string(),
                    hook: name,
                    message,
                    memory_refused: store.data().memory_refused(),
                }),
                Err(error) => {
                    let error = classify(name, store, error);
                    tracing::error!(module = &*self.name, hook = name, %error, "the instance trapped and is dropped");
                    *guard = None;
                    Err(error)
                }
            }
        };
        self.take_event_trap();
        self.inbox.drain_after_release(&self.live, &**self).await;
        // An event delivered on the way out of this hook trapped and dropped the instance:
        // the hook must not report success for a module left without one.
        let keeps_instance = !matches!(hook, Hook::Stop | Hook::Uninstall);
        if result.is_ok()
            && keeps_instance
            && matches!(self.live.try_lock().as_deref(), Ok(None))
            && let Some(detail) = self.take_event_trap()
        {
            return Err(HookError::Trap {
                module: self.name.to_string(),
                hook: name,
                detail: format!("an event delivered at the end of the hook trapped: {detail}"),
            });
        }
        result
    }

    fn take_event_trap(&self) -> Option<String> {
        match self.event_trap.lock() {
            Ok(mut slot) => slot.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        }
    }

    /// Queues an event of `bytes` bytes for the guest, within the inbox's bound (a drop is
    /// counted), and delivers what is queued unless the instance is busy (its holder
    /// delivers them after).
    ///
    /// Delivery runs in a task of its own: a producer whose wait is cancelled (a hook of
    /// another module abandoned at its time limit) never abandons the guest mid-call, which
    /// would leave its instance unusable. The guest's own time limit still bounds it.
    pub(crate) async fn offer(self: Arc<Self>, delivery: Delivery, bytes: u64) {
        if !self.inbox.push(delivery, bytes) {
            tracing::debug!(module = &*self.name, "inbox full: event dropped (counted)");
        }
        let shared = Arc::clone(&self);
        let task = tokio::spawn(async move { shared.inbox.drain(&shared.live, &*shared).await });
        if let Err(error) = task.await {
            tracing::error!(module = &*self.name, %error, "event delivery task failed");
        }
    }

    /// Counts, logs and publishes (as [`EVENT_FAILED`]) a failed `on-event`.
    async fn event_failed(&self, ctx: &Context, topic: &str, error: String) {
        self.event_failures.fetch_add(1, Ordering::Relaxed);
        if topic == EVENT_FAILED {
            // A guest failing on failure reports would otherwise feed itself forever.
            return;
        }
        let payload = serde_json::json!({ "module": &*self.name, "topic": topic, "error": error });
        match Event::json(EVENT_FAILED, payload) {
            Ok(event) => {
                ctx.bus()
                    .publish_event(event.with_source(Arc::clone(&self.name)))
                    .await;
            }
            Err(error) => tracing::warn!(%error, "cannot build the event_failed event"),
        }
    }
}

/// `on-event`: one queued event, run while the instance lock is held.
impl Recipient for Shared {
    type Item = Delivery;
    type Target = Option<Live>;

    /// One time budget for the run: an event the guest causes itself (publishing to its
    /// own subscription) is charged to the same budget, so a guest feeding itself is
    /// stopped at its own limit.
    fn begin_run(&self, live: &mut Option<Live>) {
        if let Some(live) = live.as_mut() {
            arm(&mut live.store);
        }
    }

    async fn deliver(&self, live: &mut Option<Live>, delivery: Delivery) {
        let Delivery {
            topic,
            payload,
            source,
            ctx,
        } = delivery;
        let Some(Live { store, exports }) = live.as_mut() else {
            self.inbox.count_no_instance();
            tracing::warn!(
                module = &*self.name,
                topic,
                "event dropped (counted): the module has no instance"
            );
            return;
        };
        self.inbox.count_delivered();
        store.data_mut().ctx = Some(ctx.clone());
        let event = EventView {
            topic: &topic,
            payload: &payload,
            source: source.as_deref(),
        };
        let outcome = exports.on_event(&mut *store, event).await;
        store.data_mut().ctx = None;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(message)) => {
                tracing::warn!(
                    module = &*self.name,
                    topic,
                    message,
                    "the module's on-event returned an error"
                );
                self.event_failed(&ctx, &topic, message).await;
            }
            Err(error) => {
                let error = classify("on-event", store, error);
                tracing::warn!(
                    module = &*self.name,
                    topic,
                    %error,
                    "on-event trapped: the instance is dropped and the module fails"
                );
                *live = None;
                let message = error.to_string();
                match self.event_trap.lock() {
                    Ok(mut slot) => *slot = Some(message.clone()),
                    Err(poisoned) => *poisoned.into_inner() = Some(message.clone()),
                }
                // A failure while running like any other: without an instance the module
                // could only drop its events, so supervision stops it and its restart
                // policy (a fresh instance at start) applies. Ignored by the core while the
                // module starts or stops, when the hook's own outcome decides.
                ctx.fail(error);
                self.event_failed(&ctx, &topic, message).await;
            }
        }
    }
}
