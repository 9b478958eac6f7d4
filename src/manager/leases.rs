//! Leases of singleton modules: a coordinator of replicas (`symphra-fleet`) decides which
//! replica runs each singleton, and tells the manager here.

use std::sync::atomic::Ordering;

use crate::context::Lease;
use crate::error::Error;
use crate::manager::ModuleManager;

impl ModuleManager {
    /// Puts the [singleton](crate::ModuleMetadata::singleton) modules under a
    /// coordinator: from now on each starts only while it holds a current lease (granted
    /// with [`grant_lease`](Self::grant_lease)), and is otherwise skipped with
    /// [`SkipReason::NoLease`](crate::manager::SkipReason::NoLease), as are the modules
    /// that require it. Call it before the first start. Returns the singletons' names.
    pub fn coordinate_singletons(&self) -> Vec<String> {
        let graph = self.graph();
        graph
            .entries
            .iter()
            .filter(|entry| entry.metadata.is_singleton())
            .map(|entry| {
                entry.lease_required.store(true, Ordering::Release);
                entry.name.to_string()
            })
            .collect()
    }

    /// Gives `name` the lease it runs under (read with
    /// [`Context::lease`](crate::Context::lease)), replacing any it had. Starting it is
    /// the caller's next step.
    pub fn grant_lease(&self, name: &str, lease: Lease) -> Result<(), Error> {
        self.entry(name)?.set_lease(Some(lease));
        Ok(())
    }

    /// Revokes the lease of `name`, if it has one: the lease stops being current and its
    /// [`lost`](Lease::lost) fires. Stopping the module is the caller's next step.
    pub fn revoke_lease(&self, name: &str) -> Result<(), Error> {
        let entry = self.entry(name)?;
        if let Some(lease) = entry.lease() {
            lease.revoke();
        }
        entry.set_lease(None);
        Ok(())
    }
}
