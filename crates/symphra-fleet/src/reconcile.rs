//! A replica's reconciler: applies the fleet's decisions to its manager, through the
//! manager's operator commands, as they are written.

use std::sync::Arc;

use async_nats::jetstream::kv;
use futures_util::StreamExt;
use symphra::context::CancellationToken;
use symphra::{ModuleManager, ModuleState};
use tokio::sync::Notify;

use crate::desired::{Availability, Desired, Run};

/// Applies the decisions about `module` (`None`: the fleet decides nothing about it,
/// which leaves it as it is). A module this replica does not have is ignored.
///
/// The fleet wins over the replica's own state store: the commands used here (`disable`,
/// `enable`, `stop`, `start`, `configure`) record their effect in the store as an
/// operator's would, so a restart without NATS keeps the fleet's last word.
pub(crate) async fn apply(manager: &ModuleManager, module: &str, desired: &Desired) {
    let Ok(handle) = manager.module(module) else {
        tracing::debug!(%module, "a fleet decision about a module this replica does not have");
        return;
    };
    let report = |what: &str, result: Result<(), symphra::Error>| {
        if let Err(error) = result {
            tracing::warn!(%module, %error, "fleet decision: {what} failed");
        }
    };
    if desired.availability == Availability::Disabled {
        report("disable", manager.disable(module).await);
        return;
    }
    report("enable", manager.enable(module).await);
    let mut was_running = matches!(handle.state(), ModuleState::Started);
    if let Some(config) = &desired.config
        && handle.config().as_value() != config
    {
        report("configure", manager.configure(module, config.clone()));
        // A new configuration reaches a module at its install: reinstall it.
        if was_running {
            report("stop", manager.stop_for_now(module).await.map(drop));
        }
        if matches!(
            handle.state(),
            ModuleState::Installed | ModuleState::Stopped
        ) {
            report("uninstall", manager.uninstall(module).await);
        }
        was_running = false;
    }
    match desired.run {
        Some(Run::Stopped) => report("stop", manager.stop(module).await.map(drop)),
        Some(Run::Started) | None if !was_running => {
            report("start", manager.start(module).await.map(drop));
        }
        Some(Run::Started) | None => {}
    }
}

/// Applies every decision already in the bucket; returns the revision to watch from.
pub(crate) async fn apply_all(
    manager: &ModuleManager,
    store: &kv::Store,
) -> Result<u64, async_nats::Error> {
    let last = store.status().await?.info.state.last_sequence;
    let mut keys = store.keys().await?;
    while let Some(key) = keys.next().await {
        let key = key?;
        if let Some(entry) = store.entry(&key).await?
            && entry.operation == kv::Operation::Put
        {
            match Desired::decode(&key, &entry.value) {
                Ok(desired) => apply(manager, &key, &desired).await,
                Err(error) => tracing::warn!(%error, "fleet decision ignored"),
            }
        }
    }
    Ok(last + 1)
}

/// Applies decisions as they are written, from revision `from`, until shutdown; pokes
/// `changed` after each, so that the heartbeat reports the new state at once. Every
/// `resync` it checks that the watch has delivered everything the bucket holds.
pub(crate) async fn watch(
    manager: ModuleManager,
    store: kv::Store,
    mut from: u64,
    resync: std::time::Duration,
    changed: Arc<Notify>,
    shutdown: CancellationToken,
) {
    while !shutdown.is_cancelled() {
        let mut updates = match store.watch_all_from_revision(from).await {
            Ok(updates) => updates,
            Err(error) => {
                tracing::warn!(%error, "cannot watch the fleet's decisions; retrying");
                tokio::select! {
                    () = shutdown.cancelled() => return,
                    () = tokio::time::sleep(std::time::Duration::from_secs(1)) => continue,
                }
            }
        };
        let mut check = tokio::time::interval(resync);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let entry = tokio::select! {
                () = shutdown.cancelled() => return,
                entry = updates.next() => entry,
                _ = check.tick() => {
                    // A watch whose server died can go quiet without an error: if the
                    // bucket holds a revision it has not delivered, open a new one.
                    match store.status().await {
                        Ok(status) if status.info.state.last_sequence >= from => {
                            tracing::warn!("the decisions' watch fell behind; reopening it");
                            break;
                        }
                        _ => continue,
                    }
                }
            };
            let entry = match entry {
                Some(Ok(entry)) => entry,
                // A broken watch: open a new one from the next revision.
                Some(Err(_)) | None => break,
            };
            from = entry.revision + 1;
            if entry.operation != kv::Operation::Put {
                continue;
            }
            match Desired::decode(&entry.key, &entry.value) {
                Ok(desired) => {
                    tracing::info!(module = %entry.key, ?desired, "fleet decision");
                    apply(&manager, &entry.key, &desired).await;
                    changed.notify_one();
                }
                Err(error) => tracing::warn!(%error, "fleet decision ignored"),
            }
        }
    }
}
