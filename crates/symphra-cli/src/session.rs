//! The steps the commands share, in one place: the async runtime, reading the modules
//! directory, the state store's default place, laying the configurations on the manager,
//! building it, starting and stopping it, what is printed about the folders, and the exit
//! code.
//!
//! `run` and `analyze` go through all of it; `check` and `list` read the directory without
//! compiling (and `list` the state store).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use symphra::manager::Report;
use symphra::{Error, Module, ModuleManager, ModuleManagerBuilder, ModuleMetadata};
use symphra_wasm::{Discovery, LoadOptions, LoadReport, Rejected, WasmModule};

use crate::CliError;
use crate::module_configs::{self, Configs};

/// Runs `command` to completion on a multi-threaded runtime (timers and I/O enabled), as
/// the commands that start modules need.
pub(crate) fn block_on<F>(command: F) -> Result<ExitCode, CliError>
where
    F: Future<Output = Result<ExitCode, CliError>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)?;
    runtime.block_on(command)
}

/// The module folders of `dir` and their manifests, read without compiling anything.
pub(crate) fn discover(dir: &Path) -> Result<Discovery, CliError> {
    Ok(symphra_wasm::discover(dir)?)
}

/// Where `run` keeps its state unless told otherwise, and where `list` looks for it: a
/// hidden folder of the modules directory, which discovery passes over.
pub(crate) fn default_state_path(dir: &Path) -> PathBuf {
    dir.join(".symphra").join("state.redb")
}

/// The modules of a directory, compiled and ready to register, with the report of what
/// was loaded, rejected and skipped.
#[derive(Debug)]
pub(crate) struct Loaded {
    /// The modules that loaded, in the directory's order.
    pub(crate) modules: Vec<WasmModule>,
    /// What became of each folder.
    pub(crate) report: LoadReport,
}

impl Loaded {
    /// The metadata of the modules that loaded, in the directory's order.
    pub(crate) fn metadata(&self) -> Vec<ModuleMetadata> {
        self.modules.iter().map(Module::metadata).collect()
    }

    /// A manager builder with every loaded module registered, in the directory's order.
    /// The modules are shared handles: cloning them is cheap, and `run --watch` keeps them.
    pub(crate) fn builder(&self) -> ModuleManagerBuilder {
        self.modules
            .iter()
            .cloned()
            .fold(ModuleManager::builder(), ModuleManagerBuilder::module)
    }
}

/// Loads (discovers and compiles) the modules of `dir` chosen by `options`.
pub(crate) fn load(dir: &Path, options: &LoadOptions) -> Result<Loaded, CliError> {
    // Lenient: the commands report each rejected folder themselves and exit 1.
    let (modules, report) = symphra_wasm::load_directory(dir, &options.clone().lenient())?;
    Ok(Loaded { modules, report })
}

/// Lays the configurations of the layers — each module's default, the `--config` file,
/// the environment's `SYMPHRA__<MODULE>__<KEY>` variables — on `builder` for the modules
/// of `metas` (a warning for each variable that sets nothing), and builds the manager.
/// When a layer has problems, or the manager refuses to build (modules that cannot be
/// resolved, a configuration that does not match its schema), prints why and returns
/// `None`: the command then exits 1, as for any problem with the modules.
pub(crate) fn build(
    mut builder: ModuleManagerBuilder,
    configs: &Configs,
    metas: &[ModuleMetadata],
) -> Option<ModuleManager> {
    // A table of the file that names no module: the manager refuses it by name, as before.
    for (name, table) in &configs.tables {
        if !metas.iter().any(|meta| meta.name() == name) {
            builder = builder.config(name.clone(), table.clone());
        }
    }
    let (configs, unused) = match module_configs::layered(configs, metas) {
        Ok(layered) => layered,
        Err(errors) => {
            out!("{errors}");
            return None;
        }
    };
    for variable in unused.unmatched {
        out!("warning: the environment variable {variable} names no module; ignored");
    }
    for variable in unused.ignored {
        out!(
            "warning: the environment variable {variable} is not SYMPHRA__<MODULE>__<KEY>; ignored"
        );
    }
    for (name, config) in configs {
        builder = builder.config(name, config);
    }
    match builder.build() {
        Ok(manager) => Some(manager),
        Err(error) => {
            out!("{error}");
            None
        }
    }
}

/// Starts every module, at most `max_concurrency` hooks at once when given (else as many
/// as the manager allows). A module that fails is in the report, not an error.
pub(crate) async fn start(
    manager: &ModuleManager,
    max_concurrency: Option<usize>,
) -> Result<Report, CliError> {
    let started = match max_concurrency {
        Some(limit) => manager.start_all_concurrent(limit).await,
        None => manager.start_all().await,
    };
    match started {
        Ok(report) => Ok(report),
        Err(Error::Start(error)) => Ok(error.into_report()),
        Err(error) => Err(error.into()),
    }
}

/// Stops every module, dependents first. A module that fails to stop is in the report,
/// not an error.
pub(crate) async fn stop(manager: &ModuleManager) -> Result<Report, CliError> {
    match manager.stop_all().await {
        Ok(report) => Ok(report),
        Err(Error::Stop(error)) => Ok(error.into_report()),
        Err(error) => Err(error.into()),
    }
}

/// Prints the whole load report (loaded, rejected, skipped), leaving out hidden folders:
/// they are never modules (the state under `.symphra` among them) and not worth a line
/// each.
pub(crate) fn print_load_report(report: &mut LoadReport) {
    report.skipped.retain(|skipped| {
        !skipped
            .dir
            .file_name()
            .is_some_and(|name| name.to_string_lossy().starts_with('.'))
    });
    out_raw!("{report}");
}

/// Prints one line per folder that was rejected, and why.
pub(crate) fn print_rejected(rejected: &[Rejected]) {
    for rejected in rejected {
        out!("rejected {}: {}", rejected.dir.display(), rejected.error);
    }
}

/// Exit code 0 when everything went as it should, 1 when the modules have a problem.
pub(crate) fn exit_code(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
