//! Issue 19, item 1: a module's author asks, the operator grants. Host folders stay inside
//! the module folder unless the operator grants more; the component stays inside the
//! folder and its bytes are never echoed; environment variables need the operator's grant;
//! a reload that widens grants is refused unless the operator allows it.

mod common;

use std::path::Path;

use common::{Guest, host, write_module};
use symphra::prelude::*;
use symphra_wasm::{
    GrantError, HostConfig, LoadError, LoadOptions, ManifestErrorKind, ModuleGrant, OperatorDir,
    OperatorGrants, ReloadOutcome, WasmHost, load_directory,
};

fn guest() -> Vec<u8> {
    Guest::new().component()
}

fn manifest(capabilities: &str) -> String {
    format!("name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\n{capabilities}\n")
}

/// A host (no pooling: tests make several) with the operator's `grants`.
fn host_with(grants: OperatorGrants) -> WasmHost {
    WasmHost::new(HostConfig::default().pooling(false).grants(grants)).expect("host")
}

/// Loads the one module folder of `root`: the module, or why it was rejected.
fn load_one(root: &Path, host: WasmHost) -> Result<symphra_wasm::WasmModule, LoadError> {
    let (mut modules, mut report) =
        load_directory(root, &LoadOptions::default().host(host).lenient()).expect("listing");
    match (modules.pop(), report.rejected.pop()) {
        (Some(module), None) => Ok(module),
        (None, Some(rejected)) => Err(rejected.error),
        other => panic!("expected one module or one rejection: {other:?}"),
    }
}

#[test]
fn item_01_dirs_outside_module_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    let modules = root.path().join("modules");
    for asked in ["../../secret", "/etc"] {
        let caps = format!("dirs = [{{ host = \"{asked}\", guest = \"/d\", write = true }}]");
        write_module(&modules, "m", &manifest(&caps), &guest());
        let error = load_one(&modules, host()).unwrap_err();
        assert!(
            matches!(error, LoadError::Grant(GrantError::Dir { .. })),
            "{asked}: {error}"
        );
        assert!(error.to_string().contains("not granted"), "{error}");
    }
    // A symlink inside the folder that leads out is followed, and refused.
    #[cfg(unix)]
    {
        let dir = modules.join("m");
        std::os::unix::fs::symlink(&secret, dir.join("data")).unwrap();
        let caps = "dirs = [{ host = \"data\", guest = \"/d\" }]";
        write_module(&modules, "m", &manifest(caps), &guest());
        let error = load_one(&modules, host()).unwrap_err();
        assert!(
            matches!(error, LoadError::Grant(GrantError::Dir { .. })),
            "{error}"
        );
    }
    // A folder inside the module is granted without the operator.
    std::fs::create_dir_all(modules.join("m/own")).unwrap();
    let caps = "dirs = [{ host = \"own\", guest = \"/own\", write = true }]";
    write_module(&modules, "m", &manifest(caps), &guest());
    let module = load_one(&modules, host()).unwrap();
    assert_eq!(module.granted_dirs().len(), 1);
}

#[test]
fn item_01_operator_grants_a_folder_outside() {
    let root = tempfile::tempdir().unwrap();
    let secret = root.path().join("shared");
    std::fs::create_dir_all(&secret).unwrap();
    let modules = root.path().join("modules");
    let caps = format!(
        "dirs = [{{ host = \"{}\", guest = \"/shared\", write = true }}]",
        secret.display()
    );
    write_module(&modules, "m", &manifest(&caps), &guest());
    // Granted read-only: write access is still refused.
    let read_only = OperatorGrants::none().grant(
        "m",
        ModuleGrant {
            dirs: vec![OperatorDir {
                path: secret.clone(),
                write: false,
            }],
            ..ModuleGrant::default()
        },
    );
    let error = load_one(&modules, host_with(read_only)).unwrap_err();
    assert!(error.to_string().contains("read-write"), "{error}");
    // Granted read-write: loaded, with the folder resolved.
    let grants = OperatorGrants::parse(
        &format!(
            "[modules.m]\ndirs = [{{ path = \"{}\", write = true }}]\n",
            secret.display()
        ),
        Path::new("grants.toml"),
        Path::new("."),
    )
    .unwrap();
    let module = load_one(&modules, host_with(grants)).unwrap();
    let dirs = module.granted_dirs();
    assert_eq!(dirs[0].host, secret.canonicalize().unwrap());
    assert_eq!(dirs[0].source, symphra_wasm::DirSource::Operator);
}

#[test]
fn item_01_component_stays_inside_and_is_never_echoed() {
    for component in ["../../x.wasm", "/etc/passwd"] {
        let text = format!("name = \"m\"\nversion = \"1.0.0\"\ncomponent = \"{component}\"\n");
        let error = symphra_wasm::Manifest::parse(&text, "m/module.toml").unwrap_err();
        assert_eq!(error.kind, ManifestErrorKind::Escapes, "{error}");
    }
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("secret.txt");
    std::fs::write(&outside, "TOP-SECRET-CONTENT of the host").unwrap();
    let modules = root.path().join("modules");
    let text = "name = \"m\"\nversion = \"1.0.0\"\ncomponent = \"link.wasm\"\n";
    let dir = write_module(&modules, "m", text, b"");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&outside, dir.join("link.wasm")).unwrap();
        let error = load_one(&modules, host()).unwrap_err();
        assert!(
            matches!(error, LoadError::Grant(GrantError::Component { .. })),
            "{error}"
        );
        std::fs::remove_file(dir.join("link.wasm")).unwrap();
    }
    // A file inside that is not WebAssembly: its bytes are not quoted.
    std::fs::write(dir.join("link.wasm"), "TOP-SECRET-CONTENT of the host").unwrap();
    let error = load_one(&modules, host()).unwrap_err().to_string();
    assert!(error.contains("magic number"), "{error}");
    for leak in ["TOP", "0x54", "84, 79"] {
        assert!(!error.contains(leak), "{error}");
    }
}

#[test]
fn item_01_environment_needs_the_operators_grant() {
    let root = tempfile::tempdir().unwrap();
    write_module(root.path(), "m", &manifest("env = [\"HOME\"]"), &guest());
    let error = load_one(root.path(), host()).unwrap_err();
    assert!(
        matches!(&error, LoadError::Grant(GrantError::Env { name, .. }) if name == "HOME"),
        "{error}"
    );
    let grants = OperatorGrants::none().grant(
        "m",
        ModuleGrant {
            env: vec!["HOME".into()],
            ..ModuleGrant::default()
        },
    );
    assert!(load_one(root.path(), host_with(grants)).is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn item_01_reload_that_widens_grants_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = write_module(
        root.path(),
        "m",
        &manifest("publish = [\"m.out\"]"),
        &guest(),
    );
    let run = async |host: WasmHost, allowed: bool| {
        std::fs::write(dir.join("module.toml"), manifest("publish = [\"m.out\"]")).unwrap();
        let module = load_one(root.path(), host).unwrap();
        let manager = ModuleManager::builder()
            .module(module.clone())
            .build()
            .unwrap();
        manager.start_all().await.unwrap();
        // Wider: every topic, and a bigger memory limit.
        std::fs::write(
            dir.join("module.toml"),
            manifest("publish = [\"*\"]\nmemory-limit = \"1 GiB\""),
        )
        .unwrap();
        let report = module.reload(&manager).await.unwrap();
        let state = manager.module("m").unwrap().state();
        let publish_all = module.manifest().capabilities.may_publish("anything");
        manager.stop_all().await.unwrap();
        if allowed {
            assert!(
                matches!(report.outcome, ReloadOutcome::Reloaded { .. }),
                "{report:?}"
            );
            assert!(publish_all);
        } else {
            match &report.outcome {
                ReloadOutcome::Rejected(LoadError::Grant(GrantError::Widened {
                    widened, ..
                })) => {
                    assert!(
                        widened.iter().any(|w| w.contains("publish `*`")),
                        "{widened:?}"
                    );
                    assert!(widened.iter().any(|w| w.contains("memory")), "{widened:?}");
                }
                other => panic!("{other:?}"),
            }
            assert!(!publish_all, "the old version keeps running");
        }
        assert_eq!(state, ModuleState::Started);
    };
    run(host(), false).await;
    let allow = OperatorGrants::none().grant(
        "m",
        ModuleGrant {
            reload_may_widen: true,
            ..ModuleGrant::default()
        },
    );
    run(host_with(allow), true).await;
}
