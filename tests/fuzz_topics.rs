//! A bounded fuzz of the topic and pattern parser and of the matcher (issue 19): random
//! inputs, seeded so a failure repeats, checked against properties rather than examples.
//!
//! `SYMPHRA_FUZZ_CASES` sets the number of cases of each target (default 2,000, which CI
//! runs in about a second); `SYMPHRA_FUZZ_SEED` the first seed. A failure names its seed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use symphra::bus::{EventBus, MAX_TOPIC_BYTES, MAX_TOPIC_TOKENS, Pattern, validate_topic};

fn cases() -> u64 {
    std::env::var("SYMPHRA_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

fn first_seed() -> u64 {
    std::env::var("SYMPHRA_FUZZ_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Pieces that make hostile text likely: separators, wildcards, whitespace, control and
/// invisible characters, non-ASCII letters, and long runs.
const PIECES: &[&str] = &[
    "a", "b", "user", ".", ".", "*", ">", "", " ", "\t", "\0", "\n", "\u{200b}", "\u{feff}",
    "\u{202e}", "é", "日本", "foo*", ">b", "..", "\u{7f}",
];

fn hostile_text(rng: &mut fastrand::Rng) -> String {
    let mut text = String::new();
    match rng.u8(0..10) {
        // Raw bytes, read as UTF-8 where they can be.
        0 => {
            let bytes: Vec<u8> = (0..rng.usize(0..64)).map(|_| rng.u8(..)).collect();
            text = String::from_utf8_lossy(&bytes).into_owned();
        }
        // Long: near and past the limits.
        1 => {
            let token = "x".repeat(rng.usize(1..64));
            let count = rng.usize(1..MAX_TOPIC_BYTES / token.len() + 8);
            text = vec![token; count].join(".");
        }
        _ => {
            for _ in 0..rng.usize(0..24) {
                text.push_str(PIECES[rng.usize(0..PIECES.len())]);
            }
        }
    }
    text
}

#[test]
fn fuzz_the_parser_never_panics_and_keeps_its_limits() {
    let start = first_seed();
    let (mut valid_topics, mut valid_patterns) = (0, 0);
    for seed in start..start + cases() {
        let mut rng = fastrand::Rng::with_seed(seed);
        let text = hostile_text(&mut rng);
        let tokens = text.split('.').count();
        match validate_topic(&text) {
            Ok(()) => {
                valid_topics += 1;
                assert!(text.len() <= MAX_TOPIC_BYTES, "seed {seed}");
                assert!(tokens <= MAX_TOPIC_TOKENS, "seed {seed}");
                assert!(
                    !text.chars().any(|c| c.is_control() || c.is_whitespace()),
                    "seed {seed}: {text:?}"
                );
            }
            Err(error) => {
                let message = error.to_string();
                assert!(message.len() < 600, "seed {seed}: {} bytes", message.len());
                assert!(
                    !message.chars().any(char::is_control),
                    "seed {seed}: {message:?}"
                );
            }
        }
        match Pattern::parse(&text) {
            Ok(pattern) => {
                valid_patterns += 1;
                assert_eq!(pattern.as_str(), text, "seed {seed}");
                assert!(tokens <= MAX_TOPIC_TOKENS, "seed {seed}");
                // A valid topic matches itself as an exact pattern.
                if validate_topic(&text).is_ok() {
                    assert!(pattern.matches(&text), "seed {seed}: {text:?}");
                }
            }
            Err(error) => {
                assert!(error.to_string().len() < 600, "seed {seed}");
            }
        }
    }
    eprintln!(
        "parser: {} inputs, {valid_topics} valid topics, {valid_patterns} valid patterns",
        cases()
    );
    assert!(valid_topics > 0 && valid_patterns > valid_topics);
}

const TOKENS: &[&str] = &["a", "b", "c", "*", ">"];

fn pattern(rng: &mut fastrand::Rng) -> String {
    let len = rng.usize(1..=5);
    let mut tokens: Vec<&str> = (0..len)
        .map(|_| TOKENS[rng.usize(0..TOKENS.len() - 1)])
        .collect();
    if rng.bool() {
        tokens.push(">");
    }
    tokens.join(".")
}

fn topic(rng: &mut fastrand::Rng) -> String {
    let len = rng.usize(1..=6);
    (0..len)
        .map(|_| TOKENS[rng.usize(0..3)])
        .collect::<Vec<_>>()
        .join(".")
}

#[tokio::test]
async fn fuzz_the_bus_routes_exactly_what_the_patterns_match() {
    let start = first_seed();
    let mut publishes = 0_u64;
    for seed in start..start + cases() / 10 {
        let mut rng = fastrand::Rng::with_seed(seed);
        // With and without the route cache: the trie answers alone, or through it.
        let bus = if rng.bool() {
            EventBus::new()
        } else {
            EventBus::builder().cache_capacity(rng.usize(0..4)).build()
        };
        let heard: Arc<Mutex<BTreeSet<usize>>> = Arc::default();
        let mut subscribed = Vec::new();
        for i in 0..rng.usize(1..16) {
            let text = pattern(&mut rng);
            let log = heard.clone();
            let subscription = bus
                .subscribe(&text, move |_| {
                    log.lock().expect("not poisoned").insert(i);
                })
                .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
            subscribed.push(Some((Pattern::parse(&text).expect("valid"), subscription)));
        }
        for round in 0..rng.usize(2..12) {
            let topic = topic(&mut rng);
            heard.lock().expect("not poisoned").clear();
            bus.publish(&topic, ()).await.expect("a valid topic");
            publishes += 1;
            let expected: BTreeSet<usize> = subscribed
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.as_ref().filter(|(p, _)| p.matches(&topic)).map(|_| i))
                .collect();
            assert_eq!(
                *heard.lock().expect("not poisoned"),
                expected,
                "seed {seed}, round {round}, topic {topic}"
            );
            // Unsubscribing prunes the trie: what is left must route exactly the same.
            if rng.bool() {
                let at = rng.usize(0..subscribed.len());
                subscribed[at] = None;
            }
        }
        subscribed.clear();
        assert_eq!(bus.stats().subscriptions, 0, "seed {seed}");
    }
    eprintln!("matcher: {} buses, {publishes} publishes", cases() / 10);
}
