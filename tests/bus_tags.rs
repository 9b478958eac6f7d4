//! Tags group subscriptions: removing one of a group on its own leaves the rest of the
//! group to its tag.

use symphra::bus::{Event, EventBus, SubscribeOptions};

#[tokio::test]
async fn a_tagged_subscription_removed_on_its_own_leaves_the_others_to_the_tag() {
    let bus = EventBus::new();
    let tagged = || SubscribeOptions::new().tag("group");
    let first = bus.subscribe_with("t.a", tagged(), |_: &Event| {}).unwrap();
    let second = bus.subscribe_with("t.b", tagged(), |_: &Event| {}).unwrap();
    let third = bus.subscribe_with("t.c", tagged(), |_: &Event| {}).unwrap();

    assert!(second.unsubscribe());
    assert_eq!(bus.unsubscribe_tag("group"), 2, "the two still subscribed");
    assert!(!first.is_active() && !third.is_active());
    assert!(!bus.has_subscribers("t.a") && !bus.has_subscribers("t.c"));
    assert_eq!(bus.stats().subscriptions, 0);
    assert_eq!(bus.unsubscribe_tag("group"), 0);
}
