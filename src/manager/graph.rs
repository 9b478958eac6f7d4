//! One version of the registered module set, resolved. Replaced whole when modules are
//! added or removed, so that a running operation always sees a consistent graph.

use std::sync::Arc;

use crate::error::Error;
use crate::manager::entry::Entry;
use crate::module::ModuleMetadata;
use crate::resolver::{self, Resolution, ResolveError};

pub(crate) struct Graph {
    pub(crate) entries: Vec<Arc<Entry>>,
    pub(crate) resolution: Resolution,
}

impl Graph {
    pub(crate) fn new(entries: Vec<Arc<Entry>>) -> Result<Self, ResolveError> {
        let names = entries
            .iter()
            .map(|entry| Arc::clone(&entry.name))
            .collect();
        Self::with_names(entries, names)
    }

    /// [`Graph::new`] with the entries' names, in the same order, already collected.
    pub(crate) fn with_names(
        entries: Vec<Arc<Entry>>,
        names: Vec<Arc<str>>,
    ) -> Result<Self, ResolveError> {
        let metadata: Vec<&ModuleMetadata> = entries.iter().map(|entry| &entry.metadata).collect();
        let resolution = resolver::resolve_named(&metadata, names)?;
        Ok(Self {
            entries,
            resolution,
        })
    }

    pub(crate) fn find(&self, name: &str) -> Result<usize, Error> {
        self.resolution
            .index_of(name)
            .ok_or_else(|| Error::UnknownModule {
                name: name.to_owned(),
            })
    }

    /// Marks `id` and everything it depends on, transitively.
    pub(crate) fn with_dependencies(&self, id: usize) -> Vec<bool> {
        self.closure(id, |i| {
            self.resolution
                .declared_dependencies_of(i)
                .iter()
                .map(|edge| edge.target)
                .collect()
        })
    }

    /// Marks `id` and everything that depends on it, transitively.
    pub(crate) fn with_dependents(&self, id: usize) -> Vec<bool> {
        self.closure(id, |i| self.resolution.declared_dependents_of(i).collect())
    }

    /// Marks `id` and every module that requires it, transitively: those that declared it
    /// (or a module marked) as a dependency that is not optional. A failure of `id` stops
    /// them; optional dependents keep running.
    pub(crate) fn with_required_dependents(&self, id: usize) -> Vec<bool> {
        self.closure(id, |i| {
            self.resolution
                .dependents_of(i)
                .iter()
                .copied()
                .filter(|&d| {
                    self.resolution
                        .dependencies_of(d)
                        .iter()
                        .any(|edge| edge.target == i && !edge.optional)
                })
                .collect()
        })
    }

    fn closure(&self, id: usize, next: impl Fn(usize) -> Vec<usize>) -> Vec<bool> {
        let mut marked = vec![false; self.entries.len()];
        let mut stack = vec![id];
        marked[id] = true;
        while let Some(i) = stack.pop() {
            for j in next(i) {
                if !marked[j] {
                    marked[j] = true;
                    stack.push(j);
                }
            }
        }
        marked
    }
}
