//! Issue 19, item 1, as the `symphra` binary shows it: `check` refuses folders and
//! components outside the module and never echoes a file's bytes; `check` and `list` show
//! every grant; `--grants FILE` is how the operator grants more; `run --watch` refuses a
//! reload that widens grants and keeps the old version running.

mod common;

use std::path::Path;

use common::{Guest, Running, output, symphra, text, write_module};

fn manifest(extra: &str) -> String {
    format!("name = \"m\"\nversion = \"1.0.0\"\n{extra}\n")
}

fn module(root: &Path, extra: &str) {
    write_module(root, "m", &manifest(extra), &Guest::new().component());
}

#[test]
fn item_01_check_refuses_folders_outside_and_list_shows_every_grant() {
    let root = tempfile::tempdir().unwrap();
    let modules = root.path().join("modules");
    let secret = root.path().join("secret");
    std::fs::create_dir_all(&secret).unwrap();
    module(
        &modules,
        "[capabilities]\ndirs = [{ host = \"../../secret\", guest = \"/s\", write = true }]\nenv = [\"HOME\"]\npublish = [\"m.out\"]",
    );
    let cache = tempfile::tempdir().unwrap();
    let dir = modules.to_str().unwrap();

    let out = output(&["check", dir], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("no problems"), "{stdout}");
    assert!(stdout.contains("has not granted"), "{stdout}");

    let out = output(&["list", dir], cache.path());
    let stdout = text(&out);
    for label in [
        "publish:      m.out",
        "env:          HOME",
        "dirs:",
        "memory:",
        "hook-timeout:",
        "inbox:",
        "REFUSED:",
    ] {
        assert!(stdout.contains(label), "{label}: {stdout}");
    }

    // The operator grants the folder and the variable: clean, and shown as granted.
    let grants = root.path().join("grants.toml");
    std::fs::write(
        &grants,
        "[modules.m]\nenv = [\"HOME\"]\ndirs = [{ path = \"secret\", write = true }]\n",
    )
    .unwrap();
    let grants = grants.to_str().unwrap();
    let out = output(&["check", dir, "--grants", grants], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("granted by the operator"), "{stdout}");
    let out = output(&["list", dir, "--grants", grants], cache.path());
    assert!(!text(&out).contains("REFUSED"), "{}", text(&out));
}

#[test]
fn item_01_component_outside_the_folder_is_refused_and_never_echoed() {
    let root = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    for component in ["/etc/passwd", "../../x.wasm"] {
        module(root.path(), &format!("component = \"{component}\""));
        let out = output(&["check", root.path().to_str().unwrap()], cache.path());
        let stdout = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("leaves the module folder"), "{stdout}");
        assert!(!stdout.contains("root:"), "{stdout}");
    }
    // A file inside that is text, not WebAssembly: its bytes are not quoted.
    module(root.path(), "component = \"notes.txt\"");
    std::fs::write(root.path().join("m/notes.txt"), "password=hunter2").unwrap();
    let out = output(&["check", root.path().to_str().unwrap()], cache.path());
    let all = format!("{}{}", text(&out), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(all.contains("magic number"), "{all}");
    assert!(!all.contains("hunter2") && !all.contains("0x70"), "{all}");
}

#[test]
fn item_01_watch_refuses_a_reload_that_widens_grants() {
    let root = tempfile::tempdir().unwrap();
    module(root.path(), "[capabilities]\npublish = [\"m.out\"]");
    let cache = tempfile::tempdir().unwrap();
    let mut running = Running::start(symphra(
        &[
            "run",
            root.path().to_str().unwrap(),
            "--watch",
            "--no-state",
        ],
        cache.path(),
    ));
    running.wait_for("watching the module folders");
    running.wait_for("running;");
    std::fs::write(
        root.path().join("m/module.toml"),
        manifest("[capabilities]\npublish = [\"*\"]"),
    )
    .unwrap();
    let line = running.wait_for("reload");
    assert!(
        line.starts_with("reload of m rejected, the old code still runs"),
        "{line}"
    );
    assert!(line.contains("publish `*`"), "{line}");
    assert!(line.contains("reload-may-widen"), "{line}");
    let (code, lines) = running.interrupt();
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
}
