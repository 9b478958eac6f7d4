//! A module's declared dependency: a name, a version requirement, and whether it is optional.

use std::fmt;

use semver::VersionReq;

use crate::module::{MetadataError, validate_name};

/// One declared dependency: a module name, a version requirement, and whether it is
/// optional.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dependency {
    name: String,
    requirement: VersionReq,
    optional: bool,
}

impl Dependency {
    /// Parses `"name"` or `"name REQUIREMENT"`, where the requirement uses Cargo's syntax
    /// (`">=1.0, <2"`, `"^1.2"`, `"~0.3"`, `"=1.0.1"`).
    pub fn parse(spec: &str, optional: bool) -> Result<Self, String> {
        let spec = spec.trim();
        let name_end = spec
            .find(|c: char| c.is_whitespace() || "<>=^~*".contains(c))
            .unwrap_or(spec.len());
        let (name, requirement) = spec.split_at(name_end);
        validate_name(name).map_err(|error| match error {
            MetadataError::InvalidName { reason, .. } => {
                format!("the dependency name {name:?} is invalid: {reason}")
            }
            other => other.to_string(),
        })?;
        let requirement = requirement.trim();
        let requirement = if requirement.is_empty() {
            VersionReq::STAR
        } else {
            VersionReq::parse(requirement).map_err(|error| {
                format!("the version requirement {requirement:?} is invalid: {error}")
            })?
        };
        Ok(Self {
            name: name.to_owned(),
            requirement,
            optional,
        })
    }

    /// The name of the module depended on.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The version requirement (`*` when none was written).
    pub fn requirement(&self) -> &VersionReq {
        &self.requirement
    }

    /// Whether the dependency is optional.
    pub fn is_optional(&self) -> bool {
        self.optional
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.requirement == VersionReq::STAR {
            f.write_str(&self.name)
        } else {
            write!(f, "{} {}", self.name, self.requirement)
        }
    }
}

#[cfg(test)]
mod tests {
    use semver::Version;

    use super::*;

    #[test]
    fn parses_dependency_specs() {
        let dep = Dependency::parse("database >=1.0, <2", false).unwrap();
        assert_eq!(dep.name(), "database");
        assert!(dep.requirement().matches(&Version::new(1, 4, 0)));
        assert!(!dep.requirement().matches(&Version::new(2, 0, 0)));
        assert_eq!(dep.to_string(), "database >=1.0, <2");

        let bare = Dependency::parse("  cache ", true).unwrap();
        assert_eq!(bare.name(), "cache");
        assert!(bare.is_optional());
        assert_eq!(bare.requirement(), &VersionReq::STAR);

        let glued = Dependency::parse("cache^0.3", false).unwrap();
        assert_eq!(glued.name(), "cache");
        assert!(glued.requirement().matches(&Version::new(0, 3, 9)));
    }
}
