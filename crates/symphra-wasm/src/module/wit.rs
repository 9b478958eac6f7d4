//! Which version of the WIT package a component was built against, and whether this host
//! implements it.

use std::path::Path;

use crate::error::LoadError;
use crate::host::{WIT_VERSION, WIT_VERSIONS};

/// The WIT package a component must be built against.
const WIT_PACKAGE: &str = "symphra:module";

/// The versions of the WIT package this host runs a component of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WitLevel {
    /// `symphra:module@0.1.x`: hooks and `on-event(topic, payload)`.
    V0_1,
    /// `symphra:module@0.2.x`: adds `ready`, `heartbeat`, the event's source and the
    /// optional `health` export.
    V0_2,
}

impl WitLevel {
    /// The version as WIT writes it (`0.1`).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::V0_1 => "0.1",
            Self::V0_2 => "0.2",
        }
    }
}

/// Whether `found` is compatible with `implemented`: the same minor version while the
/// major is 0, the same major after.
fn compatible(found: &semver::Version, implemented: &semver::Version) -> bool {
    if implemented.major == 0 {
        found.major == 0 && found.minor == implemented.minor
    } else {
        found.major == implemented.major
    }
}

/// Checks that every `symphra:module/...@X` name is compatible with one version of
/// [`WIT_VERSIONS`], and the same one for all names (a component does not mix versions);
/// returns it. Names of other packages (WASI) are not looked at. A component that names
/// no `symphra:module` interface is taken as 0.1 (its missing exports are reported later).
pub(super) fn check_wit_version<'a>(
    path: &Path,
    names: impl IntoIterator<Item = &'a str>,
) -> Result<WitLevel, LoadError> {
    let mut level: Option<(WitLevel, &str)> = None;
    let hosted = || {
        WIT_VERSIONS
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(" and ")
    };
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
                host: hosted(),
            });
        };
        let this = match semver::Version::parse(version) {
            Ok(v) if compatible(&v, &WIT_VERSIONS[0]) => Some(WitLevel::V0_1),
            Ok(v) if compatible(&v, &WIT_VERSION) => Some(WitLevel::V0_2),
            _ => None,
        };
        let Some(this) = this else {
            return Err(LoadError::WitVersion {
                path: path.to_owned(),
                found: format!("{WIT_PACKAGE}@{version}"),
                host: hosted(),
            });
        };
        match level {
            Some((seen, first)) if seen != this => {
                return Err(LoadError::WitVersion {
                    path: path.to_owned(),
                    found: format!("both {first} and {name}, which mix versions"),
                    host: hosted(),
                });
            }
            Some(_) => {}
            None => level = Some((this, name)),
        }
    }
    Ok(level.map_or(WitLevel::V0_1, |(level, _)| level))
}

#[cfg(test)]
mod tests;
