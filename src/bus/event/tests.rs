//! Unit tests of events: shared payloads, JSON forms, topics, ids and metadata.

use super::*;
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Order {
    id: u32,
    item: String,
}

#[test]
fn in_process_payload_is_shared_not_copied() {
    let event = Event::new("a.b", vec![1, 2, 3]).unwrap();
    let copy = event.clone();
    let a: *const Vec<i32> = event.payload::<Vec<i32>>().unwrap();
    let b: *const Vec<i32> = copy.payload::<Vec<i32>>().unwrap();
    assert_eq!(a, b);
    assert_eq!(event.id(), copy.id());
    assert!(!event.has_json());
    assert!(matches!(event.to_json(), Err(BusError::NotJson { .. })));
    assert!(event.payload_type_name().contains("Vec"));
}

#[test]
fn the_payload_is_changed_in_place_only_when_no_copy_shares_it() {
    let mut event = Event::new("a.b", 1_u32).unwrap();
    *event.payload_mut::<u32>().unwrap() = 2;
    assert_eq!(event.payload::<u32>(), Some(&2));
    assert!(event.payload_mut::<u64>().is_none(), "another type");
    let copy = event.clone();
    assert!(event.payload_mut::<u32>().is_none(), "a copy shares it");
    drop(copy);
    assert!(event.payload_mut::<u32>().is_some());
}

#[test]
fn a_json_payload_and_a_serializable_one_both_have_a_json_form() {
    let json = Event::json("a.b", json!({"n": 1})).unwrap();
    assert!(json.has_json(), "a JSON value is its own form");
    let typed = Event::serializable(
        "a.b",
        Order {
            id: 2,
            item: "y".into(),
        },
    )
    .unwrap();
    assert!(typed.has_json(), "a Serialize payload has one");
    assert!(!Event::new("a.b", 3_u8).unwrap().has_json());
}

#[test]
fn invalid_topic_is_rejected() {
    assert!(matches!(
        Event::new("a.*", ()),
        Err(BusError::InvalidTopic { .. })
    ));
    assert!(Event::json("", json!(1)).is_err());
}

#[test]
fn ids_increase_and_metadata_is_kept() {
    let before = SystemTime::now();
    let a = Event::new("t", ()).unwrap();
    let b = Event::new("t", ()).unwrap().with_source("db");
    assert!(b.id() > a.id());
    assert_eq!(a.source(), None);
    assert_eq!(b.source(), Some("db"));
    assert!(b.time() >= before);
    assert_eq!(b.origin(), None);
    assert_eq!(b.with_origin("peer").origin(), Some("peer"));
}

#[test]
fn json_payload_reads_as_typed_value() {
    let event = Event::json("orders.new", json!({"id": 7, "item": "tea"})).unwrap();
    assert_eq!(event.json_value(), Some(&json!({"id": 7, "item": "tea"})));
    let order: Order = event.deserialize().unwrap();
    assert_eq!(
        order,
        Order {
            id: 7,
            item: "tea".into()
        }
    );
    let err = event.deserialize::<Vec<u8>>().unwrap_err();
    assert!(matches!(err, BusError::Json { .. }), "{err}");
}

#[test]
fn serializable_payload_has_both_forms() {
    let event = Event::serializable(
        "orders.new",
        Order {
            id: 1,
            item: "x".into(),
        },
    )
    .unwrap();
    assert_eq!(event.payload::<Order>().map(|o| o.id), Some(1));
    assert_eq!(event.to_json().unwrap(), json!({"id": 1, "item": "x"}));
    assert_eq!(event.deserialize::<Order>().unwrap().item, "x");
    let exported = serde_json::to_value(&event).unwrap();
    assert_eq!(exported["topic"], "orders.new");
    assert_eq!(exported["payload"]["item"], "x");
    assert!(exported["time_ms"].as_u64().unwrap() > 0);
}
