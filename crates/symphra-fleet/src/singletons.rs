//! The manager's side of a lease: start the singleton (and what needs it) when its lease
//! is won, stop it when the lease is lost.

use symphra::ModuleManager;
use symphra::context::Lease;
use tokio::sync::watch;

/// Applies the lease of `module` to `manager` as it changes, until the campaign ends.
///
/// A won lease is granted, then `start_all` runs: it starts the singleton and the modules
/// that require it (which were skipped without the lease) and leaves everything else as
/// it is — started modules unchanged, modules an operator holds down still down. A lost
/// lease was already revoked by the campaign (so `Lease::is_current` is false at once);
/// here the singleton is stopped, dependents first, for now (no operator's hold).
pub(crate) async fn apply(
    manager: ModuleManager,
    module: String,
    mut holding: watch::Receiver<Option<Lease>>,
) {
    while holding.changed().await.is_ok() {
        let lease = holding.borrow_and_update().clone();
        match lease {
            Some(lease) if lease.is_current() => {
                if let Err(error) = manager.grant_lease(&module, lease) {
                    tracing::error!(%module, %error, "cannot grant the lease");
                    continue;
                }
                if let Err(error) = manager.start_all().await {
                    tracing::warn!(%module, %error, "start after winning the lease");
                }
            }
            // Lost, or lost again before this task saw it won.
            _ => {
                if let Err(error) = manager.revoke_lease(&module) {
                    tracing::error!(%module, %error, "cannot revoke the lease");
                }
                if let Err(error) = manager.stop_for_now(&module).await {
                    tracing::warn!(%module, %error, "stop after losing the lease");
                }
            }
        }
    }
}
