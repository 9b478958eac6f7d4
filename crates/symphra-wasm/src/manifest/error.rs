//! What is wrong with a manifest: the file, where, which field, which kind of problem, and
//! why.

use std::fmt;
use std::path::PathBuf;

/// The kind of problem a [`ManifestError`] reports, for callers that act on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManifestErrorKind {
    /// The file cannot be read (missing, unreadable, not UTF-8).
    Read,
    /// The text is not TOML of the manifest's shape (syntax, unknown or mistyped field).
    Syntax,
    /// A value is of the right type but not acceptable (not a version, a duration, ...).
    Invalid,
    /// A value, a list or the file is larger than its limit (see `docs/security.md`).
    TooLarge,
    /// A string holds a control character (named in the message, never echoed).
    ControlCharacter,
    /// A path leaves the module folder (absolute, `..`), where the manifest may not reach.
    Escapes,
    /// A topic pattern reaches topics reserved for the runtime (`module.>`, `bus.>`).
    Reserved,
}

/// A manifest that could not be read or is invalid: the file, where, which field, and why.
///
/// The message quotes at most a short prefix of a bad value, with control characters
/// escaped, so that an error line stays short and cannot forge other output.
#[derive(Debug, Clone, thiserror::Error)]
pub struct ManifestError {
    /// The manifest file.
    pub path: PathBuf,
    /// 1-based line of the problem, when known.
    pub line: Option<usize>,
    /// 1-based column of the problem, when known.
    pub column: Option<usize>,
    /// The field at fault (`capabilities.memory-limit`), when known.
    pub field: Option<String>,
    /// What kind of problem it is.
    pub kind: ManifestErrorKind,
    /// What is wrong and what to do.
    pub message: String,
}

impl ManifestError {
    /// An error about the whole file or a field without a known position.
    pub(crate) fn new(
        path: impl Into<PathBuf>,
        kind: ManifestErrorKind,
        field: Option<&str>,
        message: String,
    ) -> Self {
        Self {
            path: path.into(),
            line: None,
            column: None,
            field: field.map(str::to_owned),
            kind,
            message,
        }
    }
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}
