//! What the operator grants beyond a module's own folder: host folders, environment
//! variables, and whether a hot reload may widen a module's grants.
//!
//! A module's author writes its manifest and *asks*; the operator *grants*. Without a
//! grant, a module reaches only folders inside its own folder (after resolving symlinks),
//! and its own data folder when it asks for one (`[capabilities] data = true`: created
//! by Symphra as `<data root>/<module>`, see [`OperatorGrants::data_root`]), no
//! environment variable, and a reload that asks for more than the running version had
//! is refused. The operator's grants come from a file the operator owns (`symphra
//! --grants FILE`, or [`OperatorGrants::from_file`] in a program), never from the modules
//! directory.
//!
//! ```toml
//! [modules.echo]
//! env = ["TZ"]
//! dirs = [{ path = "/srv/echo", write = true }]
//! reload-may-widen = true
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::manifest::{Capabilities, Manifest, sanitize};

/// The largest grants file read, in bytes.
pub const MAX_GRANTS_BYTES: u64 = 1024 * 1024;

/// A host folder the operator grants a module (and everything under it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatorDir {
    /// The folder; relative paths are relative to the grants file's folder.
    pub path: PathBuf,
    /// Whether the module may write in it.
    #[serde(default)]
    pub write: bool,
}

/// What the operator grants one module.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ModuleGrant {
    /// Host folders the module may open (as its manifest's `dirs` ask), beyond its own.
    #[serde(default)]
    pub dirs: Vec<OperatorDir>,
    /// Environment variables the module may read (as its manifest's `env` asks).
    #[serde(default)]
    pub env: Vec<String>,
    /// Whether a hot reload may give the module more than its running version had.
    #[serde(default)]
    pub reload_may_widen: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrants {
    #[serde(default)]
    modules: BTreeMap<String, ModuleGrant>,
}

/// The operator's grants, by module name; empty by default (nothing beyond the module
/// folders).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperatorGrants {
    modules: BTreeMap<String, ModuleGrant>,
    /// Where modules' data folders are made; `None`: no module gets one.
    data_root: Option<PathBuf>,
}

/// Where a granted folder comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirSource {
    /// Inside the module's own folder.
    ModuleFolder,
    /// Outside it, granted by the operator.
    Operator,
    /// The module's own data folder, `<data root>/<module>`, made by Symphra.
    Data,
}

/// A folder a module may open, resolved: the real path (symlinks followed) the guest gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedDir {
    /// The folder on the host, canonical.
    pub host: PathBuf,
    /// The path the guest sees.
    pub guest: String,
    /// Whether the guest may write.
    pub write: bool,
    /// Why it is allowed.
    pub source: DirSource,
}

/// A grant a module asks for and does not get, or a grants file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GrantError {
    /// The grants file cannot be read.
    #[error("cannot read the grants file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The grants file is invalid.
    #[error("{path}: {message}; see docs/security.md for the grants file")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The manifest asks for an environment variable the operator has not granted.
    #[error(
        "module `{module}` asks for the environment variable `{name}` (capabilities.env), which the operator has not granted; grant it in the grants file ([modules.{module}] env = [\"{name}\"]) or remove it from module.toml"
    )]
    Env {
        /// The module.
        module: String,
        /// The variable.
        name: String,
    },
    /// A folder the manifest asks for is outside the module folder and not granted.
    #[error(
        "module `{module}` asks for the folder {asked} ({access}), which is {resolved}, outside its folder {root}, and the operator has not granted it; grant it in the grants file ([modules.{module}] dirs = [{{ path = \"...\", write = {write} }}]) or use a folder inside the module"
    )]
    Dir {
        /// The module.
        module: String,
        /// The path as the manifest writes it (quoted, cut short).
        asked: String,
        /// Where it leads.
        resolved: String,
        /// The module folder.
        root: String,
        /// `read-only` or `read-write`.
        access: &'static str,
        /// Whether write access was asked.
        write: bool,
    },
    /// A folder the manifest asks for, or the module folder, does not exist.
    #[error(
        "module `{module}`: the folder {asked} cannot be opened: {source}; create it or fix capabilities.dirs"
    )]
    Missing {
        /// The module.
        module: String,
        /// The path (quoted, cut short).
        asked: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The manifest asks for a data folder and the host gives none.
    #[error(
        "module `{module}` asks for a data folder (capabilities.data), but this host has no data root; run it with `symphra run` (which gives <state folder>/data) or set OperatorGrants::data_root in the program"
    )]
    NoDataRoot {
        /// The module.
        module: String,
    },
    /// The module's data folder cannot be made, or is not where it should be.
    #[error(
        "module `{module}`: its data folder {path} cannot be used: {reason}; check the data root's permissions, and that nothing there is a symlink"
    )]
    DataFolder {
        /// The module.
        module: String,
        /// The folder.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// The component file resolves (through a symlink) outside the module folder.
    #[error(
        "module `{module}`: the component resolves to {resolved}, outside the module folder {root}; keep the component inside the folder"
    )]
    Component {
        /// The module.
        module: String,
        /// Where it leads.
        resolved: String,
        /// The module folder.
        root: String,
    },
    /// A hot reload asks for more than the running version has.
    #[error(
        "the new version of module `{module}` asks for more than the running one ({}); a reload may not widen grants unless the operator allows it ([modules.{module}] reload-may-widen = true in the grants file); restart the application to apply it",
        widened.join(", ")
    )]
    Widened {
        /// The module.
        module: String,
        /// What is wider.
        widened: Vec<String>,
    },
}

impl OperatorGrants {
    /// No grants beyond the module folders.
    pub fn none() -> Self {
        Self::default()
    }

    /// Reads a grants file (at most [`MAX_GRANTS_BYTES`]); relative folder paths are made
    /// relative to the file's folder.
    pub fn from_file(path: &Path) -> Result<Self, GrantError> {
        use std::io::Read as _;
        let read = |source| GrantError::Read {
            path: path.to_owned(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(path)
            .map_err(read)?
            .take(MAX_GRANTS_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(read)?;
        if text.len() as u64 > MAX_GRANTS_BYTES {
            return Err(GrantError::Invalid {
                path: path.to_owned(),
                message: format!("larger than {MAX_GRANTS_BYTES} bytes"),
            });
        }
        let base = path.parent().unwrap_or(Path::new("."));
        Self::parse(&text, path, base)
    }

    /// Parses grants text; `path` names it in errors, relative folders are joined to `base`.
    pub fn parse(text: &str, path: &Path, base: &Path) -> Result<Self, GrantError> {
        let raw: RawGrants = toml::from_str(text).map_err(|error| GrantError::Invalid {
            path: path.to_owned(),
            message: sanitize(&error.to_string()),
        })?;
        let mut modules = raw.modules;
        for grant in modules.values_mut() {
            for dir in &mut grant.dirs {
                dir.path = base.join(&dir.path);
            }
        }
        Ok(Self {
            modules,
            data_root: None,
        })
    }

    /// Makes each module that asks for one (`[capabilities] data = true`) a data folder
    /// `root/<module>`, writable, opened for the guest at
    /// [`DATA_GUEST_PATH`](crate::DATA_GUEST_PATH). The folder is created (mode 0700 on
    /// Unix) when the module's instance is made, and kept between runs. `symphra run`
    /// uses `<state folder>/data`.
    pub fn data_root(mut self, root: impl Into<PathBuf>) -> Self {
        self.data_root = Some(root.into());
        self
    }

    /// The data root, when set.
    pub fn get_data_root(&self) -> Option<&Path> {
        self.data_root.as_deref()
    }

    /// Grants `module` what `grant` says (replacing an earlier grant).
    pub fn grant(mut self, module: impl Into<String>, grant: ModuleGrant) -> Self {
        self.modules.insert(module.into(), grant);
        self
    }

    /// What the operator grants `module` (nothing when it is not named).
    pub fn module(&self, module: &str) -> Option<&ModuleGrant> {
        self.modules.get(module)
    }

    /// Whether a reload of `module` may widen its grants.
    pub fn reload_may_widen(&self, module: &str) -> bool {
        self.module(module).is_some_and(|g| g.reload_may_widen)
    }

    /// Checks what `manifest` asks for, for a module whose folder is `folder`, against its
    /// folder and these grants, and resolves the folders it may open.
    pub fn review(
        &self,
        folder: &Path,
        manifest: &Manifest,
    ) -> Result<Vec<ResolvedDir>, GrantError> {
        review(self, folder, manifest)
    }

    /// Refuses `new` when it asks for more than `old` and the operator does not allow a
    /// reload to widen the module's grants.
    pub fn check_reload(
        &self,
        module: &str,
        old: &Capabilities,
        new: &Capabilities,
    ) -> Result<(), GrantError> {
        let widened = new.widened_from(old);
        if widened.is_empty() || self.reload_may_widen(module) {
            return Ok(());
        }
        Err(GrantError::Widened {
            module: module.to_owned(),
            widened,
        })
    }
}

fn review(
    grants: &OperatorGrants,
    folder: &Path,
    manifest: &Manifest,
) -> Result<Vec<ResolvedDir>, GrantError> {
    let module = &manifest.name;
    let granted = grants.module(module);
    let caps = &manifest.capabilities;
    for name in &caps.env {
        if !granted.is_some_and(|g| g.env.contains(name)) {
            return Err(GrantError::Env {
                module: module.clone(),
                name: name.clone(),
            });
        }
    }
    let mut resolved = Vec::new();
    if caps.data {
        let Some(data_root) = grants.get_data_root() else {
            return Err(GrantError::NoDataRoot {
                module: module.clone(),
            });
        };
        // A module name is one safe path segment (letters, digits, `_`, `-`).
        resolved.push(ResolvedDir {
            host: data_root.join(module),
            guest: crate::manifest::DATA_GUEST_PATH.to_owned(),
            write: true,
            source: DirSource::Data,
        });
    }
    if caps.dirs.is_empty() {
        return Ok(resolved);
    }
    let quoted = |path: &Path| crate::manifest::quote(&path.to_string_lossy());
    let root = folder
        .canonicalize()
        .map_err(|source| GrantError::Missing {
            module: module.clone(),
            asked: quoted(folder),
            source,
        })?;
    for dir in &caps.dirs {
        let real = root
            .join(&dir.host)
            .canonicalize()
            .map_err(|source| GrantError::Missing {
                module: module.clone(),
                asked: quoted(&dir.host),
                source,
            })?;
        let source = if real.starts_with(&root) {
            DirSource::ModuleFolder
        } else {
            let by_operator = granted.is_some_and(|g| {
                g.dirs.iter().any(|d| {
                    (d.write || !dir.write)
                        && d.path.canonicalize().is_ok_and(|p| real.starts_with(p))
                })
            });
            if !by_operator {
                return Err(GrantError::Dir {
                    module: module.clone(),
                    asked: quoted(&dir.host),
                    resolved: real.display().to_string(),
                    root: root.display().to_string(),
                    access: if dir.write { "read-write" } else { "read-only" },
                    write: dir.write,
                });
            }
            DirSource::Operator
        };
        resolved.push(ResolvedDir {
            host: real,
            guest: dir.guest.clone(),
            write: dir.write,
            source,
        });
    }
    Ok(resolved)
}

/// Checks that the component file, symlinks resolved, stays inside the module folder.
pub(crate) fn check_component(
    module: &str,
    folder: &Path,
    component: &Path,
) -> Result<(), GrantError> {
    // A missing file is reported when it is read.
    let (Ok(root), Ok(real)) = (folder.canonicalize(), component.canonicalize()) else {
        return Ok(());
    };
    if real.starts_with(&root) {
        return Ok(());
    }
    Err(GrantError::Component {
        module: module.to_owned(),
        resolved: real.display().to_string(),
        root: root.display().to_string(),
    })
}

/// Creates a module's data folder (and the data root) if missing, private to the user on
/// Unix, and checks that it is a real folder inside the data root (no symlink out).
pub(crate) fn make_data_folder(module: &str, folder: &Path) -> Result<PathBuf, GrantError> {
    let failed = |reason: String| GrantError::DataFolder {
        module: module.to_owned(),
        path: folder.to_owned(),
        reason,
    };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
        .create(folder)
        .map_err(|e| failed(format!("cannot create it: {e}")))?;
    let meta = std::fs::symlink_metadata(folder).map_err(|e| failed(e.to_string()))?;
    if !meta.is_dir() {
        return Err(failed(
            "it is not a folder (a symlink or a file)".to_owned(),
        ));
    }
    folder
        .canonicalize()
        .map_err(|e| failed(format!("cannot resolve it: {e}")))
}
