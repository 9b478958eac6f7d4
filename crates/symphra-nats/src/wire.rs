//! What an event looks like on the wire: the JSON form of its payload as the message body,
//! and, if the sending bridge is built with [`metadata`](crate::BridgeConfig::metadata) on,
//! its metadata in one NATS header, [`EVENT_HEADER`] (`Symphra-Event`), whose value is
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
//! and about half as many with this one; counted with callgrind, one 16-byte message costs
//! the client about 4,900 instructions without a header and 14,500 with this one.
//!
//! Messages from other NATS clients need no headers: their body must be JSON, and they are
//! published on the bus with the origin `nats`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{HeaderMap, HeaderName, HeaderValue, Subject};
use bytes::{BufMut, Bytes, BytesMut};
use symphra::bus::Event;

use crate::subject::Prefix;

/// The header that carries an event's metadata.
pub const EVENT_HEADER: &str = "Symphra-Event";
/// The origin given to imported messages that carry no origin header.
pub const FOREIGN_ORIGIN: &str = "nats";

/// [`EVENT_HEADER`] as the client's type; a static name costs no allocation to build or clone.
fn event_header_name() -> HeaderName {
    HeaderName::from_static(EVENT_HEADER)
}

/// Why an event cannot be sent.
pub(crate) enum EncodeError {
    NotJson(symphra::bus::BusError),
    TooLarge(usize),
}

/// One event as a NATS message.
pub(crate) struct Outbound {
    pub(crate) subject: Subject,
    /// The metadata header, if the bridge sends it.
    pub(crate) headers: Option<HeaderMap>,
    pub(crate) body: Bytes,
}

/// The bytes of a one-header block besides the name and value: `NATS/1.0\r\n`, `: `, the
/// line's `\r\n` and the block's closing `\r\n`.
const HEADER_FRAMING: usize = 10 + 2 + 2 + 2;

/// How much body space is set aside at a time: bodies are split off one shared allocation
/// rather than each allocating its own.
const BODY_CHUNK: usize = 64 * 1024;

/// Turns local events into NATS messages, keeping between events what can be reused: the
/// start of the header value, the subject of the last topic, and the space bodies are
/// written to.
pub(crate) struct Encoder {
    name: HeaderName,
    /// This bridge's origin and a space, with which every header value starts; `None` if
    /// events are sent without the header.
    origin: Option<String>,
    prefix: Prefix,
    max_payload: usize,
    bodies: BytesMut,
    last_subject: Option<(Box<str>, Subject)>,
}

impl Encoder {
    /// An encoder for a bridge named `origin`, or one that sends no metadata header (`None`).
    pub(crate) fn new(origin: Option<&str>, prefix: Prefix, max_payload: usize) -> Self {
        let origin = origin.map(|origin| {
            let mut start = origin.replace(char::is_whitespace, "_");
            start.push(' ');
            start
        });
        Self {
            name: event_header_name(),
            origin,
            prefix,
            max_payload,
            bodies: BytesMut::new(),
            last_subject: None,
        }
    }

    /// The message for `event`, within the configured `max_payload`.
    #[cfg(test)]
    pub(crate) fn encode(&mut self, event: &Event) -> Result<Outbound, EncodeError> {
        self.encode_within(event, self.max_payload)
    }

    /// The message for `event`, if its headers and body together (what the server counts
    /// against its `max_payload`) fit in `limit` and in the configured `max_payload`.
    pub(crate) fn encode_within(
        &mut self,
        event: &Event,
        limit: usize,
    ) -> Result<Outbound, EncodeError> {
        let (headers, header_len) = match &self.origin {
            Some(origin) => {
                let (headers, len) = self.headers_sized(origin, event);
                (Some(headers), len)
            }
            None => (None, 0),
        };
        let body = self.body(
            event,
            limit.min(self.max_payload).saturating_sub(header_len),
        )?;
        Ok(Outbound {
            subject: self.subject(event.topic()),
            headers,
            body,
        })
    }

    fn subject(&mut self, topic: &str) -> Subject {
        match &self.last_subject {
            Some((last, subject)) if **last == *topic => subject.clone(),
            _ => {
                let subject = Subject::from(self.prefix.subject_for_topic(topic));
                self.last_subject = Some((topic.into(), subject.clone()));
                subject
            }
        }
    }

    /// The body: the payload's JSON form, split off the shared body space; at most `max` bytes.
    fn body(&mut self, event: &Event, max: usize) -> Result<Bytes, EncodeError> {
        if self.bodies.capacity() < BODY_CHUNK / 16 {
            self.bodies.reserve(BODY_CHUNK);
        }
        let json_error = |source| {
            EncodeError::NotJson(symphra::bus::BusError::Json {
                topic: event.topic().to_owned(),
                target: "JSON bytes",
                source,
            })
        };
        let written = match event.json_value() {
            Some(value) => serde_json::to_writer((&mut self.bodies).writer(), value),
            None => {
                let value = event.to_json().map_err(EncodeError::NotJson)?;
                serde_json::to_writer((&mut self.bodies).writer(), &value)
            }
        };
        let len = self.bodies.len();
        if let Err(source) = written {
            self.bodies.clear();
            return Err(json_error(source));
        }
        if len > max {
            self.bodies.clear();
            return Err(EncodeError::TooLarge(len));
        }
        Ok(self.bodies.split().freeze())
    }

    /// The headers: one, [`EVENT_HEADER`] (none if the encoder sends no metadata).
    #[cfg(test)]
    fn headers(&self, event: &Event) -> Option<HeaderMap> {
        let origin = self.origin.as_deref()?;
        Some(self.headers_sized(origin, event).0)
    }

    /// The headers of a bridge whose origin (and a space) is `origin`, and their length on
    /// the wire (`NATS/1.0\r\n`, `name: value\r\n`, `\r\n`).
    fn headers_sized(&self, origin: &str, event: &Event) -> (HeaderMap, usize) {
        let source = event.source().filter(|s| !s.contains(['\r', '\n']));
        let mut id = itoa::Buffer::new();
        let id = id.format(event.id().get());
        let mut time = itoa::Buffer::new();
        let time = time.format(nanos_since_epoch(event.time()));
        let mut value = String::with_capacity(
            origin.len() + id.len() + 1 + time.len() + source.map_or(0, |s| s.len() + 1),
        );
        value.push_str(origin);
        value.push_str(id);
        value.push(' ');
        value.push_str(time);
        if let Some(source) = source {
            value.push(' ');
            value.push_str(source);
        }
        let wire_len = HEADER_FRAMING + EVENT_HEADER.len() + value.len();
        let mut headers = HeaderMap::new();
        // Cannot panic: the origin has no control characters (see `make_origin`), the numbers
        // are digits, and a source with a line break is left out.
        headers.insert(self.name.clone(), HeaderValue::from(value));
        (headers, wire_len)
    }
}

fn nanos_since_epoch(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The metadata read from a received message's headers.
#[derive(Debug, Default)]
pub(crate) struct Metadata<'a> {
    pub(crate) origin: Option<&'a str>,
    pub(crate) source: Option<&'a str>,
    pub(crate) time: Option<SystemTime>,
}

pub(crate) fn decode_headers(headers: Option<&HeaderMap>) -> Metadata<'_> {
    // A scan of the (one or few) headers: `HeaderMap::get` would hash and allocate the name.
    // Header names are case-insensitive (as in HTTP; `nats-py` and the `nats` CLI keep the case
    // they are given).
    let Some(value) = headers.and_then(|h| {
        h.iter()
            .find(|(n, _)| AsRef::<str>::as_ref(*n).eq_ignore_ascii_case(EVENT_HEADER))
            .and_then(|(_, values)| values.first())
    }) else {
        return Metadata::default();
    };
    let (origin, rest) = first_field(value.as_str());
    let (time, source) = match rest.map(first_field) {
        Some((_id, Some(rest))) => {
            let (time, source) = first_field(rest);
            (Some(time), source)
        }
        _ => (None, None),
    };
    let time = time
        .and_then(|t| t.parse::<u64>().ok())
        .and_then(|nanos| UNIX_EPOCH.checked_add(Duration::from_nanos(nanos)));
    Metadata {
        origin: Some(origin).filter(|s| !s.is_empty()),
        source: source.filter(|s| !s.is_empty()),
        time,
    }
}

/// The text before the first space, and what follows that space (`None` without one).
fn first_field(text: &str) -> (&str, Option<&str>) {
    match text.bytes().position(|b| b == b' ') {
        // A space is one byte, so both sides are on character boundaries.
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
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
mod tests;
