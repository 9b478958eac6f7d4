//! Issue 22: the limits a guest's store enforces, at their edges. Memory grows up to its
//! limit exactly and not a page more; a table grows up to a million entries and not one
//! more; a refusal is forgotten by the next call, whose own trap is reported as such.

mod common;

use common::Guest;
use symphra::Hook;
use symphra_wasm::{HostConfig, Manifest, WasmHost, WasmModule};

/// A host without pooling: the pool bounds tables below the limit tested here.
fn host() -> WasmHost {
    WasmHost::new(HostConfig::default().pooling(false)).expect("host")
}

fn load(wat: &str, capabilities: &str) -> WasmModule {
    let text = format!("name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\n{capabilities}\n");
    let manifest = Manifest::parse(&text, "m/module.toml").expect("manifest");
    let wasm = common::encode(wat, &common::wit_dir(), "module");
    host()
        .load_bytes("m/module.wasm".as_ref(), &wasm, manifest)
        .expect("load")
}

#[tokio::test]
async fn memory_grows_to_its_limit_exactly_and_not_a_page_more() {
    let mut g = Guest::new();
    let short = g.fail("refused below the limit");
    let over = g.fail("grew past the limit");
    // 1 MiB is 16 pages of 64 KiB.
    let start = format!(
        "(if (i32.eq (memory.grow (i32.sub (i32.const 16) (memory.size))) (i32.const -1)) (then {short}))
         (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then {over}))"
    );
    let module = load(&g.hook("start", start).wat(), "memory-limit = \"1 MiB\"");
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Start).await.unwrap();
}

#[tokio::test]
async fn a_table_grows_to_a_million_entries_and_not_one_more() {
    let mut g = Guest::new();
    let short = g.fail("refused below the limit");
    let over = g.fail("grew past the limit");
    let start = format!(
        "(if (i32.eq (table.grow $t (ref.null func) (i32.const 1000000)) (i32.const -1)) (then {short}))
         (if (i32.ne (table.grow $t (ref.null func) (i32.const 1)) (i32.const -1)) (then {over}))"
    );
    // Declared after the imports, which must come first.
    let wat = g.hook("start", start).wat().replacen(
        "(memory (export",
        "(table $t 0 funcref)\n  (memory (export",
        1,
    );
    let module = load(&wat, "");
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Start).await.unwrap();
}

#[tokio::test]
async fn a_refusal_is_forgotten_by_the_next_call() {
    // `start` is refused memory and carries on; `stop` then traps on its own.
    let wat = Guest::new()
        .hook("start", "(drop (memory.grow (i32.const 64)))")
        .hook("stop", "unreachable")
        .wat();
    let module = load(&wat, "memory-limit = \"1 MiB\"");
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Start).await.unwrap();
    let error = module.call_hook(Hook::Stop).await.unwrap_err().to_string();
    assert!(error.contains("unreachable"), "{error}");
    assert!(!error.contains("limit"), "{error}");
}

#[tokio::test]
async fn without_a_limit_in_the_manifest_memory_grows_to_64_mib_and_not_a_page_more() {
    let mut g = Guest::new();
    let short = g.fail("refused below the default limit");
    let over = g.fail("grew past the default limit");
    // 64 MiB is 1,024 pages of 64 KiB.
    let start = format!(
        "(if (i32.eq (memory.grow (i32.sub (i32.const 1024) (memory.size))) (i32.const -1)) (then {short}))
         (if (i32.ne (memory.grow (i32.const 1)) (i32.const -1)) (then {over}))"
    );
    let module = load(&g.hook("start", start).wat(), "");
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Start).await.unwrap();
}

#[tokio::test]
async fn a_guest_that_works_for_many_epoch_ticks_within_its_limit_is_not_interrupted() {
    // 200 million iterations take far more than the two 5 ms ticks after which a deadline
    // taken wrongly (already past, or checked the wrong way round) would end the call, and
    // far less than the minute the guest is given.
    let start = "(local $i i32)
        (loop $work
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $work (i32.lt_u (local.get $i) (i32.const 200000000))))";
    let wat = Guest::new().hook("start", start).wat();
    let module = load(&wat, "hook-timeout = \"60s\"");
    module.instantiate().await.unwrap();
    module.call_hook(Hook::Start).await.unwrap();
}
