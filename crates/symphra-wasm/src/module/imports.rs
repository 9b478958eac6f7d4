//! The host functions a guest imports (`symphra:module/host`, 0.1 and 0.2): logging, the
//! bus within the manifest's grants, and (0.2) readiness and the watchdog's heartbeat. Both
//! versions' functions run the same code.

use std::sync::Arc;

use symphra::bus::Event;

use super::Delivery;
use super::store::State;
use crate::bindings::symphra::module::host::{Host as HostV1, Level as LevelV1};
use crate::bindings_v2::symphra::module::host::{Host as HostV2, Level as LevelV2};
use crate::manifest::{RESERVED_TOPIC_ROOTS, is_reserved_topic, quote};

/// The longest guest log message forwarded, in bytes; longer ones are cut.
pub(crate) const MAX_LOG_BYTES: usize = 8 * 1024;

/// A guest's log message as the host writes it: control characters (a newline among
/// them) escaped, so that it cannot forge a log line of the host's, and cut at
/// [`MAX_LOG_BYTES`].
pub(crate) fn escape_log(message: &str) -> String {
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

impl HostV1 for State {
    async fn log(&mut self, level: LevelV1, message: String) {
        let level = match level {
            LevelV1::Trace => tracing::Level::TRACE,
            LevelV1::Debug => tracing::Level::DEBUG,
            LevelV1::Info => tracing::Level::INFO,
            LevelV1::Warn => tracing::Level::WARN,
            LevelV1::Error => tracing::Level::ERROR,
        };
        self.write_log(level, &message);
    }

    async fn publish(&mut self, topic: String, payload: String) -> Result<(), String> {
        self.publish_for_guest(topic, payload).await
    }

    async fn subscribe(&mut self, pattern: String) -> Result<(), String> {
        self.subscribe_for_guest(pattern)
    }

    async fn config(&mut self) -> String {
        self.config_json()
    }
}

impl HostV2 for State {
    async fn log(&mut self, level: LevelV2, message: String) {
        let level = match level {
            LevelV2::Trace => tracing::Level::TRACE,
            LevelV2::Debug => tracing::Level::DEBUG,
            LevelV2::Info => tracing::Level::INFO,
            LevelV2::Warn => tracing::Level::WARN,
            LevelV2::Error => tracing::Level::ERROR,
        };
        self.write_log(level, &message);
    }

    async fn publish(&mut self, topic: String, payload: String) -> Result<(), String> {
        self.publish_for_guest(topic, payload).await
    }

    async fn subscribe(&mut self, pattern: String) -> Result<(), String> {
        self.subscribe_for_guest(pattern)
    }

    async fn config(&mut self) -> String {
        self.config_json()
    }

    async fn ready(&mut self) {
        match &self.ctx {
            Some(ctx) => ctx.ready(),
            None => tracing::debug!(module = &*self.name, "ready outside a call: ignored"),
        }
    }

    async fn heartbeat(&mut self) {
        if let Some(ctx) = &self.ctx {
            ctx.heartbeat();
        }
    }
}

impl State {
    fn write_log(&self, level: tracing::Level, message: &str) {
        let module = &*self.name;
        let message = escape_log(message);
        match level {
            tracing::Level::TRACE => tracing::trace!(module, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(module, "{message}"),
            tracing::Level::INFO => tracing::info!(module, "{message}"),
            tracing::Level::WARN => tracing::warn!(module, "{message}"),
            tracing::Level::ERROR => tracing::error!(module, "{message}"),
        }
    }

    async fn publish_for_guest(&mut self, topic: String, payload: String) -> Result<(), String> {
        if is_reserved_topic(&topic) {
            tracing::warn!(
                module = &*self.name,
                topic = quote(&topic),
                "publish on a topic reserved for the runtime denied"
            );
            return Err(format!(
                "module `{}` may not publish on {}: topics under {} are reserved for the runtime, whatever the manifest grants",
                self.name,
                quote(&topic),
                RESERVED_TOPIC_ROOTS
                    .map(|r| format!("`{r}.>`"))
                    .join(" and ")
            ));
        }
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

    fn subscribe_for_guest(&mut self, pattern: String) -> Result<(), String> {
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
                    let source: Option<Arc<str>> = event.source().map(Arc::from);
                    let bytes = (topic.len() + payload.len()) as u64;
                    let delivery = Delivery {
                        topic,
                        payload,
                        source,
                        ctx,
                    };
                    shared.offer(delivery, bytes).await;
                }
            }
        })
        .map_err(|e| e.to_string())
    }

    fn config_json(&self) -> String {
        self.ctx
            .as_ref()
            .map_or_else(|| "{}".to_owned(), |c| c.config().as_value().to_string())
    }
}
