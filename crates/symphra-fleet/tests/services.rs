//! Services across processes, against a real `nats-server`: three replicas of the test
//! application (separate processes) expose `greet`; this process calls it.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Cluster, Events, Replicas};
use serde::Deserialize;
use symphra_fleet::services::{MAX_PAYLOAD, subject};
use symphra_fleet::{CallError, ServiceFailure, Services};

/// Generous: a call on an idle loopback takes well under a millisecond.
const CALL: Duration = Duration::from_secs(5);

#[derive(Debug, Deserialize)]
struct Greeting {
    replica: String,
    echo: String,
}

/// Starts a three-server cluster and `count` replicas serving `greet`, and waits until each serves.
fn serve_greet(count: usize) -> (Events, Cluster, Replicas) {
    let mut events = Events::new();
    let cluster = Cluster::start(3, &mut events);
    let mut replicas = Replicas::new();
    for _ in 0..count {
        replicas.spawn_with(&events, &cluster.urls(0), 3000, 1, &["--serve", "greet"]);
    }
    events.wait_count(
        "replicas serving greet",
        count,
        Duration::from_secs(60),
        |l| l.text == "SERVING greet",
    );
    (events, cluster, replicas)
}

async fn connect(cluster: &Cluster) -> async_nats::Client {
    let urls: Vec<String> = cluster.urls(0).split(',').map(str::to_owned).collect();
    async_nats::connect(urls)
        .await
        .expect("connect to the test cluster")
}

/// A runtime for the calling side; the processes are started (and waited for, blocking)
/// outside it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

#[test]
fn calls_across_processes_share_the_load_and_report_each_error() {
    let (_events, cluster, _replicas) = serve_greet(3);
    runtime().block_on(async {
        let client = connect(&cluster).await;
        let services = Services::new(client.clone());
        assert!(!services.is_local("greet"));

        // Load is shared: each of the three processes answers some of the calls.
        let calls = 90;
        let mut per_replica: BTreeMap<String, usize> = BTreeMap::new();
        for i in 0..calls {
            let echo = format!("hello {i}");
            let answer: Greeting = services
                .call_json("greet", &echo, CALL)
                .await
                .expect("a call to greet");
            assert_eq!(answer.echo, echo);
            *per_replica.entry(answer.replica).or_default() += 1;
        }
        assert_eq!(per_replica.len(), 3, "answers per replica: {per_replica:?}");
        assert_eq!(per_replica.values().sum::<usize>(), calls);
        assert!(per_replica.values().all(|&n| n > 0), "{per_replica:?}");

        // The handler's failure travels back as a typed remote error.
        match services
            .call_json::<_, Greeting>("greet", &"fail", CALL)
            .await
        {
            Err(CallError::Remote {
                service,
                code,
                message,
            }) => {
                assert_eq!((service.as_str(), code), ("greet", 500));
                assert_eq!(message, "asked to fail");
            }
            other => panic!("expected a remote failure, got {other:?}"),
        }
        // A handler that panics answers 500, and its replica goes on serving.
        for _ in 0..3 {
            match services
                .call_json::<_, Greeting>("greet", &"panic", CALL)
                .await
            {
                Err(CallError::Remote {
                    code: 500, message, ..
                }) => {
                    assert!(message.contains("panicked"), "{message}");
                }
                other => panic!("expected a remote 500, got {other:?}"),
            }
        }
        let mut after_panics = BTreeMap::<String, usize>::new();
        for _ in 0..30 {
            let answer: Greeting = services
                .call_json("greet", &"again", CALL)
                .await
                .expect("a call");
            *after_panics.entry(answer.replica).or_default() += 1;
        }
        assert_eq!(
            after_panics.len(),
            3,
            "every replica still serves: {after_panics:?}"
        );

        // A request the handler cannot decode: its 400 comes back.
        match services.call("greet", "not json".into(), CALL).await {
            Err(CallError::Remote { code: 400, .. }) => {}
            other => panic!("expected a remote 400, got {other:?}"),
        }

        // A responder that never answers: the call gives up at its timeout.
        let short = Duration::from_millis(300);
        match services
            .call_json::<_, Greeting>("greet", &"hang", short)
            .await
        {
            Err(CallError::Timeout { service, after }) => {
                assert_eq!((service.as_str(), after), ("greet", short));
            }
            other => panic!("expected a timeout, got {other:?}"),
        }

        // Nobody serves this name.
        match services.call("nobody", "{}".into(), CALL).await {
            Err(CallError::NoResponders { service }) => assert_eq!(service, "nobody"),
            other => panic!("expected no responders, got {other:?}"),
        }

        // An answer that is not what the caller expects.
        match services.call_json::<_, u64>("greet", &"hi", CALL).await {
            Err(CallError::InvalidAnswer { reason, .. }) => {
                assert!(reason.contains("replica"), "quotes the answer: {reason}");
            }
            other => panic!("expected an invalid answer, got {other:?}"),
        }

        // Requests that cannot be sent.
        let big = bytes::Bytes::from(vec![b'x'; MAX_PAYLOAD + 1]);
        assert!(matches!(
            services.call("greet", big, CALL).await,
            Err(CallError::InvalidRequest { .. })
        ));
        let long_name = "a.b".repeat(100);
        match services.call(&long_name, "{}".into(), CALL).await {
            Err(CallError::InvalidRequest { service, .. }) => assert!(service.len() <= 64),
            other => panic!("expected an invalid request, got {other:?}"),
        }
    });
}

#[test]
fn the_services_protocol_sees_the_service() {
    let (_events, cluster, _replicas) = serve_greet(2);
    runtime().block_on(async {
        let client = connect(&cluster).await;

        let ping = client
            .request("$SRV.PING.greet", "".into())
            .await
            .expect("a replica answers $SRV.PING.greet");
        let ping: serde_json::Value = serde_json::from_slice(&ping.payload).expect("JSON");
        assert_eq!(ping["name"], "greet");
        assert_eq!(ping["type"], "io.nats.micro.v1.ping_response");

        let info = client
            .request("$SRV.INFO.greet", "".into())
            .await
            .expect("a replica answers $SRV.INFO.greet");
        let info: serde_json::Value = serde_json::from_slice(&info.payload).expect("JSON");
        let endpoint = &info["endpoints"][0];
        assert_eq!(endpoint["subject"], subject("greet").as_str());
        assert_eq!(endpoint["queue_group"], subject("greet").as_str());
    });
}

#[test]
fn a_service_of_this_process_is_called_without_nats() {
    // Two replicas serve greet remotely; this process serves it too: every call must be
    // answered here, where a queue group would have spread them over all three.
    let (_events, cluster, _replicas) = serve_greet(2);
    runtime().block_on(async {
        let services = Services::new(connect(&cluster).await);
        let exposed = services
            .expose("greet", |_request| async {
                Ok(bytes::Bytes::from_static(
                    br#"{"replica":"local","echo":""}"#,
                ))
            })
            .await
            .expect("expose greet here");
        assert!(services.is_local("greet"));
        for _ in 0..30 {
            let answer: Greeting = services.call_json("greet", &"x", CALL).await.expect("call");
            assert_eq!(answer.replica, "local");
        }
        // A second exposure of the same name in one process is refused.
        assert!(services.expose("greet", |r| async { Ok(r) }).await.is_err());

        // Local calls keep the same typed errors.
        let hang = services
            .expose("hang", |_r| std::future::pending())
            .await
            .expect("expose hang");
        let short = Duration::from_millis(100);
        assert!(matches!(
            services.call("hang", "".into(), short).await,
            Err(CallError::Timeout { .. })
        ));
        let fail = services
            .expose("fail", |_r| async {
                Err(ServiceFailure::bad_request("no"))
            })
            .await
            .expect("expose fail");
        assert!(matches!(
            services.call("fail", "".into(), CALL).await,
            Err(CallError::Remote { code: 400, .. })
        ));

        // Withdrawn, the name is called through NATS again, on the replicas.
        exposed.withdraw().await;
        assert!(!services.is_local("greet"));
        let answer: Greeting = services.call_json("greet", &"x", CALL).await.expect("call");
        assert_ne!(answer.replica, "local");
        drop((hang, fail));
    });
}

#[test]
fn calls_keep_working_when_a_nats_node_dies() {
    let mut events = Events::new();
    let mut cluster = Cluster::start(3, &mut events);
    let mut replicas = Replicas::new();
    // Replica i connects to server i first: replica 0 loses its server below.
    for i in 0..3 {
        replicas.spawn_with(&events, &cluster.urls(i), 3000, 3, &["--serve", "greet"]);
    }
    events.wait_count("replicas serving greet", 3, Duration::from_secs(60), |l| {
        l.text == "SERVING greet"
    });
    runtime().block_on(async {
        // The caller is on server 1, which stays up.
        let urls: Vec<String> = cluster.urls(1).split(',').map(str::to_owned).collect();
        let services = Services::new(async_nats::connect(urls).await.expect("connect"));
        let _: Greeting = services
            .call_json("greet", &"up", CALL)
            .await
            .expect("a call");

        cluster.kill(0);
        // Until every replica has answered since, the one that was on server 0 through
        // another server.
        let short = Duration::from_secs(1);
        let mut answered: BTreeMap<String, usize> = BTreeMap::new();
        let mut failed = 0;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while answered.len() < 3 && std::time::Instant::now() < deadline {
            match services
                .call_json::<_, Greeting>("greet", &"x", short)
                .await
            {
                Ok(answer) => *answered.entry(answer.replica).or_default() += 1,
                // A request routed to the dead server's replica before the cluster noticed.
                Err(CallError::Timeout { .. } | CallError::NoResponders { .. }) => failed += 1,
                Err(other) => panic!("unexpected error with a server down: {other}"),
            }
        }
        eprintln!("after the kill: answers {answered:?}, {failed} calls lost");
        assert_eq!(
            answered.len(),
            3,
            "every replica serves again: {answered:?}"
        );
        // Once every replica is back, every call succeeds.
        for _ in 0..30 {
            let _: Greeting = services
                .call_json("greet", &"x", CALL)
                .await
                .expect("a call");
        }
    });
}
