//! Concurrency Control / batch operations: 30 modules in a layered dependency graph
//! started with `start_all_concurrent(5)`, then without a limit, then with one failing
//! module whose dependents are skipped.
//!
//! The modules are `symphra::testing::Probe`s from the test kit (feature `testing`),
//! each taking 20 ms to start; `LayeredDag` builds the graph: 5 layers of 6 modules,
//! each depending on 1 to 3 modules of the layer below.
//!
//! Run with `cargo run --example concurrent_start`. Takes about 400 ms.

use std::time::Duration;

use symphra::prelude::*;
use symphra::testing::{CallLog, Fault, LayeredDag, Probe};
use tracing_subscriber::EnvFilter;

const START: Duration = Duration::from_millis(20);
const FAILING: &str = "m00008";

fn build(dag: &LayeredDag, failing: Option<&str>) -> Result<ModuleManager, symphra::Error> {
    let log = CallLog::default();
    dag.modules()
        .fold(ModuleManager::builder(), |builder, (name, deps)| {
            let mut probe = deps
                .iter()
                .fold(Probe::new(name, &log), |probe, dep| probe.depends_on(dep))
                .delay(Hook::Start, START);
            if failing == Some(name) {
                probe = probe.fault(Hook::Start, Fault::Error("disk full".into()));
            }
            builder.module(probe)
        })
        .build()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::from_default_env())
        .init();

    let dag = LayeredDag::generate(30, 6, 7);
    let limit = 5;
    let critical_path = START * dag.layers as u32;
    let per_slot = START * dag.n as u32 / limit as u32;
    println!(
        "{} modules in {} layers of {}; each start takes {START:?}",
        dag.n, dag.layers, dag.width
    );
    println!(
        "critical path {critical_path:?}; with {limit} slots at least {:?} ({} starts / {limit})",
        critical_path.max(per_slot),
        dag.n
    );

    let manager = build(&dag, None)?;
    let report = manager.start_all_concurrent(limit).await?;
    println!("{report}");
    println!(
        "max_concurrency {limit}: {:?} (lower bound {:?})",
        report.elapsed(),
        critical_path.max(per_slot)
    );
    manager.stop_all().await?;

    let report = manager.start_all_concurrent(usize::MAX).await?;
    println!(
        "no limit:          {:?} (critical path {critical_path:?})",
        report.elapsed()
    );
    manager.stop_all().await?;

    println!("\n== {FAILING} fails in start");
    let manager = build(&dag, Some(FAILING))?;
    match manager.start_all_concurrent(limit).await {
        Ok(_) => return Err("the failing module started".into()),
        Err(symphra::Error::Start(error)) => {
            let (ok, failed, skipped) = error.report().counts();
            println!("{ok} started, {failed} failed, {skipped} skipped:");
            for module in error.report().problems() {
                println!("  {module}");
            }
        }
        Err(other) => return Err(other.into()),
    }
    manager.stop_all().await?;
    Ok(())
}
