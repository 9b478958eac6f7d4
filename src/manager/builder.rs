//! Building a manager: modules, configurations, and settings.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use serde_json::Value;

use crate::bus::EventBus;
use crate::error::Error;
use crate::lifecycle::Hook;
use crate::manager::driver::ModuleObject;
use crate::manager::entry::Entry;
use crate::manager::graph::Graph;
use crate::manager::interface::Interface;
use crate::manager::options::Options;
use crate::manager::persistence::Persistence;
use crate::manager::{Inner, ModuleManager};
use crate::module::{Module, SyncModule};
use crate::state::StateStore;
use crate::supervision::Escalation;

/// Collects modules and settings for a [`ModuleManager`].
///
/// ```
/// use std::time::Duration;
/// use symphra::prelude::*;
///
/// struct Cache;
/// impl Module for Cache {
///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("cache") }
/// }
///
/// let manager = ModuleManager::builder()
///     .module(Cache)
///     .config("cache", serde_json::json!({ "capacity": 1024 }))
///     .max_concurrency(8)
///     .hook_timeout(Duration::from_secs(10))
///     .shutdown_timeout(Duration::from_secs(5))
///     .build()?;
/// assert_eq!(manager.handles().len(), 1);
/// # Ok::<(), symphra::Error>(())
/// ```
#[derive(Default)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct ModuleManagerBuilder {
    entries: Vec<Arc<Entry>>,
    /// The entries' names, collected as they register, while each entry is in cache.
    names: Vec<Arc<str>>,
    configs: HashMap<String, Value>,
    options: Options,
    bus: Option<EventBus>,
    store: Option<Arc<dyn StateStore>>,
    /// The first mistake made while building (a `.provides(..)` that does not fit),
    /// returned by `build`.
    refused: Option<Error>,
    /// Boxed: most applications give none.
    #[cfg(feature = "layered-config")]
    layers: Option<Box<crate::config::Layers>>,
}

impl std::fmt::Debug for ModuleManagerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModuleManagerBuilder")
            .field("modules", &self.names)
            .field("options", &self.options)
            .field("state_store", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// The module's metadata, with its Rust type as its origin unless it names one.
fn with_origin<M>(metadata: crate::module::ModuleMetadata) -> crate::module::ModuleMetadata {
    if metadata.get_origin().is_some() {
        return metadata;
    }
    metadata.origin(std::any::type_name::<M>())
}

impl ModuleManagerBuilder {
    /// Registers a module with async hooks.
    pub fn module<M: Module>(self, module: M) -> Self {
        let metadata = with_origin::<M>(module.metadata());
        self.register(Entry::new(metadata, ModuleObject::from_async(module)))
    }

    /// Registers a module with blocking hooks; they run on tokio's blocking pool.
    pub fn sync_module<M: SyncModule>(self, module: M) -> Self {
        let metadata = with_origin::<M>(module.metadata());
        self.register(Entry::new(metadata, ModuleObject::from_sync(module)))
    }

    /// Registers the module registered last as providing the interface `T` (usually a
    /// `dyn Trait`): `cast` turns the module into one. A dependent then asks for it by
    /// dependency name with [`Context::get_dyn`](crate::Context::get_dyn), so that a test
    /// can register any type implementing the trait under that name.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use symphra::prelude::*;
    ///
    /// trait UserStore: Send + Sync {
    ///     fn count(&self) -> usize;
    /// }
    ///
    /// struct Db;
    /// impl UserStore for Db {
    ///     fn count(&self) -> usize { 2 }
    /// }
    /// impl Module for Db {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("db") }
    /// }
    ///
    /// struct Api;
    /// impl Module for Api {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("api").depends_on("db") }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         let store = ctx.get_dyn::<dyn UserStore>("db")?;
    ///         assert_eq!(store.count(), 2);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let manager = ModuleManager::builder()
    ///     .module(Db)
    ///     .provides(|db: Arc<Db>| -> Arc<dyn UserStore> { db })
    ///     .module(Api)
    ///     .build()?;
    /// manager.start_all().await?;
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// When the module registered last is not an `M`, `build` fails naming both types.
    pub fn provides<M, T>(mut self, cast: impl FnOnce(Arc<M>) -> Arc<T>) -> Self
    where
        M: Send + Sync + 'static,
        T: ?Sized + Send + Sync + 'static,
    {
        let Some(last) = self.entries.last_mut() else {
            self.refused.get_or_insert(Error::ProvidesWithoutModule {
                interface: std::any::type_name::<T>(),
            });
            return self;
        };
        let Ok(module) = Arc::clone(&last.object.instance).downcast::<M>() else {
            let mismatch = Error::ProvidesMismatch {
                module: last.name.to_string(),
                registered: last.object.type_name,
                cast_from: std::any::type_name::<M>(),
            };
            self.refused.get_or_insert(mismatch);
            return self;
        };
        // Only the builder holds the entry until `build`: it can still be changed.
        match Arc::get_mut(last) {
            Some(entry) => entry.interfaces.push(Interface::new(cast(module))),
            None => unreachable!("the builder holds the only reference to an entry before build"),
        }
        self
    }

    /// Registers the module registered last as providing the interface `T` made of what
    /// its `start` hands over ([`Context::set_running`](crate::Context::set_running)) when
    /// that is an `S`: for a module whose service — a connection pool, a client — exists
    /// only once it has started. Dependents ask for it with
    /// [`Context::get_dyn`](crate::Context::get_dyn) as for [`provides`](Self::provides);
    /// before the start has handed an `S` over, or after the stop, they get
    /// [`Error::NotRunningState`].
    ///
    /// ```
    /// use std::sync::Arc;
    /// use symphra::prelude::*;
    ///
    /// trait UserStore: Send + Sync {
    ///     fn count(&self) -> usize;
    /// }
    ///
    /// struct Pool(usize); // opened by the module's start
    /// impl UserStore for Pool {
    ///     fn count(&self) -> usize { self.0 }
    /// }
    ///
    /// struct Db;
    /// impl Module for Db {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("db") }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         ctx.set_running(Pool(2));
    ///         Ok(())
    ///     }
    /// }
    ///
    /// struct Api;
    /// impl Module for Api {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("api").depends_on("db") }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         assert_eq!(ctx.get_dyn::<dyn UserStore>("db")?.count(), 2);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let manager = ModuleManager::builder()
    ///     .module(Db)
    ///     .provides_running(|pool: Arc<Pool>| -> Arc<dyn UserStore> { pool })
    ///     .module(Api)
    ///     .build()?;
    /// manager.start_all().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn provides_running<S, T>(
        mut self,
        cast: impl Fn(Arc<S>) -> Arc<T> + Send + Sync + 'static,
    ) -> Self
    where
        S: Send + Sync + 'static,
        T: ?Sized + Send + Sync + 'static,
    {
        let Some(last) = self.entries.last_mut() else {
            self.refused.get_or_insert(Error::ProvidesWithoutModule {
                interface: std::any::type_name::<T>(),
            });
            return self;
        };
        // Only the builder holds the entry until `build`: it can still be changed.
        match Arc::get_mut(last) {
            Some(entry) => entry.interfaces.push(Interface::from_running(cast)),
            None => unreachable!("the builder holds the only reference to an entry before build"),
        }
        self
    }

    fn register(mut self, entry: Entry) -> Self {
        self.names.push(Arc::clone(&entry.name));
        self.entries.push(Arc::new(entry));
        self
    }

    /// Gives module `name` its configuration. Top-level keys override the module's default
    /// configuration; the result is checked against the module's schema before `install`.
    pub fn config(mut self, name: impl Into<String>, config: Value) -> Self {
        self.configs.insert(name.into(), config);
        self
    }

    /// Configures the modules from `layers` — their defaults, then files, then the
    /// environment, merged deeply — when the manager is built. A configuration given with
    /// [`config`](Self::config) is laid over the layers' for its module. `build` fails with
    /// every layer's problems at once ([`Error::Layers`]), each naming its layer and key.
    ///
    /// ```
    /// use symphra::config::Layers;
    /// use symphra::prelude::*;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Http {
    ///     port: u16,
    /// }
    ///
    /// struct Api;
    /// impl Module for Api {
    ///     fn metadata(&self) -> ModuleMetadata {
    ///         ModuleMetadata::new("api").config_type::<Http>()
    ///     }
    /// }
    ///
    /// let manager = ModuleManager::builder()
    ///     .module(Api)
    ///     .layers(Layers::new("APP").toml("[api]\nport = 80").env_vars([("APP__API__PORT", "8080")]))
    ///     .build()?;
    /// # Ok::<(), symphra::Error>(())
    /// ```
    #[cfg(feature = "layered-config")]
    pub fn layers(mut self, layers: crate::config::Layers) -> Self {
        self.layers = Some(Box::new(layers));
        self
    }

    /// At most `limit` modules run hooks at once in `start_all` and `stop_all` (at least 1).
    /// Unlimited by default.
    pub fn max_concurrency(mut self, limit: usize) -> Self {
        self.options.max_concurrency = limit.max(1);
        self
    }

    /// The time limit of every hook ([`DEFAULT_HOOK_TIMEOUT`](crate::manager::DEFAULT_HOOK_TIMEOUT)
    /// unless set). A hook past its limit is abandoned and its module is `Failed`.
    pub fn hook_timeout(mut self, limit: Duration) -> Self {
        self.options.timeouts = [Some(limit); Hook::ALL.len()];
        self
    }

    /// The time limit of one hook, overriding [`hook_timeout`](Self::hook_timeout); `None`
    /// for no limit.
    pub fn timeout(mut self, hook: Hook, limit: Option<Duration>) -> Self {
        self.options.timeouts[hook as usize] = limit;
        self
    }

    /// How long `stop_all` may take as a whole ([`DEFAULT_SHUTDOWN_TIMEOUT`](crate::manager::DEFAULT_SHUTDOWN_TIMEOUT)
    /// unless set). Stop hooks still running then are abandoned and reported.
    pub fn shutdown_timeout(mut self, limit: Duration) -> Self {
        self.options.shutdown_timeout = limit;
        self
    }

    /// When a module fails in `start_all`, start nothing more and stop, in reverse order,
    /// what was started. Off by default: independent modules keep starting.
    pub fn fail_fast(mut self, on: bool) -> Self {
        self.options.fail_fast = on;
        self
    }

    /// What happens when a module whose [restart policy](crate::module::ModuleMetadata::restart)
    /// restarts it has used up its restarts: [`Escalation::KeepRunning`] (the default)
    /// leaves it stopped and the rest running; [`Escalation::Shutdown`] raises
    /// [`ModuleManager::escalated`], which `run_until` answers by stopping everything and
    /// reporting failure. A module that is never restarted does not escalate.
    pub fn escalation(mut self, escalation: Escalation) -> Self {
        self.options.escalation = escalation;
        self
    }

    /// A poll of a hook or of an owned task that takes longer than `threshold` blocked
    /// the async runtime: it is logged (module, hook or task, duration) and counted
    /// ([`ModuleManager::metrics`], [`Report::blocked_polls`](crate::manager::Report::blocked_polls)).
    /// [`DEFAULT_BLOCKING_THRESHOLD`](crate::manager::DEFAULT_BLOCKING_THRESHOLD) unless set.
    pub fn blocking_threshold(mut self, threshold: Duration) -> Self {
        self.options.blocking_threshold = threshold;
        self
    }

    /// Uses `bus` for lifecycle events and for the modules' events (a new bus otherwise).
    pub fn bus(mut self, bus: EventBus) -> Self {
        self.bus = Some(bus);
        self
    }

    /// Remembers operators' decisions (disabled, ignored, stopped modules), installed
    /// configurations, started versions and failures in `store`. When built it restores
    /// the decisions and configurations: disabled modules stay down, a module an operator
    /// stopped stays stopped, and a module installs with its last configuration unless the
    /// application gives one. Versions and failures are only kept on record, for
    /// diagnostics ([`ModuleManager::state_store`](crate::ModuleManager::state_store)); they
    /// change nothing the manager does.
    pub fn state_store(mut self, store: impl StateStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Resolves the modules and builds the manager. Fails with every dependency and
    /// metadata problem at once ([`Error::Resolve`]).
    pub fn build(self) -> Result<ModuleManager, Error> {
        let Self {
            entries,
            names,
            mut configs,
            options,
            bus,
            store,
            refused,
            #[cfg(feature = "layered-config")]
            layers,
        } = self;
        if let Some(error) = refused {
            return Err(error);
        }
        #[cfg(feature = "layered-config")]
        if let Some(layers) = layers {
            layered(&layers, &entries, &mut configs)?;
        }
        // Hook panics are caught and reported; the process's panic hook need not print them.
        crate::util::install_quiet_panic_hook();
        // Most modules get no configuration here; skip hashing every name when none do.
        if !configs.is_empty() {
            for entry in &entries {
                if let Some(config) = configs.remove(&*entry.name) {
                    entry.set_configured(config);
                }
            }
        }
        if let Some(store) = &store {
            restore(store.as_ref(), &entries)?;
        }
        let graph = Graph::with_names(entries, names)?;
        if let Some(name) = configs.keys().next() {
            return Err(Error::UnknownModule { name: name.clone() });
        }
        Ok(ModuleManager::from_inner(Arc::new(Inner {
            graph: RwLock::new(Arc::new(graph)),
            bus: bus.unwrap_or_default(),
            listeners: Default::default(),
            persistence: store.map(Persistence::new),
            options,
            operations: tokio::sync::Mutex::new(()),
            clock_paused: OnceLock::new(),
            supervision: Default::default(),
            blocked_polls: Default::default(),
            signal_listeners: Default::default(),
        })))
    }
}

/// Lays the configurations `layers` give the modules of `entries` under those of
/// `configs`, the application's own.
#[cfg(feature = "layered-config")]
fn layered(
    layers: &crate::config::Layers,
    entries: &[Arc<Entry>],
    configs: &mut HashMap<String, Value>,
) -> Result<(), Error> {
    let resolved = layers.resolve(entries.iter().map(|entry| &entry.metadata))?;
    for variable in &resolved.unmatched_variables {
        tracing::warn!(variable = %variable, "the environment variable names no module; ignored");
    }
    for (name, value) in resolved.configs {
        let merged = match configs.remove(&name) {
            Some(own) => crate::config::Config::effective(Some(&value), Some(own))
                .map_or(value, |config| config.as_value().clone()),
            None => value,
        };
        configs.insert(name, merged);
    }
    Ok(())
}

/// Applies what `store` remembers to the modules about to be managed.
fn restore(store: &dyn StateStore, entries: &[Arc<Entry>]) -> Result<(), Error> {
    let mut records = store.all()?;
    for entry in entries {
        let Some(record) = records.remove(&*entry.name) else {
            continue;
        };
        entry.set_availability(record.availability);
        entry
            .held_stopped
            .store(record.held_stopped, std::sync::atomic::Ordering::Release);
        if !entry.is_configured()
            && let Some(config) = record.config
        {
            entry.set_configured(config);
        }
    }
    Ok(())
}
