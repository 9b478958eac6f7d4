//! `ModuleManager::run_until` on tokio's paused clock, driven by a test stream of signals.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{Stream, StreamExt, stream};
use symphra::lifecycle::FailureCause;
use symphra::manager::{Outcome, RunEnd, SkipReason};
use symphra::prelude::*;
use symphra::signal::Signal;
use symphra::testing::{CallLog, Probe};

/// Yields each signal after its delay (counted from the previous one), then nothing more,
/// without ending: like a process's signals.
fn signals(list: Vec<(u64, Signal)>) -> impl Stream<Item = Signal> + Unpin {
    let timed = stream::unfold(list.into_iter(), |mut list| async move {
        let (after, signal) = list.next()?;
        tokio::time::sleep(Duration::from_secs(after)).await;
        Some((signal, list))
    });
    Box::pin(timed.chain(stream::pending()))
}

fn state(manager: &ModuleManager, name: &str) -> ModuleState {
    manager.module(name).unwrap().state()
}

#[tokio::test(start_paused = true)]
async fn a_signal_during_the_start_cancels_it_and_stops_what_started() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(
            Probe::new("slow", &log)
                .depends_on("db")
                .delay(Hook::Start, Duration::from_secs(20)),
        )
        .module(Probe::new("api", &log).depends_on("slow"))
        .build()
        .unwrap();
    let outcome = manager
        .run_until(signals(vec![(1, Signal::Terminate)]))
        .await;
    assert_eq!(outcome.ended, RunEnd::Signal(Signal::Terminate));
    let start = outcome.start.as_ref().unwrap();
    match start.module("slow").unwrap().outcome() {
        Outcome::Failed(failure) => {
            assert!(
                matches!(failure.cause(), FailureCause::Cancelled),
                "{failure}"
            );
            assert_eq!(failure.cause().to_string(), "cancelled by shutdown");
        }
        other => panic!("slow: {other:?}"),
    }
    assert!(
        matches!(
            start.module("api").unwrap().outcome(),
            Outcome::Skipped(SkipReason::DependencyFailed { .. } | SkipReason::Cancelled)
        ),
        "{start}"
    );
    assert_eq!(state(&manager, "slow"), ModuleState::Failed);
    assert_eq!(log.modules_calling(Hook::Start), ["db", "slow"]);
    assert_eq!(log.modules_calling(Hook::Stop), ["db"]);
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
    // The cancellation ended the wait at once, not at the hook's 20 s.
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
    assert!(outcome.stop.as_ref().unwrap().is_success(), "{outcome:?}");
    assert_eq!(outcome.exit_code(), 0, "{outcome:?}");
}

#[tokio::test(start_paused = true)]
async fn a_signal_while_running_stops_everything_in_reverse_order() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(Probe::new("api", &log).depends_on("db"))
        .build()
        .unwrap();
    let outcome = manager
        .run_until(signals(vec![(5, Signal::Interrupt)]))
        .await;
    assert_eq!(outcome.ended, RunEnd::Signal(Signal::Interrupt));
    assert!(outcome.start.as_ref().unwrap().is_success());
    assert_eq!(log.modules_calling(Hook::Stop), ["api", "db"]);
    assert!(outcome.is_success());
    assert_eq!(outcome.exit_code(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_stop_that_fails_after_a_signal_is_no_success_and_exits_1() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(Probe::new("api", &log).depends_on("db").fault(
            Hook::Stop,
            symphra::testing::Fault::Error("flush failed".into()),
        ))
        .build()
        .unwrap();
    let outcome = manager
        .run_until(signals(vec![(5, Signal::Terminate)]))
        .await;
    assert_eq!(outcome.ended, RunEnd::Signal(Signal::Terminate));
    assert!(outcome.start.as_ref().unwrap().is_success());
    assert!(!outcome.stop.as_ref().unwrap().is_success(), "{outcome:?}");
    assert!(outcome.error.is_none());
    assert!(!outcome.is_success());
    assert_eq!(outcome.exit_code(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_second_signal_while_stopping_forces_the_return_naming_the_abandoned() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(
            Probe::new("api", &log)
                .depends_on("db")
                .delay(Hook::Stop, Duration::from_secs(20)),
        )
        .build()
        .unwrap();
    let began = tokio::time::Instant::now();
    let outcome = manager
        .run_until(signals(vec![
            (5, Signal::Terminate),
            (1, Signal::Interrupt),
        ]))
        .await;
    assert_eq!(
        outcome.ended,
        RunEnd::Forced {
            signal: Signal::Interrupt,
            abandoned: vec!["api".to_owned()],
        }
    );
    assert_eq!(began.elapsed(), Duration::from_secs(6));
    assert!(outcome.stop.is_none());
    assert_eq!(outcome.exit_code(), 130);
    // db waited for api: its stop never ran.
    assert_eq!(log.modules_calling(Hook::Stop), ["api"]);
}

#[tokio::test(start_paused = true)]
async fn an_escalation_stops_everything_and_reports_failure() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(Probe::new("api", &log).depends_on("db"))
        .build()
        .unwrap();
    let escalating = manager.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        symphra::testing::escalate(&escalating, "db");
    });
    let outcome = manager.run_until(signals(vec![])).await;
    assert_eq!(
        outcome.ended,
        RunEnd::Escalation {
            module: Some("db".to_owned())
        }
    );
    assert_eq!(log.modules_calling(Hook::Stop), ["api", "db"]);
    assert!(!outcome.is_success());
    assert_eq!(outcome.exit_code(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_failed_start_stops_what_started_and_exits_1() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(
            Probe::new("api", &log)
                .fault(Hook::Start, symphra::testing::Fault::Error("boom".into())),
        )
        .build()
        .unwrap();
    let outcome = manager.run_until(signals(vec![])).await;
    assert_eq!(outcome.ended, RunEnd::StartFailed);
    assert_eq!(log.modules_calling(Hook::Stop), ["db"]);
    assert_eq!(outcome.exit_code(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_start_without_cancellation_is_unchanged_by_it() {
    // A hook that waits, under `start_all_until` with a token nobody cancels.
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("slow", &log).delay(Hook::Start, Duration::from_secs(2)))
        .build()
        .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let report = manager.start_all_until(&cancel).await.unwrap();
    assert!(report.is_success());
    assert_eq!(state(&manager, "slow"), ModuleState::Started);
}

#[tokio::test(start_paused = true)]
async fn a_cancelled_fail_fast_start_still_rolls_back_what_it_started() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("db", &log))
        .module(Probe::new("slow", &log).delay(Hook::Start, Duration::from_secs(2)))
        .fail_fast(true)
        .build()
        .unwrap();
    let cancel = tokio_util::sync::CancellationToken::new();
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        canceller.cancel();
    });
    let failed = manager.start_all_until(&cancel).await;
    assert!(failed.is_err(), "the cancelled hook failed the start");
    // The rollback is not cancelled with the start: db, which started, is stopped again.
    assert_eq!(log.modules_calling(Hook::Stop), ["db"]);
    assert_eq!(state(&manager, "db"), ModuleState::Stopped);
}

/// Records whether anyone listened to the readiness topics while it started.
struct ReadinessLooker {
    heard: Arc<Mutex<Option<[bool; 2]>>>,
}

impl Module for ReadinessLooker {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("looker")
    }
    async fn start(&self, ctx: &Context) -> HookResult {
        let heard = [symphra::health::READY, symphra::health::HEALTH_CHANGED]
            .map(|topic| ctx.bus().has_subscribers(topic));
        *self.heard.lock().map_err(|_| "poisoned")? = Some(heard);
        Ok(())
    }
}

/// Without a service manager to tell, nobody waits for readiness: the run does not listen
/// to `module.ready` and `module.health_changed` (each would cost every start a publish).
#[cfg(unix)]
#[tokio::test(start_paused = true)]
async fn a_run_with_nobody_to_notify_does_not_listen_for_readiness() {
    let heard = Arc::default();
    let manager = ModuleManager::builder()
        .module(ReadinessLooker {
            heard: Arc::clone(&heard),
        })
        .build()
        .unwrap();
    let outcome = manager
        .run_until_notifying(signals(vec![(1, Signal::Terminate)]), None)
        .await;
    assert_eq!(outcome.ended, RunEnd::Signal(Signal::Terminate));
    assert_eq!(*heard.lock().unwrap(), Some([false, false]));
}
