//! What watching the lifecycle costs: resolve, start and stop N no-op modules (the DAG of
//! `benches/orchestration.rs`) silent and with each kind of lifecycle subscriber, in one run.
//!
//! ```sh
//! cargo bench --bench watched                 # N = 10,000
//! cargo bench --bench watched -- --n 1000     # another size
//! cargo bench --bench watched -- --runs 31    # more rounds
//! cargo bench --bench watched -- --quick      # one small round (CI smoke)
//! cargo bench --bench watched -- --only sync  # one watcher (silent, sync, async, progress)
//! ```
//!
//! With `--only`, under `valgrind --tool=callgrind`, the instruction count of one watcher
//! compared with `--only silent` gives its cost per event without the machine's noise.
//!
//! Each round runs every watcher once, in an order that rotates from round to round, so
//! that a slow moment of the shared machine falls on all of them alike. Prints, per watcher,
//! the median of `resolve + start + stop`, its ratio to the silent path, the events its
//! subscriber received, and the extra cost per event over the silent path.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use symphra::bus::{Event, EventBus, Subscription};
use symphra::lifecycle::ModuleState;
use symphra::manager::{ModuleEvent, STATE_CHANGED};
use symphra::prelude::*;
use symphra::testing::LayeredDag;

/// A module that does nothing: what is measured is the runtime around it.
struct Noop(ModuleMetadata);

impl Module for Noop {
    fn metadata(&self) -> ModuleMetadata {
        self.0.clone()
    }
}

/// Who listens to the lifecycle while the modules start and stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watcher {
    /// Nobody.
    Silent,
    /// One sync handler on `module.*` that reads each payload.
    Sync,
    /// One async handler on `module.*` that reads each payload.
    Async,
    /// A handler shaped like `symphra run`'s live display above 30 modules
    /// (`crates/symphra-cli/src/progress.rs`): on `module.state_changed`, it counts settled
    /// modules and, as indicatif does on each update, reads the clock to decide whether to
    /// redraw; only a failure is formatted into the bar's message, under a lock.
    Progress,
}

impl Watcher {
    const ALL: [Self; 4] = [Self::Silent, Self::Sync, Self::Async, Self::Progress];

    fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|watcher| watcher.flag() == name)
    }

    fn flag(self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Sync => "sync",
            Self::Async => "async",
            Self::Progress => "progress",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Silent => "silent",
            Self::Sync => "sync module.*",
            Self::Async => "async module.*",
            Self::Progress => "cli progress",
        }
    }

    /// Subscribes this watcher to `bus`; it counts what it receives in `seen`.
    fn subscribe(
        self,
        bus: &EventBus,
        seen: &Arc<AtomicU64>,
    ) -> Result<Option<Subscription>, symphra::bus::BusError> {
        let seen = Arc::clone(seen);
        let subscription = match self {
            Self::Silent => return Ok(None),
            Self::Sync => bus.subscribe("module.*", move |event: &Event| {
                if event.payload::<ModuleEvent>().is_some() {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            })?,
            Self::Async => bus.subscribe_async("module.*", move |event: Event| {
                let seen = Arc::clone(&seen);
                async move {
                    if event.payload::<ModuleEvent>().is_some() {
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })?,
            Self::Progress => {
                let bar = Arc::new(ProgressBar::default());
                bus.subscribe(STATE_CHANGED, move |event: &Event| {
                    if let Some(change) = event.payload::<ModuleEvent>() {
                        bar.changed(change);
                        seen.fetch_add(1, Ordering::Relaxed);
                    }
                })?
            }
        };
        Ok(Some(subscription))
    }
}

/// The part of the CLI's single counting bar that each event touches.
#[derive(Default)]
struct ProgressBar {
    message: Mutex<String>,
    position: AtomicU64,
    last_update: Mutex<Option<Instant>>,
}

impl ProgressBar {
    fn changed(&self, change: &ModuleEvent) {
        if change.to == ModuleState::Failed {
            *self.message.lock() = format!("{}: {}", change.module, change.to);
        }
        if matches!(
            change.to,
            ModuleState::Started | ModuleState::Stopped | ModuleState::Failed
        ) {
            self.position.fetch_add(1, Ordering::Relaxed);
            *self.last_update.lock() = Some(Instant::now());
        }
    }
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

/// One resolve, start and stop of the modules of `dag` watched by `watcher`: the time it
/// took and the events the watcher received.
async fn run_once(
    dag: &LayeredDag,
    watcher: Watcher,
) -> Result<(Duration, u64), Box<dyn std::error::Error>> {
    let bus = EventBus::new();
    let seen = Arc::new(AtomicU64::new(0));
    let subscription = watcher.subscribe(&bus, &seen)?;
    let builder = modules(dag)
        .into_iter()
        .fold(ModuleManager::builder().bus(bus), |b, m| b.module(m));

    let t = Instant::now();
    let manager = builder.build()?;
    let started = manager.start_all().await?;
    let stopped = manager.stop_all().await?;
    let elapsed = t.elapsed();

    if !started.is_success() || !stopped.is_success() {
        return Err(format!("{}: a no-op module failed", watcher.name()).into());
    }
    drop((started, stopped, manager, subscription));
    Ok((elapsed, seen.load(Ordering::Relaxed)))
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

struct Args {
    n: usize,
    runs: usize,
    watchers: Vec<Watcher>,
}

fn parse_args() -> Result<Args, Box<dyn std::error::Error>> {
    let mut args = Args {
        n: 10_000,
        runs: 15,
        watchers: Watcher::ALL.to_vec(),
    };
    let mut quick = false;
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        match arg.as_str() {
            "--n" => args.n = given.next().ok_or("--n needs a module count")?.parse()?,
            "--runs" => args.runs = given.next().ok_or("--runs needs a number")?.parse()?,
            "--quick" => quick = true,
            "--only" => {
                let name = given.next().ok_or("--only needs a watcher")?;
                let watcher = Watcher::parse(&name)
                    .ok_or_else(|| format!("--only {name:?}: silent, sync, async or progress"))?;
                args.watchers = vec![watcher];
            }
            // Flags cargo passes to every bench target.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    if quick {
        args.n = 1_000;
        args.runs = 1;
    }
    if args.runs == 0 {
        return Err("--runs must be at least 1".into());
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let dag = LayeredDag::square(args.n, 42);
    let watchers = &args.watchers;
    // One untimed warm-up round.
    for &watcher in watchers {
        runtime.block_on(run_once(&dag, watcher))?;
    }
    let mut times = vec![Vec::with_capacity(args.runs); watchers.len()];
    let mut events = vec![0; watchers.len()];
    for round in 0..args.runs {
        for k in 0..watchers.len() {
            let at = (round + k) % watchers.len();
            let (elapsed, seen) = runtime.block_on(run_once(&dag, watchers[at]))?;
            times[at].push(elapsed);
            events[at] = seen;
        }
    }
    let medians: Vec<Duration> = times.into_iter().map(median).collect();
    println!(
        "N = {}, {} rounds, median of resolve + start + stop",
        dag.n, args.runs
    );
    println!(
        "{:>16} {:>12} {:>8} {:>10} {:>14}",
        "watcher", "time", "ratio", "events", "extra/event"
    );
    // Ratios and extra costs are against the silent path, when it ran.
    let silent = watchers
        .iter()
        .position(|&w| w == Watcher::Silent)
        .map(|at| medians[at]);
    for (at, watcher) in watchers.iter().enumerate() {
        let (ratio, per_event) = match silent {
            Some(silent) => {
                let extra = medians[at].saturating_sub(silent);
                let per_event = match events[at] {
                    0 => "-".to_owned(),
                    n => format!("{:.0?}", extra / u32::try_from(n).unwrap_or(u32::MAX)),
                };
                (
                    format!("{:.2}x", medians[at].as_secs_f64() / silent.as_secs_f64()),
                    per_event,
                )
            }
            None => ("-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:>16} {:>12.3?} {:>8} {:>10} {:>14}",
            watcher.name(),
            medians[at],
            ratio,
            events[at],
            per_event
        );
    }
    Ok(())
}
