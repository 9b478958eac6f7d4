use super::*;

/// Whether a module granted `outer` may subscribe to `inner`.
fn pattern_covers(outer: &str, inner: &str) -> bool {
    let granted = Capabilities {
        subscribe: vec![Pattern::parse(outer).unwrap()],
        ..Capabilities::default()
    };
    granted.may_subscribe(inner)
}

#[test]
fn covers() {
    assert!(pattern_covers("a.>", "a.b"));
    assert!(pattern_covers("a.>", "a.*.c"));
    assert!(pattern_covers("a.>", "a.>"));
    assert!(!pattern_covers("a.>", "a"));
    assert!(!pattern_covers("a.*", "a.>"));
    assert!(pattern_covers("a.*", "a.*"));
    assert!(pattern_covers("a.*", "a.x"));
    assert!(!pattern_covers("a.b", "a.*"));
    assert!(pattern_covers("*", "anything.at.all"));
    assert!(!pattern_covers("ping.*", "*"));
    assert!(
        !pattern_covers("a.>", "a..b"),
        "an invalid pattern is never granted"
    );
}

#[test]
fn bad_field_names_line_and_field() {
    let text = "name = \"x\"\nversion = \"1.0.0\"\n[capabilities]\nmemory-limit = \"12 parsecs\"\n";
    let error = Manifest::parse(text, "m/module.toml").unwrap_err();
    assert_eq!(error.line, Some(4));
    assert_eq!(error.field.as_deref(), Some("capabilities.memory-limit"));
    assert!(error.to_string().starts_with("m/module.toml:4:"), "{error}");

    let text = "name = \"x\"\nversion = 3\n";
    let error = Manifest::parse(text, "m/module.toml").unwrap_err();
    assert_eq!(error.line, Some(2));
    assert_eq!(error.field.as_deref(), Some("version"), "{error}");

    let text = "name = \"x\"\nversion = \"1.0.0\"\nauthor = \"me\"\n";
    let error = Manifest::parse(text, "m/module.toml").unwrap_err();
    assert_eq!(error.line, Some(3), "{error}");
    assert!(error.message.contains("author"), "{error}");

    let text = "name = \"x\"\nversion = \"1.0\"\n";
    let error = Manifest::parse(text, "m/module.toml").unwrap_err();
    assert_eq!(error.field.as_deref(), Some("version"), "{error}");
}

#[test]
fn durations_and_sizes() {
    assert_eq!(hook_timeout("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(hook_timeout("2s"), Ok(Duration::from_secs(2)));
    assert!(hook_timeout("soon").is_err());
    // The core's grammar: fractions and plain seconds.
    assert_eq!(hook_timeout("1.5s"), Ok(Duration::from_millis(1500)));
    assert_eq!(hook_timeout("3"), Ok(Duration::from_secs(3)));
    // A hook needs some time.
    assert!(hook_timeout("0s").unwrap_err().contains("zero"));
    assert!(hook_timeout("0").is_err());
    assert_eq!(parse_bytes("2 MiB"), Ok(2 * 1024 * 1024));
    assert_eq!(parse_bytes("4096"), Ok(4096));
}
