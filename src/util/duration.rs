//! Durations written by people: `250ms`, `1.5s`, `2m`, or a plain number of seconds.
//!
//! One grammar for every place Symphra reads a duration (manifests, the command line,
//! configuration), so that what one accepts, the others accept too.

use std::time::Duration;

/// How long a bad duration is quoted in an error: enough to recognise, never a whole file.
const QUOTED: usize = 32;

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// The text is not a number followed by a known unit.
    #[error(
        "{text:?} is not a duration; write e.g. \"500ms\", \"1.5s\", \"2m\" or a number of seconds"
    )]
    Malformed {
        /// The text, cut to a short prefix.
        text: String,
    },
    /// The unit is not one of `ms`, `s`, `m`, `min`, `h`.
    #[error("unknown unit {unit:?} in {text:?}; use ms, s, m or h")]
    UnknownUnit {
        /// The text, cut to a short prefix.
        text: String,
        /// The unit as written, cut to a short prefix.
        unit: String,
    },
    /// The number is negative, not finite, or too large for a [`Duration`].
    #[error("{text:?} is out of range for a duration")]
    OutOfRange {
        /// The text, cut to a short prefix.
        text: String,
    },
}

/// Parses `250ms`, `1.5s`, `30s`, `2m`, `1h` or a plain number of seconds (`30`, `0.25`).
///
/// ```
/// use std::time::Duration;
/// use symphra::util::parse_duration;
///
/// assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
/// assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
/// assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
/// assert!(parse_duration("soon").is_err());
/// ```
///
/// # Errors
/// [`DurationError`] saying what is wrong, quoting at most a short prefix of `text`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let quoted = || quote(text);
    let value: f64 = number
        .parse()
        .map_err(|_| DurationError::Malformed { text: quoted() })?;
    let seconds_per_unit = match unit.trim() {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        other => {
            return Err(DurationError::UnknownUnit {
                text: quoted(),
                unit: quote(other),
            });
        }
    };
    Duration::try_from_secs_f64(value * seconds_per_unit)
        .map_err(|_| DurationError::OutOfRange { text: quoted() })
}

/// At most [`QUOTED`] characters of `text`.
fn quote(text: &str) -> String {
    text.chars().take(QUOTED).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_fractions() {
        assert_eq!(parse_duration(" 500ms "), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("0.5m"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2min"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_input_is_typed_and_quoted_short() {
        assert!(matches!(
            parse_duration("5 fortnights"),
            Err(DurationError::UnknownUnit { unit, .. }) if unit == "fortnights"
        ));
        assert!(matches!(
            parse_duration("1e999999s"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999"),
            Err(DurationError::OutOfRange { .. })
        ));
        let long = "x".repeat(10_000);
        let message = parse_duration(&long).unwrap_err().to_string();
        assert!(message.len() < 200, "{message}");
    }
}
