use std::path::Path;

use super::{IGNORE_FILE, LoadOptions, discover_with};
use crate::error::LoadError;

fn glob(pattern: &str, name: &str) -> bool {
    super::glob(pattern).unwrap().is_match(name)
}

#[test]
fn globs() {
    assert!(glob("a*", "abc"));
    assert!(glob("*c", "abc"));
    assert!(glob("a*c", "abc"));
    assert!(!glob("a*d", "abc"));
    assert!(glob("abc", "abc"));
}

#[test]
fn globs_match_whole_names_case_sensitively() {
    assert!(!glob("ab", "abc"));
    assert!(!glob("bc", "abc"));
    assert!(!glob("ABC", "abc"));
    assert!(glob("*", ""));
    assert!(glob("é*", "été"));
    assert!(glob("a?c", "abc"));
    assert!(glob("{abc,xyz}", "xyz"));
    assert!(glob(r"a\*", "a*"));
    assert!(!glob(r"a\*", "ab"));
}

fn module(dir: &Path, folder: &str, name: &str) {
    let folder = dir.join(folder);
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join("module.toml"),
        format!("name = \"{name}\"\nversion = \"1.0.0\"\n"),
    )
    .unwrap();
}

fn names(dir: &Path, options: &LoadOptions) -> Vec<String> {
    discover_with(dir, options)
        .unwrap()
        .modules
        .into_iter()
        .map(|m| m.manifest.name)
        .collect()
}

#[test]
fn filters_pick_modules_and_folders() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "a", "alpha");
    module(dir.path(), "b", "beta");
    module(dir.path(), "old-c", "gamma");
    std::fs::write(
        dir.path().join(IGNORE_FILE),
        "# retired\nold-*  # all of them\n",
    )
    .unwrap();
    assert_eq!(
        names(dir.path(), &LoadOptions::default()),
        ["alpha", "beta"]
    );
    let only_a = LoadOptions::default().include("al*");
    assert_eq!(names(dir.path(), &only_a), ["alpha"]);
    let not_b = LoadOptions::default().exclude("*eta");
    assert_eq!(names(dir.path(), &not_b), ["alpha"]);
    let no_folder_a = LoadOptions::default().ignore("a");
    assert_eq!(names(dir.path(), &no_folder_a), ["beta"]);
}

#[test]
fn an_invalid_pattern_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    module(dir.path(), "a", "alpha");
    let options = LoadOptions::default().exclude("ok-*").exclude("broken-[");
    let error = discover_with(dir.path(), &options).unwrap_err();
    let LoadError::Pattern {
        origin, pattern, ..
    } = &error
    else {
        panic!("not a pattern error: {error}");
    };
    assert_eq!(origin, "LoadOptions::exclude[1]");
    assert_eq!(pattern, "broken-[");
    assert!(
        std::error::Error::source(&error).is_some(),
        "the cause is kept"
    );

    std::fs::write(dir.path().join(IGNORE_FILE), "# retired\n\nold-{a,b\n").unwrap();
    let error = discover_with(dir.path(), &LoadOptions::default()).unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&format!("{IGNORE_FILE}:3:")), "{message}");
    assert!(message.contains("old-{a,b"), "{message}");
}
