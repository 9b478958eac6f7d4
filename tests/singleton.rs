//! Singleton modules under a coordinator: they start only with a lease, the modules that
//! require them run where they run, and the module reads its lease's fencing token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use symphra::context::Lease;
use symphra::prelude::*;
use tokio::time::Instant;

/// A singleton that records the token of the lease it started under.
#[derive(Default)]
struct Scheduler {
    token: AtomicU64,
}

impl Module for Scheduler {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("scheduler").singleton()
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let token = ctx.lease().map_or(0, |lease| lease.token());
        self.token.store(token, Ordering::SeqCst);
        Ok(())
    }
}

struct Reports;

impl Module for Reports {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reports").depends_on("scheduler")
    }
}

struct Api;

impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api")
    }
}

fn manager() -> symphra::Result<ModuleManager> {
    ModuleManager::builder()
        .module(Scheduler::default())
        .module(Reports)
        .module(Api)
        .build()
}

#[tokio::test(start_paused = true)]
async fn without_a_coordinator_a_singleton_runs_like_any_module() -> symphra::Result<()> {
    let manager = manager()?;
    assert!(manager.module("scheduler")?.metadata().is_singleton());
    manager.start_all().await?;
    assert_eq!(manager.module("scheduler")?.state(), ModuleState::Started);
    assert_eq!(manager.module("reports")?.state(), ModuleState::Started);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn under_a_coordinator_it_runs_only_with_a_current_lease() -> Result<(), BoxError> {
    let manager = manager()?;
    assert_eq!(manager.coordinate_singletons(), ["scheduler"]);

    // No lease: the singleton and what requires it are skipped, and that is no failure.
    let report = manager.start_all().await?;
    for name in ["scheduler", "reports"] {
        assert_eq!(manager.module(name)?.state(), ModuleState::Registered);
        assert_eq!(manager.module(name)?.skipped(), Some(SkipReason::NoLease));
    }
    assert_eq!(manager.module("api")?.state(), ModuleState::Started);
    assert!(report.is_success());

    // Granted: it starts, reading the lease's token, and its dependent follows.
    let lease = Lease::new(42, Instant::now() + Duration::from_secs(5));
    manager.grant_lease("scheduler", lease.clone())?;
    manager.start("reports").await?;
    assert_eq!(manager.module("scheduler")?.state(), ModuleState::Started);
    assert_eq!(manager.module("reports")?.state(), ModuleState::Started);
    let scheduler = manager
        .module("scheduler")?
        .downcast::<Scheduler>()
        .ok_or("the scheduler module is not a Scheduler")?;
    assert_eq!(scheduler.token.load(Ordering::SeqCst), 42);

    // Revoked: stopped by the coordinator, it cannot be started again here.
    manager.revoke_lease("scheduler")?;
    assert!(!lease.is_current());
    manager.stop_for_now("scheduler").await?;
    manager.start_all().await?;
    assert_eq!(manager.module("scheduler")?.state(), ModuleState::Stopped);
    assert_eq!(
        manager.module("reports")?.skipped(),
        Some(SkipReason::NoLease)
    );

    // A lease past its local deadline is not current either.
    manager.grant_lease(
        "scheduler",
        Lease::new(43, Instant::now() + Duration::from_secs(1)),
    )?;
    tokio::time::advance(Duration::from_secs(2)).await;
    manager.start_all().await?;
    assert_eq!(manager.module("scheduler")?.state(), ModuleState::Stopped);
    Ok(())
}

#[tokio::test(start_paused = true)]
async fn a_handle_shows_the_lease_its_module_holds_until_it_is_revoked() -> Result<(), BoxError> {
    let manager = manager()?;
    manager.coordinate_singletons();
    assert!(manager.module("scheduler")?.lease().is_none());

    manager.grant_lease(
        "scheduler",
        Lease::new(7, Instant::now() + Duration::from_secs(5)),
    )?;
    let held = manager
        .module("scheduler")?
        .lease()
        .ok_or("no lease held")?;
    assert_eq!(held.token(), 7);
    assert!(held.is_current());
    assert!(manager.module("api")?.lease().is_none());

    // Past its deadline it is still the one held, no longer current.
    tokio::time::advance(Duration::from_secs(6)).await;
    let held = manager
        .module("scheduler")?
        .lease()
        .ok_or("the expired lease is gone")?;
    assert_eq!(held.token(), 7);
    assert!(!held.is_current());

    // Revoked, it is gone.
    manager.revoke_lease("scheduler")?;
    assert!(manager.module("scheduler")?.lease().is_none());
    Ok(())
}
