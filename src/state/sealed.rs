//! How a record is kept in the file: its JSON behind a checksum over the module's name and
//! the JSON. A record damaged on disk, edited outside Symphra, or copied under another
//! module's key no longer matches its checksum and is refused, rather than believed (an
//! `enabled` turned `ignored` would otherwise drop a module without a word).
//!
//! The checksum (CRC-32) detects accidents and edits by tools that do not know it; it is no
//! seal against someone who can write the file and recompute it.

/// Bytes of the checksum at the start of a stored record.
const SUM_BYTES: usize = 4;

/// Why a stored record was refused.
pub(crate) const MISMATCH: &str = "its checksum does not match its contents: it was damaged, \
    or edited outside Symphra";

/// The stored form of `json`, the record of `module`.
pub(crate) fn seal(module: &str, json: &[u8]) -> Vec<u8> {
    let mut stored = Vec::with_capacity(SUM_BYTES + json.len());
    stored.extend_from_slice(&checksum(module, json).to_le_bytes());
    stored.extend_from_slice(json);
    stored
}

/// The JSON of a stored record of `module`, if its checksum holds.
pub(crate) fn unseal<'a>(module: &str, stored: &'a [u8]) -> Result<&'a [u8], &'static str> {
    let (sum, json) = stored
        .split_at_checked(SUM_BYTES)
        .ok_or("it is shorter than its checksum")?;
    if sum != checksum(module, json).to_le_bytes() {
        return Err(MISMATCH);
    }
    Ok(json)
}

fn checksum(module: &str, json: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(module.as_bytes());
    // A separator, so that the name's end and the JSON's start cannot trade bytes.
    hasher.update(&[0]);
    hasher.update(json);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_record_opens_only_under_its_module_and_unchanged() {
        let json = br#"{"availability":"enabled"}"#;
        let stored = seal("cache", json);
        assert_eq!(unseal("cache", &stored), Ok(json.as_slice()));
        assert_eq!(unseal("other", &stored), Err(MISMATCH));
        let edited = [&stored[..SUM_BYTES], br#"{"availability":"ignored"}"#].concat();
        assert_eq!(unseal("cache", &edited), Err(MISMATCH));
        assert!(unseal("cache", &stored[..2]).is_err());
    }
}
