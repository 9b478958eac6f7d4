//! The guest's `health.check` (WIT 0.2), run by the core on the manifest's schedule.

use std::sync::Arc;

use symphra::Context;
use symphra::health::Health;

use super::imports::escape_log;
use super::store::{arm, classify};
use super::{Shared, WasmModule};

impl WasmModule {
    /// Runs the guest's health check in a task of its own: when the core abandons it at
    /// its timeout, the guest call is not cut off mid-way (which would leave the instance
    /// unusable); it runs on to the guest's own time limit and ends cleanly.
    pub(super) async fn health_in_task(&self, ctx: &Context) -> Health {
        let shared = Arc::clone(self.shared());
        let ctx = ctx.clone();
        let task = tokio::spawn(async move { shared.check_health(&ctx).await });
        task.await.unwrap_or_else(|error| {
            Health::unhealthy(format!("the health check's task ended abnormally: {error}"))
        })
    }
}

impl Shared {
    /// Calls `health.check` under the instance lock, bounded by the hook time limit. No
    /// instance is unhealthy; a trap drops the instance and fails the module, as one in
    /// `on-event` does. Events queued meanwhile are delivered after.
    async fn check_health(self: &Arc<Self>, ctx: &Context) -> Health {
        let health = {
            let mut guard = self.live.lock().await;
            match guard.as_mut() {
                None => Health::unhealthy("the module has no instance (it trapped)"),
                Some(live) => {
                    live.store.data_mut().ctx = Some(ctx.clone());
                    arm(&mut live.store);
                    let outcome = live.exports.check_health(&mut live.store).await;
                    live.store.data_mut().ctx = None;
                    match outcome {
                        // Loading refuses a health check without the export; say so if
                        // it is ever reached anyway.
                        None => Health::unhealthy("the component exports no health check"),
                        Some(Ok(health)) => escape_reason(health),
                        Some(Err(error)) => {
                            let error = classify("health", &live.store, error);
                            tracing::warn!(module = &*self.name, %error, "health check trapped: the instance is dropped and the module fails");
                            *guard = None;
                            let reason = error.to_string();
                            ctx.fail(error);
                            Health::unhealthy(reason)
                        }
                    }
                }
            }
        };
        self.inbox.drain_after_release(&self.live, &**self).await;
        health
    }
}

/// The guest's reason with control characters escaped (it reaches logs and the operator's
/// page); the core cuts it to its length limit.
fn escape_reason(health: Health) -> Health {
    match health {
        Health::Healthy => Health::Healthy,
        Health::Degraded { reason } => Health::degraded(escape_log(&reason)),
        Health::Unhealthy { reason } => Health::unhealthy(escape_log(&reason)),
    }
}
