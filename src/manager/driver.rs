//! The driver: how the manager holds async and blocking modules side by side, and runs
//! a job's hooks on each.
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
use crate::health::Health;
use crate::lifecycle::{Hook, HookResult};
use crate::manager::runner::{self, Job, Run};
use crate::module::{Module, SyncModule};

/// A boxed, sendable future.
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Calls one hook of a module, without boxing.
pub(crate) trait CallHook: Send + Sync {
    /// Runs `hook`; `config` is used by `install` only.
    fn call<'a>(
        &'a self,
        hook: Hook,
        ctx: &'a Context,
        config: &'a Config,
    ) -> impl Future<Output = HookResult> + Send + 'a;
}

/// A registered module, shared: typed access downcasts it, and a job borrows it.
pub(crate) type Instance = Arc<dyn Any + Send + Sync>;

/// Runs a job (a chain of hooks) on an [`Instance`] of one module type.
type DriveFn = for<'a> fn(&'a Instance, Job) -> BoxFuture<'a, Run>;

/// Runs the `health` hook of an [`Instance`] of one module type.
type CheckFn = fn(&Instance, Context) -> BoxFuture<'static, Health>;

/// A registered module: the instance, and the function that runs its hooks.
///
/// The driver is a plain function, one per module type, rather than an object: running a
/// job touches no memory but the module's own, and only if its hooks do.
#[repr(C)]
pub(crate) struct ModuleObject {
    drive: DriveFn,
    pub(crate) instance: Instance,
    pub(crate) type_id: TypeId,
    pub(crate) type_name: &'static str,
    check: CheckFn,
}

impl ModuleObject {
    pub(crate) fn from_async<M: Module>(module: M) -> Self {
        Self::new::<M>(Arc::new(module), drive_async::<M>, check_async::<M>)
    }

    pub(crate) fn from_sync<M: SyncModule>(module: M) -> Self {
        Self::new::<M>(Arc::new(module), drive_blocking::<M>, check_blocking::<M>)
    }

    fn new<M: Send + Sync + 'static>(instance: Instance, drive: DriveFn, check: CheckFn) -> Self {
        Self {
            drive,
            instance,
            type_id: TypeId::of::<M>(),
            type_name: std::any::type_name::<M>(),
            check,
        }
    }

    /// Runs the module's `health` hook with `ctx`.
    pub(crate) fn check(&self, ctx: Context) -> BoxFuture<'static, Health> {
        (self.check)(&self.instance, ctx)
    }

    /// Runs `job` on this module.
    pub(crate) fn drive(&self, job: Job) -> BoxFuture<'_, Run> {
        (self.drive)(&self.instance, job)
    }
}

fn drive_async<M: Module>(instance: &Instance, job: Job) -> BoxFuture<'_, Run> {
    match instance.downcast_ref::<M>() {
        Some(module) => Box::pin(runner::drive(Async(module), job)),
        None => mismatch::<M>(job),
    }
}

fn drive_blocking<M: SyncModule>(instance: &Instance, job: Job) -> BoxFuture<'_, Run> {
    match Arc::clone(instance).downcast::<M>() {
        Ok(module) => Box::pin(runner::drive(Blocking(module), job)),
        Err(_) => mismatch::<M>(job),
    }
}

fn check_async<M: Module>(instance: &Instance, ctx: Context) -> BoxFuture<'static, Health> {
    match Arc::clone(instance).downcast::<M>() {
        Ok(module) => Box::pin(async move { module.health(&ctx).await }),
        Err(_) => check_mismatch::<M>(),
    }
}

fn check_blocking<M: SyncModule>(instance: &Instance, ctx: Context) -> BoxFuture<'static, Health> {
    let Ok(module) = Arc::clone(instance).downcast::<M>() else {
        return check_mismatch::<M>();
    };
    Box::pin(async move {
        match tokio::task::spawn_blocking(move || module.health(&ctx)).await {
            Ok(health) => health,
            Err(error) => Health::unhealthy(format!("the health check panicked: {error}")),
        }
    })
}

/// Cannot happen, as for [`mismatch`]; reported as unhealthy.
#[cold]
fn check_mismatch<M>() -> BoxFuture<'static, Health> {
    let why = format!(
        "internal error: the module is not a {}",
        std::any::type_name::<M>()
    );
    Box::pin(std::future::ready(Health::unhealthy(why)))
}

/// A [`ModuleObject`] pairs an instance with the driver of its own type, so this cannot
/// happen; it is reported as a failed job rather than a panic all the same.
#[cold]
fn mismatch<M>(job: Job) -> BoxFuture<'static, Run> {
    let why = format!(
        "internal error: the module is not a {}",
        std::any::type_name::<M>()
    );
    Box::pin(std::future::ready(runner::refuse(job, why)))
}

/// An async module, borrowed for the length of a job.
struct Async<'m, M>(&'m M);

impl<M: Module> CallHook for Async<'_, M> {
    fn call<'a>(
        &'a self,
        hook: Hook,
        ctx: &'a Context,
        config: &'a Config,
    ) -> impl Future<Output = HookResult> + Send + 'a {
        let module = self.0;
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

/// A blocking module, shared with the blocking threads its hooks run on.
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
