//! A handle on one registered module, for inspection.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use semver::Version;

use crate::config::Config;
use crate::lifecycle::{HookFailure, ModuleState};
use crate::manager::entry::Entry;
use crate::manager::report::SkipReason;
use crate::manager::tasks;
use crate::module::ModuleMetadata;

/// A registered module, as seen from outside: name, version, state, metadata, and the
/// module itself. Cheap to clone; reads the live state each time.
#[derive(Clone)]
pub struct ModuleHandle {
    entry: Arc<Entry>,
}

impl ModuleHandle {
    pub(crate) fn new(entry: Arc<Entry>) -> Self {
        Self { entry }
    }

    /// The module's name.
    pub fn name(&self) -> &str {
        &self.entry.name
    }

    /// The module's version.
    pub fn version(&self) -> &Version {
        self.entry.metadata.get_version()
    }

    /// The module's metadata.
    pub fn metadata(&self) -> &ModuleMetadata {
        &self.entry.metadata
    }

    /// The module's state now. A module an operation skipped keeps the state it had
    /// (`Registered`, if it never ran): [`skipped`](Self::skipped) says that it was
    /// skipped, and why.
    pub fn state(&self) -> ModuleState {
        self.entry.current_state()
    }

    /// Why the last start or stop that concerned this module skipped it — a required
    /// dependency failed, an operator disabled it, fail-fast aborted the start — or `None`
    /// when it was not skipped. Kept until an operation does something else to it.
    ///
    /// ```
    /// use symphra::prelude::*;
    ///
    /// struct Db;
    /// impl Module for Db {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("db") }
    ///     async fn start(&self, _ctx: &Context) -> HookResult { Err("no database".into()) }
    /// }
    /// struct Api;
    /// impl Module for Api {
    ///     fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("api").depends_on("db") }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> symphra::Result<()> {
    /// let manager = ModuleManager::builder().module(Db).module(Api).build()?;
    /// assert!(manager.start_all().await.is_err());
    /// let api = manager.module("api")?;
    /// assert_eq!(api.state(), ModuleState::Registered);
    /// assert_eq!(
    ///     api.skipped(),
    ///     Some(SkipReason::DependencyFailed { failed: "db".into() })
    /// );
    /// # Ok(())
    /// # }
    /// ```
    pub fn skipped(&self) -> Option<SkipReason> {
        self.entry.skipped()
    }

    /// The last hook failure, if any (kept after the module recovers, until the next one).
    pub fn failure(&self) -> Option<HookFailure> {
        self.entry.failure()
    }

    /// Why the manager stopped this module on its own, if it did: `"dependency \"db\"
    /// failed"` for a module stopped because a module it requires failed while running,
    /// `"it failed: …"` for the failed module itself. Kept until the module starts again.
    pub fn stopped_because(&self) -> Option<String> {
        tasks::reason(&self.entry).map(|reason| reason.to_string())
    }

    /// What the module's `start` handed the manager with
    /// [`Context::set_running`](crate::Context::set_running), as a `T`, while it runs;
    /// `None` before it starts, after it stops, or when it handed over something else.
    pub fn running<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.entry.running()?.downcast::<T>().ok()
    }

    /// The lease a coordinator granted this [singleton](crate::ModuleMetadata::singleton)
    /// module, current or not; `None` when it holds none.
    pub fn lease(&self) -> Option<crate::context::Lease> {
        self.entry.lease()
    }

    /// The configuration the module was installed with.
    pub fn config(&self) -> Config {
        self.entry.installed_config()
    }

    /// The module itself, if it is a `T`.
    pub fn downcast<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        Arc::clone(&self.entry.object.instance).downcast::<T>().ok()
    }
}

impl fmt::Debug for ModuleHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ModuleHandle")
            .field("name", &self.name())
            .field("version", &self.version().to_string())
            .field("state", &self.state())
            .field("skipped", &self.skipped())
            .finish()
    }
}
