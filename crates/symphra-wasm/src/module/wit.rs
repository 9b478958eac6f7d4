//! Whether a component was built against a version of the WIT package this host implements.

use std::path::Path;

use crate::error::LoadError;
use crate::host::WIT_VERSION;

/// The WIT package a component must be built against.
const WIT_PACKAGE: &str = "symphra:module";

/// Checks that every `symphra:module/...@X` name is compatible with [`WIT_VERSION`]: the
/// same minor version while the major is 0, the same major after. Names of other packages
/// (WASI) are not looked at.
pub(super) fn check_wit_version<'a>(
    path: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<(), LoadError> {
    for name in names {
        let Some(rest) = name
            .strip_prefix(WIT_PACKAGE)
            .and_then(|r| r.strip_prefix('/'))
        else {
            continue;
        };
        let Some((_, version)) = rest.split_once('@') else {
            return Err(LoadError::WitVersion {
                path: path.to_owned(),
                found: format!("{WIT_PACKAGE} (unversioned: `{name}`)"),
                host: WIT_VERSION.to_string(),
            });
        };
        let compatible = match semver::Version::parse(version) {
            Ok(v) if WIT_VERSION.major == 0 => v.major == 0 && v.minor == WIT_VERSION.minor,
            Ok(v) => v.major == WIT_VERSION.major,
            Err(_) => false,
        };
        if !compatible {
            return Err(LoadError::WitVersion {
                path: path.to_owned(),
                found: format!("{WIT_PACKAGE}@{version}"),
                host: WIT_VERSION.to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
