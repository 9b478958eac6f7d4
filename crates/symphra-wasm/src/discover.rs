//! Finding module folders, and registering them next to native modules.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};
use symphra::ModuleManagerBuilder;

use crate::error::LoadError;
use crate::host::WasmHost;
use crate::manifest::{MANIFEST_FILE, Manifest};
use crate::module::WasmModule;

/// A file in the modules directory listing folder names to skip, one per line (`#` starts
/// a comment); each line is a glob pattern, as in [`LoadOptions::ignore`].
pub const IGNORE_FILE: &str = ".symphraignore";

/// Which module folders to take.
///
/// Filters are glob patterns matched against the whole name, case-sensitively: `*` matches
/// any run of characters, `?` one character, `[a-z]` one of a class, `{a,b}` either
/// alternative, and `\` escapes the next character. A pattern without these matches only
/// itself. An invalid pattern fails discovery with [`LoadError::Pattern`].
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Only modules whose name matches one of these; all when empty.
    pub include: Vec<String>,
    /// Modules whose name matches one of these are skipped.
    pub exclude: Vec<String>,
    /// Folder names skipped without reading them (in addition to hidden folders and the
    /// patterns in [`IGNORE_FILE`]).
    pub ignore: Vec<String>,
    /// The host to load with; [`WasmHost::shared`] when `None`.
    pub host: Option<WasmHost>,
    /// Pass over folders that cannot be loaded (they are in the report) instead of failing.
    /// Off by default: a broken module folder is an error, not a warning.
    pub lenient: bool,
}

impl LoadOptions {
    /// Adds an include filter.
    pub fn include(mut self, pattern: impl Into<String>) -> Self {
        self.include.push(pattern.into());
        self
    }

    /// Adds an exclude filter.
    pub fn exclude(mut self, pattern: impl Into<String>) -> Self {
        self.exclude.push(pattern.into());
        self
    }

    /// Adds a folder name to ignore.
    pub fn ignore(mut self, folder: impl Into<String>) -> Self {
        self.ignore.push(folder.into());
        self
    }

    /// Leaves out every module an operator set to be ignored in `store`
    /// ([`Availability::Ignored`](symphra::state::Availability::Ignored)), so that a module
    /// ignored once stays out of later discoveries.
    pub fn ignore_recorded(
        mut self,
        store: &dyn symphra::state::StateStore,
    ) -> Result<Self, symphra::state::StateError> {
        let ignored = store
            .all()?
            .into_iter()
            .filter(|(_, record)| record.availability == symphra::state::Availability::Ignored)
            .map(|(name, _)| name);
        self.exclude.extend(ignored);
        Ok(self)
    }

    /// Passes over folders that cannot be loaded (listed in the report) instead of failing
    /// the whole load.
    pub fn lenient(mut self) -> Self {
        self.lenient = true;
        self
    }

    /// Loads with `host`.
    pub fn host(mut self, host: WasmHost) -> Self {
        self.host = Some(host);
        self
    }
}

/// A compiled filter: the patterns of one option.
struct Filter(Vec<GlobMatcher>);

impl Filter {
    /// Compiles `patterns`, each with a number that `origin` turns into where it comes
    /// from (for errors).
    fn new<'a>(
        patterns: impl IntoIterator<Item = (usize, &'a str)>,
        origin: impl Fn(usize) -> String,
    ) -> Result<Self, LoadError> {
        patterns
            .into_iter()
            .map(|(n, pattern)| {
                glob(pattern).map_err(|source| LoadError::Pattern {
                    origin: origin(n),
                    pattern: pattern.to_owned(),
                    source,
                })
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn matches(&self, name: &str) -> bool {
        self.0.iter().any(|glob| glob.is_match(name))
    }
}

/// One filter pattern, with the same syntax on every platform.
fn glob(pattern: &str) -> Result<GlobMatcher, globset::Error> {
    GlobBuilder::new(pattern)
        .backslash_escape(true)
        .build()
        .map(|glob| glob.compile_matcher())
}

/// A module folder with a valid manifest (not compiled yet).
#[derive(Debug, Clone)]
pub struct DiscoveredModule {
    /// The folder.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

/// A module folder that was not loaded, and why.
#[derive(Debug)]
pub struct Rejected {
    /// The folder.
    pub dir: PathBuf,
    /// The module's name, when the manifest could be read.
    pub name: Option<String>,
    /// What is wrong.
    pub error: LoadError,
}

/// A folder passed over on purpose.
#[derive(Debug, Clone)]
pub struct Skipped {
    /// The folder.
    pub dir: PathBuf,
    /// Why (ignored, filtered out, no manifest).
    pub reason: String,
}

/// What [`discover`] found.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Folders with a valid manifest, in name order.
    pub modules: Vec<DiscoveredModule>,
    /// Folders whose manifest is invalid.
    pub rejected: Vec<Rejected>,
    /// Folders passed over.
    pub skipped: Vec<Skipped>,
}

/// A loaded module, as listed in a [`LoadReport`].
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The module's name.
    pub name: String,
    /// Its version.
    pub version: semver::Version,
    /// Its folder.
    pub dir: PathBuf,
}

/// What [`DirectoryExt::load_from_directory_with`] loaded and rejected.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Registered modules.
    pub loaded: Vec<Loaded>,
    /// Folders not loaded because of an error.
    pub rejected: Vec<Rejected>,
    /// Folders passed over on purpose.
    pub skipped: Vec<Skipped>,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} loaded, {} rejected, {} skipped",
            self.loaded.len(),
            self.rejected.len(),
            self.skipped.len()
        )?;
        for m in &self.loaded {
            writeln!(
                f,
                "  loaded   {} {} ({})",
                m.name,
                m.version,
                m.dir.display()
            )?;
        }
        for r in &self.rejected {
            writeln!(f, "  rejected {}: {}", r.dir.display(), r.error)?;
        }
        for s in &self.skipped {
            writeln!(f, "  skipped  {}: {}", s.dir.display(), s.reason)?;
        }
        Ok(())
    }
}

/// Whether the symbolic link `link` in `dir` is a module folder to follow: a link to a
/// folder inside `dir` is (say, a versioned folder and a link to the current one); a link to
/// a file is not, as a file is not; a link that leads outside `dir` or nowhere is an error,
/// reported rather than passed over in silence.
fn linked_folder(dir: &Path, link: &Path) -> Result<bool, crate::manifest::ManifestError> {
    let refuse = |message: String| crate::manifest::ManifestError {
        path: link.to_owned(),
        line: None,
        column: None,
        field: None,
        kind: crate::manifest::ManifestErrorKind::Escapes,
        message,
    };
    let target = std::fs::canonicalize(link).map_err(|error| {
        refuse(format!(
            "is a symbolic link that leads nowhere ({error}); remove it or point it at a module folder"
        ))
    })?;
    if !target.is_dir() {
        return Ok(false);
    }
    let root = std::fs::canonicalize(dir).map_err(|error| refuse(error.to_string()))?;
    if target.starts_with(&root) && target != root {
        return Ok(true);
    }
    Err(refuse(format!(
        "is a symbolic link to {}, outside {}; a module folder must lie inside the modules \
         directory: move or copy it in",
        target.display(),
        root.display()
    )))
}

/// Lists the module folders of `dir` and reads their manifests, without compiling.
///
/// Fails only when `dir` cannot be listed or a pattern of its [`IGNORE_FILE`] is invalid;
/// a folder with a broken manifest is in [`Discovery::rejected`].
pub fn discover(dir: impl AsRef<Path>) -> Result<Discovery, LoadError> {
    discover_with(dir, &LoadOptions::default())
}

/// Like [`discover`], with filters; also fails when one of them is not a valid pattern.
pub fn discover_with(dir: impl AsRef<Path>, options: &LoadOptions) -> Result<Discovery, LoadError> {
    let dir = dir.as_ref();
    let listing = |source| LoadError::Directory {
        path: dir.to_owned(),
        source,
    };
    let option = |name: &'static str, list: &[String]| {
        let patterns = list.iter().map(String::as_str).enumerate();
        Filter::new(patterns, move |i| format!("LoadOptions::{name}[{i}]"))
    };
    let include = option("include", &options.include)?;
    let exclude = option("exclude", &options.exclude)?;
    let wanted =
        |name: &str| (include.is_empty() || include.matches(name)) && !exclude.matches(name);
    let mut ignored = option("ignore", &options.ignore)?;
    let ignore_file = dir.join(IGNORE_FILE);
    if let Ok(text) = std::fs::read_to_string(&ignore_file) {
        let lines = text
            .lines()
            .map(|l| l.split('#').next().unwrap_or("").trim())
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
            .map(|(i, l)| (i + 1, l));
        let at_line = |line: usize| format!("{}:{line}", ignore_file.display());
        ignored.0.extend(Filter::new(lines, at_line)?.0);
    }
    let mut folders = Vec::new();
    let mut found = Discovery::default();
    for entry in std::fs::read_dir(dir).map_err(listing)? {
        let entry = entry.map_err(listing)?;
        let kind = entry.file_type().map_err(listing)?;
        if kind.is_dir() {
            folders.push(entry.path());
        } else if kind.is_symlink() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || ignored.matches(&name) {
                // Passed over by name below, wherever it leads.
                folders.push(entry.path());
                continue;
            }
            match linked_folder(dir, &entry.path()) {
                Ok(true) => folders.push(entry.path()),
                Ok(false) => {}
                Err(error) => found.rejected.push(Rejected {
                    dir: entry.path(),
                    name: None,
                    error: error.into(),
                }),
            }
        }
    }
    folders.sort();
    found.rejected.sort_by(|a, b| a.dir.cmp(&b.dir));

    let mut seen: std::collections::HashMap<String, PathBuf> = Default::default();
    for folder in folders {
        let file_name = folder
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file_name.starts_with('.') || ignored.matches(&file_name) {
            found.skipped.push(Skipped {
                dir: folder,
                reason: "ignored".into(),
            });
            continue;
        }
        if !folder.join(MANIFEST_FILE).is_file() {
            found.skipped.push(Skipped {
                dir: folder,
                reason: format!("no {MANIFEST_FILE}"),
            });
            continue;
        }
        match Manifest::from_dir(&folder) {
            Err(error) => {
                tracing::warn!(dir = %folder.display(), %error, "module folder rejected");
                found.rejected.push(Rejected {
                    dir: folder,
                    name: None,
                    error: error.into(),
                });
            }
            Ok(manifest) if !wanted(&manifest.name) => found.skipped.push(Skipped {
                dir: folder,
                reason: format!("module `{}` filtered out", manifest.name),
            }),
            Ok(manifest) => {
                if let Some(first) = seen.get(&manifest.name) {
                    let error = crate::manifest::ManifestError {
                        path: manifest.path.clone(),
                        line: None,
                        column: None,
                        field: Some("name".into()),
                        kind: crate::manifest::ManifestErrorKind::Invalid,
                        message: format!(
                            "module name `{}` is already used by {}; module names must be unique",
                            manifest.name,
                            first.display()
                        ),
                    };
                    found.rejected.push(Rejected {
                        dir: folder,
                        name: Some(manifest.name.clone()),
                        error: error.into(),
                    });
                    continue;
                }
                seen.insert(manifest.name.clone(), folder.clone());
                found.modules.push(DiscoveredModule {
                    dir: folder,
                    manifest,
                });
            }
        }
    }
    Ok(found)
}

/// Loads the discovered modules of `dir` with `options`: compiled (or taken from the
/// cache) and checked against the WIT world. Returns the modules and the report.
///
/// Fails with [`LoadError::Rejected`] when a folder cannot be loaded, unless
/// [`LoadOptions::lenient`]: then the folder is only in the report.
pub fn load_directory(
    dir: impl AsRef<Path>,
    options: &LoadOptions,
) -> Result<(Vec<WasmModule>, LoadReport), LoadError> {
    let host = match &options.host {
        Some(host) => host.clone(),
        None => WasmHost::shared()?,
    };
    let dir = dir.as_ref();
    let found = discover_with(dir, options)?;
    let mut report = LoadReport {
        rejected: found.rejected,
        skipped: found.skipped,
        ..LoadReport::default()
    };
    let mut modules = Vec::new();
    for DiscoveredModule { dir, manifest } in found.modules {
        let name = manifest.name.clone();
        let version = manifest.version.clone();
        match host.load(&dir, manifest) {
            Ok(module) => {
                tracing::info!(module = name, dir = %dir.display(), "component module loaded");
                report.loaded.push(Loaded { name, version, dir });
                modules.push(module);
            }
            Err(error) => {
                tracing::warn!(module = name, dir = %dir.display(), %error, "module folder rejected");
                report.rejected.push(Rejected {
                    dir,
                    name: Some(name),
                    error,
                });
            }
        }
    }
    if !options.lenient && !report.rejected.is_empty() {
        return Err(LoadError::Rejected {
            dir: dir.to_owned(),
            rejected: report.rejected,
        });
    }
    Ok((modules, report))
}

/// Registers the component modules of a directory with a manager builder.
///
/// ```no_run
/// use symphra::prelude::*;
/// use symphra_wasm::{DirectoryExt, LoadOptions};
///
/// # struct Native;
/// # impl Module for Native { fn metadata(&self) -> ModuleMetadata { ModuleMetadata::new("native") } }
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let manager = ModuleManager::builder()
///     .module(Native)
///     .load_from_directory("./modules")?
///     .build()?;
///
/// // With filters, and the report of what loaded and what was rejected:
/// let (builder, report) = ModuleManager::builder()
///     .load_from_directory_with("./modules", &LoadOptions::default().exclude("experimental-*"))?;
/// println!("{report}");
/// # Ok(()) }
/// ```
pub trait DirectoryExt: Sized {
    /// Registers every module of `dir` with the shared host.
    ///
    /// Fails when `dir` cannot be listed, the host cannot be created, or a module folder
    /// cannot be loaded ([`LoadError::Rejected`], naming each and why); to pass broken
    /// folders over, use [`load_from_directory_with`](Self::load_from_directory_with) and
    /// [`LoadOptions::lenient`].
    fn load_from_directory(self, dir: impl AsRef<Path>) -> Result<Self, LoadError> {
        self.load_from_directory_with(dir, &LoadOptions::default())
            .map(|(builder, _)| builder)
    }

    /// Registers the modules of `dir` chosen by `options`, and reports what loaded, what
    /// was rejected (and why) and what was skipped.
    fn load_from_directory_with(
        self,
        dir: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<(Self, LoadReport), LoadError>;
}

impl DirectoryExt for ModuleManagerBuilder {
    fn load_from_directory_with(
        self,
        dir: impl AsRef<Path>,
        options: &LoadOptions,
    ) -> Result<(Self, LoadReport), LoadError> {
        let (modules, report) = load_directory(dir, options)?;
        let builder = modules.into_iter().fold(self, |b, m| b.module(m));
        Ok((builder, report))
    }
}

#[cfg(test)]
mod tests;
