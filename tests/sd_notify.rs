//! systemd's notify protocol: `run_until_notifying` sends its messages, in order, to a
//! real Unix datagram socket bound here, on tokio's paused clock.

use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use symphra::manager::RunEnd;
use symphra::prelude::*;
use symphra::signal::Signal;
use symphra::systemd::Notifier;
use symphra::testing::{CallLog, Fault, Probe};
use tokio::net::UnixDatagram;
use tokio::time::Instant;

/// Yields `signal` after `after`, then nothing more, without ending.
fn signal_after(after: Duration, signal: Signal) -> impl Stream<Item = Signal> + Unpin {
    let once = stream::once(async move {
        tokio::time::sleep(after).await;
        signal
    });
    Box::pin(once.chain(stream::pending()))
}

/// A socket bound in a fresh folder and a notifier aimed at it.
fn socket() -> (tempfile::TempDir, UnixDatagram, Notifier) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    let notifier = Notifier::to_socket(path.as_os_str()).unwrap();
    (dir, socket, notifier)
}

/// Reads datagrams, each with the (virtual) time it arrived since `began`, until one
/// holds `STOPPING=1`.
async fn read_until_stopping(socket: UnixDatagram, began: Instant) -> Vec<(Duration, String)> {
    let mut messages = Vec::new();
    let mut buffer = vec![0; 4096];
    loop {
        let len = socket.recv(&mut buffer).await.unwrap();
        let text = String::from_utf8(buffer[..len].to_vec()).unwrap();
        let stopping = text.contains("STOPPING=1");
        messages.push((began.elapsed(), text));
        if stopping {
            return messages;
        }
    }
}

#[tokio::test(start_paused = true)]
async fn status_ready_watchdog_and_stopping_arrive_in_order() {
    let (_dir, socket, notifier) = socket();
    let notifier = notifier.with_watchdog(Some(Duration::from_secs(10)));
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log).delay(Hook::Start, Duration::from_secs(2)))
        .module(Probe::new("api", &log).depends_on("db"))
        .build()
        .unwrap();
    let began = Instant::now();
    let reader = tokio::spawn(read_until_stopping(socket, began));
    let outcome = manager
        .run_until_notifying(
            signal_after(Duration::from_secs(23), Signal::Terminate),
            Some(notifier),
        )
        .await;
    assert_eq!(outcome.ended, RunEnd::Signal(Signal::Terminate));
    let messages = reader.await.unwrap();

    let milestones: Vec<(Duration, &str)> = messages
        .iter()
        .filter(|(_, text)| text != "WATCHDOG=1")
        .map(|(at, text)| (*at, text.as_str()))
        .collect();
    assert_eq!(
        milestones,
        [
            (Duration::ZERO, "STATUS=starting 2 modules"),
            (Duration::from_secs(2), "READY=1\nSTATUS=2 modules running"),
            (
                Duration::from_secs(23),
                "STOPPING=1\nSTATUS=stopping on SIGTERM"
            ),
        ]
    );
    // WATCHDOG=1 at half the period from the start of the run: 0, 5, 10, 15, 20 s.
    let watchdogs: Vec<Duration> = messages
        .iter()
        .filter(|(_, text)| text == "WATCHDOG=1")
        .map(|(at, _)| *at)
        .collect();
    let expected: Vec<Duration> = (0..5).map(|k| Duration::from_secs(5 * k)).collect();
    assert_eq!(watchdogs, expected);
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_is_never_ready() {
    let (_dir, socket, notifier) = socket();
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log).fault(Hook::Start, Fault::Error("no disk".into())))
        .build()
        .unwrap();
    let reader = tokio::spawn(read_until_stopping(socket, Instant::now()));
    let outcome = manager
        .run_until_notifying(stream::pending(), Some(notifier))
        .await;
    assert_eq!(outcome.ended, RunEnd::StartFailed);
    let texts: Vec<String> = reader
        .await
        .unwrap()
        .into_iter()
        .map(|(_, text)| text)
        .collect();
    // No watchdog period: no WATCHDOG=1 either.
    assert_eq!(
        texts,
        [
            "STATUS=starting 1 module",
            "STOPPING=1\nSTATUS=the start failed; stopping what started"
        ]
    );
}

/// A module that signals readiness itself, 7 s after its start, from an owned task.
struct WarmsUp;

impl Module for WarmsUp {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("warms-up").signals_readiness()
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        let ready = ctx.clone();
        ctx.spawn("warm-up", move |shutdown| async move {
            tokio::time::sleep(Duration::from_secs(7)).await;
            ready.ready();
            shutdown.cancelled().await;
            Ok(())
        })?;
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn ready_waits_for_a_module_that_signals_readiness() {
    let (_dir, socket, notifier) = socket();
    let manager = ModuleManager::builder().module(WarmsUp).build().unwrap();
    let began = Instant::now();
    let reader = tokio::spawn(read_until_stopping(socket, began));
    let outcome = manager
        .run_until_notifying(
            signal_after(Duration::from_secs(10), Signal::Interrupt),
            Some(notifier),
        )
        .await;
    assert_eq!(outcome.ended, RunEnd::Signal(Signal::Interrupt));
    let messages = reader.await.unwrap();
    let texts: Vec<(Duration, &str)> = messages
        .iter()
        .map(|(at, text)| (*at, text.as_str()))
        .collect();
    assert_eq!(
        texts,
        [
            (Duration::ZERO, "STATUS=starting 1 module"),
            (Duration::from_secs(7), "READY=1\nSTATUS=1 module running"),
            (
                Duration::from_secs(10),
                "STOPPING=1\nSTATUS=stopping on SIGINT"
            ),
        ]
    );
}
