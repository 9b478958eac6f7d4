//! Every subcommand on the demo directory `examples/app`, built from the C greeter.

mod common;

use std::path::Path;
use std::process::Command;

use common::{c_toolchain, critical_chain, output, run_until, symphra, text};

/// A copy of the demo directory `examples/app`, its modules built from the C greeter.
fn demo_app() -> tempfile::TempDir {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let root = tempfile::tempdir().unwrap();
    let wasm = root.path().join("greeter.wasm");
    let built = Command::new("bash")
        .arg(examples.join("modules/greeter/build.sh"))
        .arg(&wasm)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    for module in ["greeter", "hello", "welcome"] {
        let folder = root.path().join("app").join(module);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::copy(
            examples.join("app").join(module).join("module.toml"),
            folder.join("module.toml"),
        )
        .unwrap();
        std::fs::copy(&wasm, folder.join("module.wasm")).unwrap();
    }
    std::fs::copy(
        examples.join("app/app.toml"),
        root.path().join("app/app.toml"),
    )
    .unwrap();
    root
}

#[test]
fn every_subcommand_works_on_the_demo_directory() {
    if !c_toolchain() {
        return;
    }
    let root = demo_app();
    let app = root.path().join("app");
    let path = app.to_str().unwrap();
    let config = app.join("app.toml");
    let config = config.to_str().unwrap();
    let cache = tempfile::tempdir().unwrap();

    let out = output(&["check", path, "--config", config], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = output(&["list", path], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for module in ["greeter", "hello", "welcome"] {
        assert!(text(&out).contains(module), "{}", text(&out));
    }

    let out = output(&["graph", path, "--format", "mermaid"], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for module in ["greeter", "hello", "welcome"] {
        assert!(text(&out).contains(module), "{}", text(&out));
    }

    let out = output(&["analyze", path, "--config", config], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let chain = critical_chain(&stdout);
    assert_eq!(chain, ["welcome", "hello", "greeter"], "{stdout}");

    let mut command = symphra(
        &["run", path, "--config", config, "--no-state"],
        cache.path(),
    );
    command.env("SYMPHRA__GREETER__GREETING", "hey");
    let (code, lines) = run_until(command, "-INT");
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("start: 3 ok")),
        "{}",
        lines.join("\n")
    );
    assert!(
        lines.iter().any(|l| l.starts_with("stop: 3 ok")),
        "{}",
        lines.join("\n")
    );
}
