//! A handle on one registered module, for inspection.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use semver::Version;

use crate::config::Config;
use crate::lifecycle::{HookFailure, ModuleState};
use crate::manager::entry::Entry;
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

    /// The module's state now.
    pub fn state(&self) -> ModuleState {
        self.entry.current_state()
    }

    /// The last hook failure, if any (kept after the module recovers, until the next one).
    pub fn failure(&self) -> Option<HookFailure> {
        self.entry.failure()
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
            .finish()
    }
}
