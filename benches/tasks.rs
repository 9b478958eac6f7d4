//! Owned tasks and supervision, measured.
//!
//! ```sh
//! cargo bench --bench tasks             # (a) N = 10,000 tasks, 15 runs; (b) 60 runs
//! cargo bench --bench tasks -- --quick  # (a) N = 1,000, 5 runs; (b) 20 runs (CI smoke)
//! ```
//!
//! (a) N tasks spawned through `ctx.spawn` in a module's `start` and joined by its stop
//!     (start_all + stop_all), against N bare `tokio::spawn` of the same work (wait for a
//!     cancellation token) cancelled and joined by hand. Goal: at most 2×.
//! (b) From a module's task failing to that module and its 10 dependents started again
//!     by its restart policy (backoff 1 ms, jitter off), with no-op hooks: the time from
//!     the failure to the last dependent's `module.started`, the whole real restart path
//!     (`module.failed`, the dependents and the module stopped, the backoff, the start of
//!     all 11 in dependency order). Goal: under 1 ms beyond the backoff.
//!
//!     Measured on tokio's paused clock: the manager's backoff is a tokio sleep, which the
//!     paused clock skips the moment nothing else is left to run, so the wall time
//!     measured is the work alone. On the real clock the 1 ms sleep takes 1 to 2 ms, as
//!     tokio's timer rounds up to its next millisecond tick; subtracting 1 ms from that
//!     leaves the rounding in, so the real-clock figure is printed beside it as a bound.
//!
//! Both on a current-thread runtime, so that the two sides of (a) share one scheduler and
//! the machine's other load moves the figures less. Medians of the runs.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use symphra::Error;
use symphra::bus::Event;
use symphra::context::CancellationToken;
use symphra::prelude::*;
use symphra::supervision::{Restart, RestartPolicy};
use tokio::sync::Notify;

/// The failing root and its 10 dependents in (b).
const MODULES: usize = 11;

/// The root's backoff in (b), the same before every restart (jitter off).
const BACKOFF: Duration = Duration::from_millis(1);

/// Spawns `n` owned tasks that wait for the module's stop.
struct Spawner {
    n: usize,
}

impl Module for Spawner {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("spawner")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        for _ in 0..self.n {
            ctx.spawn("work", |shutdown| async move {
                shutdown.cancelled().await;
                Ok(())
            })?;
        }
        Ok(())
    }
}

/// With a trigger: a task that fails when triggered. Without: a no-op module.
struct Node {
    metadata: ModuleMetadata,
    trigger: Option<Arc<Notify>>,
}

impl Module for Node {
    fn metadata(&self) -> ModuleMetadata {
        self.metadata.clone()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        if let Some(trigger) = &self.trigger {
            let trigger = Arc::clone(trigger);
            ctx.spawn("fails", |shutdown| async move {
                tokio::select! {
                    () = shutdown.cancelled() => Ok(()),
                    () = trigger.notified() => Err("triggered".into()),
                }
            })?;
        }
        Ok(())
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples.get(samples.len() / 2).copied().unwrap_or_default()
}

/// One run of (a) through the manager.
async fn owned(n: usize) -> Result<Duration, Error> {
    let manager = ModuleManager::builder().module(Spawner { n }).build()?;
    let began = Instant::now();
    manager.start_all().await?;
    manager.stop_all().await?;
    Ok(began.elapsed())
}

/// One run of (a) by hand.
async fn bare(n: usize) -> Duration {
    let began = Instant::now();
    let shutdown = CancellationToken::new();
    let tasks: Vec<_> = (0..n)
        .map(|_| {
            let shutdown = shutdown.clone();
            tokio::spawn(async move {
                shutdown.cancelled().await;
                Ok::<(), Error>(())
            })
        })
        .collect();
    shutdown.cancel();
    for task in tasks {
        if let Err(error) = task.await {
            eprintln!("a bare task failed: {error}");
        }
    }
    began.elapsed()
}

/// Counts `module.started` in a run of (b), and notes when the last of the 11 came.
#[derive(Default)]
struct Starts {
    count: AtomicUsize,
    last: Mutex<Option<Instant>>,
    all: Notify,
}

impl Starts {
    fn started(&self) {
        if self.count.fetch_add(1, Ordering::SeqCst) + 1 == MODULES {
            *self.last.lock() = Some(Instant::now());
            // A stored permit if the run is not waiting yet.
            self.all.notify_one();
        }
    }
}

/// One run of (b): fail the root's task and wait for the last `module.started` of the
/// restart; the time between, as the wall clock saw it.
async fn recovery(
    manager: &ModuleManager,
    trigger: &Notify,
    starts: &Starts,
) -> Result<Duration, Box<dyn std::error::Error>> {
    starts.count.store(0, Ordering::SeqCst);
    let began = Instant::now();
    trigger.notify_one();
    // Bounded, so that a restart that never comes fails the bench instead of hanging it;
    // on the paused clock the bound costs nothing either.
    tokio::time::timeout(Duration::from_secs(10), starts.all.notified())
        .await
        .map_err(|_| "the restart did not start all 11 modules within 10 s")?;
    let last = starts.last.lock().take().ok_or("no time noted")?;
    // The supervision ends with `module.restarted`, after the starts: let it finish
    // before the next failure.
    manager.supervision_idle().await?;
    Ok(last.saturating_duration_since(began))
}

/// (b): the median of `runs` restarts of the root and its 10 dependents, each from a
/// failure of the root's task; on whichever clock the runtime has.
async fn restarts(runs: usize) -> Result<Duration, Box<dyn std::error::Error>> {
    let trigger = Arc::new(Notify::new());
    let policy = RestartPolicy::new(Restart::OnFailure)
        .backoff(BACKOFF, BACKOFF)
        .jitter(false)
        // Every run restarts: never given up within the bench.
        .intensity(u32::MAX, Duration::from_secs(60));
    let mut builder = ModuleManager::builder().module(Node {
        metadata: ModuleMetadata::new("root").restart(policy),
        trigger: Some(Arc::clone(&trigger)),
    });
    for i in 1..MODULES {
        builder = builder.module(Node {
            metadata: ModuleMetadata::new(format!("dependent-{i}")).depends_on("root"),
            trigger: None,
        });
    }
    let manager = builder.build()?;
    let starts = Arc::new(Starts::default());
    let seen = Arc::clone(&starts);
    let _started = manager
        .bus()
        .subscribe("module.started", move |_: &Event| seen.started())?;
    manager.start_all().await?;
    recovery(&manager, &trigger, &starts).await?; // warm
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.push(recovery(&manager, &trigger, &starts).await?);
    }
    let report = manager.stop_all().await?;
    if report.counts().0 != MODULES {
        return Err(format!("not everything was running at the end:\n{report}").into());
    }
    Ok(median(samples))
}

/// (a), on the runtime it is given.
async fn spawns(quick: bool) -> Result<(), Box<dyn std::error::Error>> {
    let (n, runs) = if quick { (1_000, 5) } else { (10_000, 15) };

    // Warm both paths once (allocator, runtime's task slabs).
    owned(n).await?;
    bare(n).await;
    let mut with_ctx = Vec::with_capacity(runs);
    let mut with_tokio = Vec::with_capacity(runs);
    for _ in 0..runs {
        with_ctx.push(owned(n).await?);
        with_tokio.push(bare(n).await);
    }
    let (with_ctx, with_tokio) = (median(with_ctx), median(with_tokio));
    println!(
        "(a) {n} tasks spawned and joined: ctx.spawn {with_ctx:?}, tokio::spawn {with_tokio:?}, ratio {:.2}x (goal <= 2x)",
        with_ctx.as_secs_f64() / with_tokio.as_secs_f64().max(f64::MIN_POSITIVE)
    );

    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let runs = if quick { 20 } else { 60 };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(spawns(quick))?;
    let real = runtime.block_on(restarts(runs))?;

    let paused = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let work = paused.block_on(restarts(runs))?;
    println!(
        "(b) failure to root + 10 dependents started again, beyond the backoff: {work:?} (paused clock; goal < 1ms)"
    );
    println!(
        "    real clock, {BACKOFF:?} backoff: {real:?} in all, {:?} beyond the backoff (timer rounding included)",
        real.saturating_sub(BACKOFF)
    );
    Ok(())
}
