//! What an event looks like on the wire: the JSON form of its payload as the message body,
//! and its metadata in NATS headers.
//!
//! | header | value |
//! | --- | --- |
//! | `Symphra-Origin` | the sending bridge ([`NatsBridge::origin`](crate::NatsBridge::origin)) |
//! | `Symphra-Id` | the event's id in the sending process |
//! | `Symphra-Time` | the event's creation time, in nanoseconds since the Unix epoch |
//! | `Symphra-Source` | the module that published it, if it said |
//!
//! Messages from other NATS clients need no headers: their body must be JSON, and they are
//! published on the bus with the origin `nats`.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::{HeaderMap, HeaderName, HeaderValue};
use bytes::Bytes;
use symphra::bus::Event;

/// The header naming the bridge that sent an event.
pub const ORIGIN_HEADER: &str = "Symphra-Origin";
/// The header with the event's id in the sending process.
pub const ID_HEADER: &str = "Symphra-Id";
/// The header with the event's time, in nanoseconds since the Unix epoch.
pub const TIME_HEADER: &str = "Symphra-Time";
/// The header with the event's source module.
pub const SOURCE_HEADER: &str = "Symphra-Source";
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

/// What every sent message's headers share: the names (built once; cloning one is a
/// reference count) and this bridge's origin.
pub(crate) struct HeaderTemplate {
    origin_name: HeaderName,
    id_name: HeaderName,
    time_name: HeaderName,
    source_name: HeaderName,
    origin: HeaderValue,
}

impl HeaderTemplate {
    pub(crate) fn new(origin: &str) -> Self {
        let name = async_nats::header::IntoHeaderName::into_header_name;
        Self {
            origin_name: name(ORIGIN_HEADER),
            id_name: name(ID_HEADER),
            time_name: name(TIME_HEADER),
            source_name: name(SOURCE_HEADER),
            origin: HeaderValue::from(origin),
        }
    }

    /// The headers of `event`.
    pub(crate) fn encode(&self, event: &Event) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(self.origin_name.clone(), self.origin.clone());
        headers.insert(self.id_name.clone(), HeaderValue::from(event.id().get()));
        headers.insert(
            self.time_name.clone(),
            HeaderValue::from(nanos_since_epoch(event.time())),
        );
        if let Some(Ok(value)) = event.source().map(str::parse::<HeaderValue>) {
            headers.insert(self.source_name.clone(), value);
        }
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
    let Some(headers) = headers else {
        return Metadata::default();
    };
    Metadata {
        origin: headers.get(ORIGIN_HEADER).map(HeaderValue::as_str),
        source: headers.get(SOURCE_HEADER).map(HeaderValue::as_str),
        time: headers
            .get(TIME_HEADER)
            .and_then(|v| v.as_str().parse::<u64>().ok())
            .and_then(|nanos| UNIX_EPOCH.checked_add(Duration::from_nanos(nanos))),
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
            headers.get(ID_HEADER).map(HeaderValue::as_str),
            Some(event.id().get().to_string().as_str())
        );
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
