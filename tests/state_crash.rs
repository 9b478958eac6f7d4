//! A process killed with SIGKILL in the middle of a burst of writes, a hundred times at
//! random points: the store always opens afterwards with every acknowledged write present.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use symphra::state::{Change, RedbStore, StateStore};

const CHILD_PATH: &str = "SYMPHRA_CRASH_CHILD_PATH";
const CHILD_FROM: &str = "SYMPHRA_CRASH_CHILD_FROM";

fn key(n: u64) -> String {
    format!("k{n:07}")
}

/// The writer, run only as a child of the test below: writes one record per transaction
/// and prints `ack N` once each has been committed.
#[test]
fn child_writer() {
    let (Ok(path), Ok(from)) = (std::env::var(CHILD_PATH), std::env::var(CHILD_FROM)) else {
        return;
    };
    let from: u64 = from.parse().expect("a start number");
    let store = RedbStore::open(path).expect("the store opens");
    let mut out = std::io::stdout().lock();
    for n in from.. {
        store
            .apply(&[(key(n), Change::Started(n.to_string()))])
            .expect("a durable write");
        writeln!(out, "ack {n}").expect("stdout");
        out.flush().expect("stdout");
    }
}

#[test]
fn every_acknowledged_write_survives_sigkill_at_random_points() {
    if std::env::var(CHILD_PATH).is_ok() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let exe = std::env::current_exe().unwrap();
    let mut rng = fastrand::Rng::with_seed(20261126);
    let mut acknowledged: Vec<u64> = Vec::new();
    let mut next = 0_u64;
    for round in 0..100 {
        // Sometimes before the first write completes, mostly somewhere in a burst.
        let kill_after = if round % 10 == 0 { 0 } else { rng.usize(1..25) };
        let mut child = Command::new(&exe)
            .args(["--exact", "child_writer", "--nocapture", "--test-threads=1"])
            .env(CHILD_PATH, &path)
            .env(CHILD_FROM, next.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut acks = 0;
        if kill_after > 0 {
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                if let Some(n) = line.strip_prefix("ack ") {
                    acknowledged.push(n.parse().unwrap());
                    acks += 1;
                    if acks == kill_after {
                        break;
                    }
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();

        let store = RedbStore::open(&path).unwrap_or_else(|e| panic!("round {round}: {e}"));
        let all = store.all().unwrap();
        for &n in &acknowledged {
            let record = all
                .get(&key(n))
                .unwrap_or_else(|| panic!("round {round}: acknowledged write {n} lost"));
            assert_eq!(
                record.started_version.as_deref(),
                Some(n.to_string().as_str())
            );
        }
        // Writes past the last acknowledgement may or may not have landed; start after them.
        next = all
            .keys()
            .filter_map(|k| k[1..].parse::<u64>().ok())
            .max()
            .map_or(0, |n| n + 1);
    }
    assert!(
        acknowledged.len() > 500,
        "only {} writes were acknowledged",
        acknowledged.len()
    );
}
