//! Orchestration cost: register, resolve, start and stop N no-op modules in a layered DAG.
//!
//! ```sh
//! cargo bench --bench orchestration                       # N = 1,000, 10,000, 100,000
//! cargo bench --bench orchestration -- --dag DIR/_dag.json # the graph the Python side runs
//! cargo bench --bench orchestration -- --n 10000           # one size
//! cargo bench --bench orchestration -- --quick             # one small run (CI smoke)
//! ```
//!
//! Prints, per N, the median of each phase over several runs, the cost per module, and the
//! peak heap growth per module (counted by a wrapping allocator, in a separate run).

use std::alloc::{GlobalAlloc, Layout, System};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicIsize, Ordering};
use std::time::{Duration, Instant};

use symphra::prelude::*;
use symphra::testing::LayeredDag;

/// Counts live heap bytes and their peak while [`COUNTING`] is on, delegating every call
/// to the system allocator.
///
/// Counting is off while phases are timed: its atomic updates on every allocation and free
/// are locked instructions, which wait for every memory access before them and would
/// slow down what is measured. One separate run per size measures the memory.
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
/// Bytes allocated minus bytes freed since counting began: negative when more was freed
/// than allocated, as memory allocated before is freed.
static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counters are plain atomics and never touch the memory.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same layout as given to us, under the caller's guarantees.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() && COUNTING.load(Ordering::Relaxed) {
            let size = layout.size() as isize;
            let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `alloc` above with this layout.
        unsafe { System.dealloc(ptr, layout) };
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() && COUNTING.load(Ordering::Relaxed) {
            let growth = new_size as isize - layout.size() as isize;
            let live = LIVE.fetch_add(growth, Ordering::Relaxed) + growth;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        new
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// A module that does nothing: what is measured is the runtime around it.
struct Noop(ModuleMetadata);

impl Module for Noop {
    fn metadata(&self) -> ModuleMetadata {
        self.0.clone()
    }
}

struct Phases {
    register: Duration,
    resolve: Duration,
    start: Duration,
    stop: Duration,
    peak_bytes: usize,
}

fn modules(dag: &LayeredDag) -> Vec<Noop> {
    dag.modules()
        .map(|(name, deps)| {
            let metadata = deps
                .iter()
                .fold(ModuleMetadata::new(name).version("1.0.0"), |m, dep| {
                    m.depends_on(dep)
                });
            Noop(metadata)
        })
        .collect()
}

/// Registers, resolves, starts and stops the modules of `dag` once. With `count_memory`,
/// also measures the peak heap growth (and the timings are not representative).
async fn run_once(dag: &LayeredDag, count_memory: bool) -> Result<Phases, symphra::Error> {
    // Registering includes building the modules, as the Python baseline's does.
    let t = Instant::now();
    let modules = modules(dag);
    if count_memory {
        // The heap figure still excludes the modules' own metadata, as before.
        LIVE.store(0, Ordering::Relaxed);
        PEAK.store(0, Ordering::Relaxed);
        COUNTING.store(true, Ordering::Relaxed);
    }
    let builder = modules
        .into_iter()
        .fold(ModuleManager::builder(), |b, m| b.module(m));
    let register = t.elapsed();

    let t = Instant::now();
    let manager = builder.build()?;
    let resolve = t.elapsed();

    let t = Instant::now();
    let started = manager.start_all().await?;
    let start = t.elapsed();

    let t = Instant::now();
    let stopped = manager.stop_all().await?;
    let stop = t.elapsed();

    COUNTING.store(false, Ordering::Relaxed);
    let peak_bytes = usize::try_from(PEAK.load(Ordering::Relaxed)).unwrap_or(0);
    drop((started, stopped, manager));
    Ok(Phases {
        register,
        resolve,
        start,
        stop,
        peak_bytes,
    })
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

struct Args {
    dags: Vec<LayeredDag>,
    runs: Option<usize>,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut dags = Vec::new();
    let mut runs = None;
    let mut quick = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--dag" => {
                let path = PathBuf::from(args.next().ok_or("--dag needs a path to a _dag.json")?);
                dags.push(LayeredDag::read(&path).map_err(|e| format!("{}: {e}", path.display()))?);
            }
            "--runs" => runs = Some(args.next().ok_or("--runs needs a number")?.parse()?),
            "--quick" => quick = true,
            "--n" => {
                let n = args.next().ok_or("--n needs a module count")?.parse()?;
                dags.push(LayeredDag::square(n, 42));
            }
            // Flags cargo passes to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if dags.is_empty() {
        let sizes: &[usize] = if quick {
            &[1_000]
        } else {
            &[1_000, 10_000, 100_000]
        };
        dags = sizes.iter().map(|&n| LayeredDag::square(n, 42)).collect();
    }
    Ok(Args {
        dags,
        runs: if quick { Some(1) } else { runs },
    })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!(
        "{:>8} {:>6} {:>10} {:>10} {:>10} {:>10} {:>12} {:>14} {:>12}",
        "N",
        "layers",
        "register",
        "resolve",
        "start",
        "stop",
        "res+start+stop",
        "per module",
        "peak heap/mod"
    );
    for dag in &args.dags {
        let runs = args.runs.unwrap_or(if dag.n >= 100_000 { 5 } else { 15 });
        // One untimed warm-up run, which also measures the memory.
        let peak = runtime.block_on(run_once(dag, true))?.peak_bytes;
        let mut phases = Vec::with_capacity(runs);
        for _ in 0..runs {
            phases.push(runtime.block_on(run_once(dag, false))?);
        }
        let med = |f: fn(&Phases) -> Duration| median(phases.iter().map(f).collect());
        let total = med(|p| p.resolve + p.start + p.stop);
        println!(
            "{:>8} {:>6} {:>10.3?} {:>10.3?} {:>10.3?} {:>10.3?} {:>12.3?} {:>14.0?} {:>12} B",
            dag.n,
            dag.layers,
            med(|p| p.register),
            med(|p| p.resolve),
            med(|p| p.start),
            med(|p| p.stop),
            total,
            total / dag.n as u32,
            peak / dag.n.max(1),
        );
    }
    Ok(())
}
