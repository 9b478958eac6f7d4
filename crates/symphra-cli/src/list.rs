//! `symphra list`: the modules of a directory, as their manifests describe them.

use std::path::Path;
use std::process::ExitCode;

use symphra::state::{RedbStore, StateStore};

use crate::CliError;
use crate::session;

/// Runs `list` on `dir`, with the records of the state store at `state` when given.
pub(crate) fn run(
    dir: &Path,
    state: Option<&Path>,
    grants: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let grants = crate::grants::read(grants, dir, state)?;
    let found = session::discover(dir)?;
    // Without a path, the records `run` keeps by default, when there are any.
    let default = session::default_state_path(dir);
    let state = state.or_else(|| default.exists().then_some(default.as_path()));
    let records = match state {
        Some(path) => Some(RedbStore::open(path)?.all()?),
        None => None,
    };
    for module in &found.modules {
        let manifest = &module.manifest;
        out!("{} {}", manifest.name, manifest.version);
        if let Some(description) = &manifest.description {
            out!("  description:  {description}");
        }
        let mut dependencies: Vec<String> = manifest
            .dependencies
            .iter()
            .map(|(name, req)| format!("{name} {req}"))
            .collect();
        dependencies.extend(
            manifest
                .optional_dependencies
                .iter()
                .map(|(name, req)| format!("{name} {req} (optional)")),
        );
        out!("  dependencies: {}", list_or_none(&dependencies));
        let review = grants.review(&module.dir, manifest);
        for (label, value) in crate::grants::lines(manifest, &review) {
            out!("  {:<14}{value}", format!("{label}:"));
        }
        if let Some(policy) = &manifest.restart {
            out!("  restart:      {}", symphra_wasm::describe_restart(policy));
        }
        if let Some(records) = &records {
            match records.get(&manifest.name) {
                Some(record) => out!(
                    "  state:        {:?}{}",
                    record.availability,
                    if record.held_stopped {
                        ", held stopped"
                    } else {
                        ""
                    }
                ),
                None => out!("  state:        not recorded"),
            }
        }
    }
    session::print_rejected(&found.rejected);
    Ok(ExitCode::SUCCESS)
}

fn list_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "-".to_owned()
    } else {
        items.join(", ")
    }
}
