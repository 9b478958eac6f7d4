//! A bounded fuzz run of the manifest parser (issue 19): `arbitrary` builds manifests from
//! seeded pseudo-random bytes, half of them near the manifest's shape (known fields, odd
//! values: huge, empty, control characters, escapes) and half raw text. Whatever the
//! input, parsing never panics, an error stays short and carries no control character,
//! and an accepted manifest is within every limit.
//!
//! `SYMPHRA_FUZZ_CASES` sets the number of inputs (default 5,000, what CI runs);
//! `SYMPHRA_FUZZ_SEED` the seed (default fixed, so a failure reproduces).

use arbitrary::{Arbitrary, Unstructured};
use symphra_wasm::{
    MAX_DESCRIPTION_BYTES, MAX_HOOK_TIMEOUT, MAX_LIST_ENTRIES, Manifest, is_reserved_topic,
};

const FIELDS: &[&str] = &[
    "name",
    "version",
    "description",
    "component",
    "[dependencies]\nx",
    "[optional-dependencies]\ny",
    "[capabilities]\npublish",
    "[capabilities]\nsubscribe",
    "[capabilities]\nenv",
    "[capabilities]\ndirs",
    "[capabilities]\nmemory-limit",
    "[capabilities]\nhook-timeout",
    "[capabilities]\ninbox-events",
    "[capabilities]\ninbox-bytes",
    "[capabilities]\ninbox-policy",
    "[restart]\npolicy",
    "[restart]\nwithin",
];

const ODD: &[&str] = &[
    "",
    "\\u0000",
    "\\n",
    "\\u200b",
    "\\u001b[2K",
    "../..",
    "/etc/passwd",
    "module.>",
    "bus.x",
    ">",
    "*",
    "18446744073709551615s",
    "99999999999999999999 GiB",
    "1h",
    "0",
    "1.0.0",
    "drop-oldest",
];

/// A string value: odd pieces and arbitrary text, sometimes very long.
fn value(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    let mut out = String::new();
    for _ in 0..u.int_in_range(0..=4)? {
        if u.ratio(1, 2)? {
            out.push_str(u.choose(ODD)?);
        } else {
            let text = String::arbitrary(u)?;
            out.extend(text.chars().filter(|c| *c != '"' && *c != '\\'));
        }
    }
    if u.ratio(1, 20)? {
        out = out.repeat(u.int_in_range(100..=5000)?);
    }
    Ok(out)
}

fn manifest(u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
    if u.ratio(1, 2)? {
        return String::arbitrary(u);
    }
    let mut text = String::from("name = \"fuzz\"\nversion = \"1.0.0\"\n");
    for _ in 0..u.int_in_range(0..=6)? {
        let field = u.choose(FIELDS)?;
        let v = value(u)?;
        let rendered = match u.int_in_range(0..=3)? {
            0 => format!("\"{v}\""),
            1 => format!("[\"{v}\", \"{v}\"]"),
            2 => format!("{}", u64::arbitrary(u)?),
            _ => format!("[{{ host = \"{v}\", guest = \"/g\", write = true }}]"),
        };
        text.push_str(&format!("{field} = {rendered}\n"));
    }
    Ok(text)
}

fn check(text: &str) {
    match Manifest::parse(text, "fuzz/module.toml") {
        Err(error) => {
            let shown = error.to_string();
            assert!(
                shown.len() <= 1200,
                "error of {} bytes: {shown:.300}",
                shown.len()
            );
            assert!(
                !shown.chars().any(|c| c.is_control() && c != '\n'),
                "a raw control character in {shown:?}"
            );
        }
        Ok(manifest) => {
            let caps = &manifest.capabilities;
            assert!(caps.hook_timeout <= MAX_HOOK_TIMEOUT && !caps.hook_timeout.is_zero());
            for list in [
                caps.publish.len(),
                caps.subscribe.len(),
                caps.env.len(),
                caps.dirs.len(),
            ] {
                assert!(list <= MAX_LIST_ENTRIES);
            }
            assert!(caps.publish.iter().all(|p| !is_reserved_topic(p.as_str())));
            if let Some(description) = &manifest.description {
                assert!(description.len() <= MAX_DESCRIPTION_BYTES);
                assert!(!description.chars().any(char::is_control));
            }
            assert!(manifest.component.is_relative());
        }
    }
}

#[test]
fn fuzz_manifest_parser() {
    let cases: u64 = std::env::var("SYMPHRA_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000);
    let seed: u64 = std::env::var("SYMPHRA_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(19);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut accepted = 0u64;
    for case in 0..cases {
        let bytes: Vec<u8> = (0..rng.usize(16..2048)).map(|_| rng.u8(..)).collect();
        let mut u = Unstructured::new(&bytes);
        let Ok(text) = manifest(&mut u) else {
            continue;
        };
        let outcome = std::panic::catch_unwind(|| check(&text));
        if outcome.is_err() {
            panic!("case {case} (seed {seed}) failed on:\n{text:.2000}");
        }
        accepted += u64::from(Manifest::parse(&text, "f").is_ok());
    }
    println!("fuzz_manifest_parser: {cases} inputs (seed {seed}), {accepted} accepted");
}
