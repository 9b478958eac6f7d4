//! The size limits of a manifest, and how a bad string is quoted in an error: a short
//! prefix, control characters named and escaped, never echoed raw.

use std::path::{Component, Path};
use std::time::Duration;

use super::error::ManifestErrorKind;

/// The largest manifest file read, in bytes.
pub const MAX_MANIFEST_BYTES: u64 = 256 * 1024;
/// The longest `description`, in bytes.
pub const MAX_DESCRIPTION_BYTES: usize = 1024;
/// The longest path (`component`, `dirs.host`, `dirs.guest`), in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// The longest environment variable name in `env`, in bytes.
pub const MAX_ENV_NAME_BYTES: usize = 128;
/// The most entries in one list of the manifest (`publish`, `subscribe`, `env`, `dirs`,
/// dependencies).
pub const MAX_LIST_ENTRIES: usize = 64;
/// The longest `hook-timeout` a manifest may ask for: 1 hour.
pub const MAX_HOOK_TIMEOUT: Duration = Duration::from_secs(3600);
/// How many characters of a bad value an error message quotes.
const QUOTED_CHARS: usize = 32;

/// `value` as an error message quotes it: in double quotes, at most [`QUOTED_CHARS`]
/// characters, escaped (`\n`, `\u{0}`, ...), with the full length when cut.
pub(crate) fn quote(value: &str) -> String {
    let count = value.chars().count();
    let prefix: String = value.chars().take(QUOTED_CHARS).collect();
    let escaped: String = prefix.escape_debug().collect();
    if count > QUOTED_CHARS {
        format!("\"{escaped}\"… ({} bytes)", value.len())
    } else {
        format!("\"{escaped}\"")
    }
}

/// The name of a control character, for messages.
fn control_name(c: char) -> String {
    let name = match c {
        '\0' => "NUL",
        '\t' => "tab",
        '\n' => "line feed",
        '\r' => "carriage return",
        '\u{1b}' => "escape",
        '\u{7f}' => "delete",
        _ => "",
    };
    if name.is_empty() {
        format!("U+{:04X}", u32::from(c))
    } else {
        format!("U+{:04X} ({name})", u32::from(c))
    }
}

/// Whether `c` must not appear in a manifest string: a control character, or a format
/// character that makes two strings look alike (zero-width space and joiners, direction
/// overrides, byte order mark).
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2064}' | '\u{feff}')
}

/// Checks a manifest string: at most `max` bytes and no control or invisible format
/// character. The error quotes a short prefix.
pub(crate) fn check_text(value: &str, max: usize) -> Result<(), (ManifestErrorKind, String)> {
    if value.len() > max {
        return Err((
            ManifestErrorKind::TooLarge,
            format!(
                "{} is {} bytes, over the limit of {max}; shorten it",
                quote(value),
                value.len()
            ),
        ));
    }
    if let Some((at, c)) = value.char_indices().find(|(_, c)| is_forbidden(*c)) {
        return Err((
            ManifestErrorKind::ControlCharacter,
            format!(
                "{} holds the control or invisible character {} at byte {at}; remove it",
                quote(value),
                control_name(c)
            ),
        ));
    }
    Ok(())
}

/// Checks a list's length.
pub(crate) fn check_list<T>(list: &[T]) -> Result<(), (ManifestErrorKind, String)> {
    if list.len() > MAX_LIST_ENTRIES {
        return Err((
            ManifestErrorKind::TooLarge,
            format!(
                "{} entries, over the limit of {MAX_LIST_ENTRIES}",
                list.len()
            ),
        ));
    }
    Ok(())
}

/// Checks that `path` is a plain relative path that stays inside the folder it is
/// relative to: no root, no prefix, no `..`.
pub(crate) fn check_inside(path: &str) -> Result<(), (ManifestErrorKind, String)> {
    check_text(path, MAX_PATH_BYTES)?;
    if path.is_empty() {
        return Err((ManifestErrorKind::Invalid, "the path is empty".to_owned()));
    }
    let escapes = Path::new(path)
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if escapes {
        return Err((
            ManifestErrorKind::Escapes,
            format!(
                "{} leaves the module folder (absolute, or with `..`); name a file inside the folder",
                quote(path)
            ),
        ));
    }
    Ok(())
}

/// Checks an environment variable name: ASCII letters, digits and `_`, not empty.
pub(crate) fn check_env_name(name: &str) -> Result<(), (ManifestErrorKind, String)> {
    check_text(name, MAX_ENV_NAME_BYTES)?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err((
            ManifestErrorKind::Invalid,
            format!(
                "{} is not an environment variable name (ASCII letters, digits and `_`)",
                quote(name)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_cuts_and_escapes() {
        assert_eq!(quote("ab"), "\"ab\"");
        assert_eq!(quote("a\nb\0"), "\"a\\nb\\0\"");
        let long = "x".repeat(100_000);
        let quoted = quote(&long);
        assert!(quoted.len() < 60, "{quoted}");
        assert!(quoted.ends_with("(100000 bytes)"), "{quoted}");
    }

    #[test]
    fn control_characters_are_named_not_echoed() {
        let (kind, message) = check_text("a\0b", 10).unwrap_err();
        assert_eq!(kind, ManifestErrorKind::ControlCharacter);
        assert!(message.contains("U+0000 (NUL)"), "{message}");
        assert!(!message.contains('\0'));
        let (_, message) = check_text("a\u{200b}b", 10).unwrap_err();
        assert!(message.contains("U+200B"), "{message}");
    }

    #[test]
    fn paths_stay_inside() {
        assert!(check_inside("module.wasm").is_ok());
        assert!(check_inside("./build/x.wasm").is_ok());
        for bad in ["../x.wasm", "/etc/passwd", "a/../../b", ""] {
            assert!(check_inside(bad).is_err(), "{bad}");
        }
    }
}
