//! Issue 19, item 3: time spent in a guest is charged to that guest. A guest feeding
//! itself events is stopped at its own limit (not the manager's, and not blamed on the
//! module that published first), and a producer whose wait is cancelled never leaves
//! another module's instance unusable.

mod common;

use std::future::Future;
use std::task::Poll;
use std::time::Duration;

use common::{Guest, host};
use symphra::prelude::*;
use symphra::testing::EventRecorder;
use symphra_wasm::{Manifest, WasmModule};

fn load(manifest: &str, wasm: &[u8]) -> WasmModule {
    let manifest = Manifest::parse(manifest, "test/module.toml").unwrap();
    host()
        .load_bytes("test/module.wasm".as_ref(), wasm, manifest)
        .unwrap()
}

/// Publishes `loop.go` once when it starts, after `echo`.
struct Kicker;

impl Module for Kicker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("kicker").depends_on("echo")
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let event = symphra::bus::Event::json("loop.go", serde_json::json!({}))?;
        ctx.bus().publish_event(event).await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_03_a_guest_feeding_itself_is_stopped_at_its_own_limit() {
    // echo answers every `loop.*` by publishing `loop.go` again: forever.
    let mut g = Guest::new();
    let sub = g.subscribe("loop.*");
    let again = g.publish("loop.go", "{}");
    let echo = load(
        "name = \"echo\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"loop.*\"]\nsubscribe = [\"loop.*\"]\nhook-timeout = \"300ms\"\n",
        &g.hook("start", sub).hook("on-event", again).component(),
    );
    // The manager's limit is far above echo's: only echo's own limit can end the loop
    // before it.
    let manager = ModuleManager::builder()
        .module(echo.clone())
        .module(Kicker)
        .hook_timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let stopped = EventRecorder::new(manager.bus(), "module.stopped").unwrap();
    let report = match manager.start_all().await {
        Ok(report) => report,
        Err(symphra::Error::Start(error)) => error.into_report(),
        Err(other) => panic!("{other}"),
    };
    let kicker = report
        .modules()
        .iter()
        .find(|m| m.name() == "kicker")
        .unwrap();
    assert!(
        matches!(kicker.outcome(), symphra::manager::Outcome::Done),
        "the publisher is not blamed: {report}"
    );
    // echo's failure while running makes supervision stop it and kicker, which requires
    // it, once the start is over: wait for both stops rather than race them.
    stopped
        .wait_for(
            |event| event.source() == Some("kicker"),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let kicker = manager.module("kicker").unwrap();
    assert_eq!(kicker.state(), ModuleState::Stopped);
    assert!(kicker.failure().is_none(), "kicker did not fail");
    assert_eq!(
        kicker.stopped_because().as_deref(),
        Some("dependency \"echo\" failed")
    );
    stopped
        .wait_for(
            |event| event.source() == Some("echo"),
            Duration::from_secs(20),
        )
        .await
        .unwrap();
    let echo_handle = manager.module("echo").unwrap();
    assert_eq!(echo_handle.state(), ModuleState::Stopped);
    assert!(
        echo_handle.failure().is_some(),
        "echo is the one that failed"
    );
    assert!(
        echo_handle
            .stopped_because()
            .is_some_and(|why| why.starts_with("it failed")),
        "{:?}",
        echo_handle.stopped_because()
    );
    assert_eq!(echo.event_failures(), 1, "one timeout, charged to echo");
    assert!(echo.inbox_stats().delivered > 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_03_a_cancelled_publisher_never_breaks_the_receiver() {
    // calm: an event with payload `{}` makes it compute for a while; any other payload is
    // answered on `calm.pong`.
    let mut g = Guest::new();
    let sub = g.subscribe("calm.*");
    let pong = g.publish("calm.pong", "{}");
    let on_event = format!(
        "(local $i i32)
         (if (i32.eq (local.get 3) (i32.const 2)) (then
           (loop $spin
             (local.set $i (i32.add (local.get $i) (i32.const 1)))
             (br_if $spin (i32.lt_u (local.get $i) (i32.const 300000000))))
           (return (i32.const 0))))
         {pong}"
    );
    let calm = load(
        "name = \"calm\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"calm.pong\"]\nsubscribe = [\"calm.*\"]\nhook-timeout = \"60s\"\n",
        &g.hook("start", sub).hook("on-event", on_event).component(),
    );
    let manager = ModuleManager::builder()
        .module(calm.clone())
        .build()
        .unwrap();
    manager.start_all().await.unwrap();
    let (tx, mut pongs) = tokio::sync::mpsc::unbounded_channel();
    let _sub = manager
        .bus()
        .subscribe("calm.pong", move |_: &symphra::bus::Event| {
            let _ = tx.send(());
        })
        .unwrap();
    let bus = manager.bus();
    let event = |payload| symphra::bus::Event::json("calm.work", payload).unwrap();

    // A publisher polled once, while calm computes, then dropped: its wait is cancelled.
    {
        let mut publish = std::pin::pin!(bus.publish_event(event(serde_json::json!({}))));
        std::future::poll_fn(|cx| {
            let _ = publish.as_mut().poll(cx);
            Poll::Ready(())
        })
        .await;
    }
    // calm still answers, and nothing failed.
    bus.publish_event(event(serde_json::json!({ "ping": 1 })))
        .await;
    let answered = tokio::time::timeout(Duration::from_secs(60), pongs.recv()).await;
    assert!(
        matches!(answered, Ok(Some(()))),
        "calm must answer after the cancelled publisher"
    );
    assert_eq!(calm.event_failures(), 0);
    assert_eq!(
        manager.module("calm").unwrap().state(),
        ModuleState::Started
    );
    manager.stop_all().await.unwrap();
}
