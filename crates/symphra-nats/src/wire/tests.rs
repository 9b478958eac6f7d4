//! The wire format: headers written and read back, bodies and subjects, shared strings.

use super::*;
use serde_json::json;

fn encoder(max_payload: usize) -> Encoder {
    Encoder::new(Some("me"), Prefix::default(), max_payload)
}

#[test]
fn metadata_round_trips() {
    let time = UNIX_EPOCH + Duration::from_nanos(1_700_000_000_123_456_789);
    let event = Event::json("a.b", json!({"x": 1}))
        .unwrap()
        .with_source("orders")
        .with_time(time);
    let encoder = encoder(1024);
    let headers = encoder.headers(&event).unwrap();
    let meta = decode_headers(Some(&headers));
    assert_eq!(meta.origin, Some("me"));
    assert_eq!(meta.source, Some("orders"));
    assert_eq!(meta.time, Some(time));
    assert_eq!(
        headers.get(EVENT_HEADER).map(HeaderValue::as_str),
        Some(format!("me {} 1700000000123456789 orders", event.id().get()).as_str())
    );
    let spaced = event.clone().with_source("order desk");
    let headers = encoder.headers(&spaced).unwrap();
    assert_eq!(decode_headers(Some(&headers)).source, Some("order desk"));
    let broken = event.clone().with_source("a\r\nInjected: yes");
    let headers = encoder.headers(&broken).unwrap();
    assert_eq!(decode_headers(Some(&headers)).source, None);
    let bare = Event::json("a.b", json!(1)).unwrap();
    let headers = encoder.headers(&bare).unwrap();
    let meta = decode_headers(Some(&headers));
    assert_eq!((meta.origin, meta.source), (Some("me"), None));
    assert!(decode_headers(None).origin.is_none());
    let mut partial = HeaderMap::new();
    partial.insert(EVENT_HEADER, "them 7");
    let meta = decode_headers(Some(&partial));
    assert_eq!(
        (meta.origin, meta.time, meta.source),
        (Some("them"), None, None)
    );
    partial.insert(EVENT_HEADER, "them 7 12 the desk");
    let meta = decode_headers(Some(&partial));
    assert_eq!(meta.time, UNIX_EPOCH.checked_add(Duration::from_nanos(12)));
    assert_eq!(meta.source, Some("the desk"));
    let mut other = HeaderMap::new();
    other.insert("Other", "x y z");
    assert!(decode_headers(Some(&other)).origin.is_none());
}

#[test]
fn bodies_and_subjects() {
    let mut encoder = encoder(1024);
    let event = Event::json("a.b", json!({"x": 1})).unwrap();
    let first = encoder.encode(&event).ok().unwrap();
    assert_eq!(&first.body[..], br#"{"x":1}"#);
    assert_eq!(first.subject.as_str(), "a.b");
    // Bodies split off one buffer stay apart, and the subject follows the topic.
    let second = encoder
        .encode(&Event::json("c", json!("y")).unwrap())
        .ok()
        .unwrap();
    assert_eq!(
        (&first.body[..], &second.body[..]),
        (&br#"{"x":1}"#[..], &br#""y""#[..])
    );
    assert_eq!(second.subject.as_str(), "c");
    assert_eq!(encoder.encode(&event).ok().unwrap().subject.as_str(), "a.b");
    let big = Event::json("a.b", json!("z".repeat(4 * BODY_CHUNK))).unwrap();
    assert!(matches!(
        encoder.encode(&big),
        Err(EncodeError::TooLarge(n)) if n == 4 * BODY_CHUNK + 2
    ));
    assert!(matches!(
        encoder.encode(&Event::new("a.b", 5_u8).unwrap()),
        Err(EncodeError::NotJson(_))
    ));
    // Nothing of a refused body is left to be sent with the next one.
    let after = encoder.encode(&event).ok().unwrap();
    assert_eq!(&after.body[..], br#"{"x":1}"#);
    let typed = Event::serializable("a.b", vec![1_u8, 2]).unwrap();
    assert_eq!(&encoder.encode(&typed).ok().unwrap().body[..], b"[1,2]");
    let mut prefixed = Encoder::new(Some("me"), Prefix::new(Some("app")).unwrap(), 1024);
    assert_eq!(
        prefixed.encode(&event).ok().unwrap().subject.as_str(),
        "app.a.b"
    );
}

#[test]
fn interned_strings_are_shared() {
    let mut interned = Interned::default();
    let a = interned.get("x");
    let b = interned.get("x");
    assert!(Arc::ptr_eq(&a, &b));
    assert_eq!(&*interned.get("y"), "y");
}

#[test]
fn the_header_name_is_matched_whatever_its_case() {
    for name in ["symphra-event", "SYMPHRA-EVENT", "Symphra-event"] {
        let mut headers = HeaderMap::new();
        headers.insert(name, "them 7 12 desk");
        let meta = decode_headers(Some(&headers));
        assert_eq!(
            (meta.origin, meta.source),
            (Some("them"), Some("desk")),
            "{name}"
        );
    }
}

#[test]
fn the_size_limit_counts_the_header() {
    let time = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let event_of = |len: usize| {
        Event::json("a.b", json!("x".repeat(len)))
            .unwrap()
            .with_source("src")
            .with_time(time)
    };
    let mut encoder = encoder(1 << 20);
    let limit = 2048;
    // A string of `len` x's is `len + 2` bytes of JSON. Ids come from one counter shared by
    // the tests running beside this one: when it passes a power of ten between the probe and
    // the two events sized by it, the header grows a digit, and the three are made again.
    let sized = |encoder: &Encoder| {
        let probe = event_of(0);
        let header_len = encoder.headers_sized("me ", &probe).1;
        let fits = limit - header_len - 2;
        let (at, over) = (event_of(fits), event_of(fits + 1));
        let same_len = |e: &Event| encoder.headers_sized("me ", e).1 == header_len;
        (same_len(&at) && same_len(&over)).then_some((probe, header_len, at, over))
    };
    let (probe, header_len, at, over) = (0..10).find_map(|_| sized(&encoder)).unwrap();
    let (headers, _) = encoder.headers_sized("me ", &probe);
    let (name, values) = headers.iter().next().unwrap();
    let value = values.first().unwrap().as_str();
    let on_wire = format!(
        "NATS/1.0\r\n{}: {value}\r\n\r\n",
        AsRef::<str>::as_ref(name)
    );
    assert_eq!(header_len, on_wire.len());
    let message = encoder.encode_within(&at, limit).ok().unwrap();
    assert_eq!(message.body.len() + header_len, limit);
    assert!(matches!(
        encoder.encode_within(&over, limit),
        Err(EncodeError::TooLarge(n)) if n == limit - header_len + 1
    ));
    // The bridge's own `max_payload` holds too when the server allows more.
    let mut small = Encoder::new(Some("me"), Prefix::default(), limit);
    assert!(small.encode_within(&at, 1 << 20).is_ok());
    assert!(small.encode_within(&over, 1 << 20).is_err());
}

#[test]
fn without_metadata_the_body_is_the_whole_message() {
    let mut plain = Encoder::new(None, Prefix::default(), 1024);
    let event = Event::json("a.b", json!({"x": 1}))
        .unwrap()
        .with_source("orders");
    let message = plain.encode(&event).ok().unwrap();
    assert!(message.headers.is_none());
    assert!(plain.headers(&event).is_none());
    assert_eq!(&message.body[..], br#"{"x":1}"#);
    // No header to count: the whole limit is the body's.
    let at = Event::json("a.b", json!("x".repeat(1022))).unwrap();
    assert_eq!(plain.encode(&at).ok().unwrap().body.len(), 1024);
    let over = Event::json("a.b", json!("x".repeat(1023))).unwrap();
    assert!(matches!(
        plain.encode(&over),
        Err(EncodeError::TooLarge(1025))
    ));
}
