//! Issue 19, item 2: a trap in `on-event` is a failure, never a zombie: the hook in whose
//! delivery run it happened fails, the module is `Failed`, and every event that could not
//! be delivered is counted.

mod common;

use common::{Guest, host};
use symphra::prelude::*;
use symphra_wasm::Manifest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_02_trap_in_on_event_fails_the_module_and_counts_every_event() {
    // At start the guest subscribes to its own topics and publishes three events on them
    // (queued: it is running); the first delivery traps.
    let mut g = Guest::new();
    let sub = g.subscribe("self.>");
    let publish = g.publish("self.a", "{}");
    let start = format!("{sub}\n{publish}\n{publish}\n{publish}");
    let wasm = g
        .hook("start", start)
        .hook("on-event", "unreachable")
        .component();
    let manifest = Manifest::parse(
        "name = \"zombie\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"self.>\"]\nsubscribe = [\"self.>\"]\n",
        "zombie/module.toml",
    )
    .unwrap();
    let module = host()
        .load_bytes("zombie/module.wasm".as_ref(), &wasm, manifest)
        .unwrap();
    let manager = ModuleManager::builder()
        .module(module.clone())
        .build()
        .unwrap();
    let report = match manager.start_all().await {
        Ok(report) => report,
        Err(symphra::Error::Start(error)) => error.into_report(),
        Err(other) => panic!("{other}"),
    };
    assert!(!report.is_success(), "{report}");
    assert!(report.to_string().contains("trapped"), "{report}");
    assert_eq!(
        manager.module("zombie").unwrap().state(),
        ModuleState::Failed
    );
    assert_eq!(module.event_failures(), 1);
    let stats = module.inbox_stats();
    assert_eq!(stats.delivered, 1, "{stats:?}");
    assert_eq!(
        stats.dropped_no_instance + stats.dropped_stopped,
        2,
        "the two events after the trap are counted: {stats:?}"
    );
    assert_eq!(stats.queued, 0, "{stats:?}");
}
