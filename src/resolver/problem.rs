//! Everything that can be wrong with a set of modules, reported all at once.

use std::fmt;

use semver::{Version, VersionReq};

use crate::module::MetadataError;

/// One thing wrong with a set of modules.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Problem {
    /// A module's metadata has a mistake (bad name, version, dependency or schema).
    Metadata(MetadataError),
    /// Two or more modules share a name.
    Duplicate {
        /// The shared name.
        name: String,
        /// How many modules carry it.
        count: usize,
        /// Where each of them comes from, in registration order: its Rust type or its
        /// folder ([`ModuleMetadata::origin`](crate::module::ModuleMetadata::origin)), or
        /// `registration N` when it says nothing.
        origins: Vec<String>,
    },
    /// A required dependency is not registered.
    Missing {
        /// The module that needs it.
        module: String,
        /// The name it asked for.
        dependency: String,
        /// The version range it asked for.
        requirement: VersionReq,
    },
    /// A dependency is registered, but in a version outside the required range.
    VersionMismatch {
        /// The module that needs it.
        module: String,
        /// The dependency's name.
        dependency: String,
        /// The version range the module asked for.
        requirement: VersionReq,
        /// The version registered.
        found: Version,
        /// Whether the dependency was declared optional.
        optional: bool,
    },
    /// Modules that depend on each other in a circle; `path` starts and ends with the same
    /// module (`a -> b -> a`; a module depending on itself is `a -> a`).
    Cycle {
        /// The modules along the cycle, first repeated at the end.
        path: Vec<String>,
    },
    /// Modules that must each start after the next in a circle, where at least one step is
    /// an ordering ([`ModuleMetadata::stops_before`](crate::module::ModuleMetadata::stops_before))
    /// rather than a dependency. A circle of dependencies alone is a [`Problem::Cycle`].
    OrderCycle {
        /// The modules along the cycle, first repeated at the end.
        path: Vec<String>,
        /// `kinds[k]` is the edge from `path[k]` to `path[k + 1]`: one fewer than `path`.
        kinds: Vec<EdgeKind>,
    },
}

/// Why one module starts after another.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EdgeKind {
    /// A declared dependency, required or optional
    /// ([`depends_on`](crate::module::ModuleMetadata::depends_on)).
    DependsOn,
    /// An ordering without dependency
    /// ([`stops_before`](crate::module::ModuleMetadata::stops_before)).
    StopsBefore,
}

impl fmt::Display for EdgeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EdgeKind::DependsOn => "depends on",
            EdgeKind::StopsBefore => "stops before",
        })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Metadata(error) => write!(f, "{error}"),
            Problem::Duplicate {
                name,
                count,
                origins,
            } => write!(
                f,
                "{count} modules are named {name:?} ({}); names must be unique, so rename or \
                 remove all but one",
                origins.join(", ")
            ),
            Problem::Missing {
                module,
                dependency,
                requirement,
            } => {
                write!(f, "module {module:?} depends on {dependency:?}")?;
                if *requirement != VersionReq::STAR {
                    write!(f, " ({requirement})")?;
                }
                write!(
                    f,
                    ", which is not registered; register it, make the dependency optional, or \
                     remove it from {module:?}'s dependencies"
                )
            }
            Problem::VersionMismatch {
                module,
                dependency,
                requirement,
                found,
                optional,
            } => write!(
                f,
                "module {module:?} needs {}{dependency:?} {requirement}, but version {found} is registered; \
                 register a matching version or widen the requirement",
                if *optional {
                    "optional dependency "
                } else {
                    ""
                },
            ),
            Problem::Cycle { path } => write!(
                f,
                "dependency cycle {}; remove one of these dependencies to break it",
                path.join(" -> ")
            ),
            Problem::OrderCycle { path, kinds } => {
                // `a -(stops before)-> b -(depends on)-> a`: each step names its kind.
                f.write_str("start-order cycle ")?;
                for (k, module) in path.iter().enumerate() {
                    if k > 0 {
                        match kinds.get(k - 1) {
                            Some(kind) => write!(f, " -({kind})-> ")?,
                            None => f.write_str(" -> ")?,
                        }
                    }
                    f.write_str(module)?;
                }
                f.write_str(
                    "; remove one of these dependencies or stops_before orderings to break it",
                )
            }
        }
    }
}

/// A set of modules that cannot be started, with every problem found.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct ResolveError {
    problems: Vec<Problem>,
}

impl ResolveError {
    pub(crate) fn new(problems: Vec<Problem>) -> Self {
        Self { problems }
    }

    /// Every problem, in a stable order: metadata, duplicates, missing dependencies and
    /// version mismatches (in registration order), then cycles (dependency and ordering
    /// cycles together, by their first module's name).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }
}

impl fmt::Display for ResolveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let count = self.problems.len();
        write!(
            f,
            "the modules cannot be resolved ({count} problem{}):",
            if count == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}
