//! A real SIGTERM sent to this process ends a scoped run cleanly. Alone in its test binary:
//! once tokio listens for the signal, the process no longer dies of it.

#![cfg(unix)]

use symphra::prelude::*;
use symphra::signal::Signal;
use symphra::testing::{CallLog, Probe};

#[tokio::test]
async fn sigterm_stops_every_module_in_reverse_order() {
    let log = CallLog::default();
    let manager = ModuleManager::builder()
        .module(Probe::new("database", &log))
        .module(Probe::new("users", &log).depends_on("database"))
        .build()
        .unwrap();
    let exit = manager
        .scope(async {
            // Let the scope install its signal handlers before the signal is sent.
            tokio::task::yield_now().await;
            let status = tokio::process::Command::new("kill")
                .args(["-TERM", &std::process::id().to_string()])
                .status()
                .await
                .unwrap();
            assert!(status.success());
            std::future::pending::<()>().await
        })
        .await
        .unwrap();
    assert_eq!(exit, ScopeExit::Interrupted(Signal::Terminate));
    assert_eq!(log.modules_calling(Hook::Stop), ["users", "database"]);
}
