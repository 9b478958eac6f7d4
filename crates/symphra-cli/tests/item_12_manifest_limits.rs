//! Issue 19, items 11 and 12 (the manifest's part), as the `symphra` binary shows them: a
//! huge hook-timeout fails `check` instead of panicking at run time; a huge name gives a
//! short error line; a huge description is refused, not printed by `list`; a control
//! character is named, never echoed.

mod common;

use common::{Guest, output, text, write_module};

fn check_one(manifest: &str) -> (Option<i32>, String) {
    let root = tempfile::tempdir().unwrap();
    write_module(root.path(), "m", manifest, &Guest::new().component());
    let cache = tempfile::tempdir().unwrap();
    let out = output(&["check", root.path().to_str().unwrap()], cache.path());
    let list = output(&["list", root.path().to_str().unwrap()], cache.path());
    let all = format!("{}{}", text(&out), text(&list));
    (out.status.code(), all)
}

#[test]
fn item_11_huge_hook_timeout_fails_check() {
    let (code, all) = check_one(
        "name = \"m\"\nversion = \"1.0.0\"\n[capabilities]\nhook-timeout = \"18446744073709551615s\"\n",
    );
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("capabilities.hook-timeout"), "{all}");
}

#[test]
fn item_12_huge_or_odd_strings_give_short_errors() {
    let name = "n".repeat(100_000);
    let (code, all) = check_one(&format!("name = \"{name}\"\nversion = \"1.0.0\"\n"));
    assert_eq!(code, Some(1), "{all}");
    assert!(
        all.lines().all(|l| l.len() < 400),
        "a long line in the output"
    );

    let description = "d".repeat(200_000);
    let (code, all) = check_one(&format!(
        "name = \"m\"\nversion = \"1.0.0\"\ndescription = \"{description}\"\n"
    ));
    assert_eq!(code, Some(1), "{all:.500}");
    assert!(
        all.lines().all(|l| l.len() < 400),
        "a long line in the output"
    );

    let (code, all) = check_one("name = \"a\\u0000b\"\nversion = \"1.0.0\"\n");
    assert_eq!(code, Some(1), "{all}");
    assert!(all.contains("U+0000 (NUL)"), "{all}");
    assert!(!all.contains('\0') && !all.contains("whitespace"), "{all}");
}
