//! `symphra check`: everything that can be known without starting a module.

use std::path::Path;
use std::process::ExitCode;

use serde::Serialize;
use symphra::ModuleMetadata;
use symphra::config::LayerError;
use symphra::resolver::{Problem, resolve};

use crate::module_configs;
use crate::session;
use crate::{CheckFormat, CliError};

/// A module that was found, as listed in the JSON output.
#[derive(Debug, Serialize)]
struct ModuleOut {
    name: String,
    version: String,
    dir: String,
}

/// One problem: the module it concerns (when known) and what is wrong.
#[derive(Debug, Serialize)]
struct ProblemOut {
    module: Option<String>,
    message: String,
}

/// The JSON output of `check`.
#[derive(Debug, Serialize)]
struct Output {
    ok: bool,
    modules: Vec<ModuleOut>,
    problems: Vec<ProblemOut>,
}

/// Runs `check` on `dir`; exit code 0 when clean, 1 when there are problems.
/// With `config`, the configurations of that file (one table per module) are checked
/// instead of the defaults.
pub(crate) fn run(
    dir: &Path,
    format: CheckFormat,
    config: Option<&Path>,
    grants: Option<&Path>,
) -> Result<ExitCode, CliError> {
    let grants = crate::grants::read(grants, dir, None)?;
    let configs = module_configs::read_file(config)?;
    let found = session::discover(dir)?;
    let mut problems = Vec::new();
    for rejected in &found.rejected {
        let folder = rejected
            .dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned());
        problems.push(ProblemOut {
            module: rejected.name.clone().or(folder),
            message: rejected.error.to_string(),
        });
    }
    // Compile every module: checks its exports and imports against the WIT world.
    let host = crate::grants::host(grants.clone())?;
    let mut granted = Vec::new();
    for module in &found.modules {
        let review = grants.review(&module.dir, &module.manifest);
        granted.push((
            module.manifest.name.clone(),
            crate::grants::one_line(&module.manifest, &review),
        ));
        if let Err(error) = host.load(&module.dir, module.manifest.clone()) {
            problems.push(ProblemOut {
                module: Some(module.manifest.name.clone()),
                message: error.to_string(),
            });
        }
    }
    // Resolve dependencies among the modules whose manifest is valid: every problem at once.
    let metas: Vec<ModuleMetadata> = found
        .modules
        .iter()
        .map(|module| module.manifest.metadata())
        .collect();
    if let Err(error) = resolve(&metas) {
        for problem in error.problems() {
            problems.push(ProblemOut {
                module: problem_module(problem),
                message: problem.to_string(),
            });
        }
    }
    // The layers — defaults, the file, the environment's SYMPHRA__<MODULE>__<KEY> — as
    // `run` lays them; each configuration a layer gives is checked against its schema there.
    let layered = match module_configs::layered(&configs, &metas) {
        Ok((layered, unused)) => {
            for variable in unused.unmatched {
                problems.push(ProblemOut {
                    module: None,
                    message: format!(
                        "the environment variable {variable} names no module that was found"
                    ),
                });
            }
            for variable in unused.ignored {
                problems.push(ProblemOut {
                    module: None,
                    message: format!(
                        "the environment variable {variable} is not SYMPHRA__<MODULE>__<KEY>"
                    ),
                });
            }
            Some(layered)
        }
        Err(errors) => {
            for error in errors.0 {
                let module = match &error {
                    LayerError::Invalid { module, .. } => Some(module.clone()),
                    _ => None,
                };
                problems.push(ProblemOut {
                    module,
                    message: error.to_string(),
                });
            }
            None
        }
    };
    // A module no layer configures is installed with `{}`: checked against its schema too.
    for meta in metas.iter().filter(|_| layered.is_some()) {
        let Some(schema) = meta.get_config_schema() else {
            continue;
        };
        if layered
            .as_ref()
            .is_some_and(|l| l.contains_key(meta.name()))
        {
            continue;
        }
        if let Err(violations) = schema.check(&serde_json::json!({})) {
            for violation in violations {
                problems.push(ProblemOut {
                    module: Some(meta.name().to_owned()),
                    message: format!(
                        "configuration (none given, so `{{}}`) does not match the schema: {violation}"
                    ),
                });
            }
        }
    }
    for name in configs.tables.keys() {
        if !metas.iter().any(|meta| meta.name() == name) {
            problems.push(ProblemOut {
                module: Some(name.clone()),
                message: format!(
                    "the configuration file has a table `{name}`, but no module of that name was found"
                ),
            });
        }
    }

    let ok = problems.is_empty();
    match format {
        CheckFormat::Json => {
            let output = Output {
                ok,
                modules: found
                    .modules
                    .iter()
                    .map(|module| ModuleOut {
                        name: module.manifest.name.clone(),
                        version: module.manifest.version.to_string(),
                        dir: module.dir.display().to_string(),
                    })
                    .collect(),
                problems,
            };
            let text = serde_json::to_string_pretty(&output)
                .unwrap_or_else(|error| format!("{{\"ok\": false, \"error\": \"{error}\"}}"));
            out!("{text}");
        }
        CheckFormat::Text => {
            for (name, line) in &granted {
                out!("grants: {name}: {line}");
            }
            for problem in &problems {
                match &problem.module {
                    Some(module) => out!("problem: {module}: {}", problem.message),
                    None => out!("problem: {}", problem.message),
                }
            }
            let count = found.modules.len() + found.rejected.len();
            if ok {
                out!("ok: {count} module(s) checked, no problems");
            } else {
                out!("{count} module(s) checked, {} problem(s)", problems.len());
            }
        }
    }
    Ok(session::exit_code(ok))
}

/// The module a resolver problem is about.
fn problem_module(problem: &Problem) -> Option<String> {
    match problem {
        Problem::Duplicate { name, .. } => Some(name.clone()),
        Problem::Missing { module, .. } | Problem::VersionMismatch { module, .. } => {
            Some(module.clone())
        }
        Problem::Cycle { path } | Problem::OrderCycle { path, .. } => path.first().cloned(),
        _ => None,
    }
}
