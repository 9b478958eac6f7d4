//! Module names to their index, for a resolution.
//!
//! A table of indices into the resolution's own name list, hashed and compared through
//! that list: unlike a map keyed by the names themselves, building it takes no reference
//! count per name. With thousands of modules each name is a cache miss, and a counted
//! reference (a locked instruction) would keep those misses from overlapping.

use std::hash::BuildHasher;
use std::sync::Arc;

use hashbrown::HashTable;

/// An index of names; the names themselves are kept by the caller.
#[derive(Clone, Debug, Default)]
pub(crate) struct NameIndex {
    table: HashTable<u32>,
    hasher: foldhash::fast::RandomState,
}

impl NameIndex {
    /// Room for `capacity` names without growing.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Self {
            table: HashTable::with_capacity(capacity),
            hasher: foldhash::fast::RandomState::default(),
        }
    }

    /// Adds `names[i]`; `false` if an equal name is indexed already.
    pub(crate) fn insert(&mut self, names: &[Arc<str>], i: usize) -> bool {
        let name = &*names[i];
        let hash = self.hasher.hash_one(name);
        let hasher = &self.hasher;
        match self.table.entry(
            hash,
            |&j| &*names[j as usize] == name,
            |&j| hasher.hash_one(&*names[j as usize]),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => false,
            hashbrown::hash_table::Entry::Vacant(slot) => {
                slot.insert(i as u32);
                true
            }
        }
    }

    /// The index of `name` in `names`, if it was added.
    pub(crate) fn get(&self, names: &[Arc<str>], name: &str) -> Option<usize> {
        self.table
            .find(self.hasher.hash_one(name), |&j| &*names[j as usize] == name)
            .map(|&j| j as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_what_was_added_and_refuses_a_second_equal_name() {
        let names: Vec<Arc<str>> = ["db", "cache", "api", "db"].map(Arc::from).into();
        let mut index = NameIndex::with_capacity(1);
        assert!(index.insert(&names, 0));
        assert!(index.insert(&names, 1));
        assert!(index.insert(&names, 2));
        assert!(!index.insert(&names, 3), "a duplicate");
        assert_eq!(index.get(&names, "db"), Some(0));
        assert_eq!(index.get(&names, "api"), Some(2));
        assert_eq!(index.get(&names, "mail"), None);
    }
}
