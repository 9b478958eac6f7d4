//! Fleet-wide desired state across real processes: a decision written once reaches every
//! replica, a replica started later applies it too, and it keeps working with a NATS node
//! down.

mod common;

use std::time::Duration;

use common::{Cluster, Events, LOG_SOURCE, Line, Replicas};
use futures_util::StreamExt;
use symphra_fleet::{Decision, FleetStatus};

/// How long the cluster and the replicas may take to come up.
const STARTUP: Duration = Duration::from_secs(60);
/// The documented bound for a decision to reach a replica and its module to stop or start
/// (a push over NATS, then the module's hook), with room for a loaded test machine.
const APPLIED: Duration = Duration::from_secs(10);
/// The documented bound for a decision to reach a replica whose watch went silent, its
/// connection being fine: one resync period (1 s for the test replicas' 500 ms heartbeat)
/// plus two JetStream requests of at most 2 s each.
const RESYNCED: Duration = Duration::from_secs(5);

fn web(prefix: &'static str, from: usize) -> impl FnMut(&Line) -> bool {
    move |line| line.source == from && line.text.starts_with(prefix)
}

fn decide(runtime: &tokio::runtime::Runtime, urls: &str, decision: Decision) {
    runtime.block_on(async {
        let urls: Vec<String> = urls.split(',').map(str::to_owned).collect();
        let client = async_nats::connect(urls).await.expect("connect");
        let jetstream = async_nats::jetstream::new(client);
        symphra_fleet::decide(&jetstream, "web", decision, 3)
            .await
            .expect("the decision is written");
    });
}

fn status(runtime: &tokio::runtime::Runtime, urls: &str) -> FleetStatus {
    runtime.block_on(async {
        let urls: Vec<String> = urls.split(',').map(str::to_owned).collect();
        let client = async_nats::connect(urls).await.expect("connect");
        let jetstream = async_nats::jetstream::new(client);
        FleetStatus::read(&jetstream).await.expect("the status")
    })
}

#[test]
fn a_decision_reaches_every_replica_including_later_ones() {
    decisions_reach_every_replica(false);
}

/// The same, then a NATS node is killed and two more decisions are written: every replica
/// applies them within [`APPLIED`] of their write. A replica whose watch died with the node
/// gets them through its reconciler's resync check (docs/fleet.md: one resync period plus
/// its reconnection and two JetStream requests); before that check read a fresh revision,
/// in 3 of 7 runs a replica had not applied them after 60 s.
#[test]
fn decisions_reach_every_replica_with_a_nats_node_down() {
    decisions_reach_every_replica(true);
}

/// A watch whose consumer is gone stays silent, with no error, until async-nats notices
/// two missed idle heartbeats (5 s apart): deleting the replica's watch consumer on the
/// server makes that happen on purpose. The next decision must still be applied, by the
/// reconciler's resync check (its log says so), within [`RESYNCED`].
#[test]
fn a_decision_reaches_a_replica_whose_watch_went_silent() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut events = Events::new();
    let cluster = Cluster::start(3, &mut events);
    let mut replicas = Replicas::new();
    let replica = replicas.spawn(&events, &cluster.urls(0), 3000, 3);
    events.wait("web started", STARTUP, web("STARTED web", replica));
    events.wait("the replica ready", STARTUP, web("READY", replica));

    // Every consumer of the decisions' stream is the replica's watch (an orphan of a
    // creation that timed out while the cluster formed, at most, besides it).
    let deleted = runtime.block_on(async {
        let urls: Vec<String> = cluster.urls(0).split(',').map(str::to_owned).collect();
        let client = async_nats::connect(urls).await.expect("connect");
        let jetstream = async_nats::jetstream::new(client);
        // A cluster that has just formed times requests out for a few seconds.
        let deadline = std::time::Instant::now() + STARTUP;
        loop {
            match delete_consumers(&jetstream).await {
                Ok(deleted) if deleted > 0 => break deleted,
                Ok(_) | Err(_) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                outcome => panic!("no watch consumer deleted: {outcome:?}"),
            }
        }
    });
    eprintln!("deleted {deleted} consumer(s)");

    events.mark();
    decide(&runtime, &cluster.urls(0), Decision::Disable);
    let written = std::time::Instant::now();
    let stopped = events.wait(
        "web stopped by the decision",
        RESYNCED,
        web("STOPPED web", replica),
    );
    eprintln!(
        "applied {:?} after the write",
        stopped.at.saturating_duration_since(written)
    );
    // The reconciler logs it after applying what it read.
    events.wait("the resync check's log", RESYNCED, |line| {
        line.source == LOG_SOURCE + replica && line.text.contains("watch fell behind")
    });
}

/// Deletes every consumer of the decisions' stream; returns how many.
async fn delete_consumers(
    jetstream: &async_nats::jetstream::Context,
) -> Result<usize, async_nats::Error> {
    let stream = jetstream.get_stream("KV_symphra-desired").await?;
    let names: Vec<String> = stream
        .consumer_names()
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()?;
    for name in &names {
        stream.delete_consumer(name).await?;
    }
    Ok(names.len())
}

fn decisions_reach_every_replica(with_a_node_down: bool) {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let mut events = Events::new();
    let mut cluster = Cluster::start(3, &mut events);
    let mut replicas = Replicas::new();
    for i in 0..3 {
        replicas.spawn(&events, &cluster.urls(i), 3000, 3);
    }
    for i in 0..3 {
        events.wait("a started web", STARTUP, web("STARTED web", i));
    }

    // Disable: web stops on every replica.
    events.mark();
    decide(&runtime, &cluster.urls(0), Decision::Disable);
    for i in 0..3 {
        events.wait(
            "web stopped by the decision",
            APPLIED,
            web("STOPPED web", i),
        );
    }

    // A replica started later applies it before it starts anything.
    let late = replicas.spawn(&events, &cluster.urls(1), 3000, 3);
    events.wait("the late replica ready", STARTUP, web("READY", late));
    let started_late = events
        .seen
        .iter()
        .any(|line| line.source == late && line.text.starts_with("STARTED web"));
    assert!(!started_late, "the late replica started a disabled module");
    // Its first heartbeat may follow its start: the status is read until it lists all four.
    let deadline = std::time::Instant::now() + APPLIED;
    let fleet = loop {
        let fleet = status(&runtime, &cluster.urls(2));
        if fleet.replicas.len() == 4 || std::time::Instant::now() > deadline {
            break fleet;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(fleet.replicas.len(), 4, "{}", fleet.table());
    for state in fleet.replicas.values() {
        let web = state.modules.iter().find(|m| m.name == "web").expect("web");
        assert_ne!(web.state, "started", "{}", fleet.table());
    }
    assert!(fleet.table().contains("disabled"), "{}", fleet.table());

    if !with_a_node_down {
        return;
    }
    // With a NATS node down, a new decision still reaches every replica: enabled with a
    // configuration override, web starts everywhere with it.
    cluster.kill(0);
    events.mark();
    let decided = std::time::Instant::now();
    decide(&runtime, &cluster.urls(1), Decision::Enable);
    let port = serde_json::json!({ "port": 8080 });
    decide(&runtime, &cluster.urls(1), Decision::Config(port));
    let written = std::time::Instant::now();
    eprintln!(
        "decisions written {:?} after the server died",
        written - decided
    );
    // The bound runs from the write: a write itself waits for the bucket to have a leader.
    for i in 0..4 {
        let left = APPLIED.saturating_sub(written.elapsed());
        let line = events.wait("web started with the override", left, |line| {
            line.source == i && line.text.starts_with("STARTED web") && line.text.contains("8080")
        });
        eprintln!(
            "replica {i} applied them {:?} after they were written",
            line.at.saturating_duration_since(written)
        );
    }
}
