//! What an event looks like on the wire: the JSON form of its payload as the message body,
//! and its metadata in one NATS header, [`EVENT_HEADER`] (`Symphra-Event`), whose value is
//! space-separated fields:
//!
//! ```text
//! Symphra-Event: <origin> <id> <time> [<source>]
//! ```
//!
//! | field | value |
//! | --- | --- |
//! | origin | the sending bridge ([`NatsBridge::origin`](crate::NatsBridge::origin)), no spaces |
//! | id | the event's id in the sending process |
//! | time | the event's creation time, in nanoseconds since the Unix epoch |
//! | source | the module that published it, if it said (the rest of the value) |
//!
//! One header rather than one per field: each header costs the NATS client a map entry and
//! allocations on both sides. In `benches/bridge.rs` on a 2-core machine, the raw client
//! sent about a quarter as many 16-byte messages per second with four headers as with none,
//! and about half as many with this one.
//!
//! Messages from other NATS clients need no headers: their body must be JSON, and they are
//! published on the bus with the origin `nats`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use symphra::bus::Event;

/// The header that carries an event's metadata.
pub const EVENT_HEADER: &str = "Symphra-Event";
/// The origin given to imported messages that carry no origin header.
pub const FOREIGN_ORIGIN: &str = "nats";

/// Why an event cannot be sent.
pub(crate) enum EncodeError {
    NotJson(symphra::bus::BusError),
    TooLarge(usize),
}

/// The body of an event: its payload's JSON form.
pub(crate) fn encode_body(event: &Event, max_payload: usize) -> Result<Bytes, EncodeError> {
    let body = match event.json_value() {
        Some(value) => serde_json::to_vec(value),
        None => serde_json::to_vec(&event.to_json().map_err(EncodeError::NotJson)?),
    }
    .map_err(|source| {
        EncodeError::NotJson(symphra::bus::BusError::Json {
            topic: event.topic().to_owned(),
            target: "JSON bytes",
            source,
        })
    })?;
    if body.len() > max_payload {
        return Err(EncodeError::TooLarge(body.len()));
    }
    Ok(Bytes::from(body))
}

fn nanos_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// What every sent message's header shares: its name (built once; cloning it is a reference
/// count) and this bridge's origin.
pub(crate) struct HeaderTemplate {
    name: HeaderName,
    origin: String,
}

impl HeaderTemplate {
    pub(crate) fn new(origin: &str) -> Self {
        Self {
            name: async_nats::header::IntoHeaderName::into_header_name(EVENT_HEADER),
            origin: origin.replace(char::is_whitespace, "_"),
        }
    }

    /// The headers of `event`.
    pub(crate) fn encode(&self, event: &Event) -> HeaderMap {
        use std::fmt::Write;
        let source = event.source().filter(|s| !s.contains(['\r', '\n']));
        let mut value = String::with_capacity(self.origin.len() + 42 + source.map_or(0, str::len));
        let _ = write!(
            value,
            "{} {} {}",
            self.origin,
            event.id().get(),
            nanos_since_epoch(event.time())
        );
        if let Some(source) = source {
            value.push(' ');
            value.push_str(source);
        }
        let mut headers = HeaderMap::new();
        headers.insert(self.name.clone(), HeaderValue::from(value));
        headers
    }
}

/// The metadata read from a received message's headers.
#[derive(Debug, Default)]
pub(crate) struct Metadata<'a> {
    pub(crate) origin: Option<&'a str>,
    pub(crate) source: Option<&'a str>,
    pub(crate) time: Option<SystemTime>,
}

pub(crate) fn decode_headers(headers: Option<&HeaderMap>) -> Metadata<'_> {
    let Some(value) = headers.and_then(|h| h.get(EVENT_HEADER)) else {
        return Metadata::default();
    };
    let mut fields = value.as_str().splitn(4, ' ');
    let origin = fields.next().filter(|s| !s.is_empty());
    let _id = fields.next();
    let time = fields
        .next()
        .and_then(|t| t.parse::<u64>().ok())
        .and_then(|nanos| UNIX_EPOCH.checked_add(Duration::from_nanos(nanos)));
    let source = fields.next().filter(|s| !s.is_empty());
    Metadata {
        origin,
        source,
        time,
    }
}

/// Keeps the last string seen as an `Arc<str>`, so that a stream of events from one origin
/// or source shares one allocation.
#[derive(Debug, Default)]
pub(crate) struct Interned(Option<Arc<str>>);

impl Interned {
    pub(crate) fn get(&mut self, text: &str) -> Arc<str> {
        match &self.0 {
            Some(last) if **last == *text => last.clone(),
            _ => {
                let fresh: Arc<str> = text.into();
                self.0 = Some(fresh.clone());
                fresh
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn metadata_round_trips() {
        let time = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
        let event = Event::json("a.b", json!({"x": 1}))
            .unwrap()
            .with_source("orders")
            .with_time(time);
        let headers = HeaderTemplate::new("me").encode(&event);
        let meta = decode_headers(Some(&headers));
        assert_eq!(meta.origin, Some("me"));
        assert_eq!(meta.source, Some("orders"));
        assert_eq!(meta.time, Some(time));
        assert_eq!(
            headers.get(EVENT_HEADER).map(HeaderValue::as_str),
            Some(format!("me {} 1700000000123456789 orders", event.id().get()).as_str())
        );
        let spaced = event.clone().with_source("order desk");
        let headers = HeaderTemplate::new("me").encode(&spaced);
        assert_eq!(decode_headers(Some(&headers)).source, Some("order desk"));
        let bare = Event::json("a.b", json!(1)).unwrap();
        let headers = HeaderTemplate::new("me").encode(&bare);
        let meta = decode_headers(Some(&headers));
        assert_eq!((meta.origin, meta.source), (Some("me"), None));
        assert!(decode_headers(None).origin.is_none());
        let body = encode_body(&event, 1024).ok().unwrap();
        assert_eq!(&body[..], br#"{"x":1}"#);
        assert!(matches!(
            encode_body(&event, 3),
            Err(EncodeError::TooLarge(7))
        ));
        let opaque = Event::new("a.b", 5_u8).unwrap();
        assert!(matches!(
            encode_body(&opaque, 1024),
            Err(EncodeError::NotJson(_))
        ));
    }

    #[test]
    fn interned_strings_are_shared() {
        let mut interned = Interned::default();
        let a = interned.get("x");
        let b = interned.get("x");
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(&*interned.get("y"), "y");
    }
}
