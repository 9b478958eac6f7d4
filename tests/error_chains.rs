//! A hook's error is shown with its whole chain of causes: in the report, in the log, in
//! the failure's message, and through `Error::source`.

use std::error::Error as _;
use std::io;
use std::sync::{Arc, Mutex};

use symphra::lifecycle::FailureCause;
use symphra::manager::Outcome;
use symphra::prelude::*;
use symphra::{Error, HookFailure};

/// The root cause, as a database driver would report it.
#[derive(Debug, thiserror::Error)]
#[error("unable to open database file (code 14)")]
struct DriverError {
    #[source]
    io: io::Error,
}

/// What the module says it was doing; does not repeat its source.
#[derive(Debug, thiserror::Error)]
#[error("opening sqlite:///nonexistent-dir/app.db")]
struct OpenError {
    #[source]
    driver: DriverError,
}

const TOP: &str = "opening sqlite:///nonexistent-dir/app.db";
const MIDDLE: &str = "unable to open database file (code 14)";
const ROOT: &str = "no such directory: /nonexistent-dir";

/// A module whose `install` fails with a three-level error.
struct Database;

impl Module for Database {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("database")
    }

    async fn install(&self, _ctx: &Context, _config: Config) -> HookResult {
        Err(OpenError {
            driver: DriverError {
                io: io::Error::new(io::ErrorKind::NotFound, ROOT),
            },
        }
        .into())
    }
}

/// Asserts that `text` holds each level once, outermost first.
fn assert_levels_in_order(text: &str) {
    let mut rest = text;
    for level in [TOP, MIDDLE, ROOT] {
        assert_eq!(text.matches(level).count(), 1, "{level:?} in {text:?}");
        let at = rest
            .find(level)
            .unwrap_or_else(|| panic!("{level:?} out of order in {text:?}"));
        rest = &rest[at + level.len()..];
    }
}

/// Log output, captured for the test's thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

/// Starts a manager holding only [`Database`]; gives its start error and the log.
async fn failed_start() -> (Error, String) {
    let log = Captured::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    // The test runs on one thread (tokio's current-thread runtime), hooks included.
    let _guard = tracing::subscriber::set_default(subscriber);
    let manager = ModuleManager::builder().module(Database).build().unwrap();
    let error = manager.start_all().await.unwrap_err();
    (error, log.text())
}

fn failure_of(error: &Error) -> HookFailure {
    let Error::Start(start) = error else {
        panic!("expected a start error, got {error:?}");
    };
    match start.report().module("database").map(|m| m.outcome()) {
        Some(Outcome::Failed(failure)) => failure.clone(),
        other => panic!("expected database to fail, got {other:?}"),
    }
}

#[tokio::test]
async fn the_report_line_shows_every_cause() {
    let (error, _) = failed_start().await;
    let Error::Start(start) = &error else {
        panic!("expected a start error, got {error:?}");
    };
    let line = start
        .report()
        .module("database")
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(line.contains("FAILED in install: "), "{line}");
    assert_levels_in_order(&line);
    assert_levels_in_order(&start.report().to_string());
    assert_levels_in_order(&error.to_string());
}

#[tokio::test]
async fn the_log_line_shows_every_cause() {
    let (_, log) = failed_start().await;
    let line = log
        .lines()
        .find(|line| line.contains("hook failed"))
        .unwrap_or_else(|| panic!("no \"hook failed\" line in {log:?}"));
    assert_levels_in_order(line);
}

#[tokio::test]
async fn the_failure_message_shows_every_cause() {
    let (error, _) = failed_start().await;
    let failure = failure_of(&error);
    let message = failure.to_string();
    assert!(
        message.starts_with("module \"database\" failed in its install hook: "),
        "{message}"
    );
    assert_levels_in_order(&message);
}

#[tokio::test]
async fn sources_lead_from_the_error_to_the_root_cause() {
    let (error, _) = failed_start().await;
    // `Error::Start` is transparent (it is the `StartError`), whose source is the first
    // failure: HookFailure → FailureCause → OpenError → DriverError → io::Error.
    let mut chain = Vec::new();
    let mut next = error.source();
    while let Some(source) = next {
        chain.push(source);
        next = source.source();
    }
    assert_eq!(chain.len(), 5, "{chain:#?}");
    assert!(chain[0].is::<HookFailure>(), "{:?}", chain[0]);
    assert!(chain[1].is::<FailureCause>(), "{:?}", chain[1]);
    assert!(chain[2].is::<OpenError>(), "{:?}", chain[2]);
    assert!(chain[3].is::<DriverError>(), "{:?}", chain[3]);
    assert!(chain[4].is::<io::Error>(), "{:?}", chain[4]);

    // The hook's error and its sources, each read on its own: every level once, in order.
    let own_messages: Vec<String> = chain[2..].iter().map(ToString::to_string).collect();
    assert_eq!(own_messages, [TOP, MIDDLE, ROOT]);
}
