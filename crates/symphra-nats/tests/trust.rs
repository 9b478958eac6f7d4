//! Issue 21, item 3: what keeps another client from speaking as a bridge. The bridge believes
//! the metadata of whoever may publish on its import subjects; the server's subject
//! permissions decide who that is (`crates/symphra-nats/README.md` shows the configuration,
//! which this test uses).

mod common;

use async_nats::HeaderMap;
use common::{NatsServer, Recorder, eventually};
use serde_json::json;
use symphra::bus::{Event, EventBus};
use symphra_nats::NatsBridge;

/// The README's configuration: bridges publish under `app.>`; other clients may publish only
/// under `app.in.>` (what bridges import from outside), never under `app.out.>`, where the
/// bridges export.
const CONFIG: &str = r#"
authorization {
  users = [
    { user: bridge, password: bridge-secret,
      permissions: { publish: ["app.>", "_INBOX.>"], subscribe: ["app.>", "_INBOX.>"] } }
    { user: client, password: client-secret,
      permissions: { publish: { allow: ["app.in.>", "_INBOX.>"], deny: ["app.out.>"] },
                     subscribe: ["app.out.>", "_INBOX.>"] } }
  ]
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_refuses_a_client_publishing_under_a_bridges_exports() {
    let server = NatsServer::with_config(CONFIG);
    let url = |user: &str, password: &str| {
        format!("nats://{user}:{password}@127.0.0.1:{}", server.port())
    };
    let (a_bus, b_bus) = (EventBus::new(), EventBus::new());
    let a = NatsBridge::builder(url("bridge", "bridge-secret"))
        .subject_prefix("app")
        .export("out.*")
        .metadata(true)
        .connect(&a_bus)
        .await
        .unwrap();
    let b = NatsBridge::builder(url("bridge", "bridge-secret"))
        .subject_prefix("app")
        .import("out.*")
        .import("in.*")
        .connect(&b_bus)
        .await
        .unwrap();
    let (seen, _sub) = Recorder::on(&b_bus, "*");

    // A client forges bridge A's origin on A's export subject: the server refuses it.
    let errors = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = errors.clone();
    let rogue = async_nats::ConnectOptions::new()
        .user_and_password("client".into(), "client-secret".into())
        .event_callback(move |event| {
            let counted = counted.clone();
            async move {
                if matches!(event, async_nats::Event::ServerError(_)) {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                }
            }
        })
        .connect(format!("nats://127.0.0.1:{}", server.port()))
        .await
        .unwrap();
    let mut forged = HeaderMap::new();
    forged.insert(
        "Symphra-Event",
        format!("{} 1 1 admin", a.origin()).as_str(),
    );
    rogue
        .publish_with_headers("app.out.order", forged.clone(), "{\"forged\":true}".into())
        .await
        .unwrap();
    // Where other clients may publish, they may: that is the bridge's import from outside.
    rogue
        .publish("app.in.hello", "{\"from\":\"client\"}".into())
        .await
        .unwrap();
    rogue.flush().await.unwrap();
    // Then A's real event on the same subject.
    a_bus
        .publish_event(Event::json("out.order", json!({"real": true})).unwrap())
        .await;
    a.flush().await.unwrap();

    let ok = eventually(common::WAIT, || seen.len() >= 2).await;
    assert!(ok, "{:?}", b.stats());
    let ok = eventually(common::WAIT, || {
        errors.load(std::sync::atomic::Ordering::SeqCst) >= 1
    })
    .await;
    assert!(
        ok,
        "the server told the rogue client its publish was refused"
    );
    b.flush().await.unwrap();
    let events = seen.events();
    assert_eq!(events.len(), 2, "{events:?}");
    let real = events.iter().find(|e| e.topic() == "out.order").unwrap();
    assert_eq!(real.json_value(), Some(&json!({"real": true})));
    assert_eq!(real.origin(), Some(a.origin()));
    let outside = events.iter().find(|e| e.topic() == "in.hello").unwrap();
    assert_eq!(outside.origin(), Some("nats"));
    assert_eq!(b.stats().imported, 2);
}
