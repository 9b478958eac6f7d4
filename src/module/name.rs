//! Module names: the key under which a module is registered and found.

use crate::module::MetadataError;

/// The longest module name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Checks that `name` is a valid module name: 1 to 64 characters, each a lowercase ASCII
/// letter, a digit, `_` or `-`, starting with a letter or digit.
///
/// Names are restricted so that they are safe as event-topic tokens, file names and
/// environment-variable segments alike.
///
/// ```
/// assert!(symphra::module::validate_name("user-cache_2").is_ok());
/// assert!(symphra::module::validate_name("UserCache").is_err());
/// ```
pub fn validate_name(name: &str) -> Result<(), MetadataError> {
    let invalid = |reason: &'static str| MetadataError::InvalidName {
        name: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(invalid("it is empty"));
    }
    if name.len() > MAX_NAME_LEN {
        return Err(invalid("it is longer than 64 characters"));
    }
    let first = name.as_bytes()[0];
    if first == b'_' || first == b'-' {
        return Err(invalid("it must start with a lowercase letter or a digit"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    {
        return Err(invalid(
            "only lowercase letters, digits, '_' and '-' are allowed",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_lowercase_digits_underscore_dash() {
        for name in [
            "a",
            "database",
            "m00042",
            "user_cache",
            "http-api",
            "9lives",
        ] {
            assert!(validate_name(name).is_ok(), "{name} should be valid");
        }
    }

    #[test]
    fn rejects_each_bad_shape_with_its_reason() {
        let cases = [
            ("", "empty"),
            ("Database", "lowercase"),
            ("user cache", "lowercase"),
            ("user.cache", "lowercase"),
            ("_private", "start"),
            ("-dash", "start"),
            ("caché", "lowercase"),
        ];
        for (name, reason) in cases {
            let err = validate_name(name).expect_err(name).to_string();
            assert!(err.contains(reason), "{name:?}: {err}");
            assert!(err.contains(&format!("{name:?}")), "names the input: {err}");
        }
        let long = "a".repeat(MAX_NAME_LEN + 1);
        assert!(validate_name(&long).is_err());
        assert!(validate_name(&"a".repeat(MAX_NAME_LEN)).is_ok());
    }
}
