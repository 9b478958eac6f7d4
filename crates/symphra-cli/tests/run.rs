//! `symphra run`: start, signals, stop order, state, progress display and hot reload.

mod common;

use std::io::Write as _;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    Guest, Running, manifest, modules, output, run_until, run_until_sigint, run_until_signal,
    symphra, text, write_module,
};

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
fn run_with_a_huge_shutdown_timeout_starts_and_stops_normally() {
    // Longer than any instant can hold: it means "no practical limit", never a panic.
    let dir = modules(&[("db", &[]), ("api", &["db"])]);
    let cache = tempfile::tempdir().unwrap();
    let mut command = symphra(&["run", dir.path().to_str().unwrap()], cache.path());
    command.args(["--shutdown-timeout", "5000000000000h"]);
    let (code, lines) = run_until(command, "-INT");
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("stop: 2 ok")),
        "{}",
        lines.join("\n")
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

/// A modules directory for supervision: `fragile` subscribes to `trip.*` at start and traps
/// on any event, restarted on failure after 10 ms (`max_restarts` times at most);
/// `trigger` publishes `trip.now` at start, after `fragile` started: it `needs` it, or
/// optionally depends on it (and is then left running when fragile fails).
fn tripwire(needs: bool, max_restarts: u32) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let mut fragile = Guest::new();
    let subscribe = fragile.subscribe("trip.*");
    let fragile = fragile
        .hook("start", subscribe)
        .hook("on-event", "unreachable");
    let fragile_manifest = format!(
        "{}[capabilities]\nsubscribe = [\"trip.*\"]\n[restart]\npolicy = \"on-failure\"\n\
         max-restarts = {max_restarts}\nbackoff = \"10ms\"\njitter = false\n",
        manifest("fragile", &[])
    );
    write_module(
        root.path(),
        "fragile",
        &fragile_manifest,
        &fragile.component(),
    );
    let mut trigger = Guest::new();
    let publish = trigger.publish("trip.now", "{}");
    let trigger = trigger.hook("start", publish);
    let dependency = if needs {
        "[dependencies]"
    } else {
        "[optional-dependencies]"
    };
    let trigger_manifest = format!(
        "name = \"trigger\"\nversion = \"1.0.0\"\n{dependency}\nfragile = \"*\"\n\
         [capabilities]\npublish = [\"trip.*\"]\n"
    );
    write_module(
        root.path(),
        "trigger",
        &trigger_manifest,
        &trigger.component(),
    );
    root
}

#[test]
fn run_prints_a_module_that_trapped_while_running_and_its_restart() {
    let dir = tripwire(false, 3);
    let cache = tempfile::tempdir().unwrap();
    let mut running = Running::start(symphra(
        &["run", dir.path().to_str().unwrap(), "--no-state"],
        cache.path(),
    ));
    let failed = running.wait_for("fragile failed while running:");
    assert!(failed.contains("trapped in `on-event`"), "{failed}");
    assert!(failed.contains("unreachable"), "{failed}");
    let restarted = running.wait_for("fragile restarted");
    assert_eq!(restarted, "fragile restarted (attempt 1, after 10 ms)");
    let (code, lines) = running.interrupt();
    assert_eq!(code, Some(0), "{}", lines.join("\n"));
    assert!(
        lines.iter().any(|l| l.starts_with("stop: 2 ok")),
        "{}",
        lines.join("\n")
    );
}

#[test]
fn run_with_escalation_shutdown_stops_everything_and_exits_1_when_restarts_run_out() {
    // trigger requires fragile: each restart starts it again, and it trips fragile again.
    let dir = tripwire(true, 1);
    let cache = tempfile::tempdir().unwrap();
    let running = Running::start(symphra(
        &[
            "run",
            dir.path().to_str().unwrap(),
            "--no-state",
            "--escalation",
            "shutdown",
        ],
        cache.path(),
    ));
    let (code, lines) = running.finish();
    assert_eq!(code, Some(1), "{}", lines.join("\n"));
    let text = lines.join("\n");
    assert!(text.contains("fragile restarted (attempt 1"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l == "escalation: fragile used up its restarts, stopping everything"),
        "{text}"
    );
    assert!(lines.iter().any(|l| l.starts_with("stop: ")), "{text}");
}
