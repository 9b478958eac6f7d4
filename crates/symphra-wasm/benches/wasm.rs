//! Costs of a component module beside the raw wasmtime floor, in the same run, for the C
//! and the Python guest, and the second start of a directory of 100 small component modules.
//!
//! The C guest is the greeter of examples/modules/greeter, built from source with clang and
//! wasm-tools (`.ci/install-wasm-toolchain`); without them the WAT test guest is used and
//! the run says so. The Python guest is examples/modules/py-echo, built with
//! componentize-py (same script); without it its group is skipped and the run says so. Its
//! component is 18 MB and compiles in seconds, so its cold loads are timed a few times by
//! hand and printed rather than sampled by criterion.
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

use common::py_echo;
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use symphra::prelude::*;
use symphra_wasm::{DirectoryExt, HostConfig, LoadOptions, Manifest, WasmHost};
use wasmtime::Store;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// How many modules the directory start loads.
const DIRECTORY_SIZE: usize = 100;

/// A guest under measurement.
struct Guest {
    /// Names the benchmark group.
    label: &'static str,
    wasm: Vec<u8>,
    manifest: Manifest,
    /// Compiling takes seconds: sample the cold loads sparingly.
    slow_compile: bool,
}

/// The C greeter, or the WAT test guest when clang or wasm-tools is missing.
fn c_guest() -> Guest {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/modules/greeter");
    let out: PathBuf = std::env::temp_dir().join("symphra-bench-greeter.wasm");
    let built = Command::new("bash")
        .arg(root.join("build.sh"))
        .arg(&out)
        .output()
        .is_ok_and(|o| o.status.success());
    let (wasm, label) = match std::fs::read(&out) {
        Ok(bytes) if built => (bytes, "C greeter"),
        _ => {
            eprintln!("clang or wasm-tools missing: benchmarking the WAT test guest instead");
            (common::Guest::new().component(), "WAT guest")
        }
    };
    let manifest = Manifest::parse(
        "name = \"greeter\"\nversion = \"0.1.0\"\n[capabilities]\nsubscribe = [\"greet.request\"]\n",
        "bench/module.toml",
    )
    .expect("manifest");
    Guest {
        label,
        wasm,
        manifest,
        slow_compile: false,
    }
}

/// The Python echo guest with its own manifest, or `None` (said why) when it cannot be built.
fn python_guest() -> Option<Guest> {
    if !py_echo::have_componentize_py() {
        eprintln!(
            "componentize-py missing: skipping the Python guest (run .ci/install-wasm-toolchain)"
        );
        return None;
    }
    let built = py_echo::built_component()
        .and_then(|path| std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display())));
    let wasm = match built {
        Ok(wasm) => wasm,
        Err(e) => {
            eprintln!("the Python guest could not be built, skipping it: {e}");
            return None;
        }
    };
    let manifest_path = py_echo::source().join("module.toml");
    let text = std::fs::read_to_string(&manifest_path).expect("read py-echo's module.toml");
    let manifest = Manifest::parse(&text, &manifest_path).expect("py-echo's manifest");
    Some(Guest {
        label: "Python py-echo",
        wasm,
        manifest,
        slow_compile: true,
    })
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    bench_guest(c, &rt, &c_guest());
    if let Some(python) = python_guest() {
        bench_guest(c, &rt, &python);
    }
    directory_start(c, &rt);
}

/// Cold load, cached load, instantiate and one hook call of `guest`, each beside its floor.
fn bench_guest(c: &mut Criterion, rt: &tokio::runtime::Runtime, guest: &Guest) {
    let (label, wasm) = (guest.label, &guest.wasm);
    eprintln!("guest: {label}, {} bytes", wasm.len());
    let manifest = || guest.manifest.clone();
    let path = Path::new("bench/module.wasm");

    let host = WasmHost::new(HostConfig::default()).expect("host");
    let cache_dir = tempfile::tempdir().expect("tmp");
    let cached = WasmHost::new(HostConfig::default().cache_dir(cache_dir.path())).expect("host");
    cached.compile(path, wasm).expect("warm the cache");

    // The floor: wasmtime alone on the host's engine, WASI linked for a guest importing it
    // (as the host does), other imports stubbed as traps.
    let engine = host.engine().clone();
    let raw = Component::new(&engine, wasm).expect("compile");
    let serialized = raw.serialize().expect("serialize");
    let raw_file = cache_dir.path().join("raw.cwasm");
    std::fs::write(&raw_file, &serialized).expect("write the raw artifact");
    let uses_wasi = raw
        .component_type()
        .imports(&engine)
        .any(|(name, _)| name.starts_with("wasi:"));
    let mut linker = Linker::<Floor>::new(&engine);
    if uses_wasi {
        // Not `define_unknown_imports_as_traps`: it would stub the guest's newer WASI
        // versions by their exact names, shadowing the semver-compatible ones linked here.
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).expect("link WASI");
        stub_symphra_imports(&mut linker, &raw);
    } else {
        linker
            .define_unknown_imports_as_traps(&raw)
            .expect("stub imports");
    }
    let pre = linker.instantiate_pre(&raw).expect("pre");

    if guest.slow_compile {
        cold_loads_once(label, || {
            let m = manifest();
            let symphra = time(|| host.load_bytes(path, wasm, m).expect("load"));
            let raw = time(|| Component::new(&engine, wasm).expect("compile"));
            (symphra, raw)
        });
    }
    let mut g = c.benchmark_group(format!("wasm/{label}"));
    g.measurement_time(Duration::from_secs(3));
    if !guest.slow_compile {
        g.bench_function("cold load (compile + checks)", |b| {
            b.iter_batched(
                manifest,
                |m| host.load_bytes(path, wasm, m).expect("load"),
                BatchSize::SmallInput,
            )
        });
        g.bench_function("raw: Component::new", |b| {
            b.iter(|| Component::new(&engine, wasm).expect("compile"))
        });
    }
    g.bench_function(
        "cached load (key + read + checksum + deserialize + link)",
        |b| {
            b.iter_batched(
                manifest,
                |m| cached.load_bytes(path, wasm, m).expect("load"),
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

    let module = host.load_bytes(path, wasm, manifest()).expect("load");
    g.bench_function("instantiate (store + limits + instance)", |b| {
        b.to_async(rt)
            .iter(|| async { module.instantiate().await.expect("instantiate") })
    });
    g.bench_function("raw: InstancePre::instantiate_async", |b| {
        b.to_async(rt).iter(|| async {
            let mut store = Store::new(&engine, Floor::new(uses_wasi));
            store.set_epoch_deadline(u64::MAX / 2);
            pre.instantiate_async(&mut store)
                .await
                .expect("instantiate")
        })
    });

    rt.block_on(module.instantiate()).expect("instantiate");
    // Both hook calls go through `block_on` so that they pay the same executor cost.
    // `reload` makes no host call in any guest: this is the cost of a hook call.
    g.bench_function("hook call: reload()", |b| {
        b.iter(|| {
            rt.block_on(module.call_hook(symphra::Hook::Reload))
                .expect("reload")
        })
    });
    let mut store = Store::new(&engine, Floor::new(uses_wasi));
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

/// How many cold loads of a slow-compiling guest are timed, each beside a raw compile.
const COLD_ROUNDS: usize = 3;

/// Times `round` (a symphra cold load, then a raw compile) `COLD_ROUNDS` times and prints
/// the medians: at seconds a compile, criterion's ten samples at least would take minutes.
fn cold_loads_once(label: &str, mut round: impl FnMut() -> (Duration, Duration)) {
    let (mut symphra, mut raw): (Vec<Duration>, Vec<Duration>) =
        (0..COLD_ROUNDS).map(|_| round()).unzip();
    symphra.sort();
    raw.sort();
    let (symphra, raw) = (symphra[COLD_ROUNDS / 2], raw[COLD_ROUNDS / 2]);
    eprintln!(
        "wasm/{label}/cold load (compile + checks), median of {COLD_ROUNDS}: {symphra:.2?}, \
         raw: Component::new {raw:.2?}, ratio {:.2}",
        symphra.as_secs_f64() / raw.as_secs_f64()
    );
}

/// How long `f` took; its result is dropped outside the measurement.
fn time<T>(f: impl FnOnce() -> T) -> Duration {
    let began = Instant::now();
    let out = f();
    let took = began.elapsed();
    drop(out);
    took
}

/// The floor's store data: for a guest importing WASI (the Python one, whose runtime reads
/// its arguments, environment and random seed at its first call), a WASI context granting
/// nothing, as the host gives it; otherwise nothing.
struct Floor {
    wasi: Option<(WasiCtx, ResourceTable)>,
}

impl Floor {
    fn new(uses_wasi: bool) -> Self {
        Self {
            wasi: uses_wasi.then(|| (WasiCtx::builder().build(), ResourceTable::new())),
        }
    }
}

impl WasiView for Floor {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let (ctx, table) = self
            .wasi
            .as_mut()
            .expect("WASI is linked only for guests that get a context");
        WasiCtxView { ctx, table }
    }
}

/// Stubs the guest's non-WASI imports (the symphra host interface) as traps: the floor's
/// hook call makes no host call.
fn stub_symphra_imports(linker: &mut Linker<Floor>, component: &Component) {
    let engine = linker.engine().clone();
    for (name, item) in component.component_type().imports(&engine) {
        let ComponentItem::ComponentInstance(instance) = item.ty else {
            continue;
        };
        if name.starts_with("wasi:") {
            continue;
        }
        let mut stubs = linker.instance(name).expect("stub instance");
        for (function, item) in instance.exports(&engine) {
            if !matches!(item.ty, ComponentItem::ComponentFunc(_)) {
                continue;
            }
            let called = format!("{name}#{function}");
            stubs
                .func_new(function, move |_, _, _, _| {
                    Err(wasmtime::Error::msg(format!(
                        "{called} is not linked in the floor"
                    )))
                })
                .expect("stub function");
        }
    }
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
