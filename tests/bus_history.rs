//! Whether a bus keeps a history says what `recent` and `history` can return.

use symphra::bus::{EventBus, HistoryQuery};

#[tokio::test]
async fn a_bus_says_whether_it_records_history_and_records_only_then() {
    let plain = EventBus::new();
    assert!(!plain.records_history());
    plain.publish("t.a", 1_u8).await.unwrap();
    assert!(plain.recent(10).is_empty());
    assert!(plain.history(&HistoryQuery::new()).is_empty());

    let recording = EventBus::builder().history(2).build();
    assert!(recording.records_history());
    for n in 1_u8..=3 {
        recording.publish("t.a", n).await.unwrap();
    }
    let kept: Vec<u8> = recording
        .recent(10)
        .iter()
        .filter_map(|event| event.payload::<u8>().copied())
        .collect();
    assert_eq!(kept, [2, 3], "the last two, oldest first");
}
