//! What [`ModuleManager::run_until`] tells a service manager as the run moves on; the
//! run speaks to a [`Notify`], which is systemd's notifier or nothing.

use std::sync::Arc;

use crate::bus::{Event, Subscription};
use crate::lifecycle::ModuleState;
use crate::manager::ModuleManager;
use crate::manager::run::RunEnd;
use crate::manager::{HEALTH_CHANGED, READY};
#[cfg(unix)]
use crate::systemd::{Notification, Notifier};

/// Receives the run's milestones.
pub(crate) trait Notify: Sync {
    /// A one-line summary of what the run is doing.
    fn status(&self, text: &str);
    /// Every module started; `summary` says so in a line.
    fn ready(&self, summary: &str);
    /// The run is about to stop everything, because of `ended`.
    fn stopping(&self, ended: &RunEnd);
    /// Whether it tells nobody (then readiness is not watched for it).
    fn is_silent(&self) -> bool {
        false
    }
}

/// Tells nobody: the run outside a service manager.
pub(crate) struct Silent;

impl Notify for Silent {
    fn status(&self, _text: &str) {}
    fn ready(&self, _summary: &str) {}
    fn stopping(&self, _ended: &RunEnd) {}
    fn is_silent(&self) -> bool {
        true
    }
}

/// Wakes the run when a module's readiness may have changed: on `module.ready` and
/// `module.health_changed`. Subscribes only for a notifier that is not silent.
pub(crate) struct Readiness {
    changed: Arc<tokio::sync::Notify>,
    _subscriptions: Vec<Subscription>,
}

impl Readiness {
    /// Starts watching `manager`'s bus, if `notify` wants to hear of readiness.
    pub(crate) fn watch(manager: &ModuleManager, notify: &dyn Notify) -> Self {
        let changed = Arc::new(tokio::sync::Notify::new());
        let mut subscriptions = Vec::new();
        if !notify.is_silent() {
            for topic in [READY, HEALTH_CHANGED] {
                let changed = Arc::clone(&changed);
                match manager
                    .bus()
                    .subscribe(topic, move |_: &Event| changed.notify_one())
                {
                    Ok(subscription) => subscriptions.push(subscription),
                    Err(error) => tracing::warn!(%error, topic, "cannot watch readiness"),
                }
            }
        }
        Self {
            changed,
            _subscriptions: subscriptions,
        }
    }

    /// Resolves after the next change (or at once if one happened since the last call).
    pub(crate) async fn changed(&self) {
        self.changed.notified().await;
    }
}

#[cfg(unix)]
impl Notify for Notifier {
    fn status(&self, text: &str) {
        self.send_or_log(&[Notification::Status(text)]);
    }

    fn ready(&self, summary: &str) {
        self.send_or_log(&[Notification::Ready, Notification::Status(summary)]);
    }

    fn stopping(&self, ended: &RunEnd) {
        let why = match ended {
            RunEnd::Signal(signal) => format!("stopping on {signal}"),
            RunEnd::Escalation {
                module: Some(module),
            } => format!("stopping: {module} used up its restarts"),
            RunEnd::Escalation { module: None } => "stopping: a module used up its restarts".into(),
            RunEnd::StartFailed => "the start failed; stopping what started".into(),
            RunEnd::Forced { .. } => "stopping".into(),
        };
        self.send_or_log(&[Notification::Stopping, Notification::Status(&why)]);
    }
}

/// `"starting 3 modules"`: the run's first status.
pub(crate) fn starting(manager: &ModuleManager) -> String {
    format!("starting {}", modules(manager.handles().len()))
}

/// `"1 module"`, `"3 modules"`.
fn modules(count: usize) -> String {
    if count == 1 {
        "1 module".to_owned()
    } else {
        format!("{count} modules")
    }
}

/// `"3 modules running"`, or `"2 of 3 modules running, 1 failed"`: the states of `manager`'s
/// modules in a line.
pub(crate) fn summary(manager: &ModuleManager) -> String {
    let handles = manager.handles();
    let running = handles
        .iter()
        .filter(|handle| handle.state() == ModuleState::Started)
        .count();
    let failed = handles
        .iter()
        .filter(|handle| handle.state() == ModuleState::Failed)
        .count();
    let mut line = if running == handles.len() {
        format!("{} running", modules(running))
    } else {
        format!("{running} of {} running", modules(handles.len()))
    };
    if failed > 0 {
        line.push_str(&format!(", {failed} failed"));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifecycle::Hook;
    use crate::testing::{CallLog, Fault, Probe};

    #[tokio::test(start_paused = true)]
    async fn the_summary_counts_running_modules_and_names_failures() {
        let log = CallLog::default();
        let manager = ModuleManager::builder()
            .module(Probe::new("db", &log))
            .module(Probe::new("cache", &log).fault(Hook::Start, Fault::Error("full".into())))
            .module(Probe::new("api", &log))
            .build()
            .expect("valid modules");
        assert_eq!(starting(&manager), "starting 3 modules");
        assert_eq!(summary(&manager), "0 of 3 modules running");
        assert!(manager.start_all().await.is_err(), "cache fails to start");
        assert_eq!(summary(&manager), "2 of 3 modules running, 1 failed");
    }

    #[tokio::test(start_paused = true)]
    async fn a_single_module_is_one_module() {
        let log = CallLog::default();
        let manager = ModuleManager::builder()
            .module(Probe::new("db", &log))
            .build()
            .expect("valid modules");
        manager.start_all().await.expect("starts");
        assert_eq!(starting(&manager), "starting 1 module");
        assert_eq!(summary(&manager), "1 module running");
    }
}
