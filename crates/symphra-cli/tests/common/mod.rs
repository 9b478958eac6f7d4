//! Helpers shared by the CLI's integration tests: module directories built in temporary
//! folders, the real `symphra` binary run on them, and readers of what it prints.
// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

#[path = "../../../symphra-wasm/tests/common/mod.rs"]
mod guest;

use std::io::{BufRead, BufReader, Write as _};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub use guest::{Guest, write_module};

/// A guest that creates `made` in every folder WASI gives it, and `../escaped`.
pub fn wasi_fs_guest() -> Vec<u8> {
    guest::wasi_fs::component()
}

/// A guest whose `start` spins until it can create `gate` in its data folder (so it waits
/// while `gate` exists there), then returns `err(fail)` if `fail` is given, and whose
/// `stop` creates `stopped` there; its manifest needs `data = true`.
pub fn gated_guest(gate: &str, fail: Option<&str>, stopped: &str) -> Vec<u8> {
    guest::wasi_fs::gated(gate, fail, stopped)
}

/// A guest whose `start` creates `marker` in its data folder and fails if it was there:
/// it starts once. Its manifest needs `data = true`.
pub fn starts_once_guest(marker: &str) -> Vec<u8> {
    guest::wasi_fs::starts_once(marker)
}

/// A manifest for `name` at 1.0.0 that needs each of `deps` (any version).
pub fn manifest(name: &str, deps: &[&str]) -> String {
    let mut text = format!("name = \"{name}\"\nversion = \"1.0.0\"\n\n[dependencies]\n");
    for dep in deps {
        text.push_str(&format!("{dep} = \"*\"\n"));
    }
    text
}

/// A modules directory: each (name, dependencies) gets a folder with a do-nothing guest.
pub fn modules(list: &[(&str, &[&str])]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let wasm = Guest::new().component();
    for (name, deps) in list {
        write_module(root.path(), name, &manifest(name, deps), &wasm);
    }
    root
}

/// The `symphra` binary with `args`, its compile cache under `cache`.
pub fn symphra(args: &[&str], cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_symphra"));
    command.args(args).env("XDG_CACHE_HOME", cache);
    command
}

/// Runs [`symphra`] to the end.
pub fn output(args: &[&str], cache: &Path) -> Output {
    symphra(args, cache).output().unwrap()
}

/// What the command wrote on stdout.
pub fn text(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The modules `analyze` lists under "critical chain", in its order.
pub fn critical_chain(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .skip_while(|l| !l.starts_with("critical chain"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect()
}

/// Runs `symphra run DIR`, waits for the line saying it runs, sends SIGINT, and returns
/// the exit code and every line of stdout. Each wait is bounded.
pub fn run_until_sigint(dir: &Path, cache: &Path) -> (Option<i32>, Vec<String>) {
    run_until_signal(dir, cache, "-INT")
}

/// [`run_until_sigint`] with another signal (`-TERM`).
pub fn run_until_signal(dir: &Path, cache: &Path, signal: &str) -> (Option<i32>, Vec<String>) {
    run_until(symphra(&["run", dir.to_str().unwrap()], cache), signal)
}

/// Runs `command` (a `symphra run`) as [`run_until_signal`] does.
pub fn run_until(command: Command, signal: &str) -> (Option<i32>, Vec<String>) {
    let mut running = Running::start(command);
    running.wait_for("running;");
    running.signal(signal)
}

/// A running `symphra run`, its stdout read line by line on a thread.
pub struct Running {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
    deadline: Instant,
}

impl Running {
    /// Starts `command`, its stdout piped and read on a thread; every wait is bounded by
    /// one deadline, 120 s from now.
    pub fn start(mut command: Command) -> Self {
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
    pub fn wait_for(&mut self, prefix: &str) -> String {
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

    /// Reads to the end (until the binary closes its stdout, within the deadline) without
    /// sending anything, and returns the exit code and every line read.
    pub fn finish(mut self) -> (Option<i32>, Vec<String>) {
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!("did not end:\n{}", self.seen.join("\n"));
                }
            }
        }
        let code = self.child.wait().unwrap().code();
        (code, std::mem::take(&mut self.seen))
    }

    /// Waits for the line of `--ops` and returns the endpoint's address (`127.0.0.1:PORT`).
    pub fn ops_address(&mut self) -> String {
        let line = self.wait_for("operator's endpoint: http://");
        line.trim_start_matches("operator's endpoint: http://")
            .trim_end_matches('/')
            .to_owned()
    }

    /// Kills the process (SIGKILL: no chance to clean up) and returns what it had printed.
    pub fn kill(mut self) -> Vec<String> {
        self.child.kill().unwrap();
        let status = self.child.wait().unwrap();
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&status),
            Some(9)
        );
        let rest: Vec<String> = self.lines.try_iter().collect();
        self.seen.extend(rest);
        std::mem::take(&mut self.seen)
    }

    /// Sends SIGINT, reads to the end, and returns the exit code.
    pub fn interrupt(self) -> (Option<i32>, Vec<String>) {
        self.signal("-INT")
    }

    /// Sends `signal` (`-INT`, `-TERM`), reads to the end (until the binary closes its
    /// stdout), and returns the exit code and every line read.
    pub fn signal(self, signal: &str) -> (Option<i32>, Vec<String>) {
        self.send(signal);
        self.finish()
    }

    /// Sends `signal` (`-INT`, `-TERM`) and returns at once.
    pub fn send(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

/// The live page's event stream of the endpoint at `address`.
pub struct Snapshots {
    lines: BufReader<TcpStream>,
}

impl Snapshots {
    /// Opens the stream (`GET /events`): a snapshot now, and one after each change (changes
    /// close together make one, so wait only for states that last).
    pub fn open(address: &str) -> Self {
        let mut stream = TcpStream::connect(address).unwrap();
        // A bound on every read: a regression fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        write!(
            stream,
            "GET /events HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
        )
        .unwrap();
        Self {
            lines: BufReader::new(stream),
        }
    }

    /// Reads snapshots until one shows `module` in `state`.
    pub fn wait_for(&mut self, module: &str, state: &str) {
        let mut line = String::new();
        loop {
            line.clear();
            let read = self.lines.read_line(&mut line).unwrap();
            assert!(
                read > 0,
                "the event stream ended before {module} was {state}"
            );
            let Some(data) = line.trim_end().strip_prefix("data:") else {
                continue;
            };
            let snapshot: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
            let found = snapshot["modules"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m["name"] == module && m["state"] == state);
            if found {
                return;
            }
        }
    }
}

impl Drop for Running {
    /// A test that failed half-way leaves no process behind.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The attribute `name` of `node`, which must have it.
pub fn attribute<'a>(node: roxmltree::Node<'a, 'a>, name: &str) -> &'a str {
    node.attribute(name)
        .unwrap_or_else(|| panic!("<{}> without {name}", node.tag_name().name()))
}

/// The elements of `document` whose class is `class`, in document order.
pub fn with_class<'a>(
    document: &'a roxmltree::Document<'a>,
    class: &str,
) -> Vec<roxmltree::Node<'a, 'a>> {
    document
        .descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .collect()
}

/// Whether clang, wasm-ld and wasm-tools are here; a missing tool fails the test under
/// `SYMPHRA_REQUIRE_C_GUEST` (what `.ci/test` sets after installing them).
pub fn c_toolchain() -> bool {
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

/// Whether componentize-py is here; missing, it fails the test under
/// `SYMPHRA_REQUIRE_PYTHON_GUEST` (what `.ci/test` sets after installing it), and the test
/// says it skipped otherwise.
pub fn python_toolchain() -> bool {
    let present = Command::new("componentize-py")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        present || std::env::var_os("SYMPHRA_REQUIRE_PYTHON_GUEST").is_none(),
        "componentize-py missing; run .ci/install-wasm-toolchain"
    );
    if !present {
        eprintln!("skipped: componentize-py missing (run .ci/install-wasm-toolchain)");
    }
    present
}

/// A module `web` whose configuration schema wants an integer port (default 80).
pub fn web_with_a_port_schema() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let manifest = "name = \"web\"\nversion = \"1.0.0\"\n[config]\nschema = { type = \"object\", properties = { port = { type = \"integer\" } } }\ndefault = { port = 80 }\n";
    write_module(dir.path(), "web", manifest, &Guest::new().component());
    dir
}
