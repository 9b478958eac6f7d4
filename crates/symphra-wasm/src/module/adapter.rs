//! [`WasmModule`] as a [`symphra::Module`]: every hook the manager runs goes through one
//! function, [`WasmModule::forward`].
//!
//! The trait's hooks have no-op defaults, so a hook left unimplemented would compile and do
//! nothing. Here the trait methods are generated from one list, and the same list must make
//! an exhaustive `match` over [`Hook`]: leaving a hook out of the list, or a hook added to
//! `symphra::Hook` later, is a compile error.

use symphra::{Config, Context, Hook, HookResult, ModuleMetadata};

use super::WasmModule;
use crate::error::HookError;

impl WasmModule {
    /// Runs `hook` for the manager: the one path from a lifecycle hook to the guest.
    /// `config` is the JSON configuration for `install`, empty for the other hooks.
    async fn forward(&self, hook: Hook, ctx: &Context, config: &str) -> Result<(), HookError> {
        let shared = &self.shared;
        match hook {
            Hook::Bootstrap => self.bootstrap_fresh(ctx).await,
            Hook::Install => {
                if shared.live.lock().await.is_none() {
                    // A reload (or an earlier trap) dropped the instance: start a fresh
                    // one, with its own `bootstrap`, before installing it.
                    self.bootstrap_fresh(ctx).await?;
                }
                shared.call(hook, config, Some(ctx)).await
            }
            Hook::Stop => {
                let result = match shared.call(hook, config, Some(ctx)).await {
                    // A trap dropped the instance, and with it all the guest held (its
                    // store is its whole world): there is nothing left to stop. Failing
                    // here would leave a module that failed while running `Failed` instead
                    // of stopped, and supervision could not restart it.
                    Err(HookError::NoInstance { .. }) => {
                        tracing::debug!(module = %self.name(), "stop: no instance left to stop");
                        Ok(())
                    }
                    other => other,
                };
                // Events queued for a stopped guest are not delivered.
                shared.inbox.clear();
                result
            }
            Hook::Start => {
                if shared.live.lock().await.is_none() {
                    // A trap dropped the instance (a failure while running, or a failed
                    // start): a restart begins with a fresh one, as after loading, since
                    // what `install` set up went with the old store.
                    tracing::debug!(module = %self.name(), "start: instantiating anew");
                    self.bootstrap_fresh(ctx).await?;
                    let config = ctx.config().as_value().to_string();
                    shared.call(Hook::Install, &config, Some(ctx)).await?;
                }
                shared.call(hook, config, Some(ctx)).await
            }
            Hook::Uninstall | Hook::Reload => shared.call(hook, config, Some(ctx)).await,
        }
    }

    /// [`forward`](Self::forward) in a task of its own: when the manager abandons the hook
    /// (its time limit), the guest call is not cut off mid-way, which would leave the
    /// instance unusable; it runs on to the guest's own limit and ends cleanly.
    async fn forward_in_task(
        &self,
        hook: Hook,
        ctx: &Context,
        config: String,
    ) -> Result<(), HookError> {
        let module = self.clone();
        let ctx = ctx.clone();
        let task = tokio::spawn(async move { module.forward(hook, &ctx, &config).await });
        task.await.unwrap_or_else(|error| {
            Err(HookError::Trap {
                module: self.name().to_owned(),
                hook: hook.as_str(),
                detail: format!("the hook's task ended abnormally: {error}"),
            })
        })
    }

    /// A fresh instance, then its `bootstrap` export.
    async fn bootstrap_fresh(&self, ctx: &Context) -> Result<(), HookError> {
        let live = self.shared.instantiate(Some(ctx.clone())).await?;
        *self.shared.live.lock().await = Some(live);
        self.shared.call(Hook::Bootstrap, "", Some(ctx)).await
    }
}

fn boxed(error: HookError) -> symphra::BoxError {
    Box::new(error)
}

/// Implements [`symphra::Module`] with one trait method per listed hook, each forwarding
/// to [`WasmModule::forward`], and checks with an exhaustive `match` that the list names
/// every [`Hook`]. A method given `(config)` receives the configuration (as JSON).
macro_rules! forward_every_hook {
    ($($hook:ident => $method:ident $(($config:ident))?),+ $(,)?) => {
        impl symphra::Module for WasmModule {
            fn metadata(&self) -> ModuleMetadata {
                self.shared.code().manifest.metadata()
            }

            /// Runs only when the manifest declares `[health] interval` (the core's
            /// schedule); loading made sure the component exports `health`.
            async fn health(&self, ctx: &Context) -> symphra::health::Health {
                self.health_in_task(ctx).await
            }

            $(
                async fn $method(&self, ctx: &Context $(, $config: Config)?) -> HookResult {
                    let config = forward_every_hook!(@json $($config)?);
                    self.forward_in_task(Hook::$hook, ctx, config).await.map_err(boxed)
                }
            )+
        }

        /// Does not compile unless every hook is in the list above.
        const _: fn(Hook) = |hook| match hook {
            $(Hook::$hook => {})+
        };
    };
    (@json $config:ident) => { $config.as_value().to_string() };
    (@json) => { String::new() };
}

forward_every_hook! {
    Bootstrap => bootstrap,
    Install => install(config),
    Start => start,
    Stop => stop,
    Uninstall => uninstall,
    Reload => reload,
}
