//! The directory watcher: reloads a component module when its files change, until it is
//! stopped.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use symphra::ModuleManager;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{RELOAD_DEBOUNCE, RELOAD_SETTLE_LIMIT, ReloadError, ReloadReport, watched_files};
use crate::module::WasmModule;

/// Watches the folders of component modules and reloads a module when its `module.toml`
/// or component file changes. Reports arrive through [`next_report`](Self::next_report).
///
/// End it with [`stop`](Self::stop), which lets a reload under way finish. Dropping the
/// watcher instead cancels such a reload at its next await, which can leave its module
/// stopped or uninstalled halfway through.
pub struct Watcher {
    _watcher: notify::RecommendedWatcher,
    reports: mpsc::UnboundedReceiver<ReloadReport>,
    stopping: CancellationToken,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

/// The fallback for a watcher dropped without [`Watcher::stop`] (a panic unwinding, a
/// caller that forgot): nothing may reload after its owner let it go, so the task ends at
/// its next await, a reload under way with it.
impl Drop for Watcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The watcher's task failed instead of ending when asked: [`Watcher::stop`] could not
/// wait for a reload under way to end.
#[derive(Debug, thiserror::Error)]
#[error(
    "the hot-reload watcher failed ({reason}): a reload under way then was cut short; check \
     the modules' states and restart the application to run the files as they are now"
)]
pub struct WatcherFailed {
    /// How the task ended (a panic, with its message).
    pub reason: String,
    /// The reports of the reloads that ended before and were not taken with
    /// [`next_report`](Watcher::next_report), in order.
    pub reports: Vec<ReloadReport>,
}

impl Watcher {
    /// Watches `modules` (those loaded from folders) of `manager`. Must be called inside a
    /// tokio runtime.
    pub fn new(manager: ModuleManager, modules: Vec<WasmModule>) -> Result<Self, ReloadError> {
        use notify::Watcher as _;

        let (events, changes) = mpsc::unbounded_channel::<PathBuf>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && !event.kind.is_access()
                {
                    for path in event.paths {
                        let _ = events.send(path);
                    }
                }
            })
            .map_err(|e| ReloadError::Watch {
                path: PathBuf::new(),
                reason: e.to_string(),
            })?;

        // Watched folder (canonical) → module, and the file names that matter there.
        let mut watched: BTreeMap<PathBuf, (WasmModule, BTreeSet<String>)> = BTreeMap::new();
        for module in modules {
            let Some(dir) = module.dir() else { continue };
            let dir = dir.canonicalize().map_err(|e| ReloadError::Watch {
                path: dir.to_owned(),
                reason: e.to_string(),
            })?;
            watcher
                .watch(&dir, notify::RecursiveMode::NonRecursive)
                .map_err(|e| ReloadError::Watch {
                    path: dir.clone(),
                    reason: e.to_string(),
                })?;
            let files = watched_files(&module);
            watched.insert(dir, (module, files));
        }

        let (report_tx, reports) = mpsc::unbounded_channel();
        let stopping = CancellationToken::new();
        let reloads = Reloads {
            manager,
            watched,
            reports: report_tx,
            stopping: stopping.clone(),
        };
        Ok(Self {
            _watcher: watcher,
            reports,
            stopping,
            task: tokio::spawn(reloads.run(changes)),
        })
    }

    /// The next reload report; `None` once the watcher has stopped.
    pub async fn next_report(&mut self) -> Option<ReloadReport> {
        self.reports.recv().await
    }

    /// Ends the watch: no reload starts from now on (changes still settling are dropped),
    /// and a reload under way runs to its end — the new code running, or the old one put
    /// back — before this returns. Returns the reports not taken with
    /// [`next_report`](Self::next_report), in order, that reload's last.
    ///
    /// How long it waits is the rest of that reload, whose every step has the manager's
    /// limits: stopping the module and its dependents takes at most the shutdown timeout,
    /// and each `install` and `start` hook at most its hook timeout (the steps run once
    /// more to put the old code back after a failure). A hook given no limit
    /// ([`ModuleManagerBuilder::timeout`](symphra::ModuleManagerBuilder::timeout) with
    /// `None`) has no bound: to set one, wrap this call in [`tokio::time::timeout`];
    /// dropping its future cancels the reload as dropping the watcher does.
    ///
    /// Call it before stopping the modules, so that the stop finds them settled rather
    /// than in the middle of a reload.
    ///
    /// ```no_run
    /// # async fn run(manager: symphra::ModuleManager, modules: Vec<symphra_wasm::WasmModule>)
    /// # -> Result<(), Box<dyn std::error::Error>> {
    /// use symphra_wasm::Watcher;
    ///
    /// let watcher = Watcher::new(manager.clone(), modules)?;
    /// // ... run until asked to stop, then:
    /// for report in watcher.stop().await? {
    ///     println!("{}: {:?}", report.module, report.outcome);
    /// }
    /// manager.stop_all().await?;
    /// # Ok(()) }
    /// ```
    pub async fn stop(mut self) -> Result<Vec<ReloadReport>, WatcherFailed> {
        self.stopping.cancel();
        // Dropped, this future drops `self`, whose `Drop` cancels the reload instead.
        let ended = (&mut self.task).await;
        // The task is over, and its sender with it: every report it sent is queued.
        let mut reports = Vec::new();
        while let Ok(report) = self.reports.try_recv() {
            reports.push(report);
        }
        match ended {
            Ok(()) => Ok(reports),
            Err(error) => Err(WatcherFailed {
                reason: error.to_string(),
                reports,
            }),
        }
    }
}

/// The watcher's task: what it reloads, and where it reports.
struct Reloads {
    manager: ModuleManager,
    /// Watched folder (canonical) → module, and the file names that matter there.
    watched: BTreeMap<PathBuf, (WasmModule, BTreeSet<String>)>,
    reports: mpsc::UnboundedSender<ReloadReport>,
    stopping: CancellationToken,
}

impl Reloads {
    /// Reloads the modules whose files change until the watch stops or the watcher is gone.
    async fn run(mut self, mut changes: mpsc::UnboundedReceiver<PathBuf>) {
        loop {
            let Some(first) = self.next_change(&mut changes).await else {
                return;
            };
            let mut paths = vec![first];
            // Driven by the events: each one restarts the wait for quiet, so a slow
            // writer's files land in one reload, however long the burst (up to a limit).
            let settle_by =
                symphra::util::deadline_after(tokio::time::Instant::now(), RELOAD_SETTLE_LIMIT);
            loop {
                let quiet_at =
                    symphra::util::deadline_after(tokio::time::Instant::now(), RELOAD_DEBOUNCE)
                        .min(settle_by);
                match tokio::time::timeout_at(quiet_at, self.next_change(&mut changes)).await {
                    Ok(Some(path)) => paths.push(path),
                    // Stopped, or the watcher is gone: nothing more will come.
                    Ok(None) => return,
                    Err(_quiet) => break,
                }
            }
            let due: BTreeSet<PathBuf> = paths
                .iter()
                .filter_map(|path| self.due(path))
                .map(Path::to_path_buf)
                .collect();
            for dir in due {
                // A stop lets the reload under way end and starts no other.
                if self.stopping.is_cancelled() {
                    return;
                }
                self.reload(&dir).await;
            }
        }
    }

    /// The next changed path; `None` once the watch stops or the watcher is gone.
    async fn next_change(&self, changes: &mut mpsc::UnboundedReceiver<PathBuf>) -> Option<PathBuf> {
        tokio::select! {
            biased;
            () = self.stopping.cancelled() => None,
            path = changes.recv() => path,
        }
    }

    /// The watched folder that a change to `path` reloads, if any.
    fn due<'p>(&self, path: &'p Path) -> Option<&'p Path> {
        let (parent, file) = (path.parent()?, path.file_name()?);
        let (_, files) = self.watched.get(parent)?;
        files.contains(&*file.to_string_lossy()).then_some(parent)
    }

    /// Reloads the module of `dir` and sends the report.
    async fn reload(&mut self, dir: &Path) {
        let Some((module, files)) = self.watched.get_mut(dir) else {
            return;
        };
        match module.reload(&self.manager).await {
            Ok(report) => {
                // The new manifest may name another component file.
                *files = watched_files(module);
                // Fails only once the watcher is dropped, and its `Drop` ends this task.
                let _ = self.reports.send(report);
            }
            Err(error) => tracing::warn!(%error, "hot reload not attempted"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A watcher whose task is `task`, with `queued` reports sent before it ended.
    fn watcher_of(task: JoinHandle<()>, queued: Vec<ReloadReport>) -> Watcher {
        let (report_tx, reports) = mpsc::unbounded_channel();
        for report in queued {
            report_tx.send(report).unwrap();
        }
        Watcher {
            _watcher: notify::recommended_watcher(|_: notify::Result<notify::Event>| {}).unwrap(),
            reports,
            stopping: CancellationToken::new(),
            task,
        }
    }

    fn rejected(module: &str) -> ReloadReport {
        ReloadReport {
            module: module.to_owned(),
            outcome: super::super::ReloadOutcome::Rejected(crate::LoadError::Compile {
                path: PathBuf::from("module.wasm"),
                reason: "test".to_owned(),
            }),
            stopped: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_task_that_panicked_is_a_typed_error_keeping_the_reports_before() {
        let task = tokio::spawn(async { panic!("reload bug") });
        let failed = watcher_of(task, vec![rejected("a")])
            .stop()
            .await
            .unwrap_err();
        assert!(failed.reason.contains("reload bug"), "{failed}");
        assert_eq!(failed.reports.len(), 1);
        assert_eq!(failed.reports[0].module, "a");
        let message = failed.to_string();
        assert!(
            message.contains("reload bug") && message.contains("cut short"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn a_task_that_ended_gives_its_queued_reports_in_order() {
        let task = tokio::spawn(async {});
        let reports = watcher_of(task, vec![rejected("a"), rejected("b")])
            .stop()
            .await
            .unwrap();
        let modules: Vec<&str> = reports.iter().map(|r| r.module.as_str()).collect();
        assert_eq!(modules, ["a", "b"]);
    }
}
