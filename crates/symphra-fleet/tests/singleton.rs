//! Singleton modules across real processes: three replicas of the test application on a
//! three-node JetStream cluster, the leases in an R3 bucket. The holder is killed, frozen
//! past its lease and resumed, and a NATS node is killed; the fenced ledger the singleton
//! writes must show one writer at a time throughout.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Cluster, Events, Line, Replicas};
use symphra_fleet::LeaseTiming;

/// The test's lease TTL.
const TTL_MS: u64 = 3000;
/// Time on top of the documented takeover bound: the server's expiry timer, starting the
/// module, and a loaded test machine.
const SLACK: Duration = Duration::from_secs(3);
/// How long the cluster and the replicas may take to come up.
const STARTUP: Duration = Duration::from_secs(60);

fn is(prefix: &'static str, from: Option<usize>) -> impl FnMut(&Line) -> bool {
    move |line| line.text.starts_with(prefix) && from.is_none_or(|source| line.source == source)
}

fn token_of(line: &Line) -> u64 {
    line.text
        .split_whitespace()
        .find_map(|word| word.strip_prefix("token="))
        .and_then(|token| token.parse().ok())
        .unwrap_or_else(|| panic!("no token in {:?}", line.text))
}

#[test]
fn one_replica_runs_the_singleton_through_kills_freezes_and_a_lost_server() {
    let timing = LeaseTiming::new(Duration::from_millis(TTL_MS)).expect("valid timing");
    let bound = timing.takeover_bound() + SLACK;
    let mut events = Events::new();
    let mut cluster = Cluster::start(3, &mut events);
    let mut replicas = Replicas::new();
    for i in 0..3 {
        replicas.spawn(&events, &cluster.urls(i), TTL_MS, 3);
    }
    events.wait_count("three ready replicas", 3, STARTUP, is("READY", None));

    // One holder, writing.
    let first = events
        .wait("a lease", STARTUP, is("LEASE ticker", None))
        .source;
    // The first write also waits for the ledger stream's leader, elected once the
    // cluster formed: a start-up bound, not the takeover bound.
    events.wait(
        "a write of the first holder",
        STARTUP,
        is("WROTE", Some(first)),
    );

    // SIGKILL the holder: another replica runs the singleton within the bound.
    events.mark();
    replicas.signal(first, "KILL");
    let killed = std::time::Instant::now();
    let started = events.wait("a takeover after SIGKILL", bound, |line| {
        line.source != first && line.text.starts_with("STARTED ticker")
    });
    let second = started.source;
    eprintln!("takeover after SIGKILL: {:?}", started.at - killed);
    events.wait(
        "a write of the second holder",
        bound,
        is("WROTE", Some(second)),
    );

    // SIGSTOP the holder past its TTL: the third replica takes over and writes.
    events.mark();
    replicas.signal(second, "STOP");
    let third_started = events.wait("a takeover after SIGSTOP", bound, |line| {
        line.source != second && line.text.starts_with("STARTED ticker")
    });
    let third = third_started.source;
    let third_start_token = token_of(&third_started);
    assert_ne!(third, first, "the killed replica came back");
    events.wait_count(
        "writes of the third holder",
        3,
        bound,
        is("WROTE", Some(third)),
    );

    // SIGCONT: the frozen replica finds its lease gone and stops its module, writing
    // nothing; the third holder keeps writing.
    let resumed_from = events.mark();
    replicas.signal(second, "CONT");
    events.wait(
        "the resumed replica's loss",
        bound,
        is("LOST ticker", Some(second)),
    );
    events.wait(
        "the resumed replica's stop",
        bound,
        is("STOPPED ticker", Some(second)),
    );
    events.wait_count(
        "writes after the resume",
        5,
        bound,
        is("WROTE", Some(third)),
    );

    // Kill a NATS node: leases keep working (the holder keeps its lease, or a replica
    // takes over), and the singleton keeps writing.
    let after_node_loss = events.mark();
    cluster.kill(0);
    events.wait_count(
        "writes after a server died",
        20,
        bound * 3,
        is("WROTE", None),
    );

    // After the node loss the lease may move again, to the resumed replica among others:
    // its writes under a newer lease are legitimate; one under a token no newer than the
    // third holder's would be the stale write the fence must prevent.
    let stale_writes: Vec<&Line> = events.seen[resumed_from..]
        .iter()
        .filter(|line| {
            line.source == second
                && line.text.starts_with("WROTE")
                && token_of(line) <= third_start_token
        })
        .collect();
    assert!(
        stale_writes.is_empty(),
        "the resumed replica wrote: {stale_writes:?}"
    );
    let losses_after_node_loss = events.seen[after_node_loss..]
        .iter()
        .filter(|line| line.text.starts_with("LOST"))
        .count();
    eprintln!("leases lost after the node was killed: {losses_after_node_loss}");

    // The fenced ledger: tokens never go down, and each token has one writer.
    let ledger = read_ledger(&cluster.urls(1));
    assert!(ledger.len() >= 30, "only {} ledger lines", ledger.len());
    let mut writers: BTreeMap<u64, String> = BTreeMap::new();
    let mut last = 0;
    for (token, replica) in &ledger {
        assert!(
            *token >= last,
            "token {token} written after token {last}: {ledger:?}"
        );
        last = *token;
        let writer = writers.entry(*token).or_insert_with(|| replica.clone());
        assert_eq!(writer, replica, "two writers with token {token}");
    }
    assert!(writers.len() >= 3, "three holders wrote: {writers:?}");

    // The SIGSTOP'd holder's writes all precede the third holder's.
    let second_token = events
        .seen
        .iter()
        .find(|l| l.source == second && l.text.starts_with("LEASE"))
        .map(token_of);
    let third_token = events
        .seen
        .iter()
        .find(|l| l.source == third && l.text.starts_with("LEASE"))
        .map(token_of);
    assert!(
        second_token < third_token,
        "{second_token:?} then {third_token:?}"
    );
}

/// Every line of the ledger, as (token, replica), in order.
fn read_ledger(urls: &str) -> Vec<(u64, String)> {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    runtime.block_on(async {
        let urls: Vec<String> = urls.split(',').map(str::to_owned).collect();
        let client = async_nats::connect(urls)
            .await
            .expect("connect to the cluster");
        let jetstream = async_nats::jetstream::new(client);
        let mut stream = jetstream
            .get_stream("LEDGER")
            .await
            .expect("the ledger stream");
        let info = stream.info().await.expect("the ledger's state");
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let mut lines = Vec::new();
        for sequence in first..=last {
            let message = stream
                .get_raw_message(sequence)
                .await
                .expect("a ledger line");
            let line: serde_json::Value =
                serde_json::from_slice(&message.payload).expect("a JSON ledger line");
            let token = line["token"].as_u64().expect("a token");
            let replica = line["replica"].as_str().expect("a replica").to_owned();
            lines.push((token, replica));
        }
        lines
    })
}
