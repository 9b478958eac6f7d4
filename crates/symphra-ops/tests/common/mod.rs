//! What the browser tests share: an application whose module fails and restarts when the
//! test says, and the Chromium binary.
// Each test file is its own crate and uses only some of these.
#![allow(dead_code)]

pub mod cdp;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use symphra::manager::ModuleEvent;
use symphra::prelude::*;
use symphra::supervision::{Restart, RestartPolicy};
use tokio::sync::{Notify, mpsc};

/// Fails (its task errs) when `fail` is notified; its second start waits for `restart`.
pub struct Flaky {
    pub fail: Arc<Notify>,
    pub restart: Arc<Notify>,
    pub starts: AtomicU32,
}

impl Module for Flaky {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("flaky").restart(
            RestartPolicy::new(Restart::OnFailure)
                .backoff(Duration::from_millis(1), Duration::from_millis(1))
                .jitter(false),
        )
    }

    async fn start(&self, ctx: &Context) -> HookResult {
        if self.starts.fetch_add(1, Ordering::SeqCst) > 0 {
            self.restart.notified().await;
            return Ok(());
        }
        let fail = Arc::clone(&self.fail);
        ctx.spawn("worker", move |shutdown| async move {
            tokio::select! {
                () = fail.notified() => Err("disk full".into()),
                () = shutdown.cancelled() => Ok(()),
            }
        })?;
        Ok(())
    }
}

pub struct Steady;

impl Module for Steady {
    fn metadata(&self) -> ModuleMetadata {
        ModuleMetadata::new("steady")
    }
}

/// The Chromium binary, if one is installed.
pub fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .flat_map(|name| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(move |dir| dir.join(name))
                .collect::<Vec<_>>()
        })
        .find(|path| path.is_file())
}

/// Waits for `flaky` to reach `state` (a `module.state_changed` event).
pub async fn reached(changes: &mut mpsc::UnboundedReceiver<ModuleEvent>, state: ModuleState) {
    while let Some(change) = changes.recv().await {
        if &*change.module == "flaky" && change.to == state {
            return;
        }
    }
    panic!("the bus closed before flaky reached {state:?}");
}
