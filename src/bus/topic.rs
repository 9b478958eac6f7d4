//! Topics and subscription patterns, and their validation.
//!
//! A topic is dot-separated tokens, case-sensitive: `user.created`. A pattern may use `*` for
//! exactly one token and, as its last token, `>` for one or more tokens (NATS subjects). The
//! pattern `*` on its own matches every topic. `foo*` is an ordinary token.
//!
//! Both are input from modules, manifests and the network, so both are bounded: at most
//! [`MAX_TOPIC_BYTES`] bytes and [`MAX_TOPIC_TOKENS`] tokens. A token may not hold
//! whitespace, control characters, or invisible formatting characters (Unicode category
//! `Cf`, such as a zero-width space), so that two topics that print alike are one topic.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use unicode_general_category::{GeneralCategory, get_general_category};

use super::error::BusError;

/// The longest topic or pattern, in bytes (UTF-8).
pub const MAX_TOPIC_BYTES: usize = 1024;
/// The most tokens a topic or pattern may have.
pub const MAX_TOPIC_TOKENS: usize = 32;

/// A wildcard token that stands for exactly one token.
pub(crate) const ONE: &str = "*";
/// A wildcard token that stands for one or more trailing tokens.
pub(crate) const REST: &str = ">";

/// How many characters of a bad topic, pattern or token an error keeps.
const QUOTED_CHARS: usize = 48;

/// At most the first [`QUOTED_CHARS`] characters of `text`, with `…` when it was cut: what
/// an error keeps of a bad value, never the whole of a hostile one.
pub(crate) fn short_prefix(text: &str) -> String {
    match text.char_indices().nth(QUOTED_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

/// `text` with control, whitespace other than a space, and invisible characters escaped
/// (`\n`, `\u{200b}`), for quoting in a message: a value never prints as something else.
pub(crate) fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == ' ' || !(c.is_control() || c.is_whitespace() || is_invisible(c)) {
            out.push(c);
        } else {
            out.extend(c.escape_default());
        }
    }
    out
}

/// Whether `c` is an invisible formatting character (category `Cf`: zero-width space,
/// joiners, direction marks, the byte-order mark, ...).
fn is_invisible(c: char) -> bool {
    !c.is_ascii() && get_general_category(c) == GeneralCategory::Format
}

/// Why a token is rejected, if it is.
fn token_problem(token: &str) -> Option<Cow<'static, str>> {
    if token.is_empty() {
        return Some(Cow::Borrowed("is empty"));
    }
    for c in token.chars() {
        let kind = if c.is_control() {
            "a control character"
        } else if c.is_whitespace() {
            "whitespace"
        } else if is_invisible(c) {
            "an invisible formatting character"
        } else {
            continue;
        };
        return Some(Cow::Owned(format!(
            "contains {kind} (U+{:04X})",
            u32::from(c)
        )));
    }
    None
}

/// Checks the size of a topic or pattern before its tokens are looked at.
fn check_size(text: &str, pattern: bool) -> Result<usize, BusError> {
    let kind = if pattern { "pattern" } else { "topic" };
    if text.len() > MAX_TOPIC_BYTES {
        return Err(BusError::TooLong {
            kind,
            prefix: short_prefix(text),
            bytes: text.len(),
            max: MAX_TOPIC_BYTES,
        });
    }
    let tokens = text.bytes().filter(|&b| b == b'.').count() + 1;
    if tokens > MAX_TOPIC_TOKENS {
        return Err(BusError::TooManyTokens {
            kind,
            prefix: short_prefix(text),
            tokens,
            max: MAX_TOPIC_TOKENS,
        });
    }
    Ok(tokens)
}

/// Checks that `topic` may be published: at most [`MAX_TOPIC_BYTES`] bytes and
/// [`MAX_TOPIC_TOKENS`] tokens, each non-empty, without whitespace, control or invisible
/// characters, and no wildcards.
///
/// # Errors
/// [`BusError::TooLong`], [`BusError::TooManyTokens`], or [`BusError::InvalidTopic`] naming
/// the offending token; each quotes at most a short, escaped prefix of the topic.
pub fn validate_topic(topic: &str) -> Result<(), BusError> {
    check_size(topic, false)?;
    for (i, token) in topic.split('.').enumerate() {
        let reason = token_problem(token).or_else(|| {
            (token == ONE || token == REST)
                .then_some(Cow::Borrowed("is a wildcard, which only patterns may use"))
        });
        if let Some(reason) = reason {
            return Err(BusError::InvalidTopic {
                topic: short_prefix(topic),
                token: short_prefix(token),
                position: i + 1,
                reason,
            });
        }
    }
    Ok(())
}

/// One token of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PatternToken {
    /// Matches this exact token.
    Literal(Box<str>),
    /// `*`: matches any one token.
    One,
    /// `>`: matches one or more trailing tokens.
    Rest,
}

/// A validated subscription pattern such as `user.*` or `orders.>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Pattern {
    text: Arc<str>,
    tokens: Box<[PatternToken]>,
}

impl Pattern {
    /// Parses and validates a pattern.
    ///
    /// # Errors
    /// [`BusError::TooLong`] or [`BusError::TooManyTokens`] past the limits
    /// ([`MAX_TOPIC_BYTES`], [`MAX_TOPIC_TOKENS`]); [`BusError::InvalidPattern`] naming the
    /// offending token: an empty token, whitespace, a control or invisible character, or a
    /// `>` that is not the last token. Each quotes at most a short, escaped prefix.
    pub fn parse(pattern: &str) -> Result<Self, BusError> {
        let count = check_size(pattern, true)?;
        let mut tokens = Vec::with_capacity(count);
        for (i, token) in pattern.split('.').enumerate() {
            let reason = token_problem(token).or_else(|| {
                (token == REST && i + 1 != count)
                    .then_some(Cow::Borrowed("is `>`, which may only be the last token"))
            });
            if let Some(reason) = reason {
                return Err(BusError::InvalidPattern {
                    pattern: short_prefix(pattern),
                    token: short_prefix(token),
                    position: i + 1,
                    reason,
                });
            }
            tokens.push(match token {
                ONE if count == 1 => PatternToken::Rest, // `*` alone matches every topic
                ONE => PatternToken::One,
                REST => PatternToken::Rest,
                literal => PatternToken::Literal(literal.into()),
            });
        }
        Ok(Self {
            text: pattern.into(),
            tokens: tokens.into_boxed_slice(),
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the pattern has no wildcard, i.e. matches exactly one topic.
    pub fn is_exact(&self) -> bool {
        self.tokens
            .iter()
            .all(|t| matches!(t, PatternToken::Literal(_)))
    }

    pub(crate) fn tokens(&self) -> &[PatternToken] {
        &self.tokens
    }

    /// Whether `topic` matches this pattern. `topic` is assumed valid.
    pub fn matches(&self, topic: &str) -> bool {
        let mut parts = topic.split('.');
        for token in self.tokens.iter() {
            match (token, parts.next()) {
                (_, None) => return false,
                (PatternToken::Rest, Some(_)) => return true,
                (PatternToken::One, Some(_)) => {}
                (PatternToken::Literal(l), Some(part)) if **l == *part => {}
                (PatternToken::Literal(_), Some(_)) => return false,
            }
        }
        parts.next().is_none()
    }

    /// Whether every topic that `other` matches is matched by this pattern too: a grant of
    /// `self` allows a module that asks for `other`.
    ///
    /// ```
    /// use symphra::bus::Pattern;
    ///
    /// let orders = Pattern::parse("orders.>").unwrap();
    /// assert!(orders.covers(&Pattern::parse("orders.*.paid").unwrap()));
    /// assert!(!orders.covers(&Pattern::parse("orders").unwrap()));
    /// assert!(!Pattern::parse("orders.*").unwrap().covers(&orders));
    /// ```
    pub fn covers(&self, other: &Pattern) -> bool {
        let mut inner = other.tokens.iter();
        for token in self.tokens.iter() {
            match (token, inner.next()) {
                (_, None) => return false,
                // `>` takes one or more tokens: whatever `other` has left, of at least one.
                (PatternToken::Rest, Some(_)) => return true,
                (PatternToken::One, Some(PatternToken::Rest)) => return false,
                (PatternToken::One, Some(_)) => {}
                (PatternToken::Literal(l), Some(PatternToken::Literal(o))) if l == o => {}
                (PatternToken::Literal(_), Some(_)) => return false,
            }
        }
        inner.next().is_none()
    }
}

impl fmt::Debug for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pattern").field(&self.text).finish()
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Pattern {
    type Err = BusError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_topic(topic: &str) -> (String, usize) {
        match validate_topic(topic) {
            Err(BusError::InvalidTopic {
                token, position, ..
            }) => (token, position),
            other => panic!("expected InvalidTopic for {topic:?}, got {other:?}"),
        }
    }

    fn bad_pattern(pattern: &str) -> (String, usize) {
        match Pattern::parse(pattern) {
            Err(BusError::InvalidPattern {
                token, position, ..
            }) => (token, position),
            other => panic!("expected InvalidPattern for {pattern:?}, got {other:?}"),
        }
    }

    fn m(pattern: &str, topic: &str) -> bool {
        validate_topic(topic).unwrap();
        Pattern::parse(pattern).unwrap().matches(topic)
    }

    #[test]
    fn valid_topics() {
        for t in [
            "a",
            "user.created",
            "a.b.c.d",
            "foo*",
            "a.>b",
            "A.B",
            "ünï.cødé",
        ] {
            assert!(validate_topic(t).is_ok(), "{t}");
        }
    }

    #[test]
    fn invalid_topics_name_the_token() {
        assert_eq!(bad_topic(""), (String::new(), 1));
        assert_eq!(bad_topic("a..b"), (String::new(), 2));
        assert_eq!(bad_topic(".a"), (String::new(), 1));
        assert_eq!(bad_topic("a."), (String::new(), 2));
        assert_eq!(bad_topic("a.b c"), ("b c".into(), 2));
        assert_eq!(bad_topic("a.\tb"), ("\tb".into(), 2));
        assert_eq!(bad_topic("user.*"), ("*".into(), 2));
        assert_eq!(bad_topic(">"), (">".into(), 1));
        assert_eq!(bad_topic("a.>.b"), (">".into(), 2));
        let msg = validate_topic("user.*").unwrap_err().to_string();
        assert!(msg.contains("`*`") && msg.contains("user.*"), "{msg}");
    }

    #[test]
    fn invalid_patterns_name_the_token() {
        assert_eq!(bad_pattern(""), (String::new(), 1));
        assert_eq!(bad_pattern("a..b"), (String::new(), 2));
        assert_eq!(bad_pattern("a.>.b"), (">".into(), 2));
        assert_eq!(bad_pattern(">.a"), (">".into(), 1));
        assert_eq!(bad_pattern("a. b"), (" b".into(), 2));
        assert_eq!(bad_pattern("a.b\n"), ("b\n".into(), 2));
        let msg = Pattern::parse("a.>.b").unwrap_err().to_string();
        assert!(msg.contains("`>`") && msg.contains("last"), "{msg}");
    }

    #[test]
    fn covers_every_topic_the_other_matches() {
        let covers = |outer: &str, inner: &str| {
            Pattern::parse(outer)
                .unwrap()
                .covers(&Pattern::parse(inner).unwrap())
        };
        assert!(covers("a.>", "a.b"));
        assert!(covers("a.>", "a.*.c"));
        assert!(covers("a.>", "a.>"));
        assert!(!covers("a.>", "a"));
        assert!(!covers("a.*", "a.>"));
        assert!(covers("a.*", "a.*"));
        assert!(covers("a.*", "a.x"));
        assert!(!covers("a.b", "a.*"));
        assert!(covers("*", "anything.at.all"));
        assert!(!covers("ping.*", "*"));
        assert!(!covers("a.b", "a.b.c"));
        assert!(!covers("a.b", "a.c"), "a literal covers only itself");
        assert!(!covers("a.>", "b.*"));
    }

    #[test]
    fn star_alone_matches_everything() {
        for t in ["a", "a.b", "a.b.c.d.e"] {
            assert!(m("*", t), "{t}");
        }
        assert!(!Pattern::parse("*").unwrap().is_exact());
    }

    #[test]
    fn star_matches_exactly_one_token() {
        assert!(m("user.*", "user.a"));
        assert!(!m("user.*", "user"));
        assert!(!m("user.*", "user.a.b"));
        assert!(!m("user.*", "users.a"));
        assert!(m("*.created", "user.created"));
        assert!(!m("*.created", "created"));
        assert!(m("a.*.c", "a.b.c"));
        assert!(!m("a.*.c", "a.b.d"));
        assert!(m("*.*", "a.b"));
        assert!(!m("*.*", "a"));
    }

    #[test]
    fn rest_matches_one_or_more() {
        assert!(m("user.>", "user.a"));
        assert!(m("user.>", "user.a.b"));
        assert!(!m("user.>", "user"));
        assert!(m(">", "a"));
        assert!(m(">", "a.b.c"));
        assert!(m("a.*.>", "a.b.c"));
        assert!(!m("a.*.>", "a.b"));
    }

    #[test]
    fn literals_are_exact_and_case_sensitive() {
        assert!(m("user.created", "user.created"));
        assert!(!m("user.created", "User.created"));
        assert!(!m("user.created", "user.created.x"));
        assert!(!m("user.created", "user"));
        assert!(m("foo*", "foo*"));
        assert!(!m("foo*", "foobar"));
        assert!(Pattern::parse("a.b").unwrap().is_exact());
        assert!(!Pattern::parse("a.>").unwrap().is_exact());
    }
}
