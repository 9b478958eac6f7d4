//! The text of a caught panic, for the bus's handler failures and the lifecycle's hook
//! failures alike.

use std::any::Any;

/// The message of a caught panic's payload: the text for `panic!` with a message (a `&str`
/// or a `String`), a fixed placeholder for any other payload.
pub(crate) fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        // Taken by value, so an owned message is moved out rather than copied.
        Ok(message) => *message,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(message) => (*message).to_owned(),
            Err(_) => "a panic with a non-string payload".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_string_messages_and_names_other_payloads() {
        assert_eq!(panic_message(Box::new("boom")), "boom");
        assert_eq!(panic_message(Box::new(String::from("kaboom"))), "kaboom");
        assert!(panic_message(Box::new(42_u8)).contains("non-string"));
    }

    #[test]
    fn reads_a_real_panic() {
        let caught = std::panic::catch_unwind(|| panic!("at {}", 7));
        assert_eq!(caught.map_err(panic_message), Err("at 7".to_owned()));
    }
}
