//! Issue 19, item 4: a guest's inbox is bounded by count and bytes. A guest with a 2 MiB
//! memory limit that publishes 1 MiB payloads to its own subscription in a loop makes the
//! host hold at most the manifest's `inbox-bytes`; the rest is dropped and counted.

mod common;

use common::{Guest, host};
use symphra::prelude::*;
use symphra_wasm::Manifest;

const PAYLOAD: u32 = 1024 * 1024;
const ROUNDS: u32 = 12;

/// At start: subscribes to `flood.>`, writes a JSON string of 1 MiB at 8192, and publishes
/// it on `flood.x` `ROUNDS` times (all queued: the guest is running); `on-event` does
/// nothing.
fn flood_guest() -> Vec<u8> {
    let mut g = Guest::new();
    g.memory_pages = 24;
    let sub = g.subscribe("flood.>");
    let (topic, topic_len) = g.string("flood.x");
    let len = PAYLOAD + 2;
    let start = format!(
        r#"(local $n i32)
        {sub}
        (i32.store8 (i32.const 8192) (i32.const 34))
        (memory.fill (i32.const 8193) (i32.const 97) (i32.const {PAYLOAD}))
        (i32.store8 (i32.add (i32.const 8193) (i32.const {PAYLOAD})) (i32.const 34))
        (loop $again
          (call $publish (i32.const {topic}) (i32.const {topic_len}) (i32.const 8192) (i32.const {len}) (i32.const 64))
          (if (i32.load8_u (i32.const 64)) (then (return (i32.const 64))))
          (local.set $n (i32.add (local.get $n) (i32.const 1)))
          (br_if $again (i32.lt_u (local.get $n) (i32.const {ROUNDS}))))"#
    );
    // The test guest's allocator only bumps: each delivery starts the heap over.
    g.hook("start", start)
        .hook("on-event", "(global.set $heap (i32.const 16384))")
        .component()
}

/// Runs the flood guest with `inbox` (a manifest line, or nothing) in its
/// `[capabilities]`, and checks that its inbox held at most `bound` bytes: as many events
/// as fit, the rest dropped and counted.
async fn flood_is_bounded_by(inbox: &str, bound: u64) {
    let manifest = Manifest::parse(
        &format!(
            "name = \"flood\"\nversion = \"1.0.0\"\n[capabilities]\npublish = [\"flood.>\"]\nsubscribe = [\"flood.>\"]\nmemory-limit = \"2 MiB\"\n{inbox}\nhook-timeout = \"60s\"\n"
        ),
        "flood/module.toml",
    )
    .unwrap();
    let module = host()
        .load_bytes("flood/module.wasm".as_ref(), &flood_guest(), manifest)
        .unwrap();
    let manager = ModuleManager::builder()
        .module(module.clone())
        .build()
        .unwrap();
    let report = manager.start_all().await.unwrap();
    assert!(report.is_success(), "{report}");
    let stats = module.inbox_stats();
    assert!(
        stats.peak_bytes <= bound,
        "at most inbox-bytes held: {stats:?}"
    );
    let each = u64::from(PAYLOAD) + 2 + "flood.x".len() as u64;
    let fit = bound / each;
    assert_eq!(stats.peak_bytes, fit * each, "{stats:?}");
    assert_eq!(stats.delivered, fit, "{stats:?}");
    assert_eq!(stats.dropped_full, u64::from(ROUNDS) - fit, "{stats:?}");
    assert_eq!(stats.queued, 0);
    manager.stop_all().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_04_inbox_is_bounded_by_bytes_and_drops_are_counted() {
    flood_is_bounded_by("inbox-bytes = \"3 MiB\"", 3 * 1024 * 1024).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_inbox_bytes_in_the_manifest_the_inbox_holds_4_mib() {
    flood_is_bounded_by("", 4 * 1024 * 1024).await;
}

#[test]
fn item_04_inbox_limits_are_checked_in_the_manifest() {
    let head = "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\n";
    let manifest = Manifest::parse(
        &format!(
            "{head}inbox-events = 10\ninbox-bytes = \"1 MiB\"\ninbox-policy = \"drop-oldest\"\n"
        ),
        "m/module.toml",
    )
    .unwrap();
    assert_eq!(manifest.capabilities.inbox_events, 10);
    assert_eq!(manifest.capabilities.inbox_bytes, 1024 * 1024);
    for bad in [
        "inbox-events = 0",
        "inbox-bytes = \"2 GiB\"",
        "inbox-policy = \"drop-all\"",
    ] {
        assert!(
            Manifest::parse(&format!("{head}{bad}\n"), "m/module.toml").is_err(),
            "{bad}"
        );
    }
}
