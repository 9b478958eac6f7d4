//! `symphra new`: scaffolds a module folder (manifest, source, build script, the WIT world)
//! from the templates under `templates/`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::CliError;

/// The language of a new module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// C without libc, built with clang (target wasm32) and wasm-tools.
    C,
    /// Python, built with componentize-py.
    Python,
    /// Rust, built with cargo for the wasm32-wasip2 target.
    Rust,
}

/// The WIT world every module implements, copied into each new folder so that it builds
/// outside this repository too.
const WIT: &str = include_str!("../../../wit/module.wit");

/// One file of a template: where it goes in the new folder, its text, and whether it is a
/// script to make executable.
struct File {
    path: &'static str,
    text: &'static str,
    executable: bool,
}

const fn file(path: &'static str, text: &'static str) -> File {
    File {
        path,
        text,
        executable: false,
    }
}

const fn script(path: &'static str, text: &'static str) -> File {
    File {
        path,
        text,
        executable: true,
    }
}

fn template(lang: Lang) -> Vec<File> {
    let mut files = match lang {
        Lang::C => vec![
            file("module.toml", include_str!("../templates/c/module.toml")),
            file("module.c", include_str!("../templates/c/module.c")),
            script("build.sh", include_str!("../templates/c/build.sh")),
        ],
        Lang::Python => vec![
            file(
                "module.toml",
                include_str!("../templates/python/module.toml"),
            ),
            file("app.py", include_str!("../templates/python/app.py")),
            script("build.sh", include_str!("../templates/python/build.sh")),
        ],
        Lang::Rust => vec![
            file("module.toml", include_str!("../templates/rust/module.toml")),
            file("Cargo.toml", include_str!("../templates/rust/Cargo.toml")),
            file("src/lib.rs", include_str!("../templates/rust/src/lib.rs")),
            file(".gitignore", include_str!("../templates/rust/gitignore")),
            script("build.sh", include_str!("../templates/rust/build.sh")),
        ],
    };
    files.push(file("wit/module.wit", WIT));
    files
}

/// What building needs, for the message after scaffolding.
fn needs(lang: Lang) -> &'static str {
    match lang {
        Lang::C => "clang, wasm-ld and wasm-tools",
        Lang::Python => "componentize-py (pip install componentize-py)",
        Lang::Rust => "the wasm32-wasip2 target (rustup target add wasm32-wasip2)",
    }
}

/// Runs `new`: writes the folder `parent/name` for a module called `name` in `lang`.
pub(crate) fn run(name: &str, lang: Lang, parent: &Path) -> Result<ExitCode, CliError> {
    symphra::module::validate_name(name).map_err(|error| CliError::Name {
        name: name.to_owned(),
        message: error.to_string(),
    })?;
    let folder = parent.join(name);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| CliError::Io { path, source }
    };
    std::fs::create_dir_all(parent).map_err(io(parent))?;
    // create_dir, not create_dir_all: it refuses a folder that is already there, even one
    // made a moment ago by someone else.
    if let Err(source) = std::fs::create_dir(&folder) {
        return Err(if source.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::Exists { path: folder }
        } else {
            CliError::Io {
                path: folder,
                source,
            }
        });
    }
    // Rust derives the artifact's file name from the package name, `-` becoming `_`.
    let crate_name = name.replace('-', "_");
    let mut written: Vec<PathBuf> = Vec::new();
    for file in template(lang) {
        let path = folder.join(file.path);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io(dir))?;
        }
        let text = file
            .text
            .replace("{{name}}", name)
            .replace("{{crate}}", &crate_name);
        std::fs::write(&path, text).map_err(io(&path))?;
        if file.executable {
            make_executable(&path)?;
        }
        written.push(PathBuf::from(file.path));
    }
    let list: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
    out!(
        "created {} ({}): {}",
        folder.display(),
        lang_name(lang),
        list.join(", ")
    );
    out!("next:");
    out!(
        "  {}    # needs {}",
        folder.join("build.sh").display(),
        needs(lang)
    );
    out!("  symphra check {}", parent.display());
    out!("  symphra run {}", parent.display());
    Ok(ExitCode::SUCCESS)
}

fn lang_name(lang: Lang) -> &'static str {
    match lang {
        Lang::C => "C",
        Lang::Python => "Python",
        Lang::Rust => "Rust",
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<(), CliError> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).map_err(|source| {
        CliError::Io {
            path: path.to_owned(),
            source,
        }
    })
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> Result<(), CliError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_names_the_module_and_leaves_no_placeholder() {
        for lang in [Lang::C, Lang::Python, Lang::Rust] {
            let root = tempfile::tempdir().unwrap();
            run("my-mod", lang, root.path()).unwrap();
            for file in template(lang) {
                let text =
                    std::fs::read_to_string(root.path().join("my-mod").join(file.path)).unwrap();
                for placeholder in ["{{name}}", "{{crate}}"] {
                    assert!(
                        !text.contains(placeholder),
                        "{} keeps {placeholder}",
                        file.path
                    );
                }
            }
            let manifest = std::fs::read_to_string(root.path().join("my-mod/module.toml")).unwrap();
            assert!(manifest.contains("name = \"my-mod\""), "{manifest}");
        }
    }

    #[test]
    fn refuses_bad_names_and_existing_folders() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(
            run("Bad Name", Lang::C, root.path()),
            Err(CliError::Name { .. })
        ));
        run("ok", Lang::C, root.path()).unwrap();
        assert!(matches!(
            run("ok", Lang::Python, root.path()),
            Err(CliError::Exists { .. })
        ));
    }
}
