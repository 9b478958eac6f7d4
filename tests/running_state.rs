//! State that `start` produces: handed to the manager, given back in `stop`, to dependents
//! and to handles, and dropped after the stop (or a failed start).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use symphra::prelude::*;

/// Counts its drops, so the test sees when the manager lets go of it.
struct Pool {
    size: usize,
    dropped: Arc<AtomicUsize>,
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

struct Db {
    dropped: Arc<AtomicUsize>,
    stop_saw: Arc<AtomicUsize>,
    fail_start: bool,
}

impl Module for Db {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("db")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.set_running(Pool {
            size: 4,
            dropped: Arc::clone(&self.dropped),
        });
        if self.fail_start {
            return Err("no database".into());
        }
        Ok(())
    }
    async fn stop(&self, ctx: &Context) -> HookResult {
        let pool = ctx.running::<Pool>().ok_or("stop without the pool")?;
        self.stop_saw.store(pool.size, Ordering::SeqCst);
        Ok(())
    }
}

struct Api;
impl Module for Api {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("api").depends_on("db")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        assert_eq!(ctx.running_of::<Pool>("db")?.size, 4);
        // Another type, or an undeclared name, is an error that says so.
        let wrong = ctx.running_of::<String>("db").expect_err("not a String");
        assert!(
            wrong.to_string().contains("handed over none of that type"),
            "{wrong}"
        );
        assert!(ctx.running_of::<Pool>("cache").is_err());
        Ok(())
    }
}

fn db(fail_start: bool) -> (Db, Arc<AtomicUsize>, Arc<AtomicUsize>) {
    let dropped = Arc::new(AtomicUsize::new(0));
    let stop_saw = Arc::new(AtomicUsize::new(0));
    let db = Db {
        dropped: Arc::clone(&dropped),
        stop_saw: Arc::clone(&stop_saw),
        fail_start,
    };
    (db, dropped, stop_saw)
}

#[tokio::test(flavor = "current_thread")]
async fn start_state_reaches_stop_dependents_and_handles_then_is_dropped() {
    let (db, dropped, stop_saw) = db(false);
    let manager = ModuleManager::builder()
        .module(db)
        .module(Api)
        .build()
        .expect("valid");
    manager.start_all().await.expect("starts");
    let handle = manager.module("db").expect("registered");
    let pool = handle.running::<Pool>().expect("running state");
    assert_eq!(pool.size, 4);
    drop(pool);
    assert_eq!(dropped.load(Ordering::SeqCst), 0, "kept while running");

    manager.stop_all().await.expect("stops");
    assert_eq!(stop_saw.load(Ordering::SeqCst), 4, "stop got it back");
    assert_eq!(dropped.load(Ordering::SeqCst), 1, "dropped after the stop");
    assert!(handle.running::<Pool>().is_none());
}

#[tokio::test(flavor = "current_thread")]
async fn a_failed_start_drops_its_state() {
    let (db, dropped, _) = db(true);
    let manager = ModuleManager::builder().module(db).build().expect("valid");
    assert!(manager.start_all().await.is_err());
    assert_eq!(dropped.load(Ordering::SeqCst), 1);
    assert!(
        manager
            .module("db")
            .expect("registered")
            .running::<Pool>()
            .is_none()
    );
}
