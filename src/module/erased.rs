//! Type erasure: how the manager holds async and blocking modules side by side.
//!
//! Erasure happens once per operation on a module, not once per hook: each module type
//! gets its own copy of the hook runner, and the manager sees one boxed future that runs a
//! whole chain of hooks (`bootstrap → install → start`).

use std::any::{Any, TypeId};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::config::Config;
use crate::context::Context;
use crate::lifecycle::{Hook, HookResult};
use crate::manager::runner::{self, Job, Run};
use crate::module::{Module, SyncModule};

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Calls one hook of a module, without boxing.
pub(crate) trait CallHook: Send + Sync + 'static {
    /// Runs `hook`; `config` is used by `install` only.
    fn call<'a>(
        &'a self,
        hook: Hook,
        ctx: &'a Context,
        config: &'a Config,
    ) -> impl Future<Output = HookResult> + Send + 'a;
}

/// A module behind one object-safe entry point: run a job (a chain of hooks).
pub(crate) trait ErasedModule: Send + Sync + 'static {
    fn drive(self: Arc<Self>, job: Job) -> BoxFuture<'static, Run>;
}

impl<C: CallHook> ErasedModule for C {
    fn drive(self: Arc<Self>, job: Job) -> BoxFuture<'static, Run> {
        Box::pin(async move { runner::drive(&*self, job).await })
    }
}

/// A registered module: its driver, and the same instance as `Any` for typed access.
pub(crate) struct ModuleObject {
    pub(crate) driver: Arc<dyn ErasedModule>,
    pub(crate) instance: Arc<dyn Any + Send + Sync>,
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
}

impl ModuleObject {
    pub(crate) fn from_async<M: Module>(module: M) -> Self {
        let module = Arc::new(module);
        Self::new(Arc::new(Async(Arc::clone(&module))), module)
    }

    pub(crate) fn from_sync<M: SyncModule>(module: M) -> Self {
        let module = Arc::new(module);
        Self::new(Arc::new(Blocking(Arc::clone(&module))), module)
    }

    fn new<M: Send + Sync + 'static>(driver: Arc<dyn ErasedModule>, module: Arc<M>) -> Self {
        Self {
            driver,
            instance: module,
            type_id: TypeId::of::<M>(),
            type_name: std::any::type_name::<M>(),
        }
    }
}

struct Async<M>(Arc<M>);

impl<M: Module> CallHook for Async<M> {
    fn call<'a>(
        &'a self,
        hook: Hook,
        ctx: &'a Context,
        config: &'a Config,
    ) -> impl Future<Output = HookResult> + Send + 'a {
        let module = &*self.0;
        async move {
            match hook {
                Hook::Bootstrap => module.bootstrap(ctx).await,
                Hook::Install => module.install(ctx, config.clone()).await,
                Hook::Start => module.start(ctx).await,
                Hook::Stop => module.stop(ctx).await,
                Hook::Uninstall => module.uninstall(ctx).await,
                Hook::Reload => module.reload(ctx).await,
            }
        }
    }
}

struct Blocking<M>(Arc<M>);

impl<M: SyncModule> CallHook for Blocking<M> {
    fn call<'a>(
        &'a self,
        hook: Hook,
        ctx: &'a Context,
        config: &'a Config,
    ) -> impl Future<Output = HookResult> + Send + 'a {
        let module = Arc::clone(&self.0);
        let ctx = ctx.clone();
        let config = config.clone();
        async move {
            let joined = tokio::task::spawn_blocking(move || match hook {
                Hook::Bootstrap => module.bootstrap(&ctx),
                Hook::Install => module.install(&ctx, config),
                Hook::Start => module.start(&ctx),
                Hook::Stop => module.stop(&ctx),
                Hook::Uninstall => module.uninstall(&ctx),
                Hook::Reload => module.reload(&ctx),
            })
            .await;
            match joined {
                Ok(result) => result,
                // Re-raise the hook's panic here, where the runner catches and reports it
                // like any other panicking hook.
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(error) => Err(error.into()),
            }
        }
    }
}
