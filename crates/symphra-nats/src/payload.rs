//! The import's payload policy beyond plain JSON: what a parse failure was.

/// Whether `body` failed to parse because of a `NaN`, `Infinity` or `-Infinity` where a value
/// belongs (what Python's `json.dumps` writes for non-finite floats by default).
pub(crate) fn has_non_finite_number(body: &[u8], error: &serde_json::Error) -> bool {
    if !error.is_syntax() {
        return false;
    }
    // serde_json reports the line and column (1-based) where it stopped; the token starts at
    // that column or just before it.
    let line_start: usize = body
        .split(|b| *b == b'\n')
        .take(error.line().saturating_sub(1))
        .map(|line| line.len() + 1)
        .sum();
    let at = line_start + error.column().saturating_sub(1);
    (at.saturating_sub(1)..=at).any(|start| {
        let rest = body.get(start..).unwrap_or_default();
        [&b"NaN"[..], b"Infinity", b"-Infinity"]
            .iter()
            .any(|token| rest.starts_with(token))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn non_finite(text: &str) -> bool {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(_) => panic!("{text} parsed"),
            Err(error) => has_non_finite_number(text.as_bytes(), &error),
        }
    }

    #[test]
    fn nan_and_infinities_are_told_from_other_faults() {
        for text in [
            "NaN",
            "{\"x\": NaN}",
            "[1, Infinity]",
            "{\"a\": -Infinity}",
            "{\n  \"a\": 1,\n  \"b\": NaN\n}",
        ] {
            assert!(non_finite(text), "{text}");
        }
        for text in ["{\"x\": nan}", "not json", "{\"x\": 1", "[1,,2]", "\"NaN"] {
            assert!(!non_finite(text), "{text}");
        }
    }
}
