//! The host functions a guest imports (`symphra:module/host`): logging, and the bus within
//! the manifest's grants.

use std::sync::Arc;

use symphra::bus::Event;

use super::Delivery;
use super::store::State;
use crate::bindings::symphra::module::host::{Host, Level};

/// The longest guest log message forwarded, in bytes; longer ones are cut.
pub(crate) const MAX_LOG_BYTES: usize = 8 * 1024;

/// A guest's log message as the host writes it: control characters (a newline among
/// them) escaped, so that it cannot forge a log line of the host's, and cut at
/// [`MAX_LOG_BYTES`].
fn escape_log(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(MAX_LOG_BYTES));
    for c in message.chars() {
        if out.len() >= MAX_LOG_BYTES {
            out.push_str(&format!("… ({} bytes in all)", message.len()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

impl Host for State {
    async fn log(&mut self, level: Level, message: String) {
        let module = &*self.name;
        let message = escape_log(&message);
        match level {
            Level::Trace => tracing::trace!(module, "{message}"),
            Level::Debug => tracing::debug!(module, "{message}"),
            Level::Info => tracing::info!(module, "{message}"),
            Level::Warn => tracing::warn!(module, "{message}"),
            Level::Error => tracing::error!(module, "{message}"),
        }
    }

    async fn publish(&mut self, topic: String, payload: String) -> Result<(), String> {
        if !self.caps.may_publish(&topic) {
            tracing::warn!(
                module = &*self.name,
                topic,
                "publish denied by the manifest"
            );
            return Err(format!(
                "module `{}` may not publish on `{topic}`: it is granted only {:?} \
                 (capabilities.publish in module.toml)",
                self.name,
                self.caps
                    .publish
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
            ));
        }
        let value: serde_json::Value = serde_json::from_str(&payload)
            .map_err(|e| format!("the payload published on `{topic}` is not JSON: {e}"))?;
        let ctx = self
            .ctx
            .clone()
            .ok_or_else(|| "publish is not available before bootstrap".to_owned())?;
        let event = Event::json(&topic, value)
            .map_err(|e| e.to_string())?
            .with_source(Arc::clone(&self.name));
        ctx.bus().publish_event(event).await;
        Ok(())
    }

    async fn subscribe(&mut self, pattern: String) -> Result<(), String> {
        if !self.caps.may_subscribe(&pattern) {
            tracing::warn!(
                module = &*self.name,
                pattern,
                "subscribe denied by the manifest"
            );
            return Err(format!(
                "module `{}` may not subscribe to `{pattern}`: it is granted only {:?} \
                 (capabilities.subscribe in module.toml)",
                self.name,
                self.caps
                    .subscribe
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
            ));
        }
        let ctx = self
            .ctx
            .clone()
            .ok_or_else(|| "subscribe is not available before bootstrap".to_owned())?;
        let shared = self.shared.clone();
        // The handler holds the context only while subscribed: the manager removes the
        // module's subscriptions when it stops, so no reference cycle outlives the module.
        let handler_ctx = ctx.clone();
        ctx.subscribe_async(&pattern, move |event: Event| {
            let shared = shared.clone();
            let ctx = handler_ctx.clone();
            async move {
                if let Some(shared) = shared.upgrade() {
                    let payload = event
                        .to_json()
                        .map(|v| v.to_string())
                        .unwrap_or_else(|_| "null".to_owned());
                    let topic = event.topic().to_owned();
                    let bytes = (topic.len() + payload.len()) as u64;
                    let delivery = Delivery {
                        topic,
                        payload,
                        ctx,
                    };
                    shared.offer(delivery, bytes).await;
                }
            }
        })
        .map_err(|e| e.to_string())
    }

    async fn config(&mut self) -> String {
        self.ctx
            .as_ref()
            .map_or_else(|| "{}".to_owned(), |c| c.config().as_value().to_string())
    }
}
