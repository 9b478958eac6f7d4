//! `run_until` with real signals, in a real process: this test binary runs itself again
//! as the application (the `child_app` test, under `SYMPHRA_GRACEFUL_CHILD`), and the
//! tests send that child SIGTERM and SIGINT with `kill`, as a service manager or a user
//! would. A child of its own: once a process listens for signals they no longer kill it,
//! and a signal sent to this process would reach every test in it.

#![cfg(unix)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use symphra::prelude::*;
use symphra::signal::Signals;

/// The environment variable that makes `child_app` run the application.
const CHILD: &str = "SYMPHRA_GRACEFUL_CHILD";

/// A module that prints each hook it runs; its start or stop can wait a long time.
struct Service {
    name: &'static str,
    deps: &'static [&'static str],
    slow_start: bool,
    slow_stop: bool,
}

impl Module for Service {
    fn metadata(&self) -> ModuleMetadata {
        self.deps
            .iter()
            .fold(ModuleMetadata::new(self.name), |meta, dep| {
                meta.depends_on(dep)
            })
    }

    async fn start(&self, _ctx: &Context) -> HookResult {
        println!("starting {}", self.name);
        if self.slow_start {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        println!("started {}", self.name);
        Ok(())
    }

    async fn stop(&self, _ctx: &Context) -> HookResult {
        println!("stopping {}", self.name);
        if self.slow_stop {
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        println!("stopped {}", self.name);
        Ok(())
    }
}

/// The application the tests run: `db`, then `cache` on it, whose start (scenario
/// `slow-start`) or stop (`slow-stop`) takes 30 s.
#[tokio::test]
async fn child_app() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return; // run as a test of its own: nothing to do
    };
    let signals = Signals::listen(); // before any hook runs
    let manager = ModuleManager::builder()
        .module(Service {
            name: "db",
            deps: &[],
            slow_start: false,
            slow_stop: false,
        })
        .module(Service {
            name: "cache",
            deps: &["db"],
            slow_start: scenario == "slow-start",
            slow_stop: scenario == "slow-stop",
        })
        .build()
        .unwrap();
    let outcome = manager.run_until(signals).await;
    if let symphra::manager::RunEnd::Forced { abandoned, .. } = &outcome.ended {
        println!("abandoned: {}", abandoned.join(", "));
    }
    println!("ended: {:?}", outcome.ended);
    std::process::exit(i32::from(outcome.exit_code()));
}

/// The child, its stdout read line by line on a thread.
struct App {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl App {
    fn start(scenario: &str) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "child_app", "--nocapture", "--test-threads=1"])
            .env(CHILD, scenario)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
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
        }
    }

    /// Reads until the line `wanted` (generous bound: the machine may be busy).
    fn wait_for(&mut self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.seen.iter().any(|line| line == wanted) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(_) => {
                    let _ = self.child.kill();
                    panic!("no line {wanted:?} in:\n{}", self.seen.join("\n"));
                }
            }
        }
    }

    fn kill(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the child to exit (bounded) and reads what is left of its output.
    fn exit(mut self) -> (Option<i32>, Vec<String>) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("did not exit:\n{}", self.seen.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        self.seen.extend(self.lines.iter());
        (status.code(), self.seen)
    }
}

#[test]
fn sigterm_during_a_slow_start_stops_the_modules_that_had_started() {
    let mut app = App::start("slow-start");
    app.wait_for("started db");
    app.wait_for("starting cache");
    app.kill("-TERM");
    let (code, lines) = app.exit();
    let all = lines.join("\n");
    // db had started: its stop hook ran. cache was cancelled: it never started, and
    // there is nothing to stop.
    assert!(lines.iter().any(|l| l == "stopped db"), "{all}");
    assert!(!lines.iter().any(|l| l == "started cache"), "{all}");
    assert!(!lines.iter().any(|l| l == "stopping cache"), "{all}");
    assert!(
        lines.iter().any(|l| l == "ended: Signal(Terminate)"),
        "{all}"
    );
    // A requested shutdown, carried out cleanly: 0, as documented on `exit_code`.
    assert_eq!(code, Some(0), "{all}");
}

#[test]
fn a_second_sigint_exits_at_once_naming_the_abandoned_hooks() {
    let mut app = App::start("slow-stop");
    app.wait_for("started cache");
    app.kill("-INT");
    app.wait_for("stopping cache");
    let second = Instant::now();
    app.kill("-INT");
    let (code, lines) = app.exit();
    let elapsed = second.elapsed();
    let all = lines.join("\n");
    assert!(lines.iter().any(|l| l == "abandoned: cache"), "{all}");
    assert!(!lines.iter().any(|l| l == "stopped db"), "{all}");
    assert_eq!(code, Some(130), "{all}");
    // The bound: a second Ctrl-C ends the process within 100 ms. The measure
    // includes spawning `kill`, the signal's delivery and the child's exit; the rest of
    // this test allows generous time, this bound is the behaviour under test.
    assert!(
        elapsed < Duration::from_millis(100),
        "exited {elapsed:?} after the second signal"
    );
}
