//! The compile cache: a second load reads the entry; a corrupt entry is rebuilt.

mod common;

use symphra_wasm::{CacheOutcome, HostConfig, Manifest, WasmHost};

#[tokio::test]
async fn cache_hits_and_rebuilds_corrupt_entries() {
    let dir = tempfile::tempdir().unwrap();
    let host = WasmHost::new(HostConfig::default().pooling(false).cache_dir(dir.path())).unwrap();
    let wasm = common::Guest::new().component();
    let path = std::path::Path::new("m/module.wasm");

    let (_, first) = host.compile_with_outcome(path, &wasm).unwrap();
    assert_eq!(first, CacheOutcome::Miss);
    let (_, second) = host.compile_with_outcome(path, &wasm).unwrap();
    assert_eq!(second, CacheOutcome::Hit);

    let entry = host.cache().unwrap().entry_path(&wasm);
    let mut bytes = std::fs::read(&entry).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&entry, &bytes).unwrap();
    let (_, third) = host.compile_with_outcome(path, &wasm).unwrap();
    assert_eq!(third, CacheOutcome::Rebuilt);

    std::fs::write(&entry, b"short").unwrap();
    let (_, fourth) = host.compile_with_outcome(path, &wasm).unwrap();
    assert_eq!(fourth, CacheOutcome::Rebuilt);
    let (_, fifth) = host.compile_with_outcome(path, &wasm).unwrap();
    assert_eq!(fifth, CacheOutcome::Hit);

    // A module loaded from a cached entry runs.
    let manifest =
        Manifest::parse("name = \"cached\"\nversion = \"1.0.0\"\n", "m/module.toml").unwrap();
    let module = host.load_bytes(path, &wasm, manifest).unwrap();
    module.instantiate().await.unwrap();
    module.call_hook(symphra::Hook::Start).await.unwrap();

    // The entry shared with a pooling engine (same compiled code) is valid there too.
    let pooled = WasmHost::new(HostConfig::default().cache_dir(dir.path())).unwrap();
    let (_, shared) = pooled.compile_with_outcome(path, &wasm).unwrap();
    assert_eq!(shared, CacheOutcome::Hit);
}
