//! Issue 22: the operator's grants file. It is read whole up to its 1 MiB bound and
//! refused beyond it; relative folders are relative to the file; a grant is the named
//! module's alone; an operator folder grants what is under it, at the access it gives.

use std::path::Path;

use symphra_wasm::{
    DirSource, GrantError, MAX_GRANTS_BYTES, Manifest, ModuleGrant, OperatorDir, OperatorGrants,
};

const GRANTS: &str = "[modules.m]\nenv = [\"TZ\"]\ndirs = [{ path = \"shared\", write = true }]\nreload-may-widen = true\n";

/// Writes `text` padded with a comment to exactly `len` bytes.
fn padded(text: &str, len: usize) -> String {
    let mut padded = format!("{text}#");
    padded.push_str(&"x".repeat(len - text.len() - 2));
    padded.push('\n');
    assert_eq!(padded.len(), len);
    padded
}

#[test]
fn a_grants_file_is_read_with_its_folders_relative_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grants.toml");
    std::fs::write(&path, GRANTS).unwrap();
    let grants = OperatorGrants::from_file(&path).unwrap();
    let expected = ModuleGrant {
        dirs: vec![OperatorDir {
            path: dir.path().join("shared"),
            write: true,
        }],
        env: vec!["TZ".to_owned()],
        reload_may_widen: true,
    };
    assert_eq!(grants.module("m"), Some(&expected));
    assert!(grants.reload_may_widen("m"));
    assert_eq!(grants.module("other"), None);
    assert!(!grants.reload_may_widen("other"));
    assert_eq!(grants.get_data_root(), None);
    let rooted = grants.data_root(dir.path());
    assert_eq!(rooted.get_data_root(), Some(dir.path()));
    assert_eq!(rooted.module("m"), Some(&expected), "the grants are kept");
}

#[test]
fn a_grants_file_of_one_mib_is_read_and_one_byte_more_is_refused() {
    assert_eq!(MAX_GRANTS_BYTES, 1 << 20, "the documented bound");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("grants.toml");
    std::fs::write(&path, padded(GRANTS, 1 << 20)).unwrap();
    let grants = OperatorGrants::from_file(&path).unwrap();
    assert!(grants.reload_may_widen("m"), "read to its end");
    // One byte more, still valid TOML: refused by its size, not by its content.
    std::fs::write(&path, padded(GRANTS, (1 << 20) + 1)).unwrap();
    match OperatorGrants::from_file(&path) {
        Err(GrantError::Invalid { message, .. }) => {
            assert_eq!(message, "larger than 1048576 bytes");
        }
        other => panic!("{other:?}"),
    }
    // A small file is not refused for its size.
    std::fs::write(&path, "").unwrap();
    assert_eq!(
        OperatorGrants::from_file(&path).unwrap(),
        OperatorGrants::none()
    );
}

#[test]
fn a_missing_grants_file_is_a_read_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = OperatorGrants::from_file(&dir.path().join("absent.toml")).unwrap_err();
    assert!(matches!(error, GrantError::Read { .. }), "{error}");
}

/// Reviews, for the module `m` in `folder`, a manifest asking for `dirs`.
fn review(
    grants: &OperatorGrants,
    folder: &Path,
    dirs: &str,
) -> Result<Vec<symphra_wasm::ResolvedDir>, GrantError> {
    let text = format!("name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\ndirs = [{dirs}]\n");
    let manifest = Manifest::parse(&text, folder.join("module.toml")).unwrap();
    grants.review(folder, &manifest)
}

#[test]
fn an_operator_folder_grants_what_is_under_it_at_its_access() {
    let root = tempfile::tempdir().unwrap();
    let folder = root.path().join("m");
    let granted = root.path().join("granted");
    let beside = root.path().join("beside");
    for dir in [&folder, &granted.join("sub"), &beside] {
        std::fs::create_dir_all(dir).unwrap();
    }
    let read_only = OperatorGrants::none().grant(
        "m",
        ModuleGrant {
            dirs: vec![OperatorDir {
                path: granted.clone(),
                write: false,
            }],
            ..ModuleGrant::default()
        },
    );
    let asked = |path: &Path, write: bool| {
        format!(
            "{{ host = \"{}\", guest = \"/g\", write = {write} }}",
            path.display()
        )
    };
    // Read-only under the granted folder: given, as the operator's.
    let dirs = review(&read_only, &folder, &asked(&granted.join("sub"), false)).unwrap();
    assert_eq!(dirs.len(), 1);
    assert_eq!(dirs[0].host, granted.join("sub").canonicalize().unwrap());
    assert_eq!(dirs[0].source, DirSource::Operator);
    assert!(!dirs[0].write);
    // Read-write there, or anything beside it: refused.
    for (path, write) in [(&granted, true), (&beside, false)] {
        let error = review(&read_only, &folder, &asked(path, write)).unwrap_err();
        assert!(matches!(error, GrantError::Dir { .. }), "{error}");
    }
    // Another module's grant gives `m` nothing.
    let others = OperatorGrants::none().grant(
        "other",
        ModuleGrant {
            dirs: vec![OperatorDir {
                path: granted.clone(),
                write: true,
            }],
            ..ModuleGrant::default()
        },
    );
    let error = review(&others, &folder, &asked(&granted, false)).unwrap_err();
    assert!(matches!(error, GrantError::Dir { .. }), "{error}");
}
