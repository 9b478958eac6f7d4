//! Dependency resolution: validates a set of modules and orders it.
//!
//! The resolver checks everything at once — metadata mistakes, duplicate names, missing
//! dependencies, version mismatches, cycles — and reports every problem in one
//! [`ResolveError`]. On success it returns a [`Resolution`]: the start order, the start
//! waves, and the graph the manager schedules on. The same input always gives the same
//! output.
//!
//! Two kinds of edge order modules ([`EdgeKind`]): declared dependencies
//! ([`ModuleMetadata::depends_on`], [`ModuleMetadata::optionally_depends_on`]) and orderings
//! ([`ModuleMetadata::stops_before`]). Both place a module after its target in the start
//! order and the waves, and before it when stopping; only a dependency grants access to its
//! target, must be registered, or blocks the module when its target fails to start.
//!
//! ```
//! use symphra::module::ModuleMetadata;
//! use symphra::resolver::resolve;
//!
//! let modules = [
//!     ModuleMetadata::new("api").depends_on("users"),
//!     ModuleMetadata::new("users").depends_on("database >=1, <2"),
//!     ModuleMetadata::new("database").version("1.4.0"),
//! ];
//! let resolution = resolve(&modules)?;
//! assert_eq!(resolution.order().collect::<Vec<_>>(), ["database", "users", "api"]);
//! assert_eq!(resolution.waves(), [vec!["database"], vec!["users"], vec!["api"]]);
//! # Ok::<(), symphra::resolver::ResolveError>(())
//! ```

mod cycles;
mod index;
mod problem;

use std::sync::Arc;

use index::NameIndex;
pub use problem::{EdgeKind, Problem, ResolveError};

use crate::module::ModuleMetadata;
use crate::prefetch::prefetch;

/// A valid module set, ordered for starting.
///
/// Modules are identified by their index in the sequence given to [`resolve`].
#[derive(Clone, Debug, Default)]
pub struct Resolution {
    names: Arc<[Arc<str>]>,
    index: NameIndex,
    order: Vec<usize>,
    /// Start wave of module i; shared, so that reports can hold them cheaply.
    wave: Arc<[u32]>,
    wave_count: u32,
    height: Vec<u32>,
    /// What module i starts after: `edges[edge_start[i]..edge_start[i + 1]]`, its declared
    /// dependencies first, then its orderings.
    edge_start: Vec<usize>,
    edges: Vec<Edge>,
    /// What starts after module i: `dependents[dependent_start[i]..dependent_start[i + 1]]`.
    dependent_start: Vec<usize>,
    dependents: Vec<usize>,
}

/// An edge that resolved to a registered module: its source starts after `target` and
/// stops before it.
///
/// One edge per pair of modules: a dependency and an ordering towards the same target make
/// one dependency edge, since a dependency orders as well.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edge {
    /// The index of the module started first.
    pub(crate) target: usize,
    /// Whether the target's failure leaves the source free to start: true for an optional
    /// dependency and for every ordering, which never skips anything.
    pub(crate) optional: bool,
    /// A declared dependency, or an ordering that grants no access.
    pub(crate) kind: EdgeKind,
}

impl Edge {
    /// Whether the edge is a declared dependency (required or optional), which the source
    /// may use through its context.
    pub(crate) fn is_dependency(&self) -> bool {
        self.kind == EdgeKind::DependsOn
    }
}

impl Resolution {
    /// Module names in start order: every module after all of its dependencies and after
    /// the modules it [stops before](ModuleMetadata::stops_before). Stopping goes in the
    /// reverse order.
    pub fn order(&self) -> impl DoubleEndedIterator<Item = &str> + ExactSizeIterator {
        self.order.iter().map(|&i| &*self.names[i])
    }

    /// Modules grouped in waves: wave 0 has no dependencies, wave k depends only on waves
    /// before it (orderings count as dependencies here). Within a wave, registration order.
    ///
    /// The manager does not start wave by wave (a module starts as soon as its own
    /// dependencies have started); waves are for display and analysis.
    pub fn waves(&self) -> Vec<Vec<&str>> {
        let mut waves = vec![Vec::new(); self.wave_count as usize];
        for (index, &wave) in self.wave.iter().enumerate() {
            waves[wave as usize].push(&*self.names[index]);
        }
        waves
    }

    /// How many modules were resolved.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The index of the module called `name`.
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.index.get(&self.names, name)
    }

    /// Every module's name, by index; shared, so that reports can hold them cheaply.
    pub(crate) fn names(&self) -> &Arc<[Arc<str>]> {
        &self.names
    }

    /// The start wave of every module, by index; see [`Resolution::waves`].
    pub(crate) fn wave_numbers(&self) -> &Arc<[u32]> {
        &self.wave
    }

    /// Start order as indices into the resolved sequence.
    pub(crate) fn order_indices(&self) -> &[usize] {
        &self.order
    }

    /// Everything module `index` starts after and stops before, as the scheduler walks it:
    /// its resolved dependencies (absent optional ones left out), then its orderings to
    /// registered modules. Use [`declared_dependencies_of`](Self::declared_dependencies_of)
    /// for what the module may access.
    pub(crate) fn dependencies_of(&self, index: usize) -> &[Edge] {
        &self.edges[self.edge_start[index]..self.edge_start[index + 1]]
    }

    /// The resolved declared dependencies of module `index`, without its orderings: what
    /// its context may hand out, and what a start of the module alone must start too.
    pub(crate) fn declared_dependencies_of(&self, index: usize) -> &[Edge] {
        let all = self.dependencies_of(index);
        // Dependencies precede orderings in each module's list.
        &all[..all.partition_point(Edge::is_dependency)]
    }

    /// The modules that start after module `index` and stop before it, directly: those that
    /// depend on it and those ordered after it.
    pub(crate) fn dependents_of(&self, index: usize) -> &[usize] {
        &self.dependents[self.dependent_start[index]..self.dependent_start[index + 1]]
    }

    /// The modules that declared a dependency on module `index`, directly, without those
    /// only ordered after it: what a stop or an unload of the module alone must stop too.
    pub(crate) fn declared_dependents_of(&self, index: usize) -> impl Iterator<Item = usize> {
        self.dependents_of(index)
            .iter()
            .copied()
            .filter(move |&dependent| {
                self.declared_dependencies_of(dependent)
                    .iter()
                    .any(|edge| edge.target == index)
            })
    }

    /// The number of modules on the longest chain of dependents above `index`, itself
    /// included: the scheduler starts the highest first, as it unblocks the most work.
    pub(crate) fn height_of(&self, index: usize) -> u32 {
        self.height[index]
    }
}

/// Validates `modules` and orders them; see the [module docs](self).
pub fn resolve<'a, I>(modules: I) -> Result<Resolution, ResolveError>
where
    I: IntoIterator<Item = &'a ModuleMetadata>,
{
    let modules: Vec<&ModuleMetadata> = modules.into_iter().collect();
    let names = modules.iter().map(|meta| Arc::from(meta.name())).collect();
    resolve_named(&modules, names)
}

/// [`resolve`] with the names already shared, as the manager holds them.
pub(crate) fn resolve_named(
    modules: &[&ModuleMetadata],
    names: Vec<Arc<str>>,
) -> Result<Resolution, ResolveError> {
    // Metadata mistakes first, then duplicates, then dependency problems, then cycles.
    let mut problems: Vec<Problem> = Vec::new();
    let mut dependency_problems: Vec<Problem> = Vec::new();

    // With many modules each one's name and metadata is a cache miss: the passes below
    // ask for those of the module a few places ahead while handling the current one.
    const AHEAD: usize = 4;
    let mut index = NameIndex::with_capacity(modules.len());
    // Each duplicated name with the modules that carry it, in registration order.
    let mut duplicates: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(next) = names.get(i + AHEAD) {
            prefetch(&**next);
        }
        if !index.insert(&names, i) {
            match duplicates.iter_mut().find(|(n, _)| *n == &**name) {
                Some((_, carriers)) => carriers.push(i),
                None => {
                    let first = index.get(&names, name).unwrap_or(i);
                    duplicates.push((name, vec![first, i]));
                }
            }
        }
    }

    let mut edge_start = Vec::with_capacity(modules.len() + 1);
    let mut edges: Vec<Edge> = Vec::with_capacity(modules.len() * 2);
    let mut dependent_count = vec![0_usize; modules.len()];
    // One pass over the metadata, asking for the metadata a few modules ahead early.
    for (i, meta) in modules.iter().enumerate() {
        if let Some(next) = modules.get(i + AHEAD) {
            prefetch(*next);
        }
        problems.extend(meta.problems().iter().cloned().map(Problem::Metadata));
        let first = edges.len();
        edge_start.push(first);
        for dependency in meta.dependencies() {
            let Some(target) = index.get(&names, dependency.name()) else {
                if !dependency.is_optional() {
                    dependency_problems.push(Problem::Missing {
                        module: meta.name().to_owned(),
                        dependency: dependency.name().to_owned(),
                        requirement: dependency.requirement().clone(),
                    });
                }
                continue;
            };
            let found = modules[target].get_version();
            if !dependency.requirement().matches(found) {
                dependency_problems.push(Problem::VersionMismatch {
                    module: meta.name().to_owned(),
                    dependency: dependency.name().to_owned(),
                    requirement: dependency.requirement().clone(),
                    found: found.clone(),
                    optional: dependency.is_optional(),
                });
            }
            if !edges[first..].iter().any(|edge| edge.target == target) {
                edges.push(Edge {
                    target,
                    optional: dependency.is_optional(),
                    kind: EdgeKind::DependsOn,
                });
                dependent_count[target] += 1;
            }
        }
        // Orderings after the dependencies, so that those are a prefix of the module's
        // edges. An ordering to an absent module is no error: it orders nothing.
        for name in meta.stops_before_names() {
            let Some(target) = index.get(&names, name) else {
                continue;
            };
            if !edges[first..].iter().any(|edge| edge.target == target) {
                edges.push(Edge {
                    target,
                    // An ordering never holds its source back when its target fails.
                    optional: true,
                    kind: EdgeKind::StopsBefore,
                });
                dependent_count[target] += 1;
            }
        }
    }
    edge_start.push(edges.len());
    problems.extend(duplicates.into_iter().map(|(name, carriers)| {
        Problem::Duplicate {
            name: name.to_owned(),
            count: carriers.len(),
            origins: carriers
                .iter()
                .map(|&i| match modules[i].get_origin() {
                    Some(origin) => format!("`{origin}`"),
                    None => format!("registration {}", i + 1),
                })
                .collect(),
        }
    }));
    problems.append(&mut dependency_problems);

    // Dependents, laid out like the dependencies: counts, then offsets, then a fill pass.
    let mut dependent_start = Vec::with_capacity(modules.len() + 1);
    let mut total = 0;
    for count in &dependent_count {
        dependent_start.push(total);
        total += count;
    }
    dependent_start.push(total);
    let mut dependents = vec![0_usize; total];
    let mut fill = dependent_start.clone();
    for i in 0..modules.len() {
        for edge in &edges[edge_start[i]..edge_start[i + 1]] {
            dependents[fill[edge.target]] = i;
            fill[edge.target] += 1;
        }
    }

    let mut resolution = Resolution {
        names: Arc::from(names),
        index,
        order: Vec::new(),
        wave: Arc::from([]),
        wave_count: 0,
        height: Vec::new(),
        edge_start,
        edges,
        dependent_start,
        dependents,
    };
    resolution.order = topological_order(&resolution);
    if resolution.order.len() < modules.len() {
        let names: Vec<&str> = resolution.names.iter().map(|name| &**name).collect();
        problems.extend(
            cycles::find(&names, |i| resolution.dependencies_of(i), &resolution.order)
                .into_iter()
                .map(|cycle| {
                    // Cycles of dependencies alone are reported as they always were.
                    if cycle.kinds.contains(&EdgeKind::StopsBefore) {
                        Problem::OrderCycle {
                            path: cycle.path,
                            kinds: cycle.kinds,
                        }
                    } else {
                        Problem::Cycle { path: cycle.path }
                    }
                }),
        );
    }
    if !problems.is_empty() {
        return Err(ResolveError::new(problems));
    }

    let mut wave = vec![0_u32; modules.len()];
    for &i in &resolution.order {
        wave[i] = resolution
            .dependencies_of(i)
            .iter()
            .map(|edge| wave[edge.target] + 1)
            .max()
            .unwrap_or(0);
    }
    let mut height = vec![1_u32; modules.len()];
    for &i in resolution.order.iter().rev() {
        height[i] = 1 + resolution
            .dependents_of(i)
            .iter()
            .map(|&d| height[d])
            .max()
            .unwrap_or(0);
    }
    resolution.wave_count = wave.iter().max().map_or(0, |&w| w + 1);
    resolution.wave = Arc::from(wave);
    resolution.height = height;
    Ok(resolution)
}

/// Kahn's algorithm in registration order; modules on or behind a cycle are left out.
fn topological_order(resolution: &Resolution) -> Vec<usize> {
    let n = resolution.names.len();
    let mut pending: Vec<usize> = (0..n)
        .map(|i| resolution.dependencies_of(i).len())
        .collect();
    let mut order: Vec<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut next = 0;
    while next < order.len() {
        let module = order[next];
        next += 1;
        for &dependent in resolution.dependents_of(module) {
            pending[dependent] -= 1;
            if pending[dependent] == 0 {
                order.push(dependent);
            }
        }
    }
    order
}

#[cfg(test)]
mod tests;
