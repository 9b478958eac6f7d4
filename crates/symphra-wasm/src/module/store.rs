//! The sandbox of one module: its wasmtime store, what the store carries, and the limits
//! enforced on every call (time by epoch interruption, memory by a resource limiter, WASI by
//! the manifest's grants).

use std::sync::{Arc, Weak};
use std::time::Instant;

use symphra::Context;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::guest::Exports;
use super::{Code, Shared};
use crate::error::HookError;
use crate::grants::{DirSource, make_data_folder};
use crate::host::WasmHost;
use crate::manifest::Capabilities;

/// What a module's store carries: its grants, the context of the hook being run, and the
/// limits being enforced.
pub(crate) struct State {
    pub(super) name: Arc<str>,
    pub(super) caps: Arc<Capabilities>,
    /// The context of the running call; never kept between calls (it holds the manager,
    /// which holds this module).
    pub(super) ctx: Option<Context>,
    pub(super) shared: Weak<Shared>,
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

impl State {
    /// The memory size refused during the running call, with the limit: (asked, limit).
    pub(super) fn memory_refused(&self) -> Option<(u64, u64)> {
        self.limiter
            .refused
            .map(|asked| (asked as u64, self.caps.memory_limit))
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

/// A live instance: its store and the typed exports.
pub(crate) struct Live {
    pub(super) store: Store<State>,
    pub(super) exports: Exports,
}

/// Arms a store for one call: the time limit restarts and earlier refusals are forgotten.
pub(super) fn arm(store: &mut Store<State>) {
    let state = store.data_mut();
    state.deadline = None;
    state.timed_out = false;
    state.limiter.refused = None;
    store.set_epoch_deadline(1);
}

/// Instantiates `code` in a fresh store bounded by its grants. `shared` is what the guest's
/// subscriptions deliver to; `ctx` is the context of the hook that asks for the instance.
pub(super) async fn instantiate(
    host: &WasmHost,
    name: &Arc<str>,
    code: &Code,
    shared: Weak<Shared>,
    ctx: Option<Context>,
) -> Result<Live, HookError> {
    let caps = &code.caps;
    let wasi = if code.uses_wasi {
        wasi_ctx(name, code)?
    } else {
        WasiCtx::builder().build()
    };
    let limit = usize::try_from(caps.memory_limit).unwrap_or(usize::MAX);
    let state = State {
        name: Arc::clone(name),
        caps: Arc::clone(caps),
        ctx,
        shared,
        limiter: MemoryLimiter {
            limit,
            refused: None,
        },
        deadline: None,
        timed_out: false,
        wasi,
        table: ResourceTable::new(),
    };
    let mut store = Store::new(host.engine(), state);
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
    match code.pre.instantiate(&mut store).await {
        Ok(exports) => Ok(Live { store, exports }),
        Err(error) => Err(classify("instantiate", &store, error)),
    }
}

/// The WASI context of the manifest's grants: the granted variables, stdio, directories.
fn wasi_ctx(module: &str, code: &Code) -> Result<WasiCtx, HookError> {
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
    // The folders resolved (symlinks followed) and checked against the module folder and
    // the operator's grants when the code was loaded.
    for dir in &code.dirs {
        let made;
        let host_path = if dir.source == DirSource::Data {
            made = make_data_folder(module, &dir.host)?;
            &made
        } else {
            &dir.host
        };
        let perms = if dir.write {
            FsPerms::ReadWrite
        } else {
            FsPerms::ReadOnly
        };
        builder
            .preopened_dir(host_path, &dir.guest, perms)
            .map_err(|e| HookError::Grant {
                module: module.to_owned(),
                reason: format!(
                    "cannot open granted directory {}: {e:#}",
                    host_path.display()
                ),
            })?;
    }
    Ok(builder.build())
}

/// Names what ended a call with a trap: the time limit, a refused memory growth, or a
/// trap of the guest's own.
pub(super) fn classify(
    hook: &'static str,
    store: &Store<State>,
    error: wasmtime::Error,
) -> HookError {
    let state = store.data();
    let caps = &state.caps;
    let module = state.name.to_string();
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
