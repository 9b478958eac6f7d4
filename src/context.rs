//! What a hook can reach: its own module's name and configuration, its declared
//! dependencies, and the manager.

use std::any::{Any, TypeId};
use std::fmt;
use std::sync::Arc;

use crate::bus::{BusError, DeliveryReport, Event, EventBus, HandlerResult, SubscribeOptions};
use crate::config::Config;
use crate::error::Error;
use crate::manager::entry::Entry;
use crate::manager::operation::OperationScope;
use crate::manager::{Inner, ModuleManager};
use crate::module::ModuleMetadata;

/// Given to every hook: the module's own name and configuration, typed access to the
/// modules it declared as dependencies, and the manager.
///
/// Cheap to clone; a clone can be moved into a spawned task.
#[derive(Clone)]
pub struct Context {
    shared: Arc<OperationScope>,
    id: usize,
}

impl Context {
    pub(crate) fn new(shared: Arc<OperationScope>, id: usize) -> Self {
        Self { shared, id }
    }

    /// The module this context belongs to.
    pub(crate) fn entry(&self) -> &Entry {
        &self.shared.graph.entries[self.id]
    }

    /// What the contexts of this operation share.
    pub(crate) fn operation(&self) -> &OperationScope {
        &self.shared
    }

    /// The module's index in the graph.
    pub(crate) fn id(&self) -> usize {
        self.id
    }

    /// Makes this the context of module `id` of the same operation: the scheduler reuses
    /// the context of a finished job rather than counting a new reference per module.
    pub(crate) fn reassign(&mut self, id: usize) {
        self.id = id;
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.shared.inner
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.shared.graph.entries[self.id].name
    }

    /// The module's metadata.
    pub fn metadata(&self) -> &ModuleMetadata {
        &self.shared.graph.entries[self.id].metadata
    }

    /// The configuration the module was installed with (empty before `install`).
    pub fn config(&self) -> Config {
        self.shared.graph.entries[self.id].installed_config()
    }

    /// The event bus the application's modules share.
    pub fn bus(&self) -> &EventBus {
        &self.shared.inner.bus
    }

    /// Publishes `payload` on `topic` with this module as the source, and waits for every
    /// matching handler.
    pub async fn publish<T: Send + Sync + 'static>(
        &self,
        topic: &str,
        payload: T,
    ) -> Result<DeliveryReport, BusError> {
        let event = Event::new(topic, payload)?
            .with_source(Arc::clone(&self.shared.graph.entries[self.id].name));
        Ok(self.shared.inner.bus.publish_event(event).await)
    }

    /// Subscribes a handler for as long as the module runs: the subscription is removed
    /// when the module stops (or fails to start), so a stopped module never receives
    /// events. Use [`bus`](Self::bus) for a subscription that outlives the module.
    pub fn subscribe<F, R>(&self, pattern: &str, handler: F) -> Result<(), BusError>
    where
        F: Fn(&Event) -> R + Send + Sync + 'static,
        R: HandlerResult,
    {
        let options = self.module_subscription();
        self.shared
            .inner
            .bus
            .subscribe_with(pattern, options, handler)?
            .detach();
        Ok(())
    }

    /// Like [`subscribe`](Self::subscribe), with an async handler.
    pub fn subscribe_async<F, Fut>(&self, pattern: &str, handler: F) -> Result<(), BusError>
    where
        F: Fn(Event) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: HandlerResult,
    {
        let options = self.module_subscription();
        self.shared
            .inner
            .bus
            .subscribe_async_with(pattern, options, handler)?
            .detach();
        Ok(())
    }

    fn module_subscription(&self) -> SubscribeOptions {
        let entry = &self.shared.graph.entries[self.id];
        entry
            .subscribed
            .store(true, std::sync::atomic::Ordering::Release);
        SubscribeOptions::new().tag(entry.subscription_tag())
    }

    /// The manager running this module. Lifecycle operations called on it from inside a
    /// hook are refused with [`Error::Reentrant`]; spawn a task to call them.
    pub fn manager(&self) -> ModuleManager {
        ModuleManager::from_inner(Arc::clone(&self.shared.inner))
    }

    /// The declared dependency whose Rust type is `T`, shared.
    ///
    /// Fails with [`Error::UndeclaredDependency`] when no declared, registered dependency
    /// has that type: a module may use only what it declared.
    ///
    /// ```
    /// # use symphra::prelude::*;
    /// # #[derive(Default)] struct Database;
    /// # impl Module for Database { fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("database") } }
    /// # impl Database { async fn query(&self) -> u32 { 1 } }
    /// struct Users;
    /// impl Module for Users {
    ///     fn metadata(&self) -> ModuleMetadata {
    ///         ModuleMetadata::new("users").depends_on("database")
    ///     }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         let db = ctx.get::<Database>()?;
    ///         assert_eq!(db.query().await, 1);
    ///         Ok(())
    ///     }
    /// }
    /// ```
    pub fn get<T: Any + Send + Sync>(&self) -> Result<Arc<T>, Error> {
        self.try_get::<T>()
            .ok_or_else(|| Error::UndeclaredDependency {
                module: self.name().to_owned(),
                requested: format!("a module of type `{}`", std::any::type_name::<T>()),
            })
    }

    /// Like [`get`](Self::get), but `None` when no declared dependency of type `T` is
    /// registered — the way to use an optional dependency.
    pub fn try_get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        let wanted = TypeId::of::<T>();
        self.shared
            .graph
            .resolution
            .declared_dependencies_of(self.id)
            .iter()
            .map(|edge| &self.shared.graph.entries[edge.target])
            .find(|entry| entry.object.type_id == wanted)
            .and_then(|entry| Arc::clone(&entry.object.instance).downcast::<T>().ok())
    }

    /// The declared dependency called `name`, as type `T`.
    pub fn get_named<T: Any + Send + Sync>(&self, name: &str) -> Result<Arc<T>, Error> {
        let declared = self
            .metadata()
            .dependencies()
            .iter()
            .any(|dependency| dependency.name() == name);
        if !declared {
            return Err(Error::UndeclaredDependency {
                module: self.name().to_owned(),
                requested: format!("{name:?}"),
            });
        }
        let Some(edge) = self
            .shared
            .graph
            .resolution
            .declared_dependencies_of(self.id)
            .iter()
            .find(|edge| &*self.shared.graph.entries[edge.target].name == name)
        else {
            return Err(Error::DependencyAbsent {
                module: self.name().to_owned(),
                dependency: name.to_owned(),
            });
        };
        let object = &self.shared.graph.entries[edge.target].object;
        Arc::clone(&object.instance)
            .downcast::<T>()
            .map_err(|_| Error::DependencyType {
                module: self.name().to_owned(),
                dependency: name.to_owned(),
                requested: std::any::type_name::<T>(),
                actual: object.type_name,
            })
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("module", &self.name())
            .finish_non_exhaustive()
    }
}
