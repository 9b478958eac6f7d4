//! An interface made of what a module's `start` hands over (`.provides_running(..)`): a
//! dependent gets it by name as a trait object, each start's own, and is told plainly when
//! the module handed nothing over.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use symphra::prelude::*;

trait Counter: Send + Sync {
    fn value(&self) -> usize;
}

/// An interface `Source` does not provide.
trait Gauge: Send + Sync {}

/// What `Source`'s start builds: a fresh one, numbered, per start.
struct Opened(usize);
impl Counter for Opened {
    fn value(&self) -> usize {
        self.0
    }
}

/// Hands over an `Opened` numbered by its start, unless `hand_over` is false.
struct Source {
    starts: AtomicUsize,
    hand_over: bool,
}
impl Module for Source {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("source")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let start = self.starts.fetch_add(1, Ordering::SeqCst) + 1;
        if self.hand_over {
            ctx.set_running(Opened(start));
        }
        Ok(())
    }
}

/// Records the value it read through the interface at each start.
#[derive(Default)]
struct Reader {
    seen: std::sync::Mutex<Vec<usize>>,
}
impl Module for Reader {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("reader").depends_on("source")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let counter = ctx.get_dyn::<dyn Counter>("source")?;
        self.seen
            .lock()
            .map_err(|_| "poisoned")?
            .push(counter.value());
        Ok(())
    }
}

fn manager(hand_over: bool) -> ModuleManager {
    ModuleManager::builder()
        .module(Source {
            starts: AtomicUsize::new(0),
            hand_over,
        })
        .provides_running(|opened: Arc<Opened>| -> Arc<dyn Counter> { opened })
        .module(Reader::default())
        .build()
        .expect("a valid module set")
}

#[tokio::test(flavor = "current_thread")]
async fn a_dependent_gets_each_start_s_state_as_the_interface() {
    let manager = manager(true);
    manager.start_all().await.expect("starts");
    manager.stop_all().await.expect("stops");
    manager.start_all().await.expect("starts again");
    let reader = manager.get::<Reader>().expect("registered");
    assert_eq!(
        *reader.seen.lock().expect("not poisoned"),
        [1, 2],
        "the second start's state, not the first's"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn a_module_that_handed_nothing_over_is_named_with_the_fix() {
    let manager = manager(false);
    let report = match manager.start_all().await {
        Err(symphra::Error::Start(error)) => error.report().clone(),
        other => panic!("the start should have failed, not {other:?}"),
    };
    let failure = match report.module("reader").map(ModuleReport::outcome) {
        Some(Outcome::Failed(failure)) => failure.to_string(),
        other => panic!("the reader should have failed, not {other:?}"),
    };
    assert!(
        failure.contains("\"source\" handed over none") && failure.contains("set_running"),
        "{failure}"
    );
}

/// Asks for `source` as a `dyn Gauge`, which it does not provide.
struct GaugeReader;
impl Module for GaugeReader {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("gauge-reader").depends_on("source")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        ctx.get_dyn::<dyn Gauge>("source")?;
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn another_interface_than_the_one_provided_is_a_type_mismatch() {
    let manager = ModuleManager::builder()
        .module(Source {
            starts: AtomicUsize::new(0),
            hand_over: true,
        })
        .provides_running(|opened: Arc<Opened>| -> Arc<dyn Counter> { opened })
        .module(GaugeReader)
        .build()
        .expect("a valid module set");
    let report = match manager.start_all().await {
        Err(symphra::Error::Start(error)) => error.report().clone(),
        other => panic!("the start should have failed, not {other:?}"),
    };
    let failure = match report.module("gauge-reader").map(ModuleReport::outcome) {
        Some(Outcome::Failed(failure)) => failure.to_string(),
        other => panic!("the gauge reader should have failed, not {other:?}"),
    };
    assert!(
        failure.contains("dyn interfaces_running::Gauge") && failure.contains("Source"),
        "the mismatch names the type asked for and the one registered: {failure}"
    );
}

#[test]
fn provides_running_before_any_module_fails_the_build() {
    let built = ModuleManager::builder()
        .provides_running(|opened: Arc<Opened>| -> Arc<dyn Counter> { opened })
        .module(Reader::default())
        .build();
    match built {
        Err(error @ symphra::Error::ProvidesWithoutModule { .. }) => {
            assert!(
                error.to_string().contains("right after `.module(..)`"),
                "{error}"
            );
        }
        other => panic!("expected ProvidesWithoutModule, got {other:?}"),
    }
}
