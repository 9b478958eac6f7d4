//! `symphra new`: scaffolded modules that build and check.

mod common;

use std::process::Command;

use common::{c_toolchain, output, text};

#[test]
fn new_scaffolds_a_c_module_that_builds_and_checks() {
    let root = tempfile::tempdir().unwrap();
    let parent = root.path().join("modules");
    let cache = tempfile::tempdir().unwrap();
    let parent_arg = parent.to_str().unwrap();

    let out = output(
        &["new", "hello-c", "--lang", "c", "--dir", parent_arg],
        cache.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let folder = parent.join("hello-c");
    for file in ["module.toml", "module.c", "build.sh", "wit/module.wit"] {
        assert!(folder.join(file).is_file(), "{file} missing");
    }

    // The same name again: refused, and nothing is touched.
    let before = std::fs::read(folder.join("module.c")).unwrap();
    let out = output(
        &["new", "hello-c", "--lang", "python", "--dir", parent_arg],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("already exists"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(folder.join("module.c")).unwrap(), before);
    assert!(!folder.join("app.py").exists());

    // A name the runtime would refuse.
    let out = output(
        &["new", "Hello", "--lang", "c", "--dir", parent_arg],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a valid module name"), "{stderr}");
    assert!(!parent.join("Hello").exists());

    if !c_toolchain() {
        eprintln!("skipped building: clang, wasm-ld or wasm-tools missing");
        return;
    }
    let status = Command::new("bash")
        .arg(folder.join("build.sh"))
        .status()
        .unwrap();
    assert!(status.success(), "build.sh failed");
    let out = output(&["check", parent_arg], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no problems"), "{}", text(&out));
}

/// Needs componentize-py (half a minute and 18 MB per build): required in CI, like the
/// Python guest's own test (`SYMPHRA_REQUIRE_PYTHON_GUEST`).
#[test]
fn new_scaffolds_a_python_module_that_builds_and_checks() {
    if !common::python_toolchain() {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let parent = root.path().to_str().unwrap();
    let out = output(
        &["new", "py-hello", "--lang", "python", "--dir", parent],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let status = Command::new("bash")
        .arg(root.path().join("py-hello").join("build.sh"))
        .status()
        .unwrap();
    assert!(
        status.success(),
        "build.sh failed (is componentize-py installed?)"
    );
    let out = output(&["analyze", parent], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("py-hello"), "{}", text(&out));
}
