//! Costs of a component module beside the raw wasmtime floor, in the same run, and the
//! second start of a directory of 100 small component modules.
//!
//! The guest is the C greeter of examples/modules/greeter, built from source with clang and
//! wasm-tools (`.ci/install-wasm-toolchain`); without them the WAT test guest is used and
//! the run says so.
//!
//! Each floor does the same work with wasmtime alone, on the host's own engine (same
//! configuration, same epoch ticker): a cached load reads the compiled code from disk and
//! links it, the fastest way found (`fs::read` + `deserialize` beat the mmap of
//! `deserialize_file` here; both are measured); a hook call is one typed call through
//! the same executor. What symphra adds is what the floor leaves out: manifest checks, the
//! cache key and checksum, the WIT check, the store's limits and the per-module lock.
//!
//! `cargo bench -p symphra-wasm --bench wasm`

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, HostConfig, LoadOptions, Manifest, WasmHost};
use wasmtime::Store;
use wasmtime::component::{Component, Linker};

/// How many modules the directory start loads.
const DIRECTORY_SIZE: usize = 100;

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

    // The floor: wasmtime alone on the host's engine, imports stubbed as traps.
    let engine = host.engine().clone();
    let raw = Component::new(&engine, &wasm).expect("compile");
    let serialized = raw.serialize().expect("serialize");
    let raw_file = cache_dir.path().join("raw.cwasm");
    std::fs::write(&raw_file, &serialized).expect("write the raw artifact");
    let mut linker = Linker::<()>::new(&engine);
    linker
        .define_unknown_imports_as_traps(&raw)
        .expect("stub imports");
    let pre = linker.instantiate_pre(&raw).expect("pre");

    let mut g = c.benchmark_group(format!("wasm/{which}"));
    g.measurement_time(Duration::from_secs(3));

    g.bench_function("cold load (compile + checks)", |b| {
        b.iter_batched(
            manifest,
            |m| host.load_bytes(path, &wasm, m).expect("load"),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("raw: Component::new", |b| {
        b.iter(|| Component::new(&engine, &wasm).expect("compile"))
    });
    g.bench_function(
        "cached load (key + read + checksum + deserialize + link)",
        |b| {
            b.iter_batched(
                manifest,
                |m| cached.load_bytes(path, &wasm, m).expect("load"),
                BatchSize::SmallInput,
            )
        },
    );
    g.bench_function(
        "raw: fs::read + Component::deserialize + instantiate_pre",
        |b| {
            b.iter(|| {
                let bytes = std::fs::read(&raw_file).expect("read");
                // SAFETY: the file was written just above from `serialize` on this engine, and
                // nothing else writes it.
                let component =
                    unsafe { Component::deserialize(&engine, &bytes) }.expect("deserialize");
                linker.instantiate_pre(&component).expect("pre")
            })
        },
    );
    g.bench_function("raw: Component::deserialize_file + instantiate_pre", |b| {
        b.iter(|| {
            // SAFETY: the file was written just above from `serialize` on this engine, and
            // nothing else writes it.
            let component =
                unsafe { Component::deserialize_file(&engine, &raw_file) }.expect("deserialize");
            linker.instantiate_pre(&component).expect("pre")
        })
    });
    g.bench_function("raw: Component::deserialize (in memory, no link)", |b| {
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

    directory_start(c, &rt);
}

/// Writes `DIRECTORY_SIZE` module folders, each a distinct small component (its own cache
/// entry) whose `start` logs a line.
fn write_directory(root: &Path) {
    for i in 0..DIRECTORY_SIZE {
        let mut guest = common::Guest::new();
        let log = guest.log(&format!("module {i} started"));
        let manifest = format!(
            "name = \"m{i:03}\"\nversion = \"1.0.0\"\ndescription = \"bench module {i}\"\n"
        );
        common::write_module(
            root,
            &format!("m{i:03}"),
            &manifest,
            &guest.hook("start", log).component(),
        );
    }
}

/// One start of the directory: discover, load (from the cache once filled), build,
/// instantiate and start every module. Returns the time to `start_all`'s end and the
/// manager, to be stopped outside the measurement.
async fn start_directory(dir: &Path, host: &WasmHost) -> (Duration, ModuleManager) {
    let began = Instant::now();
    let (builder, report) = ModuleManager::builder()
        .load_from_directory_with(dir, &LoadOptions::default().host(host.clone()))
        .expect("load");
    assert_eq!(report.loaded.len(), DIRECTORY_SIZE, "{report}");
    let manager = builder.build().expect("build");
    manager.start_all().await.expect("start");
    (began.elapsed(), manager)
}

fn directory_start(c: &mut Criterion, rt: &tokio::runtime::Runtime) {
    let root = tempfile::tempdir().expect("tmp");
    let modules = root.path().join("modules");
    write_directory(&modules);
    let host =
        WasmHost::new(HostConfig::default().cache_dir(root.path().join("cache"))).expect("host");
    // The first start compiles and fills the cache.
    let (first, manager) = rt.block_on(start_directory(&modules, &host));
    rt.block_on(manager.stop_all()).expect("stop");
    drop(manager);
    eprintln!("first start of {DIRECTORY_SIZE} modules (compiling): {first:?}");

    let mut g = c.benchmark_group("wasm/directory");
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    g.bench_function(
        format!("second start of {DIRECTORY_SIZE} modules (discover + cached load + instantiate + start)"),
        |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let (took, manager) = rt.block_on(start_directory(&modules, &host));
                    total += took;
                    rt.block_on(manager.stop_all()).expect("stop");
                }
                total
            })
        },
    );
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
