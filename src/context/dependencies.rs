//! What a module reaches through its context besides itself: its declared dependencies (by
//! type, by name, or as an interface they provide) and the state `start` hands the manager.

use std::any::{Any, TypeId};
use std::sync::Arc;

use super::Context;
use crate::error::Error;
use crate::manager::entry::Entry;

impl Context {
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
        self.try_get::<T>().ok_or_else(|| {
            let declared: Vec<String> = self
                .shared
                .graph
                .resolution
                .declared_dependencies_of(self.id)
                .iter()
                .map(|edge| &self.shared.graph.entries[edge.target])
                .map(|entry| format!("{:?} is a `{}`", entry.name, entry.object.type_name))
                .collect();
            // A registered module of that type that was not declared: say so.
            let registered = self
                .shared
                .graph
                .entries
                .iter()
                .any(|entry| entry.object.type_id == TypeId::of::<T>());
            if declared.is_empty() || registered {
                Error::UndeclaredDependency {
                    module: self.name().to_owned(),
                    requested: format!("a module of type `{}`", std::any::type_name::<T>()),
                }
            } else {
                Error::NoDependencyOfType {
                    module: self.name().to_owned(),
                    requested: std::any::type_name::<T>(),
                    declared: declared.join(", "),
                }
            }
        })
    }

    /// The declared dependency called `name`, as the interface `T` it was registered as
    /// providing (see [`ModuleManagerBuilder::provides`](crate::ModuleManagerBuilder::provides)),
    /// usually a `dyn Trait`: whatever type implements the trait can stand behind the name,
    /// a test's fake as well as the real module.
    ///
    /// Fails with [`Error::UndeclaredDependency`] when `name` is not declared,
    /// [`Error::DependencyAbsent`] when it is optional and not registered,
    /// [`Error::DependencyType`] when it is registered without providing `T` (the error
    /// names the type it is registered as), and [`Error::NotRunningState`] when it provides
    /// `T` from its running state
    /// ([`provides_running`](crate::ModuleManagerBuilder::provides_running)) and has none:
    /// before its `start` handed it over, or after its stop.
    pub fn get_dyn<T: ?Sized + Send + Sync + 'static>(&self, name: &str) -> Result<Arc<T>, Error> {
        let entry = self.declared(name)?;
        if let Some(interface) = entry.interfaces.iter().find(|i| i.is::<T>()) {
            // Only an interface made of the running state can be missing.
            return interface
                .get::<T>(|| entry.running())
                .ok_or_else(|| Error::NotRunningState {
                    module: self.name().to_owned(),
                    dependency: name.to_owned(),
                    requested: std::any::type_name::<T>(),
                });
        }
        Err(Error::DependencyType {
            module: self.name().to_owned(),
            dependency: name.to_owned(),
            requested: std::any::type_name::<T>(),
            actual: entry.object.type_name,
        })
    }

    /// Hands the manager what `start` built — a pool, a server's address, a channel —
    /// so that `stop` and the module's dependents get it back with
    /// [`running`](Self::running) and [`running_of`](Self::running_of), with no
    /// `Mutex<Option<_>>` in the module. The manager keeps it until the stop hook has run
    /// (or the start failed), then drops it. A second call replaces the first. Returns it,
    /// shared.
    ///
    /// Pair it with owned tasks: what the tasks use goes in the state, the tasks
    /// themselves are spawned with [`spawn`](Self::spawn) and joined by the manager.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use symphra::prelude::*;
    ///
    /// struct Pool { size: usize }
    ///
    /// struct Db;
    /// impl Module for Db {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("db") }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         ctx.set_running(Pool { size: 4 });
    ///         Ok(())
    ///     }
    ///     async fn stop(&self, ctx: &Context) -> HookResult {
    ///         let pool: Arc<Pool> = ctx.running().ok_or("started without a pool")?;
    ///         assert_eq!(pool.size, 4); // close it here
    ///         Ok(())
    ///     }
    /// }
    ///
    /// struct Api;
    /// impl Module for Api {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("api").depends_on("db") }
    ///     async fn start(&self, ctx: &Context) -> HookResult {
    ///         let pool = ctx.running_of::<Pool>("db")?;
    ///         assert_eq!(pool.size, 4);
    ///         Ok(())
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let manager = ModuleManager::builder().module(Db).module(Api).build()?;
    /// manager.start_all().await?;
    /// manager.stop_all().await?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_running<T: Any + Send + Sync>(&self, state: T) -> Arc<T> {
        let state = Arc::new(state);
        self.entry()
            .set_running(Arc::clone(&state) as Arc<dyn Any + Send + Sync>);
        state
    }

    /// What this module's `start` handed over with [`set_running`](Self::set_running),
    /// as a `T`; `None` when it handed nothing over, or something else.
    pub fn running<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.entry().running()?.downcast::<T>().ok()
    }

    /// What the declared dependency `name` handed over from its `start`, as a `T`.
    ///
    /// Fails like [`get_named`](Self::get_named) for a name that is not declared or not
    /// registered, and with [`Error::NotRunningState`] when the dependency handed nothing
    /// over, or something other than a `T`.
    pub fn running_of<T: Any + Send + Sync>(&self, name: &str) -> Result<Arc<T>, Error> {
        let entry = self.declared(name)?;
        entry
            .running()
            .and_then(|state| state.downcast::<T>().ok())
            .ok_or_else(|| Error::NotRunningState {
                module: self.name().to_owned(),
                dependency: name.to_owned(),
                requested: std::any::type_name::<T>(),
            })
    }

    /// The declared, registered dependency called `name`.
    fn declared(&self, name: &str) -> Result<&Entry, Error> {
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
        self.shared
            .graph
            .resolution
            .declared_dependencies_of(self.id)
            .iter()
            .map(|edge| &*self.shared.graph.entries[edge.target])
            .find(|entry| &*entry.name == name)
            .ok_or_else(|| Error::DependencyAbsent {
                module: self.name().to_owned(),
                dependency: name.to_owned(),
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
        let entry = self.declared(name)?;
        let object = &entry.object;
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
