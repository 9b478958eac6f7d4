//! Topics and patterns of the bus mapped one to one onto NATS subjects.
//!
//! Bus topics and patterns already follow the NATS conventions (`*` one token, a final `>`
//! one or more); the only difference is the bus's bare `*`, which matches every topic and so
//! becomes `>`. A prefix, when set, is put in front of every subject and taken off again on
//! the way in, so that applications sharing a server do not see each other's events.

use symphra::bus::{BusError, Pattern, validate_topic};

use crate::error::BridgeError;

/// The subject prefix, validated, with its trailing dot (`"app."`), or empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Prefix(String);

impl Prefix {
    pub(crate) fn new(prefix: Option<&str>) -> Result<Self, BridgeError> {
        let Some(prefix) = prefix.filter(|p| !p.is_empty()) else {
            return Ok(Self::default());
        };
        let invalid = |reason| BridgeError::InvalidPrefix {
            prefix: prefix.to_owned(),
            reason,
        };
        for token in prefix.split('.') {
            if token.is_empty() {
                return Err(invalid("it has an empty token"));
            }
            if token == "*" || token == ">" {
                return Err(invalid("it has a wildcard"));
            }
            if token.chars().any(char::is_whitespace) {
                return Err(invalid("it has whitespace"));
            }
        }
        Ok(Self(format!("{prefix}.")))
    }

    /// The NATS subject for a bus pattern (or topic).
    pub(crate) fn subject_for_pattern(&self, pattern: &Pattern) -> String {
        let text = pattern.as_str();
        let text = if text == "*" { ">" } else { text };
        format!("{}{text}", self.0)
    }

    /// The NATS subject for a (valid) topic.
    pub(crate) fn subject_for_topic(&self, topic: &str) -> String {
        if self.0.is_empty() {
            topic.to_owned()
        } else {
            let mut subject = String::with_capacity(self.0.len() + topic.len());
            subject.push_str(&self.0);
            subject.push_str(topic);
            subject
        }
    }

    /// The bus topic for a received subject, or why there is none.
    pub(crate) fn topic_for_subject<'a>(&self, subject: &'a str) -> Result<&'a str, BusError> {
        let topic = self.strip(subject);
        validate_topic(topic)?;
        Ok(topic)
    }

    /// `subject` without the prefix, unchecked: for a subject already found to be a topic.
    pub(crate) fn strip<'a>(&self, subject: &'a str) -> &'a str {
        subject.strip_prefix(self.0.as_str()).unwrap_or(subject)
    }
}

#[cfg(test)]
mod tests;
