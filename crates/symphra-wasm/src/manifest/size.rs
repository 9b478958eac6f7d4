//! Sizes in a manifest: a number of bytes, or text with a unit (`16 MiB`).

use serde::Deserialize;

/// A size as written: a number of bytes, or text to read with [`parse_bytes`].
#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum ByteSize {
    Bytes(u64),
    Text(String),
}

/// Reads `16 MiB`, `512k`, `4096` (bytes).
pub(super) fn parse_bytes(text: &str) -> Result<u64, String> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        "g" | "gb" | "gib" => 1024 * 1024 * 1024,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?}; write bytes as a number or with KiB, MiB or GiB, e.g. \"16 MiB\""
            ));
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size; write e.g. \"16 MiB\" or 1048576"))?;
    number
        .checked_mul(multiplier)
        .ok_or_else(|| format!("{text:?} is too large"))
}
