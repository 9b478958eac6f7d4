//! Hot reload: replacing a component module's code while the application runs.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use symphra::manager::{Outcome, Report};
use symphra::{ModuleManager, ModuleState};

use crate::error::LoadError;
use crate::manifest::{MANIFEST_FILE, Manifest, ManifestError};
use crate::module::WasmModule;

mod watcher;

pub use watcher::{Watcher, WatcherFailed};

/// How long a module's folder must stay quiet (no file event) before the watcher reloads
/// it: a burst of changes — the component, then the manifest — is one reload.
pub const RELOAD_DEBOUNCE: Duration = Duration::from_millis(250);

/// The longest the watcher waits for quiet after a first change: a folder written to
/// without pause is still reloaded.
const RELOAD_SETTLE_LIMIT: Duration = Duration::from_secs(5);

/// What became of a reload.
#[derive(Debug)]
pub enum ReloadOutcome {
    /// The new code runs (and the modules stopped for it run again).
    Reloaded {
        /// The version before.
        from: semver::Version,
        /// The version now.
        to: semver::Version,
    },
    /// The new files could not be loaded; the running module was not touched.
    Rejected(LoadError),
    /// The new code failed to install or start; the old code was put back.
    RolledBack {
        /// Why the new code failed.
        error: String,
        /// Whether the old code (and the modules stopped for the reload) run again.
        restored: bool,
        /// What went wrong while putting the old code back: stopping or uninstalling the
        /// new code, and bringing the old one up. Empty when the rollback went cleanly.
        rollback_errors: Vec<String>,
    },
}

/// The result of reloading one module.
#[derive(Debug)]
pub struct ReloadReport {
    /// The module reloaded.
    pub module: String,
    /// What happened.
    pub outcome: ReloadOutcome,
    /// The modules stopped for the reload (the module and its running dependents).
    pub stopped: Vec<String>,
}

/// A reload that could not be attempted.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    /// The module was loaded from bytes, so there are no files to reload from.
    #[error("module `{0}` was not loaded from a folder, so it cannot be reloaded from files")]
    NoFolder(String),
    /// The manager refused an operation.
    #[error("reloading module `{module}`: {source}")]
    Manager {
        /// The module.
        module: String,
        /// The manager's error.
        source: symphra::Error,
    },
    /// The file watcher could not be set up.
    #[error("cannot watch {path} for changes: {reason}")]
    Watch {
        /// The folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

fn names_done(report: &Report) -> Vec<String> {
    report
        .modules()
        .iter()
        .filter(|m| matches!(m.outcome(), Outcome::Done))
        .map(|m| m.name().to_owned())
        .collect()
}

/// The new manifest must keep what the manager's dependency graph and health watch were
/// built from.
fn check_compatible(old: &Manifest, new: &Manifest) -> Result<(), LoadError> {
    let mut problem = None;
    if new.name != old.name {
        problem = Some((
            "name",
            format!("the name changed from `{}` to `{}`", old.name, new.name),
        ));
    } else if new.dependencies != old.dependencies {
        problem = Some(("dependencies", "the dependencies changed".to_owned()));
    } else if new.optional_dependencies != old.optional_dependencies {
        problem = Some((
            "optional-dependencies",
            "the optional dependencies changed".to_owned(),
        ));
    } else if new.health != old.health {
        // The manager set the module's readiness, health schedule and watchdog from it.
        problem = Some(("health", "the [health] table changed".to_owned()));
    }
    match problem {
        None => Ok(()),
        Some((field, what)) => Err(ManifestError {
            path: new.path.clone(),
            line: None,
            column: None,
            field: Some(field.to_owned()),
            kind: crate::manifest::ManifestErrorKind::Invalid,
            message: format!(
                "{what}; a running application cannot change its module graph: restart it to apply this"
            ),
        }
        .into()),
    }
}

impl WasmModule {
    /// Reloads the module from its folder while `manager` runs: the new files are loaded
    /// and checked first (on failure nothing is touched); then the module and its running
    /// dependents are stopped (dependents first), the module is uninstalled, its code
    /// replaced, and it is installed (a fresh instance, `bootstrap` included) and the
    /// stopped modules started again. If the new code fails to install or start, the old
    /// code is put back and started again, and the report says so.
    ///
    /// The name, dependencies and `[health]` table must not change; the version may (the manager keeps
    /// listing the version the module was registered with).
    pub async fn reload(&self, manager: &ModuleManager) -> Result<ReloadReport, ReloadError> {
        let name = self.name().to_owned();
        let manager_error = |source| ReloadError::Manager {
            module: name.clone(),
            source,
        };
        let dir = self
            .dir()
            .ok_or_else(|| ReloadError::NoFolder(name.clone()))?
            .to_owned();
        let state = manager.module(&name).map_err(manager_error)?.state();
        let old_manifest = self.manifest();
        let host = self.shared().host.clone();
        let loaded = Manifest::from_dir(&dir)
            .map_err(LoadError::from)
            .and_then(|m| check_compatible(&old_manifest, &m).map(|()| m))
            .and_then(|m| {
                // The operator granted what the running version asks; a reload may not
                // take more unless the operator said so.
                host.config()
                    .grants
                    .check_reload(&name, &old_manifest.capabilities, &m.capabilities)
                    .map_err(LoadError::from)
                    .map(|()| m)
            })
            .and_then(|m| host.load(&dir, m));
        let new = match loaded {
            Ok(new) => new,
            Err(error) => {
                tracing::warn!(module = name, %error, "reload rejected; the running code is kept");
                return Ok(ReloadReport {
                    module: name,
                    outcome: ReloadOutcome::Rejected(error),
                    stopped: Vec::new(),
                });
            }
        };
        let to = new.manifest().version.clone();
        let new_code = new.shared().code();

        let stopped = if state == ModuleState::Started {
            // Not an operator's stop: a process killed mid-reload must not hold it down.
            match manager.stop_for_now(&name).await {
                Ok(report) => names_done(&report),
                Err(symphra::Error::Stop(error)) => names_done(error.report()),
                Err(other) => return Err(manager_error(other)),
            }
        } else {
            Vec::new()
        };
        let installed = matches!(
            manager.module(&name).map_err(manager_error)?.state(),
            ModuleState::Installed | ModuleState::Stopped | ModuleState::Failed
        );
        if installed && let Err(error) = manager.uninstall(&name).await {
            tracing::warn!(module = name, %error, "uninstall before reload failed; continuing");
        }
        let old_code = self.shared().swap_code(new_code).await;

        let bring_up = |manager: &ModuleManager| {
            let name = name.clone();
            let stopped = stopped.clone();
            let manager = manager.clone();
            async move {
                if installed {
                    manager.install(&name).await?;
                }
                for module in &stopped {
                    manager.start(module).await?;
                }
                Ok::<(), symphra::Error>(())
            }
        };
        match bring_up(manager).await {
            Ok(()) => {
                tracing::info!(module = name, from = %old_manifest.version, %to, "module reloaded");
                Ok(ReloadReport {
                    module: name,
                    outcome: ReloadOutcome::Reloaded {
                        from: old_manifest.version.clone(),
                        to,
                    },
                    stopped,
                })
            }
            Err(error) => {
                let error = error.to_string();
                tracing::warn!(
                    module = name,
                    error,
                    "the new code failed; restoring the old code"
                );
                let mut rollback_errors = Vec::new();
                if let Err(failed) = manager.stop_for_now(&name).await {
                    rollback_errors.push(format!("stopping the new code: {failed}"));
                }
                if let Err(failed) = manager.uninstall(&name).await {
                    rollback_errors.push(format!("uninstalling the new code: {failed}"));
                }
                self.shared().swap_code(Arc::clone(&old_code)).await;
                let restored = match bring_up(manager).await {
                    Ok(()) => true,
                    Err(failed) => {
                        rollback_errors.push(format!("bringing the old code back: {failed}"));
                        false
                    }
                };
                if !rollback_errors.is_empty() {
                    tracing::error!(
                        module = name,
                        ?rollback_errors,
                        "the rollback did not go cleanly"
                    );
                }
                Ok(ReloadReport {
                    module: name,
                    outcome: ReloadOutcome::RolledBack {
                        error,
                        restored,
                        rollback_errors,
                    },
                    stopped,
                })
            }
        }
    }
}

/// The files of `module`'s folder whose changes reload it: its manifest and the component
/// the running manifest names.
fn watched_files(module: &WasmModule) -> BTreeSet<String> {
    BTreeSet::from([
        MANIFEST_FILE.to_owned(),
        module.manifest().component.to_string_lossy().into_owned(),
    ])
}
