//! Runs the real `symphra` binary on module directories built in temporary folders.

#[path = "../../symphra-wasm/tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Write as _};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Guest, write_module};

fn manifest(name: &str, deps: &[&str]) -> String {
    let mut text = format!("name = \"{name}\"\nversion = \"1.0.0\"\n\n[dependencies]\n");
    for dep in deps {
        text.push_str(&format!("{dep} = \"*\"\n"));
    }
    text
}

/// A modules directory: each (name, dependencies) gets a folder with a do-nothing guest.
fn modules(list: &[(&str, &[&str])]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    for (name, deps) in list {
        write_module(root.path(), name, &manifest(name, deps), &wasm);
    }
    root
}

fn symphra(args: &[&str], cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_symphra"));
    command.args(args).env("XDG_CACHE_HOME", cache);
    command
}

fn output(args: &[&str], cache: &Path) -> Output {
    symphra(args, cache).output().unwrap()
}

fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The modules `analyze` lists under "critical chain", in its order.
fn critical_chain(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("critical chain"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

#[test]
fn check_passes_on_a_good_directory() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("no problems"), "{}", text(&out));

    let out = output(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["modules"].as_array().unwrap().len(), 2);
    assert!(json["problems"].as_array().unwrap().is_empty());
}

#[test]
fn check_reports_every_problem() {
    let dir = modules(&[
        ("api", &["missing"]),
        ("left", &["right"]),
        ("right", &["left"]),
    ]);
    let broken = "name = \"broken\"\nversion = \"not a version\"\n";
    write_module(dir.path(), "broken", broken, &Guest::new().component());
    let cache = tempfile::tempdir().unwrap();

    let out = output(&["check", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("problem: api:") && stdout.contains("\"missing\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("left") && stdout.contains("right"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: broken:"), "{stdout}");

    let out = output(
        &["check", dir.path().to_str().unwrap(), "--format", "json"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    let modules: Vec<&str> = json["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["module"].as_str())
        .collect();
    for expected in ["api", "broken"] {
        assert!(modules.contains(&expected), "{json}");
    }
    assert!(
        modules.contains(&"left") || modules.contains(&"right"),
        "cycle not reported: {json}"
    );
}

#[test]
fn check_on_a_missing_directory_is_a_usage_error() {
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", "/nonexistent/symphra-modules"], cache.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: "));
}

#[test]
fn graph_dot_has_every_module_and_edge() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["db", "cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "dot"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let dot = text(&out);
    for line in [
        "\"db\";",
        "\"cache\";",
        "\"api\";",
        "\"cache\" -> \"db\";",
        "\"api\" -> \"db\";",
        "\"api\" -> \"cache\";",
    ] {
        assert!(dot.contains(line), "{line} missing from\n{dot}");
    }

    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "mermaid"],
        cache.path(),
    );
    assert!(text(&out).contains("api --> cache"), "{}", text(&out));
}

#[test]
fn list_shows_versions_and_dependencies() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["list", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0));
    let stdout = text(&out);
    assert!(stdout.contains("api 1.0.0"), "{stdout}");
    assert!(stdout.contains("dependencies: db *"), "{stdout}");
}

/// Runs `symphra run DIR`, waits for the line saying it runs, sends SIGINT, and returns
/// the exit code and every line of stdout. Each wait is bounded.
fn run_until_sigint(dir: &Path, cache: &Path) -> (Option<i32>, Vec<String>) {
    run_until_signal(dir, cache, "-INT")
}

/// [`run_until_sigint`] with another signal (`-TERM`).
fn run_until_signal(dir: &Path, cache: &Path, signal: &str) -> (Option<i32>, Vec<String>) {
    run_until(symphra(&["run", dir.to_str().unwrap()], cache), signal)
}

/// Runs `command` (a `symphra run`) as [`run_until_signal`] does.
fn run_until(mut command: Command, signal: &str) -> (Option<i32>, Vec<String>) {
    let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut lines = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                let ready = line.starts_with("running;");
                lines.push(line);
                if ready {
                    break;
                }
            }
            Err(_) => {
                let _ = child.kill();
                panic!("not running within 120s:\n{}", lines.join("\n"));
            }
        }
    }
    let status = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // Everything else, until the binary closes its stdout.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => lines.push(line),
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!("did not stop within 120s:\n{}", lines.join("\n"));
            }
        }
    }
    (child.wait().unwrap().code(), lines)
}

#[test]
fn run_starts_then_stops_on_sigint_dependents_first() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l == "api: starting -> started"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("start: 2 ok")),
        "{lines:#?}"
    );
    let stopping = lines
        .iter()
        .position(|l| l.starts_with("received SIGINT"))
        .unwrap_or_else(|| panic!("{}", lines.join("\n")));
    let report = &lines[stopping..];
    let summary = report
        .iter()
        .position(|l| l.starts_with("stop: 2 ok"))
        .unwrap_or_else(|| panic!("{}", report.join("\n")));
    let report = &report[summary..];
    let api = report
        .iter()
        .position(|l| l.trim_start().starts_with("api "));
    let db = report
        .iter()
        .position(|l| l.trim_start().starts_with("db "));
    match (api, db) {
        (Some(api), Some(db)) => assert!(api < db, "{}", report.join("\n")),
        _ => panic!("stop report incomplete:\n{}", report.join("\n")),
    }
}

#[test]
fn run_exits_1_when_a_module_fails() {
    let dir = modules(&[("db", &[])]);
    let mut guest = Guest::new();
    let fail = guest.fail("boom");
    let guest = guest.hook("start", fail);
    write_module(
        dir.path(),
        "flaky",
        &manifest("flaky", &[]),
        &guest.component(),
    );
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(1), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("start: 1 ok, 1 failed")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn analyze_prints_blame_and_critical_chain() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["analyze", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("blame"), "{stdout}");
    let chain = critical_chain(&stdout);
    assert_eq!(chain, ["api", "cache", "db"], "{stdout}");
}

#[test]
fn list_reads_the_state_store() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let state = cache.path().join("state.redb");
    drop(symphra::state::RedbStore::open(&state).unwrap());
    let out = output(
        &[
            "list",
            dir.path().to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        text(&out).contains("state:        not recorded"),
        "{}",
        text(&out)
    );
}

#[test]
fn check_validates_configurations_against_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    let schema = "[config]\nschema = { type = \"object\", properties = { port = { type = \"integer\" } } }\n";
    let good = format!("name = \"web\"\nversion = \"1.0.0\"\n{schema}default = {{ port = 80 }}\n");
    write_module(dir.path(), "web", &good, &wasm);
    let bad = format!(
        "name = \"admin\"\nversion = \"1.0.0\"\n{schema}default = {{ port = \"eighty\" }}\n"
    );
    write_module(dir.path(), "admin", &bad, &wasm);
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();

    // The defaults: admin's is wrong.
    let out = output(&["check", path], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("problem: admin: default configuration does not match the schema: /port"),
        "{stdout}"
    );
    assert!(!stdout.contains("problem: web:"), "{stdout}");

    // A configuration file fixes admin, breaks web, and names a module that is not there.
    let config = cache.path().join("app.toml");
    std::fs::write(
        &config,
        "[admin]\nport = 8080\n[web]\nport = \"http\"\n[nobody]\nx = 1\n",
    )
    .unwrap();
    let out = output(
        &["check", path, "--config", config.to_str().unwrap()],
        cache.path(),
    );
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("problem: admin:"), "{stdout}");
    assert!(
        stdout.contains("problem: web: configuration does not match"),
        "{stdout}"
    );
    assert!(stdout.contains("problem: nobody:"), "{stdout}");

    // A configuration file that cannot be read is a usage error.
    let out = output(
        &["check", path, "--config", "/nonexistent/app.toml"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn run_stops_on_sigterm() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_signal(dir.path(), cache.path(), "-TERM");
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l == "received SIGTERM, stopping"),
        "{lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("stop: 1 ok")),
        "{lines:#?}"
    );
}

#[test]
fn run_refuses_modules_that_cannot_be_resolved() {
    let dir = modules(&[("api", &["missing"])]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["run", dir.path().to_str().unwrap()], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("\"missing\""), "{stdout}");
}

#[test]
fn run_keeps_its_state_under_the_directory_and_list_reads_it() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    let state = dir.path().join(".symphra").join("state.redb");
    assert!(state.exists(), "no state file at {}", state.display());
    let store = symphra::state::RedbStore::open(&state).unwrap();
    use symphra::state::StateStore;
    assert_eq!(
        store.get("db").unwrap().unwrap().started_version.as_deref(),
        Some("1.0.0")
    );
    drop(store);
    // `list` finds the default store on its own.
    let out = output(&["list", dir.path().to_str().unwrap()], cache.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(!text(&out).contains("not recorded"), "{}", text(&out));
}

#[test]
fn run_prints_plain_lines_when_not_on_a_terminal() {
    let dir = modules(&[("db", &[])]);
    let cache = tempfile::tempdir().unwrap();
    let (code, lines) = run_until_sigint(dir.path(), cache.path());
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    // One line per state change, in order, with no terminal control sequences.
    let db: Vec<&str> = lines
        .iter()
        .filter(|l| l.starts_with("db: "))
        .map(String::as_str)
        .collect();
    assert_eq!(
        db,
        [
            "db: registered -> loaded",
            "db: loaded -> installed",
            "db: installed -> starting",
            "db: starting -> started",
            "db: started -> stopping",
            "db: stopping -> stopped",
        ],
        "{}",
        lines.join("\n")
    );
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:#?}");
}

/// Everything the child writes to the terminal, read on a thread; `wait_for` returns once
/// `needle` has appeared, within a bound.
struct Terminal {
    chunks: mpsc::Receiver<Vec<u8>>,
    seen: Vec<u8>,
}

impl Terminal {
    fn new(mut reader: Box<dyn std::io::Read + Send>) -> Self {
        let (tx, chunks) = mpsc::channel();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            // Linux answers EIO once the child has exited and closed the terminal.
            while let Ok(n @ 1..) = reader.read(&mut buffer) {
                if tx.send(buffer[..n].to_vec()).is_err() {
                    break;
                }
            }
        });
        Self {
            chunks,
            seen: Vec::new(),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    fn wait_for(&mut self, needle: &str, deadline: Instant) {
        while !self.text().contains(needle) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(_) => panic!("{needle:?} did not appear in:\n{}", self.text()),
            }
        }
    }

    fn read_to_end(&mut self, deadline: Instant) {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.chunks.recv_timeout(left) {
                Ok(chunk) => self.seen.extend(chunk),
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    panic!("the terminal stayed open:\n{}", self.text())
                }
            }
        }
    }
}

#[test]
fn run_on_a_terminal_draws_a_live_display_and_stops_on_ctrl_c() {
    use portable_pty::{CommandBuilder, PtySize, native_pty_system};

    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let pair = native_pty_system()
        .openpty(PtySize {
            rows: 40,
            cols: 120,
            pixel_width: 0,
            pixel_height: 0,
        })
        .unwrap();
    let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_symphra"));
    command.args(["run", dir.path().to_str().unwrap()]);
    command.env("XDG_CACHE_HOME", cache.path());
    command.env("TERM", "xterm-256color");
    let mut child = pair.slave.spawn_command(command).unwrap();
    drop(pair.slave);
    let mut terminal = Terminal::new(pair.master.try_clone_reader().unwrap());
    let mut keyboard = pair.master.take_writer().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);

    terminal.wait_for("running;", deadline);
    let start = terminal.text();
    // indicatif redraws in place: it moves the cursor up and clears lines.
    assert!(
        start.contains("\u{1b}[1A") || start.contains("\u{1b}[2K"),
        "no redraw sequences:\n{start:?}"
    );
    for module in ["db", "cache", "api"] {
        assert!(
            start
                .lines()
                .any(|l| l.contains('\u{2714}') && l.contains(module) && l.contains("started")),
            "{module} not shown as started:\n{start}"
        );
    }
    // The plain state lines are what a pipe gets, not a terminal.
    assert!(!start.contains("starting -> started"), "{start}");
    // The report begins a line of its own below the display.
    assert!(
        start.lines().any(|l| l.starts_with("start: 3 ok")),
        "{start:?}"
    );

    // Ctrl-C, as a user types it: the terminal sends SIGINT to the foreground process.
    keyboard.write_all(b"\x03").unwrap();
    keyboard.flush().unwrap();
    terminal.wait_for("stop: 3 ok", deadline);
    terminal.read_to_end(deadline);
    let status = child.wait().unwrap();
    let all = terminal.text();
    assert_eq!(status.exit_code(), 0, "{all}");
    assert!(all.contains("received SIGINT"), "{all}");
    assert!(
        all.lines()
            .any(|l| l.contains('\u{2714}') && l.contains("api") && l.contains("stopped")),
        "{all}"
    );
}

fn attribute<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> without {name}", node.tag_name().name()))
}

fn with_class<'a>(
    document: &'a roxmltree::Document<'a>,
    class: &str,
) -> Vec<roxmltree::Node<'a, 'a>> {
    document
        .descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

#[test]
fn graph_svg_draws_every_module_and_edge() {
    let dir = modules(&[
        ("db", &[]),
        ("cache", &["db"]),
        ("api", &["db", "cache"]),
        ("cron", &["missing"]),
    ]);
    let cache = tempfile::tempdir().unwrap();
    let out = output(
        &["graph", dir.path().to_str().unwrap(), "--format", "svg"],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0));
    let svg = text(&out);
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    assert_eq!(document.root_element().tag_name().name(), "svg");
    let mut nodes: Vec<(&str, &str)> = with_class(&document, "node")
        .into_iter()
        .map(|n| (attribute(n, "data-name"), attribute(n, "data-missing")))
        .collect();
    nodes.sort();
    assert_eq!(
        nodes,
        [
            ("api", "false"),
            ("cache", "false"),
            ("cron", "false"),
            ("db", "false"),
            ("missing", "true"),
        ]
    );
    let mut edges: Vec<(&str, &str)> = with_class(&document, "edge")
        .into_iter()
        .map(|n| (attribute(n, "data-from"), attribute(n, "data-to")))
        .collect();
    edges.sort();
    assert_eq!(
        edges,
        [
            ("api", "cache"),
            ("api", "db"),
            ("cache", "db"),
            ("cron", "missing"),
        ]
    );
    // Each node has a box and its name as text.
    for node in with_class(&document, "node") {
        assert!(node.children().any(|c| c.has_tag_name("rect")));
        let label = node.children().find(|c| c.has_tag_name("text")).unwrap();
        assert!(
            label
                .text()
                .unwrap()
                .starts_with(attribute(node, "data-name"))
        );
    }
}

#[test]
fn analyze_writes_an_svg_timeline_of_every_module() {
    let dir = modules(&[("db", &[]), ("cache", &["db"]), ("api", &["cache"])]);
    let cache = tempfile::tempdir().unwrap();
    let svg_path = cache.path().join("start.svg");
    let out = output(
        &[
            "analyze",
            dir.path().to_str().unwrap(),
            "--svg",
            svg_path.to_str().unwrap(),
        ],
        cache.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    let document = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{e}:\n{svg}"));
    let rows = with_class(&document, "module");
    let names: Vec<&str> = rows.iter().map(|r| attribute(*r, "data-name")).collect();
    // Sorted by start: a module starts after what it needs.
    assert_eq!(names, ["db", "cache", "api"], "{svg}");
    for row in rows {
        let hooks: Vec<&str> = row
            .children()
            .filter(|c| c.attribute("class") == Some("hook"))
            .map(|c| {
                let began: f64 = attribute(c, "data-began-ms").parse().unwrap();
                let ended: f64 = attribute(c, "data-ended-ms").parse().unwrap();
                assert!(began <= ended);
                attribute(c, "data-hook")
            })
            .collect();
        assert_eq!(hooks, ["bootstrap", "install", "start"], "{svg}");
    }
    // An axis in milliseconds.
    assert!(
        document
            .descendants()
            .any(|n| n.text().is_some_and(|t| t.ends_with(" ms"))),
        "{svg}"
    );
}

/// Whether clang, wasm-ld and wasm-tools are here; a missing tool fails the test under
/// `SYMPHRA_REQUIRE_C_GUEST` (what `.ci/test` sets after installing them).
fn c_toolchain() -> bool {
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let present = have("clang") && have("wasm-ld") && have("wasm-tools");
    assert!(
        present || std::env::var_os("SYMPHRA_REQUIRE_C_GUEST").is_none(),
        "clang, wasm-ld or wasm-tools missing; run .ci/install-wasm-toolchain"
    );
    present
}

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

/// A module `web` whose configuration schema wants an integer port (default 80).
fn web_with_a_port_schema() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "name = \"web\"\nversion = \"1.0.0\"\n[config]\nschema = { type = \"object\", properties = { port = { type = \"integer\" } } }\ndefault = { port = 80 }\n";
    write_module(dir.path(), "web", manifest, &Guest::new().component());
    dir
}

#[test]
fn environment_variables_override_configuration_keys() {
    let dir = web_with_a_port_schema();
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let check = |vars: &[(&str, &str)]| {
        let mut command = symphra(&["check", path], cache.path());
        command.envs(vars.iter().copied());
        command.output().unwrap()
    };

    let out = check(&[("SYMPHRA__WEB__PORT", "8080")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let out = check(&[("SYMPHRA__WEB__PORT", "http")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("problem: web: configuration does not match the schema: /port"),
        "{}",
        text(&out)
    );

    let out = check(&[("SYMPHRA__NOBODY__PORT", "1")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("SYMPHRA__NOBODY__PORT"),
        "{}",
        text(&out)
    );

    // `run` lays the same over the defaults: a port that is not an integer fails install.
    let mut command = symphra(&["run", path], cache.path());
    command.env("SYMPHRA__WEB__PORT", "\"http\"");
    let (code, lines) = run_until(command, "-INT");
    assert_eq!(code, Some(1), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("start: 0 ok, 1 failed")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn analyze_takes_the_configuration_file_and_environment_of_run() {
    let dir = web_with_a_port_schema();
    let cache = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    let config = cache.path().join("app.toml");
    std::fs::write(&config, "[web]\nport = \"http\"\n").unwrap();
    let config = config.to_str().unwrap();

    // A port that is not an integer breaks web's schema: its start fails, named with the field.
    let out = output(&["analyze", path, "--config", config], cache.path());
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("start: 0 ok, 1 failed"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.contains("web") && l.contains("/port")),
        "{stdout}"
    );

    // An override from the environment mends the file's value: everything starts.
    let out = symphra(&["analyze", path, "--config", config], cache.path())
        .env("SYMPHRA__WEB__PORT", "8080")
        .output()
        .unwrap();
    let stdout = text(&out);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.trim_start().starts_with("web @")),
        "{stdout}"
    );
}

/// A running `symphra run`, its stdout read line by line on a thread.
struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    deadline: Instant,
}

impl Running {
    fn start(mut command: Command) -> Self {
        let mut child = command.stdout(Stdio::piped()).spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
            deadline: Instant::now() + Duration::from_secs(120),
        }
    }

    /// Reads until a line starts with `prefix` (within the deadline) and returns it.
    fn wait_for(&mut self, prefix: &str) -> String {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.starts_with(prefix) {
                        return line;
                    }
                }
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no line {prefix:?} in:\n{}", self.seen.join("\n"));
                }
            }
        }
    }

    /// Sends SIGINT, reads to the end, and returns the exit code.
    fn interrupt(mut self) -> (Option<i32>, Vec<String>) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("did not stop:\n{}", self.seen.join("\n"));
                }
            }
        }
        (self.child.wait().unwrap().code(), self.seen)
    }
}

#[test]
fn run_watch_reloads_a_changed_module_and_its_dependents() {
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let mut running = Running::start(symphra(
        &["run", dir.path().to_str().unwrap(), "--watch", "--no-state"],
        cache.path(),
    ));
    running.wait_for("watching the module folders");
    running.wait_for("running;");

    // A new version of db: it is reloaded, api stopped and started around it.
    let manifest = manifest("db", &[]).replace("1.0.0", "1.1.0");
    std::fs::write(dir.path().join("db").join("module.toml"), manifest).unwrap();
    let line = running.wait_for("reload");
    assert_eq!(line, "reloaded db: 1.0.0 -> 1.1.0 (restarted: api)");

    // A corrupt component: rejected, and the old code keeps running.
    std::fs::write(dir.path().join("db").join("module.wasm"), b"\0asm garbage").unwrap();
    let line = running.wait_for("reload");
    assert!(line.starts_with("reload of db rejected"), "{line}");

    let (code, lines) = running.interrupt();
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("stop: 2 ok")),
        "{}",
        lines.join("\n")
    );
}

/// componentize-py takes half a minute and 18 MB per build: opt-in, as the Python guest's
/// own test (`SYMPHRA_TEST_PYTHON=1`).
#[test]
fn new_scaffolds_a_python_module_that_builds_and_checks() {
    if std::env::var_os("SYMPHRA_TEST_PYTHON").is_none() {
        eprintln!("skipped: set SYMPHRA_TEST_PYTHON=1 (needs componentize-py)");
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
