//! Costs of a component module beside the raw wasmtime floor, in the same run.
//!
//! The guest is the C greeter of examples/modules/greeter, built from source with clang and
//! wasm-tools (`.ci/install-wasm-toolchain`); without them the WAT test guest is used and
//! the run says so.
//!
//! `cargo bench -p symphra-wasm --bench wasm`

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use symphra_wasm::{HostConfig, Manifest, WasmHost};
use wasmtime::component::{Component, Linker};
use wasmtime::{Engine, Store};

fn guest() -> (Vec<u8>, &'static str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules/greeter");
    let out: PathBuf = std::env::temp_dir().join("symphra-bench-greeter.wasm");
    let built = Command::new("bash")
        .arg(root.join("build.sh"))
        .arg(&out)
        .output()
        .is_ok_and(|o| o.status.success());
    match std::fs::read(&out) {
        Ok(bytes) if built => (bytes, "C greeter"),
        _ => {
            eprintln!("clang or wasm-tools missing: benchmarking the WAT test guest instead");
            (common::Guest::new().component(), "WAT guest")
        }
    }
}

fn manifest() -> Manifest {
    Manifest::parse(
        "name = \"greeter\"\nversion = \"0.1.0\"\n[capabilities]\nsubscribe = [\"greet.request\"]\n",
        "bench/module.toml",
    )
    .expect("manifest")
}

fn bench(c: &mut Criterion) {
    let (wasm, which) = guest();
    eprintln!("guest: {which}, {} bytes", wasm.len());
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let path = Path::new("bench/module.wasm");

    let host = WasmHost::new(HostConfig::default()).expect("host");
    let cache_dir = tempfile::tempdir().expect("tmp");
    let cached = WasmHost::new(HostConfig::default().cache_dir(cache_dir.path())).expect("host");
    cached.compile(path, &wasm).expect("warm the cache");

    // The floor: wasmtime alone, same engine settings, imports stubbed as traps.
    let mut config = wasmtime::Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.allocation_strategy(wasmtime::InstanceAllocationStrategy::Pooling(
        wasmtime::PoolingAllocationConfig::default(),
    ));
    let engine = Engine::new(&config).expect("engine");
    let raw = Component::new(&engine, &wasm).expect("compile");
    let serialized = raw.serialize().expect("serialize");
    let mut linker = Linker::<()>::new(&engine);
    linker
        .define_unknown_imports_as_traps(&raw)
        .expect("stub imports");
    let pre = linker.instantiate_pre(&raw).expect("pre");

    let mut g = c.benchmark_group(format!("wasm/{which}"));
    g.measurement_time(Duration::from_secs(3));

    g.bench_function("cold load (compile + checks)", |b| {
        b.iter(|| host.load_bytes(path, &wasm, manifest()).expect("load"))
    });
    g.bench_function("raw: Component::new", |b| {
        b.iter(|| Component::new(&engine, &wasm).expect("compile"))
    });
    g.bench_function("cached load (read + sha256 + deserialize + checks)", |b| {
        b.iter(|| cached.load_bytes(path, &wasm, manifest()).expect("load"))
    });
    g.bench_function("raw: Component::deserialize", |b| {
        // SAFETY: the bytes were produced by `serialize` on this engine just above.
        b.iter(|| unsafe { Component::deserialize(&engine, &serialized) }.expect("deserialize"))
    });

    let module = host.load_bytes(path, &wasm, manifest()).expect("load");
    g.bench_function("instantiate (store + limits + instance)", |b| {
        b.to_async(&rt)
            .iter(|| async { module.instantiate().await.expect("instantiate") })
    });
    g.bench_function("raw: InstancePre::instantiate_async", |b| {
        b.to_async(&rt).iter(|| async {
            let mut store = Store::new(&engine, ());
            store.set_epoch_deadline(u64::MAX / 2);
            pre.instantiate_async(&mut store)
                .await
                .expect("instantiate")
        })
    });

    rt.block_on(module.instantiate()).expect("instantiate");
    // Both hook calls go through `block_on` so that they pay the same executor cost.
    // `reload` makes no host call in either guest: this is the cost of a hook call.
    g.bench_function("hook call: reload()", |b| {
        b.iter(|| {
            rt.block_on(module.call_hook(symphra::Hook::Reload))
                .expect("reload")
        })
    });
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let (instance, reload) = rt.block_on(async {
        let instance = pre.instantiate_async(&mut store).await.expect("instance");
        let guest = instance
            .get_export_index(&mut store, None, "symphra:module/guest@0.1.0")
            .expect("guest export");
        let reload = instance
            .get_export_index(&mut store, Some(&guest), "reload")
            .expect("reload export");
        (instance, reload)
    });
    let reload = instance
        .get_typed_func::<(), (Result<(), String>,)>(&mut store, &reload)
        .expect("typed reload");
    g.bench_function("raw: TypedFunc::call_async reload()", |b| {
        b.iter(|| {
            rt.block_on(reload.call_async(&mut store, ()))
                .expect("call")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
