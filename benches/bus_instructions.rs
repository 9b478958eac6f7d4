//! A fixed amount of bus work, for counting instructions: repeatable where wall-clock
//! timings on a shared machine are not (see docs/dev/builds-and-benchmarks.md).
//!
//! ```sh
//! cargo bench --bench bus_instructions --no-run     # prints the executable's path
//! valgrind --tool=callgrind <executable> exact 200000
//! valgrind --tool=callgrind <executable> fan100 20000
//! valgrind --tool=callgrind <executable> none 200000
//! ```
//!
//! Divide callgrind's `Collected` total by the count for instructions per publish.
//! Without arguments (as `cargo bench` runs it), a short run of each case checks that it
//! still works.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use symphra::bus::{Event, EventBus};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    match args.as_slice() {
        [case, count] => {
            let count: u64 = count
                .parse()
                .unwrap_or_else(|e| panic!("count {count:?}: {e}"));
            println!("{case}: {} handled", run(case, count));
        }
        _ => {
            for case in ["exact", "fan100", "none"] {
                println!("{case}: {} handled", run(case, 100));
            }
        }
    }
}

/// Publishes `count` events on a bus with the subscribers `case` names; how many handler
/// calls there were.
fn run(case: &str, count: u64) -> u64 {
    let subscribers = match case {
        "exact" => 1,
        "fan100" => 100,
        "none" => 0,
        other => panic!("unknown case {other:?}: exact, fan100 or none"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let bus = EventBus::new();
    let handled = Arc::new(AtomicU64::new(0));
    let _subscriptions: Vec<_> = (0..subscribers)
        .map(|_| {
            let handled = Arc::clone(&handled);
            bus.subscribe("bench.topic", move |_: &Event| {
                handled.fetch_add(1, Ordering::Relaxed);
            })
            .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    runtime.block_on(async {
        for i in 0..count {
            let report = bus.publish(std::hint::black_box("bench.topic"), i).await;
            std::hint::black_box(report.is_ok());
        }
    });
    handled.load(Ordering::Relaxed)
}
