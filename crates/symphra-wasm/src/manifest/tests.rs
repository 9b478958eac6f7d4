use super::*;
use crate::manifest::size::parse_bytes;
use symphra::bus::Pattern;

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
    assert!(hook_timeout("0s").unwrap_err().1.contains("zero"));
    assert!(hook_timeout("0").is_err());
    assert_eq!(parse_bytes("2 MiB"), Ok(2 * 1024 * 1024));
    assert_eq!(parse_bytes("4096"), Ok(4096));
}

const HEAD: &str = "name = \"x\"\nversion = \"1.0.0\"\n";

/// Parses `HEAD` followed by `[restart]` and `table`.
fn restart(table: &str) -> Result<Option<RestartPolicy>, ManifestError> {
    Manifest::parse(&format!("{HEAD}[restart]\n{table}"), "m/module.toml").map(|m| m.restart)
}

#[test]
fn restart_table() {
    use symphra::supervision::Restart;

    let policy = restart(
        "policy = \"on-failure\"\nmax-restarts = 5\nwithin = \"60s\"\nbackoff = \"100ms\"\n\
         backoff-max = \"10s\"\nstable-after = \"30s\"\njitter = false\n",
    )
    .unwrap()
    .unwrap();
    assert_eq!(policy.restart(), Restart::OnFailure);
    assert_eq!(policy.max_restarts(), 5);
    assert_eq!(policy.within(), Duration::from_secs(60));
    assert_eq!(
        policy.backoff_range(),
        (Duration::from_millis(100), Duration::from_secs(10))
    );
    assert_eq!(policy.stable_period(), Duration::from_secs(30));
    assert!(!policy.has_jitter());
    assert_eq!(
        describe_restart(&policy),
        "on-failure, at most 5 within 60s, backoff 100ms..10s, stable after 30s"
    );

    // Left out: the core's defaults; the metadata carries the policy.
    let manifest = Manifest::parse(
        &format!("{HEAD}[restart]\npolicy = \"always\"\n"),
        "m/module.toml",
    )
    .unwrap();
    let expected = RestartPolicy::new(Restart::Always);
    assert_eq!(manifest.restart.as_ref(), Some(&expected));
    assert_eq!(manifest.metadata().get_restart(), Some(&expected));

    // No table: never restarted, no policy in the metadata.
    let manifest = Manifest::parse(HEAD, "m/module.toml").unwrap();
    assert!(manifest.restart.is_none());
    assert!(manifest.metadata().get_restart().is_none());
}

#[test]
fn restart_table_errors_name_line_and_field() {
    // (the table's lines after `[restart]`, the field blamed, its line, words of the message)
    let cases: &[(&str, &str, usize, &str)] = &[
        ("max-restarts = 3\n", "restart.policy", 3, "missing"),
        (
            "policy = \"sometimes\"\n",
            "restart.policy",
            4,
            "not a policy",
        ),
        ("policy = 1\n", "restart.policy", 4, "string"),
        (
            "policy = \"on-failure\"\nmax-restarts = -1\n",
            "restart.max-restarts",
            5,
            "whole number",
        ),
        (
            "policy = \"on-failure\"\nmax-restarts = \"five\"\n",
            "restart.max-restarts",
            5,
            "invalid type",
        ),
        (
            "policy = \"on-failure\"\nwithin = \"a while\"\n",
            "restart.within",
            5,
            "not a duration",
        ),
        (
            "policy = \"on-failure\"\nwithin = \"0s\"\n",
            "restart.within",
            5,
            "zero",
        ),
        (
            "policy = \"on-failure\"\nbackoff = \"soon\"\n",
            "restart.backoff",
            5,
            "not a duration",
        ),
        (
            "policy = \"on-failure\"\nbackoff-max = \"later\"\n",
            "restart.backoff-max",
            5,
            "not a duration",
        ),
        (
            "policy = \"on-failure\"\nbackoff = \"2s\"\nbackoff-max = \"1s\"\n",
            "restart.backoff-max",
            6,
            "shorter",
        ),
        (
            "policy = \"on-failure\"\nstable-after = \"-3s\"\n",
            "restart.stable-after",
            5,
            "duration",
        ),
        (
            "policy = \"on-failure\"\njitter = \"yes\"\n",
            "restart.jitter",
            5,
            "bool",
        ),
    ];
    for (table, field, line, words) in cases {
        let error = restart(table).unwrap_err();
        assert_eq!(error.field.as_deref(), Some(*field), "{table}: {error}");
        assert_eq!(error.line, Some(*line), "{table}: {error}");
        assert!(error.message.contains(words), "{table}: {error}");
    }
    // An unknown field is named with its line.
    let error = restart("policy = \"on-failure\"\nretries = 3\n").unwrap_err();
    assert_eq!(error.line, Some(5), "{error}");
    assert!(error.message.contains("retries"), "{error}");
}

/// Issue 19, item 11: a huge hook-timeout is refused when the manifest is read, with a
/// typed error, instead of overflowing at run time.
#[test]
fn item_11_huge_hook_timeout_is_refused_at_parse_time() {
    for huge in ["18446744073709551615s", "2h", "100000000000000000000"] {
        let text = format!("{HEAD}[capabilities]\nhook-timeout = \"{huge}\"\n");
        let error = Manifest::parse(&text, "m/module.toml").unwrap_err();
        assert_eq!(
            error.field.as_deref(),
            Some("capabilities.hook-timeout"),
            "{error}"
        );
        assert!(
            matches!(
                error.kind,
                ManifestErrorKind::TooLarge | ManifestErrorKind::Invalid
            ),
            "{error}"
        );
    }
    let text = format!("{HEAD}[capabilities]\nhook-timeout = \"1h\"\n");
    let manifest = Manifest::parse(&text, "m/module.toml").unwrap();
    assert_eq!(manifest.capabilities.hook_timeout, MAX_HOOK_TIMEOUT);
}

/// Issue 19, item 12: strings have limits, errors quote a short prefix, control characters
/// are named and never echoed.
#[test]
fn item_12_manifest_strings_have_limits_and_short_errors() {
    let long_name = "a".repeat(100_000);
    let error = Manifest::parse(
        &format!("name = \"{long_name}\"\nversion = \"1.0.0\"\n"),
        "m/module.toml",
    )
    .unwrap_err();
    assert_eq!(error.kind, ManifestErrorKind::TooLarge, "{error}");
    assert!(error.to_string().len() < 300, "{error}");

    let long_description = "d".repeat(MAX_DESCRIPTION_BYTES + 1);
    let error = Manifest::parse(
        &format!("{HEAD}description = \"{long_description}\"\n"),
        "m/module.toml",
    )
    .unwrap_err();
    assert_eq!(error.field.as_deref(), Some("description"));
    assert!(error.to_string().len() < 300, "{error}");

    let big = format!("{HEAD}description = \"{}\"\n", "d".repeat(300_000));
    let error = Manifest::parse(&big, "m/module.toml").unwrap_err();
    assert_eq!(error.kind, ManifestErrorKind::TooLarge);

    let error = Manifest::parse(
        "name = \"a\\u0000b\"\nversion = \"1.0.0\"\n",
        "m/module.toml",
    )
    .unwrap_err();
    assert_eq!(error.kind, ManifestErrorKind::ControlCharacter, "{error}");
    assert!(error.message.contains("NUL"), "{error}");
    assert!(!error.to_string().contains('\0'));
    assert!(!error.message.contains("whitespace"), "{error}");

    let error = Manifest::parse(
        &format!("{HEAD}description = \"line\\nERROR forged\"\n"),
        "m/module.toml",
    )
    .unwrap_err();
    assert!(!error.to_string().contains('\n'), "{error}");

    // A bad value of the wrong type is quoted by toml: kept short.
    let error = Manifest::parse(
        &format!("{HEAD}[capabilities]\nstdio = \"{}\"\n", "y".repeat(50_000)),
        "m/module.toml",
    )
    .unwrap_err();
    assert!(error.to_string().len() < 400, "{}", error.to_string().len());

    let many: Vec<String> = (0..=MAX_LIST_ENTRIES)
        .map(|i| format!("\"t{i}\""))
        .collect();
    let error = Manifest::parse(
        &format!("{HEAD}[capabilities]\npublish = [{}]\n", many.join(",")),
        "m/module.toml",
    )
    .unwrap_err();
    assert_eq!(error.kind, ManifestErrorKind::TooLarge, "{error}");
}

/// Issue 19, item 13 (manifest): topics under `module.>` and `bus.>` are the runtime's.
#[test]
fn item_13_reserved_topics_cannot_be_granted_for_publishing() {
    for pattern in ["module.started", "module.>", "bus.x"] {
        let text = format!("{HEAD}[capabilities]\npublish = [\"{pattern}\"]\n");
        let error = Manifest::parse(&text, "m/module.toml").unwrap_err();
        assert_eq!(error.kind, ManifestErrorKind::Reserved, "{error}");
    }
    // Subscribing to them is fine; a wildcard grant still never publishes on them.
    let text = format!("{HEAD}[capabilities]\npublish = [\">\"]\nsubscribe = [\"module.>\"]\n");
    let manifest = Manifest::parse(&text, "m/module.toml").unwrap();
    assert!(manifest.capabilities.may_publish("app.x"));
    assert!(!manifest.capabilities.may_publish("module.started"));
    assert!(!manifest.capabilities.may_publish("bus.anything"));
}

/// Issue 16, item 8: the `[health]` table, its limits and its typed errors.
#[test]
fn the_health_table_declares_readiness_check_and_watchdog() {
    let manifest = Manifest::parse(HEAD, "m/module.toml").unwrap();
    assert!(!manifest.health.is_declared());
    let meta = manifest.metadata();
    assert!(!meta.get_signals_readiness() && meta.get_watchdog().is_none());

    let text = format!(
        "{HEAD}[health]\nready = \"signal\"\ninterval = \"10s\"\ntimeout = \"2s\"\nunhealthy-after = \"1m\"\nwatchdog = \"30s\"\n"
    );
    let manifest = Manifest::parse(&text, "m/module.toml").unwrap();
    assert_eq!(manifest.health.ready, Readiness::Signal);
    let meta = manifest.metadata();
    assert!(meta.get_signals_readiness());
    assert_eq!(meta.get_watchdog(), Some(Duration::from_secs(30)));
    let check = meta.get_health_check().unwrap();
    assert_eq!(check.interval(), Duration::from_secs(10));
    assert_eq!(check.get_timeout(), Duration::from_secs(2));
    assert_eq!(check.get_unhealthy_after(), Duration::from_secs(60));

    let refused = |table: &str| {
        Manifest::parse(&format!("{HEAD}[health]\n{table}\n"), "m/module.toml").unwrap_err()
    };
    let error = refused("ready = \"whenever\"");
    assert_eq!(
        (error.kind, error.field.as_deref()),
        (ManifestErrorKind::Invalid, Some("health.ready"))
    );
    let error = refused("interval = \"1ms\"");
    assert_eq!(error.kind, ManifestErrorKind::Invalid, "{error}");
    assert!(error.message.contains("10ms"), "{error}");
    let error = refused("watchdog = \"25h\"");
    assert_eq!(
        (error.kind, error.field.as_deref()),
        (ManifestErrorKind::TooLarge, Some("health.watchdog")),
        "{error}"
    );
    let error = refused("watchdog = \"18446744073709551615s\"");
    assert_eq!(error.kind, ManifestErrorKind::Invalid, "{error}");
    let error = refused("timeout = \"2s\"");
    assert!(error.message.contains("without `interval`"), "{error}");
    let error = refused("interval = \"10s\"\nretries = 3");
    assert_eq!(error.kind, ManifestErrorKind::Syntax, "{error}");
    let error = refused(&format!("watchdog = \"{}\"", "9".repeat(100_000)));
    assert!(error.to_string().len() < 400, "{error}");
}

#[test]
fn singleton_flag_reaches_the_metadata() {
    let text = "name = \"cron\"\nversion = \"1.0.0\"\nsingleton = true\n";
    let manifest = Manifest::parse(text, "m/module.toml").unwrap();
    assert!(manifest.singleton);
    assert!(manifest.metadata().is_singleton());

    let plain = Manifest::parse("name = \"x\"\nversion = \"1.0.0\"\n", "m/module.toml").unwrap();
    assert!(!plain.metadata().is_singleton());

    let error = Manifest::parse(
        "name = \"x\"\nversion = \"1.0.0\"\nsingleton = \"yes\"\n",
        "m/module.toml",
    )
    .unwrap_err();
    assert_eq!(error.line, Some(3), "{error}");
}

#[test]
fn an_inbox_policy_is_written_back_as_the_manifest_writes_it() {
    assert_eq!(InboxPolicy::DropNewest.as_str(), "drop-newest");
    assert_eq!(InboxPolicy::DropOldest.as_str(), "drop-oldest");
    for policy in [InboxPolicy::DropNewest, InboxPolicy::DropOldest] {
        let text = format!(
            "name = \"x\"\nversion = \"1.0.0\"\n[capabilities]\ninbox-policy = \"{}\"\n",
            policy.as_str()
        );
        let manifest = Manifest::parse(&text, "m/module.toml").unwrap();
        assert_eq!(manifest.capabilities.inbox_policy, policy, "{text}");
    }
}

#[test]
fn inbox_bounds_are_taken_up_to_their_maximum_and_refused_one_above() {
    let parse = |line: String| {
        let text = format!("{HEAD}[capabilities]\n{line}\n");
        Manifest::parse(&text, "m/module.toml")
    };
    let most = parse(format!("inbox-events = {MAX_INBOX_EVENTS}")).unwrap();
    assert_eq!(most.capabilities.inbox_events, MAX_INBOX_EVENTS);
    let error = parse(format!("inbox-events = {}", MAX_INBOX_EVENTS + 1)).unwrap_err();
    assert_eq!(error.kind, ManifestErrorKind::TooLarge, "{error}");
    assert_eq!(
        parse("inbox-events = 1".to_owned())
            .unwrap()
            .capabilities
            .inbox_events,
        1
    );

    let most = parse(format!("inbox-bytes = {MAX_INBOX_BYTES}")).unwrap();
    assert_eq!(most.capabilities.inbox_bytes, MAX_INBOX_BYTES);
    let error = parse(format!("inbox-bytes = {}", MAX_INBOX_BYTES + 1)).unwrap_err();
    assert_eq!(error.kind, ManifestErrorKind::TooLarge, "{error}");
    assert_eq!(
        parse("inbox-bytes = 1".to_owned())
            .unwrap()
            .capabilities
            .inbox_bytes,
        1
    );
}
