//! Routing: a token trie from patterns to subscribers.
//!
//! Each node has literal children, a `*` child, the entries whose pattern ends here, and the
//! entries whose pattern ends with `>` here. Matching a topic walks at most two children per
//! token, so its cost depends on the topic's depth and on the matching patterns, not on the
//! number of patterns that do not match.

use std::collections::HashMap;

use super::topic::{Pattern, PatternToken};

type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

#[derive(Debug)]
struct Node<T> {
    literals: Map<Box<str>, Node<T>>,
    one: Option<Box<Node<T>>>,
    here: Vec<T>,
    rest: Vec<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            literals: Map::default(),
            one: None,
            here: Vec::new(),
            rest: Vec::new(),
        }
    }
}

impl<T> Node<T> {
    fn is_empty(&self) -> bool {
        self.here.is_empty()
            && self.rest.is_empty()
            && self.literals.is_empty()
            && self.one.is_none()
    }
}

/// A pattern trie holding values of type `T` (the bus stores subscription entries).
#[derive(Debug)]
pub(crate) struct Trie<T> {
    root: Node<T>,
    len: usize,
}

impl<T> Default for Trie<T> {
    fn default() -> Self {
        Self {
            root: Node::default(),
            len: 0,
        }
    }
}

impl<T: Clone> Trie<T> {
    /// Number of values stored.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Adds `value` under `pattern`.
    pub(crate) fn insert(&mut self, pattern: &Pattern, value: T) {
        let mut node = &mut self.root;
        for token in pattern.tokens() {
            node = match token {
                PatternToken::Literal(l) => node.literals.entry(l.clone()).or_default(),
                PatternToken::One => node.one.get_or_insert_with(Default::default),
                PatternToken::Rest => {
                    node.rest.push(value);
                    self.len += 1;
                    return;
                }
            };
        }
        node.here.push(value);
        self.len += 1;
    }

    /// Removes the first value under `pattern` for which `is_it` holds, pruning empty nodes.
    pub(crate) fn remove(&mut self, pattern: &Pattern, is_it: impl Fn(&T) -> bool) -> Option<T> {
        let removed = Self::remove_in(&mut self.root, pattern.tokens(), &is_it);
        if removed.is_some() {
            self.len -= 1;
        }
        removed
    }

    fn remove_in(
        node: &mut Node<T>,
        tokens: &[PatternToken],
        is_it: &impl Fn(&T) -> bool,
    ) -> Option<T> {
        let take = |list: &mut Vec<T>| list.iter().position(is_it).map(|i| list.remove(i));
        let Some((first, rest)) = tokens.split_first() else {
            return take(&mut node.here);
        };
        match first {
            PatternToken::Rest => take(&mut node.rest),
            PatternToken::Literal(l) => {
                let child = node.literals.get_mut(l)?;
                let removed = Self::remove_in(child, rest, is_it);
                if child.is_empty() {
                    node.literals.remove(l);
                }
                removed
            }
            PatternToken::One => {
                let child = node.one.as_deref_mut()?;
                let removed = Self::remove_in(child, rest, is_it);
                if child.is_empty() {
                    node.one = None;
                }
                removed
            }
        }
    }

    /// Appends every value whose pattern matches `topic` (assumed valid) to `out`.
    pub(crate) fn collect(&self, topic: &str, out: &mut Vec<T>) {
        Self::collect_in(&self.root, topic.split('.'), out);
    }

    fn collect_in(node: &Node<T>, mut parts: std::str::Split<'_, char>, out: &mut Vec<T>) {
        let Some(part) = parts.next() else {
            out.extend_from_slice(&node.here);
            return;
        };
        out.extend_from_slice(&node.rest);
        if let Some(child) = node.literals.get(part) {
            Self::collect_in(child, parts.clone(), out);
        }
        if let Some(child) = node.one.as_deref() {
            Self::collect_in(child, parts, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        Pattern::parse(s).unwrap()
    }

    fn matches(trie: &Trie<u32>, topic: &str) -> Vec<u32> {
        let mut out = Vec::new();
        trie.collect(topic, &mut out);
        out.sort_unstable();
        out
    }

    #[test]
    fn routes_like_the_pattern_matcher() {
        let patterns = [
            "*",
            ">",
            "user",
            "user.*",
            "user.>",
            "user.created",
            "*.created",
            "a.*.c",
            "a.>",
            "a.b.c",
            "*.*",
            "*.*.*",
            "foo*",
        ];
        let mut trie = Trie::default();
        for (i, s) in patterns.iter().enumerate() {
            trie.insert(&p(s), i as u32);
        }
        assert_eq!(trie.len(), patterns.len());
        for topic in [
            "user",
            "user.created",
            "user.a.b",
            "a.b.c",
            "a.x.c",
            "a",
            "foo*",
            "x.y",
        ] {
            let expected: Vec<u32> = patterns
                .iter()
                .enumerate()
                .filter(|(_, s)| p(s).matches(topic))
                .map(|(i, _)| i as u32)
                .collect();
            assert_eq!(matches(&trie, topic), expected, "topic {topic}");
        }
    }

    #[test]
    fn remove_prunes_and_stops_matching() {
        let mut trie = Trie::default();
        trie.insert(&p("a.b.c"), 1);
        trie.insert(&p("a.*.c"), 2);
        trie.insert(&p("a.>"), 3);
        trie.insert(&p("a.b.c"), 4);
        assert_eq!(matches(&trie, "a.b.c"), vec![1, 2, 3, 4]);
        assert_eq!(trie.remove(&p("a.b.c"), |v| *v == 4), Some(4));
        assert_eq!(trie.remove(&p("a.b.c"), |v| *v == 4), None);
        assert_eq!(trie.remove(&p("a.*.c"), |v| *v == 2), Some(2));
        assert_eq!(matches(&trie, "a.b.c"), vec![1, 3]);
        assert_eq!(trie.remove(&p("a.b.c"), |v| *v == 1), Some(1));
        assert_eq!(trie.remove(&p("a.>"), |v| *v == 3), Some(3));
        assert_eq!(trie.len(), 0);
        assert!(trie.root.is_empty(), "empty nodes are pruned");
    }

    #[test]
    fn non_matching_patterns_are_not_visited() {
        let mut trie = Trie::default();
        for i in 0..10_000u32 {
            trie.insert(&p(&format!("svc{i}.*.done")), i);
        }
        assert_eq!(matches(&trie, "svc42.x.done"), vec![42]);
        assert!(matches(&trie, "svc42.x.y").is_empty());
    }
}
