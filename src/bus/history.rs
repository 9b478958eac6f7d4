//! History: a bounded record of recent events, queried by pattern and time range.

use std::collections::VecDeque;
use std::time::SystemTime;

use parking_lot::Mutex;

use super::error::BusError;
use super::event::Event;
use super::topic::Pattern;

/// A filter over the history. Every bound is optional; all given bounds must hold.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use symphra::bus::HistoryQuery;
///
/// let query = HistoryQuery::new()
///     .pattern("user.>")?
///     .since(SystemTime::now() - Duration::from_secs(60))
///     .limit(10);
/// # let _ = query;
/// # Ok::<(), symphra::bus::BusError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct HistoryQuery {
    pattern: Option<Pattern>,
    since: Option<SystemTime>,
    until: Option<SystemTime>,
    limit: Option<usize>,
}

impl HistoryQuery {
    /// Every recorded event.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only events whose topic matches `pattern`.
    ///
    /// # Errors
    /// [`BusError::InvalidPattern`] if the pattern is invalid.
    pub fn pattern(mut self, pattern: &str) -> Result<Self, BusError> {
        self.pattern = Some(Pattern::parse(pattern)?);
        Ok(self)
    }

    /// Only events created at or after `time`.
    pub fn since(mut self, time: SystemTime) -> Self {
        self.since = Some(time);
        self
    }

    /// Only events created at or before `time`.
    pub fn until(mut self, time: SystemTime) -> Self {
        self.until = Some(time);
        self
    }

    /// At most the `n` most recent matching events.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    fn admits(&self, event: &Event) -> bool {
        self.pattern
            .as_ref()
            .is_none_or(|p| p.matches(event.topic()))
            && self.since.is_none_or(|t| event.time() >= t)
            && self.until.is_none_or(|t| event.time() <= t)
    }
}

pub(crate) struct History {
    events: Mutex<VecDeque<Event>>,
    capacity: usize,
}

impl History {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            events: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            capacity,
        }
    }

    pub(crate) fn record(&self, event: &Event) {
        let evicted = {
            let mut events = self.events.lock();
            let evicted = if events.len() >= self.capacity {
                events.pop_front()
            } else {
                None
            };
            events.push_back(event.clone());
            evicted
        };
        // The evicted event may hold the last reference to a large payload: free it unlocked.
        drop(evicted);
    }

    /// The last `n` events, oldest first.
    pub(crate) fn recent(&self, n: usize) -> Vec<Event> {
        let events = self.events.lock();
        events
            .iter()
            .skip(events.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// The matching events, oldest first.
    pub(crate) fn query(&self, query: &HistoryQuery) -> Vec<Event> {
        let mut found: Vec<Event> = self
            .events
            .lock()
            .iter()
            .filter(|e| query.admits(e))
            .cloned()
            .collect();
        if let Some(limit) = query.limit {
            found.drain(..found.len().saturating_sub(limit));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(topic: &str, secs: u64) -> Event {
        Event::new(topic, secs)
            .unwrap()
            .with_time(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
    }

    fn topics(events: &[Event]) -> Vec<&str> {
        events.iter().map(Event::topic).collect()
    }

    #[test]
    fn keeps_only_the_most_recent() {
        let history = History::new(3);
        for (i, t) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            history.record(&at(t, i as u64));
        }
        assert_eq!(topics(&history.recent(10)), vec!["c", "d", "e"]);
        assert_eq!(topics(&history.recent(2)), vec!["d", "e"]);
        assert!(history.recent(0).is_empty());
    }

    #[test]
    fn query_by_pattern_and_time() {
        let history = History::new(100);
        for (t, s) in [
            ("user.a", 10),
            ("order.a", 20),
            ("user.b", 30),
            ("user.c.d", 40),
        ] {
            history.record(&at(t, s));
        }
        let secs = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let q = HistoryQuery::new().pattern("user.*").unwrap();
        assert_eq!(topics(&history.query(&q)), vec!["user.a", "user.b"]);
        let q = HistoryQuery::new()
            .pattern("user.>")
            .unwrap()
            .since(secs(20));
        assert_eq!(topics(&history.query(&q)), vec!["user.b", "user.c.d"]);
        let q = HistoryQuery::new().since(secs(20)).until(secs(30));
        assert_eq!(topics(&history.query(&q)), vec!["order.a", "user.b"]);
        let q = HistoryQuery::new().limit(1);
        assert_eq!(topics(&history.query(&q)), vec!["user.c.d"]);
        assert!(HistoryQuery::new().pattern("a..b").is_err());
    }
}
