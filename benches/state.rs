//! Durable state writes per second, beside the floor of appending a line to a file and
//! fsyncing it, measured in the same run on the same disk.
//!
//! ```sh
//! cargo bench --bench state                 # 3 rounds of 300 writes each
//! cargo bench --bench state -- --quick      # one small round (CI smoke)
//! ```

use std::fs::OpenOptions;
use std::io::Write;
use std::time::{Duration, Instant};

use symphra::state::{Change, RedbStore, StateStore};

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn per_second(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|arg| arg == "--quick");
    let (rounds, writes) = if quick { (1, 30) } else { (3, 300) };
    let dir = tempfile::tempdir()?;
    let store = RedbStore::open(dir.path().join("state.redb"))?;
    let mut floor = OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.path().join("floor.log"))?;

    let (mut store_rates, mut batch_rates, mut floor_rates) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        // The floor: one line appended and fsynced per write.
        let began = Instant::now();
        for n in 0..writes {
            writeln!(floor, "m{:04} started 1.0.{round}.{n}", n % 100)?;
            floor.sync_data()?;
        }
        floor_rates.push(per_second(writes, began.elapsed()));

        // The store: one durable transaction per change.
        let began = Instant::now();
        for n in 0..writes {
            store.apply(&[(
                format!("m{:04}", n % 100),
                Change::Started(format!("1.{round}.{n}")),
            )])?;
        }
        store_rates.push(per_second(writes, began.elapsed()));

        // The store as the manager uses it: an operation's changes in one transaction.
        let batch: Vec<(String, Change)> = (0..100)
            .map(|n| {
                (
                    format!("m{n:04}"),
                    Change::Started(format!("2.{round}.{n}")),
                )
            })
            .collect();
        let began = Instant::now();
        let batches = (writes / 100).max(1);
        for _ in 0..batches {
            store.apply(&batch)?;
        }
        batch_rates.push(per_second(batches * batch.len(), began.elapsed()));
    }
    let (store_rate, batch_rate, floor_rate) = (
        median(store_rates),
        median(batch_rates),
        median(floor_rates),
    );
    println!("durable writes per second (median of {rounds} rounds of {writes}):");
    println!("  append + fsync floor        {floor_rate:>10.0}/s");
    println!(
        "  state store, 1 per commit   {store_rate:>10.0}/s   ({:.2}x the floor)",
        store_rate / floor_rate
    );
    println!(
        "  state store, 100 per commit {batch_rate:>10.0}/s   ({:.2}x the floor)",
        batch_rate / floor_rate
    );
    Ok(())
}
