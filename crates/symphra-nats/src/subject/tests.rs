//! Topics and patterns mapped to subjects, with and without a prefix.

use super::*;

fn pattern(p: &str) -> Pattern {
    Pattern::parse(p).unwrap()
}

#[test]
fn patterns_map_one_to_one() {
    let none = Prefix::new(None).unwrap();
    assert_eq!(none.subject_for_pattern(&pattern("user.*")), "user.*");
    assert_eq!(none.subject_for_pattern(&pattern("user.>")), "user.>");
    assert_eq!(none.subject_for_pattern(&pattern("*")), ">");
    assert_eq!(none.subject_for_pattern(&pattern("a.b")), "a.b");
    assert_eq!(none.subject_for_topic("a.b"), "a.b");
    assert_eq!(none.topic_for_subject("a.b").unwrap(), "a.b");
}

#[test]
fn prefix_isolates() {
    let app = Prefix::new(Some("app.prod")).unwrap();
    assert_eq!(app.subject_for_pattern(&pattern("*")), "app.prod.>");
    assert_eq!(
        app.subject_for_pattern(&pattern("user.*")),
        "app.prod.user.*"
    );
    assert_eq!(
        app.subject_for_topic("user.created"),
        "app.prod.user.created"
    );
    assert_eq!(
        app.topic_for_subject("app.prod.user.created").unwrap(),
        "user.created"
    );
    assert!(Prefix::new(Some("")).unwrap().0.is_empty());
}

#[test]
fn bad_prefixes_are_rejected() {
    for bad in ["a..b", "a.*", ">", "a b", ".a"] {
        assert!(
            matches!(
                Prefix::new(Some(bad)),
                Err(BridgeError::InvalidPrefix { .. })
            ),
            "{bad}"
        );
    }
}
