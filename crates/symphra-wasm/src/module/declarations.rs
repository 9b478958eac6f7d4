//! Whether a component can do what its manifest's `[health]` table declares: `ready`,
//! `heartbeat` and `health` exist only from WIT 0.2.0, a declared health check needs the
//! `health` export, and signalling or beating needs the import that does it.

use std::path::Path;

use super::guest::Pre;
use super::wit::WitLevel;
use crate::error::LoadError;
use crate::manifest::{Manifest, Readiness};

/// Checks that the component can do what the manifest's `[health]` table declares:
/// `ready`, `heartbeat` and `health` exist only from WIT 0.2.0, and a declared health check
/// needs the `health` export.
pub(super) fn check(
    path: &Path,
    manifest: &Manifest,
    level: WitLevel,
    pre: &Pre,
    engine: &wasmtime::Engine,
    ty: &wasmtime::component::types::Component,
) -> Result<(), LoadError> {
    let host_functions = imported_host_functions(engine, ty);
    let health = &manifest.health;
    if level == WitLevel::V0_1 {
        let needs = if health.ready == Readiness::Signal {
            Some(("`[health] ready = \"signal\"`", "the ready import"))
        } else if health.watchdog.is_some() {
            Some(("`[health] watchdog`", "the heartbeat import"))
        } else if health.check.is_some() {
            Some(("`[health] interval`", "the health export"))
        } else {
            None
        };
        if let Some((feature, needs)) = needs {
            return Err(LoadError::WitTooOld {
                path: path.to_owned(),
                feature,
                needs,
                found: "symphra:module@0.1",
            });
        }
    }
    if health.check.is_some() && !pre.has_health() {
        return Err(LoadError::NoHealthExport {
            path: path.to_owned(),
        });
    }
    // A module that must signal (or beat) and cannot would never be ready (or always fail).
    let needed = [
        (
            health.ready == Readiness::Signal,
            "ready",
            "`[health] ready = \"signal\"`",
        ),
        (
            health.watchdog.is_some(),
            "heartbeat",
            "`[health] watchdog`",
        ),
    ];
    for (declared, function, feature) in needed {
        if declared && !host_functions.iter().any(|f| f == function) {
            return Err(LoadError::MissingHostImport {
                path: path.to_owned(),
                feature,
                function,
            });
        }
    }
    Ok(())
}

/// The functions the component imports from `symphra:module/host`, any version.
fn imported_host_functions(
    engine: &wasmtime::Engine,
    ty: &wasmtime::component::types::Component,
) -> Vec<String> {
    ty.imports(engine)
        .filter(|(name, _)| name.starts_with("symphra:module/host@"))
        .filter_map(|(_, item)| match item.ty {
            wasmtime::component::types::ComponentItem::ComponentInstance(instance) => Some(
                instance
                    .exports(engine)
                    .map(|(name, _)| name.to_owned())
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect()
}
