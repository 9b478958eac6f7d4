//! A component as a `symphra::Module`: one store per module, hooks bounded in time and
//! memory, bus access limited to the manifest's grants.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Instant;

use symphra::bus::Event;
use symphra::{Config, Context, Hook, HookResult, ModuleMetadata};
use wasmtime::component::{Component, ResourceTable};
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::symphra::module::host::{Host, Level};
use crate::bindings::{Module as Bindings, ModulePre};
use crate::error::{HookError, LoadError};
use crate::host::{WIT_VERSION, WasmHost};
use crate::manifest::{Capabilities, Manifest};

/// The WIT package a component must be built against.
const WIT_PACKAGE: &str = "symphra:module";

/// Published on the bus when a guest's `on-event` returns an error or traps; the payload is
/// `{"module": ..., "topic": ..., "error": ...}`.
pub const EVENT_FAILED: &str = "module.event_failed";

/// What a module's store carries: its grants, the context of the hook being run, and the
/// limits being enforced.
pub struct State {
    name: Arc<str>,
    caps: Arc<Capabilities>,
    ctx: Option<Context>,
    shared: Weak<Shared>,
    limiter: MemoryLimiter,
    /// When the running call must end; armed at the call's first epoch tick rather than at
    /// its start, so a call that ends within a tick never reads the clock (a limit is thus
    /// enforced up to one [`EPOCH_TICK`](crate::EPOCH_TICK) late, its granularity anyway).
    deadline: Option<Instant>,
    timed_out: bool,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

struct MemoryLimiter {
    limit: usize,
    refused: Option<usize>,
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.refused = Some(desired);
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= 1_000_000)
    }
}

impl Host for State {
    async fn log(&mut self, level: Level, message: String) {
        let module = &*self.name;
        match level {
            Level::Trace => tracing::trace!(module, "{message}"),
            Level::Debug => tracing::debug!(module, "{message}"),
            Level::Info => tracing::info!(module, "{message}"),
            Level::Warn => tracing::warn!(module, "{message}"),
            Level::Error => tracing::error!(module, "{message}"),
        }
    }

    async fn publish(&mut self, topic: String, payload: String) -> Result<(), String> {
        if !self.caps.may_publish(&topic) {
            tracing::warn!(
                module = &*self.name,
                topic,
                "publish denied by the manifest"
            );
            return Err(format!(
                "module `{}` may not publish on `{topic}`: it is granted only {:?} \
                 (capabilities.publish in module.toml)",
                self.name,
                self.caps
                    .publish
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
            ));
        }
        let value: serde_json::Value = serde_json::from_str(&payload)
            .map_err(|e| format!("the payload published on `{topic}` is not JSON: {e}"))?;
        let ctx = self
            .ctx
            .clone()
            .ok_or_else(|| "publish is not available before bootstrap".to_owned())?;
        let event = Event::json(&topic, value)
            .map_err(|e| e.to_string())?
            .with_source(Arc::clone(&self.name));
        ctx.bus().publish_event(event).await;
        Ok(())
    }

    async fn subscribe(&mut self, pattern: String) -> Result<(), String> {
        if !self.caps.may_subscribe(&pattern) {
            tracing::warn!(
                module = &*self.name,
                pattern,
                "subscribe denied by the manifest"
            );
            return Err(format!(
                "module `{}` may not subscribe to `{pattern}`: it is granted only {:?} \
                 (capabilities.subscribe in module.toml)",
                self.name,
                self.caps
                    .subscribe
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
            ));
        }
        let ctx = self
            .ctx
            .clone()
            .ok_or_else(|| "subscribe is not available before bootstrap".to_owned())?;
        let shared = self.shared.clone();
        // The handler holds the context only while subscribed: the manager removes the
        // module's subscriptions when it stops, so no reference cycle outlives the module.
        let handler_ctx = ctx.clone();
        ctx.subscribe_async(&pattern, move |event: Event| {
            let shared = shared.clone();
            let ctx = handler_ctx.clone();
            async move {
                if let Some(shared) = shared.upgrade() {
                    let payload = event
                        .to_json()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|_| "null".to_owned());
                    shared.push_event(event.topic().to_owned(), payload, ctx);
                    shared.drain().await;
                }
            }
        })
        .map_err(|e| e.to_string())
    }

    async fn config(&mut self) -> String {
        self.ctx
            .as_ref()
            .map_or_else(|| "{}".to_owned(), |c| c.config().as_value().to_string())
    }
}

/// An event waiting for the guest, with the context to run `on-event` in.
struct Delivery {
    topic: String,
    payload: String,
    ctx: Context,
}

struct Live {
    store: Store<State>,
    bindings: Bindings,
}

/// A loaded version of a module's code: what a reload replaces.
pub(crate) struct Code {
    pre: ModulePre<State>,
    manifest: Arc<Manifest>,
    caps: Arc<Capabilities>,
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
    live: tokio::sync::Mutex<Option<Live>>,
    inbox: Mutex<VecDeque<Delivery>>,
    /// The length of `inbox`, read without its lock after every hook call.
    pending: AtomicUsize,
    event_failures: AtomicU64,
}

/// A module implemented by a WebAssembly component: register it with
/// [`ModuleManagerBuilder::module`](symphra::ModuleManagerBuilder::module) like any other.
///
/// The component is instantiated in its own store at `bootstrap`; every hook call is
/// bounded by the manifest's `hook-timeout` (epoch interruption) and `memory-limit`. Events
/// on subscribed patterns are queued and delivered when the module is not running a hook.
/// A trap (time, memory, or a guest bug) drops the instance: later hooks fail until the
/// module is loaded again.
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
    ) -> Result<Self, LoadError> {
        let engine = host.engine();
        let ty = component.component_type();
        let imports = ty.imports(engine).map(|(name, _)| name);
        check_wit_version(
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
        let pre = ModulePre::new(instance_pre).map_err(|e| LoadError::World {
            path: path.to_owned(),
            reason: format!("{e:#}"),
        })?;
        tracing::debug!(module = manifest.name, path = %path.display(), uses_wasi, "component loaded");
        Ok(Self {
            shared: Arc::new(Shared {
                name: manifest.name.as_str().into(),
                host: host.clone(),
                dir: None,
                code: RwLock::new(Arc::new(Code {
                    pre,
                    caps: Arc::new(manifest.capabilities.clone()),
                    manifest: Arc::new(manifest),
                    uses_wasi,
                })),
                live: tokio::sync::Mutex::new(None),
                inbox: Mutex::new(VecDeque::new()),
                pending: AtomicUsize::new(0),
                event_failures: AtomicU64::new(0),
            }),
        })
    }

    /// The manifest of the code currently loaded.
    pub fn manifest(&self) -> Arc<Manifest> {
        Arc::clone(&self.shared.code().manifest)
    }

    /// Whether the component imports WASI (and so gets the WASI grants of its manifest).
    pub fn uses_wasi(&self) -> bool {
        self.shared.code().uses_wasi
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
    /// Done by `bootstrap`; public for benchmarks and tools.
    pub async fn instantiate(&self) -> Result<(), HookError> {
        let mut live = self.shared.live.lock().await;
        *live = Some(self.shared.instantiate(None).await?);
        Ok(())
    }

    /// Calls one hook export directly, outside a manager (for benchmarks and tools):
    /// there is no context, so the guest's `publish`, `subscribe` and `config` calls fail
    /// or see nothing. `install` receives `{}`. Needs [`instantiate`](Self::instantiate)
    /// first.
    pub async fn call_hook(&self, hook: Hook) -> Result<(), HookError> {
        self.shared.call(hook, "{}", None).await
    }

    /// How many events the guest's `on-event` failed to handle (returned an error or
    /// trapped) since the module was created; each is also published as
    /// [`EVENT_FAILED`].
    pub fn event_failures(&self) -> u64 {
        self.shared.event_failures.load(Ordering::Relaxed)
    }
}

/// Calls the export of `hook` (`config` is the argument of `install`).
async fn invoke(
    bindings: &Bindings,
    store: &mut Store<State>,
    hook: Hook,
    config: &str,
) -> wasmtime::Result<Result<(), String>> {
    let guest = bindings.symphra_module_guest();
    match hook {
        Hook::Bootstrap => guest.call_bootstrap(store).await,
        Hook::Install => guest.call_install(store, config).await,
        Hook::Start => guest.call_start(store).await,
        Hook::Stop => guest.call_stop(store).await,
        Hook::Uninstall => guest.call_uninstall(store).await,
        Hook::Reload => guest.call_reload(store).await,
    }
}

/// Arms a store for one call: the time limit restarts and earlier refusals are forgotten.
fn arm(store: &mut Store<State>) {
    let state = store.data_mut();
    state.deadline = None;
    state.timed_out = false;
    state.limiter.refused = None;
    store.set_epoch_deadline(1);
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
        let mut slot = match self.code.write() {
            Ok(slot) => slot,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *slot, code)
    }

    async fn instantiate(self: &Arc<Self>, ctx: Option<Context>) -> Result<Live, HookError> {
        let code = self.code();
        let caps = &code.caps;
        let wasi = if code.uses_wasi {
            self.wasi_ctx(&code)?
        } else {
            WasiCtx::builder().build()
        };
        let limit = usize::try_from(caps.memory_limit).unwrap_or(usize::MAX);
        let state = State {
            name: Arc::clone(&self.name),
            caps: Arc::clone(caps),
            ctx,
            shared: Arc::downgrade(self),
            limiter: MemoryLimiter {
                limit,
                refused: None,
            },
            deadline: None,
            timed_out: false,
            wasi,
            table: ResourceTable::new(),
        };
        let mut store = Store::new(self.host.engine(), state);
        store.limiter(|state| &mut state.limiter);
        store.epoch_deadline_callback(|mut store| {
            let state = store.data_mut();
            let now = Instant::now();
            match state.deadline {
                None => state.deadline = Some(now + state.caps.hook_timeout),
                Some(deadline) if now >= deadline => {
                    state.timed_out = true;
                    return Err(wasmtime::Error::msg("hook time limit reached"));
                }
                Some(_) => {}
            }
            Ok(UpdateDeadline::Yield(1))
        });
        store.set_epoch_deadline(1);
        match code.pre.instantiate_async(&mut store).await {
            Ok(bindings) => Ok(Live { store, bindings }),
            Err(error) => Err(self.classify("instantiate", &store, error)),
        }
    }

    fn wasi_ctx(&self, code: &Code) -> Result<WasiCtx, HookError> {
        let caps = &code.caps;
        let mut builder = WasiCtxBuilder::new();
        for name in &caps.env {
            if let Ok(value) = std::env::var(name) {
                builder.env(name, value);
            }
        }
        if caps.stdio {
            builder.inherit_stdout().inherit_stderr();
        }
        let base = code
            .manifest
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for dir in &caps.dirs {
            let host_path: PathBuf = base.join(&dir.host);
            let perms = if dir.write {
                FsPerms::ReadWrite
            } else {
                FsPerms::ReadOnly
            };
            builder
                .preopened_dir(&host_path, &dir.guest, perms)
                .map_err(|e| HookError::Grant {
                    module: self.name.to_string(),
                    reason: format!(
                        "cannot open granted directory {}: {e:#}",
                        host_path.display()
                    ),
                })?;
        }
        Ok(builder.build())
    }

    fn classify(
        &self,
        hook: &'static str,
        store: &Store<State>,
        error: wasmtime::Error,
    ) -> HookError {
        let state = store.data();
        let caps = &state.caps;
        let module = self.name.to_string();
        if state.timed_out {
            HookError::Timeout {
                module,
                hook,
                limit: caps.hook_timeout,
            }
        } else if let Some(requested) = state.limiter.refused {
            HookError::Memory {
                module,
                hook,
                limit: caps.memory_limit,
                requested: requested as u64,
                detail: format!("{error:#}"),
            }
        } else {
            HookError::Trap {
                module,
                hook,
                detail: format!("{error:#}"),
            }
        }
    }

    /// Runs one hook export with the time limit armed; a trap drops the instance.
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
            let Live { store, bindings } = live;
            if let Some(ctx) = ctx {
                store.data_mut().ctx = Some(ctx.clone());
            }
            arm(store);
            let outcome = invoke(bindings, store, hook, config).await;
            // Not kept between calls: a context holds the manager, which holds this module.
            store.data_mut().ctx = None;
            match outcome {
                Ok(Ok(())) => Ok(()),
                Ok(Err(message)) => {
                    let refused = store.data().limiter.refused;
                    let limit = store.data().caps.memory_limit;
                    Err(HookError::Guest {
                        module: self.name.to_string(),
                        hook: name,
                        message,
                        memory_refused: refused.map(|r| (r as u64, limit)),
                    })
                }
                Err(error) => {
                    let error = self.classify(name, store, error);
                    tracing::error!(module = &*self.name, hook = name, %error, "the instance trapped and is dropped");
                    *guard = None;
                    Err(error)
                }
            }
        };
        // Pairs with the fence in `push_event`: either this sees the event, or the handler
        // that queued it saw the lock free and delivers it itself.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.pending.load(Ordering::SeqCst) > 0 {
            self.drain().await;
        }
        result
    }

    fn push_event(&self, topic: String, payload: String, ctx: Context) {
        if let Ok(mut inbox) = self.inbox.lock() {
            inbox.push_back(Delivery {
                topic,
                payload,
                ctx,
            });
            self.pending.fetch_add(1, Ordering::SeqCst);
        }
        std::sync::atomic::fence(Ordering::SeqCst);
    }

    fn pop_event(&self) -> Option<Delivery> {
        let mut inbox = self.inbox.lock().ok()?;
        let delivery = inbox.pop_front()?;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        Some(delivery)
    }

    fn clear_inbox(&self) {
        if let Ok(mut inbox) = self.inbox.lock() {
            self.pending.fetch_sub(inbox.len(), Ordering::SeqCst);
            inbox.clear();
        }
    }

    fn inbox_empty(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
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

    /// Delivers queued events unless the instance is busy (its holder drains after).
    async fn drain(self: &Arc<Self>) {
        loop {
            {
                let Ok(mut guard) = self.live.try_lock() else {
                    return;
                };
                while let Some(Delivery {
                    topic,
                    payload,
                    ctx,
                }) = self.pop_event()
                {
                    let Some(live) = guard.as_mut() else {
                        tracing::debug!(module = &*self.name, topic, "event dropped: no instance");
                        continue;
                    };
                    let Live { store, bindings } = live;
                    store.data_mut().ctx = Some(ctx.clone());
                    arm(store);
                    let outcome = bindings
                        .symphra_module_guest()
                        .call_on_event(&mut *store, &topic, &payload)
                        .await;
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
                            let error = self.classify("on-event", store, error);
                            tracing::error!(module = &*self.name, topic, %error, "the instance trapped and is dropped");
                            *guard = None;
                            self.event_failed(&ctx, &topic, error.to_string()).await;
                        }
                    }
                }
            }
            if self.inbox_empty() {
                return;
            }
        }
    }
}

/// Checks that every `symphra:module/...@X` name is compatible with [`WIT_VERSION`].
fn check_wit_version<'a>(
    path: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), LoadError> {
    for name in names {
        let Some(rest) = name
            .strip_prefix(WIT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        let Some((_, version)) = rest.split_once('@') else {
            return Err(LoadError::WitVersion {
                path: path.to_owned(),
                found: format!("{WIT_PACKAGE} (unversioned: `{name}`)"),
                host: WIT_VERSION.to_string(),
            });
        };
        let compatible = match semver::Version::parse(version) {
            Ok(v) if WIT_VERSION.major == 0 => v.major == 0 && v.minor == WIT_VERSION.minor,
            Ok(v) => v.major == WIT_VERSION.major,
            Err(_) => false,
        };
        if !compatible {
            return Err(LoadError::WitVersion {
                path: path.to_owned(),
                found: format!("{WIT_PACKAGE}@{version}"),
                host: WIT_VERSION.to_string(),
            });
        }
    }
    Ok(())
}

fn boxed(error: HookError) -> symphra::BoxError {
    Box::new(error)
}

impl symphra::Module for WasmModule {
    fn metadata(&self) -> ModuleMetadata {
        self.shared.code().manifest.metadata()
    }

    async fn bootstrap(&self, ctx: &Context) -> HookResult {
        let live = self
            .shared
            .instantiate(Some(ctx.clone()))
            .await
            .map_err(boxed)?;
        *self.shared.live.lock().await = Some(live);
        self.shared
            .call(Hook::Bootstrap, "", Some(ctx))
            .await
            .map_err(boxed)
    }

    async fn install(&self, ctx: &Context, config: Config) -> HookResult {
        if self.shared.live.lock().await.is_none() {
            // A reload (or an earlier trap) dropped the instance: start a fresh one, with
            // its own `bootstrap`, before installing it.
            symphra::Module::bootstrap(self, ctx).await?;
        }
        let json = config.as_value().to_string();
        self.shared
            .call(Hook::Install, &json, Some(ctx))
            .await
            .map_err(boxed)
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        self.shared
            .call(Hook::Start, "", Some(ctx))
            .await
            .map_err(boxed)
    }

    async fn stop(&self, ctx: &Context) -> HookResult {
        let result = self.shared.call(Hook::Stop, "", Some(ctx)).await;
        self.shared.clear_inbox();
        result.map_err(boxed)
    }

    async fn uninstall(&self, ctx: &Context) -> HookResult {
        self.shared
            .call(Hook::Uninstall, "", Some(ctx))
            .await
            .map_err(boxed)
    }

    async fn reload(&self, ctx: &Context) -> HookResult {
        self.shared
            .call(Hook::Reload, "", Some(ctx))
            .await
            .map_err(boxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wit_versions() {
        let p = Path::new("m.wasm");
        let ok = |n: &str| check_wit_version(p, [n]);
        assert!(ok("symphra:module/guest@0.1.0").is_ok());
        assert!(ok("symphra:module/guest@0.1.9").is_ok());
        assert!(ok("wasi:cli/environment@0.2.0").is_ok());
        let error = ok("symphra:module/guest@0.2.0").unwrap_err().to_string();
        assert!(
            error.contains("0.2.0") && error.contains("0.1.0"),
            "{error}"
        );
    }
}
