//! Routing: a token trie from patterns to subscribers.
//!
//! Each node has literal children, a `*` child, the entries whose pattern ends here, and the
//! entries whose pattern ends with `>` here. Matching a topic walks at most two children per
//! token, so its cost depends on the topic's depth and on the matching patterns, not on the
//! number of patterns that do not match.
//!
//! No walk recurses: a pattern's depth is input. Matching and removal loop with a stack or a
//! second pass instead, and nodes nest at most `MAX_TOPIC_TOKENS` deep, which bounds the
//! recursion of their drop.

use std::collections::HashMap;

use smallvec::SmallVec;

use super::topic::{MAX_TOPIC_TOKENS, Pattern, PatternToken};

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
    /// The child a pattern token leads to, if there is one (none for `>`).
    fn child(&self, token: &PatternToken) -> Option<&Node<T>> {
        match token {
            PatternToken::Literal(l) => self.literals.get(l),
            PatternToken::One => self.one.as_deref(),
            PatternToken::Rest => None,
        }
    }

    fn child_mut(&mut self, token: &PatternToken) -> Option<&mut Node<T>> {
        match token {
            PatternToken::Literal(l) => self.literals.get_mut(l),
            PatternToken::One => self.one.as_deref_mut(),
            PatternToken::Rest => None,
        }
    }

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
        let (path, rest) = match pattern.tokens().split_last() {
            Some((PatternToken::Rest, path)) => (path, true),
            _ => (pattern.tokens(), false),
        };
        let mut node = &mut self.root;
        for token in path {
            node = node.child_mut(token)?;
        }
        let list = if rest { &mut node.rest } else { &mut node.here };
        let removed = list.iter().position(is_it).map(|i| list.remove(i))?;
        self.len -= 1;
        self.prune(path);
        Some(removed)
    }

    /// Removes the nodes along `path` that hold nothing any more: the longest run at its end
    /// of nodes whose only content is the next node of the run. Two walks of the path, not
    /// a recursion whose depth the pattern would decide.
    fn prune(&mut self, path: &[PatternToken]) {
        let mut cut = None;
        let mut node = &self.root;
        for (i, token) in path.iter().enumerate() {
            let Some(child) = node.child(token) else {
                return;
            };
            let holds_only_path = if i + 1 == path.len() {
                child.is_empty()
            } else {
                child.here.is_empty()
                    && child.rest.is_empty()
                    && child.literals.len() + usize::from(child.one.is_some()) == 1
            };
            cut = match (holds_only_path, cut) {
                (false, _) => None,
                (true, None) => Some(i),
                (true, kept) => kept,
            };
            node = child;
        }
        let Some(cut) = cut else {
            return;
        };
        let mut parent = &mut self.root;
        for token in &path[..cut] {
            match parent.child_mut(token) {
                Some(child) => parent = child,
                None => return,
            }
        }
        match &path[cut] {
            PatternToken::Literal(l) => {
                parent.literals.remove(l);
            }
            PatternToken::One => parent.one = None,
            PatternToken::Rest => {}
        }
    }

    /// Appends every value whose pattern matches `topic` (assumed valid) to `out`.
    ///
    /// Depth first with a stack of its own: a valid topic has at most `MAX_TOPIC_TOKENS`
    /// tokens, and at most one more node waits on the stack per token, so it stays inline.
    pub(crate) fn collect(&self, topic: &str, out: &mut Vec<T>) {
        let mut stack: SmallVec<[(&Node<T>, Option<&str>); STACK_INLINE]> = SmallVec::new();
        stack.push((&self.root, Some(topic)));
        while let Some((node, remaining)) = stack.pop() {
            let Some(remaining) = remaining else {
                out.extend_from_slice(&node.here);
                continue;
            };
            let (part, after) = match remaining.split_once('.') {
                Some((part, after)) => (part, Some(after)),
                None => (remaining, None),
            };
            out.extend_from_slice(&node.rest);
            if let Some(child) = node.one.as_deref() {
                stack.push((child, after));
            }
            if let Some(child) = node.literals.get(part) {
                stack.push((child, after));
            }
        }
    }
}

/// Room for the matching stack of a topic of `MAX_TOPIC_TOKENS` tokens without allocating.
const STACK_INLINE: usize = MAX_TOPIC_TOKENS + 2;

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
