//! Symphra's side of the side-by-side comparison with the Python original (`bench/compare`).
//!
//! Each subcommand measures one workload in this process and prints one line
//! `RESULT {json}` (times in seconds), so that `bench/compare` can run it as its own process
//! under `/usr/bin/time -v`, alternating with the Python side, and read its peak RSS:
//!
//! ```sh
//! cargo bench --bench compare -- orchestration --dag DIR/_dag.json [--runs R]
//! cargo bench --bench compare -- events [--quick]
//! cargo bench --bench compare -- schedule --dag DIR/_dag.json --k 0,1,4,16 [--runs R]
//! ```
//!
//! - `orchestration`: the phases of the Python side's run, on the graph of the same
//!   `_dag.json`: discover (read and parse `_dag.json`: Symphra modules are compiled in, there
//!   are no files to import), load (build each module's metadata and register it with the
//!   builder), resolve (`build`: validate and order the graph), start (`start_all`, which runs
//!   bootstrap, install and start), stop (`stop_all`). The first run in the process is reported
//!   (the Python side runs once per process too); with `--runs R > 1` the median end-to-end
//!   time of the R - 1 runs after it is added as `warm_end_to_end`.
//! - `events`: publishes per second on [`EventBus`] to one exact subscriber, to 1,000
//!   subscribers of one topic, and to one topic among 1,000 wildcard patterns (route cache on
//!   and off), median of several repetitions.
//! - `schedule`: modules whose start waits 10 ms (real time), `start_all_concurrent(k)` for each
//!   k (0 = no limit); wall time against the critical path (layers × 10 ms) and against
//!   max(critical path, total work / k); and, as a second floor, the same number of rounds
//!   of what one 10 ms wait really takes on Tokio's timer (measured as a chain of `layers`
//!   sleeps in the same process just before each limit's runs).

use std::error::Error;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use symphra::bus::{Event, EventBus, Subscription};
use symphra::prelude::*;
use symphra::testing::{CallLog, LayeredDag, Probe};
use tokio::runtime::Runtime;

type BoxResult<T> = Result<T, Box<dyn Error>>;

/// How long each module's start waits in the scheduling workload.
const START_DELAY: Duration = Duration::from_millis(10);

fn main() -> BoxResult<()> {
    // cargo passes `--bench` to every bench target; ignore it wherever it is.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some((command, rest)) = args.split_first() else {
        return Err("usage: compare orchestration|events|schedule [options]".into());
    };
    let options = Options::parse(rest)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let result = match command.as_str() {
        "orchestration" => orchestration(&runtime, &options)?,
        "events" => events(&runtime, &options)?,
        "schedule" => schedule(&runtime, &options)?,
        other => return Err(format!("unknown workload {other:?}").into()),
    };
    println!("RESULT {result}");
    Ok(())
}

/// Command-line options shared by the workloads.
struct Options {
    dag: Option<PathBuf>,
    runs: usize,
    limits: Vec<usize>,
    quick: bool,
}

impl Options {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut options = Options {
            dag: None,
            runs: 1,
            limits: vec![0],
            quick: false,
        };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
            match arg.as_str() {
                "--dag" => options.dag = Some(PathBuf::from(value()?)),
                "--runs" => options.runs = value()?.parse()?,
                "--k" => {
                    options.limits = value()?
                        .split(',')
                        .map(str::parse::<usize>)
                        .collect::<Result<Vec<_>, _>>()?
                }
                "--quick" => options.quick = true,
                other => return Err(format!("unknown argument {other:?}").into()),
            }
        }
        if options.runs == 0 {
            return Err("--runs must be at least 1".into());
        }
        Ok(options)
    }

    fn dag_path(&self) -> BoxResult<&Path> {
        self.dag
            .as_deref()
            .ok_or_else(|| "this workload needs --dag DIR/_dag.json".into())
    }
}

fn read_dag(path: &Path) -> BoxResult<LayeredDag> {
    LayeredDag::read(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A module that does nothing: what is measured is the runtime around it.
struct Noop(ModuleMetadata);

impl Module for Noop {
    fn metadata(&self) -> ModuleMetadata {
        self.0.clone()
    }
}

fn metadata(name: &str, deps: &[String]) -> ModuleMetadata {
    deps.iter()
        .fold(ModuleMetadata::new(name).version("1.0.0"), |m, dep| {
            m.depends_on(dep)
        })
}

/// One run of every orchestration phase, the way the Python side does it.
fn orchestrate_once(runtime: &Runtime, path: &Path) -> BoxResult<Value> {
    let t = Instant::now();
    let dag = read_dag(path)?;
    let discover = t.elapsed();

    let t = Instant::now();
    let builder = dag
        .modules()
        .fold(ModuleManager::builder(), |b, (name, deps)| {
            b.module(Noop(metadata(name, deps)))
        });
    let load = t.elapsed();

    let t = Instant::now();
    let manager = builder.build()?;
    let resolve = t.elapsed();

    let (start, started, stop, stopped) = runtime.block_on(async {
        let t = Instant::now();
        let started = manager.start_all().await?;
        let start = t.elapsed();
        let t = Instant::now();
        let stopped = manager.stop_all().await?;
        Ok::<_, symphra::Error>((start, started, t.elapsed(), stopped))
    })?;
    let (started_ok, ..) = started.counts();
    let (stopped_ok, ..) = stopped.counts();
    if started_ok != dag.n || stopped_ok != dag.n {
        return Err(format!(
            "incomplete run: {started_ok} of {} started, {stopped_ok} stopped",
            dag.n
        )
        .into());
    }
    let phases = [discover, load, resolve, start, stop];
    Ok(json!({
        "side": "symphra",
        "n": dag.n,
        "layers": dag.layers,
        "discover": discover.as_secs_f64(),
        "load": load.as_secs_f64(),
        "resolve": resolve.as_secs_f64(),
        "start": start.as_secs_f64(),
        "stop": stop.as_secs_f64(),
        "end_to_end": phases.iter().sum::<Duration>().as_secs_f64(),
        "started": started_ok,
    }))
}

fn orchestration(runtime: &Runtime, options: &Options) -> BoxResult<Value> {
    let path = options.dag_path()?;
    let mut first = orchestrate_once(runtime, path)?;
    if options.runs > 1 {
        let mut warm = Vec::with_capacity(options.runs - 1);
        for _ in 1..options.runs {
            let run = orchestrate_once(runtime, path)?;
            warm.push(run["end_to_end"].as_f64().unwrap_or(f64::NAN));
        }
        first["warm_end_to_end"] = json!(median(warm));
    }
    Ok(first)
}

/// Publishes per second: the median over `reps` repetitions of `count` publishes of `topic`.
fn publish_rate(
    runtime: &Runtime,
    bus: &EventBus,
    topic: &str,
    count: usize,
    reps: usize,
    expect: usize,
) -> BoxResult<f64> {
    let mut rates = Vec::with_capacity(reps);
    for _ in 0..reps {
        let (matched, elapsed) = runtime.block_on(async {
            let t = Instant::now();
            let mut matched = 0;
            for i in 0..count {
                matched += bus.publish(black_box(topic), i as u64).await?.matched();
            }
            Ok::<_, symphra::bus::BusError>((matched, t.elapsed()))
        })?;
        if matched != count * expect {
            return Err(format!(
                "{topic}: {matched} handler calls, expected {}",
                count * expect
            )
            .into());
        }
        rates.push(count as f64 / elapsed.as_secs_f64());
    }
    Ok(median(rates))
}

fn counting(bus: &EventBus, pattern: &str, calls: &Arc<AtomicU64>) -> BoxResult<Subscription> {
    let calls = calls.clone();
    Ok(bus.subscribe(pattern, move |event: &Event| {
        black_box(event.payload::<u64>());
        calls.fetch_add(1, Ordering::Relaxed);
    })?)
}

/// The 1,000 patterns of the wildcard workload: two match `user.created` (`user.*`, `>`); the
/// others are of the forms `svcI.*`, `svcI.>`, `*.evtI`, `evtI.*.>`, matching nothing published.
fn patterns() -> Vec<String> {
    (0..1_000)
        .map(|i| match i {
            0 => "user.*".to_owned(),
            1 => ">".to_owned(),
            _ => match i % 4 {
                0 => format!("svc{i}.*"),
                1 => format!("svc{i}.>"),
                2 => format!("*.evt{i}"),
                _ => format!("evt{i}.*.>"),
            },
        })
        .collect()
}

fn events(runtime: &Runtime, options: &Options) -> BoxResult<Value> {
    let (scale, reps) = if options.quick { (20, 1) } else { (1, 5) };
    let calls = Arc::new(AtomicU64::new(0));

    let bus = EventBus::new();
    let _exact = counting(&bus, "user.created", &calls)?;
    let exact = publish_rate(runtime, &bus, "user.created", 1_000_000 / scale, reps, 1)?;

    let bus = EventBus::new();
    let _fan: Vec<_> = (0..1_000)
        .map(|_| counting(&bus, "fan.out", &calls))
        .collect::<BoxResult<_>>()?;
    let fan_out = publish_rate(runtime, &bus, "fan.out", 4_000 / scale, reps, 1_000)?;

    let mut wildcard = Vec::new();
    for cache in [true, false] {
        let bus = if cache {
            EventBus::new()
        } else {
            EventBus::builder().cache_capacity(0).build()
        };
        let _subs: Vec<_> = patterns()
            .iter()
            .map(|p| counting(&bus, p, &calls))
            .collect::<BoxResult<_>>()?;
        let count = (if cache { 400_000 } else { 100_000 }) / scale;
        wildcard.push(publish_rate(runtime, &bus, "user.created", count, reps, 2)?);
    }
    Ok(json!({
        "side": "symphra",
        "exact_one": exact,
        "fan_out_1000": fan_out,
        "fan_out_1000_handler_calls": fan_out * 1_000.0,
        "patterns_1000": wildcard[0],
        "patterns_1000_uncached": wildcard[1],
        "reps": reps,
    }))
}

fn schedule(runtime: &Runtime, options: &Options) -> BoxResult<Value> {
    let dag = read_dag(options.dag_path()?)?;
    let critical_path = START_DELAY.as_secs_f64() * dag.layers as f64;
    let work = START_DELAY.as_secs_f64() * dag.n as f64;
    // What one 10 ms wait really takes on this runtime's timer (it rounds up to its 1 ms
    // ticks, and a loaded machine wakes it late): a chain of `layers` sleeps, one after
    // another, with no module runtime around, measured again before each limit.
    let one_wait = || {
        let chains = (0..options.runs.max(3))
            .map(|_| {
                runtime.block_on(async {
                    let t = Instant::now();
                    for _ in 0..dag.layers {
                        tokio::time::sleep(START_DELAY).await;
                    }
                    t.elapsed().as_secs_f64()
                })
            })
            .collect();
        median(chains) / dag.layers as f64
    };
    let mut rows = Vec::new();
    for &k in &options.limits {
        let one_wait = one_wait();
        let mut walls = Vec::with_capacity(options.runs);
        for _ in 0..options.runs {
            let log = CallLog::default();
            let manager = dag
                .modules()
                .fold(ModuleManager::builder(), |b, (name, deps)| {
                    b.module(
                        Probe::with_metadata(metadata(name, deps), &log)
                            .delay(Hook::Start, START_DELAY),
                    )
                })
                .build()?;
            let (wall, started) = runtime.block_on(async {
                let t = Instant::now();
                let report = if k == 0 {
                    manager.start_all().await?
                } else {
                    manager.start_all_concurrent(k).await?
                };
                let wall = t.elapsed();
                manager.stop_all().await?;
                Ok::<_, symphra::Error>((wall, report.counts().0))
            })?;
            if started != dag.n {
                return Err(format!("k = {k}: {started} of {} modules started", dag.n).into());
            }
            walls.push(wall.as_secs_f64());
        }
        let wall = median(walls);
        // The ideal number of 10 ms rounds: the layers, or the work spread over k.
        let rounds = if k == 0 {
            dag.layers as f64
        } else {
            (dag.layers as f64).max(dag.n as f64 / k as f64)
        };
        let floor = rounds * START_DELAY.as_secs_f64();
        rows.push(json!({
            "k": k,
            "wall": wall,
            "floor": floor,
            "ratio": wall / floor,
            "ratio_to_critical_path": wall / critical_path,
            "one_wait": one_wait,
            "timer_floor": rounds * one_wait,
            "ratio_to_timer_floor": wall / (rounds * one_wait),
        }));
    }
    Ok(json!({
        "side": "symphra",
        "n": dag.n,
        "layers": dag.layers,
        "critical_path": critical_path,
        "work": work,
        "runs": options.runs,
        "limits": rows,
    }))
}
