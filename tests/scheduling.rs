//! Scheduling on tokio's paused clock: a module starts the moment its dependencies have
//! started, and a concurrency limit keeps every slot busy.

use std::time::Duration;

use symphra::prelude::*;
use symphra::testing::{CallLog, LayeredDag, Probe};

const HOOK: Duration = Duration::from_millis(10);

fn manager(dag: &LayeredDag, log: &CallLog) -> ModuleManager {
    dag.modules()
        .fold(ModuleManager::builder(), |builder, (name, deps)| {
            let probe = deps
                .iter()
                .fold(Probe::new(name, log), |probe, dep| probe.depends_on(dep))
                .delay(Hook::Start, HOOK);
            builder.module(probe)
        })
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn without_a_limit_1000_modules_start_in_exactly_the_critical_path() {
    let dag = LayeredDag::square(1000, 42);
    let manager = manager(&dag, &CallLog::default());
    let began = tokio::time::Instant::now();
    let report = manager.start_all().await.unwrap();
    let critical_path = HOOK * dag.layers as u32;
    assert_eq!(began.elapsed(), critical_path, "{} layers", dag.layers);
    assert_eq!(report.elapsed(), critical_path);
    assert_eq!(report.modules().len(), 1000);
}

#[tokio::test(start_paused = true)]
async fn with_max_concurrency_4_the_start_is_within_5_percent_of_the_bound() {
    let dag = LayeredDag::square(1000, 42);
    let log = CallLog::default();
    let manager = manager(&dag, &log);
    let began = tokio::time::Instant::now();
    manager.start_all_concurrent(4).await.unwrap();
    let elapsed = began.elapsed();
    let critical_path = HOOK * dag.layers as u32;
    let work_per_slot = HOOK * 1000 / 4;
    let bound = critical_path.max(work_per_slot);
    assert!(
        elapsed >= bound,
        "{elapsed:?} < {bound:?}: the limit was not respected"
    );
    assert!(
        elapsed.as_secs_f64() <= 1.05 * bound.as_secs_f64(),
        "{elapsed:?} vs bound {bound:?}"
    );

    // Never more than 4 starts in flight: count starts entered per 10 ms slice.
    let mut per_instant = std::collections::BTreeMap::new();
    for call in log.calls().iter().filter(|c| c.hook == Hook::Start) {
        *per_instant.entry(call.at).or_insert(0) += 1;
    }
    assert!(per_instant.values().all(|&n| n <= 4), "{per_instant:?}");
}

#[tokio::test(start_paused = true)]
async fn a_module_starts_when_its_own_dependencies_are_done_not_its_whole_wave() {
    // slow (100 ms) and fast (10 ms) are both in wave 0; after_fast must not wait for slow.
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("slow", &log).delay(Hook::Start, Duration::from_millis(100)))
        .module(Probe::new("fast", &log).delay(Hook::Start, HOOK))
        .module(Probe::new("after-fast", &log).depends_on("fast"))
        .build()
        .unwrap();
    let began = tokio::time::Instant::now();
    manager.start_all().await.unwrap();
    let after_fast = log
        .calls()
        .into_iter()
        .find(|c| c.module == "after-fast" && c.hook == Hook::Start)
        .unwrap();
    assert_eq!(after_fast.at - began, HOOK);
}

#[tokio::test(start_paused = true)]
async fn stop_all_is_concurrent_in_reverse_order_too() {
    let dag = LayeredDag::square(100, 7);
    let log = CallLog::default();
    let manager = dag
        .modules()
        .fold(ModuleManager::builder(), |builder, (name, deps)| {
            let probe = deps
                .iter()
                .fold(Probe::new(name, &log), |probe, dep| probe.depends_on(dep))
                .delay(Hook::Stop, HOOK);
            builder.module(probe)
        })
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let began = tokio::time::Instant::now();
    manager.stop_all().await.unwrap();
    assert_eq!(began.elapsed(), HOOK * dag.layers as u32);
    // Every module stopped after all of its dependents.
    let stops: Vec<String> = log.modules_calling(Hook::Stop);
    let position = |n: &str| stops.iter().position(|m| m == n).unwrap();
    for (name, deps) in dag.modules() {
        for dep in deps {
            assert!(
                position(name) < position(dep),
                "{name} stopped after its dependency {dep}"
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn under_a_limit_the_module_with_the_longest_chain_of_dependents_starts_first() {
    // Two independent leaves registered first, then a chain base <- mid <- top. With one
    // slot, the start prefers base (two modules wait above it), then mid, then the rest (all
    // with nothing above them) in start order; without the preference base would wait for
    // both leaves.
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("leaf-a", &log).delay(Hook::Start, HOOK))
        .module(Probe::new("leaf-b", &log).delay(Hook::Start, HOOK))
        .module(
            Probe::new("top", &log)
                .depends_on("mid")
                .delay(Hook::Start, HOOK),
        )
        .module(
            Probe::new("mid", &log)
                .depends_on("base")
                .delay(Hook::Start, HOOK),
        )
        .module(Probe::new("base", &log).delay(Hook::Start, HOOK))
        .max_concurrency(1)
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let started = log.modules_calling(Hook::Start);
    assert_eq!(started, ["base", "mid", "leaf-a", "leaf-b", "top"]);
}
